#!/usr/bin/env bash
# Start a throw-away OpenStack Keystone for tests: Debian's python3-keystone (Zed) under gunicorn on
# 127.0.0.1, sqlite + fernet tokens, an admin user from `keystone-manage bootstrap`, and the
# fixtures of fixtures.sh (second domain, project, users, application credential).
#
# Usage: scripts/keystone/start.sh [PORT]      PORT 0 or absent: pick a free port
#   e.g. eval "$(scripts/keystone/start.sh)"; …; scripts/keystone/stop.sh --purge
#   (the output exports KEYSTONE_STATE_DIR, which is how stop.sh, and start.sh again, find it)
#
# stdout: sourceable `export …='…'` lines: OS_AUTH_URL and the admin OS_* credentials, KEYSTONE_PORT,
#         KEYSTONE_PID, KEYSTONE_STATE_DIR, KEYSTONE_ACCESS_LOG, then the FIX_* fixture values.
# stderr: progress. Exit status 1 on failure, with the tail of the server log.
#
# Environment (all optional):
#   KEYSTONE_STATE_DIR         conf, db, keys, logs, pid file  (${TMPDIR:-/tmp}/keystone-PORT)
#   KEYSTONE_TOKEN_EXPIRATION  token lifetime in seconds       (3600, Keystone's default)
#   KEYSTONE_CACHE_DIR         where the seed tarball lives    (<repo>/.cache/keystone)
#   KEYSTONE_NO_CACHE=1        neither read nor write the seed (measures a cold start)
#   KEYSTONE_REUSE=1           keep an instance that already runs healthy in the state dir with the
#                              same settings (default: stop it and start afresh, so tests get clean
#                              state and an empty access log)
#   KEYSTONE_READY_TIMEOUT     seconds to wait for GET /v3     (60)
#   KEYSTONE_ADMIN_USER / KEYSTONE_ADMIN_PASSWORD / KEYSTONE_ADMIN_PROJECT / KEYSTONE_REGION
#                              bootstrap values                (admin / admin-secret / admin / RegionOne)
#   KEYSTONE_DEBUG=1           [DEFAULT] debug = true in keystone.log
#
# Start-up cost: from nothing, four keystone-manage runs plus the fixtures take several seconds. The
# bootstrapped db, the key repositories and fixtures.env are therefore saved once as a seed tarball
# keyed by the keystone version, the admin settings and the content of these scripts; later starts
# restore it. The seed is port-independent: the catalog's endpoint URLs are rewritten to the new
# port before the server starts. Restored instances share ids and fernet keys with each other.
#
# The state dir holds: keystone.conf, keystone.db, fernet-keys/, credential-keys/, keystone.log,
# server.log (gunicorn), access.log (one line per request, emptied once the server is ready, so tests
# can count requests), keystone.pid, openrc, fixtures.env. Stop with stop.sh.
set -euo pipefail
SRV_SCRIPT=start
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT_ARG="${1:-0}"
ADMIN_USER="${KEYSTONE_ADMIN_USER:-admin}"
ADMIN_PASSWORD="${KEYSTONE_ADMIN_PASSWORD:-admin-secret}"
ADMIN_PROJECT="${KEYSTONE_ADMIN_PROJECT:-admin}"
REGION="${KEYSTONE_REGION:-RegionOne}"
EXPIRATION="${KEYSTONE_TOKEN_EXPIRATION:-3600}"
READY_TIMEOUT="${KEYSTONE_READY_TIMEOUT:-60}"
CACHE_DIR="${KEYSTONE_CACHE_DIR:-$KS_REPO_DIR/.cache/keystone}"
# bcrypt cost for stored passwords. Keystone's default (12) costs about 270 ms per password login;
# 4 brings a token issue down to about 60 ms. Part of the seed key: hashes in the db keep their cost.
HASH_ROUNDS=4

[[ "$PORT_ARG" =~ ^[0-9]+$ ]] && (( PORT_ARG < 65536 )) || srv_die "PORT must be a number below 65536, got '$PORT_ARG'"
[[ "$EXPIRATION" =~ ^[0-9]+$ ]] && (( EXPIRATION > 0 )) || srv_die "KEYSTONE_TOKEN_EXPIRATION must be a positive number of seconds, got '$EXPIRATION'"
[[ "$READY_TIMEOUT" =~ ^[0-9]+$ ]] || srv_die "KEYSTONE_READY_TIMEOUT must be a number of seconds"

"$KS_DIR/install.sh"
T0="$(srv_now_ms)"

port_busy() { (exec 3<>"/dev/tcp/$KS_HOST/$1") 2>/dev/null; }

SEED_INPUTS="$(printf '%s\n' "$("$KS_PY" -c 'import importlib.metadata as m; print(m.version("keystone"))')" \
  "$ADMIN_USER" "$ADMIN_PASSWORD" "$ADMIN_PROJECT" "$REGION" "$HASH_ROUNDS" \
  "$(cat "$KS_DIR/lib.sh" "$KS_DIR/start.sh" "$KS_DIR/fixtures.sh" | sha256sum)")"
SEED_KEY="$(sha256sum <<<"$SEED_INPUTS" | cut -c1-16)"
SEED="$CACHE_DIR/seed-$SEED_KEY.tar"
# What must match for KEYSTONE_REUSE=1 to keep a running instance.
FINGERPRINT="$(printf '%s\n' "$SEED_KEY" "$EXPIRATION" "${KEYSTONE_DEBUG:-0}" | sha256sum | cut -c1-16)"

print_env() { cat "$STATE_DIR/openrc" "$STATE_DIR/fixtures.env"; }

# An instance of ours already running in STATE_DIR: reuse it if asked and equivalent, else stop it.
reuse_or_stop() {
  local pid
  pid="$(srv_running_pid "$STATE_DIR")"
  [[ -n "$pid" ]] || return 0
  if [[ "${KEYSTONE_REUSE:-0}" == 1 && -f "$STATE_DIR/openrc" && -f "$STATE_DIR/fixtures.env" \
        && "$(cat "$STATE_DIR/fingerprint" 2>/dev/null)" == "$FINGERPRINT" ]]; then
    # shellcheck source=/dev/null
    if (source "$STATE_DIR/openrc" && [[ "$(srv_http_code "$OS_AUTH_URL")" == 200 ]]); then
      srv_log "reusing keystone pid $pid in $STATE_DIR"
      print_env
      exit 0
    fi
  fi
  srv_log "stopping the previous keystone in $STATE_DIR"
  srv_stop_instance "$STATE_DIR" KILL || true
}

STATE_DIR_GIVEN=0
if [[ -n "${KEYSTONE_STATE_DIR:-}" ]]; then
  STATE_DIR_GIVEN=1
  STATE_DIR="$(srv_abs "$KEYSTONE_STATE_DIR")"
  reuse_or_stop
fi
if (( PORT_ARG == 0 )); then PORT="$(srv_pick_port)"; else PORT="$PORT_ARG"; fi
if (( ! STATE_DIR_GIVEN )); then
  STATE_DIR="$(ks_default_state_dir "$PORT")"
  reuse_or_stop
fi
if (( PORT_ARG != 0 )) && port_busy "$PORT"; then
  srv_die "port $KS_HOST:$PORT is in use by a process that is not a keystone started in $STATE_DIR"
fi

srv_is_ours_or_empty "$STATE_DIR" || srv_die "refusing to wipe $STATE_DIR: not empty and not created by start.sh"
rm -rf "$STATE_DIR"
mkdir -p "$STATE_DIR"
# Private: the state dir holds keys and passwords; keystone also warns about readable key repos.
chmod 700 "$STATE_DIR"
touch "$STATE_DIR/$KS_MARKER"

write_conf() {
  cat >"$STATE_DIR/keystone.conf" <<EOF
[DEFAULT]
debug = $([[ "${KEYSTONE_DEBUG:-0}" == 1 ]] && echo true || echo false)
log_file = $STATE_DIR/keystone.log
use_stderr = false

[database]
connection = sqlite:///$STATE_DIR/keystone.db

[identity]
password_hash_rounds = $HASH_ROUNDS

[token]
provider = fernet
expiration = $EXPIRATION

[fernet_tokens]
key_repository = $STATE_DIR/fernet-keys

[fernet_receipts]
key_repository = $STATE_DIR/fernet-keys

[credential]
key_repository = $STATE_DIR/credential-keys
EOF
  # oslo.config parses sys.argv, so gunicorn's own arguments must be hidden from keystone; without
  # this the worker dies at import and gunicorn restarts it forever while still accepting connections.
  cat >"$STATE_DIR/$KS_APP_MODULE.py" <<'EOF'
import sys
sys.argv = sys.argv[:1]
from keystone.server.wsgi import initialize_public_application
application = initialize_public_application()
EOF
}

ksm() {
  # keystone-manage prints harmless eventlet noise at exit: keep it out of the way, in a log.
  timeout 120 "$KS_MANAGE" --config-file "$STATE_DIR/keystone.conf" "$@" >>"$STATE_DIR/keystone-manage.log" 2>&1 || {
    tail -n 30 "$STATE_DIR/keystone-manage.log" >&2
    srv_die "keystone-manage $1 failed"
  }
}

bootstrap() {
  mkdir -m 700 -p "$STATE_DIR/fernet-keys" "$STATE_DIR/credential-keys"
  local me_user me_group p1 p2 p3
  me_user="$(id -un)"; me_group="$(id -gn)"
  ksm db_sync & p1=$!
  ksm fernet_setup --keystone-user "$me_user" --keystone-group "$me_group" & p2=$!
  ksm credential_setup --keystone-user "$me_user" --keystone-group "$me_group" & p3=$!
  wait "$p1"; wait "$p2"; wait "$p3"
  ksm bootstrap \
    --bootstrap-username "$ADMIN_USER" \
    --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-project-name "$ADMIN_PROJECT" \
    --bootstrap-role-name admin \
    --bootstrap-service-name keystone \
    --bootstrap-region-id "$REGION" \
    --bootstrap-public-url "http://$KS_HOST:$PORT/v3"
}

restore_seed() {
  [[ "${KEYSTONE_NO_CACHE:-0}" != 1 && -f "$SEED" ]] || return 1
  if ! tar -C "$STATE_DIR" -xf "$SEED" 2>/dev/null || [[ ! -f "$STATE_DIR/keystone.db" ]]; then
    srv_log "unreadable seed $SEED: removing it"
    rm -f "$SEED"
    rm -rf "$STATE_DIR/keystone.db" "$STATE_DIR/fernet-keys" "$STATE_DIR/credential-keys" "$STATE_DIR/fixtures.env"
    return 1
  fi
}

save_seed() {
  [[ "${KEYSTONE_NO_CACHE:-0}" != 1 ]] || return 0
  local staging="$STATE_DIR/seed-staging"
  mkdir -p "$staging" "$CACHE_DIR"
  # sqlite's backup API gives a consistent copy of a live WAL-mode db (copying the file would not).
  "$KS_PY" -c 'import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close(); s.close()' \
    "$STATE_DIR/keystone.db" "$staging/keystone.db"
  cp -a "$STATE_DIR/fernet-keys" "$STATE_DIR/credential-keys" "$STATE_DIR/fixtures.env" "$staging/"
  tar -C "$staging" -cf "$SEED.tmp.$$" . && mv -f "$SEED.tmp.$$" "$SEED"
  rm -rf "$staging"
  # Seeds of older script versions or other settings are dead weight.
  find "$CACHE_DIR" -maxdepth 1 -name 'seed-*.tar' ! -name "seed-$SEED_KEY.tar" -mmin +1 -delete 2>/dev/null || true
  srv_log "saved seed $SEED"
}

# WAL: readers never block a writer's COMMIT. In the default rollback-journal mode a rare write fails
# with HTTP 500 "database is locked" (oslo.db wraps every read in an explicit BEGIN). The same pass
# points the catalog's endpoints at this instance's port, which makes a seed port-independent.
prepare_db() {
  "$KS_PY" - "$STATE_DIR/keystone.db" "http://$KS_HOST:$PORT" <<'EOF'
import re, sqlite3, sys
db, base = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
c.execute("PRAGMA journal_mode=WAL")
for endpoint_id, url in c.execute("SELECT id, url FROM endpoint").fetchall():
    c.execute("UPDATE endpoint SET url = ? WHERE id = ?", (re.sub(r"^https?://[^/]+", base, url), endpoint_id))
c.commit()
c.close()
EOF
}

start_server() {
  : >"$STATE_DIR/server.log"
  # OS_KEYSTONE_CONFIG_DIR is where keystone's WSGI app looks for keystone.conf. setsid: the gunicorn
  # master leads its own process group, so stop.sh can signal master and worker together. One worker:
  # more make sqlite's "database is locked" errors likelier.
  OS_KEYSTONE_CONFIG_DIR="$STATE_DIR" setsid "$KS_PY" -m gunicorn \
    --chdir "$STATE_DIR" --bind "$KS_HOST:$PORT" --workers 1 --threads 1 --timeout 60 \
    --access-logfile "$STATE_DIR/access.log" \
    --access-logformat '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(L)s' \
    "$KS_APP_MODULE:application" </dev/null >"$STATE_DIR/server.log" 2>&1 &
  SERVER_PID=$!
  echo "$SERVER_PID" >"$STATE_DIR/keystone.pid"
}

# 0: ready; 1: the port was taken by someone else; exits on any other failure.
wait_ready() {
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  while :; do
    # Readiness needs our own "Listening at" too: a 200 alone could come from another server that
    # holds the port while gunicorn is still retrying the bind.
    if grep -q 'Connection in use' "$STATE_DIR/server.log" && ! grep -q 'Listening at' "$STATE_DIR/server.log"; then
      return 1
    fi
    if grep -q 'Listening at' "$STATE_DIR/server.log" \
       && [[ "$(srv_http_code "http://$KS_HOST:$PORT/v3")" == 200 ]]; then
      return 0
    fi
    if ! srv_alive "$SERVER_PID"; then
      tail -n 40 "$STATE_DIR/server.log" >&2 || true
      srv_die "keystone (pid $SERVER_PID) exited during start-up; logs in $STATE_DIR"
    fi
    if (( $(date +%s) >= deadline )); then
      tail -n 40 "$STATE_DIR/server.log" >&2 || true
      srv_stop_instance "$STATE_DIR" || true
      srv_die "keystone not ready after ${READY_TIMEOUT}s; logs in $STATE_DIR"
    fi
    sleep 0.1
  done
}

# Moves a defaulted state dir along when the port changes, so stop.sh PORT still finds it.
follow_port() {
  (( STATE_DIR_GIVEN )) && return 0
  local new_dir
  new_dir="$(ks_default_state_dir "$PORT")"
  srv_is_ours_or_empty "$new_dir" || srv_die "refusing to wipe $new_dir: not empty and not created by start.sh"
  rm -rf "$new_dir"
  mv "$STATE_DIR" "$new_dir"
  STATE_DIR="$new_dir"
  write_conf
}

write_conf
if restore_seed; then
  KIND=warm
  srv_log "state dir $STATE_DIR; restored seed $SEED"
else
  KIND=cold
  srv_log "state dir $STATE_DIR; no seed: db_sync, fernet_setup, credential_setup, bootstrap"
  bootstrap
fi

for attempt in 1 2 3; do
  prepare_db
  srv_log "starting gunicorn on $KS_HOST:$PORT"
  start_server
  if wait_ready; then break; fi
  srv_stop_instance "$STATE_DIR" KILL >/dev/null 2>&1 || true
  if (( PORT_ARG != 0 || attempt == 3 )); then
    srv_die "port $KS_HOST:$PORT was taken by another process during start-up"
  fi
  srv_log "port $PORT was taken meanwhile; trying another one"
  PORT="$(srv_pick_port)"
  follow_port
done

{
  srv_export_admin_env "http://$KS_HOST:$PORT/v3" "$ADMIN_USER" "$ADMIN_PASSWORD" "$ADMIN_PROJECT" "$REGION"
  srv_export_line KEYSTONE_PORT "$PORT"
  srv_export_line KEYSTONE_PID "$SERVER_PID"
  srv_export_line KEYSTONE_STATE_DIR "$STATE_DIR"
  srv_export_line KEYSTONE_ACCESS_LOG "$STATE_DIR/access.log"
} >"$STATE_DIR/openrc"

if [[ "$KIND" == cold ]]; then
  KEYSTONE_STATE_DIR="$STATE_DIR" "$KS_DIR/fixtures.sh" >/dev/null
  save_seed
fi
echo "$FINGERPRINT" >"$STATE_DIR/fingerprint"
# Start counting from zero: tests count requests (token POSTs) in this file. gunicorn writes a line
# after the response has gone out, and a readiness poll that timed out may still be served later;
# the single worker serves requests in order, so once a marker request is in the log, every earlier
# one is too, and the log can be emptied.
MARKER="flush-$RANDOM$RANDOM"
srv_http_code "http://$KS_HOST:$PORT/v3?$MARKER" >/dev/null
for _ in $(seq 1 50); do grep -q "$MARKER" "$STATE_DIR/access.log" && break; sleep 0.05; done
: >"$STATE_DIR/access.log"

srv_log "ready ($KIND start) in $(( $(srv_now_ms) - T0 )) ms: http://$KS_HOST:$PORT/v3, pid $SERVER_PID"
print_env
