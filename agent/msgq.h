/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tracker's inbox: producers (the hook listener thread, libvirt's event loop thread) enqueue
 * wait-free (liburcu's wfcqueue) and poke an eventfd; the tracker thread drains it.  Producers
 * never block on the tracker, so a slow job-stats RPC never delays a hook's answer.
 */
#ifndef MIGTUNE_AGENT_MSGQ_H
#define MIGTUNE_AGENT_MSGQ_H

#include <stdbool.h>
#include <stdint.h>

#include <urcu/wfcqueue.h>

#include "shm/ring.h"
#include "shm/wire.h"

enum agent_msg_kind {
	MSG_HOOK = 1,           /* u.hook */
	MSG_LIFECYCLE,          /* event/detail */
	MSG_ITERATION,          /* iteration */
	MSG_JOB_COMPLETED,      /* final (if has_final) */
	MSG_CONN_CLOSED,        /* libvirt connection closed; detail = virConnectCloseReason */
};

struct agent_msg {
	struct cds_wfcq_node node;
	int published;          /* 1 before enqueue: gives thread checkers the ordering */
	int kind;               /* enum agent_msg_kind */
	uint64_t mono_ns;
	bool has_uuid;
	bool has_final;
	uint8_t uuid[16];
	char name[WIRE_DOMAIN_MAX + 1];
	int event;
	int detail;
	int iteration;
	struct ring_sample final;
	struct wire_event hook;
};

struct msgq {
	struct cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	int efd;                /* readable when messages are waiting */
	uint64_t enqueued;      /* producers, atomic */
};

int msgq_init(struct msgq *q);
void msgq_destroy(struct msgq *q);  /* frees what is still queued */
struct agent_msg *msgq_msg_new(int kind);
/* Takes ownership of m. */
void msgq_push(struct msgq *q, struct agent_msg *m);
/* Clears the eventfd, then returns messages one by one (caller frees them), NULL when empty. */
void msgq_ack(struct msgq *q);
struct agent_msg *msgq_pop(struct msgq *q);

#endif
