/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/strutil.h"
#include "agent/hooksock.h"
#include "agent/sockutil.h"
#include "shm/ring.h"

/* A hook sends its message right after connecting; one that has not within this time is dropped
 * so that it cannot hold up the others. */
#define HOOK_RECV_DEADLINE_MS 200

struct hooksock {
	struct sock_server srv;
	struct msgq *q;
	struct hooksock_counters c;   /* written by the thread, read with atomics */
};

static void inc(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static void handle_conn(struct hooksock *h, int cfd)
{
	unsigned char buf[WIRE_MSG_MAX + 1];
	struct pollfd p = { .fd = cfd, .events = POLLIN };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct wire_msg msg;
	struct agent_msg *m;
	ssize_t n;

	inc(&h->c.accepted);
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.uid != 0) {
		/* libvirtd runs its hooks as root; anyone else is not a hook. */
		inc(&h->c.refused);
		return;
	}
	if (poll(&p, 1, HOOK_RECV_DEADLINE_MS) <= 0) {
		inc(&h->c.malformed);
		return;
	}
	n = recv(cfd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0) {
		/* Closed without a message: a connection test (migtune-hook --selftest). */
		inc(&h->c.probes);
		return;
	}
	if (n < 0 || n > WIRE_MSG_MAX || wire_decode(buf, (size_t)n, &msg) < 0 ||
	    (msg.type != WIRE_TYPE_EVENT && msg.type != WIRE_TYPE_ADMIT_REQUEST)) {
		inc(&h->c.malformed);
		return;
	}
	if (msg.type == WIRE_TYPE_ADMIT_REQUEST) {
		struct wire_reply rep = { .verdict = WIRE_VERDICT_ACCEPT };
		unsigned char out[WIRE_MSG_MAX];
		ssize_t len;

		/* Answer before queueing: the hook's deadline is short and libvirtd waits on it. */
		str_copy(rep.reason, sizeof(rep.reason), "accepted: no admission policy");
		len = wire_encode_reply(&rep, msg.request_id, out, sizeof(out));
		if (len > 0 && send(cfd, out, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) == len)
			inc(&h->c.admissions);
	}
	m = msgq_msg_new(MSG_HOOK);
	if (!m)
		return;
	m->mono_ns = ring_now_mono_ns();
	m->hook = msg.event;
	m->has_uuid = (msg.event.flags & WIRE_EV_HAS_UUID) != 0;
	memcpy(m->uuid, msg.event.uuid, 16);
	str_copy(m->name, sizeof(m->name), msg.event.domain);
	msgq_push(h->q, m);
	inc(&h->c.messages);
}

static void serve(void *arg, int cfd)
{
	handle_conn(arg, cfd);
}

int hooksock_start(const char *path, struct msgq *q, struct hooksock **ret)
{
	struct hooksock *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	h->q = q;
	r = sock_server_start(&h->srv, path, SOCK_SEQPACKET, 0600, (gid_t)-1, serve, h, false);
	if (r < 0) {
		free(h);
		return r;
	}
	*ret = h;
	return 0;
}

void hooksock_stop(struct hooksock *h)
{
	if (!h)
		return;
	sock_server_stop(&h->srv);
	free(h);
}

void hooksock_counters(struct hooksock *h, struct hooksock_counters *ret)
{
	ret->accepted = __atomic_load_n(&h->c.accepted, __ATOMIC_RELAXED);
	ret->messages = __atomic_load_n(&h->c.messages, __ATOMIC_RELAXED);
	ret->refused = __atomic_load_n(&h->c.refused, __ATOMIC_RELAXED);
	ret->malformed = __atomic_load_n(&h->c.malformed, __ATOMIC_RELAXED);
	ret->probes = __atomic_load_n(&h->c.probes, __ATOMIC_RELAXED);
	ret->admissions = __atomic_load_n(&h->c.admissions, __ATOMIC_RELAXED);
}
