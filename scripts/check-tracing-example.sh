#!/usr/bin/env bash
# Runs the tracing article's example (Documentation/Tracing, a package of its own because swift-otel takes minutes to
# build) for real: builds it, starts a local OTLP/HTTP receiver (scripts/otlp-receiver.py, with opentelemetry-proto
# from PyPI in a virtual environment in the user's cache folder), runs the example on a sample SQS batch with one
# refused order, and checks the spans that arrive: one `process batch` span, one `process record` child per record
# with its outcome and attempts, the failed record's error status, the service name, and that the answer names the
# failed record. CI runs it after the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.45.2
venv="${XDG_CACHE_HOME:-$HOME/.cache}/swift-batch-processing/otlp-proto-$version"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import opentelemetry.proto" 2>/dev/null; then
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "opentelemetry-proto==$version"
fi
# Built in the repository's own .build, so that what the tests built (this package's modules, swift-nio…) is not
# built again: swift-otel alone is new (about 1.5 minutes instead of 5 on two cores).
swift build --package-path Documentation/Tracing --scratch-path "$PWD/.build" --product tracing-example
binary=".build/debug/tracing-example"

work=$(mktemp -d)
receiver=""
cleanup() {
    [ -n "$receiver" ] && kill "$receiver" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
"$venv/bin/python" scripts/otlp-receiver.py "$work/port" "$work/spans.jsonl" &
receiver=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "check-tracing-example: the OTLP receiver did not start" >&2; exit 1; }
port=$(cat "$work/port")

cat >"$work/event.json" <<'JSON'
{"Records": [
  {"messageId": "order-1", "body": "{\"orderId\": \"1\"}", "eventSource": "aws:sqs",
   "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}},
  {"messageId": "order-2", "body": "{\"orderId\": \"2\", \"refuse\": true}", "eventSource": "aws:sqs",
   "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}},
  {"messageId": "order-3", "body": "{\"orderId\": \"3\"}", "eventSource": "aws:sqs",
   "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}}
]}
JSON
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$port" POWERTOOLS_METRICS_NAMESPACE=TracingCheck \
    timeout 120 "$binary" "$work/event.json" >"$work/stdout" 2>"$work/stderr" || {
    echo "check-tracing-example: the example failed; its stderr:" >&2
    cat "$work/stderr" >&2
    exit 1
}
"$venv/bin/python" - "$work/spans.jsonl" "$work/stdout" "$work/stderr" <<'PY'
import json, sys
spans = [json.loads(line) for line in open(sys.argv[1])]
answer = open(sys.argv[2]).read()
logs = open(sys.argv[3]).read()
problems = []
if any("wrong_path" in span for span in spans):
    problems.append(f"the exporter posted to {[s['wrong_path'] for s in spans if 'wrong_path' in s]}, not /v1/traces")
spans = [span for span in spans if "name" in span]
batches = [span for span in spans if span["name"] == "process batch"]
records = [span for span in spans if span["name"] == "process record"]
if len(batches) != 1:
    problems.append(f"{len(batches)} `process batch` spans arrived, not 1 (names: {[s['name'] for s in spans]})")
if len(records) != 3:
    problems.append(f"{len(records)} `process record` spans arrived, not 3")
if batches:
    batch = batches[0]
    for record in records:
        if record["parent_span_id"] != batch["span_id"] or record["trace_id"] != batch["trace_id"]:
            problems.append(f"record span {record['attributes']} is not a child of the batch span")
    if batch["attributes"].get("batch.event_source") != "aws:sqs":
        problems.append(f"batch span attributes: {batch['attributes']}")
by_id = {record["attributes"].get("batch.record.item_identifier"): record for record in records}
expected = {"order-1": ("succeeded", "unset"), "order-2": ("failed", "error"), "order-3": ("succeeded", "unset")}
for identifier, (outcome, status) in expected.items():
    record = by_id.get(identifier)
    if record is None:
        problems.append(f"no record span for {identifier}")
        continue
    if record["attributes"].get("batch.record.outcome") != outcome:
        problems.append(f"{identifier}: outcome {record['attributes'].get('batch.record.outcome')}, not {outcome}")
    if record["status"] != status:
        problems.append(f"{identifier}: status {record['status']}, not {status}")
    if record["attributes"].get("batch.record.attempts") != 1:
        problems.append(f"{identifier}: attempts {record['attributes'].get('batch.record.attempts')}")
if any(span["service"] != "orders-worker" for span in spans):
    problems.append(f"service names: {set(span['service'] for span in spans)}")
if json.loads(answer) != {"batchItemFailures": [{"itemIdentifier": "order-2"}]}:
    problems.append(f"the answer is {answer!r}")
charging = [json.loads(line) for line in logs.splitlines() if '"charging"' in line]
if len(charging) != 3 or any("trace_id" not in line or "span_id" not in line for line in charging):
    problems.append(f"the handler's lines lack trace_id/span_id: {charging}")
if any(line.get("service") != "orders-worker" for line in charging):
    problems.append(f"the handler's lines name another service: {[line.get('service') for line in charging]}")
if problems:
    print("check-tracing-example:\n  " + "\n  ".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"check-tracing-example: {len(spans)} spans exported over OTLP/HTTP as the article says")
PY
