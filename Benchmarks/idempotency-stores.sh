#!/usr/bin/env bash
# Idempotency's cost per record on each store, as whole batches through `batchproc process` (release build):
# a generated 10,000-record SQS event with no idempotency, with the file store, and with the PostgreSQL store on a
# local server of its own (scripts/with-postgres.sh), with and without prepared statements, at concurrency 1 and 16;
# best of 3 batch durations each (the
# `duration_ms` of the batch's summary line), the store emptied before each run. Then the DynamoDB store against
# moto's server (scripts/with-dynamodb.sh) on its first 1,000 records (moto, in Python, answers a request in
# milliseconds: the wall time is moto's), with batchproc's own CPU time per record beside it (what the store costs
# the function, whatever DynamoDB's latency), a new table each run.
#
#   cd Benchmarks && ./idempotency-stores.sh                                  # server with fsync off, as the tests
#   cd Benchmarks && BATCH_TEST_POSTGRES_FSYNC=on ./idempotency-stores.sh     # every commit flushed to disk
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [ -z "${BATCH_TEST_POSTGRES_URL:-}" ]; then
    exec "$root/scripts/with-postgres.sh" "$0" "$@"
fi
if [ -z "${BATCH_TEST_DYNAMODB_ENDPOINT:-}" ]; then
    exec "$root/scripts/with-dynamodb.sh" "$0" "$@"
fi
swift build -c release --product batchproc --package-path "$root" >&2
batchproc="$root/.build/release/batchproc"
event="$here/Comparison/.events/sqs-10k.json"
[ -f "$event" ] || python3 "$here/Comparison/make_events.py" "$here/Comparison/.events" >&2
store="$(mktemp -d)"
trap 'rm -rf "$store"' EXIT
"$batchproc" idempotency migrate --idempotency-postgres "$BATCH_TEST_POSTGRES_URL" >/dev/null

duration() {
    "$batchproc" process "$event" --log-level info "$@" 2>&1 >/dev/null \
        | grep -o '"duration_ms":[0-9.]*' | head -1 | cut -d: -f2
}
best() {
    local prepare=$1
    shift
    local best=""
    for _ in 1 2 3; do
        $prepare
        local value
        value=$(duration "$@")
        best=$(python3 -c "print(min(float('$value'), float('${best:-inf}')))")
    done
    echo "$best"
}
nothing() { :; }
empty_file_store() { rm -rf "$store/files"; }
empty_table() { psql "$BATCH_TEST_POSTGRES_URL" -qc "TRUNCATE batch_idempotency" >/dev/null; }

case "$BATCH_TEST_POSTGRES_URL" in
*\?*) unprepared="$BATCH_TEST_POSTGRES_URL&prepared_statements=off" ;;
*) unprepared="$BATCH_TEST_POSTGRES_URL?prepared_statements=off" ;;
esac

echo "| concurrency | no idempotency | file store | per record | PostgreSQL | per record | PostgreSQL, not prepared | per record |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for concurrency in 1 16; do
    none=$(best nothing --concurrency "$concurrency")
    file=$(best empty_file_store --concurrency "$concurrency" --idempotency-store "$store/files")
    postgres=$(best empty_table --concurrency "$concurrency" --idempotency-postgres "$BATCH_TEST_POSTGRES_URL")
    plain=$(best empty_table --concurrency "$concurrency" --idempotency-postgres "$unprepared")
    python3 -c "
none, file, postgres, plain = $none, $file, $postgres, $plain
per = lambda total: (total - none) * 1000 / 10000
print('| %d | %.0f ms | %.0f ms | %.1f µs | %.0f ms | %.1f µs | %.0f ms | %.1f µs |' % ($concurrency, none, file, per(file),
      postgres, per(postgres), plain, per(plain)))"
done

# DynamoDB (moto): wall time per record, and batchproc's CPU time (user + system) per record.
small="$store/sqs-1k.json"
python3 -c "
import json, sys
event = json.load(open(sys.argv[1]))
event['Records'] = event['Records'][:1000]
json.dump(event, open(sys.argv[2], 'w'))" "$event" "$small"
export AWS_ENDPOINT_URL_DYNAMODB="$BATCH_TEST_DYNAMODB_ENDPOINT" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDBENCH \
    AWS_SECRET_ACCESS_KEY=bench-secret
table=0
dynamodb_run() {
    table=$((table + 1))
    "$batchproc" idempotency migrate --idempotency-dynamodb "bench-$table" >/dev/null
    local started=$SECONDS
    /usr/bin/time -f "%U %S" -o "$store/cpu" "$batchproc" process "$small" --log-level info --concurrency "$1" \
        --idempotency-dynamodb "bench-$table" 2>"$store/log" >/dev/null
    local wall cpu
    wall=$(grep -o '"duration_ms":[0-9.]*' "$store/log" | head -1 | cut -d: -f2)
    cpu=$(awk '{print ($1 + $2) * 1000}' "$store/cpu")
    echo "$wall $cpu"
}
baseline_cpu() {
    /usr/bin/time -f "%U %S" -o "$store/cpu" "$batchproc" process "$small" --log-level info --concurrency "$1" \
        >/dev/null 2>&1
    awk '{print ($1 + $2) * 1000}' "$store/cpu"
}
echo
echo "| concurrency | DynamoDB (moto), 1,000 records | per record | batchproc CPU per record, DynamoDB store | without idempotency |"
echo "| --- | --- | --- | --- | --- |"
for concurrency in 1 16; do
    read -r wall cpu < <(dynamodb_run "$concurrency")
    base=$(baseline_cpu "$concurrency")
    python3 -c "
wall, cpu, base = $wall, $cpu, $base
print('| %d | %.0f ms | %.0f µs | %.0f µs | %.0f µs |' % ($concurrency, wall, wall, cpu, base))"
done
