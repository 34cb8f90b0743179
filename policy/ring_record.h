/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How a policy's decision is written to the telemetry ring (shm/ring.h): the values and the
 * prediction record of an action.  Shared by the agent's actuator and migsim's recorder, which
 * record the same decisions the same way.  Header only, and not included by the policy library
 * itself: the policies know nothing of the ring.
 */
#ifndef MIGTUNE_POLICY_RING_RECORD_H
#define MIGTUNE_POLICY_RING_RECORD_H

#include <stdbool.h>
#include <string.h>

#include "policy/policy.h"
#include "ring.h"

_Static_assert(POLICY_PRED_NEVER == RING_PRED_NEVER, "one 'never' for the policy and ring");
_Static_assert((int)POLICY_ACT_SET_DOWNTIME == (int)RING_ACT_SET_DOWNTIME &&
	       (int)POLICY_ACT_SET_BANDWIDTH == (int)RING_ACT_SET_BANDWIDTH &&
	       (int)POLICY_ACT_POSTCOPY == (int)RING_ACT_POSTCOPY &&
	       (int)POLICY_ACT_SUSPEND == (int)RING_ACT_SUSPEND &&
	       (int)POLICY_ACT_ABORT == (int)RING_ACT_ABORT &&
	       (int)POLICY_ACT_HOLD == (int)RING_ACT_HOLD, "policy action kinds are the ring's");

/* An action's value as the ring keeps it: bandwidth in MiB/s, what libvirt takes, rounded up
 * from the policy's bytes/s; the others as they are. */
static inline int64_t policy_ring_value(uint8_t kind, int64_t v)
{
	if (kind == POLICY_ACT_SET_BANDWIDTH && v > 0)
		return (v + (1 << 20) - 1) >> 20;
	return v;
}

/* The prediction record of action a (RING_REC_PREDICTION, written right after the action);
 * false, and *ret untouched, when the policy predicted nothing. */
static inline bool policy_ring_prediction(const struct policy_action *a,
					  struct ring_prediction *ret)
{
	const struct policy_prediction *p = &a->pred;

	if (!p->time_ms && !p->downtime_ms && !p->bytes && !p->wait_ms)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->kind = a->kind;
	ret->reason_code = a->reason;
	ret->time_ms = p->time_ms;
	ret->bytes = p->bytes;
	ret->downtime_ms = p->downtime_ms;
	ret->wait_ms = p->wait_ms;
	return true;
}

#endif
