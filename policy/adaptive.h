/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The adaptive policy, in two parts that each read in one sitting:
 *
 *   adaptive_estimate.c  samples -> a picture of the link, the guest and the job, with what is
 *                        unknown said so (struct picture);
 *   adaptive_choose.c    picture -> the remedies the domain permits, each with a predicted time,
 *                        bytes and downtime, and the least harmful one that finishes in time.
 *
 * docs/policy.md states the model behind both.  Internal to policy/; the unit tests drive each
 * part on its own through this header.
 */
#ifndef MIGTUNE_POLICY_ADAPTIVE_H
#define MIGTUNE_POLICY_ADAPTIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"
#include "policy_impl.h"

/* ---- the picture ------------------------------------------------------------------------------ */

enum link_cap_state {
	LINK_CAP_UNKNOWN = 0,    /* no speed, and nothing has shown what the link carries */
	LINK_CAP_KNOWN,          /* the NIC's speed */
	LINK_CAP_SEEN,           /* no speed: at least what it has been seen to carry */
	LINK_CAP_FOUND,          /* no speed: about what it carried when asked for more */
};

struct link_picture {
	uint8_t  cap_state;      /* enum link_cap_state */
	uint64_t cap_bps;        /* 0 when unknown */
	uint64_t own_bps;        /* this job's rate (EWMA of QEMU's) */
	uint64_t own_avg_bps;    /* this job over the last sample interval (the NIC's window) */
	bool     own_avg_known;  /* ... measured, not QEMU's rate standing in (first sample) */
	uint64_t others_bps;     /* the other migrations leaving through the NIC */
	uint64_t tenant_bps;     /* traffic that is not a migration, seen in two samples in a row */
	bool     reading_ok;     /* the NIC's reading was plausible this time */
	uint64_t share_bps;      /* what this job may take (cap - tenants - reserve, split among the
	                            migrations, within the ceiling); 0 = unknown */
	uint64_t avail_bps;      /* what the link leaves this job: the share, or (speed unknown)
	                            what it has been seen to carry less the tenants; 0 = unknown */
	bool     saturated;      /* the link carries all it can (95 % of a known or found
	                            capacity): tenants may want more than they get */
	bool     nic_read;       /* the migration NIC was read for this sample (its carrier known) */
	bool     first_nic;      /* the first sample that knows the NIC's speed */
	bool     off_path;       /* QEMU sends far more than this NIC carries: not its path */
	bool     cap_bound;      /* the job sends at its bandwidth limit */
	bool     fault_now;      /* carrier down, errors or drops in this sample */
	bool     unsteady;       /* a network event or a rate jump the policy did not cause,
	                            within the settle time */
	bool     degraded;       /* rate far below this job's best, not of the policy's making */
	uint64_t healthy_ms;     /* without a fault since the job started or the last fault */
	uint32_t fault_episodes;
};

enum guest_evidence {
	GUEST_EV_NONE = 0,       /* the bulk pass is not over, or no usable passes yet */
	GUEST_EV_BULK,           /* only the dirty set after the bulk pass (an upper bound) */
	GUEST_EV_PRIOR,          /* with the rate measured before the job: a plateau, proven */
	GUEST_EV_PASSES,         /* two passes after the bulk pass */
	GUEST_EV_SAWTOOTH,       /* passes shorter than the sampling: the saw-tooth's peaks */
};

struct guest_picture {
	uint8_t  evidence;       /* enum guest_evidence */
	uint64_t dirty_bytes;    /* D: what a sync finds after one pass at the current rate, at
	                            most (the pending size pre-copy keeps returning to) */
	uint64_t last_bytes;     /* what the last sync found (0 = no sync since the bulk pass) */
	double   growth;         /* per pass: D now over D a pass ago, or the geometric mean over
	                            the last few passes when there are more (npasses) */
	uint32_t npasses;        /* passes after the bulk pass whose dirty sets are known */
	bool     shrinking;
	uint64_t eta_ms;         /* shrinking: until the pending falls under the limit's threshold */
	bool     short_passes;   /* several passes per sample: only small downtimes are needed */
	bool     disturbed;      /* the evidence's passes ran on a disturbed network */
	bool     limit_short;    /* a downtime set three passes ago did not do it: D was low */
};

struct picture {
	uint64_t t_ms;
	uint32_t pass;
	uint64_t pending_bytes;
	uint64_t sent_bytes;     /* data_processed: everything the job sent so far */
	uint64_t ram_bytes;
	uint64_t budget_ms;      /* completion budget from the job's start */
	uint32_t limit_ms;       /* max downtime in force */
	uint64_t bw_limit_bps;   /* bandwidth limit in force (0 = unlimited) */
	uint64_t rate_bps;       /* b: the rate predictions start from */
	uint32_t sla_ms;         /* the owner's SLA */
	uint32_t overshoot_permille; /* real downtime over the limit (learned, or assumed) */
	struct link_picture link;
	struct guest_picture guest;
};

/* Fills *ret from the history; keeps what it learns across samples in st (faults, tenants,
 * the link's capacity, the bulk pass). */
void adaptive_estimate(const struct adaptive_params *ap, struct adaptive_state *st,
                       const struct mig_history *hist, const struct mig_limits *lim,
                       struct picture *ret);

/* ---- predictions ------------------------------------------------------------------------------ */

enum remedy {
	REMEDY_WAIT = 0,         /* nothing */
	REMEDY_DOWNTIME,         /* a max downtime within the SLA */
	REMEDY_POSTCOPY,
	REMEDY_SUSPEND,
	REMEDY_PARK,
	REMEDY_ABORT,
};

struct prediction {
	bool     finishes;       /* within the completion budget */
	uint32_t time_ms;        /* from now; POLICY_PRED_NEVER when it does not finish */
	uint64_t bytes;          /* still to send */
	uint32_t downtime_ms;    /* the guest's stop */
};

/*
 * What remedy r does from the picture at rate bw_bps with a max downtime of limit_ms: pre-copy's
 * passes iterated on the dirty set (a pass of P bytes at b lasts P / b and the next sync finds at
 * most D), post-copy as one copy of what is pending, suspend as a non-live copy of it.
 */
void adaptive_predict(const struct picture *pic, enum remedy r, uint64_t bw_bps,
                      uint32_t limit_ms, const struct adaptive_params *ap,
                      struct prediction *ret);

/* The largest max downtime that keeps the real downtime within the SLA. */
uint32_t adaptive_sla_limit_ms(const struct picture *pic);

/* ---- the choice ------------------------------------------------------------------------------ */

/* Decides on the picture (s: the newest sample, for the probes' read-back); writes actions,
 * each with its prediction, into out. */
void adaptive_choose(const struct adaptive_params *ap, struct policy_state *st,
                     const struct picture *pic, const struct mig_limits *lim,
                     struct action_buf *out, const struct mig_sample *s);

#endif
