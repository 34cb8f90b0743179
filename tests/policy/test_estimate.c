/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The adaptive policy's estimator on its own: sample histories in, the picture out (adaptive.h).
 * Nothing here decides; what the picture says of the link (capacity known, seen or unknown;
 * tenants; plausibility; faults; what disturbs) and of the guest (the bulk pass's bound, the
 * prior's proof, plateau, shrinking, saw-tooth).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth.h"
#include "policy/adaptive.h"

static struct mig_history hist;

struct est {
	struct policy pol;
	struct adaptive_state st;
	struct mig_limits lim;
	struct picture pic;
};

static void est_init(struct est *e)
{
	memset(e, 0, sizeof(*e));
	policy_builtin("adaptive", &e->pol);
	policy_limits_default(&e->lim);
	policy_history_init(&hist);
}

/* One sample in, one picture out. */
static void est_feed(struct est *e, const struct mig_sample *s)
{
	assert_int_equal(policy_observe(&hist, s), 0);
	adaptive_estimate(&e->pol.adaptive, &e->st, &hist, &e->lim, &e->pic);
}

/* The synthetic job sampled every step_ms from from_ms to to_ms (inclusive). */
static void est_run(struct est *e, const struct synth *m, uint64_t from_ms, uint64_t to_ms,
                    uint64_t step_ms)
{
	for (uint64_t t = from_ms; t <= to_ms; t += step_ms) {
		struct mig_sample s;

		synth_sample(m, t, &s);
		est_feed(e, &s);
	}
}

static struct synth plateau(void)
{
	/* lab S1 in closed form: 256 MiB at 20 MiB/s, then 96 MiB found dirty by every sync */
	return (struct synth){ .ram = 256 * MIB, .dirty_set = 96 * MIB, .bps = 20 * MIB,
	                       .first_ms = 12800, .pass_ms = 4800, .downtime_ms = 300 };
}

/* ---- the link -------------------------------------------------------------------------------- */

static void test_link_known_share(void **state)
{
	struct est e;
	struct synth m = plateau();

	(void)state;
	est_init(&e);
	m.nic_capacity = 1000 * MIB;
	m.tenant = 100 * MIB;
	m.overhead_permille = 50;
	e.lim.concurrent_on_nic = 2;
	est_run(&e, &m, 0, 2000, 500);
	assert_int_equal(e.pic.link.cap_state, LINK_CAP_KNOWN);
	assert_int_equal(e.pic.link.cap_bps, 1000 * MIB);
	assert_true(e.pic.link.reading_ok);
	assert_int_equal(e.pic.link.tenant_bps, 100 * MIB);
	/* (capacity - tenants - 10 % reserve) / 2 migrations */
	assert_int_equal(e.pic.link.share_bps, (1000 - 100 - 100) * MIB / 2);
	assert_int_equal(e.pic.link.avail_bps, e.pic.link.share_bps);
}

/* The migration's own traffic, counted by the NIC with its framing and over a window offset from
 * QEMU's, is not a tenant. */
static void test_link_idle_shows_no_tenants(void **state)
{
	struct est e;
	struct mig_sample s;
	uint64_t processed = 0;

	(void)state;
	est_init(&e);
	for (uint64_t t = 0; t <= 20000; t += 500) {
		/* 60 MiB/s on average; the NIC saw the bytes of its own 500 ms window, shifted by a
		 * jittered 0..100 ms from QEMU's, plus 4 % of framing */
		uint64_t own = 60 * MIB + (t % 1500 == 0 ? 6 * MIB : 0);
		uint64_t nic = own + own * 4 / 100 + ((t / 500) % 3 ? 3 * MIB : 0);

		memset(&s, 0, sizeof(s));
		s.t_ms = t;
		s.iteration = 1 + (uint32_t)(t / 4000);
		s.phase = MIG_PHASE_PRECOPY;
		processed += own / 2;
		s.data_processed_bytes = processed;
		s.data_total_bytes = s.data_remaining_bytes = 1024 * MIB;
		s.memory_bps = 60 * MIB;
		s.nic_carrier = MIG_NIC_CARRIER_UP;
		s.nic_capacity_bps = 1250 * MIB;
		s.nic_tx_bps = nic;
		s.nic_mig_tx_bps = s.memory_bps;
		est_feed(&e, &s);
		assert_int_equal(e.pic.link.tenant_bps, 0);
	}
}

/* A NIC rate above what the link can carry (a stalled read of the job's stats makes the agent's
 * window short) is a reading to reject, even twice in a row, and never a tenant. */
static void test_link_rejects_impossible_readings(void **state)
{
	struct est e;
	struct synth m = plateau();
	struct mig_sample s;

	(void)state;
	est_init(&e);
	m.nic_capacity = 100 * MIB;
	m.overhead_permille = 50;
	est_run(&e, &m, 0, 3000, 500);
	assert_true(e.pic.link.reading_ok);
	for (uint64_t t = 3500; t <= 4000; t += 500) {
		synth_sample(&m, t, &s);
		s.nic_tx_bps = 290 * MIB;
		est_feed(&e, &s);
		assert_false(e.pic.link.reading_ok);
		assert_int_equal(e.pic.link.tenant_bps, 0);
	}
	/* and a real tenant still counts once seen twice */
	m.tenant = 40 * MIB;
	est_run(&e, &m, 4500, 5000, 500);
	assert_true(e.pic.link.reading_ok);
	assert_int_equal(e.pic.link.tenant_bps, 40 * MIB);
}

static void test_link_unknown_speed(void **state)
{
	struct est e;
	struct synth m = plateau();

	(void)state;
	est_init(&e);
	m.overhead_permille = 50;
	est_run(&e, &m, 0, 0, 500);
	assert_int_equal(e.pic.link.cap_state, LINK_CAP_UNKNOWN);
	assert_int_equal(e.pic.link.cap_bps, 0);
	assert_int_equal(e.pic.link.share_bps, 0);
	/* what it carried over two samples: a lower bound, not a capacity to share */
	est_run(&e, &m, 500, 1000, 500);
	assert_int_equal(e.pic.link.cap_state, LINK_CAP_SEEN);
	assert_int_equal(e.pic.link.cap_bps, 21 * MIB);
	assert_int_equal(e.pic.link.share_bps, 0);
	assert_true(e.pic.link.avail_bps > 0);
	assert_true(e.pic.link.cap_bound == false);      /* no limit in force */
	/* a job at its limit */
	m.cap = 20 * MIB;
	est_run(&e, &m, 1500, 1500, 500);
	assert_true(e.pic.link.cap_bound);
	/* what a probe found: the link's capacity, shared like a known one */
	e.st.cap_found_bps = 50 * MIB;
	est_run(&e, &m, 2000, 2000, 500);
	assert_int_equal(e.pic.link.cap_state, LINK_CAP_FOUND);
	assert_int_equal(e.pic.link.cap_bps, 50 * MIB);
	assert_int_equal(e.pic.link.share_bps, 45 * MIB);
}

static void test_link_faults_and_health(void **state)
{
	struct est e;
	struct synth m = plateau();
	struct mig_sample s;

	(void)state;
	est_init(&e);
	m.nic_capacity = 1000 * MIB;
	m.err_from = 10000;
	m.err_to = 12000;
	est_run(&e, &m, 0, 9500, 500);
	assert_int_equal(e.pic.link.fault_episodes, 0);
	assert_int_equal(e.pic.link.healthy_ms, 9500);
	est_run(&e, &m, 10000, 11500, 500);
	assert_true(e.pic.link.fault_now);
	assert_int_equal(e.pic.link.healthy_ms, 0);
	assert_int_equal(e.pic.link.fault_episodes, 1);
	est_run(&e, &m, 12000, 19500, 500);
	assert_false(e.pic.link.fault_now);
	assert_int_equal(e.pic.link.healthy_ms, 19500 - 11500);
	/* a carrier loss is a second episode */
	synth_sample(&m, 20000, &s);
	s.nic_carrier = MIG_NIC_CARRIER_DOWN;
	est_feed(&e, &s);
	assert_int_equal(e.pic.link.fault_episodes, 2);
	assert_int_equal(e.pic.link.cap_state, LINK_CAP_UNKNOWN);
}

/* A rate that follows a limit the job was given is expected; the same jump with no new limit is
 * a disturbance. */
static void test_link_own_change_is_no_disturbance(void **state)
{
	struct est e;
	struct synth m = plateau();

	(void)state;
	est_init(&e);
	m.nic_capacity = 1000 * MIB;
	m.cap = 20 * MIB;
	m.follow_cap = true;
	est_run(&e, &m, 0, 5000, 500);
	assert_false(e.pic.link.unsteady);
	m.cap = 80 * MIB;
	est_run(&e, &m, 5500, 7000, 500);
	assert_false(e.pic.link.unsteady);
	assert_false(e.pic.link.degraded);
	/* the same job slowed to a tenth with its limit unchanged */
	m.dip_from = 7500;
	m.dip_to = 30000;
	m.follow_cap = false;
	m.bps = 80 * MIB;
	est_run(&e, &m, 7500, 8000, 500);
	assert_true(e.pic.link.unsteady);
	assert_true(e.pic.link.degraded);
}

/* The sample that spans a bitmap sync reads a low rate (QEMU stops sending while it syncs, as the
 * lab showed: 3 MiB/s for one sample of a steady 20 MiB/s job): no disturbance, and the pass it
 * opens stays evidence.  The same dip inside a pass is one. */
static void test_link_sync_dip_is_no_disturbance(void **state)
{
	struct est e;
	struct synth m = plateau();
	struct mig_sample s;

	(void)state;
	est_init(&e);
	m.nic_capacity = 1000 * MIB;
	est_run(&e, &m, 0, 12500, 500);
	synth_sample(&m, 13000, &s);
	assert_int_equal(s.iteration, 2);
	s.memory_bps = 3 * MIB;
	est_feed(&e, &s);
	assert_false(e.pic.link.unsteady);
	assert_false(policy_history_pass(&hist, 0)->unsteady);
	est_run(&e, &m, 13500, 15000, 500);
	assert_false(e.pic.link.unsteady);
	synth_sample(&m, 15500, &s);
	assert_int_equal(s.iteration, 2);
	s.memory_bps = 3 * MIB;
	est_feed(&e, &s);
	assert_true(e.pic.link.unsteady);
	assert_true(policy_history_pass(&hist, 0)->unsteady);
}

/* ---- the guest ------------------------------------------------------------------------------- */

static void test_guest_bulk_pass_and_prior(void **state)
{
	struct est e;
	struct synth m = plateau();

	(void)state;
	est_init(&e);
	est_run(&e, &m, 0, 12500, 500);
	assert_int_equal(e.pic.guest.evidence, GUEST_EV_NONE);      /* the bulk pass */
	est_run(&e, &m, 13000, 13000, 500);
	assert_int_equal(e.pic.guest.evidence, GUEST_EV_BULK);
	/* what the sync at 12.8 s found: the pass's highest remaining plus what went before */
	assert_true(e.pic.guest.dirty_bytes >= 96 * MIB && e.pic.guest.dirty_bytes <= 100 * MIB);

	/* the rate measured before the job proves the plateau: 40 MiB/s re-dirtied, at most
	 * 20 MiB/s sent, the SLA's limit draining 20 x 0.42 s */
	est_init(&e);
	e.lim.prior_dirty_bps = 40 * MIB;
	e.lim.prior_dirty_period_ms = 1000;
	est_run(&e, &m, 0, 13000, 500);
	assert_int_equal(e.pic.guest.evidence, GUEST_EV_PRIOR);
	/* too old, or too weak to prove it: the upper bound only */
	est_init(&e);
	e.lim.prior_dirty_bps = 40 * MIB;
	e.lim.prior_dirty_age_ms = 200000;
	est_run(&e, &m, 0, 13000, 500);
	assert_int_equal(e.pic.guest.evidence, GUEST_EV_BULK);
	est_init(&e);
	e.lim.prior_dirty_bps = 20 * MIB;
	est_run(&e, &m, 0, 13000, 500);
	assert_int_equal(e.pic.guest.evidence, GUEST_EV_BULK);
}

static void test_guest_plateau(void **state)
{
	struct est e;
	struct synth m = plateau();

	(void)state;
	est_init(&e);
	est_run(&e, &m, 0, 17500, 500);
	assert_int_equal(e.pic.guest.evidence, GUEST_EV_BULK);
	est_run(&e, &m, 18000, 18000, 500);
	assert_int_equal(e.pic.guest.evidence, GUEST_EV_PASSES);
	assert_int_equal(e.pic.guest.npasses, 2);
	assert_false(e.pic.guest.shrinking);
	est_run(&e, &m, 18500, 32000, 500);
	assert_int_equal(e.pic.guest.evidence, GUEST_EV_PASSES);
	assert_true(e.pic.guest.npasses >= 3);
	assert_true(e.pic.guest.growth > 0.97 && e.pic.guest.growth < 1.03);
	assert_true(e.pic.guest.dirty_bytes >= 96 * MIB && e.pic.guest.dirty_bytes <= 100 * MIB);
	assert_false(e.pic.guest.shrinking);
	assert_false(e.pic.guest.disturbed);
}

/* Each pass finds 80 % of what the one before found: shrinking, with a time until the pending
 * falls under what the limit drains. */
static void test_guest_shrinking(void **state)
{
	struct est e;
	struct synth m = plateau();

	(void)state;
	est_init(&e);
	m.bps = 40 * MIB;
	m.first_ms = 6400;
	m.dirty_set = 200 * MIB;
	m.shrink_permille = 800;
	est_run(&e, &m, 0, 22000, 500);
	assert_int_equal(e.pic.guest.evidence, GUEST_EV_PASSES);
	assert_true(e.pic.guest.shrinking);
	assert_true(e.pic.guest.growth > 0.75 && e.pic.guest.growth < 0.85);
	assert_true(e.pic.guest.eta_ms > 0 && e.pic.guest.eta_ms < 60000);
}

/* Passes shorter than the sampling: the saw-tooth's peaks, once seen for the settle time. */
static void test_guest_sawtooth(void **state)
{
	struct est e;
	struct synth m = { .ram = 256 * MIB, .dirty_set = 24 * MIB, .bps = 40 * MIB,
	                   .first_ms = 6400, .pass_ms = 300, .downtime_ms = 300 };

	(void)state;
	est_init(&e);
	est_run(&e, &m, 0, 8000, 500);
	assert_int_not_equal(e.pic.guest.evidence, GUEST_EV_SAWTOOTH);
	est_run(&e, &m, 8500, 14000, 500);
	assert_int_equal(e.pic.guest.evidence, GUEST_EV_SAWTOOTH);
	assert_true(e.pic.guest.dirty_bytes > 12 * MIB && e.pic.guest.dirty_bytes <= 24 * MIB);
	assert_false(e.pic.guest.shrinking);
}

static void test_job_fields(void **state)
{
	struct est e;
	struct synth m = plateau();

	(void)state;
	est_init(&e);
	e.lim.sla_max_downtime_ms = 700;
	est_run(&e, &m, 0, 20000, 500);
	assert_int_equal(e.pic.t_ms, 20000);
	assert_int_equal(e.pic.ram_bytes, 256 * MIB);
	assert_int_equal(e.pic.budget_ms, 60000);          /* the 60 s floor */
	assert_int_equal(e.pic.sla_ms, 700);
	assert_int_equal(e.pic.overshoot_permille, 1200);  /* assumed until the host measured it */
	assert_int_equal(adaptive_sla_limit_ms(&e.pic), 583);
	e.lim.downtime_overshoot_permille = 1100;
	e.lim.budget_s_per_gib = 600;
	est_run(&e, &m, 20500, 20500, 500);
	assert_int_equal(e.pic.overshoot_permille, 1100);
	assert_int_equal(e.pic.budget_ms, 150000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_known_share),
		cmocka_unit_test(test_link_idle_shows_no_tenants),
		cmocka_unit_test(test_link_rejects_impossible_readings),
		cmocka_unit_test(test_link_unknown_speed),
		cmocka_unit_test(test_link_faults_and_health),
		cmocka_unit_test(test_link_own_change_is_no_disturbance),
		cmocka_unit_test(test_link_sync_dip_is_no_disturbance),
		cmocka_unit_test(test_guest_bulk_pass_and_prior),
		cmocka_unit_test(test_guest_plateau),
		cmocka_unit_test(test_guest_shrinking),
		cmocka_unit_test(test_guest_sawtooth),
		cmocka_unit_test(test_job_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
