#!/usr/bin/env bash
# Builds gophercloud-login (scripts/gophercloud/main.go: logs in from the environment as the
# Terraform/OpenTofu provider or Packer does) inside the Debian 13 root of scripts/trixie, against
# Debian's own gophercloud 1.4.0 and gophercloud-utils sources (/usr/share/gocode), with no network:
# GOPATH mode, GOPROXY=off. A static binary (CGO_ENABLED=0), so it runs on the host as a later step.
#
# Usage: scripts/gophercloud/build.sh      prints the binary's path on stdout
#
# Cached outside the clone, beside the Debian 13 root (~/.cache/openstack-token/gophercloud;
# GOPHERCLOUD_CACHE_DIR moves it), so that CI's fresh clones reuse it; keyed by main.go and
# the versions of the root's Go packages, with versions.txt (those versions) next to the binary.
# Cold: about a minute (Go compiles its standard library once; the build cache stays there too).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${GOPHERCLOUD_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/openstack-token/gophercloud}"
PACKAGES=(golang-go golang-github-gophercloud-gophercloud-dev golang-github-gophercloud-utils-dev)

log() { echo "[gophercloud/build] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

root="$("$HERE/../trixie/install.sh")"
versions="$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package} ${Version}\n' "${PACKAGES[@]}" 2>/dev/null)" \
  || die "the Debian 13 root $root lacks ${PACKAGES[*]} (scripts/trixie/packages.txt lists them)"
key="$( (cat "$HERE/main.go"; echo "$versions") | sha256sum | cut -c1-16)"
dir="$CACHE/$key"
bin="$dir/gophercloud-login"
if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$CACHE/gocache"
exec 9>"$CACHE/lock"
flock -w 600 9 || die "gave up waiting for another build in $CACHE"
if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi
log "building gophercloud-login in the Debian 13 root ($(echo "$versions" | tr '\n' ',' | sed 's/,$//'))"
work="$(mktemp -d "$CACHE/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$HERE/main.go" "$work/"
# run.sh passes this environment on (and gives the command the root's PATH).
# The root found above, named outright: under HOME="$work", run.sh would look for it in $work/.cache.
(cd "$work" && timeout 600 env -i PATH="$PATH" HOME="$work" LANG=C.UTF-8 TRIXIE_CACHE_DIR="$(dirname "$root")" \
  GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOTELEMETRY=off GOFLAGS=-trimpath CGO_ENABLED=0 \
  GOCACHE="$CACHE/gocache" \
  bash "$HERE/../trixie/run.sh" --bind "$work" --bind "$CACHE/gocache" -- go build -o gophercloud-login main.go >"$work/build.log" 2>&1) \
  || { cat "$work/build.log" >&2; die "go build failed"; }
echo "$versions" >"$work/versions.txt"
mkdir -p "$dir"
mv "$work/versions.txt" "$dir/versions.txt"
mv "$work/gophercloud-login" "$bin.partial" && mv "$bin.partial" "$bin"
echo "$bin"
