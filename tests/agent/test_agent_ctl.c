/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket: status JSON, and who may ask (root, the configured group, nobody else). */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <urcu/urcu-memb.h>

#include "agent/ctl.h"
#include "agent/ctl_request.h"
#include "agent/jobstats.h"
#include "agent/tracker.h"
#include "tests/agent/agent_testutil.h"

#define TEST_GID 4242   /* the "ctl_group" of these tests; no name needed */

struct fx {
	char ring[64], dir[128], path[200];
	struct ring_writer *w;
	struct tracker *t;
	struct ctl *c;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ring_create_opts o = { .slot_count = 1024, .domain_slots = 16, .gid = (gid_t)-1 };
	struct tracker_opts to = { 0 };

	tu_ring_name("ctl", f->ring, sizeof(f->ring));
	tu_tmpdir("ctl", f->dir, sizeof(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ctl.sock", f->dir);
	o.name = f->ring;
	assert_int_equal(ring_writer_open(&o, &f->w), 0);
	to.ring = f->w;
	to.policy = "none";
	assert_int_equal(tracker_new(&to, &f->t), 0);
	assert_int_equal(ctl_start(f->path, TEST_GID, f->t, NULL, NULL, &f->c), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ctl_stop(f->c);
	tracker_free(f->t, NULL);
	ring_writer_close(f->w, true);
	tu_rmdir(f->dir);
	free(f);
	return 0;
}

static void test_socket_mode_and_group(void **state)
{
	struct fx *f = *state;
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, TEST_GID);
}

static void test_status_lists_domains(void **state)
{
	struct fx *f = *state;
	static const uint8_t uuid[16] = { 0x12, 0x34 };
	struct tracker_domain *d;
	struct ring_sample s;
	virTypedParameterPtr p;
	int n;
	char buf[16384];
	struct json_object *root, *doms, *dom, *v;

	d = tracker_begin(f->t, uuid, "web-1", RING_DIR_OUT, ring_now_mono_ns());
	assert_int_equal(tu_job_params(1500, 2, 77000000, 20000000, 5000, 4900, &p, &n), 0);
	jobstats_to_sample(VIR_DOMAIN_JOB_UNBOUNDED, p, n, &s);
	virTypedParamsFree(p, n);
	tracker_ingest_sample(f->t, d, true, &s, NULL, ring_now_mono_ns());

	assert_int_equal(tu_ctl_request(f->path, "status", buf, sizeof(buf)), 0);
	root = json_tokener_parse(buf);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "domains", &doms));
	assert_int_equal(json_object_array_length(doms), 1);
	dom = json_object_array_get_idx(doms, 0);
	assert_true(json_object_object_get_ex(dom, "name", &v));
	assert_string_equal(json_object_get_string(v), "web-1");
	assert_true(json_object_object_get_ex(dom, "direction", &v));
	assert_string_equal(json_object_get_string(v), ring_direction_name(RING_DIR_OUT));
	assert_true(json_object_object_get_ex(dom, "iteration", &v));
	assert_int_equal(json_object_get_int64(v), 2);
	assert_true(json_object_object_get_ex(dom, "data_remaining_bytes", &v));
	assert_int_equal(json_object_get_int64(v), 77000000);
	assert_true(json_object_object_get_ex(dom, "active", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(root, "counters", &v));
	json_object_put(root);

	assert_int_equal(tu_ctl_request(f->path, "ping", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"ok\":true}\n");
	assert_int_equal(tu_ctl_request(f->path, "reboot", buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "\"error\":\"unknown request"));
}

#define DEC(lit) ctl_request_decode(lit, sizeof(lit) - 1)

/* The request line: exactly one known word, nothing smuggled after a NUL, bounded length. */
static void test_request_decoding(void **state)
{
	struct fx *f = *state;
	char longline[CTL_REQUEST_MAX + 40], buf[4096];

	assert_int_equal(DEC("status\n"), CTL_REQ_STATUS);
	assert_int_equal(DEC("status\r\nping\n"), CTL_REQ_STATUS);
	assert_int_equal(DEC("ping"), CTL_REQ_PING);
	assert_int_equal(DEC("status\0ping\n"), -EBADMSG);
	assert_int_equal(DEC("stat\tus\n"), -EBADMSG);
	assert_int_equal(DEC("\n"), -EBADMSG);
	assert_int_equal(DEC(""), -EBADMSG);
	assert_int_equal(DEC("statu"), -ENOENT);
	assert_int_equal(DEC("statusx\n"), -ENOENT);
	assert_int_equal(DEC(" status\n"), -ENOENT);
	memset(longline, 'a', sizeof(longline));
	assert_int_equal(ctl_request_decode(longline, CTL_REQUEST_MAX), -EMSGSIZE);
	assert_int_equal(ctl_request_decode(longline, CTL_REQUEST_MAX - 1), -ENOENT);

	/* Through the socket: an over-long line is answered, not truncated into a request. */
	memcpy(longline, "status", 6);
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(tu_ctl_request(f->path, longline, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "\"error\":\"request too long"));
	assert_int_equal(tu_ctl_request(f->path, "ping\r", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"ok\":true}\n");
}

/* Runs "status" as uid/gid with supplementary groups; returns what the agent answered. */
static void ask_as(struct fx *f, uid_t uid, gid_t gid, gid_t extra, char *ret, size_t len)
{
	int pfd[2];
	pid_t pid;
	ssize_t n;
	size_t off = 0;
	int status;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		char buf[16384] = "";

		close(pfd[0]);
		if (setgroups(extra != (gid_t)-1 ? 1 : 0, &extra) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0)
			_exit(2);
		if (tu_ctl_request(f->path, "status", buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "connect failed");
		if (write(pfd[1], buf, strlen(buf)) < 0)
			_exit(3);
		_exit(0);
	}
	close(pfd[1]);
	while (off < len - 1 && (n = read(pfd[0], ret + off, len - 1 - off)) > 0)
		off += (size_t)n;
	ret[off] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_peer_credentials(void **state)
{
	struct fx *f = *state;
	char buf[16384];

	if (geteuid() != 0)
		skip();
	/* Let everyone reach the socket so that the credential check alone decides. */
	chmod(f->dir, 0755);
	chmod(f->path, 0666);

	ask_as(f, 65534, 65534, (gid_t)-1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"error\":\"permission denied"));
	assert_int_equal(ctl_refused(f->c), 1);

	/* Primary group. */
	ask_as(f, 65534, TEST_GID, (gid_t)-1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"domains\""));
	/* Supplementary group only (SO_PEERCRED does not carry it: /proc is read). */
	ask_as(f, 65534, 65534, TEST_GID, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"domains\""));
	assert_int_equal(ctl_refused(f->c), 1);
}

static void test_no_group_means_root_only(void **state)
{
	char dir[128], path[200], buf[4096];
	struct fx f2 = { 0 };
	struct stat st;

	if (geteuid() != 0)
		skip();
	tu_tmpdir("ctl2", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	memcpy(f2.path, path, sizeof(path));
	{
		char ring[64];
		struct ring_create_opts o = { .slot_count = 1024, .domain_slots = 16, .gid = (gid_t)-1 };
		struct tracker_opts to = { 0 };

		tu_ring_name("ctl2", ring, sizeof(ring));
		o.name = ring;
		assert_int_equal(ring_writer_open(&o, &f2.w), 0);
		to.ring = f2.w;
		assert_int_equal(tracker_new(&to, &f2.t), 0);
		assert_int_equal(ctl_start(path, (gid_t)-1, f2.t, NULL, NULL, &f2.c), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		chmod(dir, 0755);
		chmod(path, 0666);
		ask_as(&f2, 65534, TEST_GID, TEST_GID, buf, sizeof(buf));
		if (!strstr(buf, "permission denied"))
			fail_msg("got '%s'", buf);
		ctl_stop(f2.c);
		tracker_free(f2.t, NULL);
		ring_writer_close(f2.w, true);
	}
	tu_rmdir(dir);
}

/* Whether fd has received anything or its end (without waiting). */
static bool answered(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/*
 * One thread serves every client: a client that sends its request slowly, or never, used to hold
 * it for a second per read (a byte every 0.9 s held it for minutes) and every other client
 * waited.  Now each connection has its own deadline for the whole request and no one waits.
 */
static void test_slow_clients_delay_no_one(void **state)
{
	struct fx *f = *state;
	int silent[4], trickler;
	char buf[4096];
	uint64_t t0 = ring_now_mono_ns(), closed_ns = 0;
	ssize_t n;

	for (int i = 0; i < 4; i++) {
		silent[i] = tu_connect_unix(f->path, SOCK_STREAM);
		assert_true(silent[i] >= 0);
		assert_int_equal(send(silent[i], "sta", 3, MSG_NOSIGNAL), 3);
	}
	trickler = tu_connect_unix(f->path, SOCK_STREAM);
	assert_true(trickler >= 0);
	assert_int_equal(send(trickler, "x", 1, MSG_NOSIGNAL), 1);

	/* A client behind them is answered at once, before any of them. */
	assert_int_equal(tu_ctl_request(f->path, "ping", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"ok\":true}\n");
	for (int i = 0; i < 4; i++)
		assert_false(answered(silent[i]));
	assert_false(answered(trickler));

	/* The trickler keeps sending a byte every 200 ms, never a newline: its request time is
	 * over one second after it connected, whatever it sends. */
	while (ring_now_mono_ns() - t0 < 4000000000ull) {
		if (answered(trickler)) {
			closed_ns = ring_now_mono_ns();
			break;
		}
		(void)send(trickler, "x", 1, MSG_NOSIGNAL);
		usleep(200000);
	}
	assert_true(closed_ns != 0);
	assert_true(closed_ns - t0 < 3000000000ull);
	n = recv(trickler, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "{\"error\":\"unknown request (known: status, ping)\"}\n");
	close(trickler);
	/* The silent ones got theirs too, each as its own time ran out. */
	for (int i = 0; i < 4; i++) {
		struct pollfd p = { .fd = silent[i], .events = POLLIN };

		assert_int_equal(poll(&p, 1, 2000), 1);
		n = recv(silent[i], buf, sizeof(buf) - 1, 0);
		assert_true(n > 0);
		buf[n] = '\0';
		assert_non_null(strstr(buf, "unknown request"));
		close(silent[i]);
	}
}

/* A client that never reads a large reply loses its connection, nobody else's. */
static void test_client_that_never_reads(void **state)
{
	struct fx *f = *state;
	uint8_t uuid[16] = { 7 };
	char name[64], buf[65536];
	int fd, rcv = 1024;

	/* A status of a few thousand domains is larger than the socket buffers. */
	for (int i = 0; i < 2000; i++) {
		uuid[1] = (uint8_t)i;
		uuid[2] = (uint8_t)(i >> 8);
		snprintf(name, sizeof(name), "domain-with-a-long-name-%04d", i);
		assert_non_null(tracker_begin(f->t, uuid, name, RING_DIR_OUT, ring_now_mono_ns()));
	}
	fd = tu_connect_unix(f->path, SOCK_STREAM);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	assert_int_equal(send(fd, "status\n", 7, MSG_NOSIGNAL), 7);
	usleep(200000);
	assert_int_equal(tu_ctl_request_within(f->path, "ping", buf, sizeof(buf), 1500), 0);
	assert_string_equal(buf, "{\"ok\":true}\n");
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_mode_and_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_lists_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_decoding, setup, teardown),
		cmocka_unit_test(test_no_group_means_root_only),
		cmocka_unit_test_setup_teardown(test_slow_clients_delay_no_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_that_never_reads, setup, teardown),
	};

	if (virInitialize() < 0)
		return 1;
	urcu_memb_register_thread();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
