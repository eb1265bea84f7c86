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

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/implementations/ozone"

fail() {
  echo "setup-ozone: $*" >&2
  exit 1
}

hash_files() {
  local f
  for f in "$@"; do
    [[ -f "$f" ]] || fail "missing $f (is the checkout complete?)"
    printf '%s\n' "${f#"$ROOT"/}"
    cat "$f"
  done | sha256sum | cut -c1-16
}

BASE="${ATCHECK_CACHE:-$HOME/.cache/atcheck}"
case "$BASE" in /*) ;; *) BASE="$PWD/$BASE" ;; esac
BASE="$BASE/ozone"
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

node22() {
  local line
  line="$(bash "$ROOT/scripts/setup-node.sh" --print-env 2>/dev/null | grep '^NODE22=')" ||
    line="$(bash "$ROOT/scripts/setup-node.sh" | grep '^NODE22=')" ||
    fail "Node 22 is not installed and scripts/setup-node.sh failed (see above)"
  echo "${line#NODE22=}"
}

install_packages() {
  local node bindir tmp log started=$SECONDS
  node="$(node22)"
  bindir="$(dirname "$node")"
  tmp="$BASE/.tmp-$KEY.$$"
  log="$BASE/install-$KEY.log"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  cp "$SRC/package.json" "$SRC/package-lock.json" "$tmp/"
  echo "setup-ozone: installing @atproto/dev-env (npm ci on Node 22; a few minutes once)" >&2
  if ! env PATH="$bindir:$PATH" npm_config_nodedir="$(dirname "$bindir")" \
    timeout 1500 npm ci --prefix "$tmp" --no-audit --no-fund >"$log" 2>&1 </dev/null; then
    tail -n 20 "$log" >&2
    fail "npm ci failed (full log: $log)"
  fi
  env --chdir="$tmp" "$node" --input-type=module -e \
    "const m = await import('@atproto/dev-env'); if (typeof m.TestNetwork?.create !== 'function') throw new Error('no TestNetwork');
     const Database = (await import('better-sqlite3')).default; new Database(':memory:').prepare('select 1').get();" \
    >>"$log" 2>&1 || fail "@atproto/dev-env does not load on Node 22 (log: $log)"
  mv -T "$tmp" "$DEST" 2>/dev/null || [[ -d "$DEST" ]] || fail "cannot move the install into $DEST"
  trap - EXIT
  rm -rf "$tmp"
  echo "setup-ozone: installed into $DEST in $((SECONDS - started)) s" >&2
}

install_scripts() {
  [[ -f "$SCRIPTS_DIR/start.mjs" ]] && return 0
  local tmp="$DEST/.tmp-scripts-$SKEY.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cp "$SRC/start.mjs" "$SRC/package.json" "$tmp/"
  ln -s ../node_modules "$tmp/node_modules"
  mv -T "$tmp" "$SCRIPTS_DIR" 2>/dev/null || rm -rf "$tmp"
}

main() {
  case "${1:-}" in
    --print-env)
      print_env
      return
      ;;
    -h | --help)
      sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      return
      ;;
    "") ;;
    *) fail "unknown option $1 (use --print-env or no option)" ;;
  esac
  command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed (coreutils)"
  mkdir -p "$BASE"
  if [[ ! -d "$DEST" ]] || debian_missing >/dev/null; then
    command -v npm >/dev/null 2>&1 || fail "npm is not installed (apt-get install npm)"
    exec 9>"$BASE/.lock"
    if command -v flock >/dev/null 2>&1; then
      flock -w 1800 9 || fail "another setup-ozone.sh holds $BASE/.lock for over 30 minutes"
    fi
    install_debian
    [[ -d "$DEST" ]] || install_packages
  fi
  install_scripts
  print_env
}

main "$@"
