/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "agent/jobstats.h"

static uint64_t get_ull(const virTypedParameter *p, int n, const char *name)
{
	unsigned long long v = 0;

	/* virTypedParamsGetULLong only reads the array; a missing key leaves v at 0. */
	if (virTypedParamsGetULLong((virTypedParameterPtr)p, n, name, &v) != 1)
		return 0;
	return v;
}

static uint32_t clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int jobstats_to_sample(int job_type, const virTypedParameter *params, int nparams,
		       struct ring_sample *ret)
{
	virTypedParameterPtr p = (virTypedParameterPtr)params;
	int op = 0;
	int v;

	memset(ret, 0, sizeof(*ret));
	if (virTypedParamsGetInt(p, nparams, VIR_DOMAIN_JOB_OPERATION, &v) == 1)
		op = v;
	ret->direction = op == JOBSTATS_OP_MIGRATION_OUT ? RING_DIR_OUT :
			 op == JOBSTATS_OP_MIGRATION_IN ? RING_DIR_IN : RING_DIR_UNKNOWN;
	ret->iteration = clamp32(get_ull(p, nparams, VIR_DOMAIN_JOB_MEMORY_ITERATION));
	ret->data_total_bytes = get_ull(p, nparams, VIR_DOMAIN_JOB_DATA_TOTAL);
	ret->data_processed_bytes = get_ull(p, nparams, VIR_DOMAIN_JOB_DATA_PROCESSED);
	ret->data_remaining_bytes = get_ull(p, nparams, VIR_DOMAIN_JOB_DATA_REMAINING);
	ret->mem_total_bytes = get_ull(p, nparams, VIR_DOMAIN_JOB_MEMORY_TOTAL);
	ret->mem_processed_bytes = get_ull(p, nparams, VIR_DOMAIN_JOB_MEMORY_PROCESSED);
	ret->mem_remaining_bytes = get_ull(p, nparams, VIR_DOMAIN_JOB_MEMORY_REMAINING);
	ret->memory_bps = get_ull(p, nparams, VIR_DOMAIN_JOB_MEMORY_BPS);
	ret->dirty_pages_per_s = clamp32(get_ull(p, nparams, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE));
	ret->page_size = clamp32(get_ull(p, nparams, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE));
	ret->expected_downtime_ms = clamp32(get_ull(p, nparams, VIR_DOMAIN_JOB_DOWNTIME));
	ret->elapsed_ms = clamp32(get_ull(p, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED));
	ret->postcopy_requests = clamp32(get_ull(p, nparams, VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS));
	if (virTypedParamsGetInt(p, nparams, VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE, &v) == 1)
		ret->throttle_pct = (uint8_t)(v < 0 ? 0 : v > 100 ? 100 : v);
	if (job_type == VIR_DOMAIN_JOB_COMPLETED) {
		ret->phase = RING_PHASE_DONE;
		ret->flags |= RING_SAMPLE_F_FINAL;
	} else if (job_type == VIR_DOMAIN_JOB_FAILED || job_type == VIR_DOMAIN_JOB_CANCELLED) {
		ret->phase = RING_PHASE_FAILED;
		ret->flags |= RING_SAMPLE_F_FINAL;
	} else if (ret->postcopy_requests) {
		ret->phase = RING_PHASE_POSTCOPY;
	}
	return op;
}

bool jobstats_is_migration(int job_type, int operation)
{
	if (job_type != VIR_DOMAIN_JOB_BOUNDED && job_type != VIR_DOMAIN_JOB_UNBOUNDED)
		return false;
	return operation == JOBSTATS_OP_MIGRATION_OUT || operation == JOBSTATS_OP_MIGRATION_IN;
}
