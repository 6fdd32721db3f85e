#!/usr/bin/env bash
# Runs a script with Windows' node.exe under Wine the way GitHub's Windows runner starts an action:
# what it hands over as paths (the GITHUB_* and RUNNER_* variables: RUNNER_TEMP, GITHUB_ENV,
# GITHUB_STATE, GITHUB_WORKSPACE, …, and the script itself) in Windows syntax, Z:\ being Wine's
# drive for /. Everything else of the environment passes as it is (Wine replaces PATH with the
# prefix's Windows one).
#
# Usage: scripts/wine/node.sh PREFIX NODE_EXE SCRIPT [ARG]...
#   (scripts/wine/install.sh --node MAJOR writes a `node` that calls this with PREFIX and NODE_EXE)
#
# node.exe dies at start-up (EBADF) when its stdout or stderr is a pipe, and the runner emulator
# reads steps through pipes: its output goes to files, copied to this script's stdout and stderr
# once it has exited (so stdout and stderr lines are not interleaved as they were printed).
# Exit status: node.exe's.
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: $0 PREFIX NODE_EXE SCRIPT [ARG]..." >&2; exit 2; }
prefix="$1" exe="$2"
shift 2

windows_path() {
  if [[ "$1" == /* ]]; then printf 'Z:%s' "${1//\//\\}"; else printf '%s' "$1"; fi
}

args=()
for arg in "$@"; do args+=("$(windows_path "$arg")"); done
while IFS= read -r name; do
  case "$name" in
    GITHUB_* | RUNNER_*) [[ "${!name}" == /* ]] && export "$name=$(windows_path "${!name}")" ;;
  esac
done < <(compgen -e)

out="$(mktemp)" err="$(mktemp)"
trap 'rm -f "$out" "$err"' EXIT
status=0
WINEPREFIX="$prefix" WINEDEBUG=-all /usr/lib/wine/wine64 "$exe" "${args[@]}" <"/dev/null" >"$out" 2>"$err" || status=$?
cat "$out"
cat "$err" >&2
exit "$status"
