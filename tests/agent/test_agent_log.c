/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The log's outputs: stderr plain or with the "<N>" prefix when stderr is the journal's stream
 * (JOURNAL_STREAM), and the journal's native protocol with the DOMAIN/UUID/ACTION/POLICY fields
 * (checked against a socket standing in for journald, in a private mount namespace); hostile
 * names escaped in the line.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/log.h"

/* Runs fn with stderr redirected to a pipe and returns what it wrote (malloc'd). */
static char *capture_stderr(void (*fn)(void *arg), void *arg, bool journal_stream)
{
	int fds[2], saved = dup(STDERR_FILENO);
	char *buf = calloc(1, 4096);
	size_t len = 0;
	ssize_t n;

	assert_non_null(buf);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
	close(fds[1]);
	if (journal_stream) {
		struct stat st;
		char v[64];

		assert_int_equal(fstat(STDERR_FILENO, &st), 0);
		snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", v, 1);
	} else {
		/* the journal's stream, but not what stderr is now: a redirected daemon */
		setenv("JOURNAL_STREAM", "8:12345", 1);
	}
	fn(arg);
	unsetenv("JOURNAL_STREAM");
	dup2(saved, STDERR_FILENO);
	close(saved);
	while (len < 4095 && (n = read(fds[0], buf + len, 4095 - len)) > 0)
		len += (size_t)n;
	close(fds[0]);
	return buf;
}

static void write_lines(void *arg)
{
	enum log_target *ret = arg;

	log_open(true, LOG_INFO);
	*ret = log_target();
	log_warn("cannot write %s", "x.prom");
	log_domain(LOG_NOTICE, "db-01", NULL, "db-01: migration started");
	log_debug("not shown at level info");
	log_close();
}

static void test_stderr_plain(void **state)
{
	enum log_target t;
	char *out;

	(void)state;
	out = capture_stderr(write_lines, &t, false);
	assert_int_equal(t, LOG_TO_STDERR);
	assert_string_equal(out, "migtuned: warning: cannot write x.prom\n"
				 "migtuned: db-01: migration started\n");
	free(out);
}

static void write_hostile(void *arg)
{
	(void)arg;
	log_open(true, LOG_INFO);
	log_info("%s: outgoing migration started (%s)", "vm\x1b]0;owned\x07\xc2\x9b" "2J",
		 "hook extra \x1b[2J\n2nd line");
	log_warn("bad \xff byte");
	log_close();
}

/* Names chosen by others (domains, hook arguments) come out escaped. */
static void test_line_is_escaped(void **state)
{
	char *out;

	(void)state;
	out = capture_stderr(write_hostile, NULL, false);
	assert_string_equal(out, "migtuned: vm\\x1b]0;owned\\x07\\u009b2J: outgoing migration started "
				 "(hook extra \\x1b[2J\\n2nd line)\n"
				 "migtuned: warning: bad \\xff byte\n");
	free(out);
}

static void test_stderr_journal_prefix(void **state)
{
	enum log_target t;
	char *out;

	(void)state;
	out = capture_stderr(write_lines, &t, true);
	assert_int_equal(t, LOG_TO_STDERR_JOURNAL);
	/* sd-daemon(3): <4> warning, <5> notice */
	assert_string_equal(out, "<4>migtuned: warning: cannot write x.prom\n"
				 "<5>migtuned: db-01: migration started\n");
	free(out);
}

/* The value of field key in one native-protocol datagram ("KEY=value\n", or "KEY\n" + 64-bit
 * little-endian length + value + "\n" for values with newlines); NULL when absent. */
static char *field(const char *dgram, size_t len, const char *key)
{
	size_t klen = strlen(key), off = 0;

	while (off < len) {
		const char *p = dgram + off, *nl = memchr(p, '\n', len - off);
		const char *eq = memchr(p, '=', nl ? (size_t)(nl - p) : len - off);
		size_t vlen;
		const char *v;

		if (!nl)
			return NULL;
		if (eq) {
			v = eq + 1;
			vlen = (size_t)(nl - v);
			off = (size_t)(nl - dgram) + 1;
		} else {
			uint64_t l = 0;

			memcpy(&l, nl + 1, 8);
			v = nl + 9;
			vlen = (size_t)l;
			eq = nl;
			off = (size_t)(v - dgram) + vlen + 1;
		}
		if ((size_t)(eq - p) == klen && memcmp(p, key, klen) == 0)
			return strndup(v, vlen);
	}
	return NULL;
}

static void expect_field(const char *d, size_t n, const char *key, const char *want, int *bad)
{
	char *v = field(d, n, key);

	if (!want ? v != NULL : !v || strcmp(v, want) != 0) {
		fprintf(stderr, "journal field %s: got '%s', want '%s'\n", key, v ? v : "(none)",
			want ? want : "(none)");
		(*bad)++;
	}
	free(v);
}

/* In the child: a private /run with a socket where journald's would be. */
static int journal_child(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const uint8_t uuid[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
					  0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	char d[3][4096];
	ssize_t n[3];
	int s, bad = 0;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0 ||
	    mkdir("/run/systemd", 0755) < 0 || mkdir("/run/systemd/journal", 0755) < 0) {
		perror("private /run");
		return 2;
	}
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", LOG_JOURNAL_SOCKET);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("journal socket");
		return 2;
	}
	log_open(false, LOG_INFO);
	if (log_target() != LOG_TO_JOURNAL) {
		fprintf(stderr, "log target %d, not the journal\n", log_target());
		return 1;
	}
	log_fields_msg(LOG_NOTICE, &(struct log_fields){ .domain = "db\n01", .uuid = uuid,
		       .action = "set-downtime", .policy = "adaptive" },
		       "db-01: applied set-downtime 300 -> 800 ms");
	log_domain(LOG_INFO, "web", NULL, "web: outgoing migration started");
	log_warn("metrics: cannot write %s", "/x");
	log_debug("below the level: never sent");
	for (int i = 0; i < 3; i++) {
		struct pollfd p = { .fd = s, .events = POLLIN };

		if (poll(&p, 1, 2000) != 1) {
			fprintf(stderr, "journal: datagram %d never came\n", i);
			return 1;
		}
		n[i] = recv(s, d[i], sizeof(d[i]), 0);
		if (n[i] <= 0)
			return 1;
	}
	if (recv(s, d[0] + 0, 1, MSG_DONTWAIT) >= 0) {
		fprintf(stderr, "journal: a line below the level was sent\n");
		bad++;
	}
	expect_field(d[0], (size_t)n[0], "MESSAGE", "db-01: applied set-downtime 300 -> 800 ms", &bad);
	expect_field(d[0], (size_t)n[0], "PRIORITY", "5", &bad);
	expect_field(d[0], (size_t)n[0], "SYSLOG_IDENTIFIER", "migtuned", &bad);
	expect_field(d[0], (size_t)n[0], "DOMAIN", "db\n01", &bad);  /* binary-safe */
	expect_field(d[0], (size_t)n[0], "UUID", "12345678-9abc-def0-0123-456789abcdef", &bad);
	expect_field(d[0], (size_t)n[0], "ACTION", "set-downtime", &bad);
	expect_field(d[0], (size_t)n[0], "POLICY", "adaptive", &bad);
	expect_field(d[1], (size_t)n[1], "DOMAIN", "web", &bad);
	expect_field(d[1], (size_t)n[1], "UUID", NULL, &bad);
	expect_field(d[1], (size_t)n[1], "ACTION", NULL, &bad);
	expect_field(d[1], (size_t)n[1], "PRIORITY", "6", &bad);
	expect_field(d[2], (size_t)n[2], "MESSAGE", "metrics: cannot write /x", &bad);
	expect_field(d[2], (size_t)n[2], "PRIORITY", "4", &bad);
	expect_field(d[2], (size_t)n[2], "DOMAIN", NULL, &bad);
	log_close();
	return bad ? 1 : 0;
}

static void test_journal_fields(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP journal fields: needs root for a private mount namespace\n");
		skip();
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(journal_child());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stderr_plain),
		cmocka_unit_test(test_stderr_journal_prefix),
		cmocka_unit_test(test_line_is_escaped),
		cmocka_unit_test(test_journal_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
