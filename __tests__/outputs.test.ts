import type { Core } from '../src/runtime/core.js'
import { exportToken, setOutputs } from '../src/handoff/outputs.js'
import { DOM2, issuedToken, PROJ2, TOKEN, USER2 } from './helpers/keystone-fixtures.js'

/**
 * The step's outputs (`steps.<id>.outputs.*`) and the variables it exports, in the order the
 * runner receives them. Outputs are what a workflow reads when it does not use the environment:
 * the token, its times, who and what it is for, and with a region the endpoints of that region.
 */

function recorder() {
  const outputs: Record<string, string> = {}
  const exported: [string, string][] = []
  const core = {
    setOutput: (name: string, value: string) => void (outputs[name] = value),
    exportVariable: (name: string, value: string) => void exported.push([name, value])
  } as unknown as Core
  return { core, outputs, exported }
}

test('a project token: the token, its times in ISO 8601, the user, the project and its domain', () => {
  const { core, outputs } = recorder()
  const token = issuedToken()
  setOutputs(core, token, {})
  expect(outputs).toEqual({
    token: TOKEN,
    'expires-at': '2026-12-06T05:00:00.000Z',
    'issued-at': '2026-12-06T04:00:00.000Z',
    'user-id': USER2.id,
    'project-id': PROJ2.id,
    'domain-id': DOM2.id
  })
})

test('a domain token: domain-id is the domain of the scope, project-id empty', () => {
  const { core, outputs } = recorder()
  setOutputs(core, issuedToken({ project: undefined, domain: { id: 'dom-scope', name: 'scope' } }), {})
  expect(outputs).toMatchObject({ 'project-id': '', 'domain-id': 'dom-scope' })
})

test('an unscoped token: project-id and domain-id empty, never missing (a workflow expression reads them)', () => {
  const { core, outputs } = recorder()
  setOutputs(core, issuedToken({ project: undefined }), {})
  expect(outputs).toMatchObject({ 'project-id': '', 'domain-id': '' })
})

test("with a region: the region's endpoints by service type and the catalog's regions, as JSON", () => {
  const { core, outputs } = recorder()
  setOutputs(core, issuedToken(), { region: 'SBG5' })
  expect(JSON.parse(outputs.endpoints!)).toEqual({
    compute: 'https://compute.sbg5.cloud.test/v1',
    image: 'https://image.sbg5.cloud.test/v1',
    identity: 'https://auth.sbg5.cloud.test/v1'
  })
  expect(JSON.parse(outputs['catalog-regions']!)).toEqual(['GRA11', 'SBG5'])
})

test('with a region and an interface: the endpoints of that interface', () => {
  const { core, outputs } = recorder()
  setOutputs(core, issuedToken(), { region: 'GRA11', interface: 'internal' })
  expect(JSON.parse(outputs.endpoints!)).toMatchObject({ compute: 'http://compute.internal.gra11/v1' })
})

test('no region, or no catalog: no endpoints output at all', () => {
  for (const [token, config] of [
    [issuedToken(), {}],
    [issuedToken({ catalog: undefined }), { region: 'GRA11' }]
  ] as const) {
    const { core, outputs } = recorder()
    setOutputs(core, token, config)
    expect(outputs).not.toHaveProperty('endpoints')
    expect(outputs).not.toHaveProperty('catalog-regions')
  }
})

test('exportToken hands every variable on, the blank ones included (that is how a later step loses one)', () => {
  const { core, exported } = recorder()
  exportToken(core, { OS_PASSWORD: '', OS_TOKEN: TOKEN, OS_CLOUD: '' })
  expect(exported).toEqual([
    ['OS_PASSWORD', ''],
    ['OS_TOKEN', TOKEN],
    ['OS_CLOUD', '']
  ])
})
