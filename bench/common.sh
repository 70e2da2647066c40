# Sourced by the benchmark scripts: a release build, a scratch directory removed at exit, a free
# loopback port, and `start_galleon [serve flags…]`, which returns once the server answers.
cargo build --release --quiet -p galleon
dir=$(mktemp -d /var/tmp/galleon-bench.XXXXXX)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi; rm -rf "$dir"' EXIT

start_galleon() {
    target/release/galleon serve --data-dir "$dir/data" --listen "127.0.0.1:$port" "$@" >"$dir/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        [ -f "$dir/data/credentials.json" ] &&
            curl -sf --cacert "$dir/data/tls/ca.crt" "https://127.0.0.1:$port/healthz" >/dev/null && return
        sleep 0.1
    done
    echo "galleon did not start:" >&2
    cat "$dir/serve.log" >&2
    return 1
}

stop_galleon() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; fi
    pid=
}

# A fresh server on an empty data directory whose imports/ holds hard links to $dir/images/*:
# runs that import the same bytes again must not find their chunks already stored.
fresh_galleon() {
    stop_galleon
    rm -rf "$dir/data"
    mkdir -p "$dir/data/imports"
    ln "$dir"/images/* "$dir/data/imports/"
    start_galleon "$@"
}

# Writes back dirty data and drops the clean page cache, so every measured step starts alike.
settle() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; sleep 1; }
