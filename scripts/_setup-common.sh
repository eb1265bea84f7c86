# What every scripts/setup-*.sh shares, sourced (not run) as its first step:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/_setup-common.sh" setup-NAME
#
# Why one file: the setup scripts each install one thing into the cache every checkout shares, and must agree
# on where that cache is, how an install is keyed, how two worktrees running setup at once are serialised and
# how a failure is said (one line, prefixed with the script's name, exit 1). Each script stays runnable on its
# own from any folder: this file finds the checkout from its own path, and it is shipped beside the scripts
# (setup.py, MANIFEST.in), so an installed wheel's `atcheck setup` runs them the same way.
#
# At source time it runs nothing but bash and dirname (a test runs a script on a PATH of bash and a few
# coreutils).
# Defines: ROOT, SETUP_NAME, fail, cache_dir, hash_files, take_lock, remove_stale_tmp, node22,
# npm_install_on_node22, install_start_scripts, note_installed, handle_options.

# The checkout (or, in an installed wheel, atcheck/_data): the folder above scripts/.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The prefix of every message; setup-lib.sh adds the language once it knows it.
SETUP_NAME="${1:?usage: source _setup-common.sh setup-NAME}"

fail() {
  echo "$SETUP_NAME: $*" >&2
  exit 1
}

# The cache folder shared by every checkout on the machine, made absolute (a relative ATCHECK_CACHE is taken
# from the folder setup runs in), or its subfolder $1.
cache_dir() {
  local base="${ATCHECK_CACHE:-$HOME/.cache/atcheck}"
  case "$base" in
    /*) ;;
    *) base="$PWD/$base" ;;
  esac
  echo "$base${1:+/$1}"
}

# A short hash of the files given, in order (names included, so moving content between files counts): what
# keys an install. It runs in $(...), where fail stops only the subshell; a caller that pipes its output on
# must check the files exist first.
hash_files() {
  local f
  for f in "$@"; do
    [[ -f "$f" ]] || fail "missing $f (is the checkout complete?)"
    printf '%s\n' "${f#"$ROOT"/}"
    cat "$f"
  done | sha256sum | cut -c1-16
}

# Hold the lock file $1 (on fd 9, until the script exits), waiting at most $2 seconds: one install at a time
# per cache folder, so a second run waits and then finds the finished install. Without flock, no lock.
take_lock() {
  local file="$1" seconds="$2"
  exec 9>"$file"
  command -v flock >/dev/null 2>&1 || return 0
  flock -w "$seconds" 9 || fail "another ${0##*/} holds $file for over $((seconds / 60)) minutes"
}

# Holding the lock, no install is under way: a temporary folder left in $1 is from a killed one. Without
# flock there was no lock, so nothing is removed.
remove_stale_tmp() {
  command -v flock >/dev/null 2>&1 || return 0
  local stale
  for stale in "$1"/.tmp-*; do
    [[ -e "$stale" ]] && rm -rf "$stale"
  done
  return 0
}

# The path of the project's Node 22, installing it (scripts/setup-node.sh) when it is not there yet.
node22() {
  local line
  line="$(bash "$ROOT/scripts/setup-node.sh" --print-env 2>/dev/null | grep '^NODE22=')" ||
    line="$(bash "$ROOT/scripts/setup-node.sh" | grep '^NODE22=')" ||
    fail "Node 22 is not installed and scripts/setup-node.sh failed (see above)"
  echo "${line#NODE22=}"
}

# `npm ci` of folder $1's package.json and lockfile on the project's Node 22, into install folder $2 (built
# in a temporary folder beside it and renamed into place, so an interrupted install never looks finished; its
# log beside it too). $3 names the package in messages, $4 says how ("npm ci on Node 22"), $5 is npm's time
# limit in seconds, and $6, a JavaScript module body run in the install, must succeed: the package loads.
npm_install_on_node22() {
  local src="$1" dest="$2" package="$3" how="$4" limit="$5" check="$6"
  local node bindir log started=$SECONDS
  node="$(node22)"
  bindir="$(dirname "$node")"
  INSTALL_TMP="${dest%/*}/.tmp-${dest##*/}.$$"
  log="${dest%/*}/install-${dest##*/}.log"
  rm -rf "$INSTALL_TMP"
  mkdir -p "$INSTALL_TMP"
  trap 'rm -rf "$INSTALL_TMP"' EXIT
  cp "$src/package.json" "$src/package-lock.json" "$INSTALL_TMP/"
  echo "$SETUP_NAME: installing $package ($how)" >&2
  if ! env PATH="$bindir:$PATH" npm_config_nodedir="$(dirname "$bindir")" \
    timeout "$limit" npm ci --prefix "$INSTALL_TMP" --no-audit --no-fund >"$log" 2>&1 </dev/null; then
    tail -n 20 "$log" >&2
    fail "npm ci failed (full log: $log)"
  fi
  env --chdir="$INSTALL_TMP" "$node" --input-type=module -e "$check" >>"$log" 2>&1 ||
    fail "$package does not load on Node 22 (log: $log)"
  mv -T "$INSTALL_TMP" "$dest" 2>/dev/null || [[ -d "$dest" ]] || fail "cannot move the install into $dest"
  trap - EXIT
  rm -rf "$INSTALL_TMP"
  echo "$SETUP_NAME: installed into $dest in $((SECONDS - started)) s" >&2
  note_installed
}

# Copy our start scripts (files $3...) into folder $1 beside an install's node_modules (a link to $2, relative
# to $1), atomically. The folder is keyed by the scripts' hash: editing one never reinstalls packages, and
# --print-env never hands out a stale copy.
install_start_scripts() {
  local dir="$1" modules="$2"
  shift 2
  [[ -d "$dir" ]] && return 0
  local tmp="${dir%/*}/.tmp-${dir##*/}.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cp "$@" "$tmp/"
  ln -s "$modules" "$tmp/node_modules"
  mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
}

# Note that this run installed something, for scripts/setup.sh's closing line: setup.sh sets
# ATCHECK_SETUP_REPORT to a file each script it runs appends its name to when it installs (run alone, a
# script notes nothing).
note_installed() {
  [[ -n "${ATCHECK_SETUP_REPORT:-}" ]] || return 0
  echo "${SETUP_NAME#setup-}" >>"$ATCHECK_SETUP_REPORT"
}

# The options every installing script takes: --print-env runs the script's print_env and exits; -h/--help
# prints lines $1 (e.g. 2,6) of the script's own head; no option goes on to install; anything else fails.
handle_options() {
  local help="$1"
  shift
  case "${1:-}" in
    --print-env)
      print_env
      exit 0
      ;;
    -h | --help)
      sed -n "${help}p" "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    "") ;;
    *) fail "unknown option $1 (use --print-env or no option)" ;;
  esac
}
