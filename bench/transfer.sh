#!/usr/bin/env bash
# `galleon disk upload` and `galleon disk download` of a raw image with every page non-zero,
# through the access URLs, beside `cp` + `sync` of the same file, each from a clean cache.
# Upload = create the disk, page writes, endGetAccess (the server hashes and stores the content)
# and the CLI's digest check; download = beginGetAccess, ranged reads, written sparse, digest
# check.
# Usage: bench/transfer.sh [size MiB, default 1024] [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
runs=${2:-3}
. bench/common.sh
head -c $((mib << 20)) /dev/urandom > "$dir/img.raw"
G=$PWD/target/release/galleon
start_galleon
export GALLEON_CONFIG_DIR="$dir/cfg"
$G login --data-dir "$dir/data" -o none >/dev/null
$G group create -n bench -l westcentralus -o none
settle() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; sleep 0.5; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); python3 -c "print(f'{$t1 - $t0:.2f}')"; }
printf '%-44s %s\n' "$mib MiB, every page non-zero, seconds" "runs"
for n in $(seq "$runs"); do
    settle; up=$(secs $G disk upload -g bench -n d$n --file "$dir/img.raw" -l westcentralus -o none)
    settle; cp_s=$(secs sh -c "cp '$dir/img.raw' '$dir/copy.raw' && sync")
    rm -f "$dir/copy.raw"
    settle; down=$(secs $G disk download -g bench -n d$n --file "$dir/down.vhd" -o none)
    rm -f "$dir/down.vhd"
    printf '%-44s %6s   %6s   %6s\n' "run $n: upload / download / cp+sync" "$up" "$down" "$cp_s"
    python3 -c "print(f'{\"\":44} upload {$up / $cp_s:.1f}x cp, download {$down / $cp_s:.1f}x cp')"
done
