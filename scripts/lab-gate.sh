#!/bin/sh
# Runs the lab tests when this machine can host the two-host lab (root, network namespaces,
# qemu-system-x86_64, libvirtd); otherwise says loudly why they were skipped.
#   lab-gate.sh MAKE [MAKEFLAGS...] TARGET...   (the make command comes first, up to the first lab-*)
set -u
results=build/.results
mkdir -p build
make_cmd=""
while [ $# -gt 0 ]; do
	case "$1" in lab-*) break ;; esac
	make_cmd="$make_cmd $1"; shift
done

skip() {
	echo "############################################################"
	echo "## LAB TESTS SKIPPED: $1"
	echo "############################################################"
	echo "lab all SKIP" >> "$results"
	exit 0
}

[ $# -gt 0 ] || skip "no lab test is defined"
[ "$(id -u)" -eq 0 ] || skip "not root (the lab needs network namespaces and libvirtd)"
unshare --net --mount --uts true 2>/dev/null || skip "cannot create network/mount/UTS namespaces here"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (run 'make deps' as root)"
command -v libvirtd >/dev/null || [ -x /usr/sbin/libvirtd ] || skip "libvirtd missing (run 'make deps' as root)"

# One lab at a time on this machine: every lab test makes namespaces, daemons and a busy TCG
# guest, and two checkouts running theirs together would collide on work directories and skew
# each other's timings.  Wait for the other one (bounded), then hold the lock until done.
lock=${MIGTUNE_LAB_LOCK:-/tmp/migtune-lab.lock}
exec 9>>"$lock" || skip "cannot open the lab lock $lock"
if ! flock -n 9; then
	echo "lab: another lab run holds $lock; waiting (at most 90 min)"
	flock -w 5400 9 || { echo "lab: gave up waiting for $lock"; echo "lab all FAIL" >> "$results"; exit 1; }
fi

pass=0; fail=0
for t in "$@"; do
	echo "== [lab] $t"
	start=$(date +%s)
	# shellcheck disable=SC2086
	if $make_cmd "$t"; then
		pass=$((pass + 1)); echo "lab $t PASS" >> "$results"
	else
		fail=$((fail + 1)); echo "lab $t FAIL" >> "$results"; echo "== [lab] $t FAILED"
	fi
	echo "== [lab] $t took $(( $(date +%s) - start )) s"
done
echo "lab: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
