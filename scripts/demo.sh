#!/usr/bin/env bash
# make demo: bring up the two-host lab, show a live migration that never converges, abort it, show
# the guest still running on its source, tear the lab down.
#
#   DEMO_SECONDS   how long to watch the stuck migration (default 40)
#   LAB_DIR        lab work dir (default /tmp/migtune-demo)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB="$REPO/tests/lab/lab.sh"
export LAB_DIR=${LAB_DIR:-/tmp/migtune-demo}
export LAB_GUEST=${LAB_GUEST:-$REPO/build/lab/guest.elf}
export LAB_FLOW=${LAB_FLOW:-$REPO/build/lab/lab-flow}
DEMO_SECONDS=${DEMO_SECONDS:-40}
GUEST=web1
MEM_MIB=256
HOT_MIB=96
RATE_MIBPS=40
CAP_MIBPS=20

say() { printf '\n== %s\n' "$*"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

[ "$(id -u)" -eq 0 ] || { echo "demo: must run as root: the lab creates network namespaces and runs libvirtd (sudo make demo)" >&2; exit 1; }
[[ "$DEMO_SECONDS" =~ ^[0-9]+$ ]] && [ "$DEMO_SECONDS" -ge 10 ] && [ "$DEMO_SECONDS" -le 3600 ] \
	|| { echo "demo: DEMO_SECONDS must be 10..3600 (got '$DEMO_SECONDS')" >&2; exit 2; }

start=$(date +%s)
finish() {
	local rc=$?
	trap - EXIT INT TERM
	say "tearing the lab down"
	"$LAB" down
	echo "demo took $(( $(date +%s) - start )) s"
	exit $rc
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$LAB" down # a lab left by an interrupted demo
say "bringing up hosts A and B (two libvirtd in network namespaces, joined by a veth)"
"$LAB" up

say "starting guest $GUEST on A: $MEM_MIB MiB, re-dirtying a $HOT_MIB MiB hot set at $RATE_MIBPS MiB/s"
"$LAB" guest A "$GUEST" --memory "$MEM_MIB" --workload "dirty=$HOT_MIB rate=$RATE_MIBPS"
sleep 3
"$LAB" serial A "$GUEST" 3

say "live migration A -> B, bandwidth capped at $CAP_MIBPS MiB/s, QEMU's defaults otherwise (300 ms max downtime)"
"$LAB" migrate "$GUEST" A B --bandwidth "$CAP_MIBPS" --timeout $((DEMO_SECONDS + 120)) --bg
printf '%7s %5s %12s %11s %11s %22s %15s\n' elapsed pass remaining sent bandwidth "dirty rate" "exp. downtime"

declare -A J
t0=$(date +%s)
last_pass=0
min_start=""
sent=0
while [ $(( $(date +%s) - t0 )) -lt "$DEMO_SECONDS" ]; do
	[ -e "$LAB_DIR/migrate-$GUEST.rc" ] && break
	J=()
	while IFS= read -r line; do
		[[ "$line" == *:* ]] && J[${line%%:*}]=${line#*: }
	done < <("$LAB" jobinfo A "$GUEST" --rawstats 2>/dev/null || true)
	if [ "${J[operation]:-}" = 5 ] && [ "${J[memory_iteration]:-0}" -ge 1 ]; then
		pass=${J[memory_iteration]:-0}
		rem=${J[data_remaining]:-0}
		sent=${J[data_processed]:-0}
		mark=" "
		if [ "$pass" != "$last_pass" ]; then
			mark="*"
			last_pass=$pass
			if [ "$pass" -ge 2 ] && { [ -z "$min_start" ] || [ "$rem" -lt "$min_start" ]; }; then
				min_start=$rem
			fi
		fi
		dirty=${J[memory_dirty_rate]:-0}
		printf '%6.1fs %4s%s %8s MiB %7s MiB %5s MiB/s %6s pages/s (%4s MiB/s) %10s ms\n' \
			"$(awk -v ms="${J[time_elapsed]:-0}" 'BEGIN { print ms / 1000 }')" "$pass" "$mark" \
			"$(mib "$rem")" "$(mib "$sent")" "$(mib "${J[memory_bps]:-0}")" "$dirty" \
			"$(mib $(( dirty * ${J[memory_page_size]:-4096} )))" "${J[downtime]:-?}"
	fi
	sleep 1
done
echo "(* = a new pre-copy pass began)"

if [ -e "$LAB_DIR/migrate-$GUEST.rc" ]; then
	say "the migration ended on its own (unexpected for this workload):"
	"$LAB" migrate-wait "$GUEST" 5 || true
	exit 1
fi

say "virsh domjobinfo $GUEST on A, after ${DEMO_SECONDS} s"
"$LAB" jobinfo A "$GUEST"
need=$(( CAP_MIBPS * 1048576 * 300 / 1000 ))
echo "Each pass starts again with about $(mib "${min_start:-0}") MiB or more to send; QEMU switches over only"
echo "when what remains fits in the max downtime at the measured bandwidth ($(mib "$need") MiB in 300 ms at"
echo "$CAP_MIBPS MiB/s). The guest dirties its hot set faster than the capped link drains it: left alone,"
echo "this migration runs until someone aborts it, after moving $(mib "$sent") MiB so far for a $MEM_MIB MiB guest."

say "aborting the migration (virsh domjobabort)"
"$LAB" abort A "$GUEST"
"$LAB" migrate-wait "$GUEST" 30 || true
sleep 2

say "where is $GUEST now?"
"$LAB" where "$GUEST"
echo "its latest reports, still on A:"
"$LAB" serial A "$GUEST" 3
