/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Job stats (libvirt typed parameters) to a ring sample.  Pure: no connection needed, so tests
 * and the benchmark feed it fabricated parameter lists.
 */
#ifndef MIGTUNE_AGENT_JOBSTATS_H
#define MIGTUNE_AGENT_JOBSTATS_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "shm/ring.h"

/* libvirt's "operation" values (virDomainJobOperation) that mean a migration. */
#define JOBSTATS_OP_MIGRATION_IN  4
#define JOBSTATS_OP_MIGRATION_OUT 5

/*
 * Fills *ret from params.  job_type is what virDomainGetJobStats returned (VIR_DOMAIN_JOB_*).
 * Returns the operation (JOBSTATS_OP_* or another virDomainJobOperation, 0 when absent);
 * ret->direction is set from it.  Never fails: missing fields stay 0.
 */
int jobstats_to_sample(int job_type, const virTypedParameter *params, int nparams,
		       struct ring_sample *ret);

/* True when the job described by (job_type, operation) is a running migration. */
bool jobstats_is_migration(int job_type, int operation);

#endif
