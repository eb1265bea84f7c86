#!/usr/bin/env bash
# Install @skyware/labeler (the skyware-labeler target) on the project's Node 22.
#
#   bash scripts/setup-labeler.sh              install if needed (idempotent; well under 1 s once done)
#   bash scripts/setup-labeler.sh --print-env  print LABELER_DIR=... without installing; exit 1 with a
#                                              one-line reason on stderr when not installed
#
# Why this shape (the same as scripts/setup-node.sh, which provides Node 22):
# - `npm ci` from implementations/skyware-labeler/package-lock.json into
#   ${ATCHECK_CACHE:-~/.cache/atcheck}/labeler/<hash>/, keyed by that lockfile and by Node's own lockfile, so a
#   second checkout reuses the install and a lockfile change gets a fresh one (~10 s: no native build; libsql
#   ships a prebuilt binary as an npm package).
# - Built in a temporary dir and renamed into place, so an interrupted install never looks finished.
# - The start script lives in scripts-<hash of start.mjs>/ next to node_modules (symlinked), so editing it
#   never reinstalls packages and --print-env never hands out a stale copy.
set -euo pipefail

# shellcheck source=scripts/_setup-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_setup-common.sh" setup-labeler
SRC="$ROOT/implementations/skyware-labeler"
BASE="$(cache_dir labeler)"
KEY="$(hash_files "$ROOT/implementations/node22/package-lock.json" "$SRC/package.json" "$SRC/package-lock.json")"
SKEY="$(hash_files "$SRC/start.mjs")"
DEST="$BASE/$KEY"
SCRIPTS_DIR="$DEST/scripts-$SKEY"

print_env() {
  [[ -d "$DEST/node_modules/@skyware/labeler" ]] ||
    fail "@skyware/labeler is not installed for this lockfile ($DEST missing); run scripts/setup-labeler.sh"
  [[ -f "$SCRIPTS_DIR/start.mjs" ]] ||
    fail "the labeler start script changed since the last install; run scripts/setup-labeler.sh"
  echo "LABELER_DIR=$SCRIPTS_DIR"
}

install_packages() {
  npm_install_on_node22 "$SRC" "$DEST" @skyware/labeler "npm ci on Node 22" 600 \
    "const m = await import('@skyware/labeler'); if (typeof m.LabelerServer !== 'function') throw new Error('no LabelerServer');
     const { createClient } = await import('@libsql/client'); await createClient({ url: ':memory:' }).execute('select 1');"
}

main() {
  handle_options 2,5 "$@"
  command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed (coreutils)"
  mkdir -p "$BASE"
  if [[ ! -d "$DEST" ]]; then
    command -v npm >/dev/null 2>&1 || fail "npm is not installed (apt-get install npm)"
    take_lock "$BASE/.lock" 900
    [[ -d "$DEST" ]] || install_packages
  fi
  install_start_scripts "$SCRIPTS_DIR" ../node_modules "$SRC/start.mjs" "$SRC/package.json"
  print_env
}

main "$@"
