import * as http from 'node:http'
import * as https from 'node:https'
import * as tls from 'node:tls'
import { getProxyUrl } from '@actions/http-client/lib/proxy'
import { NetworkError } from '../errors.js'

/**
 * One HTTP exchange with a hard deadline. The route is `@actions/http-client`'s (agentFor: it reads
 * https_proxy / no_proxy the way every Actions tool does); the request itself goes through
 * node:http so that the action owns what http-client does not give: a deadline over the whole
 * exchange (a server that trickles its body must not hold a job), a cap on the body size, no
 * redirect ever followed with credentials, and errors that say which network failure it was.
 */

export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE'
  url: string
  headers: Record<string, string>
  body?: string
}

export interface HttpResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export interface HttpOptions {
  timeoutMs: number
  maxBodyBytes?: number
  /** PEM of a private CA to trust, on top of Node's own list (and NODE_EXTRA_CA_CERTS). */
  ca?: string
  /** Skip certificate verification (the user asked for it). */
  insecure?: boolean
  /** Called once the request, body included, has been handed to the connection. */
  onSent?: () => void
  /**
   * Called with the status and headers as soon as they arrive, before the body: a login's token is
   * in its headers, and the body that follows may still be cut short (reset, stalled, too large).
   */
  onHeaders?: (status: number, headers: http.IncomingHttpHeaders) => void
}

const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
const USER_AGENT = 'openstack-token-action'

type Agent = http.Agent & { options?: Record<string, unknown> }

/**
 * The agent http-client's getAgent would give: its proxy tunnel when https_proxy / http_proxy apply
 * (no_proxy considered), else a fresh agent of its default shape, with the TLS trust asked for.
 * http-client's own module is loaded only in the first case: it pulls in undici, several times the
 * size of the action's own code.
 */
async function agentFor(url: URL, trust: { ca?: string; insecure?: boolean }): Promise<Agent> {
  const tlsOptions = {
    ...(trust.ca !== undefined && { ca: [...tls.rootCertificates, trust.ca] }),
    ...(trust.insecure && { rejectUnauthorized: false })
  }
  if (getProxyUrl(url)) {
    const { HttpClient } = await import('@actions/http-client')
    const tunnel = new HttpClient(USER_AGENT).getAgent(url.href) as Agent
    // The tunnel builds its TLS socket from its own options only, never from the request's, and
    // http-client has no setting for a CA: its options are the one way in (http-client itself sets
    // rejectUnauthorized there for its ignoreSslError).
    if (url.protocol === 'https:') tunnel.options = { ...tunnel.options, ...tlsOptions }
    return tunnel
  }
  const options = { keepAlive: false, maxSockets: 100 }
  return (url.protocol === 'https:' ? new https.Agent({ ...options, ...tlsOptions }) : new http.Agent(options)) as Agent
}

export async function send(request: HttpRequest, options: HttpOptions): Promise<HttpResponse> {
  const url = new URL(request.url)
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const agent = await agentFor(url, options)
  const transport = url.protocol === 'https:' ? https : http
  const deadline = AbortSignal.timeout(options.timeoutMs)

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false
    const fail = (error: unknown): void => {
      if (settled) return
      settled = true
      reject(classify(error, deadline.aborted, options.timeoutMs))
      clientRequest.destroy()
    }
    const clientRequest = transport.request(
      url,
      {
        method: request.method,
        agent,
        signal: deadline,
        headers: { 'User-Agent': USER_AGENT, ...request.headers }
      },
      response => {
        options.onHeaders?.(response.statusCode ?? 0, response.headers)
        const chunks: Buffer[] = []
        let size = 0
        response.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > maxBodyBytes) {
            fail(new NetworkError('too-large', `the answer is larger than ${maxBodyBytes} bytes`))
            return
          }
          chunks.push(chunk)
        })
        response.on('end', () => {
          if (settled) return
          settled = true
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') })
        })
        response.on('error', fail)
        // A connection closed before the body's end emits 'close' without 'end' on some versions.
        response.on('close', () => {
          if (!response.complete) fail(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' }))
        })
      }
    )
    clientRequest.on('error', fail)
    if (options.onSent) clientRequest.once('finish', options.onSent)
    clientRequest.end(request.body)
  })
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|EPROTO$)/

/** Names the network failure behind a Node error, by its code. */
export function classify(error: unknown, timedOut: boolean, timeoutMs: number): NetworkError {
  if (error instanceof NetworkError) return error
  const code = (error as { code?: string }).code ?? ''
  const detail = (error as Error).message ?? String(error)
  if (timedOut) return new NetworkError('timeout', `no complete answer within ${timeoutMs / 1000} s`, 'ETIMEDOUT')
  if (code === 'ECONNREFUSED') return new NetworkError('refused', 'connection refused', code)
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME') {
    return new NetworkError('dns', 'the host name could not be resolved', code)
  }
  if (TLS_CODES.test(code)) return new NetworkError('tls', `TLS failed (${code}: ${detail})`, code)
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' || /socket hang up|aborted/i.test(detail)) {
    return new NetworkError('reset', 'the connection was reset', code || 'ECONNRESET')
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') {
    return new NetworkError('unreachable', `the host is unreachable (${code})`, code)
  }
  return new NetworkError('other', detail, code || undefined)
}

/** A header of an answer; the first, when it came more than once. */
export function headerValue(response: HttpResponse, name: string): string | undefined {
  return firstHeader(response.headers[name])
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
