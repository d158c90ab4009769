#!/usr/bin/env bash
# Checks every CloudFormation / SAM template of the project with cfn-lint (from PyPI, pinned below), installed the
# first time into a virtual environment in the user's cache folder (kept across clones; about 30 s to make).
# `make test` runs it before the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.58.0
venv="${XDG_CACHE_HOME:-$HOME/.cache}/swift-batch-processing/cfn-lint-$version"
if [ ! -x "$venv/bin/cfn-lint" ]; then
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$version"
fi
templates=(Dashboards/cloudwatch/template.yaml)
for extra in Examples/template.yaml; do
    [ -f "$extra" ] && templates+=("$extra")
done
"$venv/bin/cfn-lint" "${templates[@]}"
echo "lint-templates: ${templates[*]} pass cfn-lint $version"
