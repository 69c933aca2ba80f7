#!/usr/bin/env bash
# User errors and damaged traces. Every bad input must give a non-zero exit
# below 128 (rrx did not crash), exactly one line on stderr starting with
# "rrx:", and finish within a time limit.
#
# usage: bad_input.sh RRX_BIN HELLO_BIN UNSUPPORTED_BIN TRACE_ROOT CASE
# CASE is one of:
#   missing_program    rrx record of a program that does not exist
#   tick_source        rrx record --ticks=bogus / --ticks=hw (no PMU here)
#   out_not_empty      rrx record -o into a non-empty directory
#   flip.FILE          copies of a hello trace with a byte flipped at several
#                      offsets of FILE (version header events complete
#                      files.manifest, or "saved" = every file under files/)
#   truncate.FILE      a copy with FILE cut to half its size (and to 0 bytes)
#   missing.FILE       a copy without FILE (without `complete` the trace
#                      is one cut short: it must replay, saying so in one
#                      line)
#   newer_version      version file says "rrx-trace 99"
#   special_files      saved files replaced by a FIFO, a symlink to
#                      /dev/zero, a symlink out of the trace
#   empty_dir          replay of an empty directory
#   missing_dir        replay of a directory that does not exist
#   unsupported        recording a program that calls pkey_mprotect must stop
#                      with one rrx: line naming it and a non-zero exit
#   unsupported_ioctl  the same for an old-style ioctl rrx does not know
#                      that succeeds (one that fails is recorded)
#   unsupported_ptrace the same for a ptrace request rrx does not emulate
#   unsupported_int80  the same for a 32-bit system call (int $0x80)
#                      (PTRACE_SYSEMU), leaving no process behind
#   foreign_programs   a 32-bit program is refused in one line naming it,
#                      leaving no trace directory; a set-user-ID copy of
#                      hello records with a warning that it runs without
#                      its privileges
#   permissions        the trace dir is 0700 and its files 0600 (saved
#                      executables 0700; except
#                      saved files hardlinked under files/)
#   all                every case above
# Exits 77 (CTest: skipped) when a case had nothing to damage.
# Environment: RRX_E2E_STEP_TIMEOUT (default 30 s per rrx run), RRX_E2E_KEEP=1.
set -euo pipefail

if (($# != 5)); then
  echo "usage: $0 RRX_BIN HELLO_BIN UNSUPPORTED_BIN TRACE_ROOT CASE" >&2
  exit 2
fi
rrx="$1"
hello="$2"
unsupported="$3"
trace_root="$4"
case_name="$5"
step_timeout="${RRX_E2E_STEP_TIMEOUT:-30}"

# shellcheck source=tests/e2e/work_dir.sh
source "$(dirname "$0")/work_dir.sh"
make_work_dir "$trace_root" bad
export RRX_TRACE_DIR="$work/default-root"

failures=0
checks=0

# Runs rrx with a time limit, capturing into $work/last.{out,err}; sets $status.
run_rrx() {
  status=0
  timeout -k 5 "$step_timeout" "$rrx" "$@" >"$work/last.out" 2>"$work/last.err" \
    </dev/null || status=$?
}

# Checks the outcome of the last run_rrx against the user-error contract.
# A recording that had started says first where it saves the trace; the
# error is the one line after that. Prints one PASS/FAIL line for `label`;
# returns 1 on failure.
check_user_error() {
  local label="$1" problem=""
  local lines first
  if [[ "$(head -n 1 "$work/last.err")" == "rrx: saving to "* ]]; then
    tail -n +2 "$work/last.err" >"$work/last.err.rest"
    mv "$work/last.err.rest" "$work/last.err"
  fi
  lines="$(awk 'END { print NR }' "$work/last.err")"
  first="$(head -n 1 "$work/last.err")"
  if ((status == 124)); then
    problem="timed out after ${step_timeout}s (hang?)"
  elif ((status == 0)); then
    problem="exit 0: bad input accepted"
  elif ((status >= 128)); then
    problem="exit $status: crashed by signal $((status - 128))"
  elif [[ "$lines" != 1 ]]; then
    problem="$lines lines on stderr, want exactly 1"
  elif [[ "$first" != rrx:* ]]; then
    problem="stderr line does not start with 'rrx:'"
  fi
  checks=$((checks + 1))
  if [[ -n "$problem" ]]; then
    failures=$((failures + 1))
    echo "FAIL $label: $problem"
    echo "  stderr: $(head -c 600 "$work/last.err" | sed -n '1,5p' | tr '\n' '|')"
    return 1
  fi
  echo "ok   $label: exit $status: $first"
}

# Records hello once into $work/orig (the source of all damaged copies).
record_hello() {
  [[ -d "$work/orig" ]] && return 0
  run_rrx record -o "$work/orig" "$hello"
  if ((status != 0)) || [[ ! -f "$work/orig/complete" ]]; then
    echo "FAIL: could not record $hello (exit $status):" >&2
    head -c 2000 "$work/last.err" >&2
    exit 1
  fi
}

# A fresh, independent copy of the hello trace (cp -r: no hardlinks shared
# with the original, so damaging it never touches saved files elsewhere).
copy_trace() {
  local dest="$work/copy.$1"
  rm -rf "$dest"
  cp -r "$work/orig" "$dest"
  echo "$dest"
}

# Flips all bits of the byte at `offset` of `file`.
flip_byte() {
  local file="$1" offset="$2" byte
  byte="$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')"
  # shellcheck disable=SC2059  # the format is the escaped byte
  printf "$(printf '\\x%02x' $((byte ^ 0xff)))" |
    dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}

# Distinct offsets worth damaging in a file of `size` bytes.
offsets_for() {
  local size="$1"
  printf '%s\n' 0 1 $((size / 4)) $((size / 2)) $((size / 2 + 1)) $((3 * size / 4)) \
    $((size - 1)) | awk -v n="$size" '$1 >= 0 && $1 < n' | sort -nu
}

# Paths (relative to the trace) that a FILE argument stands for.
targets_of() {
  if [[ "$1" == saved ]]; then
    (cd "$work/orig" && find files -type f | sort)
  else
    echo "$1"
  fi
}

case_flip() {
  local rel size off copy damaged=0
  record_hello
  while IFS= read -r rel; do
    size="$(stat -c %s "$work/orig/$rel")"
    for off in $(offsets_for "$size"); do
      copy="$(copy_trace flip)"
      flip_byte "$copy/$rel" "$off"
      run_rrx replay -a "$copy"
      check_user_error "replay with byte $off of $size flipped in $rel" || true
      damaged=1
    done
  done < <(targets_of "$1")
  ((damaged)) || { echo "SKIP: nothing to flip in $1 (empty)"; exit 77; }
}

case_truncate() {
  local rel size len copy damaged=0
  record_hello
  while IFS= read -r rel; do
    size="$(stat -c %s "$work/orig/$rel")"
    ((size > 0)) || continue
    for len in $((size / 2)) 0; do
      copy="$(copy_trace trunc)"
      truncate -s "$len" "$copy/$rel"
      run_rrx replay -a "$copy"
      check_user_error "replay with $rel truncated from $size to $len bytes" || true
      damaged=1
    done
  done < <(targets_of "$1")
  ((damaged)) || { echo "SKIP: nothing to truncate in $1 (empty)"; exit 77; }
}

case_missing() {
  local rel copy
  record_hello
  while IFS= read -r rel; do
    copy="$(copy_trace missing)"
    rm -f "$copy/$rel"
    run_rrx replay -a "$copy"
    if [[ "$rel" == complete ]]; then
      check_cut_short "replay without $rel" || true
    else
      check_user_error "replay without $rel" || true
    fi
  done < <(targets_of "$1")
}

# A trace cut short replays what it holds (hello's output here), with one
# line saying it was cut short.
check_cut_short() {
  local label="$1" problem=""
  checks=$((checks + 1))
  if ((status != 0)); then
    problem="exit $status"
  elif [[ "$(awk 'END { print NR }' "$work/last.err")" != 1 ]] ||
    ! grep -q "^rrx: .* was cut short at event [0-9]*" "$work/last.err"; then
    problem="stderr does not say once that the trace was cut short"
  elif [[ ! -s "$work/last.out" ]]; then
    problem="nothing replayed"
  fi
  if [[ -n "$problem" ]]; then
    failures=$((failures + 1))
    echo "FAIL $label: $problem"
    echo "  stderr: $(head -c 600 "$work/last.err" | sed -n '1,5p' | tr '\n' '|')"
    return 1
  fi
  echo "ok   $label: replayed, $(cat "$work/last.err")"
}

# Each saved file replaced by a FIFO (opening it would block), a symlink
# to /dev/zero (reading it would never end) and a symlink out of the trace
# to a copy of itself (the trace must not follow it).
case_special_files() {
  local rel copy kind
  record_hello
  while IFS= read -r rel; do
    for kind in fifo zero outside; do
      copy="$(copy_trace special)"
      case "$kind" in
        fifo) rm "$copy/$rel" && mkfifo "$copy/$rel" ;;
        zero) ln -sf /dev/zero "$copy/$rel" ;;
        outside) cp "$copy/$rel" "$work/outside" && ln -sf "$work/outside" "$copy/$rel" ;;
      esac
      run_rrx replay -a "$copy"
      check_user_error "replay with $rel replaced by a $kind" || true
    done
  done < <(targets_of saved)
}

case_newer_version() {
  local copy
  record_hello
  copy="$(copy_trace newer)"
  printf 'rrx-trace 99\n' >"$copy/version"
  run_rrx replay -a "$copy"
  check_user_error "replay of a trace with version 99" || true
}

case_missing_program() {
  run_rrx record -o "$work/t1" "$work/no/such/program"
  check_user_error "record of a nonexistent path" || true
  run_rrx record -o "$work/t2" rrx-no-such-program-on-path
  check_user_error "record of a name not on PATH" || true
  run_rrx record -o "$work/t3" "$work"
  check_user_error "record of a directory" && says "record of a directory" "is a directory"
  printf 'data\n' >"$work/plain"
  chmod 644 "$work/plain"
  run_rrx record -o "$work/t4" "$work/plain"
  check_user_error "record of a file that is not executable" &&
    says "record of a file that is not executable" "is not an executable file"
  run_rrx record -o
  check_user_error "record -o without a directory" && says "record -o without a directory" "--output-trace-dir needs DIR"
  # A name with an escape sequence and a newline: still one plain line.
  run_rrx record -o "$work/t5" "$work/no"$'\e[31m\n'"such"
  check_user_error "record of a name with control characters" &&
    says "record of a name with control characters" 'no\x1b[31m\x0asuch'
}

# After check_user_error passed: the line must say `text`.
says() {
  local label="$1" text="$2"
  if ! grep -qF -- "$text" "$work/last.err"; then
    failures=$((failures + 1))
    echo "FAIL $label: the error does not say '$text': $(head -n 1 "$work/last.err")"
  fi
}

case_foreign_programs() {
  if command -v as >/dev/null && command -v ld >/dev/null; then
    printf '.globl _start\n_start:\n movl $1, %%eax\n xorl %%ebx, %%ebx\n int $0x80\n' >"$work/exit32.s"
    as --32 -o "$work/exit32.o" "$work/exit32.s" && ld -m elf_i386 -o "$work/exit32" "$work/exit32.o"
    run_rrx record -o "$work/t32" "$work/exit32"
    check_user_error "record of a 32-bit program" &&
      says "record of a 32-bit program" "is a 32-bit program; rrx records x86-64 programs only"
    checks=$((checks + 1))
    if [[ -e "$work/t32" ]]; then
      failures=$((failures + 1))
      echo "FAIL record of a 32-bit program left $work/t32 behind"
    fi
  else
    echo "SKIPPED the 32-bit program: no as/ld to build one"
  fi
  cp "$hello" "$work/hello-suid"
  chmod u+s "$work/hello-suid"
  run_rrx record -o "$work/tsuid" "$work/hello-suid"
  checks=$((checks + 1))
  if ((status != 0)) || ! grep -q "set-user-ID or set-group-ID; it runs without those privileges" "$work/last.err"; then
    failures=$((failures + 1))
    echo "FAIL record of a set-user-ID program: exit $status, stderr: $(head -c 300 "$work/last.err")"
  else
    echo "ok   record of a set-user-ID program warns: $(head -n 1 "$work/last.err")"
  fi
}

case_tick_source() {
  run_rrx record --ticks=bogus -o "$work/t1" "$hello"
  check_user_error "record with an unknown tick source" || true
  run_rrx record --ticks=hw -o "$work/t2" "$hello"
  if ((status == 0)); then
    echo "ok   --ticks=hw recorded: this machine's branch counter passed the self-check"
    rm -rf "$work/t2"
  else
    check_user_error "record with --ticks=hw (no usable PMU here)" || true
  fi
  if [[ -e "$work/t1" || -e "$work/t2" ]]; then
    failures=$((failures + 1))
    echo "FAIL a refused recording left a trace directory behind"
  fi
}

case_out_not_empty() {
  mkdir -p "$work/full"
  echo precious >"$work/full/keep"
  run_rrx record -o "$work/full" "$hello"
  check_user_error "record -o into a non-empty directory" || true
  if [[ "$(cat "$work/full/keep" 2>/dev/null)" != precious ]]; then
    failures=$((failures + 1))
    echo "FAIL record -o into a non-empty directory clobbered its contents"
  fi
}

case_empty_dir() {
  mkdir -p "$work/empty"
  run_rrx replay -a "$work/empty"
  check_user_error "replay of an empty directory" || true
}

case_missing_dir() {
  run_rrx replay -a "$work/does-not-exist"
  check_user_error "replay of a nonexistent directory" || true
}

# Recording the unsupported program with ARGS... must fail with one clear
# line matching NAMED (a grep pattern), and the program must not have
# printed PAST (it did not get past the refused call).
expect_refusal() {
  local what="$1" named="$2" past="$3"
  shift 3
  run_rrx record -o "$work/unsupported" "$unsupported" "$@"
  if check_user_error "$what"; then
    checks=$((checks + 1))
    if ! grep -q "$named" "$work/last.err"; then
      failures=$((failures + 1))
      echo "FAIL the error does not name the call: $(cat "$work/last.err")"
    elif grep -q "$past" "$work/last.out"; then
      failures=$((failures + 1))
      echo "FAIL the program ran past the call (stdout: $(tr '\n' '|' <"$work/last.out"))"
    else
      echo "ok   the error names the call and the program did not get past it"
    fi
  fi
}

case_unsupported() {
  expect_refusal "record of a program calling pkey_mprotect" pkey_mprotect "pkey_mprotect returned"
}

case_unsupported_ioctl() {
  run_rrx record -o "$work/unsupported_ioctl" "$unsupported" ioctl
  if check_user_error "record of a program whose unknown ioctl succeeds"; then
    checks=$((checks + 1))
    if ! grep -q "unsupported ioctl 0x8942 on fd [0-9]* in process [0-9]* (it succeeded" "$work/last.err"; then
      failures=$((failures + 1))
      echo "FAIL the error does not name the ioctl: $(cat "$work/last.err")"
    else
      echo "ok   the error names the ioctl that succeeded"
    fi
  fi
}

case_unsupported_int80() {
  expect_refusal "record of a program using int \$0x80" \
    "32-bit system call 20 (int \$0x80) in process" "getpid returned" int80
}

case_unsupported_ptrace() {
  run_rrx record -o "$work/unsupported" "$unsupported" ptrace
  if check_user_error "record of a program single-stepping its child"; then
    checks=$((checks + 1))
    if ! grep -q "ptrace PTRACE_SYSEMU" "$work/last.err"; then
      failures=$((failures + 1))
      echo "FAIL the error does not name PTRACE_SYSEMU"
    elif grep -q "singlestep returned" "$work/last.out"; then
      failures=$((failures + 1))
      echo "FAIL the program ran past the request (stdout: $(tr '\n' '|' <"$work/last.out"))"
    elif pgrep -f -- "$unsupported ptrace" >/dev/null; then
      failures=$((failures + 1))
      echo "FAIL a recorded process was left behind"
    else
      echo "ok   the error names the request and nothing of the program is left"
    fi
  fi
}

case_permissions() {
  local path mode want
  local old_umask
  old_umask="$(umask)"
  umask 022  # rrx must set the modes itself, not rely on the umask
  run_rrx record -o "$work/perm" "$hello"
  umask "$old_umask"
  if ((status != 0)); then
    echo "FAIL: could not record $hello (exit $status):"
    head -c 2000 "$work/last.err"
    exit 1
  fi
  while IFS= read -r path; do
    mode="$(stat -c %a "$path")"
    if [[ -d "$path" ]]; then
      want=700
    elif [[ -f "$path" ]]; then
      # Saved files may be hardlinks to the originals, keeping their mode.
      if [[ "$path" == "$work/perm/files/"* ]] && (($(stat -c %h "$path") > 1)); then
        continue
      fi
      want=600
      # Copies of executables stay executable (replay execs them): 0700.
      if [[ "$path" == "$work/perm/files/"* ]] &&
         [[ "$(head -c 4 "$path" | od -An -c | tr -d ' ')" == '177ELF' ]]; then
        want=700
      fi
    else
      continue
    fi
    checks=$((checks + 1))
    if [[ "$mode" != "$want" ]]; then
      failures=$((failures + 1))
      echo "FAIL ${path#"$work/"} has mode $mode, want $want"
    else
      echo "ok   ${path#"$work/"} has mode $mode"
    fi
  done < <(find "$work/perm")
}

run_case() {
  echo "== $1"
  case "$1" in
    missing_program) case_missing_program ;;
    tick_source) case_tick_source ;;
    out_not_empty) case_out_not_empty ;;
    flip.*) case_flip "${1#flip.}" ;;
    truncate.*) case_truncate "${1#truncate.}" ;;
    missing.*) case_missing "${1#missing.}" ;;
    newer_version) case_newer_version ;;
    special_files) case_special_files ;;
    empty_dir) case_empty_dir ;;
    missing_dir) case_missing_dir ;;
    unsupported) case_unsupported ;;
    unsupported_ioctl) case_unsupported_ioctl ;;
    unsupported_ptrace) case_unsupported_ptrace ;;
    unsupported_int80) case_unsupported_int80 ;;
    permissions) case_permissions ;;
    foreign_programs) case_foreign_programs ;;
    *) echo "unknown case '$1'" >&2; exit 2 ;;
  esac
}

# Prints the tally of the current case and exits with its verdict.
finish() {
  echo "$((checks - failures)) of $checks checks passed"
  ((failures == 0)) && exit 0
  exit 1
}

if [[ "$case_name" != all ]]; then
  run_case "$case_name"
  finish
fi
# all: each case in a subshell (a case may exit early, e.g. 77 = skipped).
verdicts=()
bad=0
for c in missing_program tick_source out_not_empty newer_version empty_dir missing_dir \
  unsupported unsupported_ioctl unsupported_ptrace permissions special_files foreign_programs \
  {flip,truncate,missing}.{version,header,events,complete,files.manifest,saved}; do
  rc=0
  (run_case "$c" && finish) || rc=$?
  case "$rc" in
    0) verdicts+=("pass $c") ;;
    77) verdicts+=("skip $c") ;;
    *) verdicts+=("FAIL $c"); bad=1 ;;
  esac
done
printf '%s\n' "${verdicts[@]}"
exit "$bad"
