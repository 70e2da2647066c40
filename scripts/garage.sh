#!/usr/bin/env bash
# Opt-in (not in CI): the object-store tests against Garage, a real distributed S3 store, in
# place of moto's mock. Builds Garage 2.5.0 from crates.io once into a cache directory (about
# 20 minutes on two cores; AGPL-3.0, run as a separate process only), starts a one-node cluster
# on loopback, and runs the chunk-store suite and the end-to-end replication flow with their S3
# store on it (Azurite still serves the Azure regions).
#
# Usage: scripts/garage.sh            (cache: $GALLEON_GARAGE_CACHE or ~/.cache/galleon-garage)
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${GALLEON_GARAGE_CACHE:-$HOME/.cache/galleon-garage}
garage=$cache/bin/garage
if [ ! -x "$garage" ]; then
    echo "building garage 2.5.0 into $cache (once; about 20 minutes)" >&2
    cargo install --locked --root "$cache" garage@2.5.0 --no-default-features --features bundled-libs,sqlite
fi

work=$(mktemp -d)
trap 'kill $(cat "$work/garage.pid" 2>/dev/null) 2>/dev/null || true; scripts/objectstores.sh stop "$work/os"; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rpc=$(free_port)
s3=$(free_port)
cat >"$work/garage.toml" <<CONF
metadata_dir = "$work/meta"
data_dir = "$work/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"
CONF
g() { "$garage" -c "$work/garage.toml" "$@"; }
g server >"$work/garage.log" 2>&1 &
echo $! >"$work/garage.pid"
for _ in $(seq 1 100); do g status >/dev/null 2>&1 && break; sleep 0.1; done
node=$(g status 2>/dev/null | awk '/NO ROLE ASSIGNED/ {print $1; exit}')
g layout assign -z dc1 -c 1G "$node" >/dev/null
g layout apply --version 1 >/dev/null
g bucket create galleon-test >/dev/null
keys=$(g key create galleon)
key_id=$(awk '/Key ID:/ {print $3}' <<<"$keys")
secret=$(awk '/Secret key:/ {print $3}' <<<"$keys")
g bucket allow --read --write --owner galleon-test --key galleon >/dev/null

# Azurite for the Azure regions; the S3 variables then point at Garage.
for assignment in $(scripts/objectstores.sh start "$work/os"); do export "${assignment?}"; done
export GALLEON_TEST_S3_ENDPOINT="http://127.0.0.1:$s3" GALLEON_TEST_S3_KEY_ID="$key_id" \
    GALLEON_TEST_S3_SECRET="$secret" GALLEON_TEST_S3_REGION=garage GALLEON_REQUIRE_OBJECT_STORES=1 \
    GALLEON_TEST_S3_ACCEPTS_REWRITES=1
cargo test --quiet -p galleon_blob --test object_stores -- s3_
cargo test --quiet -p galleon --test cli -- object_stores::a_version_replicates
echo "garage: the S3 chunk-store suite and the replication flow passed"
