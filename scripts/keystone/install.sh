#!/usr/bin/env bash
# Make sure the Debian packages that the test Keystone needs are installed.
#
# Usage: scripts/keystone/install.sh
#
# Quiet (and fast) when everything is already present. Otherwise runs `apt-get update` once and
# installs the packages below. We use Debian's packages rather than pip because they are a tested,
# consistent set (keystone Zed + keystoneauth + the CLI); the `keystone` package itself is avoided on
# purpose: its install script asks questions, writes /etc/keystone and starts a server on port 5000.
set -euo pipefail

# faketime: the e2e suite runs steps on a runner clock that is off (libfaketime). procps: ps, which
# the harness stops a server's process group with (a minimal Debian lacks it).
PACKAGES=(python3-keystone python3-openstackclient python3-gunicorn curl faketime procps)
# Always Debian's interpreter: a pyenv/venv `python3` earlier on PATH cannot import keystone.
PY=/usr/bin/python3

missing() {
  [[ -x /usr/bin/keystone-manage ]] || return 0
  [[ -x /usr/bin/openstack ]] || return 0
  [[ -x "$PY" ]] && "$PY" -c 'import gunicorn' 2>/dev/null || return 0
  command -v curl >/dev/null 2>&1 || return 0
  command -v faketime >/dev/null 2>&1 || return 0
  command -v ps >/dev/null 2>&1 || return 0
  return 1
}

missing || exit 0

SRV_SCRIPT=install
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
srv_apt_install "the test Keystone" "${PACKAGES[@]}"

if missing; then
  echo "install.sh: installed ${PACKAGES[*]} but keystone-manage, openstack, curl, faketime, ps or the gunicorn module for $PY is still missing" >&2
  exit 1
fi
