#!/usr/bin/env bash
# Who the debug server lets in, checked with a real gdb against `rrx replay`:
#   other_user     on -s PORT, gdb run as a second local user (created here
#                  with useradd, removed at the end) is refused with a
#                  message naming its uid, rrx logs one line, and the
#                  owner's gdb then connects and debugs as usual;
#   second_client  on -s PORT and on --serve, a gdb connecting while another
#                  is in is turned away with a message, and the first
#                  session goes on stepping both ways unaffected.
# Exits 77 (CTest: skipped) when the case cannot run here.
# usage: server_access.sh RRX PROGRAM CASE
set -euo pipefail
rrx="$1"
prog="$2"
case="$3"
work="$(mktemp -d)"
server=""
user=""
cleanup() {
  if [[ -n "$server" ]]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  [[ -n "$user" ]] && userdel "$user" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export RRX_TRACE_DIR="$work/default-root"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
skip() {
  echo "SKIP: $*"
  exit 77
}
command -v gdb >/dev/null || skip "gdb is not installed"

# gdb in batch mode, without init files, each argument one command.
gdb_batch() {
  local args=()
  for c in "$@"; do args+=(-ex "$c"); done
  timeout 60 gdb -batch -nx -ex "set remotetimeout 10" "${args[@]}" 2>&1
}

# start_server MODE...: `rrx replay MODE... TRACE` in the background; sets
# $server and $address (what gdb's `target remote` takes).
start_server() {
  "$rrx" replay "$@" "$work/t" >"$work/serve.out" 2>"$work/serve.err" </dev/null &
  server=$!
  for _ in $(seq 1 200); do
    grep -q "serving" "$work/serve.out" 2>/dev/null && break
    sleep 0.05
  done
  grep -q "serving" "$work/serve.out" || fail "rrx replay $* did not start serving: $(head -c 300 "$work/serve.err")"
  address="$(sed -n 's/^rrx: serving .* on \(unix:\)\{0,1\}//p' "$work/serve.out")"
}

stop_server() {
  wait "$server" || fail "rrx replay exited $?: $(head -c 300 "$work/serve.err")"
  server=""
}

# The owner's own session: stepping both ways, then on to the end.
owner_session_ok() {
  local out="$1"
  grep -q "rip  *0x" <<<"$out" || fail "the owner's gdb read no registers: $out"
  grep -q "No more reverse-execution history" <<<"$out" || fail "reverse-stepi did not go back to the start: $out"
  grep -q "_exit" <<<"$out" || fail "continue did not reach the end of the recording: $out"
  if grep -q "Remote failure reply\|Remote connection closed" <<<"$out"; then fail "the owner's session failed: $out"; fi
}
owner_commands=("info registers rip" "stepi" "reverse-stepi" "continue")

port_number() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$rrx" record -o "$work/t" "$prog" >/dev/null

case "$case" in
other_user)
  ((EUID == 0)) || skip "needs root to create a second user"
  command -v useradd >/dev/null || skip "useradd is not installed"
  command -v setpriv >/dev/null || skip "setpriv is not installed"
  name="rrxe2e$$"
  useradd -M -s /usr/sbin/nologin "$name" || skip "useradd $name failed"
  user="$name"
  uid="$(id -u "$name")"
  start_server -s "$(port_number)"
  intruder="$(cd / && HOME=/ setpriv --reuid="$uid" --regid="$(id -g "$name")" --clear-groups \
    bash -c "$(declare -f gdb_batch); gdb_batch 'target remote $address' 'x/4xb \$pc'")" || true
  expected="refused a debugger connection from uid $uid on $address: only root may connect"
  grep -q "Remote failure reply: E.rrx: $expected" <<<"$intruder" ||
    fail "gdb as uid $uid was not told it is refused: $intruder"
  if grep -q "0x[0-9a-f]*:\s*0x" <<<"$intruder"; then fail "gdb as uid $uid read memory: $intruder"; fi
  [[ "$(grep -c . "$work/serve.err")" == 1 ]] && grep -qx "rrx: $expected" "$work/serve.err" ||
    fail "rrx did not log the refusal in one line: $(cat "$work/serve.err")"
  echo "uid $uid refused: $expected"
  owner="$(gdb_batch "target remote $address" "${owner_commands[@]}")"
  owner_session_ok "$owner"
  stop_server
  echo "the owner's gdb connected and debugged after the refusal"
  ;;
second_client)
  for mode in -s --serve; do
    if [[ "$mode" == -s ]]; then start_server -s "$(port_number)"; else start_server --serve; fi
    # The second gdb runs from inside the first one's session (gdb's shell
    # command), so it certainly connects while the first is in.
    first="$(gdb_batch "target remote $address" "info registers rip" \
      "shell timeout 60 gdb -batch -nx -ex 'target remote $address' >'$work/second.out' 2>&1" \
      "${owner_commands[@]}")"
    expected="turned away a debugger on $address: another debugger is connected, and a replay serves one at a time"
    grep -q "Remote failure reply: E.rrx: $expected" "$work/second.out" ||
      fail "the second gdb ($mode) was not told it is turned away: $(cat "$work/second.out")"
    grep -qx "rrx: $expected" "$work/serve.err" || fail "rrx did not log the second client ($mode): $(cat "$work/serve.err")"
    owner_session_ok "$first"
    stop_server
    echo "rrx replay $mode: the second gdb was turned away, the first went on"
  done
  ;;
*) fail "unknown case $case" ;;
esac
echo PASS
