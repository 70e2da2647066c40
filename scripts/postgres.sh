#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, on a loopback port, with no durability settings
# (fsync and synchronous commit off) unless GALLEON_PG_DURABLE=1: `scripts/postgres.sh start DIR
# PORT` prints its URL (and starts a stopped cluster again); `stop DIR` shuts it down cleanly;
# `crash DIR` stops it as a crash would (immediate: only durable commits survive, so crash tests
# start their cluster with GALLEON_PG_DURABLE=1).
# Installs Debian's postgresql when no server is present. initdb refuses to run as root, so as
# root the cluster belongs to the `postgres` user.
set -euo pipefail
cmd=${1:?start DIR PORT | stop DIR | crash DIR}
dir=${2:?data directory}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

case "$cmd" in
start)
    port=${3:?port}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    # A cluster stopped earlier starts again with its data (tests of a database outage).
    if [ ! -d "$dir/data" ]; then
        as_owner "$bin/initdb -D '$dir/data' -U galleon --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync" >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${GALLEON_PG_DURABLE:-}" = 1 ] && durability=""
    as_owner "$bin/pg_ctl -D '$dir/data' -l '$dir/pg.log' -w -o \"-k '$dir' -p $port \
        -c listen_addresses=127.0.0.1 -c max_connections=300 $durability\" start" >&2 || { cat "$dir/pg.log" >&2; exit 1; }
    echo "postgres://galleon@127.0.0.1:$port/postgres"
    ;;
stop | crash)
    mode=fast
    [ "$cmd" = crash ] && mode=immediate
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl -D '$dir/data' -m $mode -w stop" >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR | crash DIR" >&2
    exit 2
    ;;
esac
