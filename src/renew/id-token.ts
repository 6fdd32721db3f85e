import { isObject } from '../json.js'
import { send } from '../net/http.js'

/**
 * A GitHub ID token, asked for the way @actions/core's getIDToken asks (the runner's request URL
 * with `&audience=`, its request token as the bearer), without its environment variables: the
 * renewer got both through its stdin. The errors read like getIDToken's, so that the keyless
 * login explains and retries them the same way (oidc.ts, idTokenError).
 */
export async function fetchIdToken(request: { url: string; token: string }, audience: string | undefined, timeoutMs: number): Promise<string> {
  const url = audience === undefined ? request.url : `${request.url}&audience=${encodeURIComponent(audience)}`
  const response = await send(
    { method: 'GET', url, headers: { Authorization: `Bearer ${request.token}`, Accept: 'application/json' } },
    { timeoutMs, maxBodyBytes: 64 * 1024 }
  )
  if (response.status !== 200) {
    throw new Error(`Failed to get ID Token. \n \n        Error Code : ${response.status}\n \n        Error Message: ${response.body.slice(0, 200)}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(response.body)
  } catch {
    parsed = undefined
  }
  if (!isObject(parsed) || typeof parsed.value !== 'string' || parsed.value === '') throw new Error('Response json body do not have ID Token field')
  return parsed.value
}
