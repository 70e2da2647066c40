#!/usr/bin/env bash
# Every test galleon has, on a fresh machine: formatting and lints, the Rust unit, conformance
# and in-process API tests, then the end-to-end tests with the official Azure SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

command -v cargo >/dev/null || { echo "cargo is required (rustup.rs)" >&2; exit 1; }
need=()
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v qemu-img >/dev/null || need+=(qemu-utils)   # makes the VHDs the content tests import
command -v haproxy >/dev/null || need+=(haproxy)       # the load balancer of the multi-node tests
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)   # the multi-node database
command -v openssl >/dev/null || need+=(openssl)     # the HTTPS object store's throwaway CA
command -v npm >/dev/null || need+=(nodejs npm)      # Azurite
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

# A throwaway PostgreSQL cluster for the PostgreSQL backend and the multi-node tests, and the
# object stores (Azurite, moto's S3) for the region stores on object storage.
pg_dir=$(mktemp -d)
os_dir=$(mktemp -d)
trap 'scripts/postgres.sh stop "$pg_dir"; scripts/objectstores.sh stop "$os_dir"; rm -rf "$pg_dir" "$os_dir"' EXIT
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
GALLEON_TEST_DATABASE_URL=$(scripts/postgres.sh start "$pg_dir" "$pg_port")
export GALLEON_TEST_DATABASE_URL GALLEON_REQUIRE_POSTGRES=1
for assignment in $(scripts/objectstores.sh start "$os_dir"); do export "${assignment?}"; done
export GALLEON_REQUIRE_OBJECT_STORES=1

# Two cores: keep test binaries from oversubscribing them.
cargo test --workspace --quiet -- --test-threads=4
# The whole in-process ARM suite again with the metadata on PostgreSQL (a schema per test).
GALLEON_TEST_BACKEND=postgres cargo test --quiet -p galleon_api --test api -- --test-threads=4
scripts/e2e.sh
scripts/portal-tests.sh
