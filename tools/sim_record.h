/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The records migtuned would write for a simulated run (migsim --ring, --dump): samples, NIC
 * samples, the agent's "migration found" and end events, every action with its prediction, and
 * the agent's start and stop, in a telemetry ring (shm/ring.h) paced at a chosen speed-up, in a
 * dump file (shm/dump.h), or both.  The ring's and the dump's header say the writer is a
 * simulation (RING_WRITER_F_SIMULATED), so that nobody takes it for a host's agent.
 *
 * Time: the ring's records carry the writer's CLOCK_MONOTONIC.  Paced (speed >= 1), the run
 * starts now and a simulated second takes 1/speed of a real one; unpaced (speed 0), the run is
 * placed so that the scenario's whole duration ends now.  The samples' elapsed_ms is the job's
 * simulated clock either way.
 */
#ifndef MIGTUNE_TOOLS_SIM_RECORD_H
#define MIGTUNE_TOOLS_SIM_RECORD_H

#include <signal.h>
#include <stddef.h>

#include "sim.h"

#define SIM_RECORD_MAX_SPEED 1000u
#define SIM_RECORD_MAX_RECORDS (1u << 22)   /* a dump's records, in memory until it is written */

struct sim_record_opts {
	const char *ring;                /* shm name ("/x"); NULL: no ring */
	const char *dump;                /* file; NULL: no dump */
	unsigned speed;                  /* simulated seconds per real second; 0: unpaced */
	const struct sim_scenario *scn;
	const char *policy;              /* the policy's name */
	/* set (by a signal handler) to stop: the ring is closed as stopped, pacing ends, and
	 * nothing more is recorded */
	volatile sig_atomic_t *stop;
};

struct sim_recorder;

/* Opens the ring (refusing the agent's own name) and prepares the dump.  One line in err. */
int sim_recorder_open(const struct sim_record_opts *o, struct sim_recorder **ret, char *err,
		      size_t errlen);
/* The observer to put in sim_opts.obs, with the recorder as obs_ctx. */
extern const struct sim_observer sim_recorder_observer;
/* Records the agent's stop, closes the ring (kept, as the agent keeps its own) and writes the
 * dump through a temporary file renamed into place; ret_records (may be NULL) gets how many
 * records were written.  0, or a negative errno with err set. */
int sim_recorder_close(struct sim_recorder *r, size_t *ret_records, char *err, size_t errlen);
/* Whether a stop was requested (the run goes on unrecorded and unpaced). */
bool sim_recorder_stopped(const struct sim_recorder *r);

#endif
