#!/usr/bin/env bash
# Runs a command with a systemd-journald listening on /run/systemd/journal/socket.
# When one already runs (a normal systemd host), the command just runs. Otherwise (containers, CI) this starts
# /lib/systemd/systemd-journald in its own session with its output kept away from ours, waits for its socket,
# runs the command, and stops only the journald it started. Exits with the command's status.
set -euo pipefail

socket=/run/systemd/journal/socket
started=""
# A socket file can outlive the daemon that made it, so look for the process too ("systemd-journal" is its
# name as the kernel shortens it).
if [ ! -S "$socket" ] || ! pgrep -x systemd-journal >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "with-journald: no journald runs and starting one needs root" >&2
        exit 1
    fi
    setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
    started=$!
    trap 'kill "$started" 2>/dev/null; wait "$started" 2>/dev/null || true' EXIT
    for _ in $(seq 1 100); do
        [ -S "$socket" ] && break
        sleep 0.1
    done
    [ -S "$socket" ] || { echo "with-journald: systemd-journald did not open $socket" >&2; exit 1; }
    echo "with-journald: started systemd-journald (pid $started)"
fi

set +e
"$@"
status=$?
set -e
exit $status
