#!/usr/bin/env bash
# Browser tests of the portal: playwright-core (npm, pinned in tests/portal/package-lock.json)
# driving Debian's Chromium against a real `galleon serve`, inside a loopback-only network
# namespace when the machine allows one. Installs Chromium and the npm package when missing.
# PORTAL_SCREENSHOTS=docs/screenshots refreshes the screenshots the README links.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)
command -v qemu-img >/dev/null || need+=(qemu-utils)   # makes the VHD the upload test sends
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -d tests/portal/node_modules/playwright-core ]; then
    (cd tests/portal && npm ci --no-audit --no-fund --silent)
fi

cargo build --quiet -p galleon
export GALLEON_BIN="$PWD/target/debug/galleon"
if [ -n "${PORTAL_SCREENSHOTS:-}" ]; then
    PORTAL_SCREENSHOTS="$(realpath -m "$PORTAL_SCREENSHOTS")"
    export PORTAL_SCREENSHOTS
fi
run=(node --test --test-concurrency=1 ${PORTAL_TESTS:-tests/portal/})
if unshare -n true 2>/dev/null; then
    exec unshare -n -- sh -c 'ip link set lo up 2>/dev/null; exec "$@"' sh "${run[@]}"
fi
echo "note: no network namespace available; running without the loopback-only guard" >&2
exec "${run[@]}"
