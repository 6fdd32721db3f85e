#!/usr/bin/env bash
# Makes (once) the Debian 13 (trixie) root of the e2e suite's second stack: today's Keystone (27),
# python-openstackclient 7, openstacksdk 4, Ansible's openstack.cloud 2 and swift, from Debian's
# own mirror, in a root made with debootstrap. Later steps run inside it with scripts/trixie/run.sh.
#
# Usage: scripts/trixie/install.sh      prints the root's path on stdout
#
# The root lives in TRIXIE_CACHE_DIR (default ~/.cache/openstack-token/trixie, outside the clone so
# that a fresh clone reuses it) with a stamp of packages.txt: a later run with the same list only
# checks the stamp; a longer list installs what was added. Cold: debootstrap (about 30 s) plus the
# packages (about 2 min, 1.1 GB). Two runs at once (two test suites) wait for each other (flock).
#
# Needs root, and debootstrap with Debian's archive keyring on the host (installed here with
# apt-get when missing, as the other scripts/*/install.sh do). No package inside starts a service:
# the root's policy-rc.d answers 101.
set -euo pipefail
TRIXIE_SCRIPT=install
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# Bumped when what this script does to a root changes (part of the stamp).
RECIPE=1

mapfile -t PACKAGES < <(trixie_packages)
STAMP="$(printf '%s\n' "recipe $RECIPE" "$TRIXIE_MIRROR" "${PACKAGES[@]}" | sha256sum | cut -c1-16)"
ready() { [[ -f "$TRIXIE_ROOT/.trixie-ready" && "$(cat "$TRIXIE_ROOT/.trixie-ready")" == "$STAMP" ]]; }

if ready; then
  echo "$TRIXIE_ROOT"
  exit 0
fi
[[ "$(id -u)" == 0 ]] || trixie_die "making the Debian 13 root needs root (debootstrap, chroot): run sudo $0 once"

if ! command -v debootstrap >/dev/null 2>&1 || [[ ! -f "$KEYRING" ]]; then
  SRV_NAME=trixie SRV_SCRIPT=install
  # shellcheck source=../lib/server.sh
  source "$TRIXIE_DIR/../lib/server.sh"
  srv_apt_install "the Debian 13 root of the e2e suite" debootstrap debian-archive-keyring
fi

mkdir -p "$TRIXIE_CACHE"
exec 9>"$TRIXIE_CACHE/lock"
if ! flock -n 9; then
  trixie_log "another run is making $TRIXIE_ROOT: waiting for it"
  flock -w 1800 9 || trixie_die "gave up waiting for the other run after 30 min"
fi
if ready; then
  echo "$TRIXIE_ROOT"
  exit 0
fi

T0=$SECONDS
if [[ ! -f "$TRIXIE_ROOT/.debootstrap-done" ]]; then
  # A half-made root (an interrupted run) is started afresh; never one something is mounted in.
  if [[ -e "$TRIXIE_ROOT" ]]; then
    if grep -q " $TRIXIE_ROOT/" /proc/self/mounts; then
      trixie_die "something is mounted under the half-made $TRIXIE_ROOT: unmount it, then run this again"
    fi
    rm -rf "$TRIXIE_ROOT"
  fi
  trixie_log "making a Debian 13 root in $TRIXIE_ROOT with debootstrap (about 30 s)"
  timeout 900 debootstrap --variant=minbase --keyring="$KEYRING" trixie "$TRIXIE_ROOT" "$TRIXIE_MIRROR" >"$TRIXIE_CACHE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$TRIXIE_CACHE/debootstrap.log" >&2; trixie_die "debootstrap failed (log: $TRIXIE_CACHE/debootstrap.log)"; }
  printf '#!/bin/sh\n# scripts/trixie/install.sh: no package starts a service in this root\nexit 101\n' >"$TRIXIE_ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$TRIXIE_ROOT/usr/sbin/policy-rc.d"
  touch "$TRIXIE_ROOT/.debootstrap-done"
fi
# run.sh refuses a root without this file: present from here on, with a stamp that says "not ready".
echo "installing" >"$TRIXIE_ROOT/.trixie-ready"

trixie_log "installing into the Debian 13 root: ${PACKAGES[*]} (about 2 min the first time)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
apt_in_root() {
  timeout 1500 "$TRIXIE_DIR/run.sh" --bind "$work" -- env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    apt-get -o DPkg::Lock::Timeout=600 -y -q "$@" >>"$TRIXIE_CACHE/apt.log" 2>&1 \
    || { tail -n 30 "$TRIXIE_CACHE/apt.log" >&2; trixie_die "apt-get $1 in the root failed (log: $TRIXIE_CACHE/apt.log)"; }
}
: >"$TRIXIE_CACHE/apt.log"
apt_in_root update
apt_in_root install --no-install-recommends "${PACKAGES[@]}"
apt_in_root clean
echo "$STAMP" >"$TRIXIE_ROOT/.trixie-ready"
trixie_log "ready in $((SECONDS - T0)) s: $TRIXIE_ROOT"
echo "$TRIXIE_ROOT"
