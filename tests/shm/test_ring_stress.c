/* Multi-process stress of the ring: one writer process with a thread per core (at least four)
 * appends millions of self-checking records into a small ring while several reader processes follow
 * it.  Three lanes: two threads write lanes of their own, the others share lane 0 (fetch-and-add
 * and CAS), so both ways of appending are under load at once.  Asserts that no torn record is ever
 * accepted, that each writer's records arrive in order, and that every claimed position is
 * accounted for exactly: read + lost == head. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

#define READERS 3
#define SLOTS 4096u
#define LANES 3u
#define DEADLINE_S 300

struct shared {
	volatile int ring_ready, readers_ready, writer_done;
	volatile uint64_t dropped, head;
	struct { volatile uint64_t read, lost, torn, disorder, corrupt, start; volatile int ok; } r[READERS];
};

static char name[64];
static struct ring_writer *writer;
static uint64_t per_thread;

static void *writer_thread(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;

	return (void *)(uintptr_t)stress_write(writer, id, per_thread);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_writer(struct shared *sh, int nthreads)
{
	struct ring_create_opts o = { .name = name, .slot_count = SLOTS, .lanes = LANES,
				      .domain_slots = 4, .gid = (gid_t)-1 };
	pthread_t th[STRESS_MAX_WRITERS];
	uint64_t dropped = 0;
	double deadline = now_s() + DEADLINE_S;

	if (ring_writer_open(&o, &writer) < 0)
		return 1;
	__atomic_store_n(&sh->ring_ready, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&sh->readers_ready, __ATOMIC_SEQ_CST) < READERS && now_s() < deadline)
		usleep(1000);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, writer_thread, (void *)(uintptr_t)i);
	for (int i = 0; i < nthreads; i++) {
		void *d;

		pthread_join(th[i], &d);
		dropped += (uintptr_t)d;
	}
	sh->dropped = dropped;
	sh->head = ring_writer_head(writer);
	ring_writer_close(writer, false);   /* clean stop: readers drain without waiting */
	__atomic_store_n(&sh->writer_done, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int run_reader(struct shared *sh, int idx)
{
	struct ring_reader *r = NULL;
	struct stress_tally t = { 0 };
	struct ring_record rec;
	uint64_t lost = 0;
	double deadline = now_s() + DEADLINE_S;

	while (!__atomic_load_n(&sh->ring_ready, __ATOMIC_SEQ_CST) && now_s() < deadline)
		usleep(1000);
	if (ring_reader_open(name, &r) < 0)
		return 1;
	sh->r[idx].start = ring_reader_cursor(r);
	__atomic_add_fetch(&sh->readers_ready, 1, __ATOMIC_SEQ_CST);
	while (now_s() < deadline) {
		int rc = ring_read(r, &rec, NULL, &lost);

		if (rc == 1) {
			stress_account(&t, &rec);
			continue;
		}
		if (rc < 0)
			break;
		if (__atomic_load_n(&sh->writer_done, __ATOMIC_SEQ_CST) &&
		    ring_reader_cursor(r) == ring_reader_head(r))
			break;
		sched_yield();
	}
	sh->r[idx].read = t.read;
	sh->r[idx].lost = lost;
	sh->r[idx].torn = t.torn;
	sh->r[idx].disorder = t.disorder;
	sh->r[idx].corrupt = ring_reader_corrupt(r);
	sh->r[idx].ok = now_s() < deadline;
	ring_reader_close(r);
	return 0;
}

int main(int argc, char **argv)
{
	struct shared *sh;
	pid_t pids[READERS + 1];
	int nthreads = (int)sysconf(_SC_NPROCESSORS_ONLN), failed = 0, status;
	uint64_t total;

	if (nthreads < 4) nthreads = 4;
	if (nthreads > STRESS_MAX_WRITERS) nthreads = STRESS_MAX_WRITERS;
	total = argc > 1 ? strtoull(argv[1], NULL, 10) : 3000000;
	per_thread = total / (uint64_t)nthreads;
	snprintf(name, sizeof(name), "/migtune-stress-%d", (int)getpid());
	shm_unlink(name);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;

	for (int i = 0; i <= READERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return 1;
		if (pids[i] == 0)
			_exit(i == READERS ? run_writer(sh, nthreads) : run_reader(sh, i));
	}
	for (int i = 0; i <= READERS; i++) {
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "stress: process %d failed\n", i);
			failed++;
		}
	}
	printf("stress: %d writer threads x %llu records into %u lanes of %u slots, %d reader "
	       "processes\n", nthreads, (unsigned long long)per_thread, LANES, SLOTS, READERS);
	printf("stress: head %llu, dropped by writers on contention %llu\n",
	       (unsigned long long)sh->head, (unsigned long long)sh->dropped);
	if (sh->head != per_thread * (uint64_t)nthreads) {
		fprintf(stderr, "stress: head %llu != records claimed\n", (unsigned long long)sh->head);
		failed++;
	}
	for (int i = 0; i < READERS; i++) {
		uint64_t accounted = sh->r[i].read + sh->r[i].lost + sh->r[i].corrupt;

		printf("stress: reader %d read %llu lost %llu torn %llu out-of-order %llu corrupt %llu\n", i,
		       (unsigned long long)sh->r[i].read, (unsigned long long)sh->r[i].lost,
		       (unsigned long long)sh->r[i].torn, (unsigned long long)sh->r[i].disorder,
		       (unsigned long long)sh->r[i].corrupt);
		if (!sh->r[i].ok) { fprintf(stderr, "stress: reader %d timed out\n", i); failed++; }
		if (sh->r[i].torn) { fprintf(stderr, "stress: reader %d accepted torn records\n", i); failed++; }
		if (sh->r[i].disorder) { fprintf(stderr, "stress: reader %d saw records out of order\n", i); failed++; }
		if (sh->r[i].corrupt) { fprintf(stderr, "stress: reader %d saw corrupt records\n", i); failed++; }
		if (accounted != sh->head - sh->r[i].start) {
			fprintf(stderr, "stress: reader %d accounted %llu of %llu positions\n", i,
				(unsigned long long)accounted,
				(unsigned long long)(sh->head - sh->r[i].start));
			failed++;
		}
		if (sh->r[i].lost < sh->dropped) {
			fprintf(stderr, "stress: reader %d lost fewer than were dropped\n", i);
			failed++;
		}
		if (sh->r[i].read == 0) { fprintf(stderr, "stress: reader %d read nothing\n", i); failed++; }
	}
	shm_unlink(name);
	printf("stress: %s\n", failed ? "FAILED" : "ok");
	return failed ? 1 : 0;
}
