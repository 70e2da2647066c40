#!/usr/bin/env bash
# Replication through the ARM API with real copies (--replication-copy copy), beside references
# measured in the same runs:
#  1. import a fixed VHD + publish it as a version to three regions (one replica each, distinct
#     stores), PUT -> Succeeded, vs three `cp --sparse=always` + `sync` (design §10: within 1.3x);
#  2. a second version whose disk differs in ~1% of its data chunks, vs the first version's
#     replication (design §10: at least 20x faster).
# Each run starts a fresh server (stored chunks would make a repeat free); the reference and
# galleon alternate. Prints every run, then median (min-max).
# Usage: bench/replicate.sh [size GiB, default 10] [data GiB, default 1] [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
size_gib=${1:-10}
data_gib=${2:-1}
runs=${3:-3}
command -v qemu-img >/dev/null || { apt-get update -qq && apt-get install -y -qq qemu-utils; }
. bench/common.sh
mkdir -p "$dir/images"
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
qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on "$dir/disk.raw" "$dir/images/v1.vhd"
rm "$dir/disk.raw"
# v2: the same disk with ~1% of its data chunks rewritten.
cp --sparse=always "$dir/images/v1.vhd" "$dir/images/v2.vhd"
python3 - "$dir/images/v2.vhd" <<'PY'
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

: >"$dir/results"
printf '%-6s %14s %12s %12s %12s %10s\n' run v1-imp+rep 3xcp+sync v1-rep v2-rep v2-imp
for n in $(seq "$runs"); do
    settle
    cp_s=$(python3 - "$dir/images/v1.vhd" "$dir" <<'PY'
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
    fresh_galleon --replication-copy copy
    settle
    read -r imp1 rep1 imp2 rep2 < <(python3 - "$dir" "$port" <<'PY'
import sys, time
sys.path.insert(0, "bench")
from armclient import Arm
d, port = sys.argv[1], sys.argv[2]
arm = Arm(f"{d}/data", port)
sub, put = arm.sub, arm.put
rg = f"/subscriptions/{sub}/resourceGroups/bench"
arm.call("PUT", f"/subscriptions/{sub}/resourcegroups/bench?api-version=2024-11-01", {"location": "westcentralus"})
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
print(f"{imp1:.2f} {rep1:.2f} {imp2:.2f} {rep2:.3f}")
PY
)
    total=$(python3 -c "print(f'{$imp1 + $rep1:.2f}')")
    printf '%-6s %14s %12s %12s %12s %10s\n' "$n" "$total" "$cp_s" "$rep1" "$rep2" "$imp2"
    echo "$total $cp_s $rep1 $rep2 $imp2" >>"$dir/results"
done

python3 - "$dir/results" <<'PY'
import statistics, sys
sys.path.insert(0, "bench")
from runs import load, fig, median_ratio
rows = load(sys.argv[1])
speedup = statistics.median(r[2] / r[3] for r in rows)
print(f"\n{len(rows)} runs, median (min-max)")
print(f"{'v1: import + replicate to 3 regions (real copies)':52} {fig(rows, 0)}   {median_ratio(rows, 0, 1):.2f}x reference (target <= 1.3x)")
print(f"{'reference: 3 x cp --sparse=always + sync':52} {fig(rows, 1)}")
print(f"{'v1: replication alone (version PUT -> Succeeded)':52} {fig(rows, 2)}")
print(f"{'v2 (1% of data chunks changed): replication alone':52} {fig(rows, 3)}   {speedup:.1f}x faster than v1 (target >= 20x)")
print(f"{'v2: import alone':52} {fig(rows, 4)}")
PY
