#!/usr/bin/env bash
# Packages a user's own program as a user would, and runs the package as Lambda would, in an empty root:
#
#     scripts/check-lambda-package.sh [--release]
#
# Makes a package in a temporary folder outside the repository that depends on this one by path, with a handler of
# its own (an SQS order handler) and a chain file; runs `swift package --allow-writing-to-package-directory
# lambda-package --resources orders.yaml` in it (the plugin this package offers); checks that the zip holds
# `bootstrap` and the chain file and that the program needs nothing from the system; then, in an empty root holding
# only the unpacked zip (scripts/empty-root.sh, as root), serves it two invocations from the stand-in Runtime API
# (scripts/fake-lambda-runtime.py, reached by a name from the root's /etc/hosts) and checks the answers: the partial
# batch response naming the refused order, and the second batch's orders replayed from the file store in /tmp.
#
# A debug build by default (CI), sharing .build-lambda-debug with scripts/package-lambda.sh --debug, so that the
# library's modules built there are not built again; --release for a release build in the package's own .build.
set -euo pipefail
cd "$(dirname "$0")/.."
repository=$(pwd)

configuration=(--debug)
scratch=(--scratch-path "$repository/.build-lambda-debug")
if [ "${1:-}" = "--release" ]; then
    configuration=()
    scratch=()
fi

package=$(mktemp -d /tmp/lambda-user-package.XXXXXX)
trap 'rm -rf "$package"' EXIT
mkdir -p "$package/Sources/orders"
cat >"$package/Package.swift" <<EOF
// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "orders",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "swift-batch-processing", path: "$repository")],
    targets: [
        .executableTarget(
            name: "orders",
            dependencies: [
                .product(name: "BatchProcessing", package: "swift-batch-processing"),
                .product(name: "BatchRunner", package: "swift-batch-processing"),
            ]
        )
    ]
)
EOF
cat >"$package/Sources/orders/Orders.swift" <<'EOF'
import BatchProcessing
import BatchRunner

struct Order: Decodable { var orderId: String; var amountCents: Int }

struct OrderRefused: Error, CustomStringConvertible {
    var orderId: String
    var description: String { "order \(orderId) refused" }
}

@main
enum Orders {
    static func main() {
        BatchProgram(name: "orders", abstract: "Charge orders.") {
            (message: SQSEvent.Message, context: RecordContext) in
            let order = try message.decodeBody(as: Order.self)
            guard order.amountCents > 0 else { throw OrderRefused(orderId: order.orderId) }
            context.logger.info("order charged", metadata: ["order_id": "\(order.orderId)"])
        }.main()
    }
}
EOF
cat >"$package/orders.yaml" <<'EOF'
middleware:
  - retry: { maxAttempts: 2, baseDelayMs: 1 }
  - idempotency:
      store: { file: { directory: /tmp/orders-store } }
EOF
event() {
    local records=""
    for order in "$@"; do
        local id=${order%%=*} amount=${order#*=}
        records+="${records:+,}{\"messageId\":\"m-$id\",\"body\":\"{\\\"orderId\\\":\\\"$id\\\",\\\"amountCents\\\":$amount}\",\"eventSource\":\"aws:sqs\"}"
    done
    echo "{\"Records\":[$records]}"
}
event a=100 b=0 c=250 >"$package/first.json"
event a=100 c=250 d=7 >"$package/second.json"

echo "check-lambda-package: swift package lambda-package ${configuration[*]} in $package"
(cd "$package" && swift package "${scratch[@]}" --allow-writing-to-package-directory lambda-package \
    "${configuration[@]}" --resources orders.yaml) | tee "$package/packaging.log"
zip="$package/.build/lambda/orders.zip"
grep -q "bootstrap needs nothing from the system" "$package/packaging.log" || {
    echo "check-lambda-package: the packager did not say the program needs nothing from the system" >&2
    exit 1
}
python3 - "$zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    names = {i.filename: i.external_attr >> 16 for i in z.infolist()}
assert set(names) == {"bootstrap", "orders.yaml"}, names
assert names["bootstrap"] & 0o111, "bootstrap is not executable"
PY

result=$(scripts/empty-root.sh --host lambda-runtime.test=127.0.0.1 "$zip" -- \
    bash -c 'scripts/fake-lambda-runtime.py --lambda-environment "$@" -- "$(command -v chroot)" "$ROOT" /var/task/bootstrap' _ \
    --host lambda-runtime.test --env BATCH_PROCESSING_CONFIG=/var/task/orders.yaml \
    "$package/first.json" "$package/second.json" 2>"$package/run.log") || { cat "$package/run.log" >&2; exit 1; }
echo "check-lambda-package: in an empty root, under the Lambda Runtime API -> $result"
python3 - "$result" "$package/run.log" <<'PY'
import json, sys
result = json.loads(sys.argv[1])
log = [json.loads(line) for line in open(sys.argv[2]) if line.startswith("{")]
assert result["initError"] is None, result
first, second = result["invocations"]
assert first["response"] == {"batchItemFailures": [{"itemIdentifier": "m-b"}]}, first
assert second["response"] == {"batchItemFailures": []}, second
charged = [entry["order_id"] for entry in log if entry.get("message") == "order charged"]
assert sorted(charged) == ["a", "c", "d"], f"charged {charged}: a and c must be replays the second time"
PY
echo "check-lambda-package: the user's program, packaged by the plugin, answered as Lambda expects in an empty root"
