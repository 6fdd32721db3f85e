#!/usr/bin/env bash
# Stop a server started by scripts/front/start.sh.
#
# Usage: scripts/front/stop.sh [STATE_DIR] [--purge]
#   The instance is the one in STATE_DIR, else in FRONT_STATE_DIR. --purge also removes the state dir
#   (only if start.sh created it) and stops with KILL at once instead of a graceful TERM.
#
# Only the recorded PID is signalled (with its process group), and only if its command line still
# names nginx or tinyproxy with this state dir's config: a reused PID is left alone.
set -euo pipefail
SRV_SCRIPT=stop
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR=""; PURGE=0
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    -*) srv_die "usage: stop.sh [STATE_DIR] [--purge]" ;;
    *) DIR="$arg" ;;
  esac
done
DIR="${DIR:-${FRONT_STATE_DIR:-}}"
[[ -n "$DIR" ]] || srv_die "usage: stop.sh STATE_DIR [--purge], or FRONT_STATE_DIR=DIR stop.sh [--purge]"
STATE_DIR="$(srv_abs "$DIR")"
STATE_DIR="${STATE_DIR%/}"

if [[ ! -d "$STATE_DIR" ]]; then
  srv_log "no state dir $STATE_DIR: nothing to stop"
  exit 0
fi
srv_stop_instance "$STATE_DIR" "$( ((PURGE)) && echo KILL || echo TERM)" || srv_log "no running server of ours in $STATE_DIR"

if (( PURGE )); then
  if srv_is_ours_or_empty "$STATE_DIR"; then
    rm -rf "$STATE_DIR"
    srv_log "removed $STATE_DIR"
  else
    srv_log "not removing $STATE_DIR: start.sh did not create it"
  fi
fi
