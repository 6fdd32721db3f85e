#!/usr/bin/env bash
# Make sure the Debian packages of the federated test Keystone are installed, and that installing
# them left no system Apache running or enabled.
#
# Usage: scripts/oidc/install.sh
#
# Quiet (and fast) when everything is already present. Otherwise runs `apt-get update` once and
# installs: Keystone and the CLI (as scripts/keystone/install.sh does), Apache with mod_wsgi (Keystone
# reads the token's claims from the WSGI environment, so it must run inside Apache, not behind it)
# and mod_auth_openidc (validates the GitHub-style JWT), openssl (keys, test CA).
#
# Debian's apache2 package starts and enables a system-wide Apache on port 80 unless a policy-rc.d
# forbids it. The tests never use it: while installing, a temporary /usr/sbin/policy-rc.d (only if
# there is none) keeps it from starting; afterwards a system Apache that runs anyway is stopped (by
# the PID in its own pid file) and the service is disabled.
set -euo pipefail

PACKAGES=(apache2 libapache2-mod-wsgi-py3 libapache2-mod-auth-openidc python3-keystone python3-openstackclient openssl curl)
PY=/usr/bin/python3
MODULES=/usr/lib/apache2/modules

missing() {
  [[ -x /usr/sbin/apache2 ]] || return 0
  local m
  for m in mod_wsgi.so mod_auth_openidc.so mod_ssl.so mod_mpm_event.so; do [[ -f "$MODULES/$m" ]] || return 0; done
  [[ -x /usr/bin/keystone-manage && -x /usr/bin/openstack ]] || return 0
  "$PY" -c 'import keystone' 2>/dev/null || return 0
  command -v openssl >/dev/null 2>&1 || return 0
  command -v curl >/dev/null 2>&1 || return 0
  return 1
}

# The system Apache (Debian's /etc/apache2 config), if one runs: its pid file, checked against
# /proc so that a reused PID is left alone. Ours never use /run/apache2.
stop_system_apache() {
  local pidfile pid cmd
  for pidfile in /run/apache2/apache2.pid /var/run/apache2/apache2.pid; do
    [[ -f "$pidfile" ]] || continue
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || continue
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmd" == *apache2* && "$cmd" != *" -f "* ]] || continue
    echo "[oidc/install] stopping the system Apache (pid $pid) that the package started" >&2
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  # Not at the next boot either.
  if [[ -d /run/systemd/system ]]; then
    systemctl disable --now apache2 apache-htcacheclean >/dev/null 2>&1 || true
  elif command -v update-rc.d >/dev/null 2>&1; then
    update-rc.d apache2 disable >/dev/null 2>&1 || true
    update-rc.d apache-htcacheclean disable >/dev/null 2>&1 || true
  fi
}

if ! missing; then
  # Installed earlier (maybe by hand, maybe with the service started): make sure it is not running.
  [[ "$(id -u)" == 0 ]] && stop_system_apache
  exit 0
fi

how="apt-get install -y --no-install-recommends ${PACKAGES[*]}"
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install.sh: the federated test Keystone needs the Debian packages ${PACKAGES[*]}; install them as root with: apt-get update && $how (then stop and disable the apache2 service it starts)" >&2
  exit 1
fi

POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=0
if [[ ! -e "$POLICY" ]]; then
  printf '#!/bin/sh\n# temporary, scripts/oidc/install.sh: no service starts during the install\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  OWN_POLICY=1
fi
cleanup() { if (( OWN_POLICY )); then rm -f "$POLICY"; fi; }
trap cleanup EXIT

echo "[oidc/install] installing ${PACKAGES[*]} (about 10 s with Keystone already there, 50 s without)" >&2
# shellcheck source=../lib/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/server.sh"
srv_apt update -qq >&2
srv_apt install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2
stop_system_apache

if missing; then
  echo "install.sh: installed ${PACKAGES[*]} but apache2, its modules (wsgi, auth_openidc, ssl), keystone-manage, openstack, openssl or curl is still missing" >&2
  exit 1
fi
