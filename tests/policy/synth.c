/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Synthetic migration jobs for the policy tests (synth.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth.h"

void synth_sample(const struct synth *m, uint64_t t, struct mig_sample *s)
{
	uint32_t it;
	uint64_t into, size;

	memset(s, 0, sizeof(*s));
	if (t < m->first_ms) {
		it = 1;
		into = t;
		size = m->ram;
	} else if (m->shrink_permille) {
		/* pass k (from 2) finds dirty_set x shrink^(k-2) and lasts what that takes at bps */
		uint64_t start = m->first_ms, d = m->dirty_set;

		it = 2;
		for (;;) {
			uint64_t len = d * 1000 / m->bps;

			if (len < 50)
				len = 50;
			if (t < start + len || it > 10000)
				break;
			start += len;
			d = d * m->shrink_permille / 1000;
			it++;
		}
		into = t - start;
		size = d;
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
	if (m->follow_cap && m->cap)
		s->memory_bps = m->cap;
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
	                s->memory_bps + s->memory_bps * m->overhead_permille / 1000 +
	                (t >= m->tenant_from ? m->tenant : 0);
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

void drive(const struct policy *p, struct synth *m, const struct mig_limits *lim,
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
	out->t_verdict_ms = st.t_verdict_ms;
}

void run_dump(const struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		char line[256];

		policy_action_format(&r->acts[i], line, sizeof(line));
		print_message("  got %s\n", line);
	}
}

const struct policy_action *run_find(const struct run *r, uint8_t kind)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->acts[i].kind == kind)
			return &r->acts[i];
	return NULL;
}

const struct policy_action *run_must_find(const struct run *r, uint8_t kind)
{
	const struct policy_action *a = run_find(r, kind);

	if (!a) {
		print_error("expected a %s action among %zu\n",
		            policy_action_name((enum policy_action_kind)kind), r->n);
		run_dump(r);
		fail();
		abort();
	}
	return a;
}

unsigned run_count(const struct run *r, uint8_t kind)
{
	unsigned n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->acts[i].kind == kind;
	return n;
}
