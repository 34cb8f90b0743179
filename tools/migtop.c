/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * migtop — live view of the migrations on this host, from the agent's telemetry ring, or the
 * replay of a dump.  Read-only: it never writes to the ring nor signals the agent.
 *
 * The data path is the same for every mode: records -> view_feed() -> a view_state that the
 * screen, the batch text and the JSON output render.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>

#include "shm/dump.h"
#include "tools/view_decode.h"

/* Exit codes (documented in migtop(1)). */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_NO_RING = 2,        /* no ring (agent not running) or dump file missing */
	EXIT_PERM = 3,           /* permission denied */
	EXIT_INCOMPATIBLE = 4,   /* another ABI or dump version, or not a migtune ring/dump */
	EXIT_RUNTIME = 5,        /* terminal, memory or I/O trouble while running */
};

struct opts {
	const char *ring;
	const char *replay;
	const char *begin;
	bool batch;
	bool json;
	long iterations;         /* 0 = until interrupted */
	double delay_s;
	enum view_sort sort;
	bool no_color;
	bool log_scale;          /* detail plots */
};

/* ---- sources ---------------------------------------------------------------------------------- */

#define FINISHED_KEEP_NS (15 * 60 * UINT64_C(1000000000))

struct live {
	struct ring_reader *r;
	const char *name;
};

/* A restarted agent creates a new segment under the same name; the old mapping then only ever
 * shows a dead or stopped writer.  Switch to the new segment when there is one. */
static bool live_follow_restart(struct live *l, struct view_state *v)
{
	struct ring_reader *n;
	struct ring_header a, b;

	if (ring_reader_open(l->name, &n) < 0)
		return false;
	if (ring_reader_snapshot_header(l->r, &a) < 0 || ring_reader_snapshot_header(n, &b) < 0 ||
	    (a.writer_pid == b.writer_pid && a.writer_start_real_ns == b.writer_start_real_ns)) {
		ring_reader_close(n);
		return false;
	}
	ring_reader_close(l->r);
	l->r = n;
	ring_reader_seek_oldest(l->r);
	view_reset(v);
	v->lost = 0;
	return true;
}

/*
 * A replay streams the dump: nothing but the view is kept.  Forward, records are fed up to the
 * replayed time (one record of lookahead); backward, the dump is decoded again from its start.
 * Memory is the dump reader's (the file and one chunk) and the view's, whatever the file expands to.
 */
struct replay {
	struct dump_file *d;
	struct ring_record next;  /* decoded, not yet fed: the first record past the replayed time */
	bool have_next;
	bool started;             /* the view holds the records up to t_mono_ns */
	uint64_t t_mono_ns;       /* replayed "now" */
	uint64_t first_mono_ns, last_mono_ns;
	uint64_t records;         /* valid records in the dump (first pass) */
	const char *path;
};

static int live_lookup(void *ctx, uint32_t idx, char name[RING_NAME_MAX + 1], uint8_t uuid[16])
{
	struct live *l = ctx;
	return ring_domain_lookup(l->r, idx, uuid, name);
}

static uint64_t live_to_real(void *ctx, uint64_t mono_ns)
{
	struct live *l = ctx;
	return ring_mono_to_real_ns(l->r, mono_ns);
}

static int replay_lookup(void *ctx, uint32_t idx, char name[RING_NAME_MAX + 1], uint8_t uuid[16])
{
	struct replay *p = ctx;
	const struct dump_domain *d = dump_domain_find(p->d, idx);
	if (!d)
		return -ENOENT;
	memcpy(uuid, d->uuid, 16);
	memcpy(name, d->name, RING_NAME_MAX + 1);
	return 0;
}

static uint64_t replay_to_real(void *ctx, uint64_t mono_ns)
{
	struct replay *p = ctx;
	return dump_mono_to_real_ns(p->d, mono_ns);
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Reads the major version of a ring that ring_reader_open refused, for the error message. */
static int peek_abi_major(const char *name)
{
	char path[PATH_MAX];
	struct ring_header h;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/%s", name[0] == '/' ? name + 1 : name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t k = read(fd, &h, sizeof(h));
	close(fd);
	if (k < (ssize_t)offsetof(struct ring_header, header_size) || h.magic != RING_MAGIC)
		return -1;
	return h.abi_major;
}

static int open_live(const struct opts *o, struct live *l)
{
	int r = ring_reader_open(o->ring, &l->r);
	const char *n = o->ring[0] == '/' ? o->ring + 1 : o->ring;

	if (r == 0)
		return EXIT_OK;
	switch (r) {
	case -ENOENT:
		fprintf(stderr, "migtop: no telemetry ring /dev/shm/%s: migtuned is not running "
			"(start it, or name another ring with --ring)\n", n);
		return EXIT_NO_RING;
	case -EACCES:
		fprintf(stderr, "migtop: permission denied reading /dev/shm/%s (run as root or as a "
			"member of the ring's group)\n", n);
		return EXIT_PERM;
	case -EPERM:
		fprintf(stderr, "migtop: refusing /dev/shm/%s: not a file that only root or you could "
			"have written (another user may have planted it: remove it and restart "
			"migtuned)\n", n);
		return EXIT_PERM;
	case -EPROTONOSUPPORT: {
		int maj = peek_abi_major(o->ring);
		if (maj >= 0)
			fprintf(stderr, "migtop: ring /dev/shm/%s has ABI version %d, this migtop reads "
				"version %u (use the migtop installed with the running migtuned)\n", n, maj,
				RING_ABI_MAJOR);
		else
			fprintf(stderr, "migtop: ring /dev/shm/%s has another ABI version or byte order "
				"than this migtop reads (%u)\n", n, RING_ABI_MAJOR);
		return EXIT_INCOMPATIBLE;
	}
	case -EPROTO:
	case -EBADMSG:
		fprintf(stderr, "migtop: /dev/shm/%s is not a valid migtune ring (%s)\n", n, strerror(-r));
		return EXIT_INCOMPATIBLE;
	default:
		fprintf(stderr, "migtop: cannot open ring /dev/shm/%s: %s\n", n, strerror(-r));
		return EXIT_RUNTIME;
	}
}

static int open_replay(const struct opts *o, struct replay *p)
{
	int r = dump_open(o->replay, &p->d);
	struct ring_record rec;

	p->path = o->replay;
	switch (r) {
	case 0:
		break;
	case -ENOENT:
		fprintf(stderr, "migtop: dump file %s does not exist\n", o->replay);
		return EXIT_NO_RING;
	case -EACCES:
	case -EPERM:
		fprintf(stderr, "migtop: permission denied reading %s\n", o->replay);
		return EXIT_PERM;
	case -EPROTO:
		fprintf(stderr, "migtop: %s is not a migtune dump (write one with migdump)\n", o->replay);
		return EXIT_INCOMPATIBLE;
	case -EPROTONOSUPPORT:
		fprintf(stderr, "migtop: %s is a dump of another format version or byte order than "
			"this migtop reads (%u)\n", o->replay, DUMP_VERSION_MAJOR);
		return EXIT_INCOMPATIBLE;
	case -EBADMSG:
		fprintf(stderr, "migtop: %s: the dump header is damaged, cut short or out of range\n",
			o->replay);
		return EXIT_INCOMPATIBLE;
	case -EFBIG:
		fprintf(stderr, "migtop: %s is larger than any dump of a ring (%llu MiB at most); "
			"refused\n", o->replay,
			(unsigned long long)(DUMP_DEFAULT_MAX_FILE_BYTES >> 20));
		return EXIT_INCOMPATIBLE;
	default:
		fprintf(stderr, "migtop: cannot read %s: %s\n", o->replay, strerror(-r));
		return EXIT_RUNTIME;
	}
	/* A first pass validates every record and finds the time range; it keeps none. */
	while ((r = dump_next(p->d, &rec)) > 0) {
		if (ring_record_validate(&rec) < 0)
			continue;
		if (p->records == 0 || rec.mono_ns < p->first_mono_ns)
			p->first_mono_ns = rec.mono_ns;
		if (rec.mono_ns > p->last_mono_ns)
			p->last_mono_ns = rec.mono_ns;
		p->records++;
	}
	for (size_t i = 0; dump_problem(p->d, i); i++)
		fprintf(stderr, "migtop: %s: %s\n", o->replay, dump_problem(p->d, i));
	if (r < 0) {
		fprintf(stderr, "migtop: %s: %s; refused\n", o->replay, r == -EFBIG ?
			"the dump expands beyond what any ring holds" : strerror(-r));
		return r == -EFBIG ? EXIT_INCOMPATIBLE : EXIT_RUNTIME;
	}
	/* Like atop, the first screen shows the first interval, not the first record alone. */
	p->t_mono_ns = p->first_mono_ns + (uint64_t)(o->delay_s * 1e9);
	if (p->t_mono_ns > p->last_mono_ns)
		p->t_mono_ns = p->last_mono_ns;
	return EXIT_OK;
}

/* ---- collecting ------------------------------------------------------------------------------- */

static int live_collect(struct live *l, struct view_state *v)
{
	struct ring_header h;
	struct ring_record rec;
	uint64_t lost = 0;
	int r;

	/* Bounded per refresh so that a writer faster than us cannot keep the screen from updating. */
	for (int i = 0; i < 1 << 20; i++) {
		r = ring_read(l->r, &rec, NULL, &lost);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		if (view_feed(v, &rec) < 0)
			return -ENOMEM;
	}
	v->lost += lost;
	if (ring_reader_snapshot_header(l->r, &h) == 0) {
		view_set_host(v, h.hostname);
		v->writer = h.info;
		v->writer_pid = h.writer_pid;
		v->dropped = h.dropped;
	}
	v->now_mono_ns = ring_now_mono_ns();
	v->liveness = ring_reader_liveness(l->r, v->now_mono_ns);
	v->now_real_ns = ring_now_real_ns();
	if ((v->liveness == RING_DEAD || v->liveness == RING_STOPPED) && live_follow_restart(l, v))
		return live_collect(l, v);
	/* Finished migrations stay on screen for a while, then make room (dumps keep them).  The
	 * clock is the newest record, not now, so a dead agent's segment still shows its end. */
	if (v->newest_mono_ns > FINISHED_KEEP_NS)
		view_prune(v, v->newest_mono_ns - FINISHED_KEEP_NS);
	return 0;
}

static int live_liveness(const struct live *l, uint64_t now_mono_ns)
{
	return ring_reader_liveness(l->r, now_mono_ns);
}

/* How often the writer promises a heartbeat (what the screen waits for at most), 100..1000 ms. */
static uint64_t live_heartbeat_ms(const struct live *l)
{
	uint64_t ms = ring_reader_header(l->r)->heartbeat_interval_ms;
	return ms < 100 ? 100 : ms > 1000 ? 1000 : ms;
}

/* Brings the view to the replayed time t: forward by feeding, backward by decoding again. */
static int replay_seek(struct replay *p, struct view_state *v, uint64_t t)
{
	if (t < p->first_mono_ns)
		t = p->first_mono_ns;
	if (t > p->last_mono_ns)
		t = p->last_mono_ns;
	if (t < p->t_mono_ns || !p->started) {
		view_reset(v);
		dump_rewind(p->d);
		p->have_next = false;
		p->started = true;
	}
	p->t_mono_ns = t;
	for (;;) {
		if (!p->have_next) {
			int r = dump_next(p->d, &p->next);
			if (r < 0)
				return r;
			if (r == 0)
				break;
			p->have_next = true;
		}
		if (p->next.mono_ns > t)
			break;
		if (view_feed(v, &p->next) < 0)
			return -ENOMEM;
		p->have_next = false;
	}
	const struct dump_header *h = dump_get_header(p->d);
	view_set_host(v, h->hostname);
	v->writer = h->writer_info;
	v->writer_pid = h->writer_pid;
	v->lost = h->lost_count;
	v->dropped = h->dropped_count;
	v->liveness = 0;
	v->now_mono_ns = t;
	v->now_real_ns = dump_mono_to_real_ns(p->d, t);
	v->label = p->path;
	return 0;
}

/* "+SEC" from the start, "-SEC" from the end, "HH:MM[:SS]" local time on the dump's first day. */
static int parse_jump(const struct replay *p, const char *s, uint64_t *ret)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+' || *s == '-') {
		double sec = strtod(s + 1, &end);
		if (end == s + 1 || *end || !(sec >= 0) || sec > 1e9)
			return -EINVAL;
		uint64_t d = (uint64_t)(sec * 1e9);
		if (*s == '+')
			*ret = p->first_mono_ns + d;
		else
			*ret = p->last_mono_ns > d ? p->last_mono_ns - d : 0;
		return 0;
	}
	unsigned hh, mm, ss = 0;
	int k = 0;
	if (sscanf(s, "%u:%u%n", &hh, &mm, &k) != 2)
		return -EINVAL;
	if (s[k] == ':' && sscanf(s + k, ":%u%n", &ss, &k) == 1)
		s += 0;
	else if (s[k] != '\0')
		return -EINVAL;
	if (hh > 23 || mm > 59 || ss > 60)
		return -EINVAL;
	uint64_t first_real = dump_mono_to_real_ns(p->d, p->first_mono_ns);
	time_t t0 = (time_t)(first_real / 1000000000u);
	struct tm tm;
	if (!localtime_r(&t0, &tm))
		return -EINVAL;
	tm.tm_hour = (int)hh;
	tm.tm_min = (int)mm;
	tm.tm_sec = (int)ss;
	tm.tm_isdst = -1;
	time_t want = mktime(&tm);
	if (want == (time_t)-1)
		return -EINVAL;
	int64_t delta_ns = ((int64_t)want - (int64_t)t0) * 1000000000 -
			   (int64_t)(first_real % 1000000000u);
	int64_t t = (int64_t)p->first_mono_ns + delta_ns;
	*ret = t < 0 ? 0 : (uint64_t)t;
	return 0;
}

/* ---- batch ------------------------------------------------------------------------------------ */

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
	while (!stop_requested && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void emit(const struct opts *o, const struct view_state *v)
{
	if (o->json) {
		struct json_object *j = view_state_json(v, o->sort);
		if (j)
			printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else {
		view_print_text(stdout, v, o->sort);
		putchar('\n');
	}
	fflush(stdout);
}

static int run_batch(const struct opts *o, struct live *l, struct replay *p, struct view_state *v)
{
	uint64_t step = (uint64_t)(o->delay_s * 1e9);

	for (long i = 0; (o->iterations == 0 || i < o->iterations) && !stop_requested; i++) {
		if (p) {
			uint64_t t = i == 0 ? p->t_mono_ns : p->t_mono_ns + step;
			if (i > 0 && p->t_mono_ns >= p->last_mono_ns)
				break;     /* replayed to the end */
			if (replay_seek(p, v, t) < 0)
				return EXIT_RUNTIME;
		} else {
			if (i > 0)
				sleep_s(o->delay_s);
			if (stop_requested)
				break;
			int r = live_collect(l, v);
			if (r < 0) {
				fprintf(stderr, "migtop: the ring became unreadable: %s\n", strerror(-r));
				return EXIT_RUNTIME;
			}
		}
		emit(o, v);
		if (ferror(stdout))
			return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* ---- screen ----------------------------------------------------------------------------------- */

enum screen_mode { SCREEN_TABLE, SCREEN_DETAIL, SCREEN_HELP };

struct ui {
	enum screen_mode mode;
	enum screen_mode back;   /* where the help returns to */
	size_t sel;              /* index into the rows shown (sorted, filtered) */
	uint32_t sel_domain;
	bool have_sel;
	bool paused;             /* live: stop reading; replay: stop auto-play */
	bool playing;            /* replay auto-advance */
	bool log_scale;          /* detail plots */
	double delay_s;
	enum view_sort sort;
	char filter[64];         /* rows whose domain name or UUID holds this ("" all) */
	size_t shown, total;     /* rows after and before the filter, as last drawn */
	char status[160];
};

/* ---- attributes: colour, or bold and underline on a monochrome terminal ---------------------- */

enum { PAIR_RED = 1, PAIR_MAGENTA, PAIR_YELLOW, PAIR_CYAN };
static bool use_color;

/* NO_COLOR (any non-empty value, no-color.org), --no-color, or a terminal without colours. */
static void colors_init(bool no_color)
{
	const char *nc = getenv("NO_COLOR");

	use_color = !no_color && !(nc && nc[0]) && has_colors();
	if (!use_color)
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_RED, COLOR_RED, -1);
	init_pair(PAIR_MAGENTA, COLOR_MAGENTA, -1);
	init_pair(PAIR_YELLOW, COLOR_YELLOW, -1);
	init_pair(PAIR_CYAN, COLOR_CYAN, -1);
}

/* The attribute of a cell for the worst of what its row deserves attention for. */
static attr_t attn_attr(unsigned attn)
{
	if (attn & (VIEW_ATTN_FAILED | VIEW_ATTN_OVER_LIMIT | VIEW_ATTN_SPLIT))
		return use_color ? COLOR_PAIR(PAIR_RED) | A_BOLD : A_BOLD;
	if (attn & VIEW_ATTN_ABOUT_TO_ACT)
		return use_color ? COLOR_PAIR(PAIR_MAGENTA) | A_BOLD : A_BOLD;
	if (attn & VIEW_ATTN_NOT_CONVERGING)
		return use_color ? COLOR_PAIR(PAIR_YELLOW) : A_UNDERLINE;
	if (attn & VIEW_ATTN_ADVISORY)
		return use_color ? COLOR_PAIR(PAIR_CYAN) : A_UNDERLINE;
	return 0;
}

static void put_line(int y, const char *s, attr_t a)
{
	if (y < 0 || y >= LINES)
		return;
	move(y, 0);
	clrtoeol();
	if (a)
		attron(a);
	mvaddnstr(y, 0, s, (int)view_text_fit(s, COLS));
	if (a) {
		/* extend the attribute to the edge, like top's header bar */
		for (int x = view_text_cols(s); x < COLS; x++)
			mvaddch(y, x, ' ');
		attroff(a);
	}
}

/* Draws text at (y, x) in at most w columns, padded to w, with attribute a. */
static void put_cell(int y, int x, int w, const char *s, bool left, attr_t a)
{
	int cols = view_text_cols(s), pad;

	if (w > COLS - x)
		w = COLS - x;
	if (w <= 0)
		return;
	if (cols > w)
		cols = w;
	pad = w - cols;
	attron(a);
	move(y, x);
	if (!left)
		for (int i = 0; i < pad; i++)
			addch(' ');
	addnstr(s, (int)view_text_fit(s, cols));
	if (left)
		for (int i = 0; i < pad; i++)
			addch(' ');
	attroff(a);
}

static void draw_header(const struct view_state *v, const struct ui *u, const struct replay *p)
{
	char t[32], line[512], mode[64];

	view_format_time(v->now_real_ns, p != NULL, t, sizeof(t));
	/* the mode goes first: on a narrow terminal the end of the line is cut */
	if (p)
		snprintf(mode, sizeof(mode), "  replay %s", u->playing ? "playing" : "paused");
	else
		snprintf(mode, sizeof(mode), "%s", u->paused ? "  PAUSED" : "");
	size_t active = view_running_count(v);
	char who[96];
	/* what the agent is and does before the host: on 80 columns the host's name is cut first */
	view_format_writer(&v->writer, who, sizeof(who));
	snprintf(line, sizeof(line), "migtop %s%s  agent %s  %s  host %s", t, mode,
		 p ? "-" : view_liveness_word(v->liveness), who, v->host[0] ? v->host : "?");
	size_t k = strlen(line);
	if (v->writer_pid)
		snprintf(line + k, sizeof(line) - k, " (pid %" PRIu32 ")", v->writer_pid);
	k = strlen(line);
	snprintf(line + k, sizeof(line) - k, "  migr %zu/%zu  lost %" PRIu64 "  dropped %" PRIu64,
		 active, v->n_migs, v->lost, v->dropped);
	/* a stalled or dead agent, or a simulation: the whole bar says so */
	attr_t warn = 0;
	if (v->liveness == RING_STALLED || v->liveness == RING_DEAD)
		warn = use_color ? COLOR_PAIR(PAIR_RED) | A_BOLD | A_REVERSE : A_BOLD;
	else if (v->writer.flags & RING_WRITER_F_SIMULATED)
		warn = use_color ? COLOR_PAIR(PAIR_CYAN) | A_REVERSE : A_BOLD;
	put_line(0, line, warn);

	if (v->n_nics == 0) {
		put_line(1, "NIC: no samples yet", 0);
	} else {
		line[0] = '\0';
		for (size_t i = 0; i < v->n_nics; i++) {
			const struct ring_nic *n = &v->nics[i].n;
			char ifname[TEXT_ESCAPE_SIZE(sizeof(n->ifname))];
			k = strlen(line);
			snprintf(line + k, sizeof(line) - k, "%s%s %s %" PRIu32 "Mb/s tx %.1f rx %.1f MiB/s err %"
				 PRIu32 "/%" PRIu32 " drop %" PRIu32 "/%" PRIu32, i ? " | " : "NIC ",
				 text_esc_n(ifname, sizeof(ifname), n->ifname, sizeof(n->ifname)),
				 n->carrier ? "up" : "DOWN", n->speed_mbps, n->tx_bps / 1048576.0,
				 n->rx_bps / 1048576.0, n->tx_errors, n->rx_errors, n->tx_dropped,
				 n->rx_dropped);
		}
		put_line(1, line, 0);
	}
}

/* Chooses the columns that fit the terminal's width: those of prio 0, then the others by prio
 * while the action column keeps its room, stopping at the first that does not fit. */
static void fit_columns(bool *show, int *last_w)
{
	int used = 0;

	for (size_t c = 0; c < view_n_cols; c++) {
		show[c] = view_cols[c].prio == 0;
		if (show[c] && c + 1 < view_n_cols)
			used += view_cols[c].width + 1;
	}
	for (int prio = 1; prio <= 9; prio++) {
		for (size_t c = 0; c < view_n_cols; c++) {
			if (view_cols[c].prio != prio)
				continue;
			int keep = prio >= 3 ? VIEW_ACTION_WIDE : VIEW_ACTION_MIN;
			if (used + view_cols[c].width + 1 + keep > COLS)
				goto done;
			show[c] = true;
			used += view_cols[c].width + 1;
		}
	}
done:
	*last_w = COLS - used;
}

/* One line of the table: each shown cell at its place, with its attribute. */
static void draw_row(int y, const bool *show, int last_w, const char *const *cells,
		     const attr_t *attrs, attr_t row_attr)
{
	int x = 0;

	move(y, 0);
	clrtoeol();
	for (size_t c = 0; c < view_n_cols && x < COLS; c++) {
		if (!show[c])
			continue;
		bool last = c + 1 == view_n_cols;
		int w = last ? last_w : view_cols[c].width;
		put_cell(y, x, w, cells[c], view_cols[c].left || last, attrs[c] | row_attr);
		x += w;
		if (!last && x < COLS)
			put_cell(y, x++, 1, " ", true, row_attr);
	}
}

static void draw_table(const struct view_state *v, struct ui *u, const struct view_mig **order,
		       size_t n)
{
	bool show[32];
	int last_w;
	const char *names[32];
	attr_t none[32] = { 0 };

	fit_columns(show, &last_w);
	for (size_t c = 0; c < view_n_cols; c++)
		names[c] = view_cols[c].name;
	draw_row(2, show, last_w, names, none, A_REVERSE);

	int top = 3, avail = LINES - top - 1;
	if (n == 0) {
		put_line(top, v->n_migs ? "no migration matches the filter (/ to change it)" :
			 "no migrations recorded in the ring", 0);
		for (int y = top + 1; y < LINES - 1; y++)
			put_line(y, "", 0);
		return;
	}
	if (u->sel >= n)
		u->sel = n - 1;
	size_t first = u->sel >= (size_t)avail ? u->sel - (size_t)avail + 1 : 0;
	for (int i = 0; i < avail; i++) {
		size_t idx = first + (size_t)i;
		if (idx >= n) {
			put_line(top + i, "", 0);
			continue;
		}
		struct view_row r;
		char cellbuf[32][320];
		const char *cells[32];
		attr_t attrs[32];
		view_row_fill(v, order[idx], &r);
		for (size_t c = 0; c < view_n_cols; c++) {
			if (c + 1 == view_n_cols)
				view_action_cell(&r, last_w, cellbuf[c], sizeof(cellbuf[c]));
			else
				view_cols[c].fmt(&r, cellbuf[c], sizeof(cellbuf[c]));
			cells[c] = cellbuf[c];
			attrs[c] = attn_attr(r.attn & view_cols[c].attn);
		}
		draw_row(top + i, show, last_w, cells, attrs, idx == u->sel ? A_REVERSE : 0);
	}
}

/* A y-axis label: "1234.5", "12.3k" for what does not fit 7 columns. */
static void axis_value(double x, char *buf, size_t len)
{
	if (x < 99999.5)
		snprintf(buf, len, "%7.1f|", x);
	else
		snprintf(buf, len, "%6.0fk|", x / 1000);
}

/* A plot with its y labels (top, middle, bottom) and, below it, the job's time of its columns;
 * takes h + 2 rows (title, grid, axis). */
static void draw_plot(int y, int h, int w, const char *title, const double *a, const double *b,
		      const uint32_t *t_ms, int n, char ca, char cb, bool log)
{
	double lo, hi;
	char label[32], axis[512], line[640];
	int gw = w - 9;
	if (h < 2 || gw < 10)
		return;
	if (gw > (int)sizeof(axis) - 1)
		gw = (int)sizeof(axis) - 1;
	char *grid = malloc((size_t)h * (size_t)gw);
	if (!grid)
		return;
	view_plot_scaled(grid, h, gw, a, b, n, ca, cb, log, &lo, &hi);
	if (!b) {
		/* a single series reads better as bars: fill each column below its point */
		for (int x = 0; x < gw; x++)
			for (int r = 0, on = 0; r < h; r++) {
				char *cell = &grid[(size_t)r * (size_t)gw + (size_t)x];
				if (*cell == ca)
					on = 1;
				else if (on)
					*cell = ca;
			}
	}
	snprintf(line, sizeof(line), "%s%s", title, log ? " (log scale)" : "");
	put_line(y, line, A_BOLD);
	for (int r = 0; r < h; r++) {
		if (r == 0)
			axis_value(hi, label, sizeof(label));
		else if (r == h - 1)
			axis_value(lo, label, sizeof(label));
		else if (r == (h - 1) / 2 && h >= 5)
			/* the middle row's value: the arithmetic or geometric mean of the ends */
			axis_value(log ? sqrt(lo * hi) : hi / 2, label, sizeof(label));
		else
			snprintf(label, sizeof(label), "%7s|", "");
		move(y + 1 + r, 0);
		clrtoeol();
		mvaddstr(y + 1 + r, 0, label);
		mvaddnstr(y + 1 + r, 8, grid + (size_t)r * (size_t)gw, gw);
	}
	view_time_axis(axis, sizeof(axis), gw, t_ms, n);
	snprintf(line, sizeof(line), "%7s %s", "m:ss", axis);
	put_line(y + 1 + h, line, 0);
	free(grid);
}

static void draw_detail(const struct view_state *v, struct ui *u, const struct view_mig *m)
{
	char line[1024], rem[16], tot[16], el[16], eta[16];
	struct view_row r;

	for (int y = 2; y < LINES - 1; y++)
		put_line(y, "", 0);
	if (!m) {
		put_line(2, "the selected migration is no longer in the view (Esc: back)", 0);
		return;
	}
	view_row_fill(v, m, &r);
	view_format_duration(r.elapsed_ms, el, sizeof(el));
	for (size_t c = 0; c < view_n_cols; c++)
		if (strcmp(view_cols[c].name, "ETA") == 0)
			view_cols[c].fmt(&r, eta, sizeof(eta));
	/* the numbers first: on 80 columns the UUID is what gets cut */
	snprintf(line, sizeof(line), "%s %s %s pass %" PRIu32 "  elapsed %s  ETA %s  policy %s  %s",
		 m->name, r.dir, r.phase, r.pass, el, eta, m->policy[0] ? m->policy : "-", m->uuid);
	put_line(2, line, A_REVERSE);
	view_format_bytes(r.remaining_bytes, rem, sizeof(rem));
	view_format_bytes(m->s.data_total_bytes, tot, sizeof(tot));
	char lim[16];
	if (r.bw_limit_mibs > 0)
		snprintf(lim, sizeof(lim), "%.0f", r.bw_limit_mibs);
	else
		snprintf(lim, sizeof(lim), "none");
	snprintf(line, sizeof(line), "left %s/%s (%.0f%% done)  dirty %.1f  bw %.1f/%s MiB/s  "
		 "downtime %" PRIu32 "/%" PRIu32 "ms  thr %" PRIu32 "%%", rem, tot,
		 r.progress_pct < 0 ? 0 : r.progress_pct, r.dirty_mibs, r.bw_mibs, lim,
		 r.expected_downtime_ms, r.downtime_limit_ms, r.throttle_pct);
	if (r.pc_breaks) {
		size_t n = strlen(line);

		snprintf(line + n, sizeof(line) - n, "  split %.1fs in %" PRIu32 " break%s",
			 r.pc_split_s, r.pc_breaks, r.pc_breaks > 1 ? "s" : "");
	}
	put_line(3, line, attn_attr(r.attn & (VIEW_ATTN_OVER_LIMIT | VIEW_ATTN_NOT_CONVERGING)));

	int avail = LINES - 5;            /* rows 4 .. LINES-2 */
	int log_rows = avail / 4;
	if (log_rows < 2)
		log_rows = avail >= 10 ? 2 : 0;
	int plot_rows = avail - log_rows;
	/* each plot: a title, its grid, its time axis */
	int h1 = plot_rows / 2 - 2, h2 = plot_rows - plot_rows / 2 - 2;
	int y = 4;
	int n = (int)m->hist_n;
	double *a = calloc((size_t)(n ? n : 1), sizeof(double));
	double *b = calloc((size_t)(n ? n : 1), sizeof(double));
	uint32_t *ta = calloc((size_t)(n ? n : 1), sizeof(uint32_t));
	int np = (int)m->pass_n;
	double *pr = calloc((size_t)(np ? np : 1) * 6, sizeof(double));
	uint32_t *tp = calloc((size_t)(np ? np : 1) * 6, sizeof(uint32_t));
	if (a && b && ta && pr && tp) {
		for (int i = 0; i < n; i++) {
			a[i] = view_hist_at(m, (uint32_t)i)->dirty_mibs;
			b[i] = view_hist_at(m, (uint32_t)i)->bw_mibs;
			ta[i] = view_hist_at(m, (uint32_t)i)->elapsed_ms;
		}
		/* a pass is as many columns as its time label when there is room: each keeps it */
		int k = np ? (COLS - 9) / np : 1;
		k = k < 1 ? 1 : k > 6 ? 6 : k;
		for (int i = 0; i < np * k; i++) {
			/* with a gap between passes when they are three columns or more */
			pr[i] = k >= 3 && i % k == k - 1 ? 0 :
				view_pass_at(m, (uint32_t)(i / k))->remaining_bytes / 1048576.0;
			tp[i] = i % k ? VIEW_NO_LABEL : view_pass_at(m, (uint32_t)(i / k))->elapsed_ms;
		}
		np *= k;
		if (h1 >= 2) {
			draw_plot(y, h1, COLS, "dirty rate (d) vs bandwidth (b), MiB/s, one column per sample",
				  a, b, ta, n, 'd', 'b', u->log_scale);
			y += h1 + 2;
		}
		if (h2 >= 2) {
			char title[96];
			snprintf(title, sizeof(title), "remaining MiB at the start of each pass (passes %" PRIu32
				 "..%" PRIu32 ")", m->pass_n ? view_pass_at(m, 0)->iteration : 0,
				 m->pass_n ? view_pass_at(m, m->pass_n - 1)->iteration : 0);
			draw_plot(y, h2, COLS, title, pr, NULL, tp, np, '#', '#', u->log_scale);
			y += h2 + 2;
		}
	}
	free(a);
	free(b);
	free(ta);
	free(pr);
	free(tp);
	if (log_rows > 0 && y < LINES - 1) {
		put_line(y++, "action log", A_BOLD);
		/* newest last, as many as fit */
		int rows = LINES - 1 - y, shown = 0;
		uint32_t idx[VIEW_LOG];
		for (uint32_t i = v->log_n; i-- > 0 && shown < rows;) {
			const struct view_log_entry *e = view_log_at(v, i);
			if (e->rec.domain == m->domain)
				idx[shown++] = i;
		}
		if (shown == 0)
			put_line(y, "(no actions or events for this domain)", 0);
		for (int i = shown - 1; i >= 0; i--) {
			const struct view_log_entry *e = view_log_at(v, idx[i]);
			attr_t at = 0;
			view_log_format(v, e, line, sizeof(line));
			if (e->rec.type == RING_REC_ACTION)
				at = attn_attr(e->rec.u.action.result == RING_RES_FAILED ? VIEW_ATTN_FAILED :
					       e->rec.u.action.result == RING_RES_ADVISORY ?
					       VIEW_ATTN_ADVISORY : 0);
			put_line(y++, line, at);
		}
	}
}

static void draw_help(const struct replay *p)
{
	static const char *const lines[] = {
		"migtop keys",
		"",
		"  Up/Down PgUp/PgDn  select a migration (also Home/End, j/k)",
		"  Enter              details of the selected migration (Esc or Left: back)",
		"  /                  show only the domains whose name or UUID holds a text (empty: all)",
		"  s                  next sort key: domain, remaining, progress, dirty, elapsed",
		"  d                  set the refresh interval in seconds (replay: the step)",
		"  + / -              double / halve the refresh interval (replay: the step)",
		"  l                  log or linear scale in the detail plots",
		"  p                  pause/resume (replay: play/stop)",
		"  t / T              replay: step forward / back",
		"  b                  replay: jump to a time (HH:MM[:SS], +SEC, -SEC)",
		"  h or ?             this help",
		"  q                  quit (from here: back)",
		"",
		"marks (colour, or bold and underline without colours):",
		"",
	};
	static const struct { unsigned attn; const char *text; } marks[] = {
		{ VIEW_ATTN_FAILED, "  failed   the migration failed or was aborted, or an action failed" },
		{ VIEW_ATTN_OVER_LIMIT, "  over     expected downtime over the max downtime in force" },
		{ VIEW_ATTN_ABOUT_TO_ACT, "  act      the policy predicts it never finishes as it runs: "
					  "the agent acts next" },
		{ VIEW_ATTN_NOT_CONVERGING, "  stuck    not converging: a pass kept 90 % of the one before" },
		{ VIEW_ATTN_ADVISORY, "  advice   advisory: recorded, not applied" },
		{ VIEW_ATTN_SPLIT, "  split    post-copy broken (pc-broken) or being resumed (pc-resume): "
				   "the guest is split between the hosts" },
	};
	int y = 2;
	for (int i = 2; i < LINES - 1; i++)
		put_line(i, "", 0);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]) && y < LINES - 2; i++, y++)
		put_line(y, lines[i], i == 0 ? A_BOLD : 0);
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]) && y < LINES - 2; i++, y++)
		put_line(y, marks[i].text, attn_attr(marks[i].attn));
	if (y < LINES - 1)
		put_line(LINES - 2, "any key returns", 0);
	(void)p;
}

static void draw_status(const struct ui *u, const struct replay *p)
{
	char line[256], filt[96] = "";
	if (u->filter[0])
		snprintf(filt, sizeof(filt), "/%s %zu/%zu  ", u->filter, u->shown, u->total);
	if (u->status[0])
		snprintf(line, sizeof(line), "%s", u->status);
	else if (p)
		snprintf(line, sizeof(line), "%st/T step %.1fs  b jump  p play  Enter detail  / filter  "
			 "s sort (%s)  h help  q quit", filt, u->delay_s, view_sort_name(u->sort));
	else
		snprintf(line, sizeof(line), "%sEnter detail  / filter  s sort (%s)  p pause  d delay "
			 "(%.1fs)  h help  q quit", filt, view_sort_name(u->sort), u->delay_s);
	put_line(LINES - 1, line, A_REVERSE);
}

static bool row_matches(const struct view_mig *m, const char *filter)
{
	return !filter[0] || strcasestr(m->name, filter) || strcasestr(m->uuid, filter);
}

static void redraw(const struct view_state *v, struct ui *u, const struct replay *p)
{
	const struct view_mig **order = calloc(v->n_migs ? v->n_migs : 1, sizeof(*order));
	size_t n = 0;

	if (!order)
		return;
	view_sorted(v, u->sort, order);
	for (size_t i = 0; i < v->n_migs; i++)
		if (row_matches(order[i], u->filter))
			order[n++] = order[i];
	u->shown = n;
	u->total = v->n_migs;
	/* Keep the selection on the same domain across re-sorts, filters and new rows. */
	if (u->have_sel) {
		for (size_t i = 0; i < n; i++)
			if (order[i]->domain == u->sel_domain)
				u->sel = i;
	}
	if (n && u->sel >= n)
		u->sel = n - 1;
	if (n) {
		u->sel_domain = order[u->sel]->domain;
		u->have_sel = true;
	}
	if (COLS < 40 || LINES < 8) {
		erase();
		mvaddnstr(0, 0, "terminal too small for migtop (need 40x8)", COLS);
		refresh();
		free(order);
		return;
	}
	draw_header(v, u, p);
	switch (u->mode) {
	case SCREEN_TABLE:
		draw_table(v, u, order, n);
		break;
	case SCREEN_DETAIL: {
		const struct view_mig *m = NULL;
		for (size_t i = 0; i < n; i++)
			if (u->have_sel && order[i]->domain == u->sel_domain)
				m = order[i];
		draw_detail(v, u, m);
		break;
	}
	case SCREEN_HELP:
		draw_help(p);
		break;
	}
	draw_status(u, p);
	refresh();
	free(order);
}

static bool prompt(const char *q, char *buf, int len)
{
	put_line(LINES - 1, q, A_REVERSE);
	move(LINES - 1, (int)strlen(q) < COLS ? (int)strlen(q) : COLS - 1);
	echo();
	curs_set(1);
	timeout(-1);
	buf[0] = '\0';
	int r = getnstr(buf, len - 1);
	noecho();
	curs_set(0);
	return r == OK;
}

/* The refresh interval (replay: the step), as -d takes it. */
static int parse_delay(const char *s, double *ret)
{
	char *end;
	double d = strtod(s, &end);

	while (*end == ' ')
		end++;
	if (end == s || *end || !(d >= 0.1 && d <= 3600))
		return -EINVAL;
	*ret = d;
	return 0;
}

static int run_screen(const struct opts *o, struct live *l, struct replay *p, struct view_state *v)
{
	struct ui u = { .mode = SCREEN_TABLE, .delay_s = o->delay_s, .sort = o->sort,
			.log_scale = o->log_scale };
	uint64_t next_ns = 0;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "migtop: not a terminal; use -b for plain text or --json\n");
		return EXIT_USAGE;
	}
	if (!initscr()) {
		fprintf(stderr, "migtop: cannot initialise the terminal (is TERM set?)\n");
		return EXIT_RUNTIME;
	}
	colors_init(o->no_color);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (p && replay_seek(p, v, p->t_mono_ns) < 0)
		goto oom;

	while (!stop_requested) {
		uint64_t now = ring_now_mono_ns();
		bool tick = now >= next_ns;
		/* The writer's state is looked at on every pass (at least once a heartbeat, see the
		 * timeout below), not only every delay: a dead agent shows as dead at once, and its
		 * successor's segment is followed. */
		if (!tick && !p && !u.paused && live_liveness(l, now) != v->liveness)
			tick = true;
		if (tick) {
			next_ns = now + (uint64_t)(u.delay_s * 1e9);
			if (p) {
				if (u.playing && replay_seek(p, v, p->t_mono_ns + (uint64_t)(u.delay_s * 1e9)) < 0)
					goto oom;
				if (u.playing && p->t_mono_ns >= p->last_mono_ns)
					u.playing = false;
			} else if (!u.paused) {
				int r = live_collect(l, v);
				if (r < 0) {
					endwin();
					fprintf(stderr, "migtop: the ring became unreadable: %s\n", strerror(-r));
					return EXIT_RUNTIME;
				}
			}
		}
		redraw(v, &u, p);
		uint64_t left_ms = next_ns > now ? (next_ns - now) / 1000000u : 0;
		uint64_t max_ms = p ? 1000 : live_heartbeat_ms(l);
		timeout((int)(left_ms > max_ms ? max_ms : left_ms + 1));
		int ch = getch();
		if (ch == ERR)
			continue;
		u.status[0] = '\0';
		if (u.mode == SCREEN_HELP) {
			/* any key returns where the help was asked for; q too, it does not quit */
			u.mode = u.back;
			continue;
		}
		switch (ch) {
		case 'q':
			goto out;
		case 'h':
		case '?':
			u.back = u.mode;
			u.mode = SCREEN_HELP;
			break;
		case KEY_UP:
		case 'k':
			if (u.sel > 0)
				u.sel--;
			u.have_sel = false;
			break;
		case KEY_DOWN:
		case 'j':
			if (u.sel + 1 < u.shown)
				u.sel++;
			u.have_sel = false;
			break;
		case KEY_PPAGE:
			u.sel = u.sel > (size_t)(LINES - 4) ? u.sel - (size_t)(LINES - 4) : 0;
			u.have_sel = false;
			break;
		case KEY_NPAGE:
			u.sel += (size_t)(LINES - 4);
			if (u.shown && u.sel >= u.shown)
				u.sel = u.shown - 1;
			u.have_sel = false;
			break;
		case KEY_HOME:
			u.sel = 0;
			u.have_sel = false;
			break;
		case KEY_END:
			u.sel = u.shown ? u.shown - 1 : 0;
			u.have_sel = false;
			break;
		case '\n':
		case '\r':
		case KEY_ENTER:
		case KEY_RIGHT:
			if (u.mode == SCREEN_TABLE && u.shown)
				u.mode = SCREEN_DETAIL;
			else if (u.mode == SCREEN_DETAIL && ch != KEY_RIGHT)
				u.mode = SCREEN_TABLE;
			break;
		case 27: /* Esc */
		case KEY_LEFT:
		case KEY_BACKSPACE:
			u.mode = SCREEN_TABLE;
			break;
		case 's':
			u.sort = (u.sort + 1) % VIEW_SORT_MAX;
			snprintf(u.status, sizeof(u.status), "sorted by %s", view_sort_name(u.sort));
			break;
		case 'p':
		case ' ':
			if (p)
				u.playing = !u.playing;
			else
				u.paused = !u.paused;
			break;
		case 'd': {
			char buf[32];
			double d;
			if (!prompt(p ? "step (seconds, 0.1-3600): " : "delay (seconds, 0.1-3600): ",
				    buf, sizeof(buf)) || !buf[0])
				break;
			if (parse_delay(buf, &d) < 0) {
				snprintf(u.status, sizeof(u.status), "cannot read '%.40s' as seconds between "
					 "0.1 and 3600", buf);
				break;
			}
			u.delay_s = d;
			snprintf(u.status, sizeof(u.status), "refresh every %.1fs", u.delay_s);
			next_ns = now + (uint64_t)(u.delay_s * 1e9);
			break;
		}
		case '/': {
			char buf[sizeof(u.filter)];
			if (!prompt("show domains whose name or UUID holds (empty: all): ", buf, sizeof(buf)))
				break;
			snprintf(u.filter, sizeof(u.filter), "%s", buf);
			u.have_sel = false;
			u.sel = 0;              /* the status line shows the filter and its count */
			break;
		}
		case 'l':
		case 'L':
			u.log_scale = !u.log_scale;
			snprintf(u.status, sizeof(u.status), "%s scale in the detail plots",
				 u.log_scale ? "log" : "linear");
			break;
		case '+':
		case '=':
			u.delay_s = u.delay_s * 2 > 60 ? 60 : u.delay_s * 2;
			snprintf(u.status, sizeof(u.status), "refresh every %.1fs", u.delay_s);
			next_ns = now + (uint64_t)(u.delay_s * 1e9);
			break;
		case '-':
			u.delay_s = u.delay_s / 2 < 0.1 ? 0.1 : u.delay_s / 2;
			snprintf(u.status, sizeof(u.status), "refresh every %.1fs", u.delay_s);
			next_ns = now + (uint64_t)(u.delay_s * 1e9);
			break;
		case 't':
		case 'T':
			if (!p) {
				snprintf(u.status, sizeof(u.status), "t/T step through a replay (migtop -r FILE)");
				break;
			}
			{
				uint64_t st = (uint64_t)(u.delay_s * 1e9);
				uint64_t t = ch == 't' ? p->t_mono_ns + st
						       : (p->t_mono_ns > st ? p->t_mono_ns - st : 0);
				if (replay_seek(p, v, t) < 0)
					goto oom;
			}
			break;
		case 'b':
			if (p) {
				char buf[64], q[128];
				uint64_t t;
				snprintf(q, sizeof(q), "jump to (HH:MM[:SS], +SEC from start, -SEC from end): ");
				if (prompt(q, buf, sizeof(buf)) && buf[0]) {
					if (parse_jump(p, buf, &t) == 0) {
						if (replay_seek(p, v, t) < 0)
							goto oom;
					} else {
						snprintf(u.status, sizeof(u.status), "cannot read time '%s'", buf);
					}
				}
			}
			break;
		case KEY_RESIZE:
			clear();
			break;
		default:
			break;
		}
	}
out:
	endwin();
	return EXIT_OK;
oom:
	endwin();
	fprintf(stderr, "migtop: out of memory\n");
	return EXIT_RUNTIME;
}

/* ---- main ------------------------------------------------------------------------------------- */


/* ---- main ------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: migtop [OPTION]...\n"
		"Show the live migrations of this host as migtuned sees them, or replay a dump.\n"
		"\n"
		"  -b, --batch          plain text, one block per refresh, for pipes and logs\n"
		"      --json           one JSON object per refresh (implies batch)\n"
		"  -n, --iterations N   stop after N refreshes (default: until interrupted;\n"
		"                       a batch replay stops at the end of the dump)\n"
		"  -d, --delay SEC      refresh interval, or the replay step (default 2)\n"
		"  -s, --sort KEY       domain, remaining, progress, dirty or elapsed\n"
		"  -r, --replay FILE    replay a dump written by migdump (t/T step, b jump)\n"
		"      --begin TIME     replay from TIME: HH:MM[:SS], +SEC from start, -SEC from end\n"
		"      --ring NAME      telemetry ring to read (default %s)\n"
		"      --no-color       no colours: bold and underline mark what colours would\n"
		"                       (also with NO_COLOR set, or a terminal without colours)\n"
		"      --log            start the detail plots on a log scale (key l toggles)\n"
		"  -h, --help           this help\n"
		"  -V, --version        version\n"
		"\n"
		"Keys: arrows select, Enter details, / filter, s sort, p pause, d or +/- delay,\n"
		"l log scale, h help, q quit.\n"
		"\n"
		"Exit status: 0 ok, 1 usage, 2 no ring (migtuned not running) or no such dump,\n"
		"3 permission denied, 4 other ABI or format version, 5 runtime error.\n"
		"See migtop(1).\n", RING_DEFAULT_NAME);
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_RING, OPT_BEGIN, OPT_NO_COLOR, OPT_LOG };
	static const struct option longopts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "iterations", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' },
		{ "sort", required_argument, NULL, 's' },
		{ "replay", required_argument, NULL, 'r' },
		{ "begin", required_argument, NULL, OPT_BEGIN },
		{ "ring", required_argument, NULL, OPT_RING },
		{ "no-color", no_argument, NULL, OPT_NO_COLOR },
		{ "no-colour", no_argument, NULL, OPT_NO_COLOR },
		{ "log", no_argument, NULL, OPT_LOG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .ring = RING_DEFAULT_NAME, .delay_s = 2.0, .sort = VIEW_SORT_DOMAIN };
	struct live l = { 0 };
	struct replay p = { 0 };
	struct view_state v;
	struct view_source src;
	char *end;
	int c, rc;

	setlocale(LC_ALL, "");
	while ((c = getopt_long(argc, argv, "bn:d:s:r:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.batch = true;
			break;
		case OPT_JSON:
			o.json = o.batch = true;
			break;
		case 'n':
			errno = 0;
			o.iterations = strtol(optarg, &end, 10);
			if (errno || *end || o.iterations < 1) {
				fprintf(stderr, "migtop: -n wants a positive count, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			if (parse_delay(optarg, &o.delay_s) < 0) {
				fprintf(stderr, "migtop: -d wants seconds between 0.1 and 3600, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 's': {
			int k;
			for (k = 0; k < VIEW_SORT_MAX; k++)
				if (strcmp(optarg, view_sort_name(k)) == 0)
					break;
			if (k == VIEW_SORT_MAX) {
				fprintf(stderr, "migtop: unknown sort key '%s' (domain, remaining, progress, "
					"dirty, elapsed)\n", optarg);
				return EXIT_USAGE;
			}
			o.sort = k;
			break;
		}
		case 'r':
			o.replay = optarg;
			break;
		case OPT_BEGIN:
			o.begin = optarg;
			break;
		case OPT_RING:
			o.ring = optarg;
			break;
		case OPT_NO_COLOR:
			o.no_color = true;
			break;
		case OPT_LOG:
			o.log_scale = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("migtop %s\n", MIGTUNE_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'migtop --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "migtop: unexpected argument '%s'; try 'migtop --help'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (o.begin && !o.replay) {
		fprintf(stderr, "migtop: --begin only applies to a replay (-r FILE)\n");
		return EXIT_USAGE;
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (o.replay) {
		rc = open_replay(&o, &p);
		if (rc != EXIT_OK)
			goto out;
		src = (struct view_source){ replay_lookup, replay_to_real, &p };
		if (o.begin) {
			uint64_t t;
			if (parse_jump(&p, o.begin, &t) < 0) {
				fprintf(stderr, "migtop: cannot read --begin '%s' (HH:MM[:SS], +SEC, -SEC)\n",
					o.begin);
				rc = EXIT_USAGE;
				goto out;
			}
			p.t_mono_ns = t < p.first_mono_ns ? p.first_mono_ns : t;
		}
	} else {
		rc = open_live(&o, &l);
		if (rc != EXIT_OK)
			goto out;
		l.name = o.ring;
		src = (struct view_source){ live_lookup, live_to_real, &l };
		ring_reader_seek_oldest(l.r);
	}
	view_init(&v, &src);
	v.label = o.replay ? o.replay : "live";
	/* Unicode blocks and ellipses only where the locale says the terminal takes UTF-8 */
	v.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	if (o.batch)
		rc = run_batch(&o, o.replay ? NULL : &l, o.replay ? &p : NULL, &v);
	else
		rc = run_screen(&o, o.replay ? NULL : &l, o.replay ? &p : NULL, &v);
	view_free(&v);
out:
	if (l.r)
		ring_reader_close(l.r);
	if (p.d)
		dump_close(p.d);
	return rc;
}
