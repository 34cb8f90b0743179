/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include "agent/log.h"
#include "agent/stats.h"
#include "agent/strutil.h"
#include "agent/tracker.h"
#include "agent/actuator.h"
#include "policy/policy.h"

struct tracker {
	struct cds_lfht *table;
	struct ring_writer *ring;
	struct agent_stats *stats;
	char policy_name[64];
	uint64_t keep_finished_ns;
	struct actuator *act;
	void (*on_end)(const struct tracker_domain *d, int phase, bool aborted_by_agent, void *arg);
	void *on_end_arg;
	int (*prior_dirty)(void *arg, const uint8_t uuid[16], uint64_t before_mono_ns,
			   struct dirty_measure *ret);
	void *prior_dirty_arg;
	/* counters, written by the tracker thread, read by status readers (atomics) */
	uint64_t n_samples, n_events, n_hook, n_advisories, n_domains;
	bool have_policy;
	struct policy policy;
};

/* Per-migration state of the advisory seam: the policy's history and its memory of what it
 * decided, so an unchanged decision is not recorded again every 500 ms. */
struct advice_state {
	struct policy policy;            /* the tracker's, or the one the domain's owner named */
	char policy_name[16];
	struct mig_history hist;
	struct policy_state st;
	uint64_t prev_errors, prev_drops;
	int last_kind;
	int64_t last_value;
	struct act_job job;              /* the actuator's view of this job */
};

static void counter_inc(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static unsigned long uuid_hash(const uint8_t uuid[16])
{
	uint64_t h = 1469598103934665603ULL;    /* FNV-1a: UUIDs are already random */

	for (int i = 0; i < 16; i++)
		h = (h ^ uuid[i]) * 1099511628211ULL;
	return (unsigned long)h;
}

static int uuid_match(struct cds_lfht_node *node, const void *key)
{
	const struct tracker_domain *d = caa_container_of(node, struct tracker_domain, node);

	return memcmp(d->uuid, key, 16) == 0;
}

int tracker_new(const struct tracker_opts *opts, struct tracker **ret)
{
	struct tracker *t;

	if (!opts || !opts->ring || !ret)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ring = opts->ring;
	t->stats = opts->stats;
	t->act = opts->actuator;
	t->on_end = opts->on_end;
	t->on_end_arg = opts->on_end_arg;
	t->prior_dirty = opts->prior_dirty;
	t->prior_dirty_arg = opts->prior_dirty_arg;
	t->keep_finished_ns = opts->keep_finished_ns ? opts->keep_finished_ns :
		UINT64_C(600) * 1000000000;
	str_copy(t->policy_name, sizeof(t->policy_name), opts->policy ? opts->policy : "none");
	if (opts->policy && strcmp(opts->policy, "none") != 0) {
		int r = policy_builtin(opts->policy, &t->policy);

		if (r < 0) {
			free(t);
			return r;
		}
		t->have_policy = true;
	}
	t->table = cds_lfht_new_flavor(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
				       &urcu_memb_flavor, NULL);
	if (!t->table) {
		free(t);
		return -ENOMEM;
	}
	*ret = t;
	return 0;
}

static void status_free_rcu(struct rcu_head *head)
{
	/* rcu_head is the first member of the wrapper below */
	free(head);
}

struct status_box {
	struct rcu_head rcu;     /* first: status_free_rcu frees the whole box */
	struct domain_status s;
};

static void domain_free_rcu(struct rcu_head *head)
{
	struct tracker_domain *d = caa_container_of(head, struct tracker_domain, rcu);

	if (d->status)
		free(caa_container_of(d->status, struct status_box, s));
	free(d->policy_state);
	free(d);
}

/* Publishes d->cur as the snapshot readers see.  The old one goes after a grace period. */
static void publish(struct tracker_domain *d)
{
	struct status_box *box = malloc(sizeof(*box));
	struct domain_status *old;

	if (!box)
		return;          /* readers keep the previous snapshot: stale beats wrong */
	box->s = d->cur;
	/* Release pairs with the acquire load in tracker_status_foreach(). */
	old = __atomic_exchange_n(&d->status, &box->s, __ATOMIC_ACQ_REL);
	if (old)
		urcu_memb_call_rcu(&caa_container_of(old, struct status_box, s)->rcu,
				   status_free_rcu);
}

void tracker_free(struct tracker *t, void (*release_handle)(void *handle))
{
	struct cds_lfht_iter it;
	struct tracker_domain *d;

	if (!t)
		return;
	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->table, &it, d, node) {
		if (cds_lfht_del(t->table, &d->node) == 0) {
			if (release_handle && d->virt_handle)
				release_handle(d->virt_handle);
			d->virt_handle = NULL;
			urcu_memb_call_rcu(&d->rcu, domain_free_rcu);
		}
	}
	urcu_memb_read_unlock();
	/* Every call_rcu above (and the snapshot frees before) must run before the table goes. */
	urcu_memb_barrier();
	cds_lfht_destroy(t->table, NULL);
	free(t);
}

struct tracker_domain *tracker_find(struct tracker *t, const uint8_t uuid[16])
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	/* The tracker thread is the only writer, so the entry cannot go away under it; the read
	 * lock is what the hash table's traversal needs. */
	urcu_memb_read_lock();
	cds_lfht_lookup(t->table, uuid_hash(uuid), uuid_match, uuid, &it);
	n = cds_lfht_iter_get_node(&it);
	urcu_memb_read_unlock();
	return n ? caa_container_of(n, struct tracker_domain, node) : NULL;
}

struct tracker_domain *tracker_find_name(struct tracker *t, const char *name)
{
	struct cds_lfht_iter it;
	struct tracker_domain *d, *found = NULL;

	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->table, &it, d, node) {
		if (strcmp(d->name, name) == 0) {
			found = d;
			break;
		}
	}
	urcu_memb_read_unlock();
	return found;
}

struct tracker_domain *tracker_get(struct tracker *t, const uint8_t uuid[16], const char *name)
{
	struct tracker_domain *d = tracker_find(t, uuid);

	if (d) {
		if (name && *name && strcmp(d->name, name) != 0) {
			/* A rename, or a name learnt late: the ring's table keeps the first. */
			str_copy(d->name, sizeof(d->name), name);
			str_copy(d->cur.name, sizeof(d->cur.name), name);
		}
		return d;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	memcpy(d->uuid, uuid, 16);
	str_copy(d->name, sizeof(d->name), name ? name : "");
	d->ring_index = ring_domain_index(t->ring, uuid, d->name);
	memcpy(d->cur.uuid, uuid, 16);
	memcpy(d->cur.name, d->name, sizeof(d->name));
	d->cur.ring_index = d->ring_index;
	cds_lfht_node_init(&d->node);
	publish(d);
	/* Pairs with the acquire in tracker_status_foreach(): the entry is complete before readers
	 * can reach it through the table (whose own barriers live in liburcu). */
	__atomic_store_n(&d->published, 1, __ATOMIC_RELEASE);
	urcu_memb_read_lock();
	cds_lfht_add(t->table, uuid_hash(uuid), &d->node);
	urcu_memb_read_unlock();
	counter_inc(&t->n_domains);
	return d;
}

/* Domains known only by name (a hook call whose XML could not be read) get a stable key derived
 * from the name, marked by the reserved variant bits 111 so it can never equal a real UUID. */
static void name_key(const char *name, uint8_t ret[16])
{
	uint64_t h1 = 1469598103934665603ULL, h2 = 0x9e3779b97f4a7c15ULL;

	for (const char *p = name; *p; p++) {
		h1 = (h1 ^ (uint8_t)*p) * 1099511628211ULL;
		h2 = (h2 ^ (uint8_t)*p) * 0xff51afd7ed558ccdULL;
	}
	memcpy(ret, &h1, 8);
	memcpy(ret + 8, &h2, 8);
	ret[8] = (uint8_t)((ret[8] & 0x1f) | 0xe0);
}

static void record_event(struct tracker *t, struct tracker_domain *d, int source, int code,
			 int detail1, int detail2, const char *op, const char *subop,
			 const char *text, uint64_t mono_ns)
{
	struct ring_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.source = (uint8_t)source;
	ev.code = code;
	ev.detail1 = detail1;
	ev.detail2 = detail2;
	str_copy(ev.op, sizeof(ev.op), op ? op : "");
	str_copy(ev.subop, sizeof(ev.subop), subop ? subop : "");
	str_copy(ev.text, sizeof(ev.text), text ? text : "");
	ring_append_at(t->ring, RING_REC_EVENT, d ? d->ring_index : RING_NO_DOMAIN, mono_ns, &ev,
		       sizeof(ev));
	counter_inc(&t->n_events);
	if (d) {
		d->cur.events++;
		d->cur.updated_mono_ns = mono_ns;
		snprintf(d->cur.last_event, sizeof(d->cur.last_event), "%s %s", ev.op, ev.subop);
	}
}

void tracker_agent_record(struct tracker *t, int kind, const char *fmt, ...)
{
	struct ring_agent a;
	va_list ap;

	memset(&a, 0, sizeof(a));
	a.kind = (uint8_t)kind;
	a.pid = (uint32_t)getpid();
	va_start(ap, fmt);
	vsnprintf(a.text, sizeof(a.text), fmt, ap);
	va_end(ap);
	ring_append(t->ring, RING_REC_AGENT, RING_NO_DOMAIN, &a, sizeof(a));
}

static void start_migration(struct tracker *t, struct tracker_domain *d, int direction,
			    uint64_t mono_ns)
{
	d->cur.direction = (uint8_t)direction;
	d->cur.phase = RING_PHASE_SETUP;
	d->cur.active = true;
	d->cur.started_mono_ns = mono_ns;
	d->cur.samples = 0;
	memset(&d->cur.last, 0, sizeof(d->cur.last));
	d->cur.advice[0] = '\0';
	d->saw_completed = false;
	d->finished_mono_ns = 0;
	d->want_poll = true;
	d->prior_looked = false;
	memset(&d->prior, 0, sizeof(d->prior));
	d->prior_age_ms = 0;
	/* A new job gets a fresh policy history. */
	free(d->policy_state);
	d->policy_state = NULL;
	log_domain(LOG_INFO, d->name, d->uuid, "%s: %s migration started", d->name,
		   direction == RING_DIR_OUT ? "outgoing" : "incoming");
}

/* How long the migration took: QEMU's elapsed time of the job when a sample had it (also for a
 * job the agent found running), else the agent's own clock from the start it saw; -1 unknown. */
static int64_t migration_duration_ms(const struct domain_status *s, uint64_t end_mono_ns)
{
	if (s->samples && s->last.elapsed_ms)
		return s->last.elapsed_ms;
	if (s->started_mono_ns && end_mono_ns >= s->started_mono_ns)
		return (int64_t)((end_mono_ns - s->started_mono_ns) / 1000000);
	return -1;
}

/* The real downtime, which only a completed job's final statistics carry; -1 unknown. */
static int64_t migration_downtime_ms(const struct domain_status *s)
{
	if (s->phase != RING_PHASE_DONE || !(s->last.flags & RING_SAMPLE_F_FINAL) ||
	    !s->last.expected_downtime_ms)
		return -1;
	return s->last.expected_downtime_ms;
}

void tracker_end(struct tracker *t, struct tracker_domain *d, int phase, const char *why,
		 uint64_t mono_ns)
{
	const char *outcome;
	bool ours = false;

	if (!d->cur.active)
		return;

	d->cur.active = false;
	d->cur.phase = (uint8_t)phase;
	d->finished_mono_ns = mono_ns;
	d->cur.updated_mono_ns = mono_ns;
	if (t->act && d->policy_state) {
		struct advice_state *a = d->policy_state;

		actuator_observe(t->act, &a->job, false, (uint8_t)phase, mono_ns);
		ours = a->job.aborted;
	}
	outcome = phase == RING_PHASE_DONE ? "completed" : ours ? "aborted" : "failed";
	record_event(t, d, RING_EVSRC_AGENT, 0, phase, 0, "migration", outcome, why, mono_ns);
	stats_migration_end(t->stats, ring_direction_name(d->cur.direction), outcome,
			    migration_duration_ms(&d->cur, mono_ns), migration_downtime_ms(&d->cur));
	log_domain(LOG_INFO, d->name, d->uuid, "%s: %s migration %s (%s)", d->name,
		 d->cur.direction == RING_DIR_OUT ? "outgoing" : "incoming",
		 phase == RING_PHASE_DONE ? "completed" : ours ? "aborted by migtuned" : "failed",
		 why);
	publish(d);
	if (t->on_end)
		t->on_end(d, phase, ours, t->on_end_arg);
}

struct tracker_domain *tracker_begin(struct tracker *t, const uint8_t uuid[16], const char *name,
				     int direction, uint64_t mono_ns)
{
	struct tracker_domain *d = tracker_get(t, uuid, name);

	if (!d)
		return NULL;
	if (!d->cur.active || d->cur.direction != direction) {
		start_migration(t, d, direction, mono_ns);
		record_event(t, d, RING_EVSRC_AGENT, 0, direction, 0, "migration", "found",
			     direction == RING_DIR_OUT ? "outgoing job running" :
			     "incoming job running", mono_ns);
		publish(d);
	}
	return d;
}

/* ---- hook messages ---------------------------------------------------------------------- */

void tracker_on_hook(struct tracker *t, const struct wire_event *ev, uint64_t mono_ns)
{
	struct tracker_domain *d;
	uint8_t key[16];
	bool active_in;

	counter_inc(&t->n_hook);
	if (ev->flags & WIRE_EV_HAS_UUID) {
		memcpy(key, ev->uuid, 16);
		d = tracker_get(t, key, ev->domain);
	} else {
		d = tracker_find_name(t, ev->domain);
		if (!d) {
			name_key(ev->domain, key);
			d = tracker_get(t, key, ev->domain);
		}
	}
	if (!d)
		return;
	record_event(t, d, RING_EVSRC_HOOK, 0, (int)ev->hook_pid, 0, ev->op, ev->subop, ev->extra,
		     mono_ns);
	/* The owner's settings travel in the domain XML: every hook call with XML refreshes them
	 * (a start on this host, or the incoming side of a migration). */
	if (ev->policy.present)
		d->owner_policy = ev->policy;
	active_in = d->cur.active && d->cur.direction == RING_DIR_IN;
	/* The destination's hook calls are the only sign of an incoming migration before QEMU
	 * runs: "migrate begin" opens it; "stopped"/"release" while it is still open mean the
	 * incoming side was torn down (abort or failure; success sends nothing). */
	if (strcmp(ev->op, "migrate") == 0 && strcmp(ev->subop, "begin") == 0) {
		if (!active_in)
			start_migration(t, d, RING_DIR_IN, mono_ns);
	} else if ((strcmp(ev->op, "stopped") == 0 || strcmp(ev->op, "release") == 0) &&
		   active_in) {
		tracker_end(t, d, RING_PHASE_FAILED, "incoming side stopped (hook)", mono_ns);
	}
	publish(d);
}

/* ---- libvirt events --------------------------------------------------------------------- */

const char *tracker_lifecycle_name(int event)
{
	static const char *const names[] = {
		[VIR_DOMAIN_EVENT_DEFINED] = "defined", [VIR_DOMAIN_EVENT_UNDEFINED] = "undefined",
		[VIR_DOMAIN_EVENT_STARTED] = "started", [VIR_DOMAIN_EVENT_SUSPENDED] = "suspended",
		[VIR_DOMAIN_EVENT_RESUMED] = "resumed", [VIR_DOMAIN_EVENT_STOPPED] = "stopped",
		[VIR_DOMAIN_EVENT_SHUTDOWN] = "shutdown", [VIR_DOMAIN_EVENT_PMSUSPENDED] = "pmsuspended",
		[VIR_DOMAIN_EVENT_CRASHED] = "crashed",
	};

	if (event >= 0 && event < (int)(sizeof(names) / sizeof(names[0])) && names[event])
		return names[event];
	return "unknown";
}

const char *tracker_lifecycle_detail_name(int event, int detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_STARTED_BOOTED: return "booted";
		case VIR_DOMAIN_EVENT_STARTED_MIGRATED: return "migrated";
		case VIR_DOMAIN_EVENT_STARTED_RESTORED: return "restored";
		default: return "other";
		}
	case VIR_DOMAIN_EVENT_SUSPENDED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_SUSPENDED_PAUSED: return "paused";
		case VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED: return "migrated";
		case VIR_DOMAIN_EVENT_SUSPENDED_IOERROR: return "ioerror";
		case VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY: return "postcopy";
		case VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED: return "postcopy-failed";
		default: return "other";
		}
	case VIR_DOMAIN_EVENT_RESUMED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_RESUMED_UNPAUSED: return "unpaused";
		case VIR_DOMAIN_EVENT_RESUMED_MIGRATED: return "migrated";
		case VIR_DOMAIN_EVENT_RESUMED_POSTCOPY: return "postcopy";
		default: return "other";
		}
	case VIR_DOMAIN_EVENT_STOPPED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: return "shutdown";
		case VIR_DOMAIN_EVENT_STOPPED_DESTROYED: return "destroyed";
		case VIR_DOMAIN_EVENT_STOPPED_CRASHED: return "crashed";
		case VIR_DOMAIN_EVENT_STOPPED_MIGRATED: return "migrated";
		case VIR_DOMAIN_EVENT_STOPPED_FAILED: return "failed";
		default: return "other";
		}
	default:
		return "other";
	}
}

void tracker_on_lifecycle(struct tracker *t, const uint8_t uuid[16], const char *name, int event,
			  int detail, uint64_t mono_ns)
{
	struct tracker_domain *d = tracker_find(t, uuid);
	bool out, in;

	/* Every lifecycle event is recorded, also of domains that are not migrating: a guest
	 * started, paused or destroyed around a migration is part of its story.  Such entries are
	 * inactive and expire like finished migrations. */
	if (!d)
		d = tracker_get(t, uuid, name);
	if (!d)
		return;
	record_event(t, d, RING_EVSRC_LIBVIRT, VIR_DOMAIN_EVENT_ID_LIFECYCLE, event, detail,
		     "lifecycle", tracker_lifecycle_name(event),
		     tracker_lifecycle_detail_name(event, detail), mono_ns);
	out = d->cur.active && d->cur.direction == RING_DIR_OUT;
	in = d->cur.active && d->cur.direction == RING_DIR_IN;
	switch (event) {
	case VIR_DOMAIN_EVENT_SUSPENDED:
		if (out && detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED)
			d->cur.phase = RING_PHASE_SUSPENDED;
		else if (out && detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY)
			d->cur.phase = RING_PHASE_POSTCOPY;
		else if (out && detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED)
			tracker_end(t, d, RING_PHASE_FAILED, "post-copy failed", mono_ns);
		d->want_poll = out;
		break;
	case VIR_DOMAIN_EVENT_STARTED:
		if (detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED) {
			if (!in)
				start_migration(t, d, RING_DIR_IN, mono_ns);
			d->cur.phase = RING_PHASE_PRECOPY;
		}
		break;
	case VIR_DOMAIN_EVENT_RESUMED:
		if (in && detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY)
			d->cur.phase = RING_PHASE_POSTCOPY;
		else if (in && detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED)
			tracker_end(t, d, RING_PHASE_DONE, "guest resumed on this host", mono_ns);
		else if (out)
			/* The source resumes its guest after a failed switchover; the job state
			 * (polled next) says whether the migration still runs. */
			d->want_poll = true;
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		if (out && detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED)
			tracker_end(t, d, RING_PHASE_DONE, "guest stopped: migrated away", mono_ns);
		else if (in)
			tracker_end(t, d, RING_PHASE_FAILED, "incoming guest stopped", mono_ns);
		else if (out)
			tracker_end(t, d, RING_PHASE_FAILED, "guest stopped during migration", mono_ns);
		break;
	default:
		break;
	}
	publish(d);
}

void tracker_on_iteration(struct tracker *t, const uint8_t uuid[16], const char *name,
			  int iteration, uint64_t mono_ns)
{
	struct tracker_domain *d = tracker_get(t, uuid, name);
	char text[32];

	if (!d)
		return;
	/* An iteration event is the earliest sign of an outgoing job on the source (libvirt
	 * announces nothing when a migration starts). */
	if (!d->cur.active || d->cur.direction != RING_DIR_OUT)
		start_migration(t, d, RING_DIR_OUT, mono_ns);
	snprintf(text, sizeof(text), "pass %d", iteration);
	record_event(t, d, RING_EVSRC_LIBVIRT, VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION, iteration, 0,
		     "iteration", "", text, mono_ns);
	if (d->cur.phase < RING_PHASE_PRECOPY)
		d->cur.phase = RING_PHASE_PRECOPY;
	d->want_poll = true;
	publish(d);
}

static void record_sample(struct tracker *t, struct tracker_domain *d, const struct ring_sample *s,
			  uint64_t mono_ns)
{
	ring_append_at(t->ring, RING_REC_SAMPLE, d->ring_index, mono_ns, s, sizeof(*s));
	counter_inc(&t->n_samples);
	d->cur.samples++;
	d->cur.last = *s;
	d->cur.updated_mono_ns = mono_ns;
}

void tracker_on_job_completed(struct tracker *t, const uint8_t uuid[16], const char *name,
			      const struct ring_sample *final, uint64_t mono_ns)
{
	struct tracker_domain *d = tracker_get(t, uuid, name);

	if (!d)
		return;
	record_event(t, d, RING_EVSRC_LIBVIRT, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, 0, 0,
		     "job-completed", "", final ? "final stats" : "no stats", mono_ns);
	if (final) {
		struct ring_sample s = *final;

		s.flags |= RING_SAMPLE_F_FINAL;
		s.phase = RING_PHASE_DONE;
		if (!s.direction)
			s.direction = d->cur.direction ? d->cur.direction : RING_DIR_OUT;
		/* Keep the NIC figures of the last live sample: the final stats have none. */
		if (!s.nic_tx_kibps && !s.nic_rx_kibps) {
			s.nic_tx_kibps = d->cur.last.nic_tx_kibps;
			s.nic_rx_kibps = d->cur.last.nic_rx_kibps;
		}
		record_sample(t, d, &s, mono_ns);
	}
	d->saw_completed = true;
	tracker_end(t, d, RING_PHASE_DONE, "job completed", mono_ns);
	publish(d);
}

void tracker_set_nic(struct tracker *t, struct tracker_domain *d, int ifindex, const char *ifname)
{
	if (d->nic_ifindex == ifindex)
		return;
	d->nic_ifindex = ifindex;
	str_copy(d->cur.nic, sizeof(d->cur.nic), ifname ? ifname : "");
	record_event(t, d, RING_EVSRC_AGENT, 0, ifindex, 0, "nic", "selected", d->cur.nic,
		     ring_now_mono_ns());
	publish(d);
}

/* ---- the policy seam -------------------------------------------------------------------- */

/*
 * The seam between observation and decision: advise() is called with every new sample of an
 * outgoing migration (after it is recorded).  It keeps the policy's per-job history and state in
 * d->policy_state, asks the policy, and records each decision as a RING_REC_ACTION with the
 * policy's reason.  In advisory mode that is all.  The actuator of the next step plugs in where
 * policy_applied() is called: it applies the action through libvirt, records RING_RES_APPLIED or
 * RING_RES_FAILED (with the error) instead of RING_RES_ADVISORY, and tells the policy whether the
 * action took.  Nothing here calls libvirt.
 */
static uint8_t to_mig_phase(uint8_t p)
{
	switch (p) {
	case RING_PHASE_SETUP: return MIG_PHASE_SETUP;
	case RING_PHASE_PRECOPY: return MIG_PHASE_PRECOPY;
	case RING_PHASE_POSTCOPY: return MIG_PHASE_POSTCOPY;
	case RING_PHASE_SUSPENDED: return MIG_PHASE_SUSPENDED;
	case RING_PHASE_DONE: case RING_PHASE_FAILED: return MIG_PHASE_DONE;
	default: return MIG_PHASE_PRECOPY;
	}
}

/* The hook's report of the owner's settings over the configuration's. */
static void owner_settings(const struct tracker_domain *d, struct act_settings *io)
{
	const struct wire_policy *p = &d->owner_policy;

	if (p->present & WIRE_POL_NAME)
		str_copy(io->policy, sizeof(io->policy), p->name);
	if (p->present & WIRE_POL_SLA_DOWNTIME)
		io->lim.sla_max_downtime_ms = p->sla_max_downtime_ms;
	if (p->present & WIRE_POL_ALLOW_POSTCOPY)
		io->lim.allow_postcopy = p->allow_postcopy != 0;
	if (p->present & WIRE_POL_ALLOW_SUSPEND)
		io->lim.allow_suspend = p->allow_suspend != 0;
	if (p->present & WIRE_POL_BUDGET)
		io->lim.budget_s_per_gib = p->budget_s_per_gib;
}

/* What the policy is told of the guest before its job (see prior_lookup). */
static void prior_limits(const struct tracker_domain *d, struct mig_limits *io)
{
	io->prior_dirty_bps = d->prior.bps;
	io->prior_dirty_period_ms = d->prior.bps ? d->prior.period_ms : 0;
	io->prior_dirty_age_ms = d->prior.bps ? d->prior_age_ms : 0;
}

/* The actuator's path: the policy decides with the job's settings, the actuator applies (or, in
 * advisory mode, records) each action, and the policy learns which ones took. */
static void act_decide(struct tracker *t, struct tracker_domain *d, struct advice_state *a,
		       const struct ring_sample *s, const struct mig_sample *ms,
		       const struct tracker_nic_view *nic, uint64_t mono_ns)
{
	struct policy_action acts[POLICY_MAX_ACTIONS];
	struct act_context ctx;
	struct mig_limits lim;
	int n;

	actuator_observe(t->act, &a->job, true, s->phase, mono_ns);
	lim = a->job.settings.lim;
	lim.postcopy_flag_set = a->job.postcopy_flag || (s->flags & RING_SAMPLE_F_POSTCOPY_FLAG);
	lim.concurrent_on_nic = nic && nic->concurrent ? nic->concurrent : 1;
	prior_limits(d, &lim);
	memset(&ctx, 0, sizeof(ctx));
	ctx.direction = s->direction;
	ctx.phase = s->phase;
	ctx.nic_carrier = ms->nic_carrier;
	ctx.nic_errors_delta = ms->nic_errors_delta;
	ctx.nic_drops_delta = ms->nic_drops_delta;
	ctx.downtime_limit_ms = s->downtime_limit_ms;
	ctx.bandwidth_limit_mibs = s->bandwidth_limit_mibs;
	ctx.now_ns = mono_ns;
	ctx.policy_name = a->policy_name;
	n = policy_decide(&a->policy, &a->st, &a->hist, &lim, acts, POLICY_MAX_ACTIONS);
	for (int i = 0; i < n; i++) {
		int res = actuator_apply(t->act, &a->job, d->virt_handle, &acts[i], &ctx);

		policy_applied(&a->policy, &a->st, &acts[i],
			       res == RING_RES_APPLIED || res == RING_RES_ADVISORY);
		if (res == RING_RES_ADVISORY)
			counter_inc(&t->n_advisories);
		str_copy(d->cur.advice, sizeof(d->cur.advice), acts[i].text);
	}
}

static void advise(struct tracker *t, struct tracker_domain *d, const struct ring_sample *s,
		   const struct tracker_nic_view *nic, uint64_t mono_ns)
{
	struct advice_state *a = d->policy_state;
	struct policy_action acts[POLICY_MAX_ACTIONS];
	struct mig_limits lim;
	struct mig_sample ms;
	int n;

	if (!a) {
		bool owner = false;

		a = calloc(1, sizeof(*a));
		if (!a)
			return;
		if (t->act) {
			/* The actuator reads the owner's settings through libvirt (over what the
			 * hook reported, over the configuration) before the policy is chosen. */
			struct act_settings base = *actuator_defaults(t->act);

			owner_settings(d, &base);
			actuator_job_init(&a->job, d->ring_index, d->name);
			a->job.uuid = d->uuid;
			actuator_load_settings(t->act, &a->job, d->virt_handle, &base);
			if (policy_builtin(a->job.settings.policy, &a->policy) < 0) {
				log_domain(LOG_WARNING, d->name, d->uuid, "%s: unknown policy '%s' in "
					   "the domain's settings; using %s", d->name,
					   a->job.settings.policy, t->policy_name);
				str_copy(a->job.settings.policy, sizeof(a->job.settings.policy),
					 t->policy_name);
				if (t->have_policy)
					a->policy = t->policy;
				else
					policy_builtin("none", &a->policy);
			}
			str_copy(a->policy_name, sizeof(a->policy_name), a->job.settings.policy);
			owner = true;
		}
		/* The domain's owner may name a policy in its XML; otherwise the agent's. */
		if (!owner && (d->owner_policy.present & WIRE_POL_NAME))
			owner = policy_builtin(d->owner_policy.name, &a->policy) == 0;
		if (owner && t->act) {
			/* chosen above */
		} else if (owner) {
			str_copy(a->policy_name, sizeof(a->policy_name), d->owner_policy.name);
		} else if (t->have_policy) {
			a->policy = t->policy;
			str_copy(a->policy_name, sizeof(a->policy_name), t->policy_name);
		} else {
			free(a);
			return;
		}
		policy_history_init(&a->hist);
		policy_state_init(&a->policy, &a->st);
		a->last_kind = -1;
		d->policy_state = a;
	}
	memset(&ms, 0, sizeof(ms));
	ms.t_ms = s->elapsed_ms;
	ms.iteration = s->iteration;
	ms.page_size = s->page_size;
	ms.data_total_bytes = s->data_total_bytes;
	ms.data_processed_bytes = s->data_processed_bytes;
	ms.data_remaining_bytes = s->data_remaining_bytes;
	ms.mem_total_bytes = s->mem_total_bytes;
	ms.mem_processed_bytes = s->mem_processed_bytes;
	ms.mem_remaining_bytes = s->mem_remaining_bytes;
	ms.memory_bps = s->memory_bps;
	ms.dirty_pages_per_s = s->dirty_pages_per_s;
	ms.expected_downtime_ms = s->expected_downtime_ms;
	ms.downtime_limit_ms = s->downtime_limit_ms;
	ms.bandwidth_limit_bps = (uint64_t)s->bandwidth_limit_mibs << 20;
	ms.throttle_pct = s->throttle_pct;
	ms.phase = to_mig_phase(s->phase);
	ms.nic_carrier = nic ? nic->carrier : MIG_NIC_CARRIER_UNKNOWN;
	ms.nic_tx_bps = (uint64_t)s->nic_tx_kibps * 1024;
	ms.nic_rx_bps = (uint64_t)s->nic_rx_kibps * 1024;
	/* While this migration sends, a NIC rate of 0 means the NIC has no rate yet (its first
	 * sample).  The adaptive policy's headroom is the capacity minus the tenants' traffic:
	 * without that traffic the capacity is withheld rather than offered whole.  (RHV's split of
	 * the link speed does not depend on the traffic.) */
	ms.nic_capacity_bps = nic && (s->nic_tx_kibps || a->policy.id != POLICY_ADAPTIVE) ?
		nic->capacity_bps : 0;
	ms.nic_errors_delta = nic ? nic->errors_delta : 0;
	ms.nic_drops_delta = nic ? nic->drops_delta : 0;
	if (policy_observe(&a->hist, &ms) < 0)
		return;
	ms.nic_mig_tx_bps = nic ? nic->mig_tx_bps : 0;
	if (t->act) {
		act_decide(t, d, a, s, &ms, nic, mono_ns);
		return;
	}
	policy_limits_default(&lim);
	lim.postcopy_flag_set = (s->flags & RING_SAMPLE_F_POSTCOPY_FLAG) != 0;
	lim.concurrent_on_nic = nic && nic->concurrent ? nic->concurrent : 1;
	if (d->owner_policy.present & WIRE_POL_SLA_DOWNTIME)
		lim.sla_max_downtime_ms = d->owner_policy.sla_max_downtime_ms;
	if (d->owner_policy.present & WIRE_POL_ALLOW_POSTCOPY)
		lim.allow_postcopy = d->owner_policy.allow_postcopy != 0;
	if (d->owner_policy.present & WIRE_POL_ALLOW_SUSPEND)
		lim.allow_suspend = d->owner_policy.allow_suspend != 0;
	if (d->owner_policy.present & WIRE_POL_BUDGET)
		lim.budget_s_per_gib = d->owner_policy.budget_s_per_gib;
	prior_limits(d, &lim);
	n = policy_decide(&a->policy, &a->st, &a->hist, &lim, acts, POLICY_MAX_ACTIONS);
	for (int i = 0; i < n; i++) {
		struct ring_action ra;

		/* Advisory mode: the action is recorded, never applied.  Telling the policy it
		 * "took" lets the record show the whole sequence it would have followed. */
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
		stats_action(t->stats, policy_action_name(acts[i].kind), "advisory", a->policy_name);
		counter_inc(&t->n_advisories);
		str_copy(d->cur.advice, sizeof(d->cur.advice), acts[i].text);
		log_fields_msg(LOG_NOTICE, &(const struct log_fields){ .domain = d->name,
			       .uuid = d->uuid, .action = policy_action_name(acts[i].kind),
			       .policy = a->policy_name },
			       "%s: advisory (%s): %s %" PRId64 " -> %" PRId64 ": %s", d->name,
			       a->policy_name, policy_action_name(acts[i].kind), acts[i].old_value,
			       acts[i].value, acts[i].text);
	}
}

/*
 * Once per outgoing job, at its first sample: the guest's dirty rate measured before the job
 * started.  The job's start is the sample's time less the job's elapsed time (the agent learns of
 * a job up to a discovery interval late), else when the agent saw it begin.  Recorded in the ring
 * and the log, so that what the policy was told can be read back.
 */
static void prior_lookup(struct tracker *t, struct tracker_domain *d, const struct ring_sample *s,
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
	record_event(t, d, ev.source, ev.code, ev.detail1, ev.detail2, ev.op, ev.subop, ev.text,
		     mono_ns);
	log_domain(LOG_INFO, d->name, d->uuid, "%s: dirty rate before the migration: %.1f MiB/s "
		   "(%" PRIu32 " ms page sampling, %.1f s before the job started); handed to the "
		   "policy", d->name, (double)m.bps / 1048576, m.period_ms,
		   d->prior_age_ms / 1000.0);
}

int tracker_ingest_sample(struct tracker *t, struct tracker_domain *d, bool job_active,
			  const struct ring_sample *s, const struct tracker_nic_view *nic,
			  uint64_t mono_ns)
{
	struct ring_sample rs;

	if (!d)
		return -ENOENT;
	if (!job_active) {
		if (d->cur.active)
			tracker_end(t, d, d->saw_completed ? RING_PHASE_DONE : RING_PHASE_FAILED,
				    "job ended without completion (aborted or failed)", mono_ns);
		return 0;
	}
	if (!d->cur.active)
		start_migration(t, d, s->direction ? s->direction : RING_DIR_OUT, mono_ns);
	rs = *s;
	if (!rs.direction)
		rs.direction = d->cur.direction;
	/* Events know the phase better than the stats (a suspend shows only as a lifecycle event). */
	if (d->cur.phase == RING_PHASE_SUSPENDED || d->cur.phase == RING_PHASE_POSTCOPY)
		rs.phase = d->cur.phase;
	else if (!rs.phase)
		rs.phase = rs.iteration > 0 ? RING_PHASE_PRECOPY : RING_PHASE_SETUP;
	d->cur.phase = rs.phase;
	d->want_poll = false;
	if (d->policy_state && ((struct advice_state *)d->policy_state)->job.postcopy_flag)
		rs.flags |= RING_SAMPLE_F_POSTCOPY_FLAG;
	record_sample(t, d, &rs, mono_ns);
	if (rs.direction == RING_DIR_OUT && !d->prior_looked)
		prior_lookup(t, d, &rs, mono_ns);
	if (rs.direction == RING_DIR_OUT)
		advise(t, d, &rs, nic, mono_ns);
	publish(d);
	return 0;
}

void tracker_foreach(struct tracker *t, void (*fn)(struct tracker_domain *d, void *arg), void *arg)
{
	struct cds_lfht_iter it;
	struct tracker_domain *d;

	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->table, &it, d, node)
		fn(d, arg);
	urcu_memb_read_unlock();
}

unsigned tracker_expire(struct tracker *t, uint64_t now_mono_ns,
			void (*release_handle)(void *handle))
{
	struct cds_lfht_iter it;
	struct tracker_domain *d;
	unsigned n = 0;

	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->table, &it, d, node) {
		uint64_t since = d->finished_mono_ns ? d->finished_mono_ns : d->cur.updated_mono_ns;

		if (d->cur.active || now_mono_ns - since < t->keep_finished_ns)
			continue;
		if (cds_lfht_del(t->table, &d->node) == 0) {
			if (release_handle && d->virt_handle)
				release_handle(d->virt_handle);
			d->virt_handle = NULL;
			urcu_memb_call_rcu(&d->rcu, domain_free_rcu);
			__atomic_fetch_sub(&t->n_domains, 1, __ATOMIC_RELAXED);
			n++;
		}
	}
	urcu_memb_read_unlock();
	return n;
}

static void count_active(struct tracker_domain *d, void *arg)
{
	if (d->cur.active)
		(*(unsigned *)arg)++;
}

unsigned tracker_active_count(struct tracker *t)
{
	unsigned n = 0;

	tracker_foreach(t, count_active, &n);
	return n;
}

void tracker_status_foreach(struct tracker *t, void (*fn)(const struct domain_status *s, void *arg),
			    void *arg)
{
	struct cds_lfht_iter it;
	struct tracker_domain *d;

	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->table, &it, d, node) {
		const struct domain_status *s;

		if (!__atomic_load_n(&d->published, __ATOMIC_ACQUIRE))
			continue;
		s = __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
		if (s)
			fn(s, arg);
	}
	urcu_memb_read_unlock();
}

void tracker_counters(struct tracker *t, struct tracker_counters *ret)
{
	ret->samples = __atomic_load_n(&t->n_samples, __ATOMIC_RELAXED);
	ret->events = __atomic_load_n(&t->n_events, __ATOMIC_RELAXED);
	ret->hook_messages = __atomic_load_n(&t->n_hook, __ATOMIC_RELAXED);
	ret->advisories = __atomic_load_n(&t->n_advisories, __ATOMIC_RELAXED);
	ret->domains = __atomic_load_n(&t->n_domains, __ATOMIC_RELAXED);
}
