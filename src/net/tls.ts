import { randomBytes } from 'node:crypto'
import * as path from 'node:path'
import { UserError } from '../errors.js'
import type { TlsFiles } from '../runtime/files.js'

/**
 * The CA that signs a private cloud's Keystone certificate, given as PEM text (a secret or a
 * variable) or as a path. Text is written to a file in RUNNER_TEMP, outside the workspace, so that
 * later steps can point OS_CACERT at it.
 */

/** The TLS trust the user asked for: a private CA, or none at all. */
export interface TlsSettings {
  /** A PEM text or a path to one: the CA that signs Keystone's certificate. */
  cacert?: { pem: string; from: string } | { path: string; from: string }
  /** Skip certificate verification (`insecure`). */
  insecure: boolean
  /** Let credentials cross plain http to a host that is not this machine. */
  allowInsecureHttp: boolean
}

export interface PreparedTls {
  /** PEM, for the action's own requests. */
  ca?: string
  /** Its file, exported as OS_CACERT. */
  caFile?: string
  insecure: boolean
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
