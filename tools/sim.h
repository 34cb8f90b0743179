/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migsim: a model of QEMU pre-copy live migration that drives the policies (policy/policy.h) through
 * the same interface as the agent.  The scenario format is documented in docs/scenarios.md.
 */
#ifndef MIGTUNE_TOOLS_SIM_H
#define MIGTUNE_TOOLS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/policy.h"

#define SIM_MAX_VMS     4
#define SIM_MAX_STEPS   16
#define SIM_MAX_ACTIONS 64
#define SIM_MAX_REFS    8
#define SIM_TICK_MS     100          /* QEMU checks for completion every 100 ms */

enum sim_pattern { SIM_PATTERN_SEQUENTIAL = 0, SIM_PATTERN_RANDOM = 1 };

struct sim_dirty_phase {
	uint64_t t_ms;                   /* from this time after the VM's migration starts */
	uint64_t hot_bytes;              /* working set the guest writes to */
	uint64_t rate_bps;               /* bytes written per second */
	uint8_t pattern;                 /* enum sim_pattern */
};

struct sim_link_step {
	uint64_t t_ms;                   /* from the scenario's start */
	uint64_t capacity_bps;
	bool carrier;
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
	unsigned nlink, ntenant, nvms, nrefs;
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
	SIM_FAILED,                      /* post-copy lost its network: the guest is lost */
	SIM_NOT_CONVERGED,               /* still running at the end of the scenario */
};

struct sim_vm_result {
	char name[32];
	uint8_t outcome;                 /* enum sim_outcome */
	uint64_t total_ms;               /* migration start to end (or to the scenario's end) */
	uint64_t downtime_ms;            /* guest stopped (0 unless completed) */
	uint64_t bytes_sent;
	uint32_t passes;
	uint64_t first_action_ms;        /* first non-initial action, 0 = none */
	uint32_t max_downtime_set_ms;
	uint32_t sla_ms;
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

/* Options of one run that are not part of the scenario. */
struct sim_opts {
	uint32_t sample_ms;              /* 0 = the scenario's */
	int sla_ms;                      /* < 0 = the scenario's */
	int allow_postcopy, allow_suspend; /* < 0 = the scenario's */
	bool no_prior;                   /* hide the dirty rate measured before the job */
	/* called for every sample if set (tracing) */
	void (*trace)(void *ctx, unsigned vm, const struct mig_sample *s);
	void *trace_ctx;
};

/* Parse a scenario (JSON text).  -EINVAL with one line in err naming the field on error. */
int sim_scenario_parse(const char *text, size_t len, struct sim_scenario *ret_scn, char *err,
                       size_t errlen);
/* Read and parse a file; errors name the file. */
int sim_scenario_load(const char *path, struct sim_scenario *ret_scn, char *err, size_t errlen);
/* Reads a whole regular file of at most max_bytes, NUL-terminated; one-line error in err. */
int sim_read_file(const char *path, size_t max_bytes, char **ret_buf, size_t *ret_len, char *err,
		  size_t errlen);

/* Run the scenario with one policy for every VM. */
int sim_run(const struct sim_scenario *scn, const struct policy *pol, const struct sim_opts *opts,
            struct sim_result *ret_res);

const char *sim_outcome_name(enum sim_outcome o);
bool sim_outcome_completed(enum sim_outcome o);

/* Output (sim_report.c). */
struct json_object;
void sim_print_text(const struct sim_scenario *scn, const struct sim_result *r, bool actions,
                    FILE *f);
struct json_object *sim_result_json(const struct sim_scenario *scn, const struct sim_result *r);

#endif
