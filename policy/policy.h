/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Migration policies: pure functions from a migration's sample history to tuning actions.
 *
 * Nothing here does I/O, calls libvirt or reads a clock: time arrives inside the samples, so the
 * agent, the simulator (tools/migsim) and the unit tests drive exactly the same code.
 *
 * Units: every rate named *_bps is in BYTES per second (libvirt's memory_bps convention, and the
 * ring's nic tx_bps); sizes are *_bytes; times are *_ms since the start of the migration job.
 *
 * Calling sequence, once per sample (the agent samples every 500 ms by default):
 *
 *     policy_observe(&hist, &sample);                       caller owns hist (zeroed at job start)
 *     n = policy_decide(pol, &state, &hist, &limits, acts, POLICY_MAX_ACTIONS);
 *     for each action: apply it (or record it when advisory), then
 *     policy_applied(pol, &state, &acts[i], ok);            so the policy knows what stuck
 *
 * A policy never assumes an action worked; the next samples show what the job really does
 * (downtime_limit_ms, bandwidth_limit_bps, phase).
 */
#ifndef MIGTUNE_POLICY_POLICY_H
#define MIGTUNE_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mig_phase {
	MIG_PHASE_NONE = 0,
	MIG_PHASE_SETUP,
	MIG_PHASE_PRECOPY,
	MIG_PHASE_POSTCOPY,
	MIG_PHASE_SUSPENDED,             /* guest paused, finishing as a non-live migration */
	MIG_PHASE_DONE,
	MIG_PHASE_POSTCOPY_BROKEN,       /* the post-copy stream broke: the guest runs on the
	                                    destination, part of its memory still on the source */
	MIG_PHASE_POSTCOPY_RECOVERING,   /* a broken post-copy being resumed over a new connection */
};

/* What adaptive does when nothing permitted finishes the job now (mig_limits.on_hopeless). */
enum mig_on_hopeless {
	MIG_ON_HOPELESS_PARK = 0,        /* throttle to a trickle, watch, resume when it can finish */
	MIG_ON_HOPELESS_ABORT = 1,       /* abort as soon as that is clear */
};

#define MIG_NIC_CARRIER_DOWN    0
#define MIG_NIC_CARRIER_UP      1
#define MIG_NIC_CARRIER_UNKNOWN 255

/* One observation of an outgoing migration job (libvirt job stats + the migration NIC). */
struct mig_sample {
	uint64_t t_ms;                   /* since the job started (time_elapsed) */
	uint32_t iteration;              /* memory_iteration: 1 during the first (bulk) pass */
	uint32_t page_size;              /* memory_page_size, bytes (0 = 4096) */
	uint64_t data_total_bytes;
	uint64_t data_processed_bytes;
	uint64_t data_remaining_bytes;
	uint64_t mem_total_bytes;
	uint64_t mem_processed_bytes;
	uint64_t mem_remaining_bytes;
	uint64_t memory_bps;             /* QEMU's measured transfer rate */
	uint64_t dirty_pages_per_s;      /* memory_dirty_rate: distinct pages per bitmap-sync period */
	uint32_t expected_downtime_ms;   /* job "downtime" while running */
	uint32_t downtime_limit_ms;      /* max downtime currently in force (0 = unknown) */
	uint64_t bandwidth_limit_bps;    /* max speed currently in force (0 = unlimited) */
	uint8_t  throttle_pct;           /* auto_converge_throttle */
	uint8_t  phase;                  /* enum mig_phase */
	uint8_t  nic_carrier;            /* MIG_NIC_CARRIER_* */
	uint8_t  reserved;
	uint64_t nic_tx_bps;             /* migration NIC, all traffic (0 = unknown) */
	uint64_t nic_rx_bps;
	uint64_t nic_capacity_bps;       /* link speed in bytes/s (0 = unknown) */
	uint64_t nic_mig_tx_bps;         /* what every outgoing migration on the NIC sends: this
	                                    one's memory_bps, the others' as last seen (0 = only
	                                    this one is known) */
	uint32_t nic_errors_delta;       /* tx+rx errors since the previous sample */
	uint32_t nic_drops_delta;        /* tx+rx drops since the previous sample */
};

enum policy_id {
	POLICY_NONE = 0,
	POLICY_RHV_MINIMAL,              /* oVirt "Minimal downtime" */
	POLICY_RHV_SUSPEND,              /* oVirt "Suspend workload if needed" */
	POLICY_RHV_POSTCOPY,             /* oVirt "Post-copy migration" */
	POLICY_RHV_VERYLARGE,            /* oVirt "Very large VMs" */
	POLICY_NOVA,                     /* Nova defaults, abort at the completion timeout */
	POLICY_NOVA_FORCE,               /* Nova, timeout action force_complete */
	POLICY_ADAPTIVE,                 /* ours, the default */
	POLICY_SCHEDULE,                 /* a user schedule in RHV's MigrationPolicies JSON shape */
	POLICY_ID_MAX = POLICY_SCHEDULE,
};

/* Per-domain settings; policy_limits_default() fills the documented defaults. */
struct mig_limits {
	uint32_t sla_max_downtime_ms;    /* adaptive never sets more than this (default 500) */
	bool     allow_postcopy;         /* the domain's owner accepts post-copy */
	bool     postcopy_flag_set;      /* the job was started with VIR_MIGRATE_POSTCOPY */
	bool     allow_suspend;          /* the domain's owner accepts a paused finish */
	uint32_t budget_s_per_gib;       /* adaptive: abort a hopeless job after this (default 150) */
	uint32_t budget_min_s;           /* floor of the budget for small guests (default 60) */
	uint16_t reserve_permille;       /* share of the NIC kept for tenants (default 100 = 10 %) */
	uint16_t concurrent_on_nic;      /* outgoing migrations sharing the NIC, this one included */
	uint64_t bandwidth_max_bps;      /* hard ceiling for any bandwidth we set (0 = NIC only) */
	uint64_t guest_ram_bytes;        /* 0 = take mem_total_bytes from the samples */
	/*
	 * The guest's dirty rate measured BEFORE the job (QEMU's calc-dirty-rate in page-sampling
	 * mode over prior_dirty_period_ms, which libvirt cannot run during a migration): distinct
	 * bytes written per second over that period; 0 = not measured.  Adaptive uses it, when
	 * fresh, to call a plateau right after the bulk pass instead of two passes later.
	 */
	uint64_t prior_dirty_bps;
	uint32_t prior_dirty_period_ms;  /* the measurement's length (0 = 1000) */
	uint32_t prior_dirty_age_ms;     /* how long before the job started it was measured */
	uint8_t  on_hopeless;            /* enum mig_on_hopeless (default park) */
	bool     allow_abort;            /* false: the agent never aborts this job (default true) */
	bool     postcopy_recovery;      /* a broken post-copy is resumed automatically on this host
	                                    (proven there): post-copy is a smaller bet */
	/*
	 * How far QEMU's real downtime has overshot the max downtime in force on this host, learned
	 * from completed migrations (real / limit, in permille; 0 = nothing learned yet).  The SLA
	 * is what the guest may be stopped for, the limit only QEMU's target.
	 */
	uint32_t downtime_overshoot_permille;
};

/* Per-pass summary built by policy_observe(). */
struct mig_pass {
	uint32_t iteration;
	uint32_t samples;
	uint64_t t_first_ms;             /* first sample seen in this pass */
	uint64_t t_last_ms;
	uint64_t remaining_max_bytes;    /* ~ the dirty set found by the sync that began the pass */
	uint64_t remaining_min_bytes;
	uint64_t processed_first_bytes;
	uint64_t processed_last_bytes;
	uint64_t bps_sum;                /* sum of memory_bps over the pass's samples */
	uint64_t bps_min, bps_max;
	bool     unsteady;               /* a network event touched this pass: not evidence */
};

#define MIG_HISTORY_SAMPLES 256
#define MIG_HISTORY_PASSES  64

/* Bounded history of one job, owned by the caller, updated by policy_observe() only. */
struct mig_history {
	uint32_t nsamples;               /* total ever observed */
	uint32_t npasses;                /* total ever opened */
	struct mig_sample samples[MIG_HISTORY_SAMPLES];
	struct mig_pass passes[MIG_HISTORY_PASSES];
	uint64_t bw_ewma_bps;            /* EWMA (alpha 0.4) of memory_bps, pre-copy samples only */
	uint64_t remaining_min_bytes;    /* lowest data_remaining seen after the first pass */
	uint64_t t_remaining_min_ms;
};

enum policy_action_kind {            /* values match enum ring_action_kind */
	POLICY_ACT_SET_DOWNTIME  = 1,    /* value in ms */
	POLICY_ACT_SET_BANDWIDTH = 2,    /* value in bytes/s (libvirt wants MiB/s: round up) */
	POLICY_ACT_POSTCOPY      = 3,
	POLICY_ACT_SUSPEND       = 4,
	POLICY_ACT_ABORT         = 5,
	POLICY_ACT_HOLD          = 7,    /* deliberate wait; nothing to apply, record it */
};

enum policy_reason {
	REASON_NONE = 0,
	REASON_INITIAL,                  /* schedule's initial item */
	REASON_STALLED_ITERATIONS,       /* RHV: pass number exceeded the step's limit */
	REASON_SCHEDULE_EXHAUSTED,       /* RHV: last items */
	REASON_TIME_STEP,                /* Nova: downtime step due */
	REASON_COMPLETION_TIMEOUT,       /* Nova: completion timeout */
	REASON_NIC_HEADROOM,             /* adaptive: bandwidth raised into the NIC's headroom */
	REASON_FAIR_SHARE,               /* adaptive: bandwidth lowered to a fair share / reserve */
	REASON_CONVERGING_DOWNTIME,      /* adaptive: downtime that makes it converge */
	REASON_SLA_EXCEEDED,             /* adaptive: converging downtime is above the SLA */
	REASON_NETWORK_UNSTEADY,         /* adaptive: hold, the network changed under us */
	REASON_POSTCOPY_UNSAFE,          /* adaptive: post-copy refused, network not healthy */
	REASON_HOPELESS,                 /* adaptive: nothing can make it converge */
	REASON_BUDGET_SPENT,             /* adaptive: completion budget spent */
	REASON_PARK,                     /* adaptive: nothing finishes now: throttled to a trickle */
	REASON_RESUME,                   /* adaptive: a parked job can finish now: full speed again */
	REASON_PROBE,                    /* adaptive: link capacity unknown: a step up to measure it */
	REASON_MAX,
};

#define POLICY_REASON_LEN 96
#define POLICY_MAX_ACTIONS 4

#define POLICY_PRED_NEVER UINT32_MAX   /* a predicted time: does not finish */

/*
 * What the policy predicted when it chose an action (adaptive only; all 0 = no prediction): the
 * chosen remedy's time to finish from now, bytes still to send and the guest's downtime, and
 * what waiting (doing nothing) would take.  The text repeats them for people.
 */
struct policy_prediction {
	uint32_t time_ms;                /* POLICY_PRED_NEVER: does not finish */
	uint32_t downtime_ms;
	uint64_t bytes;
	uint32_t wait_ms;                /* the same for "wait"; POLICY_PRED_NEVER: never */
	uint32_t reserved;
};

struct policy_action {
	uint8_t  kind;                   /* enum policy_action_kind */
	uint8_t  reason;                 /* enum policy_reason */
	uint16_t reserved;
	int64_t  value;                  /* new value (ms or bytes/s); 0 for the others */
	int64_t  old_value;              /* value in force when decided (-1 unknown) */
	uint64_t t_ms;                   /* sample time the decision was taken at */
	struct policy_prediction pred;
	char     text[POLICY_REASON_LEN];/* one line with the numbers that drove it */
};

/* A schedule in RHV's MigrationPolicies shape (also the built-in RHV policies). */
enum sched_action { SCHED_SET_DOWNTIME = 1, SCHED_POSTCOPY, SCHED_ABORT };

struct sched_item {
	uint8_t  action;                 /* enum sched_action */
	uint32_t stalling_limit;         /* convergence items only */
	uint32_t downtime_ms;            /* SCHED_SET_DOWNTIME */
};

#define SCHED_MAX_ITEMS 16
#define SCHED_NAME_LEN  64

struct sched {
	char name[SCHED_NAME_LEN];
	char uuid[40];
	uint32_t max_migrations;         /* 0 = not given */
	bool auto_convergence;
	bool compression;
	uint8_t ninitial, nconvergence, nlast;
	struct sched_item initial[SCHED_MAX_ITEMS];
	struct sched_item convergence[SCHED_MAX_ITEMS];
	struct sched_item last[SCHED_MAX_ITEMS];
};

/*
 * Tunables of the adaptive policy (policy_adaptive_defaults(); docs/policy.md says why each
 * default is what it is).  Every one is a property of the model, none of a scenario.
 */
struct adaptive_params {
	/* the guest */
	uint32_t plateau_permille;       /* dirty set per pass shrinking less than this = plateau (900) */
	uint32_t margin_permille;        /* head-room over the converging downtime (1250) */
	uint32_t converge_soon_ms;       /* a shrinking job finishing within this is left alone (30000) */
	uint32_t prior_max_age_ms;       /* a dirty rate measured before the job is used if at most
	                                    this old when the job starts (180000) */
	uint32_t prior_sample_pages_per_gib; /* QEMU's page sampling: pages hashed per GiB of RAM
	                                    (its default, 512); sets the measurement's noise */
	/* the link */
	uint32_t steady_permille;        /* rate within this of its EWMA = steady (250) */
	uint32_t settle_ms;              /* after a network event, before its passes count (3000) */
	uint32_t degraded_permille;      /* rate below this share of the job's best, not of our own
	                                    making = degraded (500) */
	uint32_t degraded_hold_ms;       /* no drastic step this long while degraded (60000) */
	uint32_t nic_overhead_permille;  /* framing the NIC counts over what QEMU sends (50) */
	uint32_t tenant_noise_permille;  /* NIC-vs-QEMU window mismatch: share of the migrations'
	                                    own rate under which other traffic is noise (100) */
	uint64_t tenant_noise_min_bps;   /* ... and this much at least (1 MiB/s) */
	uint32_t probe_follow_permille;  /* a raised limit is "followed" when the rate reaches this
	                                    share of it (850) */
	/* the actions */
	uint32_t bw_hysteresis_permille; /* ignore bandwidth retargets smaller than this (200) */
	uint32_t bw_min_interval_ms;     /* at most one bandwidth raise per this (5000) */
	uint64_t bw_floor_bps;           /* never share less than this (8 MiB/s) */
	uint32_t overshoot_permille;     /* real downtime over the limit assumed until the host
	                                    has measured its own (1200) */
	uint32_t postcopy_health_min_ms; /* post-copy only on a link healthy at least this long
	                                    (3000) ... */
	uint32_t postcopy_exposure_x;    /* ... and this many times the post-copy's own length, more
	                                    after each fault of this job (2) */
	uint64_t park_bps;               /* a parked job's trickle (1 MiB/s: libvirt's smallest) */
	uint32_t park_look_ms;           /* first look at full speed after parking, then doubling
	                                    (30000) */
};

/* The adaptive policy's memory of one job: what it did and what it has learned. */
struct adaptive_state {
	/* its own actions: expected changes, never a disturbance */
	uint32_t downtime_set_ms;        /* last downtime applied (0 = none) */
	uint32_t downtime_pass;          /* pass it was set at */
	uint64_t bw_set_bps;             /* last bandwidth applied (0 = none) */
	uint64_t t_bw_set_ms;
	/* the link */
	uint64_t t_fault_ms;             /* last carrier loss, error or drop (0 = none this job) */
	uint32_t fault_episodes;         /* separate spells of faults this job */
	bool     in_fault;
	uint64_t t_unsteady_ms;          /* last rate jump the policy did not cause */
	uint64_t tenant_raw_bps;         /* last sample's tenant reading (before confirmation) */
	bool     tenant_raw_valid;
	uint64_t tenant_bps;             /* confirmed tenant traffic */
	uint64_t cap_seen_bps;           /* unknown speed: most the link carried over two samples */
	uint64_t cap_found_bps;          /* unknown speed: what it carried when asked for more */
	uint64_t probe_bps;              /* a probe in flight: the limit being tried (0 = none) */
	uint64_t probe_from_bps;         /* ... and the limit before it */
	uint64_t t_probe_ms;
	uint64_t bw_peak_bps;            /* best rate of this job */
	uint64_t t_degraded_ms;
	/* the guest */
	uint64_t d2_bytes;               /* dirty set found when the bulk pass ended (0 = not yet) */
	uint64_t t1_ms;                  /* the bulk pass's length */
	uint64_t t_short_ms;             /* passes shorter than the sampling since then */
	/* the decisions */
	uint32_t evidence_pass;          /* pass at which non-convergence became clear (0 = not yet) */
	uint32_t last_escalation_pass;
	bool     held;                   /* a HOLD has been recorded for the current episode */
	bool     watch_held;             /* ... and one for post-copy waiting on the network */
	bool     parked;
	uint64_t park_from_bps;          /* the limit before parking (0 = unlimited) */
	uint64_t avail_at_park_bps;      /* what the link left the job when it parked */
	uint64_t t_parked_ms;
	uint64_t t_next_look_ms;
	uint32_t looks;
	uint32_t look_pass;              /* a look (full speed) began at this pass (0 = none) */
	uint32_t parked_pass;            /* pass when parked */
	bool     cap_unknown_said;       /* the unknown link speed has been recorded */
	bool     equal_share;            /* the last look: at least an equal share with tenants */
};

struct policy {
	uint8_t id;                      /* enum policy_id */
	char name[SCHED_NAME_LEN];
	struct sched sched;              /* RHV built-ins and POLICY_SCHEDULE */
	uint32_t poll_ms;                /* RHV: VDSM's monitor interval (10000) */
	struct adaptive_params adaptive;
};

struct policy_state {
	uint8_t id;
	bool started;                    /* initial items / setup done */
	bool terminal;                   /* post-copy, suspend or abort issued: nothing more to do */
	uint64_t t_start_ms;
	uint64_t t_last_poll_ms;
	uint32_t base_iteration;         /* RHV: pass at the first poll */
	bool base_set;
	uint8_t next_conv, next_last;    /* RHV: schedule cursors */
	uint8_t nova_step;               /* Nova: next downtime step */
	uint64_t t_first_action_ms;      /* first action that is not an initial item (0 = none) */
	struct adaptive_state ad;        /* the adaptive policy's */
	/*
	 * The verdict: when the policy first concluded that nothing it may do finishes the job now
	 * (0 = never).  Bytes a migration sends after it are what parking or a late abort cost;
	 * the simulator's benchmark reports them.
	 */
	uint64_t t_verdict_ms;
};

/* ---- set up ---------------------------------------------------------------------------------- */

void policy_limits_default(struct mig_limits *ret_limits);
void policy_adaptive_defaults(struct adaptive_params *ret_params);

/* Built-in by name: none, rhv-minimal, rhv-suspend, rhv-postcopy, rhv-verylarge, nova,
 * nova-force, adaptive.  -ENOENT for an unknown name. */
int policy_builtin(const char *name, struct policy *ret_policy);
int policy_builtin_id(enum policy_id id, struct policy *ret_policy);
const char *policy_id_name(enum policy_id id);
/* Comma-separated list of the built-in names, for help texts. */
const char *policy_builtin_names(void);

/*
 * User schedules in RHV's MigrationPolicies JSON shape.  Accepts one policy object, an array of
 * them, or policy objects one after another (whitespace or commas between); one enclosing '[' ... ']'
 * may be cut off at either end, so fragments copied out of `engine-config -g MigrationPolicies`
 * output load as they are.  Fills up to max policies, sets *ret_n.  On error returns -EINVAL (or
 * -E2BIG when more than max), writes one line naming the policy, the field and the problem into
 * err, and leaves ret_* untouched.
 */
int policy_json_load(const char *text, size_t len, struct policy *ret_policies, size_t max,
                     size_t *ret_n, char *err, size_t errlen);
/* Convert one parsed schedule into a policy. */
void policy_from_sched(const struct sched *s, struct policy *ret_policy);

/* ---- run ------------------------------------------------------------------------------------- */

void policy_state_init(const struct policy *p, struct policy_state *ret_state);
void policy_history_init(struct mig_history *ret_hist);

/* Append a sample, maintain per-pass summaries and the bandwidth EWMA.  Samples must come in
 * time order; one whose t_ms goes backwards is ignored (returns -EINVAL). */
int policy_observe(struct mig_history *hist, const struct mig_sample *s);

/* Decide on the newest sample.  Returns the number of actions written (0..max), or -EINVAL when the
 * history is empty.  Several actions are applied in order (e.g. bandwidth, then downtime). */
int policy_decide(const struct policy *p, struct policy_state *st, const struct mig_history *hist,
                  const struct mig_limits *lim, struct policy_action *ret_actions, size_t max);

/* Tell the policy whether an action was applied (false = the actuator failed or refused). */
void policy_applied(const struct policy *p, struct policy_state *st, const struct policy_action *a,
                    bool ok);

/* ---- helpers --------------------------------------------------------------------------------- */

const struct mig_sample *policy_history_last(const struct mig_history *hist);
/* i-th newest pass (0 = current) or NULL. */
const struct mig_pass *policy_history_pass(const struct mig_history *hist, uint32_t i);
/* S spans a bitmap sync (a new pass began since PREV, after a pass long enough for PREV2 and PREV
 * to share it) and reads a lower rate: QEMU stops sending while it syncs, so its rate window over
 * the sync reads low.  Not a network event, nor a rate of the link.  (Passes shorter than the
 * sampling end in every sample: there a lower rate is a rate.) */
bool policy_sync_dip(const struct mig_sample *prev2, const struct mig_sample *prev,
                     const struct mig_sample *s);
const char *policy_action_name(enum policy_action_kind k);
const char *policy_reason_name(enum policy_reason r);
/* One line "t=12.5s set-downtime 100 -> 1200 ms (converging-downtime: ...)". */
int policy_action_format(const struct policy_action *a, char *buf, size_t len);

#endif
