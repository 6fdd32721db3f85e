import { KeystoneError } from '../src/errors.js'
import { catalogEndpoints, catalogRegions, checkRegion, endpointsFor, normalizeInterface, parseCatalog, storageUrl } from '../src/keystone/catalog.js'
import { catalog } from './helpers/keystone-fixtures.js'

/**
 * The service catalog: which regions a cloud has (the region check, the `catalog-regions` output),
 * which endpoint a later client will reach for a region and interface (the `endpoints` output,
 * OS_STORAGE_URL), chosen as keystoneauth chooses.
 */

const OVH = parseCatalog(catalog(['GRA11', 'SBG5']))!

describe('parseCatalog: what Keystone sent, entries of the wrong shape skipped', () => {
  test("Keystone's catalog: type, name, and each endpoint's interface, region and URL", () => {
    expect(OVH[0]).toEqual({
      type: 'compute',
      name: 'nova',
      endpoints: [
        { interface: 'public', region: 'GRA11', url: 'https://compute.gra11.cloud.test/v1' },
        { interface: 'internal', region: 'GRA11', url: 'http://compute.internal.gra11/v1' },
        { interface: 'public', region: 'SBG5', url: 'https://compute.sbg5.cloud.test/v1' },
        { interface: 'internal', region: 'SBG5', url: 'http://compute.internal.sbg5/v1' }
      ]
    })
  })

  test('not a list: no catalog at all', () => {
    for (const value of [undefined, null, 'catalog', { compute: [] }, 42]) expect(parseCatalog(value)).toBeUndefined()
  })

  test('services without a type or endpoints, and endpoints without an interface or URL, are skipped', () => {
    const parsed = parseCatalog([
      null,
      'compute',
      { type: 7, endpoints: [] },
      { type: 'image' },
      {
        type: 'network',
        endpoints: [null, { interface: 'public' }, { url: 'https://n' }, { interface: 'public', url: 'https://n.test', region: 'R1' }]
      }
    ])
    expect(parsed).toEqual([{ type: 'network', endpoints: [{ interface: 'public', region: 'R1', url: 'https://n.test' }] }])
  })

  test('region_id wins over the old region field, as keystoneauth reads it', () => {
    expect(
      parseCatalog([{ type: 't', endpoints: [{ interface: 'public', region_id: 'new', region: 'old', url: 'https://t' }] }])![0]!.endpoints[0]!.region
    ).toBe('new')
  })
})

test('catalogRegions: each region once, sorted', () => {
  expect(catalogRegions(OVH)).toEqual(['GRA11', 'SBG5'])
  expect(catalogRegions([])).toEqual([])
})

test.each([
  [undefined, 'public'],
  ['', 'public'],
  ['publicURL', 'public'],
  [' InternalURL ', 'internal'],
  ['admin', 'admin']
])('normalizeInterface(%j) is %s', (value, interfaceName) => {
  expect(normalizeInterface(value)).toBe(interfaceName)
})

describe('the endpoints a later client reaches', () => {
  test('endpointsFor: one URL per service type for the region, public by default', () => {
    expect(endpointsFor(OVH, 'SBG5')).toEqual({
      compute: 'https://compute.sbg5.cloud.test/v1',
      image: 'https://image.sbg5.cloud.test/v1',
      identity: 'https://auth.sbg5.cloud.test/v1'
    })
    expect(endpointsFor(OVH, 'GRA11', 'internalURL')).toMatchObject({ compute: 'http://compute.internal.gra11/v1' })
    expect(endpointsFor(OVH, 'BHS5')).toEqual({})
  })

  test('two services of one type: the first one listed, as keystoneauth picks', () => {
    const twice = parseCatalog([
      { type: 'compute', endpoints: [{ interface: 'public', region_id: 'R', url: 'https://first' }] },
      { type: 'compute', endpoints: [{ interface: 'public', region_id: 'R', url: 'https://second' }] }
    ])!
    expect(endpointsFor(twice, 'R')).toEqual({ compute: 'https://first' })
  })

  test('catalogEndpoints: with no region, any region; anything that is not a catalog selects nothing', () => {
    expect(catalogEndpoints(OVH).map(e => e.url)).toEqual([
      'https://compute.gra11.cloud.test/v1',
      'https://image.gra11.cloud.test/v1',
      'https://auth.gra11.cloud.test/v1'
    ])
    expect(catalogEndpoints('not a catalog')).toEqual([])
  })

  test("storageUrl: the object store's URL for the region and interface; none without one, or for a URL that is not plain http(s)", () => {
    const swift = (url: string) => parseCatalog([{ type: 'object-store', endpoints: [{ interface: 'public', region_id: 'R', url }] }])
    expect(storageUrl(swift('https://swift.test/v1/AUTH_p'), { region: 'R' })).toBe('https://swift.test/v1/AUTH_p')
    expect(storageUrl(OVH)).toBeUndefined()
    expect(storageUrl(undefined)).toBeUndefined()
    for (const url of ['file:///etc/passwd', 'https://swift.test/v1/AUTH p', 'https://swift.test/\nOS_EVIL=1', 'https://']) {
      expect(storageUrl(swift(url))).toBeUndefined()
    }
  })
})

describe('checkRegion: a region the catalog lacks stops the step, naming the real ones', () => {
  test('a region the catalog has passes', () => {
    expect(() => checkRegion(OVH, 'SBG5', 'input `region`')).not.toThrow()
  })

  test('a region it lacks: the sentence names where it came from and the regions there are', () => {
    expect(() => checkRegion(OVH, 'BHS5', 'OS_REGION_NAME of the job env')).toThrow(
      new KeystoneError('OS_REGION_NAME of the job env is "BHS5", which is not in this cloud\'s catalog: the regions it has are GRA11, SBG5.')
    )
  })

  test('a catalog with no region at all says so', () => {
    expect(() => checkRegion([], 'GRA11', 'input `region`')).toThrow(
      'input `region` is "GRA11", which is not in this cloud\'s catalog: it names no region at all.'
    )
  })

  test('no catalog to check against: points at auth-url', () => {
    expect(() => checkRegion(undefined, 'GRA11', 'input `region`')).toThrow(
      'Keystone\'s answer has no usable service catalog to check input `region` "GRA11" against: check that auth-url points at Keystone itself.'
    )
  })

  test('region names from Keystone reach the sentence as one inert line', () => {
    const hostile = parseCatalog([{ type: 't', endpoints: [{ interface: 'public', region_id: 'R1\n::error::forged', url: 'https://t' }] }])!
    let message = ''
    try {
      checkRegion(hostile, 'GRA11', 'input `region`')
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain('the regions it has are R1 ::error::forged')
    expect(message).not.toContain('\n')
  })
})
