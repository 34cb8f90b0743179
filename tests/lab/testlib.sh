# Shared by the lab test scripts (sourced, not run).  Before sourcing, the script sets:
#   LABTEST   its name, for the log lines         LAB    path of lab.sh
#   WORK      its scratch directory (removed)     LOGS   where logs are kept when a check fails
#   MIGDUMP   path of the migdump binary
# It gets: log/pass/fail with counters (checks, failures), a cleanup on exit that keeps the
# lab's logs and WORK when anything failed and always takes the lab down, wait_for, and
# ring_csv/csv_awk to read a host's ring through migdump.

failures=0
checks=0

log() { printf '%s %s: %s\n' "$(date +%T)" "$LABTEST" "$*"; }
pass() { checks=$((checks + 1)); log "PASS $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); log "FAIL $*"; }

labtest_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$failures" -ne 0 ] || [ $rc -ne 0 ]; then
		rm -rf "$LOGS"; mkdir -p "$LOGS"
		"$LAB" logs "$LOGS" >/dev/null 2>&1 || true
		cp -r "$WORK"/* "$LOGS/" 2>/dev/null || true
		log "logs kept in $LOGS"
	fi
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$WORK"
	exit $rc
}
trap labtest_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for SECONDS CMD...: polls CMD every 0.1 s; true as soon as it succeeds, false at the bound.
wait_for() {
	local end=$(( $(date +%s) + $1 ))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ring_csv HOST FILE: HOST's ring, dumped inside the host and decoded as CSV (header line first).
ring_csv() {
	"$LAB" exec "$1" "$MIGDUMP" -o "$WORK/ring-$1.migdump" >/dev/null 2>&1
	"$MIGDUMP" -d "$WORK/ring-$1.migdump" --csv > "$2"
}

# csv_awk FILE PROGRAM: awk over a ring CSV with the columns addressable by name: v("iteration").
csv_awk() {
	local file=$1
	shift
	awk -F, "NR == 1 { for (i = 1; i <= NF; i++) col[\$i] = i; next }
		 function v(name) { return \$(col[name]) }
		 $1" "$file"
}
