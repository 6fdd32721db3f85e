#!/usr/bin/env bash
# Make sure the Debian packages of the test Glance and Swift (and the object-storage tools the e2e
# scenarios drive) are installed, on top of scripts/keystone/install.sh.
#
# Usage: scripts/services/install.sh
#
# Quiet (and fast) when everything is present. The servers run from the Python modules
# (python3 -m glance.cmd.api, swift.common.wsgi), so the glance-api/swift-* packages, with their
# init scripts, /etc files and uwsgi, are not needed. rclone is a second Swift client that reads
# OS_AUTH_TOKEN + OS_STORAGE_URL, like the `swift` CLI of python3-swiftclient; ansible (with its
# bundled openstack.cloud collection) is what many pipelines drive OpenStack with.
set -euo pipefail

"$(dirname "${BASH_SOURCE[0]}")/../keystone/install.sh"

PACKAGES=(python3-glance python3-swift python3-swiftclient python3-keystonemiddleware rclone ansible)
PY=/usr/bin/python3

missing() {
  "$PY" -c 'import glance, swift, swiftclient, keystonemiddleware' 2>/dev/null || return 0
  [[ -x /usr/bin/swift && -x /usr/bin/rclone && -x /usr/bin/ansible ]] || return 0
  return 1
}

missing || exit 0

how="apt-get install -y --no-install-recommends ${PACKAGES[*]}"
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install.sh: the test Glance and Swift need the Debian packages ${PACKAGES[*]}; install them as root with: apt-get update && $how" >&2
  exit 1
fi

echo "[services/install] installing ${PACKAGES[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# keystone/install.sh ran `apt-get update` only if it installed something: the lists may be empty.
[[ -n "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$')" ]] || timeout 300 apt-get update -qq >&2
timeout 900 apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2 \
  || { timeout 300 apt-get update -qq >&2 && timeout 900 apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2; }

if missing; then
  echo "install.sh: installed ${PACKAGES[*]} but glance, swift, swiftclient or keystonemiddleware (for $PY), /usr/bin/swift, /usr/bin/rclone or /usr/bin/ansible is still missing" >&2
  exit 1
fi
