/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dump reader's limits (shm/dump.h, struct dump_limits): records, bytes decompressed, one
 * chunk, the file; the header's own count; memory held whatever a file expands to.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "shm/dump.h"
#include "tests/views/bomb.h"
#include "tests/views/synth.h"

/* Reads everything; returns the records handed out and the last dump_next result in *ret_end. */
static uint64_t drain(struct dump_file *d, int *ret_end)
{
	struct ring_record rec;
	uint64_t n = 0;
	int r;

	while ((r = dump_next(d, &rec)) > 0)
		n++;
	*ret_end = r;
	return n;
}

static bool some_problem_says(const struct dump_file *d, const char *what)
{
	for (size_t i = 0; dump_problem(d, i); i++)
		if (strstr(dump_problem(d, i), what))
			return true;
	return false;
}

/* A bomb built in memory (kept in *b, freed by the caller) and opened with lim. */
static struct dump_file *open_bomb(const struct bomb_opts *o, const struct dump_limits *lim,
				   uint8_t **b, size_t *len)
{
	struct dump_file *d;

	*b = bomb_build(o, len);
	assert_non_null(*b);
	assert_int_equal(dump_open_mem_limits(*b, *len, lim, &d), 0);
	return d;
}

static void test_record_limit(void **state)
{
	(void)state;
	struct bomb_opts o = { .record_size = 16, .chunk_records = 1000, .records = 10000 };
	struct dump_limits lim = { .max_records = 5000 };
	size_t len;
	uint8_t *b;
	struct dump_file *d = open_bomb(&o, &lim, &b, &len);
	int end;

	assert_int_equal(dump_get_limits(d)->max_records, 5000);
	assert_int_equal(dump_get_limits(d)->max_chunk_bytes, DUMP_DEFAULT_MAX_CHUNK_BYTES);
	assert_int_equal(drain(d, &end), 5000);
	assert_int_equal(end, -EFBIG);
	struct ring_record rec;
	assert_int_equal(dump_next(d, &rec), -EFBIG);          /* it stays stopped */
	assert_true(dump_get_read_stats(d)->refused);
	assert_true(some_problem_says(d, "past 5000"));
	/* a rewind starts over, and stops at the same place */
	dump_rewind(d);
	assert_false(dump_get_read_stats(d)->refused);
	assert_int_equal(drain(d, &end), 5000);
	assert_int_equal(end, -EFBIG);
	dump_close(d);
	/* the limit itself is allowed */
	lim.max_records = 10000;
	assert_int_equal(dump_open_mem_limits(b, len, &lim, &d), 0);
	assert_int_equal(drain(d, &end), 10000);
	assert_int_equal(end, 0);
	assert_false(dump_get_read_stats(d)->refused);
	dump_close(d);
	free(b);
}

/* A header that counts its records is believed: more records than that are not what the writer
 * wrote, and one that declares more than any ring holds is refused at once. */
static void test_declared_count(void **state)
{
	(void)state;
	struct bomb_opts o = { .record_size = 16, .chunk_records = 1000, .records = 10000,
			       .declared = 3000 };
	struct dump_limits lim = { .max_records = 20000 };
	size_t len;
	uint8_t *b;
	struct dump_file *d = open_bomb(&o, &lim, &b, &len);
	int end;

	assert_int_equal(drain(d, &end), 3000);
	assert_int_equal(end, -EFBIG);
	assert_true(some_problem_says(d, "the header declares"));
	dump_close(d);
	free(b);

	o.declared = 20001;
	b = bomb_build(&o, &len);
	assert_non_null(b);
	assert_int_equal(dump_open_mem_limits(b, len, &lim, &d), -EBADMSG);
	free(b);
}

static void test_decoded_bytes_limit(void **state)
{
	(void)state;
	/* 100000 records of 16 bytes: 1.6 MB out of a few kilobytes */
	struct bomb_opts o = { .record_size = 16, .chunk_records = 8000, .records = 100000 };
	struct dump_limits lim = { .max_decoded_bytes = 500000 };
	size_t len;
	uint8_t *b;
	struct dump_file *d = open_bomb(&o, &lim, &b, &len);
	int end;

	assert_true(len < 20000);
	uint64_t n = drain(d, &end);
	assert_int_equal(end, -EFBIG);
	assert_true(n < 500000 / 16);
	assert_true(dump_get_read_stats(d)->decoded_bytes <= lim.max_decoded_bytes);
	assert_true(some_problem_says(d, "decompressing past 500000 bytes"));
	dump_close(d);
	free(b);
}

/* A chunk larger than the reader's limit is damage, not a reason to allocate. */
static void test_chunk_limit(void **state)
{
	(void)state;
	struct bomb_opts o = { .record_size = 16, .chunk_records = 65536, .records = 3 * 65536 };
	struct dump_limits lim = { .max_chunk_bytes = 65536 };
	size_t len;
	uint8_t *b;
	struct dump_file *d = open_bomb(&o, &lim, &b, &len);
	int end;

	assert_int_equal(drain(d, &end), 0);
	assert_int_equal(end, 0);
	assert_int_equal(dump_get_read_stats(d)->chunks_bad, 3);
	assert_true(some_problem_says(d, "the reader's limit"));
	assert_true(dump_memory_bytes(d) < 2 * 65536 + 2 * 1048576);
	dump_close(d);
	free(b);
}

static void test_file_limit(void **state)
{
	(void)state;
	struct bomb_opts o = { .record_size = 120, .chunk_records = 8000, .records = 400000 };
	char path[128], fifo[128];
	struct dump_limits lim = { .max_file_bytes = 4096 };
	struct dump_file *d;

	snprintf(path, sizeof(path), "/tmp/migtune-test-limits-%d%s", (int)getpid(), DUMP_SUFFIX);
	size_t len = bomb_write(&o, path);
	assert_true(len > 4096);
	assert_int_equal(dump_open_limits(path, &lim, &d), -EFBIG);
	lim.max_file_bytes = len;
	assert_int_equal(dump_open_limits(path, &lim, &d), 0);
	dump_close(d);

	/* through a pipe, where the size is only known by reading */
	snprintf(fifo, sizeof(fifo), "/tmp/migtune-test-limits-%d.fifo", (int)getpid());
	assert_int_equal(mkfifo(fifo, 0600), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		int in = open(path, O_RDONLY), out = open(fifo, O_WRONLY);
		char buf[4096];
		ssize_t k;
		while ((k = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)k) != k)
				_exit(1);
		_exit(0);
	}
	lim.max_file_bytes = 4096;
	assert_int_equal(dump_open_limits(fifo, &lim, &d), -EFBIG);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	unlink(fifo);
	unlink(path);
}

/* The bomb of the field (2 million records out of ~125 KB): decoded within the default limits, in
 * bounded memory, one chunk at a time. */
static void test_bomb_memory(void **state)
{
	(void)state;
	struct bomb_opts o = { .record_size = 16, .chunk_records = 65536, .records = 2000000 };
	size_t len;
	uint8_t *b = bomb_build(&o, &len);
	struct dump_file *d;
	int end;

	assert_non_null(b);
	assert_true(len < 200000);
	assert_int_equal(dump_open_mem(b, len, &d), 0);
	assert_int_equal(drain(d, &end), 2000000);
	assert_int_equal(end, 0);
	/* two chunk buffers of 1 MiB, the transform's table: not the 240 MB of the records */
	assert_true(dump_memory_bytes(d) < 4u << 20);
	dump_close(d);
	free(b);
}

/* What a ring yields reads whole with the default limits, and with limits set to exactly it. */
static void test_real_dump_within_limits(void **state)
{
	(void)state;
	char name[64], path[128];
	struct ring_create_opts ro = { .slot_count = 1 << 16, .domain_slots = 64, .gid = (gid_t)-1 };
	struct synth_opts so = { .migrations = 16, .steps = 2000, .step_ns = 1000000, .seed = 5,
				 .start_mono_ns = 1000000000 };
	struct ring_writer *w;
	struct ring_reader *r;
	struct dump_stats st;
	struct dump_file *d;
	int end;

	synth_ring_name(name, sizeof(name));
	ro.name = name;
	snprintf(path, sizeof(path), "/tmp/migtune-test-limits-real-%d%s", (int)getpid(), DUMP_SUFFIX);
	assert_int_equal(ring_writer_open(&ro, &w), 0);
	assert_true(synth_fill(w, &so) > 0);
	assert_int_equal(ring_reader_open(name, &r), 0);
	assert_int_equal(dump_write(r, path, NULL, &st), 0);
	ring_reader_close(r);
	ring_writer_close(w, true);
	assert_int_equal(dump_open(path, &d), 0);
	assert_int_equal(drain(d, &end), st.records);
	assert_int_equal(end, 0);
	assert_null(dump_problem(d, 0));
	dump_close(d);
	struct dump_limits lim = { .max_records = st.records, .max_file_bytes = st.file_bytes,
				   .max_chunk_bytes = sizeof(struct dump_chunk) +
						      DUMP_CHUNK_RECORDS * sizeof(struct ring_record) };
	assert_int_equal(dump_open_limits(path, &lim, &d), 0);
	assert_int_equal(drain(d, &end), st.records);
	assert_int_equal(end, 0);
	dump_close(d);
	unlink(path);
}

/* A second pass over a file with more problems than the reader keeps (migtop -r makes one at
 * every step back): the list is rebuilt, not freed twice. */
static void test_rewind_many_problems(void **state)
{
	(void)state;
	struct bomb_opts o = { .record_size = 16, .chunk_records = 16, .records = 0 };
	size_t len, trailer = 8 + sizeof(struct dump_trailer);
	uint8_t *b = bomb_build(&o, &len);
	static const uint8_t junk_frame[] = { 0x04, 0x22, 0x4d, 0x18, 0xff, 0xff, 0xff, 0xff };
	size_t n = len - trailer + 40 * sizeof(junk_frame) + trailer;
	uint8_t *f = malloc(n);
	struct dump_file *d;
	int end;

	assert_non_null(b);
	assert_non_null(f);
	memcpy(f, b, len - trailer);
	for (int i = 0; i < 40; i++)
		memcpy(f + len - trailer + (size_t)i * sizeof(junk_frame), junk_frame, sizeof(junk_frame));
	memcpy(f + n - trailer, b + len - trailer, trailer);
	assert_int_equal(dump_open_mem(f, n, &d), 0);
	for (int pass = 0; pass < 3; pass++) {
		assert_int_equal(drain(d, &end), 0);
		assert_int_equal(end, 0);
		assert_true(dump_get_read_stats(d)->chunks_bad >= 32);
		assert_non_null(strstr(dump_problem(d, 31), "more problems"));
		dump_rewind(d);
	}
	dump_close(d);
	free(f);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_limit),
		cmocka_unit_test(test_declared_count),
		cmocka_unit_test(test_decoded_bytes_limit),
		cmocka_unit_test(test_chunk_limit),
		cmocka_unit_test(test_file_limit),
		cmocka_unit_test(test_bomb_memory),
		cmocka_unit_test(test_real_dump_within_limits),
		cmocka_unit_test(test_rewind_many_problems),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
