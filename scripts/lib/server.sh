# The harness every test server of scripts/ is built on (sourced, not executed): Keystone
# (scripts/keystone), the federated Keystone (scripts/oidc), nginx and tinyproxy in front of it
# (scripts/front), Glance and Swift (scripts/services). A server's lib.sh sets:
#   SRV_NAME     its name in log lines: [NAME/SCRIPT]
#   SRV_PIDFILE  the file, in its state dir, that holds the PID its stop.sh signals
#   SRV_MARKER   the file that marks a state dir as created by its start.sh (only those are wiped)
# and defines srv_owns STATE_DIR CMDLINE, true when CMDLINE is its server run from STATE_DIR (the
# guard against a reused PID). Each script sets SRV_SCRIPT (start, stop, …) for its log lines.
# shellcheck shell=bash

SRV_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRV_REPO_DIR="$(cd "$SRV_LIB_DIR/../.." && pwd)"
SRV_HOST=127.0.0.1
# Debian's interpreter by full path: a pyenv/venv `python3` earlier on PATH may lack its modules.
SRV_PY=/usr/bin/python3

srv_log() { echo "[${SRV_NAME:-server}/${SRV_SCRIPT:-?}] $*" >&2; }
srv_die() { srv_log "ERROR: $*"; exit 1; }

# Milliseconds since the epoch (for timing messages).
srv_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

srv_abs() { if [[ "$1" == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }

# Prints `export NAME='value'` (single-quoted, so any value survives `source` and simple parsers).
srv_export_line() { printf "export %s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; }

# curl for 127.0.0.1 only: never through a proxy, always bounded in time.
srv_curl() { curl -sS --noproxy '*' --connect-timeout 2 --max-time 15 "$@"; }

# HTTP status of GET $1 (extra curl arguments after it), or 000 when nothing answers.
srv_http_code() { local url="$1"; shift; curl -s --noproxy '*' -o /dev/null --max-time 2 -w '%{http_code}' "$@" "$url" 2>/dev/null || true; }

# True when something accepts connections on 127.0.0.1:PORT.
srv_port_busy() { timeout 2 bash -c "exec 3<>/dev/tcp/$SRV_HOST/$1" 2>/dev/null; }

# A port nobody listens on, not one of the ports given. Not bind(0): that draws from the ephemeral
# range, which outgoing connections also use, so the port could be taken before the server binds it.
# Below that range only another listener can take it; callers retry or fail clearly if one does.
srv_pick_port() {
  "$SRV_PY" - "$@" <<'EOF'
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

# PID of the server recorded in a state dir, if that process is still ours (srv_owns); else nothing.
srv_running_pid() {
  local state_dir="$1" pid cmdline
  [[ -f "$state_dir/$SRV_PIDFILE" ]] || return 0
  pid="$(cat "$state_dir/$SRV_PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  if srv_owns "$state_dir" "$cmdline"; then echo "$pid"; fi
}

# True while PID runs. A zombie counts as gone: a server re-parented when its start.sh exited may
# wait a while for its new parent to reap it.
srv_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

# Stops the server of a state dir: the signal (TERM unless the caller says KILL, when the state is
# about to be discarded anyway) to its process group (setsid made it a group leader, so its workers
# go too), KILL after 10 s, and KILL to what is left of the group: no child outlives its parent.
srv_stop_instance() {
  local state_dir="$1" signal="${2:-TERM}" pid target
  pid="$(srv_running_pid "$state_dir")"
  if [[ -z "$pid" ]]; then
    rm -f "$state_dir/$SRV_PIDFILE"
    return 1
  fi
  if [[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" ]]; then target="-$pid"; else target="$pid"; fi
  kill -"$signal" -- "$target" 2>/dev/null || true
  for _ in $(seq 1 200); do srv_alive "$pid" || break; sleep 0.05; done
  if srv_alive "$pid"; then
    srv_log "pid $pid still running after 10 s, sending KILL"
    kill -KILL -- "$target" 2>/dev/null || true
  fi
  if [[ "$target" == -* ]]; then kill -KILL -- "$target" 2>/dev/null || true; fi
  rm -f "$state_dir/$SRV_PIDFILE"
  srv_log "stopped pid $pid ($state_dir)"
}

# True when a state dir may be wiped: missing, empty, or created by this server's start.sh.
srv_is_ours_or_empty() {
  [[ ! -e "$1" ]] || [[ -f "$1/$SRV_MARKER" ]] || { [[ -d "$1" ]] && [[ -z "$(ls -A "$1")" ]]; }
}

# The admin's OS_* variables of a test Keystone (its auth URL, user, password, project, region), as
# sourceable export lines: what its start.sh prints first.
srv_export_admin_env() {
  srv_export_line OS_AUTH_URL "$1"
  srv_export_line OS_IDENTITY_API_VERSION 3
  srv_export_line OS_AUTH_TYPE password
  srv_export_line OS_USERNAME "$2"
  srv_export_line OS_PASSWORD "$3"
  srv_export_line OS_PROJECT_NAME "$4"
  srv_export_line OS_USER_DOMAIN_NAME Default
  srv_export_line OS_PROJECT_DOMAIN_NAME Default
  srv_export_line OS_REGION_NAME "$5"
  srv_export_line OS_INTERFACE public
}

# Installs Debian packages, bounded in time (a hung mirror must not hang a test run); WHO names what
# needs them. Without root or apt-get, says what to run instead and fails.
srv_apt_install() {
  local who="$1"
  shift
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install.sh: $who needs the Debian packages $*; install them as root with: apt-get update && apt-get install -y --no-install-recommends $*" >&2
    exit 1
  fi
  srv_log "installing $*"
  srv_apt update -qq >&2
  srv_apt install -y -qq --no-install-recommends "$@" >&2
}

# apt-get, one at a time: two installs started together (the parts of a cloud start at once) would
# otherwise race for apt's locks and one fail at once with "Could not get lock". Ours queue on a
# lock of their own; apt's DPkg::Lock::Timeout also waits for any other apt-get or dpkg (an
# unattended upgrade). Bounded: a hung mirror must not hang a test run.
SRV_APT_LOCK=/var/lib/apt/openstack-token-install.lock
srv_apt() {
  DEBIAN_FRONTEND=noninteractive flock -w 1800 "$SRV_APT_LOCK" \
    timeout 1500 apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 "$@"
}
