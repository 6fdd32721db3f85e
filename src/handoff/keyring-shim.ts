import { createHash } from 'node:crypto'

/**
 * The Python side of direct token use: a module named `keyring`, put on PYTHONPATH for the steps
 * after the action, through which openstacksdk (and the `openstack` CLI, which reads its auth
 * through openstacksdk) finds the job's token response instead of asking Keystone for a new token.
 *
 * Shipped as a string so that the bundle (ncc) carries it; `renderKeyringShim` fills in the path of
 * the token-state file. Checked with the real CLI in __tests__/e2e/direct-use.e2e.test.ts, and
 * compiled by python3 in __tests__/direct-use.test.ts.
 *
 * How openstacksdk reaches it (openstack/config/cloud_region.py, 0.x to 4.x): with clouds.yaml
 * `cache: {auth: true}`, CloudRegion.__init__ calls `keyring.get_password('openstacksdk', cache_id)`
 * and gives the answer to `auth_plugin.set_auth_state(...)`; a plugin with an auth ref never POSTs.
 */

/** Name of the marker file next to the shim: other copies of the shim skip directories that hold one. */
export const SHIM_MARKER = 'openstack-token-shim'

/** Placeholder for the JSON-quoted (hence valid Python) path of the directory of token states. */
const STATE_DIR_PLACEHOLDER = '__OPENSTACK_TOKEN_STATE_DIR__'

const TEMPLATE = String.raw`# Written by the openstack-token GitHub Action for the steps after it; rewritten on every run.
#
# openstacksdk, and the openstack CLI through it, can take a Keystone token response from
# keyring.get_password('openstacksdk', cache_id) instead of asking Keystone for a token, when the
# configuration says cache: {auth: true} (the action's OS_CLIENT_SECURE_FILE). This module answers
# that one question with the job's token and its catalog, so that every command uses the token as it
# is: no Keystone request per command, and tokens from application credentials work (Keystone
# refuses to exchange those for new tokens).
#
# It is on PYTHONPATH under the name "keyring", so Python finds it before any installed package:
# - if the real keyring package is installed, this module loads it in its own place (sys.modules)
#   and wraps get_password, set_password and delete_password for the one key it answers; every
#   other use of keyring (other services, other openstacksdk clouds) goes to the real package;
# - if it is not installed, openstacksdk gets a minimal read-only stand-in, and any other importer
#   gets the same ImportError as without this module;
# - 'python3 -m keyring' runs the real package's command line, or fails as if this were absent.
# Each login of the job has its own state file, named by the SHA-256 of its token: it answers a
# plugin that holds one of them and asks for no other scope; for anything else (another cloud, a
# password, another token) openstacksdk works as without it.
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import time

_STATE_DIR = __OPENSTACK_TOKEN_STATE_DIR__
_SERVICE = 'openstacksdk'
_MARKER = 'openstack-token-shim'
_warned = []
_served = set()


def _is_shim_dir(entry):
    try:
        return os.path.isfile(os.path.join(entry or os.curdir, _MARKER))
    except (TypeError, ValueError):
        return False


def _read_state(token):
    if not isinstance(token, str) or not token:
        return None
    name = hashlib.sha256(token.encode('utf-8')).hexdigest() + '.json'
    try:
        with open(os.path.join(_STATE_DIR, name)) as f:
            state = json.load(f)
        if state['auth_token'] != token or not isinstance(state['body']['token'], dict):
            return None
        return state
    except Exception:
        return None


def _value(plugin, name):
    # keystoneauth1's v3 plugins keep the scope in project_id..., its generic ones in _project_id...
    value = getattr(plugin, name, None)
    return value if value is not None else getattr(plugin, '_' + name, None)


def _plugin_tokens(plugin):
    tokens = [getattr(plugin, '_token', None)]
    for method in getattr(plugin, 'auth_methods', None) or []:
        tokens.append(getattr(method, 'token', None))
    return tokens


def _scope_matches(plugin, token):
    project = token.get('project') or {}
    domain = token.get('domain') or {}
    have = {
        'project_id': project.get('id'),
        'project_name': project.get('name'),
        'domain_id': domain.get('id'),
        'domain_name': domain.get('name'),
    }
    for name, value in have.items():
        asked = _value(plugin, name)
        if asked and asked != value:
            return False
    if _value(plugin, 'trust_id'):
        return False
    if _value(plugin, 'system_scope') and not token.get('system'):
        return False
    return True


def _caller_plugin(frame):
    # The caller is openstacksdk's CloudRegion.load_auth_from_cache(self); its plugin is self._auth.
    for _ in range(3):
        if frame is None:
            return None
        plugin = getattr(frame.f_locals.get('self'), '_auth', None)
        if plugin is not None and hasattr(plugin, 'get_cache_id'):
            return plugin
        frame = frame.f_back
    return None


def _expired(state):
    # How long the token had left by Keystone's clock when it arrived, counted from its arrival on
    # this runner's clock: a runner clock that is off by minutes does not refuse a valid token.
    try:
        return time.time() >= float(state['received_at']) + float(state['valid_for'])
    except (KeyError, TypeError, ValueError):
        return False


def _warn_once(message):
    if not _warned:
        _warned.append(True)
        sys.stderr.write('openstack-token: %s\n' % message)


def _is_token_issue():
    args = sys.argv[1:] if os.path.basename(sys.argv[0] or '') == 'openstack' else []
    return any(args[i:i + 2] == ['token', 'issue'] for i in range(len(args)))


def _keystone_accepts(state):
    # 'openstack token issue' is the usual smoke test: served from the cache it would print a
    # revoked token and succeed. For that one command, Keystone is asked (one HEAD).
    import ssl
    import urllib.error
    import urllib.request
    token = state['auth_token']
    url = str(state.get('auth_url') or '').rstrip('/') + '/auth/tokens?nocatalog'
    headers = {'X-Auth-Token': token, 'X-Subject-Token': token, 'OpenStack-Identity-Access-Rules': '1.0'}
    context = ssl.create_default_context(cafile=os.environ.get('OS_CACERT') or None)
    if os.environ.get('OS_INSECURE', '').lower() in ('1', 'true', 'yes'):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        urllib.request.urlopen(urllib.request.Request(url, method='HEAD', headers=headers), timeout=30, context=context)
    except urllib.error.HTTPError as error:
        return error.code not in (401, 404)
    except Exception:
        return True
    return True


def _auth_state(frame):
    plugin = _caller_plugin(frame)
    if plugin is None:
        return None
    for candidate in _plugin_tokens(plugin):
        state = _read_state(candidate)
        if state is not None:
            break
    else:
        return None
    token = state['body']['token']
    if not _scope_matches(plugin, token):
        return None
    if _expired(state):
        _warn_once('the job\'s Keystone token expired at %s; the command falls back to asking Keystone, '
                   'which refuses an expired token.' % token.get('expires_at'))
        return None
    if _is_token_issue() and not _keystone_accepts(state):
        _warn_once('Keystone no longer accepts the job\'s token (revoked or expired).')
        return None
    # This token cannot be renewed into a longer-lived one: keystoneauth must not try in its last
    # two minutes either (it would exchange it on every request, or get 403 for an application
    # credential's token).
    try:
        plugin.reauthenticate = False
    except Exception:
        pass
    return json.dumps({'auth_token': state['auth_token'], 'body': state['body']})


def _answer(service_name, username, frame):
    if service_name != _SERVICE:
        return None
    state = _auth_state(frame)
    if state is not None:
        _served.add(username)
    return state


def _wrap(real):
    real_get, real_set, real_delete = real.get_password, real.set_password, getattr(real, 'delete_password', None)

    def get_password(service_name, username):
        state = _answer(service_name, username, sys._getframe(1))
        return state if state is not None else real_get(service_name, username)

    def set_password(service_name, username, password):
        # openstacksdk saves the auth state it was given when a connection closes: the job's token
        # never goes into the user's keyring. Every other key is the user's own business.
        if service_name == _SERVICE and username in _served:
            return None
        return real_set(service_name, username, password)

    def delete_password(service_name, username):
        if service_name == _SERVICE and username in _served:
            return None
        return real_delete(service_name, username)

    get_password.__doc__, set_password.__doc__ = real_get.__doc__, real_set.__doc__
    real.get_password, real.set_password = get_password, set_password
    if real_delete is not None:
        delete_password.__doc__ = real_delete.__doc__
        real.delete_password = delete_password


def _path_without_shims():
    here = os.path.dirname(os.path.abspath(__file__))
    return [entry for entry in sys.path
            if not _is_shim_dir(entry) and os.path.abspath(entry or os.curdir) != here]


def _load_real():
    spec = importlib.machinery.PathFinder.find_spec('keyring', _path_without_shims())
    if spec is None or spec.loader is None:
        return None
    shim = sys.modules[__name__]
    module = importlib.util.module_from_spec(spec)
    sys.modules[__name__] = module
    try:
        spec.loader.exec_module(module)
    except ImportError:
        sys.modules[__name__] = shim
        return None
    except BaseException:
        sys.modules[__name__] = shim
        raise
    return module


def _importer():
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get('__name__') or ''
        if name != __name__ and not name.startswith('importlib') and not frame.f_code.co_filename.startswith('<frozen'):
            return name
        frame = frame.f_back
    return ''


if __name__ == '__main__':
    # 'python3 -m keyring': the real package's command line, as if this module were not there.
    sys.path[:] = _path_without_shims()
    if importlib.machinery.PathFinder.find_spec('keyring', sys.path) is None:
        sys.exit('%s: No module named keyring' % (sys.executable or 'python3'))
    import runpy
    runpy.run_module('keyring', run_name='__main__', alter_sys=True)
    sys.exit(0)

_real = _load_real()
if _real is not None:
    # The import system hands the importer whatever sys.modules holds now: the real package.
    _wrap(_real)
elif _importer().split('.')[0] != 'openstack':
    # Not installed, and not asked for by openstacksdk: look exactly as absent as without this module.
    raise ModuleNotFoundError("No module named 'keyring'", name='keyring')
else:
    def get_password(service_name, username):
        return _answer(service_name, username, sys._getframe(1))

    def set_password(service_name, username, password):
        return None

    def delete_password(service_name, username):
        return None

    def get_credential(service_name, username):
        return None
`

/** The shim, reading the token states from `stateDir` (one file per token: tokenStateFileName). */
export function renderKeyringShim(stateDir: string): string {
  // A JSON string is a valid Python string literal (same escapes, \uXXXX included).
  return TEMPLATE.replace(STATE_DIR_PLACEHOLDER, JSON.stringify(stateDir))
}

/** The file of a token's state in the state directory: its SHA-256, so that no token is in a name. */
export function tokenStateFileName(token: string): string {
  return `${createHash('sha256').update(token, 'utf8').digest('hex')}.json`
}
