import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for the OpenStack services of a catalog, on 127.0.0.1: it records every request
 * (method, path, X-Auth-Token) and answers what the clients need to get through one list command —
 * version documents at the roots and empty collections (`{"servers":[]}`, `{"images":[]}`, …).
 *
 * One server holds every service under its own prefix; `endpoints(projectId)` gives the URLs to
 * register in Keystone's catalog (the volume and object-store URLs keep Keystone's
 * `%(project_id)s` template, as real clouds do, so the clients' substitution is exercised).
 */

export interface RecordedRequest {
  method: string
  /** Path and query, as received. */
  path: string
  /** The X-Auth-Token header, if any. */
  token: string | undefined
  /** Which service prefix the path falls under ('compute', 'image', …), or '' for none. */
  service: string
}

export interface ServiceRecorder {
  /** http://127.0.0.1:PORT */
  url: string
  port: number
  /** Everything received since the start (or the last clear()). */
  requests: RecordedRequest[]
  clear(): void
  /** Catalog entries to register: type → endpoint URL (with Keystone's %(project_id)s template where real clouds use one). */
  endpoints(): Record<ServiceType, string>
  close(): Promise<void>
}

export const SERVICE_TYPES = ['compute', 'image', 'network', 'volumev3', 'object-store'] as const
export type ServiceType = (typeof SERVICE_TYPES)[number]

/** Path prefix of each service on the recorder. */
const PREFIX: Record<ServiceType, string> = {
  compute: '/compute',
  image: '/image',
  network: '/network',
  volumev3: '/volume',
  'object-store': '/object-store'
}

export async function startServiceRecorder(): Promise<ServiceRecorder> {
  const requests: RecordedRequest[] = []
  let base = ''
  const server: Server = createServer((request, response) => {
    // The body is never needed; drain it so keep-alive connections stay usable.
    request.resume()
    request.on('end', () => answer(request, response, base, requests))
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  base = `http://127.0.0.1:${port}`
  return {
    url: base,
    port,
    requests,
    clear: () => void requests.splice(0),
    endpoints: () => ({
      compute: `${base}/compute/v2.1`,
      image: `${base}/image`,
      network: `${base}/network`,
      volumev3: `${base}/volume/v3/%(project_id)s`,
      'object-store': `${base}/object-store/v1/AUTH_%(project_id)s`
    }),
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

function serviceOf(path: string): string {
  for (const [type, prefix] of Object.entries(PREFIX)) {
    if (path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`)) return type
  }
  return ''
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers })
  response.end(text)
}

function version(id: string, href: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, status: 'CURRENT', updated: '2024-01-01T00:00:00Z', links: [{ rel: 'self', href }], ...extra }
}

function answer(request: IncomingMessage, response: ServerResponse, base: string, requests: RecordedRequest[]): void {
  const target = request.url ?? '/'
  const path = target.split('?')[0]!.replace(/\/+$/, '')
  const header = request.headers['x-auth-token']
  const service = serviceOf(target)
  requests.push({ method: request.method ?? '', path: target, token: Array.isArray(header) ? header[0] : header, service })

  // Version discovery documents: what keystoneauth and the service clients read at an endpoint root.
  const compute = version('v2.1', `${base}/compute/v2.1/`, { version: '2.79', min_version: '2.1' })
  switch (path) {
    case '/compute':
      return send(response, 200, { versions: [compute] })
    case '/compute/v2.1':
      return send(response, 200, { version: compute })
    case '/image':
      return send(response, 300, { versions: [version('v2.9', `${base}/image/v2/`)] })
    case '/network':
      return send(response, 200, { versions: [version('v2.0', `${base}/network/v2.0/`)] })
    case '/volume':
      return send(response, 300, { versions: [version('v3.0', `${base}/volume/v3/`, { version: '3.60', min_version: '3.0' })] })
  }
  if (service === 'object-store' && request.method === 'GET' && /^\/object-store\/v1\/AUTH_[^/]+$/.test(path)) {
    return send(response, 200, [], { 'X-Account-Container-Count': '0', 'X-Account-Object-Count': '0', 'X-Account-Bytes-Used': '0' })
  }
  if (service !== '' && request.method === 'GET') {
    // A collection: its name is the last segment that is not "detail" (…/servers/detail → servers).
    const segments = path.split('/').filter(segment => segment !== '' && segment !== 'detail')
    const collection = segments[segments.length - 1] ?? ''
    if (/^[a-z][a-z_-]*s$/.test(collection)) return send(response, 200, { [collection]: [] })
  }
  send(response, 404, { error: { code: 404, message: `the recorder has nothing at ${path}`, title: 'Not Found' } })
}
