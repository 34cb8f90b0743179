#!/usr/bin/env bash
# lab-agent: migtuned on the two-host lab, against real migrations.
#
#   1. the agent on A records every pre-copy iteration of a migration A -> B, with job stats that
#      match `virsh domjobinfo` taken at the same time (matched by the job's elapsed time);
#   2. the migration NIC's samples (the veth) agree with the migration's bandwidth within 10 %;
#   3. the agent on B records the hook's calls for the incoming guest;
#   4. kill -9 of the agent on A mid-migration, restart: the migration is found again within 2 s
#      of the new agent's start, rebuilt from the ring (its samples and the dirty rate measured
#      before it), and the old agent's records are still in the ring;
#   5. libvirtd on A restarted mid-migration: the agent notices, reconnects, and follows the job
#      (or, if libvirt cancelled it on restart, sees it end and follows the next one);
#   6. a migration that completes: the source's final sample (from JOB_COMPLETED) equals the job
#      statistics the destination reports, and both agents record the completion; every
#      migration either ring shows is closed by an end record (none left "running").
#   7. the agent on A measured the guest's dirty rate before the migration (page sampling, started
#      by the guest's start event), the rate is plausible for the guest's workload, the ring and
#      the log show the prior rate handed to the policy, and no measurement was tried while the
#      guest had a job.
#
# Usage: lab-agent.sh PATH-TO-MIGTUNED   (root; run by `make check-lab`)
# Prints one PASS/FAIL line per check with its numbers; exits non-zero if any failed.
set -euo pipefail

AGENT=$(realpath "${1:?usage: lab-agent.sh PATH-TO-MIGTUNED}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=$(dirname "$AGENT")
LAB="$REPO/tests/lab/lab.sh"
MIGDUMP="$BUILD/migdump"
HOOK="$BUILD/migtune-hook"
export LAB_DIR=${LAB_AGENT_DIR:-/tmp/mt-lab-agent}
WORK=$(mktemp -d /tmp/mt-lab-agent-work.XXXXXX)
LOGS=${LAB_AGENT_LOGS:-$BUILD/lab/agent-logs}
GUEST=busy
LABTEST=lab-agent
# shellcheck source=../lab/testlib.sh
. "$REPO/tests/lab/testlib.sh"


for f in "$AGENT" "$MIGDUMP" "$HOOK"; do
	[ -x "$f" ] || { echo "lab-agent: $f missing (run make)" >&2; exit 1; }
done

# ---- helpers ---------------------------------------------------------------------------------


# The PID of a running agent in HOST (the spawned process is migtuned itself).
agent_pid() {
	local f=$LAB_DIR/$1/pids/$2.pid p
	[ -r "$f" ] || return 1
	read -r p _ < "$f"
	[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$AGENT" ] || return 1
	echo "$p"
}


ctl_ready() { "$LAB" exec "$1" test -S /run/migtune/ctl.sock; }

# Agent configuration shared by both hosts: the defaults (qemu:///system, /run/migtune, /migtune
# are each host's own inside its namespaces), a short reconnect backoff for the restart check.
cat > "$WORK/migtuned.conf" <<'EOF'
[libvirt]
reconnect-min-ms = 200
reconnect-max-ms = 1000
[sampling]
interval-ms = 500
dirtyrate-interval-s = 10
[agent]
log-level = debug
EOF
# Automatic dumps of the aborted migrations stay in the test's work directory.
printf '[dump]\ndir = %s/dumps\n' "$WORK" >> "$WORK/migtuned.conf"

start_agent() {   # HOST TAG
	"$LAB" spawn "$1" "$2" "$AGENT" --foreground --config "$WORK/migtuned.conf" >/dev/null
	wait_for 10 ctl_ready "$1" || { fail "agent $2 on $1 did not open its control socket"; exit 1; }
}

# ---- the lab ---------------------------------------------------------------------------------
log "bringing the lab up in $LAB_DIR"
"$LAB" up --hook "$HOOK" >/dev/null
start_agent A agent
start_agent B agent
# 256 MiB guest re-dirtying 96 MiB at 40 MiB/s; at 20 MiB/s the migration never converges, so it
# runs as long as the checks need and is aborted at the end.
WL_DIRTY_MIB=96 WL_RATE_MIBS=40
"$LAB" guest A "$GUEST" --workload "dirty=$WL_DIRTY_MIB rate=$WL_RATE_MIBS" >/dev/null
# The agent measures a guest's dirty rate ~2 s after it starts (it cannot while a migration runs):
# the migration waits for that measurement, as a guest migrated soon after its start would.
measured() { grep -q "dirty rate: $GUEST: [0-9]* MiB/s" "$LAB_DIR/a/log/agent.log" 2>/dev/null; }
t_guest=$(date +%s)
wait_for 20 measured || log "no dirty-rate measurement of $GUEST within 20 s of its start"
t_measured=$(( $(date +%s) - t_guest ))
"$LAB" migrate "$GUEST" A B --bandwidth 20 --timeout 120 --bg >/dev/null
t_mig=$(date +%s)

# domjobinfo snapshots while the agent samples: elapsed, iteration, processed, total, bps.
: > "$WORK/jobinfo.txt"
for i in $(seq 14); do
	sleep 1
	"$LAB" jobinfo A "$GUEST" --rawstats 2>/dev/null | awk '
		/^time_elapsed:/ { e = $2 } /^memory_iteration:/ { it = $2 }
		/^data_processed:/ { dp = $2 } /^memory_total:/ { mt = $2 } /^memory_bps:/ { bps = $2 }
		/^operation:/ { op = $2 }
		END { if (op == 5 && e != "") print e, it, dp, mt, bps }' >> "$WORK/jobinfo.txt" || true
done

# ---- kill -9 mid-migration, restart --------------------------------------------------------
pid1=$(agent_pid a agent) || { fail "agent on A is not running before the kill"; exit 1; }
kill -KILL "$pid1"
wait_for 5 bash -c "! [ -d /proc/$pid1 ]" || { fail "agent $pid1 survived SIGKILL"; exit 1; }
"$LAB" stop A agent >/dev/null 2>&1 || true
sleep 1                                  # the migration goes on unobserved
start_agent A agent2
pid2=$(agent_pid a agent2)
sleep 3

# ---- libvirtd restart mid-migration ----------------------------------------------------------
lvpid=$(cat "$LAB_DIR/a/run/libvirtd.pid")
[[ "$(tr '\0' ' ' < "/proc/$lvpid/cmdline")" == libvirtd* ]] || { fail "libvirtd pid file of A"; exit 1; }
kill -TERM "$lvpid"
# With a migration job running libvirtd takes its time (it force-quits after ~30 s).
wait_for 60 bash -c "! [ -d /proc/$lvpid ]" || { fail "libvirtd on A did not stop within 60 s"; exit 1; }
"$LAB" exec A libvirtd -d -p /run/libvirtd.pid
wait_for 60 "$LAB" virsh A version >/dev/null 2>&1 || { fail "libvirtd on A did not come back"; exit 1; }
t_lv=$(date +%s)
sleep 4
if "$LAB" jobinfo A "$GUEST" 2>/dev/null | grep -q "Outgoing migration"; then
	lv_mode=survived
else
	# libvirt cancels an outgoing migration whose daemon restarted; the guest stays on A.
	lv_mode=restarted
	"$LAB" migrate-wait "$GUEST" 30 >/dev/null 2>&1 || true
	"$LAB" migrate "$GUEST" A B --bandwidth 20 --timeout 60 --bg >/dev/null
fi
sleep 5
"$LAB" abort A "$GUEST" >/dev/null 2>&1 || true
"$LAB" migrate-wait "$GUEST" 60 >/dev/null 2>&1 || true
sleep 2

# ---- a migration that completes: final stats from JOB_COMPLETED -----------------------------
# Uncapped, the veth outruns the guest's dirtying and the job finishes in a second or two.
completed=no
if "$LAB" migrate "$GUEST" A B --timeout 60 >/dev/null 2>&1; then
	completed=yes
	"$LAB" jobinfo B "$GUEST" --completed --rawstats > "$WORK/completed-b.txt" 2>/dev/null || true
fi
sleep 2

ring_csv a "$WORK/a.csv"
ring_csv b "$WORK/b.csv"
cp "$LAB_DIR/a/log/agent.log" "$WORK/agent-a1.log" 2>/dev/null || true
cp "$LAB_DIR/a/log/agent2.log" "$WORK/agent-a2.log" 2>/dev/null || true
cp "$LAB_DIR/b/log/agent.log" "$WORK/agent-b.log" 2>/dev/null || true

# Record times that split the run: the kill (first record of agent 2) etc.
m_start2=$(csv_awk "$WORK/a.csv" 'v("type") == "agent" && v("pid") == '"$pid2"' { print v("mono_ns"); exit }')
[ -n "$m_start2" ] || { fail "no record of the restarted agent (pid $pid2) in A's ring"; exit 1; }

# ---- 1. every iteration, stats matching domjobinfo -----------------------------------------
# Iterations of the first migration seen before the kill: events and samples.
read -r it_ev_max it_ev_n it_smp_max < <(csv_awk "$WORK/a.csv" '
	v("mono_ns") + 0 < '"$m_start2"' && v("domain_name") == "'"$GUEST"'" {
		if (v("type") == "event" && v("op") == "iteration") { seen[v("detail1")] = 1; if (v("detail1") + 0 > emax) emax = v("detail1") + 0 }
		if (v("type") == "sample" && v("iteration") + 0 > smax) smax = v("iteration") + 0
	}
	END { n = 0; for (k in seen) n++; print emax + 0, n, smax + 0 }')
if [ "$it_ev_max" -ge 2 ] && [ "$it_ev_n" -eq "$it_ev_max" ] && [ "$it_smp_max" -ge "$it_ev_max" ]; then
	pass "iterations: events for passes 1..$it_ev_max all recorded, samples up to pass $it_smp_max"
else
	fail "iterations: $it_ev_n distinct iteration events, highest $it_ev_max, samples up to pass $it_smp_max"
fi

# Each domjobinfo snapshot must sit between two consecutive agent samples of the same job:
# processed bytes between theirs, same memory total, iteration between theirs.
csv_awk "$WORK/a.csv" 'v("type") == "sample" && v("domain_name") == "'"$GUEST"'" && v("mono_ns") + 0 < '"$m_start2"' {
	print v("elapsed_ms"), v("iteration"), v("data_processed_bytes"), v("mem_total_bytes"), v("memory_bps") }' \
	| sort -n > "$WORK/agent-samples.txt"
read -r matched total_snap outside < <(awk '
	BEGIN { n = 0 }
	NR == FNR { if (NF == 5) { e[n] = $1; it[n] = $2; dp[n] = $3; mt[n] = $4; n++ } next }
	NF < 4 { next }                                # memory_bps is absent early in a job
	$1 < e[0] || $1 > e[n - 1] { out++; next }     # before the first or after the last sample
	{ snaps++
	  for (i = 0; i + 1 < n; i++)
		if (e[i] <= $1 && $1 <= e[i + 1]) {
			if (dp[i] <= $3 && $3 <= dp[i + 1] && mt[i] == $4 && it[i] <= $2 && $2 <= it[i + 1])
				ok++
			else
				printf "mismatch: jobinfo %s vs agent [%s %s %s %s] [%s %s %s %s]\n", $0, e[i], it[i], dp[i], mt[i], e[i+1], it[i+1], dp[i+1], mt[i+1] > "/dev/stderr"
			break
		}
	}
	END { print ok + 0, snaps + 0, out + 0 }' "$WORK/agent-samples.txt" "$WORK/jobinfo.txt" 2>"$WORK/jobinfo-mismatch.txt")
if [ "$total_snap" -ge 5 ] && [ "$matched" -eq "$total_snap" ]; then
	pass "job stats: all $total_snap domjobinfo snapshots fall between consecutive agent samples ($outside taken outside the sampled span)"
else
	fail "job stats: $matched of $total_snap domjobinfo snapshots match the agent's samples ($(head -3 "$WORK/jobinfo-mismatch.txt" | tr '\n' ' '))"
fi

# ---- 2. NIC vs migration bandwidth ---------------------------------------------------------
# Steady-state samples (pass >= 2, both rates known): tx of the veth against QEMU's memory_bps.
read -r nic_n nic_med nic_in < <(csv_awk "$WORK/a.csv" 'v("type") == "sample" && v("domain_name") == "'"$GUEST"'" &&
	v("iteration") + 0 >= 2 && v("memory_bps") + 0 > 0 && v("nic_tx_kibps") + 0 > 0 {
	print (v("nic_tx_kibps") * 1024) / v("memory_bps") }' | sort -n | awk '
	{ r[NR] = $1; if ($1 >= 0.9 && $1 <= 1.1) within++ }
	END { if (NR == 0) { print 0, 0, 0; exit } printf "%d %.3f %d\n", NR, r[int((NR + 1) / 2)], within }')
nic_recs=$(csv_awk "$WORK/a.csv" 'v("type") == "nic" && v("ifname") == "mig0" { n++ } END { print n + 0 }')
if [ "$nic_n" -ge 5 ] && awk -v m="$nic_med" 'BEGIN { exit !(m >= 0.9 && m <= 1.1) }' && [ "$nic_in" -ge $((nic_n * 8 / 10)) ]; then
	pass "NIC: mig0 tx / memory_bps median $nic_med over $nic_n samples, $nic_in within 10 %; $nic_recs NIC records"
else
	fail "NIC: mig0 tx / memory_bps median $nic_med over $nic_n samples, $nic_in within 10 %; $nic_recs NIC records"
fi

# ---- 3. hook events on B ---------------------------------------------------------------------
hooks_b=$(csv_awk "$WORK/b.csv" 'v("type") == "event" && v("source") == 1 && v("domain_name") == "'"$GUEST"'" {
	seen[v("op") " " v("subop")]++ } END { for (k in seen) printf "%s=%d;", k, seen[k] }')
missing=""
for want in "migrate begin" "prepare begin" "start begin" "started begin" "stopped end" "release end"; do
	[[ "$hooks_b" == *"$want="* ]] || missing="$missing '$want'"
done
if [ -z "$missing" ]; then
	pass "hook on B: $hooks_b"
else
	fail "hook on B: missing$missing (got: $hooks_b)"
fi

# ---- 4. kill -9 and restart ------------------------------------------------------------------
found_ms=$(csv_awk "$WORK/a.csv" 'v("type") == "event" && v("domain_name") == "'"$GUEST"'" &&
	v("op") == "migration" && v("subop") == "found" && v("mono_ns") + 0 >= '"$m_start2"' {
	printf "%d\n", (v("mono_ns") - '"$m_start2"') / 1000000; exit }')
found_text=$(csv_awk "$WORK/a.csv" 'v("type") == "event" && v("domain_name") == "'"$GUEST"'" &&
	v("op") == "migration" && v("subop") == "found" && v("mono_ns") + 0 >= '"$m_start2"' {
	print v("text"); exit }')
old_recs=$(csv_awk "$WORK/a.csv" 'v("mono_ns") + 0 < '"$m_start2"' && (v("type") == "sample" || v("pid") == '"$pid1"') { n++ } END { print n + 0 }')
rebuilt_re='^rebuilt: [1-9][0-9]* samples; prior [0-9.]+ MiB/s$'
if [ -n "$found_ms" ] && [ "$found_ms" -le 2000 ] && [ "$old_recs" -gt 10 ] &&
   [[ "$found_text" =~ $rebuilt_re ]] &&
   grep -q "$GUEST: outgoing migration found running; rebuilt from the ring" "$WORK/agent-a2.log"; then
	pass "kill -9: restarted agent found the migration ${found_ms} ms after its start ($found_text); $old_recs records of the killed agent kept"
else
	fail "kill -9: found after '${found_ms:-never}' ms (limit 2000), '${found_text:-no found record}' (want the samples and prior rebuilt from the ring), $old_recs records of the killed agent kept"
fi

# ---- 5. libvirtd restart ---------------------------------------------------------------------
read -r disc conn_after smp_after conn_time < <(csv_awk "$WORK/a.csv" '
	v("pid") == '"$pid2"' && v("type") == "agent" && v("text") ~ /^lost / && !d { d = v("mono_ns") }
	d && v("pid") == '"$pid2"' && v("type") == "agent" && v("text") ~ /^connected/ && !c { c = v("mono_ns"); ct = v("time") }
	c && v("type") == "sample" && v("domain_name") == "'"$GUEST"'" && v("mono_ns") + 0 > c { s++ }
	END { printf "%s %s %d %s\n", d ? "yes" : "no", c ? sprintf("%d", (c - d) / 1000000) : "never", s, ct }')
# libvirtd's own restart takes most of that (it waits for its jobs): what counts is how soon the
# agent is back once the daemon answers (whole seconds: the ring's CSV time column).
lag_s=never
[ "$conn_after" = never ] || lag_s=$(( $(date -d "$conn_time" +%s) - t_lv ))
if [ "$disc" = yes ] && [ "$conn_after" != never ] && [ "$lag_s" -le 3 ] && [ "$smp_after" -ge 4 ]; then
	pass "libvirtd restart ($lv_mode): disconnect seen, reconnected ${conn_after} ms later (${lag_s} s after libvirtd answered), $smp_after samples after"
else
	fail "libvirtd restart ($lv_mode): disconnect $disc, reconnect after $conn_after ms (${lag_s} s after libvirtd answered, limit 3), $smp_after samples after"
fi

# ---- 6. completion ---------------------------------------------------------------------------
# The source's final sample (JOB_COMPLETED, flag 2) against the statistics the destination keeps
# of the same job (libvirt hands them over with the migration).
read -r fin_n fin_dp fin_el < <(csv_awk "$WORK/a.csv" 'v("type") == "sample" && v("domain_name") == "'"$GUEST"'" &&
	int(v("flags") / 2) % 2 == 1 { n++; dp = v("data_processed_bytes"); el = v("elapsed_ms") }
	END { printf "%d %s %s\n", n, dp + 0, el + 0 }')
done_a=$(csv_awk "$WORK/a.csv" 'v("type") == "event" && v("domain_name") == "'"$GUEST"'" && v("op") == "migration" && v("subop") == "completed" { n++ } END { print n + 0 }')
done_b=$(csv_awk "$WORK/b.csv" 'v("type") == "event" && v("domain_name") == "'"$GUEST"'" && v("op") == "migration" && v("subop") == "completed" { n++ } END { print n + 0 }')
b_dp=$(awk '/^data_processed:/ { print $2 }' "$WORK/completed-b.txt" 2>/dev/null)
# Every migration a ring shows is closed: its last "migration" record is an end (completed,
# failed, aborted, unknown), not a start ("started", "found").  Aborted and cancelled jobs too.
open_left() {   # CSV -> "open" or "closed" for the guest
	csv_awk "$1" 'v("type") == "event" && v("domain_name") == "'"$GUEST"'" && v("source") == 3 &&
		v("op") == "migration" { last = v("subop") }
		END { print (last == "started" || last == "found") ? "open" : "closed" }'
}
open_a=$(open_left "$WORK/a.csv") open_b=$(open_left "$WORK/b.csv")
if [ "$completed" = yes ] && [ "$fin_n" -ge 1 ] && [ "$done_a" -ge 1 ] && [ "$done_b" -ge 1 ] &&
   [ -n "$b_dp" ] && [ "$fin_dp" = "$b_dp" ] && [ "$open_a" = closed ] && [ "$open_b" = closed ]; then
	pass "completion: final sample on A ($fin_dp bytes in $fin_el ms) equals B's completed job stats; completed on A and B; no migration left open"
else
	fail "completion: migrated=$completed, final samples $fin_n (processed $fin_dp, B says '${b_dp:-?}'), completed events A $done_a B $done_b, last migration record on A $open_a, on B $open_b"
fi

# ---- 7. the dirty rate measured before the migration ----------------------------------------
# Page sampling counts the distinct pages written in its 1 s window: the guest writes RATE MiB/s
# over a DIRTY MiB region, so min(RATE, DIRTY) MiB per second, within 0.5x..1.5x.
want_mibs=$(( WL_RATE_MIBS < WL_DIRTY_MIB ? WL_RATE_MIBS : WL_DIRTY_MIB ))
read -r pr_n pr_kibps pr_age < <(csv_awk "$WORK/a.csv" 'v("mono_ns") + 0 < '"$m_start2"' &&
	v("type") == "event" && v("domain_name") == "'"$GUEST"'" && v("op") == "dirtyrate" &&
	v("subop") == "prior" { n++; if (n == 1) { k = v("detail1"); a = v("detail2") } }
	END { printf "%d %d %d\n", n, k + 0, a + 0 }')
pr_mibs=$(awk -v k="$pr_kibps" 'BEGIN { printf "%.1f", k / 1024 }')
# The debug line of the measurement comes before the migration's start in the first agent's log;
# the info line says what the policy was told.
meas_line=$(grep -n "dirty rate: $GUEST: [0-9]* MiB/s" "$WORK/agent-a1.log" 2>/dev/null | head -1 | cut -d: -f1)
start_line=$(grep -nE "$GUEST: outgoing migration (started|found)" "$WORK/agent-a1.log" 2>/dev/null | head -1 | cut -d: -f1)
told=$(grep -c "$GUEST: dirty rate before the migration: .* handed to the policy" "$WORK/agent-a1.log" 2>/dev/null || true)
# The restarted agent found the guest mid-migration: it must not have tried to measure it (libvirt
# would have held the call ~30 s and refused it).
tried_busy=$(cat "$WORK"/agent-a*.log 2>/dev/null | grep -c "state change lock" || true)
if [ "$pr_n" -eq 1 ] && [ -n "$meas_line" ] && [ -n "$start_line" ] && [ "$meas_line" -lt "$start_line" ] &&
   [ "${told:-0}" -ge 1 ] && [ "${tried_busy:-0}" -eq 0 ] &&
   awk -v m="$pr_mibs" -v w="$want_mibs" 'BEGIN { exit !(m >= 0.5 * w && m <= 1.5 * w) }'; then
	pass "dirty rate: measured ${t_measured} s after the guest's start, $pr_mibs MiB/s (workload ${want_mibs} MiB/s), $((pr_age / 1000)).$(( (pr_age % 1000) / 100 )) s before the job; handed to the policy (ring and log); no attempt during the job"
else
	fail "dirty rate: $pr_n prior records, $pr_mibs MiB/s (want 0.5..1.5 x $want_mibs), age ${pr_age} ms, measured at log line '${meas_line:-none}' vs start '${start_line:-none}', info lines ${told:-0}, attempts during a job ${tried_busy:-0}"
fi

# ---- cost ------------------------------------------------------------------------------------
if [ -r "/proc/$pid2/stat" ]; then
	read -r cpu_ticks wall < <(awk -v hz="$(getconf CLK_TCK)" -v up="$(cut -d' ' -f1 /proc/uptime)" '
		{ sub(/^.*\) /, ""); split($0, f, " "); printf "%d %.1f\n", f[12] + f[13], up - f[20] / hz }' "/proc/$pid2/stat")
	smp2=$(csv_awk "$WORK/a.csv" 'v("type") == "sample" && v("mono_ns") + 0 >= '"$m_start2"' { n++ } END { print n + 0 }')
	log "cost: restarted agent used $cpu_ticks CPU ticks ($(getconf CLK_TCK)/s) over ${wall} s, $smp2 samples (job-stats RPCs included)"
fi

log "$((7 - failures)) of 7 checks passed"
[ "$failures" -eq 0 ]
