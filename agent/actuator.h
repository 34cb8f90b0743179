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
	/* 1 when the running outgoing job was started with VIR_MIGRATE_POSTCOPY, 0 when not,
	 * negative errno when it cannot be told. */
	int (*postcopy_enabled)(void *h, const char *domain_name);
};

extern const struct act_ops actuator_virt_ops;

struct agent_stats;

/* What one domain's migrations may do; the configuration gives the defaults, the domain's
 * metadata overrides them. */
struct act_settings {
	char policy[ACT_POLICY_NAME_MAX + 1];
	struct mig_limits lim;
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
};

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
	uint32_t applied, failed, skipped, advised;
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
 * Applies (or, advisory, records) one policy action.  Returns the RING_RES_* recorded, or 0 when
 * nothing was recorded because the same outcome was just recorded for the same action.  The
 * caller tells the policy: policy_applied(..., result == RING_RES_APPLIED ||
 * result == RING_RES_ADVISORY).  HOLD actions are recorded, never applied.
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

/* "applied", "failed", "advisory", "skipped". */
const char *actuator_result_name(int result);

#endif
