import { randomBytes } from 'node:crypto'
import * as path from 'node:path'
import type { ConfigSource } from '../config/inputs.js'
import { resolveBoolean, type Reader } from '../config/reader.js'
import type { TlsSettings } from '../config/types.js'
import { UserError } from '../errors.js'

/**
 * The CA that signs a private cloud's Keystone certificate, given as PEM text (a secret or a
 * variable) or as a path. Text is written to a file in RUNNER_TEMP, outside the workspace, so that
 * later steps can point OS_CACERT at it.
 */

export interface PreparedTls {
  /** PEM, for the action's own requests. */
  ca?: string
  /** Its file, exported as OS_CACERT. */
  caFile?: string
  insecure: boolean
}

export interface TlsFiles {
  read(file: string): string | undefined
  write(file: string, content: string): void
  tempDir: string
}

export function prepareTls(settings: TlsSettings, files: TlsFiles): PreparedTls {
  const { cacert, insecure } = settings
  if (!cacert) return { insecure }
  if ('pem' in cacert) {
    const caFile = path.join(files.tempDir, `openstack-token-ca-${randomBytes(6).toString('hex')}.pem`)
    files.write(caFile, `${cacert.pem}\n`)
    return { ca: cacert.pem, caFile, insecure }
  }
  const pem = files.read(cacert.path)
  if (pem === undefined) {
    throw new UserError(`${cacert.from} is ${cacert.path}, which is not a readable file: give the CA certificate's path, or its PEM text.`)
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UserError(`${cacert.from} (${cacert.path}) holds no PEM certificate: it should contain -----BEGIN CERTIFICATE-----.`)
  }
  return { ca: pem, caFile: path.resolve(cacert.path), insecure }
}

/** `cacert` (PEM text or a path), `insecure` and `allow-insecure-http`, as the user set them. */
export function resolveTls(read: Reader, source: ConfigSource): TlsSettings {
  // A PEM is many lines long: it is read as it is, not through the single-line checks.
  const pem = source.input('cacert').trim()
  let cacert: TlsSettings['cacert']
  if (pem.includes('-----BEGIN')) {
    cacert = { pem, from: 'input `cacert`' }
  } else {
    const path = read.get('cacert')
    if (path) cacert = { path: path.value, from: path.from }
  }
  return {
    ...(cacert && { cacert }),
    insecure: resolveBoolean(read.get('insecure'), false),
    allowInsecureHttp: resolveBoolean(read.fromInput('allow-insecure-http'), false)
  }
}
