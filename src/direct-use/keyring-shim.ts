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

/** Placeholder for the JSON-quoted (hence valid Python) path of the token-state file. */
const STATE_FILE_PLACEHOLDER = '__OPENSTACK_TOKEN_STATE_FILE__'

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
#   and wraps only get_password and set_password for the service 'openstacksdk'; every other use
#   of keyring goes to the real package, unchanged;
# - if it is not installed, openstacksdk gets a minimal read-only stand-in, and any other importer
#   gets the same ImportError as without this module.
# It answers only when the asking auth plugin holds the job's token and asks for no other scope;
# for anything else (another cloud, a password, another token) openstacksdk works as without it.
import importlib.machinery
import importlib.util
import json
import os
import re
import sys
import time
from calendar import timegm

_STATE_FILE = __OPENSTACK_TOKEN_STATE_FILE__
_SERVICE = 'openstacksdk'
_MARKER = 'openstack-token-shim'
_warned = []


def _is_shim_dir(entry):
    try:
        return os.path.isfile(os.path.join(entry or os.curdir, _MARKER))
    except (TypeError, ValueError):
        return False


def _read_state():
    try:
        with open(_STATE_FILE) as f:
            text = f.read()
        state = json.loads(text)
        return text, state['auth_token'], state['body']['token']
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


def _expired(token):
    match = re.match(r'(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)', str(token.get('expires_at', '')))
    if not match:
        return False
    return timegm(tuple(int(part) for part in match.groups()) + (0, 0, 0)) <= time.time()


def _auth_state(frame):
    read = _read_state()
    if read is None:
        return None
    text, auth_token, token = read
    plugin = _caller_plugin(frame)
    if plugin is None or auth_token not in _plugin_tokens(plugin) or not _scope_matches(plugin, token):
        return None
    if _expired(token):
        if not _warned:
            _warned.append(True)
            sys.stderr.write('openstack-token: the job\'s Keystone token expired at %s; the command '
                             'falls back to asking Keystone, which refuses an expired token.\n'
                             % token.get('expires_at'))
        return None
    # This token cannot be renewed into a longer-lived one: keystoneauth must not try in its last
    # two minutes either (it would exchange it on every request, or get 403 for an application
    # credential's token).
    try:
        plugin.reauthenticate = False
    except Exception:
        pass
    return text


def _wrap(real):
    real_get, real_set = real.get_password, real.set_password

    def get_password(service_name, username):
        if service_name == _SERVICE:
            return _auth_state(sys._getframe(1))
        return real_get(service_name, username)

    def set_password(service_name, username, password):
        # openstacksdk saves its auth state when a connection closes: never into the user's keyring.
        if service_name == _SERVICE:
            return None
        return real_set(service_name, username, password)

    get_password.__doc__, set_password.__doc__ = real_get.__doc__, real_set.__doc__
    real.get_password, real.set_password = get_password, set_password


def _load_real():
    here = os.path.dirname(os.path.abspath(__file__))
    path = [entry for entry in sys.path
            if not _is_shim_dir(entry) and os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec(__name__, path)
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


_real = _load_real()
if _real is not None:
    # The import system hands the importer whatever sys.modules holds now: the real package.
    _wrap(_real)
elif _importer().split('.')[0] != 'openstack':
    # Not installed, and not asked for by openstacksdk: look exactly as absent as without this module.
    raise ModuleNotFoundError("No module named 'keyring'", name='keyring')
else:
    def get_password(service_name, username):
        return _auth_state(sys._getframe(1)) if service_name == _SERVICE else None

    def set_password(service_name, username, password):
        return None

    def delete_password(service_name, username):
        return None

    def get_credential(service_name, username):
        return None
`

/** The shim, reading the token state from `stateFile`. */
export function renderKeyringShim(stateFile: string): string {
  // A JSON string is a valid Python string literal (same escapes, \uXXXX included).
  return TEMPLATE.replace(STATE_FILE_PLACEHOLDER, JSON.stringify(stateFile))
}
