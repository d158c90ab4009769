#!/usr/bin/env bash
# Builds the DocC documentation of every public module with swift-docc-plugin and fails on any DocC warning (an
# unresolved link, a parameter left undocumented where others are documented). The archives land in
# .build/plugins/Swift-DocC/outputs/; `swift package --disable-sandbox preview-documentation --target NAME` serves
# one locally.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(BatchProcessing BatchIdempotency BatchIdempotencyPostgres BatchRunner BatchRunnerPostgres Observability
    JSONLogging EMFMetrics JournaldLogging BatchProcessingTesting BatchIdempotencyTesting)
arguments=()
for target in "${targets[@]}"; do arguments+=(--target "$target"); done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! swift package generate-documentation "${arguments[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "check-docs: generate-documentation failed" >&2
    exit 1
fi
# SwiftPM's own notes about a dependency's stray files are not DocC's and not ours.
warnings=$(grep -A4 "warning:" "$log" | grep -v -e "found 1 file(s) which are unhandled" -e "CMakeLists.txt" || true)
if grep -q "warning:" <<<"$warnings"; then
    echo "$warnings" >&2
    echo "check-docs: DocC warnings above" >&2
    exit 1
fi
echo "check-docs: ${targets[*]} documented without warnings"
