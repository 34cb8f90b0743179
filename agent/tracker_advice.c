/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy seam: between what the tracker observed and what the actuator does.  With every new
 * sample of an outgoing migration it keeps the policy's per-job history and state
 * (d->policy_state), fills the job's limits from the owner's settings (the domain XML's metadata:
 * through the hook, then through libvirt by the actuator) and from the guest's dirty rate measured
 * before the job, asks the policy, and hands each action to the actuator, which applies or records
 * it and says whether it took.  Without an actuator (tests, benchmarks) the seam records the
 * actions itself as advisories.  Nothing here calls libvirt but through the actuator.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/actuator.h"
#include "agent/log.h"
#include "agent/stats.h"
#include "agent/strutil.h"
#include "agent/tracker_impl.h"

/* Per-migration state of the seam: the policy's history and its memory of what it decided, so
 * an unchanged decision is not recorded again every 500 ms. */
struct advice_state {
	struct policy policy;            /* the tracker's, or the one the domain's owner named */
	char policy_name[16];
	struct mig_history hist;
	struct policy_state st;
	int last_kind;
	int64_t last_value;
	struct act_job job;              /* the actuator's view of this job */
	/* what the host's overshoot is learned from when the job completes */
	uint32_t limit_ms;               /* the max downtime in force, as last known (0 unknown) */
	uint32_t sample_limit_ms;        /* ... as the samples last read it */
	bool not_precopy;                /* post-copy or the agent's suspend: no observation */
	bool speed_unknown_said;         /* the NIC's missing speed has been logged */
};

static uint8_t to_mig_phase(const struct ring_sample *s)
{
	switch (s->phase) {
	case RING_PHASE_SETUP: return MIG_PHASE_SETUP;
	case RING_PHASE_PRECOPY: return MIG_PHASE_PRECOPY;
	case RING_PHASE_POSTCOPY:
		return (s->flags & RING_SAMPLE_F_PC_BROKEN) ? MIG_PHASE_POSTCOPY_BROKEN :
		       (s->flags & RING_SAMPLE_F_PC_RECOVERING) ? MIG_PHASE_POSTCOPY_RECOVERING :
		       MIG_PHASE_POSTCOPY;
	case RING_PHASE_SUSPENDED: return MIG_PHASE_SUSPENDED;
	case RING_PHASE_DONE: case RING_PHASE_FAILED: return MIG_PHASE_DONE;
	default: return MIG_PHASE_PRECOPY;
	}
}

/* The hook's report of the owner's settings over io (the configuration's, or the defaults). */
static void owner_settings(const struct tracker_domain *d, struct act_settings *io)
{
	actuator_owner_settings(&d->owner_policy, io);
}

/* What the policy is told of the guest before its job (see tracker_prior_lookup). */
static void prior_limits(const struct tracker_domain *d, struct mig_limits *io)
{
	io->prior_dirty_bps = d->prior.bps;
	io->prior_dirty_period_ms = d->prior.bps ? d->prior.period_ms : 0;
	io->prior_dirty_age_ms = d->prior.bps ? d->prior_age_ms : 0;
}

static void take_restored(struct tracker *t, struct tracker_domain *d, struct advice_state *a);

/* The policy of a new job: with an actuator, the one its settings name (the domain's metadata
 * read through libvirt, over the hook's report, over the configuration); without, the owner's
 * as the hook reported it, else the agent's.  NULL when there is none to ask. */
static struct advice_state *advice_new(struct tracker *t, struct tracker_domain *d)
{
	struct advice_state *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (t->act) {
		struct act_settings base = *actuator_defaults(t->act);

		owner_settings(d, &base);
		actuator_job_init(&a->job, d->ring_index, d->name);
		a->job.uuid = d->uuid;
		actuator_load_settings(t->act, &a->job, d->virt_handle, &base);
		if (policy_builtin(a->job.settings.policy, &a->policy) < 0) {
			log_domain(LOG_WARNING, d->name, d->uuid, "%s: unknown policy '%s' in the "
				   "domain's settings; using %s", d->name, a->job.settings.policy,
				   t->policy_name);
			str_copy(a->job.settings.policy, sizeof(a->job.settings.policy),
				 t->policy_name);
			if (t->have_policy)
				a->policy = t->policy;
			else
				policy_builtin("none", &a->policy);
		}
		str_copy(a->policy_name, sizeof(a->policy_name), a->job.settings.policy);
	} else if ((d->owner_policy.present & WIRE_POL_NAME) &&
		   policy_builtin(d->owner_policy.name, &a->policy) == 0) {
		str_copy(a->policy_name, sizeof(a->policy_name), d->owner_policy.name);
	} else if (t->have_policy) {
		a->policy = t->policy;
		str_copy(a->policy_name, sizeof(a->policy_name), t->policy_name);
	} else {
		free(a);
		return NULL;
	}
	policy_history_init(&a->hist);
	policy_state_init(&a->policy, &a->st);
	a->last_kind = -1;
	if (d->restored)
		take_restored(t, d, a);
	return a;
}

static void to_mig_sample(const struct ring_sample *s, const struct tracker_nic_view *nic,
			  struct mig_sample *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->t_ms = s->elapsed_ms;
	ret->iteration = s->iteration;
	ret->page_size = s->page_size;
	ret->data_total_bytes = s->data_total_bytes;
	ret->data_processed_bytes = s->data_processed_bytes;
	ret->data_remaining_bytes = s->data_remaining_bytes;
	ret->mem_total_bytes = s->mem_total_bytes;
	ret->mem_processed_bytes = s->mem_processed_bytes;
	ret->mem_remaining_bytes = s->mem_remaining_bytes;
	ret->memory_bps = s->memory_bps;
	ret->dirty_pages_per_s = s->dirty_pages_per_s;
	ret->expected_downtime_ms = s->expected_downtime_ms;
	ret->downtime_limit_ms = s->downtime_limit_ms;
	ret->bandwidth_limit_bps = (uint64_t)s->bandwidth_limit_mibs << 20;
	ret->throttle_pct = s->throttle_pct;
	ret->phase = to_mig_phase(s);
	ret->nic_carrier = nic ? nic->carrier : MIG_NIC_CARRIER_UNKNOWN;
	ret->nic_tx_bps = (uint64_t)s->nic_tx_kibps * 1024;
	ret->nic_rx_bps = (uint64_t)s->nic_rx_kibps * 1024;
	/* The link's speed as the NIC reports it (0: unknown).  A NIC rate of 0 while the job
	 * sends means the NIC has no rate yet; the policy does not act on a share of the link
	 * until it has a reading to take the tenants from. */
	ret->nic_capacity_bps = nic ? nic->capacity_bps : 0;
	ret->nic_errors_delta = nic ? nic->errors_delta : 0;
	ret->nic_drops_delta = nic ? nic->drops_delta : 0;
}

/* The max downtime in force: what a sample reads when it reads something new (an operator's
 * change, or the agent's own once libvirt shows it; the limits are read every few samples), or
 * the agent's own change the moment it took. */
static void limit_seen(struct advice_state *a, const struct ring_sample *s)
{
	if (s->downtime_limit_ms && s->downtime_limit_ms != a->sample_limit_ms) {
		a->sample_limit_ms = s->downtime_limit_ms;
		a->limit_ms = s->downtime_limit_ms;
	}
	if (s->phase == RING_PHASE_POSTCOPY || s->postcopy_requests)
		a->not_precopy = true;
}

static void action_took(struct advice_state *a, const struct policy_action *pa)
{
	if (pa->kind == POLICY_ACT_SET_DOWNTIME)
		a->limit_ms = (uint32_t)pa->value;
	else if (pa->kind == POLICY_ACT_POSTCOPY || pa->kind == POLICY_ACT_SUSPEND)
		a->not_precopy = true;
}

/* What the policy decides this sample of the job with: the job's settings (with an actuator: the
 * configuration's under the owner's; without: the defaults under the owner's as the hook
 * reported them), the NIC's share and the dirty rate before the job. */
static void job_limits(const struct tracker *t, const struct tracker_domain *d,
		       const struct advice_state *a, const struct ring_sample *s,
		       const struct tracker_nic_view *nic, struct mig_limits *ret)
{
	bool flagged = (s->flags & RING_SAMPLE_F_POSTCOPY_FLAG) != 0;

	if (t->act) {
		*ret = a->job.settings.lim;
		ret->postcopy_recovery = ret->postcopy_recovery && actuator_pc_proven(&a->job);
		ret->postcopy_flag_set = a->job.postcopy_flag || flagged;
	} else {
		struct act_settings set = { .policy = "" };

		policy_limits_default(&set.lim);
		owner_settings(d, &set);
		*ret = set.lim;
		ret->postcopy_flag_set = flagged;
	}
	ret->concurrent_on_nic = nic && nic->concurrent ? nic->concurrent : 1;
	ret->downtime_overshoot_permille = overshoot_estimate(&t->overshoot);
	prior_limits(d, ret);
}

/* The actuator's path: the policy decides with the job's settings, the actuator applies (or, in
 * advisory mode, records) each action, and the policy learns which ones took. */
static void act_decide(struct tracker *t, struct tracker_domain *d, struct advice_state *a,
		       const struct ring_sample *s, const struct mig_sample *ms,
		       const struct tracker_nic_view *nic, uint64_t mono_ns)
{
	const struct act_context ctx = {
		.direction = s->direction, .phase = s->phase, .nic_carrier = ms->nic_carrier,
		.nic_errors_delta = ms->nic_errors_delta, .nic_drops_delta = ms->nic_drops_delta,
		.downtime_limit_ms = s->downtime_limit_ms,
		.bandwidth_limit_mibs = s->bandwidth_limit_mibs,
		.now_ns = mono_ns, .policy_name = a->policy_name,
	};
	const struct act_pc_context pcx = {
		.phase = s->phase, .broken = (s->flags & RING_SAMPLE_F_PC_BROKEN) != 0,
		.processed_bytes = s->data_processed_bytes, .nic_carrier = ms->nic_carrier,
		.nic_errors_delta = ms->nic_errors_delta, .nic_drops_delta = ms->nic_drops_delta,
		.now_ns = mono_ns,
	};
	struct policy_action acts[POLICY_MAX_ACTIONS];
	struct mig_limits lim;
	uint32_t attempt;
	int n;

	actuator_observe(t->act, &a->job, true, s->phase, mono_ns);
	/* A broken post-copy is resumed here; the policy is told whether a break would be. */
	attempt = actuator_postcopy(t->act, &a->job, d->virt_handle, &pcx);
	if (attempt)
		tracker_pc_recovering(t, d, attempt, mono_ns);
	job_limits(t, d, a, s, nic, &lim);
	n = policy_decide(&a->policy, &a->st, &a->hist, &lim, acts, POLICY_MAX_ACTIONS);
	for (int i = 0; i < n; i++) {
		int res = actuator_apply(t->act, &a->job, d->virt_handle, &acts[i], &ctx);

		if (res == RING_RES_APPLIED)
			action_took(a, &acts[i]);

		policy_applied(&a->policy, &a->st, &acts[i],
			       res == RING_RES_APPLIED || res == RING_RES_ADVISORY);
		if (res == RING_RES_ADVISORY)
			tracker_count(&t->n_advisories);
		str_copy(d->cur.advice, sizeof(d->cur.advice), acts[i].text);
	}
}

/* Without an actuator: every new decision is recorded as an advisory, never applied.  Telling
 * the policy it "took" lets the record show the whole sequence it would have followed. */
static void advisory_decide(struct tracker *t, struct tracker_domain *d, struct advice_state *a,
			    const struct ring_sample *s, const struct tracker_nic_view *nic,
			    uint64_t mono_ns)
{
	struct policy_action acts[POLICY_MAX_ACTIONS];
	struct mig_limits lim;
	int n;

	job_limits(t, d, a, s, nic, &lim);
	n = policy_decide(&a->policy, &a->st, &a->hist, &lim, acts, POLICY_MAX_ACTIONS);
	for (int i = 0; i < n; i++) {
		struct ring_action ra;

		policy_applied(&a->policy, &a->st, &acts[i], true);
		if (acts[i].kind == a->last_kind && acts[i].value == a->last_value)
			continue;
		a->last_kind = acts[i].kind;
		a->last_value = acts[i].value;
		memset(&ra, 0, sizeof(ra));
		ra.kind = acts[i].kind;
		ra.reason_code = acts[i].reason;
		ra.result = RING_RES_ADVISORY;
		ra.old_value = acts[i].old_value;
		ra.new_value = acts[i].kind == POLICY_ACT_SET_BANDWIDTH ?
			(acts[i].value + (1 << 20) - 1) >> 20 : acts[i].value;
		str_copy(ra.policy, sizeof(ra.policy), a->policy_name);
		str_copy(ra.reason, sizeof(ra.reason), acts[i].text);
		ring_append_at(t->ring, RING_REC_ACTION, d->ring_index, mono_ns, &ra, sizeof(ra));
		actuator_record_prediction(t->ring, d->ring_index, mono_ns, &acts[i]);
		stats_action(t->stats, policy_action_name(acts[i].kind), "advisory", a->policy_name);
		tracker_count(&t->n_advisories);
		str_copy(d->cur.advice, sizeof(d->cur.advice), acts[i].text);
		log_fields_msg(LOG_NOTICE, &(const struct log_fields){ .domain = d->name,
			       .uuid = d->uuid, .action = policy_action_name(acts[i].kind),
			       .policy = a->policy_name },
			       "%s: advisory (%s): %s %" PRId64 " -> %" PRId64 ": %s", d->name,
			       a->policy_name, policy_action_name(acts[i].kind), acts[i].old_value,
			       acts[i].value, acts[i].text);
	}
}

/* A NIC without a speed (a veth, some bonds and virtual NICs) leaves the link's capacity unknown:
 * said once per migration, so that the journal shows why the policy probes for headroom. */
static void speed_unknown(struct tracker_domain *d, struct advice_state *a,
			  const struct tracker_nic_view *nic)
{
	if (a->speed_unknown_said || !nic || nic->carrier != MIG_NIC_CARRIER_UP || nic->capacity_bps)
		return;
	a->speed_unknown_said = true;
	log_domain(LOG_NOTICE, d->name, d->uuid, "%s: migration NIC %s reports no link speed: its "
		   "capacity is unknown, the policy finds headroom by probing (set [nic] speed-mbps "
		   "if the speed is known)", d->name, d->cur.nic[0] ? d->cur.nic : "?");
}

void tracker_advise(struct tracker *t, struct tracker_domain *d, const struct ring_sample *s,
		    const struct tracker_nic_view *nic, uint64_t mono_ns)
{
	struct advice_state *a = d->policy_state;
	struct mig_sample ms;

	if (!a) {
		a = advice_new(t, d);
		if (!a)
			return;
		d->policy_state = a;
	}
	limit_seen(a, s);
	speed_unknown(d, a, nic);
	to_mig_sample(s, nic, &ms);
	if (policy_observe(&a->hist, &ms) < 0)
		return;
	ms.nic_mig_tx_bps = nic ? nic->mig_tx_bps : 0;
	if (t->act)
		act_decide(t, d, a, s, &ms, nic, mono_ns);
	else
		advisory_decide(t, d, a, s, nic, mono_ns);
}

/* The outcome the ring last recorded for the action up to mono_ns (the actuator records an
 * outcome once, not every time the policy proposes it again), 0 when none. */
static int recorded_result(const struct tracker_restored *r, const struct policy_action *pa,
			   uint64_t mono_ns)
{
	int64_t v = pa->kind == POLICY_ACT_SET_BANDWIDTH ? (pa->value + (1 << 20) - 1) >> 20 :
		pa->value;
	int res = 0;

	for (uint32_t i = 0; i < r->n_actions && r->actions[i].mono_ns <= mono_ns; i++) {
		const struct ring_action *ra = &r->actions[i].u.action;

		if (ra->kind == pa->kind && ra->new_value == v)
			res = ra->result;
	}
	return res;
}

/*
 * A job the ring showed running when the agent started.  The policy is pure: run over the job's
 * recorded samples again, told of each decision whether it took as the ring recorded it, it
 * comes to the history and state it had (the schedule's step, the limits it set, a terminal
 * action).  The actuator takes the recorded actions as its own (what is in force, what was
 * refused).  Nothing is applied or recorded meanwhile.
 */
static void take_restored(struct tracker *t, struct tracker_domain *d, struct advice_state *a)
{
	const struct tracker_restored *r = d->restored;

	for (uint32_t i = 0; i < r->n_samples; i++) {
		const struct ring_record *rec = &r->samples[i];
		struct policy_action acts[POLICY_MAX_ACTIONS];
		struct mig_limits lim;
		struct mig_sample ms;
		int n;

		limit_seen(a, &rec->u.sample);
		to_mig_sample(&rec->u.sample, NULL, &ms);
		if (policy_observe(&a->hist, &ms) < 0)
			continue;
		job_limits(t, d, a, &rec->u.sample, NULL, &lim);
		n = policy_decide(&a->policy, &a->st, &a->hist, &lim, acts, POLICY_MAX_ACTIONS);
		for (int k = 0; k < n; k++) {
			int res = t->act ? recorded_result(r, &acts[k], rec->mono_ns) :
				RING_RES_ADVISORY;

			if (res == RING_RES_APPLIED)
				action_took(a, &acts[k]);
			policy_applied(&a->policy, &a->st, &acts[k],
				       res == RING_RES_APPLIED || res == RING_RES_ADVISORY);
			a->last_kind = acts[k].kind;
			a->last_value = acts[k].value;
		}
	}
	if (t->act)
		for (uint32_t i = 0; i < r->n_actions; i++)
			actuator_job_restore(&a->job, &r->actions[i].u.action,
					     r->actions[i].mono_ns);
	tracker_restored_drop(d);
}

bool tracker_advice_postcopy_flag(const struct tracker_domain *d)
{
	const struct advice_state *a = d->policy_state;

	return a && a->job.postcopy_flag;
}

bool tracker_advice_end(struct tracker *t, struct tracker_domain *d, int phase, uint64_t mono_ns)
{
	struct advice_state *a = d->policy_state;

	if (!t->act || !a)
		return false;
	actuator_observe(t->act, &a->job, false, (uint8_t)phase, mono_ns);
	return a->job.aborted;
}

void tracker_advice_drop(struct tracker_domain *d)
{
	struct advice_state *a = d->policy_state;

	if (a)
		actuator_job_release(&a->job);
	free(a);
	d->policy_state = NULL;
}

bool tracker_advice_pc_busy(const struct tracker_domain *d)
{
	const struct advice_state *a = d->policy_state;

	return a && actuator_pc_busy(&a->job);
}

/*
 * Once per outgoing job, at its first sample: the guest's dirty rate measured before the job
 * started.  The job's start is the sample's time less the job's elapsed time (the agent learns of
 * a job up to a discovery interval late), else when the agent saw it begin.  Recorded in the ring
 * and the log, so that what the policy was told can be read back.
 */
void tracker_prior_lookup(struct tracker *t, struct tracker_domain *d, const struct ring_sample *s,
			  uint64_t mono_ns)
{
	uint64_t job_start = mono_ns;
	struct dirty_measure m;
	struct ring_event ev;
	uint64_t kibps;

	d->prior_looked = true;
	if (!t->prior_dirty)
		return;
	if (s->elapsed_ms && (uint64_t)s->elapsed_ms * 1000000 < mono_ns)
		job_start = mono_ns - (uint64_t)s->elapsed_ms * 1000000;
	else if (d->cur.started_mono_ns && d->cur.started_mono_ns <= mono_ns)
		job_start = d->cur.started_mono_ns;
	if (t->prior_dirty(t->prior_dirty_arg, d->uuid, job_start, &m) < 0 || !m.bps)
		return;
	d->prior = m;
	d->prior_age_ms = dirtyrate_age_ms(&m, job_start);
	kibps = m.bps / 1024;
	memset(&ev, 0, sizeof(ev));
	ev.source = RING_EVSRC_AGENT;
	ev.code = RING_AGEV_PRIOR_DIRTY;
	ev.detail1 = kibps > INT32_MAX ? INT32_MAX : (int32_t)kibps;
	ev.detail2 = d->prior_age_ms > INT32_MAX ? INT32_MAX : (int32_t)d->prior_age_ms;
	str_copy(ev.op, sizeof(ev.op), "dirtyrate");
	str_copy(ev.subop, sizeof(ev.subop), "prior");
	snprintf(ev.text, sizeof(ev.text), "%.1f MiB/s over %" PRIu32 " ms, %.1f s before the job",
		 (double)m.bps / 1048576, m.period_ms, d->prior_age_ms / 1000.0);
	tracker_record_event(t, d, ev.source, ev.code, ev.detail1, ev.detail2, ev.op, ev.subop,
			     ev.text, mono_ns);
	log_domain(LOG_INFO, d->name, d->uuid, "%s: dirty rate before the migration: %.1f MiB/s "
		   "(%" PRIu32 " ms page sampling, %.1f s before the job started); handed to the "
		   "policy", d->name, (double)m.bps / 1048576, m.period_ms,
		   d->prior_age_ms / 1000.0);
}

/* ---- the host's downtime overshoot -------------------------------------------------------- */

void tracker_overshoot_init(struct tracker *t)
{
	struct adaptive_params ap;

	policy_adaptive_defaults(&ap);
	overshoot_init(&t->overshoot, ap.overshoot_permille);
}

/* "1162" or "none" (the policy assumes its own). */
static const char *estimate_words(uint32_t v, char *buf, size_t len)
{
	if (v)
		snprintf(buf, len, "%" PRIu32, v);
	else
		snprintf(buf, len, "none");
	return buf;
}

void tracker_overshoot_learn(struct tracker *t, struct tracker_domain *d, uint64_t mono_ns)
{
	const struct advice_state *a = d->policy_state;
	const struct ring_sample *fin = &d->cur.last;
	uint32_t before = overshoot_estimate(&t->overshoot), after, n;
	char text[96], b[16], c[16];
	int obs;

	/* a pre-copy that completed, its real downtime in the final statistics */
	if (!a || !(fin->flags & RING_SAMPLE_F_FINAL) || fin->phase != RING_PHASE_DONE ||
	    a->not_precopy || fin->postcopy_requests)
		return;
	obs = overshoot_observe(&t->overshoot, fin->expected_downtime_ms, a->limit_ms);
	if (obs < 0) {
		log_domain(LOG_DEBUG, d->name, d->uuid, "%s: downtime %" PRIu32 " ms with a max "
			   "downtime of %" PRIu32 " ms says nothing of the host's overshoot (a limit "
			   "under %u ms, or unknown)", d->name, fin->expected_downtime_ms, a->limit_ms,
			   OVERSHOOT_MIN_LIMIT_MS);
		return;
	}
	after = overshoot_estimate(&t->overshoot);
	n = overshoot_count(&t->overshoot);
	snprintf(text, sizeof(text), "%d permille; estimate %s -> %s, %" PRIu32 " of last %u", obs,
		 estimate_words(before, b, sizeof(b)), estimate_words(after, c, sizeof(c)), n,
		 OVERSHOOT_WINDOW);
	tracker_record_event(t, d, RING_EVSRC_AGENT, RING_AGEV_OVERSHOOT,
			     (int)fin->expected_downtime_ms, (int)a->limit_ms, "overshoot", "learned",
			     text, mono_ns);
	if (after)
		log_domain(LOG_INFO, d->name, d->uuid, "%s: real downtime %" PRIu32 " ms with a max "
			   "downtime of %" PRIu32 " ms: overshoot %d permille; this host's estimate "
			   "%s -> %" PRIu32 " permille (the largest of the last %" PRIu32 " completed "
			   "pre-copies, at least %u), handed to every migration's policy", d->name,
			   fin->expected_downtime_ms, a->limit_ms, obs, b, after, n,
			   OVERSHOOT_FLOOR_PERMILLE);
	else
		log_domain(LOG_INFO, d->name, d->uuid, "%s: real downtime %" PRIu32 " ms with a max "
			   "downtime of %" PRIu32 " ms: overshoot %d permille; this host's estimate "
			   "stays none (the policy assumes %" PRIu32 " until %u completed pre-copies "
			   "say less; %" PRIu32 " so far)", d->name, fin->expected_downtime_ms,
			   a->limit_ms, obs, t->overshoot.assumed_permille, OVERSHOOT_TRUST_AFTER, n);
}

bool tracker_overshoot_replay(struct tracker *t, const struct ring_event *e)
{
	if (e->source != RING_EVSRC_AGENT || e->code != RING_AGEV_OVERSHOOT || e->detail1 <= 0 ||
	    e->detail2 <= 0)
		return false;
	return overshoot_observe(&t->overshoot, (uint32_t)e->detail1, (uint32_t)e->detail2) >= 0;
}

void tracker_overshoot_restored(struct tracker *t, uint32_t n)
{
	char b[16];

	log_info("ring: this host's downtime overshoot rebuilt from the %" PRIu32 " completed "
		 "pre-copies the ring still records: estimate %s permille (the largest of the last %"
		 PRIu32 ")", n, estimate_words(overshoot_estimate(&t->overshoot), b, sizeof(b)),
		 overshoot_count(&t->overshoot));
}
