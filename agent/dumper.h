/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Automatic dumps: when a migration fails or is aborted (and, if configured, when one completes)
 * the agent writes the ring to a dump file (shm/dump.h: dump_auto) on a worker thread of its
 * own, so that neither libvirt's event loop nor the sampling loop waits for the compression.
 * Each dump is recorded in the ring as a RING_ACT_DUMP action naming the file, and its full path
 * is logged.
 */
#ifndef MIGTUNE_AGENT_DUMPER_H
#define MIGTUNE_AGENT_DUMPER_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/ring.h"

#define DUMPER_QUEUE_MAX 16

struct dumper_opts {
	struct ring_writer *ring;      /* where the DUMP actions go (required) */
	const char *ring_name;         /* the ring to dump, opened read-only (required) */
	const char *dir;               /* required; created if missing */
	uint64_t max_bytes;            /* retention of the directory; 0 = no limit */
	uint64_t max_age_s;            /* 0 = no limit */
};

struct dumper;

int dumper_start(const struct dumper_opts *opts, struct dumper **ret);
/*
 * Queues a dump of the ring for domain (its ring index and name), why = "failed", "aborted",
 * "completed".  Never blocks: -EAGAIN when DUMPER_QUEUE_MAX dumps are already waiting.
 */
int dumper_request(struct dumper *d, uint32_t ring_index, const char *domain_name,
		   const char *why);
/* Writes what is queued, then stops the thread and frees. */
void dumper_stop(struct dumper *d);

/* Counters (any thread). */
struct dumper_counters {
	uint64_t written, failed, dropped;
};
void dumper_counters(struct dumper *d, struct dumper_counters *ret);

#endif
