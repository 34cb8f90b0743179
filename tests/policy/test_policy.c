/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy unit tests on synthetic sample streams: the exact RHV (VDSM) and Nova step sequences, and
 * the adaptive policy's rules that can be shown without the simulator (bandwidth share, SLA,
 * post-copy gates, holding on a disturbed network, no flapping).
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

#define MIB 1048576ull

/* A migration stepping one pass every pass_ms after a first pass of first_ms. */
struct synth {
	uint64_t ram, dirty_set;          /* bytes: guest RAM, dirty set found by each sync */
	uint64_t bps;                     /* transfer rate */
	uint64_t first_ms, pass_ms;
	uint64_t nic_capacity, tenant;
	uint32_t downtime_ms;
	uint64_t cap;
	/* disturbances: [from, to) */
	uint64_t err_from, err_to;
	uint64_t dip_from, dip_to;        /* memory_bps at 10 % */
	uint64_t nic_tx;                  /* != 0: the NIC's tx, whatever the migration sends */
	uint64_t blip_at, blip;           /* extra NIC tx in the one sample at blip_at (!= 0) */
	uint64_t tenant_from;             /* tenant traffic only from then on */
	uint64_t nic_known_ms;            /* the NIC's speed reads 0 (unknown) before this */
	uint64_t setup_ms;                /* job set-up: iteration 0, no bandwidth limit yet */
};

static void synth_sample(const struct synth *m, uint64_t t, struct mig_sample *s)
{
	uint32_t it;
	uint64_t into, size;

	memset(s, 0, sizeof(*s));
	if (t < m->first_ms) {
		it = 1;
		into = t;
		size = m->ram;
	} else {
		it = 2 + (uint32_t)((t - m->first_ms) / m->pass_ms);
		into = (t - m->first_ms) % m->pass_ms;
		size = m->dirty_set;
	}
	s->t_ms = t;
	s->iteration = it;
	s->page_size = 4096;
	s->data_total_bytes = s->mem_total_bytes = m->ram;
	s->data_processed_bytes = s->mem_processed_bytes = m->bps * t / 1000;
	s->data_remaining_bytes = s->mem_remaining_bytes =
		size > m->bps * into / 1000 ? size - m->bps * into / 1000 : 0;
	s->memory_bps = m->bps;
	if (t >= m->dip_from && t < m->dip_to)
		s->memory_bps = m->bps / 10;
	s->dirty_pages_per_s = m->dirty_set / 4096 * 1000 / m->pass_ms;
	s->expected_downtime_ms = (uint32_t)(s->data_remaining_bytes * 1000 / m->bps);
	s->downtime_limit_ms = m->downtime_ms;
	s->bandwidth_limit_bps = m->cap;
	s->phase = MIG_PHASE_PRECOPY;
	s->nic_carrier = MIG_NIC_CARRIER_UP;
	s->nic_capacity_bps = t >= m->nic_known_ms ? m->nic_capacity : 0;
	s->nic_tx_bps = m->nic_tx ? m->nic_tx :
	                s->memory_bps + (t >= m->tenant_from ? m->tenant : 0);
	if (m->blip_at && t == m->blip_at)
		s->nic_tx_bps += m->blip;
	if (t < m->setup_ms) {
		s->iteration = 0;
		s->bandwidth_limit_bps = 0;
		s->memory_bps = 0;
	}
	s->nic_mig_tx_bps = m->nic_tx ? 0 : s->memory_bps;
	if (t >= m->err_from && t < m->err_to)
		s->nic_errors_delta = 7;
}

struct run {
	struct policy_action acts[128];
	size_t n;
};

/* Drive policy p over the synthetic job from 0 to end_ms, sampling every step_ms.  Actions are
 * "applied" (downtime and cap feed back into the samples); refuse_postcopy makes the actuator
 * refuse post-copy as libvirt does without the flag. */
static void drive(const struct policy *p, struct synth *m, const struct mig_limits *lim,
                  uint64_t end_ms, uint64_t step_ms, bool refuse_postcopy, struct run *out)
{
	static struct mig_history hist;
	struct policy_state st;

	policy_history_init(&hist);
	policy_state_init(p, &st);
	out->n = 0;
	for (uint64_t t = 0; t <= end_ms && !st.terminal; t += step_ms) {
		struct policy_action a[POLICY_MAX_ACTIONS];
		struct mig_sample s;
		int n;

		synth_sample(m, t, &s);
		assert_int_equal(policy_observe(&hist, &s), 0);
		n = policy_decide(p, &st, &hist, lim, a, POLICY_MAX_ACTIONS);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			bool ok = true;

			if (a[i].kind == POLICY_ACT_SET_DOWNTIME)
				m->downtime_ms = (uint32_t)a[i].value;
			if (a[i].kind == POLICY_ACT_SET_BANDWIDTH)
				m->cap = (uint64_t)a[i].value;
			if (a[i].kind == POLICY_ACT_POSTCOPY && refuse_postcopy)
				ok = false;
			policy_applied(p, &st, &a[i], ok);
			if (out->n < 128)
				out->acts[out->n++] = a[i];
		}
	}
}

static void dump(const struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		char line[256];

		policy_action_format(&r->acts[i], line, sizeof(line));
		print_message("  got %s\n", line);
	}
}

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

#define DT POLICY_ACT_SET_DOWNTIME
#define AB POLICY_ACT_ABORT
#define PC POLICY_ACT_POSTCOPY
#define SU POLICY_ACT_SUSPEND

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

/* ---- adaptive ---------------------------------------------------------------------------------- */

static struct synth plateau(void)
{
	/* lab S1 in closed form: 256 MiB at 20 MiB/s, then 96 MiB found dirty by every sync */
	return (struct synth){ .ram = 256 * MIB, .dirty_set = 96 * MIB, .bps = 20 * MIB,
	                       .first_ms = 12800, .pass_ms = 4800, .downtime_ms = 300 };
}

static const struct policy_action *find(const struct run *r, uint8_t kind)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->acts[i].kind == kind)
			return &r->acts[i];
	return NULL;
}

/* find() for results the test goes on to read: a missing one ends the test there */
static const struct policy_action *must_find(const struct run *r, uint8_t kind)
{
	const struct policy_action *a = find(r, kind);

	if (!a) {
		print_error("expected a %s action among %zu\n",
		            policy_action_name((enum policy_action_kind)kind), r->n);
		for (size_t i = 0; i < r->n; i++) {
			char line[256];

			policy_action_format(&r->acts[i], line, sizeof(line));
			print_error("  got %s\n", line);
		}
		fail();
		abort();
	}
	return a;
}

static void test_adaptive_converging_downtime(void **state)
{
	struct synth m = plateau();
	struct mig_limits lim;
	struct policy p;
	struct run r;
	const struct policy_action *a;
	uint32_t evidence_pass = 3, pass;

	(void)state;
	policy_limits_default(&lim);
	lim.sla_max_downtime_ms = 10000;
	policy_builtin("adaptive", &p);
	drive(&p, &m, &lim, 120000, 500, false, &r);
	a = must_find(&r, DT);
	/* straight to a value that converges (96 MiB / 20 MiB/s = 4.8 s), not step by step */
	assert_true(a->value >= 4800 && a->value <= 7000);
	assert_int_equal(a->reason, REASON_CONVERGING_DOWNTIME);
	/* evidence is clear when pass 3 starts (two post-bulk dirty sets known): act within 2 */
	pass = a->t_ms < m.first_ms ? 1 : 2 + (uint32_t)((a->t_ms - m.first_ms) / m.pass_ms);
	assert_true(pass <= evidence_pass + 2);
	/* one downtime action only: the synthetic job ignores it, but the policy must not ramp
	 * faster than one step per three passes, nor lower it */
	for (size_t i = 0; i < r.n; i++) {
		if (r.acts[i].kind == DT)
			assert_true(r.acts[i].value >= a->value && r.acts[i].value <= 10000);
		assert_int_not_equal(r.acts[i].kind, AB);
		assert_int_not_equal(r.acts[i].kind, PC);
	}
}

static void test_adaptive_passes_shorter_than_two_samples(void **state)
{
	/*
	 * 24 MiB rewritten as fast as the 40 MiB/s cap sends (the lab's run at dirty rate = cap):
	 * QEMU syncs whenever the pending size dips under 12 MiB, so a pass lasts 0.3 s and never
	 * drains.  Sampled every 0.5 s, one or two passes fall between samples, each seen once at
	 * most.  The growth between single samples means nothing: adaptive must take the saw-tooth
	 * peaks as a plateau and set the downtime that converges it (24 MiB / 40 MiB/s = 600 ms).
	 */
	struct mig_limits lim;
	struct policy p;
	struct run r;
	const struct policy_action *a;

	(void)state;
	policy_limits_default(&lim);
	lim.sla_max_downtime_ms = 1000;
	policy_builtin("adaptive", &p);
	/* whatever the phase of the saw-tooth against the sampling */
	for (uint64_t pass_ms = 250; pass_ms <= 450; pass_ms += 50) {
		for (uint64_t first_ms = 6400; first_ms < 6900; first_ms += 100) {
			struct synth m = { .ram = 256 * MIB, .dirty_set = 24 * MIB, .bps = 40 * MIB,
			                   .first_ms = first_ms, .pass_ms = pass_ms,
			                   .downtime_ms = 300 };

			drive(&p, &m, &lim, 60000, 500, false, &r);
			a = find(&r, DT);
			if (!a || a->t_ms > first_ms + 6000) {
				dump(&r);
				fail_msg("passes of %llu ms from %llu ms: no downtime within 6 s",
				         (unsigned long long)pass_ms, (unsigned long long)first_ms);
			}
			assert_int_equal(a->reason, REASON_CONVERGING_DOWNTIME);
			/* above QEMU's 300 ms, within the SLA; it is re-raised if it falls short */
			assert_true(a->value > 300 && a->value <= 1000);
			assert_null(find(&r, AB));
		}
	}
}

static void test_adaptive_sla_and_abort_budget(void **state)
{
	struct synth m = plateau(), m2 = plateau();
	struct mig_limits lim;
	struct policy p, rhv;
	static struct run r, rr;
	const struct policy_action *ab, *rab;

	(void)state;
	policy_limits_default(&lim);
	policy_builtin("adaptive", &p);
	drive(&p, &m, &lim, 300000, 500, false, &r);
	for (size_t i = 0; i < r.n; i++)
		if (r.acts[i].kind == DT)
			assert_true(r.acts[i].value <= 500);
	ab = must_find(&r, AB);
	assert_null(find(&r, PC));
	assert_null(find(&r, SU));
	/* never later than "Minimal downtime" on the same job */
	policy_builtin("rhv-minimal", &rhv);
	drive(&rhv, &m2, &lim, 300000, 500, false, &rr);
	rab = must_find(&rr, AB);
	assert_true(ab->t_ms <= rab->t_ms);
	/* and not before it has seen enough: 6 passes and 20 s after it became hopeless */
	assert_true(ab->t_ms >= 12800 + 4800 + 20000);
}

static void test_adaptive_postcopy_gates(void **state)
{
	struct synth m = plateau();
	struct mig_limits lim;
	struct policy p;
	struct run r;
	const struct policy_action *pc;

	(void)state;
	policy_limits_default(&lim);
	policy_builtin("adaptive", &p);

	/* permitted but not started with the flag: no post-copy */
	lim.allow_postcopy = true;
	drive(&p, &m, &lim, 120000, 500, false, &r);
	assert_null(find(&r, PC));

	/* flag set but not permitted: no post-copy */
	m = plateau();
	lim.allow_postcopy = false;
	lim.postcopy_flag_set = true;
	drive(&p, &m, &lim, 120000, 500, false, &r);
	assert_null(find(&r, PC));

	/* both: post-copy at the evidence */
	m = plateau();
	lim.allow_postcopy = true;
	drive(&p, &m, &lim, 120000, 500, false, &r);
	pc = must_find(&r, PC);
	assert_true(pc->t_ms <= 12800 + 3 * 4800 + 500);

	/* evidence at 9 s, before the NIC has been watched for 10 s: post-copy goes when the
	 * watch is over (10 s), inside the same pass, not one pass later */
	m = plateau();
	m.first_ms = 4000;
	drive(&p, &m, &lim, 120000, 500, false, &r);
	assert_int_equal(must_find(&r, DT)->t_ms, 9000);
	assert_int_equal(must_find(&r, POLICY_ACT_HOLD)->reason, REASON_POSTCOPY_UNSAFE);
	assert_int_equal(must_find(&r, PC)->t_ms, 10000);

	/* both, but the NIC reports errors until 60 s: wait for a healthy network */
	m = plateau();
	m.err_from = 10000;
	m.err_to = 60000;
	drive(&p, &m, &lim, 120000, 500, false, &r);
	pc = must_find(&r, PC);
	assert_true(pc->t_ms >= 60000);
	assert_null(find(&r, AB));
}

static void test_adaptive_suspend_when_permitted(void **state)
{
	struct synth m = plateau();
	struct mig_limits lim;
	struct policy p;
	struct run r;

	(void)state;
	policy_limits_default(&lim);
	lim.allow_suspend = true;
	policy_builtin("adaptive", &p);
	drive(&p, &m, &lim, 120000, 500, false, &r);
	assert_non_null(find(&r, SU));
	assert_null(find(&r, AB));
	/* post-copy is preferred when both are permitted (shorter downtime) */
	m = plateau();
	lim.allow_postcopy = lim.postcopy_flag_set = true;
	drive(&p, &m, &lim, 120000, 500, false, &r);
	assert_non_null(find(&r, PC));
	assert_null(find(&r, SU));
}

static void test_adaptive_holds_on_rate_dip(void **state)
{
	/* transfer rate at 10 % from 15 s to 45 s (a drop, or tenants taking the link): the
	 * plateau evidence taken then must not drive post-copy; after it, it may */
	struct synth m = plateau();
	struct mig_limits lim;
	struct policy p;
	struct run r;
	const struct policy_action *pc;
	bool held = false;

	(void)state;
	m.dip_from = 15000;
	m.dip_to = 45000;
	policy_limits_default(&lim);
	lim.allow_postcopy = lim.postcopy_flag_set = true;
	policy_builtin("adaptive", &p);
	drive(&p, &m, &lim, 150000, 500, false, &r);
	pc = must_find(&r, PC);
	if (pc->t_ms < 45000 + 3000)
		dump(&r);
	assert_true(pc->t_ms >= 45000 + 3000);
	for (size_t i = 0; i < r.n; i++)
		if (r.acts[i].kind == POLICY_ACT_HOLD)
			held = true;
	assert_true(held);
}

static void test_adaptive_bandwidth_share(void **state)
{
	struct synth m = plateau();
	struct mig_limits lim;
	struct policy p;
	struct run r;
	const struct policy_action *bw;

	(void)state;
	policy_limits_default(&lim);
	policy_builtin("adaptive", &p);
	m.nic_capacity = 1000 * MIB;
	m.cap = 20 * MIB;
	drive(&p, &m, &lim, 5000, 500, false, &r);
	bw = must_find(&r, POLICY_ACT_SET_BANDWIDTH);
	assert_int_equal(bw->t_ms, 0);          /* raising may go on the NIC's first sample */
	assert_int_equal(bw->value, 900 * MIB);        /* 10 % reserve */
	assert_int_equal(bw->old_value, 20 * MIB);
	assert_int_equal(bw->reason, REASON_NIC_HEADROOM);

	/* three migrations and 100 MiB/s of tenants: (1000 - 100 - 100) / 3 each */
	m = plateau();
	m.nic_capacity = 1000 * MIB;
	m.cap = 20 * MIB;
	m.tenant = 100 * MIB;
	lim.concurrent_on_nic = 3;
	drive(&p, &m, &lim, 5000, 500, false, &r);
	bw = must_find(&r, POLICY_ACT_SET_BANDWIDTH);
	assert_int_equal(bw->value, 800 * MIB / 3);

	/* a hard ceiling wins */
	m = plateau();
	m.nic_capacity = 1000 * MIB;
	m.cap = 20 * MIB;
	lim.concurrent_on_nic = 1;
	lim.bandwidth_max_bps = 50 * MIB;
	drive(&p, &m, &lim, 5000, 500, false, &r);
	bw = must_find(&r, POLICY_ACT_SET_BANDWIDTH);
	assert_int_equal(bw->value, 50 * MIB);

	/* the NIC carries a tenth of what QEMU sends: not the migration's path, hands off */
	m = plateau();
	m.nic_capacity = 1000 * MIB;
	m.cap = 20 * MIB;
	m.nic_tx = 2 * MIB;
	lim.bandwidth_max_bps = 0;
	drive(&p, &m, &lim, 60000, 500, false, &r);
	assert_null(find(&r, POLICY_ACT_SET_BANDWIDTH));

	/* unknown NIC speed: no bandwidth action at all */
	m = plateau();
	m.cap = 20 * MIB;
	lim.bandwidth_max_bps = 0;
	drive(&p, &m, &lim, 60000, 500, false, &r);
	assert_null(find(&r, POLICY_ACT_SET_BANDWIDTH));
}

/*
 * Traffic the NIC counts in one sample only (its window and QEMU's differ) is no tenant: the share
 * moves when the traffic shows in two samples in a row.
 */
static void test_adaptive_tenant_needs_two_samples(void **state)
{
	struct synth m = plateau();
	struct mig_limits lim;
	struct policy p;
	struct run r;
	const struct policy_action *bw;

	(void)state;
	policy_limits_default(&lim);
	policy_builtin("adaptive", &p);
	lim.bandwidth_max_bps = 20 * MIB;
	m.nic_capacity = 1000 * MIB;
	m.cap = 20 * MIB;
	m.blip_at = 3000;
	m.blip = 980 * MIB;
	drive(&p, &m, &lim, 9000, 500, false, &r);
	assert_null(find(&r, POLICY_ACT_SET_BANDWIDTH));

	/* nor is the gap in the first sample that knows the NIC */
	m = plateau();
	m.nic_capacity = 1000 * MIB;
	m.cap = 20 * MIB;
	m.nic_known_ms = 1000;
	m.blip_at = 1000;
	m.blip = 980 * MIB;
	drive(&p, &m, &lim, 9000, 500, false, &r);
	assert_null(find(&r, POLICY_ACT_SET_BANDWIDTH));

	/* a tenant that stays: the share drops on its second sample */
	m = plateau();
	m.nic_capacity = 1000 * MIB;
	m.cap = 20 * MIB;
	m.tenant = 980 * MIB;
	m.tenant_from = 3000;
	drive(&p, &m, &lim, 9000, 500, false, &r);
	bw = must_find(&r, POLICY_ACT_SET_BANDWIDTH);
	assert_int_equal(bw->t_ms, 3500);
	assert_int_equal(bw->reason, REASON_FAIR_SHARE);
	assert_true(bw->value < 20 * (int64_t)MIB);
}

/*
 * With the dirty rate measured before the job, the SLA step and post-copy come when the bulk pass
 * ends, not two passes later; the NIC's speed becoming known during the bulk pass (the agent finds
 * the NIC after the job starts) does not make that pass "disturbed".
 */
static void test_adaptive_prior_at_bulk_pass_end(void **state)
{
	struct synth m = plateau();
	struct mig_limits lim;
	struct policy p;
	struct run r;
	const struct policy_action *a;

	(void)state;
	policy_limits_default(&lim);
	policy_builtin("adaptive", &p);
	lim.allow_postcopy = lim.postcopy_flag_set = true;
	lim.bandwidth_max_bps = 20 * MIB;
	m.nic_capacity = 1000 * MIB;
	m.cap = 20 * MIB;
	m.nic_known_ms = 1000;
	m.setup_ms = 300;                      /* the first sample: set-up, no cap yet */
	lim.prior_dirty_bps = 40 * MIB;        /* the lab guest: 40 MiB/s over 96 MiB */
	lim.prior_dirty_period_ms = 1000;
	lim.prior_dirty_age_ms = 5000;
	drive(&p, &m, &lim, 60000, 500, false, &r);
	a = must_find(&r, DT);
	assert_int_equal(a->t_ms, 13000);       /* the first sample of pass 2 */
	assert_int_equal(a->value, 500);
	assert_non_null(strstr(a->text, "prior dirty rate 40.0 MiB/s"));
	a = must_find(&r, PC);
	assert_int_equal(a->t_ms, 13000);       /* 10 s of healthy network by then */

	/* 28 MiB/s read by sampling 512 pages per GiB finds ~14 changed pages: it proves only
	 * ~20 MiB/s, under the 25 MiB/s that 1.25 x 20 MiB/s needs */
	m = plateau();
	m.nic_capacity = 1000 * MIB;
	m.cap = 20 * MIB;
	lim.prior_dirty_bps = 28 * MIB;
	drive(&p, &m, &lim, 60000, 500, false, &r);
	a = must_find(&r, DT);
	assert_true(a->t_ms >= 12800 + 4800);
	assert_null(strstr(a->text, "prior"));

	/* the guest dirtied only 20 MiB/s in the measurement: at 20 MiB/s that could still
	 * shrink below what 500 ms drains, so nothing is decided before the evidence */
	m = plateau();
	m.nic_capacity = 1000 * MIB;
	m.cap = 20 * MIB;
	lim.prior_dirty_bps = 20 * MIB;
	drive(&p, &m, &lim, 60000, 500, false, &r);
	a = must_find(&r, DT);
	assert_true(a->t_ms >= 12800 + 4800);
}

static void test_adaptive_no_flapping(void **state)
{
	/* the synthetic job ignores the cap we set, so every sample disagrees with our target:
	 * hysteresis and the minimum interval must keep us from chasing it */
	struct synth m = plateau();
	struct mig_limits lim;
	struct policy p;
	struct run r;
	unsigned nbw = 0;
	int64_t last_dt = 0;

	(void)state;
	policy_limits_default(&lim);
	lim.sla_max_downtime_ms = 10000;
	policy_builtin("adaptive", &p);
	m.nic_capacity = 100 * MIB;
	m.cap = 20 * MIB;           /* raised once to 90 MiB/s; the job keeps showing 20 MiB/s */
	drive(&p, &m, &lim, 300000, 500, false, &r);
	for (size_t i = 0; i < r.n; i++) {
		if (r.acts[i].kind == POLICY_ACT_SET_BANDWIDTH)
			nbw++;
		if (r.acts[i].kind == DT) {
			assert_true(r.acts[i].value >= last_dt);
			last_dt = r.acts[i].value;
		}
	}
	assert_int_equal(nbw, 1);
	/* the downtime is raised at most once per three passes: <= 1 + 280 s / (3 x 4.8 s) */
	{
		unsigned ndt = 0;

		for (size_t i = 0; i < r.n; i++)
			ndt += r.acts[i].kind == DT;
		assert_true(ndt <= 1 + 280000 / (3 * 4800));
	}
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
		cmocka_unit_test(test_adaptive_converging_downtime),
		cmocka_unit_test(test_adaptive_passes_shorter_than_two_samples),
		cmocka_unit_test(test_adaptive_sla_and_abort_budget),
		cmocka_unit_test(test_adaptive_postcopy_gates),
		cmocka_unit_test(test_adaptive_suspend_when_permitted),
		cmocka_unit_test(test_adaptive_holds_on_rate_dip),
		cmocka_unit_test(test_adaptive_bandwidth_share),
		cmocka_unit_test(test_adaptive_tenant_needs_two_samples),
		cmocka_unit_test(test_adaptive_prior_at_bulk_pass_end),
		cmocka_unit_test(test_adaptive_no_flapping),
		cmocka_unit_test(test_history_and_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
