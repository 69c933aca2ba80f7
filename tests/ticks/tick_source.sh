#!/usr/bin/env bash
# tick_source.sh RRX: the soft tick page is mapped into recorded processes
# with --ticks=soft and not with --ticks=none; both replay. The default,
# auto, is hw where --ticks=hw is accepted and soft elsewhere.
set -euo pipefail
rrx="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
count_page() {  # prints how many mappings start at the tick page's address
  "$rrx" record --ticks="$1" -o "$work/$1" sh -c 'grep -c "^70000000-" /proc/self/maps || true'
}
soft=$(count_page soft)
none=$(count_page none)
echo "tick page mappings: soft=$soft none=$none"
[[ "$soft" == 1 && "$none" == 0 ]] || { echo "FAIL"; exit 1; }
[[ "$("$rrx" replay -a "$work/soft")" == "$soft" ]]
[[ "$("$rrx" replay -a "$work/none")" == "$none" ]]
echo "both replay the same"
# auto (the default) is hw exactly where --ticks=hw is accepted, else soft.
"$rrx" record -q -o "$work/auto" true
auto=$("$rrx" traceinfo "$work/auto" | sed -n 's/^  "ticks": "\(.*\)",$/\1/p')
if "$rrx" record -q --ticks=hw -o "$work/hw" true 2>"$work/hw.err"; then want=hw; else want=soft; fi
echo "auto chose $auto (--ticks=hw: $(head -c 200 "$work/hw.err"))"
[[ "$auto" == "$want" ]] || { echo "FAIL: auto chose '$auto', want $want"; exit 1; }
