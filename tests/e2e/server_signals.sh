#!/usr/bin/env bash
# `rrx replay --serve` ended by SIGTERM or SIGHUP (no debugger connected)
# removes its socket and the private directory holding it, and dies of the
# signal.
# usage: server_signals.sh RRX PROGRAM(hello)
set -euo pipefail
rrx="$1"
prog="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
"$rrx" record -o "$work/t" "$prog" >/dev/null
for sig in TERM HUP; do
  "$rrx" replay --serve "$work/t" >"$work/serve.out" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q "unix:" "$work/serve.out" && break
    sleep 0.05
  done
  socket=$(grep -o 'unix:[^ ]*' "$work/serve.out" | sed 's/^unix://')
  [ -S "$socket" ] || fail "no socket announced: $(cat "$work/serve.out")"
  kill -"$sig" "$pid"
  status=0
  wait "$pid" || status=$?
  ((status == 128 + $(kill -l "$sig"))) || fail "SIG$sig: rrx exited $status"
  [ ! -e "$(dirname "$socket")" ] || fail "SIG$sig left $(dirname "$socket") behind"
  echo "SIG$sig: socket directory removed, exit $status"
done
echo PASS
