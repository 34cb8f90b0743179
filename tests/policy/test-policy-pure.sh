#!/bin/sh
# The policy library's purity fence (policy/pure.h): a policy source that reads a file, the clock,
# writes to a descriptor or calls libvirt must not compile; the same source without the call must.
#   test-policy-pure.sh CC SRCDIR
set -u
cc=$1; top=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
build() {
	"$cc" -std=gnu11 -D_GNU_SOURCE -Wall -Werror -I"$top" -c -o "$tmp/probe.o" "$@" \
		"$top/tests/policy/pure_probe.c" > "$tmp/out" 2>&1
}
if build; then
	echo "ok   the probe compiles without an I/O call"
else
	echo "FAIL the probe does not even compile without an I/O call:"; cat "$tmp/out"; fail=1
fi
for p in FOPEN CLOCK WRITE LIBVIRT; do
	if build -DPROBE_$p; then
		echo "FAIL a policy source calling $p compiled"; fail=1
	elif grep -q "poisoned" "$tmp/out"; then
		echo "ok   a policy source calling $p is refused (poisoned)"
	else
		echo "FAIL a policy source calling $p failed for another reason:"; cat "$tmp/out"; fail=1
	fi
done
exit $fail
