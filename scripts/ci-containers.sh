#!/usr/bin/env bash
# The container part of `make test`: build the offline images, run the suites against the reference stack
# (and the indigo relay, where it is installed) and the skyware labeler under both launchers, and check that
# the verdicts agree check by check, pair by pair (issues #4, #8, #10).
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
targets=(--target reference --target reference@container)
# The relay pair, where setup could install the relay (it needs Go): its image is optional, so a build that
# fails here leaves indigo-relay@container not run, with the reason in the report, and the compare says so
# without failing. Without the relay, the pair is left out and this says why.
if relay_env="$(bash scripts/setup-relay.sh --print-env 2>/dev/null)" && [[ $relay_env == RELAY_BIN=* ]]; then
    bash scripts/build-images.sh indigo-relay \
        || echo "containers: the indigo-relay image did not build; indigo-relay@container will not run" >&2
    targets+=(--target indigo-relay --target indigo-relay@container)
else
    echo "containers: indigo-relay pair NOT RUN: the relay is not installed here (${relay_env:-no reason})" >&2
fi
status=0
"$ATCHECK" run "${targets[@]}" --baseline suites/baseline.toml --report-dir "$OUT" || status=$?
"$ATCHECK" containers compare "$OUT" --optional indigo-relay || status=1
# The labeler under both launchers, compared the same way (its label suite only: it plays no other role).
bash scripts/build-images.sh skyware-labeler
"$ATCHECK" run --target skyware-labeler --target skyware-labeler@container --suite labels \
    --baseline suites/baseline.toml --report-dir "$OUT-labeler" || status=$?
"$ATCHECK" containers compare "$OUT-labeler" --left skyware-labeler --right skyware-labeler@container || status=1
exit "$status"
