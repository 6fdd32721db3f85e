# Where the Debian 13 (trixie) root of the e2e suite lives (sourced by install.sh and run.sh).
# shellcheck shell=bash

TRIXIE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Outside the clone by default: CI runs from a fresh clone, and the root (about 1.1 GB, minutes to
# make) should outlive it. TRIXIE_CACHE_DIR moves it.
TRIXIE_CACHE="${TRIXIE_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/openstack-token/trixie}"
TRIXIE_ROOT="$TRIXIE_CACHE/root"
TRIXIE_MIRROR="${TRIXIE_MIRROR:-http://deb.debian.org/debian}"

trixie_log() { echo "[trixie/${TRIXIE_SCRIPT:-?}] $*" >&2; }
trixie_die() { trixie_log "ERROR: $*"; exit 1; }

# The package list of packages.txt, comments and blank lines dropped.
trixie_packages() { sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$TRIXIE_DIR/packages.txt"; }
