/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the tracker's files share and nothing else includes: the tracker itself and the calls
 * between its four parts.
 *
 *   tracker.c            the domain table (cds_lfht + RCU): entries, lookups, status snapshots,
 *                        expiry, counters
 *   tracker_migration.c  the migration lifecycle: hook calls, libvirt events and job-stats samples
 *                        start, move and end a domain's migration
 *   tracker_ring.c       the ring: the tracker's event, sample and agent records, and reading them
 *                        back when a restarted agent opens the ring
 *   tracker_advice.c     the policy seam: owner settings, the prior dirty rate, the policy's
 *                        per-job state and the hand-over of its actions to the actuator
 *
 * Everything declared here runs on the tracker thread.
 */
#ifndef MIGTUNE_AGENT_TRACKER_IMPL_H
#define MIGTUNE_AGENT_TRACKER_IMPL_H

#include "agent/overshoot.h"
#include "agent/tracker.h"
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
	/* QEMU's downtime overshoot on this host, learned from completed jobs (tracker_advice.c) */
	struct overshoot overshoot;
};

/* A migration as the ring showed it when the tracker started over it (a restarted agent), kept
 * until libvirt confirms that its job still runs (then the policy seam takes it over) or says it
 * ended.  Its samples and actions are in the order the ring holds them. */
struct tracker_restored {
	uint8_t direction;
	bool confirmed;                   /* libvirt showed the job running after the restart */
	uint64_t start_mono_ns;           /* when the agent first recorded the job */
	uint64_t job_start_mono_ns;       /* its last sample's time less the job's elapsed, 0 none */
	uint32_t events;
	uint32_t n_samples, n_actions;
	struct ring_record *samples;      /* the policy's evidence; malloc'd */
	struct ring_record *actions;      /* malloc'd */
};

static inline void tracker_count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* ---- tracker.c ---------------------------------------------------------------------------- */
/* Publishes d->cur as the snapshot status readers see. */
void tracker_publish(struct tracker_domain *d);

/* ---- tracker_migration.c ------------------------------------------------------------------ */
/* Ends d's migration when libvirt announced its end TRACKER_GONE_GRACE_MS ago and sent no final
 * statistics since (tracker_expire). */
void tracker_settle(struct tracker *t, struct tracker_domain *d, uint64_t mono_ns);
/* Forgets what the ring showed of d's migration. */
void tracker_restored_drop(struct tracker_domain *d);
void tracker_restored_free(struct tracker_restored *r);

/* ---- tracker_ring.c ----------------------------------------------------------------------- */
/* Rebuilds the migrations the ring shows running (tracker_new).  Returns how many. */
unsigned tracker_restore(struct tracker *t);
/* d may be NULL (a record of no domain). */
void tracker_record_event(struct tracker *t, struct tracker_domain *d, int source, int code,
			  int detail1, int detail2, const char *op, const char *subop,
			  const char *text, uint64_t mono_ns);
void tracker_record_sample(struct tracker *t, struct tracker_domain *d,
			   const struct ring_sample *s, uint64_t mono_ns);

/* ---- tracker_advice.c --------------------------------------------------------------------- */
/* Once per outgoing job, at its first sample: the dirty rate measured before the job. */
void tracker_prior_lookup(struct tracker *t, struct tracker_domain *d, const struct ring_sample *s,
			  uint64_t mono_ns);
/* With every new sample of an outgoing migration, after it is recorded. */
void tracker_advise(struct tracker *t, struct tracker_domain *d, const struct ring_sample *s,
		    const struct tracker_nic_view *nic, uint64_t mono_ns);
/* The job was started with VIR_MIGRATE_POSTCOPY, as far as the actuator learnt. */
bool tracker_advice_postcopy_flag(const struct tracker_domain *d);
/* The job ended with phase: the actuator confirms what it waited for; true when its abort
 * ended the job. */
bool tracker_advice_end(struct tracker *t, struct tracker_domain *d, int phase, uint64_t mono_ns);
/* Forgets the policy's state (a new job starts with a fresh history); a recovery call still in
 * flight finishes on its own. */
void tracker_advice_drop(struct tracker_domain *d);
/* The host's overshoot estimate, empty, at the tracker's start. */
void tracker_overshoot_init(struct tracker *t);
/* d's outgoing job completed (its final statistics in d->cur.last): what its real downtime says
 * of the host's overshoot, recorded and logged when it counts. */
void tracker_overshoot_learn(struct tracker *t, struct tracker_domain *d, uint64_t mono_ns);
/* A restarted agent: one 'overshoot learned' event of the ring taken again into the estimate
 * (true), or another event (false); then what was rebuilt from n of them, logged. */
bool tracker_overshoot_replay(struct tracker *t, const struct ring_event *e);
void tracker_overshoot_restored(struct tracker *t, uint32_t n);
/* A recovery call of d's job is in flight (the actuator's). */
bool tracker_advice_pc_busy(const struct tracker_domain *d);

/* ---- tracker_migration.c ------------------------------------------------------------------ */
/* A resume of d's broken post-copy began (attempt 0: not the agent's). */
void tracker_pc_recovering(struct tracker *t, struct tracker_domain *d, uint32_t attempt,
			   uint64_t mono_ns);

#endif
