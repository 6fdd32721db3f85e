#!/usr/bin/env bash
# Stop a Keystone started by start.sh.
#
# Usage: scripts/keystone/stop.sh [PORT] [--purge]
#   The instance is the one in KEYSTONE_STATE_DIR, else in the default state dir for PORT.
#   --purge also removes the state dir (only if start.sh created it), and stops with KILL at once
#   instead of a graceful TERM.
#
# Only the recorded PID is signalled (with its process group), and only if its command line still
# names our app module and this state dir: a reused PID is left alone.
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
if [[ -n "${KEYSTONE_STATE_DIR:-}" ]]; then STATE_DIR="$(srv_abs "$KEYSTONE_STATE_DIR")"
elif [[ -n "$PORT" ]]; then STATE_DIR="$(ks_default_state_dir "$PORT")"
else srv_die "usage: KEYSTONE_STATE_DIR=DIR stop.sh [--purge], or stop.sh PORT [--purge]"; fi

if [[ ! -d "$STATE_DIR" ]]; then
  srv_log "no state dir $STATE_DIR: nothing to stop"
  exit 0
fi
# With --purge nothing of the instance survives, so a graceful shutdown (about 2 s) buys nothing.
srv_stop_instance "$STATE_DIR" "$( ((PURGE)) && echo KILL || echo TERM)" || srv_log "no running keystone of ours in $STATE_DIR"

if (( PURGE )); then
  if srv_is_ours_or_empty "$STATE_DIR"; then
    rm -rf "$STATE_DIR"
    srv_log "removed $STATE_DIR"
  else
    srv_log "not removing $STATE_DIR: start.sh did not create it"
  fi
fi
