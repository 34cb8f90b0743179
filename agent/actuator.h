/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The actuator: the only place in migtune that changes a migration.  It takes the policy's actions
 * one by one, passes them through its own safety gates (whatever the policy thought), applies them
 * through libvirt, checks that they took (reading the limit back, or watching the next samples for
 * post-copy, suspend and abort), and records every one of them in the ring and the log with the
 * policy's reason and numbers: applied, failed (with the error), advisory (advisory mode) or
 * skipped (a gate, the rate limit or a back-off after a failure).
 *
 * libvirt is reached only through a table of functions (struct act_ops), so that the unit tests
 * drive the gates, the rate limit, the failure handling and the records without a hypervisor.
 * actuator_virt_ops is the real table; its handle argument is the tracker entry's virt handle.
 *
 * Per-domain settings come from the domain's <metadata> (namespace ACT_METADATA_NS, element
 * "policy", documented in docs/wire.md) read through libvirt on the source, over the
 * configuration's defaults.
 *
 * Everything here runs on the tracker thread (the agent's main loop).
 */
#ifndef MIGTUNE_AGENT_ACTUATOR_H
#define MIGTUNE_AGENT_ACTUATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"
#include "shm/ring.h"
#include "shm/wire.h"

#define ACT_METADATA_NS  "https://migtune.org/xmlns/migtune/1"
#define ACT_POLICY_NAME_MAX 31
#define ACT_ERR_MAX 160

#define ACT_URI_MAX 512

/* libvirt's VIR_MIGRATE_* flags the actuator looks at (checked against libvirt's own values in
 * actuator_virt.c; this header does not include libvirt). */
#define ACT_MIGRATE_LIVE              (1u << 0)
#define ACT_MIGRATE_PEER2PEER         (1u << 1)
#define ACT_MIGRATE_TUNNELLED         (1u << 2)
#define ACT_MIGRATE_PERSIST_DEST      (1u << 3)
#define ACT_MIGRATE_UNDEFINE_SOURCE   (1u << 4)
#define ACT_MIGRATE_NON_SHARED_DISK   (1u << 6)
#define ACT_MIGRATE_NON_SHARED_INC    (1u << 7)
#define ACT_MIGRATE_CHANGE_PROTECTION (1u << 8)
#define ACT_MIGRATE_UNSAFE            (1u << 9)
#define ACT_MIGRATE_COMPRESSED        (1u << 11)
#define ACT_MIGRATE_ABORT_ON_ERROR    (1u << 12)
#define ACT_MIGRATE_AUTO_CONVERGE     (1u << 13)
#define ACT_MIGRATE_POSTCOPY          (1u << 15)
#define ACT_MIGRATE_TLS               (1u << 16)
#define ACT_MIGRATE_PARALLEL          (1u << 17)
#define ACT_MIGRATE_POSTCOPY_RESUME   (1u << 19)

/* What a post-copy recovery call needs (actuator_recovery.c). */
struct act_pc_request {
	char local_uri[ACT_URI_MAX];       /* this host's daemon, as the agent connects to it */
	uint8_t uuid[16];
	char dest_uri[ACT_URI_MAX];        /* the destination's daemon */
	char migrate_uri[80];              /* the stream's address ("tcp://PEER"), "" = libvirt's */
	uint64_t flags;                    /* for virDomainMigrateToURI3, with POSTCOPY_RESUME */
};

/* The libvirt calls, each returning 0 or a negative errno with a one-line message in err. */
struct act_ops {
	int (*set_max_downtime)(void *h, uint64_t ms, char *err, size_t errlen);
	int (*get_max_downtime)(void *h, uint64_t *ret_ms, char *err, size_t errlen);
	int (*set_max_speed)(void *h, uint64_t mibs, char *err, size_t errlen);
	int (*get_max_speed)(void *h, uint64_t *ret_mibs, char *err, size_t errlen);
	int (*start_postcopy)(void *h, char *err, size_t errlen);
	int (*suspend)(void *h, char *err, size_t errlen);
	int (*abort_job)(void *h, char *err, size_t errlen);
	/* The domain's <migtune:policy .../> element (malloc'd) or -ENOENT when it has none. */
	int (*get_metadata)(void *h, char **ret_xml, char *err, size_t errlen);
	/* The flags (VIR_MIGRATE_*) the running outgoing job was started with: 0, or a negative
	 * errno when they cannot be told. */
	int (*job_flags)(void *h, const char *domain_name, uint64_t *ret_flags);
	/* ---- post-copy recovery (actuator_recovery.c) ---- */
	/* The versions of libvirt and of the hypervisor behind h, as libvirt encodes them
	 * (major * 1000000 + minor * 1000 + micro). */
	int (*versions)(void *h, unsigned long *ret_libvirt, unsigned long *ret_hypervisor,
			char *err, size_t errlen);
	/* The address the job's migration stream goes to, while it runs: 0 or -ENOENT. */
	int (*stream_peer)(void *h, const char *domain_name, char *ret_addr, size_t len);
	/* The URI of the daemon at peer that this host's libvirtd is connected to for a
	 * peer-to-peer migration (qemu+tcp://PEER/system), or -ENOENT. */
	int (*peer_daemon)(const char *peer, char *ret_uri, size_t len);
	/* On a worker thread, with a connection of their own; they block (a resume until the
	 * migration has completed).  Interrupt a running post-copy so that it can be resumed
	 * (virDomainAbortJobFlags(VIR_DOMAIN_ABORT_JOB_POSTCOPY)); resume a broken one
	 * (virDomainMigrateToURI3 with VIR_MIGRATE_POSTCOPY_RESUME). */
	int (*pc_interrupt)(const struct act_pc_request *r, char *err, size_t errlen);
	int (*pc_resume)(const struct act_pc_request *r, char *err, size_t errlen);
};

extern const struct act_ops actuator_virt_ops;

struct agent_stats;

/* What one domain's migrations may do; the configuration gives the defaults, the domain's
 * metadata overrides them. */
struct act_settings {
	char policy[ACT_POLICY_NAME_MAX + 1];
	struct mig_limits lim;
};

/* How a broken post-copy is recovered ([recovery] in migtuned.conf; docs/recovery.md). */
struct act_recovery_opts {
	char local_uri[ACT_URI_MAX];       /* the agent's own libvirt URI */
	char dest_uri[ACT_URI_MAX];        /* template; {peer} = the stream's peer; "" = learn it */
	uint32_t settle_ms;                /* the link healthy this long before a resume (2000) */
	uint32_t stall_s;                  /* post-copy moving nothing this long while the link is
	                                      up is interrupted and resumed (30; 0 = never) */
	bool interrupt;                    /* interrupt a stalled post-copy to resume it (yes) */
	uint32_t link_stall_s;             /* ... when nothing moved this long after the carrier came
	                                      back (5; 0 = not for that) */
	uint32_t attempts;                 /* resumes per outage of the link (30) */
	uint32_t retry_min_ms, retry_max_ms; /* back-off between them (2000 doubling to 60000) */
};

struct actuator_opts {
	struct ring_writer *ring;          /* required */
	struct agent_stats *stats;         /* counts every action recorded; may be NULL */
	const struct act_ops *ops;         /* NULL: actuator_virt_ops */
	bool advisory;                     /* record what would be done, do nothing */
	uint32_t rate_burst;               /* actions one domain may get at once (default 4) */
	uint32_t rate_interval_ms;         /* one more action allowed per this (default 2000) */
	uint32_t backoff_min_ms;           /* after a failed kind, wait this before the next try,
	                                      doubling up to backoff_max_ms (5000, 60000) */
	uint32_t backoff_max_ms;
	struct act_settings defaults;      /* policy name and limits from the configuration */
	struct act_recovery_opts recovery;
};

/* The recovery of one job's post-copy (actuator_recovery.c). */
struct act_pc_call;
struct act_pc {
	uint8_t proven;                    /* ACT_PC_PROVEN_* */
	char why_not[112];                 /* when not proven: why */
	bool running;                      /* the job is in post-copy */
	bool broken;                       /* libvirt: post-copy failed */
	char peer[64];                     /* the stream's peer, learnt while it ran */
	char dest_uri[ACT_URI_MAX];        /* where a resume goes ("" unknown) */
	unsigned samples;                  /* samples seen before the verdict "proven" */
	unsigned lookups;                  /* looks for the peer and its daemon */
	unsigned long libvirt_version, hv_version;
	uint64_t processed;                /* data processed at the last sample */
	uint64_t progress_ns;              /* last sample that saw it grow */
	uint8_t carrier;                   /* MIG_NIC_CARRIER_* at the last sample */
	uint64_t carrier_lost_ns;          /* carrier lost since the last progress (0: no) */
	uint64_t healthy_ns;               /* link healthy (carrier, no errors) since (0: not) */
	uint64_t broken_ns;                /* broken since */
	uint32_t attempts;                 /* resumes in this outage of the link */
	uint32_t attempts_total;           /* in the whole job */
	uint32_t backoff_ms;
	uint64_t retry_ns;                 /* no resume before */
	bool gave_up;                      /* attempts spent: told the operator */
	bool told;                         /* the operator was told what to run */
	bool capable;                      /* would be proven but for advisory mode */
	bool interrupted;                  /* broken by the agent's interrupt, on a healthy link */
	struct act_pc_call *resume;        /* calls in flight (worker threads) */
	struct act_pc_call *interrupt;
};
#define ACT_PC_UNKNOWN    0
#define ACT_PC_PROVEN     1
#define ACT_PC_NOT_PROVEN 2

/* Per-job state of one domain, owned by the caller (zeroed by actuator_job_init). */
#define ACT_KINDS (RING_ACT_KIND_MAX + 1)
struct act_job {
	uint32_t ring_index;
	const char *name;                  /* the domain's name, for the log; owned by the caller */
	const uint8_t *uuid;               /* the domain's UUID (16 bytes) for the log, or NULL */
	struct act_settings settings;
	bool settings_loaded;
	bool postcopy_flag;                /* the job was started with VIR_MIGRATE_POSTCOPY */
	uint64_t tokens_milli;             /* rate limit bucket, thousandths of an action */
	uint64_t t_refill_ns;
	uint64_t retry_after_ns[ACT_KINDS];
	uint32_t backoff_ms[ACT_KINDS];
	/* a terminal action waiting to be seen in the job's state */
	uint8_t pending_kind;
	uint64_t pending_since_ns;
	bool aborted;                      /* our abort took: the end is ours */
	bool terminal_done;                /* post-copy, suspend or abort took */
	/* so that a policy repeating itself is recorded once: the last outcome of each kind */
	uint8_t last_result[ACT_KINDS];
	int64_t last_value[ACT_KINDS];
	char last_why[ACT_KINDS][56];
	/* The limits this agent set on the job and read back (set-downtime in ms, set-bandwidth in
	 * MiB/s): asked for again, they are in force, and nothing is called or recorded.  The job's
	 * statistics show the old value for a while after a change; once they have shown ours
	 * (set_seen), or ACT_VERIFY_MS after the call, a value other than ours means someone else
	 * changed the limit, and ours is no longer taken to be in force. */
	bool set_known[ACT_KINDS];
	bool set_seen[ACT_KINDS];
	int64_t set_value[ACT_KINDS];
	uint64_t set_ns[ACT_KINDS];
	uint32_t applied, failed, skipped, advised;
	uint64_t flags;                    /* VIR_MIGRATE_* of the job (0 unknown) */
	struct act_pc pc;
};

/* What the gates look at: the newest sample and the migration NIC. */
struct act_context {
	uint8_t direction;                 /* enum ring_direction */
	uint8_t phase;                     /* enum ring_phase */
	uint8_t nic_carrier;               /* MIG_NIC_CARRIER_* */
	uint32_t nic_errors_delta, nic_drops_delta;
	uint32_t downtime_limit_ms;        /* in force (0 unknown) */
	uint32_t bandwidth_limit_mibs;     /* in force (0 unlimited or unknown) */
	uint64_t now_ns;                   /* CLOCK_MONOTONIC */
	const char *policy_name;           /* for the records */
};

struct actuator;

int actuator_new(const struct actuator_opts *opts, struct actuator **ret);
void actuator_free(struct actuator *a);
bool actuator_advisory(const struct actuator *a);

void actuator_job_init(struct act_job *job, uint32_t ring_index, const char *name);

/* The configuration's settings (what a domain without metadata gets). */
const struct act_settings *actuator_defaults(const struct actuator *a);

/*
 * Loads the job's settings once: base (NULL: actuator_defaults), then the domain's metadata read
 * through libvirt (a malformed attribute is logged in one line and keeps its value from base),
 * and whether the job may switch to post-copy.  handle may be NULL (no libvirt handle yet): base
 * only, and the next call tries again.
 */
void actuator_load_settings(struct actuator *a, struct act_job *job, void *handle,
			    const struct act_settings *base);

/*
 * Applies (or, advisory, records) one policy action.  Returns the RING_RES_* of its outcome; an
 * outcome equal to the last one recorded for that kind (same value, same reason) is not recorded
 * again, and a limit this agent already set on the job is RING_RES_APPLIED without any call or
 * record (see act_job.set_known).  The caller tells the policy: policy_applied(...,
 * result == RING_RES_APPLIED || result == RING_RES_ADVISORY).  HOLD actions are recorded, never
 * applied.
 */
int actuator_apply(struct actuator *a, struct act_job *job, void *handle,
		   const struct policy_action *pa, const struct act_context *ctx);

/*
 * Every new sample (active) or the end of the job (active = false): confirms a pending
 * post-copy, suspend or abort from the job's phase, or records that it did not take within
 * ACT_VERIFY_MS.
 */
#define ACT_VERIFY_MS 15000
void actuator_observe(struct actuator *a, struct act_job *job, bool active, uint8_t phase,
		      uint64_t now_ns);

/*
 * Parses a <policy .../> element (of ACT_METADATA_NS, or without a namespace as
 * virDomainGetMetadata returns it) over *io, with domxml's bounds (at most 64 KiB, linear work).
 * Returns 0, or -EINVAL when an attribute was malformed (the others still apply; err names the
 * first bad one), or -EBADMSG when the text is not XML of that element or exceeds a bound.  Pure.
 */
int actuator_parse_metadata(const char *xml, struct act_settings *io, char *err, size_t errlen);

/* The owner's settings as the hook or the metadata carry them (present fields only) over *io:
 * the limits alone, or the policy name too. */
void actuator_owner_limits(const struct wire_policy *p, struct mig_limits *io);
void actuator_owner_settings(const struct wire_policy *p, struct act_settings *io);

/*
 * The flags of the outgoing migration job in a libvirt status file (<job async='migration out'
 * flags='0x...'>).  Returns 0, -ENOENT when no outgoing migration job is recorded there, -EBADMSG
 * when the flags do not parse.  Pure.
 */
int actuator_status_job_flags(const char *status_xml, uint64_t *ret_flags);

/*
 * Appends the policy's prediction for pa (RING_REC_PREDICTION) under domain at mono_ns, right
 * after pa's action record; nothing when the policy predicted nothing (pred all 0).  For every
 * writer of action records (the actuator, the seam without one).
 */
void actuator_record_prediction(struct ring_writer *w, uint32_t domain, uint64_t mono_ns,
				const struct policy_action *pa);
/* ---- post-copy recovery (actuator_recovery.c, docs/recovery.md) ---------------------------- */

/* What the recovery looks at in each sample of an outgoing job. */
struct act_pc_context {
	uint8_t phase;                     /* enum ring_phase */
	bool broken;                       /* libvirt says post-copy failed */
	uint64_t processed_bytes;          /* data processed: grows while pages move */
	uint8_t nic_carrier;               /* MIG_NIC_CARRIER_* */
	uint32_t nic_errors_delta, nic_drops_delta;
	uint64_t now_ns;
};

/*
 * Every sample of an outgoing job.  Before post-copy it learns whether a break could be
 * recovered (actuator_pc_proven) and where a resume would go; in post-copy it interrupts a
 * stream the link left stalled, resumes a broken one once the link is healthy, collects the
 * outcome of its calls and records each in the ring and the log.  Never blocks: the calls run on
 * a worker thread.  Returns the number of the resume attempt it started now, or 0.
 */
uint32_t actuator_postcopy(struct actuator *a, struct act_job *job, void *handle,
			   const struct act_pc_context *ctx);
/* A broken post-copy of this job would be resumed by the agent (docs/recovery.md, "proven"). */
bool actuator_pc_proven(const struct act_job *job);
/* A recovery call of this job is in flight. */
bool actuator_pc_busy(const struct act_job *job);
/* The job ended with phase: the outcome of a call still in flight is recorded as far as it is
 * known, and the call is left to finish on its own. */
void actuator_pc_end(struct actuator *a, struct act_job *job, uint8_t phase, uint64_t now_ns);
/* Before the job's memory is freed: a call still in flight is left to finish on its own. */
void actuator_job_release(struct act_job *job);
/* Worker threads still running recovery calls (all jobs). */
unsigned actuator_pc_calls(const struct actuator *a);
/*
 * The command that resumes the job by hand (virsh, shell-quoted), for the log; dest_uri NULL or
 * "" leaves a placeholder.  Pure.
 */
void actuator_pc_command(const char *local_uri, const char *domain, uint64_t flags,
			 const char *dest_uri, const char *migrate_uri, char *buf, size_t len);
/* The flags of a resume from those the job was started with.  Pure. */
uint64_t actuator_pc_resume_flags(uint64_t job_flags);
/* dest_uri template with {peer} replaced (IPv6 in brackets): 0, or -ENOENT when it needs a peer
 * and there is none, -ENAMETOOLONG.  Pure. */
int actuator_pc_dest_uri(const char *tmpl, const char *peer, char *buf, size_t len);

/*
 * An action recorded for this job by an earlier run of the agent (the ring survives it): what
 * was applied is in force again (limits, a post-copy, suspend or abort that took), and the same
 * outcome is not recorded twice.  mono_ns is the record's time.
 */
void actuator_job_restore(struct act_job *job, const struct ring_action *ra, uint64_t mono_ns);

/* "applied", "failed", "advisory", "skipped". */
const char *actuator_result_name(int result);

#endif
