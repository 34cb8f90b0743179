/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * This host's downtime overshoot: how far QEMU's real downtime goes past the max downtime it was
 * given (the final sync's pages, the device state, the switch), learned from the migrations that
 * complete here and handed to every job's policy (mig_limits.downtime_overshoot_permille), so that
 * the largest limit the policy sets keeps the guest's stop within its SLA.
 *
 * One observation per completed pre-copy job: its real downtime (the final statistics) over the
 * max downtime in force when it ended, in permille.  A job whose limit was under
 * OVERSHOOT_MIN_LIMIT_MS does not count: below it the switch's fixed costs, not the limit, set
 * the downtime.  The estimate is the largest of the last OVERSHOOT_WINDOW observations, never
 * under OVERSHOOT_FLOOR_PERMILLE: the policy plans with the worst this host showed lately, and an
 * outlier leaves after OVERSHOOT_WINDOW more completions.  An estimate below what the policy
 * assumes by itself is handed over only once OVERSHOOT_TRUST_AFTER observations agree: a few
 * migrations over a fast link must not take away the policy's margin; one above it is handed over
 * at once.
 *
 * Pure: the caller records and logs each observation.
 */
#ifndef MIGTUNE_AGENT_OVERSHOOT_H
#define MIGTUNE_AGENT_OVERSHOOT_H

#include <stdint.h>

#define OVERSHOOT_WINDOW         8u
#define OVERSHOOT_MIN_LIMIT_MS   100u
#define OVERSHOOT_FLOOR_PERMILLE 1000u
#define OVERSHOOT_TRUST_AFTER    3u
#define OVERSHOOT_MAX_PERMILLE   100000u   /* an observation is counted as at most 100 x */

struct overshoot {
	uint32_t assumed_permille;           /* what the policy assumes without an estimate */
	uint32_t taken;                      /* observations ever taken */
	uint32_t obs[OVERSHOOT_WINDOW];      /* the newest at (taken - 1) % OVERSHOOT_WINDOW */
};

/* assumed_permille: the policy's own assumption (policy_adaptive_defaults' overshoot). */
void overshoot_init(struct overshoot *o, uint32_t assumed_permille);

/*
 * One completed pre-copy job: real downtime and the limit in force at its end, in ms.  Returns
 * the observation in permille, or -EDOM when it does not count (a limit under
 * OVERSHOOT_MIN_LIMIT_MS, or either value unknown: 0).
 */
int overshoot_observe(struct overshoot *o, uint32_t real_ms, uint32_t limit_ms);

/* What the policy is handed: 0 while nothing trustworthy is known (it then assumes its own). */
uint32_t overshoot_estimate(const struct overshoot *o);

/* Observations the estimate is taken over (at most OVERSHOOT_WINDOW). */
uint32_t overshoot_count(const struct overshoot *o);

#endif
