# Sourced by the az scripts' inner scripts (with $work, $bin and $az set): starts galleon on a
# loopback port, points an isolated az profile at it with telemetry and instance discovery off,
# and logs in with the admin service principal. Defines `c KEY` (a credentials.json value),
# `step ARGS…` (echoes and runs az, never echoing a secret), $port, $pid and $sub.
ip link set lo up 2>/dev/null || true
port=18443
"$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -f "$work/data/credentials.json" ] && break; sleep 0.1; done
sleep 0.5
c() { python3 -c "import json;print(json.load(open('$work/data/credentials.json'))['$1'])"; }
export AZURE_CONFIG_DIR="$work/azcfg" AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_INSTANCE_DISCOVERY=false AZURE_CORE_NO_COLOR=true
cat /etc/ssl/certs/ca-certificates.crt "$(c caFile)" > "$work/bundle.pem"
export REQUESTS_CA_BUNDLE="$work/bundle.pem" SSL_CERT_FILE="$work/bundle.pem"
step() { if [ "$1" = login ]; then echo "+ az login --service-principal (secret not shown)" >&2; else echo "+ az $*" >&2; fi; "$az" "$@"; }
step cloud register -n galleon --endpoint-resource-manager "https://127.0.0.1:$port/" -o none
step cloud set -n galleon -o none
step config set core.instance_discovery=false -o none
step login --service-principal -u "$(c clientId)" -p "$(c clientSecret)" --tenant "$(c tenantId)" -o none
sub=$(c subscriptionId)
# A small OS disk image for imports.
mkdir -p "$work/data/imports"
truncate -s 8M "$work/os.raw"; printf 'galleon' | dd of="$work/os.raw" conv=notrunc status=none
qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on "$work/os.raw" "$work/data/imports/os.vhd"
