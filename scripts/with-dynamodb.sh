#!/usr/bin/env bash
# Runs a command with a DynamoDB API of its own on loopback, for the tests of the DynamoDB idempotency store:
#
#   scripts/with-dynamodb.sh swift test
#
# When BATCH_TEST_DYNAMODB_ENDPOINT is already set (DynamoDB Local, or another server of yours), the command just
# runs. Otherwise this starts moto's server (`python3 -m moto.server`, PyPI's moto with Flask:
# scripts/install-system-packages.sh installs it) on a free port of 127.0.0.1, waits until it answers DynamoDB's
# ListTables, and exports, for the command:
#
#   BATCH_TEST_DYNAMODB_ENDPOINT   http://127.0.0.1:PORT
#
# moto keeps its tables in memory and does not check signatures (the signing tests compare with botocore instead).
# It is stopped when the command ends; the script exits with the command's status.
set -euo pipefail

if [ -n "${BATCH_TEST_DYNAMODB_ENDPOINT:-}" ]; then
    exec "$@"
fi

python3 -c 'import moto.server, flask' 2>/dev/null || {
    echo "with-dynamodb: moto's server is not installed (python3 -m pip install 'moto[server]';" \
        "scripts/install-system-packages.sh does)" >&2
    exit 1
}
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp /tmp/batch-dynamodb.XXXXXX.log)"
python3 -m moto.server -H 127.0.0.1 -p "$port" </dev/null >"$log" 2>&1 &
server=$!
stop_server() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -f "$log"
}
trap stop_server EXIT

endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    if python3 - "$endpoint" <<'PY' 2>/dev/null; then
import sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/", data=b"{}", method="POST", headers={
    "X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0"})
urllib.request.urlopen(request, timeout=1).read()
PY
        break
    fi
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "with-dynamodb: moto's server did not start" >&2; exit 1; }
    sleep 0.1
done
export BATCH_TEST_DYNAMODB_ENDPOINT="$endpoint"
echo "with-dynamodb: started moto $(python3 -c 'import moto; print(moto.__version__)') on $endpoint"

set +e
"$@"
status=$?
set -e
exit $status
