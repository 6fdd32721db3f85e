# Shared helpers for scripts/front/*.sh (sourced, not executed).
# shellcheck shell=bash

FR_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FR_HOST=127.0.0.1
FR_NGINX=/usr/sbin/nginx
FR_TINYPROXY=/usr/bin/tinyproxy
# Marks a state dir as created by start.sh: stop.sh --purge only ever removes such dirs.
FR_MARKER=.front-test-instance

fr_log() { echo "[front/${FR_SCRIPT:-?}] $*" >&2; }
fr_die() { fr_log "ERROR: $*"; exit 1; }

fr_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

fr_abs() { if [[ "$1" == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }

# Prints `export NAME='value'` (single-quoted, so any value survives `source` and simple parsers).
fr_export_line() { printf "export %s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; }

# A port in FRONT_PORT_RANGE (default 24000-32000) that nobody listens on. The range is kept below
# the kernel's ephemeral range (ip_local_port_range, 32768-60999 by default): a port in there can be
# taken at any moment as the source port of some outgoing connection. Only another listener can
# take a port below it, and start.sh retries with another port when its server fails to bind.
fr_pick_port() {
  local range="${FRONT_PORT_RANGE:-24000-32000}" low high eph_low port
  [[ "$range" =~ ^([0-9]+)-([0-9]+)$ ]] || fr_die "FRONT_PORT_RANGE must look like 24000-32000, got '$range'"
  low="${BASH_REMATCH[1]}"; high="${BASH_REMATCH[2]}"
  if [[ -z "${FRONT_PORT_RANGE:-}" ]]; then
    eph_low="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
    if (( high >= eph_low && eph_low - 1 > low )); then high=$(( eph_low - 1 )); fi
  fi
  (( low >= 1024 && high < 65536 && low <= high )) || fr_die "bad port range $low-$high"
  for _ in $(seq 1 200); do
    port=$(( low + (RANDOM * 32768 + RANDOM) % (high - low + 1) ))
    if ! fr_port_busy "$port"; then echo "$port"; return 0; fi
  done
  fr_die "no free port in $low-$high"
}

# True when something accepts connections on 127.0.0.1:PORT.
fr_port_busy() { timeout 2 bash -c "exec 3<>/dev/tcp/$FR_HOST/$1" 2>/dev/null; }

# Loopback upstreams only: http://127.0.0.1|localhost|[::1]:PORT[/path]. Prints the origin.
fr_upstream_origin() {
  local url="$1"
  if [[ "$url" =~ ^http://(127\.0\.0\.1|localhost|\[::1\]):([0-9]{1,5})(/.*)?$ ]]; then
    echo "http://${BASH_REMATCH[1]}:${BASH_REMATCH[2]}"
  else
    fr_die "--upstream must be a loopback http URL (http://127.0.0.1:PORT[/path]), got '$url'"
  fi
}

# pid of the server recorded in a state dir, if that process is still ours; else nothing. Guards
# against PID reuse: the command line must be nginx or tinyproxy run with this state dir's config
# (nginx keeps its arguments in its process title: "nginx: master process /usr/sbin/nginx -p DIR/ …").
fr_running_pid() {
  local state_dir="$1" pid cmdline
  [[ -f "$state_dir/server.pid" ]] || return 0
  pid="$(cat "$state_dir/server.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  if [[ "$cmdline" == *"$FR_NGINX -p $state_dir/ -c $state_dir/nginx.conf"* \
        || "$cmdline" == *"$FR_TINYPROXY -d -c $state_dir/tinyproxy.conf"* ]]; then
    echo "$pid"
  fi
}

# True while PID runs; a zombie counts as gone.
fr_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

# Stops the server of a state dir: TERM to its process group (setsid made the server a group
# leader, so nginx's worker goes too), KILL after 10 s. nginx's TERM is its fast shutdown.
fr_stop_instance() {
  local state_dir="$1" signal="${2:-TERM}" pid target
  pid="$(fr_running_pid "$state_dir")"
  if [[ -z "$pid" ]]; then
    rm -f "$state_dir/server.pid"
    return 1
  fi
  if [[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" ]]; then target="-$pid"; else target="$pid"; fi
  kill -"$signal" -- "$target" 2>/dev/null || true
  for _ in $(seq 1 200); do fr_alive "$pid" || break; sleep 0.05; done
  if fr_alive "$pid"; then
    fr_log "pid $pid still running after 10 s, sending KILL"
    kill -KILL -- "$target" 2>/dev/null || true
  fi
  rm -f "$state_dir/server.pid"
  fr_log "stopped pid $pid ($state_dir)"
}

# True when a state dir may be wiped: missing, empty, or created by start.sh.
fr_is_ours_or_empty() {
  [[ ! -e "$1" ]] || [[ -f "$1/$FR_MARKER" ]] || { [[ -d "$1" ]] && [[ -z "$(ls -A "$1")" ]]; }
}
