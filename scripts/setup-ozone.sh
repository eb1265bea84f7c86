#!/usr/bin/env bash
# Install Ozone through @atproto/dev-env (the ozone target) on the project's Node 22, with the Debian
# packages it runs on: PostgreSQL (initdb, postgres) and redis-server.
#
#   bash scripts/setup-ozone.sh              install if needed (idempotent; well under 1 s once done)
#   bash scripts/setup-ozone.sh --print-env  print OZONE_DIR=... without installing; exit 1 with a
#                                            one-line reason on stderr when not installed
#
# Why this shape (the same as the labeler's setup script):
# - Debian's postgresql and redis-server are installed with apt-get when missing (root only; otherwise the
#   script says what to install), under the same lock as the npm install, so two worktrees never race.
# - `npm ci` from implementations/ozone/package-lock.json into ${ATCHECK_CACHE:-~/.cache/atcheck}/ozone/<hash>/,
#   keyed by that lockfile and by Node's own lockfile (~470 MB; a few minutes, most of it compiling
#   better-sqlite3 against Node 22's headers).
# - Built in a temporary dir and renamed into place, so an interrupted install never looks finished.
# - The start script lives in scripts-<hash of start.mjs>/ next to node_modules (symlinked), so editing it
#   never reinstalls packages and --print-env never hands out a stale copy.
set -euo pipefail

# shellcheck source=scripts/_setup-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_setup-common.sh" setup-ozone
SRC="$ROOT/implementations/ozone"
BASE="$(cache_dir ozone)"
KEY="$(hash_files "$ROOT/implementations/node22/package-lock.json" "$SRC/package.json" "$SRC/package-lock.json")"
SKEY="$(hash_files "$SRC/start.mjs")"
DEST="$BASE/$KEY"
SCRIPTS_DIR="$DEST/scripts-$SKEY"

print_env() {
  [[ -d "$DEST/node_modules/@atproto/dev-env" ]] ||
    fail "@atproto/dev-env is not installed for this lockfile ($DEST missing); run scripts/setup-ozone.sh"
  [[ -f "$SCRIPTS_DIR/start.mjs" ]] ||
    fail "the ozone start script changed since the last install; run scripts/setup-ozone.sh"
  local missing
  if missing="$(debian_missing)"; then
    fail "$missing not installed; run scripts/setup-ozone.sh (as root)"
  fi
  echo "OZONE_DIR=$SCRIPTS_DIR"
}

# Prints what of Debian's packages is missing (exit 0), or nothing (exit 1) when all is there.
debian_missing() {
  local missing=()
  [[ -x /usr/lib/postgresql/15/bin/initdb || -x /usr/lib/postgresql/16/bin/initdb ]] || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  ((${#missing[@]})) || return 1
  echo "${missing[*]}"
}

install_debian() {
  local missing
  missing="$(debian_missing)" || return 0
  [[ $(id -u) == 0 ]] || fail "$missing not installed, and installing needs root (apt-get install $missing)"
  echo "setup-ozone: installing Debian packages: $missing" >&2
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends $missing \
    >/dev/null 2>&1 ||
    { timeout 300 apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
      timeout 600 apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; } ||
    fail "apt-get install $missing failed"
}

install_packages() {
  npm_install_on_node22 "$SRC" "$DEST" @atproto/dev-env "npm ci on Node 22; a few minutes once" 1500 \
    "const m = await import('@atproto/dev-env'); if (typeof m.TestNetwork?.create !== 'function') throw new Error('no TestNetwork');
     const Database = (await import('better-sqlite3')).default; new Database(':memory:').prepare('select 1').get();"
}

main() {
  handle_options 2,6 "$@"
  command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed (coreutils)"
  mkdir -p "$BASE"
  if [[ ! -d "$DEST" ]] || debian_missing >/dev/null; then
    command -v npm >/dev/null 2>&1 || fail "npm is not installed (apt-get install npm)"
    take_lock "$BASE/.lock" 1800
    install_debian
    [[ -d "$DEST" ]] || install_packages
  fi
  install_start_scripts "$SCRIPTS_DIR" ../node_modules "$SRC/start.mjs" "$SRC/package.json"
  print_env
}

main "$@"
