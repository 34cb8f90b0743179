/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent's libvirt side: one connection, libvirt's default event loop on its own thread,
 * keepalive, domain event callbacks turned into tracker messages, job-stats polling and the
 * rediscovery of migrations already running, and the calls that measure a guest's dirty rate
 * before its migration (dirtyrate.c).  Reading only: a measurement tunes nothing; the tuning
 * calls belong to the actuator.
 */
#ifndef MIGTUNE_AGENT_VIRT_H
#define MIGTUNE_AGENT_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "agent/msgq.h"
#include "agent/tracker.h"

struct virt;

struct virt_opts {
	const char *uri;
	uint32_t keepalive_interval_s;     /* 0 disables keepalive */
	uint32_t keepalive_count;
	struct msgq *q;                    /* where event callbacks post */
};

/* Registers libvirt's default event implementation (once per process) and starts its thread. */
int virt_new(const struct virt_opts *opts, struct virt **ret);
void virt_free(struct virt *v);

/* Opens the connection and registers the domain events.  On failure writes one line into err
 * ("cannot connect to URI: reason (fix)") and returns -EACCES when libvirt refused us (retrying
 * cannot help), another negative errno when it may come later (daemon down). */
int virt_connect(struct virt *v, char *err, size_t errlen);
/* Drops the connection (after a close event, or at shutdown). */
void virt_disconnect(struct virt *v);
bool virt_connected(const struct virt *v);
const char *virt_uri(const struct virt *v);

/*
 * Lists the running domains and asks each for its job: every migration found running is handed to
 * the tracker (tracker_begin).  Returns the number of migrations found, or a negative errno.
 */
int virt_discover(struct virt *v, struct tracker *t, uint64_t now_mono_ns);

/*
 * One job-stats poll of d.  *ret_active says whether the job still runs; when it ended without
 * a JOB_COMPLETED event, the completed-job stats are fetched and passed as ret (with
 * RING_SAMPLE_F_FINAL) and *ret_final is set.  Returns 0, or a negative errno (the domain is gone:
 * -ENOENT; connection trouble: -ECONNRESET).
 */
int virt_poll(struct virt *v, struct tracker_domain *d, struct ring_sample *ret, bool *ret_active,
	      bool *ret_final);

/* The libvirt domain behind a tracker entry's handle (NULL when none); for the actuator. */
virDomainPtr virt_domain_ptr(void *handle);
/* Frees a tracker entry's handle (tracker_expire/tracker_free callback). */
void virt_release_handle(void *handle);
/*
 * The libvirt calls of the dirty-rate thread (struct dirtyrate_ops, ctx = the struct virt).  Each
 * takes its own reference of the current connection, so a reconnect on the tracker thread
 * meanwhile only makes the call fail.  Never to be called on the tracker thread: starting a
 * calculation can block for libvirt's job timeout.
 */
struct dirtyrate_ops;
const struct dirtyrate_ops *virt_dirtyrate_ops(void);

/* The PID of the domain's QEMU process from libvirt's pid file, or a negative errno. */
int virt_qemu_pid(const char *name);

#endif
