import type { ActionConfig } from '../config/types.js'
import type { SummaryWriter } from '../runtime/core.js'
import type { Token } from '../keystone/token.js'
import { formatTime } from '../time.js'
import { describeScope, displayName } from '../keystone/token-checks.js'

/**
 * The job summary: who the token is for, its scope, region, expiry and the services it opens.
 * Everything in it comes from Keystone or the inputs, never a secret, and is HTML-escaped since the
 * summary renders HTML.
 */

function escape(text: string): string {
  return text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)
}

export function tokenSummary(
  writer: SummaryWriter,
  token: Token,
  config: Pick<ActionConfig, 'region' | 'exportEnv' | 'tokenUse'>,
  services: string[] | undefined
): SummaryWriter {
  const user = `${displayName(token.user)}${token.user.domain ? ` (domain ${displayName(token.user.domain)})` : ''}`
  const rows: [string, string][] = [
    ['User', user],
    ['Scope', describeScope(token)],
    ['Region', config.region ?? '(not set)'],
    ['Expires', `${formatTime(token.expiresAt)}`],
    ['Exported', config.exportEnv ? 'OS_TOKEN, OS_AUTH_TYPE=v3token and the scope, for later steps' : 'no (export-env: false)']
  ]
  if (token.applicationCredential) rows.splice(1, 0, ['Application credential', displayName(token.applicationCredential)])
  if (services) rows.push(['Services', services.length > 0 ? services.join(', ') : '(none in this region)'])
  return writer
    .addHeading('OpenStack token', 3)
    .addTable([
      [
        { data: 'Token', header: true },
        { data: '', header: true }
      ],
      ...rows.map(([k, v]) => [escape(k), escape(v)])
    ])
    .addRaw(`<p>${LATER_CALLS[config.exportEnv ? config.tokenUse : 'not-exported']}</p>`, true)
}

/** What a later step's `openstack` call costs at Keystone, by how the token is handed on. */
const LATER_CALLS = {
  exchange:
    'Each <code>openstack</code> CLI call in a later step makes one Keystone request, to exchange this token for its own, which outlives the revocation of this one (<code>token-use: exchange</code>).',
  direct:
    'Later <code>openstack</code>, openstacksdk and Ansible calls use this token as it is, with no Keystone request (<code>token-use: direct</code>, the default).',
  'not-exported': 'Later steps get the token only through the <code>token</code> output (<code>export-env: false</code>).'
} as const
