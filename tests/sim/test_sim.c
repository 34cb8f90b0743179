/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulator's model (QEMU's completion rule, distinct-page dirty counting, post-copy, suspend,
 * a shared NIC), its agreement with the lab's measurements, the scenario loader's errors, and the
 * adaptive policy end to end on the shipped scenarios.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tools/sim.h"

#ifndef SIM_TESTDIR
#define SIM_TESTDIR "tests/sim"
#endif

#define MIB 1048576.0

static struct sim_result res;

static void load(const char *name, struct sim_scenario *scn)
{
	char path[512], err[512];

	snprintf(path, sizeof(path), "%s/scenarios/%s", SIM_TESTDIR, name);
	if (sim_scenario_load(path, scn, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

static void parse(const char *json, struct sim_scenario *scn)
{
	char err[512];

	if (sim_scenario_parse(json, strlen(json), scn, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

static void run(const struct sim_scenario *scn, const char *policy)
{
	struct policy p;

	assert_int_equal(policy_builtin(policy, &p), 0);
	assert_int_equal(sim_run(scn, &p, NULL, &res), 0);
}

static const struct policy_action *first_of(const struct sim_vm_result *v, uint8_t kind)
{
	for (unsigned i = 0; i < v->nactions; i++)
		if (v->actions[i].kind == kind)
			return &v->actions[i];
	return NULL;
}

static void within(double got, double want, double tolerance)
{
	if (got < want * (1 - tolerance) || got > want * (1 + tolerance))
		fail_msg("%.2f is not within %.0f %% of %.2f", got, tolerance * 100, want);
}

/* ---- the model ----------------------------------------------------------------------------- */

#define ONE_VM(extra, dirty) \
	"{\"name\":\"t\",\"duration_s\":120,\"link\":[{\"t_s\":0,\"mbit\":8000}]," \
	"\"vms\":[{\"ram_mib\":256,\"bandwidth_mibps\":20,\"bandwidth_max_mibps\":20" extra "," \
	"\"dirty\":[" dirty "]}]}"

static void test_idle_converges_quickly(void **state)
{
	static const char *const pols[] = { "none", "rhv-minimal", "rhv-suspend", "rhv-postcopy",
	                                     "rhv-verylarge", "nova", "adaptive" };
	struct sim_scenario scn;

	(void)state;
	load("idle.json", &scn);
	for (size_t i = 0; i < sizeof(pols) / sizeof(pols[0]); i++) {
		run(&scn, pols[i]);
		assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
		assert_true(res.vms[0].total_ms < 10000);
		assert_true(res.vms[0].passes <= 3);
		/* 4 GiB cross once, plus a little */
		within(res.vms[0].bytes_sent / MIB, 4096, 0.02);
	}
}

static void test_never_converges_without_policy(void **state)
{
	struct sim_scenario scn;

	(void)state;
	load("lab-s1.json", &scn);
	run(&scn, "none");
	assert_int_equal(res.vms[0].outcome, SIM_NOT_CONVERGED);
	assert_int_equal(res.vms[0].total_ms, 180000);
	within(res.vms[0].bytes_sent / MIB, 20.0 * 180, 0.01);   /* the link never idles */
	assert_int_equal(res.vms[0].nactions, 0);
}

static void test_completion_rule(void **state)
{
	/* 24 MiB re-dirtied each pass at 20 MiB/s needs ~1.2 s: 1300 ms completes, 500 ms never */
	struct sim_scenario scn;

	(void)state;
	parse(ONE_VM(",\"downtime_limit_ms\":1300",
	             "{\"t_s\":0,\"hot_mib\":24,\"rate_mibps\":40}"), &scn);
	run(&scn, "none");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	assert_true(res.vms[0].downtime_ms <= 1300);
	assert_true(res.vms[0].downtime_ms >= 1000);
	/* the first pass is 12.8 s; completion comes at the sync ending the second pass */
	assert_true(res.vms[0].total_ms < 16000);
	/* 500 ms did not converge S2 in the lab either (Minimal downtime reached it, then aborted) */
	parse(ONE_VM(",\"downtime_limit_ms\":500",
	             "{\"t_s\":0,\"hot_mib\":24,\"rate_mibps\":40}"), &scn);
	run(&scn, "none");
	assert_int_equal(res.vms[0].outcome, SIM_NOT_CONVERGED);
}

struct trace_ctx { uint64_t rate_sum; unsigned n; uint32_t max_it; };

static void trace_cb(void *ctx, unsigned vm, const struct mig_sample *s)
{
	struct trace_ctx *c = ctx;

	(void)vm;
	if (s->iteration > c->max_it)
		c->max_it = s->iteration;
	if (s->iteration >= 4 && s->dirty_pages_per_s) {
		c->rate_sum += s->dirty_pages_per_s * s->page_size;
		c->n++;
	}
}

static void first_sample_cb(void *ctx, unsigned vm, const struct mig_sample *s)
{
	struct mig_sample *first = ctx;

	(void)vm;
	if (first->t_ms == UINT64_MAX)
		*first = *s;
}

static void last_sample_cb(void *ctx, unsigned vm, const struct mig_sample *s)
{
	(void)vm;
	*(struct mig_sample *)ctx = *s;
}

static void test_dirty_rate_counts_distinct_pages(void **state)
{
	/* a 40 MiB/s writer over a 96 MiB hot set reads ~20 MiB/s: distinct pages per sync period */
	struct sim_scenario scn;
	struct trace_ctx c = { 0 };
	struct sim_opts o = SIM_OPTS_INIT;
	struct policy p;

	(void)state;
	o.trace = trace_cb;
	o.trace_ctx = &c;
	load("lab-s1.json", &scn);
	policy_builtin("none", &p);
	assert_int_equal(sim_run(&scn, &p, &o, &res), 0);
	assert_true(c.n > 10);
	within((double)c.rate_sum / c.n / MIB, 20.0, 0.1);
	/*
	 * and the pass count matches the plateau: the bulk pass ends at 6.4 s (1.3 s of set-up,
	 * 102 MiB of written memory at 20 MiB/s, the zero pages in a flash); QEMU syncs again as soon
	 * as the pending size dips under 20 MiB/s x 300 ms = 6 MiB, so each later pass drains 90 of
	 * the 96 MiB: 4.5 s.  (The lab's 60 s untuned run made 13-14 passes, see
	 * test_lab_calibration_runs.)
	 */
	within(c.max_it, 1 + (180 - 6.4) / 4.5, 0.1);
}

/* The scenarios measured by tests/lab/calibrate.sh: passes, time and bytes within 20 %. */
static void test_lab_calibration_runs(void **state)
{
	static const char *const files[] = { "lab-cal-s1-untuned.json", "lab-cal-s1-downtime.json",
	                                     "lab-cal-s2-downtime.json", "lab-cal-s2-cap40.json",
	                                     "lab-cal-idle.json" };
	struct sim_scenario scn;

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const struct sim_ref *ref = NULL;

		load(files[i], &scn);
		for (unsigned k = 0; k < scn.nrefs; k++)
			if (!strcmp(scn.refs[k].policy, "none"))
				ref = &scn.refs[k];
		if (!ref)
			fail_msg("%s: no measured reference for \"none\"", files[i]);
		run(&scn, "none");
		if (strcmp(sim_outcome_name((enum sim_outcome)res.vms[0].outcome), ref->outcome))
			fail_msg("%s: simulated %s, measured %s", files[i],
			         sim_outcome_name((enum sim_outcome)res.vms[0].outcome), ref->outcome);
		within(res.vms[0].passes, ref->passes, 0.2);
		if (res.vms[0].outcome == SIM_COMPLETED)
			within(res.vms[0].total_ms / 1000.0, ref->total_s, 0.2);
		/* a few hundred KiB of headers do not count against an idle guest's one MiB */
		if (ref->bytes_mib >= 10)
			within(res.vms[0].bytes_sent / MIB, ref->bytes_mib, 0.2);
	}
}

/*
 * A cyclic writer as fast as the cap (lab: 24 MiB at 40 MiB/s, cap 40 MiB/s): QEMU syncs every
 * time the pending size dips under its threshold and finds the stretch written meanwhile, so the
 * job never converges by itself (measured: 205-212 passes in 60 s, still running).  Passes are
 * shorter than the policy's sampling; adaptive must still see the plateau and set the downtime.
 */
static void test_short_passes_at_dirty_rate_equal_bandwidth(void **state)
{
	struct sim_scenario scn;
	const struct policy_action *a;

	(void)state;
	load("lab-cal-s2-cap40.json", &scn);
	run(&scn, "none");
	assert_int_equal(res.vms[0].outcome, SIM_NOT_CONVERGED);
	assert_true(res.vms[0].passes > 150);
	run(&scn, "adaptive");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	a = first_of(&res.vms[0], POLICY_ACT_SET_DOWNTIME);
	assert_non_null(a);
	/* 24 MiB at 40 MiB/s needs 600 ms: set once, within the SLA, within seconds */
	assert_true(a && a->value >= 600 && a->value <= (int64_t)res.vms[0].sla_ms);
	assert_true(a && a->t_ms <= 10000);
	/* a random writer's fresh pages fall anywhere: the same rates converge by themselves */
	parse(ONE_VM(",\"downtime_limit_ms\":300",
	             "{\"t_s\":0,\"hot_mib\":24,\"rate_mibps\":40,\"pattern\":\"random\"}"), &scn);
	scn.vms[0].cap_bps = scn.vms[0].limits.bandwidth_max_bps = 40u << 20;
	run(&scn, "none");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
}

static void test_lab_calibration(void **state)
{
	/* field notes, section 10: the sim must stay within 20 % of the lab's wall time and bytes */
	struct sim_scenario scn;

	(void)state;
	load("lab-s1.json", &scn);
	run(&scn, "rhv-minimal");
	assert_int_equal(res.vms[0].outcome, SIM_ABORTED);
	within(res.vms[0].total_ms / 1000.0, 73.4, 0.2);
	within(res.vms[0].bytes_sent / MIB, 1441, 0.2);
	run(&scn, "rhv-suspend");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	within(res.vms[0].total_ms / 1000.0, 74.5, 0.2);
	within(res.vms[0].bytes_sent / MIB, 1546, 0.2);
	run(&scn, "rhv-postcopy");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	within(res.vms[0].total_ms / 1000.0, 43.4, 0.2);
	within(res.vms[0].bytes_sent / MIB, 925, 0.2);
	assert_int_equal(res.vms[0].downtime_ms, 3);
	run(&scn, "nova");
	assert_int_equal(res.vms[0].outcome, SIM_NOT_CONVERGED);
	assert_int_equal(res.vms[0].max_downtime_set_ms, 95);
	/* the lab's lower bound: the needed downtime set before the first pass */
	load("lab-s1-lower-bound.json", &scn);
	run(&scn, "none");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	within(res.vms[0].total_ms / 1000.0, 6.5, 0.2);
	within(res.vms[0].bytes_sent / MIB, 193, 0.2);
	load("lab-s2.json", &scn);
	run(&scn, "rhv-minimal");
	within(res.vms[0].total_ms / 1000.0, 74.3, 0.2);
	within(res.vms[0].bytes_sent / MIB, 1443, 0.2);
	run(&scn, "rhv-suspend");
	within(res.vms[0].total_ms / 1000.0, 74.5, 0.2);
	within(res.vms[0].bytes_sent / MIB, 1469, 0.2);
}

/*
 * rhv-postcopy (bandwidth: link / 2 = 19 MiB/s) switches at 40.1 s and post-copy lasts ~2.5 s on
 * this 320 Mbit/s link; the network fails at 41 s, in the middle of it.
 */
#define PC_SCENARIO(extra, fault) \
	"{\"name\":\"pc\",\"duration_s\":120" extra ",\"link\":[{\"t_s\":0,\"mbit\":320}," fault "]," \
	"\"vms\":[{\"ram_mib\":256,\"postcopy_flag\":true," \
	"\"dirty\":[{\"t_s\":0,\"hot_mib\":96,\"rate_mibps\":40}]}]}"

struct phase_trace { bool seen[8]; };

static void phase_cb(void *ctx, unsigned vm, const struct mig_sample *s)
{
	struct phase_trace *c = ctx;

	(void)vm;
	if (s->phase < 8)
		c->seen[s->phase] = true;
}

static void run_recovery(const struct sim_scenario *scn, const char *policy, int recovery,
                         struct phase_trace *pt)
{
	struct sim_opts o = SIM_OPTS_INIT;
	struct policy p;

	o.postcopy_recovery = recovery;
	o.trace = pt ? phase_cb : NULL;
	o.trace_ctx = pt;
	assert_int_equal(policy_builtin(policy, &p), 0);
	assert_int_equal(sim_run(scn, &p, &o, &res), 0);
}

/* A carrier loss shorter than the stream survives stalls post-copy (field notes 12). */
static void test_postcopy_stall(void **state)
{
	struct sim_scenario scn;
	uint64_t healthy_ms;

	(void)state;
	parse(PC_SCENARIO("", "{\"t_s\":200}"), &scn);
	run(&scn, "rhv-postcopy");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	assert_int_equal(res.vms[0].stall_ms, 0);
	healthy_ms = res.vms[0].total_ms;
	/* 8 s down, as on the lab: TCP retransmits at 6.2 s and 12.6 s after the loss began, so the
	 * stream moves again 12.6 s after it, 4.6 s after the link is back */
	parse(PC_SCENARIO("", "{\"t_s\":41,\"carrier\":false},{\"t_s\":49}"), &scn);
	run_recovery(&scn, "rhv-postcopy", 0, NULL);
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	assert_int_equal(res.vms[0].end, SIM_END_POSTCOPY);
	assert_int_equal(res.vms[0].breaks, 0);
	within(res.vms[0].stall_ms / 1000.0, 12.6, 0.02);
	within((res.vms[0].total_ms - healthy_ms) / 1000.0, 12.6, 0.05);
	assert_true(res.vms[0].sla_held);
}

/* A loss longer than the stream's timeout, or a reset, breaks it: split, lost or recovered. */
static void test_postcopy_break_and_recovery(void **state)
{
	struct sim_scenario scn;
	struct phase_trace pt = { { false } };
	uint64_t healthy_bytes;

	(void)state;
	/* the same 8 s loss with a 5 s stream timeout breaks the stream at 46 s */
	parse(PC_SCENARIO(",\"stream_timeout_s\":5", "{\"t_s\":41,\"carrier\":false},{\"t_s\":49}"),
	      &scn);
	run_recovery(&scn, "rhv-postcopy", 0, NULL);
	assert_int_equal(res.vms[0].outcome, SIM_FAILED);
	assert_int_equal(res.vms[0].end, SIM_END_LOST);
	assert_false(res.vms[0].sla_held);
	assert_int_equal(res.vms[0].total_ms, 46000);
	/* with recovery: broken until the link returns at 49 s, then a reconnect of 2 s */
	run_recovery(&scn, "rhv-postcopy", 1, &pt);
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	assert_int_equal(res.vms[0].end, SIM_END_SPLIT_RECOVERED);
	assert_int_equal(res.vms[0].breaks, 1);
	within(res.vms[0].split_ms / 1000.0, 49 - 46 + 2, 0.05);
	assert_true(pt.seen[MIG_PHASE_POSTCOPY_BROKEN]);
	assert_true(pt.seen[MIG_PHASE_POSTCOPY_RECOVERING]);
	assert_true(res.vms[0].sla_held);
	/* a reset with the link up: split at once, resumed after the reconnect only */
	parse(PC_SCENARIO("", "{\"t_s\":200}"), &scn);
	run(&scn, "rhv-postcopy");
	healthy_bytes = res.vms[0].bytes_sent;
	parse(PC_SCENARIO("", "{\"t_s\":41,\"reset\":true}"), &scn);
	run_recovery(&scn, "rhv-postcopy", 0, NULL);
	assert_int_equal(res.vms[0].end, SIM_END_LOST);
	assert_int_equal(res.vms[0].total_ms, 41000);
	run_recovery(&scn, "rhv-postcopy", 1, NULL);
	assert_int_equal(res.vms[0].end, SIM_END_SPLIT_RECOVERED);
	within(res.vms[0].split_ms / 1000.0, 2.0, 0.06);
	/* the destination sent its received-pages bitmap: 256 MiB / 4 KiB / 8 = 8 KiB more */
	assert_true(res.vms[0].bytes_sent >= healthy_bytes + 8191 &&
	            res.vms[0].bytes_sent <= healthy_bytes + 8193);
	/* the scenario's postcopy_recovery and reconnect_ms, without the option */
	parse(PC_SCENARIO(",\"postcopy_recovery\":true,\"reconnect_ms\":5000",
	                  "{\"t_s\":41,\"reset\":true}"), &scn);
	run(&scn, "rhv-postcopy");
	assert_int_equal(res.vms[0].end, SIM_END_SPLIT_RECOVERED);
	within(res.vms[0].split_ms / 1000.0, 5.0, 0.03);
	/* a reset in pre-copy fails the migration; the guest keeps running on the source */
	parse(PC_SCENARIO("", "{\"t_s\":10,\"reset\":true}"), &scn);
	run_recovery(&scn, "rhv-postcopy", 1, NULL);
	assert_int_equal(res.vms[0].outcome, SIM_INTERRUPTED);
	assert_int_equal(res.vms[0].end, SIM_END_INTERRUPTED);
	assert_int_equal(res.vms[0].total_ms, 10000);
	assert_int_equal(res.vms[0].downtime_ms, 0);
	/* without the flag libvirt refuses post-copy, and VDSM aborts at the next poll */
	parse(PC_SCENARIO("", "{\"t_s\":200}"), &scn);
	scn.vms[0].postcopy_flag = false;
	run(&scn, "rhv-postcopy");
	assert_int_equal(res.vms[0].outcome, SIM_ABORTED);
	assert_int_equal(res.vms[0].end, SIM_END_ABORTED);
	assert_non_null(first_of(&res.vms[0], POLICY_ACT_POSTCOPY));
}

static void test_suspend_finishes_non_live(void **state)
{
	struct sim_scenario scn;
	struct sim_opts o = SIM_OPTS_INIT;
	struct policy p;

	(void)state;
	o.allow_suspend = 1;
	load("lab-s1.json", &scn);
	scn.vms[0].limits.allow_postcopy = false;
	policy_builtin("adaptive", &p);
	assert_int_equal(sim_run(&scn, &p, &o, &res), 0);
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_SUSPENDED);
	/* the guest stops while ~96 MiB cross at 20 MiB/s (the lab measured 4.9 s) */
	within(res.vms[0].downtime_ms / 1000.0, 4.8, 0.25);
}

static void test_shared_nic(void **state)
{
	/* two idle 1 GiB guests, unlimited, on 1 Gbit/s: each gets half, both take ~2x */
	struct sim_scenario one, two;

	(void)state;
	parse("{\"name\":\"one\",\"link\":[{\"t_s\":0,\"mbit\":1000}],"
	      "\"vms\":[{\"ram_gib\":1}]}", &one);
	parse("{\"name\":\"two\",\"link\":[{\"t_s\":0,\"mbit\":1000}],"
	      "\"vms\":[{\"ram_gib\":1},{\"ram_gib\":1}]}", &two);
	run(&one, "none");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	{
		double t1 = res.vms[0].total_ms;

		/* 1 Gbit/s of frames carries 1/1.046 of it as payload; then the switchover */
		within(t1 / 1000.0, 1024 / (125e6 / 1.046 / MIB) + 0.07, 0.02);
		run(&two, "none");
		within(res.vms[0].total_ms, 2 * t1, 0.05);
		within(res.vms[1].total_ms, 2 * t1, 0.05);
	}
	/* tenants take their share too */
	parse("{\"name\":\"ten\",\"link\":[{\"t_s\":0,\"mbit\":1000}],\"tenant\":[{\"t_s\":0,"
	      "\"mibps\":100}],\"vms\":[{\"ram_gib\":1}]}", &one);
	run(&one, "none");
	/* max-min fair: half of 119.2 MiB/s each, the tenants wanted 100 */
	within(res.tenant_sent_bytes * 1.0 / res.tenant_demand_bytes, 125e6 / 2 / MIB / 100, 0.05);
}

/*
 * The stop-and-copy is a flow on the link like the others: two guests switching over at the same
 * moment share it, so each final copy takes twice as long as one alone (before, each took the
 * whole link).  96 MiB hot set at 40 MiB/s, cap 20, 5 s allowed: ~96 MiB to copy at the end.
 */
#define SWITCH_VM "{\"ram_mib\":256,\"zero_percent\":60,\"bandwidth_mibps\":20," \
	"\"bandwidth_max_mibps\":20,\"downtime_limit_ms\":5000,\"sla_max_downtime_ms\":5000," \
	"\"dirty\":[{\"hot_mib\":96,\"rate_mibps\":40}]}"
#define SWITCH_SCN(vms) "{\"name\":\"sw\",\"final_stage_uncapped\":true,\"switchover_ms\":0," \
	"\"link\":[{\"t_s\":0,\"mbit\":1000}],\"vms\":[" vms "]}"

struct nic_trace { uint64_t cap, max_tx; unsigned n, over; double ratio_sum; unsigned nratio; };

static void nic_cb(void *ctx, unsigned vm, const struct mig_sample *s)
{
	struct nic_trace *c = ctx;

	(void)vm;
	c->n++;
	if (s->nic_tx_bps > c->max_tx)
		c->max_tx = s->nic_tx_bps;
	if (c->cap && s->nic_tx_bps > c->cap * 1001 / 1000)
		c->over++;
	/* steady pre-copy samples: the NIC over its window against QEMU's rate */
	if (s->iteration == 1 && s->t_ms >= 2000 && s->nic_mig_tx_bps && s->nic_tx_bps) {
		c->ratio_sum += (double)s->nic_tx_bps / (double)s->nic_mig_tx_bps;
		c->nratio++;
	}
}

static void test_stopcopy_shares_link(void **state)
{
	struct sim_scenario one, two;
	struct nic_trace c = { .cap = 125000000 };
	struct sim_opts o = SIM_OPTS_INIT;
	struct policy p;
	uint64_t alone;

	(void)state;
	parse(SWITCH_SCN(SWITCH_VM), &one);
	parse(SWITCH_SCN(SWITCH_VM "," SWITCH_VM), &two);
	run(&one, "none");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	alone = res.vms[0].downtime_ms;
	/* ~96 MiB at 1 Gbit/s less the overhead: 0.84 s */
	within(alone / 1000.0, 96 / (125e6 / 1.046 / MIB), 0.15);
	o.trace = nic_cb;
	o.trace_ctx = &c;
	policy_builtin("none", &p);
	assert_int_equal(sim_run(&two, &p, &o, &res), 0);
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	assert_int_equal(res.vms[1].outcome, SIM_COMPLETED);
	within((double)res.vms[0].downtime_ms, 2.0 * alone, 0.15);
	within((double)res.vms[1].downtime_ms, 2.0 * alone, 0.15);
	/* and the NIC never carried more than its capacity */
	assert_true(c.n > 10);
	assert_int_equal(c.over, 0);
}

/* A fixed cost comes with every switchover: guest stopped and job time, on top of the copy. */
static void test_switchover_cost(void **state)
{
	struct sim_scenario scn;
	uint64_t d0, t0;

	(void)state;
	parse("{\"name\":\"sw0\",\"switchover_ms\":0,\"link\":[{\"t_s\":0,\"mbit\":10000}],"
	      "\"vms\":[{\"ram_mib\":256,\"zero_percent\":99}]}", &scn);
	run(&scn, "none");
	d0 = res.vms[0].downtime_ms;
	t0 = res.vms[0].total_ms;
	assert_true(d0 < 10);
	scn.switchover_ms = 250;
	run(&scn, "none");
	assert_int_equal(res.vms[0].downtime_ms, d0 + 250);
	assert_int_equal(res.vms[0].total_ms, t0 + 250);
	/* the default is the lab's: 70 ms over the copy */
	parse("{\"name\":\"swd\",\"link\":[{\"t_s\":0,\"mbit\":10000}],"
	      "\"vms\":[{\"ram_mib\":256,\"zero_percent\":99}]}", &scn);
	assert_int_equal(scn.switchover_ms, 70);
	run(&scn, "none");
	assert_int_equal(res.vms[0].downtime_ms, d0 + 70);
	/* it can break an SLA that the copy alone keeps: 300 ms SLA, 250 ms copy + 70 */
	parse(ONE_VM(",\"downtime_limit_ms\":300,\"sla_max_downtime_ms\":300",
	             "{\"t_s\":0,\"hot_mib\":4,\"rate_mibps\":40}"), &scn);
	scn.final_uncapped = false;
	run(&scn, "none");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	if (res.vms[0].downtime_ms > 300)
		assert_false(res.vms[0].sla_held);
	else
		assert_true(res.vms[0].sla_held);
	assert_true(res.vms[0].downtime_ms >= 70);
}

/*
 * The NIC's counters are read on the agent's clock over their own window and count frames: on a
 * link nobody else uses they read a few percent over QEMU's rate, the "tenants" an agent sees
 * on an idle host.  The first read has no rate yet.  A link of unknown speed says 0.
 */
static void test_nic_overhead_and_window(void **state)
{
	struct sim_scenario scn;
	struct nic_trace c = { 0 };
	struct sim_opts o = SIM_OPTS_INIT;
	struct policy p;
	struct mig_sample first;
	uint64_t t_known;

	(void)state;
	o.trace = nic_cb;
	o.trace_ctx = &c;
	policy_builtin("none", &p);
	parse("{\"name\":\"n\",\"link\":[{\"t_s\":0,\"mbit\":1000}],"
	      "\"vms\":[{\"ram_gib\":4}]}", &scn);
	assert_int_equal(sim_run(&scn, &p, &o, &res), 0);
	assert_true(c.nratio > 10);
	within(c.ratio_sum / c.nratio, 1.046, 0.005);
	t_known = res.vms[0].total_ms;
	memset(&c, 0, sizeof(c));
	scn.nic_overhead_permille = 0;
	assert_int_equal(sim_run(&scn, &p, &o, &res), 0);
	within(c.ratio_sum / c.nratio, 1.0, 0.002);
	/* the first sample: the NIC has no rate yet (0 = unknown), its speed is known */
	o.trace = first_sample_cb;
	o.trace_ctx = &first;
	memset(&first, 0xff, sizeof(first));
	assert_int_equal(sim_run(&scn, &p, &o, &res), 0);
	assert_int_equal(first.nic_tx_bps, 0);
	assert_int_equal(first.nic_capacity_bps, 125000000);
	/* a veth's speed: unknown to the samples, the link still as fast */
	parse("{\"name\":\"n\",\"link\":[{\"t_s\":0,\"mbit\":1000,\"speed_known\":false}],"
	      "\"vms\":[{\"ram_gib\":4}]}", &scn);
	memset(&first, 0xff, sizeof(first));
	assert_int_equal(sim_run(&scn, &p, &o, &res), 0);
	assert_int_equal(first.nic_capacity_bps, 0);
	assert_int_equal(res.vms[0].total_ms, t_known);
	/* RHV's schedules split the link speed only when they know it */
	run(&scn, "rhv-minimal");
	assert_null(first_of(&res.vms[0], POLICY_ACT_SET_BANDWIDTH));
}

/*
 * libvirt takes the bandwidth in whole MiB/s and 0 means unlimited: the actuator rounds up, so
 * a trickle is at least 1 MiB/s and the migration keeps passing.  RHV sets the link speed over its
 * maxMigrations: 10 Mbit/s / 2 = 610 KiB/s, applied as 1 MiB/s.
 */
static void test_bandwidth_rounds_up_to_mib(void **state)
{
	struct sim_scenario scn;
	struct sim_opts o = SIM_OPTS_INIT;
	struct policy p;
	struct mig_sample last;
	const struct policy_action *a;

	(void)state;
	parse("{\"name\":\"trickle\",\"duration_s\":60,\"link\":[{\"t_s\":0,\"mbit\":10}],"
	      "\"vms\":[{\"ram_mib\":256,\"dirty\":[{\"hot_mib\":96,\"rate_mibps\":40}]}]}", &scn);
	o.trace = last_sample_cb;
	o.trace_ctx = &last;
	policy_builtin("rhv-minimal", &p);
	assert_int_equal(sim_run(&scn, &p, &o, &res), 0);
	a = first_of(&res.vms[0], POLICY_ACT_SET_BANDWIDTH);
	assert_true(a && a->value == 625000);
	assert_int_equal(last.bandwidth_limit_bps, 1u << 20);
	/* it moves at 1 MiB/s, not 0.6 */
	within(last.memory_bps / MIB, 1.0, 0.02);
}

/* Timelines repeat: every repeat_s from their first step, until until_s. */
static void test_repeat(void **state)
{
	static const struct { double t; int idx; } at[] = {
		{ 0, 0 }, { 9.9, 0 }, { 10, 1 }, { 19.9, 1 }, { 20, 0 }, { 35, 1 }, { 59.9, 1 },
		{ 60, 0 }, { 75, 0 }, { 500, 0 },
	};
	struct sim_scenario scn;
	uint64_t occ1, occ2;

	(void)state;
	parse("{\"name\":\"rep\",\"duration_s\":100,\"link\":[{\"t_s\":0,\"mbit\":1000}],"
	      "\"tenant\":{\"repeat_s\":20,\"until_s\":60,\"steps\":[{\"t_s\":0,\"mibps\":0},"
	      "{\"t_s\":10,\"mibps\":500}]},"
	      "\"vms\":[{\"ram_gib\":64,\"dirty\":[{\"hot_gib\":32,\"rate_mibps\":4000}]}]}", &scn);
	assert_int_equal(scn.tenant_repeat.every_ms, 20000);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		int idx = sim_timeline_at(scn.tenant, sizeof(scn.tenant[0]), scn.ntenant,
		                          &scn.tenant_repeat, (uint64_t)(at[i].t * 1000), NULL);

		if (idx != at[i].idx)
			fail_msg("t=%.1f s: step %d, wanted %d", at[i].t, idx, at[i].idx);
	}
	/* each repetition of a step is a new occurrence (a reset repeats with its step) */
	sim_timeline_at(scn.tenant, sizeof(scn.tenant[0]), scn.ntenant, &scn.tenant_repeat, 12000,
	                &occ1);
	sim_timeline_at(scn.tenant, sizeof(scn.tenant[0]), scn.ntenant, &scn.tenant_repeat, 32000,
	                &occ2);
	assert_true(occ1 != occ2);
	/* three bursts of 10 s at 500 MiB/s, then quiet: 15000 MiB wanted over the 100 s */
	run(&scn, "none");
	assert_int_equal(res.vms[0].outcome, SIM_NOT_CONVERGED);
	within(res.tenant_demand_bytes / MIB, 15000, 0.001);
	/* a guest's dirtying repeats from its own start: a 5 s burst every 20 s converges in the
	 * quiet 15 s; the same burst without the repeat converges once it is over, later */
	parse("{\"name\":\"d\",\"duration_s\":300,\"link\":[{\"t_s\":0,\"mbit\":1000}],"
	      "\"vms\":[{\"ram_gib\":1,\"dirty\":{\"repeat_s\":20,\"steps\":[{\"t_s\":0,"
	      "\"hot_mib\":512,\"rate_mibps\":400},{\"t_s\":5,\"hot_mib\":4,\"rate_mibps\":1}]}}]}",
	      &scn);
	assert_int_equal(scn.vms[0].dirty_repeat.every_ms, 20000);
	assert_int_equal(sim_timeline_at(scn.vms[0].phases, sizeof(scn.vms[0].phases[0]),
	                                 scn.vms[0].nphases, &scn.vms[0].dirty_repeat, 21000, NULL), 0);
	run(&scn, "none");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
}

/* Sixteen guests share one link: each gets a sixteenth, all finish together. */
static void test_sixteen_vms(void **state)
{
	char json[4096];
	size_t off;
	struct sim_scenario scn;
	double alone;

	(void)state;
	parse("{\"name\":\"one\",\"switchover_ms\":0,\"link\":[{\"t_s\":0,\"mbit\":10000}],"
	      "\"vms\":[{\"ram_mib\":512}]}", &scn);
	run(&scn, "none");
	alone = (double)res.vms[0].total_ms;
	off = (size_t)snprintf(json, sizeof(json), "{\"name\":\"sixteen\",\"switchover_ms\":0,"
	                       "\"link\":[{\"t_s\":0,\"mbit\":10000}],\"vms\":[");
	for (int i = 0; i < SIM_MAX_VMS; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off, "%s{\"name\":\"g%d\","
		                        "\"ram_mib\":512}", i ? "," : "", i);
	snprintf(json + off, sizeof(json) - off, "]}");
	parse(json, &scn);
	assert_int_equal(scn.nvms, 16);
	run(&scn, "none");
	assert_int_equal(res.nvms, 16);
	for (unsigned i = 0; i < res.nvms; i++) {
		assert_int_equal(res.vms[i].outcome, SIM_COMPLETED);
		within((double)res.vms[i].total_ms, 16 * alone, 0.05);
	}
	assert_string_equal(res.vms[15].name, "g15");
}

/* Every run says how the migration ended, whether the SLA held, and the verdict. */
static void test_outputs(void **state)
{
	struct sim_scenario scn;
	json_object *jo, *vm, *val;
	char buf[8192];
	FILE *f;
	uint64_t verdict_ms = 0;

	(void)state;
	load("nothing-allowed.json", &scn);
	run(&scn, "adaptive");
	/* adaptive names its verdict (nothing permitted finishes), parks, and aborts when the
	 * budget is spent */
	assert_int_equal(res.vms[0].outcome, SIM_ABORTED);
	assert_int_equal(res.vms[0].end, SIM_END_PARKED_ABORTED);
	assert_true(res.vms[0].sla_held);
	assert_true(res.vms[0].have_verdict);
	assert_false(res.vms[0].verdict_inferred);
	for (unsigned i = 0; i < res.vms[0].nactions && !verdict_ms; i++)
		if (res.vms[0].actions[i].reason == REASON_PARK)
			verdict_ms = res.vms[0].actions[i].t_ms;
	assert_int_equal(res.vms[0].verdict_ms, verdict_ms);
	assert_true(res.vms[0].bytes_after_verdict > 0 &&
	            res.vms[0].bytes_after_verdict < res.vms[0].bytes_sent);
	f = fmemopen(buf, sizeof(buf), "w");
	assert_non_null(f);
	sim_print_text(&scn, &res, false, f);
	fclose(f);
	assert_non_null(strstr(buf, "SLA held"));
	assert_non_null(strstr(buf, "verdict at"));
	jo = sim_result_json(&scn, &res);
	vm = json_object_array_get_idx(json_object_object_get(jo, "vms"), 0);
	assert_true(json_object_object_get_ex(vm, "end", &val));
	assert_string_equal(json_object_get_string(val), "parked-then-aborted");
	assert_true(json_object_object_get_ex(vm, "sla_held", &val));
	assert_true(json_object_get_boolean(val));
	assert_true(json_object_object_get_ex(vm, "verdict_ms", &val));
	assert_int_equal(json_object_get_int64(val), (int64_t)verdict_ms);
	assert_true(json_object_object_get_ex(vm, "bytes_after_verdict", &val));
	assert_int_equal(json_object_get_int64(val), (int64_t)res.vms[0].bytes_after_verdict);
	json_object_put(jo);
	/* a pre-copy over its SLA says so */
	load("sla-strict.json", &scn);
	run(&scn, "rhv-verylarge");
	if (res.vms[0].outcome == SIM_COMPLETED && res.vms[0].downtime_ms > res.vms[0].sla_ms)
		assert_false(res.vms[0].sla_held);
	f = fmemopen(buf, sizeof(buf), "w");
	sim_print_text(&scn, &res, false, f);
	fclose(f);
	assert_non_null(strstr(buf, res.vms[0].sla_held ? "SLA held" : "SLA MISSED"));
}

/* ---- adaptive end to end ----------------------------------------------------------------- */

static void test_adaptive_lab_acts_within_two_passes(void **state)
{
	/* lab S1 with an SLA that allows the needed ~4.8 s: the plateau is clear at pass 3 */
	struct sim_scenario scn;
	const struct policy_action *a;
	struct trace_ctx c = { 0 };

	(void)state;
	(void)c;
	load("lab-s1-generous-sla.json", &scn);
	run(&scn, "adaptive");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	a = first_of(&res.vms[0], POLICY_ACT_SET_DOWNTIME);
	assert_non_null(a);
	/* pass 3 starts at 12.8 + 4.8 s; two more passes end at 27.2 s */
	assert_true(a && a->t_ms <= 27200);
	assert_true(res.vms[0].downtime_ms <= res.vms[0].sla_ms);
	/* the measured lower bound (needed downtime set at once) is 6.5 s; RHV took 74.5 s */
	assert_true(res.vms[0].total_ms < 30000);
}

/*
 * The carrier drops 1 s after the bulk pass, with nothing before to warn of it: post-copy, taken
 * on a link healthy for twice what the copy needs, stalls through the cut (the stream survives a
 * 6 s loss) and completes.  The same errors a few seconds earlier, before the decision, keep it
 * off until the link has been healthy again for longer than before.
 */
static void test_adaptive_waits_out_carrier_flap(void **state)
{
	struct sim_scenario scn;
	const struct policy_action *pc;

	(void)state;
	load("carrier-flap.json", &scn);
	run(&scn, "adaptive");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	assert_int_equal(res.vms[0].end, SIM_END_POSTCOPY);
	pc = first_of(&res.vms[0], POLICY_ACT_POSTCOPY);
	assert_non_null(pc);

	/* errors from 3 s to 16 s, the carrier lost from 8 s to 14 s, on a host that cannot resume
	 * a broken post-copy: no post-copy while the link misbehaves, nor until it has been
	 * healthy for 2 x 2.8 s x 2 (one fault episode) */
	scn.link[1].t_ms = 3000;
	scn.vms[0].limits.postcopy_recovery = false;
	run(&scn, "adaptive");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	pc = first_of(&res.vms[0], POLICY_ACT_POSTCOPY);
	assert_true(pc && pc->t_ms >= 16000 + 2 * 2 * 2700);
	/* one that can: a fault costs time, not the guest; 3 s of health after the errors do */
	scn.vms[0].limits.postcopy_recovery = true;
	run(&scn, "adaptive");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	pc = first_of(&res.vms[0], POLICY_ACT_POSTCOPY);
	assert_true(pc && pc->t_ms >= 16000 + 3000 && pc->t_ms < 16000 + 2 * 2 * 2700);
}

static void run_opts(const struct sim_scenario *scn, const char *policy, bool no_prior)
{
	struct sim_opts o = SIM_OPTS_INIT;
	struct policy p;

	o.no_prior = no_prior;
	assert_int_equal(policy_builtin(policy, &p), 0);
	assert_int_equal(sim_run(scn, &p, &o, &res), 0);
}

/* The scenario loader fills mig_limits: the prior dirty rate measured over the first phase as
 * QEMU's page sampling would, and the domain's choices. */
static void test_vm_limits_loaded(void **state)
{
	struct sim_scenario scn;

	(void)state;
	parse(ONE_VM("", "{\"hot_mib\":96,\"rate_mibps\":40}"), &scn);
	assert_int_equal(scn.vms[0].limits.prior_dirty_bps, (uint64_t)(40 * MIB));
	assert_int_equal(scn.vms[0].limits.prior_dirty_period_ms, 1000);
	assert_int_equal(scn.vms[0].limits.prior_dirty_age_ms, 30000);
	/* a cyclic writer covers at most its hot set in the second */
	parse(ONE_VM("", "{\"hot_mib\":16,\"rate_mibps\":40}"), &scn);
	assert_int_equal(scn.vms[0].limits.prior_dirty_bps, (uint64_t)(16 * MIB));
	/* a random one covers hot x (1 - e^(-written/hot)) */
	parse(ONE_VM("", "{\"hot_mib\":40,\"rate_mibps\":40,\"pattern\":\"random\"}"), &scn);
	within(scn.vms[0].limits.prior_dirty_bps / MIB, 40 * (1 - 0.36788), 0.01);
	/* idle at the start (the first phase begins later): nothing measured */
	parse(ONE_VM("", "{\"t_s\":5,\"hot_mib\":96,\"rate_mibps\":40}"), &scn);
	assert_int_equal(scn.vms[0].limits.prior_dirty_bps, 0);
	/* given explicitly, and its age */
	parse(ONE_VM(",\"prior_dirty_mibps\":7,\"prior_dirty_age_s\":600",
	             "{\"hot_mib\":96,\"rate_mibps\":40}"), &scn);
	assert_int_equal(scn.vms[0].limits.prior_dirty_bps, (uint64_t)(7 * MIB));
	assert_int_equal(scn.vms[0].limits.prior_dirty_age_ms, 600000);
	/* the limits the agent fills from the domain and from what it learned */
	assert_int_equal(scn.vms[0].limits.downtime_overshoot_permille, 0);
	assert_int_equal(scn.vms[0].limits.on_hopeless, MIG_ON_HOPELESS_PARK);
	assert_true(scn.vms[0].limits.allow_abort);
	parse(ONE_VM(",\"downtime_overshoot_ratio\":1.17,\"on_hopeless\":\"abort\","
	             "\"allow_abort\":false,\"postcopy_recovery\":true,\"budget_min_s\":90",
	             "{\"hot_mib\":96,\"rate_mibps\":40}"), &scn);
	assert_int_equal(scn.vms[0].limits.downtime_overshoot_permille, 1170);
	assert_int_equal(scn.vms[0].limits.on_hopeless, MIG_ON_HOPELESS_ABORT);
	assert_false(scn.vms[0].limits.allow_abort);
	assert_true(scn.vms[0].limits.postcopy_recovery);
	assert_int_equal(scn.vms[0].limits.budget_min_s, 90);
}

/*
 * With the dirty rate measured before the job, a plateau is called at the end of the bulk pass:
 * one whole pass (the hot set) earlier than on the evidence of two passes.  Without it, stale,
 * or contradicted by the bulk pass, the policy decides as before.
 */
static void test_adaptive_prior_decides_after_bulk_pass(void **state)
{
	struct sim_scenario scn;
	const struct policy_action *pc;
	uint64_t with_ms, with_bytes, without_ms, without_bytes;

	(void)state;
	load("large-hotset-postcopy.json", &scn);
	/* the decision on its own: no frames over the payload, which this adaptive reads as tenants
	 * (the benchmark shows what that costs) */
	scn.nic_overhead_permille = 0;
	run_opts(&scn, "adaptive", false);
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	pc = first_of(&res.vms[0], POLICY_ACT_POSTCOPY);
	assert_non_null(pc);
	/* 16 GiB at 1192 MiB/s: the bulk pass ends at 13.7 s; decided on its first sample */
	assert_true(pc && pc->t_ms >= 13000 && pc->t_ms <= 14200);
	pc = first_of(&res.vms[0], POLICY_ACT_SET_DOWNTIME);
	if (!pc)
		fail_msg("no downtime set");
	assert_non_null(strstr(pc->text, "prior dirty rate"));
	with_ms = res.vms[0].total_ms;
	with_bytes = res.vms[0].bytes_sent;
	/* RAM plus the hot set, once each */
	within(with_bytes / MIB, 16384 + 8192, 0.02);

	run_opts(&scn, "adaptive", true);
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	pc = first_of(&res.vms[0], POLICY_ACT_POSTCOPY);
	assert_true(pc && pc->t_ms > 14200);
	without_ms = res.vms[0].total_ms;
	without_bytes = res.vms[0].bytes_sent;
	assert_true(with_ms + 5000 < without_ms);
	assert_true(with_bytes + (uint64_t)(6000 * MIB) < without_bytes);

	/* measured too long ago: not used */
	scn.vms[0].limits.prior_dirty_age_ms = 600000;
	run_opts(&scn, "adaptive", false);
	assert_int_equal(res.vms[0].total_ms, without_ms);

	/* a guest that dirtied far less during the bulk pass than the measurement says changed
	 * its workload since: the measurement is not trusted */
	load("moderate.json", &scn);
	run_opts(&scn, "adaptive", true);
	without_ms = res.vms[0].total_ms;
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	scn.vms[0].limits.prior_dirty_bps = (uint64_t)(100000 * MIB);
	run_opts(&scn, "adaptive", false);
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	assert_int_equal(res.vms[0].total_ms, without_ms);
	assert_null(first_of(&res.vms[0], POLICY_ACT_POSTCOPY));
}

/* Post-copy without recovery bets the guest on the network: not before it has been seen healthy
 * for twice what the copy takes. */
static void test_adaptive_postcopy_watches_network(void **state)
{
	struct sim_scenario scn;
	const struct policy_action *pc, *hold = NULL;

	(void)state;
	load("lab-s1.json", &scn);
	scn.vms[0].limits.postcopy_recovery = false;
	run(&scn, "adaptive");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	pc = first_of(&res.vms[0], POLICY_ACT_POSTCOPY);
	/* without recovery: healthy for twice what copying the 95 MiB dirty set at 20 MiB/s
	 * takes */
	assert_true(pc && pc->t_ms >= 9000);
	for (unsigned i = 0; i < res.vms[0].nactions; i++)
		if (res.vms[0].actions[i].kind == POLICY_ACT_HOLD) {
			assert_null(hold);        /* one record per wait, not one per sample */
			hold = &res.vms[0].actions[i];
		}
	if (!hold || !pc)
		fail_msg("no hold before post-copy");
	assert_int_equal(hold->reason, REASON_POSTCOPY_UNSAFE);
	assert_true(hold->t_ms < pc->t_ms);
}

static void test_adaptive_no_escalation_on_drop(void **state)
{
	struct sim_scenario scn;

	(void)state;
	load("bw-drop.json", &scn);
	run(&scn, "adaptive");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	assert_null(first_of(&res.vms[0], POLICY_ACT_POSTCOPY));
	assert_null(first_of(&res.vms[0], POLICY_ACT_ABORT));
	/* meanwhile VDSM's iteration counting does escalate on the same drop */
	run(&scn, "rhv-postcopy");
	assert_non_null(first_of(&res.vms[0], POLICY_ACT_POSTCOPY));
}

static void test_adaptive_keeps_tenants_whole(void **state)
{
	struct sim_scenario scn;
	double adaptive, rhv;

	(void)state;
	load("tenant-burst.json", &scn);
	run(&scn, "adaptive");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED);
	assert_null(first_of(&res.vms[0], POLICY_ACT_ABORT));
	adaptive = (double)res.tenant_sent_bytes / res.tenant_demand_bytes;
	run(&scn, "rhv-verylarge");
	rhv = (double)res.tenant_sent_bytes / res.tenant_demand_bytes;
	assert_true(adaptive >= 0.9);
	assert_true(adaptive > rhv);
}

/*
 * Every scenario in tests/sim/scenarios (the hand-written ones and the generated sweeps) loads and
 * runs with every benchmark policy, and every result keeps the model's invariants.  Whether
 * adaptive finishes where others do, and within the SLA, is measured by the benchmark (its
 * targets); here only that it loses no guest on the hand-written scenarios, where post-copy's
 * network watch has been seen to keep it out of every flap.
 */
static void check_invariants(const struct sim_scenario *scn, const char *policy)
{
	if (res.tenant_sent_bytes > res.tenant_demand_bytes)
		fail_msg("%s/%s: tenants sent more than they wanted", scn->name, policy);
	for (unsigned i = 0; i < res.nvms; i++) {
		const struct sim_vm_result *v = &res.vms[i];
		const struct sim_vm *c = &scn->vms[i];
		double written = (double)(c->ram_bytes - c->zero_bytes);

		if (v->outcome == SIM_RUNNING || v->end == SIM_END_NONE)
			fail_msg("%s/%s/%s: no outcome", scn->name, policy, v->name);
		if (v->total_ms > scn->duration_ms + scn->switchover_ms + SIM_TICK_MS)
			fail_msg("%s/%s/%s: %llu ms after a %llu ms scenario", scn->name, policy, v->name,
			         (unsigned long long)v->total_ms, (unsigned long long)scn->duration_ms);
		if (sim_outcome_completed((enum sim_outcome)v->outcome) && v->bytes_sent < written)
			fail_msg("%s/%s/%s: completed after sending %.0f of %.0f MiB written", scn->name,
			         policy, v->name, v->bytes_sent / MIB, written / MIB);
		if (v->outcome == SIM_COMPLETED_POSTCOPY && !c->postcopy_flag)
			fail_msg("%s/%s/%s: post-copy without the flag", scn->name, policy, v->name);
		if (v->sla_held != (v->outcome != SIM_FAILED && v->downtime_ms <= v->sla_ms))
			fail_msg("%s/%s/%s: SLA flag does not match the downtime", scn->name, policy,
			         v->name);
		if ((v->end == SIM_END_LOST) != (v->outcome == SIM_FAILED) ||
		    (v->end == SIM_END_SPLIT_RECOVERED && !v->breaks))
			fail_msg("%s/%s/%s: end %s for outcome %s", scn->name, policy, v->name,
			         sim_end_name((enum sim_end)v->end),
			         sim_outcome_name((enum sim_outcome)v->outcome));
		if (v->have_verdict && v->bytes_after_verdict > v->bytes_sent)
			fail_msg("%s/%s/%s: more sent after the verdict than in all", scn->name, policy,
			         v->name);
	}
}

static void test_every_scenario(void **state)
{
	char dir[512];
	struct dirent *de;
	DIR *d;
	unsigned count = 0, sweeps = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/scenarios", SIM_TESTDIR);
	d = opendir(dir);
	assert_non_null(d);
	while (d && (de = readdir(d))) {
		struct sim_scenario scn;
		size_t len = strlen(de->d_name);
		bool sweep = !strncmp(de->d_name, "sweep-", 6);

		if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		load(de->d_name, &scn);
		count++;
		sweeps += sweep;
		for (size_t k = 0; k < SIM_BENCH_NPOLICIES; k++) {
			run(&scn, sim_bench_policies[k]);
			check_invariants(&scn, sim_bench_policies[k]);
		}
		/* adaptive (run last) */
		for (unsigned i = 0; i < res.nvms && !sweep; i++)
			if (res.vms[i].outcome == SIM_FAILED)
				fail_msg("%s: adaptive lost the guest", scn.name);
	}
	if (d)
		closedir(d);
	assert_true(count >= 20);
	assert_true(sweeps >= 100);
}

/* The committed sweeps are what tests/sim/gen-sweeps.sh writes (run `make sim-sweeps`). */
static void test_sweeps_are_generated(void **state)
{
	char tmp[] = "/tmp/migsim-sweeps-XXXXXX", cmd[1200], dir[512];
	struct dirent *de;
	unsigned generated = 0, committed = 0;
	DIR *d;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	snprintf(cmd, sizeof(cmd), "sh '%s/gen-sweeps.sh' '%s' >/dev/null", SIM_TESTDIR, tmp);
	if (system(cmd) != 0)
		fail_msg("%s failed (sh and awk are needed)", cmd);
	d = opendir(tmp);
	assert_non_null(d);
	while (d && (de = readdir(d))) {
		char a[1024], b[1024], err[512];
		char *want = NULL, *got = NULL;
		size_t nw = 0, ng = 0;

		if (de->d_name[0] == '.')
			continue;
		generated++;
		snprintf(a, sizeof(a), "%s/%s", tmp, de->d_name);
		snprintf(b, sizeof(b), "%s/scenarios/%s", SIM_TESTDIR, de->d_name);
		assert_int_equal(sim_read_file(a, 1u << 20, &want, &nw, err, sizeof(err)), 0);
		if (sim_read_file(b, 1u << 20, &got, &ng, err, sizeof(err)) < 0 || nw != ng ||
		    memcmp(want, got, nw))
			fail_msg("%s differs from what gen-sweeps.sh writes: run make sim-sweeps", b);
		free(want);
		free(got);
		unlink(a);
	}
	if (d)
		closedir(d);
	rmdir(tmp);
	snprintf(dir, sizeof(dir), "%s/scenarios", SIM_TESTDIR);
	d = opendir(dir);
	while (d && (de = readdir(d)))
		committed += !strncmp(de->d_name, "sweep-", 6);
	if (d)
		closedir(d);
	/* no sweep left over from an older generator */
	assert_int_equal(committed, generated);
	assert_true(generated >= 100);
}

/* ---- the scenario loader ------------------------------------------------------------------- */

#define VM4 "{\"ram_mib\":1},{\"ram_mib\":1},{\"ram_mib\":1},{\"ram_mib\":1}"
#define VM17 VM4 "," VM4 "," VM4 "," VM4 ",{\"ram_mib\":1}"

static void test_scenario_errors(void **state)
{
	static const struct { const char *json, *needle; } cases[] = {
		{ "", "JSON ends early" },
		{ "{\"name\":\"x\"", "JSON ends early" },
		{ "[]", "expected a JSON object" },
		{ "{\"nmae\":\"x\"}", "unknown key \"nmae\"" },
		{ "{\"vms\":[{\"ram_mib\":1}]}", "link: missing" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}]}", "vms: missing or empty" },
		{ "{\"link\":[{\"t_s\":0}],\"vms\":[{\"ram_mib\":1}]}", "link[0]: mbit: missing" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":\"fast\"}],\"vms\":[{\"ram_mib\":1}]}",
		  "link[0]: mbit: expected a number" },
		{ "{\"link\":[{\"t_s\":5,\"mbit\":1},{\"t_s\":1}],\"vms\":[{\"ram_mib\":1}]}",
		  "link[1]: t_s goes backwards" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{}]}", "vms[0]: give exactly one of" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{\"ram_mib\":1,\"ram_gib\":1}]}",
		  "give exactly one of" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{\"ram_mib\":64,\"dirty\":[{\"hot_mib\":65}]}]}",
		  "vms[0].dirty[0]: hot set (65 MiB) is larger than the guest's RAM" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{\"ram_mib\":64,\"dirty\":[{\"pattern\":\"zigzag\"}]}]}",
		  "pattern: \"zigzag\" is neither" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{\"ram_mib\":64,\"reserve_percent\":95}]}",
		  "reserve_percent: 95 is out of range" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{\"ram_mib\":64,\"allow_suspend\":1}]}",
		  "allow_suspend: expected true or false" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[" VM17 "]}", "vms: 17 entries, at most 16" },
		{ "{\"link\":{\"repeat_s\":10,\"steps\":[{\"t_s\":0,\"mbit\":1},{\"t_s\":10}]},"
		  "\"vms\":[{\"ram_mib\":1}]}",
		  "link.steps: [1].t_s: 10 s is not within the repeat period (10 s from the first step)" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"tenant\":{\"until_s\":5,\"steps\":[]},"
		  "\"vms\":[{\"ram_mib\":1}]}", "tenant: until_s: given without repeat_s" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"tenant\":{\"repeat_s\":5},"
		  "\"vms\":[{\"ram_mib\":1}]}", "tenant: steps: missing" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"tenant\":{\"repeat_s\":5,\"stpes\":[]},"
		  "\"vms\":[{\"ram_mib\":1}]}", "tenant: unknown key \"stpes\"" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{\"ram_mib\":64,\"dirty\":{\"repeat_s\":0,"
		  "\"steps\":[{}]}}]}", "vms[0].dirty: repeat_s: 0 is out of range" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{\"ram_mib\":64,\"dirty\":{\"repeat_s\":9,"
		  "\"steps\":[{\"hot_mib\":99}]}}]}", "vms[0].dirty.steps[0]: hot set (99 MiB)" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1,\"reset\":\"yes\"}],\"vms\":[{\"ram_mib\":1}]}",
		  "link[0]: reset: expected true or false" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{\"ram_mib\":1,\"on_hopeless\":\"wait\"}]}",
		  "vms[0]: on_hopeless: \"wait\" is neither \"park\" nor \"abort\"" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"switchover_ms\":-1,\"vms\":[{\"ram_mib\":1}]}",
		  "scenario: switchover_ms: -1 is out of range" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"stream_timeout_s\":0,\"vms\":[{\"ram_mib\":1}]}",
		  "scenario: stream_timeout_s: 0 is out of range" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{\"ram_mib\":1}]} x",
		  "unexpected text after the JSON object" },
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{\"ram_mib\":1}],\"reference\":[{}]}",
		  "reference[0]: policy: missing" },
	};
	struct sim_scenario scn;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		err[0] = '\0';
		r = sim_scenario_parse(cases[i].json, strlen(cases[i].json), &scn, err, sizeof(err));
		if (r != -EINVAL || !strstr(err, cases[i].needle))
			fail_msg("case %zu: r=%d err=\"%s\", wanted \"%s\"", i, r, err, cases[i].needle);
		assert_null(strchr(err, '\n'));
	}
	assert_int_equal(sim_scenario_load("/nonexistent/x.json", &scn, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x.json: No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_converges_quickly),
		cmocka_unit_test(test_never_converges_without_policy),
		cmocka_unit_test(test_completion_rule),
		cmocka_unit_test(test_dirty_rate_counts_distinct_pages),
		cmocka_unit_test(test_lab_calibration),
		cmocka_unit_test(test_lab_calibration_runs),
		cmocka_unit_test(test_short_passes_at_dirty_rate_equal_bandwidth),
		cmocka_unit_test(test_postcopy_stall),
		cmocka_unit_test(test_postcopy_break_and_recovery),
		cmocka_unit_test(test_suspend_finishes_non_live),
		cmocka_unit_test(test_shared_nic),
		cmocka_unit_test(test_stopcopy_shares_link),
		cmocka_unit_test(test_switchover_cost),
		cmocka_unit_test(test_nic_overhead_and_window),
		cmocka_unit_test(test_bandwidth_rounds_up_to_mib),
		cmocka_unit_test(test_repeat),
		cmocka_unit_test(test_sixteen_vms),
		cmocka_unit_test(test_outputs),
		cmocka_unit_test(test_adaptive_lab_acts_within_two_passes),
		cmocka_unit_test(test_adaptive_waits_out_carrier_flap),
		cmocka_unit_test(test_vm_limits_loaded),
		cmocka_unit_test(test_adaptive_prior_decides_after_bulk_pass),
		cmocka_unit_test(test_adaptive_postcopy_watches_network),
		cmocka_unit_test(test_adaptive_no_escalation_on_drop),
		cmocka_unit_test(test_adaptive_keeps_tenants_whole),
		cmocka_unit_test(test_every_scenario),
		cmocka_unit_test(test_sweeps_are_generated),
		cmocka_unit_test(test_scenario_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
