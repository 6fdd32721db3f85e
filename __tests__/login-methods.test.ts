import * as fs from 'node:fs'
import * as path from 'node:path'
import { parse } from 'yaml'
import { SECRET_INPUTS } from '../src/config/inputs.js'
import { defaultTokenUseOf, isAuthMethod, LOGIN_METHODS } from '../src/login/methods.js'

/** The registry of login methods (src/login/methods.ts) against what the rest of the action expects of it. */

const action = parse(fs.readFileSync(path.resolve(import.meta.dirname, '..', 'action.yml'), 'utf8')) as {
  inputs: Record<string, { description: string }>
}

test('every method is a value action.yml documents for auth-method', () => {
  expect(LOGIN_METHODS.map(method => method.name)).toEqual(['password', 'application-credential', 'oidc-client', 'oidc'])
  for (const method of LOGIN_METHODS) expect(action.inputs['auth-method']!.description).toContain(method.name)
  expect(isAuthMethod('totp')).toBe(false)
})

test("every method's secret inputs are masked before the first line (SECRET_INPUTS) and declared in action.yml", () => {
  for (const method of LOGIN_METHODS) {
    for (const input of method.secretInputs) {
      expect(SECRET_INPUTS as readonly string[]).toContain(input)
      expect(Object.keys(action.inputs)).toContain(input)
    }
  }
})

test('an OS_AUTH_TYPE names one method at most', () => {
  const all = LOGIN_METHODS.flatMap(method => method.authTypes)
  expect(new Set(all).size).toBe(all.length)
  for (const type of all) expect(type).toBe(type.toLowerCase())
})

test('a shared token is used directly when a method of this action issued it; exchanged when its origin is unknown', () => {
  expect(defaultTokenUseOf(['application_credential'])).toBe('direct')
  expect(defaultTokenUseOf(['password'])).toBe('direct')
  expect(defaultTokenUseOf(['token', 'openid'])).toBe('direct')
  expect(defaultTokenUseOf(['totp'])).toBe('exchange')
  expect(defaultTokenUseOf(undefined)).toBe('exchange')
})

test('every way to log in makes no token per call by default (token-use: direct)', () => {
  for (const method of LOGIN_METHODS) expect([method.name, method.defaultTokenUse]).toEqual([method.name, 'direct'])
})
