/* The ring with writer and reader threads in one process: the test TSan runs.  Same integrity
 * and accounting assertions as the multi-process stress test, on a smaller count.  Two lanes for
 * three writers: one writes a lane of its own, two share lane 0. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stress.h"

#define WRITERS 3
#define READERS 2
#define PER_WRITER 150000u

static struct ring_writer *writer;
static char name[64];
static int done;
static uint64_t dropped[WRITERS];

struct reader_result { struct stress_tally t; uint64_t lost, corrupt, start; int rc; };

static void *writer_main(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;

	dropped[id] = stress_write(writer, id, PER_WRITER);
	return NULL;
}

static void *reader_main(void *arg)
{
	struct reader_result *res = arg;
	struct ring_reader *r = NULL;
	struct ring_record rec;

	res->rc = ring_reader_open(name, &r);
	if (res->rc < 0)
		return NULL;
	res->start = ring_reader_cursor(r);
	for (;;) {
		int rc = ring_read(r, &rec, NULL, &res->lost);

		if (rc == 1) {
			stress_account(&res->t, &rec);
			continue;
		}
		if (rc < 0) {
			res->rc = rc;
			break;
		}
		if (__atomic_load_n(&done, __ATOMIC_ACQUIRE) &&
		    ring_reader_cursor(r) == ring_reader_head(r))
			break;
		sched_yield();
	}
	res->corrupt = ring_reader_corrupt(r);
	ring_reader_close(r);
	return NULL;
}

int main(void)
{
	struct ring_create_opts o = { .name = name, .slot_count = 1024, .lanes = 2,
				      .domain_slots = 4, .gid = (gid_t)-1 };
	pthread_t w[WRITERS], rd[READERS];
	struct reader_result res[READERS] = { 0 };
	uint64_t head, drops = 0;
	int failed = 0;

	snprintf(name, sizeof(name), "/migtune-threads-%d", (int)getpid());
	shm_unlink(name);
	if (ring_writer_open(&o, &writer) < 0)
		return 1;
	for (int i = 0; i < READERS; i++)
		pthread_create(&rd[i], NULL, reader_main, &res[i]);
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer_main, (void *)(uintptr_t)i);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	head = ring_writer_head(writer);
	/* a clean stop tells readers that nothing pending will still be committed */
	ring_writer_close(writer, false);
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	for (int i = 0; i < WRITERS; i++)
		drops += dropped[i];
	printf("threads: head %llu dropped %llu\n", (unsigned long long)head, (unsigned long long)drops);
	if (head != (uint64_t)WRITERS * PER_WRITER)
		failed++;
	for (int i = 0; i < READERS; i++) {
		printf("threads: reader %d rc %d read %llu lost %llu torn %llu disorder %llu\n", i,
		       res[i].rc, (unsigned long long)res[i].t.read, (unsigned long long)res[i].lost,
		       (unsigned long long)res[i].t.torn, (unsigned long long)res[i].t.disorder);
		if (res[i].rc < 0 || res[i].t.torn || res[i].t.disorder || res[i].corrupt ||
		    res[i].t.read + res[i].lost != head - res[i].start || res[i].lost < drops)
			failed++;
	}
	shm_unlink(name);
	printf("threads: %s\n", failed ? "FAILED" : "ok");
	return failed ? 1 : 0;
}
