#!/usr/bin/env bash
# Import of a fixed VHD through the ARM API (PUT disk createOption=Import, until the operation
# is Succeeded, chunks synced), beside references measured in the same runs on the same file:
# `cp --sparse=always` + `sync`, and a plain full read (`cat > /dev/null`). Also galleon's CPU
# time during the import and its peak resident memory. Targets (design §10): within 1.5x of
# cp+sync, CPU under 15% of wall time, peak memory under 200 MiB.
# Each run imports into a fresh server (a second import of the same bytes would find its chunks
# stored); the references and the import alternate. Prints every run, then median (min-max).
#
# Usage: bench/import.sh [size GiB, default 10] [data GiB, default 1] [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
size_gib=${1:-10}
data_gib=${2:-1}
runs=${3:-3}
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
mkdir -p "$dir/images"
vhd="$dir/images/disk.vhd"
qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on "$dir/disk.raw" "$vhd"
rm "$dir/disk.raw"
echo "image: $(du -h --apparent-size "$vhd" | cut -f1) apparent, $(du -h "$vhd" | cut -f1) allocated"

secs() { python3 -c 'import time; print(time.monotonic())'; }
: >"$dir/results"
printf '%-8s %8s %8s %8s %8s %8s %10s\n' run import cp+sync cat cpu% cp-cpu% peak-MiB
for n in $(seq "$runs"); do
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
    fresh_galleon
    settle
    read -r wall cpu_s rss_before peak < <(python3 - "$dir" "$port" "$pid" "$dir/data/imports/disk.vhd" <<'PY'
import os, sys, threading, time
sys.path.insert(0, "bench")
from armclient import Arm
d, port, pid, vhd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
arm = Arm(f"{d}/data", port)
sub = arm.sub
arm.call("PUT", f"/subscriptions/{sub}/resourcegroups/bench?api-version=2024-11-01", {"location": "eastus"})
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
_, headers, _ = arm.call("PUT", f"/subscriptions/{sub}/resourceGroups/bench/providers/Microsoft.Compute/disks/d?api-version=2025-01-02",
    {"location": "eastus", "properties": {"creationData": {"createOption": "Import", "sourceUri": f"file://{vhd}"}}})
arm.wait(headers)
wall, cpu_s = time.monotonic() - t0, cpu() - c0
stop[0] = True
if perf:
    perf.send_signal(2); perf.wait()
print(f"{wall:.2f} {cpu_s:.2f} {rss_before:.1f} {peak[0]:.1f}")
PY
)
    cpu_pct=$(python3 -c "print(f'{100 * $cpu_s / $wall:.0f}')")
    cp_pct=$(python3 -c "print(f'{100 * $cp_cpu / $cp_s:.0f}')")
    printf '%-8s %8s %8s %8s %8s %8s %10s\n' "$n" "$wall" "$cp_s" "$cat_s" "$cpu_pct" "$cp_pct" "$peak"
    echo "$wall $cp_s $cat_s $cpu_pct $cp_pct $peak $rss_before" >>"$dir/results"
done

python3 - "$dir/results" <<'PY'
import statistics, sys
sys.path.insert(0, "bench")
from runs import load, fig, median_ratio
rows = load(sys.argv[1])
def plain(i, unit):
    xs = [r[i] for r in rows]
    return f"{statistics.median(xs):7.0f}{unit} ({min(xs):.0f}-{max(xs):.0f})"
print(f"\n{len(rows)} runs, median (min-max)")
print(f"{'galleon import (PUT -> Succeeded, synced)':46} {fig(rows, 0)}   {median_ratio(rows, 0, 1):.2f}x cp+sync (target 1.5x)")
print(f"{'reference: cp --sparse=always + sync':46} {fig(rows, 1)}")
print(f"{'reference: cat > /dev/null (reads the holes)':46} {fig(rows, 2)}   {median_ratio(rows, 2, 1):.2f}x cp+sync")
print(f"{'galleon CPU, % of its wall time':46} {plain(3, ' %')}   (target < 15%)")
print(f"{'reference: cp CPU, % of its wall time':46} {plain(4, ' %')}   (both pay the page-cache copy)")
print(f"{'galleon peak resident memory':46} {plain(5, ' MiB')}   (target < 200 MiB; {statistics.median(r[6] for r in rows):.0f} MiB before)")
PY
