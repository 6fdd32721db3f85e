import { INPUT_FALLBACKS, type ConfigSource, type InputName } from './inputs.js'
import { domainRef, domainRefOf, type Layer, type Reader, type Sourced } from './reader.js'
import type { BlankScope, DomainRef, Scope, UserRef } from './types.js'
import { UserError } from '../errors.js'

/** The scope asked for: a project, a domain, the system, or none (Keystone's default). */

const SCOPE_INPUTS = ['project-id', 'project-name', 'domain-id', 'domain-name', 'system-scope'] as const satisfies readonly InputName[]

export function blankScope(source: ConfigSource): BlankScope {
  const setButEmpty: string[] = []
  for (const name of SCOPE_INPUTS) {
    for (const variable of INPUT_FALLBACKS[name]) {
      const inFile = source.file?.variables[variable]
      if (inFile !== undefined && inFile.trim() === '') setButEmpty.push(`${variable} from ${source.file!.label}`)
      const inEnv = source.env[variable]
      if (inEnv !== undefined && inEnv.trim() === '' && !source.file?.unset.includes(variable)) setButEmpty.push(`${variable} of the job env`)
    }
  }
  return { inputs: SCOPE_INPUTS.map(name => `\`${name}\``), setButEmpty }
}

type ScopeInput = 'project-id' | 'project-name' | 'domain-id' | 'domain-name' | 'system-scope'
type ScopeGroup = { layer: Layer; values: Partial<Record<ScopeInput, Sourced>> }

export function resolveScope(
  read: Reader,
  scopeGroup: ScopeGroup,
  defaultDomain: DomainRef | undefined,
  userDomain: DomainRef | undefined,
  user: UserRef | undefined
): Scope {
  const v = scopeGroup.values
  const project = v['project-id'] ?? v['project-name']
  const domain = v['domain-id'] ?? v['domain-name']
  const system = v['system-scope']

  if (system) {
    if (system.value.toLowerCase() !== 'all') {
      throw new UserError(`${system.from} is "${system.value}": the only system scope Keystone knows is all.`)
    }
    const other = project ?? domain
    if (other) {
      throw new UserError(`Two scopes were asked for, ${system.from} and ${other.from}: a token has one scope, so keep only one.`)
    }
    return { kind: 'system' }
  }
  if (project && domain && scopeGroup.layer === 'input') {
    throw new UserError(
      `Two scopes were asked for, ${project.from} and ${domain.from}: a token has one scope; for a project in a domain use \`project-domain-name\` or \`project-domain-id\`.`
    )
  }
  if (project) {
    if (v['project-id']) return { kind: 'project', project: { id: v['project-id'].value } }
    const projectDomain = domainRefOf(read.group(['project-domain-id', 'project-domain-name']).values, 'project-domain')
    // A project name is unique only within its domain; the user's own domain is the usual home.
    const domainOfProject = projectDomain ?? defaultDomain ?? (user && 'domain' in user ? user.domain : userDomain)
    if (!domainOfProject) {
      throw new UserError(
        `${project.from} names a project, which Keystone looks up per domain: set \`project-domain-name\` (OS_PROJECT_DOMAIN_NAME) or \`project-domain-id\`, or use \`project-id\` instead.`
      )
    }
    return { kind: 'project', project: { name: project.value, domain: domainOfProject } }
  }
  if (domain) return { kind: 'domain', domain: domainRef(v['domain-id'], v['domain-name']) as DomainRef }
  return { kind: 'default' }
}
