/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The adaptive policy's estimator: from the samples of one job to a picture of the link, the
 * guest and the job (adaptive.h), with what it cannot know marked unknown.  It decides nothing.
 *
 * The link.  Capacity is the NIC's speed when it has one; without (a veth in a namespace, some
 * bonds and virtual NICs) it is at least what the link has been seen to carry, and about what it
 * carried when the job asked for more (the chooser's probes).  The job's own traffic is measured
 * over the NIC's window (data_processed between samples, plus framing), so that an idle link
 * shows no tenants; traffic above what the link can carry, or seen in one sample only, is a
 * reading to reject, not a tenant.  Faults (carrier, errors, drops) are counted in episodes:
 * how long the link has been healthy is what post-copy is judged on.  A change of rate the job's
 * own limit explains is expected; only the others disturb.
 *
 * The guest.  QEMU sends, during a pass, exactly the pages the sync that opened it found dirty,
 * so the bytes sent between two passes' first samples are the guest's dirty set over one pass (D),
 * whatever the saw-tooth of data_remaining and QEMU's distinct-page dirty rate say.  The distinct
 * bytes a guest dirties in a window grow with the window and ever more slowly (concave through
 * zero): the dirty set found after the bulk pass bounds the next one from above, and the rate
 * measured before the job bounds it from below.  From two passes on, D and its growth per pass
 * tell a plateau from a shrinking dirty set; passes shorter than the sampling are read from the
 * saw-tooth's peaks.
 */
#include <math.h>
#include <string.h>

#include "adaptive.h"

static const struct mig_sample *sample_back(const struct mig_history *hist, uint32_t i)
{
	if (hist->nsamples <= i || i >= MIG_HISTORY_SAMPLES)
		return NULL;
	return &hist->samples[(hist->nsamples - 1 - i) % MIG_HISTORY_SAMPLES];
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t budget_ms(const struct mig_history *hist, const struct mig_limits *lim)
{
	double gib = guest_ram_bytes(hist, lim) / 1073741824.0;
	double s = lim->budget_s_per_gib * gib;

	if (s < lim->budget_min_s)
		s = lim->budget_min_s;
	return (uint64_t)(s * 1000.0);
}

/* ---- the link -------------------------------------------------------------------------------- */

/* The job's bandwidth limit changed within the last two samples: its rate is expected to move. */
static bool limit_changed(const struct mig_history *hist)
{
	const struct mig_sample *s = sample_back(hist, 0);

	for (uint32_t i = 1; i <= 2; i++) {
		const struct mig_sample *o = sample_back(hist, i);

		if (o && o->bandwidth_limit_bps != s->bandwidth_limit_bps)
			return true;
	}
	return false;
}

static void faults(const struct adaptive_params *ap, struct adaptive_state *st,
                   const struct mig_sample *s, const struct mig_sample *prev,
                   const struct mig_history *hist, struct link_picture *l)
{
	uint64_t b = hist->bw_ewma_bps;

	l->fault_now = s->nic_carrier == MIG_NIC_CARRIER_DOWN || s->nic_errors_delta ||
	               s->nic_drops_delta;
	if (l->fault_now) {
		if (!st->in_fault)
			st->fault_episodes++;
		st->in_fault = true;
		st->t_fault_ms = s->t_ms ? s->t_ms : 1;
	} else {
		st->in_fault = false;
	}
	l->fault_episodes = st->fault_episodes;
	l->healthy_ms = l->fault_now ? 0 : s->t_ms - (st->t_fault_ms ? st->t_fault_ms : 0);

	/* a rate far from its average that no new limit (nor a bitmap sync) explains, or the speed
	 * changing */
	if (l->fault_now ||
	    (prev && prev->nic_capacity_bps && prev->nic_capacity_bps != s->nic_capacity_bps) ||
	    (b && hist->nsamples >= 3 && prev && !limit_changed(hist) && !policy_sync_dip(sample_back(hist, 2), prev, s) &&
	     (s->memory_bps > b ? s->memory_bps - b : b - s->memory_bps) * 1000 >
	     b * ap->steady_permille))
		st->t_unsteady_ms = s->t_ms ? s->t_ms : 1;
	l->unsteady = st->t_unsteady_ms && s->t_ms < st->t_unsteady_ms + ap->settle_ms;

	/* far below this job's best, where the job's own limit is not the reason */
	if (b > st->bw_peak_bps)
		st->bw_peak_bps = b;
	l->degraded = b * 1000 < st->bw_peak_bps * ap->degraded_permille &&
	              !(s->bandwidth_limit_bps && b * 1000 >= s->bandwidth_limit_bps *
	                ap->probe_follow_permille);
	if (!l->degraded)
		st->t_degraded_ms = 0;
	else if (!st->t_degraded_ms)
		st->t_degraded_ms = s->t_ms ? s->t_ms : 1;
}

/* This job's bytes over the last sample interval: the same window as the NIC's counters. */
static uint64_t own_over_interval(const struct mig_sample *s, const struct mig_sample *prev)
{
	uint64_t dt;

	if (!prev || s->t_ms <= prev->t_ms || s->data_processed_bytes < prev->data_processed_bytes)
		return s->memory_bps;
	dt = s->t_ms - prev->t_ms;
	return (s->data_processed_bytes - prev->data_processed_bytes) * 1000 / dt;
}

static void link_estimate(const struct adaptive_params *ap, struct adaptive_state *st,
                          const struct mig_history *hist, const struct mig_limits *lim,
                          const struct mig_sample *s, const struct mig_sample *prev,
                          struct link_picture *l)
{
	unsigned n = lim->concurrent_on_nic ? lim->concurrent_on_nic : 1;
	uint64_t mine, expected, raw, noise, tenant;

	faults(ap, st, s, prev, hist, l);
	l->own_bps = hist->bw_ewma_bps ? hist->bw_ewma_bps : s->memory_bps;
	l->own_avg_bps = own_over_interval(s, prev);
	l->own_avg_known = prev && s->t_ms > prev->t_ms;
	l->others_bps = s->nic_mig_tx_bps > s->memory_bps ? s->nic_mig_tx_bps - s->memory_bps : 0;
	l->cap_bound = s->bandwidth_limit_bps &&
	               l->own_bps * 1000 >= s->bandwidth_limit_bps * ap->probe_follow_permille;
	/* QEMU sending twice what the NIC carries over the same window: the job leaves by another
	 * path (a wrong route guess, a bond member) and this NIC says nothing about its headroom.
	 * Not judged on the first sample, whose windows differ most (the NIC's covers the set-up) */
	l->off_path = prev && s->nic_tx_bps && l->own_avg_bps > 2 * s->nic_tx_bps;

	/* ---- capacity ---- */
	l->nic_read = s->nic_carrier != MIG_NIC_CARRIER_UNKNOWN;
	if (s->nic_capacity_bps && s->nic_carrier != MIG_NIC_CARRIER_DOWN) {
		l->cap_state = LINK_CAP_KNOWN;
		l->cap_bps = s->nic_capacity_bps;
		l->first_nic = !prev || !prev->nic_capacity_bps;
	} else {
		/* what the link carried over two samples in a row, never more than it carried in
		 * the one before times the growth of what we sent: one slow read of the job's
		 * stats makes the NIC's rate jump, and that is no capacity */
		if (prev && s->nic_tx_bps && prev->nic_tx_bps && !l->fault_now) {
			uint64_t seen = min64(s->nic_tx_bps, prev->nic_tx_bps);
			uint64_t bound = (l->own_avg_bps + l->others_bps) * 2;

			if (st->cap_seen_bps)
				bound = max64(bound, st->cap_seen_bps * 3 / 2);
			seen = min64(seen, bound);
			if (seen > st->cap_seen_bps)
				st->cap_seen_bps = seen;
		}
		if (st->cap_found_bps) {
			l->cap_state = LINK_CAP_FOUND;
			l->cap_bps = max64(st->cap_found_bps, st->cap_seen_bps);
		} else if (st->cap_seen_bps) {
			l->cap_state = LINK_CAP_SEEN;
			l->cap_bps = st->cap_seen_bps;
		} else {
			l->cap_state = LINK_CAP_UNKNOWN;
			l->cap_bps = 0;
		}
	}

	/* ---- tenants: the NIC's traffic less the migrations', over the same window.  A job's
	 * statistics read late repeat the last ones (no bytes in the interval): the job's own rate
	 * is then QEMU's, whichever is larger, so that its bytes are never a tenant's ---- */
	mine = max64(l->own_avg_bps, s->memory_bps) + l->others_bps;
	expected = mine + mine * ap->nic_overhead_permille / 1000;
	raw = s->nic_tx_bps > expected ? s->nic_tx_bps - expected : 0;
	noise = max64(ap->tenant_noise_min_bps, mine * ap->tenant_noise_permille / 1000);
	if (l->cap_state == LINK_CAP_KNOWN)
		noise = max64(noise, l->cap_bps / 50);
	/* plausible: a NIC rate above what the link can carry is a bad reading (a stalled read of
	 * the job's stats), a zero one says nothing, and neither is a tenant */
	l->reading_ok = s->nic_tx_bps && !l->off_path && !l->fault_now &&
	                !(l->cap_state == LINK_CAP_KNOWN &&
	                  s->nic_tx_bps * 1000 > l->cap_bps * (1000 + ap->nic_overhead_permille * 2));
	l->tenant_bps = st->tenant_bps;
	if (l->reading_ok) {
		tenant = raw > noise ? raw : 0;
		/* a tenant flow lasts; a one-sample gap between what the NIC and QEMU count does not:
		 * only traffic seen in two plausible readings in a row moves the estimate.  The very
		 * first reading stands alone (the chooser may only raise a limit on it). */
		if (st->tenant_raw_valid)
			st->tenant_bps = min64(tenant, st->tenant_raw_bps);
		l->tenant_bps = st->tenant_raw_valid ? st->tenant_bps : tenant;
		st->tenant_raw_bps = tenant;
		st->tenant_raw_valid = true;
	}

	/* ---- this job's share ---- */
	l->share_bps = 0;
	if ((l->cap_state == LINK_CAP_KNOWN || l->cap_state == LINK_CAP_FOUND) && !l->off_path) {
		uint64_t reserve = l->tenant_bps + l->cap_bps * lim->reserve_permille / 1000;
		uint64_t share = (l->cap_bps > reserve ? l->cap_bps - reserve : 0) / n;

		if (lim->bandwidth_max_bps && share > lim->bandwidth_max_bps)
			share = lim->bandwidth_max_bps;
		if (share < ap->bw_floor_bps)
			share = ap->bw_floor_bps;
		l->share_bps = share;
	}
	l->saturated = l->reading_ok && (l->cap_state == LINK_CAP_KNOWN || l->cap_state == LINK_CAP_FOUND) &&
	               s->nic_tx_bps * 100 >= l->cap_bps * 95;
	l->avail_bps = l->share_bps;
	if (!l->avail_bps && l->cap_bps && !l->off_path)
		l->avail_bps = (l->cap_bps > l->tenant_bps ? l->cap_bps - l->tenant_bps : 0) / n;
}

/* ---- the guest ------------------------------------------------------------------------------- */

/* Bytes sent per pass over the completed passes older->newer (both opened passes). */
static bool pass_size(const struct mig_pass *older, const struct mig_pass *newer,
                      uint64_t *ret_bytes, uint64_t *ret_ms)
{
	uint32_t gap = newer->iteration - older->iteration;

	if (!gap || newer->processed_first_bytes < older->processed_first_bytes ||
	    newer->t_first_ms <= older->t_first_ms)
		return false;
	*ret_bytes = (newer->processed_first_bytes - older->processed_first_bytes) / gap;
	*ret_ms = (newer->t_first_ms - older->t_first_ms) / gap;
	return true;
}

/* The dirty set found by the sync that opened the current pass. */
static uint64_t current_pass_size(const struct mig_pass *prev, const struct mig_pass *cur)
{
	uint64_t lag_ms = 0, bps = cur->bps_max;
	uint64_t t_sync = prev->t_last_ms;

	/* the previous pass drained its last remaining bytes after its last sample */
	if (prev->bps_max)
		t_sync += prev->remaining_min_bytes * 1000 / prev->bps_max;
	if (cur->t_first_ms > t_sync)
		lag_ms = cur->t_first_ms - t_sync;
	return cur->remaining_max_bytes + bps * lag_ms / 1000;
}

/*
 * A lower bound of the distinct bytes the guest dirties in a window of tau_s seconds, from two
 * measurements of the same curve: m_bytes over period_s before the job, and d2_bytes over the
 * bulk pass (t1_s).  The curve is concave through zero (a cyclic writer covers min(hot, written),
 * a random one hot x (1 - e^(-written/hot))), so it lies above the chords through (0, 0),
 * (period, m) and (t1, d2), and is at least d2 beyond t1.
 */
static double dirtied_low(double tau_s, double m_bytes, double period_s, double d2_bytes,
                          double t1_s)
{
	if (tau_s <= period_s)
		return m_bytes * tau_s / period_s;
	if (tau_s >= t1_s)
		return d2_bytes;
	return m_bytes + (d2_bytes - m_bytes) * (tau_s - period_s) / (t1_s - period_s);
}

/*
 * Right after the bulk pass, with the dirty rate measured before the job: can pre-copy never get
 * the pending size under X, what the SLA's limit drains (over the margin)?  A pass that sends d
 * bytes lasts d / b, and the next sync finds at least dirtied_low(d / b).  If the guest re-dirties
 * more than X (times the margin) in the time X takes to send, then g(d) = dirtied_low(d / b) - d
 * is positive at X; g is concave, so it stays positive up to its root d* > X, and from any pending
 * size above d* the next one is at least d*: the pending size never falls under X.  False when
 * the measurement is missing, stale, or does not fit the bulk pass (the guest dirtied less during
 * it than in the measurement: its workload changed).
 */
static bool prior_plateau(const struct adaptive_params *ap, const struct mig_limits *lim,
                          uint64_t d2, uint64_t t1_ms, uint64_t b, uint32_t limit_ms)
{
	double period_s = (lim->prior_dirty_period_ms ? lim->prior_dirty_period_ms : 1000) / 1000.0;
	double m = (double)lim->prior_dirty_bps * period_s, t1_s = t1_ms / 1000.0;
	double margin = ap->margin_permille / 1000.0, x, k;

	if (!lim->prior_dirty_bps || !b || lim->prior_dirty_age_ms > ap->prior_max_age_ms ||
	    t1_s <= period_s || (double)d2 < m)
		return false;
	/*
	 * Page sampling hashes a fixed number of pages per GiB, so it finds about
	 * k = pages/GiB x m/GiB of them changed whatever the guest's size, and reads m within about
	 * m / sqrt(k): a 40 MiB/s writer (k = 20) anywhere from 30 to 50 MiB/s.  Only what it
	 * proves, one such deviation under the reading, is used.
	 */
	k = ap->prior_sample_pages_per_gib * m / 1073741824.0;
	if (k <= 4.0)
		return false;
	m *= 1.0 - 1.0 / sqrt(k);
	x = (double)b * limit_ms / 1000.0 / margin;
	if ((double)d2 <= x)
		return false;
	return dirtied_low(x / (double)b, m, period_s, (double)d2, t1_s) > x * margin;
}

/*
 * Passes shorter than two sampling intervals: one sample per pass at best, taken anywhere in the
 * saw-tooth, and QEMU's syncs in mid-pass (when the pending size dips under its threshold) mean a
 * pass need not drain at all, so per-pass sizes cannot be told apart.  The saw-tooth's peaks of
 * the last few seconds bound the dirty set, and peaks lower than those of the seconds before mean
 * a shrinking one.
 */
static void sawtooth(const struct adaptive_params *ap, struct adaptive_state *st,
                     const struct mig_history *hist, const struct mig_pass *cur,
                     const struct mig_pass *pp, struct picture *pic)
{
	struct guest_picture *g = &pic->guest;
	uint64_t peak = max64(cur->remaining_max_bytes, pp->remaining_max_bytes), before = 0;
	uint64_t t = pic->t_ms;

	for (uint32_t k = 0; k < hist->nsamples && k < MIG_HISTORY_SAMPLES; k++) {
		const struct mig_sample *o = sample_back(hist, k);

		if (o->t_ms + 2 * ap->settle_ms < t || o->iteration < 2)
			break;
		if (o->t_ms + ap->settle_ms >= t)
			peak = max64(peak, o->data_remaining_bytes);
		else
			before = max64(before, o->data_remaining_bytes);
	}
	g->dirty_bytes = peak;
	g->last_bytes = cur->remaining_max_bytes;
	g->growth = 1.0;
	if ((double)peak < (double)pic->rate_bps * pic->limit_ms / 1000.0) {
		g->evidence = GUEST_EV_SAWTOOTH;       /* under the threshold: QEMU completes */
		return;
	}
	if (!st->t_short_ms)
		st->t_short_ms = t ? t : 1;
	if (t < st->t_short_ms + ap->settle_ms)
		return;                                /* not seen long enough to say */
	g->evidence = GUEST_EV_SAWTOOTH;
	/* seen for the settle time: every pass since then agrees */
	g->npasses = cur->iteration > 255 ? 255 : cur->iteration - 1;
	if (before && (double)peak * 1000 < (double)before * ap->plateau_permille) {
		g->growth = (double)peak / (double)before;
		g->shrinking = true;
	}
	/* many passes per sample: the dirty set is under what b drains in one interval; a plateau
	 * of that size only ever needs a small downtime, nothing drastic in a hurry */
	g->short_passes = cur->iteration - pp->iteration > 1 && t < st->t_short_ms + ap->converge_soon_ms;
}

static void guest_estimate(const struct adaptive_params *ap, struct adaptive_state *st,
                           const struct mig_history *hist, const struct mig_limits *lim,
                           struct picture *pic)
{
	const struct mig_pass *cur = policy_history_pass(hist, 0);
	const struct mig_pass *pp = policy_history_pass(hist, 1);
	const struct mig_sample *s = sample_back(hist, 0), *prev = sample_back(hist, 1);
	struct guest_picture *g = &pic->guest;
	uint64_t b = pic->rate_bps, d_prev = 0, t_prev = 0, d_cur, d_star;
	bool long_passes;

	memset(g, 0, sizeof(*g));
	g->growth = 1.0;
	if (!cur || !b)
		return;

	/* ---- the bulk pass just ended: D2 bounds the next dirty set from above ---- */
	if (cur->iteration == 2 && (!pp || pp->iteration == 1)) {
		uint64_t d2 = pp ? current_pass_size(pp, cur) : cur->remaining_max_bytes;

		st->d2_bytes = d2;
		st->t1_ms = cur->t_first_ms;
		g->dirty_bytes = g->last_bytes = d2;
		/* a bulk pass that found nearly all RAM dirty bounds nothing */
		if ((double)d2 >= (double)s->data_total_bytes * ap->plateau_permille / 1000.0)
			return;
		g->evidence = GUEST_EV_BULK;
		g->disturbed = (pp && pp->unsteady) || cur->unsteady;
		if (!g->disturbed &&
		    prior_plateau(ap, lim, d2, cur->t_first_ms, b, adaptive_sla_limit_ms(pic)))
			g->evidence = GUEST_EV_PRIOR;
		return;
	}
	if (!pp || pp->iteration < 2)
		return;

	/* ---- two passes after the bulk pass ---- */
	g->disturbed = pp->unsteady;
	if (!pass_size(pp, cur, &d_prev, &t_prev) || !d_prev)
		return;
	d_cur = current_pass_size(pp, cur);
	g->last_bytes = d_cur;
	g->growth = (double)d_cur / (double)d_prev;
	d_star = max64(d_cur, d_prev);
	/* short passes are quantised by the sampling: the average over the last few steady ones */
	for (uint32_t k = 2; k <= 4; k++) {
		const struct mig_pass *old = policy_history_pass(hist, k);
		uint64_t d_avg = 0, t_avg = 0;

		if (!old || old->iteration < 2 || old->unsteady)
			break;
		if (pass_size(old, cur, &d_avg, &t_avg) && d_avg > d_star)
			d_star = d_avg;
	}
	/* passes near two sampling intervals alternate between the cases below; the short-pass
	 * clock restarts only once passes are clearly long, or it would never run out */
	long_passes = !prev || t_prev >= 4 * (s->t_ms - prev->t_ms);
	if (cur->iteration - pp->iteration > 1 || (prev && t_prev < 2 * (s->t_ms - prev->t_ms))) {
		sawtooth(ap, st, hist, cur, pp, pic);
		return;
	}
	if (long_passes)
		st->t_short_ms = 0;
	g->evidence = GUEST_EV_PASSES;
	g->dirty_bytes = d_star;
	g->npasses = 2;
	/* over more passes the growth is the geometric mean: one noisy pass (a random writer's
	 * slow shrinking wobbles around the plateau line) does not make a plateau */
	{
		const struct mig_pass *newer = pp;
		uint64_t d_old = d_prev;
		uint32_t n = 1;

		for (uint32_t k = 2; k <= 5; k++) {
			const struct mig_pass *old = policy_history_pass(hist, k);
			uint64_t d = 0, t_d = 0;

			if (!old || old->iteration < 2 || old->unsteady || newer->iteration != old->iteration + 1 ||
			    !pass_size(old, newer, &d, &t_d) || !d)
				break;
			d_old = d;
			newer = old;
			n++;
		}
		if (n >= 2) {
			g->growth = pow((double)d_cur / (double)d_old, 1.0 / n);
			g->npasses = n + 1;
		}
	}
	if (g->growth * 1000 < ap->plateau_permille) {
		/* shrinking by itself: when does it get under b x L? */
		double thr = (double)b * pic->limit_ms / 1000.0, gr = g->growth;
		double nn = (double)d_cur > thr ? log(thr / (double)d_cur) / log(gr) : 0;
		double eta = (double)d_cur * 1000.0 / (double)b * (1.0 - pow(gr, nn)) / (1.0 - gr);

		g->shrinking = true;
		g->eta_ms = (uint64_t)eta;
		/* what two more passes leave: the downtime that converges soon */
		g->dirty_bytes = (uint64_t)(d_cur * gr * gr);
	}
	/* a downtime set three passes ago that did not do it: the estimate was low */
	g->limit_short = st->downtime_set_ms && st->last_escalation_pass &&
	                 cur->iteration >= st->last_escalation_pass + 3;
}

void adaptive_estimate(const struct adaptive_params *ap, struct adaptive_state *st,
                       const struct mig_history *hist, const struct mig_limits *lim,
                       struct picture *ret)
{
	const struct mig_sample *s = sample_back(hist, 0), *prev = sample_back(hist, 1);

	memset(ret, 0, sizeof(*ret));
	if (!s)
		return;
	ret->t_ms = s->t_ms;
	ret->pass = s->iteration;
	ret->pending_bytes = s->data_remaining_bytes;
	ret->sent_bytes = s->data_processed_bytes;
	ret->ram_bytes = guest_ram_bytes(hist, lim);
	ret->budget_ms = budget_ms(hist, lim);
	ret->limit_ms = s->downtime_limit_ms ? s->downtime_limit_ms : 300;
	ret->bw_limit_bps = s->bandwidth_limit_bps;
	ret->rate_bps = hist->bw_ewma_bps ? hist->bw_ewma_bps : s->memory_bps;
	ret->sla_ms = lim->sla_max_downtime_ms;
	ret->overshoot_permille = lim->downtime_overshoot_permille ?
	                          lim->downtime_overshoot_permille : ap->overshoot_permille;
	if (ret->overshoot_permille < 1000)
		ret->overshoot_permille = 1000;
	link_estimate(ap, st, hist, lim, s, prev, &ret->link);
	if (s->phase == MIG_PHASE_PRECOPY)
		guest_estimate(ap, st, hist, lim, ret);
}
