#!/usr/bin/env bash
# test-faults: what migtune does when things break during real migrations on the two-host lab.
#
#   1. hook with the agent down: B has the hook installed and no agent; a migration A -> B
#      completes as it would without migtune (the hook fails open at once);
#   2. kill -9 of the agent on A mid-migration: the leftover ring reads as a dead writer, migdump
#      saves and decodes it, and a restarted agent finds the running migration again;
#      (lab-agent.sh checks the re-attachment's timing and history in detail)
#   3. network cut on the veth during pre-copy of a migration started with --postcopy and
#      post-copy allowed: the agent first wants post-copy (the guest cannot converge), the veth
#      goes down, and while the carrier is down the agent does not decide post-copy, records the
#      carrier loss and why it holds, and is alive afterwards; libvirt decides whether the
#      migration recovers or fails.  The agent runs in advisory mode so that the migration stays
#      in pre-copy long enough to cut it: its decisions are the ones active mode would apply;
#   4. destination libvirtd killed mid-migration: the migration fails, the guest keeps running on
#      A, the agent on A survives and records the failure.
#
# Usage: test-faults.sh BUILD-DIR   (root; run by `make check-lab`)
# Prints one PASS/FAIL line per check with its numbers; exits non-zero if any failed.
set -euo pipefail

BUILD=$(realpath "${1:?usage: test-faults.sh BUILD-DIR}")
AGENT=$BUILD/migtuned
MIGDUMP=$BUILD/migdump
MIGTOP=$BUILD/migtop
HOOK=$BUILD/migtune-hook
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/lab.sh"
export LAB_DIR=${LAB_FAULTS_DIR:-/tmp/mt-lab-faults}
export LAB_GUEST=${LAB_GUEST:-$BUILD/lab/guest.elf}
WORK=$(mktemp -d /tmp/mt-lab-faults-work.XXXXXX)
LOGS=${LAB_FAULTS_LOGS:-$BUILD/lab/faults-logs}
GUEST=busy
LABTEST=lab-faults
# shellcheck source=testlib.sh
. "$HERE/testlib.sh"


for f in "$AGENT" "$MIGDUMP" "$MIGTOP" "$HOOK" "$LAB_GUEST"; do
	[ -x "$f" ] || [ -r "$f" ] || { echo "test-faults: $f missing (run make)" >&2; exit 1; }
done
# ctl_ping's nc: without it every ping would fail and read as a dead agent.
"$HERE/../../scripts/deps.sh" need nc timeout || { echo "test-faults: a program it needs is missing" >&2; exit 1; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# The ring's own records are the time anchors (its clock is the writer's CLOCK_MONOTONIC).
last_mono() { ring_csv A "$WORK/anchor.csv"; csv_awk "$WORK/anchor.csv" '{ m = v("mono_ns") } END { print m + 0 }'; }
ctl_ready() { "$LAB" exec A test -S /run/migtune/ctl.sock; }
# Output captured before matching: with pipefail a grep -q that stops reading fails the pipe.
ctl_ping() {
	local o
	o=$("$LAB" exec A sh -c 'printf "ping\n" | timeout 5 nc -N -U /run/migtune/ctl.sock' 2>/dev/null) || true
	[[ "$o" == *'"ok":true'* ]]
}
outgoing() {
	local o
	o=$("$LAB" jobinfo A "$GUEST" 2>/dev/null) || true
	[[ "$o" == *"Outgoing migration"* ]]
}
agent_pid() {
	local p
	read -r p _ < "$LAB_DIR/a/pids/$1.pid" || return 1
	[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$AGENT" ] || return 1
	echo "$p"
}
alive() { [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = migtuned ]; }

# Decoded records of A's ring as CSV; csv_awk addresses columns by name (text, the last column,
# may hold quoted commas: nothing here reads it).

# Post-copy allowed by default and the migrations started with --postcopy: only the agent's own
# judgement of the network keeps it from deciding post-copy.
cat > "$WORK/migtuned.conf" <<'CONF'
[agent]
mode = advisory
[libvirt]
reconnect-min-ms = 200
reconnect-max-ms = 1000
[sampling]
interval-ms = 500
[policy]
allow-postcopy = yes
sla-max-downtime-ms = 300
CONF
# Failed migrations would be dumped to /var/lib/migtune: not in a test (when the build has dumps).
printf '[dump]\nenabled = no\n' >> "$WORK/migtuned.conf"
"$AGENT" --config "$WORK/migtuned.conf" --check-config >/dev/null 2>&1 ||
	sed -i '/^\[dump\]/,$d' "$WORK/migtuned.conf"

# Private copies: a rebuild of the tree during the run must not swap the programs under test.
mkdir -p "$WORK/bin"
cp "$AGENT" "$MIGDUMP" "$MIGTOP" "$WORK/bin/"
AGENT=$WORK/bin/migtuned MIGDUMP=$WORK/bin/migdump MIGTOP=$WORK/bin/migtop

start_agent() {   # TAG
	"$LAB" spawn A "$1" "$AGENT" --foreground --config "$WORK/migtuned.conf" >/dev/null
	wait_for 10 ctl_ready || { fail "agent $1 on A did not open its control socket"; exit 1; }
}

t_begin=$(date +%s)
log "bringing the lab up in $LAB_DIR"
"$LAB" up --hook "$HOOK" >/dev/null
start_agent agent
# 128 MiB re-dirtying 64 MiB at 40 MiB/s: at 20 MiB/s it never converges, and the policy has
# seen the passes it needs within about 15 s.
"$LAB" guest A "$GUEST" --memory 128 --workload "dirty=64 rate=40" >/dev/null

# ---- 1. hook with the agent down ---------------------------------------------------------------
"$LAB" exec B test ! -e /run/migtune/hook.sock || { fail "an agent socket exists on B"; exit 1; }
t0=$(now_ms); rc=0
"$LAB" migrate "$GUEST" A B --timeout 60 > "$WORK/mig1.out" 2>&1 || rc=$?
ms=$(( $(now_ms) - t0 ))
state_b=$("$LAB" virsh B domstate "$GUEST" 2>/dev/null | head -1 || true)
if [ "$rc" -eq 0 ] && [ "$state_b" = running ]; then
	pass "hook with the agent down: migration A -> B completed in $ms ms, guest $state_b on B"
else
	fail "hook with the agent down: virsh exit $rc after $ms ms, guest on B '$state_b': $(head -c 300 "$WORK/mig1.out")"
fi
"$LAB" migrate "$GUEST" B A --timeout 60 > "$WORK/mig1b.out" 2>&1 || { fail "migration back to A: $(head -c 300 "$WORK/mig1b.out")"; exit 1; }

# ---- 2. kill -9 of the agent mid-migration -----------------------------------------------------
"$LAB" migrate "$GUEST" A B --bandwidth 20 --postcopy --timeout 120 --bg >/dev/null
wait_for 15 outgoing || { fail "the capped migration did not start"; exit 1; }
sleep 2
pid1=$(agent_pid agent)
kill -KILL "$pid1"
wait_for 5 bash -c "! [ -d /proc/$pid1 ]" || { fail "agent $pid1 survived SIGKILL"; exit 1; }
"$LAB" stop A agent >/dev/null 2>&1 || true
rc=0
"$LAB" exec A "$MIGTOP" -b -n 1 --json > "$WORK/top-dead.json" 2>"$WORK/top-dead.err" || rc=$?
"$LAB" exec A "$MIGDUMP" -o "$WORK/leftover.mtd" > "$WORK/leftover.out" 2>&1 || rc=$((rc + 100))
recs=$("$MIGDUMP" -d "$WORK/leftover.mtd" --csv 2>/dev/null | tail -n +2 | wc -l)
smp=$("$MIGDUMP" -d "$WORK/leftover.mtd" --csv 2>/dev/null | awk -F, '$3 == "sample"' | wc -l)
if [ "$rc" -eq 0 ] && grep -q '"agent":"dead"' "$WORK/top-dead.json" && [ "$recs" -gt 5 ] && [ "$smp" -ge 2 ]; then
	pass "kill -9: leftover ring reads as a dead writer; migdump saved and decoded $recs records ($smp samples)"
else
	fail "kill -9: migtop/migdump exit $rc, $(grep -o '"agent":"[a-z]*"' "$WORK/top-dead.json" || echo 'no agent state'), $recs records, $smp samples: $(cat "$WORK/top-dead.err" "$WORK/leftover.out" | head -c 300)"
fi
start_agent agent2
pid2=$(agent_pid agent2)
t_restart=$(now_ms)
found=no
for i in $(seq 30); do
	ring_csv A "$WORK/a.csv"
	if csv_awk "$WORK/a.csv" 'v("type") == "agent" && v("pid") == '"$pid2"' && !s { s = v("mono_ns") }
		s && v("type") == "event" && v("op") == "migration" && v("subop") == "found" &&
		v("domain_name") == "'"$GUEST"'" { n++ } END { exit !(n >= 1) }'; then
		found=yes; break
	fi
	sleep 0.1
done
found_ms=$(( $(now_ms) - t_restart ))
if [ "$found" = yes ] && [ "$found_ms" -le 4000 ]; then
	pass "kill -9: restarted agent found the running migration (seen by a reader within $found_ms ms of its socket)"
else
	fail "kill -9: restarted agent found the migration: $found after $found_ms ms"
fi

# ---- 3. network cut during pre-copy ------------------------------------------------------------
# On a steady network the policy decides post-copy at the start of pass 3 (the first pass with
# evidence of the dirty set).  A fresh migration, followed from its start, has its veth cut as
# pass 2 starts: pass 2 then runs through the cut, and the decision at pass 3 must be a hold that
# says why, not post-copy.
"$LAB" abort A "$GUEST" >/dev/null 2>&1 || true
"$LAB" migrate-wait "$GUEST" 60 > "$WORK/mig2.out" 2>&1 || true
m_start=$(last_mono)
"$LAB" migrate "$GUEST" A B --bandwidth 20 --postcopy --timeout 120 --bg >/dev/null
p2=no
for i in $(seq 100); do
	ring_csv A "$WORK/a.csv"
	csv_awk "$WORK/a.csv" 'v("mono_ns") + 0 > '"$m_start"' && v("type") == "event" && v("op") == "iteration" &&
		v("detail1") + 0 >= 2 && v("domain_name") == "'"$GUEST"'" { n++ } END { exit !n }' && { p2=yes; break; }
	sleep 0.1
done
[ "$p2" = yes ] || { fail "migration did not reach pass 2 before the network cut"; exit 1; }
pc_before=$(csv_awk "$WORK/a.csv" 'v("type") == "action" && v("kind") == "postcopy" { n++ } END { print n + 0 }')
outgoing || { fail "migration no longer running before the network cut"; exit 1; }
m_before=$(last_mono)
"$LAB" exec A ip link set mig0 down
sleep 10
still=$("$LAB" jobinfo A "$GUEST" 2>/dev/null | awk -F: '/^Job type/ { gsub(/ /, "", $2); print $2 }')
pc_during=$("$LAB" jobinfo A "$GUEST" --rawstats 2>/dev/null | awk '/^memory_postcopy_requests/ { print $2 }')
alive_cut=no; alive "$pid2" && ctl_ping && alive_cut=yes
"$LAB" exec A ip link set mig0 up
# The pass that ran through the cut ends once the network is back: the policy's next decision
# must not take it as evidence.
ring_csv A "$WORK/a.csv"
# The cut as the agent saw it: from mig0's first carrier-down record to its carrier-up record.
read -r m_cut m_up < <(csv_awk "$WORK/a.csv" 'v("mono_ns") + 0 > '"$m_before"' && v("type") == "nic" && v("ifname") == "mig0" {
		if (v("carrier") == "0" && !d) d = v("mono_ns"); if (d && v("carrier") == "1" && !u) u = v("mono_ns") }
	END { printf "%s %s\n", d ? d : 0, u ? u : 0 }')
next_kind=none
for i in $(seq 40); do
	ring_csv A "$WORK/a.csv"
	next_kind=$(csv_awk "$WORK/a.csv" 'v("mono_ns") + 0 > '"$m_cut"' && v("type") == "action" && v("kind") != "dump" { print v("kind"); exit }')
	[ -n "$next_kind" ] && break
	next_kind=none
	outgoing || break
	sleep 0.5
done
"$LAB" abort A "$GUEST" >/dev/null 2>&1 || true
rc=0; "$LAB" migrate-wait "$GUEST" 60 > "$WORK/mig3.out" 2>&1 || rc=$?
ring_csv A "$WORK/a.csv"
read -r nic_down pc_actions < <(csv_awk "$WORK/a.csv" '
	v("mono_ns") + 0 >= '"$m_cut"' && v("mono_ns") + 0 <= '"$m_up"' {
		if (v("type") == "nic" && v("ifname") == "mig0" && v("carrier") == "0") nd++
		if (v("type") == "action" && v("kind") == "postcopy") pc++
	}
	END { printf "%d %d\n", nd, pc }')
why=$(awk -F, -v a="$m_cut" '$3 == "action" && $2 + 0 > a && $33 != "dump" { print; exit }' "$WORK/a.csv" |
	sed -E 's/^([^,]*,){54}//')
logged=$(grep -c "NIC mig0: carrier lost" "$LAB_DIR/a/log/agent2.log" || true)
state_a=$("$LAB" virsh A domstate "$GUEST" 2>/dev/null | head -1 || true)
if [ "$alive_cut" = yes ] && [ "$logged" -ge 1 ] && [ "$pc_before" -eq 0 ] && [ "$nic_down" -ge 1 ] && [ "$pc_actions" -eq 0 ] &&
   [ "$next_kind" = hold ] && [ "$still" = Unbounded ] && [ "${pc_during:-0}" -eq 0 ] && [ "$state_a" = running ]; then
	pass "network cut in pass 2: carrier loss logged and recorded ($nic_down carrier-down records), no post-copy during it, job still pre-copy after 10 s, agent alive; the decision at pass 3 was a hold: $why; then libvirt's verdict: exit $rc, guest $state_a on A"
else
	fail "network cut: agent alive $alive_cut, carrier loss logged $logged times, post-copy decisions before $pc_before / during $pc_actions, carrier-down records $nic_down, next decision '$next_kind' ($why), job '$still', postcopy requests '${pc_during:-?}', guest on A '$state_a'"
fi

# ---- 4. destination libvirtd killed mid-migration ----------------------------------------------
"$LAB" migrate "$GUEST" A B --bandwidth 20 --timeout 120 --bg >/dev/null
wait_for 15 outgoing || { fail "the migration for the libvirtd kill did not start"; exit 1; }
sleep 2
lvpid=$(cat "$LAB_DIR/b/run/libvirtd.pid")
[[ "$(tr '\0' ' ' < "/proc/$lvpid/cmdline")" == libvirtd* ]] || { fail "libvirtd pid file of B"; exit 1; }
m_kill=$(last_mono)
t0=$(now_ms)
kill -KILL "$lvpid"
rc=0; "$LAB" migrate-wait "$GUEST" 90 > "$WORK/mig4.out" 2>&1 || rc=$?
fail_ms=$(( $(now_ms) - t0 ))
sleep 2
state_a=$("$LAB" virsh A domstate "$GUEST" 2>/dev/null | head -1 || true)
ring_csv A "$WORK/a.csv"
failed_ev=$(csv_awk "$WORK/a.csv" 'v("mono_ns") + 0 >= '"$m_kill"' && v("type") == "event" && v("op") == "migration" && (v("subop") == "failed" || v("subop") == "aborted") && v("domain_name") == "'"$GUEST"'" { n++ } END { print n + 0 }')
if [ "$rc" -ne 0 ] && [ "$state_a" = running ] && alive "$pid2" && ctl_ping && [ "$failed_ev" -ge 1 ]; then
	pass "destination libvirtd killed: migration failed after $fail_ms ms ($(grep -m1 -o 'error: .*' "$WORK/mig4.out" | head -c 120)), guest running on A, agent alive, failure recorded"
else
	fail "destination libvirtd killed: virsh exit $rc after $fail_ms ms, guest on A '$state_a', agent $(alive "$pid2" && echo alive || echo gone), failure events $failed_ev: $(head -c 300 "$WORK/mig4.out")"
fi

log "$((checks - failures)) of $checks checks passed in $(( $(date +%s) - t_begin )) s"
[ "$failures" -eq 0 ]
