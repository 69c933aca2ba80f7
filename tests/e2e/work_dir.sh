# Sourced by the e2e scripts: `make_work_dir ROOT PREFIX` sets $work to a
# fresh directory under ROOT, removed on exit unless RRX_E2E_KEEP=1.
make_work_dir() {
  mkdir -p "$1"
  work="$(mktemp -d "$1/$2.XXXXXX")"
  trap cleanup_work_dir EXIT
}
cleanup_work_dir() {
  if [[ "${RRX_E2E_KEEP:-0}" == 1 ]]; then
    echo "kept work dir $work" >&2
  else
    rm -rf "$work"
  fi
}
