#!/usr/bin/env bash
# batchproc against AWS Lambda Powertools for Python on the same generated events, in one run:
#   cd Benchmarks && ./compare-powertools.sh
# Needs python3 with venv and network access to PyPI (Powertools is installed in Comparison/.venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
comparison="$here/Comparison"
venv="$comparison/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "aws-lambda-powertools==3.37.0"
swift build -c release --product batchproc --package-path "$root"
python3 "$comparison/make_events.py" "$comparison/.events"
"$venv/bin/python" "$comparison/compare.py" \
    --batchproc "$root/.build/release/batchproc" \
    --python "$venv/bin/python" \
    --events "$comparison/.events" "$@"
