/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/actuator_impl.h"
#include "agent/stats.h"
#include "agent/strutil.h"
#include "domxml/domxml.h"
#include "policy/ring_record.h"

static const char *const result_names[] = {
	[RING_RES_APPLIED] = "applied", [RING_RES_FAILED] = "failed",
	[RING_RES_ADVISORY] = "advisory", [RING_RES_SKIPPED] = "skipped",
};

const char *actuator_result_name(int result)
{
	if (result >= RING_RES_APPLIED && result <= RING_RES_SKIPPED)
		return result_names[result];
	return "none";
}

int actuator_new(const struct actuator_opts *opts, struct actuator **ret)
{
	struct actuator *a;

	if (!opts || !opts->ring || !ret)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->ring = opts->ring;
	a->stats = opts->stats;
	a->ops = opts->ops ? opts->ops : &actuator_virt_ops;
	a->advisory = opts->advisory;
	a->rate_burst = opts->rate_burst ? opts->rate_burst : 4;
	a->rate_interval_ms = opts->rate_interval_ms ? opts->rate_interval_ms : 2000;
	a->backoff_min_ms = opts->backoff_min_ms ? opts->backoff_min_ms : 5000;
	a->backoff_max_ms = opts->backoff_max_ms ? opts->backoff_max_ms : 60000;
	if (a->backoff_max_ms < a->backoff_min_ms)
		a->backoff_max_ms = a->backoff_min_ms;
	a->defaults = opts->defaults;
	if (!a->defaults.policy[0])
		str_copy(a->defaults.policy, sizeof(a->defaults.policy), "adaptive");
	if (!a->defaults.lim.sla_max_downtime_ms)
		policy_limits_default(&a->defaults.lim);
	a->recovery = opts->recovery;
	if (!a->recovery.local_uri[0])
		str_copy(a->recovery.local_uri, sizeof(a->recovery.local_uri), "qemu:///system");
	if (!a->recovery.settle_ms)
		a->recovery.settle_ms = 2000;
	if (!a->recovery.attempts)
		a->recovery.attempts = 30;
	if (!a->recovery.retry_min_ms)
		a->recovery.retry_min_ms = 2000;
	if (a->recovery.retry_max_ms < a->recovery.retry_min_ms)
		a->recovery.retry_max_ms = a->recovery.retry_min_ms > 60000 ?
			a->recovery.retry_min_ms : 60000;
	*ret = a;
	return 0;
}

void actuator_free(struct actuator *a)
{
	free(a);
}

bool actuator_advisory(const struct actuator *a)
{
	return a->advisory;
}

void actuator_job_init(struct act_job *job, uint32_t ring_index, const char *name)
{
	memset(job, 0, sizeof(*job));
	job->ring_index = ring_index;
	job->name = name;
}

/* ---- per-domain settings from the metadata ------------------------------------------------- */

void actuator_owner_limits(const struct wire_policy *p, struct mig_limits *io)
{
	if (p->present & WIRE_POL_SLA_DOWNTIME)
		io->sla_max_downtime_ms = p->sla_max_downtime_ms;
	if (p->present & WIRE_POL_ALLOW_POSTCOPY)
		io->allow_postcopy = p->allow_postcopy != 0;
	if (p->present & WIRE_POL_ALLOW_SUSPEND)
		io->allow_suspend = p->allow_suspend != 0;
	if (p->present & WIRE_POL_BUDGET)
		io->budget_s_per_gib = p->budget_s_per_gib;
	if (p->present & WIRE_POL_ON_HOPELESS)
		io->on_hopeless = p->on_hopeless == WIRE_ON_HOPELESS_ABORT ? MIG_ON_HOPELESS_ABORT :
			MIG_ON_HOPELESS_PARK;
	if (p->present & WIRE_POL_ALLOW_ABORT)
		io->allow_abort = p->allow_abort != 0;
	if (p->present & WIRE_POL_POSTCOPY_RECOVERY)
		io->postcopy_recovery = p->postcopy_recovery == WIRE_POSTCOPY_RECOVERY_AUTO;
}

void actuator_owner_settings(const struct wire_policy *p, struct act_settings *io)
{
	if (p->present & WIRE_POL_NAME)
		str_copy(io->policy, sizeof(io->policy), p->name);
	actuator_owner_limits(p, &io->lim);
}

int actuator_parse_metadata(const char *xml, struct act_settings *io, char *err, size_t errlen)
{
	struct wire_policy pol;
	struct domxml_bad_attr bad;
	struct domxml_work work;
	int r;

	if (!xml || !io)
		return -EINVAL;
	/* Bounded like the hook's parse (domxml.h): this runs on the agent's main loop. */
	r = domxml_parse_policy(xml, strnlen(xml, DOMXML_POLICY_MAX_BYTES + 1), &pol, &bad, &work);
	if (r == -EFBIG) {
		snprintf(err, errlen, "larger than %d KiB", DOMXML_POLICY_MAX_BYTES / 1024);
		return -EBADMSG;
	}
	if (r < 0 && r != -EINVAL) {
		snprintf(err, errlen, "%s", r == -E2BIG ? domxml_limit_text(work.limit) :
			 r == -ENOMEM ? "out of memory" :
			 "not well-formed XML of a <policy> element in namespace " ACT_METADATA_NS);
		return -EBADMSG;
	}
	actuator_owner_settings(&pol, io);
	if (r == -EINVAL)
		snprintf(err, errlen, "%s=\"%s\" is not valid", bad.name, bad.value);
	return r;
}

struct log_fields actuator_job_fields(const struct act_job *job, const char *action,
				      const char *policy)
{
	return (struct log_fields){ .domain = job->name, .uuid = job->uuid, .action = action,
				    .policy = policy };
}

const struct act_settings *actuator_defaults(const struct actuator *a)
{
	return &a->defaults;
}

void actuator_load_settings(struct actuator *a, struct act_job *job, void *handle,
			    const struct act_settings *base)
{
	char err[ACT_ERR_MAX] = "";
	char *xml = NULL;
	struct log_fields f = actuator_job_fields(job, NULL, NULL);
	int r;

	if (job->settings_loaded)
		return;
	if (!base)
		base = &a->defaults;
	job->settings = *base;
	if (!handle)
		return;
	job->settings_loaded = true;
	r = a->ops->get_metadata(handle, &xml, err, sizeof(err));
	if (r == 0) {
		struct act_settings s = *base;
		char perr[ACT_ERR_MAX] = "";

		r = actuator_parse_metadata(xml, &s, perr, sizeof(perr));
		if (r == -EBADMSG) {
			log_fields_msg(LOG_WARNING, &f, "%s: migtune metadata ignored (%s); using "
				       "the configured defaults", job->name, perr);
		} else {
			if (r < 0)
				log_fields_msg(LOG_WARNING, &f, "%s: migtune metadata: %s; that "
					       "setting keeps its default", job->name, perr);
			job->settings = s;
		}
		free(xml);
	} else if (r != -ENOENT) {
		log_fields_msg(LOG_WARNING, &f, "%s: cannot read the domain's metadata (%s); using "
			       "the configured defaults", job->name, err);
	}
	r = a->ops->job_flags(handle, job->name, &job->flags);
	r = r < 0 ? r : (job->flags & ACT_MIGRATE_POSTCOPY) ? 1 : 0;
	job->postcopy_flag = r == 1;
	f.policy = job->settings.policy;
	log_fields_msg(LOG_INFO, &f, "%s: policy %s, SLA %" PRIu32 " ms, post-copy %s%s, suspend "
		       "%s, budget %" PRIu32 " s/GiB, when hopeless %s, abort %s, post-copy recovery %s",
		       job->name, job->settings.policy, job->settings.lim.sla_max_downtime_ms,
		 job->settings.lim.allow_postcopy ? "allowed" : "not allowed",
		 r == 1 ? " (job has the post-copy flag)" : r == 0 ? " (job without the post-copy flag)" :
		 " (post-copy flag unknown)", job->settings.lim.allow_suspend ? "allowed" : "not allowed",
		 job->settings.lim.budget_s_per_gib,
		 job->settings.lim.on_hopeless == MIG_ON_HOPELESS_ABORT ? "abort" : "park",
		 job->settings.lim.allow_abort ? "allowed" : "not allowed",
		 job->settings.lim.postcopy_recovery ? "auto" : "off");
}

/* ---- records ------------------------------------------------------------------------------ */

void actuator_record_prediction(struct ring_writer *w, uint32_t domain, uint64_t mono_ns,
				const struct policy_action *pa)
{
	struct ring_prediction rp;

	if (policy_ring_prediction(pa, &rp))
		ring_append_at(w, RING_REC_PREDICTION, domain, mono_ns, &rp, sizeof(rp));
}

static void record(struct actuator *a, struct act_job *job, const struct policy_action *pa,
		   const struct act_context *ctx, int result, int error, const char *why)
{
	int64_t oldv = policy_ring_value(pa->kind, pa->old_value);
	int64_t newv = policy_ring_value(pa->kind, pa->value);
	const char *kname = ring_action_name(pa->kind), *policy;
	const char *unit = pa->kind == RING_ACT_SET_DOWNTIME ? " ms" :
		pa->kind == RING_ACT_SET_BANDWIDTH ? " MiB/s" : "";
	char vals[64] = "";
	struct log_fields fields;
	int level;

	/* A policy re-proposing what was just refused (or advised, or held) is recorded once,
	 * also when it alternates between kinds (advisory mode: nothing changes on the job). */
	if (pa->kind < ACT_KINDS) {
		uint8_t k = pa->kind;

		/* Compared as recorded: bandwidths that differ by bytes are the same MiB/s.  A hold
		 * has no value: what it says is its reason (the policy records each wait once). */
		const char *said = why ? why : k == RING_ACT_HOLD ? pa->text : "";

		if (result != RING_RES_APPLIED && job->last_result[k] == result &&
		    job->last_value[k] == newv &&
		    strncmp(job->last_why[k], said, sizeof(job->last_why[k]) - 1) == 0)
			return;
		job->last_result[k] = (uint8_t)result;
		job->last_value[k] = newv;
		str_copy(job->last_why[k], sizeof(job->last_why[k]), said);
	}

	/* Refusals, and a bandwidth held at the ceiling, carry their own reason; the policy's reason
	 * goes to the log with them. */
	actuator_record(a, job, &(const struct act_outcome){ .kind = pa->kind,
			.reason_code = pa->reason, .result = result, .error = error,
			.old_value = oldv, .new_value = newv, .policy = ctx->policy_name,
			.reason = why ? why : pa->text }, ctx->now_ns);
	actuator_record_prediction(a->ring, job->ring_index, ctx->now_ns, pa);
	policy = ctx->policy_name ? ctx->policy_name : "";
	switch (result) {
	case RING_RES_APPLIED: case RING_RES_ADVISORY: level = LOG_NOTICE; break;
	case RING_RES_FAILED: level = LOG_WARNING; break;
	default: level = LOG_INFO; break;
	}
	fields = actuator_job_fields(job, kname, policy);
	if (pa->kind == RING_ACT_SET_DOWNTIME || pa->kind == RING_ACT_SET_BANDWIDTH)
		snprintf(vals, sizeof(vals), " %" PRId64 " -> %" PRId64 "%s", oldv, newv, unit);
	if (why)
		log_fields_msg(level, &fields, "%s: %s %s%s: %s (policy %s, %s: %s)", job->name,
			actuator_result_name(result), kname, vals, why, policy,
			policy_reason_name(pa->reason), pa->text);
	else
		log_fields_msg(level, &fields, "%s: %s %s%s (policy %s, %s: %s)", job->name,
			actuator_result_name(result), kname, vals, policy,
			policy_reason_name(pa->reason), pa->text);
}

void actuator_record(struct actuator *a, struct act_job *job, const struct act_outcome *o,
		     uint64_t now_ns)
{
	struct ring_action ra;

	memset(&ra, 0, sizeof(ra));
	ra.kind = o->kind;
	ra.reason_code = o->reason_code;
	ra.result = (uint8_t)o->result;
	ra.error = o->error;
	ra.old_value = o->old_value;
	ra.new_value = o->new_value;
	str_copy(ra.policy, sizeof(ra.policy), o->policy ? o->policy : "");
	str_copy(ra.reason, sizeof(ra.reason), o->reason ? o->reason : "");
	ring_append_at(a->ring, RING_REC_ACTION, job->ring_index, now_ns, &ra, sizeof(ra));
	stats_action(a->stats, ring_action_name(o->kind), actuator_result_name(o->result),
		     ra.policy);
	switch (o->result) {
	case RING_RES_APPLIED: job->applied++; break;
	case RING_RES_ADVISORY: job->advised++; break;
	case RING_RES_FAILED: job->failed++; break;
	default: job->skipped++; break;
	}
}

/* ---- limits already in force --------------------------------------------------------------- */

static bool is_limit(uint8_t kind)
{
	return kind == RING_ACT_SET_DOWNTIME || kind == RING_ACT_SET_BANDWIDTH;
}

static void set_in_force(struct act_job *job, uint8_t kind, int64_t value, uint64_t now_ns)
{
	job->set_known[kind] = true;
	job->set_seen[kind] = false;
	job->set_value[kind] = value;
	job->set_ns[kind] = now_ns;
}

/*
 * True when pa asks for the limit this agent set on the job and that limit still holds.  The
 * job's statistics (ctx) lag behind a change: until they have shown our value, or for
 * ACT_VERIFY_MS after the call, an older value there is theirs, not a change by someone else.
 */
static bool in_force(struct act_job *job, const struct policy_action *pa,
		     const struct act_context *ctx)
{
	uint8_t k = pa->kind;
	uint32_t shown;

	if (!is_limit(k) || !job->set_known[k])
		return false;
	shown = k == RING_ACT_SET_DOWNTIME ? ctx->downtime_limit_ms : ctx->bandwidth_limit_mibs;
	if (shown && (int64_t)shown == job->set_value[k]) {
		job->set_seen[k] = true;
	} else if (shown && (job->set_seen[k] ||
			    ctx->now_ns - job->set_ns[k] >= (uint64_t)ACT_VERIFY_MS * 1000000)) {
		struct log_fields f = actuator_job_fields(job, policy_action_name(k),
							    ctx->policy_name);

		log_fields_msg(LOG_INFO, &f, "%s: %s is %" PRIu32 "%s in the job, not the %" PRId64
			       " migtuned set: changed by someone else", job->name,
			       policy_action_name(k), shown,
			       k == RING_ACT_SET_DOWNTIME ? " ms" : " MiB/s", job->set_value[k]);
		job->set_known[k] = false;
		return false;
	}
	return policy_ring_value(k, pa->value) == job->set_value[k];
}

/* ---- gates ------------------------------------------------------------------------------- */

static const char *gate(const struct act_job *job, const struct policy_action *pa,
			const struct act_context *ctx, char *buf, size_t len)
{
	if (ctx->direction != RING_DIR_OUT)
		return "incoming migration: only the source tunes";
	if (ctx->phase == RING_PHASE_DONE || ctx->phase == RING_PHASE_FAILED)
		return "the migration has ended";
	if (job->terminal_done)
		return "post-copy, suspend or abort already took";
	if (ctx->phase == RING_PHASE_POSTCOPY)
		/* The guest runs on the destination while pages still come from here: aborting or
		 * pausing now would lose it, and the limits no longer matter. */
		return "post-copy is running: nothing may change";
	switch (pa->kind) {
	case RING_ACT_SET_DOWNTIME:
		if (pa->value < 1 || pa->value > 3600000)
			return "downtime outside 1..3600000 ms";
		break;
	case RING_ACT_SET_BANDWIDTH:
		if (pa->value < (1 << 20))
			return "bandwidth below 1 MiB/s";
		break;
	case RING_ACT_POSTCOPY:
		if (ctx->phase != RING_PHASE_PRECOPY)
			return "post-copy only from pre-copy";
		if (!job->settings.lim.allow_postcopy)
			return "post-copy not allowed (allow-postcopy=no)";
		if (!job->postcopy_flag)
			return "job not started with --postcopy";
		if (ctx->nic_carrier == MIG_NIC_CARRIER_DOWN)
			return "network unhealthy: NIC carrier down";
		if (ctx->nic_errors_delta || ctx->nic_drops_delta) {
			snprintf(buf, len, "network unhealthy: %" PRIu32 " errors, %" PRIu32 " drops",
				 ctx->nic_errors_delta, ctx->nic_drops_delta);
			return buf;
		}
		break;
	case RING_ACT_SUSPEND:
		if (ctx->phase == RING_PHASE_SUSPENDED)
			return "guest already paused";
		if (!job->settings.lim.allow_suspend)
			return "suspend not allowed (allow-suspend=no)";
		break;
	case RING_ACT_ABORT:
		break;
	default:
		return "not an action the actuator knows";
	}
	return NULL;
}

static bool take_token(struct actuator *a, struct act_job *job, uint64_t now)
{
	uint64_t cap = (uint64_t)a->rate_burst * 1000;

	if (!job->t_refill_ns) {
		job->tokens_milli = cap;
	} else if (now > job->t_refill_ns) {
		uint64_t add = (now - job->t_refill_ns) / 1000000 * 1000 / a->rate_interval_ms;

		job->tokens_milli = job->tokens_milli + add > cap ? cap : job->tokens_milli + add;
	}
	job->t_refill_ns = now;
	if (job->tokens_milli < 1000)
		return false;
	job->tokens_milli -= 1000;
	return true;
}

/* ---- apply -------------------------------------------------------------------------------- */

static int call(struct actuator *a, void *h, const struct policy_action *pa, char *err,
		size_t errlen)
{
	const struct act_ops *o = a->ops;
	int r;

	switch (pa->kind) {
	case RING_ACT_SET_DOWNTIME: {
		uint64_t back = 0;

		r = o->set_max_downtime(h, (uint64_t)pa->value, err, errlen);
		if (r < 0)
			return r;
		r = o->get_max_downtime(h, &back, err, errlen);
		if (r < 0)
			return r;
		if (back != (uint64_t)pa->value) {
			snprintf(err, errlen, "read back %" PRIu64 " ms, not %" PRId64, back,
				 pa->value);
			return -EIO;
		}
		return 0;
	}
	case RING_ACT_SET_BANDWIDTH: {
		uint64_t mibs = (uint64_t)policy_ring_value(pa->kind, pa->value), back = 0;

		r = o->set_max_speed(h, mibs, err, errlen);
		if (r < 0)
			return r;
		r = o->get_max_speed(h, &back, err, errlen);
		if (r < 0)
			return r;
		if (back != mibs) {
			snprintf(err, errlen, "read back %" PRIu64 " MiB/s, not %" PRIu64, back, mibs);
			return -EIO;
		}
		return 0;
	}
	case RING_ACT_POSTCOPY:
		return o->start_postcopy(h, err, errlen);
	case RING_ACT_SUSPEND:
		return o->suspend(h, err, errlen);
	case RING_ACT_ABORT:
		return o->abort_job(h, err, errlen);
	default:
		snprintf(err, errlen, "unknown action");
		return -EINVAL;
	}
}

/*
 * The bandwidth ceiling of the configuration ([policy] bandwidth-max-mibs) holds
 * whatever the policy asked for: a higher bandwidth is applied as the ceiling, and the record
 * says so.  Returns the action to apply (*capped when it had to be lowered), and the note.
 */
static const struct policy_action *ceiling(const struct act_job *job, const struct policy_action *pa,
					   struct policy_action *capped, char *note, size_t len)
{
	uint64_t max = job->settings.lim.bandwidth_max_bps;

	note[0] = '\0';
	if (pa->kind != RING_ACT_SET_BANDWIDTH || !max || pa->value <= (int64_t)max)
		return pa;
	*capped = *pa;
	capped->value = (int64_t)max;
	snprintf(note, len, "capped at bandwidth-max-mibs %" PRId64 " MiB/s (the policy asked for "
		 "%" PRId64 ")", policy_ring_value(pa->kind, capped->value),
		 policy_ring_value(pa->kind, pa->value));
	return capped;
}

int actuator_apply(struct actuator *a, struct act_job *job, void *handle,
		   const struct policy_action *pa, const struct act_context *ctx)
{
	char buf[ACT_ERR_MAX], err[ACT_ERR_MAX] = "", why[ACT_ERR_MAX], note[ACT_ERR_MAX];
	struct policy_action capped;
	const char *g;
	uint8_t k = pa->kind;
	int r;

	if (k == RING_ACT_HOLD) {
		/* A deliberate wait: nothing to apply, but the record says why. */
		record(a, job, pa, ctx, a->advisory ? RING_RES_ADVISORY : RING_RES_APPLIED, 0, NULL);
		return a->advisory ? RING_RES_ADVISORY : RING_RES_APPLIED;
	}
	if (k >= ACT_KINDS) {
		record(a, job, pa, ctx, RING_RES_SKIPPED, -EINVAL, "unknown action kind");
		return RING_RES_SKIPPED;
	}
	pa = ceiling(job, pa, &capped, note, sizeof(note));
	g = gate(job, pa, ctx, buf, sizeof(buf));
	if (g) {
		record(a, job, pa, ctx, RING_RES_SKIPPED, 0, g);
		return RING_RES_SKIPPED;
	}
	if (a->advisory) {
		record(a, job, pa, ctx, RING_RES_ADVISORY, 0, note[0] ? note : NULL);
		return RING_RES_ADVISORY;
	}
	/* Asked again for what it already set: the statistics have not caught up yet. */
	if (in_force(job, pa, ctx))
		return RING_RES_APPLIED;
	if (!handle) {
		record(a, job, pa, ctx, RING_RES_SKIPPED, -ENOTCONN, "no libvirt connection");
		return RING_RES_SKIPPED;
	}
	if (ctx->now_ns < job->retry_after_ns[k]) {
		snprintf(why, sizeof(why), "backing off %" PRIu32 " s after a failure",
			 job->backoff_ms[k] / 1000);
		record(a, job, pa, ctx, RING_RES_SKIPPED, 0, why);
		return RING_RES_SKIPPED;
	}
	/* An abort is never held back: it is the policy's last word on a hopeless job. */
	if (k != RING_ACT_ABORT && !take_token(a, job, ctx->now_ns)) {
		snprintf(why, sizeof(why), "rate limit: %" PRIu32 " actions per %" PRIu32 " s",
			 a->rate_burst, a->rate_burst * a->rate_interval_ms / 1000);
		record(a, job, pa, ctx, RING_RES_SKIPPED, 0, why);
		return RING_RES_SKIPPED;
	}
	r = call(a, handle, pa, err, sizeof(err));
	if (r < 0) {
		job->backoff_ms[k] = job->backoff_ms[k] ? job->backoff_ms[k] * 2 : a->backoff_min_ms;
		if (job->backoff_ms[k] > a->backoff_max_ms)
			job->backoff_ms[k] = a->backoff_max_ms;
		job->retry_after_ns[k] = ctx->now_ns + (uint64_t)job->backoff_ms[k] * 1000000;
		record(a, job, pa, ctx, RING_RES_FAILED, r, err[0] ? err : strerror(-r));
		return RING_RES_FAILED;
	}
	job->backoff_ms[k] = 0;
	job->retry_after_ns[k] = 0;
	if (is_limit(k))
		set_in_force(job, k, policy_ring_value(k, pa->value), ctx->now_ns);
	if (k == RING_ACT_POSTCOPY || k == RING_ACT_SUSPEND || k == RING_ACT_ABORT) {
		job->pending_kind = k;
		job->pending_since_ns = ctx->now_ns;
		job->terminal_done = true;
		if (k == RING_ACT_ABORT)
			job->aborted = true;
	}
	record(a, job, pa, ctx, RING_RES_APPLIED, 0, note[0] ? note : NULL);
	return RING_RES_APPLIED;
}

void actuator_observe(struct actuator *a, struct act_job *job, bool active, uint8_t phase,
		      uint64_t now_ns)
{
	bool seen;

	if (!active)
		actuator_pc_end(a, job, phase, now_ns);
	if (!job->pending_kind)
		return;
	switch (job->pending_kind) {
	case RING_ACT_POSTCOPY:
		seen = !active || phase == RING_PHASE_POSTCOPY || phase == RING_PHASE_DONE;
		break;
	case RING_ACT_SUSPEND:
		seen = !active || phase == RING_PHASE_SUSPENDED || phase == RING_PHASE_DONE;
		break;
	default:
		seen = !active;
		break;
	}
	if (seen) {
		struct log_fields f = actuator_job_fields(job, ring_action_name(job->pending_kind),
						 job->settings.policy);

		log_fields_msg(LOG_INFO, &f, "%s: %s confirmed by the job's state (%.1f s after "
			       "the call)", job->name,
			 ring_action_name(job->pending_kind),
			 (double)(now_ns - job->pending_since_ns) / 1e9);
		job->pending_kind = 0;
		return;
	}
	if (now_ns - job->pending_since_ns >= (uint64_t)ACT_VERIFY_MS * 1000000) {
		struct policy_action pa = { .kind = job->pending_kind, .old_value = -1 };
		struct act_context ctx = { .direction = RING_DIR_OUT, .phase = phase,
					   .now_ns = now_ns, .policy_name = job->settings.policy };
		char why[64];

		snprintf(why, sizeof(why), "not seen in the job after %d s", ACT_VERIFY_MS / 1000);
		snprintf(pa.text, sizeof(pa.text), "libvirt accepted the call");
		/* The call returned success but the job did not follow: let the policy's next
		 * decision be applied (after the usual back-off). */
		job->terminal_done = false;
		job->aborted = false;
		job->backoff_ms[pa.kind] = a->backoff_min_ms;
		job->retry_after_ns[pa.kind] = now_ns + (uint64_t)a->backoff_min_ms * 1000000;
		job->pending_kind = 0;
		record(a, job, &pa, &ctx, RING_RES_FAILED, -ETIMEDOUT, why);
	}
}

void actuator_job_restore(struct act_job *job, const struct ring_action *ra, uint64_t mono_ns)
{
	uint8_t k = (uint8_t)ra->kind;
	bool failed_or_skipped = ra->result == RING_RES_FAILED || ra->result == RING_RES_SKIPPED;

	if (k >= ACT_KINDS)
		return;
	/* What record() remembers of each kind, as it would have remembered it. */
	job->last_result[k] = ra->result;
	job->last_value[k] = ra->new_value;
	str_copy(job->last_why[k], sizeof(job->last_why[k]), failed_or_skipped ? ra->reason : "");
	switch (ra->result) {
	case RING_RES_APPLIED: job->applied++; break;
	case RING_RES_ADVISORY: job->advised++; break;
	case RING_RES_FAILED: job->failed++; break;
	default: job->skipped++; break;
	}
	if (ra->result == RING_RES_FAILED && ra->error == -ETIMEDOUT && !is_limit(k)) {
		/* accepted by libvirt, then not seen in the job (actuator_observe) */
		job->terminal_done = false;
		job->aborted = false;
	}
	if (ra->result != RING_RES_APPLIED)
		return;
	if (is_limit(k)) {
		set_in_force(job, k, ra->new_value, mono_ns);
	} else if (k == RING_ACT_POSTCOPY || k == RING_ACT_SUSPEND || k == RING_ACT_ABORT) {
		job->terminal_done = true;
		job->aborted = k == RING_ACT_ABORT;
	}
}

/* needle within [from, end) only: each <job> tag is searched once, so the whole file costs one
 * pass however many tags it holds. */
static const char *find_in(const char *from, const char *end, const char *needle)
{
	return memmem(from, (size_t)(end - from), needle, strlen(needle));
}

int actuator_status_job_flags(const char *status_xml, uint64_t *ret_flags)
{
	const char *p = status_xml;

	while ((p = strstr(p, "<job ")) != NULL) {
		const char *end = strchr(p, '>');
		const char *f;
		char *e;
		unsigned long long v;

		if (!end)
			return -EBADMSG;
		/* Only the async migration job; a plain <job> line has no migration flags. */
		if (!find_in(p, end, "async='migration out'") &&
		    !find_in(p, end, "async=\"migration out\"")) {
			p = end;
			continue;
		}
		f = find_in(p, end, "flags=");
		if (!f)
			return -EBADMSG;
		f += 6;
		if (*f != '\'' && *f != '"')
			return -EBADMSG;
		errno = 0;
		v = strtoull(f + 1, &e, 0);
		if (errno || e == f + 1 || (*e != '\'' && *e != '"'))
			return -EBADMSG;
		*ret_flags = v;
		return 0;
	}
	return -ENOENT;
}
