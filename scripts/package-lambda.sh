#!/usr/bin/env bash
# Packages the example programs for AWS Lambda's provided.al2023 runtime:
#
#     scripts/package-lambda.sh [--check] [--debug] [--dynamic [--any-glibc]] [PRODUCT...]   (default: every example)
#
# For each product, the `lambda-package` plugin of this package (what a user's own package runs:
# `swift package --allow-writing-to-package-directory lambda-package --product NAME --resources FILE...`) builds it
# statically (Swift, Foundation and glibc inside the program: it needs nothing from the machine Lambda runs it on,
# whatever glibc that has), checks that, and writes .build-lambda/PRODUCT.zip holding `bootstrap` (the program,
# which runs as the function's runtime when Lambda starts it without arguments) and the example's chain files
# (*.yaml), which land in /var/task: point BATCH_PROCESSING_CONFIG at one (Examples/template.yaml does). Release
# builds go to .build-lambda (about 4 minutes on two cores the first time); with --debug, to .build-lambda-debug
# (quicker to build, for checks: CI packages that way). Deploy release builds.
#
# With --check, each package is also run: `bootstrap invoke` on the example's first event, then as Lambda runs it
# (scripts/fake-lambda-runtime.py, a stand-in Runtime API), then the same in an empty root file system holding only
# the unpacked zip (scripts/empty-root.sh: chroot, so run it as root), where the Runtime API is reached by a name
# from the root's /etc/hosts. msk-inventory's check needs the PostgreSQL server of scripts/with-postgres.sh (its
# table is made with sql/postgres/001_batch_idempotency.sql), reached in the empty root by a name too, over TLS with
# sslmode=verify-full against the root certificates in the root's /etc/pki/tls/certs/ca-bundle.crt (Amazon Linux's
# place for them).
#
# With --dynamic, the old way: the Swift runtime linked in (--static-swift-stdlib) but glibc and libstdc++ taken from
# the machine Lambda runs it on, in .build-lambda-dynamic. Such a program starts only where those are at least as new
# as the ones it was linked with, so the script reads the versions it needs (objdump) and refuses one that needs
# more than Amazon Linux 2023 has (glibc 2.34, GLIBCXX_3.4.29), naming the symbols; --any-glibc packages anyway.
set -euo pipefail
# The DNS server of a check, stopped however the script ends.
dns=""
trap 'if [ -n "$dns" ]; then kill "$dns" 2>/dev/null || true; fi' EXIT
cd "$(dirname "$0")/.."

check=false
any_glibc=false
dynamic=false
configuration=release
while [ $# -gt 0 ]; do
    case "$1" in
        --check) check=true; shift ;;
        --any-glibc) any_glibc=true; shift ;;
        --dynamic) dynamic=true; shift ;;
        --debug) configuration=debug; shift ;;
        *) break ;;
    esac
done
if $dynamic; then
    scratch=.build-lambda-dynamic
elif [ "$configuration" = debug ]; then
    scratch=.build-lambda-debug
else
    scratch=.build-lambda
fi
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

# The packager tool, for the --dynamic way (the plugin builds its own).
packager() {
    swift build --product lambda-packager --scratch-path .build-lambda-tool >/dev/null
    .build-lambda-tool/debug/lambda-packager "$@"
}

for product in "${products[@]}"; do
    folder=$(folder_of "$product")
    resources=()
    for file in "$folder"/*.yaml; do resources+=("$file"); done
    rm -f ".build-lambda/$product.zip"
    if ! $dynamic; then
        echo "--- $product: $configuration build, static (at ${SECONDS} s)"
        plugin=(--product "$product" --output .build-lambda)
        [ "$configuration" = debug ] && plugin+=(--debug)
        for file in "${resources[@]}"; do plugin+=(--resources "$file"); done
        swift package --scratch-path "$scratch" --allow-writing-to-package-directory lambda-package "${plugin[@]}"
    else
        echo "--- $product: $configuration build, Swift runtime linked in, glibc from the system (at ${SECONDS} s)"
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
            message="package-lambda: $product needs ${too_new[*]}: newer than Amazon Linux 2023's (glibc 2.34, GLIBCXX_3.4.29), so it would not start on provided.al2023. Package it statically (without --dynamic)."
            if $any_glibc; then
                echo "$message (packaged anyway: --any-glibc)" >&2
            else
                echo "$message" >&2
                exit 1
            fi
        fi
        strip "$binary" 2>/dev/null || true
        arguments=(--program "$binary" --name "$product" --output .build-lambda --allow-dynamic)
        for file in "${resources[@]}"; do arguments+=(--resource "$file"); done
        packager "${arguments[@]}"
    fi

    if $check; then
        stage=.build-lambda/package/$product
        rm -rf "$stage"
        mkdir -p "$stage"
        python3 -m zipfile -e ".build-lambda/$product.zip" "$stage"
        chmod 0755 "$stage/bootstrap"
        event=$(event_of "$product")
        config_name=$(cd "$stage" && ls *.yaml | head -1)
        config="$stage/$config_name"
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
        # In an empty root: only the unpacked zip, /proc, /tmp and /etc/hosts. The Runtime API (and the PostgreSQL
        # server) are reached by names the root's /etc/hosts gives, then, where dnsmasq is installed, by names a DNS
        # server gives.
        inside=("BATCH_PROCESSING_CONFIG=/var/task/$config_name" "BATCH_PROCESSING_IDEMPOTENCY_STORE_FILE_DIRECTORY=/tmp/store")
        if [ "$product" = msk-inventory ]; then
            # By name, over TLS, the server's certificate checked against the root certificates where Amazon Linux
            # keeps them (with-postgres.sh's server speaks TLS with a certificate for batch-db.test).
            inside+=("BATCH_PROCESSING_IDEMPOTENCY_STORE_POSTGRES_URL=$(sed -e 's/@127\.0\.0\.1:/@batch-db.test:/' \
                -e 's/sslmode=disable/sslmode=verify-full/' <<<"$BATCH_TEST_POSTGRES_URL")")
            inside+=("BATCH_PROCESSING_IDEMPOTENCY_STORE_POSTGRES_TABLE=batch_idempotency_root")
            psql "$BATCH_TEST_POSTGRES_URL" --quiet -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS batch_idempotency_root"
            sed 's/batch_idempotency/batch_idempotency_root/g' sql/postgres/001_batch_idempotency.sql \
                | psql "$BATCH_TEST_POSTGRES_URL" --quiet -v ON_ERROR_STOP=1
        fi
        arguments=(--host lambda-runtime.test)
        for variable in "${inside[@]}"; do arguments+=(--env "$variable"); done
        roots=("hosts:--host lambda-runtime.test=127.0.0.1 --host batch-db.test=127.0.0.1")
        if command -v dnsmasq >/dev/null 2>&1; then
            dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.77 \
                --port=53 --address=/lambda-runtime.test/127.0.0.1 --address=/batch-db.test/127.0.0.1 \
                --pid-file=/tmp/package-lambda-dnsmasq.pid --log-facility=/dev/null &
            dns=$!
            sleep 0.2
            kill -0 "$dns" 2>/dev/null || {
                echo "package-lambda: dnsmasq did not start on 127.0.0.77:53 (another DNS server there?)" >&2
                exit 1
            }
            roots+=("dns:--nameserver 127.0.0.77")
        fi
        for root in "${roots[@]}"; do
            kind=${root%%:*}
            read -r -a options <<<"${root#*:}"
            if [ "$product" = msk-inventory ]; then
                psql "$BATCH_TEST_POSTGRES_URL" --quiet -v ON_ERROR_STOP=1 -c "DELETE FROM batch_idempotency_root"
            fi
            if [ "$product" = msk-inventory ] && [ -n "${BATCH_TEST_POSTGRES_CA:-}" ]; then
                options+=(--file "$BATCH_TEST_POSTGRES_CA=/etc/pki/tls/certs/ca-bundle.crt")
            fi
            result=$(scripts/empty-root.sh "${options[@]}" ".build-lambda/$product.zip" -- \
                bash -c 'scripts/fake-lambda-runtime.py --lambda-environment "$@" -- "$(command -v chroot)" "$ROOT" /var/task/bootstrap' _ \
                "${arguments[@]}" "$event" 2>/dev/null)
            echo "package-lambda: in an empty root, names from $kind, under the Lambda Runtime API -> $result"
            python3 - "$result" "$answer" <<'PY'
import json, sys
result, answer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
invocations = result["invocations"]
assert result["initError"] is None, f"the bootstrap could not start in the empty root: {result['initError']}"
assert len(invocations) == 1 and "response" in invocations[0], f"no response in the empty root: {result}"
assert invocations[0]["response"] == answer, f"in the empty root Lambda got {invocations[0]['response']}, not {answer}"
PY
        done
        if [ -n "${dns:-}" ]; then kill "$dns" 2>/dev/null || true; wait "$dns" 2>/dev/null || true; dns=""; fi
        rm -rf "$store"
    fi
done
