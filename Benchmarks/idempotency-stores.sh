#!/usr/bin/env bash
# Idempotency's cost per record on each store, as whole batches through `batchproc process` (release build):
# a generated 10,000-record SQS event with no idempotency, with the file store, and with the PostgreSQL store on a
# local server of its own (scripts/with-postgres.sh), with and without prepared statements, at concurrency 1 and 16;
# best of 3 batch durations each (the
# `duration_ms` of the batch's summary line), the store emptied before each run.
#
#   cd Benchmarks && ./idempotency-stores.sh                                  # server with fsync off, as the tests
#   cd Benchmarks && BATCH_TEST_POSTGRES_FSYNC=on ./idempotency-stores.sh     # every commit flushed to disk
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [ -z "${BATCH_TEST_POSTGRES_URL:-}" ]; then
    exec "$root/scripts/with-postgres.sh" "$0" "$@"
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
