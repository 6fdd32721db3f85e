import * as fs from 'node:fs'
import * as http from 'node:http'
import * as https from 'node:https'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { TOKEN, TOKEN_HEADERS, tokenBody } from './keystone-fixtures.js'

/**
 * A Keystone stand-in on the loopback interface that can be told to misbehave: answer without a
 * token, hang, reset, redirect, or write bytes no well-behaved HTTP server would send. It records
 * every request it receives, so tests can prove what reached it (a revocation) and what did not
 * (credentials following a redirect). Only ever listens on 127.0.0.0/8. When to use it rather than
 * nock: steps.ts.
 */

export interface Recorded {
  method: string
  /** Path and query, as sent. */
  url: string
  headers: http.IncomingHttpHeaders
  body: string
}

/** Answers one request through Node's own HTTP server (well-formed HTTP, whatever its content). */
export type HttpHandler = (request: Recorded, response: http.ServerResponse) => void
/** Answers one request by writing whatever bytes it likes on the socket (for what Node refuses to send). */
export type RawHandler = (request: Recorded, socket: net.Socket) => void

export interface ServerOptions {
  /** 127.0.0.1 unless told otherwise (127.0.0.2 for "another host"). */
  host?: string
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string }
}

interface Base<H> {
  /** `http://127.0.0.1:PORT` (or https). */
  readonly origin: string
  /** `origin + /v3`: what the step is given as auth-url. */
  readonly authUrl: string
  readonly host: string
  readonly port: number
  /** Every request received since the last reset, in order. */
  readonly requests: Recorded[]
  /** Requests with this method. */
  received(method: 'POST' | 'DELETE' | 'GET'): Recorded[]
  /** How POST /v3/auth/tokens is answered from now on. */
  onPost(handler: H): void
  /** How DELETE /v3/auth/tokens is answered from now on (default 204). */
  onDelete(handler: H): void
  /** Forgets the requests, closes open connections, and restores the default answers. */
  reset(): void
  close(): Promise<void>
}

export type KeystoneServer = Base<HttpHandler>
export type RawKeystoneServer = Base<RawHandler>

/** The default: a valid project token, and 204 to its revocation. */
export const issueToken: HttpHandler = (_request, response) => {
  response.writeHead(201, TOKEN_HEADERS).end(JSON.stringify(tokenBody()))
}
export const noContent: HttpHandler = (_request, response) => {
  response.writeHead(204).end()
}

/** A loopback Keystone stand-in through node:http or node:https. */
export async function startKeystone(options: ServerOptions = {}): Promise<KeystoneServer> {
  const host = options.host ?? '127.0.0.1'
  let onPost: HttpHandler = issueToken
  let onDelete: HttpHandler = noContent
  const requests: Recorded[] = []
  const listener: http.RequestListener = (request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const recorded: Recorded = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8')
      }
      requests.push(recorded)
      const handler = recorded.method === 'DELETE' ? onDelete : recorded.method === 'POST' ? onPost : notFound
      handler(recorded, response)
    })
  }
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, listener) : http.createServer(listener)
  const sockets = track(server)
  const port = await listen(server, host)
  const origin = `${options.tls ? 'https' : 'http'}://${host}:${port}`
  return {
    origin,
    authUrl: `${origin}/v3`,
    host,
    port,
    requests,
    received: method => requests.filter(r => r.method === method),
    onPost: handler => (onPost = handler),
    onDelete: handler => (onDelete = handler),
    reset: () => {
      requests.length = 0
      onPost = issueToken
      onDelete = noContent
      destroyAll(sockets)
    },
    close: () => shut(server, sockets)
  }
}

const notFound: HttpHandler = (_request, response) => {
  response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":{"code":404,"message":"not here","title":"Not Found"}}')
}

/** A loopback server that parses requests itself and lets the test write the response byte by byte. */
export async function startRawKeystone(options: Omit<ServerOptions, 'tls'> = {}): Promise<RawKeystoneServer> {
  const host = options.host ?? '127.0.0.1'
  const defaultDelete: RawHandler = (_request, socket) => {
    socket.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n')
  }
  const defaultPost: RawHandler = (_request, socket) => {
    const body = JSON.stringify(tokenBody())
    socket.end(
      rawResponse(
        '201 Created',
        [
          ['Content-Type', 'application/json'],
          ['X-Subject-Token', TOKEN]
        ],
        body
      )
    )
  }
  let onPost = defaultPost
  let onDelete = defaultDelete
  const requests: Recorded[] = []
  const server = net.createServer(socket => {
    let buffer = Buffer.alloc(0)
    let handled = false
    socket.on('error', () => undefined)
    socket.on('data', (chunk: Buffer) => {
      if (handled) return
      buffer = Buffer.concat([buffer, chunk])
      const request = parseRequest(buffer)
      if (!request) return
      handled = true
      requests.push(request)
      ;(request.method === 'DELETE' ? onDelete : request.method === 'POST' ? onPost : defaultDelete)(request, socket)
    })
  })
  const sockets = track(server)
  const port = await listen(server, host)
  const origin = `http://${host}:${port}`
  return {
    origin,
    authUrl: `${origin}/v3`,
    host,
    port,
    requests,
    received: method => requests.filter(r => r.method === method),
    onPost: handler => (onPost = handler),
    onDelete: handler => (onDelete = handler),
    reset: () => {
      requests.length = 0
      onPost = defaultPost
      onDelete = defaultDelete
      destroyAll(sockets)
    },
    close: () => shut(server, sockets)
  }
}

/** An HTTP/1.1 response as bytes; header values go out exactly as given, CR and LF included. */
export function rawResponse(status: string, headers: [string, string][], body: string, { contentLength = true } = {}): string {
  const lines = [`HTTP/1.1 ${status}`, ...headers.map(([name, value]) => `${name}: ${value}`)]
  if (contentLength) lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
  lines.push('Connection: close')
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

/** Request line, headers, and a Content-Length body; undefined until all of it has arrived. */
function parseRequest(buffer: Buffer): Recorded | undefined {
  const end = buffer.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const [requestLine = '', ...headerLines] = buffer.subarray(0, end).toString('latin1').split('\r\n')
  const [method = '', url = ''] = requestLine.split(' ')
  const headers: http.IncomingHttpHeaders = {}
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const length = Number(headers['content-length'] ?? 0)
  const body = buffer.subarray(end + 4)
  if (body.length < length) return undefined
  return { method, url, headers, body: body.subarray(0, length).toString('utf8') }
}

function track(server: net.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>()
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  return sockets
}

function destroyAll(sockets: Set<net.Socket>): void {
  for (const socket of sockets) socket.destroy()
  sockets.clear()
}

function listen(server: net.Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port))
  })
}

function shut(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  destroyAll(sockets)
  return new Promise(resolve => server.close(() => resolve()))
}

/** Starts an interval that dies with the socket (for answers that never end). */
export function whileOpen(socket: net.Socket, everyMs: number, tick: () => void): void {
  const timer = setInterval(() => {
    if (socket.destroyed) clearInterval(timer)
    else tick()
  }, everyMs)
  timer.unref()
  socket.once('close', () => clearInterval(timer))
}

export interface Certificate {
  key: string
  cert: string
  certFile: string
  dir: string
}

/**
 * A self-signed certificate for 127.0.0.1 (a test fixture, valid for a hundred years, made once with
 * `openssl req -x509 -newkey ec … -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1`),
 * copied to a temp dir: the unit tests need no openssl binary, which a minimal Debian lacks.
 */
export function selfSignedCertificate(): Certificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-tls-'))
  const certFile = path.join(dir, 'cert.pem')
  const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'tls')
  fs.copyFileSync(path.join(fixtures, 'cert.pem'), certFile)
  return { key: fs.readFileSync(path.join(fixtures, 'key.pem'), 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile, dir }
}

/**
 * The workflow commands the runner would act on in a step's stdout, modelled on actions/runner:
 * a line ends at LF, CR or CRLF (TextReader.ReadLine); `::name …::` counts at the start of a line
 * after leading blanks (ActionCommand.TryParseV2); the legacy `##[name …]` counts anywhere in a line
 * (ActionCommand.TryParse) when no `::` command was found first.
 */
export function runnerCommands(stdout: string): { name: string; line: string }[] {
  const commands: { name: string; line: string }[] = []
  for (const line of stdout.split(/\r\n|\r|\n/)) {
    const trimmed = line.trimStart()
    if (trimmed.startsWith('::')) {
      const end = trimmed.indexOf('::', 2)
      if (end > 2) {
        commands.push({ name: trimmed.slice(2, end).split(' ')[0]!, line })
        continue
      }
    }
    const legacy = /##\[([^\]\s]+)/.exec(line)
    if (legacy) commands.push({ name: legacy[1]!, line })
  }
  return commands
}

/** Puts back process.env as it was (@actions/core's exportVariable also sets process.env). */
export function envSnapshot(): () => void {
  const saved = { ...process.env }
  return () => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
    Object.assign(process.env, saved)
  }
}
