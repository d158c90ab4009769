#!/usr/bin/env bash
# Packages example programs for AWS Lambda's provided.al2023 runtime:
#
#     scripts/package-lambda.sh [--check] [--debug] [--any-glibc] [PRODUCT...]     (default: every example)
#
# For each product, a release build with the Swift runtime linked in (--static-swift-stdlib, in .build-lambda;
# about 5 minutes on two cores the first time, seconds after),
# then .build-lambda/PRODUCT.zip holding `bootstrap` (the program, which runs as the function's runtime when
# Lambda starts it without arguments) and the example's chain files (*.yaml), which land in /var/task: point
# BATCH_PROCESSING_CONFIG at one (Examples/template.yaml does). The binary must need nothing from the machine beyond
# what Amazon Linux 2023 has (glibc, libstdc++...): no Swift runtime, no libsystemd.
#
# With --check, each packaged bootstrap is also run as a test (msk-inventory's needs the PostgreSQL server of
# scripts/with-postgres.sh, where its table is made with sql/postgres/001_batch_idempotency.sql): `bootstrap invoke` on the example's first event, and
# as Lambda runs it, under scripts/fake-lambda-runtime.py. With --debug, the build is a debug one, in
# .build-lambda-debug (a program linked with the Swift runtime cannot share .build with one linked without: SwiftPM
# does not tell their objects apart), which takes less time than the release build: CI checks the packaging that
# way. Deploy release builds.
#
# Build on the same CPU architecture as the function (x86_64 here; arm64 for Graviton functions), on a system whose
# glibc and libstdc++ are no newer than Amazon Linux 2023's (glibc 2.34, GLIBCXX_3.4.29): a program linked against
# newer ones does not start there. The script reads the versions the program needs (objdump) and stops with the
# symbols to blame when they are too new; --any-glibc packages anyway (CI does, on Debian 12, to check the rest).
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
any_glibc=false
configuration=release
scratch=.build-lambda
while [ $# -gt 0 ]; do
    case "$1" in
        --check) check=true; shift ;;
        --any-glibc) any_glibc=true; shift ;;
        --debug) configuration=debug; scratch=.build-lambda-debug; shift ;;
        *) break ;;
    esac
done
products=("$@")
if [ ${#products[@]} -eq 0 ]; then
    products=(sqs-orders kinesis-clickstream msk-inventory dynamodb-customers)
fi

folder_of() {
    case "$1" in
        sqs-orders) echo Examples/SQSOrders ;;
        kinesis-clickstream) echo Examples/KinesisClickstream ;;
        msk-inventory) echo Examples/MSKInventory ;;
        dynamodb-customers) echo Examples/DynamoDBCustomers ;;
        *) echo "package-lambda: unknown example '$1' (sqs-orders, kinesis-clickstream, msk-inventory, dynamodb-customers)" >&2; exit 2 ;;
    esac
}
event_of() {
    case "$1" in
        sqs-orders) echo Examples/Events/sqs-orders/orders-1.json ;;
        kinesis-clickstream) echo Examples/Events/kinesis-clickstream/clicks-1.json ;;
        msk-inventory) echo Examples/Events/msk-inventory/inventory-1.json ;;
        dynamodb-customers) echo Examples/Events/dynamodb-customers/customers-1.json ;;
    esac
}

for product in "${products[@]}"; do
    folder=$(folder_of "$product")
    echo "--- $product: $configuration build, Swift runtime linked in"
    swift build -c "$configuration" --static-swift-stdlib --product "$product" --scratch-path "$scratch"
    binary=$scratch/$configuration/$product
    if ldd "$binary" | grep -E 'libswift|libFoundation|libsystemd|libdispatch|libicu'; then
        echo "package-lambda: $product needs the libraries above at run time; Lambda's provided.al2023 lacks them" >&2
        exit 1
    fi
    # The newest glibc and libstdc++ symbol versions the program needs, against Amazon Linux 2023's.
    symbols=$(objdump -T "$binary")
    newest() { grep -o "$1[0-9.]*" <<<"$symbols" | sed "s/^$1//" | sort -uV | tail -1; }
    glibc=$(newest GLIBC_)
    glibcxx=$(newest GLIBCXX_)
    too_new=()
    if [ -n "$glibc" ] && [ "$(printf '%s\n' "$glibc" 2.34 | sort -V | tail -1)" != 2.34 ]; then
        too_new+=("glibc $glibc ($(grep -E "GLIBC_$glibc\b" <<<"$symbols" | awk '{print $NF}' | sort -u | head -3 | tr '\n' ' '))")
    fi
    if [ -n "$glibcxx" ] && [ "$(printf '%s\n' "$glibcxx" 3.4.29 | sort -V | tail -1)" != 3.4.29 ]; then
        too_new+=("libstdc++ GLIBCXX_$glibcxx ($(grep -E "GLIBCXX_$glibcxx\b" <<<"$symbols" | awk '{print $NF}' | sort -u | head -3 | tr '\n' ' '))")
    fi
    if [ ${#too_new[@]} -gt 0 ]; then
        message="package-lambda: $product needs ${too_new[*]}: newer than Amazon Linux 2023's (glibc 2.34, GLIBCXX_3.4.29), so it would not start on provided.al2023. Build on Amazon Linux 2023, or in a Swift image for it (Examples/README.md)."
        if $any_glibc; then
            echo "$message (packaged anyway: --any-glibc)" >&2
        else
            echo "$message" >&2
            exit 1
        fi
    fi
    stage=.build-lambda/package/$product
    rm -rf "$stage" ".build-lambda/$product.zip"
    mkdir -p "$stage"
    cp "$binary" "$stage/bootstrap"
    strip "$stage/bootstrap" 2>/dev/null || true
    cp "$folder"/*.yaml "$stage/"
    # zip, or Python's zipfile where zip is missing: both keep the files' modes, so bootstrap stays executable.
    if command -v zip >/dev/null 2>&1; then
        (cd "$stage" && zip -q -X "../../$product.zip" ./*)
    else
        (cd "$stage" && python3 -m zipfile -c "../../$product.zip" ./*)
    fi
    echo "package-lambda: .build-lambda/$product.zip ($(du -h ".build-lambda/$product.zip" | cut -f1)): $(cd "$stage" && ls | tr '\n' ' ')"

    if $check; then
        event=$(event_of "$product")
        config=$(ls "$stage"/*.yaml | head -1)
        store=$(mktemp -d)
        variables=("BATCH_PROCESSING_CONFIG=$config" "BATCH_PROCESSING_IDEMPOTENCY_STORE_FILE_DIRECTORY=$store")
        if [ "$product" = msk-inventory ]; then
            variables+=("BATCH_PROCESSING_IDEMPOTENCY_STORE_POSTGRES_URL=${BATCH_TEST_POSTGRES_URL:?msk-inventory needs a PostgreSQL server: run under scripts/with-postgres.sh}")
            variables+=("BATCH_PROCESSING_IDEMPOTENCY_STORE_POSTGRES_TABLE=batch_idempotency")
            psql "$BATCH_TEST_POSTGRES_URL" --quiet -v ON_ERROR_STOP=1 -f sql/postgres/001_batch_idempotency.sql
        fi
        answer=$(env "${variables[@]}" "$stage/bootstrap" invoke "$event" 2>/dev/null) || true
        echo "package-lambda: bootstrap invoke $event -> $answer"
        case "$answer" in
            '{"batchItemFailures":'*) ;;
            *) echo "package-lambda: the packaged $product did not answer with a partial batch response" >&2; exit 1 ;;
        esac
        # A new store, so that Lambda's run is not all replays of the one above.
        rm -rf "$store"; mkdir -p "$store"
        arguments=()
        for variable in "${variables[@]}"; do arguments+=(--env "$variable"); done
        result=$(scripts/fake-lambda-runtime.py "${arguments[@]}" "$event" -- "$stage/bootstrap" 2>/dev/null)
        echo "package-lambda: under the Lambda Runtime API -> $result"
        python3 - "$result" "$answer" <<'PY'
import json, sys
result, answer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
invocations = result["invocations"]
assert result["initError"] is None, f"the bootstrap could not start: {result['initError']}"
assert len(invocations) == 1 and "response" in invocations[0], f"no response to the invocation: {result}"
assert invocations[0]["response"] == answer, f"Lambda got {invocations[0]['response']}, invoke answered {answer}"
PY
        rm -rf "$store"
    fi
done
