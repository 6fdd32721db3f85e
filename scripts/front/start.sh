#!/usr/bin/env bash
# Start a server from Debian in front of (or beside) the test Keystone, on 127.0.0.1 only.
#
# Usage: scripts/front/start.sh KIND [options]
#   tls        nginx terminating TLS with a throw-away CA, proxying to --upstream
#                --upstream URL        http://127.0.0.1:PORT[/path] (required; the path is ignored:
#                                      requests keep their own)
#                --alt-name NAME       extra subjectAltName of the server cert (an IP or a DNS name),
#                                      repeatable; always present: IP:127.0.0.1, DNS:localhost
#   ratelimit  nginx answering 429 beyond a rate (limit_req), proxying the rest to --upstream
#                --upstream URL        as above (required)
#                --rate RATE           nginx rate, Nr/s or Nr/m (default 60r/m)
#                --burst N             requests admitted at once above the rate (default 0); with
#                                      nodelay: admitted immediately, never queued
#                --retry-after VALUE   auto (default): Retry-After = the rate's interval rounded up
#                                      to whole seconds, at least 1; N: a fixed N seconds; none: no
#                                      Retry-After header
#                --scope login|all     login (default): only POST …/auth/tokens counts and is
#                                      limited (token creations, as OVHcloud counts); all: every request
#   proxy      tinyproxy, an HTTP proxy (absolute-URI requests and CONNECT) to any host and port
#                --connect-port N      allow CONNECT to port N only (repeatable; default: any port)
#   all kinds:   --port N              a fixed port (default: a free one below the ephemeral range)
#
# stdout: sourceable `export …='…'` lines: FRONT_KIND, FRONT_URL, FRONT_PORT, FRONT_PID,
#         FRONT_STATE_DIR, FRONT_LOG (nginx access log / tinyproxy log), and per kind FRONT_CA_FILE,
#         FRONT_UPSTREAM, FRONT_RATE, FRONT_BURST, FRONT_RETRY_AFTER, FRONT_SCOPE.
# stderr: progress. Exit status 1 on failure, with the tail of the server's log.
# Stop with: FRONT_STATE_DIR=… scripts/front/stop.sh [--purge]   (or stop.sh DIR [--purge])
#
# Environment (all optional):
#   FRONT_STATE_DIR       config, logs, pid file, TLS material (default: a fresh ${TMPDIR:-/tmp}/front-KIND-XXXXXX)
#   FRONT_READY_TIMEOUT   seconds to wait for the server to answer (20)
#
# Readiness is a request to the server itself that never reaches the upstream (nginx: GET
# /.front-ready, not logged; tinyproxy: its stats page at a per-instance StatHost), and it must
# answer with this instance's id: another server that holds the port does not pass.
set -euo pipefail
SRV_SCRIPT=start
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { srv_die "usage: start.sh tls|ratelimit|proxy [--upstream URL] [--rate R] [--burst N] [--retry-after auto|N|none] [--scope login|all] [--alt-name NAME] [--connect-port N] [--port N]"; }

KIND="${1:-}"
[[ "$KIND" == tls || "$KIND" == ratelimit || "$KIND" == proxy ]] || usage
shift
UPSTREAM=""; PORT_ARG=0; RATE=60r/m; BURST=0; RETRY_AFTER=auto; SCOPE=login
ALT_NAMES=(); CONNECT_PORTS=()
while (( $# )); do
  case "$1" in
    --upstream) UPSTREAM="${2:-}"; shift 2 ;;
    --port) PORT_ARG="${2:-}"; shift 2 ;;
    --rate) RATE="${2:-}"; shift 2 ;;
    --burst) BURST="${2:-}"; shift 2 ;;
    --retry-after) RETRY_AFTER="${2:-}"; shift 2 ;;
    --scope) SCOPE="${2:-}"; shift 2 ;;
    --alt-name) ALT_NAMES+=("${2:-}"); shift 2 ;;
    --connect-port) CONNECT_PORTS+=("${2:-}"); shift 2 ;;
    *) usage ;;
  esac
done
READY_TIMEOUT="${FRONT_READY_TIMEOUT:-20}"
[[ "$READY_TIMEOUT" =~ ^[0-9]+$ ]] || srv_die "FRONT_READY_TIMEOUT must be a number of seconds"
[[ "$PORT_ARG" =~ ^[0-9]+$ ]] && (( PORT_ARG < 65536 )) || srv_die "--port must be a number below 65536, got '$PORT_ARG'"

if [[ "$KIND" != proxy ]]; then
  [[ -n "$UPSTREAM" ]] || srv_die "$KIND needs --upstream http://127.0.0.1:PORT"
  UPSTREAM_ORIGIN="$(fr_upstream_origin "$UPSTREAM")"
fi
if [[ "$KIND" == ratelimit ]]; then
  [[ "$RATE" =~ ^([1-9][0-9]{0,6})r/([sm])$ ]] || srv_die "--rate must look like 60r/m or 10r/s, got '$RATE'"
  # The interval between two admitted requests, in ms: nginx's leaky bucket drains one per interval.
  if [[ "${BASH_REMATCH[2]}" == s ]]; then INTERVAL_MS=$(( 1000 / BASH_REMATCH[1] )); else INTERVAL_MS=$(( 60000 / BASH_REMATCH[1] )); fi
  [[ "$BURST" =~ ^[0-9]{1,6}$ ]] || srv_die "--burst must be a number, got '$BURST'"
  case "$RETRY_AFTER" in
    auto) RETRY_AFTER_SECONDS=$(( (INTERVAL_MS + 999) / 1000 )); (( RETRY_AFTER_SECONDS >= 1 )) || RETRY_AFTER_SECONDS=1 ;;
    none) RETRY_AFTER_SECONDS="" ;;
    *) [[ "$RETRY_AFTER" =~ ^[0-9]{1,5}$ ]] || srv_die "--retry-after must be auto, none or a number of seconds, got '$RETRY_AFTER'"
       RETRY_AFTER_SECONDS="$RETRY_AFTER" ;;
  esac
  [[ "$SCOPE" == login || "$SCOPE" == all ]] || srv_die "--scope must be login or all, got '$SCOPE'"
fi
for name in "${ALT_NAMES[@]}"; do
  [[ "$name" =~ ^[A-Za-z0-9.:-]+$ ]] || srv_die "--alt-name must be an IP or a DNS name, got '$name'"
done
for p in "${CONNECT_PORTS[@]}"; do [[ "$p" =~ ^[0-9]{1,5}$ ]] || srv_die "--connect-port must be a port number, got '$p'"; done

"$FR_DIR/install.sh"
T0="$(srv_now_ms)"

if [[ -n "${FRONT_STATE_DIR:-}" ]]; then
  STATE_DIR="$(srv_abs "$FRONT_STATE_DIR")"
  STATE_DIR="${STATE_DIR%/}"
  # An instance of ours still running there is replaced.
  if [[ -d "$STATE_DIR" ]]; then srv_stop_instance "$STATE_DIR" KILL >/dev/null 2>&1 || true; fi
  srv_is_ours_or_empty "$STATE_DIR" || srv_die "refusing to wipe $STATE_DIR: not empty and not created by start.sh"
  rm -rf "$STATE_DIR"
  mkdir -p "$STATE_DIR"
else
  STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/front-$KIND-XXXXXX")"
fi
# Private: it holds the CA's private key.
chmod 700 "$STATE_DIR"
touch "$STATE_DIR/$FR_MARKER"
srv_log "state dir $STATE_DIR"
ID="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
echo "$ID" >"$STATE_DIR/instance-id"

# --- TLS material: a CA of this instance and a server cert signed by it ----------------------------
make_tls() {
  local san="IP:127.0.0.1,DNS:localhost" name
  for name in "${ALT_NAMES[@]}"; do
    if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then san+=",IP:$name"; else san+=",DNS:$name"; fi
  done
  (
    cd "$STATE_DIR"
    umask 077
    # P-256 keys: generated in milliseconds (an RSA key takes a noticeable fraction of a second).
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days 7 -subj "/CN=openstack-token test CA $ID" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" -out ca.crt 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key 2>/dev/null
    openssl req -new -key server.key -subj "/CN=127.0.0.1" -out server.csr 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth" "subjectAltName=$san" "subjectKeyIdentifier=hash" \
      "authorityKeyIdentifier=keyid" >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial "0x01$(od -An -N15 -tx1 /dev/urandom | tr -d ' \n')" \
      -days 7 -sha256 -extfile server.ext -out server.crt 2>/dev/null
    rm -f server.csr
    chmod 644 ca.crt server.crt
  ) || srv_die "openssl could not make the test CA and server certificate in $STATE_DIR"
  openssl verify -CAfile "$STATE_DIR/ca.crt" "$STATE_DIR/server.crt" >/dev/null || srv_die "the server certificate does not verify against the test CA"
}

# --- nginx -------------------------------------------------------------------------------------------
write_nginx_conf() {
  local scheme=http listen="listen $FR_HOST:$PORT;" tls="" limit_http="" limit_login="" limit_all="" too_many=""
  if [[ "$KIND" == tls ]]; then
    scheme=https
    listen="listen $FR_HOST:$PORT ssl;"
    tls="ssl_certificate $STATE_DIR/server.crt;
    ssl_certificate_key $STATE_DIR/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;"
  fi
  if [[ "$KIND" == ratelimit ]]; then
    local burst=""
    (( BURST > 0 )) && burst=" burst=$BURST nodelay"
    # One bucket for the whole instance (every client is 127.0.0.1 anyway): the key is a constant,
    # or, for --scope login, empty (= not counted, not limited) for anything but a POST.
    if [[ "$SCOPE" == login ]]; then
      limit_http="map \$request_method \$front_limit_key { POST login; default \"\"; }"
      limit_login="limit_req zone=front$burst;"
    else
      limit_http="map \$request_method \$front_limit_key { default all; }"
      limit_all="limit_req zone=front$burst;"
      limit_login="limit_req zone=front$burst;"
    fi
    limit_http+="
  limit_req_zone \$front_limit_key zone=front:1m rate=$RATE;
  limit_req_status 429;
  limit_req_log_level notice;"
    local retry_after_header=""
    [[ -n "$RETRY_AFTER_SECONDS" ]] && retry_after_header="add_header Retry-After $RETRY_AFTER_SECONDS always;"
    too_many="error_page 429 = @too_many;
    location @too_many {
      default_type application/json;
      $retry_after_header
      return 429 '{\"error\":{\"status\":\"429 Too Many Requests\",\"message\":\"Too Many Requests\"}}\n';
    }"
  fi
  cat >"$STATE_DIR/nginx.conf" <<NGINX
# Written by scripts/front/start.sh ($KIND, instance $ID). Loopback only.
daemon off;
worker_processes 1;
pid $STATE_DIR/nginx.pid;
error_log $STATE_DIR/error.log notice;
events { worker_connections 512; }

http {
  # One line per request, for the tests to count: time, client, request line, status, what the
  # upstream answered (- when nginx answered itself), Retry-After sent.
  log_format front '\$msec \$remote_addr "\$request" \$status \$body_bytes_sent \$request_time '
                   'upstream=\$upstream_status retry_after=\$sent_http_retry_after "\$http_user_agent"';
  access_log $STATE_DIR/access.log front;
  server_tokens off;
  client_body_temp_path $STATE_DIR/tmp/body;
  proxy_temp_path $STATE_DIR/tmp/proxy;
  fastcgi_temp_path $STATE_DIR/tmp/fastcgi;
  uwsgi_temp_path $STATE_DIR/tmp/uwsgi;
  scgi_temp_path $STATE_DIR/tmp/scgi;
  # Bodies stay in memory: nginx's workers (nobody, when the master runs as root) need no access
  # to the private state dir. Keystone's requests and answers are far below these sizes.
  client_body_buffer_size 1m;
  client_max_body_size 1m;
  proxy_max_temp_file_size 0;
  proxy_buffer_size 64k;
  proxy_buffers 16 64k;
  proxy_busy_buffers_size 128k;
  proxy_connect_timeout 5s;
  proxy_send_timeout 60s;
  proxy_read_timeout 60s;
  $limit_http

  server {
    $listen
    server_name _;
    $tls

    location = /.front-ready {
      access_log off;
      default_type text/plain;
      return 200 "$ID\n";
    }
    # The token API (POST issues, GET validates, DELETE revokes), whatever prefix the upstream has.
    location ~ /auth/tokens\$ {
      $limit_login
      include $STATE_DIR/proxy.inc;
    }
    location / {
      $limit_all
      include $STATE_DIR/proxy.inc;
    }
    $too_many
  }
}
NGINX
  # Keystone builds the URLs of its answers (links, version discovery) from the request's Host and
  # scheme: Host is what the client asked for (this front), and X-Forwarded-Proto says that it came
  # in over $scheme. The test Keystone's gunicorn trusts X-Forwarded-Proto from 127.0.0.1 (its
  # forwarded_allow_ips default), so the links say https://127.0.0.1:FRONTPORT/v3/; a Keystone
  # under another server would need [oslo_middleware] enable_proxy_headers_parsing = true for that.
  # The catalog's endpoints are stored URLs: they keep naming the upstream (http://127.0.0.1:KSPORT/v3).
  cat >"$STATE_DIR/proxy.inc" <<NGINX
proxy_pass $UPSTREAM_ORIGIN;
proxy_set_header Host \$http_host;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Forwarded-Host \$http_host;
proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
proxy_set_header Forwarded "for=\$remote_addr;proto=$scheme;host=\\"\$http_host\\"";
proxy_redirect off;
NGINX
  mkdir -p "$STATE_DIR/tmp"
  "$FR_NGINX" -t -q -p "$STATE_DIR/" -c "$STATE_DIR/nginx.conf" -e "$STATE_DIR/error.log" 2>"$STATE_DIR/nginx-t.log" \
    || { cat "$STATE_DIR/nginx-t.log" >&2; srv_die "nginx rejected $STATE_DIR/nginx.conf"; }
}

start_nginx() {
  : >"$STATE_DIR/error.log"
  : >"$STATE_DIR/access.log"
  # setsid: nginx leads its own process group, so stop.sh can signal master and worker together.
  setsid "$FR_NGINX" -p "$STATE_DIR/" -c "$STATE_DIR/nginx.conf" -e "$STATE_DIR/error.log" \
    </dev/null >"$STATE_DIR/server.log" 2>&1 &
  SERVER_PID=$!
  echo "$SERVER_PID" >"$STATE_DIR/server.pid"
  SERVER_LOG="$STATE_DIR/error.log"
}

# --- tinyproxy ---------------------------------------------------------------------------------------
write_tinyproxy_conf() {
  {
    echo "# Written by scripts/front/start.sh (proxy, instance $ID). Loopback only."
    echo "Port $PORT"
    echo "Listen $FR_HOST"
    echo "Timeout 60"
    echo "MaxClients 200"
    echo "LogFile \"$STATE_DIR/proxy.log\""
    # Connect: one line per client connection and per request (\"Request (file descriptor N): CONNECT
    # host:port HTTP/1.1\"), plus warnings and errors; Info adds a dozen lines per request.
    echo "LogLevel Connect"
    echo "DisableViaHeader Yes"
    # The stats page answers requests for this host without going anywhere: the readiness probe.
    echo "StatHost \"front-probe-$ID.invalid\""
    # Clients: loopback only. Upstreams: anything, loopback included (tinyproxy has no rule against
    # it). No ConnectPort line means CONNECT to any port (Debian's packaged config allows 443 and 563 only).
    echo "Allow 127.0.0.1"
    echo "Allow ::1"
    for p in "${CONNECT_PORTS[@]}"; do echo "ConnectPort $p"; done
  } >"$STATE_DIR/tinyproxy.conf"
}

start_tinyproxy() {
  : >"$STATE_DIR/proxy.log"
  # -d: stay in the foreground (setsid detaches it from us instead). As root it warns that no User
  # is set and keeps running as root: it only ever listens on 127.0.0.1.
  setsid "$FR_TINYPROXY" -d -c "$STATE_DIR/tinyproxy.conf" </dev/null >"$STATE_DIR/server.log" 2>&1 &
  SERVER_PID=$!
  echo "$SERVER_PID" >"$STATE_DIR/server.pid"
  SERVER_LOG="$STATE_DIR/proxy.log"
}

# --- readiness ---------------------------------------------------------------------------------------
probe() {
  case "$KIND" in
    tls) curl -s --noproxy '*' --max-time 2 --cacert "$STATE_DIR/ca.crt" "https://$FR_HOST:$PORT/.front-ready" 2>/dev/null || true ;;
    ratelimit) curl -s --noproxy '*' --max-time 2 "http://$FR_HOST:$PORT/.front-ready" 2>/dev/null || true ;;
    # --noproxy '': use -x even if NO_PROXY in the environment says otherwise.
    proxy) curl -s --noproxy '' --max-time 2 -x "http://$FR_HOST:$PORT" "http://front-probe-$ID.invalid/" 2>/dev/null \
             | grep -q 'tinyproxy' && echo "$ID" || true ;;
  esac
}

# 0: ready; 1: the port was taken by someone else; exits on any other failure.
wait_ready() {
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  while :; do
    if [[ "$(probe)" == "$ID" ]]; then return 0; fi
    # nginx: "bind() to 127.0.0.1:PORT failed (98: Address already in use)", then it retries for 2.5 s;
    # tinyproxy: "Could not create listening sockets." and exits.
    if grep -qs -e 'Address already in use' -e 'Could not create listening sockets' "$SERVER_LOG" "$STATE_DIR/server.log"; then
      srv_stop_instance "$STATE_DIR" KILL >/dev/null 2>&1 || true
      return 1
    fi
    if ! srv_alive "$SERVER_PID"; then
      tail -n 20 "$SERVER_LOG" "$STATE_DIR/server.log" >&2 || true
      srv_die "$KIND server (pid $SERVER_PID) exited during start-up; logs in $STATE_DIR"
    fi
    if (( $(date +%s) >= deadline )); then
      tail -n 20 "$SERVER_LOG" "$STATE_DIR/server.log" >&2 || true
      srv_stop_instance "$STATE_DIR" KILL || true
      srv_die "$KIND server not ready after ${READY_TIMEOUT}s; logs in $STATE_DIR"
    fi
    sleep 0.05
  done
}

[[ "$KIND" == tls ]] && make_tls
for attempt in 1 2 3 4 5; do
  if (( PORT_ARG == 0 )); then PORT="$(srv_pick_port)"; else PORT="$PORT_ARG"; fi
  if (( PORT_ARG != 0 )) && srv_port_busy "$PORT"; then srv_die "port $FR_HOST:$PORT is in use"; fi
  if [[ "$KIND" == proxy ]]; then write_tinyproxy_conf; start_tinyproxy; else write_nginx_conf; start_nginx; fi
  if wait_ready; then break; fi
  if (( PORT_ARG != 0 || attempt == 5 )); then srv_die "port $FR_HOST:$PORT was taken by another process during start-up"; fi
  srv_log "port $PORT was taken meanwhile; trying another one"
done

{
  srv_export_line FRONT_KIND "$KIND"
  if [[ "$KIND" == tls ]]; then srv_export_line FRONT_URL "https://$FR_HOST:$PORT"; else srv_export_line FRONT_URL "http://$FR_HOST:$PORT"; fi
  srv_export_line FRONT_PORT "$PORT"
  srv_export_line FRONT_PID "$SERVER_PID"
  srv_export_line FRONT_STATE_DIR "$STATE_DIR"
  if [[ "$KIND" == proxy ]]; then
    srv_export_line FRONT_LOG "$STATE_DIR/proxy.log"
    srv_export_line FRONT_PROBE_HOST "front-probe-$ID.invalid"
  else
    srv_export_line FRONT_LOG "$STATE_DIR/access.log"
    srv_export_line FRONT_UPSTREAM "$UPSTREAM_ORIGIN"
  fi
  [[ "$KIND" == tls ]] && srv_export_line FRONT_CA_FILE "$STATE_DIR/ca.crt"
  if [[ "$KIND" == ratelimit ]]; then
    srv_export_line FRONT_RATE "$RATE"
    srv_export_line FRONT_INTERVAL_MS "$INTERVAL_MS"
    srv_export_line FRONT_BURST "$BURST"
    srv_export_line FRONT_RETRY_AFTER "$RETRY_AFTER_SECONDS"
    srv_export_line FRONT_SCOPE "$SCOPE"
  fi
} >"$STATE_DIR/env"

srv_log "$KIND ready in $(( $(srv_now_ms) - T0 )) ms on $FR_HOST:$PORT, pid $SERVER_PID, state $STATE_DIR"
cat "$STATE_DIR/env"
