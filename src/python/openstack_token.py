"""The keystoneauth auth plugin ``openstack-token``: the job's Keystone token, used as it is.

The openstack-token GitHub Action copies this folder (this module and its ``.dist-info``) to
``<RUNNER_TEMP>/openstack-token/python``, puts it on PYTHONPATH and exports
``OS_AUTH_TYPE=openstack-token``. keystoneauth finds auth plugins through the ``keystoneauth1.plugin``
entry points, which the ``.dist-info`` folder declares, so the ``openstack`` CLI, openstacksdk and
Ansible's openstack.cloud load this plugin instead of logging in: no Keystone request per call.

What it serves: the token response (token and catalog) that the action saved for the token in
OS_TOKEN, in ``<RUNNER_TEMP>/openstack-token/tokens/<sha256 of OS_TOKEN>.json``. That file may be
replaced by a renewed token (its ``auth_token`` then differs from OS_TOKEN): the plugin reads it
again when keystoneauth invalidates it (a 401) and when the token it holds is about to expire.
It never asks Keystone for a token; only ``openstack token issue`` asks Keystone whether the token
still stands, so that this smoke test fails for a revoked token.
"""

import hashlib
import json
import os
import sys
import threading
import time

from keystoneauth1 import access
from keystoneauth1 import exceptions
from keystoneauth1 import loading
from keystoneauth1.identity import base

PLUGIN_NAME = 'openstack-token'

# The action writes the states next to the folder it copies this module to.
STATE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tokens')

# keystoneauth's own margin: a token with less left than this is due for renewal.
MIN_TOKEN_LIFE_SECONDS = base.BaseIdentityPlugin.MIN_TOKEN_LIFE_SECONDS

_SCOPE_OPTIONS = ('project_id', 'project_name', 'project_domain_id', 'project_domain_name',
                  'domain_id', 'domain_name', 'system_scope', 'trust_id')

# One check of the token per process (openstack token issue), whatever the number of plugins.
_checked = set()


class TokenStateError(exceptions.AuthorizationFailure):
    """What went wrong, in one sentence that says what to do; shown by the clients as it is."""

    def __init__(self, message):
        super().__init__('openstack-token: ' + message)


def state_path(token, state_dir=STATE_DIR):
    """The state of a login: named by the SHA-256 of its first token, so no token is in a name."""
    return os.path.join(state_dir, hashlib.sha256(token.encode('utf-8')).hexdigest() + '.json')


class TokenState(object):
    """One reading of a state file."""

    def __init__(self, data, stamp):
        self.auth_token = data['auth_token']
        self.body = data['body']
        self.token = self.body['token']
        self.auth_url = data.get('auth_url')
        # The token's life on this machine's clock: how long it had left by Keystone's clock when
        # it arrived, from its arrival. A runner clock that is off does not change it.
        self.ends_at = float(data['received_at']) + float(data['valid_for'])
        self.stamp = stamp
        if not isinstance(self.auth_token, str) or not self.auth_token or not isinstance(self.token, dict):
            raise ValueError('not a token state')

    def seconds_left(self, now=None):
        return self.ends_at - (time.time() if now is None else now)

    def access_rules(self):
        credential = self.token.get('application_credential') or {}
        return bool(credential.get('access_rules'))


def read_state(path, known=None):
    """The state in ``path``; ``known`` again if the file is the one already read (same inode, size, time)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise TokenStateError(
            'no state for the token in OS_TOKEN under %s: it was not issued by an openstack-token step of this job '
            '(set OS_AUTH_TYPE=v3token to use another token).' % os.path.dirname(path))
    stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
    if known is not None and known.stamp == stamp:
        return known
    try:
        with open(path, encoding='utf-8') as f:
            return TokenState(json.load(f), stamp)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise TokenStateError('cannot read the token state %s (%s): run the openstack-token step again.'
                              % (path, error))


def _named(ref):
    return ref.get('name'), ref.get('id')


def scope_refusal(token, asked):
    """Why a token cannot serve the scope ``asked`` (option name → value), or None when it can."""
    asked = dict((name, value) for name, value in asked.items() if value)
    if not asked:
        return None
    project = token.get('project') or {}
    domain = token.get('domain') or {}
    have = {
        'project_id': project.get('id'),
        'project_name': project.get('name'),
        'project_domain_id': (project.get('domain') or {}).get('id'),
        'project_domain_name': (project.get('domain') or {}).get('name'),
        'domain_id': domain.get('id'),
        'domain_name': domain.get('name'),
        'system_scope': 'all' if token.get('system') else None,
        'trust_id': (token.get('OS-TRUST:trust') or {}).get('id'),
    }
    wrong = sorted(name for name, value in asked.items() if have.get(name) != value)
    if not wrong:
        return None
    if project:
        held = 'project %s (%s)' % _named(project)
    elif domain:
        held = 'domain %s (%s)' % _named(domain)
    elif token.get('system'):
        held = 'the system'
    else:
        held = 'nothing (unscoped)'
    asks = ', '.join('%s=%s' % ('OS_' + name.upper(), asked[name]) for name in wrong)
    return ('this step asks for %s, but the job\'s token is scoped to %s and a token cannot change its scope: '
            'remove that setting, or log in for that scope with another openstack-token step.' % (asks, held))


def _is_token_issue(argv):
    if os.path.basename(argv[0] if argv else '') != 'openstack':
        return False
    args = argv[1:]
    return any(args[i:i + 2] == ['token', 'issue'] for i in range(len(args)))


def check_with_keystone(session, state, auth_url):
    """Asks Keystone whether the token stands (HEAD /v3/auth/tokens), for ``openstack token issue``."""
    url = (state.auth_url or auth_url or '').rstrip('/') + '/auth/tokens'
    headers = {'X-Auth-Token': state.auth_token, 'X-Subject-Token': state.auth_token,
               # Without it, Keystone does not find a token of an application credential with access rules.
               'OpenStack-Identity-Access-Rules': '1.0'}
    response = session.request(url, 'HEAD', headers=headers, authenticated=False, raise_exc=False, log=False)
    status = response.status_code
    if status < 300:
        return
    if status in (401, 403, 404) and state.access_rules():
        # Such a token may not be allowed to read Keystone's API at all: a refusal says nothing of
        # whether it was revoked.
        sys.stderr.write('openstack-token: Keystone did not confirm the job\'s token (HTTP %d); a token of an '
                         'application credential with access rules may not check itself, so it is shown as it is.\n'
                         % status)
        return
    if status in (401, 404):
        raise TokenStateError('Keystone no longer accepts the job\'s token (HTTP %d): it was revoked or has expired.'
                              % status)
    raise TokenStateError('Keystone could not check the job\'s token (HTTP %d).' % status)


class JobToken(base.BaseIdentityPlugin):
    """The token of an openstack-token step, read from its state file; never a login of its own."""

    def __init__(self, auth_url=None, token=None, state_dir=None, **scope):
        super().__init__(auth_url=auth_url, reauthenticate=True)
        self.token = token
        self.state_dir = state_dir or STATE_DIR
        self.scope = dict((name, scope.get(name)) for name in _SCOPE_OPTIONS)
        self._state = None
        self._guard = threading.RLock()

    def _read(self):
        if not self.token:
            raise TokenStateError('OS_TOKEN is empty: run the openstack-token step before this one.')
        self._state = read_state(state_path(self.token, self.state_dir), self._state)
        return self._state

    def get_auth_ref(self, session, **kwargs):
        with self._guard:
            state = self._read()
            refusal = scope_refusal(state.token, self.scope)
            if refusal:
                raise TokenStateError(refusal)
            if state.seconds_left() <= 0:
                raise TokenStateError(
                    'the job\'s Keystone token expired at %s and no renewed one was written: log in again with '
                    'another openstack-token step, or raise the token\'s life (min-validity says how much a job needs).'
                    % state.token.get('expires_at'))
            if self.auth_url is None:
                self.auth_url = state.auth_url
            if _is_token_issue(sys.argv) and state.auth_token not in _checked:
                check_with_keystone(session, state, self.auth_url)
                _checked.add(state.auth_token)
            return access.create(body=state.body, auth_token=state.auth_token)

    def get_access(self, session, **kwargs):
        with self._guard:
            if self.auth_ref is None or self._expiring():
                self.auth_ref = self.get_auth_ref(session)
            return self.auth_ref

    def _expiring(self):
        state = self._state
        return state is None or state.seconds_left() < MIN_TOKEN_LIFE_SECONDS

    def invalidate(self):
        """After a 401: worth a retry only if the state file now holds another token."""
        with self._guard:
            held = self.auth_ref.auth_token if self.auth_ref is not None else None
            try:
                state = self._read()
            except TokenStateError:
                return False
            if state.auth_token == held:
                return False
            self.auth_ref = None
            return True


class Loader(loading.BaseLoader):
    """``OS_AUTH_TYPE=openstack-token``: the options keystoneauth reads (option ``foo-bar`` is OS_FOO_BAR)."""

    @property
    def plugin_class(self):
        return JobToken

    def get_options(self):
        options = super().get_options()
        options.extend([
            loading.Opt('auth-url', help='Keystone URL (default: the one the token was issued by).'),
            loading.Opt('token', secret=True, required=True,
                        help='The token an openstack-token step issued (its first token, when renewed).'),
            loading.Opt('project-id', help='Refused unless it is the token\'s project.'),
            loading.Opt('project-name', help='Refused unless it is the token\'s project.'),
            loading.Opt('project-domain-id', help='Refused unless it is the token\'s project\'s domain.'),
            loading.Opt('project-domain-name', help='Refused unless it is the token\'s project\'s domain.'),
            loading.Opt('domain-id', help='Refused unless it is the token\'s domain.'),
            loading.Opt('domain-name', help='Refused unless it is the token\'s domain.'),
            loading.Opt('system-scope', help='Refused unless the token is system-scoped.'),
            loading.Opt('trust-id', help='Refused unless the token is the trust\'s.'),
        ])
        return options
