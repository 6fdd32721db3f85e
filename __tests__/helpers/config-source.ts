import type { ConfigSource, InputName } from '../../src/config/inputs.js'

/** A ConfigSource from plain maps: `with:` inputs and the job's environment. */
export function source(inputs: Partial<Record<InputName, string>> = {}, env: Record<string, string> = {}): ConfigSource {
  return { input: name => inputs[name] ?? '', env }
}
