#!/bin/sh
# gen-sweeps.sh — write the simulator's sweep scenarios (tests/sim/scenarios/sweep-*.json).
#
# Each family varies one thing over a range instead of picking one point; docs/scenarios.md
# ("Sweeps") says what each family is for. The files are committed so that `make bench-policy`
# and the unit tests see them; test-sim checks that they are what this script writes.
#
#   tests/sim/gen-sweeps.sh [DIR]     DIR defaults to tests/sim/scenarios next to this script
#
# Only POSIX sh and awk (any awk: no regex intervals, no gawk extensions).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/scenarios}
[ -d "$dir" ] || { echo "gen-sweeps.sh: $dir: not a directory" >&2; exit 1; }
rm -f "$dir"/sweep-*.json

awk -v dir="$dir" '
function begin(name, desc, duration) {
	file = dir "/sweep-" name ".json"
	printf "{\n  \"name\": \"sweep-%s\",\n  \"description\": \"%s\",\n  \"duration_s\": %d", \
		name, desc, duration > file
}
function put(text) { printf "%s", text > file }
function end() { printf "\n}\n" > file; close(file); n++ }
function link(mbit) { return "  \"link\": [{\"t_s\": 0, \"mbit\": " mbit "}]" }
function sizename(gib) { return gib < 1 ? sprintf("%dm", gib * 1024) : sprintf("%dg", gib) }
function ram(gib) { return gib < 1 ? sprintf("\"ram_mib\": %d", gib * 1024) : sprintf("\"ram_gib\": %d", gib) }

# Long dirtying phases: a heavy phase (a quarter of RAM rewritten at 2 GiB/s, more than the
# 10 Gbit/s link carries) that stops after 30 s .. 5 min, then nearly nothing. QEMU completes
# a few seconds after the phase ends; nothing but waiting is allowed.  Each runs past the guest
# completion budget (150 s/GiB, at least 60 s), so that the outcome of every policy is decided: a
# migration still waiting when the scenario ends has not been given up.
function phase_duration(len, gib) {
	return past_budget(len + 4 * gib + 180, gib)
}
# d, or longer: past the completion budget of a guest of gib GiB (150 s/GiB, at least 60 s)
function past_budget(d, gib,   budget) {
	budget = 150 * gib < 60 ? 60 : 150 * gib
	return d > budget + 60 ? d : budget + 60
}
function phases(   i, j, len, gib, hot) {
	split("30 60 90 120 180 240 300", lens, " ")
	split("1 4 16 64", sizes, " ")
	for (i = 1; i in lens; i++) for (j = 1; j in sizes; j++) {
		len = lens[i]; gib = sizes[j]; hot = gib * 256
		begin(sprintf("phase-%03ds-%s", len, sizename(gib)), \
			sprintf("%d GiB guest rewriting %d MiB at 2 GiB/s for %d s, then 16 MiB at 4 MiB/s, on 10 Gbit/s; SLA 500 ms, nothing else allowed: the phase must be waited out.", gib, hot, len), \
			phase_duration(len, gib))
		put(",\n" link(10000) ",\n  \"vms\": [{\"name\": \"batch\", " ram(gib) ", \"dirty\": [")
		put(sprintf("{\"t_s\": 0, \"hot_mib\": %d, \"rate_mibps\": 2048}, ", hot))
		put(sprintf("{\"t_s\": %d, \"hot_mib\": 16, \"rate_mibps\": 4}]}]", len))
		end()
	}
}

# Late link flaps across guest sizes: a post-copy candidate (3/8 of RAM rewritten at 2000 MiB/s)
# whose link shows errors for 1 s, loses its carrier for 6 s and shows errors again, 1 to 20 s
# after the bulk pass ends (RAM at 1140 MiB/s, the whole link): some flaps land in pre-copy, some
# in a post-copy. The carrier loss alone stalls the streams; with "reset" they are also reset as
# the carrier goes, which fails a pre-copy and splits a post-copy.
function flaps(   i, j, k, gib, off, t, reset, hot) {
	split("1 2 4 8 16 32", sizes, " ")
	split("1 4 8 12 16 20", offs, " ")
	for (i = 1; i in sizes; i++) for (j = 1; j in offs; j++) for (k = 0; k < 2; k++) {
		gib = sizes[i]; off = offs[j]; reset = k
		hot = gib * 384
		t = int(gib * 1024 / 1140 * 10 + 0.5) / 10 + off
		begin(sprintf("flap-%s-%02ds%s", sizename(gib), off, reset ? "-reset" : ""), \
			sprintf("%d GiB guest, %d MiB rewritten at 2000 MiB/s on 10 Gbit/s, post-copy allowed; %d s after the bulk pass errors for 1 s, the carrier lost for 6 s%s, errors for 2 s.", gib, hot, off, reset ? " with the streams reset" : ""), \
			600)
		put(",\n  \"link\": [{\"t_s\": 0, \"mbit\": 10000}, ")
		put(sprintf("{\"t_s\": %.1f, \"errors_per_s\": 50}, ", t))
		put(sprintf("{\"t_s\": %.1f, \"carrier\": false%s}, ", t + 1, reset ? ", \"reset\": true" : ""))
		put(sprintf("{\"t_s\": %.1f, \"errors_per_s\": 20}, {\"t_s\": %.1f}]", t + 7, t + 9))
		put(",\n  \"vms\": [{\"name\": \"app\", " ram(gib) ", \"postcopy_flag\": true, \"allow_postcopy\": true, ")
		put(sprintf("\"dirty\": [{\"t_s\": 0, \"hot_mib\": %d, \"rate_mibps\": 2000}]}]", hot))
		end()
	}
}

# Heavy and bursty tenants: a guest that converges on the free link (an eighth of RAM at random,
# 400 MiB/s) beside tenants that want half or 80 % of the link all the time, or burst to 1000
# MiB/s for 5 or 20 s every 30 or 60 s from a base of 50 MiB/s.
function tenants(   i, j, gib, pat, tn) {
	split("4 16", sizes, " ")
	split("heavy600 heavy950 burst05of30 burst20of30 burst05of60 burst20of60", pats, " ")
	for (i = 1; i in sizes; i++) for (j = 1; j in pats; j++) {
		gib = sizes[i]; pat = pats[j]
		if (pat ~ /^heavy/) {
			tn = substr(pat, 6) + 0
			begin(sprintf("tenant-%s-%s", pat, sizename(gib)), \
				sprintf("%d GiB guest, %d MiB rewritten at random at 400 MiB/s, on 10 Gbit/s beside tenants wanting %d MiB/s all along.", gib, gib * 128, tn), past_budget(900, gib))
			put(",\n" link(10000) ",\n")
			put(sprintf("  \"tenant\": [{\"t_s\": 0, \"mibps\": %d}]", tn))
		} else {
			burst = substr(pat, 6, 2) + 0; every = substr(pat, 10) + 0
			begin(sprintf("tenant-%s-%s", pat, sizename(gib)), \
				sprintf("%d GiB guest, %d MiB rewritten at random at 400 MiB/s, on 10 Gbit/s; tenants at 50 MiB/s burst to 1000 MiB/s for %d s every %d s.", gib, gib * 128, burst, every), past_budget(900, gib))
			put(",\n" link(10000) ",\n")
			put(sprintf("  \"tenant\": {\"repeat_s\": %d, \"steps\": [{\"t_s\": 0, \"mibps\": 50}, ", every))
			put(sprintf("{\"t_s\": 5, \"mibps\": 1000}, {\"t_s\": %d, \"mibps\": 50}]}", 5 + burst))
		}
		put(",\n  \"vms\": [{\"name\": \"web\", " ram(gib) ", ")
		put(sprintf("\"dirty\": [{\"t_s\": 0, \"hot_mib\": %d, \"rate_mibps\": 400, \"pattern\": \"random\"}]}]", gib * 128))
		end()
	}
}

# Unknown link speed (a veth, some bonds): a guest that a low starting cap keeps from converging,
# on an idle 1 or 10 Gbit/s link whose speed the samples report as 0, with or without 50 MiB/s of
# tenants. Raising the cap finishes it within the SLA; nothing else is allowed.
function nospeed(   i, j, k, gib, mbit, ten, hot, rate, cap) {
	split("0.25 4 16", sizes, " ")
	split("96 512 2048", hots, " ")
	split("40 200 400", rates, " ")
	split("20 100 200", caps, " ")
	split("1000 10000", mbits, " ")
	for (i = 1; i in sizes; i++) for (j = 1; j in mbits; j++) for (k = 0; k < 2; k++) {
		gib = sizes[i] + 0; hot = hots[i]; rate = rates[i]; cap = caps[i]; mbit = mbits[j]
		ten = k ? 50 : 0
		begin(sprintf("nospeed-%s-%dg%s", sizename(gib), mbit / 1000, ten ? "-tenant" : ""), \
			sprintf("%s guest, %d MiB rewritten at %d MiB/s, cap %d MiB/s at start, on a %d Mbit/s link of unknown speed%s; SLA 500 ms, nothing else allowed.", gib < 1 ? "256 MiB" : gib " GiB", hot, rate, cap, mbit, ten ? ", 50 MiB/s of tenants" : ""), 600)
		put(sprintf(",\n  \"link\": [{\"t_s\": 0, \"mbit\": %d, \"speed_known\": false}]", mbit))
		if (ten)
			put(",\n  \"tenant\": [{\"t_s\": 0, \"mibps\": 50}]")
		put(",\n  \"vms\": [{\"name\": \"s1\", " ram(gib) sprintf(", \"bandwidth_mibps\": %d, ", cap))
		put(sprintf("\"dirty\": [{\"t_s\": 0, \"hot_mib\": %d, \"rate_mibps\": %d}]}]", hot, rate))
		end()
	}
}

# Doomed: a permanent hot set (half or three quarters of RAM, 1 GiB at least, rewritten at 2 GiB/s
# on 10 Gbit/s: it needs 0.9 s of downtime or more) and nothing allowed beyond a 500 ms downtime:
# no policy finishes it as the owner accepts. The scenario lasts the completion budget and a minute.
function doomed(   i, j, gib, q, hot, budget) {
	split("2 8 32 64", sizes, " ")
	split("2 3", quarters, " ")
	for (i = 1; i in sizes; i++) for (j = 1; j in quarters; j++) {
		gib = sizes[i]; q = quarters[j]; hot = gib * 256 * q
		budget = gib * 150 < 60 ? 60 : gib * 150
		begin(sprintf("doomed-%s-%dof4", sizename(gib), q), \
			sprintf("%d GiB guest rewriting %d MiB at 2 GiB/s for good on 10 Gbit/s; SLA 500 ms, nothing else allowed: nothing finishes it.", gib, hot), budget + 60)
		put(",\n" link(10000) ",\n  \"vms\": [{\"name\": \"olap\", " ram(gib) ", ")
		put(sprintf("\"dirty\": [{\"t_s\": 0, \"hot_mib\": %d, \"rate_mibps\": 2048}]}]", hot))
		end()
	}
}

# Concurrent migrations over one shaped link: easy guests (4 GiB, 64 MiB hot at 10 MiB/s) and hard
# ones (4 GiB, a hot set that needs ~420 ms of downtime on the whole link: more than the 300 ms
# QEMU starts with, within the 500 ms SLA; twice that while the link is shared), the hard ones
# starting with the easy ones or 10 s later.
function concurrent(   i, j, k, mbit, hot, rate, start, ne, nh, v, name) {
	split("1000 10000", mbits, " ")
	split("0 10", starts, " ")
	split("1:1 2:1 2:2", mixes, " ")
	for (i = 1; i in mbits; i++) for (j = 1; j in starts; j++) for (k = 1; k in mixes; k++) {
		mbit = mbits[i]; start = starts[j]
		split(mixes[k], m, ":"); ne = m[1]; nh = m[2]
		hot = mbit == 1000 ? 48 : 480; rate = mbit == 1000 ? 200 : 2000
		begin(sprintf("concurrent-%de%dh-%dg-%02ds", ne, nh, mbit / 1000, start), \
			sprintf("%d easy and %d hard 4 GiB guests over one %d Mbit/s link; the hard ones (%d MiB rewritten at %d MiB/s) start %d s after the easy ones.", ne, nh, mbit, hot, rate, start), 600)
		put(",\n" link(mbit) ",\n  \"vms\": [")
		for (v = 1; v <= ne + nh; v++) {
			name = v <= ne ? sprintf("easy%d", v) : sprintf("hard%d", v - ne)
			put(sprintf("%s\n    {\"name\": \"%s\", \"ram_gib\": 4, ", v > 1 ? "," : "", name))
			if (v <= ne)
				put("\"dirty\": [{\"t_s\": 0, \"hot_mib\": 64, \"rate_mibps\": 10}]}")
			else
				put(sprintf("\"start_s\": %d, \"dirty\": [{\"t_s\": 0, \"hot_mib\": %d, \"rate_mibps\": %d}]}", start, hot, rate))
		}
		put("\n  ]")
		end()
	}
}

BEGIN {
	phases(); flaps(); tenants(); nospeed(); doomed(); concurrent()
	printf "gen-sweeps.sh: %d scenarios in %s\n", n, dir
}'
