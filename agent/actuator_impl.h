/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the actuator's files share and nothing else includes: the actuator itself and its one
 * way of recording an outcome.
 *
 *   actuator.c           the policy's actions: gates, rate limit, back-off, calls, verification
 *   actuator_recovery.c  the recovery of a broken post-copy, its worker threads
 *   actuator_virt.c      the libvirt calls (struct act_ops)
 */
#ifndef MIGTUNE_AGENT_ACTUATOR_IMPL_H
#define MIGTUNE_AGENT_ACTUATOR_IMPL_H

#include "agent/actuator.h"
#include "agent/log.h"

struct actuator {
	struct ring_writer *ring;
	struct agent_stats *stats;
	const struct act_ops *ops;
	bool advisory;
	uint32_t rate_burst, rate_interval_ms, backoff_min_ms, backoff_max_ms;
	struct act_settings defaults;
	struct act_recovery_opts recovery;
	unsigned pc_calls;                 /* recovery worker threads running (atomic) */
};

/* One outcome as the ring's action record (kind, result, error, old -> new, policy, reason),
 * counted in the job and the agent's statistics; the caller writes the log line. */
struct act_outcome {
	uint8_t kind;                      /* enum ring_action_kind */
	uint8_t reason_code;
	int result;                        /* RING_RES_* */
	int error;                         /* negative errno, 0 */
	int64_t old_value, new_value;
	const char *policy;
	const char *reason;
};
void actuator_record(struct actuator *a, struct act_job *job, const struct act_outcome *o,
		     uint64_t now_ns);

/* The journal fields of a line about job (action and policy may be NULL). */
struct log_fields actuator_job_fields(const struct act_job *job, const char *action,
				      const char *policy);

#endif
