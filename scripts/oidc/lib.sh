# Shared helpers for scripts/oidc/*.sh (sourced, not executed).
# shellcheck shell=bash

OI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OI_REPO_DIR="$(cd "$OI_DIR/../.." && pwd)"
# Debian's interpreter and tools by full path: a pyenv/venv `python3` earlier on PATH cannot import
# keystone, and a foreign Python must not leak into Apache's mod_wsgi either.
OI_PY=/usr/bin/python3
OI_MANAGE=/usr/bin/keystone-manage
OI_APACHE=/usr/sbin/apache2
OI_MODULES=/usr/lib/apache2/modules
OI_HOST=127.0.0.1
# Marks a state dir as created by start.sh, so that start.sh/stop.sh only ever wipe their own dirs.
OI_MARKER=.oidc-test-instance

oi_log() { echo "[oidc/${OI_SCRIPT:-?}] $*" >&2; }
oi_die() { oi_log "ERROR: $*"; exit 1; }
oi_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Default state dir for a Keystone port (the same rule in start.sh and stop.sh).
oi_default_state_dir() { echo "${TMPDIR:-/tmp}/oidc-keystone-$1"; }
oi_abs() { if [[ "$1" == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }

# curl for 127.0.0.1 only: never through a proxy, always bounded in time.
oi_curl() { curl -sS --noproxy '*' --connect-timeout 2 --max-time 15 "$@"; }
# HTTP status of GET $1 (extra curl args after it), or 000 when nothing answers.
oi_http_code() { local url="$1"; shift; curl -s --noproxy '*' -o /dev/null --max-time 2 -w '%{http_code}' "$@" "$url" 2>/dev/null || true; }

# Prints `export NAME='value'` (single-quoted, so any value survives `source` and simple parsers).
oi_export_line() { printf "export %s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; }

# The Apache parent recorded in a state dir, if that process is still ours; else nothing. Guards
# against PID reuse: the command line must be apache2 started with this state dir's httpd.conf.
oi_running_pid() {
  local state_dir="$1" pid cmdline
  [[ -f "$state_dir/apache.pid" ]] || return 0
  pid="$(cat "$state_dir/apache.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  if [[ "$cmdline" == "$OI_APACHE -f $state_dir/apache/httpd.conf "* ]]; then echo "$pid"; fi
}

# True while PID runs; a zombie counts as gone.
oi_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

# Stops the Apache of a state dir. setsid made its parent a process-group leader; Apache's children
# and the mod_wsgi daemon (Keystone) share that group. TERM lets the parent stop them (about 0.5 s);
# after 10 s, or at once with KILL, the whole group gets KILL.
oi_stop_instance() {
  local state_dir="$1" signal="${2:-TERM}" pid target
  pid="$(oi_running_pid "$state_dir")"
  if [[ -z "$pid" ]]; then
    rm -f "$state_dir/apache.pid"
    return 1
  fi
  if [[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" ]]; then target="-$pid"; else target="$pid"; fi
  kill -"$signal" -- "$target" 2>/dev/null || true
  for _ in $(seq 1 200); do oi_alive "$pid" || break; sleep 0.05; done
  if oi_alive "$pid"; then
    oi_log "pid $pid still running after 10 s, sending KILL"
    kill -KILL -- "$target" 2>/dev/null || true
  fi
  # Children that outlived a KILLed parent (same group): never leave a Keystone behind.
  if [[ "$target" == -* ]]; then kill -KILL -- "$target" 2>/dev/null || true; fi
  rm -f "$state_dir/apache.pid"
  oi_log "stopped apache pid $pid ($state_dir)"
}

# True when a state dir may be wiped: missing, empty, or created by start.sh.
oi_is_ours_or_empty() {
  [[ ! -e "$1" ]] || [[ -f "$1/$OI_MARKER" ]] || { [[ -d "$1" ]] && [[ -z "$(ls -A "$1")" ]]; }
}
