// Types for front.mjs (nginx and tinyproxy from Debian in front of the test Keystone, on 127.0.0.1).

interface CommonOptions {
  /** 0 or absent: a free port below the ephemeral range is picked. */
  port?: number
  /** Default: a fresh temporary dir (removed by stop()). */
  stateDir?: string
  /** Bound on start.sh, default 300 000 ms (a first run may apt-install the packages). */
  timeoutMs?: number
}

interface CommonInstance {
  /** http://127.0.0.1:PORT, or https://127.0.0.1:PORT for the TLS front. */
  url: string
  port: number
  /** The server's main process (leader of its own process group). */
  pid: number
  stateDir: string
  /** Stops the server; removes the state dir unless purge is false or FRONT_KEEP_STATE=1. Idempotent. */
  stop(options?: { purge?: boolean }): Promise<void>
}

/** One line of an nginx access log written by start.sh (the readiness probe is not logged). */
export interface AccessLogEntry {
  /** When nginx finished the request, ms since the epoch. */
  timeMs: number
  client: string
  method: string
  /** Request target as sent, query string included. */
  target: string
  status: number
  bytes: number
  durationMs: number
  /** What the upstream answered; undefined when nginx answered itself (a 429). */
  upstreamStatus?: string
  /** The Retry-After header sent, if any. */
  retryAfter?: string
}

export interface CountFilter {
  status?: number
  method?: string
  /** A prefix of the request target. */
  path?: string
}

interface NginxInstance extends CommonInstance {
  /** The front's URL with the upstream's path, e.g. https://127.0.0.1:PORT/v3 for a Keystone authUrl. */
  authUrl: string
  /** nginx access log: one line per request. */
  accessLogPath: string
  entries(): AccessLogEntry[]
  count(filter?: CountFilter): number
}

export interface TlsFrontOptions extends CommonOptions {
  /** Loopback http URL, e.g. a Keystone's authUrl; requests keep their own path. */
  upstream: string
  /** Extra subjectAltNames of the server certificate (IPs or DNS names); IP:127.0.0.1 and DNS:localhost are always there. */
  altNames?: string[]
}

export interface TlsFront extends NginxInstance {
  kind: 'tls'
  /** https://127.0.0.1:PORT */
  url: string
  /** The instance's own test CA (PEM file), e.g. for NODE_EXTRA_CA_CERTS. */
  caFile: string
  caPem: string
}

export interface RateLimiterOptions extends CommonOptions {
  /** Loopback http URL, e.g. a Keystone's authUrl. */
  upstream: string
  /** nginx limit_req rate, Nr/s or Nr/m. Default 60r/m. */
  rate?: string
  /** Requests admitted at once above the rate (nodelay: answered at once, never queued). Default 0. */
  burst?: number
  /**
   * true (default): Retry-After = the rate's interval rounded up to whole seconds, at least 1;
   * a number: that many seconds; false: no Retry-After header.
   */
  retryAfter?: boolean | number
  /** 'login' (default): only POST …/auth/tokens counts and is limited; 'all': every request. */
  scope?: 'login' | 'all'
}

export interface RateLimiter extends NginxInstance {
  kind: 'ratelimit'
  rate: string
  burst: number
  /** Time between two admitted requests once the burst is spent: 60 000 / N for Nr/m. */
  intervalMs: number
  /** The Retry-After value sent with every 429; undefined when none is sent. */
  retryAfterSeconds?: number
  scope: 'login' | 'all'
  /** Lower bound of the time between the first and the last admitted of n simultaneous limited requests. */
  minimumMakespanMs(n: number): number
}

export interface ProxyOptions extends CommonOptions {
  /** Allow CONNECT to these ports only. Default: any port. */
  connectPorts?: number[]
}

export interface ProxyServer extends CommonInstance {
  kind: 'proxy'
  /** http://127.0.0.1:PORT, for http_proxy / https_proxy. */
  url: string
  /** tinyproxy's log (LogLevel Connect). */
  logPath: string
  /** "METHOD TARGET" of every request received: `CONNECT host:port`, `POST http://host:port/path`. */
  requests(): string[]
}

export function startTlsFront(options: TlsFrontOptions): Promise<TlsFront>
export function startRateLimiter(options: RateLimiterOptions): Promise<RateLimiter>
export function startProxy(options?: ProxyOptions): Promise<ProxyServer>

/** Parses an access log of start.sh's nginx. */
export function readAccessLog(path: string): AccessLogEntry[]
/** The "METHOD TARGET" lines of a tinyproxy log, without the readiness probe's request. */
export function readProxyLog(path: string, probeHost?: string): string[]
