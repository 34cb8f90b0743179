/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unix-socket helpers shared by the hook listener and the control socket. */
#ifndef MIGTUNE_AGENT_SOCKUTIL_H
#define MIGTUNE_AGENT_SOCKUTIL_H

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

#endif
