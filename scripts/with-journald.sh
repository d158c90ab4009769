#!/usr/bin/env bash
# Runs a command with a systemd-journald that answers on /run/systemd/journal/socket.
# When one already runs (a normal systemd host), the command just runs. Otherwise (containers, CI) this removes the
# sockets a stopped journald left behind, starts /lib/systemd/systemd-journald in its own session with its output
# kept away from ours, waits until it answers (an entry sent with `logger --journald` can be read back), runs the
# command, then stops the journald it started and removes its sockets. Exits with the command's status.
set -euo pipefail

directory=/run/systemd/journal
socket=$directory/socket
started=""

answers() {
    local probe="with-journald-$$-$RANDOM"
    logger --journald <<<"MESSAGE=with-journald probe
WITH_JOURNALD_PROBE=$probe" 2>/dev/null || return 1
    for _ in $(seq 1 20); do
        journalctl -a --no-pager -o cat "WITH_JOURNALD_PROBE=$probe" 2>/dev/null | grep -q probe && return 0
        sleep 0.1
    done
    return 1
}

remove_sockets() {
    rm -f "$directory/socket" "$directory/stdout" "$directory/dev-log" "$directory/io.systemd.journal" \
        "$directory/syslog"
}

stop_journald() {
    kill "$started" 2>/dev/null || true
    wait "$started" 2>/dev/null || true
    remove_sockets
}

# A socket file outlives the daemon that made it, so look for the process ("systemd-journal" is its name as the
# kernel shortens it), not the file.
if ! pgrep -x systemd-journal >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "with-journald: no journald runs and starting one needs root" >&2
        exit 1
    fi
    remove_sockets
    setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
    started=$!
    trap stop_journald EXIT
    for _ in $(seq 1 100); do
        [ -S "$socket" ] && break
        sleep 0.1
    done
    if ! answers; then
        echo "with-journald: systemd-journald (pid $started) did not answer on $socket" >&2
        exit 1
    fi
    echo "with-journald: started systemd-journald (pid $started)"
fi

set +e
"$@"
status=$?
set -e
exit $status
