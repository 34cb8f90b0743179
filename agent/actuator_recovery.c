/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The recovery of a broken post-copy (docs/recovery.md).
 *
 * In post-copy the guest runs on the destination and fetches the pages it lacks from the source:
 * a broken migration stream leaves it split between the hosts until someone resumes the
 * migration over a new connection.  Here, on the source, for every sample of an outgoing job:
 *
 *   before post-copy   learn whether a break could be recovered ("proven": libvirt >= 8.5, QEMU
 *                      >= 3.0, the job has the post-copy flag, the domain wants it, the agent is
 *                      active) and where a resume would go (the stream's peer, the destination's
 *                      daemon), while the stream still runs;
 *   post-copy running  watch the link and the job's progress: a stream the link left stalled
 *                      link-stall-s after it came back (TCP waits for its next retransmission, up
 *                      to two minutes), or one that moved nothing for stall-s, is interrupted
 *                      (virDomainAbortJobFlags(POSTCOPY)) so that it can be resumed at once;
 *   broken             once the link has been healthy for settle-ms, resume it peer to peer with
 *                      the job's own flags plus VIR_MIGRATE_POSTCOPY_RESUME; a failed attempt
 *                      backs off (doubling), at most [recovery] attempts per outage of the link;
 *                      when it cannot (not proven, attempts spent) the log says what to run.
 *
 * The calls run on worker threads with a libvirt connection of their own: a resume returns only
 * when the migration has completed, and no call may hold up the tracker thread.  A call's state
 * is shared by the job and its worker under a lock and freed by the last of the two; the tracker
 * thread collects and records the outcome at the next sample.  Everything else here runs on the
 * tracker thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/actuator_impl.h"
#include "agent/strutil.h"

#define LIBVIRT_MIN       8005000ul  /* VIR_MIGRATE_POSTCOPY_RESUME, ABORT_JOB_POSTCOPY */
#define HYPERVISOR_MIN    3000000ul  /* QEMU's postcopy-recover */
#define PEER_LOOK_EVERY   4u         /* samples between looks until the verdict is "proven" */
#define PEER_LOOKS_MAX    64u        /* looks in /proc for the stream's peer and its daemon */
#define CALLS_MAX         8u         /* recovery calls in flight, all jobs */
#define POLICY            "recovery" /* the ring's policy field of these records */

enum call_kind { CALL_INTERRUPT, CALL_RESUME };

struct act_pc_call {
	struct act_pc_request req;
	const struct act_ops *ops;
	enum call_kind kind;
	uint32_t attempt;                /* resume: its number in the job */
	pthread_mutex_t lock;
	int refs;                        /* the job and the worker */
	/* under lock */
	bool done;
	int rc;
	char err[ACT_ERR_MAX];
	uint64_t took_ns;                /* the call's duration, on the worker's clock */
};

/* Worker threads running, every actuator of the process (a worker outlives its actuator). */
static unsigned calls_running;

unsigned actuator_pc_calls(const struct actuator *a)
{
	return __atomic_load_n(&calls_running, __ATOMIC_RELAXED);
}

static void call_put(struct act_pc_call *c)
{
	int left;

	pthread_mutex_lock(&c->lock);
	left = --c->refs;
	pthread_mutex_unlock(&c->lock);
	if (left)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void *worker(void *arg)
{
	struct act_pc_call *c = arg;
	char err[ACT_ERR_MAX] = "";
	uint64_t t0 = ring_now_mono_ns();
	int r;

	r = c->kind == CALL_RESUME ? c->ops->pc_resume(&c->req, err, sizeof(err)) :
		c->ops->pc_interrupt(&c->req, err, sizeof(err));
	pthread_mutex_lock(&c->lock);
	c->done = true;
	c->rc = r;
	str_copy(c->err, sizeof(c->err), err);
	c->took_ns = ring_now_mono_ns() - t0;
	pthread_mutex_unlock(&c->lock);
	__atomic_fetch_sub(&calls_running, 1, __ATOMIC_RELAXED);
	call_put(c);
	return NULL;
}

/* ---- pure helpers ---------------------------------------------------------------------------- */

uint64_t actuator_pc_resume_flags(uint64_t job_flags)
{
	/* Peer to peer whatever the job was (libvirt wants p2p or change protection for a resume,
	 * and only the source's daemon is at hand); the rest as the job was started. */
	return (job_flags & ~(uint64_t)ACT_MIGRATE_CHANGE_PROTECTION) | ACT_MIGRATE_PEER2PEER |
	       ACT_MIGRATE_POSTCOPY | ACT_MIGRATE_POSTCOPY_RESUME;
}

/* peer as it goes into a URI: an IPv6 literal in brackets. */
static void uri_host(const char *peer, char *buf, size_t len)
{
	snprintf(buf, len, strchr(peer, ':') ? "[%s]" : "%s", peer);
}

int actuator_pc_dest_uri(const char *tmpl, const char *peer, char *buf, size_t len)
{
	static const char key[] = "{peer}";
	char host[72];
	size_t n = 0;

	uri_host(peer ? peer : "", host, sizeof(host));
	for (const char *p = tmpl; *p; ) {
		const char *piece = p;
		size_t plen = 1;

		if (strncmp(p, key, sizeof(key) - 1) == 0) {
			if (!peer || !*peer)
				return -ENOENT;
			piece = host;
			plen = strlen(host);
			p += sizeof(key) - 1;
		} else {
			p++;
		}
		if (n + plen >= len)
			return -ENAMETOOLONG;
		memcpy(buf + n, piece, plen);
		n += plen;
	}
	if (!len)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

/* s in single quotes for a shell, appended at *n. */
static void append_quoted(char *buf, size_t len, size_t *n, const char *s)
{
	if (*n + 3 > len)
		return;
	buf[(*n)++] = '\'';
	for (; *s && *n + 5 < len; s++) {
		if (*s == '\'') {
			memcpy(buf + *n, "'\\''", 4);
			*n += 4;
		} else {
			buf[(*n)++] = *s;
		}
	}
	buf[(*n)++] = '\'';
	buf[*n] = '\0';
}

static void append(char *buf, size_t len, size_t *n, const char *s)
{
	int w = snprintf(buf + *n, len - *n, "%s", s);

	if (w > 0)
		*n = *n + (size_t)w < len ? *n + (size_t)w : len - 1;
}

void actuator_pc_command(const char *local_uri, const char *domain, uint64_t flags,
			 const char *dest_uri, const char *migrate_uri, char *buf, size_t len)
{
	static const struct { uint64_t flag; const char *opt; } opts[] = {
		{ ACT_MIGRATE_PERSIST_DEST, " --persistent" },
		{ ACT_MIGRATE_UNDEFINE_SOURCE, " --undefinesource" },
		{ ACT_MIGRATE_TLS, " --tls" },
		{ ACT_MIGRATE_COMPRESSED, " --compressed" },
		{ ACT_MIGRATE_AUTO_CONVERGE, " --auto-converge" },
		{ ACT_MIGRATE_PARALLEL, " --parallel" },
		{ ACT_MIGRATE_NON_SHARED_DISK, " --copy-storage-all" },
		{ ACT_MIGRATE_NON_SHARED_INC, " --copy-storage-inc" },
		{ ACT_MIGRATE_ABORT_ON_ERROR, " --abort-on-error" },
		{ ACT_MIGRATE_UNSAFE, " --unsafe" },
	};
	size_t n = 0;

	if (!len)
		return;
	buf[0] = '\0';
	append(buf, len, &n, "virsh -c ");
	append_quoted(buf, len, &n, local_uri);
	append(buf, len, &n, " migrate --live --p2p --postcopy --postcopy-resume");
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (flags & opts[i].flag)
			append(buf, len, &n, opts[i].opt);
	if (migrate_uri && *migrate_uri) {
		append(buf, len, &n, " --migrateuri ");
		append_quoted(buf, len, &n, migrate_uri);
	}
	append(buf, len, &n, " ");
	append_quoted(buf, len, &n, domain);
	append(buf, len, &n, " ");
	if (dest_uri && *dest_uri)
		append_quoted(buf, len, &n, dest_uri);
	else
		append(buf, len, &n, "qemu+tcp://DESTINATION/system");
}

/* ---- the job's side ------------------------------------------------------------------------- */

static void log_job(const struct act_job *job, int level, const char *action, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void log_job(const struct act_job *job, int level, const char *action, const char *fmt, ...)
{
	struct log_fields f = actuator_job_fields(job, action, POLICY);
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fields_msg(level, &f, "%s: %s", job->name, msg);
}

/* The stream's address for a resume: libvirt's own choice under TLS (the certificate names a
 * host), else the address the stream went to. */
static void migrate_uri(const struct act_job *job, char *buf, size_t len)
{
	char host[72];

	buf[0] = '\0';
	if (job->pc.peer[0] && !(job->flags & ACT_MIGRATE_TLS)) {
		uri_host(job->pc.peer, host, sizeof(host));
		snprintf(buf, len, "tcp://%s", host);
	}
}

static void command(const struct actuator *a, const struct act_job *job, char *buf, size_t len)
{
	char mig[80];

	migrate_uri(job, mig, sizeof(mig));
	actuator_pc_command(a->recovery.local_uri, job->name, job->flags, job->pc.dest_uri, mig,
			    buf, len);
}

static void outcome(struct actuator *a, struct act_job *job, uint8_t kind, int result, int error,
		    int64_t value, const char *reason, uint64_t now)
{
	actuator_record(a, job, &(const struct act_outcome){ .kind = kind, .result = result,
			.error = error, .old_value = -1, .new_value = value, .policy = POLICY,
			.reason = reason }, now);
}

static int start_call(struct actuator *a, struct act_job *job, enum call_kind kind,
		      struct act_pc_call **ret)
{
	struct act_pc_call *c;
	pthread_attr_t attr;
	pthread_t th;
	int r;

	if (__atomic_load_n(&calls_running, __ATOMIC_RELAXED) >= CALLS_MAX)
		return -EBUSY;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	str_copy(c->req.local_uri, sizeof(c->req.local_uri), a->recovery.local_uri);
	if (job->uuid)
		memcpy(c->req.uuid, job->uuid, 16);
	str_copy(c->req.dest_uri, sizeof(c->req.dest_uri), job->pc.dest_uri);
	migrate_uri(job, c->req.migrate_uri, sizeof(c->req.migrate_uri));
	c->req.flags = actuator_pc_resume_flags(job->flags);
	c->ops = a->ops;
	c->kind = kind;
	c->refs = 2;
	pthread_mutex_init(&c->lock, NULL);
	__atomic_fetch_add(&calls_running, 1, __ATOMIC_RELAXED);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(&th, &attr, worker, c);
	pthread_attr_destroy(&attr);
	if (r < 0) {
		__atomic_fetch_sub(&calls_running, 1, __ATOMIC_RELAXED);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* The next resume waits: retry-min-ms, doubling up to retry-max-ms. */
static void back_off(struct actuator *a, struct act_pc *pc, uint64_t now)
{
	pc->backoff_ms = pc->backoff_ms ? pc->backoff_ms * 2 : a->recovery.retry_min_ms;
	if (pc->backoff_ms > a->recovery.retry_max_ms)
		pc->backoff_ms = a->recovery.retry_max_ms;
	pc->retry_ns = now + (uint64_t)pc->backoff_ms * 1000000;
}

/* A finished call of the job: recorded, and forgotten. */
static void collect(struct actuator *a, struct act_job *job, struct act_pc_call **slot,
		    uint64_t now)
{
	struct act_pc_call *c = *slot;
	char err[ACT_ERR_MAX], why[ACT_ERR_MAX];
	bool done;
	int rc;
	uint64_t took_ns;

	pthread_mutex_lock(&c->lock);
	done = c->done;
	rc = c->rc;
	str_copy(err, sizeof(err), c->err[0] ? c->err : strerror(rc < 0 ? -rc : EIO));
	took_ns = c->took_ns;
	pthread_mutex_unlock(&c->lock);
	if (!done)
		return;
	*slot = NULL;
	if (c->kind == CALL_INTERRUPT) {
		if (rc < 0) {
			outcome(a, job, RING_ACT_PC_INTERRUPT, RING_RES_FAILED, rc, 0, err, now);
			log_job(job, LOG_WARNING, "postcopy-interrupt", "interrupting the stalled "
				"post-copy failed: %s", err);
		} else {
			snprintf(why, sizeof(why), "stalled stream interrupted (%.1f s)",
				 (double)took_ns / 1e9);
			job->pc.interrupted = true;
			outcome(a, job, RING_ACT_PC_INTERRUPT, RING_RES_APPLIED, 0, 0, why, now);
			log_job(job, LOG_NOTICE, "postcopy-interrupt", "post-copy interrupted in "
				"%.1f s; it is resumed over a new connection now", (double)took_ns / 1e9);
		}
	} else if (rc < 0) {
		back_off(a, &job->pc, now);
		outcome(a, job, RING_ACT_PC_RESUME, RING_RES_FAILED, rc, c->attempt, err, now);
		log_job(job, LOG_WARNING, "postcopy-resume", "post-copy resume attempt %" PRIu32
			" failed after %.1f s: %s; next attempt in %" PRIu32 " s", c->attempt,
			(double)took_ns / 1e9, err, job->pc.backoff_ms / 1000);
	} else {
		snprintf(why, sizeof(why), "resumed; completed %.1f s after the call",
			 (double)took_ns / 1e9);
		outcome(a, job, RING_ACT_PC_RESUME, RING_RES_APPLIED, 0, c->attempt, why, now);
		log_job(job, LOG_NOTICE, "postcopy-resume", "post-copy resumed (attempt %" PRIu32
			"); the migration completed %.1f s after the call", c->attempt,
			(double)took_ns / 1e9);
	}
	call_put(c);
}

/* Why a break of this job could not be recovered by the agent, all but where a resume would
 * go, or NULL. */
static const char *why_not(const struct act_job *job, char *buf, size_t len)
{
	const struct act_pc *pc = &job->pc;

	if (!job->settings.lim.postcopy_recovery)
		return "postcopy-recovery is off for this domain";
	if (!job->flags)
		return "the job's flags are unknown";
	if (!(job->flags & ACT_MIGRATE_POSTCOPY))
		return "the job was not started with --postcopy";
	if (!pc->libvirt_version)
		return "libvirt's version is not known";
	if (pc->libvirt_version < LIBVIRT_MIN) {
		snprintf(buf, len, "libvirt %lu.%lu.%lu cannot resume a post-copy (8.5.0 can)",
			 pc->libvirt_version / 1000000, pc->libvirt_version / 1000 % 1000,
			 pc->libvirt_version % 1000);
		return buf;
	}
	if (pc->hv_version < HYPERVISOR_MIN) {
		snprintf(buf, len, "QEMU %lu.%lu.%lu cannot resume a post-copy (3.0.0 can)",
			 pc->hv_version / 1000000, pc->hv_version / 1000 % 1000,
			 pc->hv_version % 1000);
		return buf;
	}
	return NULL;
}

/* Where a resume of this job would go: the configured template, or the daemon this host's
 * libvirtd talks to for it.  The stream's peer and that connection exist only while the stream
 * runs. */
static const char *find_destination(struct actuator *a, struct act_job *job, void *handle,
				    bool broken)
{
	struct act_pc *pc = &job->pc;

	if (!broken && !pc->peer[0] && pc->lookups < PEER_LOOKS_MAX &&
	    a->ops->stream_peer(handle, job->name, pc->peer, sizeof(pc->peer)) < 0)
		pc->peer[0] = '\0';
	if (a->recovery.dest_uri[0]) {
		if (actuator_pc_dest_uri(a->recovery.dest_uri, pc->peer, pc->dest_uri,
					 sizeof(pc->dest_uri)) < 0) {
			pc->dest_uri[0] = '\0';
			return "[recovery] destination-uri has {peer}: the stream's peer is not known";
		}
		return NULL;
	}
	if (!broken && pc->peer[0] && pc->lookups < PEER_LOOKS_MAX &&
	    a->ops->peer_daemon(pc->peer, pc->dest_uri, sizeof(pc->dest_uri)) < 0)
		pc->dest_uri[0] = '\0';
	return pc->dest_uri[0] ? NULL : "the destination's daemon is not known: set [recovery] "
		"destination-uri";
}

/* Until the verdict is "proven": whether the agent could resume a break of this job, and where
 * to.  Every PEER_LOOK_EVERY samples of a job started with --postcopy (no other can break in
 * post-copy); the versions once, the lookups in /proc at most PEER_LOOKS_MAX times. */
static void learn(struct actuator *a, struct act_job *job, void *handle,
		  const struct act_pc_context *ctx)
{
	struct act_pc *pc = &job->pc;
	char err[ACT_ERR_MAX], buf[sizeof(pc->why_not)];
	const char *why, *dest;
	uint8_t verdict;

	if (pc->proven == ACT_PC_PROVEN || !handle || pc->samples++ % PEER_LOOK_EVERY ||
	    !(job->flags & ACT_MIGRATE_POSTCOPY))
		return;
	if (!pc->libvirt_version &&
	    a->ops->versions(handle, &pc->libvirt_version, &pc->hv_version, err, sizeof(err)) < 0)
		pc->libvirt_version = pc->hv_version = 0;
	/* Also when the domain wants no recovery: the operator is told where to resume it to. */
	dest = find_destination(a, job, handle, ctx->broken);
	pc->lookups++;
	why = why_not(job, buf, sizeof(buf));
	if (!why)
		why = dest;
	pc->capable = !why;
	if (!why && a->advisory)
		why = "advisory mode";
	verdict = why ? ACT_PC_NOT_PROVEN : ACT_PC_PROVEN;
	if (verdict == pc->proven && (!why || strcmp(why, pc->why_not) == 0))
		return;
	pc->proven = verdict;
	str_copy(pc->why_not, sizeof(pc->why_not), why ? why : "");
	if (why)
		log_job(job, LOG_INFO, NULL, "a broken post-copy would not be resumed by migtuned: "
			"%s", why);
	else
		log_job(job, LOG_INFO, NULL, "post-copy recovery proven: libvirt %lu.%lu.%lu, "
			"QEMU %lu.%lu.%lu, a break is resumed to %s", pc->libvirt_version / 1000000,
			pc->libvirt_version / 1000 % 1000, pc->libvirt_version % 1000,
			pc->hv_version / 1000000, pc->hv_version / 1000 % 1000,
			pc->hv_version % 1000, pc->dest_uri);
}

bool actuator_pc_proven(const struct act_job *job)
{
	return job->pc.proven == ACT_PC_PROVEN;
}

bool actuator_pc_busy(const struct act_job *job)
{
	return job->pc.resume || job->pc.interrupt;
}

/* The link: carrier up and no errors or drops, since when; a carrier that comes back opens a new
 * round of attempts. */
static void link_watch(struct act_pc *pc, const struct act_pc_context *ctx)
{
	uint64_t now = ctx->now_ns;

	if (ctx->nic_carrier == MIG_NIC_CARRIER_DOWN) {
		if (!pc->carrier_lost_ns)
			pc->carrier_lost_ns = now;
		pc->healthy_ns = 0;
	} else if (ctx->nic_errors_delta || ctx->nic_drops_delta) {
		pc->healthy_ns = 0;
	} else if (!pc->healthy_ns) {
		pc->healthy_ns = now;
		if (pc->carrier == MIG_NIC_CARRIER_DOWN) {
			pc->attempts = 0;
			pc->backoff_ms = 0;
			pc->retry_ns = 0;
			pc->gave_up = false;
		}
	}
	pc->carrier = ctx->nic_carrier;
}

/* Broken: say once what happens now; resume when the link allows: healthy for settle-ms since
 * the break too (QEMU takes a moment to pause its side; a resume before that is refused with
 * "QEMU reports migration is still running"). */
static uint32_t broken(struct actuator *a, struct act_job *job, uint64_t now)
{
	struct act_pc *pc = &job->pc;
	char cmd[1400], why[ACT_ERR_MAX];
	uint64_t since;
	bool healthy;

	if (!pc->broken) {
		pc->broken = true;
		pc->broken_ns = now;
		pc->told = false;
		if (pc->proven == ACT_PC_PROVEN)
			log_job(job, LOG_WARNING, NULL, "post-copy broken: the guest runs on the "
				"destination and waits for the pages held here; migtuned resumes "
				"it to %s once the link is healthy", pc->dest_uri);
	}
	if (pc->proven != ACT_PC_PROVEN) {
		if (!pc->told) {
			pc->told = true;
			command(a, job, cmd, sizeof(cmd));
			if (pc->capable)
				outcome(a, job, RING_ACT_PC_RESUME, RING_RES_ADVISORY, 0, 0,
					"would resume the broken post-copy", now);
			else
				outcome(a, job, RING_ACT_PC_RESUME, RING_RES_SKIPPED, 0, 0,
					pc->why_not, now);
			log_job(job, LOG_WARNING, "postcopy-resume", "post-copy broken: the guest "
				"runs on the destination and waits for the pages held here; migtuned "
				"does not resume it (%s); to resume it run: %s", pc->why_not, cmd);
		}
		return 0;
	}
	/* After the agent's own interrupt the link was healthy already, and libvirt has paused
	 * both sides when the call returns: no need to wait again. */
	since = pc->interrupted || pc->healthy_ns > pc->broken_ns ? pc->healthy_ns : pc->broken_ns;
	healthy = pc->healthy_ns && now - since >= (uint64_t)a->recovery.settle_ms * 1000000;
	if (pc->resume || pc->gave_up || now < pc->retry_ns || !healthy)
		return 0;
	if (pc->attempts >= a->recovery.attempts) {
		pc->gave_up = true;
		command(a, job, cmd, sizeof(cmd));
		snprintf(why, sizeof(why), "%" PRIu32 " attempts failed; waiting for the link to "
			 "come back", pc->attempts);
		outcome(a, job, RING_ACT_PC_RESUME, RING_RES_SKIPPED, 0, pc->attempts_total, why,
			now);
		log_job(job, LOG_ERR, "postcopy-resume", "post-copy still broken after %" PRIu32
			" resume attempts: migtuned tries again when the migration link comes back; "
			"to resume it by hand run: %s", pc->attempts, cmd);
		return 0;
	}
	if (start_call(a, job, CALL_RESUME, &pc->resume) < 0) {
		back_off(a, pc, now);
		return 0;
	}
	pc->attempts++;
	pc->interrupted = false;
	pc->resume->attempt = ++pc->attempts_total;
	log_job(job, LOG_NOTICE, "postcopy-resume", "resuming the broken post-copy (attempt %"
		PRIu32 ", broken %.1f s) to %s", pc->attempts_total,
		(double)(now - pc->broken_ns) / 1e9, pc->dest_uri);
	return pc->attempts_total;
}

/* Running: a stream the link left stalled is interrupted, to be resumed over a new connection. */
static void stalled(struct actuator *a, struct act_job *job, const struct act_pc_context *ctx)
{
	struct act_pc *pc = &job->pc;
	uint64_t now = ctx->now_ns, wait = (uint64_t)a->recovery.link_stall_s * 1000000000;
	uint64_t idle_since;
	bool after_link, too_long;
	char why[ACT_ERR_MAX];

	if (!a->recovery.interrupt || pc->proven != ACT_PC_PROVEN || pc->resume || pc->interrupt)
		return;
	/* The carrier came back link-stall-s ago and nothing moved since: TCP waits for its next
	 * retransmission, which after a long outage can be two minutes away.  (On the lab TCP
	 * moved again 2.9 s after a 50 s loss of the source's own carrier: it gets its chance.) */
	after_link = wait && pc->carrier_lost_ns && pc->healthy_ns && now - pc->healthy_ns >= wait &&
		     pc->progress_ns < pc->healthy_ns;
	/* Or nothing moved for stall-s while the link looked up: the fault is further away.  The
	 * time without a carrier does not count (its return is the case above). */
	idle_since = pc->progress_ns > pc->healthy_ns ? pc->progress_ns : pc->healthy_ns;
	too_long = a->recovery.stall_s && pc->healthy_ns &&
		   now - idle_since >= (uint64_t)a->recovery.stall_s * 1000000000;
	if (!after_link && !too_long)
		return;
	if (after_link)
		snprintf(why, sizeof(why), "nothing moved %.1f s after the link came back",
			 (double)(now - pc->healthy_ns) / 1e9);
	else
		snprintf(why, sizeof(why), "nothing moved for %.1f s on a link that looks up",
			 (double)(now - idle_since) / 1e9);
	/* One interrupt per stall. */
	pc->carrier_lost_ns = 0;
	pc->progress_ns = now;
	if (start_call(a, job, CALL_INTERRUPT, &pc->interrupt) < 0) {
		outcome(a, job, RING_ACT_PC_INTERRUPT, RING_RES_FAILED, -EAGAIN, 0,
			"no worker thread for the call", now);
		return;
	}
	log_job(job, LOG_NOTICE, "postcopy-interrupt", "post-copy stalled (%s): interrupting it "
		"to resume it over a new connection", why);
}

uint32_t actuator_postcopy(struct actuator *a, struct act_job *job, void *handle,
			   const struct act_pc_context *ctx)
{
	struct act_pc *pc = &job->pc;

	if (pc->interrupt)
		collect(a, job, &pc->interrupt, ctx->now_ns);
	if (pc->resume)
		collect(a, job, &pc->resume, ctx->now_ns);
	if (ctx->phase == RING_PHASE_DONE || ctx->phase == RING_PHASE_FAILED)
		return 0;
	learn(a, job, handle, ctx);
	if (ctx->phase != RING_PHASE_POSTCOPY)
		return 0;
	link_watch(pc, ctx);
	if (!pc->running || ctx->processed_bytes != pc->processed) {
		pc->running = true;
		pc->processed = ctx->processed_bytes;
		pc->progress_ns = ctx->now_ns;
		if (pc->healthy_ns)
			pc->carrier_lost_ns = 0;
	}
	if (ctx->broken)
		return broken(a, job, ctx->now_ns);
	pc->broken = false;
	stalled(a, job, ctx);
	return 0;
}

/* The job ended: a resume still in flight ended with it (its migration completed, or was
 * lost); the worker finishes on its own. */
void actuator_pc_end(struct actuator *a, struct act_job *job, uint8_t phase, uint64_t now)
{
	struct act_pc *pc = &job->pc;

	if (pc->interrupt)
		collect(a, job, &pc->interrupt, now);
	if (pc->resume)
		collect(a, job, &pc->resume, now);
	if (pc->resume && phase == RING_PHASE_DONE) {
		outcome(a, job, RING_ACT_PC_RESUME, RING_RES_APPLIED, 0, pc->resume->attempt,
			"resumed; the migration completed", now);
		log_job(job, LOG_NOTICE, "postcopy-resume", "post-copy resumed (attempt %" PRIu32
			"); the migration completed", pc->resume->attempt);
	}
	actuator_job_release(job);
}

void actuator_job_release(struct act_job *job)
{
	if (job->pc.resume)
		call_put(job->pc.resume);
	if (job->pc.interrupt)
		call_put(job->pc.interrupt);
	job->pc.resume = job->pc.interrupt = NULL;
}
