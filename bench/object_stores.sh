#!/usr/bin/env bash
# Region stores on Azurite, beside the Azure Storage SDK on the same Azurite in the same runs:
#  - import of a 2 GiB fixed VHD holding 512 MiB of random data into a region whose store is on
#    Azurite (PUT disk createOption=Import until Succeeded), beside azure-storage-blob's upload of
#    the same file as a page blob (it skips zero pages too), at its default concurrency and at 8;
#  - replication of a version of that disk Azurite -> Azurite (two stores in one container:
#    server-side copies), beside the SDK copying the same objects server-side
#    (start_copy_from_url, 8 threads).
# Azurite (Node.js) is far slower than real storage on these machines: the ratios are the point.
#
# Usage: bench/object_stores.sh [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
command -v qemu-img >/dev/null || { apt-get update -qq && apt-get install -y -qq qemu-utils; }
. bench/common.sh
for assignment in $(scripts/objectstores.sh start "$dir/os"); do export "${assignment?}"; done
trap 'scripts/objectstores.sh stop "$dir/os"; if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi; rm -rf "$dir"' EXIT
venv=.venv-bench
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install --quiet --disable-pip-version-check azure-storage-blob==12.31.1; }

echo "making a 2 GiB image with 512 MiB of random data in 4 MiB blocks..."
python3 - "$dir/disk.raw" <<'PY'
import os, random, sys
size, data = 2 << 30, 512 << 20
rnd = random.Random(7)
with open(sys.argv[1], "wb") as f:
    f.truncate(size)
    for _ in range(data // (4 << 20)):
        f.seek(rnd.randrange(0, size - (4 << 20), 1 << 20))
        f.write(os.urandom(4 << 20))
PY
mkdir -p "$dir/data/imports"
qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on "$dir/disk.raw" "$dir/data/imports/disk.vhd"
rm "$dir/disk.raw"
vhd="$dir/data/imports/disk.vhd"

key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
for run in $(seq 1 "$runs"); do
    # Fresh prefixes each run: chunks already in a store would not be written again.
    cat >"$dir/galleon.toml" <<CONF
regions = ["eastus", "westus"]
$(for region in eastus westus; do printf '[[stores]]\nregion = "%s"\ntype = "Standard_LRS"\nurl = "az://galleon-test/bench%s/%s"\naccount = "devstoreaccount1"\nkey = "%s"\nendpoint = "%s"\nallow_http = true\n\n' "$region" "$run" "$region" "$key" "$GALLEON_TEST_AZURITE_ENDPOINT"; done)
CONF
    start_galleon --config "$dir/galleon.toml"
    "$venv/bin/python" - "$dir" "$port" "$vhd" "$run" "$GALLEON_TEST_AZURITE_ENDPOINT" "$key" >>"$dir/results" <<'PY'
import sys, time
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, "bench")
from armclient import Arm
from azure.storage.blob import BlobServiceClient
d, port, vhd, run, endpoint, key = sys.argv[1:7]
arm = Arm(f"{d}/data", port)
rg = f"/subscriptions/{arm.sub}/resourceGroups/bench"
arm.call("PUT", f"/subscriptions/{arm.sub}/resourcegroups/bench?api-version=2024-11-01", {"location": "eastus"})
t0 = time.monotonic()
arm.put(f"{rg}/providers/Microsoft.Compute/disks/d{run}?api-version=2025-01-02",
        {"location": "eastus", "properties": {"creationData": {"createOption": "Import", "sourceUri": f"file://{vhd}"}}})
imp = time.monotonic() - t0
gal = f"{rg}/providers/Microsoft.Compute/galleries/g{run}"
arm.put(f"{gal}?api-version=2024-03-03", {"location": "eastus"})
arm.put(f"{gal}/images/i?api-version=2024-03-03", {"location": "eastus", "properties": {
    "osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}})
t0 = time.monotonic()
arm.put(f"{gal}/images/i/versions/1.0.0?api-version=2024-03-03", {"location": "eastus", "properties": {
    "publishingProfile": {"targetRegions": [{"name": "eastus"}, {"name": "westus"}]},
    "storageProfile": {"osDiskImage": {"source": {"id": f"{rg}/providers/Microsoft.Compute/disks/d{run}"}}}}})
rep = time.monotonic() - t0

conn = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint={endpoint};"
svc = BlobServiceClient.from_connection_string(conn)
container = svc.get_container_client("galleon-test")
def upload(name, **kw):
    t0 = time.monotonic()
    with open(vhd, "rb") as f:
        container.upload_blob(name, f, blob_type="PageBlob", **kw)
    return time.monotonic() - t0
sdk1 = upload(f"sdk{run}/default.vhd")
sdk8 = upload(f"sdk{run}/c8.vhd", max_concurrency=8)
# The objects galleon copied: its eastus store's chunks, copied server-side by the SDK.
names = [b.name for b in container.list_blobs(name_starts_with=f"bench{run}/eastus/")]
def copy(name):
    src = container.get_blob_client(name).url
    container.get_blob_client(f"sdk{run}/copy/{name}").start_copy_from_url(src, requires_sync=True)
t0 = time.monotonic()
with ThreadPoolExecutor(8) as pool:
    list(pool.map(copy, names))
sdk_copy = time.monotonic() - t0
print(f"{imp:.2f} {sdk1:.2f} {sdk8:.2f} {rep:.2f} {sdk_copy:.2f} {len(names)}")
PY
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done

python3 - "$dir/results" <<'PY'
import sys
sys.path.insert(0, "bench")
from runs import load, fig as column
rows = load(sys.argv[1])
fig = lambda i: column(rows, i)
print(f"\n{len(rows)} runs, median (min-max); Azurite 3.35.0 on disk, everything on {__import__('os').cpu_count()} shared cores")
print(f"{'import 2 GiB (512 MiB data) into a region on Azurite':58} {fig(0)}")
print(f"{'  reference: SDK page-blob upload, default concurrency':58} {fig(1)}")
print(f"{'  reference: SDK page-blob upload, max_concurrency=8':58} {fig(2)}")
print(f"{'replicate the version Azurite -> Azurite (server-side)':58} {fig(3)}")
print(f"{'  reference: SDK start_copy_from_url of the same objects, 8 threads':58} {fig(4)}")
print(f"objects copied per run: {int(rows[0][5])}")
PY
