#!/bin/sh
# Every libFuzzer target of every module stops at the first sanitizer report: without
# -fno-sanitize-recover=all, UBSan prints a finding and lets the fuzzer go on, so the run ends
# "Done" with no crash artifact and the finding is lost in the log.
#   test-fuzz-flags.sh MAKE SRCDIR
# Reads what `make fuzz` would run (a dry run: nothing is built) and checks each compile line that
# asks for -fsanitize=fuzzer.
set -u
mk=$1; top=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# A clean environment: the calling make's flags and variables (B=, SAN=) must not leak in.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$mk" -C "$top" -n -B --no-print-directory \
	B="$tmp/b" fuzz > "$tmp/out" 2>&1; then
	echo "FAIL make -n fuzz itself failed:"; cat "$tmp/out"; exit 1
fi
grep -e '-fsanitize=[^ ]*fuzzer' "$tmp/out" > "$tmp/fuzz" || true
n=$(wc -l < "$tmp/fuzz")
if [ "$n" -eq 0 ]; then
	echo "FAIL make fuzz builds no libFuzzer target: nothing to check"; exit 1
fi
fail=0
while IFS= read -r line; do
	target=$(printf '%s\n' "$line" | sed -n 's/.* -o [^ ]*\/\([^ /]*\) .*/\1/p')
	case " $line " in
	*" -fno-sanitize-recover=all "*) echo "ok   ${target:-?}" ;;
	*) echo "FAIL ${target:-?} is built without -fno-sanitize-recover=all"; fail=1 ;;
	esac
done < "$tmp/fuzz"
echo "$n libFuzzer build lines checked"
exit $fail
