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
 *    completes if it still holds; the downtime is what is left over the final bandwidth;
 *  - the NIC: capacity and carrier over time, tenant traffic, several migrations, shared max-min
 *    fairly (each migration's demand is its bandwidth limit);
 *  - post-copy: the guest stops briefly, then every pending page crosses once; a carrier loss
 *    during post-copy loses the guest.  Suspend: dirtying stops and pre-copy finishes.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

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
	double rate_bps;                 /* this tick's share of the NIC */
	double measured_bps;             /* what QEMU measured over the last tick */
	double period_pages;
	uint64_t period_t0_ms;
	uint64_t dirty_pages_per_s;
	uint64_t t_stop_ms;              /* guest stopped (suspend / post-copy switch) */
	uint64_t setup_end_ms;           /* connection and device set-up: nothing moves before */
	uint64_t next_sample_ms, last_sample_ms;
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
	}
	return "?";
}

bool sim_outcome_completed(enum sim_outcome o)
{
	return o == SIM_COMPLETED || o == SIM_COMPLETED_POSTCOPY || o == SIM_COMPLETED_SUSPENDED;
}

static const struct sim_link_step *link_at(const struct sim_scenario *scn, uint64_t t)
{
	static const struct sim_link_step dflt = { .capacity_bps = 125000000, .carrier = true };
	const struct sim_link_step *l = scn->nlink ? &scn->link[0] : &dflt;

	for (unsigned i = 0; i < scn->nlink; i++)
		if (scn->link[i].t_ms <= t)
			l = &scn->link[i];
	return l;
}

static uint64_t tenant_at(const struct sim_scenario *scn, uint64_t t)
{
	uint64_t d = 0;

	for (unsigned i = 0; i < scn->ntenant; i++)
		if (scn->tenant[i].t_ms <= t)
			d = scn->tenant[i].demand_bps;
	return d;
}

static const struct sim_dirty_phase *phase_at(const struct sim_vm *vm, uint64_t t_rel)
{
	static const struct sim_dirty_phase idle = { 0 };
	const struct sim_dirty_phase *p = &idle;

	for (unsigned i = 0; i < vm->nphases; i++)
		if (vm->phases[i].t_ms <= t_rel)
			p = &vm->phases[i];
	return p;
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

static void finish(struct vmstate *v, enum sim_outcome o, uint64_t t_end_ms, double downtime_ms)
{
	v->done = true;
	v->phase = MIG_PHASE_DONE;
	v->res->outcome = (uint8_t)o;
	v->res->total_ms = t_end_ms - v->t0_ms;
	v->res->downtime_ms = (uint64_t)(downtime_ms + 0.5);
	v->res->bytes_sent = (uint64_t)(v->sent + 0.5);
	v->res->passes = v->iteration;
}

#define ZERO_PAGE_COST (8.0 / 4096.0)   /* a zero page costs its header on the wire */

/* Bytes on the wire to send all that is pending. */
static double pending_wire(const struct vmstate *v)
{
	return v->pending - v->pending_zero * (1.0 - ZERO_PAGE_COST);
}

/* Switchover: stop the guest and send what is left at the final rate. */
static void switchover(struct vmstate *v, uint64_t t_ms, double final_bps)
{
	double copy_ms = final_bps > 0 ? pending_wire(v) / final_bps * 1000.0 : 0;
	uint64_t t_end = t_ms + (uint64_t)(copy_ms + 0.5);
	bool suspended = v->phase == MIG_PHASE_SUSPENDED;

	v->sent += pending_wire(v);
	v->pending = v->pending_zero = 0;
	finish(v, suspended ? SIM_COMPLETED_SUSPENDED : SIM_COMPLETED, t_end,
	       suspended ? (double)(t_end - v->t_stop_ms) : copy_ms);
}

/* QEMU's check: pending < bandwidth x limit -> sync -> still below: complete. */
static bool try_complete(struct vmstate *v, uint64_t t_ms,
                         double bw, double final_bps, bool synced)
{
	double threshold = bw * v->dl_ms / 1000.0;

	if (bw <= 0 || v->pending >= threshold)
		return false;
	if (!synced)
		bitmap_sync(v, t_ms);
	if (v->pending >= threshold)
		return false;
	switchover(v, t_ms, final_bps);
	return true;
}

static void step_precopy(struct vmstate *v, uint64_t t_ms,
                         double final_bps)
{
	double dt = SIM_TICK_MS / 1000.0, left = dt, r = v->rate_bps, sent_tick = 0;
	bool running = v->phase == MIG_PHASE_PRECOPY, checked = false;
	uint64_t now = t_ms;

	for (unsigned loops = 0; left > 1e-9 && loops < 1000; loops++) {
		double step = left, send, ahead_data = v->pending - v->pending_zero - v->pending_behind;
		double thr = (v->measured_bps > 0 ? v->measured_bps : r) * v->dl_ms / 1000.0;
		bool crossing = false;

		if (v->pending <= 0.5) {
			/* the pass is over: sync, and QEMU's check right after it */
			bitmap_sync(v, now);
			if (try_complete(v, now, r, final_bps, true))
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
			if (try_complete(v, now, v->measured_bps > 0 ? v->measured_bps : r, final_bps,
			                 false))
				return;
		}
	}
	v->measured_bps = sent_tick / dt;
	try_complete(v, t_ms + SIM_TICK_MS, v->measured_bps > 0 ? v->measured_bps : r,
	             final_bps, false);
}

static void step_postcopy(struct vmstate *v, uint64_t t_ms, bool carrier)
{
	double send;

	if (!carrier) {
		/* pages still on the source cannot be fetched: the guest is lost */
		finish(v, SIM_FAILED, t_ms, 0);
		v->res->downtime_ms = 0;
		return;
	}
	send = fmin(v->pending, v->rate_bps * SIM_TICK_MS / 1000.0);
	v->pending -= send;
	v->sent += send;
	v->measured_bps = send * 1000.0 / SIM_TICK_MS;
	if (v->pending <= 0.5) {
		uint64_t extra = v->rate_bps > 0 ? (uint64_t)(send / v->rate_bps * 1000.0) : 0;

		finish(v, SIM_COMPLETED_POSTCOPY, t_ms + extra, v->res->downtime_ms);
	}
}

static void record(struct vmstate *v, const struct policy_action *a)
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
		v->cap_bps = (uint64_t)a->value;
		return true;
	case POLICY_ACT_POSTCOPY:
		/* libvirt refuses unless the job was started with VIR_MIGRATE_POSTCOPY */
		if (!v->cfg->postcopy_flag || v->phase != MIG_PHASE_PRECOPY)
			return false;
		bitmap_sync(v, t_ms);
		v->phase = MIG_PHASE_POSTCOPY;
		v->t_stop_ms = t_ms;
		v->res->downtime_ms = scn->postcopy_switch_ms;
		return true;
	case POLICY_ACT_SUSPEND:
		if (v->phase != MIG_PHASE_PRECOPY)
			return false;
		v->phase = MIG_PHASE_SUSPENDED;
		v->t_stop_ms = t_ms;
		return true;
	case POLICY_ACT_ABORT:
		finish(v, SIM_ABORTED, t_ms, 0);
		return true;
	default:
		return true;
	}
}

static void build_sample(const struct sim_scenario *scn, const struct vmstate *v,
                         const struct vmstate *all, unsigned nvms, uint64_t t_ms,
                         double tenant_bps, struct mig_sample *ret)
{
	const struct sim_link_step *l = link_at(scn, t_ms);
	double mig_tx = 0, bw = v->measured_bps;
	struct mig_sample s;

	for (unsigned i = 0; i < nvms; i++)
		if (all[i].phase != MIG_PHASE_NONE && !all[i].done)
			mig_tx += all[i].measured_bps;
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
	s.nic_capacity_bps = l->carrier ? l->capacity_bps : 0;
	s.nic_tx_bps = (uint64_t)(mig_tx + tenant_bps);
	s.nic_mig_tx_bps = (uint64_t)mig_tx;
	s.nic_errors_delta = (uint32_t)((uint64_t)l->errors_per_s * (t_ms - v->last_sample_ms) / 1000);
	*ret = s;
}

int sim_run(const struct sim_scenario *scn, const struct policy *pol, const struct sim_opts *opts,
            struct sim_result *ret_res)
{
	struct vmstate v[SIM_MAX_VMS];
	struct sim_result *res;
	uint32_t sample_ms = opts && opts->sample_ms ? opts->sample_ms :
	                     (scn->sample_ms ? scn->sample_ms : 500);
	uint64_t t;
	int r = 0;

	if (!scn->nvms || scn->nvms > SIM_MAX_VMS)
		return -EINVAL;
	res = calloc(1, sizeof(*res));
	if (!res)
		return -ENOMEM;
	memset(v, 0, sizeof(v));
	snprintf(res->scenario, sizeof(res->scenario), "%s", scn->name);
	snprintf(res->policy, sizeof(res->policy), "%s", pol->name);
	res->nvms = scn->nvms;
	for (unsigned i = 0; i < scn->nvms; i++) {
		v[i].cfg = &scn->vms[i];
		v[i].res = &res->vms[i];
		snprintf(v[i].res->name, sizeof(v[i].res->name), "%s", scn->vms[i].name);
		v[i].hist = calloc(1, sizeof(*v[i].hist));
		if (!v[i].hist) {
			r = -ENOMEM;
			goto out;
		}
		v[i].lim = scn->vms[i].limits;
		v[i].lim.guest_ram_bytes = scn->vms[i].ram_bytes;
		if (opts && opts->sla_ms >= 0)
			v[i].lim.sla_max_downtime_ms = (uint32_t)opts->sla_ms;
		if (opts && opts->allow_postcopy >= 0)
			v[i].lim.allow_postcopy = opts->allow_postcopy;
		if (opts && opts->allow_suspend >= 0)
			v[i].lim.allow_suspend = opts->allow_suspend;
		v[i].lim.postcopy_flag_set = scn->vms[i].postcopy_flag;
		if (opts && opts->no_prior)
			v[i].lim.prior_dirty_bps = 0;
		v[i].res->sla_ms = v[i].lim.sla_max_downtime_ms;
		policy_history_init(v[i].hist);
		policy_state_init(pol, &v[i].pst);
	}

	for (t = 0; t < scn->duration_ms; t += SIM_TICK_MS) {
		const struct sim_link_step *l = link_at(scn, t);
		double demand[SIM_MAX_VMS + 1], rate[SIM_MAX_VMS + 1], cap, final_bps;
		unsigned nflows = 1, idx[SIM_MAX_VMS], active = 0;
		bool all_done = true;

		for (unsigned i = 0; i < scn->nvms; i++) {
			if (v[i].phase == MIG_PHASE_NONE && !v[i].done && t >= scn->vms[i].start_ms) {
				v[i].phase = scn->setup_ms ? MIG_PHASE_SETUP : MIG_PHASE_PRECOPY;
				v[i].setup_end_ms = t + scn->setup_ms;
				v[i].t0_ms = t;
				v[i].pending = (double)scn->vms[i].ram_bytes;
				v[i].pending_hot = (double)phase_at(&scn->vms[i], 0)->hot_bytes;
				v[i].pending_zero = (double)scn->vms[i].zero_bytes;
				v[i].iteration = scn->setup_ms ? 0 : 1;
				v[i].cap_bps = scn->vms[i].cap_bps;
				v[i].dl_ms = scn->vms[i].downtime_limit_ms;
				v[i].period_t0_ms = t;
				v[i].next_sample_ms = t + scn->monitor_delay_ms;
				v[i].last_sample_ms = t;
			}
		}
		for (unsigned i = 0; i < scn->nvms; i++) {
			if (v[i].phase == MIG_PHASE_SETUP && t >= v[i].setup_end_ms) {
				v[i].phase = MIG_PHASE_PRECOPY;
				v[i].iteration = 1;
				v[i].period_t0_ms = t;
			}
		}
		/* flows: 0 = tenants, then every migration moving data */
		demand[0] = (double)tenant_at(scn, t);
		for (unsigned i = 0; i < scn->nvms; i++) {
			if (v[i].phase == MIG_PHASE_NONE || v[i].done)
				continue;
			if (v[i].phase == MIG_PHASE_SETUP) {
				active++;
				continue;
			}
			active++;
			idx[nflows - 1] = i;
			/* post-copy runs unthrottled (max-postcopy-bandwidth 0) */
			demand[nflows++] = (v[i].cap_bps && v[i].phase != MIG_PHASE_POSTCOPY) ?
			                   (double)v[i].cap_bps : DBL_MAX;
		}
		cap = l->carrier ? (double)l->capacity_bps : 0;
		waterfill(cap, demand, rate, nflows);
		res->tenant_demand_bytes += (uint64_t)(demand[0] * SIM_TICK_MS / 1000.0);
		res->tenant_sent_bytes += (uint64_t)(rate[0] * SIM_TICK_MS / 1000.0);
		for (unsigned f = 1; f < nflows; f++)
			v[idx[f - 1]].rate_bps = rate[f];

		for (unsigned i = 0; i < scn->nvms; i++) {
			if (v[i].phase == MIG_PHASE_NONE || v[i].phase == MIG_PHASE_SETUP || v[i].done)
				continue;
			/* QEMU 7.2's stop-and-copy ignores the cap: it gets what the link leaves */
			final_bps = scn->final_uncapped ? fmax(v[i].rate_bps, cap - rate[0]) : v[i].rate_bps;
			if (v[i].phase == MIG_PHASE_POSTCOPY)
				step_postcopy(&v[i], t, l->carrier);
			else
				step_precopy(&v[i], t, final_bps);
		}

		/* the policy's turn, at its sampling interval */
		for (unsigned i = 0; i < scn->nvms; i++) {
			struct policy_action acts[POLICY_MAX_ACTIONS];
			struct mig_sample s;
			uint64_t now = t + SIM_TICK_MS;
			int n;

			if (v[i].phase == MIG_PHASE_NONE || v[i].done || now < v[i].next_sample_ms)
				continue;
			build_sample(scn, &v[i], v, scn->nvms, now, rate[0], &s);
			v[i].next_sample_ms = now + sample_ms;
			v[i].last_sample_ms = now;
			v[i].lim.concurrent_on_nic = (uint16_t)(active ? active : 1);
			if (opts && opts->trace)
				opts->trace(opts->trace_ctx, i, &s);
			policy_observe(v[i].hist, &s);
			n = policy_decide(pol, &v[i].pst, v[i].hist, &v[i].lim, acts, POLICY_MAX_ACTIONS);
			for (int k = 0; k < n && !v[i].done; k++) {
				bool ok = apply(scn, &v[i], &acts[k], now);

				record(&v[i], &acts[k]);
				policy_applied(pol, &v[i].pst, &acts[k], ok);
			}
		}
		for (unsigned i = 0; i < scn->nvms; i++)
			if (!v[i].done)
				all_done = false;
		if (all_done)
			break;
	}
	for (unsigned i = 0; i < scn->nvms; i++) {
		if (v[i].done)
			continue;
		if (v[i].phase == MIG_PHASE_NONE)
			v[i].t0_ms = scn->duration_ms;
		finish(&v[i], SIM_NOT_CONVERGED, scn->duration_ms, 0);
	}
	*ret_res = *res;
out:
	for (unsigned i = 0; i < scn->nvms; i++)
		free(v[i].hist);
	free(res);
	return r;
}
