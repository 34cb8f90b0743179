/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hook listener: a thread accepting the libvirt hook's connections (shm/wire.h), one message
 * each.  Only root may send (the socket file is 0600 and SO_PEERCRED is checked as well).  Events go
 * to the tracker through the message queue; admission requests are answered here at once, so the
 * hook (and libvirtd behind it) never waits on the tracker.  With no admission policy yet every
 * migration is accepted.
 */
#ifndef MIGTUNE_AGENT_HOOKSOCK_H
#define MIGTUNE_AGENT_HOOKSOCK_H

#include <stdint.h>

#include "agent/msgq.h"

struct hooksock;

struct hooksock_counters {
	uint64_t accepted;         /* connections */
	uint64_t messages;         /* valid messages queued */
	uint64_t refused;          /* peers that are not root */
	uint64_t malformed;        /* messages wire_decode rejected, or none within the deadline */
	uint64_t admissions;       /* admission requests answered */
	uint64_t probes;           /* connections closed without a message (hook --selftest) */
};

int hooksock_start(const char *path, struct msgq *q, struct hooksock **ret);
/* Stops the thread, closes and removes the socket. */
void hooksock_stop(struct hooksock *h);
void hooksock_counters(struct hooksock *h, struct hooksock_counters *ret);

#endif
