/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Automatic dumps: the dumper's thread writes the ring to a file named after the domain and the
 * outcome, records a DUMP action naming it, keeps writing while other threads append, and applies
 * the directory's retention.  Also run under TSan.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/dumper.h"
#include "tests/agent/agent_testutil.h"
#include "shm/dump.h"

#define MAXREC 8192

static int count_dumps(const char *dir, char *ret_last, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strstr(e->d_name, ".migdump") && e->d_name[0] != '.') {
			n++;
			if (ret_last)
				snprintf(ret_last, len, "%s", e->d_name);
		}
	}
	closedir(d);
	return n;
}

struct appender {
	struct ring_writer *w;
	int stop;
};

static void *append_loop(void *arg)
{
	struct appender *ap = arg;
	struct ring_sample s;

	memset(&s, 0, sizeof(s));
	while (!__atomic_load_n(&ap->stop, __ATOMIC_ACQUIRE)) {
		s.iteration++;
		ring_append(ap->w, RING_REC_SAMPLE, RING_NO_DOMAIN, &s, sizeof(s));
		usleep(500);      /* an agent's pace, give or take: the ring is not lapped */
	}
	return NULL;
}

static void test_dump_on_request(void **state)
{
	char ring[64], dir[256], sub[300], last[256] = "", path[600];
	struct ring_create_opts o = { .slot_count = 4096, .domain_slots = 64, .gid = (gid_t)-1 };
	struct ring_writer *w;
	struct dumper *dp;
	struct dumper_opts dop = { 0 };
	struct ring_record *recs = calloc(MAXREC, sizeof(*recs));
	struct appender ap = { 0 };
	struct dump_file *df;
	struct ring_record r;
	pthread_t th;
	uint8_t uuid[16] = { 1, 2, 3 };
	uint32_t idx;
	size_t n, records = 0, dumps_seen = 0;
	int found = 0;

	tu_ring_name("dmp", ring, sizeof(ring));
	tu_tmpdir("dmp", dir, sizeof(dir));
	/* The directory does not exist yet: the dumper creates it. */
	snprintf(sub, sizeof(sub), "%s/dumps", dir);
	o.name = ring;
	assert_int_equal(ring_writer_open(&o, &w), 0);
	idx = ring_domain_index(w, uuid, "web 1/../x");
	for (int i = 0; i < 100; i++) {
		struct ring_sample s = { .direction = RING_DIR_OUT, .iteration = (uint32_t)i };

		ring_append(w, RING_REC_SAMPLE, idx, &s, sizeof(s));
	}
	dop.ring = w;
	dop.ring_name = ring;
	dop.dir = sub;
	dop.max_bytes = 0;
	dop.max_age_s = 0;
	assert_int_equal(dumper_start(&dop, &dp), 0);
	/* Another thread keeps appending while the dumps are written. */
	ap.w = w;
	assert_int_equal(pthread_create(&th, NULL, append_loop, &ap), 0);
	assert_int_equal(dumper_request(dp, idx, "web 1/../x", "aborted"), 0);
	assert_int_equal(dumper_request(dp, idx, "web 1/../x", "failed"), 0);
	dumper_stop(dp);          /* writes what is queued first */
	__atomic_store_n(&ap.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);

	assert_int_equal(count_dumps(sub, last, sizeof(last)), 2);
	/* The name is sanitised: no slash of the domain name reaches the path. */
	assert_null(strstr(last, "/"));
	assert_non_null(strstr(last, "web"));

	/* The ring names each file in a DUMP action of the domain. */
	n = tu_read_all(ring, recs, MAXREC);
	for (size_t i = 0; i < n; i++) {
		const struct ring_action *a = &recs[i].u.action;
		struct stat st;

		if (recs[i].type != RING_REC_ACTION || a->kind != RING_ACT_DUMP)
			continue;
		dumps_seen++;
		assert_int_equal(recs[i].domain, idx);
		assert_int_equal(a->result, RING_RES_APPLIED);
		assert_non_null(strstr(a->reason, ".migdump"));
		snprintf(path, sizeof(path), "%s/%s", sub, a->reason);
		assert_int_equal(stat(path, &st), 0);
		found += strstr(a->reason, "aborted") != NULL;
	}
	assert_int_equal(dumps_seen, 2);
	assert_int_equal(found, 1);

	/* The file decodes and holds the domain's samples. */
	snprintf(path, sizeof(path), "%s/%s", sub, last);
	assert_int_equal(dump_open(path, &df), 0);
	while (dump_next(df, &r) == 1)
		records += r.type == RING_REC_SAMPLE && r.domain == idx;
	assert_int_equal(records, 100);
	dump_close(df);

	ring_writer_close(w, true);
	tu_rmdir(sub);
	tu_rmdir(dir);
	free(recs);
}

static void test_dump_failure_recorded(void **state)
{
	char ring[64];
	struct ring_create_opts o = { .slot_count = 1024, .domain_slots = 16, .gid = (gid_t)-1 };
	struct ring_writer *w;
	struct dumper *dp;
	struct dumper_opts dop = { 0 };
	struct dumper_counters c;
	struct ring_record *recs = calloc(MAXREC, sizeof(*recs));
	size_t n, failed = 0;

	tu_ring_name("dmf", ring, sizeof(ring));
	o.name = ring;
	assert_int_equal(ring_writer_open(&o, &w), 0);
	dop.ring = w;
	dop.ring_name = ring;
	dop.dir = "/proc/migtune-cannot-exist";     /* cannot be created */
	assert_int_equal(dumper_start(&dop, &dp), 0);
	assert_int_equal(dumper_request(dp, 0, "vm", "failed"), 0);
	/* A full queue refuses instead of blocking. */
	for (int i = 0; i < 100; i++)
		(void)dumper_request(dp, 0, "vm", "failed");
	dumper_counters(dp, &c);
	dumper_stop(dp);
	n = tu_read_all(ring, recs, MAXREC);
	for (size_t i = 0; i < n; i++)
		failed += recs[i].type == RING_REC_ACTION && recs[i].u.action.kind == RING_ACT_DUMP &&
			recs[i].u.action.result == RING_RES_FAILED && recs[i].u.action.error < 0;
	assert_true(failed >= 1);
	assert_true(c.dropped > 0 || failed > DUMPER_QUEUE_MAX - 1);
	ring_writer_close(w, true);
	free(recs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_on_request),
		cmocka_unit_test(test_dump_failure_recorded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
