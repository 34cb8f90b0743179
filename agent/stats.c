/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent/stats.h"
#include "agent/strutil.h"

#define LABEL_MAX 32
#define ACTION_ROWS 96        /* 6 kinds x 4 results x 4 policies, with room to spare */
#define MIGRATION_ROWS 24
#define HIST_DIRECTIONS 4

/* Upper bounds of the histograms' buckets, milliseconds.  Durations: from a small idle guest on a
 * fast link to the hours a doomed migration runs; downtimes: around the SLAs people set
 * (QEMU's default limit is 300 ms) up to a suspended finish. */
static const int64_t duration_le_ms[] = { 5000, 10000, 30000, 60000, 120000, 300000, 600000,
					  1200000, 1800000, 3600000, 7200000 };
static const int64_t downtime_le_ms[] = { 10, 25, 50, 100, 200, 300, 500, 1000, 2000, 5000,
					  10000 };
#define NBOUNDS 11
_Static_assert(sizeof(duration_le_ms) / sizeof(duration_le_ms[0]) == NBOUNDS, "duration bounds");
_Static_assert(sizeof(downtime_le_ms) / sizeof(downtime_le_ms[0]) == NBOUNDS, "downtime bounds");

struct row {
	char label[3][LABEL_MAX];
	uint64_t count;
};

struct table {
	struct row *rows;
	unsigned n, max, nlabels;
};

struct hist {
	char direction[LABEL_MAX];
	uint64_t bucket[NBOUNDS];     /* not cumulative: observations in (le[i-1], le[i]] */
	uint64_t count;
	int64_t sum_ms;
};

struct agent_stats {
	pthread_mutex_t lock;
	struct row action_rows[ACTION_ROWS], migration_rows[MIGRATION_ROWS];
	struct table actions, migrations;
	struct hist duration[HIST_DIRECTIONS], downtime[HIST_DIRECTIONS];
};

int stats_new(struct agent_stats **ret)
{
	struct agent_stats *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->actions = (struct table){ s->action_rows, 0, ACTION_ROWS, 3 };
	s->migrations = (struct table){ s->migration_rows, 0, MIGRATION_ROWS, 2 };
	*ret = s;
	return 0;
}

void stats_free(struct agent_stats *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The row for these labels, made when new; the last row ("other" everywhere) takes the rest. */
static struct row *row_for(struct table *t, const char *const *labels)
{
	for (unsigned i = 0; i < t->n; i++) {
		bool same = true;

		for (unsigned k = 0; k < t->nlabels && same; k++)
			same = strncmp(t->rows[i].label[k], labels[k], LABEL_MAX - 1) == 0;
		if (same)
			return &t->rows[i];
	}
	if (t->n >= t->max - 1) {
		static const char *const other[3] = { "other", "other", "other" };

		if (labels != other)
			return row_for(t, other);
	}
	for (unsigned k = 0; k < t->nlabels; k++)
		str_copy(t->rows[t->n].label[k], LABEL_MAX, labels[k] ? labels[k] : "");
	return &t->rows[t->n++];
}

void stats_action(struct agent_stats *s, const char *kind, const char *result, const char *policy)
{
	const char *labels[3] = { kind, result, policy };

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	row_for(&s->actions, labels)->count++;
	pthread_mutex_unlock(&s->lock);
}

static void observe(struct hist *h, const int64_t *le, const char *direction, int64_t ms)
{
	unsigned d = 0;

	while (d < HIST_DIRECTIONS - 1 && h[d].direction[0] &&
	       strncmp(h[d].direction, direction, LABEL_MAX - 1) != 0)
		d++;
	if (!h[d].direction[0])
		str_copy(h[d].direction, LABEL_MAX, direction);
	for (unsigned i = 0; i < NBOUNDS; i++)
		if (ms <= le[i]) {
			h[d].bucket[i]++;
			break;
		}
	h[d].count++;
	h[d].sum_ms += ms;
}

void stats_migration_end(struct agent_stats *s, const char *direction, const char *outcome,
			 int64_t duration_ms, int64_t downtime_ms)
{
	const char *labels[2] = { direction, outcome };

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	row_for(&s->migrations, labels)->count++;
	if (duration_ms >= 0)
		observe(s->duration, duration_le_ms, direction, duration_ms);
	if (downtime_ms >= 0)
		observe(s->downtime, downtime_le_ms, direction, downtime_ms);
	pthread_mutex_unlock(&s->lock);
}

static struct json_object *table_json(const struct table *t, const char *const *names)
{
	struct json_object *arr = json_object_new_array();

	for (unsigned i = 0; i < t->n; i++) {
		struct json_object *o = json_object_new_object();

		for (unsigned k = 0; k < t->nlabels; k++)
			json_object_object_add(o, names[k], json_object_new_string(t->rows[i].label[k]));
		json_object_object_add(o, "count", json_object_new_int64((int64_t)t->rows[i].count));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *hist_json(const struct hist *h, const int64_t *le)
{
	struct json_object *arr = json_object_new_array();

	for (unsigned d = 0; d < HIST_DIRECTIONS && h[d].direction[0]; d++) {
		struct json_object *o = json_object_new_object(), *b = json_object_new_array();
		uint64_t cum = 0;

		for (unsigned i = 0; i < NBOUNDS; i++) {
			struct json_object *pair = json_object_new_array();

			cum += h[d].bucket[i];
			json_object_array_add(pair, json_object_new_int64(le[i]));
			json_object_array_add(pair, json_object_new_int64((int64_t)cum));
			json_object_array_add(b, pair);
		}
		json_object_object_add(o, "direction", json_object_new_string(h[d].direction));
		json_object_object_add(o, "buckets", b);
		json_object_object_add(o, "sum_ms", json_object_new_int64(h[d].sum_ms));
		json_object_object_add(o, "count", json_object_new_int64((int64_t)h[d].count));
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *stats_json(struct agent_stats *s)
{
	static const char *const action_names[3] = { "kind", "result", "policy" };
	static const char *const migration_names[2] = { "direction", "outcome" };
	struct json_object *o = json_object_new_object();

	pthread_mutex_lock(&s->lock);
	json_object_object_add(o, "actions", table_json(&s->actions, action_names));
	json_object_object_add(o, "migrations", table_json(&s->migrations, migration_names));
	json_object_object_add(o, "duration", hist_json(s->duration, duration_le_ms));
	json_object_object_add(o, "downtime", hist_json(s->downtime, downtime_le_ms));
	pthread_mutex_unlock(&s->lock);
	return o;
}
