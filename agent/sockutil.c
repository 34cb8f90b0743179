/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "agent/sockutil.h"

static int mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int sock_listen_unix(const char *path, int type, mode_t mode, gid_t gid, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = mkdir_parent(path);
	if (r < 0)
		return r;
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;     /* never remove something that is not ours */
		probe = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return -errno;
		r = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
		close(probe);
		if (r == 0)
			return -EADDRINUSE;
		unlink(path);
	}
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Created with no access for anyone, then opened to exactly what mode says. */
	{
		mode_t old = umask(0777);

		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		umask(old);
	}
	if (r < 0 || (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) ||
	    chmod(path, mode) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

bool sock_peer_allowed(pid_t pid, uid_t uid, gid_t peer_gid, gid_t allowed_gid)
{
	char path[64], line[4096];
	bool ok = false;
	FILE *f;

	if (uid == 0)
		return true;
	if (allowed_gid == (gid_t)-1)
		return false;
	if (peer_gid == allowed_gid)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!ok && fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (p = line + 7;; p = end) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			if ((gid_t)g == allowed_gid)
				ok = true;
		}
	}
	fclose(f);
	return ok;
}

/* ---- the non-blocking server ------------------------------------------------------------ */

enum conn_state { CONN_FREE, CONN_READING, CONN_WRITING };

struct sock_conn {
	int fd;
	int state;              /* enum conn_state */
	uint64_t deadline_ns;   /* of the current state */
	char *in;               /* request_max + 1 bytes */
	size_t in_len;
	char *out;
	size_t out_len, out_off;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void conn_close(struct sock_conn *c)
{
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->state = CONN_FREE;
}

static void conn_reply(struct sock_server *s, struct sock_conn *c, char *out, size_t len)
{
	if (!out || !len) {
		free(out);
		conn_close(c);
		return;
	}
	c->out = out;
	c->out_len = len;
	c->out_off = 0;
	c->state = CONN_WRITING;
	c->deadline_ns = mono_ns() + (uint64_t)s->ops->reply_ms * 1000000;
}

static void conn_respond(struct sock_server *s, struct sock_conn *c, int end)
{
	size_t len = 0;
	char *out = s->ops->respond(s->arg, c->in, c->in_len, end, &len);

	conn_reply(s, c, out, len);
}

static void conn_accept(struct sock_server *s)
{
	struct sock_conn *c = NULL;
	char *out = NULL;
	size_t len = 0;
	int cfd;

	cfd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return;
	for (int i = 0; i < SOCK_SERVER_MAX_CONNS && !c; i++)
		if (s->conns[i].state == CONN_FREE)
			c = &s->conns[i];
	if (!c) {
		__atomic_fetch_add(&s->busy, 1, __ATOMIC_RELAXED);
		if (s->ops->busy_reply && send(cfd, s->ops->busy_reply, strlen(s->ops->busy_reply),
					       MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* it learns from the closed connection */
		}
		close(cfd);
		return;
	}
	c->fd = cfd;
	c->in_len = 0;
	c->state = CONN_READING;
	c->deadline_ns = mono_ns() + (uint64_t)s->ops->request_ms * 1000000;
	if (s->ops->admit(s->arg, cfd, &out, &len) < 0)
		conn_reply(s, c, out, len);
}

static void conn_read(struct sock_server *s, struct sock_conn *c)
{
	size_t room = s->ops->request_max + 1 - c->in_len;
	ssize_t n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* the peer ended its request (or broke it) */
		conn_respond(s, c, n == 0 ? SOCK_END_CLOSED : SOCK_END_ERROR);
		return;
	}
	c->in_len += (size_t)n;
	if (!s->ops->complete || s->ops->complete(c->in, c->in_len) ||
	    c->in_len > s->ops->request_max)
		conn_respond(s, c, SOCK_END_WHOLE);
}

static void conn_write(struct sock_conn *c)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->out_off += (size_t)n;
	if (c->out_off == c->out_len)
		conn_close(c);
}

static void *server_thread(void *arg)
{
	struct sock_server *s = arg;
	struct pollfd p[2 + SOCK_SERVER_MAX_CONNS];
	int slot[2 + SOCK_SERVER_MAX_CONNS];

	if (s->rcu_thread)
		urcu_memb_register_thread();
	for (;;) {
		uint64_t now = mono_ns(), next = UINT64_MAX;
		int np = 2, timeout = -1;

		p[0] = (struct pollfd){ .fd = s->fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
		for (int i = 0; i < SOCK_SERVER_MAX_CONNS; i++) {
			struct sock_conn *c = &s->conns[i];

			if (c->state == CONN_FREE)
				continue;
			if (now >= c->deadline_ns) {
				/* A request not whole in time is answered as it is; a reply not
				 * taken in time is dropped. */
				if (c->state == CONN_READING)
					conn_respond(s, c, SOCK_END_TIMEOUT);
				else
					conn_close(c);
				if (c->state == CONN_FREE)
					continue;
			}
			if (c->deadline_ns < next)
				next = c->deadline_ns;
			p[np] = (struct pollfd){ .fd = c->fd,
				.events = c->state == CONN_READING ? POLLIN : POLLOUT };
			slot[np++] = i;
		}
		if (next != UINT64_MAX)
			timeout = next <= now ? 0 : (int)((next - now + 999999) / 1000000);
		if (poll(p, (nfds_t)np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		for (int k = 2; k < np; k++) {
			struct sock_conn *c = &s->conns[slot[k]];

			if (!p[k].revents)
				continue;
			if (c->state == CONN_READING)
				conn_read(s, c);
			else if (c->state == CONN_WRITING)
				conn_write(c);
		}
		if (p[0].revents)
			conn_accept(s);
	}
	if (s->rcu_thread)
		urcu_memb_unregister_thread();
	return NULL;
}

int sock_server_start(struct sock_server *s, const char *path, int type, mode_t mode, gid_t gid,
		      const struct sock_server_ops *ops, void *arg, bool rcu_thread)
{
	int r;

	if (strlen(path) >= sizeof(s->path))
		return -ENAMETOOLONG;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->ops = ops;
	s->arg = arg;
	s->type = type;
	s->rcu_thread = rcu_thread;
	s->busy = 0;
	s->conns = calloc(SOCK_SERVER_MAX_CONNS, sizeof(*s->conns));
	if (!s->conns)
		return -ENOMEM;
	for (int i = 0; i < SOCK_SERVER_MAX_CONNS; i++) {
		s->conns[i].fd = -1;
		s->conns[i].in = malloc(ops->request_max + 1);
		if (!s->conns[i].in) {
			r = -ENOMEM;
			goto fail_conns;
		}
	}
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->stop_fd < 0) {
		r = -errno;
		goto fail_conns;
	}
	r = sock_listen_unix(path, type, mode, gid, &s->fd);
	if (r < 0) {
		close(s->stop_fd);
		goto fail_conns;
	}
	r = -pthread_create(&s->thread, NULL, server_thread, s);
	if (r < 0) {
		close(s->fd);
		unlink(s->path);
		close(s->stop_fd);
		goto fail_conns;
	}
	return 0;
fail_conns:
	for (int i = 0; i < SOCK_SERVER_MAX_CONNS; i++)
		free(s->conns[i].in);
	free(s->conns);
	s->conns = NULL;
	return r;
}

void sock_server_stop(struct sock_server *s)
{
	uint64_t one = 1;

	/* cannot fail on a fresh eventfd; the join below would hang if it did, so say so */
	if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
		abort();
	pthread_join(s->thread, NULL);
	for (int i = 0; i < SOCK_SERVER_MAX_CONNS; i++) {
		if (s->conns[i].state != CONN_FREE)
			conn_close(&s->conns[i]);
		free(s->conns[i].in);
	}
	free(s->conns);
	s->conns = NULL;
	close(s->fd);
	unlink(s->path);
	close(s->stop_fd);
}
