/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * migtop's screens under a real terminal: tmux runs migtop in a private server, the test sends
 * keys and reads the screen back with capture-pane.  Every wait is bounded (WAIT_MS); the tmux
 * server is private to the test (-L) and killed at the end.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/views/synth.h"
#include "shm/dump.h"

#define MIGTOP  VIEWS_BIN_DIR "/migtop"
#define MIGDUMP VIEWS_BIN_DIR "/migdump"
#define WAIT_MS 10000

struct fixture {
	char sock[64];
	char ring[64];
	char path[128];
	struct ring_writer *w;
	char screen[65536];
};

static struct fixture *cur;

__attribute__((format(printf, 1, 2)))
static int tmux(const char *fmt, ...)
{
	char args[1024], cmd[1300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "tmux -L %s -f /dev/null %s >/dev/null 2>&1", cur->sock, args);
	return system(cmd);
}

static const char *capture(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "tmux -L %s capture-pane -p -t mt 2>/dev/null", cur->sock);
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	cur->screen[0] = '\0';
	if (!p)
		return cur->screen;
	n = fread(cur->screen, 1, sizeof(cur->screen) - 1, p);
	cur->screen[n] = '\0';
	pclose(p);
	return cur->screen;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Waits until the screen shows every given string (and, if absent != NULL, not that one). */
static bool wait_screen(const char *absent, const char *a, const char *b)
{
	for (int waited = 0; waited < WAIT_MS; waited += 100) {
		if (cur->w)
			ring_heartbeat(cur->w);
		const char *s = capture();
		if (strstr(s, a) && (!b || strstr(s, b)) && (!absent || !strstr(s, absent)))
			return true;
		sleep_ms(100);
	}
	print_error("screen did not show '%s'%s%s%s%s:\n%s\n", a, b ? " and '" : "", b ? b : "",
		    b ? "'" : "", absent ? " (or still shows what should be gone)" : "", cur->screen);
	return false;
}

static void screen_size(const char *s, int *ret_lines, int *ret_width)
{
	int lines = 0, w = 0;
	while (*s) {
		const char *e = strchr(s, '\n');
		int len = e ? (int)(e - s) : (int)strlen(s);
		if (len > w)
			w = len;
		lines++;
		if (!e)
			break;
		s = e + 1;
	}
	*ret_lines = lines;
	*ret_width = w;
}

static int setup(void **state)
{
	static struct fixture f;
	struct ring_create_opts o = { .slot_count = 4096, .domain_slots = 64, .gid = (gid_t)-1 };

	if (system("tmux -V >/dev/null 2>&1") != 0) {
		print_error("tmux not found: these tests drive migtop's screen through it "
			    "(run 'make deps' as root)\n");
		return -1;
	}
	memset(&f, 0, sizeof(f));
	cur = &f;
	snprintf(f.sock, sizeof(f.sock), "migtop-test-%d", (int)getpid());
	synth_ring_name(f.ring, sizeof(f.ring));
	o.name = f.ring;
	if (ring_writer_open(&o, &f.w) < 0)
		return -1;
	struct synth_opts so = { .migrations = 3, .steps = 12, .step_ns = 1000000000ull, .seed = 9,
				 .start_mono_ns = ring_now_mono_ns() - 13000000000ull };
	if (synth_fill(f.w, &so) < 0)
		return -1;
	snprintf(f.path, sizeof(f.path), "/tmp/migtune-test-tmux-%d%s", (int)getpid(), DUMP_SUFFIX);
	*state = &f;
	return 0;
}

/* A writer of its own in a child process, killed and reaped at teardown whatever happened. */
static pid_t writer = -1;

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (writer > 0) {
		kill(writer, SIGKILL);
		waitpid(writer, NULL, 0);
		writer = -1;
	}
	tmux("kill-server");
	ring_writer_close(f->w, true);
	unlink(f->path);
	return 0;
}

static void start(const char *args, int cols, int rows)
{
	tmux("kill-session -t mt");
	/* the shell reports migtop's exit status and keeps the pane open to show it */
	assert_int_equal(tmux("new-session -d -s mt -x %d -y %d \"%s %s; echo EXITED \\$?; sleep 60\"",
			      cols, rows, MIGTOP, args), 0);
}

static void test_live_screens(void **state)
{
	struct fixture *f = *state;
	char args[256];
	int lines, width;

	snprintf(args, sizeof(args), "--ring %s -d 0.5", f->ring);
	start(args, 80, 24);
	assert_true(wait_screen(NULL, "vm-002", "agent live"));
	const char *s = capture();
	assert_non_null(strstr(s, "DOMAIN"));
	assert_non_null(strstr(s, "LAST ACTION"));
	assert_non_null(strstr(s, "NIC mig0 up"));
	screen_size(s, &lines, &width);
	assert_true(lines <= 24 && width <= 80);
	/* active rows first (vm-000, vm-002), then the finished vm-001 */
	assert_true(strstr(s, "vm-000") < strstr(s, "vm-002"));
	assert_true(strstr(s, "vm-002") < strstr(s, "vm-001"));

	/* Down selects vm-002; Enter opens its detail view with both plots and the action log */
	tmux("send-keys -t mt Down");
	sleep_ms(300);
	tmux("send-keys -t mt Enter");
	assert_true(wait_screen(NULL, "dirty rate (d) vs bandwidth (b)", "action log"));
	s = capture();
	assert_non_null(strstr(s, "remaining MiB at the start of each pass"));
	assert_non_null(strstr(s, "\nvm-002 "));
	assert_non_null(strstr(s, "downtime 300->400ms"));   /* from vm-002's action log */
	assert_null(strstr(s, "vm-000"));

	/* Esc goes back to the table */
	tmux("send-keys -t mt Escape");
	assert_true(wait_screen("action log", "DOMAIN", NULL));

	/* h shows the help, any key leaves it */
	tmux("send-keys -t mt h");
	assert_true(wait_screen(NULL, "migtop keys", NULL));
	tmux("send-keys -t mt x");
	assert_true(wait_screen("migtop keys", "DOMAIN", NULL));

	/* s cycles the sort key */
	tmux("send-keys -t mt s");
	assert_true(wait_screen(NULL, "sorted by remaining", NULL));

	/* p pauses: the header says so */
	tmux("send-keys -t mt p");
	assert_true(wait_screen(NULL, "PAUSED", NULL));
	tmux("send-keys -t mt p");
	assert_true(wait_screen("PAUSED", "agent live", NULL));

	/* a narrow terminal drops optional columns and keeps to its width */
	tmux("resize-window -t mt -x 60 -y 15");
	assert_true(wait_screen("DOWNTIME", "DOMAIN", "vm-001"));
	screen_size(capture(), &lines, &width);
	assert_true(lines <= 15 && width <= 60);
	/* a tiny one says what it needs */
	tmux("resize-window -t mt -x 30 -y 6");
	assert_true(wait_screen(NULL, "terminal too small", NULL));
	/* a wide one shows the optional columns */
	tmux("resize-window -t mt -x 160 -y 40");
	assert_true(wait_screen(NULL, "DOWNTIME", "POLICY"));
	assert_true(wait_screen(NULL, "vm-001", NULL));

	tmux("send-keys -t mt q");
	assert_true(wait_screen(NULL, "EXITED 0", NULL));
}

static long header_time(const char *s)
{
	const char *p = strstr(s, "migtop ");
	struct tm tm = { 0 };
	if (!p || !strptime(p + 7, "%Y-%m-%d %H:%M:%S", &tm))
		return -1;
	tm.tm_isdst = -1;
	return (long)mktime(&tm);
}

/* Waits until the header's time is t0 + delta seconds. */
static bool wait_time(long t0, long delta)
{
	for (int waited = 0; waited < WAIT_MS; waited += 100) {
		if (header_time(capture()) == t0 + delta)
			return true;
		sleep_ms(100);
	}
	print_error("header time %ld, wanted %ld:\n%s\n", header_time(cur->screen), t0 + delta,
		    cur->screen);
	return false;
}

static void test_replay_stepping(void **state)
{
	struct fixture *f = *state;
	char cmd[512], args[256];

	snprintf(cmd, sizeof(cmd), "%s --ring %s -o %s 2>/dev/null", MIGDUMP, f->ring, f->path);
	assert_int_equal(system(cmd), 0);
	snprintf(args, sizeof(args), "-r %s -d 1", f->path);
	start(args, 100, 30);
	assert_true(wait_screen(NULL, "replay paused", "vm-002"));
	long t0 = header_time(capture());
	assert_true(t0 > 0);
	/* at the start nothing has finished yet */
	assert_null(strstr(cur->screen, " done "));

	tmux("send-keys -t mt t");
	assert_true(wait_time(t0, 1));
	tmux("send-keys -t mt t");
	assert_true(wait_time(t0, 2));
	tmux("send-keys -t mt T");
	assert_true(wait_time(t0, 1));

	/* b jumps: +5 from the first record (the first screen is already 1 s in), then to the end
	 * where vm-001 is done */
	tmux("send-keys -t mt b");
	assert_true(wait_screen(NULL, "jump to", NULL));
	tmux("send-keys -t mt +5 Enter");
	assert_true(wait_time(t0, 4));
	tmux("send-keys -t mt b");
	assert_true(wait_screen(NULL, "jump to", NULL));
	tmux("send-keys -t mt -- -0 Enter");
	assert_true(wait_screen(NULL, " done ", NULL));
	long tend = header_time(capture());
	assert_true(tend >= t0 + 10 && tend <= t0 + 11);
	/* and back again with T */
	tmux("send-keys -t mt T");
	assert_true(wait_screen(" done ", "vm-001", NULL));

	/* a garbled time is refused with a message, the view stays */
	tmux("send-keys -t mt b");
	assert_true(wait_screen(NULL, "jump to", NULL));
	tmux("send-keys -t mt 25:99 Enter");
	assert_true(wait_screen(NULL, "cannot read time", NULL));

	tmux("send-keys -t mt q");
	assert_true(wait_screen(NULL, "EXITED 0", NULL));
}

/* An agent killed with -9 shows as dead within a heartbeat, not at the next refresh (an hour
 * away here: the screen must change long before it). */
static void test_dead_within_a_heartbeat(void **state)
{
	(void)state;
	char name[64], args[256];
	int go[2];

	synth_ring_name(name, sizeof(name));
	assert_int_equal(pipe(go), 0);
	pid_t pid = writer = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ring_create_opts o = { .name = name, .slot_count = 1024, .domain_slots = 16,
					      .gid = (gid_t)-1, .heartbeat_interval_ms = 1000 };
		struct ring_writer *w;
		close(go[0]);
		if (ring_writer_open(&o, &w) < 0 || write(go[1], "x", 1) != 1)
			_exit(1);
		for (;;) {
			ring_heartbeat(w);
			sleep_ms(100);
		}
	}
	close(go[1]);
	char c;
	assert_int_equal(read(go[0], &c, 1), 1);
	close(go[0]);
	snprintf(args, sizeof(args), "--ring %s -d 3600", name);
	start(args, 100, 20);
	assert_true(wait_screen(NULL, "agent live", NULL));
	assert_int_equal(kill(pid, SIGKILL), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	writer = -1;
	bool dead = wait_screen("agent live", "agent dead", NULL);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	unlink(path);
	assert_true(dead);
	tmux("send-keys -t mt q");
	assert_true(wait_screen(NULL, "EXITED 0", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_live_screens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_stepping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_within_a_heartbeat, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
