#!/usr/bin/env bash
# Runs a command with a real PostgreSQL server of its own, for the tests of the PostgreSQL idempotency store.
#
#   scripts/with-postgres.sh swift test
#
# When BATCH_TEST_POSTGRES_URL is already set (your own server), the command just runs. Otherwise this makes a
# throw-away cluster in a temporary folder with Debian's PostgreSQL (initdb as the `postgres` user when run as root,
# as yourself otherwise), starts it on a free port of 127.0.0.1 and on a socket in that folder, creates the role
# `batchtest` (password authentication, SCRAM) and the database `batch_test`, and exports, for the command:
#
#   BATCH_TEST_POSTGRES_URL      postgres://batchtest:PASSWORD@127.0.0.1:PORT/batch_test?sslmode=disable
#   BATCH_TEST_POSTGRES_CONTROL  a script taking stop, start or restart, for the tests that take the server away
#   BATCH_TEST_POSTGRES_CA       the PEM file of the certificate authority that signed the server's certificate
#
# The server also speaks TLS, with a certificate (from a throw-away authority made here with openssl) for the names
# localhost and batch-db.test and the address 127.0.0.1: the tests of sslmode=verify-full use it; every other test
# connects without TLS (sslmode=disable in the URL), as before.
#
# The server runs with fsync off (the tests are about the store, not the disk; BATCH_TEST_POSTGRES_FSYNC=on for
# benchmarks). It is stopped and its folder removed when the command ends; the script exits with the command's
# status.
set -euo pipefail

if [ -n "${BATCH_TEST_POSTGRES_URL:-}" ]; then
    exec "$@"
fi

bin=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
        bin=$candidate
        break
    fi
done
if [ -z "$bin" ] && command -v initdb >/dev/null 2>&1; then
    bin="$(dirname "$(command -v initdb)")"
fi
if [ -z "$bin" ]; then
    echo "with-postgres: no PostgreSQL server found (initdb, pg_ctl); install Debian's postgresql package" \
        "(scripts/install-system-packages.sh does)" >&2
    exit 1
fi

fsync="${BATCH_TEST_POSTGRES_FSYNC:-off}"
folder="$(mktemp -d /tmp/batch-postgres.XXXXXX)"
chmod 0755 "$folder"
data="$folder/data"
password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# PostgreSQL refuses to run as root: as root, the server and its files belong to the `postgres` user.
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "with-postgres: running as root needs the 'postgres' user (Debian's postgresql package makes it)" >&2
        exit 1
    fi
    chown postgres: "$folder"
    as_owner=(runuser -u postgres --)
fi

printf '%s\n' "$password" >"$folder/password"
[ ${#as_owner[@]} -gt 0 ] && chown postgres: "$folder/password"
"${as_owner[@]}" "$bin/initdb" -D "$data" -U batchtest --pwfile="$folder/password" --auth=scram-sha-256 \
    -E UTF8 --no-locale >"$folder/initdb.log" 2>&1 || {
    cat "$folder/initdb.log" >&2
    exit 1
}
rm -f "$folder/password"

# A certificate authority and a server certificate signed by it, for the tests of TLS.
command -v openssl >/dev/null 2>&1 || {
    echo "with-postgres: openssl is needed to make the server's test certificate (scripts/install-system-packages.sh)" >&2
    exit 1
}
tls="$folder/tls"
mkdir "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj "/CN=batch-processing test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>"$tls/openssl.log"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>>"$tls/openssl.log"
printf '%s\n' "subjectAltName=DNS:localhost,DNS:batch-db.test,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 7 \
    -extfile "$tls/server.ext" -out "$tls/server.crt" 2>>"$tls/openssl.log"
chmod 0600 "$tls/server.key"
chmod 0644 "$tls/ca.crt"
[ ${#as_owner[@]} -gt 0 ] && chown -R postgres: "$tls"
printf '%s\n' "ssl = on" "ssl_cert_file = '$tls/server.crt'" "ssl_key_file = '$tls/server.key'" >>"$data/postgresql.conf"

cat >"$folder/control" <<EOF
#!/usr/bin/env bash
# stop | start | restart the test server of scripts/with-postgres.sh
set -euo pipefail
# The server must not inherit what its caller holds open (a caller waiting for this script's end, or reading its
# output, would wait for the server's): descriptors above 2 are closed, and pg_ctl's own output goes to a log.
for fd in \$(ls /proc/\$\$/fd); do
    if [ "\$fd" -gt 2 ]; then eval "exec \$fd>&-" 2>/dev/null || true; fi
done
case "\${1:-}" in
    stop) ${as_owner[*]} "$bin/pg_ctl" -D "$data" -m fast -w stop </dev/null >>"$folder/control.log" 2>&1 ;;
    start | restart) ${as_owner[*]} "$bin/pg_ctl" -D "$data" -l "$folder/server.log" -w \\
        -o "-p $port -k $folder -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=200" "\$1" \\
        </dev/null >>"$folder/control.log" 2>&1 ;;
    *) echo "usage: \$0 stop|start|restart" >&2; exit 2 ;;
esac || { tail -20 "$folder/control.log" "$folder/server.log" >&2; exit 1; }
EOF
chmod 0755 "$folder/control"

stop_server() {
    "$folder/control" stop 2>/dev/null || true
    rm -rf "$folder"
}
trap stop_server EXIT

"$folder/control" start || {
    cat "$folder/server.log" >&2
    exit 1
}
PGPASSWORD="$password" "$bin/psql" -q -h 127.0.0.1 -p "$port" -U batchtest -d postgres \
    -c "CREATE DATABASE batch_test" >/dev/null

export BATCH_TEST_POSTGRES_URL="postgres://batchtest:$password@127.0.0.1:$port/batch_test?sslmode=disable"
export BATCH_TEST_POSTGRES_CONTROL="$folder/control"
export BATCH_TEST_POSTGRES_CA="$tls/ca.crt"
echo "with-postgres: started PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"

set +e
"$@"
status=$?
set -e
exit $status
