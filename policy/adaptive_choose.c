/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The adaptive policy's chooser: from the estimator's picture to the least harmful remedy that
 * finishes the job within its budget.
 *
 * Remedies, least harm first: wait; bandwidth into the link's headroom (a probe, a step up, when
 * the link's speed is unknown); a max downtime within the SLA (less the overshoot QEMU's real
 * downtime shows over its limit); post-copy (permitted, started with the flag, on a link healthy
 * for long enough); suspend (permitted); and when none of them finishes now, park: a trickle of
 * bandwidth while the policy watches, at full speed again the moment the picture says the job can
 * finish.  Abort comes only when the budget is spent, or at once when the owner asks for it
 * (on-hopeless = abort), never when the owner forbids it (allow-abort = no).
 *
 * Each remedy is predicted (adaptive_predict: time to finish, bytes, downtime) and every action
 * carries its prediction and what waiting would take.  The mechanics that keep the actions sane
 * live here too: one downtime step per pass and never down, bandwidth with hysteresis and minimum
 * intervals, one hold record per episode.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "adaptive.h"

#define MIB 1048576.0

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint32_t sat32(double v)
{
	return v >= (double)POLICY_PRED_NEVER ? POLICY_PRED_NEVER - 1 : v <= 0 ? 0 : (uint32_t)v;
}

/* ---- predictions ----------------------------------------------------------------------------- */

uint32_t adaptive_sla_limit_ms(const struct picture *pic)
{
	uint64_t ms = (uint64_t)pic->sla_ms * 1000 / pic->overshoot_permille;

	return ms > pic->sla_ms ? pic->sla_ms : ms ? (uint32_t)ms : 1;
}

void adaptive_predict(const struct picture *pic, enum remedy r, uint64_t bw_bps,
                      uint32_t limit_ms, const struct adaptive_params *ap,
                      struct prediction *ret)
{
	double b = (double)(bw_bps ? bw_bps : pic->rate_bps), p = (double)pic->pending_bytes;
	double over = pic->overshoot_permille / 1000.0, t = 0, bytes = 0;
	const struct guest_picture *g = &pic->guest;

	memset(ret, 0, sizeof(*ret));
	ret->time_ms = POLICY_PRED_NEVER;
	if (r == REMEDY_ABORT)
		return;
	if (b <= 0)
		return;
	switch (r) {
	case REMEDY_WAIT:
	case REMEDY_DOWNTIME: {
		/* the current pass drains; each sync after it finds at most D (shrinking: D g^k);
		 * QEMU stops the guest when what a sync found drains within the limit */
		double d = g->evidence == GUEST_EV_NONE ? p : (double)g->dirty_bytes;
		double thr = b * limit_ms / 1000.0;

		t = p / b;
		bytes = p;
		for (unsigned k = 0; k < 64; k++) {
			if (d < thr) {
				ret->downtime_ms = sat32(d / b * 1000.0 * over);
				ret->time_ms = sat32((t + d / b) * 1000.0);
				ret->bytes = (uint64_t)(bytes + d);
				break;
			}
			if (!g->shrinking)
				break;
			t += d / b;
			bytes += d;
			d *= g->growth;
		}
		break;
	}
	case REMEDY_POSTCOPY:
		/* one copy of what is pending after the switch's sync (at least the dirty set); the
		 * guest stops only for the switch */
		if ((double)g->dirty_bytes > p)
			p = (double)g->dirty_bytes;
		ret->time_ms = sat32(p / b * 1000.0);
		ret->bytes = (uint64_t)p;
		break;
	case REMEDY_SUSPEND:
		/* a non-live copy of what is pending: the guest is stopped for all of it */
		ret->time_ms = sat32(p / b * 1000.0);
		ret->downtime_ms = sat32(p / b * 1000.0 * over);
		ret->bytes = pic->pending_bytes;
		break;
	case REMEDY_PARK:
		/* finishes only if the guest calms down; until the budget it costs the trickle */
		ret->bytes = pic->t_ms < pic->budget_ms ?
		             ap->park_bps * (pic->budget_ms - pic->t_ms) / 1000 : 0;
		break;
	case REMEDY_ABORT:
		break;
	}
	ret->finishes = ret->time_ms != POLICY_PRED_NEVER &&
	                pic->t_ms + ret->time_ms <= pic->budget_ms;
}

/* "9.8s/310MiB/480ms" or "never" */
static void pred_text(const struct prediction *pr, char *buf, size_t len)
{
	if (pr->time_ms == POLICY_PRED_NEVER)
		snprintf(buf, len, "never");
	else
		snprintf(buf, len, "%.1fs/%.0fMiB/%" PRIu32 "ms", pr->time_ms / 1000.0,
		         pr->bytes / MIB, pr->downtime_ms);
}

/* ---- actions --------------------------------------------------------------------------------- */

struct ctx {
	const struct adaptive_params *ap;
	struct policy_state *st;
	struct adaptive_state *a;
	const struct picture *pic;
	const struct mig_limits *lim;
	struct action_buf *out;
	struct prediction wait;          /* doing nothing, at the rate in force */
	char wait_text[40];
};

/* Pushes one action with its prediction and reason "<what>; pred <chosen>; wait <wait>". */
__attribute__((format(__printf__, 6, 7)))
static void act(struct ctx *c, enum policy_action_kind kind, enum policy_reason reason,
                int64_t value, const struct prediction *pr, const char *fmt, ...)
{
	char what[POLICY_REASON_LEN], p[40] = "";
	struct policy_action *a;
	va_list ap;
	int64_t old = -1;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (kind == POLICY_ACT_SET_DOWNTIME)
		old = c->pic->limit_ms;
	else if (kind == POLICY_ACT_SET_BANDWIDTH)
		old = (int64_t)c->pic->bw_limit_bps;
	if (pr)
		pred_text(pr, p, sizeof(p));
	if (!action_push(c->out, kind, reason, value, old, pr ? "%s; pred %s; wait %s" : "%s",
	                 what, p, c->wait_text))
		return;
	a = &c->out->a[c->out->n - 1];
	if (pr) {
		a->pred.time_ms = pr->time_ms;
		a->pred.downtime_ms = pr->downtime_ms;
		a->pred.bytes = pr->bytes;
		a->pred.wait_ms = c->wait.time_ms;
	}
}

static void hold_once(struct ctx *c, enum policy_reason r, const char *why)
{
	if (c->a->held)
		return;
	c->a->held = true;
	act(c, POLICY_ACT_HOLD, r, 0, NULL, "%s", why);
}

static const char *cap_name(const struct link_picture *l)
{
	switch (l->cap_state) {
	case LINK_CAP_KNOWN: return "NIC";
	case LINK_CAP_SEEN: return "link (speed unknown) seen at";
	case LINK_CAP_FOUND: return "link (speed unknown) carries";
	}
	return "link speed unknown";
}

/* ---- bandwidth ------------------------------------------------------------------------------- */

/* An equal share of the link with the tenants' traffic, as TCP would give (0 = capacity unknown). */
static uint64_t equal_share_bps(const struct ctx *c)
{
	const struct link_picture *l = &c->pic->link;
	unsigned n = c->lim->concurrent_on_nic ? c->lim->concurrent_on_nic : 1;

	return l->cap_bps / (n + 1);
}

/* A probe in flight: did the job's rate follow the limit it was given? */
static bool probe_result(struct ctx *c, const struct mig_sample *s)
{
	struct adaptive_state *a = c->a;
	const struct link_picture *l = &c->pic->link;
	uint64_t carried;

	if (!a->probe_bps)
		return false;
	if (c->pic->bw_limit_bps != a->probe_bps) {
		/* not in force (advisory mode, or refused): forget it after a while */
		if (c->pic->t_ms >= a->t_probe_ms + 5000)
			a->probe_bps = 0;
		return true;
	}
	if (c->pic->t_ms < a->t_probe_ms + 1000)
		return true;                     /* the rate needs a sample or two to show */
	if (s->memory_bps * 1000 >= a->probe_bps * c->ap->probe_follow_permille) {
		a->probe_bps = 0;                /* followed: the link has at least that */
		return false;
	}
	/* did not follow: the link carries about what it carried now; back to what worked */
	carried = max64(s->nic_tx_bps, l->own_avg_bps + l->others_bps + l->tenant_bps);
	a->cap_found_bps = carried;
	act(c, POLICY_ACT_SET_BANDWIDTH, REASON_PROBE, (int64_t)a->probe_from_bps, NULL,
	    "%.0f of %.0f MiB/s asked went through: the link carries ~%.0f MiB/s",
	    s->memory_bps / MIB, a->probe_bps / MIB, carried / MIB);
	a->t_bw_set_ms = c->pic->t_ms ? c->pic->t_ms : 1;
	a->probe_bps = 0;
	return true;
}

/*
 * Moves the bandwidth towards the job's share of the link (known speed), or probes a step up
 * (unknown speed, the job held by its own limit).  Returns the bandwidth pushed, 0 for none.
 */
static uint64_t bandwidth(struct ctx *c, const struct mig_sample *s)
{
	const struct picture *pic = c->pic;
	const struct link_picture *l = &pic->link;
	struct adaptive_state *a = c->a;
	uint64_t now = pic->bw_limit_bps, target = 0, diff;
	uint64_t t = pic->t_ms;
	bool change;

	/* nothing is known of the path before a second reading: the NIC's first window and QEMU's
	 * differ most (the NIC's covers the set-up) */
	if (l->fault_now || l->off_path || !l->own_avg_known)
		return 0;
	if (probe_result(c, s))
		return 0;
	if (l->cap_state == LINK_CAP_KNOWN || l->cap_state == LINK_CAP_FOUND) {
		/* a share is the capacity less the tenants: none without a reading to take them
		 * from (the NIC has no rate yet, or an implausible one) */
		if (!l->reading_ok)
			return 0;
		target = l->share_bps;
		if (a->equal_share)
			target = max64(target, equal_share_bps(c));
		/* on the NIC's first sample a limit may only be raised: the NIC's and QEMU's windows
		 * differ most there */
		if (l->first_nic && (!now || target <= now))
			return 0;
	} else if (l->cap_bound && now &&
	           (!c->lim->bandwidth_max_bps || now < c->lim->bandwidth_max_bps) &&
	           pic->pending_bytes > pic->rate_bps * 2) {
		/* speed unknown, the job runs at its limit with seconds of work left: a step up */
		target = now * 2;
		if (c->lim->bandwidth_max_bps && target > c->lim->bandwidth_max_bps)
			target = c->lim->bandwidth_max_bps;
		if (a->t_bw_set_ms && t < a->t_bw_set_ms + 1000)
			return 0;
		act(c, POLICY_ACT_SET_BANDWIDTH, REASON_PROBE, (int64_t)target, NULL,
		    "link speed unknown: %.0f MiB/s all go through; trying %.0f MiB/s",
		    l->own_bps / MIB, target / MIB);
		a->probe_bps = target;
		a->probe_from_bps = now;
		a->t_probe_ms = t ? t : 1;
		a->t_bw_set_ms = t ? t : 1;
		return target;
	}
	if (!target)
		return 0;
	/* taking more waits bw_min_interval after any change; giving tenants room back (their
	 * traffic confirmed over two samples) waits only for the next sample */
	if (a->t_bw_set_ms && t < a->t_bw_set_ms + (target < now || !now ? 500 :
	                                            c->ap->bw_min_interval_ms))
		return 0;
	diff = now > target ? now - target : target - now;
	/* unlimited: TCP already shares among the migrations; step in only for tenants.  On a
	 * saturated link the tenants get less than they ask for and show it only as the job
	 * gives way: room goes back to them in small steps too */
	change = !now ? l->tenant_bps * 50 > l->cap_bps :
	         diff * 1000 > now * (target < now && l->saturated ? c->ap->bw_hysteresis_permille / 4
	                                                          : c->ap->bw_hysteresis_permille);
	if (!change)
		return 0;
	act(c, POLICY_ACT_SET_BANDWIDTH, now && target > now ? REASON_NIC_HEADROOM : REASON_FAIR_SHARE,
	    (int64_t)target, NULL, "%s %.0f MiB/s, tenants %.1f MiB/s, reserve %u%%, %u migration(s)",
	    cap_name(l), l->cap_bps / MIB, l->tenant_bps / MIB, c->lim->reserve_permille / 10,
	    c->lim->concurrent_on_nic ? c->lim->concurrent_on_nic : 1);
	/* recorded here too so that a dropped policy_applied() cannot make us flap */
	a->t_bw_set_ms = t ? t : 1;
	return target;
}

/* ---- parking --------------------------------------------------------------------------------- */

/* The bandwidth a parked job goes back to. */
static uint64_t resume_bps(const struct ctx *c)
{
	const struct link_picture *l = &c->pic->link;

	if (c->a->equal_share)
		return max64(max64(l->share_bps, equal_share_bps(c)), c->ap->bw_floor_bps);
	if (l->share_bps)
		return l->share_bps;
	if (c->a->park_from_bps)
		return c->a->park_from_bps;
	/* an unlimited job: twice the best it did is as good as unlimited on this link */
	return max64(2 * c->a->bw_peak_bps, c->ap->bw_floor_bps);
}

/*
 * The k-th wait between looks.  A look costs about two dirty sets at full speed (one pass drains
 * what is pending, one measures): parked at least four times as long as a look takes, it spends
 * at most a fifth of what running at full speed would; the waits double from there, so that a
 * guest that calms down is seen within about the time it has been parked.
 */
static uint64_t look_interval_ms(const struct ctx *c, uint32_t k)
{
	const struct picture *pic = c->pic;
	uint64_t d = pic->guest.dirty_bytes ? pic->guest.dirty_bytes : pic->pending_bytes;
	uint64_t look_ms = 2 * d * 1000 / max64(resume_bps(c), 1);

	return max64(c->ap->park_look_ms, 4 * look_ms) << min64(k, 8);
}

static void park(struct ctx *c, double need_ms, uint32_t sla_lim)
{
	struct adaptive_state *a = c->a;
	struct prediction pr;
	const struct picture *pic = c->pic;

	adaptive_predict(pic, REMEDY_PARK, 0, 0, c->ap, &pr);
	a->parked = true;
	a->park_from_bps = pic->bw_limit_bps;
	a->avail_at_park_bps = pic->link.avail_bps;
	a->t_parked_ms = pic->t_ms ? pic->t_ms : 1;
	a->parked_pass = pic->pass;
	if (!a->t_next_look_ms)
		a->t_next_look_ms = pic->t_ms + look_interval_ms(c, 0);
	a->t_bw_set_ms = pic->t_ms ? pic->t_ms : 1;
	act(c, POLICY_ACT_SET_BANDWIDTH, REASON_PARK, (int64_t)c->ap->park_bps, &pr,
	    "needs %.0f ms > SLA limit %" PRIu32 " ms: parked, budget %.0f s", need_ms, sla_lim,
	    pic->budget_ms / 1000.0);
}

static void resume(struct ctx *c, const struct prediction *pr, const char *why)
{
	struct adaptive_state *a = c->a;
	uint64_t bw = resume_bps(c);

	a->parked = false;
	a->look_pass = c->pic->pass;
	a->looks++;
	a->t_next_look_ms = c->pic->t_ms + look_interval_ms(c, a->looks);
	a->t_bw_set_ms = c->pic->t_ms ? c->pic->t_ms : 1;
	a->held = false;
	act(c, POLICY_ACT_SET_BANDWIDTH, REASON_RESUME, (int64_t)bw, pr, "%s", why);
}

/*
 * A parked job: back to full speed when a parked pass shows the dirty set small enough to finish
 * at it, when the link offers much more than when it parked, and for a look: at look_interval_ms,
 * and once more at the last moment a look could still finish within the budget.
 */
static void parked(struct ctx *c)
{
	const struct picture *pic = c->pic;
	struct adaptive_state *a = c->a;
	uint64_t bw = resume_bps(c), last_look, d;
	struct prediction pr;
	char why[POLICY_REASON_LEN];

	adaptive_predict(pic, REMEDY_DOWNTIME, bw, adaptive_sla_limit_ms(pic), c->ap, &pr);
	if (pic->pass >= a->parked_pass + 2 && pic->guest.evidence == GUEST_EV_PASSES && pr.finishes) {
		snprintf(why, sizeof(why), "dirty set now %.1f MiB: finishes at %.0f MiB/s",
		         pic->guest.dirty_bytes / MIB, bw / MIB);
		resume(c, &pr, why);
		return;
	}
	if (a->avail_at_park_bps && pic->link.avail_bps * 2 >= a->avail_at_park_bps * 3) {
		snprintf(why, sizeof(why), "link leaves %.0f MiB/s (%.0f when parked): look",
		         pic->link.avail_bps / MIB, a->avail_at_park_bps / MIB);
		resume(c, &pr, why);
		return;
	}
	/* the last look: one pass to drain what is pending, one to measure, one to finish */
	d = pic->guest.dirty_bytes ? pic->guest.dirty_bytes : pic->pending_bytes;
	last_look = 3 * d * 1000 / max64(bw, 1) + 2000;
	if (pic->budget_ms > last_look && pic->t_ms >= pic->budget_ms - last_look &&
	    a->t_parked_ms < pic->budget_ms - last_look) {
		/* tenants first while there is time; at the end an equal share with them, rather
		 * than give the migration up */
		a->equal_share = true;
		snprintf(why, sizeof(why), "last look after %.0f s parked, budget %.0f s, %.0f MiB/s",
		         (pic->t_ms - a->t_parked_ms) / 1000.0, pic->budget_ms / 1000.0,
		         resume_bps(c) / MIB);
		resume(c, &pr, why);
		return;
	}
	/* the looks before it */
	if (pic->t_ms >= a->t_next_look_ms) {
		snprintf(why, sizeof(why), "look %" PRIu32 " after %.0f s parked", a->looks + 1,
		         (pic->t_ms - a->t_parked_ms) / 1000.0);
		resume(c, &pr, why);
	}
}

/* ---- the choice ------------------------------------------------------------------------------ */

/* What post-copy has to copy: the switch syncs once more, so at least the dirty set. */
static uint64_t postcopy_bytes(const struct picture *pic)
{
	return max64(pic->pending_bytes, pic->guest.dirty_bytes);
}

/* How long the link must have been healthy before post-copy bets the guest on it: twice what the
 * copy takes, more after each fault of this job. */
static uint64_t health_need_ms(const struct ctx *c)
{
	const struct picture *pic = c->pic;
	uint64_t exposure = pic->rate_bps ? postcopy_bytes(pic) * 1000 / pic->rate_bps : 0;
	uint64_t need = max64(c->ap->postcopy_health_min_ms, c->ap->postcopy_exposure_x * exposure);

	/* a broken stream is resumed on this host: a fault costs time, not the guest */
	if (c->lim->postcopy_recovery)
		return c->ap->postcopy_health_min_ms;
	/* a link that has failed during this job is given longer each time */
	return min64(need * (1 + min64(pic->link.fault_episodes, 4)), 120000);
}

static uint32_t ceil10(double ms)
{
	return (uint32_t)((ms + 9.0) / 10.0) * 10;
}

/* Nothing permitted finishes now: park, or abort when the owner asked for that. */
static void verdict(struct ctx *c, double need_ms, uint32_t sla_lim)
{
	struct policy_state *st = c->st;
	const struct picture *pic = c->pic;

	if (!st->t_verdict_ms)
		st->t_verdict_ms = pic->t_ms ? pic->t_ms : 1;
	if (c->lim->on_hopeless == MIG_ON_HOPELESS_ABORT && c->lim->allow_abort) {
		struct prediction pr;

		adaptive_predict(pic, REMEDY_ABORT, 0, 0, c->ap, &pr);
		act(c, POLICY_ACT_ABORT, REASON_HOPELESS, 0, &pr,
		    "needs %.0f ms > SLA limit %" PRIu32 " ms, nothing else permitted (on-hopeless=abort)",
		    need_ms, sla_lim);
		return;
	}
	park(c, need_ms, sla_lim);
}

void adaptive_choose(const struct adaptive_params *ap, struct policy_state *st,
                     const struct picture *pic, const struct mig_limits *lim,
                     struct action_buf *out, const struct mig_sample *s)
{
	struct ctx c = { .ap = ap, .st = st, .a = &st->ad, .pic = pic, .lim = lim, .out = out };
	struct adaptive_state *a = &st->ad;
	const struct guest_picture *g = &pic->guest;
	const struct link_picture *l = &pic->link;
	uint32_t sla_lim = adaptive_sla_limit_ms(pic), L = pic->limit_ms;
	uint64_t pushed, b = pic->rate_bps, b_pred;
	struct prediction pr;
	double need_ms;
	char why[POLICY_REASON_LEN];

	adaptive_predict(pic, REMEDY_WAIT, 0, L, ap, &c.wait);
	pred_text(&c.wait, c.wait_text, sizeof(c.wait_text));

	/* ---- the budget: spent, and the job not about to finish ---- */
	if (pic->t_ms >= pic->budget_ms &&
	    (c.wait.time_ms > ap->converge_soon_ms || a->parked ||
	     pic->t_ms >= pic->budget_ms + ap->converge_soon_ms)) {
		if (!st->t_verdict_ms)
			st->t_verdict_ms = pic->t_ms ? pic->t_ms : 1;
		if (lim->allow_abort) {
			adaptive_predict(pic, REMEDY_ABORT, 0, 0, ap, &pr);
			act(&c, POLICY_ACT_ABORT, REASON_BUDGET_SPENT, 0, &pr,
			    "budget %.0f s spent%s", pic->budget_ms / 1000.0,
			    a->parked ? " parked" : "");
			return;
		}
		hold_once(&c, REASON_BUDGET_SPENT, "budget spent; aborts not allowed (allow-abort=no)");
	}

	/* ---- what the link is, said once when nobody can say: once the NIC has been read (the
	 * first sample may come before it), or with no reading of it by the end of the bulk pass */
	if (!a->cap_unknown_said && (l->cap_state == LINK_CAP_UNKNOWN || l->cap_state == LINK_CAP_SEEN) &&
	    pic->pass >= (l->nic_read ? 1 : 2)) {
		a->cap_unknown_said = true;
		act(&c, POLICY_ACT_HOLD, REASON_PROBE, 0, NULL, "link speed unknown (%s)%s",
		    l->nic_read ? "the NIC reports none" : "no reading of the migration NIC",
		    l->cap_bound ? ": headroom found by probing" : ": no headroom assumed");
	}

	/* ---- parked: watch, resume ---- */
	if (a->parked) {
		parked(&c);
		return;
	}

	/* ---- bandwidth ---- */
	pushed = bandwidth(&c, s);
	b_pred = pushed > b ? pushed * 9 / 10 : b;

	/* ---- a look: its second pass at full speed says what the guest dirties now; if that
	 * cannot finish within the SLA, back to the trickle at once (the last look instead gets
	 * the whole choice below: it is the job's last chance) ---- */
	if (a->look_pass && pic->pass >= a->look_pass + 2 && g->last_bytes && b) {
		double look_ms = (double)g->last_bytes * 1000.0 / (double)b;

		a->look_pass = 0;
		if (!a->equal_share && look_ms > sla_lim &&
		    !(lim->allow_postcopy && lim->postcopy_flag_set) && !lim->allow_suspend) {
			park(&c, look_ms, sla_lim);
			return;
		}
	}
	if (g->evidence == GUEST_EV_NONE || !b)
		return;

	/* ---- the bulk pass just ended: a limit within the SLA that converges now? ---- */
	if (g->evidence == GUEST_EV_BULK || g->evidence == GUEST_EV_PRIOR) {
		need_ms = (double)g->dirty_bytes * 1000.0 / (double)b * ap->margin_permille / 1000.0;
		/* an upper bound, disturbed or not: a slower bulk pass only found more */
		if (need_ms > L && need_ms <= sla_lim && (a->last_escalation_pass != 2 || a->watch_held)) {
			uint32_t ms = ceil10(need_ms) > sla_lim ? sla_lim : ceil10(need_ms);

			adaptive_predict(pic, REMEDY_DOWNTIME, b, ms, ap, &pr);
			act(&c, POLICY_ACT_SET_DOWNTIME, REASON_CONVERGING_DOWNTIME, ms, &pr,
			    "pass 2: %.1f MiB dirty after the bulk pass at %.1f MiB/s", g->dirty_bytes / MIB,
			    b / MIB);
			a->last_escalation_pass = 2;
			return;
		}
		if (g->evidence == GUEST_EV_BULK || pushed)
			return;
	} else {
		if (g->disturbed && (double)g->dirty_bytes > (double)b * L / 1000.0) {
			snprintf(why, sizeof(why), "pass %" PRIu32 " ran on a disturbed network (%.1f MiB/s"
			         " now): not evidence", pic->pass - 1, s->memory_bps / MIB);
			hold_once(&c, REASON_NETWORK_UNSTEADY, why);
			return;
		}
		/* a plateau already under the limit: QEMU completes at the next check */
		if (!g->shrinking && (double)g->dirty_bytes < (double)b_pred * L / 1000.0)
			return;
		/* shrinking by itself, soon enough */
		if (g->shrinking && g->eta_ms <= ap->converge_soon_ms)
			return;
		need_ms = (double)g->dirty_bytes * 1000.0 / (double)b_pred * ap->margin_permille / 1000.0;
	}
	if (!a->evidence_pass)
		a->evidence_pass = pic->pass;

	/* ---- the network is not what the passes were measured on ---- */
	if (l->degraded && pic->t_ms < a->t_degraded_ms + ap->degraded_hold_ms) {
		snprintf(why, sizeof(why), "rate %.1f MiB/s is %.0f%% of the %.1f MiB/s seen: holding",
		         b / MIB, b * 100.0 / a->bw_peak_bps, a->bw_peak_bps / MIB);
		hold_once(&c, REASON_NETWORK_UNSTEADY, why);
		return;
	}
	if (l->unsteady) {
		snprintf(why, sizeof(why), "network changed %.1f s ago (%.1f MiB/s now): re-evaluating",
		         (pic->t_ms - a->t_unsteady_ms) / 1000.0, s->memory_bps / MIB);
		hold_once(&c, REASON_NETWORK_UNSTEADY, why);
		return;
	}
	a->held = false;
	/* one step per pass: let the last one show its effect (post-copy waiting only for the
	 * network goes as soon as the link has been healthy long enough) */
	if (a->last_escalation_pass == pic->pass && !a->watch_held)
		return;
	if (g->limit_short && need_ms <= L)
		need_ms = L * 1.5;

	/* ---- a max downtime within the SLA ---- */
	if (need_ms <= sla_lim) {
		uint32_t ms = ceil10(need_ms) > sla_lim ? sla_lim : ceil10(need_ms);

		if (ms > L) {
			adaptive_predict(pic, REMEDY_DOWNTIME, b_pred, ms, ap, &pr);
			act(&c, POLICY_ACT_SET_DOWNTIME, REASON_CONVERGING_DOWNTIME, ms, &pr,
			    "pass %" PRIu32 ": %.1f MiB/pass (x%.2f) at %.1f MiB/s", pic->pass,
			    g->dirty_bytes / MIB, g->growth, b_pred / MIB);
			a->last_escalation_pass = pic->pass;
		}
		return;
	}

	/* ---- pre-copy cannot meet the SLA: its limit anyway, it costs nothing allowed ---- */
	if (L < sla_lim) {
		adaptive_predict(pic, REMEDY_DOWNTIME, b_pred, sla_lim, ap, &pr);
		if (g->evidence == GUEST_EV_PRIOR)
			act(&c, POLICY_ACT_SET_DOWNTIME, REASON_SLA_EXCEEDED, sla_lim, &pr,
			    "pass 2: prior dirty rate %.1f MiB/s; needs %.0f ms > SLA limit %" PRIu32 " ms",
			    lim->prior_dirty_bps / MIB, need_ms, sla_lim);
		else
			act(&c, POLICY_ACT_SET_DOWNTIME, REASON_SLA_EXCEEDED, sla_lim, &pr,
			    "pass %" PRIu32 ": needs %.0f ms > SLA limit %" PRIu32 " ms (%.1f MiB at %.1f MiB/s)",
			    pic->pass, need_ms, sla_lim, g->dirty_bytes / MIB, b_pred / MIB);
		a->last_escalation_pass = pic->pass;
	}
	if (pushed || a->probe_bps)
		return;        /* more bandwidth may still do it: see it first */
	/* the SLA's limit may still do it (the margin is for doubt, not for certainty): give it
	 * two passes to show */
	adaptive_predict(pic, REMEDY_DOWNTIME, b_pred, sla_lim, ap, &pr);
	if (pr.finishes && a->last_escalation_pass && pic->pass < a->last_escalation_pass + 2)
		return;
	if (g->shrinking && pic->t_ms + g->eta_ms < pic->budget_ms)
		return;        /* converging, if slowly: nothing drastic while the budget lasts */
	if (g->short_passes)
		return;        /* let the larger downtime show its effect first */
	if (a->look_pass && pic->pass < a->look_pass + 2)
		return;        /* a look needs two passes at full speed to say anything */

	/* ---- post-copy ---- */
	if (lim->allow_postcopy && lim->postcopy_flag_set) {
		uint64_t need_h = health_need_ms(&c);

		if (!l->fault_now && l->healthy_ms >= need_h) {
			adaptive_predict(pic, REMEDY_POSTCOPY, b, 0, ap, &pr);
			act(&c, POLICY_ACT_POSTCOPY, REASON_SLA_EXCEEDED, 0, &pr,
			    "needs %.0f ms > SLA limit %" PRIu32 " ms; link healthy %.0f s", need_ms, sla_lim,
			    l->healthy_ms / 1000.0);
			return;
		}
		if (!l->fault_now) {
			/* healthy, but not for long enough to bet the guest on: wait, not suspend */
			if (!a->watch_held) {
				a->watch_held = true;
				act(&c, POLICY_ACT_HOLD, REASON_POSTCOPY_UNSAFE, 0, NULL,
				    "post-copy waits: link healthy for %.1f s of the %.1f s it needs",
				    l->healthy_ms / 1000.0, need_h / 1000.0);
			}
			return;
		}
		a->watch_held = false;
		if (!lim->allow_suspend) {
			hold_once(&c, REASON_POSTCOPY_UNSAFE,
			          "post-copy permitted but the link is not healthy: waiting");
			return;
		}
	}

	/* ---- suspend ---- */
	if (lim->allow_suspend) {
		adaptive_predict(pic, REMEDY_SUSPEND, b, 0, ap, &pr);
		act(&c, POLICY_ACT_SUSPEND, REASON_SLA_EXCEEDED, 0, &pr,
		    "needs %.0f ms > SLA limit %" PRIu32 " ms; suspend permitted", need_ms, sla_lim);
		return;
	}
	/* parking stops the progress a slowly shrinking dirty set still makes: it needs the
	 * plateau seen over three passes (or proven by the rate measured before the job) */
	if (g->evidence != GUEST_EV_PRIOR && g->npasses < 3)
		return;
	verdict(&c, need_ms, sla_lim);
}
