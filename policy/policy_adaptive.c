/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The adaptive policy's entry points: its defaults, one decision (estimate, then choose: see
 * adaptive.h) and what it learns from the actions that took.
 */
#include <string.h>

#include "adaptive.h"

void policy_adaptive_defaults(struct adaptive_params *ret_params)
{
	*ret_params = (struct adaptive_params){
		.plateau_permille = 900,
		.margin_permille = 1250,
		.converge_soon_ms = 30000,
		.prior_max_age_ms = 180000,
		.prior_sample_pages_per_gib = 512,
		.steady_permille = 250,
		.settle_ms = 3000,
		.degraded_permille = 500,
		.degraded_hold_ms = 60000,
		.nic_overhead_permille = 50,
		.tenant_noise_permille = 100,
		.tenant_noise_min_bps = 1u << 20,
		.probe_follow_permille = 850,
		.bw_hysteresis_permille = 200,
		.bw_min_interval_ms = 5000,
		.bw_floor_bps = 8u << 20,
		.overshoot_permille = 1200,
		.postcopy_health_min_ms = 3000,
		.postcopy_exposure_x = 2,
		.park_bps = 1u << 20,
		.park_look_ms = 30000,
	};
}

void adaptive_decide(const struct policy *p, struct policy_state *st,
                     const struct mig_history *hist, const struct mig_limits *lim,
                     struct action_buf *out)
{
	const struct mig_sample *s = policy_history_last(hist);
	struct picture pic;

	if (!st->started) {
		st->started = true;
		st->t_start_ms = s->t_ms;
	}
	adaptive_estimate(&p->adaptive, &st->ad, hist, lim, &pic);
	if (s->phase != MIG_PHASE_PRECOPY)
		return;
	adaptive_choose(&p->adaptive, st, &pic, lim, out, s);
}

void adaptive_applied(struct policy_state *st, const struct policy_action *a, bool ok)
{
	if (!ok)
		return;
	if (a->kind == POLICY_ACT_SET_DOWNTIME) {
		st->ad.downtime_set_ms = (uint32_t)a->value;
	} else if (a->kind == POLICY_ACT_SET_BANDWIDTH) {
		st->ad.bw_set_bps = (uint64_t)a->value;
		st->ad.t_bw_set_ms = a->t_ms ? a->t_ms : 1;
	}
}
