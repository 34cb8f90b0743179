/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migsim: a model of QEMU live migration (pre-copy, stop-and-copy, post-copy and its recovery)
 * that drives the policies (policy/policy.h) through the same interface as the agent.  The
 * scenario format and the model are documented in docs/scenarios.md.
 */
#ifndef MIGTUNE_TOOLS_SIM_H
#define MIGTUNE_TOOLS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/policy.h"

#define SIM_MAX_VMS     16
#define SIM_MAX_STEPS   32           /* per timeline; "repeat_s" makes longer patterns */
#define SIM_MAX_ACTIONS 64
#define SIM_MAX_REFS    8
#define SIM_TICK_MS     100          /* QEMU checks for completion every 100 ms */

/*
 * Defaults of the scenario keys that model the switchover and the migration stream; why each
 * value, in docs/scenarios.md.
 */
#define SIM_SWITCHOVER_MS_DEFAULT        70      /* lab: real downtime minus the final copy */
#define SIM_STREAM_TIMEOUT_MS_DEFAULT    924600  /* Linux tcp_retries2 = 15 from a 200 ms RTO */
#define SIM_RECONNECT_MS_DEFAULT         2000    /* a broken post-copy's resume, link back to moving */
#define SIM_NIC_OVERHEAD_PERMILLE_DEFAULT 46     /* TCP/IPv4 in 1514-byte frames: 1448 payload */

/*
 * A timeline (link, tenant traffic, a guest's dirtying) is a list of steps in time order, each
 * holding until the next.  With every_ms set, the whole list plays again every every_ms from its
 * first step on, until until_ms (0: for ever), after which the step in force then holds.
 */
struct sim_repeat {
	uint64_t every_ms;
	uint64_t until_ms;
};

enum sim_pattern { SIM_PATTERN_SEQUENTIAL = 0, SIM_PATTERN_RANDOM = 1 };

struct sim_dirty_phase {
	uint64_t t_ms;                   /* first member of every step: see timeline_at() */
	uint64_t hot_bytes;              /* working set the guest writes to */
	uint64_t rate_bps;               /* bytes written per second */
	uint8_t pattern;                 /* enum sim_pattern */
};

struct sim_link_step {
	uint64_t t_ms;                   /* from the scenario's start */
	uint64_t capacity_bps;           /* on the wire (frames), what the NIC is sold as */
	bool carrier;
	bool reset;                      /* every migration stream is reset when this step begins */
	bool speed_known;                /* false: the samples say 0 (a veth's unreadable speed) */
	uint32_t errors_per_s;
};

struct sim_tenant_step {
	uint64_t t_ms;
	uint64_t demand_bps;             /* tenant traffic wanting to leave through the NIC */
};

struct sim_vm {
	char name[32];
	uint64_t ram_bytes;
	uint64_t zero_bytes;             /* never written at start (outside the first hot set) */
	uint32_t page_size;
	uint64_t start_ms;
	uint64_t cap_bps;                /* bandwidth limit at start (0 = unlimited) */
	uint32_t downtime_limit_ms;      /* at start (QEMU default 300) */
	bool postcopy_flag;              /* started with VIR_MIGRATE_POSTCOPY */
	struct mig_limits limits;        /* prior_dirty_* filled from the scenario (see below) */
	unsigned nphases;
	struct sim_repeat dirty_repeat;
	struct sim_dirty_phase phases[SIM_MAX_STEPS];
};

/* A measured result to compare against (calibration): outcome, wall time, bytes. */
struct sim_ref {
	char policy[32];
	char outcome[24];
	double total_s;                  /* < 0 = not given */
	double bytes_mib;
	double passes;
};

struct sim_scenario {
	char name[64];
	char description[256];
	uint64_t duration_ms;            /* give up (not converged) after this */
	uint32_t sample_ms;              /* policy sampling interval (agent default 500) */
	uint32_t monitor_delay_ms;       /* the policy first sees the job this late */
	uint32_t setup_ms;               /* connection and device set-up before the first byte */
	bool final_uncapped;             /* QEMU 7.2: the stop-and-copy ignores the bandwidth cap */
	uint32_t postcopy_switch_ms;     /* guest stop when switching to post-copy */
	uint32_t switchover_ms;          /* fixed cost of a pre-copy's switchover, on top of the copy */
	uint32_t stream_timeout_ms;      /* a stream blocked this long breaks */
	uint32_t reconnect_ms;           /* a broken post-copy's resume, once the link is back */
	uint32_t nic_overhead_permille;  /* frames on the wire over the migration's payload */
	unsigned nlink, ntenant, nvms, nrefs;
	struct sim_repeat link_repeat, tenant_repeat;
	struct sim_link_step link[SIM_MAX_STEPS];
	struct sim_tenant_step tenant[SIM_MAX_STEPS];
	struct sim_vm vms[SIM_MAX_VMS];
	struct sim_ref refs[SIM_MAX_REFS];
};

enum sim_outcome {
	SIM_RUNNING = 0,
	SIM_COMPLETED,                   /* pre-copy converged */
	SIM_COMPLETED_POSTCOPY,
	SIM_COMPLETED_SUSPENDED,
	SIM_ABORTED,
	SIM_FAILED,                      /* post-copy broke and was not recovered: the guest is lost */
	SIM_NOT_CONVERGED,               /* still running at the end of the scenario */
	SIM_INTERRUPTED,                 /* the stream broke before post-copy: the guest stays on
	                                    the source, nothing lost */
};

/* How a migration ended, in the words of the outputs (finer than the outcome). */
enum sim_end {
	SIM_END_NONE = 0,
	SIM_END_COMPLETED,               /* pre-copy */
	SIM_END_POSTCOPY,                /* post-copy, never split */
	SIM_END_SUSPENDED,
	SIM_END_ABORTED,                 /* by the policy */
	SIM_END_PARKED_ABORTED,          /* parked, then aborted by the policy */
	SIM_END_LOST,                    /* post-copy broke, no recovery: memory split for good */
	SIM_END_SPLIT_RECOVERED,         /* post-copy broke, was resumed, and completed */
	SIM_END_INTERRUPTED,             /* the stream broke in pre-copy or stop-and-copy */
	SIM_END_NOT_CONVERGED,
	SIM_END_PARKED_NOT_CONVERGED,    /* parked when the scenario ended */
};

struct sim_vm_result {
	char name[32];
	uint8_t outcome;                 /* enum sim_outcome */
	uint8_t end;                     /* enum sim_end */
	bool sla_held;                   /* real downtime within the SLA, and the guest not lost */
	uint64_t total_ms;               /* migration start to end (or to the scenario's end) */
	uint64_t downtime_ms;            /* guest stopped (switchover, suspend, post-copy switch) */
	uint64_t bytes_sent;
	uint64_t ram_bytes;
	uint64_t budget_ms;              /* budget_s_per_gib x GiB, at least budget_min_s */
	uint32_t passes;
	uint64_t first_action_ms;        /* first non-initial action, 0 = none */
	uint32_t max_downtime_set_ms;
	uint32_t sla_ms;
	/* the policy's verdict that nothing it may do finishes the job now (policy_state) */
	bool have_verdict;
	bool verdict_inferred;           /* the policy gave none: its first giving-up action */
	uint64_t verdict_ms;             /* from the migration's start */
	uint64_t bytes_after_verdict;
	uint64_t parked_ms;              /* at a trickle set with reason "park" */
	uint64_t stall_ms;               /* post-copy with the stream not moving (link down, split) */
	uint64_t split_ms;               /* post-copy broken or recovering */
	uint32_t breaks;                 /* post-copy stream breaks */
	bool recovery;                   /* post-copy recovery was on */
	bool allow_postcopy, allow_suspend; /* the owner's permissions in force */
	unsigned nactions;
	struct policy_action actions[SIM_MAX_ACTIONS];
	bool actions_truncated;
};

struct sim_result {
	char scenario[64];
	char policy[SCHED_NAME_LEN];
	unsigned nvms;
	struct sim_vm_result vms[SIM_MAX_VMS];
	uint64_t tenant_demand_bytes;
	uint64_t tenant_sent_bytes;
};

/*
 * What a run reports as it goes, for a recorder (tools/sim_record.c: the ring and dump records
 * the agent would write).  t_ms is the scenario's clock.  Every callback may be NULL.
 */
struct sim_observer {
	void (*tick)(void *ctx, uint64_t t_ms);          /* every tick, before its sampling */
	void (*sample)(void *ctx, unsigned vm, uint64_t t_ms, const struct mig_sample *s);
	void (*action)(void *ctx, unsigned vm, uint64_t t_ms, const struct policy_action *a,
	               bool applied);
	/* a migration ended (r's outcome, total_ms, downtime_ms, bytes_sent, passes are set), or
	 * the scenario did with it still running (outcome SIM_NOT_CONVERGED) */
	void (*end)(void *ctx, unsigned vm, uint64_t t_ms, const struct sim_vm_result *r);
};

/* Options of one run that are not part of the scenario. */
struct sim_opts {
	uint32_t sample_ms;              /* 0 = the scenario's */
	int sla_ms;                      /* < 0 = the scenario's */
	int allow_postcopy, allow_suspend; /* < 0 = the scenario's */
	int postcopy_recovery;           /* < 0 = the scenario's */
	bool no_prior;                   /* hide the dirty rate measured before the job */
	/* called for every sample if set (tracing) */
	void (*trace)(void *ctx, unsigned vm, const struct mig_sample *s);
	void *trace_ctx;
	const struct sim_observer *obs;  /* NULL: none */
	void *obs_ctx;
};

#define SIM_OPTS_INIT { .sla_ms = -1, .allow_postcopy = -1, .allow_suspend = -1, \
                        .postcopy_recovery = -1 }

/* Parse a scenario (JSON text).  -EINVAL with one line in err naming the field on error. */
int sim_scenario_parse(const char *text, size_t len, struct sim_scenario *ret_scn, char *err,
                       size_t errlen);
/* Read and parse a file; errors name the file. */
int sim_scenario_load(const char *path, struct sim_scenario *ret_scn, char *err, size_t errlen);
/* Reads a whole regular file of at most max_bytes, NUL-terminated; one-line error in err. */
int sim_read_file(const char *path, size_t max_bytes, char **ret_buf, size_t *ret_len, char *err,
		  size_t errlen);

/*
 * The index of the step in force at t_ms (relative to the timeline's origin) of a timeline whose
 * steps are structs of `stride` bytes starting with their uint64_t t_ms, or -1 before the first.
 * With ret_occurrence, a number that changes whenever a step (or a repetition of it) begins.
 */
int sim_timeline_at(const void *steps, size_t stride, unsigned n, const struct sim_repeat *rep,
                    uint64_t t_ms, uint64_t *ret_occurrence);

/* Run the scenario with one policy for every VM. */
int sim_run(const struct sim_scenario *scn, const struct policy *pol, const struct sim_opts *opts,
            struct sim_result *ret_res);

const char *sim_outcome_name(enum sim_outcome o);
bool sim_outcome_completed(enum sim_outcome o);
const char *sim_end_name(enum sim_end e);
/*
 * A finish the guest's owner accepts: completed within the SLA, post-copy only where allowed, a
 * downtime over the SLA (suspend) only where suspend is allowed.
 */
bool sim_vm_finish_accepted(const struct sim_vm_result *r);

/* The benchmark (sim_bench.c): the policies it runs, adaptive last. */
#define SIM_BENCH_NPOLICIES 7
extern const char *const sim_bench_policies[SIM_BENCH_NPOLICIES];
/* Every scenario with every benchmark policy: the table, the targets, the references. */
int sim_bench(const struct sim_scenario *scns, size_t nscn, const struct sim_opts *opts, FILE *f);

/* Output (sim_report.c). */
struct json_object;
void sim_print_text(const struct sim_scenario *scn, const struct sim_result *r, bool actions,
                    FILE *f);
struct json_object *sim_result_json(const struct sim_scenario *scn, const struct sim_result *r);

#endif
