import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { UserError } from '../src/errors.js'
import { prepareTls } from '../src/net/tls.js'
import { nodeFiles, type TlsFiles } from '../src/runtime/files.js'

/**
 * A private cloud's CA: the action's own requests trust it, and later steps find it through
 * OS_CACERT. Given as PEM text it is written to a file in the job's temp folder; given as a path it
 * is read there, and refused with one sentence when it is not a certificate.
 */

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUe\n-----END CERTIFICATE-----'

/** The seam as a map: what was written, and what can be read. */
function memoryFiles(existing: Record<string, string> = {}): TlsFiles & { written: Map<string, string> } {
  const written = new Map<string, string>()
  return {
    written,
    tempDir: '/runner/temp',
    read: file => written.get(file) ?? existing[file],
    write: (file, content) => void written.set(file, content)
  }
}

test('no CA: nothing written, nothing to trust but the system, verification as asked', () => {
  const files = memoryFiles()
  expect(prepareTls({ insecure: false, allowInsecureHttp: false }, files)).toEqual({ insecure: false })
  expect(prepareTls({ insecure: true, allowInsecureHttp: false }, files)).toEqual({ insecure: true })
  expect(files.written.size).toBe(0)
})

test('a PEM given as text: trusted as it is, and written to a file of its own in the temp folder for later steps', () => {
  const files = memoryFiles()
  const tls = prepareTls({ cacert: { pem: PEM, from: 'input `cacert`' }, insecure: false, allowInsecureHttp: false }, files)
  expect(tls.ca).toBe(PEM)
  expect(path.dirname(tls.caFile!)).toBe('/runner/temp')
  expect(path.basename(tls.caFile!)).toMatch(/^openstack-token-ca-[0-9a-f]{12}\.pem$/)
  expect(files.written.get(tls.caFile!)).toBe(`${PEM}\n`)
})

test('two logins in one job write two CA files: neither overwrites the CA the other exported', () => {
  const files = memoryFiles()
  const settings = { cacert: { pem: PEM, from: 'input `cacert`' }, insecure: false, allowInsecureHttp: false }
  expect(prepareTls(settings, files).caFile).not.toBe(prepareTls(settings, files).caFile)
})

test('a path: its PEM is trusted, and the absolute path is what later steps get', () => {
  const files = memoryFiles({ 'certs/ca.pem': PEM })
  const tls = prepareTls({ cacert: { path: 'certs/ca.pem', from: 'OS_CACERT' }, insecure: false, allowInsecureHttp: false }, files)
  expect(tls).toEqual({ ca: PEM, caFile: path.resolve('certs/ca.pem'), insecure: false })
  expect(files.written.size).toBe(0)
})

test('a path to no readable file: one sentence naming where it came from and what to give', () => {
  const files = memoryFiles()
  const prepare = () =>
    prepareTls({ cacert: { path: '/nowhere/ca.pem', from: 'OS_CACERT of the job env' }, insecure: false, allowInsecureHttp: false }, files)
  expect(prepare).toThrow(UserError)
  expect(prepare).toThrow(
    "OS_CACERT of the job env is /nowhere/ca.pem, which is not a readable file: give the CA certificate's path, or its PEM text."
  )
})

test('a file that holds no certificate (a key, a typo): refused before any request trusts it', () => {
  const files = memoryFiles({ '/etc/ssl/key.pem': '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----' })
  expect(() =>
    prepareTls({ cacert: { path: '/etc/ssl/key.pem', from: 'input `cacert`' }, insecure: false, allowInsecureHttp: false }, files)
  ).toThrow('input `cacert` (/etc/ssl/key.pem) holds no PEM certificate: it should contain -----BEGIN CERTIFICATE-----.')
})

test('with the real files: the CA written under RUNNER_TEMP is readable by its owner only', () => {
  const runnerTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-test-'))
  try {
    const tls = prepareTls(
      { cacert: { pem: PEM, from: 'input `cacert`' }, insecure: false, allowInsecureHttp: false },
      nodeFiles({ RUNNER_TEMP: runnerTemp })
    )
    expect(tls.caFile!.startsWith(runnerTemp + path.sep)).toBe(true)
    expect(fs.readFileSync(tls.caFile!, 'utf8')).toBe(`${PEM}\n`)
    expect(fs.statSync(tls.caFile!).mode & 0o077).toBe(0)
  } finally {
    fs.rmSync(runnerTemp, { recursive: true, force: true })
  }
})
