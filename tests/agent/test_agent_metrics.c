/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Prometheus textfile metrics: label escaping, the exposition format, the atomic file. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <urcu/urcu-memb.h>

#include "agent/jobstats.h"
#include "agent/metrics.h"
#include "agent/stats.h"
#include "agent/tracker.h"
#include "tests/agent/agent_testutil.h"

static char *escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	metrics_escape_label(f, s);
	fclose(f);
	return buf;
}

#define ESC(in, want) do { char *e_ = escaped(in); assert_string_equal(e_, want); free(e_); } while (0)

static void test_escape_label(void **state)
{
	(void)state;
	ESC("web-1", "web-1");
	ESC("a\"b", "a\\\"b");
	ESC("back\\slash", "back\\\\slash");
	ESC("two\nlines", "two\\nlines");
	ESC("tab\there\x7f", "tab?here?");
	ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* not UTF-8: a lone continuation byte, a truncated sequence, an overlong '/', a surrogate */
	ESC("a\x80z", "a\xef\xbf\xbdz");
	ESC("a\xc3", "a\xef\xbf\xbd");
	ESC("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");
	ESC("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ESC("", "");
}

/*
 * A strict reader of the text format: every sample line is NAME[{LABELS}] VALUE, with label
 * values quoted and only \\, \" and \n escapes; every metric has its HELP and TYPE before its
 * first sample and only once.  Returns the number of sample lines; fails the test otherwise.
 */
static int check_exposition(const char *text)
{
	char types[64][96];
	int ntypes = 0, samples = 0;
	const char *line = text;

	while (*line) {
		const char *end = strchr(line, '\n');
		char name[96];
		size_t n = 0;
		const char *p = line;

		assert_non_null(end);     /* every line ends with a newline */
		if (*p == '#') {
			char kw[8], mname[96], rest[64];

			assert_int_equal(sscanf(p, "# %7s %95s %63s", kw, mname, rest), 3);
			if (strcmp(kw, "TYPE") == 0) {
				for (int i = 0; i < ntypes; i++)
					assert_string_not_equal(types[i], mname);
				assert_true(strcmp(rest, "gauge") == 0 || strcmp(rest, "counter") == 0 ||
					    strcmp(rest, "histogram") == 0);
				assert_true(ntypes < 64);
				strcpy(types[ntypes++], mname);
			} else {
				assert_string_equal(kw, "HELP");
			}
			line = end + 1;
			continue;
		}
		assert_true(isalpha((unsigned char)*p) || *p == '_');
		while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == ':'))
			name[n++] = *p++;
		name[n] = '\0';
		if (*p == '{') {
			p++;
			while (*p != '}') {
				assert_true(isalpha((unsigned char)*p) || *p == '_');
				while (isalnum((unsigned char)*p) || *p == '_')
					p++;
				assert_int_equal(*p++, '=');
				assert_int_equal(*p++, '"');
				while (*p != '"') {
					assert_true(p < end);   /* no raw newline inside a value */
					if (*p == '\\') {
						p++;
						assert_true(*p == '\\' || *p == '"' || *p == 'n');
					}
					p++;
				}
				p++;
				if (*p == ',')
					p++;
			}
			p++;
		}
		assert_int_equal(*p++, ' ');
		{
			char *vend;

			strtod(p, &vend);
			assert_ptr_equal(vend, end);
			assert_true(vend > p);
		}
		{
			bool typed = false;

			for (int i = 0; i < ntypes; i++) {
				size_t tl = strlen(types[i]);

				typed |= strcmp(types[i], name) == 0;
				/* a histogram's series: NAME_bucket, NAME_sum, NAME_count */
				typed |= strncmp(types[i], name, tl) == 0 &&
					 (strcmp(name + tl, "_bucket") == 0 ||
					  strcmp(name + tl, "_sum") == 0 ||
					  strcmp(name + tl, "_count") == 0);
			}
			assert_true(typed);
		}
		samples++;
		line = end + 1;
	}
	return samples;
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static struct json_object *jarray(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return v;
}

static char *render(struct json_object *status)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(metrics_render(f, status), 0);
	fclose(f);
	return buf;
}

static const char status_doc[] =
	"{\"version\":\"0.1.0\",\"pid\":1,\"uri\":\"qemu:///system\",\"connected\":true,"
	"\"advisory\":false,\"policy\":\"adaptive\","
	"\"counters\":{\"samples\":42,\"events\":7,\"hook_messages\":3,\"advisories\":2,"
	"\"domains\":3},"
	"\"hook\":{\"connections\":5,\"messages\":3,\"refused\":1,\"malformed\":0,\"admissions\":1,"
	"\"probes\":1},"
	"\"ring_writer\":{\"records\":1234,\"dropped\":2,\"heartbeat_unix_ms\":1700000000123},"
	"\"totals\":{\"actions\":[{\"kind\":\"set-downtime\",\"result\":\"applied\","
	"\"policy\":\"adaptive\",\"count\":3},{\"kind\":\"abort\",\"result\":\"failed\","
	"\"policy\":\"my \\\"own\\\"\",\"count\":1}],"
	"\"migrations\":[{\"direction\":\"out\",\"outcome\":\"completed\",\"count\":2}],"
	"\"duration\":[{\"direction\":\"out\",\"buckets\":[[5000,1],[10000,2]],\"sum_ms\":12500,"
	"\"count\":2}],\"downtime\":[]},"
	"\"domains\":["
	"{\"name\":\"db\\\"1\\\\x\\n\\u00e9\",\"uuid\":\"12340000-0000-0000-0000-000000000000\","
	"\"direction\":\"out\",\"phase\":\"pre-copy\",\"active\":true,\"samples\":9,\"events\":4,"
	"\"iteration\":3,\"elapsed_ms\":12345,\"data_total_bytes\":268435456,"
	"\"data_processed_bytes\":200000000,\"data_remaining_bytes\":77000000,"
	"\"memory_bps\":20971520,\"dirty_pages_per_s\":5072,\"expected_downtime_ms\":4934,"
	"\"downtime_limit_ms\":300,\"bandwidth_limit_mibs\":20,\"nic\":\"mig0\","
	"\"nic_tx_kibps\":20480,\"nic_rx_kibps\":100},"
	"{\"name\":\"web\",\"uuid\":\"56780000-0000-0000-0000-000000000000\",\"direction\":\"in\","
	"\"phase\":\"done\",\"active\":false,\"samples\":2,\"elapsed_ms\":7},"
	"{\"name\":\"idle\",\"uuid\":\"9abc0000-0000-0000-0000-000000000000\",\"direction\":\"?\","
	"\"phase\":\"unknown\",\"active\":false},"
	/* the destination of a migration in set-up: sampled, but its job has no size yet */
	"{\"name\":\"new\",\"uuid\":\"def00000-0000-0000-0000-000000000000\",\"direction\":\"in\","
	"\"phase\":\"setup\",\"active\":true,\"samples\":1,\"events\":2,\"iteration\":0,"
	"\"elapsed_ms\":300,\"data_total_bytes\":0,\"data_remaining_bytes\":0,\"nic\":\"\"}]}";

static void test_render_format(void **state)
{
	struct json_object *st = json_tokener_parse(status_doc);
	char *t;
	int n;

	(void)state;
	assert_non_null(st);
	t = render(st);
	n = check_exposition(t);
	/* 14 agent samples, 2 actions and 1 end, 1 histogram (2 buckets, +Inf, sum, count); the
	 * outgoing migration's info + 15 metrics; of the two incoming ones (the destination's job
	 * has no size, no pass, no rates) only what is known: info, active, elapsed, samples and
	 * events */
	assert_int_equal(n, 14 + 3 + 5 + 16 + 2 * 5);
	assert_null(strstr(t, "domain=\"new\",uuid=\"def00000-0000-0000-0000-000000000000\","
			      "direction=\"in\"} 0\n"));
	assert_non_null(strstr(t, "migtune_migration_elapsed_seconds{domain=\"new\",uuid=\"def0"
				  "0000-0000-0000-0000-000000000000\",direction=\"in\"} 0.300\n"));
	assert_non_null(strstr(t, "# TYPE migtune_actions_total counter\n"));
	assert_non_null(strstr(t, "migtune_actions_total{kind=\"set-downtime\",result=\"applied\","
				  "policy=\"adaptive\"} 3\n"));
	assert_non_null(strstr(t, "migtune_actions_total{kind=\"abort\",result=\"failed\","
				  "policy=\"my \\\"own\\\"\"} 1\n"));
	assert_non_null(strstr(t, "migtune_migrations_finished_total{direction=\"out\","
				  "outcome=\"completed\"} 2\n"));
	assert_non_null(strstr(t, "# TYPE migtune_migration_duration_seconds histogram\n"
				  "migtune_migration_duration_seconds_bucket{direction=\"out\","
				  "le=\"5.000\"} 1\n"
				  "migtune_migration_duration_seconds_bucket{direction=\"out\","
				  "le=\"10.000\"} 2\n"
				  "migtune_migration_duration_seconds_bucket{direction=\"out\","
				  "le=\"+Inf\"} 2\n"
				  "migtune_migration_duration_seconds_sum{direction=\"out\"} 12.500\n"
				  "migtune_migration_duration_seconds_count{direction=\"out\"} 2\n"));
	assert_non_null(strstr(t, "# TYPE migtune_migration_downtime_seconds histogram\n# HELP"));
	assert_non_null(strstr(t, "migtune_agent_hook_probes_total 1\n"));
	assert_non_null(strstr(t, "migtune_agent_hook_malformed_total 0\n"));
	assert_non_null(strstr(t, "migtune_ring_records_dropped_total 2\n"));
	assert_non_null(strstr(t, "migtune_agent_heartbeat_timestamp_seconds 1700000000.123\n"));
	assert_non_null(strstr(t, "# TYPE migtune_migration_remaining_bytes gauge\n"));
	assert_non_null(strstr(t, "migtune_migration_remaining_bytes{domain=\"db\\\"1\\\\x\\n\xc3\xa9\","
				  "uuid=\"12340000-0000-0000-0000-000000000000\",direction=\"out\"} "
				  "77000000\n"));
	assert_non_null(strstr(t, "migtune_migration_expected_downtime_seconds{domain=\"db"));
	assert_non_null(strstr(t, "direction=\"out\"} 4.934\n"));
	assert_non_null(strstr(t, "migtune_migration_elapsed_seconds{domain=\"web\",uuid=\"5678"
				  "0000-0000-0000-0000-000000000000\",direction=\"in\"} 0.007\n"));
	assert_non_null(strstr(t, "direction=\"out\"} 20971520\n"));   /* 20 MiB/s cap in bytes */
	assert_non_null(strstr(t, "migtune_migration_info{domain=\"web\",uuid=\"5678"
				  "0000-0000-0000-0000-000000000000\",direction=\"in\",phase=\"done\","
				  "nic=\"\"} 1\n"));
	assert_non_null(strstr(t, "migtune_migrations_active 2\n"));  /* db and the set-up one */
	assert_non_null(strstr(t, "migtune_agent_up 1\n"));
	assert_non_null(strstr(t, "migtune_agent_info{version=\"0.1.0\",policy=\"adaptive\","
				  "mode=\"active\",uri=\"qemu:///system\"} 1\n"));
	assert_non_null(strstr(t, "migtune_agent_samples_total 42\n"));
	assert_non_null(strstr(t, "migtune_agent_hook_refused_total 1\n"));
	assert_null(strstr(t, "domain=\"idle\""));      /* never migrated: not a migration */
	free(t);
	json_object_put(st);

	/* the agent stopped */
	t = render(NULL);
	assert_int_equal(check_exposition(t), 1);
	assert_string_equal(t, "# HELP migtune_agent_up 1 while migtuned runs, 0 after a clean stop\n"
			       "# TYPE migtune_agent_up gauge\nmigtune_agent_up 0\n");
	free(t);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_write_atomic(void **state)
{
	char dir[128], path[200], bad[256];
	struct stat st;
	mode_t old = umask(077);
	char *s;

	(void)state;
	tu_tmpdir("metrics", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/migtune.prom", dir);
	assert_int_equal(metrics_write_atomic(path, "a 1\n", 4), 0);
	assert_int_equal(metrics_write_atomic(path, "b 2\n", 4), 0);
	umask(old);
	s = slurp(path);
	assert_string_equal(s, "b 2\n");
	free(s);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);     /* node_exporter must read it */
	assert_int_equal(count_entries(dir), 1);         /* no temporary left behind */
	snprintf(bad, sizeof(bad), "%s/missing/migtune.prom", dir);
	assert_int_equal(metrics_write_atomic(bad, "c 3\n", 4), -ENOENT);
	assert_int_equal(count_entries(dir), 1);
	tu_rmdir(dir);
}

static bool file_has_migration(void *arg)
{
	char *s = slurp(arg);
	bool ok = s && strstr(s, "migtune_migration_remaining_bytes{domain=\"vm-7\"") &&
		  strstr(s, "} 55000000\n");

	free(s);
	return ok;
}

static bool file_has_end(void *arg)
{
	char *s = slurp(arg);
	bool ok = s && strstr(s, "migtune_migrations_finished_total{direction=\"out\","
				 "outcome=\"completed\"} 1\n");

	free(s);
	return ok;
}

/* What the agent adds to the status document for these metrics (agent.c's status_extra). */
static void totals_extra(struct json_object *o, void *arg)
{
	json_object_object_add(o, "totals", stats_json(arg));
}

/* promtool's own parser and linter on a file the agent wrote; a missing promtool fails. */
static void promtool_check(const char *path)
{
	char cmd[512], out[4096] = "";
	size_t n;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	if (st != 0)
		fprintf(stderr, "promtool check metrics %s (exit %d; install it: make deps, Debian's "
			"prometheus package):\n%s", path, WEXITSTATUS(st), out);
	assert_int_equal(st, 0);
	assert_string_equal(out, "");      /* no lint remark either */
}

/* The thread: first file at start, updates every interval, a final "down" file at stop. */
static void test_agent_file(void **state)
{
	struct ring_create_opts o = { .slot_count = 1024, .domain_slots = 16, .gid = (gid_t)-1 };
	struct tracker_opts to = { 0 };
	static const uint8_t uuid[16] = { 0x77 };
	struct ring_writer *w;
	struct tracker *t;
	struct agent_stats *stats;
	struct metrics *m;
	struct metrics_opts mo = { 0 };
	struct tracker_domain *d;
	struct ring_sample smp;
	virTypedParameterPtr p;
	char ring[64], dir[128], path[200], bad[256];
	char *s;
	int n;

	(void)state;
	urcu_memb_register_thread();
	tu_ring_name("metrics", ring, sizeof(ring));
	tu_tmpdir("metrics-agent", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/migtune.prom", dir);
	o.name = ring;
	assert_int_equal(ring_writer_open(&o, &w), 0);
	assert_int_equal(stats_new(&stats), 0);
	to.ring = w;
	to.policy = "none";
	to.stats = stats;
	assert_int_equal(tracker_new(&to, &t), 0);

	mo.path = path;
	mo.interval_s = 1;
	mo.tracker = t;
	mo.extra = totals_extra;
	mo.extra_arg = stats;
	snprintf(bad, sizeof(bad), "%s/nodir/x.prom", dir);
	mo.path = bad;
	assert_int_equal(metrics_start(&mo, &m), -ENOENT);   /* a bad directory fails the start */
	mo.path = "relative.prom";
	assert_int_equal(metrics_start(&mo, &m), -EINVAL);
	mo.path = path;
	assert_int_equal(metrics_start(&mo, &m), 0);
	s = slurp(path);
	assert_non_null(s);
	assert_non_null(strstr(s, "migtune_agent_up 1\n"));
	assert_non_null(strstr(s, "migtune_migrations_active 0\n"));
	free(s);

	d = tracker_begin(t, uuid, "vm-7", RING_DIR_OUT, ring_now_mono_ns());
	assert_int_equal(tu_job_params(1500, 2, 55000000, 20000000, 5000, 4900, &p, &n), 0);
	jobstats_to_sample(VIR_DOMAIN_JOB_UNBOUNDED, p, n, &smp);
	virTypedParamsFree(p, n);
	tracker_ingest_sample(t, d, true, &smp, NULL, ring_now_mono_ns());
	assert_true(tu_wait(file_has_migration, path, 3000));
	assert_int_equal(metrics_last_error(m), 0);
	promtool_check(path);

	/* it completes: 12.5 s of job, 42 ms of real downtime in the final statistics */
	assert_int_equal(tu_job_params(12500, 4, 0, 20000000, 5000, 42, &p, &n), 0);
	jobstats_to_sample(VIR_DOMAIN_JOB_COMPLETED, p, n, &smp);
	virTypedParamsFree(p, n);
	tracker_on_job_completed(t, uuid, "vm-7", &smp, ring_now_mono_ns());
	assert_true(tu_wait(file_has_end, path, 3000));
	s = slurp(path);
	assert_non_null(strstr(s, "migtune_migration_duration_seconds_bucket{direction=\"out\","
				  "le=\"10.000\"} 0\nmigtune_migration_duration_seconds_bucket{"
				  "direction=\"out\",le=\"30.000\"} 1\n"));
	assert_non_null(strstr(s, "migtune_migration_duration_seconds_sum{direction=\"out\"} "
				  "12.500\n"));
	assert_non_null(strstr(s, "migtune_migration_downtime_seconds_bucket{direction=\"out\","
				  "le=\"0.050\"} 1\n"));
	assert_non_null(strstr(s, "migtune_migration_downtime_seconds_sum{direction=\"out\"} "
				  "0.042\n"));
	free(s);
	promtool_check(path);

	metrics_stop(m);
	s = slurp(path);
	assert_non_null(s);
	assert_non_null(strstr(s, "migtune_agent_up 0\n"));
	assert_null(strstr(s, "vm-7"));
	free(s);
	assert_int_equal(count_entries(dir), 1);

	tracker_free(t, NULL);
	stats_free(stats);
	ring_writer_close(w, true);
	tu_rmdir(dir);
	urcu_memb_unregister_thread();
}

/* The counts behind the totals: rows per label set, "other" past the table, histogram edges,
 * unknown values left out. */
static void test_stats(void **state)
{
	struct agent_stats *st;
	struct json_object *o, *rows, *h, *b;
	char policy[16];

	(void)state;
	assert_int_equal(stats_new(&st), 0);
	stats_action(st, "set-downtime", "applied", "adaptive");
	stats_action(st, "set-downtime", "applied", "adaptive");
	stats_action(st, "abort", "skipped", "adaptive");
	for (int i = 0; i < 200; i++) {
		snprintf(policy, sizeof(policy), "p%d", i);
		stats_action(st, "hold", "advisory", policy);
	}
	stats_migration_end(st, "out", "completed", 10000, 300);   /* on the bounds: le=10, 0.3 */
	stats_migration_end(st, "out", "failed", 7200001, -1);      /* beyond the last bound */
	stats_migration_end(st, "in", "completed", -1, -1);         /* nothing known */
	o = stats_json(st);
	assert_true(json_object_object_get_ex(o, "actions", &rows));
	assert_int_equal(json_object_array_length(rows), 96);       /* bounded */
	h = json_object_array_get_idx(rows, 0);
	assert_string_equal(jstr(h, "kind"), "set-downtime");
	assert_int_equal(jint(h, "count"), 2);
	h = json_object_array_get_idx(rows, 95);
	assert_string_equal(jstr(h, "policy"), "other");
	assert_int_equal(jint(h, "count"), 200 - (96 - 2 - 1));
	assert_true(json_object_object_get_ex(o, "migrations", &rows));
	assert_int_equal(json_object_array_length(rows), 3);
	assert_true(json_object_object_get_ex(o, "duration", &rows));
	assert_int_equal(json_object_array_length(rows), 1);         /* "in" had no duration */
	h = json_object_array_get_idx(rows, 0);
	assert_int_equal(jint(h, "count"), 2);
	assert_int_equal(jint(h, "sum_ms"), 7210001);
	b = json_object_array_get_idx(jarray(h, "buckets"), 1);      /* le 10 s */
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(b, 0)), 10000);
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(b, 1)), 1);
	b = json_object_array_get_idx(jarray(h, "buckets"), 10);     /* le 7200 s: still 1 */
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(b, 1)), 1);
	assert_true(json_object_object_get_ex(o, "downtime", &rows));
	h = json_object_array_get_idx(rows, 0);
	assert_int_equal(jint(h, "count"), 1);
	b = json_object_array_get_idx(jarray(h, "buckets"), 4);      /* le 0.2 s */
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(b, 1)), 0);
	b = json_object_array_get_idx(jarray(h, "buckets"), 5);      /* le 0.3 s */
	assert_int_equal(json_object_get_int64(json_object_array_get_idx(b, 1)), 1);
	json_object_put(o);
	stats_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_label),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_render_format),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_agent_file),
	};

	/* the fabricated job statistics go through libvirt's typed parameters */
	if (virInitialize() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
