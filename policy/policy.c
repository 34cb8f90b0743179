/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy framework: the sample history, per-pass summaries, dispatch to the policies, names.
 * Pure code: no I/O, no clock, no allocation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "policy_impl.h"

void policy_limits_default(struct mig_limits *ret_limits)
{
	*ret_limits = (struct mig_limits){
		.sla_max_downtime_ms = 500,
		.allow_postcopy = false,
		.postcopy_flag_set = false,
		.allow_suspend = false,
		.budget_s_per_gib = 150,
		.budget_min_s = 60,
		.reserve_permille = 100,
		.concurrent_on_nic = 1,
		.bandwidth_max_bps = 0,
		.guest_ram_bytes = 0,
		.on_hopeless = MIG_ON_HOPELESS_PARK,
		.allow_abort = true,
		.postcopy_recovery = false,
		.downtime_overshoot_permille = 0,
	};
}

void policy_history_init(struct mig_history *ret_hist)
{
	memset(ret_hist, 0, sizeof(*ret_hist));
}

const struct mig_sample *policy_history_last(const struct mig_history *hist)
{
	if (!hist->nsamples)
		return NULL;
	return &hist->samples[(hist->nsamples - 1) % MIG_HISTORY_SAMPLES];
}

const struct mig_pass *policy_history_pass(const struct mig_history *hist, uint32_t i)
{
	if (i >= hist->npasses || i >= MIG_HISTORY_PASSES)
		return NULL;
	return &hist->passes[(hist->npasses - 1 - i) % MIG_HISTORY_PASSES];
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/*
 * A sample is "unsteady" when something outside the guest changed how fast we can send: carrier,
 * errors or drops, link speed, a changed bandwidth limit, or a transfer rate far from its average.
 * Passes containing such samples are not used as evidence about the guest's dirtying, because a
 * slow pass lets the guest dirty more and looks exactly like a plateau.
 */
static bool sample_unsteady(const struct mig_history *hist, const struct mig_sample *prev,
                            const struct mig_sample *s)
{
	if (s->nic_carrier == MIG_NIC_CARRIER_DOWN || s->nic_errors_delta || s->nic_drops_delta)
		return true;
	/* a sample from the job's set-up (before the first pass) has no limits in force yet:
	 * libvirt applies a job's --bandwidth after it, which is no change */
	if (!prev || !prev->iteration)
		return false;
	if (prev->nic_carrier == MIG_NIC_CARRIER_DOWN)
		return true;
	/* the speed becoming known (the NIC found after the job began) is not a change */
	if (prev->nic_capacity_bps && prev->nic_capacity_bps != s->nic_capacity_bps)
		return true;
	if (prev->bandwidth_limit_bps != s->bandwidth_limit_bps)
		return true;
	if (hist->bw_ewma_bps && hist->nsamples >= 3 && s->phase == MIG_PHASE_PRECOPY &&
	    absdiff(s->memory_bps, hist->bw_ewma_bps) * 100 > hist->bw_ewma_bps * 35)
		return true;
	return false;
}

int policy_observe(struct mig_history *hist, const struct mig_sample *s)
{
	const struct mig_sample *prev = policy_history_last(hist);
	struct mig_pass *cur;
	bool unsteady;

	if (prev && s->t_ms < prev->t_ms)
		return -EINVAL;
	unsteady = sample_unsteady(hist, prev, s);
	hist->samples[hist->nsamples % MIG_HISTORY_SAMPLES] = *s;
	hist->nsamples++;

	if (s->phase != MIG_PHASE_PRECOPY || s->iteration == 0)
		return 0;

	cur = hist->npasses ? &hist->passes[(hist->npasses - 1) % MIG_HISTORY_PASSES] : NULL;
	if (!cur || s->iteration > cur->iteration) {
		cur = &hist->passes[hist->npasses % MIG_HISTORY_PASSES];
		hist->npasses++;
		*cur = (struct mig_pass){
			.iteration = s->iteration,
			.t_first_ms = s->t_ms,
			.remaining_max_bytes = s->data_remaining_bytes,
			.remaining_min_bytes = s->data_remaining_bytes,
			.processed_first_bytes = s->data_processed_bytes,
			.bps_min = s->memory_bps,
			.bps_max = s->memory_bps,
		};
	}
	cur->samples++;
	cur->t_last_ms = s->t_ms;
	if (s->data_remaining_bytes > cur->remaining_max_bytes)
		cur->remaining_max_bytes = s->data_remaining_bytes;
	if (s->data_remaining_bytes < cur->remaining_min_bytes)
		cur->remaining_min_bytes = s->data_remaining_bytes;
	cur->processed_last_bytes = s->data_processed_bytes;
	cur->bps_sum += s->memory_bps;
	if (s->memory_bps < cur->bps_min)
		cur->bps_min = s->memory_bps;
	if (s->memory_bps > cur->bps_max)
		cur->bps_max = s->memory_bps;
	cur->unsteady |= unsteady;

	if (s->memory_bps) {
		/* alpha 0.4, as KubeVirt's downtime estimate: quick but not jumpy */
		hist->bw_ewma_bps = hist->bw_ewma_bps ?
			(s->memory_bps * 4 + hist->bw_ewma_bps * 6) / 10 : s->memory_bps;
	}
	if (s->iteration >= 2 &&
	    (!hist->remaining_min_bytes || s->data_remaining_bytes < hist->remaining_min_bytes)) {
		hist->remaining_min_bytes = s->data_remaining_bytes;
		hist->t_remaining_min_ms = s->t_ms;
	}
	return 0;
}

void policy_state_init(const struct policy *p, struct policy_state *ret_state)
{
	memset(ret_state, 0, sizeof(*ret_state));
	ret_state->id = p->id;
}

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
		if (ok && p->id == POLICY_ADAPTIVE)
			st->downtime_set_ms = (uint32_t)a->value;
		break;
	case POLICY_ACT_SET_BANDWIDTH:
		if (ok && p->id == POLICY_ADAPTIVE) {
			st->bw_set_bps = (uint64_t)a->value;
			st->t_bw_set_ms = a->t_ms;
		}
		break;
	default:
		break;
	}
}

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

static const char *const policy_names[] = {
	[POLICY_NONE] = "none",
	[POLICY_RHV_MINIMAL] = "rhv-minimal",
	[POLICY_RHV_SUSPEND] = "rhv-suspend",
	[POLICY_RHV_POSTCOPY] = "rhv-postcopy",
	[POLICY_RHV_VERYLARGE] = "rhv-verylarge",
	[POLICY_NOVA] = "nova",
	[POLICY_NOVA_FORCE] = "nova-force",
	[POLICY_ADAPTIVE] = "adaptive",
	[POLICY_SCHEDULE] = "schedule",
};

const char *policy_id_name(enum policy_id id)
{
	if ((unsigned)id > POLICY_ID_MAX)
		return "?";
	return policy_names[id];
}

const char *policy_builtin_names(void)
{
	return "none, rhv-minimal, rhv-suspend, rhv-postcopy, rhv-verylarge, nova, nova-force, adaptive";
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
		if (!strcmp(name, policy_names[i]))
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
