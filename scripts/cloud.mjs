// A throw-away OpenStack cloud on 127.0.0.1, started from parts for a test file: a real Keystone
// (scripts/keystone), and on request Glance and Swift validating its tokens (scripts/services),
// nginx with a private CA in front of it (scripts/front, TLS), a forward proxy, a rate limiter.
// Every part runs on the same shell harness (scripts/lib/server.sh) and the same exit-time
// cleanup (scripts/lib/process.mjs): a new server is one more part here, not a new copy of them.
// The federated Keystone of scripts/oidc is a cloud of its own (Keystone inside Apache).
import { startProxy, startRateLimiter, startTlsFront } from './front/front.mjs'
import { startKeystone } from './keystone/keystone.mjs'
import { startServices } from './services/services.mjs'

/**
 * @param {import('./cloud.d.mts').CloudParts} [parts]
 * @returns {Promise<import('./cloud.d.mts').Cloud>}
 */
export async function startCloud(parts = {}) {
  /** @type {{ stop(): Promise<void> }[]} */
  const started = []
  const stop = async () => {
    // The parts in front of Keystone first, Keystone last.
    for (const part of started.splice(0).reverse()) await part.stop()
  }
  try {
    const keystone = await startKeystone(parts.keystone)
    started.push(keystone)
    const options = (/** @type {boolean | object | undefined} */ part) => (typeof part === 'object' ? part : {})
    // allSettled, not all: when one part fails, the others may still be starting; each that
    // started must be in `started` before stop() runs, or its server outlives the test run.
    const settled = await Promise.allSettled([
      parts.services ? startServices(keystone, options(parts.services)) : undefined,
      parts.tlsFront ? startTlsFront({ upstream: keystone.authUrl, ...options(parts.tlsFront) }) : undefined,
      parts.rateLimiter ? startRateLimiter({ upstream: keystone.authUrl, ...options(parts.rateLimiter) }) : undefined,
      parts.proxy ? startProxy(options(parts.proxy)) : undefined
    ])
    for (const result of settled) if (result.status === 'fulfilled' && result.value) started.push(result.value)
    const failure = settled.find(result => result.status === 'rejected')
    if (failure) throw failure.reason
    const [services, tlsFront, rateLimiter, proxy] = settled.map(result => (result.status === 'fulfilled' ? result.value : undefined))
    return {
      keystone,
      ...(services && { services }),
      ...(tlsFront && { tlsFront }),
      ...(rateLimiter && { rateLimiter }),
      ...(proxy && { proxy }),
      stop
    }
  } catch (error) {
    await stop()
    throw error
  }
}
