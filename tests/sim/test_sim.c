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

#include <cmocka.h>

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

static void test_dirty_rate_counts_distinct_pages(void **state)
{
	/* a 40 MiB/s writer over a 96 MiB hot set reads ~20 MiB/s: distinct pages per sync period */
	struct sim_scenario scn;
	struct trace_ctx c = { 0 };
	struct sim_opts o = { .sla_ms = -1, .allow_postcopy = -1, .allow_suspend = -1,
	                      .trace = trace_cb, .trace_ctx = &c };
	struct policy p;

	(void)state;
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

static void test_postcopy_and_network_loss(void **state)
{
	/* rhv-postcopy (bandwidth: link / 2 = 19 MiB/s) switches at 40.1 s; the carrier drops
	 * while the pages still cross: the guest is lost */
	struct sim_scenario scn;

	(void)state;
	parse("{\"name\":\"pc\",\"duration_s\":120,\"link\":[{\"t_s\":0,\"mbit\":320},"
	      "{\"t_s\":40.5,\"carrier\":false}],"
	      "\"vms\":[{\"ram_mib\":256,\"postcopy_flag\":true,"
	      "\"dirty\":[{\"t_s\":0,\"hot_mib\":96,\"rate_mibps\":40}]}]}", &scn);
	run(&scn, "rhv-postcopy");
	assert_int_equal(res.vms[0].outcome, SIM_FAILED);
	/* the same without the flag: libvirt refuses post-copy, VDSM aborts at the next poll */
	scn.vms[0].postcopy_flag = false;
	scn.nlink = 1;
	run(&scn, "rhv-postcopy");
	assert_int_equal(res.vms[0].outcome, SIM_ABORTED);
	assert_non_null(first_of(&res.vms[0], POLICY_ACT_POSTCOPY));
}

static void test_suspend_finishes_non_live(void **state)
{
	struct sim_scenario scn;
	struct sim_opts o = { .sla_ms = -1, .allow_postcopy = -1, .allow_suspend = 1 };
	struct policy p;

	(void)state;
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

		within(t1 / 1000.0, 1024 / (125.0 * 1e6 / MIB), 0.05);
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

static void test_adaptive_waits_out_carrier_flap(void **state)
{
	struct sim_scenario scn;
	const struct policy_action *pc;

	(void)state;
	load("carrier-flap.json", &scn);
	run(&scn, "adaptive");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	pc = first_of(&res.vms[0], POLICY_ACT_POSTCOPY);
	assert_non_null(pc);
	/* errors until 16 s: post-copy only once the network has been healthy for a while */
	assert_true(pc && pc->t_ms >= 16000);
}

static void run_opts(const struct sim_scenario *scn, const char *policy, bool no_prior)
{
	struct sim_opts o = { .sla_ms = -1, .allow_postcopy = -1, .allow_suspend = -1,
	                      .no_prior = no_prior };
	struct policy p;

	assert_int_equal(policy_builtin(policy, &p), 0);
	assert_int_equal(sim_run(scn, &p, &o, &res), 0);
}

/* The scenario loader measures the first phase over 1 s as QEMU's page sampling would. */
static void test_prior_dirty_rate_loaded(void **state)
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

/* Post-copy bets the guest on the network: not before it has been seen healthy for 10 s. */
static void test_adaptive_postcopy_watches_network(void **state)
{
	struct sim_scenario scn;
	const struct policy_action *pc, *hold = NULL;

	(void)state;
	load("lab-s1.json", &scn);
	run(&scn, "adaptive");
	assert_int_equal(res.vms[0].outcome, SIM_COMPLETED_POSTCOPY);
	pc = first_of(&res.vms[0], POLICY_ACT_POSTCOPY);
	assert_true(pc && pc->t_ms >= 10000);
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

static void test_adaptive_on_every_scenario(void **state)
{
	/* every shipped scenario loads; adaptive converges wherever any policy converges within
	 * the guest's permissions, and its pre-copy downtime stays within the SLA */
	static const char *const others[] = { "none", "rhv-minimal", "rhv-suspend", "rhv-postcopy",
	                                      "rhv-verylarge", "nova" };
	char dir[512];
	struct dirent *de;
	DIR *d;
	unsigned count = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/scenarios", SIM_TESTDIR);
	d = opendir(dir);
	assert_non_null(d);
	while (d && (de = readdir(d))) {
		struct sim_scenario scn;
		bool any = false, ad_ok = true;
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		load(de->d_name, &scn);
		count++;
		for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++) {
			bool ok = true;

			run(&scn, others[k]);
			for (unsigned i = 0; i < res.nvms; i++) {
				const struct sim_vm_result *v = &res.vms[i];
				const struct mig_limits *l = &scn.vms[i].limits;

				if (v->outcome == SIM_COMPLETED && v->downtime_ms > v->sla_ms &&
				    !l->allow_suspend)
					ok = false;       /* over the SLA: not a finish the owner accepts */
				else if (v->outcome == SIM_COMPLETED_POSTCOPY && !l->allow_postcopy)
					ok = false;
				else if (!sim_outcome_completed((enum sim_outcome)v->outcome))
					ok = false;
			}
			any |= ok;
		}
		run(&scn, "adaptive");
		for (unsigned i = 0; i < res.nvms; i++) {
			const struct sim_vm_result *v = &res.vms[i];

			if (!sim_outcome_completed((enum sim_outcome)v->outcome))
				ad_ok = false;
			if (v->outcome == SIM_COMPLETED && v->downtime_ms > v->sla_ms)
				fail_msg("%s: adaptive pre-copy downtime %llu ms > SLA %u ms", scn.name,
				         (unsigned long long)v->downtime_ms, v->sla_ms);
			if (v->outcome == SIM_FAILED)
				fail_msg("%s: adaptive lost the guest", scn.name);
		}
		if (any && !ad_ok)
			fail_msg("%s: another policy converged within the permissions, adaptive did not",
			         scn.name);
	}
	if (d)
		closedir(d);
	assert_true(count >= 20);
}

/* ---- the scenario loader ------------------------------------------------------------------- */

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
		{ "{\"link\":[{\"t_s\":0,\"mbit\":1}],\"vms\":[{\"ram_mib\":1},{\"ram_mib\":1},"
		  "{\"ram_mib\":1},{\"ram_mib\":1},{\"ram_mib\":1}]}", "vms: 5 entries, at most 4" },
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
		cmocka_unit_test(test_postcopy_and_network_loss),
		cmocka_unit_test(test_suspend_finishes_non_live),
		cmocka_unit_test(test_shared_nic),
		cmocka_unit_test(test_adaptive_lab_acts_within_two_passes),
		cmocka_unit_test(test_adaptive_waits_out_carrier_flap),
		cmocka_unit_test(test_prior_dirty_rate_loaded),
		cmocka_unit_test(test_adaptive_prior_decides_after_bulk_pass),
		cmocka_unit_test(test_adaptive_postcopy_watches_network),
		cmocka_unit_test(test_adaptive_no_escalation_on_drop),
		cmocka_unit_test(test_adaptive_keeps_tenants_whole),
		cmocka_unit_test(test_adaptive_on_every_scenario),
		cmocka_unit_test(test_scenario_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
