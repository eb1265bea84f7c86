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

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/implementations/skyware-labeler"

fail() {
  echo "setup-labeler: $*" >&2
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
BASE="$BASE/labeler"
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
  echo "setup-labeler: installing @skyware/labeler (npm ci on Node 22)" >&2
  if ! env PATH="$bindir:$PATH" npm_config_nodedir="$(dirname "$bindir")" \
    timeout 600 npm ci --prefix "$tmp" --no-audit --no-fund >"$log" 2>&1 </dev/null; then
    tail -n 20 "$log" >&2
    fail "npm ci failed (full log: $log)"
  fi
  env --chdir="$tmp" "$node" --input-type=module -e \
    "const m = await import('@skyware/labeler'); if (typeof m.LabelerServer !== 'function') throw new Error('no LabelerServer');
     const { createClient } = await import('@libsql/client'); await createClient({ url: ':memory:' }).execute('select 1');" \
    >>"$log" 2>&1 || fail "@skyware/labeler does not load on Node 22 (log: $log)"
  mv -T "$tmp" "$DEST" 2>/dev/null || [[ -d "$DEST" ]] || fail "cannot move the install into $DEST"
  trap - EXIT
  rm -rf "$tmp"
  echo "setup-labeler: installed into $DEST in $((SECONDS - started)) s" >&2
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
      sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      return
      ;;
    "") ;;
    *) fail "unknown option $1 (use --print-env or no option)" ;;
  esac
  command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed (coreutils)"
  mkdir -p "$BASE"
  if [[ ! -d "$DEST" ]]; then
    command -v npm >/dev/null 2>&1 || fail "npm is not installed (apt-get install npm)"
    exec 9>"$BASE/.lock"
    if command -v flock >/dev/null 2>&1; then
      flock -w 900 9 || fail "another setup-labeler.sh holds $BASE/.lock for over 15 minutes"
    fi
    [[ -d "$DEST" ]] || install_packages
  fi
  install_scripts
  print_env
}

main "$@"
