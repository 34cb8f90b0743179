/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migtuned's body: opens the ring, starts the hook listener, the control socket and libvirt's
 * event thread, and runs the tracker loop (samples, events, NIC, heartbeat) on the calling thread
 * until asked to stop.  main.c adds the command line and the signals; tests run it in-process.
 */
#ifndef MIGTUNE_AGENT_AGENT_H
#define MIGTUNE_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/config.h"

struct agent;

/* Opens everything the configuration names.  On failure writes one line into err. */
int agent_new(const struct agent_config *cfg, struct agent **ret, char *err, size_t errlen);
/*
 * Runs the loop until agent_stop().  sigfd (or -1) is a signalfd for SIGTERM, SIGINT and SIGHUP;
 * on SIGHUP the loop calls reload(arg) to get the new configuration.
 */
int agent_run(struct agent *a, int sigfd,
	      int (*reload)(struct agent_config *ret_cfg, void *arg), void *arg);
/* Async-signal-safe and thread-safe. */
void agent_stop(struct agent *a);
/* Final heartbeat, RING_AGENT_STOP, writer state stopped (segment kept), threads joined. */
void agent_free(struct agent *a);

#endif
