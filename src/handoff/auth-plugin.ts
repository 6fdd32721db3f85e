import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

/**
 * The Python side of direct token use: the keystoneauth auth plugin `openstack-token`
 * (src/python/openstack_token.py, linted and tested by Python's own tools). keystoneauth finds auth
 * plugins through stevedore entry points, so a folder on PYTHONPATH that holds the module and its
 * `.dist-info` (METADATA, entry_points.txt) registers it for the CLI, openstacksdk and Ansible,
 * with no pip and no private API of any client.
 *
 * The files are read from the bundle at run time: ncc copies each file named by
 * `new URL(…, import.meta.url)` next to dist/main/index.js, so dist/ carries exactly the source.
 */

/** OS_AUTH_TYPE of later steps: the entry point's name in entry_points.txt. */
export const AUTH_TYPE = 'openstack-token'

/** The plugin folder's files, by their path inside it. */
export function pluginFiles(): Array<{ name: string; content: string }> {
  return [
    { name: 'openstack_token.py', content: readFileSync(new URL('../python/openstack_token.py', import.meta.url), 'utf8') },
    {
      name: 'openstack_token-0.dist-info/METADATA',
      content: readFileSync(new URL('../python/openstack_token-0.dist-info/METADATA', import.meta.url), 'utf8')
    },
    {
      name: 'openstack_token-0.dist-info/entry_points.txt',
      content: readFileSync(new URL('../python/openstack_token-0.dist-info/entry_points.txt', import.meta.url), 'utf8')
    }
  ]
}

/** The file of a login's state in the state folder: the SHA-256 of its first token, so that no token is in a name. */
export function tokenStateFileName(token: string): string {
  return `${createHash('sha256').update(token, 'utf8').digest('hex')}.json`
}
