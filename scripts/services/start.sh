#!/usr/bin/env bash
# Start a throw-away OpenStack Glance (image) and Swift (object-store) on 127.0.0.1 for tests, each
# behind keystonemiddleware's authtoken, validating tokens against a Keystone started by
# scripts/keystone/start.sh, and register them in that Keystone's catalog.
# Debian bookworm's packages (Zed), run from the Python modules: nothing under /etc, no systemd, no
# memcached, no syslog. The db, image store, rings, logs and pid files live in the state dir.
#
# Usage: eval "$(scripts/keystone/start.sh)"      # the admin OS_* variables of that Keystone
#        eval "$(scripts/services/start.sh)"      # GLANCE_URL, SWIFT_URL, SERVICES_STATE_DIR, …
#        scripts/services/stop.sh --purge         # same SERVICES_STATE_DIR
#
# stdout: sourceable `export …='…'` lines: SERVICES_STATE_DIR, GLANCE_URL, SWIFT_URL (the storage
#         URL of project P is $SWIFT_URL/AUTH_P), SERVICES_PIDS (name:pid …).
# stderr: progress. Exit status 1 on failure, with the tail of the failing server's log; servers
#         already started are stopped again.
#
# Environment:
#   OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME (required): a Keystone admin, domain Default
#   SERVICES_STATE_DIR        state dir                    (${TMPDIR:-/tmp}/os-services); wiped
#                             first if start.sh made it, refused otherwise
#   SERVICES_TOKEN_CACHE_TIME keystonemiddleware token_cache_time, seconds (its default: 300): how
#                             long a service keeps accepting a token it validated once
#   SERVICES_READY_TIMEOUT    seconds to wait for the servers (90)
#   OS_REGION_NAME            catalog region               (RegionOne)
set -euo pipefail
SRV_SCRIPT=services-start
# shellcheck source=../keystone/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../keystone/lib.sh"
SRV_NAME=services
SV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

SD="$(srv_abs "${SERVICES_STATE_DIR:-${TMPDIR:-/tmp}/os-services}")"
REGION="${OS_REGION_NAME:-RegionOne}"
READY_TIMEOUT="${SERVICES_READY_TIMEOUT:-90}"
CACHE_TIME="${SERVICES_TOKEN_CACHE_TIME:-300}"
SERVICE_PASSWORD=service-secret
SERVICE_PROJECT=service
SRV_MARKER=.os-services-test-instance

for v in OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME; do
  [[ -n "${!v:-}" ]] || srv_die "$v is not set: eval the output of scripts/keystone/start.sh first"
done
[[ "$CACHE_TIME" =~ ^[0-9]+$ ]] || srv_die "SERVICES_TOKEN_CACHE_TIME must be a number of seconds, got '$CACHE_TIME'"
[[ "$READY_TIMEOUT" =~ ^[0-9]+$ ]] || srv_die "SERVICES_READY_TIMEOUT must be a number of seconds"
"$SV_DIR/install.sh"

if [[ -e "$SD" ]]; then
  srv_is_ours_or_empty "$SD" || srv_die "refusing to wipe $SD: start.sh did not create it"
  SERVICES_STATE_DIR="$SD" "$SV_DIR/stop.sh" >&2 || true
fi
rm -rf "$SD"; mkdir -p "$SD/pids" "$SD/logs"; touch "$SD/$SRV_MARKER"
# On failure, do not leave half a set of servers behind.
trap 'rc=$?; if (( rc != 0 )); then wait; SERVICES_STATE_DIR="$SD" "$SV_DIR/stop.sh" >&2 || true; fi' EXIT
T_ALL="$(srv_now_ms)"

GLANCE_PORT="$(srv_pick_port)"
SWIFT_PORT="$(srv_pick_port "$GLANCE_PORT")"
ACC_PORT="$(srv_pick_port "$GLANCE_PORT" "$SWIFT_PORT")"
CON_PORT="$(srv_pick_port "$GLANCE_PORT" "$SWIFT_PORT" "$ACC_PORT")"
OBJ_PORT="$(srv_pick_port "$GLANCE_PORT" "$SWIFT_PORT" "$ACC_PORT" "$CON_PORT")"
GLANCE_URL="http://$KS_HOST:$GLANCE_PORT"
SWIFT_URL="http://$KS_HOST:$SWIFT_PORT/v1"
KS_URL="${OS_AUTH_URL%/}"

authtoken_opts() {  # keystonemiddleware options for service user $1 of service type $2
  # interface = public: the default (internal) needs an internal identity endpoint, which
  # keystone-manage bootstrap does not make (every request would fail with a 500).
  # service_type: without it every token of an application credential with access rules is
  # refused (401), even for the requests its rules allow.
  # token_cache_time: validations are cached in-process (no memcached) for this long.
  cat <<CONF
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
interface = public
region_name = $REGION
service_type = $2
username = $1
password = $SERVICE_PASSWORD
user_domain_id = default
project_name = $SERVICE_PROJECT
project_domain_id = default
service_token_roles_required = true
token_cache_time = $CACHE_TIME
CONF
}

start_proc() {  # start_proc NAME CMD…: setsid makes it a group leader, so stop.sh can signal the group
  local name="$1"; shift
  setsid "$@" </dev/null >"$SD/logs/$name.out" 2>&1 &
  echo $! >"$SD/pids/$name.pid"
}
alive() { [[ -f "$SD/pids/$1.pid" ]] && srv_alive "$(cat "$SD/pids/$1.pid")"; }
wait_ready() {  # wait_ready NAME URL
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  until [[ "$(srv_http_code "$2")" == 200 ]]; do
    if ! alive "$1"; then tail -n 40 "$SD/logs/$1.out" >&2 || true; srv_die "$1 exited during startup"; fi
    if (( $(date +%s) >= deadline )); then tail -n 40 "$SD/logs/$1.out" >&2 || true; srv_die "$1 not ready after ${READY_TIMEOUT}s"; fi
    sleep 0.1
  done
}
PREP_PIDS=()   # background jobs: glance db_sync + start, swift rings + start

# ---- glance: own paste file (the packaged one reads /etc/glance, osprofiler, cors) -------------
G="$SD/glance"; mkdir -p "$G/images" "$G/staging" "$G/tasks" "$G/lock"
cat >"$G/glance-api-paste.ini" <<CONF
[pipeline:glance-api-keystone]
pipeline = healthcheck http_proxy_to_wsgi versionnegotiation authtoken context rootapp
[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app
[app:apiversions]
paste.app_factory = glance.api.versions:create_resource
[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory
[filter:healthcheck]
paste.filter_factory = oslo_middleware:Healthcheck.factory
backends = disable_by_file
disable_by_file_path = $G/healthcheck_disable
[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory
[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true
[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
CONF
cat >"$G/glance-api.conf" <<CONF
[DEFAULT]
bind_host = $KS_HOST
bind_port = $GLANCE_PORT
# 0: serve from the main process (no forked workers): one PID, half the memory
workers = 0
log_file = $G/glance-api.log
use_stderr = false
enabled_backends = fs:file
[database]
connection = sqlite:///$G/glance.db
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $G/images
[os_glance_staging_store]
filesystem_store_datadir = $G/staging
[os_glance_tasks_store]
filesystem_store_datadir = $G/tasks
[paste_deploy]
flavor = keystone
config_file = $G/glance-api-paste.ini
[oslo_concurrency]
lock_path = $G/lock
[oslo_policy]
# keep the packaged /etc/glance/policy.d out of it
policy_file = $G/policy.yaml
policy_dirs = $G/policy.d
[keystone_authtoken]
$(authtoken_opts glance image)
CONF
( "$KS_PY" -m glance.cmd.manage --config-file "$G/glance-api.conf" db_sync >"$SD/logs/glance-manage.out" 2>&1 \
    || { tail -n 30 "$SD/logs/glance-manage.out" >&2; srv_die "glance-manage db_sync failed"; }
  start_proc glance-api "$KS_PY" -m glance.cmd.api --config-file "$G/glance-api.conf" ) &
PREP_PIDS+=($!)

# ---- swift: 1 replica, one device, account/container/object servers and the proxy --------------
S="$SD/swift"; mkdir -p "$S/srv/d1"
ME="$(id -un)"
for r in account:$ACC_PORT container:$CON_PORT object:$OBJ_PORT; do
  cat >"$S/${r%%:*}-server.conf" <<CONF
[DEFAULT]
bind_ip = $KS_HOST
bind_port = ${r##*:}
workers = 0
user = $ME
swift_dir = $S
devices = $S/srv
mount_check = false
disable_fallocate = true
log_name = ${r%%:*}-server
[pipeline:main]
pipeline = healthcheck ${r%%:*}-server
[app:${r%%:*}-server]
use = egg:swift#${r%%:*}
[filter:healthcheck]
use = egg:swift#healthcheck
CONF
done
# swift.common.utils hard-codes /etc/swift/swift.conf (hash prefix/suffix, storage policies):
# run-server.py points it at this file, then runs the server as /usr/bin/swift-*-server would.
cat >"$S/swift.conf" <<CONF
[swift-hash]
swift_hash_path_prefix = os-services
swift_hash_path_suffix = os-services
[storage-policy:0]
name = local
default = yes
CONF
cat >"$S/run-server.py" <<'PY'
import sys
from swift.common import utils
swift_dir, server = sys.argv.pop(1), sys.argv.pop(1)
utils.set_swift_dir(swift_dir)
from swift.common import constraints, storage_policy
storage_policy.reload_storage_policies()
constraints.reload_constraints()
from swift.common.wsgi import run_wsgi
conf_file, options = utils.parse_options()
sys.exit(run_wsgi(conf_file, server, **options))
PY
# No "cache" filter: without memcached it logs a connection error on every request.
# operator_roles: the roles that own an account (the default, swiftoperator, nobody has here).
cat >"$S/proxy-server.conf" <<CONF
[DEFAULT]
bind_ip = $KS_HOST
bind_port = $SWIFT_PORT
workers = 0
user = $ME
swift_dir = $S
log_name = proxy-server
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging listing_formats authtoken keystoneauth copy dlo slo versioned_writes symlink proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true
$(authtoken_opts swift object-store)
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:dlo]
use = egg:swift#dlo
[filter:slo]
use = egg:swift#slo
[filter:versioned_writes]
use = egg:swift#versioned_writes
[filter:symlink]
use = egg:swift#symlink
CONF
# Rings with the RingBuilder API in one python run (nine swift-ring-builder runs take much longer):
# part power 6, 1 replica, min_part_hours 0, one device d1 per server type.
( "$KS_PY" - "$S" "$KS_HOST" "account:$ACC_PORT" "container:$CON_PORT" "object:$OBJ_PORT" >"$SD/logs/rings.out" 2>&1 <<'PY' \
    || { tail -n 20 "$SD/logs/rings.out" >&2; srv_die "swift ring build failed"; }
import sys
from swift.common import utils
sdir, host = sys.argv[1], sys.argv[2]
utils.set_swift_dir(sdir)
from swift.common.ring import RingBuilder
for arg in sys.argv[3:]:
    name, port = arg.split(':')
    b = RingBuilder(6, 1, 0)
    b.add_dev({'region': 1, 'zone': 1, 'ip': host, 'port': int(port), 'device': 'd1', 'weight': 100})
    b.rebalance()
    b.save('%s/%s.builder' % (sdir, name))
    b.get_ring().save('%s/%s.ring.gz' % (sdir, name))
PY
  for s in account container object proxy; do   # -v: logs to stdout (no syslog)
    start_proc "swift-$s" "$KS_PY" "$S/run-server.py" "$S" "$s-server" "$S/$s-server.conf" -v
  done ) &
PREP_PIDS+=($!)

# ---- keystone: service project and role, service users, services and endpoints -----------------
JSON='Content-Type: application/json'
jget() { "$KS_PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
ADMIN_TOKEN="$(srv_curl --fail-with-body -D - -o /dev/null -H "$JSON" "$KS_URL/auth/tokens" -d "$("$KS_PY" -c '
import json, os
print(json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": os.environ["OS_USERNAME"],
  "domain": {"id": "default"}, "password": os.environ["OS_PASSWORD"]}}},
  "scope": {"project": {"name": os.environ["OS_PROJECT_NAME"], "domain": {"id": "default"}}}}}))')" \
  | awk -F': ' 'tolower($1)=="x-subject-token"{gsub("\r","",$2);print $2}')"
[[ -n "$ADMIN_TOKEN" ]] || srv_die "the Keystone admin could not log in at $KS_URL"
api() { srv_curl --fail-with-body -H "X-Auth-Token: $ADMIN_TOKEN" -H "$JSON" "$@"; }
get_or_create() {  # get_or_create COLLECTION MEMBER QUERY BODY -> id
  local id
  id="$(api "$KS_URL/$1?$3" | jget "(d['$1'] or [{'id': ''}])[0]['id']")"
  [[ -n "$id" ]] || id="$(api -X POST "$KS_URL/$1" -d "$4" | jget "d['$2']['id']")"
  echo "$id"
}
ensure_endpoint() {  # ensure_endpoint SERVICE_ID URL: the public endpoint in $REGION, created or moved
  local eid
  eid="$(api "$KS_URL/endpoints?service_id=$1&interface=public&region_id=$REGION" | jget "(d['endpoints'] or [{'id': ''}])[0]['id']")"
  if [[ -z "$eid" ]]; then
    api -X POST -o /dev/null "$KS_URL/endpoints" -d "{\"endpoint\":{\"service_id\":\"$1\",\"interface\":\"public\",\"region_id\":\"$REGION\",\"url\":\"$2\"}}"
  else
    api -X PATCH -o /dev/null "$KS_URL/endpoints/$eid" -d "{\"endpoint\":{\"url\":\"$2\"}}"
  fi
}
ensure_service_user() {  # NAME: created (or its password reset), role service on the service project
  local uid
  uid="$(get_or_create users user "name=$1&domain_id=default" "{\"user\":{\"name\":\"$1\",\"domain_id\":\"default\",\"password\":\"$SERVICE_PASSWORD\"}}")"
  api -X PATCH -o /dev/null "$KS_URL/users/$uid" -d "{\"user\":{\"password\":\"$SERVICE_PASSWORD\",\"enabled\":true}}"
  api -X PUT -o /dev/null "$KS_URL/projects/$SPROJ_ID/users/$uid/roles/$SROLE_ID"
}
SPROJ_ID="$(get_or_create projects project "name=$SERVICE_PROJECT&domain_id=default" "{\"project\":{\"name\":\"$SERVICE_PROJECT\",\"domain_id\":\"default\"}}")"
# Zed's bootstrap makes admin/member/reader only; Keystone's policy lets role service validate tokens.
SROLE_ID="$(get_or_create roles role "name=service" '{"role":{"name":"service"}}')"
ensure_service_user glance
ensure_service_user swift
ensure_endpoint "$(get_or_create services service "type=image" '{"service":{"type":"image","name":"glance"}}')" "$GLANCE_URL"
ensure_endpoint "$(get_or_create services service "type=object-store" '{"service":{"type":"object-store","name":"swift"}}')" "$SWIFT_URL/AUTH_%(project_id)s"
for p in "${PREP_PIDS[@]}"; do wait "$p" || srv_die "glance db_sync or the swift rings failed"; done

wait_ready glance-api "$GLANCE_URL/healthcheck"
wait_ready swift-account "http://$KS_HOST:$ACC_PORT/healthcheck"
wait_ready swift-container "http://$KS_HOST:$CON_PORT/healthcheck"
wait_ready swift-object "http://$KS_HOST:$OBJ_PORT/healthcheck"
wait_ready swift-proxy "http://$KS_HOST:$SWIFT_PORT/healthcheck"
srv_log "glance and swift ready in $(( $(srv_now_ms) - T_ALL )) ms ($SD)"

PIDS=""
for f in "$SD"/pids/*.pid; do PIDS+="$(basename "$f" .pid):$(cat "$f") "; done
srv_export_line SERVICES_STATE_DIR "$SD"
srv_export_line GLANCE_URL "$GLANCE_URL"
srv_export_line SWIFT_URL "$SWIFT_URL"
srv_export_line SERVICES_PIDS "${PIDS% }"
