/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Synthetic, deterministic telemetry for the view tests and benchmarks: migrations that behave like
 * the ones in the field notes (a pre-copy that does or does not converge, NIC samples, decisions).
 */
#ifndef MIGTUNE_TESTS_VIEWS_SYNTH_H
#define MIGTUNE_TESTS_VIEWS_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ring.h"

struct synth_opts {
	uint32_t migrations;     /* concurrent migrations */
	uint32_t steps;          /* samples per migration */
	uint64_t start_mono_ns;  /* time of the first step */
	uint64_t step_ns;        /* time between steps */
	uint32_t seed;
};

/* Record k of a synthetic history (samples, one NIC sample per step, an action every 7 steps and an
 * event every 11 for each migration).  dom_base is added to the migration number to form the
 * domain index. */
size_t synth_records(const struct synth_opts *o, uint32_t dom_base, struct ring_record *out,
		     size_t cap);
/* How many records synth_records produces for o. */
size_t synth_count(const struct synth_opts *o);
/* Registers the migrations' domains ("vm-000", ...) and appends the history to w.
 * Returns the number of records appended or a negative errno. */
long synth_fill(struct ring_writer *w, const struct synth_opts *o);
/*
 * An agent in a child process: opens ring name, calls fill(w, arg) (may be NULL), then heartbeats
 * every 100 ms until it is killed.  Returns its pid once the ring is filled, -1 on failure.  The
 * caller kills and reaps it (a child left as a zombie is what some tests look at).
 */
pid_t synth_writer_child(const char *name, void (*fill)(struct ring_writer *w, void *arg), void *arg);
/* A ring name unique to this process and call: "/migtune-t-PID-N". */
void synth_ring_name(char *buf, size_t len);
void synth_uuid(uint32_t i, uint8_t ret[16]);

#endif
