#!/usr/bin/env bash
# lab-recovery: a post-copy whose migration stream breaks is resumed by migtuned, not lost.
#
# The lab's busy guest (256 MiB, 96 MiB hot set re-dirtied at 40 MiB/s) migrates A -> B with
# --postcopy, capped at 20 MiB/s so that it never converges, and a post-copy bandwidth of
# PC_MIBS MiB/s so that post-copy lasts long enough to be cut.  migtuned runs active on both
# hosts and switches the migration to post-copy itself (adaptive: SLA 500 ms, post-copy allowed).
# Some seconds into post-copy the stream is cut: its TCP connection is reset on A (ss -K) and A's
# end of the veth goes down for CUT_SECS, then comes back.
#
#   reset     postcopy-recovery auto: the migration completes on B with nobody's help, the guest
#             runs on B and its counter went on (no reboot), A's ring shows broken -> recovering
#             -> recovered -> completed with the time the guest was split; B's ring the break and
#             the recovery.
#   restart   the same, with the agent on A killed (-9) during the cut and started again after
#             it: the new agent finds the broken post-copy and resumes it.
#   stall     no reset: A's link only goes down for STALL_SECS.  Nothing breaks while it is
#             down; once it is back the stream moves again within 10 s, by TCP's own
#             retransmission or, when that waits longer than [recovery] link-stall-s, by the
#             agent's interrupt and resume; the migration completes.
#   off       postcopy-recovery off (migtuned.conf): the documented failure path.  Nothing
#             resumes it: A stays paused (post-copy failed), B running (post-copy failed), the
#             ring shows the break and the refusal, the log the command that resumes it; the
#             test then runs that command, and the migration completes.
#
# Usage: lab-recovery.sh PATH-TO-MIGTUNED   (root; run by `make check-lab`)
#   RECOVERY_ONLY="reset,off"   run a subset      CUT_SECS (8)   STALL_SECS (50)   PC_MIBS (3)
set -euo pipefail

AGENT=$(realpath "${1:?usage: lab-recovery.sh PATH-TO-MIGTUNED}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=$(dirname "$AGENT")
LAB="$REPO/tests/lab/lab.sh"
MIGDUMP="$BUILD/migdump"
export LAB_DIR=${LAB_RECOVERY_DIR:-/tmp/mt-lab-recovery}
export LAB_GUEST=${LAB_GUEST:-$BUILD/lab/guest.elf}
WORK=$(mktemp -d /tmp/mt-recovery-work.XXXXXX)
LOGS=${LAB_RECOVERY_LOGS:-$BUILD/lab/recovery-logs}
TABLE_OUT=${RECOVERY_TABLE:-$BUILD/lab/recovery.txt}
ONLY=${RECOVERY_ONLY:-reset,restart,stall,off}
CUT_SECS=${CUT_SECS:-8}
STALL_SECS=${STALL_SECS:-50}
PC_MIBS=${PC_MIBS:-3}
NS=https://migtune.org/xmlns/migtune/1
LABTEST=lab-recovery
# shellcheck source=../lab/testlib.sh
. "$REPO/tests/lab/testlib.sh"
TABLE=()

for f in "$AGENT" "$MIGDUMP" "$LAB_GUEST"; do
	[ -x "$f" ] || [ -r "$f" ] || { echo "lab-recovery: $f missing (run make)" >&2; exit 1; }
done
for c in ss ip; do
	command -v "$c" >/dev/null || { echo "lab-recovery: $c missing (make deps installs iproute2)" >&2; exit 1; }
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }

# ---- helpers ---------------------------------------------------------------------------------

# B's libvirtd as A's reaches it: its socket under $LAB_DIR, which both hosts' mount namespaces
# share.  It is the destination every migration of the lab goes to (lab.sh uri B).
DEST_URI=$("$LAB" uri B)

# The agents' configuration.  Cap held (a 1 Gbit/s link whose reserve is everything above
# 20 MiB/s) so that adaptive cannot finish by bandwidth and switches to post-copy.
write_conf() {   # FILE auto|off
	local f=$1 rec=$2
	{
		printf '[agent]\nmode = active\nlog-level = debug\n[sampling]\ninterval-ms = 500\n'
		printf '[nic]\nspeed-mbps = 1000\n[policy]\nreserve-permille = 833\n'
		printf 'bandwidth-max-mibs = 20\npostcopy-recovery = %s\n[dump]\nenabled = no\n' "$rec"
		printf '[recovery]\ndestination-uri = %s\n' "$DEST_URI"
	} > "$f"
}

start_agent() {   # HOST CONF
	"$LAB" stop "$1" agent >/dev/null 2>&1 || true
	"$LAB" exec "$1" rm -f /run/migtune/ctl.sock /run/migtune/hook.sock
	"$LAB" spawn "$1" agent "$AGENT" --foreground --config "$2" >/dev/null
	wait_for 10 "$LAB" exec "$1" test -S /run/migtune/ctl.sock ||
		{ fail "agent on $1 did not start"; return 1; }
}

# kill -9 of the agent the lab spawned on HOST (its process group, checked by start time), then
# the lab forgets it.
kill_agent() {
	local rec=$LAB_DIR/${1,,}/pids/agent.pid pid start
	read -r pid start < "$rec"
	[ "$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$pid/stat" 2>/dev/null)" = "$start" ] &&
		kill -KILL -- "-$pid" 2>/dev/null || true
	"$LAB" stop "$1" agent >/dev/null 2>&1 || true
}

state() { "$LAB" virsh "$1" domstate --reason "$2" 2>/dev/null | sed -n 1p; }
in_state() { [ "$(state "$1" "$2")" = "$3" ]; }

# The migration's TCP connection on A: QEMU's, to B's migration port.
reset_stream() {
	local port
	port=$("$LAB" exec A ss -Htnp state established dst "$LAB_NET_B" 2>/dev/null |
	       awk '/qemu-system/ { split($4, a, ":"); print a[length(a)]; exit }')
	[ -n "$port" ] || { log "no migration connection to reset"; return 1; }
	"$LAB" exec A ss -K state established dst "$LAB_NET_B" dport = ":$port" >/dev/null 2>&1
}
LAB_NET_B=${LAB_NET:-10.77.0}.2

# serial_counters HOST NAME: "FIRST_WRITTEN LAST_WRITTEN FIRST_T LAST_T BOOTS" of the guest there.
serial_counters() {
	"$LAB" serial "$1" "$2" 100000 | awk '
		/migtune-guest: booting/ { boots++ }
		/migtune-guest: t=/ { for (i = 1; i <= NF; i++) { if ($i ~ /^t=/) t = substr($i, 3);
					if ($i ~ /^written=/) w = substr($i, 9) + 0 }
			if (first_w == "") { first_w = w; first_t = t } last_w = w; last_t = t }
		END { print (first_w == "" ? -1 : first_w), (last_w == "" ? -1 : last_w),
			    (first_t == "" ? -1 : first_t), (last_t == "" ? -1 : last_t), boots + 0 }'
}

# The rows of domain $2 in a ring CSV (testlib's csv_awk on one domain).
dom_awk() {
	local file=$1 dom=$2
	shift 2
	awk -F, -v dom="$dom" "NR == 1 { for (i = 1; i <= NF; i++) col[\$i] = i; next }
		 function v(name) { return \$(col[name]) }
		 v(\"domain_name\") != dom { next }
		 $1" "$file"
}

# Order of the agent's post-copy events and the migration's end on a host: one word each.
pc_story() {   # CSV NAME
	dom_awk "$1" "$2" '
		v("type") == "event" && v("op") == "postcopy" { printf "%s ", v("subop") }
		v("type") == "event" && v("op") == "migration" && v("subop") != "found" { printf "%s ", v("subop") }
		END { print "" }'
}

# Runs one scenario up to the cut: guest, agents, migration, post-copy by the agent, the cut.
#   run_cut NAME CONF [restart|stall]
# Sets T_CUT and T_UP (epoch s), WRITTEN_A (the guest's counter on A before the switch).
run_cut() {
	local name=$1 conf=$2 restart=${3:-}
	start_agent A "$conf" && start_agent B "$conf" || return 1
	"$LAB" guest A "$name" --memory 256 --workload "dirty=96 rate=40" >/dev/null
	"$LAB" virsh A metadata "$name" "$NS" --key migtune --live --config --set \
		'<policy name="adaptive" sla-max-downtime-ms="500" allow-postcopy="yes"/>' >/dev/null
	sleep 3
	"$LAB" migrate "$name" A B --bandwidth 20 --postcopy --timeout 400 --bg \
		-- --postcopy-bandwidth "$PC_MIBS"
	if ! wait_for 90 in_state A "$name" "paused (post-copy)"; then
		fail "$name: the agent did not switch to post-copy within 90 s ($(state A "$name"))"
		return 1
	fi
	read -r _ WRITTEN_A _ _ _ < <(serial_counters A "$name")
	sleep 4
	T_CUT=$(date +%s)
	if [ "$restart" = stall ]; then
		"$LAB" exec A ip link set "${LAB_IF:-mig0}" down
		log "$name: A's link down for ${STALL_SECS} s, the stream left alone"
		sleep "$STALL_SECS"
		if in_state A "$name" "paused (post-copy)"; then
			pass "$name: nothing broke or was interrupted while the link was down"
		else
			fail "$name: A is '$(state A "$name")' at the end of the outage"
		fi
		"$LAB" exec A ip link set "${LAB_IF:-mig0}" up
		T_UP=$(date +%s)
		log "$name: A's link up"
		return 0
	fi
	reset_stream || { fail "$name: could not reset the migration stream"; return 1; }
	"$LAB" exec A ip link set "${LAB_IF:-mig0}" down
	log "$name: stream reset, A's link down for ${CUT_SECS} s"
	if ! wait_for 10 in_state A "$name" "paused (post-copy failed)"; then
		fail "$name: A is not 'paused (post-copy failed)' after the reset ($(state A "$name"))"
	fi
	if [ "$restart" = restart ]; then
		sleep 1
		kill_agent A
		log "$name: agent on A killed (-9) during the cut"
	fi
	sleep "$CUT_SECS"
	"$LAB" exec A ip link set "${LAB_IF:-mig0}" up
	T_UP=$(date +%s)
	log "$name: A's link up"
	if [ "$restart" = restart ]; then
		start_agent A "$conf" || return 1
		log "$name: agent on A started again"
	fi
}

# The migration's end: the domain gone from A and running on B (migrated).  The virsh migrate
# that started it failed at the break ("failed in post-copy phase"): a resume is another call.
migrated() { ! "$LAB" virsh A domstate "$1" >/dev/null 2>&1 && in_state B "$1" "running (migrated)"; }
finish() {   # NAME -> DONE (yes/no), WALL since the cut, ring CSVs in $WORK/NAME-{a,b}.csv
	local name=$1
	DONE=no
	wait_for 300 migrated "$name" && DONE=yes
	WALL=$(( $(date +%s) - T_CUT ))
	"$LAB" migrate-wait "$name" 30 > "$WORK/$name.migrate" 2>&1 || true
	sleep 1
	ring_csv A "$WORK/$name-a.csv"
	ring_csv B "$WORK/$name-b.csv"
	cp "$LAB_DIR/a/log/agent.log" "$WORK/$name.agent-a.log" 2>/dev/null || true
	cp "$LAB_DIR/b/log/agent.log" "$WORK/$name.agent-b.log" 2>/dev/null || true
}

# Asserts the guest came through on B with its memory whole: running there, gone from A, its
# counter going on from where it was on A, no reboot.
check_guest_on_b() {   # NAME
	local name=$1 fw lw ft lt boots
	if [[ "$("$LAB" where "$name" | tr '\n' ' ')" == *"B: running"* ]] &&
	   ! "$LAB" virsh A domstate "$name" >/dev/null 2>&1; then
		pass "$name: the guest runs on B, gone from A"
	else
		fail "$name: the guest is not (only) on B: $("$LAB" where "$name" | tr '\n' ' ')"
	fi
	sleep 2
	read -r fw lw ft lt boots < <(serial_counters B "$name")
	if [ "$boots" -eq 0 ] && [ "$fw" -ge "$WRITTEN_A" ] && [ "$lw" -gt "$fw" ] && [ "$lt" -gt "$ft" ]; then
		pass "$name: its counter went on on B (written ${fw} -> ${lw} MiB, t ${ft} -> ${lt} s; ${WRITTEN_A} MiB on A), no reboot"
	else
		fail "$name: the guest's serial log on B: written ${fw} -> ${lw} MiB (A: ${WRITTEN_A}), t ${ft} -> ${lt}, boots ${boots}"
	fi
}

# After finish: the migration completed by itself, and the guest came through on B.
check_completed() {   # NAME SINCE-WHAT
	if [ "$DONE" = yes ]; then
		pass "$1: the migration completed ${WALL} s after $2"
	else
		fail "$1: the migration did not complete: A '$(state A "$1")', B '$(state B "$1")'"
	fi
	check_guest_on_b "$1"
}

# Times on A from the ring: broken -> recovered (split), and the resume attempts.
split_facts() {   # NAME -> SPLIT (s) ATTEMPTS RECOVERED_AFTER_UP (s)
	local f=$WORK/$1-a.csv
	SPLIT=$(dom_awk "$f" "$1" 'v("type") == "event" && v("op") == "postcopy" && v("subop") == "recovered" { s = v("detail1") / 1000 } END { printf "%.1f", s }')
	ATTEMPTS=$(dom_awk "$f" "$1" 'v("type") == "action" && v("kind") == "postcopy-resume" && (v("result") == "applied" || v("result") == "failed") { n++ } END { print n + 0 }')
}

# ---- scenarios -------------------------------------------------------------------------------

"$LAB" up > "$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "lab up"; exit 1; }
CONF_AUTO=$WORK/auto.conf
write_conf "$CONF_AUTO" auto
CONF_OFF=$WORK/off.conf
write_conf "$CONF_OFF" off

recovered_scenario() {   # NAME [restart]
	local name=$1 story story_b
	run_cut "$name" "$CONF_AUTO" "${2:-}" || return 0
	finish "$name"
	check_completed "$name" "the cut, no operator action"
	story=$(pc_story "$WORK/$name-a.csv" "$name")
	story_b=$(pc_story "$WORK/$name-b.csv" "$name")
	if [[ "$story" =~ broken\ (broken\ )?(recovering\ )+recovered\ completed ]]; then
		pass "$name: A's ring: $story"
	else
		fail "$name: A's ring shows '$story', not broken -> recovering -> recovered -> completed"
	fi
	if [[ "$story_b" =~ broken\ recovered ]]; then
		pass "$name: B's ring: $story_b"
	else
		fail "$name: B's ring shows '$story_b', not broken -> recovered"
	fi
	split_facts "$name"
	if dom_awk "$WORK/$name-a.csv" "$name" 'v("type") == "event" && v("op") == "migration" && v("subop") == "completed" && v("text") ~ /split [0-9.]+ s in [0-9]+ break/ { ok = 1 } END { exit !ok }'; then
		pass "$name: the end says the guest was split ${SPLIT} s (${ATTEMPTS} resume attempt(s))"
	else
		fail "$name: the completed event does not say how long the guest was split"
	fi
	if awk -v s="$SPLIT" -v c="$CUT_SECS" 'BEGIN { exit !(s >= c) }'; then
		pass "$name: split ${SPLIT} s >= the ${CUT_SECS} s cut"
	else
		fail "$name: split ${SPLIT} s is shorter than the ${CUT_SECS} s cut"
	fi
	TABLE+=("$(printf '| %s | completed | %s s | %s s | %s |' "$name" "$WALL" "$SPLIT" "$ATTEMPTS")")
}

if want reset; then
	recovered_scenario reset
fi

if want restart; then
	recovered_scenario restart restart
	if grep -q "restart: outgoing migration found running; rebuilt from the ring" "$WORK/restart.agent-a.log" 2>/dev/null; then
		pass "restart: the restarted agent found the broken migration"
	else
		fail "restart: the restarted agent's log does not say it found the migration"
	fi
fi

if want stall; then
	name=stall
	if run_cut "$name" "$CONF_AUTO" stall; then
		finish "$name"
		check_completed "$name" "the link went down"
		# From the ring's own clock: the NIC record of the carrier's return during this
		# migration (p: it has samples), then its first sample whose data_processed grew.
		moved=$(csv_awk "$WORK/$name-a.csv" '
			v("type") == "nic" && v("carrier") == 0 && p != "" { down = 1 }
			v("type") == "nic" && v("carrier") == 1 && down && !up { up = v("mono_ns") }
			v("type") == "sample" && v("domain_name") == "'"$name"'" {
				if (up && p != "" && v("data_processed_bytes") > p) { printf "%.1f", (v("mono_ns") - up) / 1e9; exit }
				p = v("data_processed_bytes") }')
		interrupted=$(dom_awk "$WORK/$name-a.csv" "$name" 'v("type") == "action" && v("kind") == "postcopy-interrupt" && v("result") == "applied" { n++ } END { print n + 0 }')
		story=$(pc_story "$WORK/$name-a.csv" "$name")
		# TCP moves the stream again by itself within link-stall-s (5 s) or the agent
		# interrupts it and resumes it over a new connection: within 10 s either way.
		if [ -n "$moved" ] && awk -v m="$moved" 'BEGIN { exit !(m <= 10) }'; then
			pass "$name: pages moved again ${moved} s after the link came back (interrupts: $interrupted)"
		else
			fail "$name: pages moved again '${moved}' s after the link came back"
		fi
		if { [ "$interrupted" -eq 0 ] && [[ "$story" == "completed " ]]; } ||
		   { [ "$interrupted" -eq 1 ] && [[ "$story" =~ broken\ (recovering\ )+recovered\ completed ]]; }; then
			pass "$name: A's ring: ${interrupted} interrupt(s), then '$story'"
		else
			fail "$name: A's ring: ${interrupted} interrupt(s), then '$story'"
		fi
		split_facts "$name"
		TABLE+=("$(printf '| stall | completed | %s s | %s | %s |' "$WALL" \
			"$([ "$interrupted" -eq 0 ] && echo "no break; TCP moved it ${moved} s after the link came back" ||
			   echo "${SPLIT} s (interrupted); moved ${moved} s after the link came back")" "$ATTEMPTS")")
	fi
fi

if want off; then
	name=off
	if run_cut "$name" "$CONF_OFF"; then
		sleep 20
		st_a=$(state A "$name"); st_b=$(state B "$name")
		if [ "$st_a" = "paused (post-copy failed)" ] && [ "$st_b" = "running (post-copy failed)" ]; then
			pass "off: nothing resumed it: A $st_a, B $st_b 20 s after the link came back"
		else
			fail "off: A '$st_a', B '$st_b' (expected the broken post-copy to stay)"
		fi
		cmd=$(grep -m1 -o "to resume it run: virsh .*" "$LAB_DIR/a/log/agent.log" | sed 's/^to resume it run: //' || true)
		if [ -n "$cmd" ]; then
			pass "off: the agent's log says what to run: $cmd"
		else
			fail "off: no command in A's agent log"
		fi
		ring_csv A "$WORK/off-broken-a.csv"
		if dom_awk "$WORK/off-broken-a.csv" "$name" 'v("type") == "action" && v("kind") == "postcopy-resume" && v("result") == "skipped" && v("reason") ~ /off for this domain/ { ok = 1 } END { exit !ok }'; then
			pass "off: A's ring records the break and the refusal"
		else
			fail "off: A's ring has no skipped postcopy-resume saying recovery is off"
		fi
		# The operator's part: the logged command, run inside A.
		if [ -n "$cmd" ]; then
			"$LAB" exec A bash -c "$cmd" > "$WORK/off.resume" 2>&1 || true
		fi
		finish "$name"
		if [ "$DONE" = yes ]; then
			pass "off: resumed by the logged command, the guest runs on B"
			check_guest_on_b "$name"
		else
			fail "off: after the logged command: B '$(state B "$name")' ($(cat "$WORK/off.resume"))"
		fi
		TABLE+=("$(printf '| off | lost until resumed by hand | – | – | 0 |')")
	fi
fi

{
	echo "| scenario | outcome | completed after the cut | guest split | resume attempts |"
	echo "|---|---|---|---|---|"
	printf '%s\n' "${TABLE[@]}"
} | tee "$TABLE_OUT"
log "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
