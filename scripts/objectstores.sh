#!/usr/bin/env bash
# Object stores for the tests, on loopback ports: Azurite (npm azurite 3.35.0, the Azure Blob
# emulator; later versions need a newer Node than Debian ships) and moto's S3 server (PyPI
# moto 5.2.1 — a mock, used only as an S3 protocol check; scripts/garage.sh runs the same tests on
# a real distributed S3 store), and a second Azurite serving HTTPS with a certificate from a
# throwaway CA (the TLS path to object stores, with `ca_file`). `start DIR` installs what is
# missing, starts them with their data under DIR, creates the container and bucket `galleon-test`,
# and prints the variables the tests read (export them); `stop DIR` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:?start DIR | stop DIR}
dir=${2:?state directory}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 200); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}

case "$cmd" in
start)
    mkdir -p "$dir"
    if [ ! -x .azurite/node_modules/.bin/azurite-blob ]; then
        command -v npm >/dev/null || { apt-get update -qq >&2 && apt-get install -y -qq nodejs npm >&2; }
        npm install --prefix .azurite --no-audit --no-fund --silent azurite@3.35.0 >&2
    fi
    venv=.venv-stores
    if [ ! -x "$venv/bin/moto_server" ]; then
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.1' >&2
    fi
    az_port=$(free_port)
    .azurite/node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$az_port" --location "$dir/azurite" \
        --disableTelemetry --skipApiVersionCheck --silent >"$dir/azurite.log" 2>&1 &
    echo $! >"$dir/azurite.pid"
    # A CA and a certificate for 127.0.0.1 it signed, for the HTTPS Azurite.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=galleon test CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/tls.ext"
    openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
        -extfile "$dir/tls.ext" -out "$dir/tls.pem" 2>/dev/null
    tls_port=$(free_port)
    .azurite/node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$tls_port" --location "$dir/azurite-tls" \
        --cert "$dir/tls.pem" --key "$dir/tls.key" --disableTelemetry --skipApiVersionCheck --silent >"$dir/azurite-tls.log" 2>&1 &
    echo $! >"$dir/azurite-tls.pid"
    s3_port=$(free_port)
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$dir/moto.log" 2>&1 &
    echo $! >"$dir/moto.pid"
    wait_port "$az_port"
    wait_port "$tls_port"
    wait_port "$s3_port"
    az="http://127.0.0.1:$az_port/devstoreaccount1"
    az_tls="https://127.0.0.1:$tls_port/devstoreaccount1"
    s3="http://127.0.0.1:$s3_port"
    python3 scripts/objectstores_setup.py azure "$az" galleon-test >&2
    python3 scripts/objectstores_setup.py azure "$az_tls" galleon-test "$dir/ca.pem" >&2
    python3 scripts/objectstores_setup.py s3 "$s3" galleon-test >&2
    echo "GALLEON_TEST_AZURITE_ENDPOINT=$az"
    echo "GALLEON_TEST_AZURITE_TLS_ENDPOINT=$az_tls"
    echo "GALLEON_TEST_AZURITE_CA=$dir/ca.pem"
    echo "GALLEON_TEST_S3_ENDPOINT=$s3"
    ;;
stop)
    for name in azurite azurite-tls moto; do
        [ -f "$dir/$name.pid" ] && kill "$(cat "$dir/$name.pid")" 2>/dev/null || true
    done
    ;;
*)
    echo "usage: $0 start DIR | stop DIR" >&2
    exit 2
    ;;
esac
