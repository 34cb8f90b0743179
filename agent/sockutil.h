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
 * A listening unix socket served by a thread of its own: connections are accepted one at a time
 * and handed to serve(), which must not keep the descriptor (it is closed after serve returns).
 * The hook listener and the control socket differ only in serve().
 */
struct sock_server {
	int fd;
	int stop_fd;
	char path[108];
	pthread_t thread;
	void (*serve)(void *arg, int cfd);
	void *arg;
	bool rcu_thread;        /* the thread reads RCU-protected data: register it with urcu-memb */
};

/* Listens on path (see sock_listen_unix) and starts the thread; -errno on failure, with nothing
 * left behind. */
int sock_server_start(struct sock_server *s, const char *path, int type, mode_t mode, gid_t gid,
		      void (*serve)(void *arg, int cfd), void *arg, bool rcu_thread);
/* Stops the thread, closes the socket and removes its file. */
void sock_server_stop(struct sock_server *s);

#endif
