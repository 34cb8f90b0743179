/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RHV/oVirt convergence schedules, executed with VDSM's semantics:
 *  - the initial items are applied when the job is first seen;
 *  - the schedule is checked once per monitor poll (10 s), never more than one action per poll;
 *  - "stalling" is the pass number minus the pass seen at the first poll; the head convergence item
 *    fires when stalling > its stallingLimit;
 *  - once the convergence items are used up, each later poll fires the next last item;
 *  - nothing fires outside pre-copy (after post-copy started, or while suspended).
 * The same engine runs user schedules loaded from JSON (policy_json.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "policy_impl.h"

#define DT(ms) { .action = SCHED_SET_DOWNTIME, .downtime_ms = (ms) }
#define STEP(lim, ms) { .action = SCHED_SET_DOWNTIME, .stalling_limit = (lim), .downtime_ms = (ms) }
#define POSTCOPY { .action = SCHED_POSTCOPY }
#define ABORT { .action = SCHED_ABORT }

void sched_builtin(enum policy_id id, struct sched *ret_sched)
{
	static const struct sched minimal = {
		.name = "Minimal downtime",
		.uuid = "80554327-0569-496b-bdeb-fcbbf52b827b",
		.max_migrations = 2, .auto_convergence = true,
		.ninitial = 1, .initial = { DT(100) },
		.nconvergence = 5,
		.convergence = { STEP(1, 150), STEP(2, 200), STEP(3, 300), STEP(4, 400), STEP(6, 500) },
		.nlast = 1, .last = { ABORT },
	};
	static const struct sched suspend = {
		.name = "Suspend workload if needed",
		.uuid = "80554327-0569-496b-bdeb-fcbbf52b827c",
		.max_migrations = 1, .auto_convergence = true, .compression = true,
		.ninitial = 1, .initial = { DT(100) },
		.nconvergence = 5,
		.convergence = { STEP(1, 150), STEP(2, 200), STEP(3, 300), STEP(4, 400), STEP(6, 500) },
		.nlast = 2, .last = { DT(5000), ABORT },
	};
	static const struct sched postcopy = {
		.name = "Post-copy migration",
		.uuid = "a7aeedb2-8d66-4e51-bb22-32595027ce71",
		.max_migrations = 2, .auto_convergence = true,
		.ninitial = 1, .initial = { DT(100) },
		.nconvergence = 2,
		.convergence = { STEP(1, 150), STEP(2, 200) },
		.nlast = 2, .last = { POSTCOPY, ABORT },
	};
	static const struct sched verylarge = {
		.name = "Very large VMs",
		.max_migrations = 1, .auto_convergence = true,
		.ninitial = 1, .initial = { DT(300) },
		.nconvergence = 5,
		.convergence = { STEP(1, 400), STEP(2, 500), STEP(3, 700), STEP(4, 1000), STEP(6, 1500) },
		.nlast = 2, .last = { DT(5000), ABORT },
	};

	switch (id) {
	case POLICY_RHV_MINIMAL: *ret_sched = minimal; break;
	case POLICY_RHV_SUSPEND: *ret_sched = suspend; break;
	case POLICY_RHV_POSTCOPY: *ret_sched = postcopy; break;
	case POLICY_RHV_VERYLARGE: *ret_sched = verylarge; break;
	default: memset(ret_sched, 0, sizeof(*ret_sched)); break;
	}
}

static void sched_fire(const struct sched_item *it, enum policy_reason reason,
                       const struct mig_sample *s, uint32_t stalling, const struct sched_item *head,
                       struct action_buf *out)
{
	int64_t old = s->downtime_limit_ms ? (int64_t)s->downtime_limit_ms : -1;
	char why[64];

	if (reason == REASON_INITIAL)
		snprintf(why, sizeof(why), "initial item");
	else if (reason == REASON_STALLED_ITERATIONS)
		snprintf(why, sizeof(why), "pass %" PRIu32 ", stalling %" PRIu32 " > limit %" PRIu32,
		         s->iteration, stalling, head->stalling_limit);
	else
		snprintf(why, sizeof(why), "pass %" PRIu32 ", schedule exhausted", s->iteration);

	switch (it->action) {
	case SCHED_SET_DOWNTIME:
		action_push(out, POLICY_ACT_SET_DOWNTIME, reason, it->downtime_ms, old,
		            "%s: downtime %" PRIu32 " ms", why, it->downtime_ms);
		break;
	case SCHED_POSTCOPY:
		action_push(out, POLICY_ACT_POSTCOPY, reason, 0, -1, "%s: switch to post-copy", why);
		break;
	case SCHED_ABORT:
		action_push(out, POLICY_ACT_ABORT, reason, 0, -1, "%s: abort", why);
		break;
	default:
		break;
	}
}

void sched_decide(const struct policy *p, struct policy_state *st, const struct mig_history *hist,
                  const struct mig_limits *lim, struct action_buf *out)
{
	const struct mig_sample *s = policy_history_last(hist);
	const struct sched *sc = &p->sched;
	uint32_t poll_ms = p->poll_ms ? p->poll_ms : 10000;
	uint32_t stalling;

	if (!st->started) {
		st->started = true;
		st->t_start_ms = s->t_ms;
		st->t_last_poll_ms = s->t_ms;
		/* The engine fixes the bandwidth when it starts the job: link speed / maxMigrations. */
		if (sc->max_migrations && s->nic_capacity_bps) {
			uint64_t bw = s->nic_capacity_bps / sc->max_migrations;

			if (lim->bandwidth_max_bps && bw > lim->bandwidth_max_bps)
				bw = lim->bandwidth_max_bps;
			if (bw != s->bandwidth_limit_bps)
				action_push(out, POLICY_ACT_SET_BANDWIDTH, REASON_INITIAL, (int64_t)bw,
				            (int64_t)s->bandwidth_limit_bps,
				            "initial: link %.0f MiB/s / %" PRIu32 " migrations",
				            s->nic_capacity_bps / 1048576.0, sc->max_migrations);
		}
		for (unsigned i = 0; i < sc->ninitial; i++)
			sched_fire(&sc->initial[i], REASON_INITIAL, s, 0, NULL, out);
		return;
	}
	if (s->t_ms < st->t_last_poll_ms + poll_ms)
		return;
	/* keep VDSM's cadence: polls at start + k * interval, whatever our sampling rate */
	st->t_last_poll_ms = s->t_ms - (s->t_ms - st->t_last_poll_ms) % poll_ms;
	if (s->phase != MIG_PHASE_PRECOPY)
		return;
	if (!st->base_set) {
		/* the first poll's pass is the reference: the bulk pass takes longest */
		st->base_set = true;
		st->base_iteration = s->iteration;
	}
	stalling = s->iteration > st->base_iteration ? s->iteration - st->base_iteration : 0;
	if (st->next_conv < sc->nconvergence) {
		const struct sched_item *head = &sc->convergence[st->next_conv];

		if (head->stalling_limit < stalling) {
			sched_fire(head, REASON_STALLED_ITERATIONS, s, stalling, head, out);
			st->next_conv++;
		}
		return;
	}
	if (st->next_last < sc->nlast) {
		const struct sched_item *it = &sc->last[st->next_last++];

		sched_fire(it, REASON_SCHEDULE_EXHAUSTED, s, stalling, NULL, out);
		if (it->action == SCHED_ABORT)
			st->terminal = true;
	}
}
