#!/usr/bin/env bash
# Runs one command inside the Debian 13 (trixie) root of scripts/trixie/install.sh, the way a later
# step of a job would run on a runner with today's OpenStack packages.
#
# Usage: scripts/trixie/run.sh [--bind DIR]... [--hide PATH]... [--keep-mounts] [--] COMMAND [ARG]...
#
#   - The command sees the root's /usr, and the host's network (a server on 127.0.0.1 is the same
#     server inside and out).
#   - Bound at the same path inside: every --bind DIR, and the job's RUNNER_TEMP and
#     GITHUB_WORKSPACE when they are set (the action's files live under RUNNER_TEMP, and the
#     variables it exported name those paths). The command starts in the current directory, which
#     must be one of those (or below one).
#   - Its environment is exactly the caller's (the job's), with a PATH of the root's own directories
#     (`env -i` plus the caller's variables): nothing of the host's shell leaks in besides.
#   - The mounts (proc, /dev made rprivate, a tmpfs on /dev/shm for Python's multiprocessing, the
#     host's resolv.conf, the binds) are made in a mount namespace of the command's own, so the
#     host never sees them and none can be left behind: they are unmounted, deepest first, when the
#     command ends (also when it fails), and in any case vanish with the namespace's last process.
#     --keep-mounts skips the unmounting, for a command that leaves a server running inside (the
#     server keeps the mounts until it exits; scripts/keystone/start.sh run here is one).
#   - --hide PATH (a path inside the root; a shell pattern in its last part) makes it absent for
#     the command, as if its package were not installed: an overlay on its directory with the
#     entries removed in the overlay only (the root is unchanged). E.g. a Python package without
#     `keyring`, what `pip install python-openstackclient` gives.
#
# Exit status: the command's; 1 with a sentence when the root is missing or a mount fails.
set -euo pipefail
TRIXIE_SCRIPT=run
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# A job's PATH may lack the sbin dirs (chroot, mount); the command gets the root's own PATH anyway.
PATH="/usr/sbin:/sbin:$PATH"

BINDS=()
HIDES=()
KEEP_MOUNTS=0
while (($#)); do
  case "$1" in
    --bind) [[ $# -ge 2 ]] || trixie_die "--bind needs a directory"; BINDS+=("$2"); shift 2 ;;
    --bind=*) BINDS+=("${1#--bind=}"); shift ;;
    --hide) [[ $# -ge 2 ]] || trixie_die "--hide needs a path"; HIDES+=("$2"); shift 2 ;;
    --hide=*) HIDES+=("${1#--hide=}"); shift ;;
    --keep-mounts) KEEP_MOUNTS=1; shift ;;
    --) shift; break ;;
    -*) trixie_die "unknown option $1 (usage: run.sh [--bind DIR]... [--hide PATH]... [--keep-mounts] [--] COMMAND...)" ;;
    *) break ;;
  esac
done
(($#)) || trixie_die "usage: run.sh [--bind DIR]... [--hide PATH]... [--keep-mounts] [--] COMMAND [ARG]..."
[[ -f "$TRIXIE_ROOT/.trixie-ready" ]] || trixie_die "no Debian 13 root in $TRIXIE_ROOT: make it with scripts/trixie/install.sh (as root)"
[[ "$(id -u)" == 0 ]] || trixie_die "entering the Debian 13 root needs root (mount namespaces and chroot)"

if [[ "${TRIXIE_IN_NAMESPACE:-}" != "$$" ]]; then
  # Again, in a mount namespace of its own (same process: unshare execs, so the PID stays).
  export TRIXIE_IN_NAMESPACE=$$
  again=()
  for b in "${BINDS[@]}"; do again+=("--bind=$b"); done
  for h in "${HIDES[@]}"; do again+=("--hide=$h"); done
  ((KEEP_MOUNTS)) && again+=(--keep-mounts)
  # Private, so that no mount of ours reaches the host's namespace. Inside a plain chroot, whose
  # root is no mount point, that is refused (EINVAL): the mounts then keep the propagation of the
  # mount that holds the chroot (private wherever the chroot was entered from a namespace of its own).
  propagation=private
  if ! unshare --mount --propagation private true 2>/dev/null; then
    propagation=unchanged
    trixie_log "/ is not a mount point here (a chroot?): the mount namespace keeps its parent's propagation"
  fi
  exec unshare --mount --propagation "$propagation" -- "$0" "${again[@]}" -- "$@"
fi
unset TRIXIE_IN_NAMESPACE
CMD=("$@")
[[ -n "${RUNNER_TEMP:-}" ]] && BINDS+=("$RUNNER_TEMP")
[[ -n "${GITHUB_WORKSPACE:-}" ]] && BINDS+=("$GITHUB_WORKSPACE")

MOUNTED=()
LAYERS=""
unmount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount -R "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" 2>/dev/null || true; done
  MOUNTED=()
  if [[ -n "$LAYERS" ]]; then rmdir "$LAYERS" 2>/dev/null || true; fi
}
mount_or_die() {
  local target="${*: -1}"
  mount "$@" || { unmount_all; trixie_die "mount $* failed"; }
  MOUNTED+=("$target")
}

R="$TRIXIE_ROOT"
mount_or_die -t proc proc "$R/proc"
mount_or_die --rbind /dev "$R/dev"
mount --make-rprivate "$R/dev"
mkdir -p "$R/dev/shm"
mount_or_die -t tmpfs -o mode=1777,size=256m tmpfs "$R/dev/shm"
resolv="$(readlink -f /etc/resolv.conf || true)"
if [[ -f "$resolv" ]]; then
  [[ -e "$R/etc/resolv.conf" && ! -L "$R/etc/resolv.conf" ]] || { rm -f "$R/etc/resolv.conf"; : >"$R/etc/resolv.conf"; }
  mount_or_die --bind "$resolv" "$R/etc/resolv.conf"
fi
# Parents before children; a dir inside one already bound is visible through it.
mapfile -t SORTED < <(for b in "${BINDS[@]}"; do [[ -n "$b" ]] && realpath -m "$b"; done | awk '{ print length($0) "\t" $0 }' | sort -n | cut -f2- | uniq)
BOUND=()
for dir in "${SORTED[@]}"; do
  [[ -d "$dir" ]] || { unmount_all; trixie_die "--bind $dir: no such directory"; }
  inside=0
  for b in "${BOUND[@]}"; do [[ "$dir" == "$b" || "$dir" == "$b"/* ]] && inside=1; done
  ((inside)) && continue
  mkdir -p "$R$dir"
  mount_or_die --bind "$dir" "$R$dir"
  BOUND+=("$dir")
done

# Hidden paths: the root's directory under an overlay whose upper layer (on a tmpfs of this
# namespace) records the removals.
if ((${#HIDES[@]})); then
  layers="$(mktemp -d)"
  LAYERS="$layers"
  mount_or_die -t tmpfs -o mode=700 tmpfs "$layers"
  n=0
  for pattern in "${HIDES[@]}"; do
    parent="$(dirname "$pattern")"
    [[ -d "$R$parent" ]] || { unmount_all; trixie_die "--hide $pattern: no directory $parent in the root"; }
    n=$((n + 1))
    mkdir -p "$layers/$n/upper" "$layers/$n/work"
    mount_or_die -t overlay overlay -o "lowerdir=$R$parent,upperdir=$layers/$n/upper,workdir=$layers/$n/work" "$R$parent"
    # shellcheck disable=SC2086 # the last part is a pattern on purpose
    rm -rf "$R$parent"/$(basename "$pattern")
  done
fi

cwd="$(pwd -P)"
in_bound=0
for b in "${BOUND[@]}"; do [[ "$cwd" == "$b" || "$cwd" == "$b"/* ]] && in_bound=1; done
if ((!in_bound)); then
  unmount_all
  trixie_die "the current directory $cwd is not inside the root: run from RUNNER_TEMP, GITHUB_WORKSPACE or a --bind DIR"
fi

# The job's environment, nothing else; the root's own PATH.
ENVV=()
while IFS= read -r -d '' kv; do
  case "$kv" in PATH=* | TRIXIE_* | OLDPWD=* | PWD=* | SHLVL=* | _=*) continue ;; esac
  ENVV+=("$kv")
done < <(env -0)
ENVV+=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "PWD=$cwd")
[[ -n "${LANG:-}" ]] || ENVV+=("LANG=C.UTF-8")

if ((KEEP_MOUNTS)); then
  exec chroot "$R" /usr/bin/env -i -C "$cwd" "${ENVV[@]}" "${CMD[@]}"
fi
trap unmount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
set +e
chroot "$R" /usr/bin/env -i -C "$cwd" "${ENVV[@]}" "${CMD[@]}"
status=$?
set -e
exit "$status"
