import { isLoopback, normalizeAuthUrl } from '../src/config/auth-url.js'

describe('normalizeAuthUrl', () => {
  test.each([
    ['https://auth.cloud.ovh.net/v3', 'https://auth.cloud.ovh.net/v3'],
    ['https://auth.cloud.ovh.net/v3/', 'https://auth.cloud.ovh.net/v3'],
    ['https://auth.cloud.ovh.net', 'https://auth.cloud.ovh.net/v3'],
    ['https://auth.cloud.ovh.net/', 'https://auth.cloud.ovh.net/v3'],
    ['https://cloud.example.com:5000/v2.0', 'https://cloud.example.com:5000/v3'],
    ['https://cloud.example.com/identity', 'https://cloud.example.com/identity/v3'],
    ['https://cloud.example.com/identity/v3//', 'https://cloud.example.com/identity/v3'],
    ['http://127.0.0.1:5000', 'http://127.0.0.1:5000/v3'],
    ['HTTPS://Cloud.Example.COM/v3', 'https://cloud.example.com/v3']
  ])('%s → %s', (raw, expected) => {
    expect(normalizeAuthUrl(raw, 'input `auth-url`')).toBe(expected)
  })

  test.each(['not a url', '/v3', 'ftp://host/v3', 'file:///etc/passwd', 'https://u:p@host/v3', 'https://host/v3?x=1', 'https://host/v3#frag'])(
    'rejects %s',
    raw => {
      expect(() => normalizeAuthUrl(raw, 'OS_AUTH_URL')).toThrow(/^OS_AUTH_URL /)
    }
  )

  test('isLoopback', () => {
    expect(isLoopback('http://127.0.0.1:5000/v3')).toBe(true)
    expect(isLoopback('http://localhost/v3')).toBe(true)
    expect(isLoopback('http://[::1]:5000/v3')).toBe(true)
    expect(isLoopback('http://keystone.example.com/v3')).toBe(false)
  })
})
