#!/usr/bin/env bash
# A disk and a VM from an image version in a region that holds it (design §10: constant time,
# independent of image size; under 50 ms for a 100 GiB image). Two versions, of a 1 GiB and of a
# 100 GiB fixed VHD (each with 64 MiB of random data, the rest holes), are published to one
# region; then disks (createOption FromImage) and VMs are made from each, PUT -> Succeeded, polled
# every 2 ms, several times. References measured in the same run: a GET of the version (one
# authenticated request: the floor), and the 1 GiB image's times (the ratio shows whether size
# matters).
# Usage: bench/disk_from_version.sh [runs, default 7]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
command -v qemu-img >/dev/null || { apt-get update -qq && apt-get install -y -qq qemu-utils; }
. bench/common.sh
mkdir -p "$dir/data/imports"
for gib in 1 100; do
    python3 - "$dir/disk.raw" "$gib" <<'PY'
import os, random, sys
path, size = sys.argv[1], int(sys.argv[2]) << 30
rnd = random.Random(42)
with open(path, "wb") as f:
    f.truncate(size)
    for _ in range(16):
        f.seek(rnd.randrange(0, size - (4 << 20), 4096))
        f.write(os.urandom(4 << 20))
PY
    qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on "$dir/disk.raw" "$dir/data/imports/g$gib.vhd"
    rm "$dir/disk.raw"
done
start_galleon

python3 - "$dir" "$port" "$runs" <<'PY'
import statistics, sys, time
sys.path.insert(0, "bench")
from armclient import Arm
d, port, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
arm = Arm(f"{d}/data", port)
rg = f"/subscriptions/{arm.sub}/resourceGroups/bench"
cp = "providers/Microsoft.Compute"
arm.call("PUT", f"/subscriptions/{arm.sub}/resourcegroups/bench?api-version=2024-11-01", {"location": "westcentralus"})
arm.put(f"{rg}/{cp}/galleries/g?api-version=2026-03-03", {"location": "westcentralus"})
arm.put(f"{rg}/{cp}/galleries/g/images/img?api-version=2021-10-01", {"location": "westcentralus",
    "properties": {"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}})
for gib in (1, 100):
    arm.put(f"{rg}/{cp}/disks/src{gib}?api-version=2025-01-02", {"location": "westcentralus",
        "properties": {"creationData": {"createOption": "Import", "sourceUri": f"file://{d}/data/imports/g{gib}.vhd"}}})
    arm.put(f"{rg}/{cp}/galleries/g/images/img/versions/{gib}.0.0?api-version=2024-03-03", {"location": "westcentralus",
        "properties": {"publishingProfile": {"targetRegions": [{"name": "westcentralus"}]},
                       "storageProfile": {"osDiskImage": {"source": {"id": f"{rg}/{cp}/disks/src{gib}"}}}}})

def timed(f):
    t0 = time.monotonic()
    f()
    return (time.monotonic() - t0) * 1000

results = {}
for gib in (1, 100):
    version = f"{rg}/{cp}/galleries/g/images/img/versions/{gib}.0.0"
    get, disk, vm = [], [], []
    for n in range(runs):
        get.append(timed(lambda: arm.call("GET", f"{version}?api-version=2024-03-03")))
        disk.append(timed(lambda: arm.put(f"{rg}/{cp}/disks/d{gib}x{n}?api-version=2025-01-02", {"location": "westcentralus",
            "properties": {"creationData": {"createOption": "FromImage", "galleryImageReference": {"id": version}}}}, interval=0.002)))
        vm.append(timed(lambda: arm.put(f"{rg}/{cp}/virtualMachines/vm{gib}x{n}?api-version=2024-11-01", {"location": "westcentralus",
            "properties": {"hardwareProfile": {"vmSize": "Standard_D2s_v5"},
                           "storageProfile": {"imageReference": {"id": version}, "osDisk": {"createOption": "FromImage"}}}}, interval=0.002)))
    results[gib] = (statistics.median(get), statistics.median(disk), statistics.median(vm), max(disk), max(vm))

print()
print(f"median of {runs} runs, milliseconds      {'1 GiB':>8} {'100 GiB':>8}   100/1")
for i, label in [(1, "disk from version (PUT -> Succeeded)"), (2, "VM from version (PUT -> Succeeded)")]:
    a, b = results[1][i], results[100][i]
    print(f"{label:40} {a:8.1f} {b:8.1f}   {b / a:5.2f}x   (worst {results[100][i + 2]:.1f} ms; target < 50 ms)")
print(f"{'reference: GET of the version':40} {results[1][0]:8.1f} {results[100][0]:8.1f}")
PY
