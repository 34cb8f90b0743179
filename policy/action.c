/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Actions: how a policy writes one (with its reason and numbers), and their names and one-line
 * format for the ring, the log and migsim.  Pure code: no I/O, no clock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "policy_impl.h"

bool action_push(struct action_buf *out, enum policy_action_kind kind, enum policy_reason reason,
                 int64_t value, int64_t old_value, const char *fmt, ...)
{
	struct policy_action *a;
	va_list ap;

	if (out->n >= out->max)
		return false;
	a = &out->a[out->n++];
	memset(a, 0, sizeof(*a));
	a->kind = (uint8_t)kind;
	a->reason = (uint8_t)reason;
	a->value = value;
	a->old_value = old_value;
	a->t_ms = out->t_ms;
	va_start(ap, fmt);
	vsnprintf(a->text, sizeof(a->text), fmt, ap);
	va_end(ap);
	return true;
}

const char *policy_action_name(enum policy_action_kind k)
{
	switch (k) {
	case POLICY_ACT_SET_DOWNTIME: return "set-downtime";
	case POLICY_ACT_SET_BANDWIDTH: return "set-bandwidth";
	case POLICY_ACT_POSTCOPY: return "postcopy";
	case POLICY_ACT_SUSPEND: return "suspend";
	case POLICY_ACT_ABORT: return "abort";
	case POLICY_ACT_HOLD: return "hold";
	}
	return "?";
}

static const char *const reason_names[REASON_MAX] = {
	[REASON_NONE] = "none",
	[REASON_INITIAL] = "initial",
	[REASON_STALLED_ITERATIONS] = "stalled-iterations",
	[REASON_SCHEDULE_EXHAUSTED] = "schedule-exhausted",
	[REASON_TIME_STEP] = "time-step",
	[REASON_COMPLETION_TIMEOUT] = "completion-timeout",
	[REASON_NIC_HEADROOM] = "nic-headroom",
	[REASON_FAIR_SHARE] = "fair-share",
	[REASON_CONVERGING_DOWNTIME] = "converging-downtime",
	[REASON_SLA_EXCEEDED] = "sla-exceeded",
	[REASON_NETWORK_UNSTEADY] = "network-unsteady",
	[REASON_POSTCOPY_UNSAFE] = "postcopy-unsafe",
	[REASON_HOPELESS] = "hopeless",
	[REASON_BUDGET_SPENT] = "budget-spent",
	[REASON_PARK] = "park",
	[REASON_RESUME] = "resume",
	[REASON_PROBE] = "probe",
};

const char *policy_reason_name(enum policy_reason r)
{
	if ((unsigned)r >= REASON_MAX)
		return "?";
	return reason_names[r];
}

int policy_action_format(const struct policy_action *a, char *buf, size_t len)
{
	const char *name = policy_action_name((enum policy_action_kind)a->kind);
	const char *why = policy_reason_name((enum policy_reason)a->reason);
	unsigned long long t10 = (unsigned long long)(a->t_ms / 100);
	int n;

	switch (a->kind) {
	case POLICY_ACT_SET_DOWNTIME:
		n = snprintf(buf, len, "t=%llu.%llus %s %" PRId64 " -> %" PRId64 " ms (%s: %s)",
		             t10 / 10, t10 % 10, name, a->old_value, a->value, why, a->text);
		break;
	case POLICY_ACT_SET_BANDWIDTH:
		n = snprintf(buf, len, "t=%llu.%llus %s %.1f -> %.1f MiB/s (%s: %s)", t10 / 10,
		             t10 % 10, name, a->old_value / 1048576.0, a->value / 1048576.0, why,
		             a->text);
		break;
	default:
		n = snprintf(buf, len, "t=%llu.%llus %s (%s: %s)", t10 / 10, t10 % 10, name, why,
		             a->text);
		break;
	}
	return n < 0 ? -EINVAL : n;
}
