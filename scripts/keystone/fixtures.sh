#!/usr/bin/env bash
# Create the test fixtures in a Keystone started by start.sh, with plain curl (about 0.1 s per call;
# the openstack CLI takes about 1 s per call):
#   - role admin for the admin user on domain Default (so a domain-scoped admin token works)
#   - domain dom2, project proj2 in dom2
#   - user user2 / user2-secret in dom2: role member on proj2 and on domain dom2
#   - user norole / norole-secret in dom2: no role at all (scoping to proj2 must fail)
#   - application credential ci-appcred / appcred-secret owned by user2 on proj2
#
# Usage: fixtures.sh [PORT]   (the instance is KEYSTONE_STATE_DIR, or the default dir for PORT)
# stdout: sourceable `export FIX_…='…'` lines, also written to $STATE_DIR/fixtures.env.
# Idempotent: existing objects are looked up instead of created.
#
# start.sh runs this once when it builds its seed; the seed then carries the fixtures (same ids on
# every start), so tests normally never call it directly.
set -euo pipefail
SRV_SCRIPT=fixtures
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -n "${KEYSTONE_STATE_DIR:-}" ]]; then STATE_DIR="$(srv_abs "$KEYSTONE_STATE_DIR")"
elif [[ -n "${1:-}" ]]; then STATE_DIR="$(ks_default_state_dir "$1")"
else srv_die "usage: KEYSTONE_STATE_DIR=DIR fixtures.sh, or fixtures.sh PORT"; fi
[[ -f "$STATE_DIR/openrc" ]] || srv_die "no $STATE_DIR/openrc: start the instance with start.sh first"
# shellcheck source=/dev/null
source "$STATE_DIR/openrc"

U="$OS_AUTH_URL"
JSON='Content-Type: application/json'
USER2_PASSWORD=user2-secret
NOROLE_PASSWORD=norole-secret
APPCRED_NAME=ci-appcred
APPCRED_SECRET=appcred-secret

# jget EXPR: evaluates a Python expression over the JSON document on stdin (bound to d).
jget() { "$KS_PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# token BODY: issues a token and prints it (Keystone returns it only in X-Subject-Token).
token() {
  srv_curl --fail-with-body -D - -o /dev/null -H "$JSON" "$U/auth/tokens" -d "$1" \
    | awk -F': ' 'tolower($1)=="x-subject-token"{gsub("\r","",$2);print $2}'
}

ADMIN_TOKEN="$(token "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$OS_USERNAME\",\"domain\":{\"id\":\"default\"},\"password\":\"$OS_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"$OS_PROJECT_NAME\",\"domain\":{\"id\":\"default\"}}}}}")"
[[ -n "$ADMIN_TOKEN" ]] || srv_die "admin authentication failed"
api() { srv_curl --fail-with-body -H "X-Auth-Token: $ADMIN_TOKEN" -H "$JSON" "$@"; }

# get_or_create COLLECTION MEMBER QUERY BODY: id of the first match of QUERY, created from BODY if none.
get_or_create() {
  local coll="$1" member="$2" query="$3" body="$4" id
  id="$(api "$U/$coll?$query" | jget "(d['$coll'] or [{'id': ''}])[0]['id']")"
  [[ -n "$id" ]] || id="$(api -X POST "$U/$coll" -d "$body" | jget "d['$member']['id']")"
  echo "$id"
}
grant() { api -X PUT -o /dev/null "$U/$1"; }   # role assignments: PUT is idempotent

ADMIN_USER_ID="$(api "$U/users?name=$OS_USERNAME&domain_id=default" | jget "d['users'][0]['id']")"
ADMIN_PROJECT_ID="$(api "$U/projects?name=$OS_PROJECT_NAME&domain_id=default" | jget "d['projects'][0]['id']")"
ADMIN_ROLE_ID="$(api "$U/roles?name=admin" | jget "d['roles'][0]['id']")"
MEMBER_ROLE_ID="$(api "$U/roles?name=member" | jget "d['roles'][0]['id']")"
grant "domains/default/users/$ADMIN_USER_ID/roles/$ADMIN_ROLE_ID"

DOM2_ID="$(get_or_create domains domain 'name=dom2' '{"domain":{"name":"dom2"}}')"
PROJ2_ID="$(get_or_create projects project "name=proj2&domain_id=$DOM2_ID" \
  "{\"project\":{\"name\":\"proj2\",\"domain_id\":\"$DOM2_ID\"}}")"
USER2_ID="$(get_or_create users user "name=user2&domain_id=$DOM2_ID" \
  "{\"user\":{\"name\":\"user2\",\"domain_id\":\"$DOM2_ID\",\"password\":\"$USER2_PASSWORD\"}}")"
NOROLE_ID="$(get_or_create users user "name=norole&domain_id=$DOM2_ID" \
  "{\"user\":{\"name\":\"norole\",\"domain_id\":\"$DOM2_ID\",\"password\":\"$NOROLE_PASSWORD\"}}")"
grant "projects/$PROJ2_ID/users/$USER2_ID/roles/$MEMBER_ROLE_ID"
grant "domains/$DOM2_ID/users/$USER2_ID/roles/$MEMBER_ROLE_ID"

# An application credential is created by its owner, with a token scoped to the project it is for.
USER2_TOKEN="$(token "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"id\":\"$USER2_ID\",\"password\":\"$USER2_PASSWORD\"}}},\"scope\":{\"project\":{\"id\":\"$PROJ2_ID\"}}}}")"
[[ -n "$USER2_TOKEN" ]] || srv_die "user2 authentication failed"
u2() { srv_curl --fail-with-body -H "X-Auth-Token: $USER2_TOKEN" -H "$JSON" "$@"; }
APPCRED_ID="$(u2 "$U/users/$USER2_ID/application_credentials?name=$APPCRED_NAME" \
  | jget "(d['application_credentials'] or [{'id': ''}])[0]['id']")"
if [[ -z "$APPCRED_ID" ]]; then
  APPCRED_ID="$(u2 -X POST "$U/users/$USER2_ID/application_credentials" \
    -d "{\"application_credential\":{\"name\":\"$APPCRED_NAME\",\"secret\":\"$APPCRED_SECRET\"}}" \
    | jget "d['application_credential']['id']")"
fi

{
  srv_export_line FIX_ADMIN_USER_ID "$ADMIN_USER_ID"
  srv_export_line FIX_ADMIN_USER_NAME "$OS_USERNAME"
  srv_export_line FIX_ADMIN_PASSWORD "$OS_PASSWORD"
  srv_export_line FIX_ADMIN_PROJECT_ID "$ADMIN_PROJECT_ID"
  srv_export_line FIX_ADMIN_PROJECT_NAME "$OS_PROJECT_NAME"
  srv_export_line FIX_ADMIN_ROLE_ID "$ADMIN_ROLE_ID"
  srv_export_line FIX_MEMBER_ROLE_ID "$MEMBER_ROLE_ID"
  srv_export_line FIX_DOM2_ID "$DOM2_ID"
  srv_export_line FIX_DOM2_NAME dom2
  srv_export_line FIX_PROJ2_ID "$PROJ2_ID"
  srv_export_line FIX_PROJ2_NAME proj2
  srv_export_line FIX_USER2_ID "$USER2_ID"
  srv_export_line FIX_USER2_NAME user2
  srv_export_line FIX_USER2_PASSWORD "$USER2_PASSWORD"
  srv_export_line FIX_NOROLE_ID "$NOROLE_ID"
  srv_export_line FIX_NOROLE_NAME norole
  srv_export_line FIX_NOROLE_PASSWORD "$NOROLE_PASSWORD"
  srv_export_line FIX_APPCRED_ID "$APPCRED_ID"
  srv_export_line FIX_APPCRED_NAME "$APPCRED_NAME"
  srv_export_line FIX_APPCRED_SECRET "$APPCRED_SECRET"
} >"$STATE_DIR/fixtures.env"
cat "$STATE_DIR/fixtures.env"
