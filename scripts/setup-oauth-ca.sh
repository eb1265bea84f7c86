#!/usr/bin/env bash
# Make the local certificate authority the OAuth suite serves its client metadata documents with.
#
#   bash scripts/setup-oauth-ca.sh              make it if needed (idempotent; instant once done)
#   bash scripts/setup-oauth-ca.sh --print-env  print OAUTH_CA=<ca.pem> without making anything; exit 1 with a
#                                               one-line reason on stderr when it is not there
#
# Why: an atproto authorization server fetches a client's metadata from its client_id, which must be an
# https URL with a public-looking host name (the reference refuses localhost and the .test/.local/... TLDs).
# atcheck plays that client on 127.0.0.1 as https://client.atcheck.internal:<port>/... (the target resolves
# that one name to 127.0.0.1; see ATCHECK_LOOPBACK_NAMES in implementations/reference/start-pds.mjs), so
# the PDS under test must trust atcheck's certificate. This script makes a throw-away CA and one certificate
# for that name, localhost and 127.0.0.1, signed by it, in ${ATCHECK_CACHE:-~/.cache/atcheck}/oauth-ca/v2/;
# the reference target
# trusts the CA through NODE_EXTRA_CA_CERTS (src/atcheck/targets/builtin/reference.toml) and the suite
# (atcheck.suite.oauth) serves with the leaf certificate. Nothing leaves this machine; the keys protect
# nothing but loopback test traffic.
# - Made in a temporary dir and renamed into place, so an interrupted run never looks finished.
# - flock on a file in the cache, so two worktrees running setup at once do not race.
set -euo pipefail

fail() {
  echo "setup-oauth-ca: $*" >&2
  exit 1
}

BASE="${ATCHECK_CACHE:-$HOME/.cache/atcheck}"
case "$BASE" in /*) ;; *) BASE="$PWD/$BASE" ;; esac
BASE="$BASE/oauth-ca"
# The host name of atcheck's client metadata documents (atcheck.suite.oauth_host.CLIENT_HOST).
CLIENT_HOST="client.atcheck.internal"
DEST="$BASE/v2"

print_env() {
  [[ -f "$DEST/ca.pem" && -f "$DEST/leaf.pem" && -f "$DEST/leaf.key" ]] ||
    fail "the OAuth test CA is not made ($DEST missing); run scripts/setup-oauth-ca.sh"
  echo "OAUTH_CA=$DEST/ca.pem"
  echo "OAUTH_CA_DIR=$DEST"
}

if [[ "${1:-}" == "--print-env" ]]; then
  print_env
  exit 0
fi

command -v openssl >/dev/null 2>&1 || fail "openssl is missing (Debian: apt-get install openssl)"
mkdir -p "$BASE"
exec 9>"$BASE/.lock"
flock -w 120 9 || fail "another setup holds $BASE/.lock for over 120 s"
if [[ -f "$DEST/ca.pem" && -f "$DEST/leaf.pem" && -f "$DEST/leaf.key" ]]; then
  print_env
  exit 0
fi

tmp="$(mktemp -d "$BASE/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(
  cd "$tmp"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout ca.key -out ca.pem -subj "/CN=atcheck OAuth test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout leaf.key -out leaf.csr -subj "/CN=localhost" 2>/dev/null
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,DNS:$CLIENT_HOST,IP:127.0.0.1" >leaf.ext
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile leaf.ext -out leaf.pem 2>/dev/null
  rm -f leaf.csr leaf.ext ca.srl
) || fail "openssl could not make the test CA"
mv "$tmp" "$DEST"
trap - EXIT
print_env
