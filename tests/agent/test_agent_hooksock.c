/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hook listener end to end through a real socket: events, admission, bad input, non-root. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/hooksock.h"
#include "agent/msgq.h"
#include "agent/strutil.h"
#include "tests/agent/agent_testutil.h"

/* cmocka's assertions do not tell the compiler they stop the test. */
#define REQUIRE_NONNULL(p) do { if (!(p)) { fail_msg("%s is NULL", #p); return; } } while (0)

struct fx {
	char dir[128];
	char path[200];
	struct msgq q;
	struct hooksock *h;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	tu_tmpdir("hook", f->dir, sizeof(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sub/hook.sock", f->dir);
	assert_int_equal(msgq_init(&f->q), 0);
	assert_int_equal(hooksock_start(f->path, &f->q, &f->h), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char sub[256];

	hooksock_stop(f->h);
	msgq_destroy(&f->q);
	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	tu_rmdir(sub);
	tu_rmdir(f->dir);
	free(f);
	return 0;
}

static struct agent_msg *next_msg(struct fx *f, unsigned timeout_ms)
{
	for (unsigned t = 0; t < timeout_ms; t += 10) {
		struct pollfd p = { .fd = f->q.efd, .events = POLLIN };
		struct agent_msg *m;

		msgq_ack(&f->q);
		m = msgq_pop(&f->q);
		if (m)
			return m;
		poll(&p, 1, 10);
	}
	return NULL;
}

static void test_socket_is_root_only(void **state)
{
	struct fx *f = *state;
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_event_reaches_queue(void **state)
{
	struct fx *f = *state;
	static const uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct wire_event ev;
	struct agent_msg *m;
	struct hooksock_counters c;

	tu_hook_event(&ev, "guest-1", uuid, "migrate", "begin", "-");
	ev.flags |= WIRE_EV_HAS_MEMORY;
	ev.memory_kib = 262144;
	assert_int_equal(tu_hook_send(f->path, &ev, WIRE_TYPE_EVENT, NULL), 0);
	m = next_msg(f, 2000);
	REQUIRE_NONNULL(m);
	assert_int_equal(m->kind, MSG_HOOK);
	assert_true(m->has_uuid);
	assert_memory_equal(m->uuid, uuid, 16);
	assert_string_equal(m->name, "guest-1");
	assert_string_equal(m->hook.op, "migrate");
	assert_string_equal(m->hook.subop, "begin");
	assert_string_equal(m->hook.extra, "-");
	assert_int_equal(m->hook.memory_kib, 262144);
	assert_int_equal(m->hook.hook_pid, getpid());
	assert_true(m->mono_ns > 0);
	free(m);
	hooksock_counters(f->h, &c);
	assert_int_equal(c.messages, 1);
	assert_int_equal(c.refused, 0);
}

static void test_admission_is_answered(void **state)
{
	struct fx *f = *state;
	struct wire_event ev;
	struct wire_reply rep = { 0 };
	struct agent_msg *m;
	struct hooksock_counters c;

	tu_hook_event(&ev, "guest-2", NULL, "migrate", "begin", "-");
	assert_int_equal(tu_hook_send(f->path, &ev, WIRE_TYPE_ADMIT_REQUEST, &rep), 0);
	assert_int_equal(rep.verdict, WIRE_VERDICT_ACCEPT);
	assert_true(strlen(rep.reason) > 0);
	/* The request is an event too: the tracker sees it. */
	m = next_msg(f, 2000);
	REQUIRE_NONNULL(m);
	assert_false(m->has_uuid);
	assert_string_equal(m->name, "guest-2");
	free(m);
	hooksock_counters(f->h, &c);
	assert_int_equal(c.admissions, 1);
}

static int raw_send(const char *path, const void *buf, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = 0;

	str_copy(sa.sun_path, sizeof(sa.sun_path), path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	else if (len && send(fd, buf, len, MSG_NOSIGNAL) < 0)
		r = -errno;
	/* The agent closes once it has dealt with us. */
	if (!r)
		poll(&p, 1, 2000);
	close(fd);
	return r;
}

static void test_garbage_is_counted_not_queued(void **state)
{
	struct fx *f = *state;
	struct hooksock_counters c;
	unsigned char junk[64];
	struct wire_event ev;
	unsigned char buf[WIRE_MSG_MAX];
	ssize_t len;

	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(raw_send(f->path, junk, sizeof(junk)), 0);
	/* A valid message cut short. */
	tu_hook_event(&ev, "guest-3", NULL, "prepare", "begin", "-");
	len = wire_encode_event(&ev, WIRE_TYPE_EVENT, 1, buf, sizeof(buf));
	assert_true(len > 10);
	assert_int_equal(raw_send(f->path, buf, (size_t)len - 3), 0);
	/* A client that connects and says nothing is dropped after the deadline. */
	assert_int_equal(raw_send(f->path, NULL, 0), 0);
	hooksock_counters(f->h, &c);
	assert_int_equal(c.malformed, 3);
	assert_int_equal(c.messages, 0);
	assert_null(next_msg(f, 50));
	/* And the listener still works. */
	assert_int_equal(tu_hook_send(f->path, &ev, WIRE_TYPE_EVENT, NULL), 0);
	free(next_msg(f, 2000));
	hooksock_counters(f->h, &c);
	assert_int_equal(c.messages, 1);
}

static bool probed(void *arg)
{
	struct fx *f = arg;
	struct hooksock_counters c;

	hooksock_counters(f->h, &c);
	return c.probes > 0;
}

/* migtune-hook --selftest connects and closes: a probe, not a malformed message. */
static void test_selftest_probe_is_not_malformed(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hooksock_counters c;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	str_copy(sa.sun_path, sizeof(sa.sun_path), f->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_true(tu_wait(probed, f, 2000));
	hooksock_counters(f->h, &c);
	assert_int_equal(c.probes, 1);
	assert_int_equal(c.malformed, 0);
	assert_int_equal(c.messages, 0);
	assert_null(next_msg(f, 50));
}

static void test_non_root_refused(void **state)
{
	struct fx *f = *state;
	struct hooksock_counters c;
	struct wire_event ev;
	char sub[256];
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip();
	/* Open the file permissions so that only the credential check stands in the way. */
	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	chmod(f->dir, 0755);
	chmod(sub, 0755);
	chmod(f->path, 0666);
	tu_hook_event(&ev, "intruder", NULL, "migrate", "begin", "-");
	pid = fork();
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		int r = tu_hook_send(f->path, &ev, WIRE_TYPE_EVENT, NULL);

		/* The agent may close before the send lands: refused either way. */
		_exit(r == 0 || r == -EPIPE || r == -ECONNRESET ? 0 : 10 + -r);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);    /* could connect ... */
	hooksock_counters(f->h, &c);
	assert_int_equal(c.refused, 1);              /* ... and was refused */
	assert_int_equal(c.messages, 0);
	assert_null(next_msg(f, 50));
}

static void test_second_listener_refused(void **state)
{
	struct fx *f = *state;
	struct hooksock *h2 = NULL;

	/* The socket is alive: a second agent must not steal it. */
	assert_int_equal(hooksock_start(f->path, &f->q, &h2), -EADDRINUSE);
}

static void test_stale_socket_replaced(void **state)
{
	char dir[128], path[200];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct msgq q;
	struct hooksock *h = NULL;
	int fd;

	tu_tmpdir("hstale", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/hook.sock", dir);
	/* A socket file nobody listens on any more (an agent killed with -9). */
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	str_copy(sa.sun_path, sizeof(sa.sun_path), path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(msgq_init(&q), 0);
	assert_int_equal(hooksock_start(path, &q, &h), 0);
	hooksock_stop(h);
	msgq_destroy(&q);
	assert_int_equal(access(path, F_OK), -1);
	tu_rmdir(dir);
}

static const char *g_path;

static void *sender(void *arg)
{
	struct wire_event ev;
	char name[32];

	snprintf(name, sizeof(name), "t%ld", (long)(intptr_t)arg);
	tu_hook_event(&ev, name, NULL, "migrate", "begin", "-");
	for (int i = 0; i < 50; i++)
		if (tu_hook_send(g_path, &ev, WIRE_TYPE_EVENT, NULL) < 0)
			return (void *)1;
	return NULL;
}

static void test_concurrent_hooks_all_delivered(void **state)
{
	struct fx *f = *state;
	pthread_t th[4];
	int got = 0, per[4] = { 0 };
	struct agent_msg *m;

	g_path = f->path;
	for (long i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, sender, (void *)(intptr_t)i);
	for (int i = 0; i < 4; i++) {
		void *rv;

		pthread_join(th[i], &rv);
		assert_null(rv);
	}
	while ((m = next_msg(f, 200))) {
		got++;
		per[m->name[1] - '0']++;
		free(m);
	}
	assert_int_equal(got, 200);
	for (int i = 0; i < 4; i++)
		assert_int_equal(per[i], 50);
}

/*
 * Nothing drains the queue while the tracker thread waits on a hung libvirtd: past its bound a
 * message is dropped and counted (and the first drop logged), not queued without limit.
 */
static void test_full_queue_drops_and_counts(void **state)
{
	struct fx *f = *state;
	struct hooksock_counters c;
	struct wire_event ev;
	struct agent_msg *m;
	int got = 0;

	if (geteuid() != 0)
		skip();
	msgq_set_max(&f->q, 3);
	tu_hook_event(&ev, "guest-q", NULL, "migrate", "begin", "-");
	for (int i = 0; i < 5; i++)
		assert_int_equal(tu_hook_send(f->path, &ev, WIRE_TYPE_EVENT, NULL), 0);
	for (int t = 0; t < 200 && msgq_dropped(&f->q) < 2; t++)
		usleep(10000);
	assert_int_equal(msgq_dropped(&f->q), 2);
	assert_int_equal(msgq_waiting(&f->q), 3);
	hooksock_counters(f->h, &c);
	assert_int_equal(c.messages, 3);
	while ((m = next_msg(f, 100))) {
		got++;
		free(m);
	}
	assert_int_equal(got, 3);
	assert_int_equal(msgq_waiting(&f->q), 0);
	/* Reported once when drained, then the next overflow counts anew. */
	assert_int_equal(msgq_overflow_report(&f->q), 2);
	assert_int_equal(msgq_overflow_report(&f->q), 0);
	/* The close notice of the libvirt connection is never dropped. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(msgq_push(&f->q, msgq_msg_new(MSG_HOOK)), 0);
	assert_int_equal(msgq_push(&f->q, msgq_msg_new(MSG_HOOK)), -ENOBUFS);
	assert_int_equal(msgq_push(&f->q, msgq_msg_new(MSG_CONN_CLOSED)), 0);
	assert_int_equal(msgq_dropped(&f->q), 3);
}

/* A connection that sends nothing (a hung hook) does not hold up the next hook's message. */
static void test_silent_hook_delays_no_other(void **state)
{
	struct fx *f = *state;
	struct pollfd p;
	struct wire_event ev;
	struct agent_msg *m;
	int silent;

	if (geteuid() != 0)
		skip();
	silent = tu_connect_unix(f->path, SOCK_SEQPACKET);
	assert_true(silent >= 0);
	tu_hook_event(&ev, "guest-next", NULL, "migrate", "begin", "-");
	assert_int_equal(tu_hook_send(f->path, &ev, WIRE_TYPE_EVENT, NULL), 0);
	m = next_msg(f, 2000);
	REQUIRE_NONNULL(m);
	assert_string_equal(m->name, "guest-next");
	free(m);
	/* Delivered while the silent one still waits for its own deadline. */
	p = (struct pollfd){ .fd = silent, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	/* Which then ends it. */
	assert_int_equal(poll(&p, 1, 2000), 1);
	close(silent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_is_root_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_reaches_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admission_is_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_is_counted_not_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selftest_probe_is_not_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_root_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_listener_refused, setup, teardown),
		cmocka_unit_test(test_stale_socket_replaced),
		cmocka_unit_test_setup_teardown(test_concurrent_hooks_all_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_queue_drops_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_hook_delays_no_other, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
