#!/usr/bin/env bash
# Install Debian's headless-capable `chromium` for the HTML report's browser self-test
# (tests/report/test_html_browser.py).
#
#   bash scripts/setup-chromium.sh              install if missing (idempotent; instant when present)
#   bash scripts/setup-chromium.sh --print-path print the browser's path, or exit 1 with a reason on stderr
#
# Why this shape:
# - The browser comes from the Debian archive through apt-get, never from a selenium/playwright download.
# - It is optional: the self-test skips, with this script's reason, where it cannot be installed (no root, no
#   apt-get, no mirror).
# - apt-get holds its own lock, but two worktrees running this at once would both start a ~100 MB install and
#   one would fail on dpkg's lock; a flock on a file in the atcheck cache serialises them, and the second one
#   finds the browser installed.
set -euo pipefail

# shellcheck source=scripts/_setup-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_setup-common.sh" setup-chromium

find_browser() {
    local name
    for name in chromium chromium-browser; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if [[ "${1:-}" == "--print-path" ]]; then
    find_browser || fail "chromium is not installed (run: bash scripts/setup-chromium.sh)"
    exit 0
fi

find_browser >/dev/null && exit 0

command -v apt-get >/dev/null 2>&1 || fail "chromium is missing and apt-get is not available to install it"
[[ $(id -u) == 0 ]] || fail "chromium is missing; installing Debian's chromium needs root"

cache="$(cache_dir)"
mkdir -p "$cache"
take_lock "$cache/.chromium.lock" 900
find_browser >/dev/null && exit 0  # installed by whoever held the lock

echo "setup-chromium: installing Debian's chromium (once, ~1-2 min) ..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed; check the Debian mirror"
    apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || fail "apt-get install chromium failed"
fi
find_browser >/dev/null || fail "chromium installed but not on PATH"
note_installed
