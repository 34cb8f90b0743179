/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migtuned program itself: command line, --check-config, start against libvirt's test driver,
 * SIGHUP reload (good and bad), a second instance refused, SIGTERM leaving the ring readable, and
 * a libvirtd that accepts connections and never answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/strutil.h"
#include "tests/agent/agent_testutil.h"
#include "tests/common/exe_copy.h"

#ifndef MIGTUNED_PATH
#error "MIGTUNED_PATH must name the built migtuned"
#endif

static char dir[64], conf[128], ring[64], hook[128], ctl[128];
static pid_t g_child;       /* the agent running, killed by teardown when a test failed */

struct proc {
	pid_t pid;
	int err_fd;            /* read end of the child's stderr */
	char err[16384];
	size_t err_len;
};

/* Runs exe as uid; a child that cannot become uid exits 126, one that cannot exec exe 127. */
static void start_as(struct proc *p, uid_t uid, const char *exe, char *const argv[])
{
	int fds[2];

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	p->pid = fork();
	g_child = p->pid;
	if (p->pid == 0) {
		if (uid && (setgid(uid) < 0 || setuid(uid) < 0))
			_exit(126);
		dup2(fds[1], 2);
		dup2(fds[1], 1);
		execv(exe, argv);
		_exit(127);
	}
	close(fds[1]);
	p->err_fd = fds[0];
	p->err_len = 0;
	p->err[0] = '\0';
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
}

/* Collects output until it contains want (or the time runs out); true if it did. */
static void start(struct proc *p, char *const argv[])
{
	start_as(p, 0, MIGTUNED_PATH, argv);
}

static bool wait_output(struct proc *p, const char *want, unsigned timeout_ms)
{
	for (unsigned t = 0; t <= timeout_ms; t += 20) {
		struct pollfd pf = { .fd = p->err_fd, .events = POLLIN };
		ssize_t n;

		if (strstr(p->err, want))
			return true;
		poll(&pf, 1, 20);
		n = read(p->err_fd, p->err + p->err_len, sizeof(p->err) - 1 - p->err_len);
		if (n > 0) {
			p->err_len += (size_t)n;
			p->err[p->err_len] = '\0';
		}
	}
	return strstr(p->err, want) != NULL;
}

static int finish(struct proc *p)
{
	int status;

	wait_output(p, "\x01never", 0);
	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	g_child = 0;
	/* Drain what is left. */
	for (;;) {
		ssize_t n = read(p->err_fd, p->err + p->err_len, sizeof(p->err) - 1 - p->err_len);

		if (n <= 0)
			break;
		p->err_len += (size_t)n;
	}
	p->err[p->err_len] = '\0';
	close(p->err_fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Like finish(), but a process still running after timeout_ms is killed and the test fails. */
static int finish_within(struct proc *p, unsigned timeout_ms)
{
	uint64_t end = ring_now_mono_ns() + (uint64_t)timeout_ms * 1000000;
	int status;

	while (ring_now_mono_ns() < end) {
		wait_output(p, "\x01never", 0);
		usleep(20000);
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			g_child = 0;
			wait_output(p, "\x01never", 0);
			close(p->err_fd);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
	}
	kill(p->pid, SIGKILL);
	finish(p);
	fail_msg("migtuned still running %u ms after being asked to stop; its output:\n%s",
		 timeout_ms, p->err);
	return -1;
}

static int run(char *const argv[], struct proc *p)
{
	start(p, argv);
	return finish(p);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	tu_tmpdir("dmn", dir, sizeof(dir));
	snprintf(conf, sizeof(conf), "%s/m.conf", dir);
	snprintf(hook, sizeof(hook), "%s/hook.sock", dir);
	snprintf(ctl, sizeof(ctl), "%s/ctl.sock", dir);
	tu_ring_name("dmn", ring, sizeof(ring));
	return 0;
}

static int teardown(void **state)
{
	if (g_child > 0) {
		kill(g_child, SIGKILL);
		waitpid(g_child, NULL, 0);
		g_child = 0;
	}
	shm_unlink(ring);
	tu_rmdir(dir);
	return 0;
}

static void test_help_version_usage(void **state)
{
	struct proc p;

	assert_int_equal(run((char *[]){ "migtuned", "--help", NULL }, &p), 0);
	assert_non_null(strstr(p.err, "Usage: migtuned [OPTION]..."));
	assert_non_null(strstr(p.err, "--check-config"));
	assert_non_null(strstr(p.err, "SIGHUP"));
	assert_int_equal(run((char *[]){ "migtuned", "--version", NULL }, &p), 0);
	assert_non_null(strstr(p.err, "migtuned " MIGTUNE_VERSION));
	assert_int_equal(run((char *[]){ "migtuned", "--bogus", NULL }, &p), 1);
	assert_non_null(strstr(p.err, "Try 'migtuned --help'"));
	assert_int_equal(run((char *[]){ "migtuned", "extra", NULL }, &p), 1);
	assert_non_null(strstr(p.err, "unexpected argument 'extra'"));
}

static void test_check_config(void **state)
{
	struct proc p;
	char want[256];

	/* the old '_' spelling: accepted, with one warning naming the new one */
	write_file(conf, "[sampling]\ninterval_ms = 250\n");
	assert_int_equal(run((char *[]){ "migtuned", "--check-config", "-c", conf,
					 "--connect", "test:///default", NULL }, &p), 0);
	snprintf(want, sizeof(want), "migtuned: warning: %s: [sampling] interval_ms: old spelling "
		 "of interval-ms, still accepted; rename it\n", conf);
	assert_non_null(strstr(p.err, want));
	assert_non_null(strstr(p.err, "[sampling]\ninterval-ms = 250\n"));
	assert_non_null(strstr(p.err, "dirtyrate-interval-s = 60\n"));
	assert_non_null(strstr(p.err, "uri = test:///default\n"));
	write_file(conf, "[sampling]\ninterval-ms = 250\n");
	assert_int_equal(run((char *[]){ "migtuned", "--check-config", "-c", conf, NULL }, &p), 0);
	assert_null(strstr(p.err, "warning"));

	write_file(conf, "[sampling]\ninterval_ms = 250\n[libvirt]\nkeepalive_count = 0\n");
	assert_int_equal(run((char *[]){ "migtuned", "--check-config", "-c", conf, NULL }, &p), 1);
	snprintf(want, sizeof(want), "migtuned: %s:4: [libvirt] keepalive_count: 0 is out of range", conf);
	assert_non_null(strstr(p.err, want));
	/* One line, nothing else. */
	assert_int_equal(strchr(p.err, '\n') - p.err + 1, (long)strlen(p.err));

	/* A file named on the command line must exist. */
	assert_int_equal(run((char *[]){ "migtuned", "--check-config", "-c", "/nonexistent/m.conf",
					 NULL }, &p), 1);
	assert_non_null(strstr(p.err, "/nonexistent/m.conf: cannot open: No such file or directory"));
}

static void test_run_reload_stop(void **state)
{
	struct proc p, second;
	char buf[65536];
	struct ring_record *recs;
	size_t n;
	bool stop_last = false;

	write_file(conf, "[sampling]\ninterval_ms = 100\nheartbeat_ms = 200\n");
	start(&p, (char *[]){ "migtuned", "-f", "-c", conf, "--connect", "test:///default",
			      "--ring", ring, "--hook-socket", hook, "--ctl-socket", ctl, NULL });
	assert_true(wait_output(&p, "connected to test:///default", 10000));

	assert_int_equal(tu_ctl_request(ctl, "status", buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "\"interval_ms\":100"));
	assert_non_null(strstr(buf, "\"connected\":true"));

	/* A second agent on the same ring and sockets is refused, the first keeps running. */
	assert_int_equal(run((char *[]){ "migtuned", "-f", "-c", conf, "--connect", "test:///default",
					 "--ring", ring, "--hook-socket", hook, "--ctl-socket", ctl,
					 NULL }, &second), 2);
	assert_non_null(strstr(second.err, "another migtuned is running"));

	write_file(conf, "[sampling]\ninterval_ms = 300\nheartbeat_ms = 200\n");
	kill(p.pid, SIGHUP);
	assert_true(wait_output(&p, "configuration reloaded", 5000));
	assert_int_equal(tu_ctl_request(ctl, "status", buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "\"interval_ms\":300"));

	write_file(conf, "[sampling]\ninterval_ms = 300\nbogus = 1\n");
	kill(p.pid, SIGHUP);
	assert_true(wait_output(&p, "reload refused, keeping the running configuration", 5000));
	assert_non_null(strstr(p.err, ":3: [sampling] bogus: unknown key"));
	assert_int_equal(tu_ctl_request(ctl, "ping", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"ok\":true}\n");

	kill(p.pid, SIGTERM);
	assert_int_equal(finish(&p), 0);
	assert_non_null(strstr(p.err, "shutting down"));
	/* Sockets are gone, the ring stays with a clean stop as its last word. */
	assert_int_equal(access(hook, F_OK), -1);
	assert_int_equal(access(ctl, F_OK), -1);
	recs = calloc(4096, sizeof(*recs));
	n = tu_read_all(ring, recs, 4096);
	assert_true(n >= 4);
	for (size_t i = 0; i < n; i++)
		if (recs[i].type == RING_REC_AGENT)
			stop_last = recs[i].u.agent.kind == RING_AGENT_STOP;
	assert_true(stop_last);
	assert_int_equal(tu_count(recs, n, RING_REC_AGENT), 5);   /* start, connect, 2 reloads, stop */
	free(recs);
	{
		struct ring_reader *r;
		struct ring_header h;

		assert_int_equal(ring_reader_open(ring, &r), 0);
		assert_int_equal(ring_reader_snapshot_header(r, &h), 0);
		assert_int_equal(h.writer_state, RING_WRITER_STOPPED);
		ring_reader_close(r);
	}
}

static bool file_has(const char *path, const char *want)
{
	char buf[65536];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, want) != NULL;
}

/* The Prometheus file of a running agent, as promtool reads it, and migtune-hook --selftest
 * against that agent: a probe, never a malformed hook message. */
static void test_metrics_file_and_hook_selftest(void **state)
{
	char prom[160], cmd[1024], hookbin[256];
	struct proc p;
	int st = -1;

	snprintf(prom, sizeof(prom), "%s/migtune.prom", dir);
	snprintf(hookbin, sizeof(hookbin), "%s", MIGTUNED_PATH);
	snprintf(strrchr(hookbin, '/') + 1, sizeof(hookbin) - (size_t)(strrchr(hookbin, '/') + 1 -
		 hookbin), "migtune-hook");
	snprintf(cmd, sizeof(cmd), "[metrics]\ntextfile = %s\ninterval-s = 1\n", prom);
	write_file(conf, cmd);
	start(&p, (char *[]){ "migtuned", "-f", "-c", conf, "--connect", "test:///default",
			      "--ring", ring, "--hook-socket", hook, "--ctl-socket", ctl, NULL });
	assert_true(wait_output(&p, "connected to test:///default", 10000));
	snprintf(cmd, sizeof(cmd), "MIGTUNE_HOOK_SOCKET='%s' MIGTUNE_HOOK_CONF=/nonexistent "
		 "'%s' --selftest > '%s/selftest.out' 2>&1", hook, hookbin, dir);
	st = system(cmd);
	assert_int_equal(st, 0);             /* READY */
	for (int i = 0; i < 300 && !file_has(prom, "migtune_agent_hook_probes_total 1\n"); i++)
		usleep(10000);
	assert_true(file_has(prom, "migtune_agent_hook_probes_total 1\n"));
	assert_true(file_has(prom, "migtune_agent_hook_malformed_total 0\n"));
	assert_true(file_has(prom, "migtune_agent_heartbeat_timestamp_seconds 1"));
	assert_true(file_has(prom, "# TYPE migtune_actions_total counter\n"));
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", prom);
	st = system(cmd);
	if (st != 0)
		fprintf(stderr, "promtool check metrics failed (exit %d): is promtool installed (make "
			"deps: Debian's prometheus package)?\n", WEXITSTATUS(st));
	assert_int_equal(st, 0);
	kill(p.pid, SIGTERM);
	assert_int_equal(finish(&p), 0);
	assert_true(file_has(prom, "migtune_agent_up 0\n"));
}

static void test_unreachable_libvirt_is_not_fatal(void **state)
{
	struct proc p;
	char buf[16384];

	write_file(conf, "[libvirt]\nreconnect_min_ms = 50\nreconnect_max_ms = 100\n");
	start(&p, (char *[]){ "migtuned", "-f", "-c", conf,
			      "--connect", "qemu+unix:///system?socket=/nonexistent/x.sock",
			      "--ring", ring, "--hook-socket", hook, "--ctl-socket", ctl, NULL });
	assert_true(wait_output(&p, "cannot connect to qemu+unix:///system?socket=/nonexistent/x.sock: "
				"libvirtd is not running", 10000));
	usleep(500000);
	/* Logged once per reason, not at every retry; still serving. */
	assert_null(strstr(strstr(p.err, "cannot connect") + 1, "cannot connect"));
	assert_int_equal(tu_ctl_request(ctl, "status", buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "\"connected\":false"));
	kill(p.pid, SIGINT);
	assert_int_equal(finish(&p), 0);
}

static void test_refused_by_libvirt_is_fatal(void **state)
{
	struct proc p;
	char locked[128], sock[200], pub[128], h2[200], c2[200];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char uri[300];
	int fd;

	if (geteuid() != 0)
		skip();
	/* A libvirt socket only root can reach, an agent running as nobody. */
	snprintf(locked, sizeof(locked), "%s/locked", dir);
	mkdir(locked, 0700);
	snprintf(sock, sizeof(sock), "%s/libvirt-sock", locked);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	str_copy(sa.sun_path, sizeof(sa.sun_path), sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	snprintf(pub, sizeof(pub), "%s/pub", dir);
	mkdir(pub, 0777);
	chmod(pub, 0777);
	chmod(dir, 0755);
	snprintf(h2, sizeof(h2), "%s/h.sock", pub);
	snprintf(c2, sizeof(c2), "%s/c.sock", pub);
	snprintf(uri, sizeof(uri), "qemu+unix:///system?socket=%s", sock);
	/* nobody may not reach the build tree (a checkout in root's home is 0700): a copy */
	char exe[256];
	assert_int_equal(exe_copy_reachable(MIGTUNED_PATH, exe, sizeof(exe)), 0);
	start_as(&p, 65534, exe, (char *[]){ "migtuned", "-f", "--connect", uri, "--ring", ring,
					     "--hook-socket", h2, "--ctl-socket", c2, NULL });
	int code = finish(&p);
	exe_copy_remove(exe);
	if (code == 126 || code == 127)
		fail_msg("could not run %s as nobody (exit %d: setuid or exec failed), so its own "
			 "answer was never seen", exe, code);
	assert_int_equal(code, 2);
	if (!strstr(p.err, "permission denied (run as root or in group libvirt)"))
		fail_msg("got: %s", p.err);
	close(fd);
	unlink(sock);
	rmdir(locked);
	tu_rmdir(pub);
}

/* ---- a libvirtd that accepts and never answers ------------------------------------------- */

struct mute_daemon {
	int fd;
	int stop;                    /* atomic */
	unsigned accepted;           /* atomic */
	int conns[64];
	pthread_t thread;
};

static void *mute_thread(void *arg)
{
	struct mute_daemon *m = arg;
	unsigned n = 0;

	while (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
		struct pollfd p = { .fd = m->fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* Kept open and never read: the client's requests wait for ever. */
		if (n < 64)
			m->conns[n++] = c;
		else
			close(c);
		__atomic_fetch_add(&m->accepted, 1, __ATOMIC_RELAXED);
	}
	for (unsigned i = 0; i < n; i++)
		close(m->conns[i]);
	return NULL;
}

static void mute_start(struct mute_daemon *m, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(m, 0, sizeof(*m));
	m->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(m->fd >= 0);
	str_copy(sa.sun_path, sizeof(sa.sun_path), path);
	assert_int_equal(bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(m->fd, 16), 0);
	assert_int_equal(pthread_create(&m->thread, NULL, mute_thread, m), 0);
}

static void mute_stop(struct mute_daemon *m, const char *path)
{
	__atomic_store_n(&m->stop, 1, __ATOMIC_RELAXED);
	pthread_join(m->thread, NULL);
	close(m->fd);
	unlink(path);
}

static int ring_liveness(void)
{
	struct ring_reader *r;
	int l;

	if (ring_reader_open(ring, &r) < 0)
		return -1;
	l = ring_reader_liveness(r, ring_now_mono_ns());
	ring_reader_close(r);
	return l;
}

static long json_int_after(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static uint32_t ring_heartbeat_interval(void)
{
	struct ring_reader *r;
	struct ring_header h;
	uint32_t ms = 0;

	if (ring_reader_open(ring, &r) < 0)
		return 0;
	if (ring_reader_snapshot_header(r, &h) == 0)
		ms = h.heartbeat_interval_ms;
	ring_reader_close(r);
	return ms;
}

/*
 * The heartbeat used to be written only on the sampling tick: with a sampling interval longer
 * than three heartbeats (a valid configuration) readers saw the agent flap between live and
 * stalled.  And a reload changed the period but not the interval in the ring's header.
 */
static void test_heartbeat_has_its_own_timer(void **state)
{
	struct proc p;

	write_file(conf, "[sampling]\ninterval-ms = 5000\nheartbeat-ms = 200\n");
	start(&p, (char *[]){ "migtuned", "-f", "-c", conf, "--connect", "test:///default",
			      "--ring", ring, "--hook-socket", hook, "--ctl-socket", ctl, NULL });
	assert_true(wait_output(&p, "connected to test:///default", 10000));
	assert_int_equal(ring_heartbeat_interval(), 200);
	for (int i = 0; i < 25; i++) {
		assert_int_equal(ring_liveness(), RING_LIVE);
		usleep(100000);
	}
	write_file(conf, "[sampling]\ninterval-ms = 5000\nheartbeat-ms = 1500\n");
	kill(p.pid, SIGHUP);
	assert_true(wait_output(&p, "configuration reloaded", 5000));
	assert_int_equal(ring_heartbeat_interval(), 1500);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(ring_liveness(), RING_LIVE);
		usleep(200000);
	}
	kill(p.pid, SIGTERM);
	assert_int_equal(finish_within(&p, 5000), 0);
}

/* Datagrams a fake service manager received, each appended to buf with a "|" between. */
static void notify_collect(int fd, char *buf, size_t len, unsigned timeout_ms, const char *want)
{
	for (unsigned t = 0; t < timeout_ms && !strstr(buf, want); t += 10) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		char dg[1024];
		ssize_t n;

		if (poll(&pf, 1, 10) <= 0)
			continue;
		n = recv(fd, dg, sizeof(dg) - 1, 0);
		if (n <= 0)
			continue;
		dg[n] = '\0';
		snprintf(buf + strlen(buf), len - strlen(buf), "%s|", dg);
	}
}

/* Under systemd (Type=notify): ready once serving, the watchdog fed from the main loop, reload
 * and stop announced.  Without NOTIFY_SOCKET nothing is sent (every other test). */
static void test_service_manager_notifications(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[128], got[8192] = "", buf[4096];
	struct proc p;
	int fd, watchdogs = 0;

	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	str_copy(sa.sun_path, sizeof(sa.sun_path), path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	write_file(conf, "[sampling]\ninterval-ms = 5000\n");
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "600000", 1);        /* fed at least every 200 ms */
	start(&p, (char *[]){ "migtuned", "-f", "-c", conf, "--connect", "test:///default",
			      "--ring", ring, "--hook-socket", hook, "--ctl-socket", ctl, NULL });
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	notify_collect(fd, got, sizeof(got), 10000, "READY=1");
	assert_non_null(strstr(got, "READY=1"));
	/* Ready means serving. */
	assert_int_equal(tu_ctl_request(ctl, "ping", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"ok\":true}\n");
	/* The watchdog is fed although sampling runs only every 5 s. */
	got[0] = '\0';
	notify_collect(fd, got, sizeof(got), 1000, "\x01never");
	for (const char *q = got; (q = strstr(q, "WATCHDOG=1")); q++)
		watchdogs++;
	assert_true(watchdogs >= 4);
	kill(p.pid, SIGHUP);
	got[0] = '\0';
	notify_collect(fd, got, sizeof(got), 5000, "READY=1");
	assert_non_null(strstr(got, "RELOADING=1"));
	assert_true(strstr(got, "RELOADING=1") < strstr(got, "READY=1"));
	kill(p.pid, SIGTERM);
	got[0] = '\0';
	notify_collect(fd, got, sizeof(got), 5000, "STOPPING=1");
	assert_non_null(strstr(got, "STOPPING=1"));
	assert_int_equal(finish_within(&p, 5000), 0);
	close(fd);
	unlink(path);
}

/*
 * virConnectOpen on a daemon that never answers used to hold the agent's only loop: no heartbeat,
 * no queue drained, SIGTERM ignored.  Now the open is abandoned after call_timeout_s and retried
 * with backoff, and everything else goes on.
 */
static void test_mute_libvirtd_does_not_freeze_the_agent(void **state)
{
	struct mute_daemon m;
	struct proc p;
	char sock[128], uri[200], want[300], buf[16384];
	struct ring_record *recs;
	size_t n;
	bool stop_last = false;
	int rc;

	snprintf(sock, sizeof(sock), "%s/mute.sock", dir);
	snprintf(uri, sizeof(uri), "qemu+unix:///system?socket=%s", sock);
	mute_start(&m, sock);
	write_file(conf, "[sampling]\ninterval-ms = 100\nheartbeat-ms = 200\n"
		   "[libvirt]\ncall-timeout-s = 1\nreconnect-min-ms = 100\nreconnect-max-ms = 400\n");
	start(&p, (char *[]){ "migtuned", "-f", "-c", conf, "--connect", uri, "--ring", ring,
			      "--hook-socket", hook, "--ctl-socket", ctl, NULL });
	snprintf(want, sizeof(want), "libvirt: virConnectOpen(%s) has not returned after", uri);
	if (!wait_output(&p, want, 10000)) {
		kill(p.pid, SIGKILL);
		finish(&p);
		mute_stop(&m, sock);
		fail_msg("no report of the hung virConnectOpen; output:\n%s", p.err);
	}
	assert_true(wait_output(&p, "(1 socket(s) to libvirtd shut down)", 1000));
	assert_true(wait_output(&p, "libvirtd accepted the connection but did not answer within 1 s",
				3000));

	/* The heartbeat goes on (readers call a writer stalled after three missed intervals). */
	for (int i = 0; i < 20; i++) {
		assert_int_equal(ring_liveness(), RING_LIVE);
		usleep(100000);
	}
	/* The control socket answers and says what it knows: not connected. */
	assert_int_equal(tu_ctl_request(ctl, "status", buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "\"connected\":false"));
	assert_non_null(strstr(buf, "\"queue\":{"));
	/* The agent keeps retrying: the daemon saw several connections. */
	assert_true(__atomic_load_n(&m.accepted, __ATOMIC_RELAXED) >= 2);

	if (geteuid() == 0) {
		/* Hook messages are queued and drained between two hung attempts. */
		struct wire_event ev;

		tu_hook_event(&ev, "vm-hung", NULL, "migrate", "begin", "-");
		for (int i = 0; i < 10; i++)
			assert_int_equal(tu_hook_send(hook, &ev, WIRE_TYPE_EVENT, NULL), 0);
		for (int t = 0; t < 100; t++) {
			assert_int_equal(tu_ctl_request(ctl, "status", buf, sizeof(buf)), 0);
			if (json_int_after(buf, "\"hook_messages\":") == 10)
				break;
			usleep(100000);
		}
		assert_int_equal(json_int_after(buf, "\"hook_messages\":"), 10);
		assert_int_equal(json_int_after(buf, "\"dropped\":"), 0);
	}

	/* SIGTERM while virConnectOpen waits: a prompt, clean stop. */
	for (int t = 0; t < 100 && !strstr(buf, "virConnectOpen"); t++) {
		usleep(50000);
		assert_int_equal(tu_ctl_request(ctl, "status", buf, sizeof(buf)), 0);
	}
	kill(p.pid, SIGTERM);
	rc = finish_within(&p, 5000);
	mute_stop(&m, sock);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(p.err, "shutting down"));
	recs = calloc(4096, sizeof(*recs));
	n = tu_read_all(ring, recs, 4096);
	for (size_t i = 0; i < n; i++)
		if (recs[i].type == RING_REC_AGENT)
			stop_last = recs[i].u.agent.kind == RING_AGENT_STOP;
	free(recs);
	assert_true(stop_last);
	assert_int_equal(ring_liveness(), RING_STOPPED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_version_usage),
		cmocka_unit_test_setup_teardown(test_check_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_file_and_hook_selftest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_reload_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_libvirt_is_not_fatal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_by_libvirt_is_fatal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_has_its_own_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_manager_notifications, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mute_libvirtd_does_not_freeze_the_agent, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
