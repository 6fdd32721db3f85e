#!/usr/bin/env bash
# Everything the e2e suite needs, installed once and one part after the other, before any test
# starts a server: the Debian packages of every test server (scripts/*/install.sh), Node 24
# (scripts/node24/install.sh), Wine with Windows' Node (scripts/wine/install.sh) and the Debian 13
# root of the second stack (scripts/trixie/install.sh).
# The e2e suite's global setup runs this first (scripts/e2e-setup.mjs), so that the parts of a cloud,
# which start at once, find their packages there and never race for apt's locks.
#
# Usage: scripts/install-test-packages.sh     (as root the first time; then quiet, about a second)
#
# Says on stderr what it checks and what it installs, and how long each part took.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { echo "[install-test-packages] $*" >&2; }

part() {
  local what="$1" t0=$SECONDS
  shift
  "$@" >/dev/null
  log "$what: ready ($((SECONDS - t0)) s)"
}

log "checking the e2e suite's packages (installs what is missing: a first run on a bare machine takes minutes)"
part "Keystone 22 and the openstack CLI (scripts/keystone/install.sh)" "$HERE/keystone/install.sh"
part "nginx, tinyproxy, openssl (scripts/front/install.sh)" "$HERE/front/install.sh"
part "Apache, mod_wsgi, mod_auth_openidc (scripts/oidc/install.sh)" "$HERE/oidc/install.sh"
part "Glance, Swift, swift, rclone, ansible (scripts/services/install.sh)" "$HERE/services/install.sh"
part "Node 24 (scripts/node24/install.sh)" "$HERE/node24/install.sh"
part "Wine with Windows' Node 20 and 22 (scripts/wine/install.sh)" bash -c '"$1" --node 20 && "$1" --node 22' _ "$HERE/wine/install.sh"
if [[ "$(id -u)" == 0 ]] || "$HERE/trixie/install.sh" >/dev/null 2>&1; then
  part "the Debian 13 root: Keystone 27 and today's clients (scripts/trixie/install.sh)" "$HERE/trixie/install.sh"
else
  log "the Debian 13 root: not made (needs root for debootstrap and chroot); its tests will say they skipped"
fi
