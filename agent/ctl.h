/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket for tools (migtop, scripts): a stream socket, one request line, one JSON
 * reply, then the agent closes.  Requests: "status" (everything the agent follows) and "ping".
 * Only root or members of the configured group may talk to it: the socket file is 0660 with that
 * group, and the peer's credentials (SO_PEERCRED) are checked again on every connection.
 */
#ifndef MIGTUNE_AGENT_CTL_H
#define MIGTUNE_AGENT_CTL_H

#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "agent/tracker.h"

struct ctl;

/* Adds agent-wide fields to the status object (called on the control thread). */
typedef void (*ctl_extra_fn)(struct json_object *status, void *arg);

int ctl_start(const char *path, gid_t group, struct tracker *t, ctl_extra_fn extra, void *arg,
	      struct ctl **ret);
void ctl_stop(struct ctl *c);
uint64_t ctl_refused(struct ctl *c);

/* The status document (also used by tests without a socket). */
struct json_object *ctl_status_json(struct tracker *t, ctl_extra_fn extra, void *arg);

#endif
