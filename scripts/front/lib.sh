# Helpers of scripts/front/*.sh (sourced, not executed), on the harness of every test server.
# shellcheck shell=bash
# shellcheck source=../lib/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/server.sh"

FR_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FR_HOST="$SRV_HOST"
FR_NGINX=/usr/sbin/nginx
FR_TINYPROXY=/usr/bin/tinyproxy
SRV_NAME=front
SRV_PIDFILE=server.pid
# Marks a state dir as created by start.sh: stop.sh --purge only ever removes such dirs.
SRV_MARKER=.front-test-instance
FR_MARKER="$SRV_MARKER"

# Ours: nginx or tinyproxy run with this state dir's config (nginx keeps its arguments in its
# process title: "nginx: master process /usr/sbin/nginx -p DIR/ …").
srv_owns() { [[ "$2" == *"$FR_NGINX -p $1/ -c $1/nginx.conf"* || "$2" == *"$FR_TINYPROXY -d -c $1/tinyproxy.conf"* ]]; }

# Loopback upstreams only: http://127.0.0.1|localhost|[::1]:PORT[/path]. Prints the origin.
fr_upstream_origin() {
  local url="$1"
  if [[ "$url" =~ ^http://(127\.0\.0\.1|localhost|\[::1\]):([0-9]{1,5})(/.*)?$ ]]; then
    echo "http://${BASH_REMATCH[1]}:${BASH_REMATCH[2]}"
  else
    srv_die "--upstream must be a loopback http URL (http://127.0.0.1:PORT[/path]), got '$url'"
  fi
}
