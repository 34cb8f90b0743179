#!/bin/sh
# Runs test executables, one after another, and keeps score in build/.results.
#   run-tests.sh FLAVOUR TEST...   run each TEST, print "FLAVOUR: N passed, N failed"
#   run-tests.sh --summary         print the total over every flavour run since make check began
# Exits non-zero when any test failed.
set -u
results=build/.results
mkdir -p build

if [ "${1:-}" = "--summary" ]; then
	[ -f "$results" ] || { echo "check: no test ran"; exit 1; }
	p=$(grep -c ' PASS$' "$results"); f=$(grep -c ' FAIL$' "$results"); s=$(grep -c ' SKIP$' "$results")
	echo "check: $p passed, $f failed, $s skipped"
	[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
	exit $?
fi

flavour=$1; shift
pass=0; fail=0
# Libraries built without TSan are ignored inside, and only there (tests/tsan.supp says why).
if [ "$flavour" = tsan ]; then
	TSAN_OPTIONS="suppressions=$(pwd)/tests/tsan.supp ${TSAN_OPTIONS:-}"
	export TSAN_OPTIONS
fi
for t in "$@"; do
	name=$(basename "$t")
	echo "== [$flavour] $name"
	if "$t"; then
		pass=$((pass + 1)); echo "$flavour $name PASS" >> "$results"
	else
		fail=$((fail + 1)); echo "$flavour $name FAIL" >> "$results"
		echo "== [$flavour] $name FAILED"
	fi
done
echo "$flavour: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
