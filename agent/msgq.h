/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tracker's inbox: producers (the hook listener thread, libvirt's event loop thread) enqueue
 * wait-free (liburcu's wfcqueue) and poke an eventfd; the tracker thread drains it.  Producers
 * never block on the tracker, so a slow job-stats RPC never delays a hook's answer.
 *
 * The queue is bounded: while the tracker thread waits on a hung libvirtd nothing drains it, and
 * hooks keep coming.  A message past the bound is dropped and counted; the first drop of an
 * overflow is logged, and the tracker reports the total once the queue has drained.  Only the
 * connection's close notice is never dropped (the agent would not know to reconnect).
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

#define MSGQ_DEFAULT_MAX 4096u   /* messages waiting at most (~1 KiB each) */

struct msgq {
	struct cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	int efd;                /* readable when messages are waiting */
	uint64_t enqueued;      /* producers, atomic */
	uint64_t dropped;       /* producers, atomic: messages refused because the queue was full */
	uint64_t reported;      /* consumer: drops already reported */
	uint32_t waiting;       /* atomic: enqueued and not yet popped */
	uint32_t max;
	int overflowing;        /* atomic: set by the first drop, cleared by msgq_overflow_report */
};

/* An empty queue of MSGQ_DEFAULT_MAX messages. */
int msgq_init(struct msgq *q);
/* Changes the bound (before use; tests). */
void msgq_set_max(struct msgq *q, uint32_t max);
void msgq_destroy(struct msgq *q);  /* frees what is still queued */
struct agent_msg *msgq_msg_new(int kind);
/* Takes ownership of m.  Returns 0, or -ENOBUFS when the queue is full and m was dropped (the
 * first drop of an overflow logs one line). */
int msgq_push(struct msgq *q, struct agent_msg *m);
/* Clears the eventfd, then returns messages one by one (caller frees them), NULL when empty. */
void msgq_ack(struct msgq *q);
struct agent_msg *msgq_pop(struct msgq *q);
/* Consumer, after draining: the messages dropped since the last report (0: none), ending the
 * overflow so that the next one is logged again. */
uint64_t msgq_overflow_report(struct msgq *q);
uint64_t msgq_dropped(struct msgq *q);      /* every thread: the total */
uint32_t msgq_waiting(struct msgq *q);      /* every thread */

#endif
