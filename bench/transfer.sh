#!/usr/bin/env bash
# `galleon disk upload` and `galleon disk download` of a raw image through the access URLs,
# beside `cp` + `sync` of the same file, each from a clean cache. The image is DATA MiB of random
# bytes, or, given an IMAGE size, a sparse file of IMAGE MiB holding DATA MiB in 4 MiB extents
# spread over it (holes are neither read nor sent, and stay holes in the copies).
# Upload = create the disk, page writes, endGetAccess (the server hashes and stores the content)
# and the CLI's digest check; download = beginGetAccess, ranged reads, written sparse, digest
# check.
# A second reference for the upload: the Azure Storage SDK (azure-storage-blob) uploading the
# same file as a page blob to Azurite on the same machine (dense images only). A third for both:
# `dd` with O_DIRECT reads and writes (holes skipped), the disk's speed without the page cache,
# whose cost on this VM swings cp's time by 2-3x between runs.
# Each run uploads new random bytes. Prints every run, then the median (min-max) of each figure.
# Usage: bench/transfer.sh [data MiB, default 1024] [runs, default 3] [image MiB, default = data]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
runs=${2:-3}
image=${3:-$mib}
[ "$image" -ge "$mib" ] && [ $((mib % 4)) = 0 ] && [ $((image % 4)) = 0 ] || { echo "usage: $0 [data MiB] [runs] [image MiB >= data], multiples of 4" >&2; exit 2; }
# New random bytes each run: no run finds its chunks already stored by an earlier one.
make_image() {
    python3 - "$1" "$mib" "$image" <<'PY'
import os, sys
path, data, image = sys.argv[1], int(sys.argv[2]) // 4, int(sys.argv[3]) // 4
f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.ftruncate(f, image << 22)
for i in range(data):
    os.pwrite(f, os.urandom(4 << 20), (i * image // data) << 22)
os.close(f)
PY
}
. bench/common.sh
G=$PWD/target/release/galleon
for assignment in $(scripts/objectstores.sh start "$dir/os"); do export "${assignment?}"; done
trap 'scripts/objectstores.sh stop "$dir/os"; if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi; rm -rf "$dir"' EXIT
venv=.venv-bench
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install --quiet --disable-pip-version-check azure-storage-blob==12.31.1; }
sdk_upload() {
    "$venv/bin/python" - "$1" "$GALLEON_TEST_AZURITE_ENDPOINT" "$2" <<'PY'
import sys
from azure.storage.blob import BlobServiceClient
path, endpoint, name = sys.argv[1:4]
key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
conn = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint={endpoint};"
with open(path, "rb") as f:
    BlobServiceClient.from_connection_string(conn).get_blob_client("galleon-test", name).upload_blob(f, blob_type="PageBlob")
PY
}
start_galleon
export GALLEON_CONFIG_DIR="$dir/cfg"
$G login --data-dir "$dir/data" -o none >/dev/null
$G group create -n bench -l westcentralus -o none
settle() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; sleep 0.5; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); python3 -c "print(f'{$t1 - $t0:.2f}')"; }
if [ "$image" = "$mib" ]; then shape="$mib MiB, every page non-zero"; else shape="$image MiB image, $mib MiB of data"; fi
printf '%-44s %s\n' "$shape, seconds" "upload / download / cp+sync / dd O_DIRECT / SDK→Azurite"
: >"$dir/results"
for n in $(seq "$runs"); do
    make_image "$dir/img.raw"
    settle; up=$(secs $G disk upload -g bench -n d$n --file "$dir/img.raw" -l westcentralus -o none)
    settle; cp_s=$(secs sh -c "cp '$dir/img.raw' '$dir/copy.raw' && sync")
    rm -f "$dir/copy.raw"
    settle; dd_s=$(secs sh -c "dd if='$dir/img.raw' of='$dir/copy.raw' bs=4M iflag=direct oflag=direct conv=sparse status=none && sync")
    rm -f "$dir/copy.raw"
    settle; down=$(secs $G disk download -g bench -n d$n --file "$dir/down.vhd" -o none)
    rm -f "$dir/down.vhd"
    sdk=nan
    if [ "$image" = "$mib" ]; then settle; sdk=$(secs sdk_upload "$dir/img.raw" "run$n.vhd"); fi
    printf '%-44s %6s   %6s   %6s   %6s   %6s\n' "run $n" "$up" "$down" "$cp_s" "$dd_s" "$sdk"
    echo "$up $down $cp_s $dd_s $sdk" >>"$dir/results"
done
python3 - "$dir/results" <<'PY'
import sys
sys.path.insert(0, "bench")
from runs import load, fig as column, median_ratio
rows = load(sys.argv[1])
fig = lambda i: column(rows, i)
print(f"\n{len(rows)} runs, median (min-max)")
print(f"{'galleon disk upload':44} {fig(0)}   {median_ratio(rows, 0, 2):.2f}x cp+sync (target 1.5x), {median_ratio(rows, 0, 3):.2f}x dd")
print(f"{'galleon disk download':44} {fig(1)}   {median_ratio(rows, 1, 2):.2f}x cp+sync (target 1.3x), {median_ratio(rows, 1, 3):.2f}x dd")
print(f"{'reference: cp + sync':44} {fig(2)}")
print(f"{'reference: dd O_DIRECT + sync':44} {fig(3)}")
if all(r[4] == r[4] for r in rows):
    print(f"{'reference: Azure SDK page-blob upload, Azurite':44} {fig(4)}")
PY
