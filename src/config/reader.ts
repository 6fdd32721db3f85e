import { INPUT_FALLBACKS, SECRET_INPUTS, trimLineEnds, type ConfigSource, type CredentialFile, type InputName } from './inputs.js'
import type { DomainRef, UserRef } from './types.js'
import { UserError } from '../errors.js'
import { parseDuration } from '../time.js'

/**
 * Reading values by precedence (inputs, then a credential file, then the job's `OS_*` variables),
 * each checked for shape and named by where it came from, and the readers of the common value
 * kinds (booleans, durations, domains, users) that every part of the configuration uses.
 */

const MAX_VALUE_LENGTH = 1024
const MAX_SECRET_LENGTH = 4096

/** A value with the name of where it came from, so that errors can point at the right place. */
export interface Sourced {
  value: string
  from: string
  /** The bare name: input `project-id`, or OS_PROJECT_ID. */
  name: string
}

/** Where a value was found, highest precedence first. */
export type Layer = 'input' | 'file' | 'env'
const LAYERS: readonly Layer[] = ['input', 'file', 'env']

/**
 * Reads inputs, then the credential file (an `openrc` or clouds.yaml), then the job's `OS_*`
 * variables, validating the shape of whatever it finds. When a higher layer overrides a different
 * value of a lower one, that is noted for the log: values are never merged silently.
 */
export class Reader {
  private readonly noted = new Set<string>()

  constructor(
    private readonly source: ConfigSource,
    private readonly file?: CredentialFile
  ) {}

  /** What overrode what, one sentence each, without values. */
  get overrides(): string[] {
    return [...this.noted]
  }

  fromInput(name: InputName): Sourced | undefined {
    return this.checked(this.source.input(name), `input \`${name}\``, name, `input \`${name}\``)
  }

  fromFile(name: InputName): Sourced | undefined {
    if (!this.file) return undefined
    for (const variable of INPUT_FALLBACKS[name]) {
      const found = this.checked(this.file.variables[variable] ?? '', `${variable} from ${this.file.label}`, name, variable)
      if (found) return found
    }
    return undefined
  }

  fromEnv(name: InputName): Sourced | undefined {
    for (const variable of INPUT_FALLBACKS[name]) {
      // A variable the credential file unsets is gone, as it would be after sourcing the file.
      if (this.file?.unset.includes(variable)) continue
      const found = this.checked(this.source.env[variable] ?? '', variable, name, variable)
      if (found) return found
    }
    return undefined
  }

  from(layer: Layer, name: InputName): Sourced | undefined {
    return layer === 'input' ? this.fromInput(name) : layer === 'file' ? this.fromFile(name) : this.fromEnv(name)
  }

  /** `OS_TENANT_ID and OS_TENANT_NAME from the \`openrc\` input`: several values of one layer. */
  private describeAll(values: Sourced[], layer: Layer): string {
    const names = values.map(v => v.name).join(' and ')
    if (layer === 'file') return `${names} from ${this.file!.label}`
    return layer === 'env' ? `${names} of the job env` : names
  }

  /** The highest layer's value. */
  get(name: InputName): Sourced | undefined {
    for (const [i, layer] of LAYERS.entries()) {
      const found = this.from(layer, name)
      if (!found) continue
      for (const lower of LAYERS.slice(i + 1)) {
        const shadowed = this.from(lower, name)
        if (shadowed && shadowed.value !== found.value) this.noted.add(`${found.from} overrides ${describe(shadowed, lower)}.`)
      }
      return found
    }
    return undefined
  }

  /**
   * Values that belong together (say, a project's id and name) come from one layer only: when the
   * step names any of them in `with:`, the file's and the job's values of the group are ignored,
   * so an OpenRC left in the job's env cannot mix a second project into the one the step asked for.
   */
  group<N extends InputName>(names: readonly N[]): { layer: Layer; values: Partial<Record<N, Sourced>> } {
    const at = (layer: Layer): Partial<Record<N, Sourced>> => {
      const values: Partial<Record<N, Sourced>> = {}
      for (const name of names) {
        const found = this.from(layer, name)
        if (found) values[name] = found
      }
      return values
    }
    for (const [i, layer] of LAYERS.entries()) {
      const values = at(layer)
      const winners = Object.values(values) as Sourced[]
      if (winners.length === 0) continue
      for (const lower of LAYERS.slice(i + 1)) {
        const shadowed = at(lower)
        const differs = names.some(n => shadowed[n] !== undefined && shadowed[n]!.value !== values[n]?.value)
        if (differs) {
          const lost = Object.values(shadowed) as Sourced[]
          const verb = winners.length === 1 ? 'replaces' : 'replace'
          this.noted.add(`${this.describeAll(winners, layer)} ${verb} ${this.describeAll(lost, lower)}.`)
        }
      }
      return { layer, values }
    }
    return { layer: 'env', values: {} }
  }

  private checked(raw: string, from: string, name: InputName, bare: string): Sourced | undefined {
    const secret = (SECRET_INPUTS as readonly string[]).includes(name)
    const value = secret ? trimLineEnds(raw) : raw.trim()
    // A secret of spaces only is a mistake, not a password: it counts as absent, as everywhere else.
    if (value.trim() === '') return undefined
    const max = secret ? MAX_SECRET_LENGTH : MAX_VALUE_LENGTH
    if (value.length > max) {
      throw new UserError(`${from} is ${value.length} characters long (at most ${max}): check that the right value is passed.`)
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) {
      throw new UserError(`${from} contains a line break or control character: pass it as a single line.`)
    }
    return { value, from, name: bare }
  }
}

/** `OS_REGION_NAME of the job env`: a shadowed value's origin, for an override note. */
function describe(value: Sourced, layer: Layer): string {
  return layer === 'env' ? `${value.from} of the job env` : value.from
}

export function resolveDuration(value: Sourced | undefined, fallback: number, minMs: number, maxMs: number): number {
  if (!value) return fallback
  const ms = parseDuration(value.value)
  if (ms === undefined || ms < minMs || ms > maxMs) {
    throw new UserError(
      `${value.from} is "${value.value}": give a duration between ${minMs / 1000} s and ${maxMs / 60_000} min, as seconds (90) or with a unit (90s, 5m, 1h).`
    )
  }
  return ms
}

/** The YAML 1.2 core schema's booleans, which is what `@actions/core`'s getBooleanInput accepts. */
export function resolveBoolean(value: Sourced | undefined, fallback: boolean): boolean {
  if (!value) return fallback
  if (['true', 'True', 'TRUE'].includes(value.value)) return true
  if (['false', 'False', 'FALSE'].includes(value.value)) return false
  throw new UserError(`${value.from} is "${value.value}": use true or false.`)
}

export function domainRef(id: Sourced | undefined, name: Sourced | undefined): DomainRef | undefined {
  if (id) return { id: id.value }
  if (name) return { name: name.value }
  return undefined
}

export function domainRefOf(values: Partial<Record<string, Sourced>>, prefix: 'user-domain' | 'project-domain'): DomainRef | undefined {
  return domainRef(values[`${prefix}-id`], values[`${prefix}-name`])
}

export function resolveUser(read: Reader, userDomain: DomainRef | undefined, purpose: string): UserRef | undefined {
  const { values } = read.group(['user-id', 'username'])
  if (values['user-id']) return { id: values['user-id'].value }
  const name = values.username
  if (!name) return undefined
  if (!userDomain) {
    throw new UserError(
      `${name.from} names a user, but ${purpose} also needs the user's domain: set \`user-domain-name\` (OS_USER_DOMAIN_NAME) or \`user-domain-id\` (OS_USER_DOMAIN_ID); many clouds use Default.`
    )
  }
  return { name: name.value, domain: userDomain }
}
