#!/usr/bin/env bash
# Recorded as a whole by e2e.real.git: a git repository in a temp dir with one
# commit with a fixed message. The commit id depends on the commit time, so
# the printed `git rev-parse HEAD` is only reproducible by a faithful replay.
set -euo pipefail
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# No user or system configuration may leak in.
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" GIT_CONFIG_NOSYSTEM=1
unset GIT_DIR GIT_WORK_TREE GIT_AUTHOR_DATE GIT_COMMITTER_DATE
mkdir -p "$HOME" "$tmp/repo"
cd "$tmp/repo"
git init -q -b main .
git config user.name "rrx test"
git config user.email "rrx-test@example.invalid"
echo "recorded by rrx" >file.txt
git add file.txt
git commit -q -m "a fixed commit message"
git rev-parse HEAD
git log --format='%an <%ae> %at %s'
