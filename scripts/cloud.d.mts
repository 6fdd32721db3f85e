// Types for cloud.mjs (a throw-away cloud from parts, for tests).
import type { ProxyOptions, ProxyServer, RateLimiter, RateLimiterOptions, TlsFront, TlsFrontOptions } from './front/front.d.mts'
import type { KeystoneInstance, StartKeystoneOptions } from './keystone/keystone.d.mts'
import type { ServicesInstance, StartServicesOptions } from './services/services.d.mts'

/** Which parts to start around Keystone; `true` for a part's defaults. Upstreams point at Keystone. */
export interface CloudParts {
  keystone?: StartKeystoneOptions
  /** Glance and Swift behind keystonemiddleware, registered in Keystone's catalog. */
  services?: boolean | StartServicesOptions
  /** nginx with a private CA in front of Keystone. */
  tlsFront?: boolean | Omit<TlsFrontOptions, 'upstream'>
  /** nginx limit_req in front of Keystone. */
  rateLimiter?: boolean | Omit<RateLimiterOptions, 'upstream'>
  /** tinyproxy, a forward proxy. */
  proxy?: boolean | ProxyOptions
}

export interface Cloud {
  keystone: KeystoneInstance
  services?: ServicesInstance
  tlsFront?: TlsFront
  rateLimiter?: RateLimiter
  proxy?: ProxyServer
  /** Stops every part that started (Keystone last). Idempotent. */
  stop(): Promise<void>
}

export function startCloud(parts?: CloudParts): Promise<Cloud>
