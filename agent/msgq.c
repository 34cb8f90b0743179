/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent/msgq.h"

int msgq_init(struct msgq *q)
{
	cds_wfcq_init(&q->head, &q->tail);
	q->enqueued = 0;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return q->efd < 0 ? -errno : 0;
}

void msgq_destroy(struct msgq *q)
{
	struct agent_msg *m;

	while ((m = msgq_pop(q)))
		free(m);
	if (q->efd >= 0)
		close(q->efd);
	q->efd = -1;
	cds_wfcq_destroy(&q->head, &q->tail);
}

struct agent_msg *msgq_msg_new(int kind)
{
	struct agent_msg *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	cds_wfcq_node_init(&m->node);
	m->kind = kind;
	return m;
}

void msgq_push(struct msgq *q, struct agent_msg *m)
{
	uint64_t one = 1;

	/* Pairs with the acquire load in msgq_pop(): the queue's own ordering lives in liburcu,
	 * which sanitizers cannot see; this makes the handover explicit. */
	__atomic_store_n(&m->published, 1, __ATOMIC_RELEASE);
	cds_wfcq_enqueue(&q->head, &q->tail, &m->node);
	__atomic_fetch_add(&q->enqueued, 1, __ATOMIC_RELAXED);
	/* A full counter (2^64-2 pokes) cannot happen; EAGAIN would only mean "already readable". */
	if (write(q->efd, &one, sizeof(one)) < 0) {
		/* nothing to do: the consumer still drains on its timer */
	}
}

void msgq_ack(struct msgq *q)
{
	uint64_t v;

	if (read(q->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending */
	}
}

struct agent_msg *msgq_pop(struct msgq *q)
{
	struct cds_wfcq_node *n;
	struct agent_msg *m;

	/* Single consumer: the tracker thread; the blocking variant only spins on a producer that
	 * is between its two enqueue stores, a window of a few instructions. */
	n = __cds_wfcq_dequeue_blocking(&q->head, &q->tail);
	if (!n)
		return NULL;
	m = caa_container_of(n, struct agent_msg, node);
	(void)__atomic_load_n(&m->published, __ATOMIC_ACQUIRE);
	return m;
}
