/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/views/runprog.h"

void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

static void append(char **buf, size_t *len, const char *p, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	assert_non_null(*buf);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* What a child that could not become the program reports through its close-on-exec pipe. */
struct start_failure {
	char stage[8];          /* "setgid", "setuid", "exec" */
	int err;
};

static void child_fail(int fd, const char *stage)
{
	struct start_failure sf = { .err = errno };
	snprintf(sf.stage, sizeof(sf.stage), "%s", stage);
	if (write(fd, &sf, sizeof(sf)) < 0)
		_exit(126);
	_exit(127);
}

void run_as(struct run *r, uid_t uid, gid_t gid, char *const argv[])
{
	int po[2], pe[2], ps[2];

	memset(r, 0, sizeof(*r));
	append(&r->out, &r->out_len, "", 0);
	append(&r->err, &r->err_len, "", 0);
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	assert_int_equal(pipe2(ps, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		close(ps[0]);
		if (uid != (uid_t)-1) {
			if (setgroups(0, NULL) < 0 || setgid(gid) < 0)
				child_fail(ps[1], "setgid");
			if (setuid(uid) < 0)
				child_fail(ps[1], "setuid");
		}
		execv(argv[0], argv);
		child_fail(ps[1], "exec");
	}
	close(po[1]);
	close(pe[1]);
	close(ps[1]);
	struct pollfd pf[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
	int open_fds = 2;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (open_fds > 0) {
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > RUN_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(pf, 2, 200) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP)))
				continue;
			char buf[65536];
			ssize_t k = read(pf[i].fd, buf, sizeof(buf));
			if (k > 0) {
				if (i == 0)
					append(&r->out, &r->out_len, buf, (size_t)k);
				else
					append(&r->err, &r->err_len, buf, (size_t)k);
			} else {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	int st;
	struct rusage ru;
	assert_int_equal(wait4(pid, &st, 0, &ru), pid);
	struct start_failure sf;
	ssize_t k = read(ps[0], &sf, sizeof(sf));
	close(ps[0]);
	if (k == (ssize_t)sizeof(sf)) {
		sf.stage[sizeof(sf.stage) - 1] = '\0';
		fail_msg("could not run %s%s: %s failed: %s (%s)", argv[0],
			 uid != (uid_t)-1 ? " as another user" : "", sf.stage, strerror(sf.err),
			 sf.err == EACCES ? "is the checkout in a directory that user cannot reach? "
					    "run a copy made with exe_copy_reachable()" : "see errno");
	}
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->maxrss_kib = ru.ru_maxrss;
}

const char *run_line_with(const char *s, const char *word, char *buf, size_t len)
{
	const char *p = strstr(s, word), *e;

	if (!p)
		return NULL;
	while (p > s && p[-1] != '\n')
		p--;
	e = strchr(p, '\n');
	snprintf(buf, len, "%.*s", (int)(e ? (size_t)(e - p) : strlen(p)), p);
	return buf;
}
