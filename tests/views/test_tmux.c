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
	struct ring_writer *w2;       /* a test's own ring, closed at teardown whatever happened */
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

static const char *capture_opt(const char *opt)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "tmux -L %s capture-pane -p %s -t mt 2>/dev/null", cur->sock, opt);
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

static const char *capture(void)
{
	return capture_opt("");
}

/* The screen with its attributes as escape sequences (SGR), as tmux keeps them. */
static const char *capture_attrs(void)
{
	return capture_opt("-e");
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
		if (cur->w2)
			ring_heartbeat(cur->w2);
		const char *s = capture();
		if (strstr(s, a) && (!b || strstr(s, b)) && (!absent || !strstr(s, absent)))
			return true;
		sleep_ms(100);
	}
	print_error("screen did not show '%s'%s%s%s%s:\n%s\n", a, b ? " and '" : "", b ? b : "",
		    b ? "'" : "", absent ? " (or still shows what should be gone)" : "", cur->screen);
	return false;
}

/* Sends keys to migtop, then waits for the screen as wait_screen does. */
static bool press(const char *keys, const char *absent, const char *a, const char *b)
{
	tmux("send-keys -t mt %s", keys);
	return wait_screen(absent, a, b);
}

/* Lines and the widest line's columns (UTF-8 characters, not bytes). */
static void screen_size(const char *s, int *ret_lines, int *ret_width)
{
	int lines = 0, w = 0;
	while (*s) {
		const char *e = strchr(s, '\n');
		int len = 0;
		for (const char *p = s; *p && p != e; p++)
			len += ((unsigned char)*p & 0xc0) != 0x80;
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
	struct ring_create_opts o = { .slot_count = 4096, .domain_slots = 64, .gid = (gid_t)-1,
				      .info = { .mode = RING_MODE_ADVISORY, .policy = "adaptive" } };

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
	if (f->w2)
		ring_writer_close(f->w2, true);
	f->w2 = NULL;
	unlink(f->path);
	return 0;
}

/* Runs migtop with args in a cols x rows pane, env (VAR=value ...) before it. */
static void start_env(const char *env, const char *args, int cols, int rows)
{
	tmux("kill-session -t mt");
	/* the shell reports migtop's exit status and keeps the pane open to show it */
	assert_int_equal(tmux("new-session -d -s mt -x %d -y %d \"%s %s %s; echo EXITED \\$?; "
			      "sleep 60\"", cols, rows, env, MIGTOP, args), 0);
}

static void start(const char *args, int cols, int rows)
{
	start_env("", args, cols, rows);
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
	/* on 80 columns the header says what the agent is and does */
	assert_non_null(strstr(s, "agent live  advisory  policy adaptive  host "));
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
	/* both plots have a time axis of the job's clock; l puts them on a log scale and back */
	assert_non_null(strstr(s, "\n   m:ss "));
	assert_non_null(strstr(s, " 0:0"));
	assert_null(strstr(s, "(log scale)"));
	assert_true(press("l", NULL, "dirty rate (d) vs bandwidth (b), MiB/s, one column per sample "
				"(log scale)", "each pass (passes 1..3) (log scale)"));
	assert_true(press("l", "(log scale)", "linear scale", NULL));

	/* Esc goes back to the table */
	assert_true(press("Escape", "action log", "DOMAIN", NULL));

	/* h shows the help, any key leaves it; q too, without quitting */
	assert_true(press("h", NULL, "migtop keys", NULL));
	assert_true(press("x", "migtop keys", "DOMAIN", NULL));
	assert_true(press("?", NULL, "migtop keys", "any key returns"));
	assert_true(press("q", "migtop keys", "DOMAIN", "vm-001"));
	sleep_ms(300);
	assert_null(strstr(capture(), "EXITED"));

	/* / keeps the domains whose name holds a text; an empty one shows them all again */
	assert_true(press("/", NULL, "show domains whose name or UUID holds", NULL));
	assert_true(press("002 Enter", "vm-000", "vm-002", "/002 1/3"));
	assert_null(strstr(capture(), "vm-001"));
	assert_true(press("/", NULL, "show domains whose name or UUID holds", NULL));
	assert_true(press("zzz Enter", "vm-002", "no migration matches the filter", NULL));
	assert_true(press("/", NULL, "show domains whose name or UUID holds", NULL));
	assert_true(press("Enter", "/002", "vm-000", "vm-001"));

	/* d asks for the refresh interval, as top does; +/- still halve and double it */
	assert_true(press("d", NULL, "delay (seconds, 0.1-3600):", NULL));
	assert_true(press("3 Enter", NULL, "refresh every 3.0s", NULL));
	assert_true(press("d", NULL, "delay (seconds", NULL));
	assert_true(press("fast Enter", NULL, "cannot read 'fast' as seconds", NULL));
	assert_true(press("-", NULL, "refresh every 1.5s", NULL));
	assert_true(press("d", NULL, "delay (seconds", NULL));
	assert_true(press("0.5 Enter", NULL, "refresh every 0.5s", NULL));

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

	synth_ring_name(name, sizeof(name));
	pid_t pid = writer = synth_writer_child(name, NULL, NULL);
	assert_true(pid > 0);
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

/* ---- marks: what deserves attention, in colour and without ---------------------------------- */

#define SEC UINT64_C(1000000000)

static void put_sample(struct ring_writer *w, uint32_t dom, uint64_t t, uint32_t pass,
		       uint64_t remaining_mib, uint32_t expected_ms, uint32_t limit_ms)
{
	struct ring_sample s = { .direction = RING_DIR_OUT, .phase = RING_PHASE_PRECOPY,
				 .iteration = pass, .data_total_bytes = UINT64_C(4096) << 20,
				 .data_remaining_bytes = remaining_mib << 20,
				 .memory_bps = UINT64_C(12) << 20, .page_size = 4096,
				 .dirty_pages_per_s = 3000, .expected_downtime_ms = expected_ms,
				 .downtime_limit_ms = limit_ms, .elapsed_ms = pass * 20000 };
	assert_int_equal(ring_append_at(w, RING_REC_SAMPLE, dom, t, &s, sizeof(s)), 0);
}

static void put_action(struct ring_writer *w, uint32_t dom, uint64_t t, uint16_t kind,
		       uint16_t reason, uint8_t result, int64_t from, int64_t to, const char *why,
		       uint32_t pred_ms, uint32_t wait_ms)
{
	struct ring_action a = { .kind = kind, .reason_code = reason, .result = result,
				 .old_value = from, .new_value = to };
	snprintf(a.policy, sizeof(a.policy), "adaptive");
	snprintf(a.reason, sizeof(a.reason), "%s", why);
	assert_int_equal(ring_append_at(w, RING_REC_ACTION, dom, t, &a, sizeof(a)), 0);
	if (!pred_ms && !wait_ms)
		return;
	struct ring_prediction p = { .kind = kind, .reason_code = reason, .time_ms = pred_ms,
				     .wait_ms = wait_ms, .bytes = UINT64_C(96) << 20 };
	assert_int_equal(ring_append_at(w, RING_REC_PREDICTION, dom, t, &p, sizeof(p)), 0);
}

/* Four migrations, one per mark: stuck-db does not converge, its expected downtime 27 times its
 * limit, with advice the agent did not apply; parked-app is parked (the agent acts next); failed-vm
 * failed; fine-vm converges and finishes in about half a minute. */
static void fill_marks(struct ring_writer *w)
{
	uint8_t u[16] = { 0 };
	uint64_t t = ring_now_mono_ns() - 100 * SEC;
	uint32_t d[4];
	static const char *const names[] = { "stuck-db", "parked-app", "failed-vm", "fine-vm" };

	for (int i = 0; i < 4; i++) {
		u[0] = (uint8_t)(i + 1);
		d[i] = ring_domain_index(w, u, names[i]);
	}
	for (uint32_t p = 1; p <= 4; p++) {
		uint64_t tp = t + p * 20 * SEC;
		put_sample(w, d[0], tp, p, p == 1 ? 4000 : 96, p == 1 ? 300000 : 8100, 300);
		put_sample(w, d[1], tp, p, p == 1 ? 4000 : 400 >> p, 200, 300);
		put_sample(w, d[2], tp, p, 4000 >> p, 200, 300);
		put_sample(w, d[3], tp, p, 4000 >> (2 * p), 200, 300);
	}
	uint64_t ta = t + 80 * SEC;
	put_action(w, d[0], ta, RING_ACT_SET_DOWNTIME, 9, RING_RES_ADVISORY, 300, 500,
		   "pass 4: needs 8100 ms > SLA 500 ms (96 MiB at 12 MiB/s)", 0, 0);
	put_action(w, d[1], ta, RING_ACT_SET_BANDWIDTH, 14, RING_RES_APPLIED, 20, 1,
		   "needs 5000 ms > SLA limit 500 ms: parked, budget 600 s", RING_PRED_NEVER,
		   RING_PRED_NEVER);
	put_action(w, d[3], ta, RING_ACT_SET_DOWNTIME, 9, RING_RES_APPLIED, 300, 400,
		   "converges: pass 5 in 1.2 s", 40000, RING_PRED_NEVER);
	struct ring_event e = { .source = RING_EVSRC_AGENT, .detail1 = RING_PHASE_FAILED };
	snprintf(e.op, sizeof(e.op), "migration");
	snprintf(e.subop, sizeof(e.subop), "failed");
	snprintf(e.text, sizeof(e.text), "job failed: connection reset");
	assert_int_equal(ring_append_at(w, RING_REC_EVENT, d[2], ta, &e, sizeof(e)), 0);
}

/* The line of s (a capture) that holds word, escapes included. */
static const char *line_of(const char *s, const char *word, char *buf, size_t len)
{
	const char *p = strstr(s, word);
	if (!p) {
		print_error("no line holds '%s':\n%s\n", word, s);
		return "";
	}
	while (p > s && p[-1] != '\n')
		p--;
	const char *e = strchr(p, '\n');
	snprintf(buf, len, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
	return buf;
}

/* Whether an SGR sequence in line sets attribute code (31 red, 1 bold, 4 underline, ...). */
static bool has_sgr(const char *line, int code)
{
	for (const char *p = line; (p = strstr(p, "\033[")); p += 2) {
		const char *q = p + 2;
		while (*q && *q != 'm') {
			char *end;
			long v = strtol(q, &end, 10);
			if (end == q)
				break;
			if (v == code)
				return true;
			q = *end == ';' ? end + 1 : end;
		}
	}
	return false;
}

static bool has_colour(const char *line)
{
	for (int c = 30; c <= 37; c++)
		if (has_sgr(line, c))
			return true;
	return false;
}

static void check_marks(bool colour)
{
	char l[2048];
	const char *s = capture_attrs();

	/* stuck-db: not converging and over its limit (phase red or bold), its advice cyan or
	 * underlined */
	line_of(s, "stuck-db", l, sizeof(l));
	assert_true(colour ? has_sgr(l, 31) && has_sgr(l, 36) : has_sgr(l, 1) && has_sgr(l, 4));
	/* parked-app: the agent acts next: magenta or bold */
	line_of(s, "parked-app", l, sizeof(l));
	assert_true(colour ? has_sgr(l, 35) : has_sgr(l, 1));
	line_of(s, "failed-vm", l, sizeof(l));
	assert_true(colour ? has_sgr(l, 31) : has_sgr(l, 1));
	/* fine-vm: nothing to mark */
	line_of(s, "fine-vm", l, sizeof(l));
	assert_false(has_colour(l) || has_sgr(l, 1) || has_sgr(l, 4));
	if (!colour)
		assert_false(has_colour(s));
}

static void test_marks(void **state)
{
	(void)state;
	char name[64], args[256], l[2048];
	struct ring_create_opts o = { .slot_count = 256, .domain_slots = 16, .gid = (gid_t)-1,
				      .heartbeat_interval_ms = 1000 };
	int lines, width;

	synth_ring_name(name, sizeof(name));
	o.name = name;
	assert_int_equal(ring_writer_open(&o, &cur->w2), 0);
	fill_marks(cur->w2);
	snprintf(args, sizeof(args), "--ring %s -d 0.5", name);

	/* 80x24: the marks; the advice keeps "(advisory)" and the start of its reason */
	start_env("LANG=C.UTF-8", args, 80, 24);
	assert_true(wait_screen(NULL, "fine-vm", "ETA"));
	check_marks(true);
	const char *s = capture();
	screen_size(s, &lines, &width);
	assert_true(lines <= 24 && width <= 80);
	line_of(s, "stuck-db", l, sizeof(l));
	assert_non_null(strstr(l, " (advisory): pass 4"));
	assert_non_null(strstr(l, " pre-copy "));
	line_of(s, "parked-app", l, sizeof(l));
	assert_non_null(strstr(l, " never "));
	assert_non_null(strstr(l, "bandwidth 20->1MiB/s: needs"));
	line_of(s, "fine-vm", l, sizeof(l));
	assert_non_null(strstr(l, " 0:"));            /* its ETA, from the prediction */
	/* the sparkline of stuck-db: a fall after the bulk pass, then flat (Unicode blocks) */
	line_of(s, "stuck-db", l, sizeof(l));
	assert_non_null(strstr(l, "\u2588\u2582\u2582\u2582"));

	/* 160x50: every column, the same marks */
	tmux("resize-window -t mt -x 160 -y 50");
	assert_true(wait_screen(NULL, "ELAPSED", "DOWNTIME"));
	check_marks(true);
	s = capture();
	screen_size(s, &lines, &width);
	assert_true(lines <= 50 && width <= 160);
	line_of(s, "stuck-db", l, sizeof(l));
	assert_non_null(strstr(l, " 8100/300 "));
	assert_non_null(strstr(l, "   1:20 "));           /* ELAPSED */
	assert_non_null(strstr(l, " downtime 300->500ms (advisory): pass 4: needs "));
	tmux("send-keys -t mt q");
	assert_true(wait_screen(NULL, "EXITED 0", NULL));

	/* without colours: NO_COLOR, --no-color, a terminal that has none; ASCII without UTF-8 */
	static const char *const mono[][2] = {
		{ "LANG=C NO_COLOR=1", "" }, { "LANG=C", "--no-color" }, { "LANG=C TERM=vt100", "" },
	};
	for (size_t i = 0; i < sizeof(mono) / sizeof(mono[0]); i++) {
		char a2[300];
		snprintf(a2, sizeof(a2), "%s %s", args, mono[i][1]);
		start_env(mono[i][0], a2, 80, 24);
		assert_true(wait_screen(NULL, "fine-vm", "ETA"));
		check_marks(false);
		line_of(capture(), "stuck-db", l, sizeof(l));
		assert_non_null(strstr(l, "#..."));    /* the sparkline in ASCII */
		tmux("send-keys -t mt q");
		assert_true(wait_screen(NULL, "EXITED 0", NULL));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_live_screens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_stepping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_within_a_heartbeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
