#!/usr/bin/env bash
# What the GitHub Action (action.yml at the repo root) runs: install atcheck, run it, publish the result.
#
# Every step of the action that is not a `uses:` lives here, so a self-test (tests/suite/test_action_run.py)
# runs exactly this with fake GITHUB_* variables. Inputs come as variables (the action maps its inputs):
#
#   ATCHECK_ACTION_TARGET    targets: URLs, manifest paths or built-in names, one per line or space-separated
#   ATCHECK_ACTION_SUITES    suite areas, one per line, space- or comma-separated (default: every suite)
#   ATCHECK_ACTION_BASELINE  a baseline TOML of known failures (optional)
#   ATCHECK_ACTION_SETUP     built-in targets to install first with `atcheck setup` (optional)
#   ATCHECK_ACTION_REPORT_DIR  where the report goes (default: $GITHUB_WORKSPACE/atcheck-report)
#   ATCHECK_ACTION_ATCHECK   an atcheck command already installed; else atcheck is installed from the action's
#                            own checkout (GITHUB_ACTION_PATH, else this script's repo) into a venv under
#                            $RUNNER_TEMP, once per job
#   ATCHECK_ADMIN_PASSWORD, ATCHECK_ACCOUNT_HANDLE, ATCHECK_ACCOUNT_PASSWORD, ATCHECK_INVITE_CODE
#                            credentials (from secrets): read by atcheck itself, never put on a command line
#
# It writes the outputs `verdict` (pass, fail or error), `report-path` and `exit-code` to $GITHUB_OUTPUT, the
# report's summary.md to $GITHUB_STEP_SUMMARY, and exits with atcheck's own status: 0 every MUST passed, 1 a
# MUST failed, 2 usage or setup error. The report is uploaded by the action's next step, pass or fail.
set -uo pipefail

say() { echo "atcheck-action: $*" >&2; }

ACTION_ROOT="${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
REPORT_DIR="${ATCHECK_ACTION_REPORT_DIR:-${GITHUB_WORKSPACE:-$PWD}/atcheck-report}"
case "$REPORT_DIR" in /*) ;; *) REPORT_DIR="$PWD/$REPORT_DIR" ;; esac

output() {
    if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
        echo "$1=$2" >>"$GITHUB_OUTPUT"
    fi
}

summary() {
    if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
        cat >>"$GITHUB_STEP_SUMMARY"
    else
        cat >/dev/null
    fi
}

# Publish the outcome and stop: outputs first, so a later step can read them whatever happened.
finish() {
    local code="$1" verdict
    case "$code" in
        0) verdict=pass ;;
        1) verdict=fail ;;
        *) verdict=error ;;
    esac
    output verdict "$verdict"
    output exit-code "$code"
    output report-path "$REPORT_DIR"
    if [[ -f "$REPORT_DIR/summary.md" ]]; then
        summary <"$REPORT_DIR/summary.md"
    else
        printf '### atcheck: %s\n\natcheck exited with status %s before writing a report: %s\n' \
            "$verdict" "$code" "${2:-see the step log}" | summary
    fi
    say "verdict: $verdict (exit status $code); report: $REPORT_DIR"
    exit "$code"
}

install_atcheck() {
    if [[ -n "${ATCHECK_ACTION_ATCHECK:-}" ]]; then
        ATCHECK=("$ATCHECK_ACTION_ATCHECK")
        return 0
    fi
    local venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/atcheck-action-venv" py
    if [[ ! -x "$venv/bin/atcheck" ]]; then
        py="$(command -v python3)" || finish 2 "python3 is not on PATH"
        say "installing atcheck from $ACTION_ROOT into $venv"
        "$py" -m venv "$venv" || finish 2 "could not create a venv with $py"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$ACTION_ROOT" ||
            finish 2 "pip could not install atcheck from $ACTION_ROOT"
    fi
    ATCHECK=("$venv/bin/atcheck")
}

# Split an input on newlines, spaces and commas into the words of an array named $1.
words() {
    local -n into="$1"
    local IFS=$' \t\n,'
    set -f # a `*` in an input is a word, not a glob
    # shellcheck disable=SC2206 # splitting is the point
    into=($2)
    set +f
}

main() {
    [[ -n "${ATCHECK_ACTION_TARGET:-}" ]] || finish 2 "the input 'target' is empty (a URL, manifest or name)"
    install_atcheck

    local setup=() targets=() suites=() argv=(run --report-dir "$REPORT_DIR") item
    words setup "${ATCHECK_ACTION_SETUP:-}"
    if ((${#setup[@]})); then
        "${ATCHECK[@]}" setup "${setup[@]}" || finish 2 "atcheck setup ${setup[*]} failed"
    fi
    words targets "$ATCHECK_ACTION_TARGET"
    for item in "${targets[@]}"; do argv+=(--target "$item"); done
    words suites "${ATCHECK_ACTION_SUITES:-}"
    for item in "${suites[@]}"; do argv+=(--suite "$item"); done
    if [[ -n "${ATCHECK_ACTION_BASELINE:-}" ]]; then
        argv+=(--baseline "$ATCHECK_ACTION_BASELINE")
    fi

    say "${ATCHECK[*]} ${argv[*]}"
    local code=0
    CI="${CI:-true}" "${ATCHECK[@]}" "${argv[@]}" || code=$?
    finish "$code"
}

main "$@"
