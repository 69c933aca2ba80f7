#!/usr/bin/env bash
# The debug server's sockets never reach the replayed program: with
# `rrx replay --serve` (and -s PORT) listening before the replay starts,
# the replayed process must hold no socket descriptor.
# usage: server_fds.sh RRX PROGRAM
set -euo pipefail
rrx="$1"
prog="$2"
work="$(mktemp -d)"
server=""
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export RRX_TRACE_DIR="$work/default-root"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
"$rrx" record -o "$work/t" "$prog" >/dev/null
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
for mode in --serve "-s $port"; do
  # shellcheck disable=SC2086
  "$rrx" replay $mode "$work/t" >"$work/serve.out" 2>"$work/serve.err" </dev/null &
  server=$!
  for _ in $(seq 1 200); do
    grep -q "serving" "$work/serve.out" 2>/dev/null && break
    sleep 0.05
  done
  grep -q "serving" "$work/serve.out" || fail "rrx replay $mode did not start serving: $(head -c 300 "$work/serve.err")"
  tracee="$(pgrep -P "$server" | head -n 1)"
  [[ -n "$tracee" ]] || fail "rrx replay $mode started no replayed process"
  sockets="$(find "/proc/$tracee/fd" -lname 'socket:*' | wc -l)"
  ((sockets == 0)) || fail "the replayed process holds $sockets socket(s) of the server ($mode)"
  echo "rrx replay $mode: the replayed process $tracee holds no socket"
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
done
echo PASS
