import { summary } from '@actions/core'
import { tokenSummary } from '../src/handoff/summary.js'
import type { ActionConfig } from '../src/config/types.js'
import type { Token } from '../src/keystone/token.js'
import { issuedToken, PROJ2 } from './helpers/keystone-fixtures.js'

/**
 * The job summary, rendered by @actions/core's own summary (its table does not escape): names come
 * from Keystone, and the summary page renders HTML, so a name must show as text, never as markup.
 */

const EXPORTED: Pick<ActionConfig, 'region' | 'exportEnv' | 'tokenUse'> = { region: 'GRA11', exportEnv: true, tokenUse: 'exchange' }

/** The table's rows as [label, value] text, from the HTML the summary holds. */
function rows(text: string): [string, string][] {
  return [...text.matchAll(/<tr><td>(.*?)<\/td><td>(.*?)<\/td><\/tr>/g)].map(m => [m[1]!, m[2]!])
}

function render(token?: Token, config = EXPORTED, services?: string[]): string {
  tokenSummary(summary.emptyBuffer(), token ?? issuedToken(), config, services)
  return summary.stringify()
}

afterEach(() => summary.emptyBuffer())

test('who, which scope, where and until when: one row each', () => {
  const text = render()
  expect(text).toContain('<h3>OpenStack token</h3>')
  expect(rows(text)).toEqual([
    ['User', 'user2 (domain dom2)'],
    ['Scope', `project proj2 (${PROJ2.id}) in domain dom2`],
    ['Region', 'GRA11'],
    ['Expires', '2026-12-06T05:00:00Z'],
    ['Exported', expect.stringContaining('OS_TOKEN')]
  ])
})

test.each([
  ['a user name', { user: { id: 'u', name: '<img src=x onerror=alert(1)>' } }, 'User'],
  ['a user domain name', { user: { id: 'u', name: 'n', domain: { id: 'd', name: '<script>steal()</script>' } } }, 'User'],
  ['a project name', { project: { id: 'p', name: '<a href="https://evil.test">proj</a>' } }, 'Scope'],
  ['a project domain name', { project: { id: 'p', name: 'n', domain: { id: 'd', name: "d'<b>" } } }, 'Scope'],
  ['a domain name', { project: undefined, domain: { id: 'd', name: '<iframe src=//evil.test>' } }, 'Scope'],
  ['an application credential name', { applicationCredential: { id: 'ac', name: '<svg onload=alert(1)>' } }, 'Application credential']
])('%s from Keystone is escaped: text, not markup', (_what, parts: Partial<Token>, row) => {
  const text = render(issuedToken(parts))
  expect(text).not.toMatch(/<(img|script|a|b|iframe|svg)\b/)
  const value = rows(text).find(([label]) => label === row)?.[1]
  expect(value).toMatch(/&#60;/)
  expect(value).not.toMatch(/[<>"']/)
})

test('an ampersand is escaped once, so an entity in a name shows as it is written', () => {
  const text = render(issuedToken({ project: { id: 'p', name: 'R&D &#60;lab' } }))
  expect(rows(text).find(([label]) => label === 'Scope')?.[1]).toContain('R&#38;D &#38;#60;lab')
})

test('a name with a line break stays on its row, as one line', () => {
  const text = render(issuedToken({ user: { id: 'u', name: 'user2\n<h1>forged</h1>' } }))
  expect(text).not.toContain('<h1>')
  expect(rows(text).find(([label]) => label === 'User')?.[1]).toMatch(/^user2 &#60;h1&#62;forged&#60;\/h1&#62;/)
})

test('an application credential gets its own row, right after the user', () => {
  const labels = rows(render(issuedToken({ applicationCredential: { id: 'ac-id', name: 'ci-appcred' } }))).map(([label]) => label)
  expect(labels.slice(0, 2)).toEqual(['User', 'Application credential'])
})

test('no region: said so, not left blank', () => {
  expect(rows(render(issuedToken(), { ...EXPORTED, region: undefined }))).toContainEqual(['Region', '(not set)'])
})

test("the region's services when known; a region with none says so; unknown, no row", () => {
  expect(rows(render(issuedToken(), EXPORTED, ['compute', 'image']))).toContainEqual(['Services', 'compute, image'])
  expect(rows(render(issuedToken(), EXPORTED, []))).toContainEqual(['Services', '(none in this region)'])
  expect(rows(render(issuedToken(), EXPORTED)).map(([label]) => label)).not.toContain('Services')
})

test('export-env: false says the token is only in the `token` output', () => {
  const text = render(issuedToken(), { ...EXPORTED, exportEnv: false })
  expect(rows(text)).toContainEqual(['Exported', 'no (export-env: false)'])
  expect(text).toMatch(/<p>Later steps get the token only through the <code>token<\/code> output/)
})

test('what a later `openstack` call costs is said per token-use, and differs between them', () => {
  const exchange = render(issuedToken(), { ...EXPORTED, tokenUse: 'exchange' }).match(/<p>.*<\/p>/)?.[0]
  const direct = render(issuedToken(), { ...EXPORTED, tokenUse: 'direct' }).match(/<p>.*<\/p>/)?.[0]
  expect(exchange).toContain('token-use: exchange')
  expect(direct).toContain('token-use: direct')
  expect(exchange).not.toEqual(direct)
})

test('the token itself never appears in the summary', () => {
  const token = issuedToken()
  expect(render(token)).not.toContain(token.value)
})
