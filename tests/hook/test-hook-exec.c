/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Process-level tests: run the built migtune-hook the way libvirtd does (four arguments, XML on
 * stdin, a nearly empty environment) against fake agents that accept, refuse, stall, answer
 * garbage, or never accept at all, and check exit status, stdout (always empty), the log line,
 * and what reached the agent.  Also exercises hook/install-hook.sh against temporary DESTDIRs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wire.h"

#define RUN_LIMIT_MS 10000 /* a hook still running after this is a hang: kill it and fail */

static char hook_path[PATH_MAX];
static char tmpdir[64];
static char sock_path[128];
static char conf_path[128];
static char *domain_xml;
static size_t domain_xml_len;

enum agent_mode {
	AGENT_NONE,         /* nothing at the socket path */
	AGENT_STALE,        /* a socket file nobody listens on */
	AGENT_FULL,         /* listening, never accepting, backlog full */
	AGENT_READ,         /* accept and read one message */
	AGENT_STALL,        /* accept, read, never answer */
	AGENT_ACCEPT,       /* answer admission requests: accept */
	AGENT_REFUSE,       /* answer admission requests: refuse with a reason */
	AGENT_GARBAGE,      /* answer with bytes that are not a message */
	AGENT_WRONG_ID,     /* answer with a valid reply for another request */
	AGENT_HANGUP,       /* accept, read, close without answering */
};

struct run {
	/* inputs */
	const char *args[6];        /* argv[1..], NULL-terminated */
	const char *stdin_data;     /* NULL: stdin closed */
	size_t stdin_len;
	enum agent_mode agent;
	const char *extra_env;      /* one more VAR=value, or NULL */
	const char *log_env;        /* MIGTUNE_HOOK_LOG=... instead of =stderr */
	bool no_socket_env;         /* do not set MIGTUNE_HOOK_SOCKET (config file decides) */
	const char *reason;         /* refusal reason */
	/* outputs */
	int status;
	char out[4096];
	size_t out_len;
	char err[8192];
	size_t err_len;
	size_t stdin_written;
	double elapsed_ms;
	int msgs;                   /* messages the agent received */
	int connections;
	struct wire_msg msg;        /* the last one, decoded */
	int decode_rc;
	pid_t pid;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int listen_at(const char *path, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

/* Fill the listener's accept queue; returns the number of client fds stored in fds. */
static int fill_backlog(const char *path, int *fds, int max)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = 0;
	strcpy(sa.sun_path, path);
	while (n < max) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		assert_true(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			assert_int_equal(errno, EAGAIN);
			close(fd);
			return n;
		}
		fds[n++] = fd;
	}
	fail_msg("backlog never filled");
	return n;
}

static void agent_answer(struct run *r, int conn)
{
	uint8_t buf[WIRE_MSG_MAX];
	struct wire_reply reply = { .verdict = WIRE_VERDICT_ACCEPT };
	uint32_t id = r->msg.request_id;
	ssize_t n;

	switch (r->agent) {
	case AGENT_ACCEPT:
		strcpy(reply.reason, "ok");
		break;
	case AGENT_REFUSE:
		reply.verdict = WIRE_VERDICT_REFUSE;
		snprintf(reply.reason, sizeof(reply.reason), "%s", r->reason ? r->reason : "");
		break;
	case AGENT_WRONG_ID:
		reply.verdict = WIRE_VERDICT_REFUSE;
		id++;
		break;
	case AGENT_HANGUP:
		shutdown(conn, SHUT_RDWR);
		return;
	case AGENT_GARBAGE:
		memset(buf, 0xee, 64);
		assert_int_equal(send(conn, buf, 64, MSG_NOSIGNAL), 64);
		return;
	default:
		return;
	}
	n = wire_encode_reply(&reply, id, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(send(conn, buf, (size_t)n, MSG_NOSIGNAL), n);
}

/* Read what one connection holds; close it at EOF. */
static void serve(struct run *r, int *conn)
{
	for (;;) {
		uint8_t buf[WIRE_MSG_MAX + 1];
		ssize_t k = recv(*conn, buf, sizeof(buf), MSG_DONTWAIT);
		if (k > 0) {
			r->msgs++;
			r->decode_rc = wire_decode(buf, (size_t)k, &r->msg);
			if (r->decode_rc == 0 && r->msg.type == WIRE_TYPE_ADMIT_REQUEST)
				agent_answer(r, *conn);
			continue;
		}
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		close(*conn);
		*conn = -1;
		return;
	}
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Run the hook to completion while playing the agent.  Single-threaded: one poll loop feeds
 * stdin, drains stdout/stderr and serves the socket. */
static void run_hook(struct run *r)
{
	int in[2], out[2], err[2], lfd = -1, conn = -1;
	int backlog_fds[8192], nbacklog = 0;
	char env_sock[160], env_conf[160];
	const char *envp[12];
	int ne = 0;

	r->out_len = r->err_len = r->stdin_written = 0;
	r->msgs = r->connections = 0;
	r->decode_rc = 1;
	memset(&r->msg, 0, sizeof(r->msg));

	unlink(sock_path);
	switch (r->agent) {
	case AGENT_NONE:
		break;
	case AGENT_STALE:
		close(listen_at(sock_path, 1)); /* the file stays, nobody listens */
		break;
	case AGENT_FULL:
		lfd = listen_at(sock_path, 1);
		nbacklog = fill_backlog(sock_path, backlog_fds, 8192);
		assert_true(nbacklog >= 1);
		break;
	default:
		lfd = listen_at(sock_path, 16);
		break;
	}

	snprintf(env_sock, sizeof(env_sock), "MIGTUNE_HOOK_SOCKET=%s", sock_path);
	snprintf(env_conf, sizeof(env_conf), "MIGTUNE_HOOK_CONF=%s", conf_path);
	/* What libvirtd leaves a hook, plus our test switches and the sanitizers' settings. */
	envp[ne++] = "LC_ALL=C";
	envp[ne++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	envp[ne++] = r->log_env ? r->log_env : "MIGTUNE_HOOK_LOG=stderr";
	envp[ne++] = env_conf;
	if (!r->no_socket_env)
		envp[ne++] = env_sock;
	if (r->extra_env)
		envp[ne++] = r->extra_env;
	static char san[3][512];
	const char *names[3] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
	for (int i = 0; i < 3; i++) {
		const char *v = getenv(names[i]);
		if (v) {
			snprintf(san[i], sizeof(san[i]), "%s=%s", names[i], v);
			envp[ne++] = san[i];
		}
	}
	envp[ne] = NULL;

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	double t0 = now_ms();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *argv[8] = { "qemu" };
		int a = 1;
		for (; a < 7 && r->args[a - 1]; a++)
			argv[a] = r->args[a - 1];
		argv[a] = NULL;
		if (r->stdin_data)
			dup2(in[0], 0);
		else
			close(0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execve(hook_path, (char *const *)argv, (char *const *)envp);
		_exit(127);
	}
	r->pid = pid;
	close(in[0]);
	close(out[1]);
	close(err[1]);
	int win = in[1];
	if (!r->stdin_data) {
		close(win);
		win = -1;
	}
	if (win >= 0)
		set_nonblock(win);

	bool out_open = true, err_open = true, exited = false;
	while (out_open || err_open || !exited) {
		struct pollfd p[5];
		int np = 0, i_win = -1, i_out = -1, i_err = -1, i_l = -1, i_c = -1;
		if (win >= 0)
			p[i_win = np++] = (struct pollfd){ .fd = win, .events = POLLOUT };
		if (out_open)
			p[i_out = np++] = (struct pollfd){ .fd = out[0], .events = POLLIN };
		if (err_open)
			p[i_err = np++] = (struct pollfd){ .fd = err[0], .events = POLLIN };
		if (lfd >= 0 && r->agent != AGENT_FULL)
			p[i_l = np++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		if (conn >= 0)
			p[i_c = np++] = (struct pollfd){ .fd = conn, .events = POLLIN };
		if (now_ms() - t0 > RUN_LIMIT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail_msg("hook still running after %d ms", RUN_LIMIT_MS);
		}
		int n = poll(p, (nfds_t)np, 20);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		if (i_win >= 0 && p[i_win].revents) {
			ssize_t w = write(win, r->stdin_data + r->stdin_written,
					  r->stdin_len - r->stdin_written);
			if (w > 0)
				r->stdin_written += (size_t)w;
			if (w < 0 && errno != EAGAIN) {
				close(win); /* EPIPE: the hook stopped reading */
				win = -1;
			} else if (r->stdin_written == r->stdin_len) {
				close(win);
				win = -1;
			}
		}
		if (i_out >= 0 && p[i_out].revents) {
			ssize_t k = read(out[0], r->out + r->out_len, sizeof(r->out) - 1 - r->out_len);
			if (k <= 0)
				out_open = false;
			else
				r->out_len += (size_t)k;
		}
		if (i_err >= 0 && p[i_err].revents) {
			ssize_t k = read(err[0], r->err + r->err_len, sizeof(r->err) - 1 - r->err_len);
			if (k <= 0)
				err_open = false;
			else
				r->err_len += (size_t)k;
		}
		if (i_l >= 0 && p[i_l].revents) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (c >= 0) {
				r->connections++;
				if (conn >= 0)
					close(conn);
				conn = c;
			}
		}
		if (i_c >= 0 && p[i_c].revents)
			serve(r, &conn);
		if (!exited) {
			int st;
			pid_t w = waitpid(pid, &st, WNOHANG);
			if (w == pid) {
				exited = true;
				r->status = st;
				r->elapsed_ms = now_ms() - t0;
			}
		}
	}
	/* The hook may have connected, sent and exited before this loop looked at the listener:
	 * collect what is queued. */
	if (conn >= 0)
		serve(r, &conn);
	while (lfd >= 0 && r->agent != AGENT_FULL) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			break;
		r->connections++;
		conn = c;
		serve(r, &conn);
	}
	if (win >= 0)
		close(win);
	close(out[0]);
	close(err[0]);
	if (conn >= 0)
		close(conn);
	if (lfd >= 0)
		close(lfd);
	for (int i = 0; i < nbacklog; i++)
		close(backlog_fds[i]);
	r->out[r->out_len] = '\0';
	r->err[r->err_len] = '\0';
	unlink(sock_path);
}

static int exit_code(const struct run *r)
{
	if (!WIFEXITED(r->status))
		fail_msg("hook died: status 0x%x, stderr: %s", r->status, r->err);
	return WEXITSTATUS(r->status);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Common expectations of every hook-mode run. */
static void expect_hook_run(struct run *r, int code, int log_lines)
{
	assert_int_equal(exit_code(r), code);
	if (r->out_len != 0)
		fail_msg("hook wrote %zu bytes to stdout: %s", r->out_len, r->out);
	if (count_lines(r->err) != log_lines)
		fail_msg("expected %d stderr line(s), got: '%s'", log_lines, r->err);
	if (r->stdin_data)
		assert_int_equal(r->stdin_written, r->stdin_len); /* read to EOF */
}

static void write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup_each(void **state)
{
	unlink(conf_path);
	return 0;
}

/* ---- delivery --------------------------------------------------------------------------------- */

static void event_reaches_agent(void **state)
{
	struct run r = { .args = { "guest-s1", "prepare", "begin", "-" },
			 .stdin_data = domain_xml, .stdin_len = domain_xml_len,
			 .agent = AGENT_READ };
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t before = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;

	run_hook(&r);
	expect_hook_run(&r, 0, 0);
	assert_int_equal(r.msgs, 1);
	assert_int_equal(r.decode_rc, 0);
	assert_int_equal(r.msg.type, WIRE_TYPE_EVENT);
	const struct wire_event *e = &r.msg.event;
	assert_string_equal(e->domain, "guest-s1");
	assert_string_equal(e->op, "prepare");
	assert_string_equal(e->subop, "begin");
	assert_string_equal(e->extra, "-");
	assert_int_equal(e->flags, WIRE_EV_HAS_UUID | WIRE_EV_HAS_MEMORY);
	assert_int_equal(e->memory_kib, 262144);
	assert_int_equal(e->uuid[0], 0xc7);
	assert_int_equal(e->hook_pid, (uint32_t)r.pid);
	assert_true(e->realtime_ns >= before && e->realtime_ns < before + 10000000000LL);
	assert_int_equal(e->policy.present, WIRE_POL_KNOWN);
	assert_string_equal(e->policy.name, "adaptive");
	assert_int_equal(e->policy.sla_max_downtime_ms, 500);
	assert_int_equal(e->policy.budget_s_per_gib, 60);
	assert_int_equal(e->policy.allow_postcopy, 1);
	/* The owner's abort and recovery choices travel too (wire version 2). */
	assert_int_equal(e->policy.on_hopeless, WIRE_ON_HOPELESS_ABORT);
	assert_int_equal(e->policy.allow_abort, 1);
	assert_int_equal(e->policy.postcopy_recovery, WIRE_POSTCOPY_RECOVERY_AUTO);
}

static void config_file_names_socket(void **state)
{
	/* The lab's way: no environment, a config file naming a per-host socket. */
	char text[256];
	snprintf(text, sizeof(text), "# lab host a\nsocket = %s\n", sock_path);
	write_conf(text);
	struct run r = { .args = { "vm", "started", "begin", "-" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_READ, .no_socket_env = true };
	run_hook(&r);
	expect_hook_run(&r, 0, 0);
	assert_int_equal(r.msgs, 1);
	assert_string_equal(r.msg.event.op, "started");
}

static void bad_config_line_logged_once(void **state)
{
	write_conf("socket = relative\nadmission = perhaps\n");
	struct run r = { .args = { "vm", "started", "begin", "-" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_READ };
	run_hook(&r);
	expect_hook_run(&r, 0, 1);
	assert_non_null(strstr(r.err, "line 1"));
	assert_int_equal(r.msgs, 1); /* defaults + env still deliver */
}

/* ---- fail open -------------------------------------------------------------------------------- */

static void no_agent(void **state)
{
	struct run r = { .args = { "vm", "migrate", "begin", "-" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_NONE };
	run_hook(&r);
	expect_hook_run(&r, 0, 1);
	assert_non_null(strstr(r.err, sock_path));
	assert_non_null(strstr(r.err, "No such file"));
}

static void stale_socket(void **state)
{
	struct run r = { .args = { "vm", "migrate", "begin", "-" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_STALE };
	run_hook(&r);
	expect_hook_run(&r, 0, 1);
	assert_non_null(strstr(r.err, "refused"));
}

static void full_socket(void **state)
{
	struct run r = { .args = { "vm", "migrate", "begin", "-" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_FULL };
	run_hook(&r);
	expect_hook_run(&r, 0, 1);
	assert_non_null(strstr(r.err, "queue full"));
}

static void garbage_xml_still_sends(void **state)
{
	static const char junk[] = "<domain><name>x</nam";
	struct run r = { .args = { "vm", "start", "begin", "-" }, .stdin_data = junk,
			 .stdin_len = sizeof(junk) - 1, .agent = AGENT_READ };
	run_hook(&r);
	expect_hook_run(&r, 0, 1);
	assert_non_null(strstr(r.err, "not a usable domain XML"));
	assert_int_equal(r.msgs, 1);
	assert_int_equal(r.msg.event.flags, WIRE_EV_XML_INVALID);
	assert_int_equal(r.msg.event.policy.present, 0);
}

static void hostile_xml_refused_at_its_bound(void **state)
{
	/* 60000 attributes on one element, ~650 KB: 6 to 24 s of libvirtd waiting under a parser
	 * with a quadratic duplicate check.  Refused by the bound; the event still goes, without
	 * anything from the XML, and the log names the bound.  (Its time is bench-domxml's.) */
	size_t cap = 60000 * 16 + 256, len = 0;
	char *x = malloc(cap);
	assert_non_null(x);
	len += (size_t)snprintf(x, cap, "<domain><name>guest</name><uuid>"
				"c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid><metadata><big");
	for (int i = 0; i < 60000; i++)
		len += (size_t)snprintf(x + len, cap - len, " a%d='%d'", i, i);
	len += (size_t)snprintf(x + len, cap - len, "/></metadata></domain>");
	struct run r = { .args = { "guest", "migrate", "begin", "-" }, .stdin_data = x,
			 .stdin_len = len, .agent = AGENT_READ };
	run_hook(&r);
	expect_hook_run(&r, 0, 1);
	assert_int_equal(r.stdin_written, len);
	assert_non_null(strstr(r.err, "more than 64 attributes"));
	assert_int_equal(r.msgs, 1);
	assert_int_equal(r.msg.event.flags, WIRE_EV_XML_INVALID);
	assert_string_equal(r.msg.event.domain, "guest");
	free(x);
}

static void bad_policy_value_named_in_log(void **state)
{
	static const char xml[] = "<domain><name>g</name><metadata><m:policy xmlns:m="
				  "'https://migtune.org/xmlns/migtune/1' on-hopeless='n\xc3\xa9ver\xe2\x80\xae' "
				  "allow-abort='no'/></metadata></domain>";
	struct run r = { .args = { "g", "prepare", "begin", "-" }, .stdin_data = xml,
			 .stdin_len = sizeof(xml) - 1, .agent = AGENT_READ };
	run_hook(&r);
	expect_hook_run(&r, 0, 1);
	/* The attribute is named, its value escaped (not even a bidi override reaches the log). */
	assert_non_null(strstr(r.err, "on-hopeless=\"n??ver???\" is not valid"));
	assert_int_equal(r.msg.event.flags, WIRE_EV_POLICY_INVALID);
	assert_int_equal(r.msg.event.policy.present, WIRE_POL_ALLOW_ABORT);
	assert_int_equal(r.msg.event.policy.allow_abort, 0);
}

static void huge_stdin_read_to_eof(void **state)
{
	/* 3 MiB: libvirt's writer must see every byte consumed, the event says "truncated". */
	size_t len = 3 << 20;
	char *big = malloc(len);
	assert_non_null(big);
	memcpy(big, domain_xml, domain_xml_len);
	memset(big + domain_xml_len, ' ', len - domain_xml_len);
	struct run r = { .args = { "vm", "migrate", "begin", "-" }, .stdin_data = big,
			 .stdin_len = len, .agent = AGENT_READ };
	run_hook(&r);
	expect_hook_run(&r, 0, 1);
	assert_int_equal(r.stdin_written, len);
	assert_int_equal(r.msgs, 1);
	assert_int_equal(r.msg.event.flags, WIRE_EV_XML_TRUNCATED);
	free(big);
}

static void missing_stdin(void **state)
{
	struct run r = { .args = { "vm", "release", "end", "-" }, .stdin_data = NULL,
			 .agent = AGENT_READ };
	run_hook(&r);
	expect_hook_run(&r, 0, 0);
	assert_int_equal(r.msgs, 1);
	assert_int_equal(r.msg.event.flags, WIRE_EV_XML_MISSING);

	struct run e = { .args = { "vm", "release", "end", "-" }, .stdin_data = "",
			 .stdin_len = 0, .agent = AGENT_READ };
	run_hook(&e);
	expect_hook_run(&e, 0, 0);
	assert_int_equal(e.msg.event.flags, WIRE_EV_XML_MISSING);
}

static void hostile_domain_names(void **state)
{
	static char longname[4000];
	memset(longname, 'N', sizeof(longname) - 1);
	const char *names[] = { "--help", "--selftest", "-", "evil\nname\x1b[2J\r", "a'b\"c$(id)`id`",
				"\xff\xfe\xc3\xa9", longname, "" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct run r = { .args = { names[i], "migrate", "begin", "-" },
				 .stdin_data = domain_xml, .stdin_len = domain_xml_len,
				 .agent = AGENT_READ };
		run_hook(&r);
		expect_hook_run(&r, 0, 0);
		assert_int_equal(r.msgs, 1);
		if (strlen(names[i]) <= WIRE_DOMAIN_MAX && names[i][0])
			assert_string_equal(r.msg.event.domain, names[i]);
		if (!names[i][0])
			assert_string_equal(r.msg.event.domain, "guest-s1"); /* from the XML */

		/* With no agent, the single log line carries the name sanitised: one line, no ESC. */
		struct run n = { .args = { names[i], "migrate", "begin", "-" },
				 .stdin_data = domain_xml, .stdin_len = domain_xml_len,
				 .agent = AGENT_NONE };
		run_hook(&n);
		expect_hook_run(&n, 0, 1);
		assert_null(strchr(n.err, '\x1b'));
		assert_null(strchr(n.err, '\r'));
	}
	/* The long one is cut and flagged. */
	struct run r = { .args = { longname, "migrate", "begin", "-" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_READ };
	run_hook(&r);
	assert_true(r.msg.event.flags & WIRE_EV_NAME_TRUNCATED);
	assert_int_equal(strlen(r.msg.event.domain), WIRE_DOMAIN_MAX);
}

static void wrong_argument_count(void **state)
{
	struct run r = { .args = { "vm", "migrate", "begin" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_READ };
	run_hook(&r);
	expect_hook_run(&r, 0, 1);
	assert_non_null(strstr(r.err, "expected 4"));
	assert_int_equal(r.connections, 0);

	struct run l = { .args = { "vm", "a-very-long-operation-name-that-libvirt-never-uses",
				   "begin", "-" },
			 .stdin_data = domain_xml, .stdin_len = domain_xml_len, .agent = AGENT_READ };
	run_hook(&l);
	expect_hook_run(&l, 0, 1);
	assert_int_equal(l.connections, 0);
}

static void unknown_op_is_forwarded(void **state)
{
	struct run r = { .args = { "vm", "frobnicate", "sideways", "whatever" },
			 .stdin_data = domain_xml, .stdin_len = domain_xml_len, .agent = AGENT_READ };
	run_hook(&r);
	expect_hook_run(&r, 0, 0);
	assert_string_equal(r.msg.event.op, "frobnicate");
	assert_string_equal(r.msg.event.extra, "whatever");
}

/* ---- syslog ---------------------------------------------------------------------------------- */

static int dgram_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void syslog_line(void **state)
{
	char logp[160], env[200], line[1200];
	snprintf(logp, sizeof(logp), "%s/log", tmpdir);
	snprintf(env, sizeof(env), "MIGTUNE_HOOK_LOG=syslog:%s", logp);
	int fd = dgram_at(logp);

	struct run r = { .args = { "vm\nforged", "migrate", "begin", "-" },
			 .stdin_data = domain_xml, .stdin_len = domain_xml_len,
			 .agent = AGENT_NONE, .log_env = env };
	run_hook(&r);
	expect_hook_run(&r, 0, 0); /* nothing on stderr: it went to the log socket */
	ssize_t n = recv(fd, line, sizeof(line) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	line[n] = '\0';
	/* <28> = facility daemon (3) * 8 + warning (4); tag and pid as syslog expects them. */
	assert_memory_equal(line, "<28>", 4);
	char tag[64];
	snprintf(tag, sizeof(tag), " migtune-hook[%d]: domain 'vm?forged'", (int)r.pid);
	if (!strstr(line, tag))
		fail_msg("unexpected syslog line: %s", line);
	assert_null(strchr(line, '\n'));
	assert_true(recv(fd, line, sizeof(line), MSG_DONTWAIT) < 0); /* exactly one line */
	close(fd);
	unlink(logp);
}

static void stalled_log_daemon(void **state)
{
	/* A log daemon that stopped reading: its queue is full.  glibc's syslog() would block here
	 * (and libvirtd with it); the hook drops the line and exits. */
	char logp[160], env[200];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(logp, sizeof(logp), "%s/log", tmpdir);
	snprintf(env, sizeof(env), "MIGTUNE_HOOK_LOG=syslog:%s", logp);
	int fd = dgram_at(logp);
	int tx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	strcpy(sa.sun_path, logp);
	assert_int_equal(connect(tx, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int sent = 0;
	while (send(tx, "x", 1, MSG_DONTWAIT) == 1 && sent < 1000000)
		sent++;
	assert_int_equal(errno, EAGAIN);

	struct run r = { .args = { "vm", "migrate", "begin", "-" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_NONE, .log_env = env };
	run_hook(&r);
	expect_hook_run(&r, 0, 0);
	if (r.elapsed_ms > 3000)
		fail_msg("hook took %.0f ms with a stalled log daemon", r.elapsed_ms);
	close(tx);
	close(fd);
	unlink(logp);
}

/* ---- admission control ------------------------------------------------------------------------ */

static void admission_off_by_default(void **state)
{
	struct run r = { .args = { "vm", "migrate", "begin", "-" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_REFUSE, .reason = "no" };
	run_hook(&r);
	expect_hook_run(&r, 0, 0);
	assert_int_equal(r.msg.type, WIRE_TYPE_EVENT); /* not a request: nobody waits */
}

static void admission_accept(void **state)
{
	write_conf("admission = yes\n");
	struct run r = { .args = { "vm", "migrate", "begin", "-" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_ACCEPT };
	run_hook(&r);
	expect_hook_run(&r, 0, 0);
	assert_int_equal(r.msgs, 1);
	assert_int_equal(r.msg.type, WIRE_TYPE_ADMIT_REQUEST);
	assert_int_equal(r.msg.event.memory_kib, 262144); /* the request carries the event */
}

static void admission_refuse(void **state)
{
	write_conf("admission = yes\n");
	struct run r = { .args = { "vm", "migrate", "begin", "-" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_REFUSE,
			 .reason = "2 incoming migrations running (max 2)\n\x1b[31mforged" };
	run_hook(&r);
	/* One line for libvirt's error message, one log line (on stderr in this test). */
	expect_hook_run(&r, 1, 2);
	assert_non_null(strstr(r.err, "refused by migtuned: 2 incoming migrations running (max 2)"));
	assert_non_null(strstr(r.err, "'vm'"));
	assert_null(strchr(r.err, '\x1b')); /* the agent's reason is sanitised too */
}

static void admission_only_on_migrate_begin(void **state)
{
	write_conf("admission = yes\n");
	const char *ops[][2] = { { "prepare", "begin" }, { "migrate", "end" }, { "restore", "begin" } };
	for (size_t i = 0; i < 3; i++) {
		struct run r = { .args = { "vm", ops[i][0], ops[i][1], "-" }, .stdin_data = domain_xml,
				 .stdin_len = domain_xml_len, .agent = AGENT_REFUSE, .reason = "x" };
		run_hook(&r);
		expect_hook_run(&r, 0, 0);
		assert_int_equal(r.msg.type, WIRE_TYPE_EVENT);
	}
}

static void admission_stalled_agent_accepts(void **state)
{
	write_conf("admission = yes\n");
	struct run r = { .args = { "vm", "migrate", "begin", "-" }, .stdin_data = domain_xml,
			 .stdin_len = domain_xml_len, .agent = AGENT_STALL };
	run_hook(&r);
	expect_hook_run(&r, 0, 1);
	assert_non_null(strstr(r.err, "timed out"));
	assert_int_equal(r.msgs, 1);
	/* It waited for the deadline (200 ms) and not much more; the upper bound is loose because
	 * this machine is small and noisy and the binary may run under ASan. */
	assert_true(r.elapsed_ms >= 195);
	if (r.elapsed_ms > 3000)
		fail_msg("stalled agent held the hook %.0f ms", r.elapsed_ms);

	/* A shorter configured deadline is the one applied. */
	write_conf("admission = yes\nadmission-timeout-ms = 20\n");
	run_hook(&r);
	expect_hook_run(&r, 0, 1);
	assert_non_null(strstr(r.err, "within 20 ms"));
	assert_true(r.elapsed_ms >= 19);
	if (r.elapsed_ms > 3000)
		fail_msg("20 ms deadline took %.0f ms", r.elapsed_ms);
}

static void admission_doubt_accepts(void **state)
{
	write_conf("admission = yes\n");
	enum agent_mode modes[] = { AGENT_NONE, AGENT_FULL, AGENT_STALE, AGENT_GARBAGE,
				    AGENT_WRONG_ID, AGENT_HANGUP };
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct run r = { .args = { "vm", "migrate", "begin", "-" }, .stdin_data = domain_xml,
				 .stdin_len = domain_xml_len, .agent = modes[i] };
		run_hook(&r);
		expect_hook_run(&r, 0, 1);
		assert_non_null(strstr(r.err, "accepted"));
	}
}

/* ---- command line ----------------------------------------------------------------------------- */

static void options(void **state)
{
	struct run r = { .args = { "--help" }, .agent = AGENT_NONE };
	run_hook(&r);
	assert_int_equal(exit_code(&r), 0);
	assert_non_null(strstr(r.out, "Usage: migtune-hook"));
	assert_non_null(strstr(r.out, "Exit status"));
	assert_non_null(strstr(r.out, "MIGTUNE_HOOK_CONF"));

	struct run v = { .args = { "--version" }, .agent = AGENT_NONE };
	run_hook(&v);
	assert_int_equal(exit_code(&v), 0);
	assert_non_null(strstr(v.out, "migtune-hook "));

	struct run u = { .args = { "--frob" }, .agent = AGENT_NONE };
	run_hook(&u);
	assert_int_equal(exit_code(&u), 2);
	assert_int_equal(u.out_len, 0);
	assert_non_null(strstr(u.err, "--frob"));

	struct run z = { .args = { NULL }, .agent = AGENT_NONE };
	run_hook(&z);
	assert_int_equal(exit_code(&z), 2);
	assert_int_equal(z.out_len, 0);
}

static void selftest(void **state)
{
	struct run ok = { .args = { "--selftest" }, .agent = AGENT_READ };
	run_hook(&ok);
	assert_int_equal(exit_code(&ok), 0);
	assert_non_null(strstr(ok.out, "verdict: READY"));
	assert_non_null(strstr(ok.out, "accepting connections"));

	struct run none = { .args = { "--selftest" }, .agent = AGENT_NONE };
	run_hook(&none);
	assert_int_equal(exit_code(&none), 1);
	assert_non_null(strstr(none.out, "verdict: NOT READY"));

	struct run stale = { .args = { "--selftest" }, .agent = AGENT_STALE };
	run_hook(&stale);
	assert_int_equal(exit_code(&stale), 1);
	assert_non_null(strstr(stale.out, "nothing listens"));

	/* A regular file where the socket should be (named by the config file). */
	struct run file = { .args = { "--selftest" }, .agent = AGENT_NONE };
	char text[256], other[160];
	snprintf(other, sizeof(other), "%s/not-a-socket", tmpdir);
	FILE *f = fopen(other, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(text, sizeof(text), "socket = %s\n", other);
	write_conf(text);
	file.no_socket_env = true;
	run_hook(&file);
	assert_int_equal(exit_code(&file), 1);
	assert_non_null(strstr(file.out, "not a socket"));
	unlink(other);
}

/* ---- install-hook.sh -------------------------------------------------------------------------- */

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

#define INSTALL HOOK_SRCDIR "/hook/install-hook.sh"
#define LIBEXEC "/usr/libexec/migtune"

static void install_modes(void **state)
{
	char d[128];
	snprintf(d, sizeof(d), "%s/dest", tmpdir);
	const char *q = " >/dev/null 2>&1";

	/* Fresh host: qemu is free, the hook becomes qemu (a symlink to the binary). */
	assert_int_equal(sh("rm -rf %s && %s --destdir %s --libexecdir " LIBEXEC
			    " --sysconfdir /etc --conf " HOOK_SRCDIR "/hook/hook.conf %s%s",
			    d, INSTALL, d, hook_path, q), 0);
	assert_int_equal(sh("test -x %s" LIBEXEC "/migtune-hook", d), 0);
	assert_int_equal(sh("test \"$(readlink %s/etc/libvirt/hooks/qemu)\" = " LIBEXEC
			    "/migtune-hook", d), 0);
	assert_int_equal(sh("test ! -e %s/etc/libvirt/hooks/qemu.d/migtune", d), 0);
	assert_int_equal(sh("test -f %s/etc/migtune/hook.conf", d), 0);

	/* Again: idempotent, our own qemu updated in place, a local hook.conf kept. */
	assert_int_equal(sh("echo 'admission = yes' > %s/etc/migtune/hook.conf", d), 0);
	assert_int_equal(sh("%s --destdir %s --libexecdir " LIBEXEC " --sysconfdir /etc --conf "
			    HOOK_SRCDIR "/hook/hook.conf %s%s", INSTALL, d, hook_path, q), 0);
	assert_int_equal(sh("test \"$(readlink %s/etc/libvirt/hooks/qemu)\" = " LIBEXEC
			    "/migtune-hook", d), 0);
	assert_int_equal(sh("grep -qx 'admission = yes' %s/etc/migtune/hook.conf", d), 0);

	/* Someone else's qemu hook: kept byte for byte, ours goes to qemu.d/migtune. */
	assert_int_equal(sh("rm -rf %s && mkdir -p %s/etc/libvirt/hooks && "
			    "printf '#!/bin/sh\\nexit 0\\n' > %s/etc/libvirt/hooks/qemu && "
			    "chmod 755 %s/etc/libvirt/hooks/qemu", d, d, d, d), 0);
	assert_int_equal(sh("%s --destdir %s --libexecdir " LIBEXEC " --sysconfdir /etc %s%s",
			    INSTALL, d, hook_path, q), 0);
	assert_int_equal(sh("printf '#!/bin/sh\\nexit 0\\n' | cmp -s - %s/etc/libvirt/hooks/qemu",
			    d), 0);
	assert_int_equal(sh("test \"$(readlink %s/etc/libvirt/hooks/qemu.d/migtune)\" = " LIBEXEC
			    "/migtune-hook", d), 0);

	/* Foreign symlink as qemu: also someone else's. */
	assert_int_equal(sh("rm -rf %s && mkdir -p %s/etc/libvirt/hooks && "
			    "ln -s /usr/share/other/dispatcher %s/etc/libvirt/hooks/qemu", d, d, d), 0);
	assert_int_equal(sh("%s --destdir %s --libexecdir " LIBEXEC " --sysconfdir /etc %s%s",
			    INSTALL, d, hook_path, q), 0);
	assert_int_equal(sh("test \"$(readlink %s/etc/libvirt/hooks/qemu)\" = "
			    "/usr/share/other/dispatcher", d), 0);
	assert_int_equal(sh("test -L %s/etc/libvirt/hooks/qemu.d/migtune", d), 0);

	/* Both taken by others: refuse, touch nothing, say which file. */
	assert_int_equal(sh("rm -f %s/etc/libvirt/hooks/qemu.d/migtune && "
			    "echo other > %s/etc/libvirt/hooks/qemu.d/migtune", d, d), 0);
	assert_int_not_equal(sh("%s --destdir %s --libexecdir " LIBEXEC " --sysconfdir /etc %s "
				"2>%s/err >/dev/null", INSTALL, d, hook_path, tmpdir), 0);
	assert_int_equal(sh("grep -q 'qemu.d/migtune' %s/err", tmpdir), 0);
	assert_int_equal(sh("grep -qx other %s/etc/libvirt/hooks/qemu.d/migtune", d), 0);

	/* Installed once in qemu.d: stays there even when qemu later becomes free (never twice). */
	assert_int_equal(sh("rm -rf %s && mkdir -p %s/etc/libvirt/hooks/qemu.d && "
			    "ln -s " LIBEXEC "/migtune-hook %s/etc/libvirt/hooks/qemu.d/migtune",
			    d, d, d), 0);
	assert_int_equal(sh("%s --destdir %s --libexecdir " LIBEXEC " --sysconfdir /etc %s%s",
			    INSTALL, d, hook_path, q), 0);
	assert_int_equal(sh("test ! -e %s/etc/libvirt/hooks/qemu -a ! -L %s/etc/libvirt/hooks/qemu",
			    d, d), 0);

	/* A regular-file copy of the hook (marker inside) counts as ours and is replaced. */
	assert_int_equal(sh("rm -rf %s && mkdir -p %s/etc/libvirt/hooks && "
			    "cp %s %s/etc/libvirt/hooks/qemu", d, d, hook_path, d), 0);
	assert_int_equal(sh("%s --destdir %s --libexecdir " LIBEXEC " --sysconfdir /etc %s%s",
			    INSTALL, d, hook_path, q), 0);
	assert_int_equal(sh("test -L %s/etc/libvirt/hooks/qemu", d), 0);

	/* Our wrapper script (etc/libvirt/hooks) in place of qemu: kept as the operator adapted it,
	 * and no second registration in qemu.d. */
	assert_int_equal(sh("rm -rf %s && mkdir -p %s/etc/libvirt/hooks && cp " HOOK_SRCDIR
			    "/etc/libvirt/hooks/migtune-wrapper.sh.example %s/etc/libvirt/hooks/qemu"
			    " && echo '# local edit' >> %s/etc/libvirt/hooks/qemu", d, d, d, d), 0);
	assert_int_equal(sh("%s --destdir %s --libexecdir " LIBEXEC " --sysconfdir /etc %s%s",
			    INSTALL, d, hook_path, q), 0);
	assert_int_equal(sh("test ! -L %s/etc/libvirt/hooks/qemu && "
			    "grep -q '# local edit' %s/etc/libvirt/hooks/qemu", d, d), 0);
	assert_int_equal(sh("test ! -e %s/etc/libvirt/hooks/qemu.d/migtune", d), 0);

	/* A dangling symlink someone left is still someone's: not overwritten. */
	assert_int_equal(sh("rm -rf %s && mkdir -p %s/etc/libvirt/hooks && "
			    "ln -s /nonexistent/hook %s/etc/libvirt/hooks/qemu", d, d, d), 0);
	assert_int_equal(sh("%s --destdir %s --libexecdir " LIBEXEC " --sysconfdir /etc %s%s",
			    INSTALL, d, hook_path, q), 0);
	assert_int_equal(sh("test \"$(readlink %s/etc/libvirt/hooks/qemu)\" = /nonexistent/hook",
			    d), 0);
	assert_int_equal(sh("rm -rf %s", d), 0);
}

/* ---- the benchmark's baseline: the shell dispatcher must really forward --------------------- */

#define DISPATCHER HOOK_SRCDIR "/hook/bench-dispatcher.sh"

struct script_run {
	int status;
	char err[1024];
	char got[4096]; /* what reached the stream socket */
	size_t got_len;
};

/* Run the dispatcher with PATH=path, stdin from text, BENCH_DISPATCH_SOCKET at a listening
 * stream socket that this loop serves. */
static void run_dispatcher(const char *path, const char *text, struct script_run *ret)
{
	char stream[160], env_sock[200], env_path[300];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int in[2], err[2], conn = -1;

	memset(ret, 0, sizeof(*ret));
	snprintf(stream, sizeof(stream), "%s/stream.sock", tmpdir);
	unlink(stream);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(lfd >= 0);
	strcpy(sa.sun_path, stream);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	snprintf(env_sock, sizeof(env_sock), "BENCH_DISPATCH_SOCKET=%s", stream);
	snprintf(env_path, sizeof(env_path), "PATH=%s", path);
	char *const envp[] = { "LC_ALL=C", env_path, env_sock, NULL };
	char *const argv[] = { DISPATCHER, "vm", "migrate", "begin", "-", NULL };

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(err[1], 2);
		execve(DISPATCHER, argv, envp);
		_exit(126);
	}
	close(in[0]);
	close(err[1]);
	assert_int_equal(write(in[1], text, strlen(text)), (ssize_t)strlen(text));
	close(in[1]);

	double t0 = now_ms();
	bool err_open = true, exited = false;
	size_t err_len = 0;
	while (err_open || !exited || conn >= 0) {
		struct pollfd p[3] = { { .fd = err_open ? err[0] : -1, .events = POLLIN },
				       { .fd = lfd, .events = POLLIN },
				       { .fd = conn, .events = POLLIN } };
		if (now_ms() - t0 > RUN_LIMIT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail_msg("dispatcher still running after %d ms", RUN_LIMIT_MS);
		}
		(void)poll(p, 3, 20);
		if (p[0].revents) {
			ssize_t k = read(err[0], ret->err + err_len, sizeof(ret->err) - 1 - err_len);
			if (k <= 0)
				err_open = false;
			else
				err_len += (size_t)k;
		}
		if (p[1].revents && conn < 0)
			conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (conn >= 0 && p[2].revents) {
			ssize_t k = read(conn, ret->got + ret->got_len,
					 sizeof(ret->got) - 1 - ret->got_len);
			if (k > 0) {
				ret->got_len += (size_t)k;
			} else if (k == 0 || errno != EAGAIN) {
				close(conn);
				conn = -1;
			}
		}
		if (!exited && waitpid(pid, &ret->status, WNOHANG) == pid)
			exited = true;
		if (exited && !err_open && conn < 0) {
			/* A connection may still wait in the queue after the script exited. */
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (c < 0)
				break;
			conn = c;
		}
	}
	close(err[0]);
	close(lfd);
	unlink(stream);
}

static void dispatcher_forwards(void **state)
{
	/* socat is one of `make deps`' packages: missing, this fails and says so. */
	struct script_run r;
	run_dispatcher("/usr/sbin:/usr/bin:/sbin:/bin", "<domain><name>vm</name></domain>", &r);
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
		fail_msg("bench-dispatcher.sh failed (status %d): %s", r.status, r.err);
	assert_string_equal(r.got, "vm migrate begin -\n<domain><name>vm</name></domain>");
}

static void dispatcher_without_socat_fails_loudly(void **state)
{
	/* A PATH with cat and nothing else: no socat, no nc. */
	char bin[160], cat[200];
	snprintf(bin, sizeof(bin), "%s/bin", tmpdir);
	snprintf(cat, sizeof(cat), "%s/cat", bin);
	assert_int_equal(mkdir(bin, 0700), 0);
	assert_int_equal(symlink("/bin/cat", cat), 0);
	struct script_run r;
	run_dispatcher(bin, "<domain/>", &r);
	unlink(cat);
	rmdir(bin);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 127);
	assert_non_null(strstr(r.err, "socat not found"));
	assert_non_null(strstr(r.err, "make deps"));
	assert_int_equal(r.got_len, 0);
}

/* ---- main ------------------------------------------------------------------------------------- */

static void find_hook(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		perror("readlink /proc/self/exe");
		exit(1);
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	*slash = '\0';
	/* $(B)/tests/test-hook-exec -> $(B)/migtune-hook */
	if ((size_t)snprintf(hook_path, sizeof(hook_path), "%.*s/../migtune-hook",
			     (int)(sizeof(hook_path) - 32), self) >= sizeof(hook_path)) {
		fprintf(stderr, "test-hook-exec: path too long: %s\n", self);
		exit(1);
	}
	if (access(hook_path, X_OK) < 0) {
		fprintf(stderr, "test-hook-exec: %s not built: %s\n", hook_path, strerror(errno));
		exit(1);
	}
}

int main(void)
{
	find_hook();
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mth.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/hook.sock", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/hook.conf", tmpdir);

	FILE *f = fopen(HOOK_SRCDIR "/tests/hook/data/domain-2k.xml", "rb");
	if (!f) {
		perror("domain-2k.xml");
		return 1;
	}
	domain_xml = malloc(65536);
	domain_xml_len = fread(domain_xml, 1, 65536, f);
	fclose(f);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(event_reaches_agent, setup_each),
		cmocka_unit_test_setup(config_file_names_socket, setup_each),
		cmocka_unit_test_setup(bad_config_line_logged_once, setup_each),
		cmocka_unit_test_setup(no_agent, setup_each),
		cmocka_unit_test_setup(stale_socket, setup_each),
		cmocka_unit_test_setup(full_socket, setup_each),
		cmocka_unit_test_setup(garbage_xml_still_sends, setup_each),
		cmocka_unit_test_setup(hostile_xml_refused_at_its_bound, setup_each),
		cmocka_unit_test_setup(bad_policy_value_named_in_log, setup_each),
		cmocka_unit_test_setup(huge_stdin_read_to_eof, setup_each),
		cmocka_unit_test_setup(missing_stdin, setup_each),
		cmocka_unit_test_setup(hostile_domain_names, setup_each),
		cmocka_unit_test_setup(wrong_argument_count, setup_each),
		cmocka_unit_test_setup(unknown_op_is_forwarded, setup_each),
		cmocka_unit_test_setup(syslog_line, setup_each),
		cmocka_unit_test_setup(stalled_log_daemon, setup_each),
		cmocka_unit_test_setup(admission_off_by_default, setup_each),
		cmocka_unit_test_setup(admission_accept, setup_each),
		cmocka_unit_test_setup(admission_refuse, setup_each),
		cmocka_unit_test_setup(admission_only_on_migrate_begin, setup_each),
		cmocka_unit_test_setup(admission_stalled_agent_accepts, setup_each),
		cmocka_unit_test_setup(admission_doubt_accepts, setup_each),
		cmocka_unit_test_setup(options, setup_each),
		cmocka_unit_test_setup(selftest, setup_each),
		cmocka_unit_test_setup(install_modes, setup_each),
		cmocka_unit_test_setup(dispatcher_forwards, setup_each),
		cmocka_unit_test_setup(dispatcher_without_socat_fails_loudly, setup_each),
	};
	int rc = cmocka_run_group_tests_name("hook-exec", tests, NULL, NULL);
	unlink(conf_path);
	unlink(sock_path);
	rmdir(tmpdir);
	free(domain_xml);
	return rc;
}
