#!/usr/bin/env bash
# The container part of `make test`: build the offline images, run the suites against the reference stack
# and the skyware labeler under both launchers, and check that the verdicts agree check by check (issues #4,
# #10).
#
# Where no Docker engine can be started (no root, no docker.io package), the container suites are reported as
# not run, with the reason, and this step passes: the container launcher is tested where an engine exists.
# An engine this script started is stopped again at the end, pass or fail.
#
#   scripts/ci-containers.sh [-- CMD ARGS...]   run CMD first, with the engine already up (so the container
#                                               launcher's self-tests in CMD run too), then the container step
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ATCHECK=.venv/bin/atcheck
OUT="reports/containers"

was_running=0
if bash scripts/docker-engine.sh status >/dev/null 2>&1; then
    was_running=1
fi
stop_engine() {
    if [[ $was_running == 0 ]]; then
        bash scripts/docker-engine.sh stop >/dev/null 2>&1 || true
    fi
}
trap stop_engine EXIT
engine=1
if ! reason="$(bash scripts/docker-engine.sh start 2>&1 >/dev/null)"; then
    engine=0
fi

if [[ "${1:-}" == "--" ]]; then
    shift
    "$@"
fi
if [[ $engine == 0 ]]; then
    echo "containers: NOT RUN: no Docker engine here (${reason##*$'\n'})" >&2
    exit 0
fi

bash scripts/build-images.sh reference
status=0
"$ATCHECK" run --target reference --target reference@container --baseline suites/baseline.toml \
    --report-dir "$OUT" || status=$?
"$ATCHECK" containers compare "$OUT" || status=1
# The labeler under both launchers, compared the same way (its label suite only: it plays no other role).
bash scripts/build-images.sh skyware-labeler
"$ATCHECK" run --target skyware-labeler --target skyware-labeler@container --suite labels \
    --baseline suites/baseline.toml --report-dir "$OUT-labeler" || status=$?
"$ATCHECK" containers compare "$OUT-labeler" --left skyware-labeler --right skyware-labeler@container || status=1
exit "$status"
