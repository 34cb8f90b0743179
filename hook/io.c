/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io.c — stdin and the agent socket.  Nothing here may block for longer than the caller asked:
 * libvirtd waits for the hook with no timeout, so a hook stuck on a socket freezes every domain
 * operation on the host.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"

ssize_t hook_read_all(int fd, char *buf, size_t keep, uint64_t *ret_total_bytes)
{
	char sink[16384];
	size_t kept = 0;
	uint64_t total = 0;

	for (;;) {
		char *dst = kept < keep ? buf + kept : sink;
		size_t room = kept < keep ? keep - kept : sizeof(sink);
		ssize_t n = read(fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			*ret_total_bytes = total;
			return r;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (dst != sink)
			kept += (size_t)n;
	}
	*ret_total_bytes = total;
	return (ssize_t)kept;
}

int hook_send(const char *socket_path, const void *msg, size_t len, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t plen = strlen(socket_path);
	int fd, r;

	if (plen == 0 || plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, socket_path, plen + 1);

	/* SOCK_SEQPACKET rather than SOCK_DGRAM: the connection gives the agent the sender's
	 * credentials (SO_PEERCRED) to trust only root's hooks, gives the admission reply a way back
	 * without binding a client address, and keeps message boundaries.  On AF_UNIX a non-blocking
	 * connect never waits: it completes or fails at once (EAGAIN when the backlog is full). */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	for (;;) {
		ssize_t n = send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		if ((size_t)n != len) {
			close(fd);
			return -EMSGSIZE;
		}
		break;
	}
	*ret_fd = fd;
	return 0;
}

int hook_await_reply(int fd, uint32_t request_id, unsigned timeout_ms, struct wire_reply *ret)
{
	int64_t deadline = hook_now_ns(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000000;
	uint8_t buf[WIRE_MSG_MAX + 1];
	struct wire_msg m;

	for (;;) {
		int64_t left_ns = deadline - hook_now_ns(CLOCK_MONOTONIC);
		if (left_ns <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		/* Round up so that a sub-millisecond remainder still waits rather than spins. */
		int r = poll(&p, 1, (int)((left_ns + 999999) / 1000000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		/* One byte more than the largest message so that an oversized one is detected rather
		 * than silently cut by SOCK_SEQPACKET. */
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		r = wire_decode(buf, (size_t)n, &m);
		if (r < 0)
			return r;
		if (m.type != WIRE_TYPE_ADMIT_REPLY || m.request_id != request_id)
			return -EPROTO;
		*ret = m.reply;
		return 0;
	}
}
