#!/usr/bin/env bash
# scripts/sparkgate start after a crash: whatever a kill -9 left behind (the pid file of a dead
# gateway, a pid since taken by another program, a process not reaped yet), start starts the gateway;
# and stop never signals a process that is not the gateway. Runs a real gateway (no Spark session).
#   SPARKGATE_TEST_PORT   the REST port to use (default: a free one)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd "$SPARKGATE_HOME"

work=$(mktemp -d)
others=()
cleanup() {
  scripts/sparkgate stop >/dev/null 2>&1 || true
  for p in "${others[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export SPARKGATE_RUN_DIR="$work/run"
export SPARKGATE_RECOVERY_STATE_STORE_URL="$work/state"
export SPARKGATE_SERVER_PORT="${SPARKGATE_TEST_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
export SPARKGATE_SERVER_HOST=127.0.0.1
PID_FILE="$SPARKGATE_RUN_DIR/gateway.pid"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
check() { printf "test (%s): %s\n" "$(date +%T)" "$*"; }

answers() { curl -fsS "http://127.0.0.1:$SPARKGATE_SERVER_PORT/version" >/dev/null 2>&1; }

# Starts, checking that a gateway (a new pid) answers afterwards.
start_expecting_a_new_gateway() {
  local before; before=$(cat "$PID_FILE" 2>/dev/null || echo none)
  local out; out=$(scripts/sparkgate start 2>&1) || { fail "start failed: $out"; return; }
  case "$out" in *"already running"*) fail "start answered 'already running': $out"; return ;; esac
  local pid; pid=$(cat "$PID_FILE")
  [ "$pid" != "$before" ] || fail "the pid file still names $before"
  answers || fail "no gateway answers on port $SPARKGATE_SERVER_PORT after start"
}

check "a first start"
start_expecting_a_new_gateway

check "start a moment after kill -9"
pid=$(cat "$PID_FILE")
kill -9 "$pid"
start_expecting_a_new_gateway

check "start when the pid file names a pid that is gone"
pid=$(cat "$PID_FILE")
kill -9 "$pid"
while kill -0 "$pid" 2>/dev/null && [ "$(sed 's/^.*) //' /proc/$pid/stat 2>/dev/null | cut -d' ' -f1)" != Z ]; do sleep 0.1; done
echo 999999 > "$PID_FILE"
start_expecting_a_new_gateway

check "start when the pid was reused by another program; stop leaves that program alone"
pid=$(cat "$PID_FILE")
kill -9 "$pid"
sleep 300 &
other=$!
others+=("$other"); disown "$other"
echo "$other" > "$PID_FILE"
start_expecting_a_new_gateway
kill -0 "$other" 2>/dev/null || fail "start signalled the unrelated process $other"
echo "$other" > "$PID_FILE.keep"
gateway=$(cat "$PID_FILE")
echo "$other" > "$PID_FILE"
scripts/sparkgate stop >/dev/null 2>&1 || true
kill -0 "$other" 2>/dev/null || fail "stop killed the unrelated process $other"
echo "$gateway" > "$PID_FILE"

check "start when the pid file names a process not reaped yet (a zombie)"
kill -9 "$(cat "$PID_FILE")"
zombie_parent_out="$work/zombie"
# A parent that never waits for its child: the child stays a zombie while the parent lives.
python3 -c '
import os, sys, time
pid = os.fork()
if pid == 0:
    os._exit(0)
print(pid, flush=True)
time.sleep(300)
' > "$zombie_parent_out" &
others+=("$!"); disown "$!"
for _ in $(seq 1 50); do [ -s "$zombie_parent_out" ] && break; sleep 0.1; done
zombie=$(cat "$zombie_parent_out")
for _ in $(seq 1 50); do [ "$(sed 's/^.*) //' /proc/$zombie/stat 2>/dev/null | cut -d' ' -f1)" = Z ] && break; sleep 0.1; done
kill -0 "$zombie" 2>/dev/null || fail "the test could not make a zombie"
echo "$zombie" > "$PID_FILE"
start_expecting_a_new_gateway

check "status and stop of the running gateway"
scripts/sparkgate status >/dev/null 2>&1 || fail "status does not see the running gateway"
gateway=$(cat "$PID_FILE")
scripts/sparkgate stop >/dev/null 2>&1 || fail "stop failed"
! kill -0 "$gateway" 2>/dev/null || fail "the gateway $gateway still runs after stop"
[ ! -f "$PID_FILE" ] || fail "stop left the pid file"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "start-after-crash: all checks passed"
