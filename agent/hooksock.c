/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
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
 * (libvirtd waits on the hook, which waits on nothing but this). */
#define HOOK_REQUEST_MS 200
#define HOOK_REPLY_MS 200

struct hooksock {
	struct sock_server srv;
	struct msgq *q;
	struct hooksock_counters c;   /* written by the thread, read with atomics */
};

static void inc(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static int admit(void *arg, int cfd, char **ret_reply, size_t *ret_len)
{
	struct hooksock *h = arg;
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	inc(&h->c.accepted);
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.uid != 0) {
		/* libvirtd runs its hooks as root; anyone else is not a hook. */
		inc(&h->c.refused);
		return -EACCES;
	}
	return 0;
}

static char *respond(void *arg, const char *buf, size_t n, int end, size_t *ret_len)
{
	struct hooksock *h = arg;
	struct wire_msg msg;
	struct agent_msg *m;
	char *out = NULL;

	if (!n && end == SOCK_END_CLOSED) {
		/* Closed without a message: a connection test (migtune-hook --selftest). */
		inc(&h->c.probes);
		return NULL;
	}
	if (!n || n > WIRE_MSG_MAX || wire_decode((const unsigned char *)buf, n, &msg) < 0 ||
	    (msg.type != WIRE_TYPE_EVENT && msg.type != WIRE_TYPE_ADMIT_REQUEST)) {
		inc(&h->c.malformed);
		return NULL;
	}
	if (msg.type == WIRE_TYPE_ADMIT_REQUEST) {
		struct wire_reply rep = { .verdict = WIRE_VERDICT_ACCEPT };
		ssize_t len;

		/* Answered before queueing: the hook's deadline is short and libvirtd waits on it. */
		out = malloc(WIRE_MSG_MAX);
		str_copy(rep.reason, sizeof(rep.reason), "accepted: no admission policy");
		len = out ? wire_encode_reply(&rep, msg.request_id, (unsigned char *)out,
					      WIRE_MSG_MAX) : -1;
		if (len > 0) {
			*ret_len = (size_t)len;
			inc(&h->c.admissions);
		} else {
			free(out);
			out = NULL;
		}
	}
	m = msgq_msg_new(MSG_HOOK);
	if (!m)
		return out;
	m->mono_ns = ring_now_mono_ns();
	m->hook = msg.event;
	m->has_uuid = (msg.event.flags & WIRE_EV_HAS_UUID) != 0;
	memcpy(m->uuid, msg.event.uuid, 16);
	str_copy(m->name, sizeof(m->name), msg.event.domain);
	/* A full queue (the tracker thread held up by libvirtd) drops it and counts it there. */
	if (msgq_push(h->q, m) == 0)
		inc(&h->c.messages);
	return out;
}

static const struct sock_server_ops hook_ops = {
	.request_max = WIRE_MSG_MAX,
	.request_ms = HOOK_REQUEST_MS,
	.reply_ms = HOOK_REPLY_MS,
	.admit = admit,
	.complete = NULL,               /* one datagram is one message */
	.respond = respond,
};

int hooksock_start(const char *path, struct msgq *q, struct hooksock **ret)
{
	struct hooksock *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	h->q = q;
	r = sock_server_start(&h->srv, path, SOCK_SEQPACKET, 0600, (gid_t)-1, &hook_ops, h, false);
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
