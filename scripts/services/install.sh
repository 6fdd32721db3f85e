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

SRV_SCRIPT=install
# shellcheck source=../keystone/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../keystone/lib.sh"
SRV_NAME=services
srv_apt_install "the test Glance and Swift" "${PACKAGES[@]}"

if missing; then
  echo "install.sh: installed ${PACKAGES[*]} but glance, swift, swiftclient or keystonemiddleware (for $PY), /usr/bin/swift, /usr/bin/rclone or /usr/bin/ansible is still missing" >&2
  exit 1
fi
