# Helpers of scripts/oidc/*.sh (sourced, not executed), on the harness of every test server.
# shellcheck shell=bash
# shellcheck source=../lib/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/server.sh"

OI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OI_REPO_DIR="$SRV_REPO_DIR"
# Debian's interpreter and tools by full path: a pyenv/venv `python3` earlier on PATH cannot import
# keystone, and a foreign Python must not leak into Apache's mod_wsgi either.
OI_PY="$SRV_PY"
OI_MANAGE=/usr/bin/keystone-manage
OI_APACHE=/usr/sbin/apache2
OI_MODULES=/usr/lib/apache2/modules
OI_HOST="$SRV_HOST"
SRV_NAME=oidc
# The Apache parent; setsid made it a process-group leader, and Apache's children and the mod_wsgi
# daemon (Keystone) share that group, so stopping the group leaves no Keystone behind.
SRV_PIDFILE=apache.pid
# Marks a state dir as created by start.sh, so that start.sh/stop.sh only ever wipe their own dirs.
SRV_MARKER=.oidc-test-instance
OI_MARKER="$SRV_MARKER"

# Ours: apache2 started with this state dir's httpd.conf.
srv_owns() { [[ "$2" == "$OI_APACHE -f $1/apache/httpd.conf "* ]]; }

# Default state dir for a Keystone port (the same rule in start.sh and stop.sh).
oi_default_state_dir() { echo "${TMPDIR:-/tmp}/oidc-keystone-$1"; }
