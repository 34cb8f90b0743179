/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy unit tests on synthetic sample streams: the exact RHV (VDSM) and Nova step sequences, the
 * sample history and the action format.  The adaptive policy has its own tests (test_adaptive.c,
 * test_estimate.c, test_choose.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"
#include "synth.h"


struct expect { uint64_t t_ms; uint8_t kind; int64_t value; };

static void check_sequence(const struct run *r, const struct expect *e, size_t n)
{
	if (r->n != n) {
		for (size_t i = 0; i < r->n; i++) {
			char line[256];

			policy_action_format(&r->acts[i], line, sizeof(line));
			print_message("  got %s\n", line);
		}
	}
	assert_int_equal(r->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r->acts[i].t_ms, e[i].t_ms);
		assert_int_equal(r->acts[i].kind, e[i].kind);
		if (e[i].kind == POLICY_ACT_SET_DOWNTIME)
			assert_int_equal(r->acts[i].value, e[i].value);
	}
}


static struct synth fast_passes(void)
{
	/* one pass every 5 s from the start: pass n runs in [5(n-1), 5n) s */
	return (struct synth){ .ram = 256 * MIB, .dirty_set = 100 * MIB, .bps = 20 * MIB,
	                       .first_ms = 5000, .pass_ms = 5000, .downtime_ms = 300 };
}

static void test_rhv_minimal_fast(void **state)
{
	static const struct expect e[] = {
		{ 0, DT, 100 }, { 20000, DT, 150 }, { 30000, DT, 200 }, { 40000, DT, 300 },
		{ 50000, DT, 400 }, { 60000, DT, 500 }, { 70000, AB, 0 },
	};
	struct synth m = fast_passes();
	struct mig_limits lim;
	struct policy p;
	struct run r;

	(void)state;
	policy_limits_default(&lim);
	assert_int_equal(policy_builtin("rhv-minimal", &p), 0);
	drive(&p, &m, &lim, 200000, 500, false, &r);
	check_sequence(&r, e, sizeof(e) / sizeof(e[0]));
	assert_int_equal(r.acts[1].reason, REASON_STALLED_ITERATIONS);
	assert_int_equal(r.acts[6].reason, REASON_SCHEDULE_EXHAUSTED);
}

static void test_rhv_minimal_slow_passes(void **state)
{
	/* one pass per 20 s: at most one step per poll, and only when stalling > limit */
	static const struct expect e[] = {
		{ 0, DT, 100 }, { 40000, DT, 150 }, { 60000, DT, 200 }, { 80000, DT, 300 },
		{ 100000, DT, 400 }, { 140000, DT, 500 }, { 150000, AB, 0 },
	};
	struct synth m = { .ram = 256 * MIB, .dirty_set = 100 * MIB, .bps = 20 * MIB,
	                   .first_ms = 20000, .pass_ms = 20000, .downtime_ms = 300 };
	struct mig_limits lim;
	struct policy p;
	struct run r;

	(void)state;
	policy_limits_default(&lim);
	policy_builtin("rhv-minimal", &p);
	drive(&p, &m, &lim, 400000, 500, false, &r);
	check_sequence(&r, e, sizeof(e) / sizeof(e[0]));
}

static void test_rhv_same_at_vdsm_poll_rate(void **state)
{
	/* sampled every 500 ms or every 10 s (as VDSM polls), the schedule fires identically */
	struct synth m1 = fast_passes(), m2 = fast_passes();
	struct mig_limits lim;
	struct policy p;
	static struct run r1, r2;

	(void)state;
	policy_limits_default(&lim);
	policy_builtin("rhv-suspend", &p);
	drive(&p, &m1, &lim, 200000, 500, false, &r1);
	drive(&p, &m2, &lim, 200000, 10000, false, &r2);
	assert_int_equal(r1.n, r2.n);
	for (size_t i = 0; i < r1.n; i++) {
		assert_int_equal(r1.acts[i].t_ms, r2.acts[i].t_ms);
		assert_int_equal(r1.acts[i].value, r2.acts[i].value);
	}
}

static void test_rhv_suspend(void **state)
{
	static const struct expect e[] = {
		{ 0, DT, 100 }, { 20000, DT, 150 }, { 30000, DT, 200 }, { 40000, DT, 300 },
		{ 50000, DT, 400 }, { 60000, DT, 500 }, { 70000, DT, 5000 }, { 80000, AB, 0 },
	};
	struct synth m = fast_passes();
	struct mig_limits lim;
	struct policy p;
	struct run r;

	(void)state;
	policy_limits_default(&lim);
	policy_builtin("rhv-suspend", &p);
	drive(&p, &m, &lim, 200000, 500, false, &r);
	check_sequence(&r, e, sizeof(e) / sizeof(e[0]));
}

static void test_rhv_postcopy(void **state)
{
	static const struct expect ok[] = {
		{ 0, DT, 100 }, { 20000, DT, 150 }, { 30000, DT, 200 }, { 40000, PC, 0 },
	};
	static const struct expect refused[] = {
		{ 0, DT, 100 }, { 20000, DT, 150 }, { 30000, DT, 200 }, { 40000, PC, 0 },
		{ 50000, AB, 0 },
	};
	struct synth m = fast_passes();
	struct mig_limits lim;
	struct policy p;
	struct run r;

	(void)state;
	policy_limits_default(&lim);
	policy_builtin("rhv-postcopy", &p);
	drive(&p, &m, &lim, 200000, 500, false, &r);
	check_sequence(&r, ok, sizeof(ok) / sizeof(ok[0]));
	m = fast_passes();
	drive(&p, &m, &lim, 200000, 500, true, &r);
	check_sequence(&r, refused, sizeof(refused) / sizeof(refused[0]));
}

static void test_rhv_verylarge(void **state)
{
	static const struct expect e[] = {
		{ 0, DT, 300 }, { 20000, DT, 400 }, { 30000, DT, 500 }, { 40000, DT, 700 },
		{ 50000, DT, 1000 }, { 60000, DT, 1500 }, { 70000, DT, 5000 }, { 80000, AB, 0 },
	};
	struct synth m = fast_passes();
	struct mig_limits lim;
	struct policy p;
	struct run r;

	(void)state;
	policy_limits_default(&lim);
	policy_builtin("rhv-verylarge", &p);
	drive(&p, &m, &lim, 200000, 500, false, &r);
	check_sequence(&r, e, sizeof(e) / sizeof(e[0]));
}

static void test_rhv_bandwidth_at_start(void **state)
{
	/* the engine's bandwidth: link / maxMigrations, once, clamped by a hard ceiling */
	struct synth m = fast_passes();
	struct mig_limits lim;
	struct policy p;
	struct run r;

	(void)state;
	policy_limits_default(&lim);
	m.nic_capacity = 1250000000;
	policy_builtin("rhv-minimal", &p);
	drive(&p, &m, &lim, 30000, 500, false, &r);
	assert_int_equal(r.acts[0].kind, POLICY_ACT_SET_BANDWIDTH);
	assert_int_equal(r.acts[0].value, 625000000);
	for (size_t i = 1; i < r.n; i++)
		assert_int_not_equal(r.acts[i].kind, POLICY_ACT_SET_BANDWIDTH);
	m = fast_passes();
	m.nic_capacity = 1250000000;
	m.cap = 20 * MIB;
	lim.bandwidth_max_bps = 20 * MIB;
	drive(&p, &m, &lim, 30000, 500, false, &r);
	assert_int_equal(r.acts[0].kind, POLICY_ACT_SET_DOWNTIME);
}

static void test_nova_steps(void **state)
{
	/* 256 MiB counts as 2 GiB: steps every 150 s, 50 + 45 i ms, abort after 1600 s */
	struct expect e[12];
	struct synth m = fast_passes();
	struct mig_limits lim;
	struct policy p;
	struct run r;

	(void)state;
	for (unsigned i = 0; i <= 10; i++)
		e[i] = (struct expect){ i ? i * 150000 + 500 : 0, DT, 50 + 45 * i };
	e[11] = (struct expect){ 1600500, AB, 0 };
	policy_limits_default(&lim);
	policy_builtin("nova", &p);
	drive(&p, &m, &lim, 2000000, 500, false, &r);
	check_sequence(&r, e, 12);
	assert_int_equal(r.acts[10].value, 500);
	assert_int_equal(r.acts[11].reason, REASON_COMPLETION_TIMEOUT);
}

static void test_nova_large_guest_and_skips(void **state)
{
	/* 8 GiB: delay int(75 * 8) = 600 s; sampled every 700 s the latest due step is set */
	struct synth m = fast_passes();
	struct mig_limits lim;
	struct policy p;
	struct run r;

	(void)state;
	m.ram = 8192 * MIB;
	m.first_ms = 400000;
	policy_limits_default(&lim);
	policy_builtin("nova", &p);
	drive(&p, &m, &lim, 2100000, 700000, false, &r);
	/* t=0 step 0 (50); t=700 s step 1 (95); t=1400 s step 2 (140); t=2100 s step 3 (185) */
	assert_int_equal(r.n, 4);
	assert_int_equal(r.acts[1].value, 95);
	assert_int_equal(r.acts[2].value, 140);
	assert_int_equal(r.acts[3].value, 185);
}

static void test_nova_force_complete(void **state)
{
	struct synth m = fast_passes();
	struct mig_limits lim;
	struct policy p;
	struct run r;

	(void)state;
	policy_limits_default(&lim);
	policy_builtin("nova-force", &p);
	drive(&p, &m, &lim, 2000000, 500, false, &r);
	assert_int_equal(r.acts[r.n - 1].kind, SU);
	assert_int_equal(r.acts[r.n - 1].t_ms, 1600500);
	m = fast_passes();
	lim.allow_postcopy = true;
	lim.postcopy_flag_set = true;
	drive(&p, &m, &lim, 2000000, 500, false, &r);
	assert_int_equal(r.acts[r.n - 1].kind, PC);
	m = fast_passes();
	lim.postcopy_flag_set = false;     /* permitted but not started with the flag: pause */
	drive(&p, &m, &lim, 2000000, 500, false, &r);
	assert_int_equal(r.acts[r.n - 1].kind, SU);
}

static void test_history_and_format(void **state)
{
	static struct mig_history h;
	struct mig_sample s = { 0 };
	struct policy_action a = { .kind = DT, .reason = REASON_INITIAL, .value = 150,
	                           .old_value = 100, .t_ms = 12345 };
	char buf[200];

	(void)state;
	policy_history_init(&h);
	assert_null(policy_history_last(&h));
	s.t_ms = 1000;
	s.phase = MIG_PHASE_PRECOPY;
	s.iteration = 1;
	assert_int_equal(policy_observe(&h, &s), 0);
	s.t_ms = 500;                       /* time going backwards is refused */
	assert_int_equal(policy_observe(&h, &s), -EINVAL);
	assert_int_equal(h.nsamples, 1);
	for (uint32_t i = 0; i < 300; i++) {   /* the ring keeps the newest */
		s.t_ms = 2000 + i * 500;
		s.iteration = 2 + i / 4;
		policy_observe(&h, &s);
	}
	assert_int_equal(policy_history_last(&h)->t_ms, 2000 + 299 * 500);
	assert_int_equal(policy_history_pass(&h, 0)->iteration, 2 + 299 / 4);
	assert_int_equal(policy_history_pass(&h, 0)->samples, 4);
	assert_null(policy_history_pass(&h, MIG_HISTORY_PASSES));
	policy_action_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "t=12.3s set-downtime 100 -> 150 ms (initial: )");
	assert_int_equal(policy_builtin("no-such", &(struct policy){ 0 }), -ENOENT);
	assert_string_equal(policy_id_name(POLICY_ADAPTIVE), "adaptive");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rhv_minimal_fast),
		cmocka_unit_test(test_rhv_minimal_slow_passes),
		cmocka_unit_test(test_rhv_same_at_vdsm_poll_rate),
		cmocka_unit_test(test_rhv_suspend),
		cmocka_unit_test(test_rhv_postcopy),
		cmocka_unit_test(test_rhv_verylarge),
		cmocka_unit_test(test_rhv_bandwidth_at_start),
		cmocka_unit_test(test_nova_steps),
		cmocka_unit_test(test_nova_large_guest_and_skips),
		cmocka_unit_test(test_nova_force_complete),
		cmocka_unit_test(test_history_and_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
