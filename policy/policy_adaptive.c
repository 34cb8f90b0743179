/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The adaptive policy: estimate, predict, then act with the least harm first.
 *
 * Estimates (see docs/policy.md for the reasoning):
 *  - dirty set per pass D_p: bytes QEMU sent during pass p (data_processed between the first samples
 *    of passes p and p+1, divided by the passes in between).  QEMU sends exactly the pages found
 *    dirty at the sync that opened the pass, so this is the guest's effective dirtying over one pass,
 *    immune to the saw-tooth of data_remaining and to QEMU's distinct-pages dirty-rate counting.
 *    For the current pass: its highest data_remaining plus what was sent before we first saw it.
 *  - growth per pass g = D_c / D_(c-1), only over passes the network did not disturb;
 *  - bandwidth b: EWMA of memory_bps; NIC headroom = capacity - reserve,
 *    tenant traffic = NIC tx - the migrations' own traffic; reserve = tenants + a share of the
 *    link (10 %); what is left is split evenly among the migrations on the NIC.
 * Prediction: QEMU completes when a sync finds pending < b x downtime_limit.  With g >= plateau the
 * pending after each sync stays ~D, so the converging downtime is D / b; with g < plateau it shrinks
 * geometrically and we only act if it would take more than a few passes.
 * Actions, least harm first: bandwidth into the NIC headroom (any time, with hysteresis); downtime set
 * once to the converging value within the SLA; then post-copy (permitted, flag set, network healthy),
 * else suspend (permitted), else abort when hopeless for a few passes, when the budget is spent, or
 * when "Minimal downtime" would have aborted, whichever comes first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "policy.h"
#include "policy_impl.h"

#define MIB 1048576.0

void policy_adaptive_defaults(struct adaptive_params *ret_params)
{
	*ret_params = (struct adaptive_params){
		.plateau_permille = 900,
		.margin_permille = 1250,
		.steady_permille = 250,
		.settle_ms = 3000,
		.bw_hysteresis_permille = 200,
		.bw_min_interval_ms = 5000,
		.hopeless_passes = 6,
		.hopeless_min_ms = 20000,
		.converge_soon_ms = 30000,
		.degraded_permille = 500,
		.degraded_hold_ms = 60000,
		.bw_floor_bps = 8u << 20,
		.prior_max_age_ms = 180000,
		.prior_sample_pages_per_gib = 512,
		.postcopy_watch_ms = 10000,
	};
}

static const struct mig_sample *prev_sample(const struct mig_history *hist)
{
	if (hist->nsamples < 2)
		return NULL;
	return &hist->samples[(hist->nsamples - 2) % MIG_HISTORY_SAMPLES];
}

/* Bytes sent per pass over the completed pass older->newer (both opened passes). */
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

/* NIC traffic that is not an outgoing migration's. */
static uint64_t tenant_bps(const struct mig_sample *s)
{
	uint64_t mig = s->nic_mig_tx_bps ? s->nic_mig_tx_bps : s->memory_bps;

	return s->nic_tx_bps > mig ? s->nic_tx_bps - mig : 0;
}

static uint64_t bw_target(const struct policy *p, const struct mig_sample *s,
                          const struct mig_sample *prev, const struct mig_limits *lim,
                          uint64_t *ret_tenant)
{
	uint64_t cap = s->nic_capacity_bps, tenant, reserve, avail, share;
	unsigned n = lim->concurrent_on_nic ? lim->concurrent_on_nic : 1;
	bool first = !prev || !prev->nic_capacity_bps;   /* the NIC's first sample */

	if (!cap || s->nic_carrier == MIG_NIC_CARRIER_DOWN)
		return 0;
	/*
	 * Cross-check: QEMU sending twice what the NIC carries means the migration leaves by
	 * another path (a wrong route guess, a bond member): this NIC's headroom says nothing.
	 */
	if (s->nic_tx_bps && s->memory_bps > 2 * s->nic_tx_bps)
		return 0;
	tenant = tenant_bps(s);
	/*
	 * A tenant flow lasts; a one-sample gap between what the NIC and QEMU count (their windows
	 * differ, most of all in the NIC's first sample) does not.  Only traffic seen in two
	 * samples in a row moves the share; on the NIC's first sample a limit may only be raised
	 * (a few MiB/s of phantom tenants barely dent a raise into the headroom).
	 */
	if (!first && tenant_bps(prev) < tenant)
		tenant = tenant_bps(prev);
	/* the reserve is head-room above what tenants use now, so that they can grow */
	reserve = tenant + cap * lim->reserve_permille / 1000;
	avail = cap > reserve ? cap - reserve : 0;
	share = avail / n;
	if (lim->bandwidth_max_bps && share > lim->bandwidth_max_bps)
		share = lim->bandwidth_max_bps;
	if (share < p->adaptive.bw_floor_bps)
		share = p->adaptive.bw_floor_bps;
	if (first && (!s->bandwidth_limit_bps || share <= s->bandwidth_limit_bps))
		return 0;
	*ret_tenant = tenant;
	return share;
}

static uint64_t budget_ms(const struct mig_history *hist, const struct mig_limits *lim)
{
	double gib = guest_ram_bytes(hist, lim) / 1073741824.0;
	double s = lim->budget_s_per_gib * gib;

	if (s < lim->budget_min_s)
		s = lim->budget_min_s;
	return (uint64_t)(s * 1000.0);
}

/*
 * What RHV "Minimal downtime" would have done by now: adaptive must never abort later than it.
 * Mirrors sched_decide's poll cadence and stalling count; returns true once it would abort.
 */
static bool shadow_minimal_aborts(struct policy_state *st, const struct mig_sample *s)
{
	static const uint32_t limits[] = { 1, 2, 3, 4, 6 };

	if (!st->shadow_t_last_poll_ms) {
		st->shadow_t_last_poll_ms = s->t_ms ? s->t_ms : 1;
		return false;
	}
	if (s->t_ms < st->shadow_t_last_poll_ms + 10000)
		return st->shadow_steps > 5;
	st->shadow_t_last_poll_ms = s->t_ms - (s->t_ms - st->shadow_t_last_poll_ms) % 10000;
	if (!st->shadow_base_set) {
		st->shadow_base_set = true;
		st->shadow_base_iteration = s->iteration;
		return false;
	}
	if (st->shadow_steps < 5) {
		if (limits[st->shadow_steps] < s->iteration - st->shadow_base_iteration)
			st->shadow_steps++;
	} else {
		st->shadow_steps = 6;
	}
	return st->shadow_steps > 5;
}

/*
 * A lower bound of the distinct bytes the guest dirties in a window of tau_s seconds, from two
 * measurements of the same curve: m_bytes over period_s before the job, and d2_bytes over the
 * bulk pass (t1_s).  The distinct bytes written in a window grow with the window and ever more
 * slowly (a cyclic writer covers min(hot, written), a random one hot x (1 - e^(-written/hot)):
 * both concave through zero), so the curve lies above the chords through (0, 0), (period, m)
 * and (t1, d2), and is at least d2 beyond t1.
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
 * the pending size under X, what the SLA's downtime drains (over the margin)?  A pass that sends d
 * bytes lasts d / b, and the next sync finds at least dirtied_low(d / b).  If the guest re-dirties
 * more than X (times the margin) in the time X takes to send, then g(d) = dirtied_low(d / b) - d is
 * positive at X; g is concave, so it stays positive up to its root d* > X, and from any pending
 * size above d* the next one is at least dirtied_low(d* / b) = d*: the pending size never falls
 * under d* > X.  Returns false when the measurement is missing, stale, or does not fit the bulk
 * pass (the guest dirtied less during it than in the measurement: its workload changed).
 */
static bool prior_plateau(const struct adaptive_params *ap, const struct mig_limits *lim,
                          uint64_t d2, uint64_t t1_ms, uint64_t b, uint32_t sla)
{
	double period_s = (lim->prior_dirty_period_ms ? lim->prior_dirty_period_ms : 1000) / 1000.0;
	double m = (double)lim->prior_dirty_bps * period_s, t1_s = t1_ms / 1000.0;
	double margin = ap->margin_permille / 1000.0, x, k;

	if (!lim->prior_dirty_bps || !b || lim->prior_dirty_age_ms > ap->prior_max_age_ms ||
	    t1_s <= period_s || (double)d2 < m)
		return false;
	/*
	 * Page sampling hashes a fixed number of pages per GiB, so it finds about
	 * k = pages/GiB x m/GiB of them changed whatever the guest's size, and reads m within
	 * about m / sqrt(k): a 40 MiB/s writer (k = 20) anywhere from 30 to 50 MiB/s.  Only what
	 * it proves, one such deviation under the reading, is used.
	 */
	k = ap->prior_sample_pages_per_gib * m / 1073741824.0;
	if (k <= 4.0)
		return false;
	m *= 1.0 - 1.0 / sqrt(k);
	x = (double)b * sla / 1000.0 / margin;
	if ((double)d2 <= x)
		return false;
	return dirtied_low(x / (double)b, m, period_s, (double)d2, t1_s) > x * margin;
}

static void hold_once(struct policy_state *st, struct action_buf *out, enum policy_reason r,
                      const char *why)
{
	if (st->held)
		return;
	st->held = true;
	action_push(out, POLICY_ACT_HOLD, r, 0, -1, "%s", why);
}

void adaptive_decide(const struct policy *p, struct policy_state *st,
                     const struct mig_history *hist, const struct mig_limits *lim,
                     struct action_buf *out)
{
	const struct adaptive_params *ap = &p->adaptive;
	const struct mig_sample *s = policy_history_last(hist);
	const struct mig_sample *prev = prev_sample(hist);
	const struct mig_pass *cur = policy_history_pass(hist, 0);
	const struct mig_pass *pp = policy_history_pass(hist, 1);
	uint64_t b = hist->bw_ewma_bps ? hist->bw_ewma_bps : s->memory_bps;
	uint64_t bw_now = s->bandwidth_limit_bps, target, tenant = 0, b_pred;
	uint32_t L = s->downtime_limit_ms ? s->downtime_limit_ms : 300;
	uint32_t sla = lim->sla_max_downtime_ms;
	bool unsteady, settled, shadow_abort, bw_pushed = false, shrinking = false;
	bool short_passes = false, early = false, long_passes;
	uint64_t d_cur = 0, d_prev = 0, d_star = 0, t_prev_ms = 0;
	double g = 1.0, need_ms = 0;
	char why[POLICY_REASON_LEN];

	if (!st->started) {
		st->started = true;
		st->t_start_ms = s->t_ms;
	}
	if (s->phase != MIG_PHASE_PRECOPY)
		return;
	shadow_abort = shadow_minimal_aborts(st, s);

	/* ---- is the network steady enough to learn anything about the guest? ---- */
	unsteady = s->nic_carrier == MIG_NIC_CARRIER_DOWN || s->nic_errors_delta ||
	           s->nic_drops_delta ||
	           (prev && prev->nic_capacity_bps &&
	            prev->nic_capacity_bps != s->nic_capacity_bps) ||
	           (hist->bw_ewma_bps && hist->nsamples >= 3 &&
	            (s->memory_bps > b ? s->memory_bps - b : b - s->memory_bps) * 1000 >
	            b * ap->steady_permille);
	if (unsteady)
		st->t_unsteady_ms = s->t_ms ? s->t_ms : 1;
	if (s->nic_carrier == MIG_NIC_CARRIER_DOWN || s->nic_errors_delta || s->nic_drops_delta) {
		st->t_net_fault_ms = s->t_ms ? s->t_ms : 1;
		st->watch_held = false;
	}
	settled = (!st->t_unsteady_ms || s->t_ms >= st->t_unsteady_ms + ap->settle_ms) &&
	          (!st->t_bw_set_ms || s->t_ms >= st->t_bw_set_ms + ap->settle_ms);
	if (b > st->bw_peak_bps)
		st->bw_peak_bps = b;

	/* ---- 1. bandwidth: into the NIC's headroom, a fair share of it, with hysteresis ---- */
	target = bw_target(p, s, prev, lim, &tenant);
	/* giving tenants room back may go twice as often as taking it */
	if (target && s->nic_carrier != MIG_NIC_CARRIER_DOWN && !s->nic_errors_delta &&
	    (!st->t_bw_set_ms || s->t_ms >= st->t_bw_set_ms + (target < bw_now || !bw_now ?
	                                                        ap->bw_min_interval_ms / 2 :
	                                                        ap->bw_min_interval_ms))) {
		uint64_t diff = bw_now > target ? bw_now - target : target - bw_now;
		/* unlimited: TCP already shares among migrations; step in only for tenants */
		bool change = bw_now == 0 ? tenant * 50 > s->nic_capacity_bps :
		              diff * 1000 > bw_now * ap->bw_hysteresis_permille;

		if (change) {
			enum policy_reason r = (bw_now && target > bw_now) ? REASON_NIC_HEADROOM
			                                                   : REASON_FAIR_SHARE;
			action_push(out, POLICY_ACT_SET_BANDWIDTH, r, (int64_t)target, (int64_t)bw_now,
			            "NIC %.0f MiB/s, tenants %.1f MiB/s, reserve %u%%, %u migration(s)",
			            s->nic_capacity_bps / MIB, tenant / MIB, lim->reserve_permille / 10,
			            lim->concurrent_on_nic ? lim->concurrent_on_nic : 1);
			bw_pushed = true;
			/* recorded here too so that a dropped policy_applied() cannot make us flap */
			st->t_bw_set_ms = s->t_ms ? s->t_ms : 1;
		}
	}
	b_pred = b;
	if (bw_pushed && target > b)
		b_pred = target * 9 / 10;

	/*
	 * ---- 2a. right after the bulk pass ----
	 * The guest dirties no more over a shorter period than over a longer one, and the second
	 * pass is shorter than the first: the next sync finds at most what this one found.  So a
	 * downtime of D / b converges the job now, before any plateau evidence, if the SLA admits it.
	 */
	if (cur && cur->iteration == 2 && (!pp || pp->iteration == 1) && settled && b &&
	    (st->last_escalation_pass != 2 || st->watch_held)) {
		uint64_t d2 = pp ? current_pass_size(pp, cur) : cur->remaining_max_bytes;
		double ms2 = (double)d2 * 1000.0 / (double)b * ap->margin_permille / 1000.0;

		if (ms2 > L && ms2 <= sla &&
		    (double)d2 < (double)s->data_total_bytes * ap->plateau_permille / 1000.0) {
			uint32_t ms = (uint32_t)((ms2 + 9.0) / 10.0) * 10;

			if (ms > sla)
				ms = sla;
			action_push(out, POLICY_ACT_SET_DOWNTIME, REASON_CONVERGING_DOWNTIME, ms, L,
			            "pass 2: %.1f MiB dirty after the first pass, %.1f MiB/s: %u ms"
			            " converges now", d2 / MIB, b / MIB, ms);
			st->last_escalation_pass = 2;
			return;
		}
		/* 2c. the dirty rate measured before the job says the plateau now */
		if (ms2 > sla && !bw_pushed && pp && !pp->unsteady && !cur->unsteady &&
		    prior_plateau(ap, lim, d2, cur->t_first_ms, b, sla)) {
			early = true;
			d_star = d2;
			g = 1.0;
			need_ms = ms2;
		}
	}

	/* ---- 2b. evidence: two passes after the bulk pass, the older one undisturbed ---- */
	if (early)
		goto evidence;
	if (!cur || !pp || pp->iteration < 2)
		return;
	if (pp->unsteady) {
		if ((double)cur->remaining_max_bytes > (double)b * L / 1000.0) {
			snprintf(why, sizeof(why), "pass %" PRIu32 " ran on a disturbed network (%.1f MiB/s"
			         " now): not evidence", pp->iteration, s->memory_bps / MIB);
			hold_once(st, out, REASON_NETWORK_UNSTEADY, why);
		}
		return;
	}
	if (!pass_size(pp, cur, &d_prev, &t_prev_ms))
		return;
	d_cur = current_pass_size(pp, cur);
	if (!d_prev || !b)
		return;
	g = (double)d_cur / (double)d_prev;
	d_star = d_cur > d_prev ? d_cur : d_prev;
	{
		/* short passes are quantised by the sampling: average over the last few steady ones */
		uint64_t d_avg = 0, t_avg = 0;

		for (uint32_t k = 2; k <= 4; k++) {
			const struct mig_pass *old = policy_history_pass(hist, k);

			if (!old || old->iteration < 2 || old->unsteady)
				break;
			if (pass_size(old, cur, &d_avg, &t_avg) && d_avg > d_star)
				d_star = d_avg;
		}
	}

	/*
	 * Passes near two sampling intervals alternate between the branches below; the short-pass
	 * clock restarts only once passes are clearly long, or it would never run out.
	 */
	long_passes = !prev || t_prev_ms >= 4 * (s->t_ms - prev->t_ms);
	if (cur->iteration - pp->iteration > 1 ||
	    (prev && t_prev_ms < 2 * (s->t_ms - prev->t_ms))) {
		/*
		 * Passes shorter than two sampling intervals: one sample per pass at best, taken
		 * anywhere in the saw-tooth, and QEMU's syncs in mid-pass (when the pending size dips
		 * under its threshold) mean a pass need not drain at all, so per-pass sizes cannot be
		 * told apart.  (With one or two passes between samples the gap alternates, so this
		 * is judged on the time per pass, not on the gap alone.)  The saw-tooth peaks of the
		 * last few seconds bound the dirty set, and peaks lower than those of the seconds
		 * before mean a shrinking dirty set.
		 */
		uint64_t peak_before = 0;

		d_star = cur->remaining_max_bytes > pp->remaining_max_bytes ? cur->remaining_max_bytes
		                                                            : pp->remaining_max_bytes;
		for (uint32_t k = 0; k < hist->nsamples && k < MIG_HISTORY_SAMPLES; k++) {
			const struct mig_sample *o =
				&hist->samples[(hist->nsamples - 1 - k) % MIG_HISTORY_SAMPLES];

			if (o->t_ms + 2 * ap->settle_ms < s->t_ms || o->iteration < 2)
				break;
			if (o->t_ms + ap->settle_ms >= s->t_ms) {
				if (o->data_remaining_bytes > d_star)
					d_star = o->data_remaining_bytes;
			} else if (o->data_remaining_bytes > peak_before) {
				peak_before = o->data_remaining_bytes;
			}
		}
		if ((double)d_star < (double)b_pred * L / 1000.0)
			return;
		if (!st->t_short_ms)
			st->t_short_ms = s->t_ms ? s->t_ms : 1;
		if (s->t_ms < st->t_short_ms + ap->settle_ms)
			return;
		g = 1.0;
		if ((double)d_star * 1000 < (double)peak_before * ap->plateau_permille) {
			g = (double)d_star / (double)peak_before;
			shrinking = true;
		}
		/* many passes per sample: the dirty set is under what b drains in one interval, a
		 * plateau of that size only ever needs a small downtime, nothing drastic in a hurry */
		short_passes = cur->iteration - pp->iteration > 1 &&
		               s->t_ms < st->t_short_ms + ap->converge_soon_ms;
	} else if (g * 1000 < ap->plateau_permille) {
		if (long_passes)
			st->t_short_ms = 0;
		/* shrinking by itself: fine if it gets under b x L soon */
		double thr = (double)b * L / 1000.0;
		double n = (double)d_cur > thr ? log(thr / (double)d_cur) / log(g) : 0;
		double eta_ms = (double)d_cur * 1000.0 / (double)b * (1.0 - pow(g, n)) / (1.0 - g);

		if (eta_ms <= ap->converge_soon_ms)
			return;
		shrinking = true;
		d_star = (uint64_t)(d_cur * g * g);
	} else if ((double)d_star < (double)b_pred * L / 1000.0) {
		if (long_passes)
			st->t_short_ms = 0;
		return;        /* a plateau already under the limit: QEMU completes at the next check */
	} else {
		if (long_passes)
			st->t_short_ms = 0;
	}
	need_ms = (double)d_star * 1000.0 / (double)b_pred * ap->margin_permille / 1000.0;
evidence:
	if (!st->evidence_pass)
		st->evidence_pass = cur->iteration;

	/* a rate far below what this job has sustained: a drop or a tenant burst, not the guest */
	if (b * 1000 < st->bw_peak_bps * ap->degraded_permille) {
		if (!st->t_degraded_ms)
			st->t_degraded_ms = s->t_ms ? s->t_ms : 1;
		if (s->t_ms < st->t_degraded_ms + ap->degraded_hold_ms) {
			snprintf(why, sizeof(why), "rate %.1f MiB/s is %.0f%% of the %.1f MiB/s seen:"
			         " holding", b / MIB, b * 100.0 / st->bw_peak_bps,
			         st->bw_peak_bps / MIB);
			hold_once(st, out, REASON_NETWORK_UNSTEADY, why);
			return;
		}
	} else {
		st->t_degraded_ms = 0;
	}
	if (!settled) {
		snprintf(why, sizeof(why), "network changed %.1f s ago (%.1f MiB/s now): re-evaluating",
		         (s->t_ms - (st->t_unsteady_ms > st->t_bw_set_ms ? st->t_unsteady_ms
		                                                           : st->t_bw_set_ms)) / 1000.0,
		         s->memory_bps / MIB);
		hold_once(st, out, REASON_NETWORK_UNSTEADY, why);
		return;
	}
	st->held = false;      /* the next disturbance gets its own hold record */
	/* one step per pass: let the last one show its effect (post-copy waiting only for the
	 * network watch goes as soon as the watch is over) */
	if (st->last_escalation_pass == cur->iteration && !st->watch_held)
		return;

	/* a downtime we set that did not do it within three passes: the estimate was low */
	if (need_ms <= L && st->last_escalation_pass &&
	    cur->iteration >= st->last_escalation_pass + 3)
		need_ms = L * 1.5;

	/* ---- 3. downtime straight to the converging value, within the SLA ---- */
	if (need_ms <= sla) {
		uint32_t ms = (uint32_t)((need_ms + 9.0) / 10.0) * 10;

		if (ms > sla)
			ms = sla;
		if (ms > L) {
			action_push(out, POLICY_ACT_SET_DOWNTIME, REASON_CONVERGING_DOWNTIME, ms, L,
			            "pass %" PRIu32 ": %.1f MiB dirty/pass (x%.2f), %.1f MiB/s: needs %.0f ms",
			            cur->iteration, d_star / MIB, g, b_pred / MIB, need_ms);
			st->last_escalation_pass = cur->iteration;
			st->hopeless_since_pass = 0;
			st->t_hopeless_ms = 0;
		}
		return;
	}

	/* pre-copy cannot meet the SLA: take the SLA's worth anyway, it costs nothing allowed */
	if (L < sla && early) {
		action_push(out, POLICY_ACT_SET_DOWNTIME, REASON_SLA_EXCEEDED, sla, L,
		            "pass 2: prior dirty rate %.1f MiB/s; needs %.0f ms > SLA %" PRIu32 " ms"
		            " (%.1f MiB at %.1f MiB/s)", lim->prior_dirty_bps / MIB, need_ms, sla,
		            d_star / MIB, b_pred / MIB);
		st->last_escalation_pass = cur->iteration;
	} else if (L < sla) {
		action_push(out, POLICY_ACT_SET_DOWNTIME, REASON_SLA_EXCEEDED, sla, L,
		            "pass %" PRIu32 ": needs %.0f ms > SLA %" PRIu32 " ms (%.1f MiB at %.1f MiB/s)",
		            cur->iteration, need_ms, sla, d_star / MIB, b_pred / MIB);
		st->last_escalation_pass = cur->iteration;
	}
	if (bw_pushed)
		return;        /* more bandwidth may still do it: see it first */
	if (shrinking && s->t_ms < budget_ms(hist, lim))
		return;        /* converging, if slowly: nothing drastic while the budget lasts */
	if (short_passes)
		return;        /* let the larger downtime show its effect first */

	/* ---- 4. post-copy, suspend, abort ---- */
	if (lim->allow_postcopy && lim->postcopy_flag_set) {
		bool healthy = s->nic_carrier != MIG_NIC_CARRIER_DOWN && !s->nic_errors_delta &&
		               !s->nic_drops_delta && !cur->unsteady && !pp->unsteady;
		uint64_t since = st->t_net_fault_ms ? st->t_net_fault_ms : st->t_start_ms;

		if (healthy && s->t_ms < since + ap->postcopy_watch_ms) {
			/* healthy, but not for long enough to bet the guest on: wait, not suspend */
			if (!st->watch_held) {
				st->watch_held = true;
				action_push(out, POLICY_ACT_HOLD, REASON_POSTCOPY_UNSAFE, 0, -1,
				            "post-copy waits: network healthy for %.1f s of the %.0f s"
				            " it needs", (s->t_ms - since) / 1000.0,
				            ap->postcopy_watch_ms / 1000.0);
			}
			return;
		}
		if (healthy) {
			action_push(out, POLICY_ACT_POSTCOPY, REASON_SLA_EXCEEDED, 0, -1,
			            "needs %.0f ms > SLA %" PRIu32 " ms; network steady at %.1f MiB/s",
			            need_ms, sla, b / MIB);
			return;
		}
		if (!lim->allow_suspend) {
			hold_once(st, out, REASON_POSTCOPY_UNSAFE,
			          "post-copy permitted but the network is not healthy: waiting");
			return;
		}
	}
	if (lim->allow_suspend) {
		action_push(out, POLICY_ACT_SUSPEND, REASON_SLA_EXCEEDED, 0, -1,
		            "needs %.0f ms > SLA %" PRIu32 " ms; suspend permitted (%.1f MiB at %.1f MiB/s)",
		            need_ms, sla, d_star / MIB, b / MIB);
		return;
	}
	if (!st->hopeless_since_pass)
		st->hopeless_since_pass = cur->iteration;
	if (!st->t_hopeless_ms)
		st->t_hopeless_ms = s->t_ms ? s->t_ms : 1;
	if (cur->iteration >= st->hopeless_since_pass + ap->hopeless_passes &&
	    s->t_ms >= st->t_hopeless_ms + ap->hopeless_min_ms) {
		action_push(out, POLICY_ACT_ABORT, REASON_HOPELESS, 0, -1,
		            "hopeless for %" PRIu32 " passes: needs %.0f ms > SLA %" PRIu32 " ms",
		            cur->iteration - st->hopeless_since_pass, need_ms, sla);
	} else if (s->t_ms >= budget_ms(hist, lim)) {
		action_push(out, POLICY_ACT_ABORT, REASON_BUDGET_SPENT, 0, -1,
		            "budget %.0f s spent: needs %.0f ms > SLA %" PRIu32 " ms",
		            budget_ms(hist, lim) / 1000.0, need_ms, sla);
	} else if (shadow_abort) {
		action_push(out, POLICY_ACT_ABORT, REASON_HOPELESS, 0, -1,
		            "Minimal downtime would abort now: needs %.0f ms > SLA %" PRIu32 " ms",
		            need_ms, sla);
	}
	(void)t_prev_ms;
}
