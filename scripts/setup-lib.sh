#!/usr/bin/env bash
# Install one library target's harness (lib-python, lib-typescript, lib-go, lib-rust) and its libraries.
#
#   bash scripts/setup-lib.sh LANG              install if needed (idempotent; well under 1 s once done)
#   bash scripts/setup-lib.sh LANG --print-env  print LIB_<LANG>=<harness command path> without installing,
#                                               or exit 1 with a one-line reason on stderr
#   bash scripts/setup-lib.sh all               every language; one that fails does not stop the others
#
# LANG is python, typescript, go or rust. (scripts/setup-lib-LANG.sh are the same, for atcheck's tool table.)
#
# Why this shape:
# - Each install lives in ${ATCHECK_CACHE:-~/.cache/atcheck}/libs/<lang>/<key>/, where <key> hashes what
#   decides its content (the lockfile, the harness source for compiled harnesses, the toolchain version), so
#   an unchanged checkout reuses it and a changed one gets a fresh install without disturbing others.
# - Installs are built in a temporary dir and renamed into place (an interrupted one never looks installed),
#   under a flock per language, so two worktrees running setup at once do not race.
# - Python and TypeScript harnesses are scripts: the Python one runs from the checkout with the cached venv's
#   interpreter; the TypeScript one is copied next to its node_modules (ESM resolves imports from the file's
#   own folder), keyed by its hash. Go and Rust harnesses are compiled into the install.
# - A language whose toolchain is missing, or whose libraries do not build here, is not an error of the run:
#   its --print-env says why (a Rust build that failed records its reason, so it is not retried on every run
#   until the sources change), and atcheck reports that target as not run, with the reason.
set -euo pipefail

# shellcheck source=scripts/_setup-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_setup-common.sh" setup-lib
IMPL="$ROOT/implementations"

# hash_files runs in a subshell ($(...)), where fail cannot stop the script: check the files first.
need_files() {
  local f
  for f in "$@"; do
    [[ -f "$f" ]] || fail "missing ${f#"$ROOT"/} (is the checkout complete?)"
  done
}

# -- python: the atproto SDK in its own venv ------------------------------------------------------------

python_base() {
  command -v python3.11 || command -v python3 || return 1
}

python_key() {
  local base version
  need_files "$IMPL/lib-python/requirements.txt"
  base="$(python_base)" || fail "no python3.11 or python3 on PATH"
  version="$("$base" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  { hash_files "$IMPL/lib-python/requirements.txt"; echo "$version"; } | sha256sum | cut -c1-16
}

python_print() {
  local dest="$1"
  [[ -f "$dest/.atcheck-complete" ]] || fail "the atproto SDK is not installed ($dest missing); run: bash scripts/setup-lib.sh python"
  echo "LIB_PYTHON=$dest/bin/python"
}

python_install() {
  local tmp="$1" base
  base="$(python_base)" || fail "no python3.11 or python3 on PATH"
  "$base" -m venv "$tmp" || fail "cannot create a venv with $base"
  "$tmp/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    -r "$IMPL/lib-python/requirements.txt" || fail "pip could not install implementations/lib-python/requirements.txt"
  "$tmp/bin/python" -m pip check >/dev/null || fail "the pinned set is inconsistent"
  "$tmp/bin/python" -c 'import atproto_client.models.string_formats, atproto_crypto.verify, libipld' ||
    fail "the atproto SDK does not import in the new venv"
}

python_after_move() {
  "$1/bin/python" -c 'import atproto_core' || fail "the venv does not work after moving it to $1"
}

# -- typescript: @atproto/* on the project's Node 22 ----------------------------------------------------

typescript_key() {
  need_files "$IMPL/lib-typescript/package.json" "$IMPL/lib-typescript/package-lock.json"
  hash_files "$IMPL/lib-typescript/package.json" "$IMPL/lib-typescript/package-lock.json"
}

typescript_harness() {
  echo "$1/harness-$(hash_files "$IMPL/lib-typescript/harness.mjs").mjs"
}

typescript_print() {
  local dest="$1" harness
  [[ -f "$dest/.atcheck-complete" ]] || fail "the @atproto libraries are not installed ($dest missing); run: bash scripts/setup-lib.sh typescript"
  harness="$(typescript_harness "$dest")"
  [[ -f "$harness" ]] || fail "the harness changed since the last install; run: bash scripts/setup-lib.sh typescript"
  echo "LIB_TYPESCRIPT=$harness"
}

typescript_install() {
  local tmp="$1"
  command -v npm >/dev/null 2>&1 || fail "npm is not installed"
  cp "$IMPL/lib-typescript/package.json" "$IMPL/lib-typescript/package-lock.json" "$tmp/"
  (cd "$tmp" && npm ci --no-audit --no-fund --engine-strict=false --loglevel=error >"$tmp/npm.log" 2>&1) ||
    { tail -n 5 "$tmp/npm.log" >&2; fail "npm ci failed for implementations/lib-typescript"; }
}

typescript_refresh() {
  # The harness script is ours and changes more often than the lockfile: copy it in (atomically) by its hash.
  local dest="$1" harness
  harness="$(typescript_harness "$dest")"
  [[ -f "$harness" ]] && return 0
  cp "$IMPL/lib-typescript/harness.mjs" "$harness.tmp.$$" && mv -f "$harness.tmp.$$" "$harness"
}

# -- go: indigo's packages through the Go module proxy --------------------------------------------------

go_key() {
  need_files "$IMPL/lib-go/go.mod" "$IMPL/lib-go/go.sum" "$IMPL/lib-go/main.go"
  command -v go >/dev/null 2>&1 || fail "Go is not installed, so indigo's packages cannot be built (install Go 1.26 or newer)"
  { hash_files "$IMPL/lib-go/go.mod" "$IMPL/lib-go/go.sum" "$IMPL/lib-go/main.go"; go env GOVERSION; } |
    sha256sum | cut -c1-16
}

go_print() {
  local dest="$1"
  [[ -f "$dest/.atcheck-complete" ]] || fail "the Go harness (indigo) is not built ($dest missing); run: bash scripts/setup-lib.sh go"
  echo "LIB_GO=$dest/bin/lib-go-harness"
}

go_install() {
  local tmp="$1"
  mkdir -p "$tmp/src" "$tmp/bin"
  cp "$IMPL/lib-go/go.mod" "$IMPL/lib-go/go.sum" "$IMPL/lib-go/main.go" "$tmp/src/"
  (cd "$tmp/src" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" go build -o "$tmp/bin/lib-go-harness" . \
    >"$tmp/build.log" 2>&1 </dev/null) || { tail -n 10 "$tmp/build.log" >&2; fail "go build of implementations/lib-go failed"; }
}

# -- rust: the rsky crates from the crates registry -----------------------------------------------------

rust_key() {
  need_files "$IMPL/lib-rust/Cargo.toml" "$IMPL/lib-rust/Cargo.lock" "$IMPL/lib-rust/src/main.rs"
  command -v cargo >/dev/null 2>&1 || fail "Rust (cargo) is not installed, so the rsky crates cannot be built"
  { hash_files "$IMPL/lib-rust/Cargo.toml" "$IMPL/lib-rust/Cargo.lock" "$IMPL/lib-rust/src/main.rs"; cargo --version; } |
    sha256sum | cut -c1-16
}

rust_print() {
  local dest="$1" base
  base="$(dirname "$dest")"
  if [[ -f "$base/$(basename "$dest").failed" ]]; then
    fail "the rsky crates did not build here: $(tail -n 1 "$base/$(basename "$dest").failed") (delete $base/$(basename "$dest").failed to try again)"
  fi
  [[ -f "$dest/.atcheck-complete" ]] || fail "the Rust harness (rsky) is not built ($dest missing); run: bash scripts/setup-lib.sh rust"
  echo "LIB_RUST=$dest/bin/lib-rust-harness"
}

rust_install() {
  local tmp="$1" started=$SECONDS limit="${ATCHECK_RUST_BUILD_LIMIT:-900}"
  mkdir -p "$tmp/bin"
  cp -r "$IMPL/lib-rust/Cargo.toml" "$IMPL/lib-rust/Cargo.lock" "$IMPL/lib-rust/src" "$tmp/"
  # One target dir for every rust install: a changed harness rebuilds only itself, not the ~300 crates.
  if ! (cd "$tmp" && CARGO_TARGET_DIR="$(cache_dir libs)/cargo-target" timeout "$limit" \
    nice -n 10 cargo build --release --locked -j 2 >"$tmp/build.log" 2>&1 </dev/null); then
    local reason
    reason="$(grep -m1 -E '^error' "$tmp/build.log" || tail -n 1 "$tmp/build.log")"
    (( SECONDS - started >= limit )) && reason="the build took over $limit s on this machine"
    echo "cargo build failed after $((SECONDS - started)) s: $reason" >"$(cache_dir libs)/rust/$KEY.failed"
    fail "cargo build of implementations/lib-rust failed: $reason"
  fi
  cp "$(cache_dir libs)/cargo-target/release/lib-rust-harness" "$tmp/bin/"
}

# -- driver ---------------------------------------------------------------------------------------------

setup_one() {
  local lang="$1" mode="${2:-}" base dest tmp
  SETUP_NAME="setup-lib $lang"
  case "$lang" in
    python | typescript | go | rust) ;;
    *) fail "unknown language '$lang' (python, typescript, go, rust or all)" ;;
  esac
  command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed (coreutils)"
  base="$(cache_dir libs)/$lang"
  KEY="$("${lang}_key")"
  dest="$base/$KEY"
  if [[ "$mode" == "--print-env" ]]; then
    "${lang}_print" "$dest"
    return
  fi
  [[ -z "$mode" ]] || fail "unknown option $mode (use --print-env or no option)"
  mkdir -p "$base"
  take_lock "$base/.lock" 1200
  if [[ ! -f "$dest/.atcheck-complete" ]]; then
    [[ "$lang" == rust && -f "$base/$KEY.failed" ]] && rust_print "$dest"
    remove_stale_tmp "$base"
    tmp="$(mktemp -d "$base/.tmp-$KEY-XXXXXX")"
    chmod 755 "$tmp"
    INSTALL_TMP="$tmp"
    trap 'rm -rf "$INSTALL_TMP"' EXIT
    local started=$SECONDS
    echo "setup-lib $lang: installing into $dest" >&2
    "${lang}_install" "$tmp"
    touch "$tmp/.atcheck-complete"
    if ! mv -T "$tmp" "$dest" 2>/dev/null; then
      [[ -f "$dest/.atcheck-complete" ]] || fail "cannot move the install into $dest"
    fi
    trap - EXIT
    rm -rf "$tmp"
    declare -F "${lang}_after_move" >/dev/null && "${lang}_after_move" "$dest"
    echo "setup-lib $lang: installed in $((SECONDS - started)) s" >&2
    note_installed
  fi
  declare -F "${lang}_refresh" >/dev/null && "${lang}_refresh" "$dest"
  "${lang}_print" "$dest"
}

main() {
  local lang="${1:-}"
  [[ -n "$lang" ]] || fail "usage: setup-lib.sh python|typescript|go|rust|all [--print-env]"
  if [[ "$lang" == all ]]; then
    local one status=0
    for one in python typescript go rust; do
      bash "${BASH_SOURCE[0]}" "$one" "${@:2}" || status=1
    done
    return "$status"
  fi
  setup_one "$@"
}

main "$@"
