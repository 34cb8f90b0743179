/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unix-socket helpers shared by the hook listener and the control socket. */
#ifndef MIGTUNE_AGENT_SOCKUTIL_H
#define MIGTUNE_AGENT_SOCKUTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/*
 * Binds and listens on a unix socket of type at path, creating the parent directory (0755).  A
 * stale socket file left by a dead agent is replaced; one that still answers is not (-EADDRINUSE).
 * The socket file gets mode and, unless gid is (gid_t)-1, group gid.
 */
int sock_listen_unix(const char *path, int type, mode_t mode, gid_t gid, int *ret_fd);

/* Whether the peer process (pid, its primary gid) is root or a member of gid.  Supplementary
 * groups are read from /proc/PID/status because SO_PEERCRED carries only the primary one. */
bool sock_peer_allowed(pid_t pid, uid_t uid, gid_t peer_gid, gid_t allowed_gid);

/*
 * A listening unix socket served by a thread of its own that never waits on one client: every
 * connection is read, answered and closed by one poll loop, each within deadlines of its own, so
 * a slow or silent client delays no other.  A connection goes through:
 *
 *   admit (credentials) -> its request, until complete() says it is whole, the peer ends it,
 *   request_max bytes arrived or request_ms passed since accept -> respond() -> its reply, until
 *   sent or reply_ms passed -> closed.
 *
 * The hook listener and the control socket differ only in their ops.
 */
#define SOCK_SERVER_MAX_CONNS 64   /* in progress at once; more are answered busy_reply */

/* How a request ended. */
enum sock_end {
	SOCK_END_WHOLE,            /* complete(), a datagram, or request_max bytes */
	SOCK_END_CLOSED,           /* the peer closed (or shut down) its side */
	SOCK_END_TIMEOUT,          /* request_ms passed */
	SOCK_END_ERROR,            /* reading failed */
};

struct sock_server_ops {
	size_t request_max;        /* bytes of a request at most */
	uint32_t request_ms;       /* the whole request, from accept */
	uint32_t reply_ms;         /* the whole reply, from the request */
	/* After accept: 0 to read a request, or negative to refuse, sending *ret_reply (malloc'd
	 * *ret_len bytes; NULL: nothing) first. */
	int (*admit)(void *arg, int cfd, char **ret_reply, size_t *ret_len);
	/* Whether buf[len] is a whole request; NULL: every message is one (SOCK_SEQPACKET). */
	bool (*complete)(const char *buf, size_t len);
	/* The reply to buf[len] (len may be 0: nothing came; len > request_max: a datagram was
	 * longer), which ended as end says; malloc'd, *ret_len bytes, or NULL for none. */
	char *(*respond)(void *arg, const char *buf, size_t len, int end, size_t *ret_len);
	const char *busy_reply;    /* sent to a connection beyond SOCK_SERVER_MAX_CONNS (or NULL) */
};

struct sock_conn;

struct sock_server {
	int fd;
	int stop_fd;
	int type;
	char path[108];
	pthread_t thread;
	const struct sock_server_ops *ops;
	void *arg;
	bool rcu_thread;        /* the thread reads RCU-protected data: register it with urcu-memb */
	struct sock_conn *conns;/* SOCK_SERVER_MAX_CONNS */
	uint64_t busy;          /* atomic: connections turned away because all slots were taken */
};

/* Listens on path (see sock_listen_unix) and starts the thread; -errno on failure, with nothing
 * left behind. */
int sock_server_start(struct sock_server *s, const char *path, int type, mode_t mode, gid_t gid,
		      const struct sock_server_ops *ops, void *arg, bool rcu_thread);
/* Stops the thread, closes every connection and the socket, and removes its file. */
void sock_server_stop(struct sock_server *s);

#endif
