#!/bin/sh
# Usage: run_twice.sh PROGRAM [ARGS...]
# Passes if the program succeeds twice and prints the same both times
# (our test programs print their tick counts, so this checks determinism).
first=$("$@") || { echo "$first"; exit 1; }
second=$("$@") || { echo "$second"; exit 1; }
echo "$first"
if [ "$first" != "$second" ]; then
  echo "second run differs: $second"
  exit 1
fi
