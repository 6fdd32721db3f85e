# Shared helpers for scripts/keystone/*.sh (sourced, not executed).
# shellcheck shell=bash

KS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KS_REPO_DIR="$(cd "$KS_DIR/../.." && pwd)"
# Always Debian's interpreter and tools by full path: a pyenv/venv `python3` earlier on PATH
# cannot import keystone.
KS_PY=/usr/bin/python3
KS_MANAGE=/usr/bin/keystone-manage
KS_HOST=127.0.0.1
# Marks a state dir as created by start.sh, so that start.sh/stop.sh only ever wipe their own dirs.
KS_MARKER=.keystone-test-instance
# The gunicorn app module; also what stop.sh looks for in /proc/PID/cmdline before signalling.
KS_APP_MODULE=keystone_wsgi_app

ks_log() { echo "[keystone/${KS_SCRIPT:-?}] $*" >&2; }
ks_die() { ks_log "ERROR: $*"; exit 1; }

# Milliseconds since the epoch (for timing messages).
ks_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A port nobody listens on, not one of the ports given. Not bind(0): that draws from the ephemeral
# range, which outgoing connections also use, so the port could be taken before the server binds it.
# Below that range only another listener can take it; callers retry or fail clearly if one does.
ks_pick_port() {
  "$KS_PY" - "$@" <<'EOF'
import random, socket, sys
avoid = {int(p) for p in sys.argv[1:]}
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    port = random.randint(20000, low - 1) if low > 21000 else 0
    if port in avoid:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(s.getsockname()[1])
        sys.exit(0)
    except OSError:
        pass
    finally:
        s.close()
sys.exit("no free port found")
EOF
}

# Default state dir for a port (the same rule in start.sh and stop.sh).
ks_default_state_dir() { echo "${TMPDIR:-/tmp}/keystone-$1"; }

ks_abs() { if [[ "$1" == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }

# curl for 127.0.0.1 only: never through a proxy, always bounded in time.
ks_curl() { curl -sS --noproxy '*' --connect-timeout 2 --max-time 15 "$@"; }

# HTTP status of GET $1, or 000 when nothing answers.
ks_http_code() { curl -s --noproxy '*' -o /dev/null --max-time 2 -w '%{http_code}' "$1" 2>/dev/null || true; }

# Prints `export NAME='value'` (single-quoted, so any value survives `source` and simple parsers).
ks_export_line() { printf "export %s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; }

# pid of the server recorded in a state dir, if that process is still our keystone; else nothing.
# Guards against PID reuse: the command line must be gunicorn serving our app from this state dir.
ks_running_pid() {
  local state_dir="$1" pid
  [[ -f "$state_dir/keystone.pid" ]] || return 0
  pid="$(cat "$state_dir/keystone.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  if [[ "$cmdline" == *"--chdir $state_dir "*"$KS_APP_MODULE:application"* ]]; then
    echo "$pid"
  fi
}

# True while PID runs. A zombie counts as gone: the master was re-parented when start.sh exited, and
# its new parent may take a while to reap it.
ks_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

# Stops the server of a state dir: signals its process group (setsid made the gunicorn master a
# group leader, so its worker goes too), KILL after 10 s. The signal is TERM (graceful, about 2 s)
# unless the caller passes KILL because the state is about to be discarded anyway.
ks_stop_instance() {
  local state_dir="$1" signal="${2:-TERM}" pid target
  pid="$(ks_running_pid "$state_dir")"
  if [[ -z "$pid" ]]; then
    rm -f "$state_dir/keystone.pid"
    return 1
  fi
  if [[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" ]]; then target="-$pid"; else target="$pid"; fi
  kill -"$signal" -- "$target" 2>/dev/null || true
  for _ in $(seq 1 200); do ks_alive "$pid" || break; sleep 0.05; done
  if ks_alive "$pid"; then
    ks_log "pid $pid still running after 10 s, sending KILL"
    kill -KILL -- "$target" 2>/dev/null || true
  fi
  rm -f "$state_dir/keystone.pid"
  ks_log "stopped keystone pid $pid ($state_dir)"
}

# True when a state dir may be wiped: missing, empty, or created by start.sh.
ks_is_ours_or_empty() {
  [[ ! -e "$1" ]] || [[ -f "$1/$KS_MARKER" ]] || { [[ -d "$1" ]] && [[ -z "$(ls -A "$1")" ]]; }
}
