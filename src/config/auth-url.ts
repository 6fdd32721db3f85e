import { UserError } from '../errors.js'

/**
 * Turns what users paste as an auth URL into the Keystone v3 base URL the action talks to.
 * OpenRC files carry `…/v3`, `…/v3/`, a bare `https://host:5000`, or a legacy `…/v2.0`; all of them
 * name the same Keystone, so all of them are accepted and end as `…/v3` without a trailing slash.
 */
export function normalizeAuthUrl(raw: string, source: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UserError(`${source} is not a valid URL: give the Keystone endpoint with its scheme, e.g. https://keystone.example.com:5000/v3.`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UserError(`${source} must start with https:// (or http:// for a local Keystone), not ${url.protocol}//.`)
  }
  if (url.username || url.password) {
    throw new UserError(`${source} must not contain a user name or password: pass credentials through the username/password inputs instead.`)
  }
  // `new URL('https://h/v3?')` has an empty search: look at the text itself.
  if (url.search || url.hash || /[?#]/.test(raw)) {
    throw new UserError(`${source} must not contain a query string or fragment: give the bare Keystone endpoint.`)
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v2\.0$/, '')
  url.pathname = /\/v3$/.test(path) ? path : `${path}/v3`
  return url.toString().replace(/\/+$/, '')
}

/** True when the URL's host is this machine: plain http is only reasonable there. */
export function isLoopback(authUrl: string): boolean {
  const host = new URL(authUrl).hostname
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host)
}

/**
 * Plain http to another machine sends the password and the token in clear: refused unless the
 * user allowed it (`allow-insecure-http`); then a warning for the log.
 */
export function plainHttpWarning(authUrl: string, from: string, allowInsecureHttp: boolean): string | undefined {
  if (new URL(authUrl).protocol !== 'http:' || isLoopback(authUrl)) return undefined
  if (!allowInsecureHttp) {
    throw new UserError(
      `${from} uses plain http to ${new URL(authUrl).host}: the password and the token would cross the network unencrypted; use https, or set allow-insecure-http: true if you must.`
    )
  }
  return `auth-url ${authUrl} uses plain http (allow-insecure-http: true): the credentials and the token cross the network unencrypted.`
}
