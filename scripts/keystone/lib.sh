# Helpers of scripts/keystone/*.sh (sourced, not executed), on the harness of every test server.
# shellcheck shell=bash
# shellcheck source=../lib/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/server.sh"

KS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KS_REPO_DIR="$SRV_REPO_DIR"
# Always Debian's interpreter and tools by full path: a pyenv/venv `python3` earlier on PATH
# cannot import keystone.
KS_PY="$SRV_PY"
KS_MANAGE=/usr/bin/keystone-manage
KS_HOST="$SRV_HOST"
# The gunicorn app module; also what stop.sh looks for in /proc/PID/cmdline before signalling.
KS_APP_MODULE=keystone_wsgi_app
SRV_NAME=keystone
SRV_PIDFILE=keystone.pid
# Marks a state dir as created by start.sh, so that start.sh/stop.sh only ever wipe their own dirs.
SRV_MARKER=.keystone-test-instance
KS_MARKER="$SRV_MARKER"

# Ours: gunicorn serving our app from this state dir.
srv_owns() { [[ "$2" == *"--chdir $1 "*"$KS_APP_MODULE:application"* ]]; }

# Default state dir for a port (the same rule in start.sh and stop.sh).
ks_default_state_dir() { echo "${TMPDIR:-/tmp}/keystone-$1"; }
