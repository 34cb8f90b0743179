#!/usr/bin/env bash
# calibrate.sh — run the calibration migrations in the two-host lab and compare them with migsim.
#
# Each run below has a scenario file tests/sim/scenarios/lab-cal-*.json describing the same guest,
# cap and downtime; the script measures the real migration (passes = memory_iteration, total time =
# time_elapsed and bytes = data_processed of the completed job, or of the last sample before a
# bounded run is aborted), simulates the scenario with the policy "none" (the lab runs are untuned
# apart from the settings applied at start), and prints both with the difference.
#
#   cal-s1-untuned    256 MiB, 96 MiB hot set at 40 MiB/s, cap 20 MiB/s, QEMU defaults, bounded
#   cal-s1-downtime   the same with the max downtime set to 5000 ms as soon as the job exists
#   cal-s2-downtime   24 MiB hot set at 40 MiB/s, cap 20 MiB/s, max downtime 1500 ms at start
#   cal-s2-cap40      24 MiB hot set at 40 MiB/s, cap 40 MiB/s, QEMU defaults, bounded
#   cal-idle          idle 256 MiB guest, no cap
#
# Slow (a few minutes) and needs root: not part of `make check`; run `make calibrate` or this script.
# It uses its own lab instance (LAB_DIR, default /tmp/mt-cal), so it can run next to other labs; a
# run during which QEMU processes of another lab were alive is marked "shared" (the machine's two
# cores were contended: re-run it when the machine is quiet).
#
# Options:
#   --runs LIST     comma-separated subset of the runs above (default: all)
#   --update        write the measured values into the scenarios' "reference" entry for "none"
#   --sim-only      do not touch the lab: compare the scenarios' stored references with migsim
#   -h, --help      this text
#
# Every job-statistics sample of each run is kept in $TRACE_DIR/RUN.trace (default
# build/lab/calibrate/): time_elapsed, memory_iteration, data_remaining, data_processed, memory_bps.
# Environment: LAB_DIR, LAB_NET (default 10.78.0), MIGSIM, LAB_GUEST, TRACE_DIR.
# The last line counts the pass and time comparisons within 20 %; the exit status is 0 when the
# runs could be made and compared, whatever the differences.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB="$HERE/lab.sh"
export LAB_DIR=${LAB_DIR:-/tmp/mt-cal}
export LAB_NET=${LAB_NET:-10.78.0}
MIGSIM=${MIGSIM:-$REPO/build/migsim}
SCN_DIR=${SCN_DIR:-$REPO/tests/sim/scenarios}
TRACE_DIR=${TRACE_DIR:-$REPO/build/lab/calibrate}
ALL_RUNS="cal-s1-untuned,cal-s1-downtime,cal-s2-downtime,cal-s2-cap40,cal-idle"

runs=$ALL_RUNS
update=0
sim_only=0

die() { echo "calibrate.sh: $*" >&2; exit 1; }
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?--runs needs a list}; shift 2 ;;
	--update) update=1; shift ;;
	--sim-only) sim_only=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
for r in ${runs//,/ }; do
	[[ ",$ALL_RUNS," == *",$r,"* ]] || die "unknown run '$r' (known: $ALL_RUNS)"
	[ -r "$SCN_DIR/lab-$r.json" ] || die "scenario $SCN_DIR/lab-$r.json missing"
done
[ -x "$MIGSIM" ] || die "$MIGSIM missing (run make)"
command -v jq >/dev/null || die "jq not found (apt-get install jq)"

# Parameters of each run: workload, cap (MiB/s, 0 = none), downtime set at start (ms, 0 = QEMU's
# default), bound (s, 0 = until it completes).  They must match the scenario files; the bound is
# read from the scenario's duration_s so that both sides stop at the same time.
run_params() {
	case "$1" in
	cal-s1-untuned)  echo "dirty=96 rate=40|20|0" ;;
	cal-s1-downtime) echo "dirty=96 rate=40|20|5000" ;;
	cal-s2-downtime) echo "dirty=24 rate=40|20|1500" ;;
	cal-s2-cap40)    echo "dirty=24 rate=40|40|0" ;;
	cal-idle)        echo "|0|0" ;;
	esac
}

# ---- lab side ----------------------------------------------------------------------------------
declare -A JOB
job_read() {
	local out line
	JOB=()
	out=$("$LAB" jobinfo "$1" "$2" "${@:3}" --rawstats 2>/dev/null) || return 1
	while IFS= read -r line; do
		[[ "$line" == *:* ]] || continue
		JOB[${line%%:*}]=${line#*: }
	done <<< "$out"
	[ "${JOB[Job type]:-0}" != 0 ] && [ "${JOB[Job type]:-None}" != None ]
}

# Are QEMU processes of another lab (or anything else) alive?  Ours run in our hosts' namespaces.
others_running() {
	local p ns mine=" "
	for h in a b; do
		[ -r "$LAB_DIR/$h/netns" ] && mine+="$(cat "$LAB_DIR/$h/netns") "
	done
	for p in $(pgrep -f qemu-system 2>/dev/null || true); do
		ns=$(readlink "/proc/$p/ns/net" 2>/dev/null) || continue
		[[ "$mine" == *" $ns "* ]] || return 0
	done
	return 1
}

wait_guest() {
	local name=$1 min=$2 line ach deadline=$(( $(date +%s) + 40 ))
	while [ "$(date +%s)" -le "$deadline" ]; do
		line=$("$LAB" serial A "$name" 1 2>/dev/null || true)
		ach=$(sed -n 's/.*achieved=\([0-9]*\)\..*/\1/p' <<< "$line")
		if [[ "$line" == *" t="* ]] && [ "$(sed -n 's/.* t=\([0-9]*\) .*/\1/p' <<< "$line")" -ge 2 ] \
			&& [ "${ach:-0}" -ge "$min" ]; then
			return 0
		fi
		sleep 0.5
	done
	die "guest $name did not start its workload (last serial line: $line)"
}

# measure RUN: prints "outcome passes total_s bytes_mib downtime_ms shared pass-peaks"
measure() {
	local run=$1 name workload cap dl bound p rate t_end shared=no it peaks="" last_it=0 rem
	local -A peak=()
	IFS='|' read -r workload cap dl <<< "$(run_params "$run")"
	bound=$(jq -r '.duration_s // 600' "$SCN_DIR/lab-$run.json")
	bound=${bound%.*}
	name=${run//-/}
	rate=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<< "$workload")
	"$LAB" guest A "$name" --memory 256 --workload "$workload" >/dev/null
	wait_guest "$name" $(( ${rate:-0} * 9 / 10 ))
	others_running && shared=yes
	local margs=(--timeout $(( bound + 30 )) --bg)
	[ "$cap" -gt 0 ] && margs+=(--bandwidth "$cap")
	echo "# time_elapsed_ms memory_iteration data_remaining data_processed memory_bps expected_downtime_ms" > "$TRACE_DIR/$run.trace"
	log "$run: migrating $name A -> B (workload '${workload:-idle}', cap ${cap:-0} MiB/s, downtime ${dl} ms, bound ${bound} s)"
	"$LAB" migrate "$name" A B "${margs[@]}"
	local set_dl=$dl outcome="" last_t=0 last_it_v=0 last_bytes=0
	t_end=$(( $(date +%s) + bound + 60 ))
	while [ "$(date +%s)" -le "$t_end" ]; do
		[ -e "$LAB_DIR/migrate-$name.rc" ] && break
		if job_read A "$name" && [ "${JOB[operation]:-}" = 5 ]; then
			if [ "$set_dl" -gt 0 ]; then
				"$LAB" virsh A migrate-setmaxdowntime "$name" "$set_dl" >/dev/null 2>&1 && set_dl=0
			fi
			it=${JOB[memory_iteration]:-0}
			rem=$(( ${JOB[data_remaining]:-0} / 1048576 ))
			if [ "$it" -ge 2 ] && [ "$rem" -gt "${peak[$it]:--1}" ]; then peak[$it]=$rem; fi
			[ "$it" != "$last_it" ] && last_it=$it
			last_t=${JOB[time_elapsed]:-0}
			last_it_v=$it
			last_bytes=${JOB[data_processed]:-0}
			echo "${JOB[time_elapsed]:-} $it ${JOB[data_remaining]:-} ${JOB[data_processed]:-} ${JOB[memory_bps]:-} ${JOB[downtime]:-}" >> "$TRACE_DIR/$run.trace"
			if [ "$bound" -gt 0 ] && [ "$last_t" -ge $(( bound * 1000 )) ]; then
				"$LAB" abort A "$name" >/dev/null 2>&1 || true
				outcome=not-converged
				break
			fi
		fi
		others_running && shared=yes
		sleep 0.2
	done
	local rc=0 out
	out=$("$LAB" migrate-wait "$name" 60 2>&1) || rc=$?
	local total_s passes mib down=0
	if [ -z "$outcome" ] && [ $rc -eq 0 ]; then
		job_read B "$name" --completed || die "$run: no completed job statistics on B"
		outcome=completed
		total_s=$(awk -v t="${JOB[time_elapsed]}" 'BEGIN { printf "%.1f", t / 1000 }')
		passes=${JOB[memory_iteration]}
		mib=$(awk -v b="${JOB[data_processed]}" 'BEGIN { printf "%.1f", b / 1048576 }')
		down=${JOB[downtime]:-0}
		"$LAB" destroy B "$name" >/dev/null 2>&1 || true
	elif [ "$outcome" = not-converged ]; then
		total_s=$(awk -v t="$last_t" 'BEGIN { printf "%.1f", t / 1000 }')
		passes=$last_it_v
		mib=$(awk -v b="$last_bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
		"$LAB" destroy A "$name" >/dev/null 2>&1 || true
	else
		"$LAB" destroy A "$name" >/dev/null 2>&1 || true
		die "$run: migration failed: $out"
	fi
	for (( p = 2; p <= passes && p <= 12; p++ )); do peaks+="${peak[$p]:-?},"; done
	echo "$outcome $passes $total_s $mib $down $shared ${peaks%,}"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	"$LAB" down || log "lab.sh down failed"
	exit $rc
}

# ---- comparison --------------------------------------------------------------------------------
pct() { awk -v s="$1" -v m="$2" 'BEGIN { if (m == "" || m == "-" || m + 0 == 0) print "-"; else printf "%+.0f%%", (s - m) * 100 / m }'; }

declare -A MEAS
if [ $sim_only -eq 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "must run as root (the lab needs namespaces and libvirtd); or use --sim-only"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$TRACE_DIR"
	"$LAB" down
	log "bringing the calibration lab up in $LAB_DIR"
	"$LAB" up >/dev/null
	for r in ${runs//,/ }; do
		MEAS[$r]=$(measure "$r")
		log "$r: ${MEAS[$r]}"
	done
	"$LAB" down
	trap - EXIT INT TERM
fi

n_cmp=0
n_ok=0
within20() {
	awk -v s="$1" -v m="$2" 'BEGIN { exit !(m != "" && m != "-" && m + 0 != 0 && (s - m) / m <= 0.2 && (m - s) / m <= 0.2) }'
}
printf '%-16s %-8s | %-14s %6s %7s %7s %6s | %-14s %6s %7s %7s | %6s %6s %6s\n' \
	run shared "measured" passes total_s MiB down_ms "simulated" passes total_s MiB \
	d_pass d_time d_MiB
for r in ${runs//,/ }; do
	f=$SCN_DIR/lab-$r.json
	if [ $sim_only -eq 1 ]; then
		read -r mo mp mt mb <<< "$(jq -r '(.reference // [])[] | select(.policy == "none") |
			"\(.outcome) \(.passes // "-") \(.total_s // "-") \(.bytes_mib // "-")"' "$f" | head -1)"
		md=-; ms=-; peaks=""
		[ -n "${mo:-}" ] || { mo="-"; mp="-"; mt="-"; mb="-"; }
	else
		read -r mo mp mt mb md ms peaks <<< "${MEAS[$r]}"
	fi
	sim=$("$MIGSIM" -p none -j "$f") || die "migsim failed on $f"
	read -r so sp st sb <<< "$(jq -r '.runs[0].vms[0] |
		"\(.outcome) \(.passes) \(.total_ms) \(.bytes_sent)"' <<< "$sim")"
	st=$(awk -v t="$st" 'BEGIN { printf "%.1f", t / 1000 }')
	sb=$(awk -v b="$sb" 'BEGIN { printf "%.1f", b / 1048576 }')
	printf '%-16s %-8s | %-14s %6s %7s %7s %6s | %-14s %6s %7s %7s | %6s %6s %6s\n' \
		"$r" "${ms:--}" "$mo" "$mp" "$mt" "$mb" "$md" "$so" "$sp" "$st" "$sb" \
		"$(pct "$sp" "$mp")" "$( [ "$mo" = completed ] && pct "$st" "$mt" || echo -)" "$(pct "$sb" "$mb")"
	if [ "$mp" != - ]; then n_cmp=$((n_cmp + 1)); within20 "$sp" "$mp" && n_ok=$((n_ok + 1)); fi
	if [ "$mo" = completed ]; then n_cmp=$((n_cmp + 1)); within20 "$st" "$mt" && n_ok=$((n_ok + 1)); fi
	[[ "${peaks:-}" =~ [0-9] ]] && echo "    measured data_remaining (MiB) at the start of passes 2..: $peaks"
	if [ $update -eq 1 ] && [ $sim_only -eq 0 ]; then
		tmp=$(mktemp "$f.XXXXXX")
		jq --arg o "$mo" --argjson p "$mp" --argjson t "$mt" --argjson b "$mb" \
		   --arg note "lab, tests/lab/calibrate.sh $(date -u +%F)$( [ "$ms" = yes ] && echo ', shared machine')" \
		   '.reference = ([(.reference // [])[] | select(.policy != "none")] +
		     [{policy: "none", outcome: $o, passes: $p, total_s: $t, bytes_mib: $b, note: $note}])' \
		   "$f" > "$tmp" && mv "$tmp" "$f"
	fi
done
echo "$n_ok of $n_cmp pass and time comparisons within 20 %"
