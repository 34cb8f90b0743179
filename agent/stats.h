/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the agent counts across migrations, for the status document and Prometheus: every action
 * recorded (by kind, result and policy), every migration that ended (by direction and outcome),
 * and histograms of how long migrations took and of the downtime of those that completed.
 *
 * The tracker thread (tracker, actuator) adds; any thread reads a consistent copy through
 * stats_json.  A mutex guards it all: additions come once per action or migration and readers once
 * per status request or metrics interval, so nobody ever waits long.  Label values are taken as
 * given (the callers pass fixed names); tables are bounded, and what does not fit more is
 * counted under the label value "other".
 */
#ifndef MIGTUNE_AGENT_STATS_H
#define MIGTUNE_AGENT_STATS_H

#include <stdint.h>

#include <json-c/json.h>

struct agent_stats;

int stats_new(struct agent_stats **ret);
void stats_free(struct agent_stats *s);

/* One action record: kind "set-downtime", result "applied", policy "adaptive".  s may be NULL. */
void stats_action(struct agent_stats *s, const char *kind, const char *result, const char *policy);

/*
 * A migration ended: direction "out" or "in", outcome "completed", "aborted", "failed".
 * duration_ms and downtime_ms are observed in the histograms when known (>= 0); -1 leaves them
 * out (an unknown value is never counted as a number).  s may be NULL.
 */
void stats_migration_end(struct agent_stats *s, const char *direction, const char *outcome,
			 int64_t duration_ms, int64_t downtime_ms);

/*
 * {"actions":[{"kind","result","policy","count"}...],
 *  "migrations":[{"direction","outcome","count"}...],
 *  "duration":[{"direction","buckets":[[le_ms,cumulative]...],"sum_ms","count"}...],
 *  "downtime":[...the same...]}
 * Bucket bounds are upper bounds in milliseconds, counts cumulative; the +Inf bucket is the
 * count.  Histograms appear once a direction has its first observation.
 */
struct json_object *stats_json(struct agent_stats *s);

#endif
