/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration model.  Time advances in 100 ms ticks (QEMU's completion-check period); inside a
 * tick a pass may end and a new one begin.  What is modelled, and why (docs/scenarios.md says more):
 *  - the dirty bitmap: pending bytes, of which some lie inside the guest's hot set and some are
 *    zero pages, which QEMU sends as a small header (they fly through the first pass);
 *  - the guest's writes since the last bitmap sync, counted as DISTINCT bytes: a cyclic (sequential)
 *    writer covers min(hot, written), a random one hot x (1 - e^(-written/hot)).  A sync merges them
 *    into the bitmap and starts a pass, as QEMU's migration_bitmap_sync does; the dirty rate is
 *    reported the way QEMU counts it, distinct pages per sync period of at least one second;
 *  - completion: when pending < measured bandwidth x downtime limit, QEMU syncs once more and
 *    completes if it still holds: the guest stops, what is left crosses the link as one more flow
 *    sharing it with the others, and a fixed switchover cost follows;
 *  - the NIC: capacity and carrier over time, tenant traffic, several migrations, shared max-min
 *    fairly on the wire (each migration's demand is its bandwidth limit plus protocol overhead);
 *    the samples read its counters on the agent's clock, over their own window;
 *  - the stream: a carrier loss blocks it until TCP's next retransmission after the link returns,
 *    or breaks it after the stream's timeout; a reset breaks it at once.  A break before post-copy
 *    fails the migration (the guest stays on the source); in post-copy it splits the guest, which
 *    is lost unless post-copy recovery resumes it once the link is back;
 *  - post-copy: the guest stops briefly, then every pending page crosses once.  Suspend: dirtying
 *    stops and pre-copy finishes.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MIB 1048576.0
#define NIC_RATE_MAX_GAP_MS 5000         /* the agent's NIC rate restarts after a longer gap */
#define TCP_RTO_MIN_MS      200
#define TCP_RTO_MAX_MS      120000

struct vmstate {
	const struct sim_vm *cfg;
	struct sim_vm_result *res;
	struct policy_state pst;
	struct mig_history *hist;
	struct mig_limits lim;
	uint8_t phase;                   /* enum mig_phase; NONE before start */
	bool done;
	uint64_t t0_ms;
	double pending, pending_hot, since_sync;
	double pending_behind;           /* hot pages a mid-pass sync found behind the sweep */
	double pending_zero;             /* never-written pages: cost a header each on the wire */
	double sent;
	uint32_t iteration;
	uint64_t cap_bps;
	uint32_t dl_ms;
	double rate_bps;                 /* this tick's share of the NIC, payload */
	double measured_bps;             /* what QEMU measured over the last tick */
	double period_pages;
	uint64_t period_t0_ms;
	uint64_t dirty_pages_per_s;
	uint64_t setup_end_ms;
	uint64_t next_sample_ms, last_sample_ms;
	/* the guest stopped: suspended by the policy, or the final copy of a switchover */
	bool suspended, stopcopy;
	double t_stop_ms;
	/* the stream: blocked by a carrier loss since blocked_ms */
	bool blocked;
	uint64_t blocked_ms;
	uint64_t t_split_ms, recovered_ms;  /* post-copy broken at; a resume done at */
	/* what the policy said */
	bool parked;
	uint64_t t_park_ms;
	bool inferred;                   /* a giving-up action seen (verdict for silent policies) */
	uint64_t inferred_ms;
	double inferred_sent;
	bool verdict_seen;
	double verdict_sent;
};

/* Everything one run shares between its guests. */
struct run {
	const struct sim_scenario *scn;
	struct vmstate v[SIM_MAX_VMS];
	double wire;                     /* frame bytes per payload byte */
	double spare_bps;                /* link capacity no flow uses in this tick (wire) */
	/* the NIC's counters and the agent's last read of them */
	double nic_tx_bytes, nic_err;
	bool nic_read;
	uint64_t nic_read_ms, nic_slot;
	double nic_read_tx, nic_read_err;
	uint64_t nic_tx_bps;
	uint32_t nic_err_delta;
	uint64_t carrier_up_ms;          /* the carrier last came back */
};

const char *sim_outcome_name(enum sim_outcome o)
{
	switch (o) {
	case SIM_RUNNING: return "running";
	case SIM_COMPLETED: return "completed";
	case SIM_COMPLETED_POSTCOPY: return "completed-postcopy";
	case SIM_COMPLETED_SUSPENDED: return "completed-suspended";
	case SIM_ABORTED: return "aborted";
	case SIM_FAILED: return "failed";
	case SIM_NOT_CONVERGED: return "not-converged";
	case SIM_INTERRUPTED: return "interrupted";
	}
	return "?";
}

bool sim_outcome_completed(enum sim_outcome o)
{
	return o == SIM_COMPLETED || o == SIM_COMPLETED_POSTCOPY || o == SIM_COMPLETED_SUSPENDED;
}

const char *sim_end_name(enum sim_end e)
{
	switch (e) {
	case SIM_END_NONE: return "-";
	case SIM_END_COMPLETED: return "completed";
	case SIM_END_POSTCOPY: return "post-copy";
	case SIM_END_SUSPENDED: return "suspended";
	case SIM_END_ABORTED: return "aborted";
	case SIM_END_PARKED_ABORTED: return "parked-then-aborted";
	case SIM_END_LOST: return "lost";
	case SIM_END_SPLIT_RECOVERED: return "split-recovered";
	case SIM_END_INTERRUPTED: return "interrupted";
	case SIM_END_NOT_CONVERGED: return "not-converged";
	case SIM_END_PARKED_NOT_CONVERGED: return "parked-not-converged";
	}
	return "?";
}

bool sim_vm_finish_accepted(const struct sim_vm_result *r)
{
	switch ((enum sim_outcome)r->outcome) {
	case SIM_COMPLETED:
		return r->sla_held || r->allow_suspend;
	case SIM_COMPLETED_POSTCOPY:
		return r->allow_postcopy;
	case SIM_COMPLETED_SUSPENDED:
		return r->allow_suspend;
	default:
		return false;
	}
}

/* ---- timelines ------------------------------------------------------------------------------ */

int sim_timeline_at(const void *steps, size_t stride, unsigned n, const struct sim_repeat *rep,
                    uint64_t t_ms, uint64_t *ret_occurrence)
{
	const unsigned char *p = steps;
	uint64_t first, period = 0;
	int idx = -1;

	if (ret_occurrence)
		*ret_occurrence = 0;
	if (!n)
		return -1;
	memcpy(&first, p, sizeof(first));
	if (rep && rep->every_ms && t_ms >= first) {
		if (rep->until_ms && t_ms > rep->until_ms)
			t_ms = rep->until_ms;
		period = (t_ms - first) / rep->every_ms;
		t_ms = first + (t_ms - first) % rep->every_ms;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t ti;

		memcpy(&ti, p + i * stride, sizeof(ti));
		if (ti > t_ms)
			break;
		idx = (int)i;
	}
	if (ret_occurrence)
		*ret_occurrence = period * n + (uint64_t)(idx + 1);
	return idx;
}

static const struct sim_link_step *link_at(const struct sim_scenario *scn, uint64_t t,
                                           uint64_t *ret_occurrence)
{
	static const struct sim_link_step dflt = { .capacity_bps = 125000000, .carrier = true,
	                                           .speed_known = true };
	int i = sim_timeline_at(scn->link, sizeof(scn->link[0]), scn->nlink, &scn->link_repeat, t,
	                        ret_occurrence);

	return i >= 0 ? &scn->link[i] : (scn->nlink ? &scn->link[0] : &dflt);
}

static uint64_t tenant_at(const struct sim_scenario *scn, uint64_t t)
{
	int i = sim_timeline_at(scn->tenant, sizeof(scn->tenant[0]), scn->ntenant,
	                        &scn->tenant_repeat, t, NULL);

	return i >= 0 ? scn->tenant[i].demand_bps : 0;
}

static const struct sim_dirty_phase *phase_at(const struct sim_vm *vm, uint64_t t_rel)
{
	static const struct sim_dirty_phase idle = { 0 };
	int i = sim_timeline_at(vm->phases, sizeof(vm->phases[0]), vm->nphases, &vm->dirty_repeat,
	                        t_rel, NULL);

	return i >= 0 ? &vm->phases[i] : &idle;
}

/* Max-min fair shares of capacity among flows with the given demands. */
static void waterfill(double capacity, const double *demand, double *ret_rate, unsigned n)
{
	bool fixed[SIM_MAX_VMS + 1] = { false };
	double left = capacity;
	unsigned nleft = n;

	for (unsigned i = 0; i < n; i++)
		ret_rate[i] = 0;
	while (nleft && left > 0) {
		double share = left / nleft;
		bool any = false;

		for (unsigned i = 0; i < n; i++) {
			if (!fixed[i] && demand[i] <= share) {
				ret_rate[i] = demand[i];
				left -= demand[i];
				fixed[i] = true;
				nleft--;
				any = true;
			}
		}
		if (!any) {
			for (unsigned i = 0; i < n; i++)
				if (!fixed[i])
					ret_rate[i] = share;
			break;
		}
	}
}

/* ---- the guest and QEMU's pre-copy ------------------------------------------------------------- */

static void dirty(struct vmstate *v, double seconds, uint64_t t_ms)
{
	const struct sim_dirty_phase *ph = phase_at(v->cfg, t_ms - v->t0_ms);
	double hot = (double)ph->hot_bytes, w = ph->rate_bps * seconds;

	if (hot <= 0 || w <= 0)
		return;
	if (v->since_sync > hot)
		v->since_sync = hot;
	if (ph->pattern == SIM_PATTERN_RANDOM)
		v->since_sync += (hot - v->since_sync) * (1.0 - exp(-w / hot));
	else
		v->since_sync = fmin(hot, v->since_sync + w);
}

static void bitmap_sync(struct vmstate *v, uint64_t t_ms)
{
	const struct sim_dirty_phase *ph = phase_at(v->cfg, t_ms - v->t0_ms);
	double hot = (double)ph->hot_bytes, s = v->since_sync, merged;
	bool pass_end = v->pending <= 0.5;

	if (v->pending_hot > hot)
		v->pending_hot = hot;
	if (v->pending_behind > v->pending_hot)
		v->pending_behind = v->pending_hot;
	/*
	 * Union of the pending hot pages and the freshly dirtied ones.  A random writer's pages fall
	 * anywhere (independent positions).  A cyclic writer's fresh pages are the stretch it walked
	 * since the last sync, and the pending ones lie in the stretch it walked before: the two are
	 * adjacent on the cycle and overlap only when together they wrap round the hot set.  (The lab
	 * shows the difference: with the cap equal to the writer's rate, QEMU's mid-pass syncs keep
	 * finding about as much as before, and the job never converges.)
	 */
	if (hot <= 0)
		merged = 0;
	else if (ph->pattern == SIM_PATTERN_RANDOM)
		merged = v->pending_hot + s - v->pending_hot * s / hot;
	else
		merged = fmin(hot, v->pending_hot + s);
	v->pending += merged - v->pending_hot;
	/*
	 * QEMU's sweep goes on from where it is after a sync.  The hot set lies low in guest memory,
	 * so a sync in mid-sweep finds its new pages behind the cursor: they go out after the rest of
	 * the sweep, once it wraps.  After a sync that ends a sweep everything is ahead again.
	 */
	if (pass_end)
		v->pending_behind = 0;
	else if (merged > v->pending_hot)
		v->pending_behind += merged - v->pending_hot;
	v->pending_hot = merged;
	v->since_sync = 0;
	v->iteration++;
	v->period_pages += s / v->cfg->page_size;
	if (t_ms >= v->period_t0_ms + 1000) {
		v->dirty_pages_per_s = (uint64_t)(v->period_pages * 1000.0 / (t_ms - v->period_t0_ms));
		v->period_pages = 0;
		v->period_t0_ms = t_ms;
	}
}

static void finish(struct vmstate *v, enum sim_outcome o, double t_end_ms, double downtime_ms)
{
	v->done = true;
	v->phase = MIG_PHASE_DONE;
	v->res->outcome = (uint8_t)o;
	v->res->total_ms = (uint64_t)(t_end_ms + 0.5) - v->t0_ms;
	v->res->downtime_ms = (uint64_t)(downtime_ms + 0.5);
	v->res->bytes_sent = (uint64_t)(v->sent + 0.5);
	v->res->passes = v->iteration;
}

/* The migration ends with the guest running on the source: its stop, if any, was downtime. */
static void end_on_source(struct vmstate *v, enum sim_outcome o, double t_ms)
{
	finish(v, o, t_ms, v->suspended || v->stopcopy ? t_ms - v->t_stop_ms : 0);
}

#define ZERO_PAGE_COST (8.0 / 4096.0)   /* a zero page costs its header on the wire */

/* Bytes on the wire to send all that is pending. */
static double pending_wire(const struct vmstate *v)
{
	return v->pending - v->pending_zero * (1.0 - ZERO_PAGE_COST);
}

/*
 * The final copy: send what is left at `rate` for at most `seconds` from t_ms; when all of it
 * has crossed, the switchover's fixed cost follows and the migration is complete.
 */
static void stopcopy_send(const struct sim_scenario *scn, struct vmstate *v, double t_ms,
                          double seconds, double rate)
{
	double left = pending_wire(v), send = fmin(left, rate * seconds);
	double t_end;

	v->sent += send;
	if (send < left - 0.5) {
		v->pending -= send;
		if (v->pending_zero > v->pending)
			v->pending_zero = v->pending;
		return;
	}
	t_end = t_ms + (rate > 0 ? left / rate * 1000.0 : 0) + scn->switchover_ms;
	v->pending = v->pending_zero = 0;
	finish(v, v->suspended ? SIM_COMPLETED_SUSPENDED : SIM_COMPLETED, t_end,
	       t_end - v->t_stop_ms);
}

/*
 * QEMU's check: pending < bandwidth x limit -> sync -> still below: the guest stops and the rest
 * goes out, as a flow of its own from then on.  In the tick it starts, the final copy has its
 * pre-copy share; QEMU 7.2 does not cap it, so it also takes what no other flow uses.
 */
static bool try_complete(struct run *run, struct vmstate *v, uint64_t t_ms, double bw,
                         bool synced, double tick_left_s)
{
	double threshold = bw * v->dl_ms / 1000.0, rate = v->rate_bps;

	if (bw <= 0 || v->pending >= threshold)
		return false;
	if (!synced)
		bitmap_sync(v, t_ms);
	if (v->pending >= threshold)
		return false;
	v->stopcopy = true;
	if (!v->suspended) {
		v->t_stop_ms = (double)t_ms;
		v->phase = MIG_PHASE_SUSPENDED;
	}
	if (run->scn->final_uncapped && run->spare_bps > 0 && tick_left_s > 0) {
		double extra = fmin(run->spare_bps / run->wire, pending_wire(v) / tick_left_s);

		rate += extra;
		run->spare_bps -= extra * run->wire;
	}
	stopcopy_send(run->scn, v, (double)t_ms, tick_left_s, rate);
	return true;
}

static void step_precopy(struct run *run, struct vmstate *v, uint64_t t_ms)
{
	double dt = SIM_TICK_MS / 1000.0, left = dt, r = v->rate_bps, sent_tick = 0;
	bool running = !v->suspended, checked = false;
	uint64_t now = t_ms;

	for (unsigned loops = 0; left > 1e-9 && loops < 1000; loops++) {
		double step = left, send, ahead_data = v->pending - v->pending_zero - v->pending_behind;
		double thr = (v->measured_bps > 0 ? v->measured_bps : r) * v->dl_ms / 1000.0;
		bool crossing = false;

		if (v->pending <= 0.5) {
			/* the pass is over: sync, and QEMU's check right after it */
			bitmap_sync(v, now);
			if (try_complete(run, v, now, r, true, left))
				return;
			if (v->pending <= 0.5) {
				if (running)
					dirty(v, left, now);
				break;
			}
		}
		if (r > 0 && pending_wire(v) / r < step)
			step = pending_wire(v) / r;
		/*
		 * QEMU checks the pending size before every chunk it sends.  Under a cap a chunk is the
		 * budget of a 100 ms window, so data pages are checked at the tick; but zero pages cost
		 * next to nothing on the wire, and an uncapped job sends all the time: then the check
		 * catches the moment the pending size falls under the threshold.  QEMU sends a chunk
		 * between two checks, so one such check per tick.
		 */
		if (!checked && r > 0 && v->pending > thr && thr > 0 &&
		    (!v->cap_bps || v->pending - thr + 1.0 > ahead_data)) {
			double need = v->pending - thr + 1.0, wire, z;

			wire = fmin(fmax(ahead_data, 0), need);
			need -= wire;
			z = fmin(v->pending_zero, need);
			wire += z * ZERO_PAGE_COST;
			need -= z;
			if (need > 0)
				wire += fmin(need, v->pending_behind);
			if (wire / r < step) {
				step = wire / r;
				crossing = true;
			}
		}
		if (running)
			dirty(v, step, now);
		/*
		 * Pages go out in address order; a booted guest's written memory sits below the RAM
		 * it never touched, so the data goes first and the zero pages fly through after it.
		 */
		send = fmin(pending_wire(v), r * step);
		{
			/* ahead of the cursor: written data, then the zero pages; then, wrapped, the
			 * pages found behind it */
			double ahead = v->pending - v->pending_zero - v->pending_behind;
			double ahead_hot = v->pending_hot - v->pending_behind;
			double data = fmin(fmax(ahead, 0), send);
			double zeros = fmin(v->pending_zero, (send - data) / ZERO_PAGE_COST);
			double behind = fmin(v->pending_behind,
			                     fmax(send - data - zeros * ZERO_PAGE_COST, 0));

			/* the hot set lies low (the lab guest's starts at 4 MiB): it goes first */
			if (ahead_hot > 0)
				v->pending_hot -= fmin(ahead_hot, data);
			v->pending_hot -= behind;
			v->pending_behind -= behind;
			v->pending_zero -= zeros;
			v->pending -= data + zeros + behind;
		}
		if (v->pending_hot < 0)
			v->pending_hot = 0;
		if (v->pending_behind < 0 || v->pending <= 0.5)
			v->pending_behind = 0;
		if (v->pending_zero < 0 || v->pending <= 0.5)
			v->pending_zero = 0;
		v->sent += send;
		sent_tick += send;
		left -= step;
		now = t_ms + (uint64_t)((dt - left) * 1000.0);
		if (r <= 0)
			break;
		if (crossing && v->pending > 0.5) {
			checked = true;
			if (try_complete(run, v, now, v->measured_bps > 0 ? v->measured_bps : r, false,
			                 left))
				return;
		}
	}
	v->measured_bps = sent_tick / dt;
	try_complete(run, v, t_ms + SIM_TICK_MS, v->measured_bps > 0 ? v->measured_bps : r, false, 0);
}

static void step_postcopy(struct vmstate *v, uint64_t t_ms)
{
	double send = fmin(v->pending, v->rate_bps * SIM_TICK_MS / 1000.0);

	v->pending -= send;
	v->sent += send;
	v->measured_bps = send * 1000.0 / SIM_TICK_MS;
	if (v->pending <= 0.5) {
		double extra = v->rate_bps > 0 ? send / v->rate_bps * 1000.0 : 0;

		finish(v, SIM_COMPLETED_POSTCOPY, (double)t_ms + extra, (double)v->res->downtime_ms);
	}
}

/* ---- the stream ------------------------------------------------------------------------------ */

/*
 * TCP retransmits an unacknowledged segment after its RTO, doubling it each time from 200 ms up to
 * 120 s.  The first retransmission at or after `after_ms` from the loss's start, or UINT64_MAX when
 * the connection gives up (at timeout_ms) before.
 */
static uint64_t tcp_next_retransmit_ms(uint64_t after_ms, uint64_t timeout_ms)
{
	uint64_t t = 0, rto = TCP_RTO_MIN_MS;

	while (t < after_ms) {
		t += rto;
		rto = rto * 2 > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : rto * 2;
	}
	return t < timeout_ms ? t : UINT64_MAX;
}

static bool stream_live(const struct vmstate *v)
{
	switch (v->phase) {
	case MIG_PHASE_SETUP: case MIG_PHASE_PRECOPY: case MIG_PHASE_SUSPENDED:
	case MIG_PHASE_POSTCOPY:
		return !v->done;
	default:
		return false;
	}
}

/* The migration stream breaks at t_ms. */
static void stream_break(struct vmstate *v, double t_ms)
{
	v->blocked = false;
	if (v->phase != MIG_PHASE_POSTCOPY) {
		/* QEMU fails the job; libvirt resumes the guest on the source */
		end_on_source(v, SIM_INTERRUPTED, t_ms);
		return;
	}
	v->res->breaks++;
	v->phase = MIG_PHASE_POSTCOPY_BROKEN;
	v->t_split_ms = (uint64_t)t_ms;
	if (!v->lim.postcopy_recovery)
		/* the source paused, the destination running without its missing pages: lost */
		finish(v, SIM_FAILED, t_ms, (double)v->res->downtime_ms);
}

/* Resets, carrier losses and their ends, for one migration at the start of a tick. */
static void stream_faults(struct run *run, struct vmstate *v, uint64_t t,
                          const struct sim_link_step *l, bool reset)
{
	uint64_t timeout = run->scn->stream_timeout_ms, resume;

	if (!stream_live(v))
		return;
	if (reset) {
		stream_break(v, (double)t);
		return;
	}
	if (v->phase == MIG_PHASE_SETUP)
		return;
	if (!l->carrier && !v->blocked) {
		v->blocked = true;
		v->blocked_ms = t;
	}
	if (!v->blocked)
		return;
	if (t - v->blocked_ms >= timeout) {
		stream_break(v, (double)(v->blocked_ms + timeout));
		return;
	}
	if (!l->carrier)
		return;
	resume = tcp_next_retransmit_ms(run->carrier_up_ms > v->blocked_ms ?
	                                run->carrier_up_ms - v->blocked_ms : 0, timeout);
	if (resume != UINT64_MAX && v->blocked_ms + resume <= t)
		v->blocked = false;
}

/* A broken post-copy: resumed over a new connection once the link is back (recovery on). */
static void step_split(struct run *run, struct vmstate *v, uint64_t t,
                       const struct sim_link_step *l, bool reset)
{
	const struct sim_vm *c = v->cfg;

	if (v->phase == MIG_PHASE_POSTCOPY_BROKEN && l->carrier && !reset) {
		v->phase = MIG_PHASE_POSTCOPY_RECOVERING;
		v->recovered_ms = t + run->scn->reconnect_ms;
		/* the destination tells the source which pages it already holds */
		v->sent += (double)c->ram_bytes / c->page_size / 8.0;
	} else if (v->phase == MIG_PHASE_POSTCOPY_RECOVERING && (!l->carrier || reset)) {
		v->phase = MIG_PHASE_POSTCOPY_BROKEN;
		v->res->breaks++;
	} else if (v->phase == MIG_PHASE_POSTCOPY_RECOVERING && t >= v->recovered_ms) {
		v->phase = MIG_PHASE_POSTCOPY;
		v->res->split_ms += t - v->t_split_ms;
	}
}

/* ---- the policy's side --------------------------------------------------------------------- */

static bool gives_up(const struct policy_action *a)
{
	return a->reason == REASON_SLA_EXCEEDED || a->reason == REASON_HOPELESS ||
	       a->reason == REASON_BUDGET_SPENT || a->reason == REASON_PARK;
}

static void record(struct vmstate *v, const struct policy_action *a, uint64_t now)
{
	struct sim_vm_result *r = v->res;

	if (r->nactions < SIM_MAX_ACTIONS)
		r->actions[r->nactions++] = *a;
	else
		r->actions_truncated = true;
	if (a->kind != POLICY_ACT_HOLD && a->reason != REASON_INITIAL && !r->first_action_ms)
		r->first_action_ms = a->t_ms ? a->t_ms : 1;
	if (a->kind == POLICY_ACT_SET_DOWNTIME && a->value > (int64_t)r->max_downtime_set_ms)
		r->max_downtime_set_ms = (uint32_t)a->value;
	if (!v->inferred && a->kind != POLICY_ACT_HOLD && gives_up(a)) {
		v->inferred = true;
		v->inferred_ms = a->t_ms;
		v->inferred_sent = v->sent;
	}
	if (a->kind == POLICY_ACT_SET_BANDWIDTH && a->reason == REASON_PARK && !v->parked) {
		v->parked = true;
		v->t_park_ms = now;
	} else if (a->kind == POLICY_ACT_SET_BANDWIDTH && v->parked && a->reason != REASON_PARK) {
		v->parked = false;
		r->parked_ms += now - v->t_park_ms;
	}
}

static bool apply(const struct sim_scenario *scn, struct vmstate *v, const struct policy_action *a,
                  uint64_t t_ms)
{
	switch (a->kind) {
	case POLICY_ACT_SET_DOWNTIME:
		if (a->value <= 0)
			return false;
		v->dl_ms = (uint32_t)a->value;
		return true;
	case POLICY_ACT_SET_BANDWIDTH:
		if (a->value < 0)
			return false;
		/* libvirt takes whole MiB/s (0 = unlimited): the actuator rounds up, so the floor of
		 * any limit is 1 MiB/s */
		v->cap_bps = ((uint64_t)a->value + (1u << 20) - 1) >> 20 << 20;
		return true;
	case POLICY_ACT_POSTCOPY:
		/* libvirt refuses unless the job was started with VIR_MIGRATE_POSTCOPY */
		if (!v->cfg->postcopy_flag || v->phase != MIG_PHASE_PRECOPY)
			return false;
		bitmap_sync(v, t_ms);
		v->phase = MIG_PHASE_POSTCOPY;
		v->t_stop_ms = (double)t_ms;
		v->res->downtime_ms = scn->postcopy_switch_ms;
		return true;
	case POLICY_ACT_SUSPEND:
		if (v->phase != MIG_PHASE_PRECOPY)
			return false;
		v->phase = MIG_PHASE_SUSPENDED;
		v->suspended = true;
		v->t_stop_ms = (double)t_ms;
		return true;
	case POLICY_ACT_ABORT:
		/* a post-copy cannot be aborted: the destination already runs the guest */
		if (v->phase != MIG_PHASE_SETUP && v->phase != MIG_PHASE_PRECOPY &&
		    v->phase != MIG_PHASE_SUSPENDED)
			return false;
		end_on_source(v, SIM_ABORTED, (double)t_ms);
		return true;
	default:
		return true;
	}
}

/* The agent reads the NIC's counters on its own clock, while a migration uses the NIC. */
static void nic_read(struct run *run, uint64_t now)
{
	if (run->nic_read && now - run->nic_read_ms <= NIC_RATE_MAX_GAP_MS && now > run->nic_read_ms) {
		run->nic_tx_bps = (uint64_t)((run->nic_tx_bytes - run->nic_read_tx) * 1000.0 /
		                             (double)(now - run->nic_read_ms));
		run->nic_err_delta = (uint32_t)(run->nic_err - run->nic_read_err);
	} else {
		run->nic_tx_bps = 0;         /* no rate yet */
		run->nic_err_delta = 0;
	}
	run->nic_read = true;
	run->nic_read_ms = now;
	run->nic_read_tx = run->nic_tx_bytes;
	run->nic_read_err = run->nic_err;
}

static void build_sample(const struct run *run, const struct vmstate *v, unsigned nvms,
                         uint64_t t_ms, struct mig_sample *ret)
{
	const struct sim_link_step *l = link_at(run->scn, t_ms, NULL);
	double mig_tx = 0, bw = v->measured_bps;
	struct mig_sample s;

	for (unsigned i = 0; i < nvms; i++)
		if (run->v[i].phase != MIG_PHASE_NONE && !run->v[i].done)
			mig_tx += run->v[i].measured_bps;
	memset(&s, 0, sizeof(s));
	s.t_ms = t_ms - v->t0_ms;
	s.iteration = v->iteration;
	s.page_size = v->cfg->page_size;
	s.data_total_bytes = s.mem_total_bytes = v->cfg->ram_bytes;
	s.data_processed_bytes = s.mem_processed_bytes = (uint64_t)v->sent;
	s.data_remaining_bytes = s.mem_remaining_bytes = (uint64_t)v->pending;
	s.memory_bps = (uint64_t)bw;
	s.dirty_pages_per_s = v->dirty_pages_per_s;
	if (bw > 0) {
		double ms = v->pending / bw * 1000.0;

		s.expected_downtime_ms = ms > 4e9 ? 4000000000u : (uint32_t)ms;
	} else {
		s.expected_downtime_ms = v->pending > 0 ? 4000000000u : 0;
	}
	s.downtime_limit_ms = v->dl_ms;
	s.bandwidth_limit_bps = v->cap_bps;
	s.phase = v->phase;
	s.nic_carrier = l->carrier ? MIG_NIC_CARRIER_UP : MIG_NIC_CARRIER_DOWN;
	s.nic_capacity_bps = l->carrier && l->speed_known ? l->capacity_bps : 0;
	s.nic_tx_bps = run->nic_tx_bps;
	s.nic_mig_tx_bps = (uint64_t)mig_tx;
	s.nic_errors_delta = run->nic_err_delta;
	*ret = s;
}

/* ---- a run ----------------------------------------------------------------------------------- */

static void start_vm(const struct sim_scenario *scn, struct vmstate *v, const struct sim_vm *c,
                     uint64_t t)
{
	v->phase = scn->setup_ms ? MIG_PHASE_SETUP : MIG_PHASE_PRECOPY;
	v->setup_end_ms = t + scn->setup_ms;
	v->t0_ms = t;
	v->pending = (double)c->ram_bytes;
	v->pending_hot = (double)phase_at(c, 0)->hot_bytes;
	v->pending_zero = (double)c->zero_bytes;
	v->iteration = scn->setup_ms ? 0 : 1;
	v->cap_bps = c->cap_bps;
	v->dl_ms = c->downtime_limit_ms;
	v->period_t0_ms = t;
	v->next_sample_ms = t + scn->monitor_delay_ms;
	v->last_sample_ms = t;
}

/* Fill in what the outputs say of a finished migration. */
static void conclude(struct vmstate *v)
{
	struct sim_vm_result *r = v->res;
	enum sim_outcome o = (enum sim_outcome)r->outcome;
	bool parked = r->parked_ms > 0 || v->parked;

	if (v->parked)
		r->parked_ms += r->total_ms + v->t0_ms - v->t_park_ms;
	switch (o) {
	case SIM_COMPLETED: r->end = SIM_END_COMPLETED; break;
	case SIM_COMPLETED_SUSPENDED: r->end = SIM_END_SUSPENDED; break;
	case SIM_COMPLETED_POSTCOPY:
		r->end = r->breaks ? SIM_END_SPLIT_RECOVERED : SIM_END_POSTCOPY;
		break;
	case SIM_ABORTED: r->end = parked ? SIM_END_PARKED_ABORTED : SIM_END_ABORTED; break;
	case SIM_FAILED: r->end = SIM_END_LOST; break;
	case SIM_INTERRUPTED: r->end = SIM_END_INTERRUPTED; break;
	case SIM_NOT_CONVERGED:
		r->end = parked ? SIM_END_PARKED_NOT_CONVERGED : SIM_END_NOT_CONVERGED;
		break;
	default: r->end = SIM_END_NONE; break;
	}
	if (v->phase == MIG_PHASE_POSTCOPY_BROKEN || v->phase == MIG_PHASE_POSTCOPY_RECOVERING ||
	    o == SIM_FAILED)
		r->split_ms += r->total_ms + v->t0_ms - v->t_split_ms;
	r->sla_held = o != SIM_FAILED && r->downtime_ms <= r->sla_ms;
	if (v->pst.t_verdict_ms) {
		r->have_verdict = true;
		r->verdict_ms = v->pst.t_verdict_ms;
		r->bytes_after_verdict = (uint64_t)(v->sent - v->verdict_sent + 0.5);
	} else if (v->inferred && !sim_outcome_completed(o)) {
		/* a policy that names no verdict: its first action giving up on pre-copy in the SLA */
		r->have_verdict = r->verdict_inferred = true;
		r->verdict_ms = v->inferred_ms;
		r->bytes_after_verdict = (uint64_t)(v->sent - v->inferred_sent + 0.5);
	}
}

static void policy_turn(struct run *run, struct vmstate *v, const struct policy *pol, unsigned nvms,
                        unsigned active, uint32_t sample_ms, const struct sim_opts *opts,
                        uint64_t now, unsigned idx)
{
	struct policy_action acts[POLICY_MAX_ACTIONS];
	struct mig_sample s;
	int n;

	build_sample(run, v, nvms, now, &s);
	v->next_sample_ms = now + sample_ms;
	v->last_sample_ms = now;
	v->lim.concurrent_on_nic = (uint16_t)(active ? active : 1);
	if (opts && opts->trace)
		opts->trace(opts->trace_ctx, idx, &s);
	if (opts && opts->obs && opts->obs->sample)
		opts->obs->sample(opts->obs_ctx, idx, now, &s);
	policy_observe(v->hist, &s);
	n = policy_decide(pol, &v->pst, v->hist, &v->lim, acts, POLICY_MAX_ACTIONS);
	for (int k = 0; k < n && !v->done; k++) {
		bool ok = apply(run->scn, v, &acts[k], now);

		record(v, &acts[k], now);
		if (opts && opts->obs && opts->obs->action)
			opts->obs->action(opts->obs_ctx, idx, now, &acts[k], ok);
		policy_applied(pol, &v->pst, &acts[k], ok);
	}
	if (v->pst.t_verdict_ms && !v->verdict_seen) {
		v->verdict_seen = true;
		v->verdict_sent = v->sent;
	}
}

static void init_vm(const struct sim_scenario *scn, const struct policy *pol,
                    const struct sim_opts *opts, struct vmstate *v, struct sim_vm_result *r,
                    unsigned i)
{
	const struct sim_vm *c = &scn->vms[i];

	v->cfg = c;
	v->res = r;
	snprintf(r->name, sizeof(r->name), "%s", c->name);
	v->lim = c->limits;
	v->lim.guest_ram_bytes = c->ram_bytes;
	if (opts && opts->sla_ms >= 0)
		v->lim.sla_max_downtime_ms = (uint32_t)opts->sla_ms;
	if (opts && opts->allow_postcopy >= 0)
		v->lim.allow_postcopy = opts->allow_postcopy;
	if (opts && opts->allow_suspend >= 0)
		v->lim.allow_suspend = opts->allow_suspend;
	if (opts && opts->postcopy_recovery >= 0)
		v->lim.postcopy_recovery = opts->postcopy_recovery;
	v->lim.postcopy_flag_set = c->postcopy_flag;
	if (opts && opts->no_prior)
		v->lim.prior_dirty_bps = 0;
	r->sla_ms = v->lim.sla_max_downtime_ms;
	r->ram_bytes = c->ram_bytes;
	r->recovery = v->lim.postcopy_recovery;
	r->allow_postcopy = v->lim.allow_postcopy;
	r->allow_suspend = v->lim.allow_suspend;
	{
		double budget_s = v->lim.budget_s_per_gib * (c->ram_bytes / 1073741824.0);

		if (budget_s < v->lim.budget_min_s)
			budget_s = v->lim.budget_min_s;
		r->budget_ms = (uint64_t)(budget_s * 1000.0);
	}
	policy_history_init(v->hist);
	policy_state_init(pol, &v->pst);
}

int sim_run(const struct sim_scenario *scn, const struct policy *pol, const struct sim_opts *opts,
            struct sim_result *ret_res)
{
	struct run *run;
	struct vmstate *v;
	struct sim_result *res;
	uint32_t sample_ms = opts && opts->sample_ms ? opts->sample_ms :
	                     (scn->sample_ms ? scn->sample_ms : 500);
	uint64_t t, link_occ = UINT64_MAX;
	bool carrier_before = true, ended[SIM_MAX_VMS] = { false };
	int r = 0;

	if (!scn->nvms || scn->nvms > SIM_MAX_VMS)
		return -EINVAL;
	res = calloc(1, sizeof(*res));
	run = calloc(1, sizeof(*run));
	if (!res || !run) {
		free(res);
		free(run);
		return -ENOMEM;
	}
	v = run->v;
	run->scn = scn;
	run->wire = 1.0 + scn->nic_overhead_permille / 1000.0;
	snprintf(res->scenario, sizeof(res->scenario), "%s", scn->name);
	snprintf(res->policy, sizeof(res->policy), "%s", pol->name);
	res->nvms = scn->nvms;
	for (unsigned i = 0; i < scn->nvms; i++) {
		v[i].hist = calloc(1, sizeof(*v[i].hist));
		if (!v[i].hist) {
			r = -ENOMEM;
			goto out;
		}
		init_vm(scn, pol, opts, &v[i], &res->vms[i], i);
	}

	for (t = 0; t < scn->duration_ms; t += SIM_TICK_MS) {
		uint64_t occ;
		const struct sim_link_step *l = link_at(scn, t, &occ);
		double demand[SIM_MAX_VMS + 1], rate[SIM_MAX_VMS + 1], cap, sent0[SIM_MAX_VMS];
		unsigned nflows = 1, idx[SIM_MAX_VMS], active = 0;
		bool all_done = true, reset = l->reset && occ != link_occ;

		link_occ = occ;
		if (l->carrier && !carrier_before)
			run->carrier_up_ms = t;
		carrier_before = l->carrier;
		for (unsigned i = 0; i < scn->nvms; i++) {
			if (v[i].phase == MIG_PHASE_NONE && !v[i].done && t >= scn->vms[i].start_ms)
				start_vm(scn, &v[i], &scn->vms[i], t);
			if (v[i].phase == MIG_PHASE_SETUP && t >= v[i].setup_end_ms) {
				v[i].phase = MIG_PHASE_PRECOPY;
				v[i].iteration = 1;
				v[i].period_t0_ms = t;
			}
			stream_faults(run, &v[i], t, l, reset);
			if (!v[i].done && (v[i].phase == MIG_PHASE_POSTCOPY_BROKEN ||
			                   v[i].phase == MIG_PHASE_POSTCOPY_RECOVERING))
				step_split(run, &v[i], t, l, reset);
		}
		/* flows: 0 = tenants, then every migration whose stream moves */
		demand[0] = (double)tenant_at(scn, t);
		for (unsigned i = 0; i < scn->nvms; i++) {
			bool capped;

			v[i].rate_bps = 0;
			sent0[i] = v[i].sent;
			if (v[i].phase == MIG_PHASE_NONE || v[i].done)
				continue;
			active++;
			if (v[i].phase == MIG_PHASE_SETUP || v[i].blocked ||
			    v[i].phase == MIG_PHASE_POSTCOPY_BROKEN ||
			    v[i].phase == MIG_PHASE_POSTCOPY_RECOVERING)
				continue;
			idx[nflows - 1] = i;
			/* post-copy runs unthrottled (max-postcopy-bandwidth 0), and so does QEMU 7.2's
			 * final copy */
			capped = v[i].cap_bps && v[i].phase != MIG_PHASE_POSTCOPY &&
			         !(v[i].stopcopy && scn->final_uncapped);
			demand[nflows++] = capped ? (double)v[i].cap_bps * run->wire : DBL_MAX;
		}
		cap = l->carrier ? (double)l->capacity_bps : 0;
		waterfill(cap, demand, rate, nflows);
		run->spare_bps = cap;
		for (unsigned f = 0; f < nflows; f++)
			run->spare_bps -= rate[f];
		if (run->spare_bps < 0)
			run->spare_bps = 0;
		res->tenant_demand_bytes += (uint64_t)(demand[0] * SIM_TICK_MS / 1000.0);
		res->tenant_sent_bytes += (uint64_t)(rate[0] * SIM_TICK_MS / 1000.0);
		for (unsigned f = 1; f < nflows; f++)
			v[idx[f - 1]].rate_bps = rate[f] / run->wire;

		for (unsigned i = 0; i < scn->nvms; i++) {
			struct vmstate *w = &v[i];

			if (w->phase == MIG_PHASE_NONE || w->phase == MIG_PHASE_SETUP || w->done)
				continue;
			if (w->phase == MIG_PHASE_POSTCOPY_BROKEN ||
			    w->phase == MIG_PHASE_POSTCOPY_RECOVERING ||
			    (w->phase == MIG_PHASE_POSTCOPY && w->blocked)) {
				/* the guest runs on the destination and waits for pages that do not come */
				w->res->stall_ms += SIM_TICK_MS;
				w->measured_bps = 0;
			} else if (w->phase == MIG_PHASE_POSTCOPY) {
				step_postcopy(w, t);
			} else if (w->stopcopy) {
				stopcopy_send(scn, w, (double)t, SIM_TICK_MS / 1000.0, w->rate_bps);
				w->measured_bps = w->rate_bps;
			} else {
				step_precopy(run, w, t);
			}
		}
		/* the NIC's counters: frames of every migration, and the tenants' traffic */
		for (unsigned i = 0; i < scn->nvms; i++)
			run->nic_tx_bytes += (v[i].sent - sent0[i]) * run->wire;
		run->nic_tx_bytes += rate[0] * SIM_TICK_MS / 1000.0;
		run->nic_err += (double)l->errors_per_s * SIM_TICK_MS / 1000.0;

		/* the agent's turn: the NIC on its clock, then each job at its sampling interval */
		{
			uint64_t now = t + SIM_TICK_MS;

			if (opts && opts->obs) {
				for (unsigned i = 0; i < scn->nvms; i++)
					if (v[i].done && !ended[i]) {
						ended[i] = true;
						if (opts->obs->end)
							opts->obs->end(opts->obs_ctx, i, now, &res->vms[i]);
					}
				if (opts->obs->tick)
					opts->obs->tick(opts->obs_ctx, now);
			}

			if (active && (!run->nic_read || now / sample_ms != run->nic_slot)) {
				nic_read(run, now);
				run->nic_slot = now / sample_ms;
			}
			for (unsigned i = 0; i < scn->nvms; i++)
				if (v[i].phase != MIG_PHASE_NONE && !v[i].done && now >= v[i].next_sample_ms)
					policy_turn(run, &v[i], pol, scn->nvms, active, sample_ms, opts,
					            now, i);
		}
		for (unsigned i = 0; i < scn->nvms; i++)
			if (!v[i].done)
				all_done = false;
		if (all_done)
			break;
	}
	for (unsigned i = 0; i < scn->nvms; i++) {
		if (!v[i].done) {
			if (v[i].phase == MIG_PHASE_NONE)
				v[i].t0_ms = scn->duration_ms;
			if (v[i].phase >= MIG_PHASE_POSTCOPY_BROKEN || v[i].phase == MIG_PHASE_POSTCOPY)
				finish(&v[i], SIM_NOT_CONVERGED, (double)scn->duration_ms,
				       (double)v[i].res->downtime_ms);
			else
				end_on_source(&v[i], SIM_NOT_CONVERGED, (double)scn->duration_ms);
		}
		conclude(&v[i]);
		if (opts && opts->obs && opts->obs->end && !ended[i])
			opts->obs->end(opts->obs_ctx, i, v[i].t0_ms + res->vms[i].total_ms, &res->vms[i]);
	}
	*ret_res = *res;
out:
	for (unsigned i = 0; i < scn->nvms; i++)
		free(v[i].hist);
	free(run);
	free(res);
	return r;
}
