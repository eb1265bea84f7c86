#!/usr/bin/env bash
# Install the indigo relay (Bluesky's Sync 1.1 reference relay, github.com/bluesky-social/indigo/cmd/relay) for
# atcheck's `indigo-relay` target.
#
#   bash scripts/setup-relay.sh              install if needed (idempotent; ~0.01 s when done, ~3 min cold)
#   bash scripts/setup-relay.sh --print-env  print RELAY_BIN=/abs/path/relay without installing, or exit 1
#                                            with a one-line reason on stderr
#
# Why this shape:
# - The relay is a Go program: `go install` fetches it from the Go module proxy at the version pinned in
#   implementations/indigo-relay/VERSION and builds it with cgo (its sqlite driver), so Go and a C compiler
#   are needed. The proxy serves only some indigo versions; the pin is one it serves.
# - A cold build takes ~3 min on 2 cores, so the binary lives in a cache shared by every checkout, keyed by
#   the version: ${ATCHECK_CACHE:-~/.cache/atcheck}/relay/<version>/bin/relay. Go's own module and build
#   caches (GOMODCACHE, GOCACHE) make a rebuild after a version bump cheaper.
# - The relay is optional: scripts/setup.sh goes on when this script fails (no Go, no C compiler, a failing
#   build), and the target is then reported as not run, with this script's reason.
# - The install is built in a temporary directory and renamed into place, so an interrupted build never looks
#   installed. A lock serialises concurrent installs.
set -euo pipefail

# shellcheck source=scripts/_setup-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_setup-common.sh" setup-relay
VERSION_FILE="$ROOT/implementations/indigo-relay/VERSION"
MODULE="github.com/bluesky-social/indigo/cmd/relay"

[[ -f "$VERSION_FILE" ]] || fail "missing $VERSION_FILE (is the checkout complete?)"
VERSION="$(tr -d '[:space:]' <"$VERSION_FILE")"
[[ "$VERSION" =~ ^v[0-9A-Za-z.+-]+$ ]] || fail "$VERSION_FILE holds no Go module version: '$VERSION'"

BASE="$(cache_dir relay)"
DEST="$BASE/$VERSION"
RELAY_BIN="$DEST/bin/relay"
MARKER="$DEST/.atcheck-complete"

installed() {
  [[ -f "$MARKER" && -x "$RELAY_BIN" ]]
}

print_env() {
  installed || fail "the indigo relay $VERSION is not installed ($DEST missing); run: bash scripts/setup-relay.sh (needs Go and a C compiler)"
  echo "RELAY_BIN=$RELAY_BIN"
}

require_commands() {
  command -v go >/dev/null 2>&1 ||
    fail "Go is not installed, so the indigo relay cannot be built (install Go 1.26 or newer: https://go.dev/dl)"
  command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 ||
    fail "no C compiler (cc or gcc): the relay's sqlite driver needs cgo (apt-get install build-essential)"
}

install_relay() {
  local tmp log started=$SECONDS
  mkdir -p "$BASE"
  tmp="$(mktemp -d "$BASE/.tmp-$VERSION-XXXXXX")"
  chmod 755 "$tmp"
  INSTALL_TMP="$tmp"
  trap 'rm -rf "$INSTALL_TMP"' EXIT
  log="$BASE/install-$VERSION.log"
  echo "setup-relay: building $MODULE@$VERSION with go install (~3 min the first time; log: $log)" >&2
  if ! CGO_ENABLED=1 GOBIN="$tmp/bin" GOFLAGS="${GOFLAGS:--buildvcs=false}" \
    go install "$MODULE@$VERSION" >"$log" 2>&1 </dev/null; then
    tail -n 15 "$log" >&2
    fail "go install $MODULE@$VERSION failed (full log: $log)"
  fi
  "$tmp/bin/relay" --help >/dev/null 2>>"$log" || fail "the built relay does not run (log: $log)"
  touch "$tmp/.atcheck-complete"
  if ! mv -T "$tmp" "$DEST" 2>/dev/null; then
    installed || fail "cannot move the install into $DEST"
  fi
  trap - EXIT
  rm -rf "$tmp"
  echo "setup-relay: installed into $DEST in $((SECONDS - started)) s" >&2
  note_installed
}

main() {
  handle_options 2,7 "$@"
  if installed; then
    print_env
    return
  fi
  require_commands
  mkdir -p "$BASE"
  take_lock "$BASE/.lock" 900
  remove_stale_tmp "$BASE"
  installed || install_relay
  print_env
}

main "$@"
