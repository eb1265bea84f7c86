#!/usr/bin/env bash
# Set up everything atcheck needs on this machine; idempotent, and a couple of seconds when already done.
#
#   bash scripts/setup.sh            Python venv (.venv) + Node 22 and the reference PDS/PLC + arroba
#   bash scripts/setup.sh --python   only the Python venv
#
# Each part keeps its own cache and decides for itself whether there is anything to do:
# - .venv is reinstalled only when pyproject.toml changes (a stamp file holds its hash);
# - scripts/setup-node.sh and scripts/setup-arroba.sh install into ${ATCHECK_CACHE:-~/.cache/atcheck},
#   keyed by their lockfiles, so a fresh clone on a machine that already ran them reuses the installs;
# - scripts/setup-labeler.sh installs @skyware/labeler on that Node 22 (keyed by its lockfile), ~15 s once;
# - scripts/setup-relay.sh builds the indigo relay (keyed by its pinned version). It is optional: without Go
#   or with a failing build, setup goes on and the indigo-relay target is reported as not run, with the reason.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { echo "setup: $*" >&2; }
die() { echo "setup: $*" >&2; exit 2; }

# A clock in microseconds (bash 5's EPOCHREALTIME; where it is missing, this script's whole SECONDS).
now_us() {
    local t="${EPOCHREALTIME:-$SECONDS.000000}"
    echo "${t/[.,]/}"
}
STARTED="$(now_us)"

# What this run installed: each setup script appends its name here when it installs something (see
# note_installed in scripts/_setup-common.sh), so the closing line can say whether there was anything to do.
ATCHECK_SETUP_REPORT="$(mktemp "${TMPDIR:-/tmp}/atcheck-setup.XXXXXX")"
export ATCHECK_SETUP_REPORT
trap 'rm -f "$ATCHECK_SETUP_REPORT"' EXIT

# The closing line: how long setup took, and what it installed (nothing, on every run after the first).
finish() {
    local cs=$((($(now_us) - STARTED) / 10000)) took parts
    took="$((cs / 100)).$(printf '%02d' $((cs % 100))) s"
    parts="$(paste -sd, "$ATCHECK_SETUP_REPORT" | sed 's/,/, /g')"
    if [[ -z "$parts" ]]; then
        say "everything was already installed; nothing to do ($took)"
    else
        say "installed $parts in $took"
    fi
}

python_bin() {
    local candidate
    for candidate in "${ATCHECK_PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

setup_venv() {
    local py stamp want
    py="$(python_bin)" || die "atcheck needs Python 3.11 or newer (set ATCHECK_PYTHON to one)"
    stamp=".venv/.atcheck-stamp"
    want="$(cat pyproject.toml | sha256sum | cut -c1-16) $("$py" -c 'import sys; print(sys.version.split()[0])')"
    if [[ -x .venv/bin/python && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    say "creating the Python environment in .venv (pyproject.toml changed or first run)"
    [[ -x .venv/bin/python ]] || "$py" -m venv .venv || die "could not create .venv with $py"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' ||
        die "pip could not install atcheck's dependencies (see above)"
    echo "$want" >"$stamp"
    echo "the Python environment (.venv)" >>"$ATCHECK_SETUP_REPORT"
}

setup_venv
if [[ "${1:-}" == "--python" ]]; then
    finish
    exit 0
fi
command -v npm >/dev/null 2>&1 || die "npm is missing: install Node.js with npm (any version; Node 22 itself comes from npm)"
bash scripts/setup-node.sh || die "installing Node 22 and the reference implementations failed (see above)"
bash scripts/setup-arroba.sh || die "installing arroba failed (see above)"
bash scripts/setup-labeler.sh >/dev/null || die "installing @skyware/labeler failed (see above)"
bash scripts/setup-relay.sh >/dev/null ||
    say "the indigo relay is not installed (reason above); the indigo-relay target will be reported as not run"
finish
