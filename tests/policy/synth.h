/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Synthetic migration jobs in closed form for the policy tests: a bulk pass, then passes of a fixed
 * dirty set at a fixed rate, with disturbances on request; drive() runs a policy over one, feeding
 * the limits it sets back into the samples as a job would.
 */
#ifndef MIGTUNE_TESTS_POLICY_SYNTH_H
#define MIGTUNE_TESTS_POLICY_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

#define MIB 1048576ull

/* A migration stepping one pass every pass_ms after a first pass of first_ms. */
struct synth {
	uint64_t ram, dirty_set;          /* bytes: guest RAM, dirty set found by each sync */
	uint64_t bps;                     /* transfer rate */
	uint64_t first_ms, pass_ms;
	uint64_t nic_capacity, tenant;
	uint32_t downtime_ms;
	uint64_t cap;
	bool follow_cap;                  /* the rate follows the cap (else the job ignores it) */
	/* disturbances: [from, to) */
	uint64_t err_from, err_to;
	uint64_t dip_from, dip_to;        /* memory_bps at 10 % */
	uint64_t nic_tx;                  /* != 0: the NIC's tx, whatever the migration sends */
	uint64_t blip_at, blip;           /* extra NIC tx in the one sample at blip_at (!= 0) */
	uint64_t tenant_from;             /* tenant traffic only from then on */
	uint64_t nic_known_ms;            /* the NIC's speed reads 0 (unknown) before this */
	uint64_t setup_ms;                /* job set-up: iteration 0, no bandwidth limit yet */
	uint32_t overhead_permille;       /* framing the NIC counts over what QEMU sends */
	uint32_t shrink_permille;         /* != 0: each pass's dirty set is this share of the one
	                                     before, and the pass lasts what it takes at bps */
};

void synth_sample(const struct synth *m, uint64_t t, struct mig_sample *ret);

struct run {
	struct policy_action acts[128];
	size_t n;
	uint64_t t_verdict_ms;
};

/* Drive policy p over the job from 0 to end_ms, sampling every step_ms.  Downtime and cap feed
 * back into the samples; refuse_postcopy makes the actuator refuse post-copy as libvirt does
 * without the flag. */
void drive(const struct policy *p, struct synth *m, const struct mig_limits *lim, uint64_t end_ms,
           uint64_t step_ms, bool refuse_postcopy, struct run *out);

void run_dump(const struct run *r);
const struct policy_action *run_find(const struct run *r, uint8_t kind);
/* run_find() for results the test goes on to read: a missing one fails the test there */
const struct policy_action *run_must_find(const struct run *r, uint8_t kind)
	__attribute__((returns_nonnull));
unsigned run_count(const struct run *r, uint8_t kind);

#define DT POLICY_ACT_SET_DOWNTIME
#define BW POLICY_ACT_SET_BANDWIDTH
#define AB POLICY_ACT_ABORT
#define PC POLICY_ACT_POSTCOPY
#define SU POLICY_ACT_SUSPEND
#define HO POLICY_ACT_HOLD

#endif
