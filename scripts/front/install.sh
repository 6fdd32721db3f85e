#!/usr/bin/env bash
# Make sure the Debian packages behind scripts/front/ are installed: nginx (TLS terminator and rate
# limiter), tinyproxy-bin (HTTP proxy), openssl and curl.
#
# Usage: scripts/front/install.sh
#
# Quiet (and fast) when everything is present. Otherwise runs `apt-get update` once and installs the
# missing packages, without letting them start a system service:
#   - nginx: in bookworm `nginx-light` is only a transitional package (it pulls `nginx` plus the echo
#     module); `nginx` itself is built with the ssl and limit_req modules, which is all we need. Its
#     postinst would start a server on port 80: a policy-rc.d that answers 101 ("action forbidden")
#     stops that, and a server that starts anyway is stopped and disabled right after.
#   - tinyproxy-bin rather than tinyproxy: the binary alone, without the init script, the system user
#     and the server on port 8888 that the `tinyproxy` package adds.
set -euo pipefail

PACKAGES=(nginx tinyproxy-bin openssl curl)

log() { echo "[front/install] $*" >&2; }

missing_packages() {
  local out=()
  [[ -x /usr/sbin/nginx ]] || out+=(nginx)
  [[ -x /usr/bin/tinyproxy ]] || out+=(tinyproxy-bin)
  command -v openssl >/dev/null 2>&1 || out+=(openssl)
  command -v curl >/dev/null 2>&1 || out+=(curl)
  echo "${out[*]}"
}

# The modules we rely on, checked on whatever nginx is there (a custom build may lack them).
check_nginx_modules() {
  local flags
  flags="$(/usr/sbin/nginx -V 2>&1)"
  if [[ "$flags" != *--with-http_ssl_module* ]] || [[ "$flags" == *--without-http_limit_req_module* ]] \
     || [[ "$flags" == *--without-http_map_module* ]]; then
    echo "install.sh: /usr/sbin/nginx lacks the ssl, limit_req or map module; install Debian's nginx package (apt-get install nginx)" >&2
    exit 1
  fi
}

MISSING="$(missing_packages)"
if [[ -z "$MISSING" ]]; then
  check_nginx_modules
  exit 0
fi

read -r -a TO_INSTALL <<<"$MISSING"
how="apt-get install -y --no-install-recommends ${TO_INSTALL[*]}"
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install.sh: scripts/front needs the Debian packages ${TO_INSTALL[*]}; install them as root with: apt-get update && $how" >&2
  exit 1
fi

# A policy-rc.d of our own, only when there is none (Docker images ship one that already says 101).
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=0
if [[ ! -e "$POLICY" ]]; then
  printf '#!/bin/sh\n# scripts/front/install.sh: no service starts during this install\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  OWN_POLICY=1
fi
cleanup() { if (( OWN_POLICY )); then rm -f "$POLICY"; fi; }
trap cleanup EXIT

log "installing ${TO_INSTALL[*]} (a few seconds, about 3 MB)"
# shellcheck source=../lib/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/server.sh"
srv_apt update -qq >&2
srv_apt install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold "${TO_INSTALL[@]}" >&2

# Belt and braces: a system nginx started by the package (a policy-rc.d of the machine's own that
# allows it) is stopped and disabled, so that nothing of ours listens on port 80.
if [[ " ${TO_INSTALL[*]} " == *" nginx "* ]]; then
  if [[ -s /run/nginx.pid ]]; then
    pid="$(cat /run/nginx.pid 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '^nginx: master process /usr/sbin/nginx'; then
      log "stopping the system nginx (pid $pid) that the package started"
      /usr/sbin/nginx -s quit >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  if command -v systemctl >/dev/null 2>&1; then systemctl disable nginx >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null 2>&1; then update-rc.d nginx disable >/dev/null 2>&1 || true; fi
fi

MISSING="$(missing_packages)"
if [[ -n "$MISSING" ]]; then
  echo "install.sh: installed ${TO_INSTALL[*]} but $MISSING is still missing" >&2
  exit 1
fi
check_nginx_modules

# Nothing may be left listening on the packages' default ports.
if command -v ss >/dev/null 2>&1; then
  busy="$(ss -Hltn 2>/dev/null | awk '{print $4}' | grep -E ':(80|8888)$' || true)"
  [[ -z "$busy" ]] || log "warning: something listens on ${busy//$'\n'/, } after the install (not started by it?)"
fi
