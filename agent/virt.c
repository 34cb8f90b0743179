/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <libvirt/virterror.h>

#include "agent/dirtyrate.h"
#include "agent/strutil.h"
#include "agent/jobstats.h"
#include "agent/virt.h"

/* The current max downtime and speed cost one RPC each; they only change when someone tunes the
 * job, so they are refreshed every few samples rather than every time.  Except at the start: a
 * peer-to-peer job gets its --bandwidth from libvirt after the agent's first poll, which then
 * reads "unlimited" for one refresh period (the lab saw a raise into the headroom 3 s late). */
#define LIMITS_EVERY_SAMPLES 8
#define LIMITS_EARLY_SAMPLES 8          /* every sample for this many samples of a new job */

struct virt_dom {
	virDomainPtr dom;
	uint32_t downtime_limit_ms;
	uint32_t bandwidth_limit_mibs;
	unsigned since_limits;
	unsigned polls;
};

struct virt_call {
	uint64_t since_ns;           /* 0: no call in progress */
	uint64_t seq;                /* which call: a report is made once per call */
	uint64_t abandoned_seq;
	int sockets_shut;
	char what[128];
};

struct virt {
	char uri[512];
	char socket_path[108];      /* the URI's socket= parameter; "" = libvirt's default places */
	uint32_t keepalive_interval_s, keepalive_count;
	struct msgq *q;
	virConnectPtr conn;          /* written by the tracker thread under conn_lock */
	pthread_mutex_t conn_lock;   /* lets the dirty-rate thread take a reference */
	int cb_ids[3];
	int connected;              /* atomic: read by the control thread */
	int hung;                   /* atomic: a call on this connection was abandoned */
	pthread_mutex_t watch_lock;
	struct virt_call calls[VIRT_CALLERS];
	pthread_t loop;
	int stop;                   /* atomic */
	int wake_timer;             /* libvirt timeout used to wake the loop at shutdown */
};

static pthread_once_t event_once = PTHREAD_ONCE_INIT;
static int event_impl_rc;

static void silent_error(void *opaque, virErrorPtr err)
{
	/* libvirt prints every error on stderr by default; the agent reports its own, once. */
}

static void register_impl(void)
{
	virSetErrorFunc(NULL, silent_error);
	event_impl_rc = virEventRegisterDefaultImpl();
}

static void *loop_thread(void *arg)
{
	struct virt *v = arg;

	while (!__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE))
		if (virEventRunDefaultImpl() < 0)
			break;
	return NULL;
}

static void wake_cb(int timer, void *opaque)
{
	/* Fired only at shutdown, to get virEventRunDefaultImpl to return. */
}

/* The unix socket the URI names with socket=PATH (up to the next '&'), if any. */
static void uri_socket(const char *uri, char *ret, size_t len)
{
	const char *q = strchr(uri, '?'), *p;
	size_t n;

	ret[0] = '\0';
	for (p = q; p && *p; p = strchr(p, '&')) {
		p++;
		if (strncmp(p, "socket=", 7) != 0)
			continue;
		p += 7;
		n = strcspn(p, "&");
		if (n < len) {
			memcpy(ret, p, n);
			ret[n] = '\0';
		}
		return;
	}
}

int virt_new(const struct virt_opts *opts, struct virt **ret)
{
	struct virt *v;
	int r;

	pthread_once(&event_once, register_impl);
	if (event_impl_rc < 0)
		return -EIO;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	str_copy(v->uri, sizeof(v->uri), opts->uri);
	uri_socket(v->uri, v->socket_path, sizeof(v->socket_path));
	v->keepalive_interval_s = opts->keepalive_interval_s;
	v->keepalive_count = opts->keepalive_count;
	v->q = opts->q;
	v->wake_timer = -1;
	pthread_mutex_init(&v->conn_lock, NULL);
	pthread_mutex_init(&v->watch_lock, NULL);
	for (int i = 0; i < 3; i++)
		v->cb_ids[i] = -1;
	r = -pthread_create(&v->loop, NULL, loop_thread, v);
	if (r < 0) {
		pthread_mutex_destroy(&v->watch_lock);
		pthread_mutex_destroy(&v->conn_lock);
		free(v);
		return r;
	}
	*ret = v;
	return 0;
}

void virt_free(struct virt *v)
{
	if (!v)
		return;
	virt_disconnect(v);
	__atomic_store_n(&v->stop, 1, __ATOMIC_RELEASE);
	/* A zero timeout makes the loop iterate at once and see the stop flag. */
	v->wake_timer = virEventAddTimeout(0, wake_cb, NULL, NULL);
	pthread_join(v->loop, NULL);
	if (v->wake_timer >= 0)
		virEventRemoveTimeout(v->wake_timer);
	pthread_mutex_destroy(&v->watch_lock);
	pthread_mutex_destroy(&v->conn_lock);
	free(v);
}

bool virt_connected(const struct virt *v)
{
	return __atomic_load_n(&v->connected, __ATOMIC_RELAXED) != 0 && !virt_hung(v);
}

bool virt_open(const struct virt *v)
{
	return v->conn != NULL;
}

bool virt_hung(const struct virt *v)
{
	return __atomic_load_n(&v->hung, __ATOMIC_RELAXED) != 0;
}

const char *virt_uri(const struct virt *v)
{
	return v->uri;
}

/* ---- event callbacks: libvirt's event thread ---------------------------------------------- */

static struct agent_msg *msg_for(int kind, virDomainPtr dom)
{
	struct agent_msg *m = msgq_msg_new(kind);
	const char *name;

	if (!m)
		return NULL;
	m->mono_ns = ring_now_mono_ns();
	/* Both are cached in the domain object: no RPC from the event thread. */
	m->has_uuid = virDomainGetUUID(dom, m->uuid) == 0;
	name = virDomainGetName(dom);
	str_copy(m->name, sizeof(m->name), name ? name : "");
	return m;
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct virt *v = opaque;
	struct agent_msg *m = msg_for(MSG_LIFECYCLE, dom);

	if (m) {
		m->event = event;
		m->detail = detail;
		msgq_push(v->q, m);
	}
	return 0;
}

static void on_iteration(virConnectPtr conn, virDomainPtr dom, int iteration, void *opaque)
{
	struct virt *v = opaque;
	struct agent_msg *m = msg_for(MSG_ITERATION, dom);

	if (m) {
		m->iteration = iteration;
		msgq_push(v->q, m);
	}
}

static void on_job_completed(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params,
			     int nparams, void *opaque)
{
	struct virt *v = opaque;
	struct agent_msg *m = msg_for(MSG_JOB_COMPLETED, dom);

	if (m) {
		/* The final stats only exist here for a transient domain that left. */
		jobstats_to_sample(VIR_DOMAIN_JOB_COMPLETED, params, nparams, &m->final);
		m->has_final = true;
		msgq_push(v->q, m);
	}
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct virt *v = opaque;
	struct agent_msg *m = msgq_msg_new(MSG_CONN_CLOSED);

	if (m) {
		m->mono_ns = ring_now_mono_ns();
		m->detail = reason;
		msgq_push(v->q, m);
	}
}

/* ---- connection ------------------------------------------------------------------------- */

/* Returns -EACCES for a refusal (retrying cannot help), -ECONNREFUSED otherwise. */
static int explain(const char *uri, virErrorPtr e, char *err, size_t errlen)
{
	const char *msg = e && e->message ? e->message : "unknown error";
	int sys = e && e->domain == VIR_FROM_RPC ? e->int1 : 0;

	if ((e && (e->code == VIR_ERR_AUTH_FAILED || e->code == VIR_ERR_AUTH_CANCELLED ||
		   e->code == VIR_ERR_ACCESS_DENIED)) || sys == EACCES ||
	    strstr(msg, "ermission denied")) {
		snprintf(err, errlen, "cannot connect to %s: permission denied (run as root or in group "
			 "libvirt)", uri);
		return -EACCES;
	}
	if (sys == ENOENT || sys == ECONNREFUSED || strstr(msg, "No such file") ||
		 strstr(msg, "onnection refused"))
		snprintf(err, errlen, "cannot connect to %s: libvirtd is not running (start libvirtd or "
			 "check [libvirt] uri)", uri);
	else
		snprintf(err, errlen, "cannot connect to %s: %s", uri, msg);
	return -ECONNREFUSED;
}

int virt_connect(struct virt *v, char *err, size_t errlen)
{
	virConnectPtr c;

	if (v->conn)
		return 0;
	/* A hang seen while opening belongs to this attempt; one seen before is over. */
	__atomic_store_n(&v->hung, 0, __ATOMIC_RELAXED);
	c = virConnectOpen(v->uri);
	if (!c)
		return explain(v->uri, virGetLastError(), err, errlen);
	/* Keepalive is what turns a dead daemon into a close event rather than a hung RPC.  The test
	 * driver and local drivers refuse it (no RPC): that is fine. */
	if (v->keepalive_interval_s)
		(void)virConnectSetKeepAlive(c, (int)v->keepalive_interval_s,
					     v->keepalive_count);
	if (virConnectRegisterCloseCallback(c, on_close, v, NULL) < 0) {
		/* Drivers without a close notion (test:///) cannot lose the connection anyway. */
	}
	v->cb_ids[0] = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
			VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), v, NULL);
	v->cb_ids[1] = virConnectDomainEventRegisterAny(c, NULL,
			VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
			VIR_DOMAIN_EVENT_CALLBACK(on_iteration), v, NULL);
	v->cb_ids[2] = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
			VIR_DOMAIN_EVENT_CALLBACK(on_job_completed), v, NULL);
	if (v->cb_ids[0] < 0) {
		(void)explain(v->uri, virGetLastError(), err, errlen);
		for (int i = 0; i < 3; i++)
			if (v->cb_ids[i] >= 0)
				virConnectDomainEventDeregisterAny(c, v->cb_ids[i]);
		virConnectUnregisterCloseCallback(c, on_close);
		virConnectClose(c);
		return -EIO;
	}
	pthread_mutex_lock(&v->conn_lock);
	v->conn = c;
	pthread_mutex_unlock(&v->conn_lock);
	__atomic_store_n(&v->connected, 1, __ATOMIC_RELAXED);
	return 0;
}

void virt_disconnect(struct virt *v)
{
	if (!v->conn)
		return;
	/* Deregistering on a dead connection fails harmlessly; the callbacks die with it. */
	for (int i = 0; i < 3; i++) {
		if (v->cb_ids[i] >= 0)
			virConnectDomainEventDeregisterAny(v->conn, v->cb_ids[i]);
		v->cb_ids[i] = -1;
	}
	virConnectUnregisterCloseCallback(v->conn, on_close);
	pthread_mutex_lock(&v->conn_lock);
	/* A reference the dirty-rate thread holds keeps the object until its call returns; on a
	 * closed connection that call fails at once. */
	virConnectClose(v->conn);
	v->conn = NULL;
	pthread_mutex_unlock(&v->conn_lock);
	__atomic_store_n(&v->connected, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&v->hung, 0, __ATOMIC_RELAXED);
}

virDomainPtr virt_domain_ptr(void *handle)
{
	struct virt_dom *vd = handle;

	return vd ? vd->dom : NULL;
}

void virt_release_handle(void *handle)
{
	struct virt_dom *vd = handle;

	if (!vd)
		return;
	if (vd->dom)
		virDomainFree(vd->dom);
	free(vd);
}

/* ---- rediscovery and polling ------------------------------------------------------------ */

static int get_stats(virDomainPtr dom, unsigned flags, int *ret_type, struct ring_sample *ret,
		     int *ret_op)
{
	virTypedParameterPtr params = NULL;
	int n = 0, type = 0;

	if (virDomainGetJobStats(dom, &type, &params, &n, flags) < 0) {
		virErrorPtr e = virGetLastError();

		if (e && e->code == VIR_ERR_NO_DOMAIN)
			return -ENOENT;
		if (e && (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_OPERATION_INVALID))
			return -EOPNOTSUPP;
		return -ECONNRESET;
	}
	*ret_op = jobstats_to_sample(type, params, n, ret);
	*ret_type = type;
	virTypedParamsFree(params, n);
	return 0;
}

int virt_discover(struct virt *v, struct tracker *t, uint64_t now_mono_ns)
{
	virDomainPtr *doms = NULL;
	int n, found = 0;

	if (!v->conn)
		return -ENOTCONN;
	n = virConnectListAllDomains(v->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0)
		return -ECONNRESET;
	for (int i = 0; i < n; i++) {
		struct ring_sample s;
		unsigned char uuid[VIR_UUID_BUFLEN];
		int type, op;
		struct tracker_domain *d;

		if (get_stats(doms[i], 0, &type, &s, &op) < 0 || !jobstats_is_migration(type, op) ||
		    virDomainGetUUID(doms[i], uuid) < 0)
			continue;
		d = tracker_find(t, uuid);
		if (d && d->cur.active && d->cur.direction == s.direction)
			continue;
		d = tracker_begin(t, uuid, virDomainGetName(doms[i]), s.direction, now_mono_ns);
		if (d)
			found++;
	}
	for (int i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	return found;
}

int virt_poll(struct virt *v, struct tracker_domain *d, struct ring_sample *ret, bool *ret_active,
	      bool *ret_final)
{
	struct virt_dom *vd = d->virt_handle;
	int type = 0, op = 0, r;

	if (!v->conn)
		return -ENOTCONN;
	if (!vd) {
		vd = calloc(1, sizeof(*vd));
		if (!vd)
			return -ENOMEM;
		vd->dom = virDomainLookupByUUID(v->conn, d->uuid);
		if (!vd->dom) {
			virErrorPtr e = virGetLastError();

			free(vd);
			return e && e->code == VIR_ERR_NO_DOMAIN ? -ENOENT : -ECONNRESET;
		}
		vd->since_limits = LIMITS_EVERY_SAMPLES;
		d->virt_handle = vd;
	}
	*ret_final = false;
	r = get_stats(vd->dom, 0, &type, ret, &op);
	if (r < 0)
		return r;
	*ret_active = jobstats_is_migration(type, op);
	if (!*ret_active) {
		/* The job went NONE.  An abort sends no event: the completed-job stats say how it
		 * ended (libvirt keeps them for completed, failed and cancelled jobs). */
		struct ring_sample fin;
		int ftype = 0, fop = 0;

		if (get_stats(vd->dom, VIR_DOMAIN_JOB_STATS_COMPLETED, &ftype, &fin, &fop) == 0 &&
		    (ftype == VIR_DOMAIN_JOB_COMPLETED || ftype == VIR_DOMAIN_JOB_FAILED ||
		     ftype == VIR_DOMAIN_JOB_CANCELLED) &&
		    (fop == JOBSTATS_OP_MIGRATION_OUT || fop == JOBSTATS_OP_MIGRATION_IN)) {
			*ret = fin;
			*ret_final = true;
		}
		return 0;
	}
	/* A post-copy whose stream broke is still an active job with frozen figures: only the
	 * domain's state says so (paused, post-copy failed), and after a restart whether the job is
	 * in post-copy at all.  Read in post-copy and at a job's first sample. */
	if (!d->cur.samples || ret->phase == RING_PHASE_POSTCOPY ||
	    d->cur.phase == RING_PHASE_POSTCOPY) {
		int state = 0, reason = 0;

		if (virDomainGetState(vd->dom, &state, &reason, 0) == 0 &&
		    state == VIR_DOMAIN_PAUSED && (reason == VIR_DOMAIN_PAUSED_POSTCOPY ||
						   reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)) {
			ret->phase = RING_PHASE_POSTCOPY;
			if (reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)
				ret->flags |= RING_SAMPLE_F_PC_BROKEN;
		}
	}
	if (++vd->since_limits >= LIMITS_EVERY_SAMPLES || vd->polls++ < LIMITS_EARLY_SAMPLES) {
		unsigned long long dt = 0;
		unsigned long bw = 0;

		vd->since_limits = 0;
		if (virDomainMigrateGetMaxDowntime(vd->dom, &dt, 0) == 0)
			vd->downtime_limit_ms = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
		if (virDomainMigrateGetMaxSpeed(vd->dom, &bw, 0) == 0)
			/* libvirt reports "unlimited" as a huge number: 0 means unlimited here. */
			vd->bandwidth_limit_mibs = bw >= 8796093022207UL || bw > UINT32_MAX ? 0 :
				(uint32_t)bw;
	}
	ret->downtime_limit_ms = vd->downtime_limit_ms;
	ret->bandwidth_limit_mibs = vd->bandwidth_limit_mibs;
	return 0;
}

int virt_qemu_pid(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "/run/libvirt/qemu/%s.pid", name);
	return virt_pidfile(path);
}

int virt_pidfile(const char *path)
{
	FILE *f = fopen(path, "re");
	int pid = 0;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", &pid) != 1 || pid <= 0)
		pid = -EINVAL;
	fclose(f);
	return pid;
}

/* ---- watching the calls ------------------------------------------------------------------ */

void virt_call_begin(struct virt *v, enum virt_caller who, const char *fmt, ...)
{
	struct virt_call *c = &v->calls[who];
	va_list ap;

	pthread_mutex_lock(&v->watch_lock);
	va_start(ap, fmt);
	vsnprintf(c->what, sizeof(c->what), fmt, ap);
	va_end(ap);
	c->seq++;
	c->since_ns = ring_now_mono_ns();
	pthread_mutex_unlock(&v->watch_lock);
}

void virt_call_end(struct virt *v, enum virt_caller who)
{
	pthread_mutex_lock(&v->watch_lock);
	v->calls[who].since_ns = 0;
	pthread_mutex_unlock(&v->watch_lock);
}

/* Whether a unix socket path is where the daemon of this URI listens: the socket= parameter,
 * or one of libvirt's own sockets (libvirt-sock, virtqemud-sock, virtproxyd-sock, their -ro
 * twins) in a libvirt directory. */
static bool daemon_socket(const struct virt *v, const char *path)
{
	const char *base = strrchr(path, '/');

	if (v->socket_path[0])
		return strcmp(path, v->socket_path) == 0;
	return base && strstr(path, "/libvirt/") && strstr(base, "-sock");
}

/*
 * Shuts down, without closing (libvirt owns the descriptors), every stream socket of this
 * process connected to the daemon's unix socket: a call waiting on it gets end-of-file and
 * fails, the connection closes.  Over ssh or TLS there is no such socket (0): keepalive alone
 * ends the wait there.  Returns the number of sockets shut down.
 */
static int shut_daemon_sockets(const struct virt *v)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa), tlen;
		char path[sizeof(sa.sun_path) + 1];
		int fd, type;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		fd = atoi(e->d_name);
		if (fd == dirfd(d))
			continue;
		tlen = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM)
			continue;
		memset(&sa, 0, sizeof(sa));
		if (getpeername(fd, (struct sockaddr *)&sa, &len) < 0 || sa.sun_family != AF_UNIX ||
		    len <= offsetof(struct sockaddr_un, sun_path) || !sa.sun_path[0])
			continue;
		memcpy(path, sa.sun_path, sizeof(sa.sun_path));
		path[sizeof(sa.sun_path)] = '\0';
		if (daemon_socket(v, path) && shutdown(fd, SHUT_RDWR) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Under watch_lock. */
static void abandon(struct virt *v, struct virt_call *c)
{
	__atomic_store_n(&v->hung, 1, __ATOMIC_RELAXED);
	c->sockets_shut = shut_daemon_sockets(v);
	c->abandoned_seq = c->seq;
}

int virt_watch(struct virt *v, uint64_t now_mono_ns, uint64_t timeout_ms, struct virt_stuck *ret,
	       int max)
{
	int n = 0;

	pthread_mutex_lock(&v->watch_lock);
	for (int i = 0; i < VIRT_CALLERS; i++) {
		struct virt_call *c = &v->calls[i];
		uint64_t ms;
		bool newly;

		if (!c->since_ns || now_mono_ns < c->since_ns)
			continue;
		ms = (now_mono_ns - c->since_ns) / 1000000;
		if (ms < timeout_ms)
			continue;
		newly = c->abandoned_seq != c->seq;
		if (newly)
			abandon(v, c);
		if (n < max) {
			ret[n].who = (enum virt_caller)i;
			str_copy(ret[n].what, sizeof(ret[n].what), c->what);
			ret[n].elapsed_ms = ms;
			ret[n].sockets_shut = c->sockets_shut;
			ret[n].newly = newly;
		}
		n++;
	}
	pthread_mutex_unlock(&v->watch_lock);
	return n;
}

int virt_abandon_calls(struct virt *v, uint64_t now_mono_ns, uint64_t min_ms)
{
	int n = 0;

	pthread_mutex_lock(&v->watch_lock);
	for (int i = 0; i < VIRT_CALLERS; i++) {
		struct virt_call *c = &v->calls[i];

		if (!c->since_ns)
			continue;
		n++;
		if (now_mono_ns >= c->since_ns && (now_mono_ns - c->since_ns) / 1000000 >= min_ms)
			abandon(v, c);
	}
	pthread_mutex_unlock(&v->watch_lock);
	return n;
}

/* ---- dirty-rate measurement (the dirty-rate thread) ------------------------------------- */

/* A reference of the current connection, NULL when there is none.  virConnectClose drops it. */
static virConnectPtr conn_ref(struct virt *v)
{
	virConnectPtr c;

	pthread_mutex_lock(&v->conn_lock);
	c = v->conn;
	if (c && virConnectRef(c) < 0)
		c = NULL;
	pthread_mutex_unlock(&v->conn_lock);
	return c;
}

static const char *last_message(void)
{
	virErrorPtr e = virGetLastError();

	return e && e->message ? e->message : "unknown error";
}

static int list_running(void *ctx, struct dirtyrate_dom *ret, size_t max, char *err, size_t errlen)
{
	struct virt *v = ctx;
	virConnectPtr c = conn_ref(v);
	virDomainPtr *doms = NULL;
	size_t k = 0;
	int n;

	if (!c)
		return -ENOTCONN;
	n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_RUNNING);
	if (n < 0) {
		snprintf(err, errlen, "cannot list the running domains: %s", last_message());
		virConnectClose(c);
		return -ECONNRESET;
	}
	for (int i = 0; i < n; i++) {
		virDomainJobInfo ji;
		const char *name;

		if (k < max && virDomainGetUUID(doms[i], ret[k].uuid) == 0) {
			name = virDomainGetName(doms[i]);
			str_copy(ret[k].name, sizeof(ret[k].name), name ? name : "");
			/* A job that cannot be read counts as one: better unmeasured than blocked.
			 * A driver without job information has no jobs to wait for: the
			 * calculation itself says whether it can run there. */
			if (virDomainGetJobInfo(doms[i], &ji) < 0) {
				virErrorPtr e = virGetLastError();

				ret[k].busy = !e || e->code != VIR_ERR_NO_SUPPORT;
			} else {
				ret[k].busy = ji.type != VIR_DOMAIN_JOB_NONE;
			}
			k++;
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	virConnectClose(c);
	return (int)k;
}

/* libvirt without the call or the mode, or QEMU without calc-dirty-rate: nothing to retry. */
static bool dirty_unsupported(virErrorPtr e)
{
	const char *msg = e && e->message ? e->message : "";

	if (!e)
		return false;
	if (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_OPERATION_UNSUPPORTED ||
	    e->code == VIR_ERR_ARGUMENT_UNSUPPORTED)
		return true;
	if (e->code == VIR_ERR_INVALID_ARG && strstr(msg, "flags"))
		return true;
	return strstr(msg, "calc-dirty-rate") && (strstr(msg, "CommandNotFound") ||
						  strstr(msg, "not found"));
}

static int start_calc(void *ctx, const struct dirtyrate_dom *dom, uint32_t period_s, char *err,
		      size_t errlen)
{
#if LIBVIR_CHECK_VERSION(8, 1, 0)
	struct virt *v = ctx;
	virConnectPtr c = conn_ref(v);
	virDomainPtr d;
	virErrorPtr e;
	int r = 0;

	if (!c)
		return -ENOTCONN;
	d = virDomainLookupByUUID(c, dom->uuid);
	if (!d) {
		virConnectClose(c);
		return -ENOENT;
	}
	if (virDomainStartDirtyRateCalc(d, (int)period_s,
					VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING) < 0) {
		e = virGetLastError();
		snprintf(err, errlen, "cannot measure the dirty rate of %s: %s", dom->name,
			 last_message());
		if (dirty_unsupported(e))
			r = -EOPNOTSUPP;
		else if (e && (e->code == VIR_ERR_NO_DOMAIN || e->code == VIR_ERR_OPERATION_INVALID))
			r = -ENOENT;
		else if (e && e->code == VIR_ERR_OPERATION_TIMEOUT)
			r = -EBUSY;
		else
			r = -EIO;
	}
	virDomainFree(d);
	virConnectClose(c);
	return r;
#else
	snprintf(err, errlen, "built against libvirt older than 8.1, which cannot measure dirty "
		 "rates by page sampling");
	return -EOPNOTSUPP;
#endif
}

static int read_stats(void *ctx, const struct dirtyrate_dom *doms, size_t n,
		      struct dirtyrate_stat *ret, char *err, size_t errlen)
{
#if LIBVIR_CHECK_VERSION(7, 2, 0)
	struct virt *v = ctx;
	virConnectPtr c = conn_ref(v);
	virDomainPtr *ptrs;
	virDomainStatsRecordPtr *recs = NULL;
	size_t k = 0;
	int nrec, r = 0;

	for (size_t i = 0; i < n; i++)
		ret[i].calc_status = DIRTYRATE_ABSENT;
	if (!c)
		return -ENOTCONN;
	ptrs = calloc(n + 1, sizeof(*ptrs));    /* NULL-terminated for libvirt */
	if (!ptrs) {
		virConnectClose(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if ((ptrs[k] = virDomainLookupByUUID(c, doms[i].uuid)))
			k++;
	if (k) {
		/* One call for every domain measured: the stats need a (query) job each, which a
		 * migration does not hold off. */
		nrec = virDomainListGetStats(ptrs, VIR_DOMAIN_STATS_DIRTYRATE, &recs, 0);
		if (nrec < 0) {
			snprintf(err, errlen, "cannot read the dirty-rate statistics: %s",
				 last_message());
			r = -EIO;
		}
		for (int j = 0; j < nrec; j++) {
			unsigned char uuid[VIR_UUID_BUFLEN];

			if (virDomainGetUUID(recs[j]->dom, uuid) < 0)
				continue;
			for (size_t i = 0; i < n; i++)
				if (memcmp(doms[i].uuid, uuid, 16) == 0 &&
				    dirtyrate_parse(recs[j]->params, recs[j]->nparams, &ret[i]) < 0)
					ret[i].calc_status = DIRTYRATE_ABSENT;
		}
		if (recs)
			virDomainStatsRecordListFree(recs);
	}
	for (size_t i = 0; i < k; i++)
		virDomainFree(ptrs[i]);
	free(ptrs);
	virConnectClose(c);
	return r;
#else
	snprintf(err, errlen, "built against libvirt older than 7.2, which has no dirty-rate "
		 "statistics");
	return -EOPNOTSUPP;
#endif
}

/* The three operations as the dirty-rate thread calls them: watched (virt_watch). */
static int dirty_list(void *ctx, struct dirtyrate_dom *ret, size_t max, char *err, size_t errlen)
{
	int r;

	virt_call_begin(ctx, VIRT_CALLER_DIRTYRATE, "listing the running domains");
	r = list_running(ctx, ret, max, err, errlen);
	virt_call_end(ctx, VIRT_CALLER_DIRTYRATE);
	return r;
}

static int dirty_start(void *ctx, const struct dirtyrate_dom *dom, uint32_t period_s, char *err,
		       size_t errlen)
{
	int r;

	virt_call_begin(ctx, VIRT_CALLER_DIRTYRATE, "starting the dirty-rate measurement of %s",
			dom->name);
	r = start_calc(ctx, dom, period_s, err, errlen);
	virt_call_end(ctx, VIRT_CALLER_DIRTYRATE);
	return r;
}

static int dirty_read(void *ctx, const struct dirtyrate_dom *doms, size_t n,
		      struct dirtyrate_stat *ret, char *err, size_t errlen)
{
	int r;

	virt_call_begin(ctx, VIRT_CALLER_DIRTYRATE, "reading the dirty-rate statistics");
	r = read_stats(ctx, doms, n, ret, err, errlen);
	virt_call_end(ctx, VIRT_CALLER_DIRTYRATE);
	return r;
}

static const struct dirtyrate_ops dirty_ops = {
	.list = dirty_list,
	.start = dirty_start,
	.read = dirty_read,
};

const struct dirtyrate_ops *virt_dirtyrate_ops(void)
{
	return &dirty_ops;
}
