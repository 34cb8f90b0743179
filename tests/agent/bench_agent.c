/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-agent: the agent's CPU cost per sample, for 16 outgoing migrations sampled at 2 Hz.
 *
 * Each simulated tick does what the agent's tick does apart from the job-stats RPC itself:
 * one NIC sample (a real netlink RTM_GETLINK of lo) recorded in the ring, then for each of the
 * 16 migrations the conversion of a libvirt typed-parameter list into a sample, the ingest
 * (ring record, status snapshot published through RCU, the adaptive policy in advisory mode),
 * and a heartbeat.  CPU time comes from getrusage over many ticks run back to back.
 *
 * Reported: CPU per sample, the share of one core at 2 Hz x 16 against the 1 % target, and the
 * ratio against a baseline measured in the same run (the bare ring appends of the same records),
 * which shows what the agent adds on top of recording.
 *
 * The job-stats RPC needs a libvirtd: with MIGTUNE_BENCH_URI set (e.g. a lab host's URI, see
 * `tests/lab/lab.sh uri A`), its client-side CPU is measured too, over the running domains of that
 * daemon, and added to the per-sample cost.
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "agent/jobstats.h"
#include "agent/log.h"
#include "agent/nic.h"
#include "agent/tracker.h"
#include "tests/agent/agent_testutil.h"

#define MIGRATIONS 16
#define HZ 2
#define TARGET_CORE_PCT 1.0

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	int ticks = argc > 1 ? atoi(argv[1]) : 4000;
	char ring[64];
	struct ring_create_opts o = { .slot_count = 1u << 16, .domain_slots = 64, .gid = (gid_t)-1 };
	struct tracker_opts to = { 0 };
	struct ring_writer *w;
	struct tracker *t;
	struct tracker_domain *d[MIGRATIONS];
	virTypedParameterPtr params[MIGRATIONS];
	int nparams[MIGRATIONS];
	struct nic_mon *nm;
	int lo = (int)if_nametoindex("lo");
	double c0, c1, c2, agent_s, base_s, per_sample_us, core_pct;
	uint64_t now = ring_now_mono_ns();

	if (virInitialize() < 0)
		return 1;
	log_open(true, LOG_WARNING);
	urcu_memb_register_thread();
	tu_ring_name("bench", ring, sizeof(ring));
	o.name = ring;
	if (ring_writer_open(&o, &w) < 0 || nic_mon_new(&nm) < 0 || nic_track(nm, lo, 0) < 0) {
		fprintf(stderr, "bench-agent: cannot open the ring or netlink\n");
		return 1;
	}
	to.ring = w;
	to.policy = "adaptive";
	if (tracker_new(&to, &t) < 0)
		return 1;
	for (int i = 0; i < MIGRATIONS; i++) {
		uint8_t uuid[16] = { 0xbe, 0x4c, (uint8_t)i };
		char name[32];

		snprintf(name, sizeof(name), "bench-%02d", i);
		d[i] = tracker_begin(t, uuid, name, RING_DIR_OUT, now);
	}

	c0 = cpu_s();
	for (int k = 0; k < ticks; k++) {
		struct nic_stat ns;
		struct ring_nic rn;
		struct tracker_nic_view nv = { .carrier = 1, .capacity_bps = 1250000000 };

		now += 1000000000ULL / HZ;
		if (nic_sample(nm, lo, now, &ns) == 0) {
			nic_to_record(&ns, &rn);
			ring_append_at(w, RING_REC_NIC, RING_NO_DOMAIN, now, &rn, sizeof(rn));
		}
		for (int i = 0; i < MIGRATIONS; i++) {
			struct ring_sample s;
			/* A busy guest: passes every 4.5 s, remaining saw-toothing around 90 MiB. */
			uint64_t rem = 94371840 + (uint64_t)((k + i) % 9) * 1000000;

			/* The parameter list is what virDomainGetJobStats hands back: built fresh
			 * each time, as libvirt does, and freed after use. */
			tu_job_params((uint64_t)k * 500, 1 + (uint32_t)(k / 9), rem, 20400000, 5072, 4934,
				      &params[i], &nparams[i]);
			jobstats_to_sample(VIR_DOMAIN_JOB_UNBOUNDED, params[i], nparams[i], &s);
			virTypedParamsFree(params[i], nparams[i]);
			s.downtime_limit_ms = 300;
			s.nic_tx_kibps = (uint32_t)(ns.tx_bps / 1024);
			tracker_ingest_sample(t, d[i], true, &s, &nv, now);
		}
		ring_heartbeat(w);
		if (k % 64 == 0)
			urcu_memb_barrier();   /* let call_rcu frees run, as over real time */
	}
	c1 = cpu_s();
	/* Baseline: the same number of records appended with nothing else around them. */
	for (int k = 0; k < ticks; k++) {
		struct ring_sample s;

		memset(&s, 0, sizeof(s));
		for (int i = 0; i <= MIGRATIONS; i++) {
			s.iteration = (uint32_t)k;
			ring_append(w, RING_REC_SAMPLE, d[i % MIGRATIONS]->ring_index, &s, sizeof(s));
		}
		ring_heartbeat(w);
	}
	c2 = cpu_s();

	/* Optional: the client-side CPU of one virDomainGetJobStats against a real daemon. */
	double rpc_us = 0;
	const char *uri = getenv("MIGTUNE_BENCH_URI");

	if (uri && *uri) {
		virConnectPtr conn = virConnectOpen(uri);
		virDomainPtr *doms = NULL;
		int nd = conn ? virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE) : -1;

		if (nd <= 0) {
			fprintf(stderr, "bench-agent: %s: no running domain to ask (%s)\n", uri,
				conn ? "none running" : "cannot connect");
		} else {
			int calls = 0;
			double r0 = cpu_s();

			for (int k = 0; k < 2000 / nd + 1; k++)
				for (int i = 0; i < nd; i++) {
					virTypedParameterPtr p = NULL;
					int np = 0, type = 0;

					if (virDomainGetJobStats(doms[i], &type, &p, &np, 0) == 0) {
						virTypedParamsFree(p, np);
						calls++;
					}
				}
			rpc_us = calls ? (cpu_s() - r0) * 1e6 / calls : 0;
			printf("bench-agent: job-stats RPC to %s: %.1f us client CPU per call over %d calls\n",
			       uri, rpc_us, calls);
		}
		for (int i = 0; i < nd; i++)
			virDomainFree(doms[i]);
		free(doms);
		if (conn)
			virConnectClose(conn);
	}

	agent_s = c1 - c0 + rpc_us * 1e-6 * ticks * MIGRATIONS;
	base_s = c2 - c1;
	per_sample_us = agent_s * 1e6 / ((double)ticks * MIGRATIONS);
	/* At 2 Hz x 16 migrations: CPU seconds per second of wall time, as a percentage. */
	core_pct = agent_s / ticks * HZ * 100.0;
	printf("bench-agent: %d ticks x %d migrations: %.2f us CPU per sample (NIC sample, "
	       "parse, ring, RCU snapshot, advisory policy; job-stats RPC %s)\n",
	       ticks, MIGRATIONS, per_sample_us,
	       rpc_us > 0 ? "included" : "excluded: set MIGTUNE_BENCH_URI to include it");
	printf("bench-agent: at %d Hz x %d migrations: %.4f %% of a core; target %.1f %%: "
	       "ratio %.3f (<= 1 meets it)\n", HZ, MIGRATIONS, core_pct, TARGET_CORE_PCT,
	       core_pct / TARGET_CORE_PCT);
	printf("bench-agent: baseline (bare ring appends of the same records): %.3f us per record; "
	       "agent/baseline ratio %.1f\n", base_s * 1e6 / ((double)ticks * (MIGRATIONS + 1)),
	       base_s > 0 ? (c1 - c0) / base_s : 0.0);
	tracker_free(t, NULL);
	nic_mon_free(nm);
	ring_writer_close(w, true);
	urcu_memb_unregister_thread();
	return core_pct / TARGET_CORE_PCT <= 1.0 ? 0 : 1;
}
