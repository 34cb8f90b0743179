/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/dumper.h"
#include "agent/log.h"
#include "agent/strutil.h"
#include "shm/dump.h"

struct dump_job {
	uint32_t ring_index;
	char name[256];
	char why[16];
};

struct dumper {
	struct ring_writer *ring;
	char ring_name[64];
	char dir[4096];
	uint64_t max_bytes, max_age_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct dump_job queue[DUMPER_QUEUE_MAX];   /* ring buffer, under lock */
	unsigned head, count;
	bool stop;                                  /* under lock */
	uint64_t written, failed, dropped;          /* atomics */
};

static void record_dump(struct dumper *d, const struct dump_job *j, int r, const char *path)
{
	struct ring_action ra;
	const char *base = strrchr(path, '/');

	memset(&ra, 0, sizeof(ra));
	ra.kind = RING_ACT_DUMP;
	ra.result = r < 0 ? RING_RES_FAILED : RING_RES_APPLIED;
	ra.error = r < 0 ? r : 0;
	ra.old_value = -1;
	ra.new_value = -1;
	str_copy(ra.policy, sizeof(ra.policy), "dump");
	if (r < 0)
		snprintf(ra.reason, sizeof(ra.reason), "dump failed: %s", strerror(-r));
	else
		/* The file name is what identifies the dump; its directory is in the config. */
		str_copy(ra.reason, sizeof(ra.reason), base ? base + 1 : path);
	ring_append(d->ring, RING_REC_ACTION, j->ring_index, &ra, sizeof(ra));
}

static void *worker(void *arg)
{
	struct dumper *d = arg;

	for (;;) {
		struct dump_job j;
		char path[4352] = "";
		int r;

		pthread_mutex_lock(&d->lock);
		while (!d->count && !d->stop)
			pthread_cond_wait(&d->cond, &d->lock);
		if (!d->count) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		j = d->queue[d->head];
		d->head = (d->head + 1) % DUMPER_QUEUE_MAX;
		d->count--;
		pthread_mutex_unlock(&d->lock);

		r = dump_auto(d->ring_name, d->dir, j.name, j.why, d->max_bytes, d->max_age_s, path,
			      sizeof(path));
		record_dump(d, &j, r, path);
		if (r < 0) {
			__atomic_fetch_add(&d->failed, 1, __ATOMIC_RELAXED);
			log_warn("%s: cannot write the %s-migration dump into %s: %s", j.name, j.why,
				 d->dir, strerror(-r));
		} else {
			__atomic_fetch_add(&d->written, 1, __ATOMIC_RELAXED);
			log_notice("%s: migration %s: ring dumped to %s", j.name, j.why, path);
		}
	}
	return NULL;
}

int dumper_start(const struct dumper_opts *opts, struct dumper **ret)
{
	struct dumper *d;
	int r;

	if (!opts || !opts->ring || !opts->ring_name || !opts->dir || !ret)
		return -EINVAL;
	if (strlen(opts->ring_name) >= sizeof(d->ring_name) || strlen(opts->dir) >= 4000)
		return -ENAMETOOLONG;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->ring = opts->ring;
	str_copy(d->ring_name, sizeof(d->ring_name), opts->ring_name);
	str_copy(d->dir, sizeof(d->dir), opts->dir);
	d->max_bytes = opts->max_bytes;
	d->max_age_s = opts->max_age_s;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	r = -pthread_create(&d->thread, NULL, worker, d);
	if (r < 0) {
		pthread_cond_destroy(&d->cond);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

int dumper_request(struct dumper *d, uint32_t ring_index, const char *domain_name,
		   const char *why)
{
	struct dump_job *j;

	if (!d)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (d->count == DUMPER_QUEUE_MAX || d->stop) {
		pthread_mutex_unlock(&d->lock);
		__atomic_fetch_add(&d->dropped, 1, __ATOMIC_RELAXED);
		return -EAGAIN;
	}
	j = &d->queue[(d->head + d->count) % DUMPER_QUEUE_MAX];
	j->ring_index = ring_index;
	str_copy(j->name, sizeof(j->name), domain_name && *domain_name ? domain_name : "unknown");
	str_copy(j->why, sizeof(j->why), why ? why : "failed");
	d->count++;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

void dumper_stop(struct dumper *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void dumper_counters(struct dumper *d, struct dumper_counters *ret)
{
	ret->written = __atomic_load_n(&d->written, __ATOMIC_RELAXED);
	ret->failed = __atomic_load_n(&d->failed, __ATOMIC_RELAXED);
	ret->dropped = __atomic_load_n(&d->dropped, __ATOMIC_RELAXED);
}
