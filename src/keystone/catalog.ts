import { KeystoneError, oneLine } from '../errors.js'

/**
 * The service catalog of a token: which services the cloud has, in which regions, at which URLs.
 * Read only when something needs it (a region to check), since it can weigh tens of kilobytes.
 */

export interface CatalogEndpoint {
  interface: string
  region: string
  url: string
}

export interface CatalogService {
  type: string
  name?: string
  endpoints: CatalogEndpoint[]
}

/** Keystone's `catalog` list; entries of the wrong shape are skipped, a non-list is undefined. */
export function parseCatalog(value: unknown): CatalogService[] | undefined {
  if (!Array.isArray(value)) return undefined
  const services: CatalogService[] = []
  for (const entry of value) {
    if (typeof entry !== 'object' || entry === null || typeof entry.type !== 'string' || !Array.isArray(entry.endpoints)) continue
    const endpoints: CatalogEndpoint[] = []
    for (const e of entry.endpoints as unknown[]) {
      if (typeof e !== 'object' || e === null) continue
      const { interface: iface, region_id: regionId, region, url } = e as Record<string, unknown>
      const where = typeof regionId === 'string' ? regionId : typeof region === 'string' ? region : ''
      if (typeof iface === 'string' && typeof url === 'string') endpoints.push({ interface: iface, region: where, url })
    }
    services.push({ type: entry.type, ...(typeof entry.name === 'string' && { name: entry.name }), endpoints })
  }
  return services
}

export function catalogRegions(catalog: CatalogService[]): string[] {
  const regions = new Set<string>()
  for (const service of catalog) for (const endpoint of service.endpoints) if (endpoint.region) regions.add(endpoint.region)
  return [...regions].sort()
}

/** One endpoint of the catalog that a client will use for the region and interface given. */
export interface SelectedEndpoint {
  type: string
  name?: string
  url: string
  region?: string
  interface: string
}

/** `publicURL` (v2 style) and `public` are the same interface for keystoneauth; none means public. */
export function normalizeInterface(value: string | undefined): string {
  const trimmed = (value ?? '').trim().toLowerCase()
  if (trimmed === '') return 'public'
  return trimmed.endsWith('url') ? trimmed.slice(0, -3) : trimmed
}

/**
 * The endpoints a client will reach, chosen as keystoneauth chooses them: the interface (public by
 * default), the region (with none, any), the first match per service. Takes Keystone's raw
 * `catalog` too: anything that is not a catalog selects nothing.
 */
export function catalogEndpoints(catalog: unknown, options: { region?: string; interface?: string } = {}): SelectedEndpoint[] {
  // A parsed catalog parses to itself: its endpoints keep `region`, which Keystone's also carry.
  const services = parseCatalog(catalog) ?? []
  const wanted = normalizeInterface(options.interface)
  const region = options.region?.trim() || undefined
  const found: SelectedEndpoint[] = []
  for (const service of services) {
    const endpoint = service.endpoints.find(e => normalizeInterface(e.interface) === wanted && (region === undefined || e.region === region))
    if (!endpoint) continue
    found.push({
      type: service.type,
      ...(service.name !== undefined && { name: service.name }),
      url: endpoint.url,
      ...(endpoint.region && { region: endpoint.region }),
      interface: wanted
    })
  }
  return found
}

/** Service type → URL for one region and interface: what a later step would call. */
export function endpointsFor(catalog: CatalogService[], region: string, endpointInterface = 'public'): Record<string, string> {
  const endpoints: Record<string, string> = {}
  for (const endpoint of catalogEndpoints(catalog, { region, interface: endpointInterface })) {
    if (!Object.hasOwn(endpoints, endpoint.type)) endpoints[endpoint.type] = endpoint.url
  }
  return endpoints
}

/**
 * The object-store URL of the token's project, as swiftclient and rclone want it in OS_STORAGE_URL:
 * the catalog's object-store endpoint for the region and interface in use (Keystone has already put
 * the project id into its `AUTH_%(project_id)s` template). Undefined without an object store, and
 * for anything that is not a plain http(s) URL: it goes into the environment of every later step.
 */
export function storageUrl(catalog: CatalogService[] | undefined, options: { region?: string; interface?: string } = {}): string | undefined {
  if (!catalog) return undefined
  const found = catalogEndpoints(catalog, options).find(endpoint => endpoint.type === 'object-store')
  if (!found || !/^https?:\/\/[\x21-\x7e]+$/i.test(found.url)) return undefined
  try {
    new URL(found.url)
  } catch {
    return undefined
  }
  return found.url
}

/**
 * A region the catalog does not have makes every later service call fail with "public endpoint
 * for compute service in Nowhere region not found": better to say so now, with the real ones.
 */
export function checkRegion(catalog: CatalogService[] | undefined, region: string, from: string): void {
  if (!catalog) {
    throw new KeystoneError(
      `Keystone's answer has no usable service catalog to check ${from} "${oneLine(region, 100)}" against: check that auth-url points at Keystone itself.`
    )
  }
  const regions = catalogRegions(catalog)
  if (regions.includes(region)) return
  const known = regions.length > 0 ? `the regions it has are ${regions.map(r => oneLine(r, 60)).join(', ')}` : 'it names no region at all'
  throw new KeystoneError(`${from} is "${oneLine(region, 100)}", which is not in this cloud's catalog: ${known}.`)
}
