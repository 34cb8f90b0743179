/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent's libvirt side: one connection, libvirt's default event loop on its own thread,
 * keepalive, domain event callbacks turned into tracker messages, job-stats polling and the
 * rediscovery of migrations already running, and the calls that measure a guest's dirty rate
 * before its migration (dirtyrate.c).  Reading only: a measurement tunes nothing; the tuning
 * calls belong to the actuator.
 *
 * A libvirt call can wait on libvirtd for ever: virConnectOpen sends its first request before
 * keepalive can run, and a daemon that accepts and never answers leaves every call hanging.  So
 * the threads that call libvirt (the tracker thread, the dirty-rate thread) announce each piece
 * of such work (virt_call_begin/end), and the main thread, which never calls libvirt, watches
 * them (virt_watch): a call older than the timeout is reported once and abandoned by shutting
 * down the sockets this process holds to the daemon's unix socket, which makes libvirt fail the
 * call with end-of-file at once; the connection is then lost and reopened with backoff.
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
/* Connected, and no call on the connection abandoned as hung (any thread). */
bool virt_connected(const struct virt *v);
/* A connection is open, usable or not (the tracker thread: whether there is one to drop). */
bool virt_open(const struct virt *v);
/* A call was abandoned since the connection opened: the tracker thread drops it. */
bool virt_hung(const struct virt *v);
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

/* ---- watching the calls that can wait on libvirtd -------------------------------------- */

enum virt_caller {
	VIRT_CALLER_TRACKER,            /* connect, discovery, sampling, tuning, events */
	VIRT_CALLER_DIRTYRATE,          /* the dirty-rate thread (through virt_dirtyrate_ops) */
	VIRT_CALLERS
};

/* On the calling thread, around work that may wait on libvirtd; what names it in reports
 * ("virConnectOpen", "sampling db-01").  Not nested: a begin replaces the previous one. */
void virt_call_begin(struct virt *v, enum virt_caller who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void virt_call_end(struct virt *v, enum virt_caller who);

/* A call in progress for longer than the timeout. */
struct virt_stuck {
	enum virt_caller who;
	char what[128];
	uint64_t elapsed_ms;
	int sockets_shut;               /* sockets to the daemon shut down to end it; 0: none found */
	bool newly;                     /* first report of this call */
};

/*
 * Main thread, on its timer: every watched call older than timeout_ms is abandoned (the
 * connection is marked hung and the daemon's sockets are shut down, once per call).  Fills up to
 * max entries of ret with the calls still stuck and returns how many there are.
 */
int virt_watch(struct virt *v, uint64_t now_mono_ns, uint64_t timeout_ms, struct virt_stuck *ret,
	       int max);
/* Abandons every call in progress for longer than min_ms at once (shutdown: nothing is worth
 * waiting for); returns how many calls are in progress. */
int virt_abandon_calls(struct virt *v, uint64_t now_mono_ns, uint64_t min_ms);

/* The PID of the domain's QEMU process from libvirt's pid file, or a negative errno. */
int virt_qemu_pid(const char *name);
/* The PID in a pid file (libvirt's daemons, QEMU), or a negative errno. */
int virt_pidfile(const char *path);

#endif
