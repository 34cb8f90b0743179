/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The built-in policies by name (and RHV JSON schedules turned into policies), and one decision
 * handed to the policy in force.  Pure code: no I/O, no clock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "policy_impl.h"

int policy_decide(const struct policy *p, struct policy_state *st, const struct mig_history *hist,
                  const struct mig_limits *lim, struct policy_action *ret_actions, size_t max)
{
	struct action_buf out = { .a = ret_actions, .max = max };
	const struct mig_sample *s = policy_history_last(hist);

	if (!s)
		return -EINVAL;
	out.t_ms = s->t_ms;
	if (st->terminal || s->phase == MIG_PHASE_DONE)
		return 0;

	switch (p->id) {
	case POLICY_NONE:
		break;
	case POLICY_RHV_MINIMAL:
	case POLICY_RHV_SUSPEND:
	case POLICY_RHV_POSTCOPY:
	case POLICY_RHV_VERYLARGE:
	case POLICY_SCHEDULE:
		sched_decide(p, st, hist, lim, &out);
		break;
	case POLICY_NOVA:
	case POLICY_NOVA_FORCE:
		nova_decide(p, st, hist, lim, &out);
		break;
	case POLICY_ADAPTIVE:
		adaptive_decide(p, st, hist, lim, &out);
		break;
	default:
		return -EINVAL;
	}
	for (size_t i = 0; i < out.n; i++) {
		if (ret_actions[i].kind == POLICY_ACT_HOLD)
			continue;
		if (!st->t_first_action_ms && ret_actions[i].reason != REASON_INITIAL)
			st->t_first_action_ms = s->t_ms ? s->t_ms : 1;
	}
	return (int)out.n;
}

void policy_applied(const struct policy *p, struct policy_state *st, const struct policy_action *a,
                    bool ok)
{
	switch (a->kind) {
	case POLICY_ACT_ABORT:
		st->terminal = true;
		break;
	case POLICY_ACT_POSTCOPY:
	case POLICY_ACT_SUSPEND:
		/* a refused post-copy leaves the schedule free to go on (VDSM then aborts) */
		if (ok)
			st->terminal = true;
		break;
	case POLICY_ACT_SET_DOWNTIME:
	case POLICY_ACT_SET_BANDWIDTH:
		if (p->id == POLICY_ADAPTIVE)
			adaptive_applied(st, a, ok);
		break;
	default:
		break;
	}
}

int policy_builtin_id(enum policy_id id, struct policy *ret_policy)
{
	struct policy p;

	memset(&p, 0, sizeof(p));
	p.id = (uint8_t)id;
	p.poll_ms = 10000;
	policy_adaptive_defaults(&p.adaptive);
	switch (id) {
	case POLICY_NONE:
	case POLICY_NOVA:
	case POLICY_NOVA_FORCE:
	case POLICY_ADAPTIVE:
		break;
	case POLICY_RHV_MINIMAL:
	case POLICY_RHV_SUSPEND:
	case POLICY_RHV_POSTCOPY:
	case POLICY_RHV_VERYLARGE:
		sched_builtin(id, &p.sched);
		break;
	default:
		return -ENOENT;
	}
	snprintf(p.name, sizeof(p.name), "%s", policy_id_name(id));
	*ret_policy = p;
	return 0;
}

int policy_builtin(const char *name, struct policy *ret_policy)
{
	for (unsigned i = 0; i < POLICY_SCHEDULE; i++)
		if (!strcmp(name, policy_id_name((enum policy_id)i)))
			return policy_builtin_id((enum policy_id)i, ret_policy);
	return -ENOENT;
}

void policy_from_sched(const struct sched *s, struct policy *ret_policy)
{
	memset(ret_policy, 0, sizeof(*ret_policy));
	ret_policy->id = POLICY_SCHEDULE;
	ret_policy->poll_ms = 10000;
	ret_policy->sched = *s;
	policy_adaptive_defaults(&ret_policy->adaptive);
	snprintf(ret_policy->name, sizeof(ret_policy->name), "%s", s->name);
}

