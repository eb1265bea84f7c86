#!/usr/bin/env bash
# Start, stop or query the Docker engine that atcheck's container launcher talks to.
#
# Why a script of our own: this machine has no systemd and no engine until the project starts one. We install
# Debian's docker.io when dockerd is missing, start dockerd in the background (detached from the caller's
# session, so Ctrl-C on a test run does not take the engine down with it), remember its PID in a pid file and
# stop it by that PID. Every command is idempotent and fast when there is nothing to do.
#
#   scripts/docker-engine.sh start    # install if needed, start if not running, wait until it answers
#   scripts/docker-engine.sh stop     # stop the engine this script started (never one it did not start)
#   scripts/docker-engine.sh status   # one line; exit 0 when the engine answers, 1 when not
set -euo pipefail

SOCKET=/var/run/docker.sock
STATE_DIR=${ATCHECK_DOCKER_STATE:-/var/run/atcheck-docker}
PID_FILE=$STATE_DIR/dockerd.pid
LOG_FILE=${ATCHECK_DOCKER_LOG:-/var/log/atcheck-dockerd.log}
START_TIMEOUT_S=${ATCHECK_DOCKER_START_TIMEOUT:-60}

die() { echo "docker-engine: $*" >&2; exit 1; }

answers() {
    # The engine is up when the API answers on the socket (any client will do; `docker` may be newer).
    timeout 10 docker -H "unix://$SOCKET" version --format '{{.Server.Version}}' 2>/dev/null
}

our_pid() {
    # The PID in our pid file, if that process is still a dockerd.
    [[ -f $PID_FILE ]] || return 1
    local pid
    pid=$(<"$PID_FILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] || return 1
    # A killed dockerd may linger as a zombie (PID 1 here does not always reap): that is not running.
    local state
    state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ $state != Z && $state != X ]] || return 1
    echo "$pid"
}

install_engine() {
    command -v apt-get >/dev/null || die "dockerd is missing and apt-get is not available; install a Docker engine"
    [[ $(id -u) == 0 ]] || die "dockerd is missing; installing docker.io needs root (sudo $0 start)"
    echo "docker-engine: installing docker.io (Debian) ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends docker.io >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed; check the Debian mirror"
        apt-get install -y -qq --no-install-recommends docker.io >/dev/null 2>&1 \
            || die "apt-get install docker.io failed"
    fi
    command -v dockerd >/dev/null || die "docker.io installed but dockerd is not on PATH"
}

cmd_status() {
    local version pid
    if version=$(answers); then
        pid=$(our_pid || true)
        echo "docker engine: running (version $version${pid:+, pid $pid started by atcheck}, $SOCKET)"
        return 0
    fi
    if command -v dockerd >/dev/null; then
        echo "docker engine: not running (start it: bash scripts/docker-engine.sh start)"
    else
        echo "docker engine: not installed (install and start it: bash scripts/docker-engine.sh start)"
    fi
    return 1
}

cmd_start() {
    local version pid
    if version=$(answers); then
        echo "docker engine: already running (version $version)"
        return 0
    fi
    command -v dockerd >/dev/null || install_engine
    command -v docker >/dev/null || die "the docker client is missing (apt-get install docker.io)"
    if pid=$(our_pid); then
        die "dockerd (pid $pid) runs but does not answer on $SOCKET; see $LOG_FILE or run: $0 stop"
    fi
    [[ $(id -u) == 0 ]] || die "starting dockerd needs root (sudo $0 start)"
    mkdir -p "$STATE_DIR" "$(dirname "$LOG_FILE")"
    # setsid: its own session, so a Ctrl-C aimed at the caller does not reach the engine.
    setsid dockerd --host="unix://$SOCKET" --storage-driver=overlay2 \
        --pidfile="$STATE_DIR/dockerd.self.pid" >>"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    pid=$!
    local deadline=$((SECONDS + START_TIMEOUT_S))
    until version=$(answers); do
        if ! our_pid >/dev/null; then
            rm -f "$PID_FILE"
            die "dockerd exited while starting: $(tail -n 3 "$LOG_FILE" | tr '\n' ' ')"
        fi
        ((SECONDS < deadline)) || die "dockerd (pid $pid) did not answer within ${START_TIMEOUT_S}s; see $LOG_FILE"
        sleep 0.2
    done
    echo "docker engine: started (version $version, pid $pid, log $LOG_FILE)"
}

cmd_stop() {
    local pid
    if ! pid=$(our_pid); then
        rm -f "$PID_FILE"
        if answers >/dev/null; then
            echo "docker engine: running, but not started by this script; leaving it alone"
        else
            echo "docker engine: not running"
        fi
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do  # up to 20 s: dockerd stops its containers first
        our_pid >/dev/null || break
        sleep 0.2
    done
    if our_pid >/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        echo "docker engine: dockerd (pid $pid) did not stop within 20 s; killed" >&2
    fi
    rm -f "$PID_FILE"
    echo "docker engine: stopped (pid $pid)"
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) die "usage: $0 start|stop|status" ;;
esac
