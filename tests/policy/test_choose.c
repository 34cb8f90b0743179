/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The adaptive policy's chooser on its own: pictures made by hand in, actions out (adaptive.h).
 * The predictions of each remedy, then the choice: the least harmful remedy that finishes, park
 * when none does, abort only when the budget is spent or the owner asks, post-copy only on a link
 * healthy for long enough, probes when the link's speed is unknown, and a parked job's way back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/adaptive.h"

#define MIB 1048576ull

struct fix {
	struct policy pol;
	struct policy_state st;
	struct mig_limits lim;
	struct picture pic;
	struct mig_sample s;
	struct policy_action acts[POLICY_MAX_ACTIONS];
	size_t n;
};

/*
 * The lab's S1 after three passes: 256 MiB guest, 96 MiB found dirty by every sync at 20 MiB/s,
 * 50 MiB pending, on a 1000 MiB/s NIC that leaves it 20 MiB/s, healthy for 20 s, budget 60 s.
 */
static void fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	policy_builtin("adaptive", &f->pol);
	policy_state_init(&f->pol, &f->st);
	policy_limits_default(&f->lim);
	f->pic = (struct picture){
		.t_ms = 25000, .pass = 5, .pending_bytes = 50 * MIB, .ram_bytes = 256 * MIB,
		.budget_ms = 60000, .limit_ms = 300, .bw_limit_bps = 20 * MIB, .rate_bps = 20 * MIB,
		.sla_ms = 500, .overshoot_permille = 1200,
		.link = { .cap_state = LINK_CAP_KNOWN, .cap_bps = 1000 * MIB, .own_bps = 20 * MIB,
		          .own_avg_bps = 20 * MIB, .own_avg_known = true, .reading_ok = true,
		          .nic_read = true, .share_bps = 20 * MIB,
		          .avail_bps = 20 * MIB, .cap_bound = true, .healthy_ms = 25000 },
		.guest = { .evidence = GUEST_EV_PASSES, .dirty_bytes = 96 * MIB, .last_bytes = 96 * MIB,
		           .growth = 1.0, .npasses = 3 },
	};
	f->s = (struct mig_sample){ .t_ms = 25000, .iteration = 5, .memory_bps = 20 * MIB,
	                            .bandwidth_limit_bps = 20 * MIB, .downtime_limit_ms = 300,
	                            .phase = MIG_PHASE_PRECOPY, .nic_carrier = MIG_NIC_CARRIER_UP,
	                            .nic_tx_bps = 21 * MIB, .nic_capacity_bps = 1000 * MIB };
}

static void choose(struct fix *f)
{
	struct action_buf out = { .a = f->acts, .max = POLICY_MAX_ACTIONS, .t_ms = f->pic.t_ms };

	adaptive_choose(&f->pol.adaptive, &f->st, &f->pic, &f->lim, &out, &f->s);
	f->n = out.n;
}

static const struct policy_action *find(const struct fix *f, uint8_t kind, uint8_t reason)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->acts[i].kind == kind && (!reason || f->acts[i].reason == reason))
			return &f->acts[i];
	return NULL;
}

static const struct policy_action *must(const struct fix *f, uint8_t kind, uint8_t reason)
{
	const struct policy_action *a = find(f, kind, reason);

	if (!a) {
		for (size_t i = 0; i < f->n; i++) {
			char line[256];

			policy_action_format(&f->acts[i], line, sizeof(line));
			print_error("  got %s\n", line);
		}
		fail_msg("no %s (%s)", policy_action_name((enum policy_action_kind)kind),
		         policy_reason_name((enum policy_reason)reason));
	}
	return a;
}

/* ---- predictions ----------------------------------------------------------------------------- */

static void test_predict(void **state)
{
	struct fix f;
	struct prediction pr;
	const struct adaptive_params *ap;

	(void)state;
	fix_init(&f);
	ap = &f.pol.adaptive;
	/* a plateau of 96 MiB at 20 MiB/s: 300 ms drains 6 MiB, never enough */
	adaptive_predict(&f.pic, REMEDY_WAIT, 0, 300, ap, &pr);
	assert_false(pr.finishes);
	assert_int_equal(pr.time_ms, POLICY_PRED_NEVER);
	/* 5 s drains 100 MiB: the current pass (2.5 s) and a final copy of 96 MiB (4.8 s) */
	adaptive_predict(&f.pic, REMEDY_DOWNTIME, 0, 5000, ap, &pr);
	assert_true(pr.finishes);
	assert_int_equal(pr.time_ms, 7300);
	assert_int_equal(pr.bytes, 146 * MIB);
	assert_int_equal(pr.downtime_ms, 4800 * 12 / 10);
	/* more bandwidth: the passes are shorter and find no more than before */
	adaptive_predict(&f.pic, REMEDY_DOWNTIME, 200 * MIB, 500, ap, &pr);
	assert_true(pr.finishes);
	assert_int_equal(pr.downtime_ms, 480 * 12 / 10);
	/* shrinking by 0.8 a pass: finite, more passes than one */
	f.pic.guest.growth = 0.8;
	f.pic.guest.shrinking = true;
	adaptive_predict(&f.pic, REMEDY_WAIT, 0, 300, ap, &pr);
	assert_true(pr.time_ms != POLICY_PRED_NEVER);
	assert_true(pr.bytes > 146 * MIB);
	f.pic.guest.shrinking = false;
	f.pic.guest.growth = 1.0;
	/* post-copy: one copy of the dirty set (the switch syncs), the guest barely stops */
	adaptive_predict(&f.pic, REMEDY_POSTCOPY, 0, 0, ap, &pr);
	assert_int_equal(pr.time_ms, 4800);
	assert_int_equal(pr.bytes, 96 * MIB);
	assert_int_equal(pr.downtime_ms, 0);
	/* suspend: a non-live copy of what is pending, the guest stopped all along */
	adaptive_predict(&f.pic, REMEDY_SUSPEND, 0, 0, ap, &pr);
	assert_int_equal(pr.time_ms, 2500);
	assert_int_equal(pr.downtime_ms, 3000);
	/* park: the trickle until the budget, never a finish of its own */
	adaptive_predict(&f.pic, REMEDY_PARK, 0, 0, ap, &pr);
	assert_false(pr.finishes);
	assert_int_equal(pr.bytes, 35 * MIB);
	/* beyond the budget does not count as finishing */
	f.pic.t_ms = 58000;
	adaptive_predict(&f.pic, REMEDY_DOWNTIME, 0, 5000, ap, &pr);
	assert_false(pr.finishes);
	assert_int_equal(adaptive_sla_limit_ms(&f.pic), 416);
	f.pic.overshoot_permille = 1000;
	assert_int_equal(adaptive_sla_limit_ms(&f.pic), 500);
}

/* ---- the choice ------------------------------------------------------------------------------ */

static void test_downtime_within_sla(void **state)
{
	struct fix f;
	const struct policy_action *a;

	(void)state;
	fix_init(&f);
	f.pic.guest.dirty_bytes = 6 * MIB;       /* 300 ms at 20 MiB/s, x 1.25 = 375 ms */
	f.pic.pending_bytes = 4 * MIB;
	choose(&f);
	a = must(&f, POLICY_ACT_SET_DOWNTIME, REASON_CONVERGING_DOWNTIME);
	assert_int_equal(a->value, 380);
	assert_int_equal(a->old_value, 300);
	assert_true(a->pred.time_ms < 2000);
	assert_int_equal(a->pred.wait_ms, POLICY_PRED_NEVER);
	assert_non_null(strstr(a->text, "; pred "));
	assert_non_null(strstr(a->text, "; wait never"));
	assert_null(find(&f, POLICY_ACT_SET_BANDWIDTH, 0));
	/* one step per pass */
	choose(&f);
	assert_int_equal(f.n, 0);
}

static void test_nothing_permitted_parks(void **state)
{
	struct fix f;
	const struct policy_action *a;

	(void)state;
	fix_init(&f);
	choose(&f);
	/* the SLA's limit (it costs nothing allowed), then the trickle */
	a = must(&f, POLICY_ACT_SET_DOWNTIME, REASON_SLA_EXCEEDED);
	assert_int_equal(a->value, 416);
	a = must(&f, POLICY_ACT_SET_BANDWIDTH, REASON_PARK);
	assert_int_equal(a->value, 1 << 20);
	assert_int_equal(a->pred.time_ms, POLICY_PRED_NEVER);
	assert_int_equal(f.st.t_verdict_ms, 25000);
	assert_true(f.st.ad.parked);
	assert_null(find(&f, POLICY_ACT_ABORT, 0));

	/* two passes only: a slow shrink can pass for a plateau; no parking yet */
	fix_init(&f);
	f.pic.guest.npasses = 2;
	choose(&f);
	assert_non_null(find(&f, POLICY_ACT_SET_DOWNTIME, REASON_SLA_EXCEEDED));
	assert_null(find(&f, POLICY_ACT_SET_BANDWIDTH, REASON_PARK));
	assert_int_equal(f.st.t_verdict_ms, 0);

	/* the owner asked for an early abort */
	fix_init(&f);
	f.lim.on_hopeless = MIG_ON_HOPELESS_ABORT;
	choose(&f);
	must(&f, POLICY_ACT_ABORT, REASON_HOPELESS);
	/* ... but forbids the agent's aborts: park instead */
	fix_init(&f);
	f.lim.on_hopeless = MIG_ON_HOPELESS_ABORT;
	f.lim.allow_abort = false;
	choose(&f);
	assert_null(find(&f, POLICY_ACT_ABORT, 0));
	must(&f, POLICY_ACT_SET_BANDWIDTH, REASON_PARK);
}

static void test_budget(void **state)
{
	struct fix f;

	(void)state;
	fix_init(&f);
	f.pic.t_ms = 60000;
	choose(&f);
	must(&f, POLICY_ACT_ABORT, REASON_BUDGET_SPENT);
	assert_int_equal(f.n, 1);
	/* a job about to finish gets a grace */
	fix_init(&f);
	f.pic.t_ms = 60000;
	f.pic.limit_ms = 5000;
	choose(&f);
	assert_null(find(&f, POLICY_ACT_ABORT, 0));
	f.pic.t_ms = 90000;
	choose(&f);
	must(&f, POLICY_ACT_ABORT, REASON_BUDGET_SPENT);
	/* aborts forbidden: said once, never done */
	fix_init(&f);
	f.lim.allow_abort = false;
	f.pic.t_ms = 60000;
	choose(&f);
	assert_null(find(&f, POLICY_ACT_ABORT, 0));
	must(&f, POLICY_ACT_HOLD, REASON_BUDGET_SPENT);
}

static void test_postcopy_health(void **state)
{
	struct fix f;
	const struct policy_action *a;

	(void)state;
	fix_init(&f);
	f.lim.allow_postcopy = f.lim.postcopy_flag_set = true;
	/* post-copy copies the 96 MiB dirty set in 4.8 s: the link must have been healthy 9.6 s */
	f.pic.link.healthy_ms = 9000;
	choose(&f);
	a = must(&f, POLICY_ACT_HOLD, REASON_POSTCOPY_UNSAFE);
	assert_non_null(strstr(a->text, "9.6 s"));
	assert_null(find(&f, POLICY_ACT_POSTCOPY, 0));
	f.pic.link.healthy_ms = 9600;
	choose(&f);
	a = must(&f, POLICY_ACT_POSTCOPY, REASON_SLA_EXCEEDED);
	assert_int_equal(a->pred.time_ms, 4800);

	/* after two fault episodes, three times as long */
	fix_init(&f);
	f.lim.allow_postcopy = f.lim.postcopy_flag_set = true;
	f.pic.link.fault_episodes = 2;
	f.pic.link.healthy_ms = 20000;
	choose(&f);
	assert_null(find(&f, POLICY_ACT_POSTCOPY, 0));
	f.pic.link.healthy_ms = 28800;
	choose(&f);
	must(&f, POLICY_ACT_POSTCOPY, 0);
	/* recovery proven on this host: the minimum */
	fix_init(&f);
	f.lim.allow_postcopy = f.lim.postcopy_flag_set = f.lim.postcopy_recovery = true;
	f.pic.link.fault_episodes = 2;
	f.pic.link.healthy_ms = 3000;
	choose(&f);
	must(&f, POLICY_ACT_POSTCOPY, 0);

	/* a fault now, suspend permitted: suspend, not a bet on the link */
	fix_init(&f);
	f.lim.allow_postcopy = f.lim.postcopy_flag_set = f.lim.allow_suspend = true;
	f.pic.link.fault_now = true;
	f.pic.link.healthy_ms = 0;
	choose(&f);
	a = must(&f, POLICY_ACT_SUSPEND, 0);
	assert_int_equal(a->pred.downtime_ms, 3000);
	assert_null(find(&f, POLICY_ACT_POSTCOPY, 0));
}

static void test_shrinking_waits(void **state)
{
	struct fix f;

	(void)state;
	fix_init(&f);
	f.pic.guest.shrinking = true;
	f.pic.guest.growth = 0.85;
	f.pic.guest.eta_ms = 20000;       /* within 30 s: nothing at all */
	choose(&f);
	assert_int_equal(f.n, 0);
	f.pic.guest.eta_ms = 33000;       /* within the budget: the SLA's limit, nothing drastic */
	choose(&f);
	assert_non_null(find(&f, POLICY_ACT_SET_DOWNTIME, 0));
	assert_null(find(&f, POLICY_ACT_SET_BANDWIDTH, REASON_PARK));
}

/* Before the NIC's first reading nothing is said of its speed (the first sample may come before
 * it); without any reading by the end of the bulk pass, that is what is said. */
static void test_unknown_speed_needs_a_reading(void **state)
{
	struct fix f;
	const struct policy_action *a;

	(void)state;
	fix_init(&f);
	f.pic.link.cap_state = LINK_CAP_UNKNOWN;
	f.pic.link.cap_bps = f.pic.link.share_bps = f.pic.link.avail_bps = 0;
	f.pic.link.nic_read = false;
	f.s.nic_carrier = MIG_NIC_CARRIER_UNKNOWN;
	f.pic.guest.evidence = GUEST_EV_NONE;
	f.pic.pass = f.s.iteration = 1;
	choose(&f);
	assert_null(find(&f, POLICY_ACT_HOLD, REASON_PROBE));
	f.pic.pass = f.s.iteration = 2;
	f.pic.t_ms = f.s.t_ms = 27000;
	choose(&f);
	a = must(&f, POLICY_ACT_HOLD, REASON_PROBE);
	assert_non_null(strstr(a->text, "link speed unknown (no reading of the migration NIC)"));
}

static void test_probe_unknown_speed(void **state)
{
	struct fix f;
	const struct policy_action *a;

	(void)state;
	fix_init(&f);
	f.lim.sla_max_downtime_ms = 10000;
	f.pic.sla_ms = 10000;
	f.pic.link.cap_state = LINK_CAP_UNKNOWN;
	f.pic.link.cap_bps = f.pic.link.share_bps = f.pic.link.avail_bps = 0;
	f.pic.guest.evidence = GUEST_EV_NONE;
	choose(&f);
	/* said once; a step up */
	a = must(&f, POLICY_ACT_HOLD, REASON_PROBE);
	assert_non_null(strstr(a->text, "link speed unknown (the NIC reports none)"));
	a = must(&f, POLICY_ACT_SET_BANDWIDTH, REASON_PROBE);
	assert_int_equal(a->value, 40 * MIB);
	assert_int_equal(f.st.ad.probe_bps, 40 * MIB);
	/* in force, half a second on, the rate not there yet: wait */
	f.pic.bw_limit_bps = f.s.bandwidth_limit_bps = 40 * MIB;
	f.pic.t_ms = f.s.t_ms = 25500;
	choose(&f);
	assert_int_equal(f.n, 0);
	/* a second on, still 20 MiB/s of the 40: the link carries no more; back to 20 */
	f.pic.t_ms = f.s.t_ms = 26000;
	choose(&f);
	a = must(&f, POLICY_ACT_SET_BANDWIDTH, REASON_PROBE);
	assert_int_equal(a->value, 20 * MIB);
	assert_int_equal(f.st.ad.cap_found_bps, 21 * MIB);
	assert_int_equal(f.st.ad.probe_bps, 0);

	/* a hard ceiling: never past it, and no probe at it */
	fix_init(&f);
	f.pic.link.cap_state = LINK_CAP_UNKNOWN;
	f.pic.link.share_bps = f.pic.link.avail_bps = 0;
	f.pic.guest.evidence = GUEST_EV_NONE;
	f.lim.bandwidth_max_bps = 20 * MIB;
	choose(&f);
	assert_null(find(&f, POLICY_ACT_SET_BANDWIDTH, 0));
}

static void test_parked_resumes(void **state)
{
	struct fix f;
	const struct policy_action *a;

	(void)state;
	fix_init(&f);
	choose(&f);
	assert_true(f.st.ad.parked);
	assert_int_equal(f.st.ad.parked_pass, 5);
	/* parked, nothing new: nothing */
	f.pic.t_ms = 30000;
	f.pic.bw_limit_bps = 1 * MIB;
	choose(&f);
	assert_int_equal(f.n, 0);
	/* a parked pass found little: finishes at full speed within the SLA */
	f.pic.pass = 7;
	f.pic.guest.dirty_bytes = 4 * MIB;
	f.pic.pending_bytes = 4 * MIB;
	choose(&f);
	a = must(&f, POLICY_ACT_SET_BANDWIDTH, REASON_RESUME);
	assert_int_equal(a->value, 20 * MIB);
	assert_true(a->pred.time_ms != POLICY_PRED_NEVER);
	assert_false(f.st.ad.parked);

	/* the link leaves much more than when it parked (a tenant left): a look */
	fix_init(&f);
	choose(&f);
	f.pic.t_ms = 30000;
	f.pic.link.avail_bps = f.pic.link.share_bps = 60 * MIB;
	choose(&f);
	a = must(&f, POLICY_ACT_SET_BANDWIDTH, REASON_RESUME);
	assert_int_equal(a->value, 60 * MIB);

	/* the first look: a look takes two dirty sets at full speed (2 x 96 MiB at 20 MiB/s =
	 * 9.6 s); parked four times that before it, so that looks spend at most a fifth of what
	 * full speed would */
	fix_init(&f);
	f.pic.budget_ms = 600000;
	choose(&f);
	f.pic.t_ms = 25000 + 38400 - 500;
	choose(&f);
	assert_int_equal(f.n, 0);
	f.pic.t_ms = 25000 + 38400;
	choose(&f);
	must(&f, POLICY_ACT_SET_BANDWIDTH, REASON_RESUME);
	assert_int_equal(f.st.ad.look_pass, 5);
	/* a look needs two passes at full speed before it parks again */
	f.pic.t_ms = 66000;
	f.pic.bw_limit_bps = 20 * MIB;
	choose(&f);
	assert_null(find(&f, POLICY_ACT_SET_BANDWIDTH, REASON_PARK));
	f.pic.pass = 7;
	f.pic.limit_ms = 416;
	choose(&f);
	must(&f, POLICY_ACT_SET_BANDWIDTH, REASON_PARK);

	/* the last look: the budget's end less three passes at full speed and 2 s */
	fix_init(&f);
	f.pic.budget_ms = 600000;
	choose(&f);
	f.st.ad.t_next_look_ms = 10000000;
	f.pic.t_ms = 600000 - 3 * 4800 - 2000 - 500;
	choose(&f);
	assert_int_equal(f.n, 0);
	f.pic.t_ms += 500;
	choose(&f);
	must(&f, POLICY_ACT_SET_BANDWIDTH, REASON_RESUME);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_predict),
		cmocka_unit_test(test_downtime_within_sla),
		cmocka_unit_test(test_nothing_permitted_parks),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_postcopy_health),
		cmocka_unit_test(test_shrinking_waits),
		cmocka_unit_test(test_unknown_speed_needs_a_reading),
		cmocka_unit_test(test_probe_unknown_speed),
		cmocka_unit_test(test_parked_resumes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
