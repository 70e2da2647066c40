#!/usr/bin/env bash
# Import of a fixed VHD through the ARM API (PUT disk createOption=Import, until the operation
# is Succeeded, chunks synced), beside references measured in the same run on the same file:
# `cp --sparse=always` + `sync`, and a plain full read (`cat > /dev/null`). Also galleon's CPU
# time during the import and its peak resident memory. Targets (design §10): within 1.5x of
# cp+sync, CPU under 15% of wall time, peak memory under 200 MiB.
#
# Usage: bench/import.sh [size GiB, default 10] [data GiB, default 1]
set -euo pipefail
cd "$(dirname "$0")/.."
size_gib=${1:-10}
data_gib=${2:-1}
command -v qemu-img >/dev/null || { apt-get update -qq && apt-get install -y -qq qemu-utils; }
. bench/common.sh

echo "making a ${size_gib} GiB image with ${data_gib} GiB of random data in 4 MiB blocks at 4 KiB-aligned offsets..."
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
mkdir -p "$dir/data/imports"
qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on "$dir/disk.raw" "$dir/data/imports/disk.vhd"
rm "$dir/disk.raw"
vhd="$dir/data/imports/disk.vhd"
echo "image: $(du -h --apparent-size "$vhd" | cut -f1) apparent, $(du -h "$vhd" | cut -f1) allocated"

start_galleon

secs() { python3 -c 'import time; print(time.monotonic())'; }
# Every measured step starts from the same state: dirty data written back, clean page cache
# dropped. (Reading the holes fills ~10 GiB of page cache; left in place it would slow
# whatever runs next.)
settle() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; sleep 1; }
settle
t0=$(secs); cat "$vhd" > /dev/null; t1=$(secs)
cat_s=$(python3 -c "print(f'{$t1-$t0:.2f}')")
settle
read -r cp_s cp_cpu < <(python3 - "$vhd" "$dir/copy.vhd" <<'PY'
import resource, subprocess, sys, time
t0 = time.monotonic()
subprocess.run(["cp", "--sparse=always", sys.argv[1], sys.argv[2]], check=True)
subprocess.run(["sync"], check=True)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{time.monotonic() - t0:.2f} {ru.ru_utime + ru.ru_stime:.2f}")
PY
)
rm "$dir/copy.vhd"
settle

python3 - "$dir" "$port" "$pid" "$vhd" "$cp_s" "$cat_s" "$cp_cpu" <<'PY'
import os, sys, threading, time
sys.path.insert(0, "bench")
from armclient import Arm
d, port, pid, vhd, cp_s, cat_s, cp_cpu = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
arm = Arm(f"{d}/data", port)
sub = arm.sub
def call(method, url, body=None, token=None):
    return arm.call(method, url, body)
tok = arm.token
call("PUT", f"/subscriptions/{sub}/resourcegroups/bench?api-version=2024-11-01", {"location": "eastus"}, token=tok)
def cpu():
    f = open(f"/proc/{pid}/stat").read().split(")")[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1]) / 1024
peak, stop = [0.0], [False]
def sample():
    while not stop[0]:
        peak[0] = max(peak[0], rss()); time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
rss_before = rss()
perf = None
if os.environ.get("PERF_OUT"):
    import subprocess
    perf = subprocess.Popen(["perf", "record", "-g", "-p", str(pid), "-o", os.environ["PERF_OUT"]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
c0, t0 = cpu(), time.monotonic()
status, headers, _ = call("PUT", f"/subscriptions/{sub}/resourceGroups/bench/providers/Microsoft.Compute/disks/d?api-version=2025-01-02",
    {"location": "eastus", "properties": {"creationData": {"createOption": "Import", "sourceUri": f"file://{vhd}"}}}, token=tok)
op = headers["azure-asyncoperation"]
while True:
    s = call("GET", op, token=tok)[2]["status"]
    if s != "InProgress": break
    time.sleep(0.02)
wall, cpu_s = time.monotonic() - t0, cpu() - c0
stop[0] = True
if perf:
    perf.send_signal(2); perf.wait()
assert s == "Succeeded", s
disk = call("GET", f"/subscriptions/{sub}/resourceGroups/bench/providers/Microsoft.Compute/disks/d?api-version=2025-01-02", token=tok)[2]
print()
print(f"{'':44} {'seconds':>8} {'vs cp+sync':>11}")
print(f"{'galleon import (PUT -> Succeeded, synced)':44} {wall:8.2f} {wall / cp_s:10.2f}x")
print(f"{'reference: cp --sparse=always + sync':44} {cp_s:8.2f} {1:10.2f}x")
print(f"{'reference: cat > /dev/null (reads the holes)':44} {cat_s:8.2f} {cat_s / cp_s:10.2f}x")
print()
print(f"galleon CPU during import: {cpu_s:.2f} s = {100 * cpu_s / wall:.0f}% of wall time (target < 15%)")
print(f"reference: cp --sparse=always CPU: {cp_cpu:.2f} s = {100 * cp_cpu / cp_s:.0f}% of its wall time (both pay the kernel's page-cache copy)")
print(f"galleon resident memory: {rss_before:.0f} MiB before, peak {peak[0]:.0f} MiB during the import (target < 200 MiB)")
print(f"disk: {disk['properties']['diskSizeGB']} GiB, digest {disk['properties']['digest'][:16]}…")
print("targets: import within 1.5x of cp --sparse=always + sync")
PY
