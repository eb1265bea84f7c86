#!/usr/bin/env bash
# Make everything the container launcher needs, from a clean machine: the engine, debootstrap, the host
# installs the images copy (scripts/setup-node.sh), then the images themselves. Idempotent: when everything is
# up to date it takes about a second, so CI can call it before every run.
#
#   scripts/build-images.sh            # all images
#   scripts/build-images.sh reference  # the base and the named images only
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${ATCHECK_PYTHON:-$ROOT/.venv/bin/python}"

die() { echo "build-images: $*" >&2; exit 1; }

[[ -x $PYTHON ]] || die "no Python at $PYTHON (create the venv, or set ATCHECK_PYTHON)"
bash "$ROOT/scripts/docker-engine.sh" start >&2
if ! command -v debootstrap >/dev/null; then
    [[ $(id -u) == 0 ]] || die "debootstrap is missing; installing it needs root"
    echo "build-images: installing debootstrap ..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1; } \
        || die "apt-get install debootstrap failed"
fi
bash "$ROOT/scripts/setup-node.sh" >&2
exec "$PYTHON" -m atcheck.cli containers build "$@"
