#!/usr/bin/env bash
# Lab tests: real live migrations between the two lab hosts, on one lab instance.
#
#   S1  untuned baseline: 256 MiB guest re-dirtying a 96 MiB hot set at 40 MiB/s, bandwidth capped
#       at 20 MiB/s: the migration does not converge (data_remaining stays high pass after pass),
#       is aborted cleanly, and the guest keeps running on A.
#   S2  the same migration completes once the cap is raised live (migrate-setspeed), and, from B
#       back to A, once the max downtime is raised live (migrate-setmaxdowntime).
#   S3  a small idle guest migrates A -> B and back.
#
# Prints one PASS/FAIL line per scenario with its numbers; exits non-zero if any failed.  On failure
# the hosts' logs are kept in $LAB_TEST_LOGS.  Needs root (run through `make check-lab`).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/lab.sh"
export LAB_DIR=${LAB_DIR:-/tmp/migtune-labtest}
LAB_TEST_LOGS=${LAB_TEST_LOGS:-$HERE/../../build/lab/test-logs}

HOT_MIB=96
RATE_MIBPS=40
CAP_MIBPS=20
HIGH_REMAINING_BYTES=$(( HOT_MIB / 2 * 1024 * 1024 )) # "high": at least half the hot set
STUCK_ITERATIONS=3          # passes that must each start with a high data_remaining
S1_MAX_SECONDS=90           # bound on watching the baseline
RESCUE_MAX_SECONDS=30       # bound on completion after a live change
BIG=busy
SMALL=idle

failures=0
results=()

log() { printf '%s %s\n' "$(date +%T)" "$*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$failures" -ne 0 ] || [ $rc -ne 0 ]; then
		rm -rf "$LAB_TEST_LOGS"
		"$LAB" logs "$LAB_TEST_LOGS" >/dev/null 2>&1 && log "lab logs kept in $LAB_TEST_LOGS"
	fi
	"$LAB" down || log "lab.sh down failed"
	exit $rc
}

# Reads the running job's raw statistics on HOST for NAME into the associative array JOB.
declare -A JOB
job_read() {
	local out line
	JOB=()
	out=$("$LAB" jobinfo "$1" "$2" --rawstats 2>/dev/null) || return 1
	while IFS= read -r line; do
		[[ "$line" == *:* ]] || continue
		JOB[${line%%:*}]=${line#*: }
	done <<< "$out"
	[ "${JOB[Job type]:-0}" != 0 ]
}

state_of() { "$LAB" virsh "$1" -q domstate "$2" 2>/dev/null | head -1 || true; }

# Last "t=" the guest printed on HOST's serial log (0 if none).
guest_time() {
	"$LAB" serial "$1" "$2" 50 2>/dev/null | sed -n 's/.* t=\([0-9]*\) .*/\1/p' | tail -1 | grep . || echo 0
}

# Waits (at most SECS) until the guest on HOST prints a report newer than AFTER with an achieved
# rate of at least MIN MiB/s: proof that it runs there and keeps its workload.
guest_alive() {
	local h=$1 name=$2 after=$3 min=$4 secs=$5 line t ach deadline
	deadline=$(( $(date +%s) + secs ))
	while [ "$(date +%s)" -le "$deadline" ]; do
		line=$("$LAB" serial "$h" "$name" 1 2>/dev/null || true)
		t=$(sed -n 's/.* t=\([0-9]*\) .*/\1/p' <<< "$line")
		ach=$(sed -n 's/.*achieved=\([0-9]*\)\..*/\1/p' <<< "$line")
		if [ -n "$t" ] && [ "$t" -gt "$after" ] && [ "${ach:-0}" -ge "$min" ]; then
			return 0
		fi
		sleep 0.5
	done
	log "guest $name on $h: no report after t=$after with >= $min MiB/s; last line: $line"
	return 1
}

wait_state() {
	local h=$1 name=$2 want=$3 secs=$4 deadline
	deadline=$(( $(date +%s) + secs ))
	while [ "$(date +%s)" -le "$deadline" ]; do
		[ "$(state_of "$h" "$name")" = "$want" ] && return 0
		sleep 0.5
	done
	log "$name on $h: state '$(state_of "$h" "$name")', wanted '$want'"
	return 1
}

# Follows a capped migration of NAME from HOST until it has made STUCK_ITERATIONS passes after the
# first, each starting with data_remaining >= HIGH_REMAINING_BYTES (pre-copy is not converging).
# Sets STUCK_SUMMARY ("iteration:peak MiB ...") and STUCK_DOWNTIME_MS.  Fails if the migration
# ends, or a pass starts low, or SECS pass first.
declare -A PEAK
wait_stuck() {
	local h=$1 name=$2 secs=$3 it deadline last_it=0 i n_high=0
	PEAK=()
	STUCK_SUMMARY=""
	STUCK_DOWNTIME_MS=0
	deadline=$(( $(date +%s) + secs ))
	while [ "$(date +%s)" -le "$deadline" ]; do
		if [ -e "$LAB_DIR/migrate-$name.rc" ]; then
			log "migration of $name ended while it should be stuck:"
			cat "$LAB_DIR/migrate-$name.out"
			return 1
		fi
		if job_read "$h" "$name" && [ "${JOB[operation]:-}" = 5 ]; then
			it=${JOB[memory_iteration]:-0}
			rem=${JOB[data_remaining]:-0}
			if [ "$it" -ge 2 ] && { [ -z "${PEAK[$it]:-}" ] || [ "$rem" -gt "${PEAK[$it]}" ]; }; then
				PEAK[$it]=$rem
			fi
			[ "$it" -ge 2 ] && STUCK_DOWNTIME_MS=${JOB[downtime]:-0}
			if [ "$it" -ne "$last_it" ]; then
				log "  pass $it: data_remaining $(( rem / 1048576 )) MiB, bandwidth $(( ${JOB[memory_bps]:-0} / 1048576 )) MiB/s, dirty rate ${JOB[memory_dirty_rate]:-0} pages/s, expected downtime ${JOB[downtime]:-?} ms"
				last_it=$it
			fi
			# Passes 2 .. it-1 are complete: judge them.
			if [ "$it" -ge $(( STUCK_ITERATIONS + 2 )) ]; then
				STUCK_SUMMARY=""
				n_high=0
				for (( i = 2; i < it; i++ )); do
					STUCK_SUMMARY+="$i:$(( ${PEAK[$i]:-0} / 1048576 ))MiB "
					if [ "${PEAK[$i]:-0}" -ge "$HIGH_REMAINING_BYTES" ]; then
						n_high=$((n_high + 1))
					else
						log "pass $i started with only $(( ${PEAK[$i]:-0} / 1048576 )) MiB remaining: converging"
						return 1
					fi
				done
				[ "$n_high" -ge "$STUCK_ITERATIONS" ] && return 0
			fi
		fi
		sleep 0.5
	done
	log "migration of $name: fewer than $STUCK_ITERATIONS stuck passes within ${secs}s (last pass $last_it)"
	return 1
}

record() {
	local name=$1 ok=$2 detail=$3
	if [ "$ok" -eq 0 ]; then
		results+=("PASS $name: $detail")
		log "PASS $name: $detail"
	else
		failures=$((failures + 1))
		results+=("FAIL $name: $detail")
		log "FAIL $name: $detail"
	fi
}

# ---- S1: untuned baseline ------------------------------------------------------------------------
s1_baseline() {
	local t0 t_abort rc=0 out last
	log "S1: guest $BIG (hot set $HOT_MIB MiB at $RATE_MIBPS MiB/s), migration A -> B capped at $CAP_MIBPS MiB/s"
	guest_alive A "$BIG" 0 $((RATE_MIBPS * 9 / 10)) 30 || { S1_DETAIL="guest workload not running"; return 1; }
	t0=$(now_ms)
	"$LAB" migrate "$BIG" A B --bandwidth "$CAP_MIBPS" --timeout 300 --bg || { S1_DETAIL="could not start the migration"; return 1; }
	wait_stuck A "$BIG" "$S1_MAX_SECONDS" || { S1_DETAIL="migration was not stuck as expected"; return 1; }
	[ "$(state_of A "$BIG")" = running ] || { S1_DETAIL="guest not running on A during the migration"; return 1; }
	t_abort=$(now_ms)
	last=$(guest_time A "$BIG")
	"$LAB" abort A "$BIG" || { S1_DETAIL="domjobabort failed"; return 1; }
	out=$("$LAB" migrate-wait "$BIG" 30 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		S1_DETAIL="migration completed although aborted: $out"; return 1
	fi
	[[ "$out" == *abort* ]] || { S1_DETAIL="migration failed, not aborted: $out"; return 1; }
	wait_state A "$BIG" running 10 || { S1_DETAIL="guest not running on A after the abort"; return 1; }
	wait_state B "$BIG" "" 15 || { S1_DETAIL="domain left behind on B after the abort"; return 1; }
	guest_alive A "$BIG" "$last" $((RATE_MIBPS * 9 / 10)) 10 || { S1_DETAIL="guest on A stopped reporting after the abort"; return 1; }
	S1_DETAIL="not converged after $(( (t_abort - t0) / 1000 )) s; data_remaining at each pass: ${STUCK_SUMMARY}(threshold $((HIGH_REMAINING_BYTES / 1048576)) MiB), expected downtime $STUCK_DOWNTIME_MS ms; aborted in $(( ($(now_ms) - t_abort) )) ms incl. checks; guest still running on A"
}

# ---- S2: live rescue -----------------------------------------------------------------------------
# rescue FROM TO LABEL VIRSH-COMMAND...: capped migration, wait until stuck, apply the live change,
# expect completion within RESCUE_MAX_SECONDS.
rescue() {
	local from=$1 to=$2 label=$3 t0 t_fix t_done rc=0 out last stats it down
	shift 3
	log "S2 ($label): migration $from -> $to capped at $CAP_MIBPS MiB/s, then '$*' live"
	last=$(guest_time "$from" "$BIG")
	t0=$(now_ms)
	"$LAB" migrate "$BIG" "$from" "$to" --bandwidth "$CAP_MIBPS" --timeout 300 --bg || { RESCUE_DETAIL="could not start the migration"; return 1; }
	wait_stuck "$from" "$BIG" "$S1_MAX_SECONDS" || { RESCUE_DETAIL="migration was not stuck before the change"; return 1; }
	t_fix=$(now_ms)
	"$LAB" virsh "$from" -q "$@" || { RESCUE_DETAIL="'$*' failed"; return 1; }
	out=$("$LAB" migrate-wait "$BIG" "$RESCUE_MAX_SECONDS" 2>&1) || rc=$?
	t_done=$(now_ms)
	[ $rc -eq 0 ] || { RESCUE_DETAIL="migration did not complete after '$*': $out"; return 1; }
	wait_state "$to" "$BIG" running 10 || { RESCUE_DETAIL="guest not running on $to"; return 1; }
	wait_state "$from" "$BIG" "" 10 || { RESCUE_DETAIL="domain left on $from"; return 1; }
	guest_alive "$to" "$BIG" "$last" $((RATE_MIBPS * 9 / 10)) 10 || { RESCUE_DETAIL="guest on $to not running its workload"; return 1; }
	stats=$("$LAB" jobinfo "$to" "$BIG" --completed --rawstats 2>/dev/null || true)
	it=$(sed -n 's/^memory_iteration: //p' <<< "$stats")
	down=$(sed -n 's/^downtime: //p' <<< "$stats")
	RESCUE_DETAIL="stuck (${STUCK_SUMMARY% }), completed $(( t_done - t_fix )) ms after the change, $(( (t_done - t0) / 1000 )) s in all, ${it:-?} passes, downtime ${down:-?} ms"
}

# ---- S3: idle guest round trip -------------------------------------------------------------------
s3_idle() {
	local t0 ta tb out last
	log "S3: idle 64 MiB guest $SMALL, A -> B -> A"
	"$LAB" guest A "$SMALL" --memory 64 --workload "phases=idle" >/dev/null || { S3_DETAIL="could not start the idle guest"; return 1; }
	guest_alive A "$SMALL" 0 0 30 || { S3_DETAIL="idle guest did not boot"; return 1; }
	last=$(guest_time A "$SMALL")
	t0=$(now_ms)
	out=$("$LAB" migrate "$SMALL" A B --timeout 60 2>&1) || { S3_DETAIL="A -> B failed: $out"; return 1; }
	ta=$(( $(now_ms) - t0 ))
	wait_state B "$SMALL" running 10 && wait_state A "$SMALL" "" 10 || { S3_DETAIL="not moved to B"; return 1; }
	guest_alive B "$SMALL" "$last" 0 10 || { S3_DETAIL="guest not running on B"; return 1; }
	last=$(guest_time B "$SMALL")
	t0=$(now_ms)
	out=$("$LAB" migrate "$SMALL" B A --timeout 60 2>&1) || { S3_DETAIL="B -> A failed: $out"; return 1; }
	tb=$(( $(now_ms) - t0 ))
	wait_state A "$SMALL" running 10 && wait_state B "$SMALL" "" 10 || { S3_DETAIL="not moved back to A"; return 1; }
	guest_alive A "$SMALL" "$last" 0 10 || { S3_DETAIL="guest not running on A after the round trip"; return 1; }
	S3_DETAIL="A -> B in $ta ms, B -> A in $tb ms (virsh migrate wall time), guest running on A"
}

main() {
	local start rc
	[ "$(id -u)" -eq 0 ] || { echo "test-lab.sh: must run as root (use make check-lab)" >&2; exit 2; }
	start=$(date +%s)
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	"$LAB" down  # a lab left by a killed run
	log "bringing the lab up in $LAB_DIR"
	"$LAB" up
	log "lab up after $(( $(date +%s) - start )) s"
	"$LAB" guest A "$BIG" --memory 256 --workload "dirty=$HOT_MIB rate=$RATE_MIBPS"

	rc=0; S1_DETAIL=""; s1_baseline || rc=$?
	record "S1 untuned baseline does not converge, abort leaves guest on A" $rc "$S1_DETAIL"

	# S2 needs the guest on A with no job: true after a passing S1, also restored after a failing one.
	if [ "$(state_of A "$BIG")" != running ]; then
		"$LAB" destroy A "$BIG" >/dev/null 2>&1 || true
		"$LAB" destroy B "$BIG" >/dev/null 2>&1 || true
		"$LAB" guest A "$BIG" --memory 256 --workload "dirty=$HOT_MIB rate=$RATE_MIBPS"
	fi
	rc=0; RESCUE_DETAIL=""; rescue A B "raise the cap" migrate-setspeed "$BIG" 1000 || rc=$?
	record "S2a stuck migration completes after migrate-setspeed 1000" $rc "$RESCUE_DETAIL"
	if [ $rc -eq 0 ]; then
		rc=0; RESCUE_DETAIL=""; rescue B A "raise the max downtime" migrate-setmaxdowntime "$BIG" 10000 || rc=$?
	else
		RESCUE_DETAIL="not run: the guest did not reach B"
	fi
	record "S2b stuck migration completes after migrate-setmaxdowntime 10000" $rc "$RESCUE_DETAIL"
	# The busy guest costs a host core under TCG: stop it before the idle round trip.
	"$LAB" destroy A "$BIG" >/dev/null 2>&1 || "$LAB" destroy B "$BIG" >/dev/null 2>&1 || true

	rc=0; S3_DETAIL=""; s3_idle || rc=$?
	record "S3 idle guest A -> B -> A" $rc "$S3_DETAIL"

	echo "---- lab test summary ($(( $(date +%s) - start )) s including setup and teardown) ----"
	printf '%s\n' "${results[@]}"
	[ "$failures" -eq 0 ]
}

main "$@"
