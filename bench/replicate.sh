#!/usr/bin/env bash
# Replication through the ARM API with real copies (--replication-copy copy), beside references
# measured in the same run:
#  1. import a fixed VHD + publish it as a version to three regions (one replica each, distinct
#     stores), PUT -> Succeeded, vs three `cp --sparse=always` + `sync` (design §10: within 1.3x);
#  2. a second version whose disk differs in ~1% of its data chunks, vs the first version's
#     replication (design §10: at least 20x faster).
# Usage: bench/replicate.sh [size GiB, default 10] [data GiB, default 1]
set -euo pipefail
cd "$(dirname "$0")/.."
size_gib=${1:-10}
data_gib=${2:-1}
command -v qemu-img >/dev/null || { apt-get update -qq && apt-get install -y -qq qemu-utils; }
. bench/common.sh
mkdir -p "$dir/data/imports"
python3 - "$dir/disk.raw" "$size_gib" "$data_gib" <<'PY'
import os, random, sys
path, size, data = sys.argv[1], int(sys.argv[2]) << 30, int(sys.argv[3]) << 30
rnd = random.Random(42)
with open(path, "wb") as f:
    f.truncate(size)
    for _ in range(data // (4 << 20)):
        f.seek(rnd.randrange(0, size - (4 << 20), 4096))
        f.write(os.urandom(4 << 20))
PY
qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on "$dir/disk.raw" "$dir/data/imports/v1.vhd"
rm "$dir/disk.raw"
# v2: the same disk with ~1% of its data chunks rewritten.
cp --sparse=always "$dir/data/imports/v1.vhd" "$dir/data/imports/v2.vhd"
python3 - "$dir/data/imports/v2.vhd" <<'PY'
import os, random, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDWR)
size = os.fstat(fd).st_size - 512
chunks, pos = set(), 0
while pos < size:
    try:
        start = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
    chunks.update(range(start >> 20, (end - 1 >> 20) + 1))
    pos = end
rnd = random.Random(7)
for c in rnd.sample(sorted(chunks), max(1, len(chunks) // 100)):
    os.pwrite(fd, os.urandom(4096), c << 20)
os.close(fd)
print(f"v2: {max(1, len(chunks) // 100)} of {len(chunks)} data chunks changed")
PY
start_galleon --replication-copy copy

settle() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; sleep 1; }
settle
cp_s=$(python3 - "$dir/data/imports/v1.vhd" "$dir" <<'PY'
import subprocess, sys, time
src, d = sys.argv[1], sys.argv[2]
t0 = time.monotonic()
for n in range(3):
    subprocess.run(["cp", "--sparse=always", src, f"{d}/copy{n}.vhd"], check=True)
subprocess.run(["sync"], check=True)
print(f"{time.monotonic() - t0:.2f}")
PY
)
rm -f "$dir"/copy*.vhd
settle

python3 - "$dir" "$port" "$cp_s" <<'PY'
import sys, time
sys.path.insert(0, "bench")
from armclient import Arm
d, port, cp_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
arm = Arm(f"{d}/data", port)
sub, call, put = arm.sub, (lambda m, u, b=None, token=None: arm.call(m, u, b)), arm.put
rg = f"/subscriptions/{sub}/resourceGroups/bench"
tok = arm.token
call("PUT", f"/subscriptions/{sub}/resourcegroups/bench?api-version=2024-11-01", {"location": "westcentralus"}, token=tok)
put(f"{rg}/providers/Microsoft.Compute/galleries/g?api-version=2026-03-03", {"location": "westcentralus"})
put(f"{rg}/providers/Microsoft.Compute/galleries/g/images/img?api-version=2021-10-01", {"location": "westcentralus",
    "properties": {"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}})
regions = [{"name": "westcentralus"}, {"name": "eastus"}, {"name": "westus2"}]
def publish(n):
    t0 = time.monotonic()
    put(f"{rg}/providers/Microsoft.Compute/disks/d{n}?api-version=2025-01-02", {"location": "westcentralus",
        "properties": {"creationData": {"createOption": "Import", "sourceUri": f"file://{d}/data/imports/v{n}.vhd"}}})
    t1 = time.monotonic()
    put(f"{rg}/providers/Microsoft.Compute/galleries/g/images/img/versions/1.0.{n}?api-version=2024-03-03", {"location": "westcentralus",
        "properties": {"publishingProfile": {"targetRegions": regions},
                       "storageProfile": {"osDiskImage": {"source": {"id": f"{rg}/providers/Microsoft.Compute/disks/d{n}"}}}}})
    t2 = time.monotonic()
    return t1 - t0, t2 - t1
imp1, rep1 = publish(1)
imp2, rep2 = publish(2)
print()
print(f"{'':58} {'seconds':>8}")
print(f"{'v1: import + replicate to 3 regions (real copies)':58} {imp1 + rep1:8.2f}   = {(imp1 + rep1) / cp_s:.2f}x reference (target <= 1.3x)")
print(f"{'reference: 3 x cp --sparse=always + sync':58} {cp_s:8.2f}")
print(f"{'v1: replication alone (version PUT -> Succeeded)':58} {rep1:8.2f}")
print(f"{'v2 (1% of data chunks changed): replication alone':58} {rep2:8.2f}   = {rep1 / rep2:.1f}x faster than v1 (target >= 20x)")
print(f"{'v2: import alone':58} {imp2:8.2f}")
PY
