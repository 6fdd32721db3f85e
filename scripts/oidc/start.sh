#!/usr/bin/env bash
# Start a throw-away *federated* Keystone for keyless-login tests, all on 127.0.0.1:
#   - one Apache (Debian's apache2, run in the foreground as its own process group) that serves
#     - on PORT (http): Keystone (python3-keystone, Zed) under mod_wsgi, sqlite + fernet tokens, with
#       mod_auth_openidc validating the `Authorization: Bearer <JWT>` of the federation auth path;
#     - on ISSUER_PORT (https, certificate from a throw-away test CA): the stand-in for GitHub's
#       issuer, /.well-known/jwks and /.well-known/openid-configuration. mod_auth_openidc fetches the
#       JWKS from there and trusts only that CA (OIDCCABundlePath).
#   - the Keystone objects: domain `fed`, projects `fedproj` (the deploy target) and `fedother` (no
#     grant), group `github-acme-deploy` (role member on fedproj), identity provider `github` whose
#     remote id is the issuer, protocol `openid`, and a mapping that admits only repository
#     acme/deploy (by repository_id and repository_owner_id) on ref refs/heads/main (by sub).
#   - for an OIDC client (client-credentials grant, keystoneauth's v3oidcclientcredentials): identity
#     provider `robots` whose remote id is the client issuer ($ISSUER/realms/robots), protocol
#     `openid`, a mapping that admits only client `ci-robot` (by azp) into group `robots-deploy`
#     (role member on fedproj). Its tokens are signed with the same key: mod_auth_openidc has one key
#     set per server, and a `Require claim iss:… azp:…` per federation path tells the issuers apart.
#     The provider itself (discovery document, token endpoint) is scripts/oidc/oidc.mjs's
#     startClientProvider, on a port of its own.
# The issuer's RSA signing key stays in the state dir: scripts/oidc/oidc.mjs mints GitHub-shaped
# ID tokens with it (and serves them the way GitHub's token endpoint does).
#
# Usage: scripts/oidc/start.sh [PORT]      PORT 0 or absent: pick a free port (the issuer's port is
#                                          always picked)
#   e.g. eval "$(scripts/oidc/start.sh)"; …; scripts/oidc/stop.sh --purge
#
# stdout: sourceable `export …='…'` lines: the admin's OS_* credentials (OS_AUTH_URL …), OIDC_* (ports,
#         pid, state dir, logs, issuer, JWKS URI, CA, signing key and kid, audience, identity
#         provider, protocol) and the fixture ids (OIDC_PROJECT_ID, OIDC_REPOSITORY_ID, …).
# stderr: progress. Exit status 1 on failure, with the tail of the logs.
#
# Environment (all optional):
#   OIDC_STATE_DIR         everything of the instance   (${TMPDIR:-/tmp}/oidc-keystone-PORT)
#   OIDC_AUDIENCE          the `aud` Apache requires    (the instance's auth URL, http://127.0.0.1:PORT/v3)
#   OIDC_HARDENED=0        mod_auth_openidc defaults only: no `Require claim iss:/aud:` (shows that
#                          2.4.12 alone accepts any audience); default 1
#   OIDC_TOKEN_EXPIRATION  Keystone token lifetime, s   (3600)
#   OIDC_CACHE_DIR         where the seed tarball lives (<repo>/.cache/oidc)
#   OIDC_NO_CACHE=1        neither read nor write the seed (measures a cold start)
#   OIDC_READY_TIMEOUT     seconds to wait for Keystone and the JWKS (60)
#   OIDC_DEBUG=1           Keystone debug log and mod_auth_openidc debug log. Both then log the raw
#                          JWT and its claims: never do this on a real cloud.
#
# Start-up cost: from nothing, four keystone-manage runs, key and certificate generation and the
# Keystone objects take several seconds. The bootstrapped db with the federation objects, the key
# repositories, the issuer key and the test CA are saved once as a seed tarball keyed by the
# Keystone version and the content of these scripts; later starts restore it and only rewrite the
# port-dependent values (catalog endpoint, the identity provider's remote id).
set -euo pipefail
SRV_SCRIPT=start
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT_ARG="${1:-0}"
ADMIN_USER=admin
ADMIN_PASSWORD=admin-secret
ADMIN_PROJECT=admin
REGION=RegionOne
EXPIRATION="${OIDC_TOKEN_EXPIRATION:-3600}"
READY_TIMEOUT="${OIDC_READY_TIMEOUT:-60}"
HARDENED="${OIDC_HARDENED:-1}"
CACHE_DIR="${OIDC_CACHE_DIR:-$OI_REPO_DIR/.cache/oidc}"
HASH_ROUNDS=4
# What the mapping admits. GitHub's ids are numeric strings; these stand for acme/deploy and acme.
IDP=github
PROTOCOL=openid
MAPPING=github-mapping
DOMAIN_NAME=fed
PROJECT_NAME=fedproj
OTHER_PROJECT_NAME=fedother
GROUP_NAME=github-acme-deploy
REPOSITORY=acme/deploy
REPOSITORY_ID=7654321
REPOSITORY_OWNER=acme
REPOSITORY_OWNER_ID=1234567
REF=refs/heads/main
# The OIDC client's side: its identity provider, the client the mapping admits, its group.
CLIENT_IDP=robots
CLIENT_ID=ci-robot
CLIENT_MAPPING=robots-mapping
CLIENT_GROUP_NAME=robots-deploy

[[ "$PORT_ARG" =~ ^[0-9]+$ ]] && (( PORT_ARG < 65536 )) || srv_die "PORT must be a number below 65536, got '$PORT_ARG'"
[[ "$EXPIRATION" =~ ^[0-9]+$ ]] && (( EXPIRATION > 0 )) || srv_die "OIDC_TOKEN_EXPIRATION must be a positive number of seconds, got '$EXPIRATION'"
[[ "$READY_TIMEOUT" =~ ^[0-9]+$ ]] || srv_die "OIDC_READY_TIMEOUT must be a number of seconds"
[[ "$HARDENED" == 0 || "$HARDENED" == 1 ]] || srv_die "OIDC_HARDENED must be 0 or 1"

"$OI_DIR/install.sh"
T0="$(srv_now_ms)"

# Apache drops to www-data when started as root (and mod_wsgi runs Keystone as that user); started
# by anyone else it stays that user.
if [[ "$(id -u)" == 0 ]]; then RUN_USER=www-data; RUN_GROUP=www-data; else RUN_USER="$(id -un)"; RUN_GROUP="$(id -gn)"; fi


KEYSTONE_VERSION="$("$OI_PY" -c 'import importlib.metadata as m; print(m.version("keystone"))')"
SEED_KEY="$(printf '%s\n' "$KEYSTONE_VERSION" "$RUN_USER" "$HASH_ROUNDS" \
  "$(cat "$OI_DIR/lib.sh" "$OI_DIR/start.sh" | sha256sum)" | sha256sum | cut -c1-16)"
SEED="$CACHE_DIR/seed-$SEED_KEY.tar"

STATE_DIR_GIVEN=0
if [[ -n "${OIDC_STATE_DIR:-}" ]]; then STATE_DIR_GIVEN=1; STATE_DIR="$(srv_abs "$OIDC_STATE_DIR")"; fi
if (( PORT_ARG == 0 )); then PORT="$(srv_pick_port)"; else PORT="$PORT_ARG"; fi
ISSUER_PORT="$(srv_pick_port "$PORT")"
(( STATE_DIR_GIVEN )) || STATE_DIR="$(oi_default_state_dir "$PORT")"
if [[ -n "$(srv_running_pid "$STATE_DIR")" ]]; then
  srv_log "stopping the previous instance in $STATE_DIR"
  srv_stop_instance "$STATE_DIR" KILL || true
fi
if (( PORT_ARG != 0 )) && srv_port_busy "$PORT"; then
  srv_die "port $OI_HOST:$PORT is in use by a process that is not an instance started in $STATE_DIR"
fi

srv_is_ours_or_empty "$STATE_DIR" || srv_die "refusing to wipe $STATE_DIR: not empty and not created by start.sh"
rm -rf "$STATE_DIR"
mkdir -p "$STATE_DIR"
touch "$STATE_DIR/$OI_MARKER"
# Traversable for Apache's user, listable by nobody else. Private parts: issuer/ (signing key),
# tls/ (CA and server keys, read by Apache's root parent) and keystone/ (db, fernet keys: Apache's user).
chmod 711 "$STATE_DIR"
K="$STATE_DIR/keystone"
mkdir -p "$K" "$STATE_DIR/issuer" "$STATE_DIR/tls" "$STATE_DIR/www/.well-known" "$STATE_DIR/apache" "$STATE_DIR/run"
chmod 700 "$K" "$STATE_DIR/issuer"
# tls/: the keys are 600 (Apache's root parent reads them); ca.crt is 644, for mod_auth_openidc's JWKS
# fetch, which runs in a child as Apache's user.
chmod 711 "$STATE_DIR/tls"
chmod 755 "$STATE_DIR/www" "$STATE_DIR/www/.well-known" "$STATE_DIR/apache" "$STATE_DIR/run"

AUTH_URL="http://$OI_HOST:$PORT/v3"
ISSUER="https://$OI_HOST:$ISSUER_PORT"
AUDIENCE="${OIDC_AUDIENCE:-$AUTH_URL}"
CLIENT_ISSUER="$ISSUER/realms/$CLIENT_IDP"

write_keystone_conf() {
  cat >"$K/keystone.conf" <<EOF
[DEFAULT]
debug = $([[ "${OIDC_DEBUG:-0}" == 1 ]] && echo true || echo false)
log_file = $K/keystone.log
use_stderr = false

[database]
connection = sqlite:///$K/keystone.db

[identity]
password_hash_rounds = $HASH_ROUNDS

[token]
provider = fernet
expiration = $EXPIRATION

[fernet_tokens]
key_repository = $K/fernet-keys

[fernet_receipts]
key_repository = $K/fernet-keys

[credential]
key_repository = $K/credential-keys

[auth]
# "openid" is the protocol id: Keystone looks the auth plugin up by the protocol's name.
methods = password,token,openid,application_credential

[openid]
# The environ key mod_auth_openidc fills with the token's iss, compared with the identity provider's
# remote_ids. Without it Keystone does not check the issuer at all.
remote_id_attribute = OIDC_CLAIM_iss

[federation]
# Only environ keys with this prefix reach the mapping engine.
assertion_prefix = OIDC_
EOF
  # keystone.server.flask.core finds its config through os.environ (Apache's SetEnv only reaches
  # the WSGI environ), and oslo.config parses sys.argv.
  cat >"$K/keystone.wsgi" <<EOF
import os, sys
os.environ["OS_KEYSTONE_CONFIG_DIR"] = "$K"
sys.argv = sys.argv[:1]
from keystone.server.wsgi import initialize_public_application
application = initialize_public_application()
EOF
}

ksm() {
  timeout 120 "$OI_MANAGE" --config-file "$K/keystone.conf" "$@" >>"$K/keystone-manage.log" 2>&1 || {
    tail -n 30 "$K/keystone-manage.log" >&2
    srv_die "keystone-manage $1 failed"
  }
}

# The issuer's signing key, and a CA plus a server certificate for 127.0.0.1 (the JWKS is https).
make_keys() {
  local i="$STATE_DIR/issuer"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$i/signing.key" 2>/dev/null
  make_tls
}
make_tls() {
  local t="$STATE_DIR/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$t/ca.key" -out "$t/ca.crt" -days 30 \
    -subj "/CN=openstack-token oidc test CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$t/server.key" -out "$t/server.csr" -subj "/CN=$OI_HOST" 2>/dev/null
  printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$OI_HOST" >"$t/ext.cnf"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
    -out "$t/server.crt" -days 30 -extfile "$t/ext.cnf" 2>/dev/null
  rm -f "$t/server.csr" "$t/ext.cnf"
}

bootstrap() {
  mkdir -m 700 -p "$K/fernet-keys" "$K/credential-keys"
  chown "$RUN_USER:$RUN_GROUP" "$K" "$K/fernet-keys" "$K/credential-keys"
  local p1 p2 p3 p4
  make_keys & p4=$!
  ksm db_sync & p1=$!
  ksm fernet_setup --keystone-user "$RUN_USER" --keystone-group "$RUN_GROUP" & p2=$!
  ksm credential_setup --keystone-user "$RUN_USER" --keystone-group "$RUN_GROUP" & p3=$!
  wait "$p1"; wait "$p2"; wait "$p3"; wait "$p4"
  ksm bootstrap --bootstrap-username "$ADMIN_USER" --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-project-name "$ADMIN_PROJECT" --bootstrap-role-name admin \
    --bootstrap-service-name keystone --bootstrap-region-id "$REGION" --bootstrap-public-url "$AUTH_URL"
}

restore_seed() {
  [[ "${OIDC_NO_CACHE:-0}" != 1 && -f "$SEED" ]] || return 1
  if ! tar -C "$STATE_DIR" -xf "$SEED" 2>/dev/null || [[ ! -f "$K/keystone.db" || ! -f "$STATE_DIR/issuer/signing.key" ]]; then
    srv_log "unreadable seed $SEED: removing it"
    rm -f "$SEED"
    rm -rf "$K"/* "$STATE_DIR/issuer"/* "$STATE_DIR/tls"/* "$STATE_DIR/fixtures.env"
    return 1
  fi
  # The test CA lives 30 days: a seed older than that gets a new one (the db does not depend on it).
  if ! openssl x509 -checkend 86400 -noout -in "$STATE_DIR/tls/server.crt" >/dev/null 2>&1; then
    srv_log "test CA in the seed expires within a day: making a new one"
    make_tls
  fi
}

save_seed() {
  [[ "${OIDC_NO_CACHE:-0}" != 1 ]] || return 0
  local staging="$STATE_DIR/seed-staging"
  mkdir -p "$staging/keystone" "$CACHE_DIR"
  # sqlite's backup API gives a consistent copy of a live WAL-mode db.
  "$OI_PY" -c 'import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close(); s.close()' \
    "$K/keystone.db" "$staging/keystone/keystone.db"
  cp -a "$K/fernet-keys" "$K/credential-keys" "$staging/keystone/"
  cp -a "$STATE_DIR/issuer" "$STATE_DIR/tls" "$STATE_DIR/fixtures.env" "$staging/"
  chmod 700 "$CACHE_DIR"
  tar -C "$staging" -cf "$SEED.tmp.$$" . && mv -f "$SEED.tmp.$$" "$SEED"
  chmod 600 "$SEED"
  rm -rf "$staging"
  find "$CACHE_DIR" -maxdepth 1 -name 'seed-*.tar' ! -name "seed-$SEED_KEY.tar" -mmin +1 -delete 2>/dev/null || true
  srv_log "saved seed $SEED"
}

# WAL (rare writes fail with "database is locked" otherwise); the catalog endpoint and the identity
# provider's remote id follow this instance's ports, which makes a seed port-independent.
prepare_db() {
  "$OI_PY" - "$K/keystone.db" "http://$OI_HOST:$PORT" "$ISSUER" "$IDP" "$CLIENT_ISSUER" "$CLIENT_IDP" <<'EOF'
import re, sqlite3, sys
db, base, issuer, idp, client_issuer, client_idp = sys.argv[1:]
c = sqlite3.connect(db)
c.execute("PRAGMA journal_mode=WAL")
for endpoint_id, url in c.execute("SELECT id, url FROM endpoint").fetchall():
    c.execute("UPDATE endpoint SET url = ? WHERE id = ?", (re.sub(r"^https?://[^/]+", base, url), endpoint_id))
c.execute("UPDATE idp_remote_ids SET remote_id = ? WHERE idp_id = ?", (issuer, idp))
c.execute("UPDATE idp_remote_ids SET remote_id = ? WHERE idp_id = ?", (client_issuer, client_idp))
c.commit()
c.close()
EOF
  chown -R "$RUN_USER:$RUN_GROUP" "$K"
}

# The issuer's public documents: a JWKS (RFC 7517) with the signing key, and a discovery document.
write_issuer_docs() {
  "$OI_PY" - "$STATE_DIR/issuer/signing.key" "$ISSUER" "$STATE_DIR/www/.well-known" <<'EOF'
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import serialization
key_path, issuer, out = sys.argv[1:]
key = serialization.load_pem_private_key(open(key_path, "rb").read(), password=None).public_key()
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
num = lambda i: b64u(i.to_bytes((i.bit_length() + 7) // 8, "big"))
pub = key.public_numbers()
# kid: RFC 7638 thumbprint of the key, as many issuers do.
thumb = json.dumps({"e": num(pub.e), "kty": "RSA", "n": num(pub.n)}, separators=(",", ":"), sort_keys=True)
kid = b64u(hashlib.sha256(thumb.encode()).digest())
json.dump({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": num(pub.n), "e": num(pub.e)}]},
          open(out + "/jwks", "w"), indent=1)
json.dump({"issuer": issuer, "jwks_uri": issuer + "/.well-known/jwks", "subject_types_supported": ["public", "pairwise"],
           "response_types_supported": ["id_token"], "id_token_signing_alg_values_supported": ["RS256"],
           "scopes_supported": ["openid"],
           "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository", "repository_id",
                                "repository_owner", "repository_owner_id", "run_id", "run_number", "run_attempt", "actor",
                                "actor_id", "workflow", "workflow_ref", "job_workflow_ref", "event_name", "ref_type",
                                "environment", "runner_environment"]},
          open(out + "/openid-configuration", "w"), indent=1)
print(kid)
EOF
}

write_apache_conf() {
  local conf="$STATE_DIR/apache/httpd.conf" user_lines="" wsgi_user=""
  if [[ "$(id -u)" == 0 ]]; then
    user_lines="User $RUN_USER
Group $RUN_GROUP"
    wsgi_user="user=$RUN_USER group=$RUN_GROUP"
  fi
  local log_level="warn auth_openidc:info"
  [[ "${OIDC_DEBUG:-0}" == 1 ]] && log_level="warn auth_openidc:debug wsgi:info"
  cat >"$conf" <<EOF
# Written by scripts/oidc/start.sh for this instance only.
ServerRoot $STATE_DIR/apache
DefaultRuntimeDir $STATE_DIR/run
PidFile $STATE_DIR/run/httpd.pid
Mutex file:$STATE_DIR/run default
ServerName $OI_HOST
Listen $OI_HOST:$PORT
Listen $OI_HOST:$ISSUER_PORT

LoadModule mpm_event_module    $OI_MODULES/mod_mpm_event.so
LoadModule authn_core_module   $OI_MODULES/mod_authn_core.so
LoadModule authz_core_module   $OI_MODULES/mod_authz_core.so
LoadModule authz_user_module   $OI_MODULES/mod_authz_user.so
LoadModule mime_module         $OI_MODULES/mod_mime.so
LoadModule ssl_module          $OI_MODULES/mod_ssl.so
LoadModule auth_openidc_module $OI_MODULES/mod_auth_openidc.so
LoadModule wsgi_module         $OI_MODULES/mod_wsgi.so
SSLSessionCache none

$user_lines
StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
MinSpareThreads 5
MaxSpareThreads 25
Timeout 60

TypesConfig /dev/null
ErrorLog $STATE_DIR/apache/error.log
LogLevel $log_level
LogFormat "%h %t \"%r\" %>s %b user=%u %D" oidc
CustomLog $STATE_DIR/apache/access.log oidc

<Directory />
    Require all denied
    AllowOverride None
</Directory>

# ---- Keystone under mod_wsgi: daemon mode, one process, one thread (sqlite) ----
WSGIRestrictEmbedded On
WSGISocketPrefix $STATE_DIR/run/wsgi
WSGIDaemonProcess keystone-oidc $wsgi_user processes=1 threads=1 display-name=keystone-oidc-$PORT home=$K
WSGIProcessGroup keystone-oidc
WSGIApplicationGroup %{GLOBAL}

# ---- mod_auth_openidc as an OAuth 2.0 resource server: it validates the JWT locally ----
# Keys from the issuer's JWKS (https only in 2.4.12), fetched on demand and cached.
OIDCOAuthVerifyJwksUri $ISSUER/.well-known/jwks
# Server certificate validation stays on (OIDCOAuthSSLValidateServer defaults to On); trust the test CA.
OIDCCABundlePath $STATE_DIR/tls/ca.crt
OIDCJWKSRefreshInterval 300
OIDCOAuthAcceptTokenAs header
OIDCOAuthRemoteUserClaim sub
# Claims only as environment variables (OIDC_CLAIM_<claim> in the WSGI environ), never as request
# headers a client could forge.
OIDCPassClaimsAs environment
OIDCCryptoPassphrase $(head -c 24 /dev/urandom | base64 | tr -d '/+=')
OIDCCacheType shm

<VirtualHost $OI_HOST:$PORT>
    WSGIScriptAlias / $K/keystone.wsgi
    <Directory $K>
        <Files keystone.wsgi>
            Require all granted
        </Files>
    </Directory>
    <LocationMatch "^/v3/OS-FEDERATION/identity_providers/[^/]+/protocols/$PROTOCOL/auth">
        AuthType oauth20
        <IfDefine !HARDENED>
            # mod_auth_openidc 2.4.12 alone: signature (by kid) and exp when present. Nothing else.
            Require valid-user
        </IfDefine>
        <IfDefine HARDENED>
            # It does not check iss or aud of the token: the authorization rules must.
            <RequireAll>
                Require valid-user
                Require claim "iss:$ISSUER"
                Require claim "aud:$AUDIENCE"
            </RequireAll>
        </IfDefine>
    </LocationMatch>
    # The OIDC client's identity provider: same key set, its own issuer and client. Its id_token's
    # aud is the client id and its access token's aud is the provider's choice: azp, not aud.
    # A later section's Require lines replace the generic one's (AuthMerging Off).
    <LocationMatch "^/v3/OS-FEDERATION/identity_providers/$CLIENT_IDP/protocols/$PROTOCOL/auth">
        AuthType oauth20
        <RequireAll>
            Require valid-user
            Require claim "iss:$CLIENT_ISSUER"
            Require claim "azp:$CLIENT_ID"
        </RequireAll>
    </LocationMatch>
</VirtualHost>

# ---- the issuer stand-in: GitHub's /.well-known documents, over https ----
<VirtualHost $OI_HOST:$ISSUER_PORT>
    ServerName $OI_HOST
    SSLEngine on
    SSLCertificateFile $STATE_DIR/tls/server.crt
    SSLCertificateKeyFile $STATE_DIR/tls/server.key
    DocumentRoot $STATE_DIR/www
    <Directory $STATE_DIR/www/.well-known>
        Require all granted
        ForceType application/json
    </Directory>
</VirtualHost>
EOF
}

start_server() {
  : >"$STATE_DIR/apache/error.log"; : >"$STATE_DIR/apache/access.log"; : >"$STATE_DIR/apache/stderr.log"
  local defines=()
  [[ "$HARDENED" == 1 ]] && defines=(-D HARDENED)
  # A clean environment: no foreign Python (PYTHONPATH, a venv) and no proxy settings reach mod_wsgi
  # or mod_auth_openidc's JWKS fetch. setsid: Apache leads its own process group (stop.sh signals it).
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    setsid "$OI_APACHE" -f "$STATE_DIR/apache/httpd.conf" -DFOREGROUND "${defines[@]}" \
    </dev/null >"$STATE_DIR/apache/stderr.log" 2>&1 &
  SERVER_PID=$!
  echo "$SERVER_PID" >"$STATE_DIR/apache.pid"
}

# 0: ready; 1: a port was taken; exits on any other failure.
wait_ready() {
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  while :; do
    if grep -qs 'could not bind\|Address already in use' "$STATE_DIR/apache/stderr.log" "$STATE_DIR/apache/error.log"; then
      return 1
    fi
    if [[ "$(srv_http_code "http://$OI_HOST:$PORT/v3")" == 200 ]] \
       && [[ "$(srv_http_code "$ISSUER/.well-known/jwks" --cacert "$STATE_DIR/tls/ca.crt")" == 200 ]]; then
      return 0
    fi
    if ! srv_alive "$SERVER_PID"; then
      tail -n 20 "$STATE_DIR/apache/stderr.log" "$STATE_DIR/apache/error.log" >&2 || true
      grep -qs 'could not bind\|Address already in use' "$STATE_DIR/apache/stderr.log" "$STATE_DIR/apache/error.log" && return 1
      srv_die "apache (pid $SERVER_PID) exited during start-up; logs in $STATE_DIR/apache"
    fi
    if (( $(date +%s) >= deadline )); then
      tail -n 20 "$STATE_DIR/apache/error.log" "$K/keystone.log" >&2 || true
      srv_stop_instance "$STATE_DIR" KILL || true
      srv_die "not ready after ${READY_TIMEOUT}s; logs in $STATE_DIR"
    fi
    sleep 0.1
  done
}

# The Keystone objects of the federation, through the API with an admin token (cold start only:
# the seed carries them).
create_federation_objects() {
  local json='Content-Type: application/json' admin_token
  jget() { "$OI_PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
  admin_token="$(srv_curl --fail-with-body -D - -o /dev/null -H "$json" "$AUTH_URL/auth/tokens" -d \
    "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$ADMIN_USER\",\"domain\":{\"id\":\"default\"},\"password\":\"$ADMIN_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"$ADMIN_PROJECT\",\"domain\":{\"id\":\"default\"}}}}}" \
    | awk -F': ' 'tolower($1)=="x-subject-token"{gsub("\r","",$2);print $2}')"
  [[ -n "$admin_token" ]] || srv_die "admin authentication failed"
  api() { srv_curl --fail-with-body -H "X-Auth-Token: $admin_token" -H "$json" "$@"; }

  local domain_id project_id other_id group_id member_id
  domain_id="$(api -X POST "$AUTH_URL/domains" -d "{\"domain\":{\"name\":\"$DOMAIN_NAME\",\"description\":\"GitHub Actions federation (test)\"}}" | jget "d['domain']['id']")"
  project_id="$(api -X POST "$AUTH_URL/projects" -d "{\"project\":{\"name\":\"$PROJECT_NAME\",\"domain_id\":\"$domain_id\",\"description\":\"deploy target of $REPOSITORY\"}}" | jget "d['project']['id']")"
  other_id="$(api -X POST "$AUTH_URL/projects" -d "{\"project\":{\"name\":\"$OTHER_PROJECT_NAME\",\"domain_id\":\"$domain_id\",\"description\":\"no grant for the federated group\"}}" | jget "d['project']['id']")"
  group_id="$(api -X POST "$AUTH_URL/groups" -d "{\"group\":{\"name\":\"$GROUP_NAME\",\"domain_id\":\"$domain_id\",\"description\":\"GitHub Actions: $REPOSITORY on $REF\"}}" | jget "d['group']['id']")"
  member_id="$(api "$AUTH_URL/roles?name=member" | jget "d['roles'][0]['id']")"
  api -X PUT -o /dev/null "$AUTH_URL/projects/$project_id/groups/$group_id/roles/$member_id"

  # Shadow users of this identity provider live in domain fed. The remote id is rewritten to the
  # issuer of each instance (prepare_db).
  api -X PUT -o /dev/null "$AUTH_URL/OS-FEDERATION/identity_providers/$IDP" -d \
    "{\"identity_provider\":{\"remote_ids\":[\"$ISSUER\"],\"domain_id\":\"$domain_id\",\"enabled\":true,\"description\":\"GitHub Actions OIDC (local stand-in)\"}}"
  # Every remote entry must match. {0} (the user name) is the first entry without a condition: sub.
  # The stable numeric ids keep a deleted-and-recreated (or transferred) acme/deploy out; sub pins
  # the ref (a job with an environment gets repo:…:environment:NAME instead, and is refused).
  api -X PUT -o /dev/null "$AUTH_URL/OS-FEDERATION/mappings/$MAPPING" -d "$(cat <<EOF
{"mapping": {"rules": [{
  "local": [{"user": {"name": "{0}", "type": "ephemeral"},
             "group": {"name": "$GROUP_NAME", "domain": {"name": "$DOMAIN_NAME"}}}],
  "remote": [{"type": "OIDC_CLAIM_sub"},
             {"type": "OIDC_CLAIM_sub", "any_one_of": ["repo:$REPOSITORY:ref:$REF"]},
             {"type": "OIDC_CLAIM_repository_id", "any_one_of": ["$REPOSITORY_ID"]},
             {"type": "OIDC_CLAIM_repository_owner_id", "any_one_of": ["$REPOSITORY_OWNER_ID"]}]
}]}}
EOF
)"
  api -X PUT -o /dev/null "$AUTH_URL/OS-FEDERATION/identity_providers/$IDP/protocols/$PROTOCOL" -d \
    "{\"protocol\":{\"mapping_id\":\"$MAPPING\"}}"

  # The OIDC client: its own group and identity provider; the mapping keys on the client (azp), the
  # service account's sub names the ephemeral user.
  local client_group_id
  client_group_id="$(api -X POST "$AUTH_URL/groups" -d "{\"group\":{\"name\":\"$CLIENT_GROUP_NAME\",\"domain_id\":\"$domain_id\",\"description\":\"OIDC client $CLIENT_ID\"}}" | jget "d['group']['id']")"
  api -X PUT -o /dev/null "$AUTH_URL/projects/$project_id/groups/$client_group_id/roles/$member_id"
  api -X PUT -o /dev/null "$AUTH_URL/OS-FEDERATION/identity_providers/$CLIENT_IDP" -d \
    "{\"identity_provider\":{\"remote_ids\":[\"$CLIENT_ISSUER\"],\"domain_id\":\"$domain_id\",\"enabled\":true,\"description\":\"OIDC clients (local stand-in)\"}}"
  api -X PUT -o /dev/null "$AUTH_URL/OS-FEDERATION/mappings/$CLIENT_MAPPING" -d "$(cat <<EOF
{"mapping": {"rules": [{
  "local": [{"user": {"name": "{0}", "type": "ephemeral"},
             "group": {"name": "$CLIENT_GROUP_NAME", "domain": {"name": "$DOMAIN_NAME"}}}],
  "remote": [{"type": "OIDC_CLAIM_sub"},
             {"type": "OIDC_CLAIM_azp", "any_one_of": ["$CLIENT_ID"]}]
}]}}
EOF
)"
  api -X PUT -o /dev/null "$AUTH_URL/OS-FEDERATION/identity_providers/$CLIENT_IDP/protocols/$PROTOCOL" -d \
    "{\"protocol\":{\"mapping_id\":\"$CLIENT_MAPPING\"}}"
  api -X DELETE -o /dev/null -H "X-Subject-Token: $admin_token" "$AUTH_URL/auth/tokens" || true

  {
    srv_export_line OIDC_DOMAIN_ID "$domain_id"
    srv_export_line OIDC_DOMAIN_NAME "$DOMAIN_NAME"
    srv_export_line OIDC_PROJECT_ID "$project_id"
    srv_export_line OIDC_PROJECT_NAME "$PROJECT_NAME"
    srv_export_line OIDC_OTHER_PROJECT_ID "$other_id"
    srv_export_line OIDC_OTHER_PROJECT_NAME "$OTHER_PROJECT_NAME"
    srv_export_line OIDC_GROUP_ID "$group_id"
    srv_export_line OIDC_GROUP_NAME "$GROUP_NAME"
    srv_export_line OIDC_MAPPING "$MAPPING"
    srv_export_line OIDC_REPOSITORY "$REPOSITORY"
    srv_export_line OIDC_REPOSITORY_ID "$REPOSITORY_ID"
    srv_export_line OIDC_REPOSITORY_OWNER "$REPOSITORY_OWNER"
    srv_export_line OIDC_REPOSITORY_OWNER_ID "$REPOSITORY_OWNER_ID"
    srv_export_line OIDC_REF "$REF"
    srv_export_line OIDC_CLIENT_GROUP_ID "$client_group_id"
  } >"$STATE_DIR/fixtures.env"
}

# A defaulted state dir is named after the port: when the port changes, the dir moves along so
# that stop.sh PORT still finds it.
follow_port() {
  (( STATE_DIR_GIVEN )) && return 0
  local new_dir
  new_dir="$(oi_default_state_dir "$PORT")"
  srv_is_ours_or_empty "$new_dir" || srv_die "refusing to wipe $new_dir: not empty and not created by start.sh"
  rm -rf "$new_dir"
  mv "$STATE_DIR" "$new_dir"
  STATE_DIR="$new_dir"
  K="$STATE_DIR/keystone"
  write_keystone_conf
}

write_keystone_conf
if restore_seed; then
  KIND=warm
  srv_log "state dir $STATE_DIR; restored seed $SEED"
else
  KIND=cold
  srv_log "state dir $STATE_DIR; no seed: keys, test CA, db_sync, fernet_setup, credential_setup, bootstrap"
  bootstrap
fi
chmod 600 "$STATE_DIR/issuer/signing.key" "$STATE_DIR/tls/"*.key
chmod 644 "$STATE_DIR/tls/ca.crt" "$STATE_DIR/tls/server.crt"
chmod 711 "$STATE_DIR/tls"

for attempt in 1 2 3; do
  ISSUER="https://$OI_HOST:$ISSUER_PORT"
  CLIENT_ISSUER="$ISSUER/realms/$CLIENT_IDP"
  [[ -n "${OIDC_AUDIENCE:-}" ]] || AUDIENCE="http://$OI_HOST:$PORT/v3"
  AUTH_URL="http://$OI_HOST:$PORT/v3"
  prepare_db
  KID="$(write_issuer_docs)"
  chmod 644 "$STATE_DIR/www/.well-known/"*
  write_apache_conf
  srv_log "starting apache: keystone on $OI_HOST:$PORT, issuer on $OI_HOST:$ISSUER_PORT"
  T_APACHE="$(srv_now_ms)"
  start_server
  if wait_ready; then
    srv_log "keystone (mod_wsgi) and the issuer answer $(( $(srv_now_ms) - T_APACHE )) ms after apache started"
    break
  fi
  srv_stop_instance "$STATE_DIR" KILL >/dev/null 2>&1 || true
  (( attempt < 3 )) || srv_die "ports $PORT/$ISSUER_PORT were taken by another process during start-up"
  srv_log "a port was taken meanwhile; trying others"
  if (( PORT_ARG == 0 )); then PORT="$(srv_pick_port)"; follow_port; fi
  ISSUER_PORT="$(srv_pick_port "$PORT")"
done

if [[ "$KIND" == cold ]]; then
  create_federation_objects
  save_seed
fi

{
  srv_export_admin_env "$AUTH_URL" "$ADMIN_USER" "$ADMIN_PASSWORD" "$ADMIN_PROJECT" "$REGION"
  srv_export_line OIDC_PORT "$PORT"
  srv_export_line OIDC_PID "$SERVER_PID"
  srv_export_line OIDC_STATE_DIR "$STATE_DIR"
  srv_export_line OIDC_ACCESS_LOG "$STATE_DIR/apache/access.log"
  srv_export_line OIDC_ERROR_LOG "$STATE_DIR/apache/error.log"
  srv_export_line OIDC_KEYSTONE_LOG "$K/keystone.log"
  srv_export_line OIDC_ISSUER "$ISSUER"
  srv_export_line OIDC_ISSUER_PORT "$ISSUER_PORT"
  srv_export_line OIDC_JWKS_URI "$ISSUER/.well-known/jwks"
  srv_export_line OIDC_CA_CERT "$STATE_DIR/tls/ca.crt"
  srv_export_line OIDC_SIGNING_KEY "$STATE_DIR/issuer/signing.key"
  srv_export_line OIDC_KID "$KID"
  srv_export_line OIDC_AUDIENCE "$AUDIENCE"
  srv_export_line OIDC_HARDENED "$HARDENED"
  srv_export_line OIDC_IDP "$IDP"
  srv_export_line OIDC_PROTOCOL "$PROTOCOL"
  srv_export_line OIDC_CLIENT_IDP "$CLIENT_IDP"
  srv_export_line OIDC_CLIENT_ID "$CLIENT_ID"
  srv_export_line OIDC_CLIENT_ISSUER "$CLIENT_ISSUER"
  srv_export_line OIDC_START_KIND "$KIND"
  srv_export_line OIDC_START_MS "$(( $(srv_now_ms) - T0 ))"
} >"$STATE_DIR/openrc"
# Start counting requests from zero.
: >"$STATE_DIR/apache/access.log"

srv_log "ready ($KIND start) in $(( $(srv_now_ms) - T0 )) ms: $AUTH_URL, issuer $ISSUER, apache pid $SERVER_PID"
cat "$STATE_DIR/openrc" "$STATE_DIR/fixtures.env"
