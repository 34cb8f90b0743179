/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * migtop and migdump against hostile input: names and texts that carry terminal escape
 * sequences, C1 controls and broken UTF-8 (chosen by whoever names a domain, passes the hook an
 * argument or sets a host name) must come out escaped in every output, text, CSV and JSON; and
 * dumps that expand a thousandfold (decompression bombs) are read in bounded memory or refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "shm/dump.h"
#include "tests/views/bomb.h"
#include "tests/views/escape_check.h"
#include "tests/views/runprog.h"
#include "tests/views/synth.h"

#define MIGTOP  VIEWS_BIN_DIR "/migtop"
#define MIGDUMP VIEWS_BIN_DIR "/migdump"

/* Clear the screen, set the window title, 8-bit and UTF-8 CSI, a right-to-left override. */
#define EVIL_NAME "vm\x1b[2J\x1b]0;owned\x07\xc2\x9b" "31m\x9b\xe2\x80\xae" "x"
#define EVIL_NAME_ESCAPED "vm\\x1b[2J\\x1b]0;owned\\x07\\u009b31m\\x9b\\u202ex"
#define EVIL_TEXT "extra\x1b[1;1H\x7f\r\n"
#define EVIL_TEXT_ESCAPED "extra\\x1b[1;1H\\x7f\\r\\n"
#define EVIL_HOST "host\x1b[5m"
#define EVIL_HOST_ESCAPED "host\\x1b[5m"

struct fixture {
	char ring[64];
	char dump[128];
	struct ring_writer *w;
};

static void set_host(const char *ring, const char *host)
{
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm%s", ring);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	struct ring_header *h = mmap(NULL, RING_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(h != MAP_FAILED);
	close(fd);
	memset(h->hostname, 0, sizeof(h->hostname));
	memcpy(h->hostname, host, strlen(host));
	munmap(h, RING_HEADER_SIZE);
}

static int setup(void **state)
{
	static struct fixture f;
	struct ring_create_opts o = { .slot_count = 1024, .domain_slots = 16, .gid = (gid_t)-1 };
	uint8_t uuid[16];

	memset(&f, 0, sizeof(f));
	synth_ring_name(f.ring, sizeof(f.ring));
	snprintf(f.dump, sizeof(f.dump), "/tmp/migtune-test-hostile-%d%s", (int)getpid(), DUMP_SUFFIX);
	o.name = f.ring;
	if (ring_writer_open(&o, &f.w) < 0)
		return -1;
	set_host(f.ring, EVIL_HOST);
	synth_uuid(1, uuid);
	uint32_t dom = ring_domain_index(f.w, uuid, EVIL_NAME);

	struct ring_sample s = { .direction = RING_DIR_OUT, .phase = RING_PHASE_PRECOPY, .iteration = 2,
				 .data_total_bytes = 1 << 30, .data_remaining_bytes = 1 << 28,
				 .page_size = 4096, .elapsed_ms = 5000 };
	struct ring_event ev = { .source = RING_EVSRC_HOOK };
	snprintf(ev.op, sizeof(ev.op), "migrate\x1b[K");
	snprintf(ev.subop, sizeof(ev.subop), "begin");
	snprintf(ev.text, sizeof(ev.text), "%s", EVIL_TEXT);
	struct ring_action a = { .kind = RING_ACT_SET_DOWNTIME, .result = RING_RES_ADVISORY,
				 .old_value = 300, .new_value = 500 };
	snprintf(a.policy, sizeof(a.policy), "pol\x1b[0m");
	snprintf(a.reason, sizeof(a.reason), "%s", EVIL_TEXT);
	struct ring_nic n = { .ifindex = 3, .carrier = 1, .speed_mbps = 1000 };
	snprintf(n.ifname, sizeof(n.ifname), "eth\x1b[8m");
	struct ring_agent ag = { .kind = RING_AGENT_NOTE, .pid = 1 };
	snprintf(ag.text, sizeof(ag.text), "%s", EVIL_TEXT);
	if (ring_append(f.w, RING_REC_SAMPLE, dom, &s, sizeof(s)) < 0 ||
	    ring_append(f.w, RING_REC_EVENT, dom, &ev, sizeof(ev)) < 0 ||
	    ring_append(f.w, RING_REC_ACTION, dom, &a, sizeof(a)) < 0 ||
	    ring_append(f.w, RING_REC_NIC, RING_NO_DOMAIN, &n, sizeof(n)) < 0 ||
	    ring_append(f.w, RING_REC_AGENT, RING_NO_DOMAIN, &ag, sizeof(ag)) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ring_writer_close(f->w, true);
	unlink(f->dump);
	return 0;
}

/* Nothing in what the program printed acts on a terminal, and the escaped forms are there. */
static void check_safe(const char *what, const struct run *r, const char *const *want)
{
	const char *bad = unsafe_text(r->out, r->out_len);
	if (bad)
		fail_msg("%s: stdout byte %zu (0x%02x) would reach the terminal raw", what,
			 (size_t)(bad - r->out), (unsigned char)*bad);
	bad = unsafe_text(r->err, r->err_len);
	if (bad)
		fail_msg("%s: stderr byte %zu (0x%02x) would reach the terminal raw", what,
			 (size_t)(bad - r->err), (unsigned char)*bad);
	for (; *want; want++)
		if (!strstr(r->out, *want))
			fail_msg("%s: '%s' missing from:\n%s", what, *want, r->out);
}

#define CHECK_RUN(what, exit_want, want, ...) do { \
	struct run r_; \
	RUN(&r_, __VA_ARGS__); \
	if (r_.status != (exit_want)) \
		fail_msg("%s: exit %d, want %d: %s", what, r_.status, exit_want, r_.err); \
	check_safe(what, &r_, want); \
	run_free(&r_); \
} while (0)

static void test_outputs_escape_names_and_texts(void **state)
{
	struct fixture *f = *state;
	static const char *const live[] = { EVIL_NAME_ESCAPED, EVIL_HOST_ESCAPED, "eth\\x1b[8m",
					    "pol\\x1b[0m", NULL };
	static const char *const records[] = { EVIL_NAME_ESCAPED, EVIL_TEXT_ESCAPED, "migrate\\x1b[K",
					       "pol\\x1b[0m", "eth\\x1b[8m", NULL };
	static const char *const json[] = { "vm\\\\x1b[2J", "extra\\\\x1b[1;1H", NULL };
	static const char *const info[] = { EVIL_NAME_ESCAPED, EVIL_HOST_ESCAPED, NULL };
	static const char *const one[] = { EVIL_NAME_ESCAPED, EVIL_TEXT_ESCAPED, NULL };
	static const char *const none[] = { NULL };

	CHECK_RUN("migtop -b", 0, live, MIGTOP, "--ring", f->ring, "-b", "-n", "1");
	CHECK_RUN("migtop --json", 0, json, MIGTOP, "--ring", f->ring, "--json", "-n", "1");
	CHECK_RUN("migdump -o", 0, none, MIGDUMP, "--ring", f->ring, "-o", f->dump);
	CHECK_RUN("migdump -d", 0, records, MIGDUMP, "-d", f->dump);
	CHECK_RUN("migdump -d --csv", 0, records, MIGDUMP, "-d", f->dump, "--csv");
	CHECK_RUN("migdump -d --json", 0, json, MIGDUMP, "-d", f->dump, "--json");
	CHECK_RUN("migdump -i", 0, info, MIGDUMP, "-i", f->dump);
	CHECK_RUN("migtop -r -b", 0, live, MIGTOP, "-r", f->dump, "-b", "-n", "1");
	CHECK_RUN("migtop -r --json", 0, json, MIGTOP, "-r", f->dump, "--json", "-n", "1");
	/* and "-D NAME" still finds the domain by its real name */
	CHECK_RUN("migdump -D", 0, one, MIGDUMP, "-d", f->dump, "-D", EVIL_NAME);
}

/* A consumer that decodes the JSON (jq -r) gets the escaped text, not the raw bytes. */
static void test_json_value_is_the_escaped_text(void **state)
{
	struct fixture *f = *state;
	struct run r;
	struct json_object *o, *migs, *m, *x;

	RUN(&r, MIGTOP, "--ring", f->ring, "--json", "-n", "1");
	assert_int_equal(r.status, 0);
	o = json_tokener_parse(r.out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "host", &x));
	assert_string_equal(json_object_get_string(x), EVIL_HOST_ESCAPED);
	assert_true(json_object_object_get_ex(o, "migrations", &migs));
	assert_int_equal(json_object_array_length(migs), 1);
	m = json_object_array_get_idx(migs, 0);
	assert_true(json_object_object_get_ex(m, "domain", &x));
	assert_string_equal(json_object_get_string(x), EVIL_NAME_ESCAPED);
	json_object_put(o);
	run_free(&r);
}

/* migtop -r of the fixture's small, real dump: what a replay needs besides the records. */
static long baseline_rss_kib(struct fixture *f)
{
	struct run r;
	RUN(&r, MIGDUMP, "--ring", f->ring, "-o", f->dump);
	assert_int_equal(r.status, 0);
	run_free(&r);
	RUN(&r, MIGTOP, "-r", f->dump, "-b", "-n", "1");
	assert_int_equal(r.status, 0);
	long kib = r.maxrss_kib;
	run_free(&r);
	return kib;
}

/* Within a memory bound: the baseline plus what the reader may hold (two chunks, the tables). */
#define BOMB_SLACK_KIB (32 * 1024)

static void check_rss(const char *what, const struct run *r, long baseline)
{
	if (r->maxrss_kib > baseline + BOMB_SLACK_KIB)
		fail_msg("%s: %ld KiB of memory, more than the %ld KiB of a small dump + %d KiB", what,
			 r->maxrss_kib, baseline, BOMB_SLACK_KIB);
}

/* A file of `records` 16-byte records of zeros, 65536 a chunk, at most max_size bytes. */
static void write_bomb(uint64_t records, char *path, size_t len, size_t max_size)
{
	struct bomb_opts o = { .record_size = 16, .chunk_records = 65536, .records = records };
	snprintf(path, len, "/tmp/migtune-test-bomb-%d%s", (int)getpid(), DUMP_SUFFIX);
	size_t size = bomb_write(&o, path);
	assert_true(size > 0 && size < max_size);
}

/* 2 million records out of ~125 KB (the reported case: 236 MB before the replay streamed):
 * within the limits, so replayed, one chunk at a time. */
static void test_bomb_replayed_in_bounded_memory(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct run r;
	long base = baseline_rss_kib(f);

	write_bomb(2000000, path, sizeof(path), 200000);
	RUN(&r, MIGTOP, "-r", path, "--json", "-n", "1");
	unlink(path);
	assert_int_equal(r.status, 0);
	check_rss("migtop -r of 2 million records", &r, base);
	/* every record was looked at, and none was taken for telemetry */
	assert_non_null(strstr(r.out, "\"records\":0,"));
	assert_non_null(strstr(r.out, "\"records_invalid\":2000000,"));
	run_free(&r);
}

/* More records than any ring holds, out of ~1 MB: refused with a clear line, in bounded memory. */
static void test_bomb_refused(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct run r;
	long base = baseline_rss_kib(f);

	write_bomb((uint64_t)RING_MAX_SLOTS + 65536, path, sizeof(path), 2000000);
	RUN(&r, MIGTOP, "-r", path, "-b", "-n", "1");
	assert_int_equal(r.status, 4);
	check_rss("migtop -r", &r, base);
	assert_non_null(strstr(r.err, "more than any ring holds"));
	assert_non_null(strstr(r.err, "refused"));
	assert_int_equal(r.out_len, 0);
	run_free(&r);
	RUN(&r, MIGDUMP, "-d", path);
	assert_int_equal(r.status, 6);
	check_rss("migdump -d", &r, base);
	assert_non_null(strstr(r.err, "decoding stopped after 16777216 records"));
	run_free(&r);
	RUN(&r, MIGDUMP, "-i", path);
	assert_int_equal(r.status, 6);
	assert_non_null(strstr(r.out, "host:        bomb"));
	run_free(&r);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outputs_escape_names_and_texts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_value_is_the_escaped_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bomb_replayed_in_bounded_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bomb_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
