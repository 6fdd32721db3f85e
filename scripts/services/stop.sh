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
KS_SCRIPT=services-stop
# shellcheck source=../keystone/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../keystone/lib.sh"
SD="$(ks_abs "${SERVICES_STATE_DIR:-${TMPDIR:-/tmp}/os-services}")"
PURGE=0
for arg in "$@"; do
  case "$arg" in --purge) PURGE=1 ;; *) ks_die "usage: SERVICES_STATE_DIR=DIR stop.sh [--purge]" ;; esac
done
[[ -d "$SD" ]] || { ks_log "no state dir $SD: nothing to stop"; exit 0; }

shopt -s nullglob
stopping=()
for f in "$SD"/pids/*.pid; do
  pid="$(cat "$f" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && ks_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$SD/"; then
    if [[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" ]]; then kill -TERM -- "-$pid" 2>/dev/null || true
    else kill -TERM "$pid" 2>/dev/null || true; fi
    stopping+=("$pid")
  fi
  rm -f "$f"
done
for pid in "${stopping[@]}"; do
  for _ in $(seq 1 200); do ks_alive "$pid" || break; sleep 0.05; done
  if ks_alive "$pid"; then
    ks_log "pid $pid still running after 10 s, sending KILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
done
ks_log "stopped ${#stopping[@]} server(s) of $SD"
if (( PURGE )); then
  if [[ -f "$SD/.os-services-test-instance" ]]; then rm -rf "$SD"; ks_log "removed $SD"
  else ks_log "not removing $SD: start.sh did not create it"; fi
fi
