/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prometheus metrics as a node_exporter textfile-collector file ([metrics] textfile): every
 * interval a thread of its own renders the same status document the control socket serves into
 * the text exposition format (version 0.0.4) and replaces the file atomically (a temporary file
 * in the same directory, then rename), so that the collector never reads half a file.  On a
 * clean stop the file is rewritten once more with migtune_agent_up 0.
 *
 * The rendering and the label escaping are pure functions, tested on their own.
 */
#ifndef MIGTUNE_AGENT_METRICS_H
#define MIGTUNE_AGENT_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "agent/ctl.h"

struct metrics;

struct metrics_opts {
	const char *path;          /* the .prom file (required, absolute) */
	uint32_t interval_s;       /* >= 1 */
	struct tracker *tracker;   /* what ctl_status_json reads */
	ctl_extra_fn extra;        /* agent-wide fields, as for the control socket */
	void *extra_arg;
};

/* Writes the file once (so that a bad directory fails the start), then starts the thread. */
int metrics_start(const struct metrics_opts *opts, struct metrics **ret);
/* Stops the thread and writes the final file with migtune_agent_up 0. */
void metrics_stop(struct metrics *m);

/* The last write's result (0 or a negative errno); any thread. */
int metrics_last_error(struct metrics *m);

/*
 * Writes status (a ctl_status_json document; NULL for "agent down") as exposition text.
 * Returns 0 or a negative errno from the stream.
 */
int metrics_render(FILE *f, struct json_object *status);

/*
 * Writes s as a label value body (without the quotes): backslash, double quote and newline
 * escaped as the format requires, other control characters as '?', and bytes that are not
 * valid UTF-8 as U+FFFD, so that any domain name gives a valid exposition.
 */
void metrics_escape_label(FILE *f, const char *s);

/* Replaces path with len bytes of text: temporary file (0644) in the same directory, rename. */
int metrics_write_atomic(const char *path, const char *text, size_t len);

#endif
