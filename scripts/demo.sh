#!/usr/bin/env bash
# make demo: the rescue of a live migration that never converges, on the two-host lab.
#
#   1. migtuned runs on both hosts in advisory mode (it watches and records, changes nothing).
#      The guest web1 (256 MiB, re-dirtying a 96 MiB hot set at 40 MiB/s) migrates A -> B capped
#      at 20 MiB/s: every pass starts over with ~90 MiB to send; after DEMO_SECONDS the migration
#      is aborted by its time bound.  The guest keeps running on A.
#   2. The same migration with migtuned active (adaptive policy): it sees the NIC's headroom and
#      the plateau, raises the bandwidth, and the migration completes in seconds.
#
# migtop shows both live (the ncurses screen on a terminal, its batch output otherwise).
#
#   DEMO_SECONDS   how long the first migration may run before it is aborted (default 30)
#   LAB_DIR        lab work dir (default /tmp/migtune-demo)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB="$REPO/tests/lab/lab.sh"
BUILD=${BUILD:-$REPO/build}
export LAB_DIR=${LAB_DIR:-/tmp/migtune-demo}
export LAB_GUEST=${LAB_GUEST:-$BUILD/lab/guest.elf}
export LAB_FLOW=${LAB_FLOW:-$BUILD/lab/lab-flow}
DEMO_SECONDS=${DEMO_SECONDS:-30}
GUEST=web1
MEM_MIB=256
HOT_MIB=96
RATE_MIBPS=40
CAP_MIBPS=20

say() { printf '\n== %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || { echo "demo: must run as root: the lab creates network namespaces and runs libvirtd (sudo make demo)" >&2; exit 1; }
[[ "$DEMO_SECONDS" =~ ^[0-9]+$ ]] && [ "$DEMO_SECONDS" -ge 10 ] && [ "$DEMO_SECONDS" -le 3600 ] \
	|| { echo "demo: DEMO_SECONDS must be 10..3600 (got '$DEMO_SECONDS')" >&2; exit 2; }
for f in "$BUILD/migtuned" "$BUILD/migtop" "$LAB_GUEST"; do
	[ -e "$f" ] || { echo "demo: $f missing (run make)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/migtune-demo-work.XXXXXX)
start=$(date +%s)
finish() {
	local rc=$?
	trap - EXIT INT TERM
	say "tearing the lab down"
	"$LAB" down
	rm -rf "$WORK"
	echo "demo took $(( $(date +%s) - start )) s"
	exit $rc
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The lab's veth reports no speed inside its namespaces: the agents are told it is 10 Gbit/s.
agent_conf() {   # MODE
	printf '[agent]\nmode = %s\n[nic]\nspeed-mbps = 10000\n[policy]\nname = adaptive\n[dump]\ndir = %s/dumps\n' \
		"$1" "$WORK" > "$WORK/$1.conf"
	echo "$WORK/$1.conf"
}

start_agents() {   # MODE
	local conf h
	conf=$(agent_conf "$1")
	for h in A B; do
		"$LAB" stop "$h" agent >/dev/null 2>&1 || true
		"$LAB" exec "$h" rm -f /run/migtune/ctl.sock /run/migtune/hook.sock
		"$LAB" spawn "$h" agent "$BUILD/migtuned" --foreground --config "$conf" >/dev/null
	done
	for _ in $(seq 50); do
		"$LAB" exec A test -S /run/migtune/ctl.sock && "$LAB" exec B test -S /run/migtune/ctl.sock && return 0
		sleep 0.2
	done
	echo "demo: migtuned did not start (see $LAB_DIR/a/log/agent.log)" >&2
	return 1
}

# migtop on host A for about SECS seconds: the live screen on a terminal, batch text otherwise.
watch_migtop() {   # SECS DELAY
	local n=$(( ($1 + $2 - 1) / $2 ))
	if [ -t 1 ] && [ -z "${DEMO_BATCH:-}" ]; then
		"$LAB" exec A "$BUILD/migtop" -d "$2" -n "$n" || true
	else
		"$LAB" exec A "$BUILD/migtop" -b -d "$2" -n "$n" || true
	fi
}

agent_actions() {   # HOST: the action lines of the agent's latest run
	awk '/: started \(/ { n = 0 } / (advisory|applied|failed|skipped) |dumped to/ { l[n++] = $0 }
	     END { for (i = 0; i < n; i++) print "   " l[i] }' "$LAB_DIR/$1/log/agent.log" 2>/dev/null || true
}

"$LAB" down >/dev/null 2>&1 || true   # a lab left by an interrupted demo
say "bringing up hosts A and B (two libvirtd in network namespaces, joined by a veth)"
"$LAB" up

say "starting guest $GUEST on A: $MEM_MIB MiB, re-dirtying a $HOT_MIB MiB hot set at $RATE_MIBPS MiB/s"
"$LAB" guest A "$GUEST" --memory "$MEM_MIB" --workload "dirty=$HOT_MIB rate=$RATE_MIBPS"
sleep 3
"$LAB" serial A "$GUEST" 2

# ---- 1: without the agent's help --------------------------------------------------------------
say "1/2  migtuned in ADVISORY mode on both hosts: it watches and records, it changes nothing"
start_agents advisory
say "live migration A -> B capped at $CAP_MIBPS MiB/s, QEMU's defaults otherwise (300 ms max downtime); bound: $DEMO_SECONDS s"
t0=$(date +%s)
"$LAB" migrate "$GUEST" A B --bandwidth "$CAP_MIBPS" --timeout "$DEMO_SECONDS" --bg
watch_migtop "$DEMO_SECONDS" 2
rc=0
"$LAB" migrate-wait "$GUEST" 60 > "$WORK/m1.out" 2>&1 || rc=$?
t1=$(date +%s)
if [ $rc -eq 0 ]; then
	say "the migration converged on its own (unexpected for this workload)"
	exit 1
fi
echo
echo "Result without the agent acting: not converged after $(( t1 - t0 )) s; aborted by its time bound:"
sed 's/^/   /' "$WORK/m1.out"
"$LAB" where "$GUEST"
echo "What migtuned would have done (advisory records, from its log on A):"
agent_actions a

# ---- 2: with the agent acting -----------------------------------------------------------------
say "2/2  migtuned in ACTIVE mode (adaptive policy): the same migration again"
start_agents active
t0=$(date +%s)
"$LAB" migrate "$GUEST" A B --bandwidth "$CAP_MIBPS" --timeout 120 --bg
watch_migtop 8 1
rc=0
"$LAB" migrate-wait "$GUEST" 120 > "$WORK/m2.out" 2>&1 || rc=$?
t1=$(date +%s)
echo
if [ $rc -eq 0 ]; then
	echo "Result with the agent: the migration completed ($(( t1 - t0 )) s wall time, virsh included)."
else
	echo "Result with the agent: the migration did NOT complete:"
	sed 's/^/   /' "$WORK/m2.out"
fi
"$LAB" where "$GUEST"
echo "What migtuned did (from its log on A):"
agent_actions a
echo "The guest's latest reports, now on B:"
"$LAB" serial B "$GUEST" 2 || true
[ $rc -eq 0 ]
