/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sample history of one job: the samples, per-pass summaries and the bandwidth EWMA that every
 * policy reads, and what the samples say of the guest's size.  Pure code: no I/O, no clock.
 */
#include <errno.h>
#include <string.h>

#include "policy.h"
#include "policy_impl.h"

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

/* The sample before the last one, or NULL. */
static const struct mig_sample *sample_before_last(const struct mig_history *hist)
{
	return hist->nsamples >= 2 ? &hist->samples[(hist->nsamples - 2) % MIG_HISTORY_SAMPLES] : NULL;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/*
 * A sample is "unsteady" when something outside the guest and outside the job's own limits changed
 * how fast it can send: carrier, errors or drops, link speed, or a transfer rate far from its
 * average with no new limit to explain it.  Passes containing such samples are not used as
 * evidence for drastic steps: a pass slowed by the network lets the guest dirty more and looks
 * exactly like a plateau.
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
	/* a changed limit explains a changed rate, in this sample and the next (the rate QEMU
	 * reports lags the limit by its own window): the passes stay evidence (of a shorter or
	 * longer window), and the policy knows what it asked for */
	if (prev->bandwidth_limit_bps != s->bandwidth_limit_bps)
		return false;
	if (sample_before_last(hist) &&
	    sample_before_last(hist)->bandwidth_limit_bps != prev->bandwidth_limit_bps)
		return false;
	if (policy_sync_dip(sample_before_last(hist), prev, s))
		return false;
	if (hist->bw_ewma_bps && hist->nsamples >= 3 && s->phase == MIG_PHASE_PRECOPY &&
	    absdiff(s->memory_bps, hist->bw_ewma_bps) * 100 > hist->bw_ewma_bps * 35)
		return true;
	return false;
}

bool policy_sync_dip(const struct mig_sample *prev2, const struct mig_sample *prev,
                     const struct mig_sample *s)
{
	return prev2 && prev && prev->iteration && prev2->iteration == prev->iteration &&
	       s->iteration > prev->iteration && s->memory_bps < prev->memory_bps;
}

int policy_observe(struct mig_history *hist, const struct mig_sample *s)
{
	const struct mig_sample *prev = policy_history_last(hist);
	struct mig_pass *cur;
	bool unsteady, dip;

	if (prev && s->t_ms < prev->t_ms)
		return -EINVAL;
	unsteady = sample_unsteady(hist, prev, s);
	dip = policy_sync_dip(sample_before_last(hist), prev, s);
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

	if (s->memory_bps && !dip) {
		/* alpha 0.4, as KubeVirt's downtime estimate: quick but not jumpy; a new limit is a
		 * new rate, not a jump to average away; a sync's dip is no rate at all */
		bool new_limit = prev && prev->bandwidth_limit_bps != s->bandwidth_limit_bps;

		hist->bw_ewma_bps = hist->bw_ewma_bps && !new_limit ?
			(s->memory_bps * 4 + hist->bw_ewma_bps * 6) / 10 : s->memory_bps;
	}
	if (s->iteration >= 2 &&
	    (!hist->remaining_min_bytes || s->data_remaining_bytes < hist->remaining_min_bytes)) {
		hist->remaining_min_bytes = s->data_remaining_bytes;
		hist->t_remaining_min_ms = s->t_ms;
	}
	return 0;
}

uint64_t guest_ram_bytes(const struct mig_history *hist, const struct mig_limits *lim)
{
	const struct mig_sample *s = policy_history_last(hist);

	if (lim->guest_ram_bytes)
		return lim->guest_ram_bytes;
	return s ? s->mem_total_bytes : 0;
}

