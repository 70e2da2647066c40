#!/usr/bin/env bash
# ARM GET throughput and latency of a release galleon, measured with wrk at 64 connections over
# HTTPS, printed beside a reference measured in the same run: GET /healthz on the same server
# (same TLS and HTTP stack, no token check, no metadata read). Target (design §10): at least
# 20,000 GET/s with p99 under 5 ms on two cores.
#
# Each row also gives the server's CPU time per request (user + system, from /proc), steadier than
# throughput on a shared machine.
#
# Usage: bench/arm_get.sh [seconds per run, default 10] [rounds, default 3]
# PERF_OUT=file also records a perf profile of the version GET (PERF_CALLGRAPH="--call-graph
# dwarf" for inclusive costs through inlined frames; the default is frame pointers, -g).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
runs=${2:-3}
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

# The server's CPU time so far (user + system), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)

# One wrk run: prints "requests/s p50-ms p99-ms non-2xx server-CPU-us-per-request".
probe() { # url [auth]
    local out before
    before=$(cpu_ticks)
    if [ "${2:-}" = auth ]; then
        out=$(wrk -t"$threads" -c$conns -d"${secs}s" --latency -H "Authorization: Bearer $token" "$1")
    else
        out=$(wrk -t"$threads" -c$conns -d"${secs}s" --latency "$1")
    fi
    python3 - "$out" "$(( $(cpu_ticks) - before ))" "$hz" <<'PY'
import re, sys
out, ticks, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def ms(v):
    n, unit = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[unit]
rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
total = int(re.search(r"(\d+) requests in", out).group(1))
print(rps, f"{p50:.3f}", f"{p99:.3f}", errors.group(1) if errors else 0, f"{ticks / hz * 1e6 / total:.1f}")
PY
}

names=("reference: GET /healthz (TLS+HTTP only)" "GET image version + ReplicationStatus" "GET gallery" "GET versions list")
urls=("$base/healthz" "$version_url" "$gal?api-version=2026-03-03" "$gal/images/img/versions?api-version=2024-03-03")
auth=("" auth auth auth)

wrk -t"$threads" -c$conns -d3s "$base/healthz" >/dev/null   # warm-up: connections, page cache, allocator
echo "wrk, $threads threads, $conns connections, ${secs}s per run, $runs rounds (the four requests alternate), $(nproc) cores shared by server and load generator"
: >"$dir/results"
for round in $(seq "$runs"); do
    for i in "${!urls[@]}"; do
        read -r rps p50 p99 errors cpu < <(probe "${urls[$i]}" "${auth[$i]}")
        printf "round %s  %-42s %10s/s p50 %7s ms p99 %7s ms non-2xx %s server CPU %s us/req\n" "$round" "${names[$i]}" "$rps" "$p50" "$p99" "$errors" "$cpu"
        echo "$i $rps $p50 $p99 $errors $cpu" >>"$dir/results"
    done
done
python3 - "$dir/results" "${names[@]}" <<'PY'
import statistics, sys
path, names = sys.argv[1], sys.argv[2:]
rows = [line.split() for line in open(path) if line.strip()]
def fig(xs, fmt):
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"
print(f"\nmedian (min-max) of {len(rows) // len(names)} runs each")
print(f"{'request':42} {'requests/s':>22} {'p50 ms':>20} {'p99 ms':>22} {'non-2xx':>8} {'server CPU us/req':>22}")
health = statistics.median(float(r[1]) for r in rows if r[0] == "0")
for i, name in enumerate(names):
    mine = [r for r in rows if r[0] == str(i)]
    rps = [float(r[1]) for r in mine]
    share = "" if i == 0 else f"  {statistics.median(rps) / health:.2f}x /healthz"
    print(f"{name:42} {fig(rps, '{:.0f}'):>22} {fig([float(r[2]) for r in mine], '{:.2f}'):>20} "
          f"{fig([float(r[3]) for r in mine], '{:.2f}'):>22} {sum(int(r[4]) for r in mine):>8} "
          f"{fig([float(r[5]) for r in mine], '{:.1f}'):>22}{share}")
PY
[ -n "${PERF_OUT:-}" ] && { perf record ${PERF_CALLGRAPH:--g} -p $pid -o "$PERF_OUT" -- sleep 6 >/dev/null 2>&1 & wrk -t"$threads" -c$conns -d6s -H "Authorization: Bearer $token" "$version_url" >/dev/null; wait $!; }
echo "target: >= 20000 requests/s and p99 < 5 ms for ARM GETs"
