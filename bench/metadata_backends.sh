#!/usr/bin/env bash
# ARM GET throughput and p99 latency with the metadata on SQLite vs PostgreSQL (one node each),
# and with two PostgreSQL nodes behind HAProxy (TLS terminated there, re-encrypted to the nodes).
# Each figure is printed beside a reference measured in the same runs on the same endpoint:
# GET /healthz (TLS + HTTP only, no token check, no metadata read). Median of RUNS runs with min
# and max. The PostgreSQL cluster is a throwaway one (scripts/postgres.sh: fsync off, which does
# not matter for reads). Load generator: wrk, 1 thread, 64 connections, sharing the machine.
#
# Usage: bench/metadata_backends.sh [seconds per run, default 5] [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
runs=${2:-3}
conns=64
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v haproxy >/dev/null || need+=(haproxy)
[ ${#need[@]} -eq 0 ] || { apt-get update -qq && apt-get install -y -qq "${need[@]}"; }
cargo build --release --quiet -p galleon

dir=$(mktemp -d /var/tmp/galleon-bench.XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/postgres.sh stop "$dir/pg" || true
    rm -rf "$dir"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
db=$(scripts/postgres.sh start "$dir/pg" "$(freeport)")

# start NAME PORT [serve flags…]: a release node in $dir/NAME, returned once it answers.
start() {
    local name=$1 port=$2
    shift 2
    target/release/galleon serve --data-dir "$dir/$name" --listen "127.0.0.1:$port" --node-id "$name" "$@" \
        >"$dir/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 150); do
        curl -sf --cacert "$ca" "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "$name did not start:" >&2
    cat "$dir/$name.log" >&2
    exit 1
}

# token CREDENTIALS BASE: an ARM token for the admin.
token() {
    python3 - "$1" "$2" "$ca" <<'PY'
import json, ssl, sys, urllib.parse, urllib.request
c, base, ca = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": c["clientId"],
    "client_secret": c["clientSecret"], "scope": "https://management.azure.com/.default"}).encode()
with urllib.request.urlopen(f"{base}/{c['tenantId']}/oauth2/v2.0/token", form,
                            context=ssl.create_default_context(cafile=ca)) as r:
    print(json.load(r)["access_token"])
PY
}

# setup CREDENTIALS BASE TOKEN: a group, gallery, definition, disk and version; prints the
# version's GET URL (with $expand=ReplicationStatus).
setup() {
    local sub base=$2 tok=$3
    sub=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['subscriptionId'])" "$1")
    arm() { curl -sf --cacert "$ca" -H "Authorization: Bearer $tok" -H 'content-type: application/json' "$@" >/dev/null; }
    local rg="$base/subscriptions/$sub/resourceGroups/benchRG"
    local gal="$rg/providers/Microsoft.Compute/galleries/benchGallery"
    arm -X PUT -d '{"location":"westcentralus"}' "$rg?api-version=2024-11-01"
    arm -X PUT -d '{"location":"westcentralus"}' "$gal?api-version=2026-03-03"; sleep 0.5
    arm -X PUT -d '{"location":"westcentralus","properties":{"osType":"Linux","osState":"Generalized","identifier":{"publisher":"p","offer":"o","sku":"s"}}}' "$gal/images/img?api-version=2021-10-01"; sleep 0.5
    arm -X PUT -d '{"location":"westcentralus","properties":{"diskSizeGB":1,"creationData":{"createOption":"Empty"}}}' "$rg/providers/Microsoft.Compute/disks/src?api-version=2025-01-02"; sleep 0.5
    arm -X PUT -d "{\"location\":\"westcentralus\",\"properties\":{\"publishingProfile\":{\"targetRegions\":[{\"name\":\"westcentralus\"},{\"name\":\"eastus\"}]},\"storageProfile\":{\"osDiskImage\":{\"source\":{\"id\":\"/subscriptions/$sub/resourceGroups/benchRG/providers/Microsoft.Compute/disks/src\"}}}}}" "$gal/images/img/versions/1.0.0?api-version=2024-03-03"; sleep 1
    local url="$gal/images/img/versions/1.0.0?api-version=2024-03-03&\$expand=ReplicationStatus"
    arm "$url"
    echo "$url"
}

# wrk_run URL [TOKEN]: "requests/s p99-ms non-2xx"
wrk_run() {
    local out
    if [ -n "${2:-}" ]; then
        out=$(wrk -t1 -c$conns -d"${secs}s" --latency -H "Authorization: Bearer $2" "$1")
    else
        out=$(wrk -t1 -c$conns -d"${secs}s" --latency "$1")
    fi
    python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
print(f"{rps:.0f} {ms:.2f} {bad.group(1) if bad else 0}")
PY
}

# measure LABEL BASE URL TOKEN: RUNS alternating runs of the reference and the ARM GET.
results="$dir/results.txt"
measure() {
    local label=$1 base=$2 url=$3 tok=$4
    wrk -t1 -c$conns -d2s "$base/healthz" >/dev/null   # warm-up
    for i in $(seq "$runs"); do
        echo "$label|reference GET /healthz|$(wrk_run "$base/healthz")" >>"$results"
        echo "$label|ARM GET version|$(wrk_run "$url" "$tok")" >>"$results"
    done
}

# A node's token, its benchmark resources, and the measured runs; sets base, tok and url.
measure_node() { # label name port
    base="https://127.0.0.1:$3"
    tok=$(token "$dir/$2/credentials.json" "$base")
    url=$(setup "$dir/$2/credentials.json" "$base" "$tok")
    measure "$1" "$base" "$url" "$tok"
}

# 1. SQLite, one node (its own CA).
p=$(freeport)
ca="$dir/sqlite/tls/ca.crt"
start sqlite "$p"   # the node makes its CA; start's health check waits until it does
measure_node "SQLite, 1 node" sqlite "$p"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# 2. PostgreSQL, one node; then a second node (same certificate) and HAProxy in front of both.
pa=$(freeport); pb=$(freeport); lb=$(freeport)
ca="$dir/pg-a/tls/ca.crt"
start pg-a "$pa" --database-url "$db" --public-url "https://127.0.0.1:$lb"
measure_node "PostgreSQL, 1 node" pg-a "$pa"

start pg-b "$pb" --database-url "$db" --tls-cert "$dir/pg-a/tls/server.crt" --tls-key "$dir/pg-a/tls/server.key" \
    --public-url "https://127.0.0.1:$lb"
cat "$dir/pg-a/tls/server.crt" "$dir/pg-a/tls/server.key" >"$dir/lb.pem"
cat >"$dir/haproxy.cfg" <<EOF
global
    maxconn 1024
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
frontend lb
    bind 127.0.0.1:$lb ssl crt $dir/lb.pem
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /healthz
    default-server inter 500ms ssl verify required ca-file $ca
    server a 127.0.0.1:$pa check
    server b 127.0.0.1:$pb check
EOF
haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
pids+=($!)
sleep 1.5
lb_url=${url/127.0.0.1:$pa/127.0.0.1:$lb}
measure "PostgreSQL, 2 nodes behind HAProxy" "https://127.0.0.1:$lb" "$lb_url" "$tok"

echo "wrk, 1 thread, $conns connections, ${secs}s per run, $runs runs each; $(nproc) cores shared by everything"
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("|") for line in open(sys.argv[1])]
groups = {}
for setup, what, figures in rows:
    rps, p99, bad = figures.split()
    groups.setdefault((setup, what), []).append((float(rps), float(p99), int(bad)))
print(f"{'setup':36} {'request':24} {'req/s median (min-max)':>26} {'p99 ms median (min-max)':>26} {'non-2xx':>8}")
for (setup, what), xs in groups.items():
    r = [x[0] for x in xs]; p = [x[1] for x in xs]
    print(f"{setup:36} {what:24} {statistics.median(r):>10.0f} ({min(r):.0f}-{max(r):.0f})"
          f"{statistics.median(p):>14.2f} ({min(p):.2f}-{max(p):.2f}) {sum(x[2] for x in xs):>8}")
PY
