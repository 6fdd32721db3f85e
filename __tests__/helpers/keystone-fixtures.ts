import { parseCatalog } from '../../src/keystone/catalog.js'
import type { Token } from '../../src/keystone/token.js'

/**
 * Keystone answers shaped on the real ones captured in shared/notes/keystone-samples
 * (Keystone 22 "Zed", fernet tokens), with times relative to now.
 */
export const TOKEN =
  'gAAAAABrDN6LIXiXfBlcYoTvL2VZer8Yu-aSLtmdU5YUVcEsdiI5FhAjBVaueZlJ7TcPXE8IJZVpPGqEIjFo4E5LyLyxAU7n6UQgZ4BcVLC6ty0cRIpSRVHz5m6-RuM7Ta4ZP2QR7nQLzY92UitYw4JDHrXl0C9eVYGlokIjPWYgcc_3G3Ri4_I'

export const DOM2 = { id: '0bf12bfa5e314913904d5878c415dd16', name: 'dom2' }
export const PROJ2 = { id: '0f2c4c30f1dc46468772fa9da7d7cd27', name: 'proj2', domain: DOM2 }
export const USER2 = { id: 'b981b9ba7ad04ff1831e01c41a55337f', name: 'user2', domain: DOM2, password_expires_at: null }

/** Keystone's own format: microseconds and a Z. */
export function keystoneTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export interface TokenShape {
  scope?: 'project' | 'domain' | 'system' | 'unscoped'
  expiresInMs?: number
  applicationCredential?: boolean
  project?: typeof PROJ2
  /** Regions the catalog has (Keystone sends the catalog unless asked not to). */
  regions?: string[]
}

/** A catalog like OVHcloud's: identity, compute and image in each region, public and internal. */
export function catalog(regions: string[]) {
  const service = (type: string, name: string, host: string) => ({
    type,
    name,
    id: `${type}-id`,
    endpoints: regions.flatMap(region => [
      {
        id: `${type}-${region}-public`,
        interface: 'public',
        region_id: region,
        region,
        url: `https://${host}.${region.toLowerCase()}.cloud.test/v1`
      },
      {
        id: `${type}-${region}-internal`,
        interface: 'internal',
        region_id: region,
        region,
        url: `http://${host}.internal.${region.toLowerCase()}/v1`
      }
    ])
  })
  return [service('compute', 'nova', 'compute'), service('image', 'glance', 'image'), service('identity', 'keystone', 'auth')]
}

export function tokenBody({
  scope = 'project',
  expiresInMs = 3600_000,
  applicationCredential = false,
  project = PROJ2,
  regions = ['GRA11', 'SBG5']
}: TokenShape = {}) {
  const now = Date.now()
  return {
    token: {
      methods: [applicationCredential ? 'application_credential' : 'password'],
      user: USER2,
      audit_ids: ['HP-jojrmTPmWFltvBdw-lg'],
      expires_at: keystoneTime(new Date(now + expiresInMs)),
      issued_at: keystoneTime(new Date(now)),
      ...(scope === 'project' && { project, is_domain: false, roles: [{ id: 'eabfebccfb9948fc9f6360ca97c86431', name: 'member' }] }),
      ...(scope === 'domain' && { domain: DOM2, roles: [{ id: 'r', name: 'admin' }] }),
      ...(scope === 'system' && { system: { all: true }, roles: [{ id: 'r', name: 'admin' }] }),
      ...(applicationCredential && { application_credential: { id: 'd390de2699f54ad4ac683f9082571ff0', name: 'ci-appcred', restricted: true } }),
      catalog: catalog(regions)
    }
  }
}

export function keystoneError(code: number, title: string, message: string) {
  return { error: { code, message, title } }
}

export const JSON_HEADERS = { 'Content-Type': 'application/json' }
export const TOKEN_HEADERS = { ...JSON_HEADERS, 'X-Subject-Token': TOKEN }

/**
 * The Token the client makes of tokenBody()'s answer (a project token of user2 in proj2, valid an
 * hour, the catalog parsed), for tests of what is done with a token once issued; `overrides`
 * replaces whole fields (`project: undefined` for another scope).
 */
export function issuedToken(overrides: Partial<Token> = {}): Token {
  const issuedAt = new Date(Date.UTC(2026, 11, 6, 4, 0, 0))
  return {
    value: TOKEN,
    issuedAt,
    expiresAt: new Date(issuedAt.getTime() + 3600_000),
    validForMs: 3600_000,
    receivedAt: issuedAt,
    methods: ['password'],
    user: { id: USER2.id, name: USER2.name, domain: DOM2 },
    project: PROJ2,
    system: false,
    catalog: parseCatalog(catalog(['GRA11', 'SBG5'])),
    ...overrides
  }
}
