#!/usr/bin/env bash
# Installs the system packages the project needs, when they are missing. `install-system-packages.sh run` installs
# only what building and running the programs needs (what `make run` uses):
#   libsystemd-dev + pkg-config  to build the JournaldLogging module (it links libsystemd).
# `install-system-packages.sh test` (the default, what `make test` and CI use) adds what the tests and scripts use:
#   systemd                      for systemd-journald and journalctl, which the journald tests use;
#   procps                       for pgrep, with which scripts/with-journald.sh looks for a running journald;
#   bsdutils                     for logger, with which scripts/with-journald.sh checks that journald answers;
#   postgresql                   a PostgreSQL server (and psql) for the PostgreSQL idempotency store's tests, which
#                                scripts/with-postgres.sh starts in a temporary folder; runuser (util-linux) starts
#                                it as the `postgres` user when the tests run as root;
#   jsonschema (Python)          for the tests that validate EMF documents against the specification's schema;
#   botocore, moto[server] (Python)  the reference signer for the DynamoDB store's signing tests, and a DynamoDB API
#                                on loopback for its store tests (scripts/with-dynamodb.sh);
#   python3-venv                 for scripts/lint-templates.sh, which installs cfn-lint (PyPI) in a venv;
#   binutils                     objdump, with which scripts/package-lambda.sh --dynamic reads which glibc a program
#                                needs;
#   dnsmasq-base                 a DNS server (the program only, no service), with which scripts/package-lambda.sh
#                                --check resolves names in the empty root a package is run in;
#   zlib1g-dev                   zlib, which the Lambda packager links (the Swift toolchain needs it too);
#   chromium                     headless, for the test that opens `batchproc replay --report`'s page.
# Debian and Ubuntu only; elsewhere it says what to install. Runs apt-get update before installing.
set -euo pipefail

purpose="${1:-test}"
case "$purpose" in
run | test) ;;
*)
    echo "usage: install-system-packages.sh [run|test]  (run: to build and run the programs; test: also the tests)" >&2
    exit 2
    ;;
esac

packages=()
pkg-config --exists libsystemd 2>/dev/null || packages+=(libsystemd-dev pkg-config)
pkg-config --exists zlib 2>/dev/null || packages+=(zlib1g-dev)
if [ "$purpose" = test ]; then
    if [ ! -x /lib/systemd/systemd-journald ] || ! command -v journalctl >/dev/null 2>&1; then
        packages+=(systemd)
    fi
    command -v pgrep >/dev/null 2>&1 || packages+=(procps)
    command -v logger >/dev/null 2>&1 || packages+=(bsdutils)
    command -v python3 >/dev/null 2>&1 || packages+=(python3 python3-pip)
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        packages+=(python3-venv)
    fi
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
        packages+=(postgresql)
    fi
    command -v runuser >/dev/null 2>&1 || packages+=(util-linux)
    # objdump: scripts/package-lambda.sh reads which glibc a packaged program needs.
    command -v objdump >/dev/null 2>&1 || packages+=(binutils)
    command -v dnsmasq >/dev/null 2>&1 || packages+=(dnsmasq-base)
    # openssl: scripts/with-postgres.sh makes its server's TLS certificate, and tests make an authority of their own.
    command -v openssl >/dev/null 2>&1 || packages+=(openssl)
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || packages+=(chromium)
fi

if [ ${#packages[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-system-packages: please install ${packages[*]} (or your system's equivalents)" >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "install-system-packages: run as root to install ${packages[*]}" >&2; exit 1; }
        sudo="sudo"
    fi
    echo "install-system-packages: installing ${packages[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

if [ "$purpose" = test ] && ! python3 -c 'import jsonschema' 2>/dev/null; then
    echo "install-system-packages: installing Python's jsonschema"
    python3 -m pip install --quiet jsonschema 2>/dev/null \
        || { command -v apt-get >/dev/null 2>&1 && ${sudo:-} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-jsonschema; }
    python3 -c 'import jsonschema'
fi

# botocore: the reference the DynamoDB store's request signing is compared with. moto (with its server's Flask): a
# DynamoDB API on loopback for the DynamoDB store's tests (scripts/with-dynamodb.sh starts it).
if [ "$purpose" = test ] && ! python3 -c 'import botocore, moto.server, flask' 2>/dev/null; then
    echo "install-system-packages: installing Python's botocore and moto[server]"
    python3 -m pip install --quiet botocore "moto[server]>=5"
    python3 -c 'import botocore, moto.server, flask'
fi
