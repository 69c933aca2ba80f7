#!/usr/bin/env bash
# program_env.sh RRX: a recorded program's environment is exactly the one
# it was given: what /proc/self/environ holds, what getenv sees and what
# its children inherit (rrx adds no LD_PRELOAD or anything else), with and
# without a user's own LD_PRELOAD, and replay shows the same.
set -euo pipefail
rrx="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The program prints its own environ, its getenv("LD_PRELOAD") through the
# shell, and a child's environ: NUL-separated, so any byte is compared.
cat >"$work/show_env.sh" <<'SCRIPT'
cat /proc/self/environ
echo "LD_PRELOAD=[${LD_PRELOAD-unset}]"
env -0
SCRIPT

check() { # check NAME [VAR=VALUE...]
  local name="$1"
  shift
  env -i "$@" PATH="$PATH" sh "$work/show_env.sh" >"$work/$name.native"
  env -i "$@" PATH="$PATH" "$rrx" record -q -o "$work/$name" sh "$work/show_env.sh" >"$work/$name.recorded"
  cmp -s "$work/$name.native" "$work/$name.recorded" ||
    fail "$name: the recorded program's environment differs: $(diff <(tr '\0' '\n' <"$work/$name.native") <(tr '\0' '\n' <"$work/$name.recorded") | head -n 5)"
  "$rrx" replay -a "$work/$name" >"$work/$name.replayed"
  cmp -s "$work/$name.recorded" "$work/$name.replayed" || fail "$name: replay shows another environment"
  echo "$name: $(tr '\0' '\n' <"$work/$name.native" | grep -c .) lines identical natively, recorded and replayed"
}
check plain HOME=/nowhere LANG=C.UTF-8 'ODD=a b=c'
# A user's own preload library passes through untouched.
check user_preload LD_PRELOAD=/lib/x86_64-linux-gnu/libm.so.6 HOME=/nowhere
grep -qa 'LD_PRELOAD=\[unset\]' "$work/plain.recorded" || fail "the program saw an LD_PRELOAD it was not given"
echo PASS
