#!/bin/sh
# contrib/: the Prometheus alerts and the Grafana dashboard against what migtuned really writes.
#   1. a running migtuned (libvirt's test driver) writes its metrics file: promtool check metrics;
#   2. promtool check rules and promtool test rules (tests/contrib/migtune.rules.test.yml);
#   3. the dashboard is JSON, every panel has queries, each query parses as PromQL (as a rule,
#      with Grafana's variables replaced), and every migtune_* name in the queries and the alerts
#      is a metric the agent's file declares.
# Usage: test-contrib.sh PATH-TO-MIGTUNED.  Needs promtool and jq (make deps); fails without them.
set -u
MIGTUNED=${1:?usage: test-contrib.sh PATH-TO-MIGTUNED}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RULES=$REPO/contrib/prometheus/migtune.rules.yml
DASH=$REPO/contrib/grafana/migtune.json
failures=0
passes=0
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for tool in promtool jq; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "test-contrib: $tool is missing: run 'make deps' (Debian packages prometheus, jq)" >&2
		exit 1
	}
done

WORK=$(mktemp -d /tmp/mt-contrib.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---- 1. the agent's file ---------------------------------------------------------------------
cat > "$WORK/m.conf" <<CONF
[metrics]
textfile = $WORK/migtune.prom
interval-s = 1
CONF
"$MIGTUNED" -f -c "$WORK/m.conf" --connect test:///default --ring "/mt-contrib-$$" \
	--hook-socket "$WORK/hook.sock" --ctl-socket "$WORK/ctl.sock" 2> "$WORK/agent.log" &
pid=$!
i=0
while ! grep -q '^migtune_agent_heartbeat_timestamp_seconds ' "$WORK/migtune.prom" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && { fail "migtuned wrote no metrics file in 10 s: $(tail -3 "$WORK/agent.log")"; exit 1; }
	sleep 0.1
done
cp "$WORK/migtune.prom" "$WORK/seen.prom"
kill "$pid"; wait "$pid" 2>/dev/null; pid=
rm -f "/dev/shm/mt-contrib-$$"
if out=$(promtool check metrics < "$WORK/seen.prom" 2>&1) && [ -z "$out" ]; then
	pass "promtool check metrics: the agent's file ($(grep -c '^# TYPE' "$WORK/seen.prom") metrics) is clean"
else
	fail "promtool check metrics on the agent's file: $out"
fi
# Every metric the file declares; a histogram's series are NAME_bucket, _sum and _count.
awk '/^# TYPE / { print $3; if ($4 == "histogram") { print $3 "_bucket"; print $3 "_sum"; print $3 "_count" } }' \
	"$WORK/seen.prom" | sort -u > "$WORK/declared"

# ---- 2. the alerts ---------------------------------------------------------------------------
if out=$(promtool check rules "$RULES" 2>&1); then
	pass "promtool check rules: $(echo "$out" | grep -o '[0-9]* rules found')"
else
	fail "promtool check rules: $out"
fi
if out=$(cd "$HERE" && promtool test rules migtune.rules.test.yml 2>&1); then
	pass "promtool test rules: every alert fires where it should and nowhere else"
else
	fail "promtool test rules: $out"
fi

# ---- 3. the dashboard ------------------------------------------------------------------------
if ! jq -e . "$DASH" >/dev/null 2>&1; then
	fail "dashboard: $DASH is not JSON"
else
	npanels=$(jq '[.panels[]] | length' "$DASH")
	empty=$(jq -r '.panels[] | select(([.targets[]?.expr] | length) == 0) | .title' "$DASH")
	[ -z "$empty" ] || fail "dashboard: panels without a query: $empty"
	# Each query as a recording rule, Grafana's variables replaced by what they stand for.
	{
		echo "groups:"
		echo "  - name: dashboard"
		echo "    rules:"
		jq -r '.panels[] | .targets[] | .expr' "$DASH" |
		sed -e 's/\$__rate_interval/5m/g' -e 's/\$__range/1h/g' -e 's/\$instance/.*/g' |
		awk '{ gsub(/'\''/, "'\'''\''"); printf "      - record: dashboard:query:%d\n        expr: '\''%s'\''\n", NR, $0 }'
	} > "$WORK/dashboard.rules.yml"
	if out=$(promtool check rules "$WORK/dashboard.rules.yml" 2>&1); then
		pass "dashboard: $npanels panels, $(jq '[.panels[].targets[]] | length' "$DASH") queries, all valid PromQL"
	else
		fail "dashboard: a query is not valid PromQL: $out"
	fi
fi
{ jq -r '.panels[].targets[].expr, .templating.list[].definition? // empty' "$DASH"; cat "$RULES"; } |
	grep -o 'migtune_[a-z_]*' | sort -u > "$WORK/used"
unknown=$(comm -23 "$WORK/used" "$WORK/declared" | tr '\n' ' ')
if [ -s "$WORK/used" ] && [ -z "$unknown" ]; then
	pass "names: the $(wc -l < "$WORK/used") migtune metrics the dashboard and the alerts use are all in the agent's file"
else
	fail "names: used but not written by the agent: ${unknown:-(nothing used at all)}"
fi

echo "contrib: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
