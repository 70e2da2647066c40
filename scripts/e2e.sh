#!/usr/bin/env bash
# End-to-end tests: the real galleon binary driven by the official Azure Python SDK.
# Creates (or reuses) a venv with the pinned clients, then runs pytest inside a loopback-only
# network namespace when the machine allows one, so no client can reach anything but galleon.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-e2e
req=tests/e2e/requirements.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    echo "$want" > "$stamp"
fi

# Azurite (npm) serves page blobs for the http(s) import test.
if command -v npm >/dev/null && [ ! -x .azurite/node_modules/.bin/azurite-blob ]; then
    npm install --prefix .azurite --no-audit --no-fund --silent azurite@3.35.0 >/dev/null
fi
export AZURITE_BLOB="$PWD/.azurite/node_modules/.bin/azurite-blob"

cargo build --quiet -p galleon
export GALLEON_BIN=target/debug/galleon
# The machine's REQUESTS_CA_BUNDLE must not decide trust: tests pass galleon's CA explicitly.
unset REQUESTS_CA_BUNDLE
run=("$venv/bin/python" -m pytest tests/e2e -q -p no:cacheprovider "$@")
if unshare -n true 2>/dev/null; then
    exec unshare -n -- sh -c 'ip link set lo up 2>/dev/null; exec "$@"' sh "${run[@]}"
fi
echo "note: no network namespace available; running without the loopback-only guard" >&2
exec "${run[@]}"
