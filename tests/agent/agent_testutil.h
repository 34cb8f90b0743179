/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the agent's tests and benchmark. */
#ifndef MIGTUNE_TESTS_AGENT_TESTUTIL_H
#define MIGTUNE_TESTS_AGENT_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "shm/ring.h"
#include "shm/wire.h"

/* A ring name and a scratch directory unique to this process (and a tag). */
void tu_ring_name(const char *tag, char *ret, size_t len);
void tu_tmpdir(const char *tag, char *ret, size_t len);
void tu_rmdir(const char *dir);

/* Reads every record of the ring from the oldest; returns how many were stored in ret (up to max). */
size_t tu_read_all(const char *ring_name, struct ring_record *ret, size_t max);
size_t tu_count(const struct ring_record *recs, size_t n, uint16_t type);

/* Fabricated job stats of an outgoing migration, as virDomainGetJobStats would return them.
 * Caller frees with virTypedParamsFree(params, n). */
int tu_job_params(uint64_t elapsed_ms, uint32_t iteration, uint64_t remaining_bytes,
		  uint64_t bps, uint64_t dirty_pages_s, uint64_t downtime_ms,
		  virTypedParameterPtr *ret_params, int *ret_n);

/* A hook event for domain name/uuid (uuid may be NULL). */
void tu_hook_event(struct wire_event *ret, const char *name, const uint8_t *uuid, const char *op,
		   const char *subop, const char *extra);
/* Sends ev (type EVENT or ADMIT_REQUEST) to path.  With reply != NULL waits up to 1 s for it.
 * Returns 0 or a negative errno. */
int tu_hook_send(const char *path, const struct wire_event *ev, int type, struct wire_reply *reply);
/* A connected unix socket of type to path, or a negative errno. */
int tu_connect_unix(const char *path, int type);
/* Connects to a control socket, sends line, reads the whole reply into buf; -ETIMEDOUT when it
 * has not all come within timeout_ms (30 s for tu_ctl_request). */
int tu_ctl_request_within(const char *path, const char *line, char *buf, size_t len,
			  unsigned timeout_ms);
int tu_ctl_request(const char *path, const char *line, char *buf, size_t len);

/* Polls cond() every 10 ms for at most timeout_ms. */
bool tu_wait(bool (*cond)(void *arg), void *arg, unsigned timeout_ms);

#endif
