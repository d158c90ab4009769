#!/usr/bin/env bash
# Runs a command in an empty root file system holding only a Lambda package, as a check that the package needs
# nothing from the machine it runs on (no loader, no shared library, no /usr):
#
#     scripts/empty-root.sh [--host NAME=ADDRESS]... [--nameserver ADDRESS] [--file SOURCE=PATH]... ZIP -- COMMAND...
#
# The root is a temporary folder with the zip unpacked in /var/task (where Lambda puts it), an empty /tmp, /proc, and
# /etc/hosts (localhost, and each --host); with --nameserver, /etc/resolv.conf names that DNS server; each --file
# copies a file of this machine to PATH in the root (a certificate bundle where Amazon Linux keeps it). COMMAND runs
# on this machine with ROOT in its environment: the root's folder; `chroot "$ROOT" /var/task/bootstrap` runs the
# package there (scripts/fake-lambda-runtime.py … -- chroot "$ROOT" /var/task/bootstrap serves it invocations; the
# network is this machine's, so a server on 127.0.0.1 is reachable). Needs root for chroot and the /proc mount (CI
# runs as root); elsewhere run it under `unshare --user --map-root-user --mount`. Exits with COMMAND's status.
set -euo pipefail

hosts=("127.0.0.1 localhost")
nameserver=""
files=()
while [ $# -gt 0 ]; do
    case "$1" in
        --host) hosts+=("${2#*=} ${2%%=*}"); shift 2 ;;
        --nameserver) nameserver="$2"; shift 2 ;;
        --file) files+=("$2"); shift 2 ;;
        *) break ;;
    esac
done
zip=${1:?usage: empty-root.sh [--host NAME=ADDRESS]... [--nameserver ADDRESS] [--file SOURCE=PATH]... ZIP -- COMMAND...}
shift
[ "${1:-}" = "--" ] || { echo "empty-root: expected -- before the command" >&2; exit 2; }
shift

root=$(mktemp -d /tmp/empty-root.XXXXXX)
cleanup() {
    umount "$root/proc" 2>/dev/null || true
    rm -rf "$root"
}
trap cleanup EXIT
mkdir -p "$root/var/task" "$root/tmp" "$root/proc" "$root/etc"
chmod 1777 "$root/tmp"
python3 -m zipfile -e "$zip" "$root/var/task"
# zipfile does not keep the permissions: bootstrap is the one program.
chmod 0755 "$root/var/task/bootstrap"
printf '%s\n' "${hosts[@]}" >"$root/etc/hosts"
[ -z "$nameserver" ] || echo "nameserver $nameserver" >"$root/etc/resolv.conf"
for file in "${files[@]}"; do
    mkdir -p "$root/$(dirname "${file#*=}")"
    cp "${file%%=*}" "$root/${file#*=}"
done
mount -t proc proc "$root/proc"
echo "empty-root: $(cd "$root" && find . -mindepth 1 -maxdepth 3 -not -path './proc/*' | sort | tr '\n' ' ')" >&2

set +e
ROOT="$root" "$@"
status=$?
set -e
exit $status
