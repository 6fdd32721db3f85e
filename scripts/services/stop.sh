#!/usr/bin/env bash
# Stop the Glance and Swift servers started by start.sh.
#
# Usage: SERVICES_STATE_DIR=DIR scripts/services/stop.sh [--purge]
#   (default dir: ${TMPDIR:-/tmp}/os-services) --purge also removes the state dir, if start.sh made it.
#
# Only the recorded PIDs are signalled (each with its process group), and only while the process
# still names this state dir on its command line: a reused PID is left alone. Keystone objects
# (service users, catalog endpoints) stay: start.sh moves the endpoints to its new ports.
set -euo pipefail
SRV_SCRIPT=services-stop
# shellcheck source=../keystone/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../keystone/lib.sh"
SRV_NAME=services
SRV_MARKER=.os-services-test-instance
SD="$(srv_abs "${SERVICES_STATE_DIR:-${TMPDIR:-/tmp}/os-services}")"
PURGE=0
for arg in "$@"; do
  case "$arg" in --purge) PURGE=1 ;; *) srv_die "usage: SERVICES_STATE_DIR=DIR stop.sh [--purge]" ;; esac
done
[[ -d "$SD" ]] || { srv_log "no state dir $SD: nothing to stop"; exit 0; }

shopt -s nullglob
# Each server's PID file is pids/NAME.pid; ours when its command line names this state dir.
srv_owns() { [[ "$2" == *"$1/"* ]]; }
stopped=0
for f in "$SD"/pids/*.pid; do
  SRV_PIDFILE="pids/$(basename "$f")"
  # With --purge nothing of the services survives, so a graceful shutdown buys nothing.
  if srv_stop_instance "$SD" "$( ((PURGE)) && echo KILL || echo TERM)"; then stopped=$((stopped + 1)); fi
done
srv_log "stopped $stopped server(s) of $SD"
if (( PURGE )); then
  if srv_is_ours_or_empty "$SD"; then rm -rf "$SD"; srv_log "removed $SD"
  else srv_log "not removing $SD: start.sh did not create it"; fi
fi
