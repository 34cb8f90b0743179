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

static void *server_thread(void *arg)
{
	struct sock_server *s = arg;

	if (s->rcu_thread)
		urcu_memb_register_thread();
	for (;;) {
		struct pollfd p[2] = { { .fd = s->fd, .events = POLLIN },
				       { .fd = s->stop_fd, .events = POLLIN } };
		int cfd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		cfd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		s->serve(s->arg, cfd);
		close(cfd);
	}
	if (s->rcu_thread)
		urcu_memb_unregister_thread();
	return NULL;
}

int sock_server_start(struct sock_server *s, const char *path, int type, mode_t mode, gid_t gid,
		      void (*serve)(void *arg, int cfd), void *arg, bool rcu_thread)
{
	int r;

	if (strlen(path) >= sizeof(s->path))
		return -ENAMETOOLONG;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->serve = serve;
	s->arg = arg;
	s->rcu_thread = rcu_thread;
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->stop_fd < 0)
		return -errno;
	r = sock_listen_unix(path, type, mode, gid, &s->fd);
	if (r < 0) {
		close(s->stop_fd);
		return r;
	}
	r = -pthread_create(&s->thread, NULL, server_thread, s);
	if (r < 0) {
		close(s->fd);
		unlink(s->path);
		close(s->stop_fd);
		return r;
	}
	return 0;
}

void sock_server_stop(struct sock_server *s)
{
	uint64_t one = 1;

	/* cannot fail on a fresh eventfd; the join below would hang if it did, so say so */
	if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
		abort();
	pthread_join(s->thread, NULL);
	close(s->fd);
	unlink(s->path);
	close(s->stop_fd);
}
