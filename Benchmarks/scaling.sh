#!/usr/bin/env bash
# How batchproc's time and memory grow with the batch (1,000, 10,000 and 100,000 records per source):
#   cd Benchmarks && ./scaling.sh [--kinds sqs,kafka] [--runs 3]
# Needs python3 (no packages). The events (about 1 GB for all sources at 100,000 records) go to Comparison/.events.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
swift build -c release --product batchproc --package-path "$root"
python3 "$here/Comparison/scaling.py" --batchproc "$root/.build/release/batchproc" --events "$here/Comparison/.events" "$@"
