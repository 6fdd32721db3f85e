import * as path from 'node:path'
import type { ConfigSource, CredentialFile } from '../config/inputs.js'
import { UserError } from '../errors.js'
import type { FileReader } from '../runtime/files.js'
import { parseOpenrc } from './openrc.js'

/**
 * The credentials users already have as files: an OpenRC from Horizon or the OVHcloud Control Panel,
 * or a clouds.yaml, passed as secrets in the `openrc` / `clouds-yaml` inputs; or, when only a cloud
 * name is given (`cloud` or OS_CLOUD), the clouds.yaml that openstacksdk would read from disk.
 * Either becomes one layer of `OS_*` values between the inputs and the job's env.
 */

/** openstacksdk's search path: the variable, the working directory, the user's, the system's. */
function candidates(env: ConfigSource['env'], files: FileReader, name: 'clouds.yaml' | 'secure.yaml'): string[] {
  const variable = name === 'clouds.yaml' ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE
  return [
    ...(variable ? [variable] : []),
    path.join(files.cwd, name),
    path.join(files.home, '.config', 'openstack', name),
    path.join('/etc/openstack', name)
  ]
}

function firstFile(paths: string[], files: FileReader): { file: string; text: string } | undefined {
  for (const file of paths) {
    const text = files.read(file)
    if (text !== undefined) return { file, text }
  }
  return undefined
}

/** clouds.yaml's parser, with the YAML library under it, is loaded only when a clouds.yaml is read. */
async function parseCloudsYaml(text: string, cloud: string | undefined, secure: string | undefined): Promise<Record<string, string>> {
  const { parseCloudsYaml: parse } = await import('./clouds-yaml.js')
  return parse(text, cloud, secure)
}

export async function loadCredentialFile(source: Pick<ConfigSource, 'input' | 'env'>, files: FileReader): Promise<CredentialFile | undefined> {
  const openrc = source.input('openrc').trim()
  const cloudsYaml = source.input('clouds-yaml').trim()
  const secureYaml = source.input('secure-yaml').trim()
  const cloudInput = source.input('cloud').trim()
  const cloud = cloudInput || (source.env.OS_CLOUD ?? '').trim()

  if (openrc && cloudsYaml) {
    throw new UserError('Both `openrc` and `clouds-yaml` are set: they would be two sources of the same credentials; keep one.')
  }
  if (openrc) {
    if (cloudInput) throw new UserError('`cloud` names a cloud of a clouds.yaml, but the credentials come from `openrc`: remove `cloud`.')
    const parsed = parseOpenrc(openrc, source.env)
    return { label: 'the `openrc` input', ...parsed }
  }
  if (cloudsYaml) {
    return fromCloudsYaml(await parseCloudsYaml(cloudsYaml, cloud || undefined, secureYaml || undefined), cloud, 'the `clouds-yaml` input')
  }
  if (secureYaml) throw new UserError('`secure-yaml` is set without `clouds-yaml`: pass the clouds.yaml it completes too.')
  if (!cloud) return undefined

  const found = firstFile(candidates(source.env, files, 'clouds.yaml'), files)
  if (!found) {
    // OS_CLOUD alone may be a leftover in a job that logs in with OS_* variables: the main step
    // warns and blanks it. A `cloud` input, though, is a request for a clouds.yaml.
    if (!cloudInput) return undefined
    throw new UserError(
      `input \`cloud\` is "${cloud}" but no clouds.yaml was found (OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml): pass its text in the \`clouds-yaml\` input.`
    )
  }
  const secure = firstFile(candidates(source.env, files, 'secure.yaml'), files)
  return fromCloudsYaml(await parseCloudsYaml(found.text, cloud, secure?.text), cloud, found.file)
}

function fromCloudsYaml(variables: Record<string, string>, cloud: string, where: string): CredentialFile {
  return { label: cloud ? `cloud "${cloud}" of ${where}` : where, variables, unset: [], passwordPrompt: false, ...(cloud && { cloud }) }
}
