#!/usr/bin/env bash
# ARM GET throughput and latency of a release galleon, measured with wrk at 64 connections over
# HTTPS, printed beside a reference measured in the same run: GET /healthz on the same server
# (same TLS and HTTP stack, no token check, no metadata read). Target (design §10): at least
# 20,000 GET/s with p99 under 5 ms on two cores.
#
# Usage: bench/arm_get.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=64
# One wrk thread: the load generator shares the two cores with the server (WRK_THREADS=2 to compare).
threads=${WRK_THREADS:-1}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
. bench/common.sh
start_galleon

c() { python3 -c "import json;print(json.load(open('$dir/data/credentials.json'))['$1'])"; }
base="https://127.0.0.1:$port"
token=$(curl -s --cacert "$dir/data/tls/ca.crt" "$base/$(c tenantId)/oauth2/v2.0/token" -d grant_type=client_credentials \
  -d client_id="$(c clientId)" --data-urlencode client_secret="$(c clientSecret)" -d scope=https://management.azure.com/.default |
  python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
arm() { curl -sf --cacert "$dir/data/tls/ca.crt" -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@" >/dev/null; }
rg="$base/subscriptions/$(c subscriptionId)/resourceGroups/benchRG"
gal="$rg/providers/Microsoft.Compute/galleries/benchGallery"
arm -X PUT -d '{"location":"westcentralus"}' "$rg?api-version=2024-11-01"
arm -X PUT -d '{"location":"westcentralus"}' "$gal?api-version=2026-03-03"; sleep 0.3
arm -X PUT -d '{"location":"westcentralus","properties":{"osType":"Linux","osState":"Generalized","identifier":{"publisher":"p","offer":"o","sku":"s"}}}' "$gal/images/img?api-version=2021-10-01"; sleep 0.3
arm -X PUT -d '{"location":"westcentralus","properties":{"diskSizeGB":1,"creationData":{"createOption":"Empty"}}}' "$rg/providers/Microsoft.Compute/disks/src?api-version=2025-01-02"; sleep 0.5
arm -X PUT -d "{\"location\":\"westcentralus\",\"properties\":{\"publishingProfile\":{\"targetRegions\":[{\"name\":\"westcentralus\"},{\"name\":\"eastus\"}]},\"storageProfile\":{\"osDiskImage\":{\"source\":{\"id\":\"/subscriptions/$(c subscriptionId)/resourceGroups/benchRG/providers/Microsoft.Compute/disks/src\"}}}}}" "$gal/images/img/versions/1.0.0?api-version=2024-03-03"; sleep 0.5
version_url="$gal/images/img/versions/1.0.0?api-version=2024-03-03&\$expand=ReplicationStatus"
arm "$version_url"

run() { # name url [auth]
    local out
    if [ "${3:-}" = auth ]; then
        out=$(wrk -t"$threads" -c$conns -d"${secs}s" --latency -H "Authorization: Bearer $token" "$2")
    else
        out=$(wrk -t"$threads" -c$conns -d"${secs}s" --latency "$2")
    fi
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf "%-44s %12s %10s %10s %8s\n" "$1" "$rps" "$p50" "$p99" "${errors:-0}"
}

wrk -t"$threads" -c$conns -d3s "$base/healthz" >/dev/null   # warm-up: connections, page cache, allocator
echo "wrk, $threads threads, $conns connections, ${secs}s per run, $(nproc) cores shared by server and load generator"
printf "%-44s %12s %10s %10s %8s\n" "request" "requests/s" "p50" "p99" "non-2xx"
run "reference: GET /healthz (TLS+HTTP only)" "$base/healthz"
run "GET image version + ReplicationStatus" "$version_url" auth
run "GET gallery" "$gal?api-version=2026-03-03" auth
run "GET versions list" "$gal/images/img/versions?api-version=2024-03-03" auth
[ -n "${PERF_OUT:-}" ] && { perf record -g -p $pid -o "$PERF_OUT" -- sleep 6 >/dev/null 2>&1 & wrk -t"$threads" -c$conns -d6s -H "Authorization: Bearer $token" "$version_url" >/dev/null; wait $!; }
echo "target: >= 20000 requests/s and p99 < 5 ms for ARM GETs"
