#!/usr/bin/env bash
# Stop a federated Keystone started by start.sh (its Apache: Keystone, mod_auth_openidc, the issuer).
#
# Usage: scripts/oidc/stop.sh [PORT] [--purge]
#   The instance is the one in OIDC_STATE_DIR, else in the default state dir for PORT.
#   --purge also removes the state dir (only if start.sh created it), and stops with KILL at once.
#
# Only the recorded PID is signalled (with its process group), and only if its command line is still
# apache2 with this state dir's httpd.conf: a reused PID is left alone.
set -euo pipefail
SRV_SCRIPT=stop
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=""; PURGE=0
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    *) [[ "$arg" =~ ^[0-9]+$ ]] || srv_die "usage: stop.sh [PORT] [--purge]"; PORT="$arg" ;;
  esac
done
if [[ -n "${OIDC_STATE_DIR:-}" ]]; then STATE_DIR="$(srv_abs "$OIDC_STATE_DIR")"
elif [[ -n "$PORT" ]]; then STATE_DIR="$(oi_default_state_dir "$PORT")"
else srv_die "usage: OIDC_STATE_DIR=DIR stop.sh [--purge], or stop.sh PORT [--purge]"; fi

if [[ ! -d "$STATE_DIR" ]]; then
  srv_log "no state dir $STATE_DIR: nothing to stop"
  exit 0
fi
srv_stop_instance "$STATE_DIR" "$( ((PURGE)) && echo KILL || echo TERM)" || srv_log "no running instance of ours in $STATE_DIR"

if (( PURGE )); then
  if srv_is_ours_or_empty "$STATE_DIR"; then
    rm -rf "$STATE_DIR"
    srv_log "removed $STATE_DIR"
  else
    srv_log "not removing $STATE_DIR: start.sh did not create it"
  fi
fi
