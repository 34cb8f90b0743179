/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dumping a ring while its writer keeps appending, as the agent does when it dumps its own ring
 * from a worker thread: the dump must hold whole records, in ring order, none twice, and at least
 * everything committed before the dump began.  Also run under TSan.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/views/synth.h"
#include "shm/dump.h"

struct writer_arg {
	struct ring_writer *w;
	atomic_bool stop;
	atomic_uint_fast64_t written;
};

/* Each record carries its own number in two fields, so a torn copy shows as a mismatch. */
static void *writer(void *p)
{
	struct writer_arg *a = p;
	uint64_t i = 0;
	while (!atomic_load(&a->stop)) {
		struct ring_sample s = { .direction = RING_DIR_OUT, .phase = RING_PHASE_PRECOPY,
					 .data_total_bytes = i, .mem_total_bytes = ~i, .page_size = 4096 };
		if (ring_append(a->w, RING_REC_SAMPLE, 0, &s, sizeof(s)) == 0)
			i++;
		atomic_store(&a->written, i);
		if ((i & 1023) == 0)
			usleep(100);
	}
	return NULL;
}

static void test_dump_while_writing(void **state)
{
	(void)state;
	char name[64], path[128];
	struct ring_create_opts o = { .slot_count = 1u << 16, .domain_slots = 16, .gid = (gid_t)-1 };
	struct writer_arg a = { 0 };
	struct ring_reader *r;
	pthread_t th;

	synth_ring_name(name, sizeof(name));
	o.name = name;
	snprintf(path, sizeof(path), "/tmp/migtune-test-live-%d%s", (int)getpid(), DUMP_SUFFIX);
	assert_int_equal(ring_writer_open(&o, &a.w), 0);
	uint8_t uuid[16] = { 1 };
	assert_int_equal(ring_domain_index(a.w, uuid, "busy"), 0);
	assert_int_equal(ring_reader_open(name, &r), 0);
	assert_int_equal(pthread_create(&th, NULL, writer, &a), 0);
	while (atomic_load(&a.written) < 20000)
		usleep(1000);

	for (int round = 0; round < 5; round++) {
		uint64_t before = atomic_load(&a.written);
		struct dump_stats st;
		struct dump_file *d;
		struct ring_record rec;
		assert_int_equal(dump_write(r, path, NULL, &st), 0);
		uint64_t after = atomic_load(&a.written);
		assert_int_equal(dump_open(path, &d), 0);
		uint64_t n = 0, prev = 0;
		while (dump_next(d, &rec) > 0) {
			uint64_t k = rec.u.sample.data_total_bytes;
			assert_int_equal(rec.u.sample.mem_total_bytes, ~k);   /* whole, not torn */
			if (n > 0)
				assert_true(k > prev);                          /* ordered, no repeats */
			prev = k;
			n++;
		}
		assert_int_equal(n, st.records);
		/* everything written before the dump began that the ring still held is in it, when
		 * the writer went less than a whole ring further while the dump ran; more (slow runs,
		 * TSan) and it may have overwritten even the newest of them before they were read */
		if (after - before < o.slot_count)
			assert_true(prev + 1 >= before);
		assert_null(dump_problem(d, 0));
		dump_close(d);
	}
	atomic_store(&a.stop, true);
	pthread_join(th, NULL);
	ring_reader_close(r);
	ring_writer_close(a.w, true);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_while_writing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
