#!/usr/bin/env bash
# Install arroba (the Python PDS library, our second independent PDS target) into its own venv.
#
#   bash scripts/setup-arroba.sh              install if needed (idempotent; ~0.1 s when already done)
#   bash scripts/setup-arroba.sh --print-env  print ARROBA_PYTHON=/abs/path/python without installing,
#                                             or exit 1 with a one-line reason on stderr
#
# Why a separate venv: arroba pins Flask, Google Cloud and crypto libraries that must not mix with atcheck's own
# dependencies. The venv lives in ${ATCHECK_CACHE:-$HOME/.cache/atcheck}/arroba/<key>/, where <key> is a hash of
# implementations/arroba/requirements.txt (the exact pinned set) and of the base interpreter's version (the
# pins include compiled wheels for one Python version). A changed requirements file gets a fresh venv; old
# ones are left for `rm -rf` by hand. The install is atomic: built in a temporary directory, checked, then
# renamed into place, so an interrupted install never looks installed.
#
# Environment: ATCHECK_CACHE (cache root), ARROBA_BASE_PYTHON (interpreter to build the venv from; default
# python3.11, else python3).
set -euo pipefail

# shellcheck source=scripts/_setup-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_setup-common.sh" setup-arroba
requirements="$ROOT/implementations/arroba/requirements.txt"
cache_root="$(cache_dir)"

base_python() {
    if [[ -n "${ARROBA_BASE_PYTHON:-}" ]]; then
        command -v "$ARROBA_BASE_PYTHON" || fail "ARROBA_BASE_PYTHON=$ARROBA_BASE_PYTHON is not an executable"
        return
    fi
    command -v python3.11 || command -v python3 || fail "no python3.11 or python3 on PATH (set ARROBA_BASE_PYTHON)"
}

[[ -f "$requirements" ]] || fail "missing $requirements"

base="$(base_python)"
base_version="$("$base" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
    || fail "cannot run $base"
key="$({ cat "$requirements"; echo "python=$base_version"; } | sha256sum | cut -c1-16)"
venv="$cache_root/arroba/$key"
python="$venv/bin/python"
marker="$venv/.atcheck-complete"

installed() {
    [[ -f "$marker" && -x "$python" ]]
}

if [[ "${1:-}" == "--print-env" ]]; then
    installed || fail "arroba is not installed (no complete venv at $venv); run: bash scripts/setup-arroba.sh"
    echo "ARROBA_PYTHON=$python"
    exit 0
elif [[ $# -gt 0 ]]; then
    fail "unknown argument '$1' (usage: setup-arroba.sh [--print-env])"
fi

if installed; then
    echo "setup-arroba: already installed at $venv"
    echo "ARROBA_PYTHON=$python"
    exit 0
fi

mkdir -p "$cache_root/arroba"
tmp="$(mktemp -d "$cache_root/arroba/.tmp-$key-XXXXXX")"
chmod 755 "$tmp"  # mktemp makes it private; the cache is shared by whoever runs atcheck here
trap 'rm -rf "$tmp"' EXIT

started=$SECONDS
echo "setup-arroba: building the venv with $base ($base_version) in $tmp"
"$base" -m venv "$tmp" || fail "cannot create a venv with $base"
# --no-deps: the file is the complete resolved set, so pip installs exactly it; `pip check` proves it complete.
"$tmp/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" \
    || fail "pip could not install $requirements (see the output above)"
"$tmp/bin/python" -m pip check >/dev/null || fail "the pinned set is inconsistent: $("$tmp/bin/python" -m pip check | head -1)"
"$tmp/bin/python" -c 'import arroba.server, arroba.xrpc_sync, lexrpc.flask_server, flask_sock' \
    || fail "arroba does not import in the new venv"
touch "$tmp/.atcheck-complete"

# Rename into place; if another install won the race meanwhile, keep theirs.
if ! mv -T "$tmp" "$venv" 2>/dev/null; then
    installed || fail "cannot move the venv into $venv"
    echo "setup-arroba: another install finished first; keeping it"
fi
trap - EXIT
rm -rf "$tmp"
# The interpreter finds its venv through bin/../pyvenv.cfg, so the renamed venv works; prove it.
"$python" -c 'import arroba' || fail "the venv does not work after moving it to $venv"
echo "setup-arroba: installed in $((SECONDS - started)) s at $venv"
note_installed
echo "ARROBA_PYTHON=$python"
