#!/usr/bin/env bash
# Records what the unmodified Azure CLI prints, as fixtures for the test that galleon's CLI
# prints the same (crates/galleon/tests/az_fixtures.rs). Runs every line of
# crates/galleon/tests/fixtures/az/commands.txt with az against a fresh galleon, and writes each
# recorded output to that directory with the machine's values (subscription, tenant, client id,
# paths) replaced by placeholders. Opt-in like scripts/az-e2e.sh (az is a ~730 MB install).
#
# Usage: scripts/az-record.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/az-venv.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/run.sh" <<'INNER'
set -euo pipefail
work=$1; bin=$2; az=$3; fixtures=$5
. "$4/az-env.sh"
export HOME="$work/home"   # --generate-ssh-keys writes ~/.ssh
imports="$work/data/imports"
"$az" --version > "$work/version.txt" 2>/dev/null; head -1 "$work/version.txt" | tr -s " " > "$fixtures/az-version.txt"
grep -v '^#' "$fixtures/commands.txt" | grep -v '^$' | while read -r file rest; do
    line=${rest//\{imports\}/$imports}
    line=${line//\{sub\}/$sub}
    eval "set -- $line"
    if [ "$file" = run ]; then
        step "$@" -o none < /dev/null
        continue
    fi
    step "$@" > "$work/out" < /dev/null
    # The values of this machine and run become placeholders.
    python3 - "$work/out" "$fixtures/$file" "$sub" "$(c tenantId)" "$(c clientId)" "$imports" <<'PY'
import re, sys
src, dst, sub, tenant, client, imports = sys.argv[1:7]
text = open(src).read()
for value, name in [(imports, "{imports}"), (sub, "{sub}"), (tenant, "{tenant}"), (client, "{client}")]:
    text = text.replace(value, name)
# The SSH key az generated for this run.
text = re.sub(r"ssh-rsa [A-Za-z0-9+/=]+", "ssh-rsa {key}", text)
open(dst, "w").write(text)
PY
done
echo "recorded into $fixtures" >&2
INNER
run=(bash "$work/run.sh" "$work" "$PWD/target/debug/galleon" "$PWD/$venv/bin/az" "$PWD/scripts" "$PWD/crates/galleon/tests/fixtures/az")
if unshare -n true 2>/dev/null; then unshare -n -- "${run[@]}"; else "${run[@]}"; fi
