/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The domain table: what the agent knows about every migration on this host.
 *
 * A domain gets an entry (and a name in the ring's domain table) only when a migration of it is
 * seen: the hook's "migrate begin", an iteration or job-completed event, a lifecycle event that
 * only a migration sends, a running job found by discovery.  Hook calls and lifecycle events of
 * a domain that is not migrating are counted, not recorded; those of a domain whose migration
 * ended less than keep_finished_ns ago are recorded with it.
 *
 * A tracker opened over a ring that already holds records (a restarted agent: the ring survives
 * it) rebuilds from them every migration they show running: its samples (the policy's history),
 * the dirty rate measured before it, the actions applied.  libvirt then confirms each one or says
 * how it ended (tracker_ingest_sample, tracker_domain_gone, tracker_discovered).
 *
 * One cds_lfht keyed by domain UUID.  Only the tracker thread (main loop) creates, changes and
 * removes entries; other threads (the control socket) read under rcu_read_lock() through the
 * immutable status snapshot each entry publishes (tracker_status_*).  Entries and old snapshots are
 * freed with call_rcu; tracker_free() waits with rcu_barrier().
 *
 * The tracker itself never calls libvirt: virt.c feeds it events and job-stats samples, the hook
 * listener feeds it hook messages.  That keeps it drivable by tests and benchmarks through the same
 * entry points (tracker_ingest_sample is the seam for fabricated job stats).
 *
 * One API, four files (agent/tracker_impl.h maps them): the table (tracker.c), the migration
 * lifecycle (tracker_migration.c), the ring records (tracker_ring.c), the policy seam
 * (tracker_advice.c).
 */
#ifndef MIGTUNE_AGENT_TRACKER_H
#define MIGTUNE_AGENT_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include "agent/dirtyrate.h"
#include "shm/ring.h"
#include "shm/wire.h"

struct tracker;
struct tracker_restored;

/* What a status reader sees of one domain: a consistent copy, replaced as a whole. */
struct domain_status {
	uint8_t uuid[16];
	char name[WIRE_DOMAIN_MAX + 1];
	uint32_t ring_index;
	uint8_t direction;          /* enum ring_direction */
	uint8_t phase;              /* enum ring_phase */
	bool active;                /* a migration is in progress */
	uint64_t started_mono_ns;   /* 0 when unknown */
	uint64_t updated_mono_ns;
	uint64_t samples;
	uint64_t events;
	struct ring_sample last;    /* last job-stats sample (zero when none) */
	char nic[16];               /* migration NIC, "" when unknown */
	char last_event[40];        /* "lifecycle suspended", "hook migrate begin", ... */
	char advice[56];            /* the policy's last advisory reason */
};

/* A migration's post-copy as this host sees it (tracker_migration.c): when it began, whether its
 * stream is broken or being resumed, and how long the guest has been split by breaks. */
struct tracker_pc {
	uint64_t since_ns;                /* post-copy began (0: not in post-copy) */
	uint64_t broken_ns;               /* the current break began (0: not broken) */
	uint64_t broken_total_ns;         /* breaks that are over */
	uint32_t breaks;
	bool recovering;                  /* a resume is under way, no page moved yet */
	uint64_t mark_bytes;              /* data processed when the resume began (source) */
	uint64_t recorded_ns;             /* last sample recorded while broken */
};

struct tracker_domain {
	struct cds_lfht_node node;
	struct rcu_head rcu;
	uint8_t uuid[16];
	char name[WIRE_DOMAIN_MAX + 1];
	uint32_t ring_index;
	int published;                    /* set (release) once the entry is in the table */
	struct domain_status *status;     /* RCU-published snapshot */
	/* Tracker thread only from here on. */
	struct domain_status cur;
	bool saw_completed;               /* JOB_COMPLETED arrived for the current job */
	bool want_poll;                   /* poll now rather than at the next tick */
	int nic_ifindex;                  /* 0 = unknown */
	uint64_t finished_mono_ns;        /* when the migration ended, 0 while active */
	void *virt_handle;                /* virDomainPtr owned by virt.c */
	void *policy_state;               /* owned by the policy seam (tracker_advice.c) */
	struct wire_policy owner_policy;  /* from the domain XML's metadata, via the hook */
	/* The dirty rate measured before the current outgoing job, looked up once at its first
	 * sample; prior.bps 0 = none. */
	bool prior_looked;
	struct dirty_measure prior;
	uint32_t prior_age_ms;
	/* Bytes per second the outgoing job sent over its last sample interval (data_processed),
	 * 0 unknown. */
	uint64_t sent_bps;
	struct tracker_pc pc;
	uint64_t gone_mono_ns;            /* libvirt said the domain no longer exists (0: not) */
	/* STOPPED/MIGRATED came for the outgoing job: it completed, and JOB_COMPLETED with the
	 * final statistics follows (0: not) */
	uint64_t migrated_mono_ns;
	/* The migration as the ring showed it when the agent started, until libvirt confirms it
	 * still runs (tracker_ring.c). */
	struct tracker_restored *restored;
};

/*
 * What an outgoing job sends now, as the other migrations on its NIC are told: QEMU's rate, or
 * what it sent over its last sample interval when that is more (QEMU reports 0 at a job's first
 * samples and little at a pass's first, while the job sends at full speed).
 */
static inline uint64_t tracker_domain_tx_bps(const struct tracker_domain *d)
{
	return d->sent_bps > d->cur.last.memory_bps ? d->sent_bps : d->cur.last.memory_bps;
}

struct actuator;
struct agent_stats;

struct tracker_opts {
	struct ring_writer *ring;         /* required */
	struct agent_stats *stats;        /* counts advisories and ended migrations; may be NULL */
	const char *policy;               /* policy name for the advisory seam */
	uint64_t keep_finished_ns;        /* how long finished migrations stay listed */
	/* The actuator that applies (or, advisory, records) the policy's actions; NULL: the seam
	 * records them itself as advisories.  Not owned. */
	struct actuator *actuator;
	/* Called on the tracker thread when a migration ends; aborted_by_agent when the
	 * actuator's abort ended it.  Used for the automatic dumps. */
	void (*on_end)(const struct tracker_domain *d, int phase, bool aborted_by_agent, void *arg);
	void *on_end_arg;
	/* The guest's latest dirty rate measured no later than before_mono_ns (dirtyrate_lookup):
	 * 0, or -ENOENT.  Called on the tracker thread when an outgoing job's first sample arrives;
	 * NULL when the agent does not measure. */
	int (*prior_dirty)(void *arg, const uint8_t uuid[16], uint64_t before_mono_ns,
			   struct dirty_measure *ret);
	void *prior_dirty_arg;
};

int tracker_new(const struct tracker_opts *opts, struct tracker **ret);
/* Removes every entry, waits for RCU callbacks (rcu_barrier), frees.  Call with no readers left
 * registered that still use the table. */
void tracker_free(struct tracker *t, void (*release_handle)(void *handle));

/* ---- tracker thread ---------------------------------------------------------------------- */
struct tracker_domain *tracker_find(struct tracker *t, const uint8_t uuid[16]);
struct tracker_domain *tracker_find_name(struct tracker *t, const char *name);
struct tracker_domain *tracker_get(struct tracker *t, const uint8_t uuid[16], const char *name);

void tracker_on_hook(struct tracker *t, const struct wire_event *ev, uint64_t mono_ns);
void tracker_on_lifecycle(struct tracker *t, const uint8_t uuid[16], const char *name, int event,
			  int detail, uint64_t mono_ns);
void tracker_on_iteration(struct tracker *t, const uint8_t uuid[16], const char *name,
			  int iteration, uint64_t mono_ns);
void tracker_on_job_completed(struct tracker *t, const uint8_t uuid[16], const char *name,
			      const struct ring_sample *final, uint64_t mono_ns);
/* A migration found running by rediscovery (dir = RING_DIR_OUT or RING_DIR_IN). */
struct tracker_domain *tracker_begin(struct tracker *t, const uint8_t uuid[16], const char *name,
				     int direction, uint64_t mono_ns);

/*
 * The sample seam.  job_active = false means the job went to NONE: the migration ended, and
 * without a JOB_COMPLETED before it that means it was aborted or failed.  Records the sample
 * (RING_REC_SAMPLE), updates the status and hands active outgoing samples to the advisory policy.
 * Returns 0, -ENOENT if the domain is not tracked.
 */
struct tracker_nic_view {
	uint8_t carrier;                  /* 1 up, 0 down, 255 unknown */
	uint64_t capacity_bps;            /* link speed in bytes/s, 0 unknown */
	uint32_t errors_delta;            /* tx+rx errors since the previous NIC sample */
	uint32_t drops_delta;
	uint64_t mig_tx_bps;              /* memory_bps of every outgoing migration on the NIC */
	uint16_t concurrent;              /* those migrations, this one included (0 = unknown) */
};
int tracker_ingest_sample(struct tracker *t, struct tracker_domain *d, bool job_active,
			  const struct ring_sample *s, const struct tracker_nic_view *nic,
			  uint64_t mono_ns);

/*
 * Marks the end of d's migration with phase (DONE, FAILED, or UNKNOWN when the agent cannot learn
 * the outcome) and records why: the event "migration completed|failed|aborted|unknown" and, when
 * the migration had samples, a last one flagged RING_SAMPLE_F_END with the end phase.
 */
void tracker_end(struct tracker *t, struct tracker_domain *d, int phase, const char *why,
		 uint64_t mono_ns);

/*
 * libvirt says d's domain no longer exists (a poll got VIR_ERR_NO_DOMAIN).  That alone says
 * nothing of how the migration ended: a transient domain leaves the source when it migrated away
 * (post-copy too), or when it was destroyed; libvirt's lifecycle and job-completed events, which
 * may arrive after the poll, say which.  Without one TRACKER_GONE_GRACE_MS after the first call,
 * the migration ends with an unknown outcome.  Call on every poll that finds the domain gone.
 */
#define TRACKER_GONE_GRACE_MS 5000
void tracker_domain_gone(struct tracker *t, struct tracker_domain *d, uint64_t mono_ns);

/* A look at every domain's job (discovery) has just completed: the incoming migrations rebuilt
 * from the ring that it did not find running ended while the agent was not running. */
void tracker_discovered(struct tracker *t, uint64_t mono_ns);
void tracker_set_nic(struct tracker *t, struct tracker_domain *d, int ifindex, const char *ifname);

/* Calls fn for every entry (tracker thread; fn must not add or remove). */
void tracker_foreach(struct tracker *t, void (*fn)(struct tracker_domain *d, void *arg), void *arg);
/* Drops finished entries older than keep_finished_ns; returns how many were dropped.  Also ends
 * the migrations whose end libvirt announced (STOPPED/MIGRATED) when the final statistics did not
 * follow within TRACKER_GONE_GRACE_MS.  Call every tick. */
unsigned tracker_expire(struct tracker *t, uint64_t now_mono_ns,
			void (*release_handle)(void *handle));
unsigned tracker_active_count(struct tracker *t);
void tracker_agent_record(struct tracker *t, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- any registered RCU reader thread ---------------------------------------------------- */
/* Calls fn with each domain's current status snapshot; takes rcu_read_lock itself. */
void tracker_status_foreach(struct tracker *t, void (*fn)(const struct domain_status *s, void *arg),
			    void *arg);
/* Counters for the status reply (atomic reads). */
struct tracker_counters {
	uint64_t samples, events, hook_messages, advisories, domains;
};
void tracker_counters(struct tracker *t, struct tracker_counters *ret);

/* Pure helper: "SUSPENDED"/"MIGRATED" style lifecycle names ("suspended", "migrated"). */
const char *tracker_lifecycle_name(int event);
const char *tracker_lifecycle_detail_name(int event, int detail);

#endif
