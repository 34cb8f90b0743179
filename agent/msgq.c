/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/msgq.h"

int msgq_init(struct msgq *q)
{
	cds_wfcq_init(&q->head, &q->tail);
	q->enqueued = q->dropped = q->reported = 0;
	q->waiting = 0;
	q->max = MSGQ_DEFAULT_MAX;
	q->overflowing = 0;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return q->efd < 0 ? -errno : 0;
}

void msgq_set_max(struct msgq *q, uint32_t max)
{
	q->max = max ? max : 1;
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

int msgq_push(struct msgq *q, struct agent_msg *m)
{
	uint64_t one = 1;

	/* The bound is checked before counting in: concurrent producers may overshoot it by their
	 * number (two), never more. */
	if (m->kind != MSG_CONN_CLOSED &&
	    __atomic_load_n(&q->waiting, __ATOMIC_RELAXED) >= q->max) {
		uint64_t n = __atomic_add_fetch(&q->dropped, 1, __ATOMIC_RELAXED);

		if (!__atomic_exchange_n(&q->overflowing, 1, __ATOMIC_RELAXED))
			log_warn("event queue full (%u messages waiting: the tracker thread is held "
				 "up, see the libvirt lines above): dropping hook and libvirt events "
				 "until it drains (%" PRIu64 " dropped since start)", q->max, n);
		free(m);
		return -ENOBUFS;
	}
	__atomic_fetch_add(&q->waiting, 1, __ATOMIC_RELAXED);
	/* Pairs with the acquire load in msgq_pop(): the queue's own ordering lives in liburcu,
	 * which sanitizers cannot see; this makes the handover explicit. */
	__atomic_store_n(&m->published, 1, __ATOMIC_RELEASE);
	cds_wfcq_enqueue(&q->head, &q->tail, &m->node);
	__atomic_fetch_add(&q->enqueued, 1, __ATOMIC_RELAXED);
	/* A full counter (2^64-2 pokes) cannot happen; EAGAIN would only mean "already readable". */
	if (write(q->efd, &one, sizeof(one)) < 0) {
		/* nothing to do: the consumer still drains on its timer */
	}
	return 0;
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
	__atomic_fetch_sub(&q->waiting, 1, __ATOMIC_RELAXED);
	return m;
}

uint64_t msgq_overflow_report(struct msgq *q)
{
	uint64_t total, n;

	if (!__atomic_load_n(&q->overflowing, __ATOMIC_RELAXED))
		return 0;
	__atomic_store_n(&q->overflowing, 0, __ATOMIC_RELAXED);
	total = __atomic_load_n(&q->dropped, __ATOMIC_RELAXED);
	n = total - q->reported;
	q->reported = total;
	return n;
}

uint64_t msgq_dropped(struct msgq *q)
{
	return __atomic_load_n(&q->dropped, __ATOMIC_RELAXED);
}

uint32_t msgq_waiting(struct msgq *q)
{
	return __atomic_load_n(&q->waiting, __ATOMIC_RELAXED);
}
