/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migtuned's body.  Two threads of its own, besides the listeners' and libvirt's event loop:
 *
 * - the main thread (agent_run) never calls libvirt.  It takes the signals, writes the ring's
 *   heartbeat and feeds the service manager's watchdog on a timer of its own, and watches the
 *   libvirt calls of the other threads: one that has not returned within [libvirt]
 *   call-timeout-s is reported and abandoned (virt_watch), and the connection is reopened with
 *   backoff.  A hung libvirtd therefore never stops a heartbeat, a signal or the hook listener.
 * - the tracker thread does everything that may wait on libvirtd: connecting, looking for
 *   migrations, sampling, the tracker and the actuator, and draining the event queue that the
 *   hook listener and libvirt's event loop fill (bounded: msgq.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "agent/actuator.h"
#include "agent/agent.h"
#include "agent/dirtyrate.h"
#include "agent/dumper.h"
#include "agent/ctl.h"
#include "agent/hooksock.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/stats.h"
#include "agent/msgq.h"
#include "agent/nic.h"
#include "agent/sdnotify.h"
#include "agent/strutil.h"
#include "agent/tracker.h"
#include "agent/virt.h"
#include "shm/ring.h"

/* A migration whose NIC is still unknown looks for it at every one of its first samples (QEMU's
 * connection may not be up at the first: until the NIC is found the link's speed is unknown to
 * the policy, which then probes instead of sharing), then every few samples. */
#define NIC_EAGER_SAMPLES 20
#define NIC_RETRY_SAMPLES 4
/* At shutdown a libvirt call older than this is abandoned at once, and the threads that call
 * libvirt get this long in all to finish before the agent leaves without them. */
#define STOP_PATIENCE_MS 200
#define STOP_GRACE_MS 3000
/* Calls reported at once in the status and the log. */
#define STUCK_MAX VIRT_CALLERS

struct agent {
	struct agent_config cfg;
	struct ring_writer *ring;
	struct tracker *tracker;
	struct actuator *act;
	struct dumper *dumper;
	struct msgq q;
	struct hooksock *hook;
	struct ctl *ctl;
	struct metrics *metrics;
	struct agent_stats *stats;   /* actions and ended migrations, for status and metrics */
	struct virt *virt;
	struct dirtyrate *dirty;     /* NULL when [sampling] dirtyrate_interval_s is 0 */
	struct nic_mon *nic;
	/* main thread */
	int stop_fd;               /* agent_stop() */
	int beat_fd;               /* heartbeat, watchdog and the watch over libvirt calls */
	uint64_t last_heartbeat_real_ns;   /* CLOCK_REALTIME of it, read by status threads */
	uint32_t heartbeat_ms;     /* as in force (reload changes it) */
	uint32_t call_timeout_ms;
	uint64_t watchdog_usec;    /* the service manager's, 0 = none */
	char stuck_logged[128];    /* the last stuck call logged; "" again once connected */
	pthread_mutex_t stuck_lock;/* the stuck calls for the status (control thread) */
	struct virt_stuck stuck[STUCK_MAX];
	int n_stuck;
	/* the tracker thread, and what the main thread hands it */
	pthread_t thread;
	bool thread_running;
	bool thread_stuck;         /* did not stop within STOP_GRACE_MS: left running at exit */
	bool calls_stuck;          /* the dirty-rate thread likewise */
	int thread_stop_fd;
	int thread_done_fd;
	int reload_fd;
	pthread_mutex_t reload_lock;
	struct agent_config reload_cfg;
	bool reload_pending;
	/* tracker thread only */
	int timer_fd;
	uint64_t next_reconnect_ns;
	uint32_t backoff_ms;
	uint64_t last_discovery_ns;
	bool need_discovery;
	bool ever_connected;
	int fatal;                 /* negative errno that ends agent_run; set before done */
	char last_connect_error[256];
};

static uint64_t real_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void release_handle(void *h)
{
	virt_release_handle(h);
}

/* ---- status extras (control thread) ---------------------------------------------------- */

static void status_extra(struct json_object *o, void *arg)
{
	struct agent *a = arg;
	struct hooksock_counters hc;
	struct json_object *h = json_object_new_object();

	json_object_object_add(o, "uri", json_object_new_string(a->cfg.uri));
	json_object_object_add(o, "connected", json_object_new_boolean(virt_connected(a->virt)));
	json_object_object_add(o, "advisory", json_object_new_boolean(a->cfg.advisory));
	json_object_object_add(o, "policy", json_object_new_string(a->cfg.policy));
	json_object_object_add(o, "ring", json_object_new_string(a->cfg.ring_name));
	/* Changed by a reload on the tracker thread: read atomically. */
	json_object_object_add(o, "interval_ms",
			       json_object_new_int64(__atomic_load_n(&a->cfg.interval_ms,
								     __ATOMIC_RELAXED)));
	hooksock_counters(a->hook, &hc);
	json_object_object_add(h, "connections", json_object_new_int64((int64_t)hc.accepted));
	json_object_object_add(h, "messages", json_object_new_int64((int64_t)hc.messages));
	json_object_object_add(h, "refused", json_object_new_int64((int64_t)hc.refused));
	json_object_object_add(h, "malformed", json_object_new_int64((int64_t)hc.malformed));
	json_object_object_add(h, "admissions", json_object_new_int64((int64_t)hc.admissions));
	json_object_object_add(h, "probes", json_object_new_int64((int64_t)hc.probes));
	json_object_object_add(o, "hook", h);
	json_object_object_add(o, "totals", stats_json(a->stats));
	{
		struct json_object *rg = json_object_new_object();
		uint64_t hb = __atomic_load_n(&a->last_heartbeat_real_ns, __ATOMIC_RELAXED);

		json_object_object_add(rg, "records", json_object_new_int64(
					       (int64_t)ring_writer_head(a->ring)));
		json_object_object_add(rg, "dropped", json_object_new_int64(
					       (int64_t)ring_writer_dropped(a->ring)));
		/* the main thread's last heartbeat (it never waits on libvirtd) */
		json_object_object_add(rg, "heartbeat_unix_ms", json_object_new_int64(
					       (int64_t)(hb / 1000000)));
		json_object_object_add(o, "ring_writer", rg);
	}
	{
		struct json_object *q = json_object_new_object();

		json_object_object_add(q, "waiting",
				       json_object_new_int64(msgq_waiting(&a->q)));
		json_object_object_add(q, "max", json_object_new_int64(a->q.max));
		json_object_object_add(q, "dropped",
				       json_object_new_int64((int64_t)msgq_dropped(&a->q)));
		json_object_object_add(o, "queue", q);
	}
	{
		/* Calls on libvirtd older than call-timeout-s: while there is one, what libvirt
		 * would say of the migrations is unknown. */
		struct json_object *arr = json_object_new_array();

		pthread_mutex_lock(&a->stuck_lock);
		for (int i = 0; i < a->n_stuck && i < STUCK_MAX; i++) {
			struct json_object *c = json_object_new_object();

			json_object_object_add(c, "call", json_object_new_string(a->stuck[i].what));
			json_object_object_add(c, "elapsed_ms",
					       json_object_new_int64((int64_t)a->stuck[i].elapsed_ms));
			json_object_array_add(arr, c);
		}
		pthread_mutex_unlock(&a->stuck_lock);
		json_object_object_add(o, "libvirt_stuck", arr);
	}
	if (a->dirty) {
		struct json_object *dr = json_object_new_object();

		json_object_object_add(dr, "domains",
				       json_object_new_int64((int64_t)dirtyrate_count(a->dirty)));
		json_object_object_add(dr, "sweeps",
				       json_object_new_int64((int64_t)dirtyrate_sweeps(a->dirty)));
		json_object_object_add(dr, "unsupported",
				       json_object_new_boolean(dirtyrate_unsupported(a->dirty)));
		json_object_object_add(o, "dirtyrate", dr);
	}
}

/* ---- automatic dumps (tracker thread) ---------------------------------------------------- */

static void on_migration_end(const struct tracker_domain *d, int phase, bool aborted_by_agent,
			     void *arg)
{
	struct agent *a = arg;
	const char *why = phase == RING_PHASE_DONE ? "completed" :
		phase == RING_PHASE_UNKNOWN ? "unknown" : aborted_by_agent ? "aborted" : "failed";

	if (!a->dumper || (phase == RING_PHASE_DONE && !a->cfg.dump_on_complete))
		return;
	/* Written by the dumper's own thread: compressing the ring must not hold up sampling or
	 * libvirt's event loop. */
	if (dumper_request(a->dumper, d->ring_index, d->name, why) < 0)
		log_warn("%s: dump skipped: %d dumps already waiting", d->name, DUMPER_QUEUE_MAX);
}

/* ---- setup ----------------------------------------------------------------------------- */

/* The fix for a socket path that cannot be listened on (sock_listen_unix's errors). */
static const char *sock_error_hint(int r)
{
	switch (r) {
	case -EADDRINUSE: return " (another migtuned is running)";
	case -EEXIST: return " (something that is not a socket is at that path; migtuned never "
			     "removes it: move it away)";
	case -ENAMETOOLONG: return " (socket paths are limited to 107 bytes)";
	default: return "";
	}
}

static void set_period(int fd, uint32_t ms)
{
	struct itimerspec its = { 0 };

	its.it_interval.tv_sec = ms / 1000;
	its.it_interval.tv_nsec = (long)(ms % 1000) * 1000000;
	its.it_value = its.it_interval;
	timerfd_settime(fd, 0, &its, NULL);
}

/* The main thread's timer: a heartbeat at least every half interval (readers call a writer
 * stalled after three), the watchdog fed at least three times per period. */
static uint32_t beat_period_ms(const struct agent *a)
{
	uint32_t ms = a->heartbeat_ms / 2;

	if (a->watchdog_usec && a->watchdog_usec / 3000 < ms)
		ms = (uint32_t)(a->watchdog_usec / 3000);
	return ms ? ms : 1;
}

int agent_new(const struct agent_config *cfg, struct agent **ret, char *err, size_t errlen)
{
	struct ring_create_opts ro = { 0 };
	struct tracker_opts to = { 0 };
	struct virt_opts vo = { 0 };
	struct agent *a;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->cfg = *cfg;
	a->timer_fd = a->stop_fd = a->beat_fd = a->q.efd = -1;
	a->thread_stop_fd = a->thread_done_fd = a->reload_fd = -1;
	pthread_mutex_init(&a->stuck_lock, NULL);
	pthread_mutex_init(&a->reload_lock, NULL);
	a->heartbeat_ms = cfg->heartbeat_ms;
	a->call_timeout_ms = cfg->call_timeout_s * 1000;
	a->watchdog_usec = sdnotify_watchdog_usec();
	urcu_memb_register_thread();
	r = stats_new(&a->stats);
	if (r < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	ro.name = cfg->ring_name;
	ro.slot_count = cfg->ring_slots;
	ro.domain_slots = cfg->ring_domains;
	ro.mode = 0640;
	ro.gid = cfg->ring_gid;
	ro.heartbeat_interval_ms = cfg->heartbeat_ms;
	/* what the views' header says of this agent (mode and policy do not change on reload) */
	ro.info.mode = cfg->advisory ? RING_MODE_ADVISORY : RING_MODE_ACTIVE;
	str_copy(ro.info.policy, sizeof(ro.info.policy), cfg->policy);
	r = ring_writer_open(&ro, &a->ring);
	if (r < 0) {
		snprintf(err, errlen, "cannot open ring %s: %s%s", cfg->ring_name, strerror(-r),
			 r == -EBUSY ? " (another migtuned is running; stop it first)" :
			 r == -EACCES ? " (run as root)" :
			 r == -EPERM ? " (another user's file holds that name and may not be removed by "
				       "this user: remove it as root)" : "");
		goto fail;
	}
	{
		struct actuator_opts ao = { 0 };

		ao.ring = a->ring;
		ao.stats = a->stats;
		ao.advisory = cfg->advisory;
		ao.rate_burst = cfg->rate_burst;
		ao.rate_interval_ms = cfg->rate_interval_ms;
		ao.backoff_min_ms = cfg->retry_min_ms;
		ao.backoff_max_ms = cfg->retry_max_ms;
		str_copy(ao.defaults.policy, sizeof(ao.defaults.policy), cfg->policy);
		policy_limits_default(&ao.defaults.lim);
		ao.defaults.lim.sla_max_downtime_ms = cfg->sla_max_downtime_ms;
		ao.defaults.lim.allow_postcopy = cfg->allow_postcopy;
		ao.defaults.lim.allow_suspend = cfg->allow_suspend;
		ao.defaults.lim.budget_s_per_gib = cfg->budget_s_per_gib;
		ao.defaults.lim.reserve_permille = (uint16_t)cfg->reserve_permille;
		ao.defaults.lim.bandwidth_max_bps = (uint64_t)cfg->bandwidth_max_mibs << 20;
		ao.defaults.lim.on_hopeless = cfg->on_hopeless;
		ao.defaults.lim.allow_abort = cfg->allow_abort;
		/* The owner's wish; the job's limits say whether the agent can keep it. */
		ao.defaults.lim.postcopy_recovery = cfg->postcopy_recovery;
		str_copy(ao.recovery.local_uri, sizeof(ao.recovery.local_uri), cfg->uri);
		str_copy(ao.recovery.dest_uri, sizeof(ao.recovery.dest_uri), cfg->recovery_dest_uri);
		ao.recovery.settle_ms = cfg->recovery_settle_ms;
		ao.recovery.stall_s = cfg->recovery_stall_s;
		ao.recovery.interrupt = cfg->recovery_interrupt;
		ao.recovery.link_stall_s = cfg->recovery_link_stall_s;
		ao.recovery.attempts = cfg->recovery_attempts;
		ao.recovery.retry_min_ms = cfg->recovery_retry_min_ms;
		ao.recovery.retry_max_ms = cfg->recovery_retry_max_ms;
		r = actuator_new(&ao, &a->act);
		if (r < 0) {
			snprintf(err, errlen, "cannot set up the actuator: %s", strerror(-r));
			goto fail;
		}
	}
	if (cfg->dump_enabled) {
		struct dumper_opts dopts = { 0 };

		dopts.ring = a->ring;
		dopts.ring_name = cfg->ring_name;
		dopts.dir = cfg->dump_dir;
		dopts.max_bytes = (uint64_t)cfg->dump_max_mib << 20;
		dopts.max_age_s = (uint64_t)cfg->dump_max_age_days * 86400;
		r = dumper_start(&dopts, &a->dumper);
		if (r < 0) {
			snprintf(err, errlen, "cannot start the dump thread: %s", strerror(-r));
			goto fail;
		}
	}
	if (cfg->dirtyrate_interval_s) {
		/* The table now (the tracker looks up in it), the thread once libvirt's side is up. */
		struct dirtyrate_opts dro = { .interval_s = cfg->dirtyrate_interval_s,
					      .ops = virt_dirtyrate_ops() };

		r = dirtyrate_new(&dro, &a->dirty);
		if (r < 0) {
			snprintf(err, errlen, "cannot set up the dirty-rate table: %s", strerror(-r));
			goto fail;
		}
		to.prior_dirty = dirtyrate_lookup;
		to.prior_dirty_arg = a->dirty;
	}
	to.ring = a->ring;
	to.stats = a->stats;
	to.policy = cfg->policy;
	to.actuator = a->act;
	to.on_end = on_migration_end;
	to.on_end_arg = a;
	r = tracker_new(&to, &a->tracker);
	if (r < 0) {
		snprintf(err, errlen, "[policy] name: '%s' is not a known policy", cfg->policy);
		goto fail;
	}
	r = msgq_init(&a->q);
	if (r < 0) {
		snprintf(err, errlen, "cannot create the event queue: %s", strerror(-r));
		goto fail;
	}
	r = nic_mon_new(&a->nic);
	if (r < 0) {
		snprintf(err, errlen, "cannot open a netlink socket: %s", strerror(-r));
		goto fail;
	}
	if (cfg->nic_interface[0]) {
		int idx = (int)if_nametoindex(cfg->nic_interface);

		if (idx <= 0) {
			snprintf(err, errlen, "[nic] interface: no interface named '%s'",
				 cfg->nic_interface);
			r = -ENODEV;
			goto fail;
		}
		nic_track(a->nic, idx, cfg->nic_speed_mbps);
	}
	r = hooksock_start(cfg->hook_socket, &a->q, &a->hook);
	if (r < 0) {
		snprintf(err, errlen, "cannot listen on hook socket %s: %s%s", cfg->hook_socket,
			 strerror(-r), sock_error_hint(r));
		goto fail;
	}
	r = ctl_start(cfg->ctl_socket, cfg->ctl_gid, a->tracker, status_extra, a, &a->ctl);
	if (r < 0) {
		snprintf(err, errlen, "cannot listen on control socket %s: %s%s", cfg->ctl_socket,
			 strerror(-r), sock_error_hint(r));
		goto fail;
	}
	vo.uri = cfg->uri;
	vo.keepalive_interval_s = cfg->keepalive_interval_s;
	vo.keepalive_count = cfg->keepalive_count;
	vo.q = &a->q;
	r = virt_new(&vo, &a->virt);
	if (r < 0) {
		snprintf(err, errlen, "cannot start libvirt's event loop: %s", strerror(-r));
		goto fail;
	}
	if (a->dirty) {
		dirtyrate_set_ctx(a->dirty, a->virt);
		r = dirtyrate_start(a->dirty);
		if (r < 0) {
			snprintf(err, errlen, "cannot start the dirty-rate thread: %s", strerror(-r));
			goto fail;
		}
	}
	if (cfg->metrics_textfile[0]) {
		struct metrics_opts mo = { .path = cfg->metrics_textfile,
					   .interval_s = cfg->metrics_interval_s,
					   .tracker = a->tracker, .extra = status_extra,
					   .extra_arg = a };

		r = metrics_start(&mo, &a->metrics);
		if (r < 0) {
			snprintf(err, errlen, "[metrics] textfile: cannot write %s: %s (the directory "
				 "must exist and be writable by root)", cfg->metrics_textfile,
				 strerror(-r));
			goto fail;
		}
	}
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->beat_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a->thread_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a->thread_done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a->reload_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->timer_fd < 0 || a->beat_fd < 0 || a->stop_fd < 0 || a->thread_stop_fd < 0 ||
	    a->thread_done_fd < 0 || a->reload_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create timers: %s", strerror(-r));
		goto fail;
	}
	set_period(a->timer_fd, cfg->interval_ms);
	set_period(a->beat_fd, beat_period_ms(a));
	a->backoff_ms = cfg->reconnect_min_ms;
	tracker_agent_record(a->tracker, RING_AGENT_START, "migtuned %s started, %s mode, uri %s",
			     MIGTUNE_VERSION, cfg->advisory ? "advisory" : "acting", cfg->uri);
	ring_heartbeat(a->ring);
	a->last_heartbeat_real_ns = real_now_ns();
	*ret = a;
	return 0;
fail:
	agent_free(a);
	return r;
}

void agent_stop(struct agent *a)
{
	uint64_t one = 1;

	if (write(a->stop_fd, &one, sizeof(one)) < 0) {
		/* already signalled */
	}
}

/*
 * Waits for the libvirt calls still in progress on any thread, abandoning every one older than
 * STOP_PATIENCE_MS: nothing is worth waiting on a hung libvirtd for at shutdown.  Returns false
 * when a call was still in progress after STOP_GRACE_MS (no unix socket to shut down).
 */
static bool settle_calls(struct agent *a, uint64_t since_ns)
{
	while (virt_abandon_calls(a->virt, ring_now_mono_ns(), STOP_PATIENCE_MS) > 0) {
		if (ring_now_mono_ns() - since_ns > (uint64_t)STOP_GRACE_MS * 1000000)
			return false;
		usleep(20000);
	}
	return true;
}

void agent_free(struct agent *a)
{
	bool leave;

	if (!a)
		return;
	/* first: its last file needs the tracker and the hook counters */
	metrics_stop(a->metrics);
	ctl_stop(a->ctl);
	hooksock_stop(a->hook);
	if (a->virt && !a->thread_stuck && !settle_calls(a, ring_now_mono_ns())) {
		log_warn("a libvirt call still waits on libvirtd: leaving without the dirty-rate "
			 "thread");
		a->calls_stuck = true;
	}
	/* A thread still inside libvirt keeps what it uses: the tracker, the connection and the
	 * dirty-rate table stay allocated (the process is ending), the ring is closed. */
	leave = a->thread_stuck || a->calls_stuck;
	if (!leave) {
		/* After the status readers, before the connection and the tracker that looks up
		 * in it. */
		dirtyrate_free(a->dirty);
		a->dirty = NULL;
		if (a->tracker) {
			/* Domain handles belong to the connection: free them before it closes. */
			tracker_free(a->tracker, release_handle);
			a->tracker = NULL;
		}
	}
	/* Queued dumps are written before the ring is closed. */
	dumper_stop(a->dumper);
	a->dumper = NULL;
	if (!leave) {
		actuator_free(a->act);
		a->act = NULL;
		stats_free(a->stats);
		a->stats = NULL;
		virt_free(a->virt);
		if (a->q.efd >= 0)
			msgq_destroy(&a->q);
		nic_mon_free(a->nic);
	}
	if (a->ring) {
		struct ring_agent ra = { .kind = RING_AGENT_STOP, .pid = (uint32_t)getpid() };

		snprintf(ra.text, sizeof(ra.text), "migtuned stopped");
		ring_append(a->ring, RING_REC_AGENT, RING_NO_DOMAIN, &ra, sizeof(ra));
		ring_heartbeat(a->ring);
		/* Closing without unlink marks the writer stopped and leaves the records readable. */
		ring_writer_close(a->ring, false);
	}
	if (leave)
		return;
	{
		int fds[] = { a->timer_fd, a->beat_fd, a->stop_fd, a->thread_stop_fd,
			      a->thread_done_fd, a->reload_fd };

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	pthread_mutex_destroy(&a->stuck_lock);
	pthread_mutex_destroy(&a->reload_lock);
	urcu_memb_unregister_thread();
	free(a);
}

/* ---- connection management ------------------------------------------------------------- */

static void drop_handle(struct tracker_domain *d, void *arg)
{
	virt_release_handle(d->virt_handle);
	d->virt_handle = NULL;
}

static void try_connect(struct agent *a, uint64_t now)
{
	char err[AGENT_URI_MAX + 160];
	int r;

	if (virt_open(a->virt) || now < a->next_reconnect_ns)
		return;
	virt_call_begin(a->virt, VIRT_CALLER_TRACKER, "virConnectOpen(%s)", a->cfg.uri);
	r = virt_connect(a->virt, err, sizeof(err));
	virt_call_end(a->virt, VIRT_CALLER_TRACKER);
	if (r < 0 && virt_hung(a->virt))
		/* Abandoned by the main thread: libvirt's own message would be a read error. */
		snprintf(err, sizeof(err), "cannot connect to %s: libvirtd accepted the connection "
			 "but did not answer within %" PRIu32 " s ([libvirt] call-timeout-s)",
			 a->cfg.uri, a->cfg.call_timeout_s);
	if (r == -EACCES && !a->ever_connected) {
		/* Refused at start: a configuration problem, not an outage.  Say so and stop. */
		log_err("%s", err);
		a->fatal = r;
		return;
	}
	if (r < 0) {
		/* Log a failure once per distinct reason, not every backoff step. */
		if (strcmp(err, a->last_connect_error) != 0) {
			log_warn("%s; retrying with backoff up to %" PRIu32 " ms", err,
				 a->cfg.reconnect_max_ms);
			str_copy(a->last_connect_error, sizeof(a->last_connect_error), err);
			sdnotify_printf("STATUS=%s", err);
		}
		now = ring_now_mono_ns();
		a->next_reconnect_ns = now + (uint64_t)a->backoff_ms * 1000000;
		a->backoff_ms = a->backoff_ms * 2 > a->cfg.reconnect_max_ms ? a->cfg.reconnect_max_ms :
			a->backoff_ms * 2;
		return;
	}
	if (virt_hung(a->virt))
		return;       /* opened just as it was abandoned: dropped by the next tick */
	a->last_connect_error[0] = '\0';
	a->ever_connected = true;
	a->backoff_ms = a->cfg.reconnect_min_ms;
	log_info("connected to %s", a->cfg.uri);
	sdnotify_printf("STATUS=connected to %s", a->cfg.uri);
	tracker_agent_record(a->tracker, RING_AGENT_CONNECT, "connected to %s", a->cfg.uri);
	a->need_discovery = true;
	/* The guests' dirty rates from before the outage may be stale or missing: measure now. */
	dirtyrate_kick(a->dirty);
}

/* Tracker thread: drops the connection (its handles first). */
static void close_connection(struct agent *a)
{
	tracker_foreach(a->tracker, drop_handle, NULL);
	virt_call_begin(a->virt, VIRT_CALLER_TRACKER, "closing the connection to %s", a->cfg.uri);
	virt_disconnect(a->virt);
	virt_call_end(a->virt, VIRT_CALLER_TRACKER);
}

static void on_disconnect(struct agent *a, int reason, uint64_t now)
{
	static const char *const reasons[] = { "error", "end of file", "keepalive timeout",
					       "client closed" };
	const char *why = reason >= 0 && reason < 4 ? reasons[reason] : "unknown";
	bool hung = virt_hung(a->virt);

	if (!virt_open(a->virt))
		return;
	if (hung)
		why = "libvirtd stopped answering";
	close_connection(a);
	log_warn("lost connection to %s (%s); reconnecting", a->cfg.uri, why);
	sdnotify_printf("STATUS=lost connection to %s (%s); reconnecting", a->cfg.uri, why);
	tracker_agent_record(a->tracker, RING_AGENT_DISCONNECT, "lost %s: %s", a->cfg.uri, why);
	/* The first retry is immediate, then backoff; after a hang, backoff at once (a daemon
	 * that does not answer would take the whole call timeout again). */
	a->next_reconnect_ns = hung ? now + (uint64_t)a->cfg.reconnect_min_ms * 1000000 : now;
	a->backoff_ms = hung && a->cfg.reconnect_min_ms * 2 <= a->cfg.reconnect_max_ms ?
		a->cfg.reconnect_min_ms * 2 : a->cfg.reconnect_min_ms;
}

/* ---- messages from the other threads --------------------------------------------------- */

/* A guest that (re)starts running may be migrated before the next dirty-rate sweep: it is
 * measured this soon (its workload gets going first).  An incoming guest is paused until its
 * migration ends (RESUMED then). */
#define DIRTYRATE_AFTER_START_MS 2000

static bool runs_again(int event, int detail)
{
	return (event == VIR_DOMAIN_EVENT_STARTED && detail != VIR_DOMAIN_EVENT_STARTED_MIGRATED) ||
	       (event == VIR_DOMAIN_EVENT_RESUMED && detail != VIR_DOMAIN_EVENT_RESUMED_POSTCOPY);
}

static void drain(struct agent *a)
{
	struct agent_msg *m;
	uint64_t now = ring_now_mono_ns();

	uint64_t dropped;

	msgq_ack(&a->q);
	while ((m = msgq_pop(&a->q))) {
		/* A hook's first message may read the domain's metadata through libvirt. */
		virt_call_begin(a->virt, VIRT_CALLER_TRACKER, "handling an event of %s",
				m->name[0] ? m->name : "the connection");
		switch (m->kind) {
		case MSG_HOOK:
			tracker_on_hook(a->tracker, &m->hook, m->mono_ns);
			break;
		case MSG_LIFECYCLE:
			if (m->has_uuid) {
				tracker_on_lifecycle(a->tracker, m->uuid, m->name, m->event, m->detail,
						     m->mono_ns);
				if (runs_again(m->event, m->detail))
					dirtyrate_soon(a->dirty, m->uuid, DIRTYRATE_AFTER_START_MS);
			}
			break;
		case MSG_ITERATION:
			if (m->has_uuid)
				tracker_on_iteration(a->tracker, m->uuid, m->name, m->iteration,
						     m->mono_ns);
			break;
		case MSG_JOB_COMPLETED:
			if (m->has_uuid)
				tracker_on_job_completed(a->tracker, m->uuid, m->name,
							 m->has_final ? &m->final : NULL,
							 m->mono_ns);
			break;
		case MSG_CONN_CLOSED:
			on_disconnect(a, m->detail, now);
			break;
		default:
			break;
		}
		virt_call_end(a->virt, VIRT_CALLER_TRACKER);
		free(m);
	}
	dropped = msgq_overflow_report(&a->q);
	if (dropped) {
		log_warn("event queue drained: %" PRIu64 " hook and libvirt events were dropped while "
			 "it was full (migrations of that time may miss events)", dropped);
		tracker_agent_record(a->tracker, RING_AGENT_NOTE, "event queue full: %" PRIu64
				     " events dropped", dropped);
	}
}

/* ---- sampling -------------------------------------------------------------------------- */

static void find_nic(struct agent *a, struct tracker_domain *d)
{
	char peer[64];
	int idx = 0, pid;

	if (d->nic_ifindex)
		return;
	if (a->cfg.nic_interface[0]) {
		idx = (int)if_nametoindex(a->cfg.nic_interface);
	} else if (a->cfg.nic_peer[0]) {
		if (nic_route_ifindex(a->nic, a->cfg.nic_peer, &idx) < 0)
			idx = 0;
	} else if ((pid = virt_qemu_pid(d->name)) > 0 &&
		   nic_qemu_migration_peer(pid, peer, sizeof(peer)) == 0) {
		if (nic_route_ifindex(a->nic, peer, &idx) < 0)
			idx = 0;
	}
	if (idx > 0) {
		char name[IF_NAMESIZE] = "";

		if_indextoname((unsigned)idx, name);
		if (nic_track(a->nic, idx, a->cfg.nic_speed_mbps) == 0) {
			tracker_set_nic(a->tracker, d, idx, name);
			log_info("%s: migration NIC is %s", d->name, name);
		}
	}
}

/* Outgoing migrations per NIC, from their last samples: the policy splits a NIC between them. */
struct nic_share {
	int ifindex[NIC_MAX_TRACKED];
	uint64_t mig_tx_bps[NIC_MAX_TRACKED];
	uint16_t count[NIC_MAX_TRACKED];
	unsigned n;
};

struct poll_ctx {
	struct agent *a;
	uint64_t now;
	bool only_wanted;
	struct nic_share share;
};

static void collect_share(struct tracker_domain *d, void *arg)
{
	struct nic_share *sh = arg;
	unsigned i;

	if (!d->cur.active || d->cur.direction != RING_DIR_OUT || !d->nic_ifindex)
		return;
	for (i = 0; i < sh->n && sh->ifindex[i] != d->nic_ifindex; i++)
		;
	if (i == sh->n) {
		if (sh->n == NIC_MAX_TRACKED)
			return;
		sh->ifindex[sh->n++] = d->nic_ifindex;
	}
	sh->mig_tx_bps[i] += tracker_domain_tx_bps(d);
	sh->count[i]++;
}

static void poll_one(struct tracker_domain *d, void *arg)
{
	struct poll_ctx *pc = arg;
	struct agent *a = pc->a;
	struct tracker_nic_view nv = { .carrier = 255 };
	struct ring_sample s;
	bool active = false, final = false, counted;
	int r;

	if (!d->cur.active || d->cur.direction != RING_DIR_OUT)
		return;
	if (pc->only_wanted && !d->want_poll)
		return;
	counted = d->nic_ifindex != 0;     /* in pc->share (collect_share) */
	if (!d->nic_ifindex && (d->cur.samples < NIC_EAGER_SAMPLES ||
				d->cur.samples % NIC_RETRY_SAMPLES == 0))
		find_nic(a, d);
	/* The sample and what the policy decides from it (the actuator's calls) wait on libvirtd. */
	virt_call_begin(a->virt, VIRT_CALLER_TRACKER, "sampling %s", d->name);
	r = virt_poll(a->virt, d, &s, &active, &final);
	if (r == -ENOENT) {
		/* Gone from this host: migrated away or destroyed, as libvirt's events (which may
		 * come after this poll) say. */
		tracker_domain_gone(a->tracker, d, pc->now);
		virt_call_end(a->virt, VIRT_CALLER_TRACKER);
		return;
	}
	if (r < 0) {
		virt_call_end(a->virt, VIRT_CALLER_TRACKER);
		return;
	}
	if (d->nic_ifindex) {
		const struct nic_stat *ns = nic_last(a->nic, d->nic_ifindex);

		if (ns) {
			s.nic_tx_kibps = (uint32_t)(ns->tx_bps / 1024);
			s.nic_rx_kibps = (uint32_t)(ns->rx_bps / 1024);
			nv.carrier = ns->carrier;
			nv.capacity_bps = (uint64_t)ns->speed_mbps * 125000;
			nv.errors_delta = ns->errors_delta;
			nv.drops_delta = ns->drops_delta;
		}
		/* the other migrations' traffic as collect_share saw it, and this job's as this
		 * sample says (the policy takes its own rate out again) */
		for (unsigned i = 0; i < pc->share.n; i++)
			if (pc->share.ifindex[i] == d->nic_ifindex) {
				uint64_t mine = counted ? tracker_domain_tx_bps(d) : 0;

				nv.mig_tx_bps = pc->share.mig_tx_bps[i] > mine ?
					pc->share.mig_tx_bps[i] - mine : 0;
				nv.mig_tx_bps += s.memory_bps;
				nv.concurrent = pc->share.count[i] + !counted;
			}
	}
	if (final && !d->saw_completed) {
		d->saw_completed = s.phase == RING_PHASE_DONE;
		s.direction = d->cur.direction;
		tracker_ingest_sample(a->tracker, d, true, &s, &nv, pc->now);
	}
	tracker_ingest_sample(a->tracker, d, active, &s, &nv, pc->now);
	virt_call_end(a->virt, VIRT_CALLER_TRACKER);
}

static void nic_carrier_changed(int ifindex, bool carrier, void *arg)
{
	struct agent *a = arg;
	const struct nic_stat *ns = nic_last(a->nic, ifindex);
	struct nic_stat s;

	log_warn("NIC %s: carrier %s", ns ? ns->ifname : "?", carrier ? "up" : "lost");
	/* Record a full NIC sample at once: carrier loss must not wait for the next tick. */
	if (nic_sample(a->nic, ifindex, ring_now_mono_ns(), &s) == 0) {
		struct ring_nic rn;

		s.carrier = carrier;
		nic_to_record(&s, &rn);
		ring_append(a->ring, RING_REC_NIC, RING_NO_DOMAIN, &rn, sizeof(rn));
	}
}

struct nic_use {
	int ifindex[NIC_MAX_TRACKED];
	unsigned n;
};

static void collect_nic_use(struct tracker_domain *d, void *arg)
{
	struct nic_use *u = arg;

	if (!d->cur.active || !d->nic_ifindex)
		return;
	for (unsigned i = 0; i < u->n; i++)
		if (u->ifindex[i] == d->nic_ifindex)
			return;
	if (u->n < NIC_MAX_TRACKED)
		u->ifindex[u->n++] = d->nic_ifindex;
}

/* NICs are sampled while a migration uses them: an idle host writes no NIC records. */
static void sample_nics(struct agent *a, uint64_t now)
{
	struct nic_use u = { .n = 0 };

	tracker_foreach(a->tracker, collect_nic_use, &u);
	for (unsigned i = 0; i < u.n; i++) {
		struct nic_stat s;
		struct ring_nic rn;

		if (nic_sample(a->nic, u.ifindex[i], now, &s) < 0)
			continue;
		nic_to_record(&s, &rn);
		ring_append_at(a->ring, RING_REC_NIC, RING_NO_DOMAIN, now, &rn, sizeof(rn));
	}
}

static void tick(struct agent *a)
{
	uint64_t now = ring_now_mono_ns();
	struct poll_ctx pc = { .a = a };

	if (virt_hung(a->virt))
		/* A call was abandoned: what libvirt says on this connection cannot be trusted. */
		on_disconnect(a, -1, now);
	try_connect(a, now);
	if (a->fatal)
		return;
	/* A (re)connection can take a while: what follows happens now. */
	now = ring_now_mono_ns();
	pc.now = now;
	if (virt_connected(a->virt) &&
	    (a->need_discovery ||
	     now - a->last_discovery_ns >= (uint64_t)a->cfg.discovery_ms * 1000000)) {
		/* Outgoing migrations announce nothing when they start: look for them every
		 * discovery_ms (and at once after a (re)connect: that is how a restarted agent finds
		 * the migrations it missed). */
		int r;

		virt_call_begin(a->virt, VIRT_CALLER_TRACKER, "looking for running migrations");
		r = virt_discover(a->virt, a->tracker, now);
		virt_call_end(a->virt, VIRT_CALLER_TRACKER);
		if (r >= 0)
			tracker_discovered(a->tracker, now);
		if (r > 0 && a->need_discovery)
			log_info("found %d migration(s) already running", r);
		a->need_discovery = false;
		a->last_discovery_ns = now;
	}
	sample_nics(a, now);
	tracker_foreach(a->tracker, collect_share, &pc.share);
	if (virt_connected(a->virt))
		tracker_foreach(a->tracker, poll_one, &pc);
	tracker_expire(a->tracker, now, release_handle);
}

/* Tracker thread: what a reload changes on its side. */
static void apply_reload(struct agent *a, const struct agent_config *n)
{
	/* What can change without reopening sockets or the ring; the rest is reported. */
	if (strcmp(n->uri, a->cfg.uri) != 0 || strcmp(n->ring_name, a->cfg.ring_name) != 0 ||
	    strcmp(n->hook_socket, a->cfg.hook_socket) != 0 ||
	    strcmp(n->ctl_socket, a->cfg.ctl_socket) != 0 || n->ring_slots != a->cfg.ring_slots)
		log_warn("reload: uri, ring and socket changes take effect at the next restart");
	a->cfg.log_level = n->log_level;
	__atomic_store_n(&a->cfg.interval_ms, n->interval_ms, __ATOMIC_RELAXED);
	a->cfg.heartbeat_ms = n->heartbeat_ms;
	a->cfg.call_timeout_s = n->call_timeout_s;
	a->cfg.discovery_ms = n->discovery_ms;
	a->cfg.reconnect_min_ms = n->reconnect_min_ms;
	a->cfg.reconnect_max_ms = n->reconnect_max_ms;
	a->cfg.nic_speed_mbps = n->nic_speed_mbps;
	if (a->dirty) {
		a->cfg.dirtyrate_interval_s = n->dirtyrate_interval_s;
		dirtyrate_set_interval(a->dirty, n->dirtyrate_interval_s);
	} else if (n->dirtyrate_interval_s) {
		log_warn("reload: [sampling] dirtyrate_interval_s takes effect at the next restart "
			 "(it was 0)");
	}
	set_period(a->timer_fd, n->interval_ms);
	log_info("configuration reloaded");
	tracker_agent_record(a->tracker, RING_AGENT_RELOAD, "configuration reloaded");
}

static void take_reload(struct agent *a)
{
	struct agent_config n;
	bool pending;
	uint64_t v;

	if (read(a->reload_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: taken with an earlier poke */
	}
	pthread_mutex_lock(&a->reload_lock);
	pending = a->reload_pending;
	if (pending)
		n = a->reload_cfg;
	a->reload_pending = false;
	pthread_mutex_unlock(&a->reload_lock);
	if (pending)
		apply_reload(a, &n);
}

static void *tracker_thread(void *arg)
{
	struct agent *a = arg;
	int nfd = nic_mon_notify_fd(a->nic);
	uint64_t one = 1;

	urcu_memb_register_thread();
	tick(a);
	while (!a->fatal) {
		struct pollfd p[5] = {
			{ .fd = a->thread_stop_fd, .events = POLLIN },
			{ .fd = a->q.efd, .events = POLLIN },
			{ .fd = a->timer_fd, .events = POLLIN },
			{ .fd = nfd, .events = POLLIN },
			{ .fd = a->reload_fd, .events = POLLIN },
		};
		uint64_t v;

		if (poll(p, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			a->fatal = -errno;
			break;
		}
		if (p[0].revents)
			break;
		if (p[4].revents)
			take_reload(a);
		if (p[1].revents) {
			struct poll_ctx pc = { .a = a, .now = ring_now_mono_ns(), .only_wanted = true };

			drain(a);
			tracker_foreach(a->tracker, collect_share, &pc.share);
			/* Iteration events ask for a sample at once. */
			if (virt_connected(a->virt))
				tracker_foreach(a->tracker, poll_one, &pc);
		}
		if (p[3].revents)
			nic_handle_notify(a->nic, nic_carrier_changed, a);
		if (p[2].revents && read(a->timer_fd, &v, sizeof(v)) == sizeof(v))
			tick(a);
	}
	drain(a);
	/* Here, not on the main thread: closing talks to libvirtd (the main thread watches). */
	if (virt_open(a->virt))
		close_connection(a);
	urcu_memb_unregister_thread();
	if (write(a->thread_done_fd, &one, sizeof(one)) < 0) {
		/* cannot fail on an eventfd that is read only once */
	}
	return NULL;
}

/* ---- the main thread ------------------------------------------------------------------- */

/* Heartbeat, the watch over libvirt calls, and the watchdog. */
static void beat(struct agent *a)
{
	struct virt_stuck st[STUCK_MAX];
	uint64_t now = ring_now_mono_ns();
	int n;

	ring_heartbeat(a->ring);
	__atomic_store_n(&a->last_heartbeat_real_ns, real_now_ns(), __ATOMIC_RELAXED);
	n = virt_watch(a->virt, now, a->call_timeout_ms, st, STUCK_MAX);
	if (n > STUCK_MAX)
		n = STUCK_MAX;
	if (virt_connected(a->virt))
		a->stuck_logged[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (!st[i].newly)
			continue;
		sdnotify_printf("STATUS=libvirtd not answering: %s for %" PRIu64 " s", st[i].what,
				st[i].elapsed_ms / 1000);
		/* Every attempt on a daemon that stays hung fails the same way: said once until a
		 * connection works again. */
		if (strcmp(st[i].what, a->stuck_logged) == 0)
			continue;
		str_copy(a->stuck_logged, sizeof(a->stuck_logged), st[i].what);
		if (st[i].sockets_shut)
			log_warn("libvirt: %s has not returned after %" PRIu64 " ms: treating the "
				 "connection to %s as lost (%d socket(s) to libvirtd shut down)",
				 st[i].what, st[i].elapsed_ms, a->cfg.uri, st[i].sockets_shut);
		else
			log_warn("libvirt: %s has not returned after %" PRIu64 " ms: treating the "
				 "connection to %s as lost; no unix socket to shut down, the call "
				 "ends with libvirt's keepalive", st[i].what, st[i].elapsed_ms,
				 a->cfg.uri);
		tracker_agent_record(a->tracker, RING_AGENT_DISCONNECT, "libvirtd hung: %s %" PRIu64
				     " ms", st[i].what, st[i].elapsed_ms);
	}
	pthread_mutex_lock(&a->stuck_lock);
	memcpy(a->stuck, st, sizeof(st[0]) * (size_t)n);
	a->n_stuck = n;
	pthread_mutex_unlock(&a->stuck_lock);
	if (a->watchdog_usec)
		sdnotify_send("WATCHDOG=1");
}

/* Main thread: what a reload changes on its side; the rest goes to the tracker thread. */
static void hand_reload(struct agent *a, const struct agent_config *n)
{
	uint64_t one = 1;

	log_set_level(n->log_level);
	if (n->heartbeat_ms != a->heartbeat_ms) {
		a->heartbeat_ms = n->heartbeat_ms;
		/* Readers judge liveness by the interval in the header: it changes with the timer. */
		ring_set_heartbeat_interval(a->ring, n->heartbeat_ms);
		set_period(a->beat_fd, beat_period_ms(a));
	}
	a->call_timeout_ms = n->call_timeout_s * 1000;
	pthread_mutex_lock(&a->reload_lock);
	a->reload_cfg = *n;
	a->reload_pending = true;
	pthread_mutex_unlock(&a->reload_lock);
	if (write(a->reload_fd, &one, sizeof(one)) < 0) {
		/* a full counter still wakes the thread */
	}
}

/* Stops the tracker thread, abandoning the libvirt call it waits in; false when it is still
 * inside libvirt after STOP_GRACE_MS (it is left behind). */
static bool stop_tracker(struct agent *a)
{
	uint64_t one = 1, since = ring_now_mono_ns();

	if (!a->thread_running)
		return true;
	if (write(a->thread_stop_fd, &one, sizeof(one)) < 0) {
		/* cannot fail: written once */
	}
	for (;;) {
		struct pollfd p = { .fd = a->thread_done_fd, .events = POLLIN };
		uint64_t now;

		if (poll(&p, 1, 20) > 0)
			break;
		now = ring_now_mono_ns();
		ring_heartbeat(a->ring);
		(void)virt_abandon_calls(a->virt, now, STOP_PATIENCE_MS);
		if (now - since > (uint64_t)STOP_GRACE_MS * 1000000) {
			log_warn("the tracker thread is still waiting on libvirtd after %u ms: "
				 "leaving without it", STOP_GRACE_MS);
			a->thread_stuck = true;
			return false;
		}
	}
	pthread_join(a->thread, NULL);
	a->thread_running = false;
	return true;
}

int agent_run(struct agent *a, int sigfd,
	      int (*reload)(struct agent_config *ret_cfg, void *arg), void *arg)
{
	int r;

	r = -pthread_create(&a->thread, NULL, tracker_thread, a);
	if (r < 0)
		return r;
	a->thread_running = true;
	/* Serving: the ring exists, the hook and control sockets listen; libvirt may come later. */
	sdnotify_printf("READY=1\nSTATUS=serving; connecting to %s", a->cfg.uri);
	for (;;) {
		struct pollfd p[4] = {
			{ .fd = a->stop_fd, .events = POLLIN },
			{ .fd = a->beat_fd, .events = POLLIN },
			{ .fd = a->thread_done_fd, .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
		};
		uint64_t v;

		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (p[0].revents || p[2].revents)
			break;        /* stopped, or the tracker thread ended (a fatal error) */
		if (p[3].revents) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP && reload) {
					struct agent_config n;

					sdnotify_printf("RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
							ring_now_mono_ns() / 1000);
					if (reload(&n, arg) == 0)
						hand_reload(a, &n);
					else
						tracker_agent_record(a->tracker, RING_AGENT_RELOAD,
								     "reload refused: bad config");
					sdnotify_send("READY=1");
				} else if (si.ssi_signo != SIGHUP) {
					log_info("signal %u: shutting down", si.ssi_signo);
					break;
				}
			}
		}
		if (p[1].revents && read(a->beat_fd, &v, sizeof(v)) == sizeof(v))
			beat(a);
	}
	sdnotify_send("STOPPING=1");
	stop_tracker(a);
	return r < 0 ? r : a->fatal;
}
