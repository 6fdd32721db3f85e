/** A JSON object as parsed: Keystone's answers, a sealed payload, a token document. */
export type Json = Record<string, unknown>

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
