# Sourced by the opt-in az scripts (from the repository root): the unmodified Azure CLI in the
# `.venv-az` venv (a ~730 MB install, made once), qemu-img, and a debug build of galleon.
venv=.venv-az
[ -x "$venv/bin/az" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install --quiet --disable-pip-version-check azure-cli; }
command -v qemu-img >/dev/null || { apt-get update -qq && apt-get install -y -qq qemu-utils; }
cargo build --quiet -p galleon
