/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * migsim --ring and --dump: a simulated migration recorded as the agent would record it, shown by
 * migtop and migdump with neither root nor a lab.  Run as the user nobody when the test runs as
 * root (from copies of the programs and the scenario that nobody can reach), as the calling user
 * otherwise: what an operator trying migtune on a laptop does.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tests/common/exe_copy.h"
#include "tests/views/runprog.h"
#include "tests/views/synth.h"

#define MIGSIM  VIEWS_BIN_DIR "/migsim"
#define MIGTOP  VIEWS_BIN_DIR "/migtop"
#define MIGDUMP VIEWS_BIN_DIR "/migdump"
#define SCENARIOS VIEWS_SCENARIO_DIR
#define WAIT_MS 20000

/* The programs and scenarios as the user who runs them sees them. */
struct who {
	uid_t uid;                       /* (uid_t)-1: the calling user */
	gid_t gid;
	char migsim[256], migtop[256], migdump[256];
	char dir[128];                   /* where the copies are (nobody) */
	char ring[64];
	char dump[300];
	char copied[8][512];             /* scenarios copied there */
	int n_copied;
};

static struct who who;
static pid_t sim_pid = -1;           /* a simulator in the background, killed at teardown */

static void copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t k;

	if (in < 0)
		fail_msg("cannot read %s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(out >= 0);
	while ((k = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)k), k);
	assert_int_equal(k, 0);
	close(in);
	assert_int_equal(close(out), 0);
}

/* A scenario of tests/sim/scenarios, where the runner can read it. */
static void scenario(const char *name, char *ret, size_t len)
{
	char src[512];

	snprintf(src, sizeof(src), "%s/%s", SCENARIOS, name);
	if (who.uid == (uid_t)-1) {
		snprintf(ret, len, "%s", src);
		return;
	}
	snprintf(ret, len, "%s/%s", who.dir, name);
	if (access(ret, R_OK) != 0) {
		copy_file(src, ret);
		assert_true(who.n_copied < 8);
		snprintf(who.copied[who.n_copied++], sizeof(who.copied[0]), "%s", ret);
	}
}

static int setup(void **state)
{
	(void)state;
	memset(&who, 0, sizeof(who));
	who.uid = (uid_t)-1;
	who.gid = (gid_t)-1;
	snprintf(who.migsim, sizeof(who.migsim), "%s", MIGSIM);
	snprintf(who.migtop, sizeof(who.migtop), "%s", MIGTOP);
	snprintf(who.migdump, sizeof(who.migdump), "%s", MIGDUMP);
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		if (!pw) {
			print_error("no user 'nobody': the test runs the simulator and migtop as an "
				    "unprivileged user\n");
			return -1;
		}
		who.uid = pw->pw_uid;
		who.gid = pw->pw_gid;
		/* copies in one directory nobody can reach: migsim's, then the others beside it */
		if (exe_copy_reachable(MIGSIM, who.migsim, sizeof(who.migsim)) < 0)
			return -1;
		int dl = (int)(strrchr(who.migsim, '/') - who.migsim);
		if (dl >= (int)sizeof(who.dir))
			return -1;
		memcpy(who.dir, who.migsim, (size_t)dl);
		who.dir[dl] = '\0';
		snprintf(who.migtop, sizeof(who.migtop), "%s/migtop", who.dir);
		snprintf(who.migdump, sizeof(who.migdump), "%s/migdump", who.dir);
		copy_file(MIGTOP, who.migtop);
		copy_file(MIGDUMP, who.migdump);
		chmod(who.migtop, 0755);
		chmod(who.migdump, 0755);
		/* nobody writes the dump there */
		chmod(who.dir, 0777 | S_ISVTX);
	}
	synth_ring_name(who.ring, sizeof(who.ring));
	snprintf(who.dump, sizeof(who.dump), "%s/sim-%d.migdump", who.dir[0] ? who.dir : "/tmp",
		 (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	if (sim_pid > 0) {
		kill(sim_pid, SIGKILL);
		waitpid(sim_pid, NULL, 0);
		sim_pid = -1;
	}
	snprintf(path, sizeof(path), "/dev/shm%s", who.ring);
	unlink(path);
	unlink(who.dump);
	if (who.dir[0]) {
		/* the copies, the scenarios, then the directory with migsim's copy */
		for (int i = 0; i < who.n_copied; i++)
			unlink(who.copied[i]);
		unlink(who.migtop);
		unlink(who.migdump);
		exe_copy_remove(who.migsim);
	}
	return 0;
}

#define RUNW(r, ...) do { char *const av_[] = { __VA_ARGS__, NULL }; \
	run_as((r), who.uid, who.gid, av_); } while (0)

/* Unpaced (--speed 0): the whole scenario in a moment, placed to end now; migtop shows it. */
static void test_ring_unpaced(void **state)
{
	(void)state;
	char scn[512], line[1024];
	struct run r;

	scenario("sweep-concurrent-2e2h-10g-00s.json", scn, sizeof(scn));
	RUNW(&r, who.migsim, "--ring", who.ring, "--speed", "0", "-q", scn);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "easy1      completed"));
	assert_non_null(strstr(r.err, " records in ring "));
	run_free(&r);
	/* written by the user who ran it, root or not */
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "/dev/shm%s", who.ring);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, who.uid == (uid_t)-1 ? geteuid() : who.uid);

	RUNW(&r, who.migtop, "--ring", who.ring, "-b", "-n", "1");
	assert_int_equal(r.status, 0);
	/* nobody takes it for a host's agent */
	assert_non_null(strstr(r.out, "agent stopped"));
	assert_non_null(strstr(r.out, "  SIMULATED  active  policy adaptive  "));
	assert_non_null(strstr(r.out, "migrations 4 (0 running)"));
	assert_non_null(strstr(r.out, "NIC sim0 up speed 10000Mb/s"));
	/* the easy guests completed, the hard ones were parked when the scenario ended */
	assert_non_null(run_line_with(r.out, "easy1 ", line, sizeof(line)));
	assert_non_null(strstr(line, " done "));
	assert_non_null(run_line_with(r.out, "hard1 ", line, sizeof(line)));
	assert_non_null(strstr(line, " unknown "));
	assert_non_null(strstr(line, " adaptive "));
	assert_non_null(strstr(line, "bandwidth "));
	run_free(&r);

	RUNW(&r, who.migtop, "--ring", who.ring, "--json", "-n", "1");
	assert_int_equal(r.status, 0);
	struct json_object *j = json_tokener_parse(r.out), *x;
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "simulated", &x));
	assert_true(json_object_get_boolean(x));
	assert_true(json_object_object_get_ex(j, "sim_speed", &x));
	assert_int_equal(json_object_get_int(x), 0);
	json_object_put(j);
	run_free(&r);

	/* the agent's own ring is never the simulator's */
	RUNW(&r, who.migsim, "--ring", "/migtune", "-q", scn);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "--ring /migtune is the agent's ring: name another one"));
	run_free(&r);
}

/* Fields of the one migration in migtop --json: its phase, elapsed_ms and ETA state. */
static bool snapshot(const char *domain, char *phase, size_t plen, uint64_t *elapsed_ms,
		     char *eta, size_t elen, char *agent, size_t alen)
{
	struct run r;
	bool found = false;

	RUNW(&r, who.migtop, "--ring", who.ring, "--json", "-n", "1");
	struct json_object *j = r.status == 0 ? json_tokener_parse(r.out) : NULL, *migs, *x;
	if (j && json_object_object_get_ex(j, "agent", &x))
		snprintf(agent, alen, "%s", json_object_get_string(x));
	if (j && json_object_object_get_ex(j, "migrations", &migs)) {
		for (size_t i = 0; i < json_object_array_length(migs); i++) {
			struct json_object *m = json_object_array_get_idx(migs, i);
			if (!json_object_object_get_ex(m, "domain", &x) ||
			    strcmp(json_object_get_string(x), domain) != 0)
				continue;
			json_object_object_get_ex(m, "phase", &x);
			snprintf(phase, plen, "%s", json_object_get_string(x));
			json_object_object_get_ex(m, "elapsed_ms", &x);
			*elapsed_ms = json_object_get_uint64(x);
			json_object_object_get_ex(m, "eta", &x);
			snprintf(eta, elen, "%s", json_object_get_string(x));
			found = true;
		}
	}
	json_object_put(j);
	run_free(&r);
	return found;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Paced: a live ring, a simulated second every twentieth of a real one, never faster; the
 * policy's prediction reaches the ETA; interrupted, the ring says the writer stopped. */
static void test_ring_live(void **state)
{
	(void)state;
	char scn[512], speed[] = "20", phase[32] = "", eta[32] = "", agent[32] = "";
	uint64_t e0 = 0, e1 = 0, t0, t1;

	/* parked by the adaptive policy at 36 s, aborted at its budget of 600 s */
	scenario("nothing-allowed.json", scn, sizeof(scn));
	pid_t pid = sim_pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (who.uid != (uid_t)-1 &&
		    (setgroups(0, NULL) < 0 || setgid(who.gid) < 0 || setuid(who.uid) < 0))
			_exit(126);
		execl(who.migsim, who.migsim, "--ring", who.ring, "--speed", speed, "-q", scn,
		      (char *)NULL);
		_exit(127);
	}
	/* it runs: live, with its migration in pre-copy */
	bool running = false;
	for (int w = 0; w < WAIT_MS && !running; w += 100) {
		running = snapshot("olap", phase, sizeof(phase), &e0, eta, sizeof(eta), agent,
				   sizeof(agent)) && strcmp(agent, "live") == 0 &&
			  strcmp(phase, "pre-copy") == 0;
		if (!running)
			sleep_ms(100);
	}
	if (!running)
		fail_msg("migsim --ring never showed a running migration (agent '%s', phase '%s')",
			 agent, phase);
	t0 = now_ms();
	sleep_ms(1500);
	assert_true(snapshot("olap", phase, sizeof(phase), &e1, eta, sizeof(eta), agent,
			     sizeof(agent)));
	t1 = now_ms();
	/* it moves, and no faster than 20 simulated seconds a second (a sample is 500 ms) */
	assert_true(e1 > e0);
	assert_true(e1 - e0 <= 20 * (t1 - t0 + 200) + 500);

	/* once parked, the policy predicts it never finishes as it runs */
	bool parked = strcmp(eta, "never") == 0;
	for (int w = 0; w < WAIT_MS && !parked; w += 200) {
		sleep_ms(200);
		parked = snapshot("olap", phase, sizeof(phase), &e1, eta, sizeof(eta), agent,
				  sizeof(agent)) && strcmp(eta, "never") == 0;
	}
	assert_true(parked);

	/* interrupted: it says so, and the ring's writer is stopped, not dead */
	assert_int_equal(kill(pid, SIGTERM), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	sim_pid = -1;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 130);
	assert_true(snapshot("olap", phase, sizeof(phase), &e1, eta, sizeof(eta), agent,
			     sizeof(agent)));
	assert_string_equal(agent, "stopped");
}

/* --dump: the same records in a file; migdump -d shows samples, actions with their
 * predictions, and the agent's events; -i says migsim wrote it. */
static void test_dump(void **state)
{
	(void)state;
	char scn[512];
	struct run r;

	scenario("lab-s1.json", scn, sizeof(scn));
	RUNW(&r, who.migsim, "--dump", who.dump, "-q", scn);
	assert_int_equal(r.status, 0);
	run_free(&r);

	RUNW(&r, who.migdump, "-d", who.dump);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "agent  start pid "));
	assert_non_null(strstr(r.out, "(simulated, not a host)"));
	assert_non_null(strstr(r.out, "event  s1 migration found outgoing job running"));
	assert_non_null(strstr(r.out, "sample s1 out pre-copy pass 1 "));
	assert_non_null(strstr(r.out, "action s1 postcopy [adaptive] needs 5919 ms > SLA limit"));
	assert_non_null(strstr(r.out, "prediction s1 postcopy (reason 9): finishes in 4.7 s, 95M to "
				      "send"));
	assert_non_null(strstr(r.out, "sample s1 out done pass 3 "));
	assert_non_null(strstr(r.out, "event  s1 migration completed completed-postcopy after 6.6 s, "
				      "downtime 3 ms"));
	run_free(&r);

	RUNW(&r, who.migdump, "-d", who.dump, "-i");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "mode:        SIMULATED  active  policy adaptive (written by "
				      "migsim, not by a host's agent)"));
	run_free(&r);

	RUNW(&r, who.migtop, "-r", who.dump, "-b", "-d", "60");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "SIMULATED"));
	assert_non_null(strstr(r.out, " done "));
	run_free(&r);
}

/* Whether the user nobody can read path (and run it if exe): a checkout in root's home cannot. */
static bool reachable_by(uid_t uid, gid_t gid, const char *path, bool exe)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(2);
		_exit(access(path, exe ? X_OK : R_OK) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* make try, not on a terminal: a few snapshots of the simulation, then nothing left behind. */
static void test_make_try(void **state)
{
	(void)state;
	char cmd[1024], ring[64];
	uid_t uid = who.uid;
	gid_t gid = who.gid;
	struct run r;

	if (uid != (uid_t)-1 && !(reachable_by(uid, gid, VIEWS_SRC_DIR "/scripts/try.sh", false) &&
				  reachable_by(uid, gid, MIGSIM, true) &&
				  reachable_by(uid, gid, VIEWS_SRC_DIR "/tests/sim/scenarios", true))) {
		print_message("make try: the checkout is not readable by nobody: run as root instead\n");
		uid = (uid_t)-1;
		gid = (gid_t)-1;
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && B='%s' SPEED=20 exec scripts/try.sh", VIEWS_SRC_DIR,
		 VIEWS_BIN_DIR);
	char *const av[] = { "/bin/sh", "-c", cmd, NULL };
	run_as(&r, uid, gid, av);
	assert_int_equal(r.status, 0);
	/* three snapshots: the simulator's header, its four guests */
	size_t blocks = 0;
	for (const char *p = r.out; (p = strstr(p, "agent live")); p++)
		blocks++;
	assert_int_equal(blocks, 3);
	assert_non_null(strstr(r.out, "  SIMULATED x20  active  policy adaptive  "));
	assert_non_null(strstr(r.out, "\neasy1 "));
	assert_non_null(strstr(r.out, "\nhard2 "));
	run_free(&r);
	/* its ring is gone */
	snprintf(ring, sizeof(ring), "/dev/shm/migtune-try-%u",
		 (unsigned)(uid == (uid_t)-1 ? geteuid() : uid));
	assert_int_equal(access(ring, F_OK), -1);
}

static void test_usage(void **state)
{
	(void)state;
	char scn[512];
	struct run r;

	scenario("lab-s1.json", scn, sizeof(scn));
	RUNW(&r, who.migsim, "--speed", "10", scn);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--speed paces a ring: give --ring NAME too"));
	run_free(&r);
	RUNW(&r, who.migsim, "--ring", who.ring, "--speed", "5000", scn);
	assert_int_equal(r.status, 2);
	run_free(&r);
	RUNW(&r, who.migsim, "--ring", who.ring, "-p", "all", scn);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "one scenario and one policy"));
	run_free(&r);
	RUNW(&r, who.migsim, "--ring", "/a/b", scn);
	assert_int_equal(r.status, 2);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_unpaced),
		cmocka_unit_test(test_ring_live),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_make_try),
		cmocka_unit_test(test_usage),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
