"""Tests of the auth plugin openstack-token, against the real keystoneauth1 and a Keystone stand-in.

Run: python3 -m unittest discover -s src/python (with python3-keystoneauth1 installed; the
registration test also needs stevedore, a dependency of keystoneauth1's loading).
"""

import hashlib
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    from keystoneauth1 import exceptions
    from keystoneauth1 import session as ks_session
    import openstack_token
except ImportError as error:  # pragma: no cover - the host lacks the client libraries
    raise unittest.SkipTest('keystoneauth1 is not installed: %s' % error)

PROJECT = {'id': 'p1', 'name': 'proj', 'domain': {'id': 'd1', 'name': 'dom'}}


class Keystone(object):
    """A Keystone and a compute service on 127.0.0.1: answers as told, remembers every request."""

    def __init__(self):
        self.requests = []
        self.valid = set()
        self.head_status = None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                token = self.headers.get('X-Auth-Token')
                outer.requests.append((self.command, self.path, token, dict(self.headers)))
                if self.path.startswith('/v3/auth/tokens') and self.command == 'HEAD':
                    status = outer.head_status or (200 if token in outer.valid else 404)
                else:
                    status = 200 if token in outer.valid else 401
                body = b'{"servers": []}' if status == 200 and self.command == 'GET' else b''
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def methods(self):
        return [request[0] for request in self.requests]


def token_body(keystone, project=PROJECT, expires_at='2999-01-01T00:00:00.000000Z', **extra):
    token = {
        'methods': ['password'],
        'user': {'id': 'u1', 'name': 'user', 'domain': {'id': 'd1', 'name': 'dom'}},
        'expires_at': expires_at,
        'issued_at': '2026-01-01T00:00:00.000000Z',
        'audit_ids': ['a'],
        'catalog': [{
            'type': 'compute', 'name': 'nova', 'id': 's1',
            'endpoints': [{'id': 'e1', 'interface': 'public', 'region': 'RegionOne', 'region_id': 'RegionOne',
                           'url': keystone.url + '/compute/v2.1'}],
        }],
    }
    if project:
        token['project'] = project
    token.update(extra)
    return {'token': token}


class PluginTest(unittest.TestCase):
    def setUp(self):
        self.keystone = Keystone()
        self.addCleanup(self.keystone.close)
        self.dir = tempfile.mkdtemp(prefix='openstack-token-test-')
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.session = ks_session.Session()

    def write_state(self, first, current=None, valid_for=3600, age=0, body=None):
        """What the action (or a renewal) writes: the state of the login whose first token is `first`."""
        state = {
            'auth_token': current or first,
            'body': body or token_body(self.keystone),
            'auth_url': self.keystone.url + '/v3',
            'received_at': time.time() - age,
            'valid_for': valid_for,
        }
        path = openstack_token.state_path(first, self.dir)
        temporary = path + '.tmp'
        with open(temporary, 'w') as f:
            json.dump(state, f)
        os.replace(temporary, path)

    def plugin(self, token='first', **scope):
        return openstack_token.JobToken(auth_url=self.keystone.url + '/v3', token=token, state_dir=self.dir, **scope)

    def compute(self, plugin):
        return self.session.get('/servers', endpoint_filter={'service_type': 'compute'}, auth=plugin)

    def assertNoPost(self):
        self.assertNotIn('POST', self.keystone.methods())


class ServesTheState(PluginTest):
    def test_the_token_and_its_catalog_with_no_keystone_request(self):
        self.write_state('first')
        self.keystone.valid.add('first')
        plugin = self.plugin(project_id='p1', project_name='proj', project_domain_id='d1')
        self.assertEqual(plugin.get_token(self.session), 'first')
        self.assertEqual(plugin.get_project_id(self.session), 'p1')
        self.assertEqual(plugin.get_endpoint(self.session, service_type='compute'), self.keystone.url + '/compute/v2.1')
        self.assertEqual(self.keystone.requests, [])
        self.assertEqual(self.compute(plugin).status_code, 200)
        self.assertEqual([(r[0], r[2]) for r in self.keystone.requests], [('GET', 'first')])

    def test_a_renewed_token_is_served_from_the_file_not_os_token(self):
        self.write_state('first', current='renewed')
        self.assertEqual(self.plugin().get_token(self.session), 'renewed')

    def test_a_runner_clock_far_off_does_not_matter_the_life_counts_from_arrival(self):
        self.write_state('first', body=token_body(self.keystone, expires_at='2001-01-01T00:00:00.000000Z'))
        self.assertEqual(self.plugin().get_token(self.session), 'first')

    def test_two_logins_each_get_their_own_state(self):
        self.write_state('first')
        other = {'id': 'p2', 'name': 'other', 'domain': {'id': 'd1'}}
        self.write_state('second', body=token_body(self.keystone, project=other))
        self.assertEqual(self.plugin('first').get_project_id(self.session), 'p1')
        self.assertEqual(self.plugin('second').get_project_id(self.session), 'p2')

    def test_no_auth_state_for_caches(self):
        # openstacksdk's auth cache (keyring) must neither store the token nor hand back an old one.
        self.write_state('first')
        self.assertIsNone(self.plugin().get_cache_id())


class Renewal(PluginTest):
    def test_after_a_401_it_reads_the_file_again_and_the_request_is_retried_once(self):
        self.write_state('first')
        plugin = self.plugin()
        self.keystone.valid.add('first')
        self.assertEqual(self.compute(plugin).status_code, 200)
        # The renewer writes a fresh token; the old one is refused from now on.
        self.write_state('first', current='renewed')
        self.keystone.valid = {'renewed'}
        self.assertEqual(self.compute(plugin).status_code, 200)
        self.assertEqual([r[2] for r in self.keystone.requests], ['first', 'first', 'renewed'])
        self.assertNoPost()

    def test_a_401_with_the_file_unchanged_is_not_retried(self):
        self.write_state('first')
        plugin = self.plugin()
        with self.assertRaises(exceptions.Unauthorized):
            self.compute(plugin)
        self.assertEqual(len(self.keystone.requests), 1)
        self.assertFalse(plugin.invalidate())

    def test_a_token_in_its_last_two_minutes_is_read_again_from_the_file(self):
        self.write_state('first', valid_for=100)
        plugin = self.plugin()
        self.assertEqual(plugin.get_token(self.session), 'first')
        self.write_state('first', current='renewed')
        self.assertEqual(plugin.get_token(self.session), 'renewed')
        self.assertEqual(self.keystone.requests, [])

    def test_a_token_with_time_left_is_not_read_again(self):
        self.write_state('first')
        plugin = self.plugin()
        self.assertEqual(plugin.get_token(self.session), 'first')
        self.write_state('first', current='renewed')
        self.assertEqual(plugin.get_token(self.session), 'first')

    def test_in_its_last_two_minutes_and_not_renewed_it_is_still_served_until_its_end(self):
        self.write_state('first', valid_for=100)
        plugin = self.plugin()
        self.assertEqual(plugin.get_token(self.session), 'first')
        self.assertEqual(plugin.get_token(self.session), 'first')
        self.assertNoPost()

    def test_expired_and_not_renewed_one_sentence(self):
        self.write_state('first', valid_for=60, age=61)
        with self.assertRaises(openstack_token.TokenStateError) as caught:
            self.plugin().get_token(self.session)
        self.assertEqual(str(caught.exception).split(':')[0], 'openstack-token')
        self.assertIn('expired at 2999-01-01T00:00:00.000000Z and no renewed one was written', str(caught.exception))
        self.assertIsInstance(caught.exception, exceptions.AuthorizationFailure)


class Refusals(PluginTest):
    def refusal(self, token='first', **scope):
        with self.assertRaises(openstack_token.TokenStateError) as caught:
            self.plugin(token, **scope).get_token(self.session)
        return str(caught.exception)

    def test_another_scope(self):
        self.write_state('first')
        self.assertEqual(
            self.refusal(project_id='p2', project_name='proj'),
            'openstack-token: this step asks for OS_PROJECT_ID=p2, but the job\'s token is scoped to project proj (p1) '
            'and a token cannot change its scope: remove that setting, or log in for that scope with another '
            'openstack-token step.')
        self.assertIn('OS_DOMAIN_ID=d1', self.refusal(domain_id='d1'))
        self.assertIn('OS_SYSTEM_SCOPE=all', self.refusal(system_scope='all'))
        self.assertIn('OS_TRUST_ID=t', self.refusal(trust_id='t'))
        self.assertIn('OS_PROJECT_DOMAIN_NAME=other', self.refusal(project_domain_name='other'))

    def test_a_domain_and_a_system_token(self):
        self.write_state('domain', body=token_body(self.keystone, project=None, domain={'id': 'd1', 'name': 'dom'}))
        plugin = self.plugin('domain', domain_id='d1', domain_name='dom', project_id='')
        self.assertEqual(plugin.get_token(self.session), 'domain')
        self.assertIn('scoped to domain dom (d1)', self.refusal('domain', project_id='p1'))
        self.write_state('system', body=token_body(self.keystone, project=None, system={'all': True}))
        self.assertEqual(self.plugin('system', system_scope='all').get_token(self.session), 'system')
        self.assertIn('scoped to the system', self.refusal('system', project_name='proj'))

    def test_a_token_this_job_did_not_issue(self):
        self.assertIn('no state for the token in OS_TOKEN under %s' % self.dir, self.refusal('stranger'))
        self.assertIn('set OS_AUTH_TYPE=v3token to use another token', self.refusal('stranger'))

    def test_no_token(self):
        self.assertIn('OS_TOKEN is empty', self.refusal(''))

    def test_a_damaged_state(self):
        with open(openstack_token.state_path('first', self.dir), 'w') as f:
            f.write('{"auth_token": ')
        self.assertIn('cannot read the token state', self.refusal())

    def test_nothing_is_asked_of_keystone(self):
        self.write_state('first')
        self.refusal(project_id='p2')
        self.assertEqual(self.keystone.requests, [])


class TokenIssue(PluginTest):
    """openstack token issue, the usual smoke test: one HEAD asks Keystone whether the token stands."""

    def run_token_issue(self, token='first'):
        openstack_token._checked.clear()
        with mock.patch.object(sys, 'argv', ['/usr/bin/openstack', '--os-cloud', '', 'token', 'issue', '-f', 'value']):
            return self.plugin(token).get_token(self.session)

    def test_valid(self):
        self.write_state('first')
        self.keystone.valid.add('first')
        self.assertEqual(self.run_token_issue(), 'first')
        method, path, token, headers = self.keystone.requests[0]
        self.assertEqual((method, path, token), ('HEAD', '/v3/auth/tokens', 'first'))
        self.assertEqual((headers['X-Subject-Token'], headers['OpenStack-Identity-Access-Rules']), ('first', '1.0'))
        self.assertEqual(len(self.keystone.requests), 1)

    def test_revoked(self):
        self.write_state('first')
        with self.assertRaises(openstack_token.TokenStateError) as caught:
            self.run_token_issue()
        expected = ('openstack-token: Keystone no longer accepts the job\'s token (HTTP 404): '
                    'it was revoked or has expired.')
        self.assertEqual(str(caught.exception), expected)

    def test_a_renewed_token_is_the_one_checked(self):
        self.write_state('first', current='renewed')
        self.keystone.valid.add('renewed')
        self.assertEqual(self.run_token_issue(), 'renewed')
        self.assertEqual(self.keystone.requests[0][2], 'renewed')

    def test_access_rules_a_refusal_is_not_called_revoked(self):
        credential = {'id': 'ac', 'name': 'ci', 'restricted': True,
                      'access_rules': [{'service': 'image', 'method': 'GET', 'path': '/v2/images'}]}
        self.write_state('first', body=token_body(self.keystone, application_credential=credential))
        for status in (401, 403, 404):
            self.keystone.head_status = status
            with mock.patch.object(sys, 'stderr', io.StringIO()) as stderr:
                self.assertEqual(self.run_token_issue(), 'first')
            self.assertIn('Keystone did not confirm the job\'s token (HTTP %d)' % status, stderr.getvalue())
            self.assertNotIn('revoked', stderr.getvalue())

    def test_keystone_in_trouble_is_not_called_revoked(self):
        self.write_state('first')
        self.keystone.head_status = 503
        with self.assertRaises(openstack_token.TokenStateError) as caught:
            self.run_token_issue()
        self.assertIn('could not check the job\'s token (HTTP 503)', str(caught.exception))

    def test_other_commands_do_not_ask(self):
        self.write_state('first')
        for argv in (['/usr/bin/openstack', 'server', 'list'], ['/usr/bin/python3', 'token', 'issue'], []):
            with mock.patch.object(sys, 'argv', argv):
                self.plugin().get_token(self.session)
        self.assertEqual(self.keystone.requests, [])


class Registration(unittest.TestCase):
    """The folder the action writes, on PYTHONPATH, registers the plugin through keystoneauth's entry points."""

    def test_keystoneauth_loads_it_by_name_and_it_reads_the_tokens_folder_beside_it(self):
        root = tempfile.mkdtemp(prefix='openstack-token-registration-')
        self.addCleanup(shutil.rmtree, root, True)
        python = os.path.join(root, 'openstack-token', 'python')
        os.makedirs(os.path.join(root, 'openstack-token', 'tokens'))
        dist_info = 'openstack_token-0.dist-info'
        shutil.copytree(os.path.join(HERE, dist_info), os.path.join(python, dist_info))
        shutil.copy(os.path.join(HERE, 'openstack_token.py'), python)
        state = {'auth_token': 'tok', 'body': {'token': {'expires_at': '2999-01-01T00:00:00Z', 'catalog': [],
                                                         'project': PROJECT}},
                 'auth_url': 'http://127.0.0.1:9/v3', 'received_at': time.time(), 'valid_for': 3600}
        name = hashlib.sha256(b'tok').hexdigest() + '.json'
        with open(os.path.join(root, 'openstack-token', 'tokens', name), 'w') as f:
            json.dump(state, f)
        code = '\n'.join([
            'from keystoneauth1 import loading, session',
            'loader = loading.get_plugin_loader("openstack-token")',
            'print(sorted(o.dest for o in loader.get_options()))',
            'plugin = loader.load_from_options(token="tok", project_id="p1")',
            'print(plugin.get_token(session.Session()), type(plugin).__module__)',
        ])
        env = dict(os.environ, PYTHONPATH=python, XDG_CACHE_HOME=os.path.join(root, 'cache'), HOME=root)
        result = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(result.stderr, '')
        self.assertEqual(result.stdout.splitlines(), [
            "['auth_url', 'domain_id', 'domain_name', 'project_domain_id', 'project_domain_name', 'project_id', "
            "'project_name', 'system_scope', 'token', 'trust_id']",
            'tok openstack_token',
        ])


if __name__ == '__main__':
    unittest.main()
