/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Nova's libvirt driver defaults, as its monitor loop applies them:
 *  - data size = guest RAM in GiB, at least 2;
 *  - downtime steps: 11 steps (i = 0..10) at i * int(75 s * data) of 50 + 45 * i ms (500 ms / 10
 *    and (500 - 50) / 10); at each check the latest step whose time has strictly passed is set;
 *  - completion timeout 800 s * data: abort, or with timeout action force_complete, post-copy when
 *    permitted (and the job was started with the flag) else pause the guest.
 * Nova's progress-based stall detection was removed upstream and is not reproduced.
 */
#include <inttypes.h>

#include "policy.h"
#include "policy_impl.h"

#define NOVA_DOWNTIME_MS  500u
#define NOVA_STEPS        10u
#define NOVA_DELAY_S      75u
#define NOVA_COMPLETION_S 800u

double nova_data_gib(const struct mig_history *hist, const struct mig_limits *lim)
{
	double gib = guest_ram_bytes(hist, lim) / 1073741824.0;

	return gib < 2.0 ? 2.0 : gib;
}

void nova_decide(const struct policy *p, struct policy_state *st, const struct mig_history *hist,
                 const struct mig_limits *lim, struct action_buf *out)
{
	const struct mig_sample *s = policy_history_last(hist);
	double data_gib = nova_data_gib(hist, lim);
	uint64_t delay_ms = (uint64_t)(NOVA_DELAY_S * data_gib) * 1000u;
	uint64_t timeout_ms = (uint64_t)(NOVA_COMPLETION_S * data_gib) * 1000u;
	unsigned base = NOVA_DOWNTIME_MS / NOVA_STEPS;
	unsigned offset = (NOVA_DOWNTIME_MS - base) / NOVA_STEPS;
	unsigned due = 0;
	bool any = false;

	if (!st->started) {
		st->started = true;
		st->t_start_ms = s->t_ms;
	}
	if (s->phase != MIG_PHASE_PRECOPY && s->phase != MIG_PHASE_SETUP)
		return;

	for (unsigned i = 0; i <= NOVA_STEPS; i++) {
		/* step 0 is due at once: Nova compares elapsed > 0 on its first check */
		if (s->t_ms > i * delay_ms || (i == 0 && !st->nova_step)) {
			due = i;
			any = true;
		}
	}
	if (any && (due + 1 > st->nova_step)) {
		unsigned ms = base + offset * due;
		int64_t old = s->downtime_limit_ms ? (int64_t)s->downtime_limit_ms : -1;

		st->nova_step = (uint8_t)(due + 1);
		action_push(out, POLICY_ACT_SET_DOWNTIME,
		            due ? REASON_TIME_STEP : REASON_INITIAL, ms, old,
		            "step %u of %u at %" PRIu64 " s (%u s x %.2f GiB): downtime %u ms", due,
		            NOVA_STEPS, due * delay_ms / 1000, NOVA_DELAY_S, data_gib, ms);
	}

	if (s->phase == MIG_PHASE_PRECOPY && s->t_ms > timeout_ms) {
		bool postcopy = lim->allow_postcopy && lim->postcopy_flag_set;

		if (p->id == POLICY_NOVA_FORCE && postcopy)
			action_push(out, POLICY_ACT_POSTCOPY, REASON_COMPLETION_TIMEOUT, 0, -1,
			            "elapsed %" PRIu64 " s > %" PRIu64 " s (800 s x %.2f GiB): force complete"
			            " by post-copy", s->t_ms / 1000, timeout_ms / 1000, data_gib);
		else if (p->id == POLICY_NOVA_FORCE)
			action_push(out, POLICY_ACT_SUSPEND, REASON_COMPLETION_TIMEOUT, 0, -1,
			            "elapsed %" PRIu64 " s > %" PRIu64 " s (800 s x %.2f GiB): force complete"
			            " by pausing", s->t_ms / 1000, timeout_ms / 1000, data_gib);
		else
			action_push(out, POLICY_ACT_ABORT, REASON_COMPLETION_TIMEOUT, 0, -1,
			            "elapsed %" PRIu64 " s > %" PRIu64 " s (800 s x %.2f GiB): abort",
			            s->t_ms / 1000, timeout_ms / 1000, data_gib);
		st->terminal = true;
	}
}
