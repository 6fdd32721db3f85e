import * as http from 'node:http'
import * as net from 'node:net'
import type { AddressInfo } from 'node:net'
import { send } from '../src/net/http.js'

/**
 * The route of a request: through the proxy that http_proxy / https_proxy name, as
 * @actions/http-client decides it (no_proxy, loopback never proxied), else straight to Keystone.
 * A CONNECT proxy and a Keystone stand-in, both on 127.0.0.1; the Keystone host name the step is
 * given does not resolve, so only the proxy can reach it.
 */

const PROXY_VARIABLES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY']
let keystone: http.Server
let keystonePort: number
let proxy: http.Server
let proxyUrl: string
const connects: string[] = []
const sockets = new Set<net.Socket>()
const savedEnv: Record<string, string | undefined> = {}

beforeAll(async () => {
  keystone = http.createServer((request, response) => {
    request.resume()
    request.on('end', () => response.writeHead(201, { 'Content-Type': 'application/json' }).end(`{"host":"${request.headers.host}"}`))
  })
  keystone.on('connection', socket => sockets.add(socket))
  await new Promise<void>(resolve => keystone.listen(0, '127.0.0.1', resolve))
  keystonePort = (keystone.address() as AddressInfo).port

  // Whatever host the client asks for, the tunnel leads to the Keystone stand-in.
  proxy = http.createServer((_request, response) => response.writeHead(405).end())
  proxy.on('connect', (request: http.IncomingMessage, client: net.Socket) => {
    connects.push(request.url ?? '')
    sockets.add(client)
    const upstream = net.connect(keystonePort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n')
      upstream.pipe(client)
      client.pipe(upstream)
    })
    sockets.add(upstream)
  })
  proxy.on('connection', socket => sockets.add(socket))
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
})

beforeEach(() => {
  connects.length = 0
  for (const name of PROXY_VARIABLES) {
    savedEnv[name] = process.env[name]
    delete process.env[name]
  }
})
afterEach(() => {
  for (const name of PROXY_VARIABLES) {
    if (savedEnv[name] === undefined) delete process.env[name]
    else process.env[name] = savedEnv[name]
  }
})
afterAll(async () => {
  for (const socket of sockets) socket.destroy()
  await Promise.all([keystone, proxy].map(server => new Promise(resolve => server.close(resolve))))
})

const request = (url: string) => send({ method: 'POST', url, headers: {}, body: '{}' }, { timeoutMs: 3000 })

test('http_proxy set: the request goes through the proxy, tunnelled to the Keystone host', async () => {
  process.env.http_proxy = proxyUrl
  const response = await request('http://keystone.invalid:5000/v3/auth/tokens')
  expect(connects).toEqual(['keystone.invalid:5000'])
  expect(response.status).toBe(201)
  expect(JSON.parse(response.body)).toEqual({ host: 'keystone.invalid:5000' })
})

test('no_proxy names the host: straight to it, the proxy sees nothing', async () => {
  process.env.http_proxy = proxyUrl
  process.env.no_proxy = 'keystone.invalid'
  await expect(request('http://keystone.invalid:5000/v3/auth/tokens')).rejects.toMatchObject({ failure: 'dns' })
  expect(connects).toEqual([])
})

test('a loopback Keystone is never proxied, as http-client decides', async () => {
  process.env.http_proxy = proxyUrl
  const response = await request(`http://127.0.0.1:${keystonePort}/v3/auth/tokens`)
  expect(response.status).toBe(201)
  expect(connects).toEqual([])
})

test('no proxy variable: straight to Keystone', async () => {
  const response = await request(`http://127.0.0.1:${keystonePort}/v3/auth/tokens`)
  expect(response.status).toBe(201)
  expect(connects).toEqual([])
})
