#!/bin/sh
# make try: a simulated migration in migtop, without root and without a lab.
#
# migsim runs a scenario at ten times real time and writes the records migtuned would (samples,
# events, every action with the policy's prediction) to a ring of its own, marked simulated;
# migtop shows that ring.  On a terminal migtop runs until q; otherwise (a pipe, CI) it prints a
# few snapshots.  The simulator is stopped and its ring removed on the way out.
#
#   SCENARIO=tests/sim/scenarios/lab-s1.json POLICY=rhv-minimal SPEED=5 make try
set -eu

B=${B:-build}
SCENARIO=${SCENARIO:-tests/sim/scenarios/sweep-concurrent-2e2h-10g-00s.json}
POLICY=${POLICY:-adaptive}
SPEED=${SPEED:-10}
RING=/migtune-try-$(id -u)
log=$(mktemp /tmp/migtune-try.XXXXXX)

for p in "$B/migsim" "$B/migtop"; do
	[ -x "$p" ] || { echo "try: $p is missing: run make first" >&2; exit 1; }
done

"$B/migsim" --ring "$RING" --speed "$SPEED" -p "$POLICY" -q "$SCENARIO" >"$log" 2>&1 &
sim=$!
cleanup() {
	kill "$sim" 2>/dev/null || true
	wait "$sim" 2>/dev/null || true
	rm -f "/dev/shm$RING" "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the ring exists once the simulator has opened it (at most 5 s)
i=0
until [ -e "/dev/shm$RING" ]; do
	if ! kill -0 "$sim" 2>/dev/null || [ $i -ge 50 ]; then
		echo "try: migsim did not start:" >&2
		cat "$log" >&2
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done

if [ -t 0 ] && [ -t 1 ]; then
	echo "migsim is simulating $SCENARIO at ${SPEED}x; migtop shows it (q quits)"
	sleep 1
	"$B/migtop" --ring "$RING" -d 1
else
	"$B/migtop" --ring "$RING" -b -d 2 -n 3
fi
