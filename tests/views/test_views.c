/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * migtop and migdump as programs: batch text and JSON against rings of known content, live
 * refreshes, replay of dumps, the error messages and exit codes users see.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
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
#include "shm/dump.h"
#include "tools/view_decode.h"

#define MIGTOP  VIEWS_BIN_DIR "/migtop"
#define MIGDUMP VIEWS_BIN_DIR "/migdump"

struct fixture {
	char name[64];
	char path[128];
	struct ring_writer *w;
	struct synth_opts so;
	struct ring_record *recs;
	size_t n;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ring_create_opts o = { .slot_count = 4096, .domain_slots = 64, .gid = (gid_t)-1 };
	assert_non_null(f);
	synth_ring_name(f->name, sizeof(f->name));
	o.name = f->name;
	assert_int_equal(ring_writer_open(&o, &f->w), 0);
	f->so = (struct synth_opts){ .migrations = 3, .steps = 12, .step_ns = 1000000000ull, .seed = 7 };
	f->so.start_mono_ns = ring_now_mono_ns() - 13 * f->so.step_ns;
	f->n = synth_count(&f->so);
	f->recs = calloc(f->n, sizeof(*f->recs));
	assert_non_null(f->recs);
	assert_int_equal(synth_records(&f->so, 0, f->recs, f->n), f->n);
	assert_int_equal(synth_fill(f->w, &f->so), (long)f->n);
	snprintf(f->path, sizeof(f->path), "/tmp/migtune-test-views-%d%s", (int)getpid(), DUMP_SUFFIX);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->w)
		ring_writer_close(f->w, true);
	unlink(f->path);
	free(f->recs);
	free(f);
	return 0;
}

/* The last sample and action the generator wrote for migration m. */
__attribute__((returns_nonnull))
static const struct ring_record *last_of(const struct fixture *f, uint16_t type, uint32_t m)
{
	const struct ring_record *last = NULL;
	for (size_t i = 0; i < f->n; i++)
		if (f->recs[i].type == type && f->recs[i].domain == m)
			last = &f->recs[i];
	if (!last)
		fail_msg("the generator wrote no record of type %u for domain %u", type, m);
	return last;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_batch_text(void **state)
{
	struct fixture *f = *state;
	struct run r;
	char line[512], want[64];

	RUN(&r, MIGTOP, "--ring", f->name, "-b", "-n", "1");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "agent live"));
	assert_non_null(strstr(r.out, "migrations 3"));
	snprintf(want, sizeof(want), "records %zu ", f->n);
	assert_non_null(strstr(r.out, want));
	assert_non_null(strstr(r.out, "NIC mig0 up speed 10000Mb/s"));
	/* vm-001 finished in the last step, vm-000 and vm-002 are still in pre-copy */
	assert_non_null(run_line_with(r.out, "vm-001 ", line, sizeof(line)));
	assert_non_null(strstr(line, " done "));
	assert_non_null(run_line_with(r.out, "vm-002 ", line, sizeof(line)));
	assert_non_null(strstr(line, " pre-copy "));
	const struct ring_record *a = last_of(f, RING_REC_ACTION, 2);
	assert_non_null(a);
	assert_non_null(strstr(line, a->u.action.reason));
	/* active rows come before finished ones */
	assert_true(strstr(r.out, "vm-002 ") < strstr(r.out, "vm-001 "));
	/* vm-000 has no bandwidth limit (0 in the ring, JSON and CSV): "none", never "-" (unknown) */
	assert_non_null(run_line_with(r.out, "vm-000 ", line, sizeof(line)));
	assert_non_null(strstr(line, "/none "));
	run_free(&r);
}

static void check_json_refresh(const struct fixture *f, struct json_object *o)
{
	struct json_object *migs, *x;
	assert_true(json_object_object_get_ex(o, "agent", &x));
	assert_string_equal(json_object_get_string(x), "live");
	assert_true(json_object_object_get_ex(o, "records", &x));
	assert_int_equal(json_object_get_uint64(x), f->n);
	assert_true(json_object_object_get_ex(o, "records_lost", &x));
	assert_int_equal(json_object_get_uint64(x), 0);
	assert_true(json_object_object_get_ex(o, "nics", &x));
	assert_int_equal(json_object_array_length(x), 1);
	assert_true(json_object_object_get_ex(o, "migrations", &migs));
	assert_int_equal(json_object_array_length(migs), 3);
	for (size_t i = 0; i < 3; i++) {
		struct json_object *m = json_object_array_get_idx(migs, i);
		assert_true(json_object_object_get_ex(m, "domain_index", &x));
		uint32_t dom = (uint32_t)json_object_get_uint64(x);
		const struct ring_record *s = last_of(f, RING_REC_SAMPLE, dom);
		const struct ring_record *a = last_of(f, RING_REC_ACTION, dom);
		char name[16];
		snprintf(name, sizeof(name), "vm-%03u", dom);
		assert_true(json_object_object_get_ex(m, "domain", &x));
		assert_string_equal(json_object_get_string(x), name);
		assert_true(json_object_object_get_ex(m, "phase", &x));
		assert_string_equal(json_object_get_string(x), ring_phase_name(s->u.sample.phase));
		assert_true(json_object_object_get_ex(m, "direction", &x));
		assert_string_equal(json_object_get_string(x), ring_direction_name(s->u.sample.direction));
		assert_true(json_object_object_get_ex(m, "pass", &x));
		assert_int_equal(json_object_get_uint64(x), s->u.sample.iteration);
		assert_true(json_object_object_get_ex(m, "remaining_bytes", &x));
		assert_int_equal(json_object_get_uint64(x), s->u.sample.data_remaining_bytes);
		assert_true(json_object_object_get_ex(m, "expected_downtime_ms", &x));
		assert_int_equal(json_object_get_uint64(x), s->u.sample.expected_downtime_ms);
		assert_true(json_object_object_get_ex(m, "downtime_limit_ms", &x));
		assert_int_equal(json_object_get_uint64(x), s->u.sample.downtime_limit_ms);
		assert_true(json_object_object_get_ex(m, "throttle_pct", &x));
		assert_int_equal(json_object_get_uint64(x), s->u.sample.throttle_pct);
		assert_true(json_object_object_get_ex(m, "bandwidth_limit_mibs", &x));
		assert_true(json_object_get_double(x) == s->u.sample.bandwidth_limit_mibs);
		assert_true(json_object_object_get_ex(m, "bandwidth_mibs", &x));
		double bw = (double)s->u.sample.memory_bps / 1048576.0;
		assert_true(json_object_get_double(x) > bw - 0.01 && json_object_get_double(x) < bw + 0.01);
		double prog = 100.0 * (double)(s->u.sample.data_total_bytes - s->u.sample.data_remaining_bytes) /
			      (double)s->u.sample.data_total_bytes;
		if (s->u.sample.phase == RING_PHASE_DONE)
			prog = 100;
		assert_true(json_object_object_get_ex(m, "progress_pct", &x));
		assert_true(json_object_get_double(x) > prog - 0.01 && json_object_get_double(x) < prog + 0.01);
		assert_true(json_object_object_get_ex(m, "last_action", &x));
		struct json_object *reason;
		assert_true(json_object_object_get_ex(x, "reason", &reason));
		assert_string_equal(json_object_get_string(reason), a->u.action.reason);
		assert_true(json_object_object_get_ex(x, "new_value", &reason));
		assert_int_equal(json_object_get_int64(reason), a->u.action.new_value);
	}
}

static void test_batch_json(void **state)
{
	struct fixture *f = *state;
	struct run r;

	RUN(&r, MIGTOP, "--ring", f->name, "--json", "-n", "2", "-d", "0.1");
	assert_int_equal(r.status, 0);
	assert_int_equal(count_lines(r.out), 2);
	char *save = NULL;
	int k = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), k++) {
		struct json_object *o = json_tokener_parse(l);
		assert_non_null(o);
		check_json_refresh(f, o);
		json_object_put(o);
	}
	assert_int_equal(k, 2);
	run_free(&r);
}

/* A second refresh shows what the writer appended after the first one. */
static void test_live_refresh(void **state)
{
	struct fixture *f = *state;
	int po[2];
	assert_int_equal(pipe(po), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		close(po[0]);
		execl(MIGTOP, MIGTOP, "--ring", f->name, "--json", "-n", "2", "-d", "1", (char *)NULL);
		_exit(127);
	}
	close(po[1]);
	char buf[1 << 16];
	size_t len = 0;
	int lines = 0;
	bool appended = false;
	for (int spin = 0; spin < 200 && lines < 2; spin++) {   /* bounded: 200 x 100 ms */
		struct pollfd pf = { po[0], POLLIN, 0 };
		if (poll(&pf, 1, 100) > 0) {
			ssize_t k = read(po[0], buf + len, sizeof(buf) - 1 - len);
			if (k <= 0)
				break;
			len += (size_t)k;
			buf[len] = '\0';
			lines = (int)count_lines(buf);
		}
		if (lines >= 1 && !appended) {
			struct ring_sample s = last_of(f, RING_REC_SAMPLE, 0)->u.sample;
			s.iteration = 99;
			s.phase = RING_PHASE_POSTCOPY;
			s.elapsed_ms += 1000;
			assert_int_equal(ring_append(f->w, RING_REC_SAMPLE, 0, &s, sizeof(s)), 0);
			appended = true;
		}
		ring_heartbeat(f->w);
	}
	close(po[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(lines, 2);
	char *second = strchr(buf, '\n') + 1;
	struct json_object *o = json_tokener_parse(second), *migs, *m, *x;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "migrations", &migs));
	bool found = false;
	for (size_t i = 0; i < json_object_array_length(migs); i++) {
		m = json_object_array_get_idx(migs, i);
		json_object_object_get_ex(m, "domain", &x);
		if (strcmp(json_object_get_string(x), "vm-000") != 0)
			continue;
		found = true;
		json_object_object_get_ex(m, "pass", &x);
		assert_int_equal(json_object_get_int(x), 99);
		json_object_object_get_ex(m, "phase", &x);
		assert_string_equal(json_object_get_string(x), "post-copy");
	}
	assert_true(found);
	json_object_put(o);
}

/* An agent restart replaces the segment; a running migtop follows it to the new one. */
static void test_follows_restart(void **state)
{
	struct fixture *f = *state;
	int po[2];

	ring_writer_close(f->w, false);   /* the first agent stops; its segment stays */
	f->w = NULL;
	assert_int_equal(pipe(po), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		close(po[0]);
		execl(MIGTOP, MIGTOP, "--ring", f->name, "--json", "-n", "3", "-d", "0.5", (char *)NULL);
		_exit(127);
	}
	close(po[1]);
	char buf[1 << 17];
	size_t len = 0;
	int lines = 0;
	for (int spin = 0; spin < 200 && lines < 3; spin++) {   /* bounded: 200 x 100 ms */
		struct pollfd pf = { po[0], POLLIN, 0 };
		if (poll(&pf, 1, 100) > 0) {
			ssize_t k = read(po[0], buf + len, sizeof(buf) - 1 - len);
			if (k <= 0)
				break;
			len += (size_t)k;
			buf[len] = '\0';
			lines = (int)count_lines(buf);
		}
		if (lines >= 1 && !f->w) {
			struct ring_create_opts o = { .name = f->name, .slot_count = 4096, .domain_slots = 64,
						      .gid = (gid_t)-1 };
			struct synth_opts so = { .migrations = 5, .steps = 3, .step_ns = 1000000000ull,
						 .seed = 1, .start_mono_ns = ring_now_mono_ns() - 4000000000ull };
			assert_int_equal(ring_writer_open(&o, &f->w), 0);
			assert_true(synth_fill(f->w, &so) > 0);
		}
		if (f->w)
			ring_heartbeat(f->w);
	}
	close(po[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(lines, 3);
	struct json_object *first = json_tokener_parse(buf), *x;
	assert_non_null(first);
	json_object_object_get_ex(first, "agent", &x);
	assert_string_equal(json_object_get_string(x), "stopped");
	json_object_object_get_ex(first, "migrations", &x);
	assert_int_equal(json_object_array_length(x), 3);
	json_object_put(first);
	char *last = strrchr(buf, '\n');
	*last = '\0';
	last = strrchr(buf, '\n') + 1;
	struct json_object *o = json_tokener_parse(last);
	assert_non_null(o);
	json_object_object_get_ex(o, "agent", &x);
	assert_string_equal(json_object_get_string(x), "live");
	json_object_object_get_ex(o, "migrations", &x);
	assert_int_equal(json_object_array_length(x), 5);
	json_object_put(o);
}

static void test_no_ring(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, MIGTOP, "--ring", "/migtune-no-such-ring", "-b", "-n", "1");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "migtuned is not running"));
	assert_non_null(strstr(r.err, "/dev/shm/migtune-no-such-ring"));
	assert_int_equal(r.out_len, 0);
	run_free(&r);
	RUN(&r, MIGDUMP, "--ring", "/migtune-no-such-ring", "-o", "/tmp/never.migdump");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "migtuned is not running"));
	assert_int_equal(access("/tmp/never.migdump", F_OK), -1);
	run_free(&r);
	RUN(&r, MIGTOP, "-r", "/tmp/migtune-no-such-dump.migdump", "-b");
	assert_int_equal(r.status, 2);
	run_free(&r);
}

static void test_other_abi(void **state)
{
	(void)state;
	char name[64], path[128];
	struct ring_header h = { 0 };
	struct run r;

	synth_ring_name(name, sizeof(name));
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	h.magic = RING_MAGIC;
	h.endian = RING_ENDIAN;
	h.abi_major = RING_ABI_MAJOR + 1;
	h.header_size = RING_HEADER_SIZE;
	h.slot_size = RING_SLOT_SIZE;
	h.slot_count = 64;
	h.domain_size = RING_DOMAIN_SIZE;
	h.domain_slots = 4;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 65536), 0);
	assert_int_equal(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);
	RUN(&r, MIGTOP, "--ring", name, "-b", "-n", "1");
	unlink(path);
	assert_int_equal(r.status, 4);
	char want[32];
	snprintf(want, sizeof(want), "ABI version %u", RING_ABI_MAJOR + 1);
	assert_non_null(strstr(r.err, want));
	run_free(&r);
}

static void test_permission_denied(void **state)
{
	struct fixture *f = *state;
	char path[128], copy[256];
	struct run r;

	snprintf(path, sizeof(path), "/dev/shm%s", f->name);
	assert_int_equal(chmod(path, 0600), 0);
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		if (!pw)
			fail_msg("no user 'nobody' to run migtop as (the test needs an unprivileged user)");
		/* nobody may not reach the build tree (a checkout in root's home is 0700) */
		assert_int_equal(exe_copy_reachable(MIGTOP, copy, sizeof(copy)), 0);
		char *const av[] = { copy, "--ring", f->name, "-b", "-n", "1", NULL };
		run_as(&r, pw->pw_uid, pw->pw_gid, av);
		exe_copy_remove(copy);
	} else {
		assert_int_equal(chmod(path, 0), 0);
		RUN(&r, MIGTOP, "--ring", f->name, "-b", "-n", "1");
	}
	chmod(path, 0640);
	assert_int_equal(r.status, 3);
	assert_non_null(strstr(r.err, "permission denied"));
	run_free(&r);
}

static void test_usage_errors(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, MIGTOP, "-n", "0", "-b");
	assert_int_equal(r.status, 1);
	run_free(&r);
	RUN(&r, MIGTOP, "-d", "fast");
	assert_int_equal(r.status, 1);
	run_free(&r);
	RUN(&r, MIGTOP, "-s", "colour");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "unknown sort key"));
	run_free(&r);
	RUN(&r, MIGTOP, "--help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Exit status"));
	run_free(&r);
	RUN(&r, MIGDUMP, "--help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--since"));
	run_free(&r);
	RUN(&r, MIGDUMP, "-i");
	assert_int_equal(r.status, 1);
	run_free(&r);
}

static void test_migdump_formats(void **state)
{
	struct fixture *f = *state;
	struct run r;
	char want[64];

	RUN(&r, MIGDUMP, "--ring", f->name, "-o", f->path);
	assert_int_equal(r.status, 0);
	snprintf(want, sizeof(want), "%zu records", f->n);
	assert_non_null(strstr(r.err, want));
	run_free(&r);

	RUN(&r, MIGDUMP, "-d", f->path, "--csv");
	assert_int_equal(r.status, 0);
	assert_int_equal(count_lines(r.out), f->n + 1);
	assert_true(strncmp(r.out, "time,mono_ns,type,domain,domain_name,", 37) == 0);
	{
		/* ISO 8601 with milliseconds and the UTC offset: 2026-12-06T02:52:01.123+01:00, */
		const char *t = strchr(r.out, '\n') + 1;

		assert_true(t[4] == '-' && t[10] == 'T' && t[19] == '.' &&
			    (t[23] == '+' || t[23] == '-') && t[26] == ':' && t[29] == ',');
	}
	run_free(&r);

	RUN(&r, MIGDUMP, "-d", f->path, "--json");
	assert_int_equal(r.status, 0);
	assert_int_equal(count_lines(r.out), f->n);
	char *save = NULL;
	size_t i = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		struct json_object *o = json_tokener_parse(l), *x;
		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "mono_ns", &x));
		assert_int_equal(json_object_get_uint64(x), f->recs[i].mono_ns);
		assert_true(json_object_object_get_ex(o, "type", &x));
		assert_string_equal(json_object_get_string(x), ring_rec_type_name(f->recs[i].type));
		json_object_put(o);
	}
	run_free(&r);

	RUN(&r, MIGDUMP, "-d", f->path, "-D", "vm-001");
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out, "vm-000"));
	assert_non_null(strstr(r.out, "sample vm-001 "));
	run_free(&r);

	RUN(&r, MIGDUMP, "-i", "-d", f->path);
	assert_int_equal(r.status, 0);
	snprintf(want, sizeof(want), "records:     %zu ", f->n);
	assert_non_null(strstr(r.out, want));
	assert_non_null(strstr(r.out, "complete"));
	run_free(&r);

	/* domain filter when writing */
	RUN(&r, MIGDUMP, "--ring", f->name, "-o", f->path, "--domain", "vm-002");
	assert_int_equal(r.status, 0);
	run_free(&r);
	RUN(&r, MIGDUMP, "-d", f->path, "--json");
	assert_int_equal(r.status, 0);
	size_t want_n = 0;
	for (i = 0; i < f->n; i++)
		want_n += f->recs[i].domain == 2;
	assert_int_equal(count_lines(r.out), want_n);
	run_free(&r);
	RUN(&r, MIGDUMP, "--ring", f->name, "-o", f->path, "--domain", "vm-404");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "no domain 'vm-404'"));
	run_free(&r);
}

/* A ring of one agent record: the dump is larger than its records and says so; the record's
 * kind is a word. */
static void test_migdump_small_ring(void **state)
{
	struct ring_create_opts o = { .slot_count = 1024, .domain_slots = 16, .gid = (gid_t)-1 };
	struct ring_agent ra = { .kind = RING_AGENT_START, .pid = 4242 };
	struct ring_writer *w;
	char name[64], path[128];
	struct run r;

	(void)state;
	synth_ring_name(name, sizeof(name));
	o.name = name;
	assert_int_equal(ring_writer_open(&o, &w), 0);
	snprintf(ra.text, sizeof(ra.text), "migtuned started");
	assert_int_equal(ring_append(w, RING_REC_AGENT, RING_NO_DOMAIN, &ra, sizeof(ra)), 0);
	snprintf(path, sizeof(path), "/tmp/migtune-test-small-%d%s", (int)getpid(), DUMP_SUFFIX);
	RUN(&r, MIGDUMP, "--ring", name, "-o", path);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "1 records"));
	assert_non_null(strstr(r.err, "x larger than the records"));
	assert_null(strstr(r.err, "smaller"));
	run_free(&r);
	RUN(&r, MIGDUMP, "-d", path);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "start pid 4242 migtuned started"));
	assert_null(strstr(r.out, "kind "));
	run_free(&r);
	unlink(path);
	ring_writer_close(w, true);
}

static void test_migdump_truncated(void **state)
{
	struct fixture *f = *state;
	struct run r;
	struct stat sb;

	RUN(&r, MIGDUMP, "--ring", f->name, "-o", f->path);
	assert_int_equal(r.status, 0);
	run_free(&r);
	assert_int_equal(stat(f->path, &sb), 0);
	/* lose the trailer: every record is still there, the damage is reported, exit 6 */
	assert_int_equal(truncate(f->path, sb.st_size - 20), 0);
	RUN(&r, MIGDUMP, "-d", f->path, "--csv");
	assert_int_equal(r.status, 6);
	assert_int_equal(count_lines(r.out), f->n + 1);
	assert_non_null(strstr(r.err, "cut short"));
	run_free(&r);
	/* cut into the only chunk: nothing decodable, still a clear message */
	assert_int_equal(truncate(f->path, sb.st_size / 2), 0);
	RUN(&r, MIGDUMP, "-d", f->path);
	assert_int_equal(r.status, 6);
	assert_int_equal(r.out_len, 0);
	assert_non_null(strstr(r.err, "cut short"));
	run_free(&r);
	/* not a dump at all */
	RUN(&r, MIGDUMP, "-d", "/etc/hostname");
	assert_int_equal(r.status, 4);
	assert_non_null(strstr(r.err, "not a migtune dump"));
	run_free(&r);
}

static void test_replay_batch(void **state)
{
	struct fixture *f = *state;
	struct run r;

	RUN(&r, MIGDUMP, "--ring", f->name, "-o", f->path);
	assert_int_equal(r.status, 0);
	run_free(&r);
	/* 12 steps one second apart, replayed in 4 s steps: +4 (the first interval), +8, then the
	 * end (+11.00x) */
	RUN(&r, MIGTOP, "-r", f->path, "--json", "-d", "4");
	assert_int_equal(r.status, 0);
	assert_int_equal(count_lines(r.out), 3);
	char *save = NULL;
	uint64_t prev_records = 0;
	int k = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), k++) {
		struct json_object *o = json_tokener_parse(l), *x, *migs;
		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "agent", &x));
		assert_string_equal(json_object_get_string(x), "replay");
		assert_true(json_object_object_get_ex(o, "records", &x));
		assert_true(json_object_get_uint64(x) > prev_records);
		prev_records = json_object_get_uint64(x);
		assert_true(json_object_object_get_ex(o, "migrations", &migs));
		for (size_t i = 0; i < json_object_array_length(migs); i++) {
			struct json_object *m = json_object_array_get_idx(migs, i);
			json_object_object_get_ex(m, "domain", &x);
			if (strcmp(json_object_get_string(x), "vm-001") != 0)
				continue;
			json_object_object_get_ex(m, "phase", &x);
			/* done only in the last step */
			assert_string_equal(json_object_get_string(x), k == 2 ? "done" : "pre-copy");
			json_object_object_get_ex(m, "pass", &x);
			if (k == 0)
				assert_int_equal(json_object_get_int(x), 1);
		}
		json_object_put(o);
	}
	assert_int_equal(prev_records, f->n);
	run_free(&r);

	/* --begin jumps: from 10 s after the start, refreshes at +10, +11 and the end (+11.00x) */
	RUN(&r, MIGTOP, "-r", f->path, "-b", "-d", "1", "--begin", "+10");
	assert_int_equal(r.status, 0);
	size_t blocks = 0;
	for (const char *p = r.out; (p = strstr(p, "migtop ")); p++)
		blocks++;
	assert_int_equal(blocks, 3);
	run_free(&r);
}

static void test_dead_writer_segment(void **state)
{
	(void)state;
	char name[64], copy[128], out[128], shm[128];
	struct run r;
	synth_ring_name(name, sizeof(name));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* an agent that dies without cleaning up */
		struct ring_create_opts o = { .name = name, .slot_count = 1024, .domain_slots = 16,
					      .gid = (gid_t)-1 };
		struct ring_writer *w;
		struct synth_opts so = { .migrations = 2, .steps = 5, .step_ns = 1000000000ull, .seed = 3,
					 .start_mono_ns = ring_now_mono_ns() - 6000000000ull };
		if (ring_writer_open(&o, &w) < 0 || synth_fill(w, &so) < 0)
			_exit(1);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(shm, sizeof(shm), "/dev/shm%s", name);
	snprintf(copy, sizeof(copy), "/tmp/migtune-test-seg-%d", (int)getpid());
	snprintf(out, sizeof(out), "/tmp/migtune-test-seg-%d%s", (int)getpid(), DUMP_SUFFIX);

	RUN(&r, MIGTOP, "--ring", name, "-b", "-n", "1");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "agent dead"));
	run_free(&r);

	char cmd[400];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", shm, copy);
	assert_int_equal(system(cmd), 0);
	unlink(shm);
	RUN(&r, MIGDUMP, "--segment", copy, "-o", out);
	assert_int_equal(r.status, 0);
	run_free(&r);
	RUN(&r, MIGDUMP, "-d", out, "--json");
	assert_int_equal(r.status, 0);
	struct synth_opts so = { .migrations = 2, .steps = 5 };
	assert_int_equal(count_lines(r.out), synth_count(&so));
	run_free(&r);
	unlink(copy);
	unlink(out);
}

/* An agent that has seen more than 65536 domains: -D finds the newest ones, by #index and by name. */
static void test_domain_index_past_65535(void **state)
{
	(void)state;
	char name[64], out[128], dname[32];
	struct ring_create_opts o = { .slot_count = 1024, .domain_slots = 16, .gid = (gid_t)-1 };
	struct ring_writer *w;
	struct run r;
	uint8_t uuid[16];
	uint32_t last = 0, other = 0;

	synth_ring_name(name, sizeof(name));
	snprintf(out, sizeof(out), "/tmp/migtune-test-idx-%d%s", (int)getpid(), DUMP_SUFFIX);
	o.name = name;
	assert_int_equal(ring_writer_open(&o, &w), 0);
	for (uint32_t i = 0; i < 70000; i++) {
		synth_uuid(i, uuid);
		snprintf(dname, sizeof(dname), "d%u", i);
		last = ring_domain_index(w, uuid, dname);
		if (i == 69990)
			other = last;
	}
	assert_int_equal(last, 69999);
	struct ring_sample s = { .direction = RING_DIR_OUT, .phase = RING_PHASE_PRECOPY, .iteration = 1,
				 .page_size = 4096, .elapsed_ms = 1000 };
	assert_int_equal(ring_append(w, RING_REC_SAMPLE, last, &s, sizeof(s)), 0);
	assert_int_equal(ring_append(w, RING_REC_SAMPLE, other, &s, sizeof(s)), 0);

	RUN(&r, MIGDUMP, "--ring", name, "-D", "#69999", "-o", out);
	if (r.status != 0)
		fail_msg("migdump -D '#69999': exit %d: %s", r.status, r.err);
	assert_non_null(strstr(r.err, "1 records"));
	run_free(&r);
	RUN(&r, MIGDUMP, "-d", out);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, " d69999 out pre-copy"));
	assert_int_equal(count_lines(r.out), 1);
	run_free(&r);
	unlink(out);
	RUN(&r, MIGDUMP, "--ring", name, "-D", "d69990", "-o", out);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "1 records"));
	run_free(&r);
	unlink(out);
	/* an index never given out is still an error */
	RUN(&r, MIGDUMP, "--ring", name, "-D", "#70000", "-o", out);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "no domain '#70000'"));
	run_free(&r);
	ring_writer_close(w, true);
}

/* The agent's "dirtyrate prior" event: migdump's JSON names the rate and its age. */
/* An agent event of code with its two details, op and subop. */
static void agent_event(struct ring_record *rec, int32_t code, int32_t d1, int32_t d2,
			const char *op, const char *subop)
{
	memset(rec, 0, sizeof(*rec));
	rec->type = RING_REC_EVENT;
	rec->size = sizeof(struct ring_event);
	rec->domain = RING_NO_DOMAIN;
	rec->u.event.source = RING_EVSRC_AGENT;
	rec->u.event.code = code;
	rec->u.event.detail1 = d1;
	rec->u.event.detail2 = d2;
	snprintf(rec->u.event.op, sizeof(rec->u.event.op), "%s", op);
	snprintf(rec->u.event.subop, sizeof(rec->u.event.subop), "%s", subop);
}

static void test_prior_dirty_event_json(void **state)
{
	struct ring_record rec;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	struct json_object *o, *x;

	(void)state;
	agent_event(&rec, RING_AGEV_PRIOR_DIRTY, 36 * 1024, 600, "dirtyrate", "prior");
	snprintf(rec.u.event.text, sizeof(rec.u.event.text), "36.0 MiB/s over 1000 ms");
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	view_record_print(f, VIEW_FMT_JSON, NULL, &rec);
	fclose(f);
	o = json_tokener_parse(buf);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "prior_dirty_bps", &x));
	assert_int_equal(json_object_get_uint64(x), UINT64_C(36) << 20);
	assert_true(json_object_object_get_ex(o, "prior_dirty_age_ms", &x));
	assert_int_equal(json_object_get_uint64(x), 600);
	json_object_put(o);
	free(buf);
	/* Other agent events have no such fields. */
	rec.u.event.code = RING_AGEV_GENERAL;
	buf = NULL;
	f = open_memstream(&buf, &len);
	view_record_print(f, VIEW_FMT_JSON, NULL, &rec);
	fclose(f);
	o = json_tokener_parse(buf);
	assert_non_null(o);
	assert_false(json_object_object_get_ex(o, "prior_dirty_bps", &x));
	json_object_put(o);
	free(buf);
}

/* view_record_print of rec in fmt, malloc'd. */
static char *printed(enum view_format fmt, const struct ring_record *rec)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (fmt == VIEW_FMT_CSV)
		view_record_csv_header(f);
	view_record_print(f, fmt, NULL, rec);
	fclose(f);
	return buf;
}

/* The CSV cell of column name in the second line of csv (header first), into ret. */
static void csv_cell(const char *csv, const char *name, char *ret, size_t len)
{
	const char *row = strchr(csv, '\n') + 1, *h = csv;
	int col = 0;

	for (; *h != '\n'; col++) {
		size_t n = strcspn(h, ",\n");

		if (n == strlen(name) && strncmp(h, name, n) == 0)
			break;
		h += n + (h[n] == ',');
	}
	assert_true(*h != '\n');
	for (int c = 0; c < col; c++)
		row += strcspn(row, ",\n") + 1;
	snprintf(ret, len, "%.*s", (int)strcspn(row, ",\n"), row);
}

/* The policy's prediction for an action (ABI 1.3): every format shows its numbers and 'never'
 * as never, not as a number. */
static void test_prediction_record(void **state)
{
	struct ring_record rec;
	struct json_object *o, *p, *x;
	char *out, cell[32];

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.type = RING_REC_PREDICTION;
	rec.size = sizeof(struct ring_prediction);
	rec.domain = RING_NO_DOMAIN;
	rec.u.prediction.kind = RING_ACT_SET_DOWNTIME;
	rec.u.prediction.reason_code = 9;
	rec.u.prediction.time_ms = 10800;
	rec.u.prediction.bytes = UINT64_C(192) << 20;
	rec.u.prediction.downtime_ms = 5760;
	rec.u.prediction.wait_ms = RING_PRED_NEVER;
	assert_int_equal(ring_record_validate(&rec), 0);

	out = printed(VIEW_FMT_TEXT, &rec);
	assert_non_null(strstr(out, "prediction set-downtime (reason 9): finishes in 10.8 s, "
				    "192M to send, downtime 5760ms; waiting: finishes never"));
	free(out);

	out = printed(VIEW_FMT_CSV, &rec);
	csv_cell(out, "type", cell, sizeof(cell));
	assert_string_equal(cell, "prediction");
	csv_cell(out, "kind", cell, sizeof(cell));
	assert_string_equal(cell, "set-downtime");
	csv_cell(out, "pred_time_ms", cell, sizeof(cell));
	assert_string_equal(cell, "10800");
	csv_cell(out, "pred_bytes", cell, sizeof(cell));
	assert_string_equal(cell, "201326592");
	csv_cell(out, "pred_downtime_ms", cell, sizeof(cell));
	assert_string_equal(cell, "5760");
	csv_cell(out, "pred_wait_ms", cell, sizeof(cell));
	assert_string_equal(cell, "never");
	free(out);

	out = printed(VIEW_FMT_JSON, &rec);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "prediction", &p));
	assert_true(json_object_object_get_ex(p, "time_ms", &x));
	assert_int_equal(json_object_get_uint64(x), 10800);
	assert_true(json_object_object_get_ex(p, "finishes", &x));
	assert_true(json_object_get_boolean(x));
	assert_true(json_object_object_get_ex(p, "wait_ms", &x));
	assert_null(x);
	assert_true(json_object_object_get_ex(p, "wait_finishes", &x));
	assert_false(json_object_get_boolean(x));
	json_object_put(o);
	free(out);

	/* a kind the ABI does not have: corrupt, printed by nobody */
	rec.u.prediction.kind = RING_ACT_KIND_MAX + 1;
	assert_int_equal(ring_record_validate(&rec), -EBADMSG);
}

/* The header says what the agent is: its mode and default policy from the ring, and from a dump
 * of it; a simulator's ring says it is one.  The policy's bytes are escaped like any text. */
static void test_writer_identity(void **state)
{
	(void)state;
	char name[64], path[128], line[512];
	struct ring_create_opts o = { .slot_count = 64, .domain_slots = 8, .gid = (gid_t)-1,
				      .info = { .mode = RING_MODE_ADVISORY } };
	struct ring_writer *w;
	struct json_object *j, *x;
	struct run r;

	synth_ring_name(name, sizeof(name));
	snprintf(path, sizeof(path), "/tmp/migtune-test-ident-%d%s", (int)getpid(), DUMP_SUFFIX);
	o.name = name;
	snprintf(o.info.policy, sizeof(o.info.policy), "adaptive");
	assert_int_equal(ring_writer_open(&o, &w), 0);

	RUN(&r, MIGTOP, "--ring", name, "-b", "-n", "1");
	assert_int_equal(r.status, 0);
	assert_non_null(run_line_with(r.out, "migtop ", line, sizeof(line)));
	assert_non_null(strstr(line, "agent live"));
	assert_non_null(strstr(line, "  advisory  policy adaptive  "));
	assert_null(strstr(line, "SIMULATED"));
	run_free(&r);
	RUN(&r, MIGTOP, "--ring", name, "--json", "-n", "1");
	assert_int_equal(r.status, 0);
	j = json_tokener_parse(r.out);
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "agent_mode", &x));
	assert_string_equal(json_object_get_string(x), "advisory");
	assert_true(json_object_object_get_ex(j, "default_policy", &x));
	assert_string_equal(json_object_get_string(x), "adaptive");
	assert_true(json_object_object_get_ex(j, "simulated", &x));
	assert_false(json_object_get_boolean(x));
	json_object_put(j);
	run_free(&r);

	/* the dump keeps it: the replay's header and migdump -i say the same */
	RUN(&r, MIGDUMP, "--ring", name, "-o", path);
	assert_int_equal(r.status, 0);
	run_free(&r);
	RUN(&r, MIGTOP, "-r", path, "-b", "-n", "1");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "  advisory  policy adaptive  "));
	run_free(&r);
	RUN(&r, MIGDUMP, "-d", path, "-i");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "mode:        advisory  policy adaptive\n"));
	run_free(&r);
	unlink(path);
	ring_writer_close(w, false);

	/* a simulator at ten times real time, with a policy name of hostile bytes */
	o.info = (struct ring_writer_info){ .mode = RING_MODE_ACTIVE,
					    .flags = RING_WRITER_F_SIMULATED, .sim_speed = 10 };
	memcpy(o.info.policy, "\x1b[31mred", 9);
	assert_int_equal(ring_writer_open(&o, &w), 0);
	RUN(&r, MIGTOP, "--ring", name, "-b", "-n", "1");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "  SIMULATED x10  active  policy \\x1b[31mred  "));
	assert_null(strchr(r.out, '\x1b'));
	run_free(&r);
	RUN(&r, MIGTOP, "--ring", name, "--json", "-n", "1");
	j = json_tokener_parse(r.out);
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "simulated", &x));
	assert_true(json_object_get_boolean(x));
	assert_true(json_object_object_get_ex(j, "sim_speed", &x));
	assert_int_equal(json_object_get_int(x), 10);
	json_object_put(j);
	run_free(&r);
	RUN(&r, MIGDUMP, "--ring", name, "-o", path);
	assert_int_equal(r.status, 0);
	run_free(&r);
	RUN(&r, MIGDUMP, "-d", path, "-i");
	assert_non_null(strstr(r.out, "SIMULATED x10  active"));
	assert_non_null(strstr(r.out, "written by migsim, not by a host's agent"));
	run_free(&r);
	unlink(path);
	ring_writer_close(w, true);
}

/* --json: the ETA from the prediction, what a row deserves attention for, the recent passes. */
static void test_eta_attention_json(void **state)
{
	(void)state;
	char name[64];
	struct ring_create_opts o = { .slot_count = 64, .domain_slots = 8, .gid = (gid_t)-1,
				      .info = { .mode = RING_MODE_ACTIVE } };
	struct ring_writer *w;
	struct json_object *j, *migs, *m, *x;
	struct run r;
	uint8_t uuid[16] = { 7 };
	uint64_t t0 = ring_now_mono_ns() - 10 * UINT64_C(1000000000);

	synth_ring_name(name, sizeof(name));
	o.name = name;
	assert_int_equal(ring_writer_open(&o, &w), 0);
	uint32_t dom = ring_domain_index(w, uuid, "db-01");
	for (uint32_t p = 1; p <= 4; p++) {
		struct ring_sample s = { .direction = RING_DIR_OUT, .phase = RING_PHASE_PRECOPY,
					 .iteration = p, .data_total_bytes = 256u << 20,
					 .data_remaining_bytes = p == 1 ? 200u << 20 : 96u << 20,
					 .memory_bps = 20u << 20, .page_size = 4096,
					 .expected_downtime_ms = 4934, .downtime_limit_ms = 300,
					 .elapsed_ms = p * 2000 };
		assert_int_equal(ring_append_at(w, RING_REC_SAMPLE, dom, t0 + p * UINT64_C(2000000000),
						&s, sizeof(s)), 0);
	}
	/* the policy parked it: as it runs, it never finishes */
	struct ring_action a = { .kind = RING_ACT_SET_BANDWIDTH, .reason_code = 14,
				 .result = RING_RES_APPLIED, .old_value = 20, .new_value = 1 };
	snprintf(a.policy, sizeof(a.policy), "adaptive");
	snprintf(a.reason, sizeof(a.reason), "needs 5000 ms > SLA limit 500 ms: parked");
	struct ring_prediction pr = { .kind = RING_ACT_SET_BANDWIDTH, .reason_code = 14,
				      .time_ms = RING_PRED_NEVER, .wait_ms = RING_PRED_NEVER };
	uint64_t ta = t0 + 8 * UINT64_C(1000000000);
	assert_int_equal(ring_append_at(w, RING_REC_ACTION, dom, ta, &a, sizeof(a)), 0);
	assert_int_equal(ring_append_at(w, RING_REC_PREDICTION, dom, ta, &pr, sizeof(pr)), 0);

	RUN(&r, MIGTOP, "--ring", name, "--json", "-n", "1");
	assert_int_equal(r.status, 0);
	j = json_tokener_parse(r.out);
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "migrations", &migs));
	m = json_object_array_get_idx(migs, 0);
	assert_true(json_object_object_get_ex(m, "eta", &x));
	assert_string_equal(json_object_get_string(x), "never");
	assert_true(json_object_object_get_ex(m, "eta_ms", &x));
	assert_null(x);
	assert_true(json_object_object_get_ex(m, "attention", &x));
	char att[256] = "";
	for (size_t i = 0; i < json_object_array_length(x); i++) {
		strcat(att, json_object_get_string(json_object_array_get_idx(x, i)));
		strcat(att, " ");
	}
	assert_string_equal(att, "not-converging downtime-over-limit agent-about-to-act ");
	assert_true(json_object_object_get_ex(m, "recent_passes", &x));
	assert_int_equal(json_object_array_length(x), 4);
	struct json_object *p3 = json_object_array_get_idx(x, 2), *y;
	assert_true(json_object_object_get_ex(p3, "pass", &y));
	assert_int_equal(json_object_get_int(y), 3);
	assert_true(json_object_object_get_ex(p3, "elapsed_ms", &y));
	assert_int_equal(json_object_get_int(y), 6000);
	assert_true(json_object_object_get_ex(p3, "remaining_bytes", &y));
	assert_int_equal(json_object_get_uint64(y), 96u << 20);
	json_object_put(j);
	run_free(&r);

	/* batch text: the ETA and the elapsed time in their columns */
	RUN(&r, MIGTOP, "--ring", name, "-b", "-n", "1");
	assert_int_equal(r.status, 0);
	char line[512];
	assert_non_null(run_line_with(r.out, "db-01 ", line, sizeof(line)));
	assert_non_null(strstr(line, "   0:08 never "));
	assert_non_null(strstr(line, " bandwidth 20->1MiB/s: needs 5000 ms"));
	run_free(&r);
	ring_writer_close(w, true);
}

/* The host's overshoot learned from a completed job: its two numbers by name in JSON. */
static void test_overshoot_event_json(void **state)
{
	struct ring_record rec;
	struct json_object *o, *x;
	char *out;

	(void)state;
	agent_event(&rec, RING_AGEV_OVERSHOOT, 583, 500, "overshoot", "learned");
	out = printed(VIEW_FMT_JSON, &rec);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "downtime_ms", &x));
	assert_int_equal(json_object_get_uint64(x), 583);
	assert_true(json_object_object_get_ex(o, "downtime_limit_ms", &x));
	assert_int_equal(json_object_get_uint64(x), 500);
	json_object_put(o);
	free(out);
}

/* The agent's post-copy events (ABI 1.2): migdump's JSON names their times. */
static void test_postcopy_event_json(void **state)
{
	static const struct { int code; const char *subop, *k1, *k2; } ev[] = {
		{ RING_AGEV_PC_BROKEN, "broken", "postcopy_ms", "break" },
		{ RING_AGEV_PC_RECOVERING, "recovering", "attempt", "broken_ms" },
		{ RING_AGEV_PC_RECOVERED, "recovered", "split_ms", "split_total_ms" },
	};
	struct ring_record rec;
	struct json_object *o, *x;
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		memset(&rec, 0, sizeof(rec));
		rec.type = RING_REC_EVENT;
		rec.size = sizeof(struct ring_event);
		rec.domain = RING_NO_DOMAIN;
		rec.u.event.source = RING_EVSRC_AGENT;
		rec.u.event.code = ev[i].code;
		rec.u.event.detail1 = 11532;
		rec.u.event.detail2 = 2;
		snprintf(rec.u.event.op, sizeof(rec.u.event.op), "postcopy");
		snprintf(rec.u.event.subop, sizeof(rec.u.event.subop), "%s", ev[i].subop);
		out = printed(VIEW_FMT_JSON, &rec);
		o = json_tokener_parse(out);
		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, ev[i].k1, &x));
		assert_int_equal(json_object_get_uint64(x), 11532);
		assert_true(json_object_object_get_ex(o, ev[i].k2, &x));
		assert_int_equal(json_object_get_uint64(x), 2);
		json_object_put(o);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batch_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follows_restart, setup, teardown),
		cmocka_unit_test(test_no_ring),
		cmocka_unit_test(test_other_abi),
		cmocka_unit_test_setup_teardown(test_permission_denied, setup, teardown),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test_setup_teardown(test_migdump_formats, setup, teardown),
		cmocka_unit_test(test_migdump_small_ring),
		cmocka_unit_test_setup_teardown(test_migdump_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_batch, setup, teardown),
		cmocka_unit_test(test_dead_writer_segment),
		cmocka_unit_test(test_prior_dirty_event_json),
		cmocka_unit_test(test_prediction_record),
		cmocka_unit_test(test_overshoot_event_json),
		cmocka_unit_test(test_writer_identity),
		cmocka_unit_test(test_eta_attention_json),
		cmocka_unit_test(test_postcopy_event_json),
		cmocka_unit_test(test_domain_index_past_65535),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
