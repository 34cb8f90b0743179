/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "agent/dirtyrate.h"
#include "agent/log.h"
#include "agent/strutil.h"

#define NS_PER_MS UINT64_C(1000000)
#define NEVER UINT64_MAX
/* A calculation still running when read (a slow QEMU) is read again this often, this many times. */
#define REREAD_MS 250
#define REREADS 4

struct dr_entry {
	uint8_t uuid[16];
	char name[DIRTYRATE_NAME_MAX + 1];
	uint64_t seen_mono_ns;
	/* The two latest: a measurement whose window overlapped a job's start is not a prior one,
	 * the one before it is. */
	struct dirty_measure cur, prev;
	bool have_cur, have_prev;
};

struct dr_soon {
	uint8_t uuid[16];
	uint64_t due_mono_ns;
};

struct dirtyrate {
	const struct dirtyrate_ops *ops;
	void *ctx;
	uint32_t settle_ms, retry_ms;
	int efd;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;            /* guards everything down to the scratch space */
	uint32_t interval_s;
	bool stop, kick, unsupported;
	uint64_t sweeps;
	struct dr_entry *table;          /* DIRTYRATE_MAX_DOMAINS */
	size_t n;
	struct dr_soon soon[DIRTYRATE_SOON_MAX];
	size_t n_soon;

	/* Measuring thread only. */
	struct dirtyrate_dom *doms, *picked;
	struct dirtyrate_stat *stats;
	uint64_t *started_ns;
	char last_error[256];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* ---- stats parsing ---------------------------------------------------------------------- */

static bool param_int(const virTypedParameter *p, int64_t *ret)
{
	switch (p->type) {
	case VIR_TYPED_PARAM_INT: *ret = p->value.i; return true;
	case VIR_TYPED_PARAM_UINT: *ret = p->value.ui; return true;
	case VIR_TYPED_PARAM_LLONG: *ret = p->value.l; return true;
	case VIR_TYPED_PARAM_ULLONG:
		*ret = p->value.ul > INT64_MAX ? INT64_MAX : (int64_t)p->value.ul;
		return true;
	default: return false;
	}
}

int dirtyrate_parse(const virTypedParameter *params, int nparams, struct dirtyrate_stat *ret)
{
	struct dirtyrate_stat s = { .calc_status = DIRTYRATE_ABSENT, .page_sampling = true };
	int64_t v;

	for (int i = 0; i < nparams; i++) {
		const virTypedParameter *p = &params[i];
		const char *f;

		if (strncmp(p->field, "dirtyrate.", 10) != 0)
			continue;
		f = p->field + 10;
		if (strcmp(f, "calc_mode") == 0) {
			/* libvirt only names the mode since it has more than one. */
			s.page_sampling = p->type == VIR_TYPED_PARAM_STRING && p->value.s &&
				strcmp(p->value.s, "page-sampling") == 0;
			continue;
		}
		if (!param_int(p, &v))
			continue;
		if (strcmp(f, "calc_status") == 0) {
			s.calc_status = v >= DIRTYRATE_UNSTARTED && v <= DIRTYRATE_MEASURED ? (int)v :
				DIRTYRATE_UNSTARTED;
		} else if (strcmp(f, "megabytes_per_second") == 0) {
			if (v < 0)
				return -EINVAL;
			s.mibs = (uint64_t)v;
		} else if (strcmp(f, "calc_period") == 0) {
			if (v < 0 || v > UINT32_MAX / 1000)
				return -EINVAL;
			s.period_s = (uint32_t)v;
		}
	}
	*ret = s;
	return 0;
}

uint64_t dirtyrate_stat_bps(const struct dirtyrate_stat *s)
{
	/* Measured with our mode; a zero rate is a real result (an idle guest), kept as 1 byte/s
	 * so that 0 keeps meaning "not measured" in struct mig_limits. */
	if (s->calc_status != DIRTYRATE_MEASURED || !s->page_sampling)
		return 0;
	if (s->mibs > UINT64_MAX >> 20)
		return UINT64_MAX;
	return s->mibs ? s->mibs << 20 : 1;
}

uint32_t dirtyrate_age_ms(const struct dirty_measure *m, uint64_t job_start_mono_ns)
{
	uint64_t d;

	if (job_start_mono_ns <= m->measured_mono_ns)
		return 0;
	d = (job_start_mono_ns - m->measured_mono_ns) / NS_PER_MS;
	return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* ---- the table -------------------------------------------------------------------------- */

int dirtyrate_new(const struct dirtyrate_opts *opts, struct dirtyrate **ret)
{
	struct dirtyrate *dr;

	if (!opts || !opts->ops || !opts->ops->list || !opts->ops->start || !opts->ops->read ||
	    !opts->interval_s)
		return -EINVAL;
	dr = calloc(1, sizeof(*dr));
	if (!dr)
		return -ENOMEM;
	dr->ops = opts->ops;
	dr->ctx = opts->ctx;
	dr->interval_s = opts->interval_s;
	dr->settle_ms = opts->settle_ms ? opts->settle_ms : 500;
	dr->retry_ms = opts->retry_ms ? opts->retry_ms : 2000;
	dr->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dr->table = calloc(DIRTYRATE_MAX_DOMAINS, sizeof(*dr->table));
	dr->doms = calloc(DIRTYRATE_MAX_DOMAINS, sizeof(*dr->doms));
	dr->picked = calloc(DIRTYRATE_MAX_DOMAINS, sizeof(*dr->picked));
	dr->stats = calloc(DIRTYRATE_MAX_DOMAINS, sizeof(*dr->stats));
	dr->started_ns = calloc(DIRTYRATE_MAX_DOMAINS, sizeof(*dr->started_ns));
	pthread_mutex_init(&dr->lock, NULL);
	if (dr->efd < 0 || !dr->table || !dr->doms || !dr->picked || !dr->stats ||
	    !dr->started_ns) {
		int r = dr->efd < 0 ? -errno : -ENOMEM;

		dirtyrate_free(dr);
		return r;
	}
	*ret = dr;
	return 0;
}

static struct dr_entry *find_locked(struct dirtyrate *dr, const uint8_t uuid[16])
{
	for (size_t i = 0; i < dr->n; i++)
		if (memcmp(dr->table[i].uuid, uuid, 16) == 0)
			return &dr->table[i];
	return NULL;
}

void dirtyrate_store(struct dirtyrate *dr, const uint8_t uuid[16], const char *name,
		     const struct dirty_measure *m)
{
	struct dr_entry *e;

	pthread_mutex_lock(&dr->lock);
	e = find_locked(dr, uuid);
	if (!e) {
		if (dr->n < DIRTYRATE_MAX_DOMAINS) {
			e = &dr->table[dr->n++];
		} else {
			/* Full: the domain unseen for longest makes room. */
			e = &dr->table[0];
			for (size_t i = 1; i < dr->n; i++)
				if (dr->table[i].seen_mono_ns < e->seen_mono_ns)
					e = &dr->table[i];
		}
		memset(e, 0, sizeof(*e));
		memcpy(e->uuid, uuid, 16);
	}
	str_copy(e->name, sizeof(e->name), name ? name : "");
	e->prev = e->cur;
	e->have_prev = e->have_cur;
	e->cur = *m;
	e->have_cur = true;
	if (m->measured_mono_ns > e->seen_mono_ns)
		e->seen_mono_ns = m->measured_mono_ns;
	pthread_mutex_unlock(&dr->lock);
}

void dirtyrate_seen(struct dirtyrate *dr, const uint8_t uuid[16], uint64_t now_mono_ns)
{
	struct dr_entry *e;

	pthread_mutex_lock(&dr->lock);
	e = find_locked(dr, uuid);
	if (e && now_mono_ns > e->seen_mono_ns)
		e->seen_mono_ns = now_mono_ns;
	pthread_mutex_unlock(&dr->lock);
}

size_t dirtyrate_forget(struct dirtyrate *dr, uint64_t now_mono_ns)
{
	size_t dropped = 0;
	uint64_t keep_ns;

	pthread_mutex_lock(&dr->lock);
	/* Paused sweeps see nothing: forgetting then would empty the table for no reason. */
	keep_ns = (uint64_t)dr->interval_s * DIRTYRATE_FORGET_SWEEPS * 1000 * NS_PER_MS;
	for (size_t i = 0; keep_ns && i < dr->n;) {
		if (now_mono_ns > dr->table[i].seen_mono_ns &&
		    now_mono_ns - dr->table[i].seen_mono_ns > keep_ns) {
			dr->table[i] = dr->table[--dr->n];
			dropped++;
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&dr->lock);
	return dropped;
}

int dirtyrate_lookup(void *arg, const uint8_t uuid[16], uint64_t before_mono_ns,
		     struct dirty_measure *ret)
{
	struct dirtyrate *dr = arg;
	struct dr_entry *e;
	int r = -ENOENT;

	if (!dr)
		return -ENOENT;
	pthread_mutex_lock(&dr->lock);
	e = find_locked(dr, uuid);
	if (e && e->have_cur && e->cur.measured_mono_ns <= before_mono_ns) {
		*ret = e->cur;
		r = 0;
	} else if (e && e->have_prev && e->prev.measured_mono_ns <= before_mono_ns) {
		*ret = e->prev;
		r = 0;
	}
	pthread_mutex_unlock(&dr->lock);
	return r;
}

size_t dirtyrate_count(struct dirtyrate *dr)
{
	size_t n;

	pthread_mutex_lock(&dr->lock);
	n = dr->n;
	pthread_mutex_unlock(&dr->lock);
	return n;
}

bool dirtyrate_unsupported(struct dirtyrate *dr)
{
	bool u;

	pthread_mutex_lock(&dr->lock);
	u = dr->unsupported;
	pthread_mutex_unlock(&dr->lock);
	return u;
}

uint64_t dirtyrate_sweeps(struct dirtyrate *dr)
{
	uint64_t n;

	pthread_mutex_lock(&dr->lock);
	n = dr->sweeps;
	pthread_mutex_unlock(&dr->lock);
	return n;
}

/* ---- requests from other threads -------------------------------------------------------- */

static void wake(struct dirtyrate *dr)
{
	uint64_t one = 1;

	/* A full counter still wakes the thread: nothing to do when the write fails. */
	if (write(dr->efd, &one, sizeof(one)) < 0) {
	}
}

void dirtyrate_soon(struct dirtyrate *dr, const uint8_t uuid[16], uint32_t delay_ms)
{
	uint64_t due = now_ns() + (uint64_t)delay_ms * NS_PER_MS;
	size_t i;

	if (!dr)
		return;
	pthread_mutex_lock(&dr->lock);
	for (i = 0; i < dr->n_soon && memcmp(dr->soon[i].uuid, uuid, 16) != 0; i++)
		;
	if (i < dr->n_soon) {
		dr->soon[i].due_mono_ns = due;
	} else if (dr->n_soon < DIRTYRATE_SOON_MAX) {
		memcpy(dr->soon[dr->n_soon].uuid, uuid, 16);
		dr->soon[dr->n_soon++].due_mono_ns = due;
	} else {
		/* A host starting many guests at once: one sweep covers them all. */
		dr->kick = true;
	}
	pthread_mutex_unlock(&dr->lock);
	wake(dr);
}

void dirtyrate_kick(struct dirtyrate *dr)
{
	if (!dr)
		return;
	pthread_mutex_lock(&dr->lock);
	dr->kick = true;
	pthread_mutex_unlock(&dr->lock);
	wake(dr);
}

void dirtyrate_set_interval(struct dirtyrate *dr, uint32_t interval_s)
{
	if (!dr)
		return;
	pthread_mutex_lock(&dr->lock);
	dr->interval_s = interval_s;
	pthread_mutex_unlock(&dr->lock);
	wake(dr);
}

/* ---- one sweep -------------------------------------------------------------------------- */

static bool stopping(struct dirtyrate *dr)
{
	bool s;

	pthread_mutex_lock(&dr->lock);
	s = dr->stop;
	pthread_mutex_unlock(&dr->lock);
	return s;
}

/* Waits ms on the eventfd; requests that arrive meanwhile do not cut it short, a stop does.
 * Returns false when stopping. */
static bool pause_ms(struct dirtyrate *dr, uint32_t ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * NS_PER_MS, now, v;

	while (!stopping(dr) && (now = now_ns()) < end) {
		struct pollfd p = { .fd = dr->efd, .events = POLLIN };
		uint64_t left_ms = (end - now + NS_PER_MS - 1) / NS_PER_MS;

		if (poll(&p, 1, (int)left_ms) > 0 && read(dr->efd, &v, sizeof(v)) < 0) {
			/* drained by another read: fine */
		}
	}
	return !stopping(dr);
}

/* The sweep asked for: all domains, or those whose "soon" request is due (taken out of the set). */
static bool wanted(struct dirtyrate *dr, const struct dirtyrate_dom *d, bool all, uint64_t now)
{
	bool w = all;

	pthread_mutex_lock(&dr->lock);
	for (size_t i = 0; i < dr->n_soon; i++) {
		if (memcmp(dr->soon[i].uuid, d->uuid, 16) != 0)
			continue;
		if (all || dr->soon[i].due_mono_ns <= now) {
			dr->soon[i] = dr->soon[--dr->n_soon];
			w = true;
		}
		break;
	}
	pthread_mutex_unlock(&dr->lock);
	return w;
}

/* Due requests whose domain is not running (or not listed) are dropped. */
static void drop_due(struct dirtyrate *dr, bool all, uint64_t now)
{
	pthread_mutex_lock(&dr->lock);
	for (size_t i = 0; i < dr->n_soon;) {
		if (all || dr->soon[i].due_mono_ns <= now)
			dr->soon[i] = dr->soon[--dr->n_soon];
		else
			i++;
	}
	pthread_mutex_unlock(&dr->lock);
}

static void note_error(struct dirtyrate *dr, const char *err)
{
	/* One line per distinct trouble, not one per sweep. */
	if (strcmp(err, dr->last_error) != 0) {
		log_warn("dirty rate: %s", err);
		str_copy(dr->last_error, sizeof(dr->last_error), err);
	}
}

int dirtyrate_sweep(struct dirtyrate *dr, bool all)
{
	char err[256] = "";
	uint64_t now = now_ns();
	size_t np = 0, measured = 0;
	int n, r;

	if (dirtyrate_unsupported(dr))
		return -EOPNOTSUPP;
	if (all) {
		pthread_mutex_lock(&dr->lock);
		dr->kick = false;
		pthread_mutex_unlock(&dr->lock);
	}
	n = dr->ops->list(dr->ctx, dr->doms, DIRTYRATE_MAX_DOMAINS, err, sizeof(err));
	if (n < 0) {
		if (n != -ENOTCONN)
			note_error(dr, err[0] ? err : "cannot list the running domains");
		return n;
	}
	for (int i = 0; i < n; i++) {
		dirtyrate_seen(dr, dr->doms[i].uuid, now);
		/* A domain with a job is left alone: libvirt would hold the calculation off until
		 * its own timeout and then refuse it. */
		if (wanted(dr, &dr->doms[i], all, now) && !dr->doms[i].busy)
			dr->picked[np++] = dr->doms[i];
	}
	drop_due(dr, all, now);
	if (all)
		dirtyrate_forget(dr, now);
	for (size_t i = 0; i < np;) {
		err[0] = '\0';
		r = dr->ops->start(dr->ctx, &dr->picked[i], DIRTYRATE_PERIOD_S, err, sizeof(err));
		if (r == -EOPNOTSUPP) {
			log_warn("dirty rate: %s; not measuring dirty rates (the policy decides from "
				 "the migration's own passes)", err[0] ? err : "not supported");
			pthread_mutex_lock(&dr->lock);
			dr->unsupported = true;
			pthread_mutex_unlock(&dr->lock);
			return -EOPNOTSUPP;
		}
		if (r < 0) {
			/* A job that began since the list, or a domain that went: next time. */
			log_debug("dirty rate: %s: not measured: %s", dr->picked[i].name,
				  err[0] ? err : strerror(-r));
			dr->picked[i] = dr->picked[--np];
			continue;
		}
		dr->started_ns[i] = now_ns();
		i++;
	}
	if (!np)
		return 0;
	if (!pause_ms(dr, DIRTYRATE_PERIOD_S * 1000 + dr->settle_ms))
		return -ECANCELED;
	for (int tries = 0; tries <= REREADS; tries++) {
		bool pending = false;

		err[0] = '\0';
		r = dr->ops->read(dr->ctx, dr->picked, np, dr->stats, err, sizeof(err));
		if (r < 0) {
			note_error(dr, err[0] ? err : "cannot read the dirty-rate statistics");
			return r;
		}
		for (size_t i = 0; i < np; i++)
			pending |= dr->stats[i].calc_status == DIRTYRATE_MEASURING;
		if (!pending || tries == REREADS || !pause_ms(dr, REREAD_MS))
			break;
	}
	dr->last_error[0] = '\0';
	for (size_t i = 0; i < np; i++) {
		const struct dirtyrate_stat *s = &dr->stats[i];
		struct dirty_measure m;

		m.bps = dirtyrate_stat_bps(s);
		if (!m.bps) {
			log_debug("dirty rate: %s: no result (status %d)", dr->picked[i].name,
				  s->calc_status);
			continue;
		}
		m.period_ms = (s->period_s ? s->period_s : DIRTYRATE_PERIOD_S) * 1000;
		m.measured_mono_ns = dr->started_ns[i] + (uint64_t)m.period_ms * NS_PER_MS;
		dirtyrate_store(dr, dr->picked[i].uuid, dr->picked[i].name, &m);
		log_debug("dirty rate: %s: %" PRIu64 " MiB/s over %" PRIu32 " ms (page sampling)",
			  dr->picked[i].name, s->mibs, m.period_ms);
		measured++;
	}
	if (measured) {
		pthread_mutex_lock(&dr->lock);
		dr->sweeps++;
		pthread_mutex_unlock(&dr->lock);
	}
	return (int)measured;
}

/* ---- the thread ------------------------------------------------------------------------- */

static void *dirtyrate_thread(void *arg)
{
	struct dirtyrate *dr = arg;
	uint64_t next_all = now_ns();        /* the first sweep at once */

	for (;;) {
		uint64_t now = now_ns(), soon_due = NEVER, wait_until, v;
		uint32_t interval_s;
		bool kick, stop, unsupported;
		struct pollfd p = { .fd = dr->efd, .events = POLLIN };
		int timeout_ms, r;

		pthread_mutex_lock(&dr->lock);
		interval_s = dr->interval_s;
		kick = dr->kick;
		stop = dr->stop;
		unsupported = dr->unsupported;
		for (size_t i = 0; i < dr->n_soon; i++)
			if (dr->soon[i].due_mono_ns < soon_due)
				soon_due = dr->soon[i].due_mono_ns;
		pthread_mutex_unlock(&dr->lock);
		if (stop)
			break;
		if (unsupported) {
			soon_due = NEVER;
			next_all = NEVER;
		} else if (kick || (interval_s && now >= next_all)) {
			r = dirtyrate_sweep(dr, true);
			now = now_ns();
			next_all = r == -ENOTCONN ? now + (uint64_t)dr->retry_ms * NS_PER_MS :
				interval_s ? now + (uint64_t)interval_s * 1000 * NS_PER_MS : NEVER;
			continue;
		} else if (soon_due <= now) {
			(void)dirtyrate_sweep(dr, false);
			continue;
		}
		if (!interval_s && !kick)
			next_all = NEVER;
		else if (next_all == NEVER)
			next_all = now + (uint64_t)interval_s * 1000 * NS_PER_MS;
		wait_until = next_all < soon_due ? next_all : soon_due;
		if (wait_until == NEVER)
			timeout_ms = -1;
		else
			timeout_ms = (int)((wait_until - now + NS_PER_MS - 1) / NS_PER_MS);
		if (poll(&p, 1, timeout_ms) > 0 && read(dr->efd, &v, sizeof(v)) < 0) {
			/* nothing pending after all */
		}
	}
	return NULL;
}

void dirtyrate_set_ctx(struct dirtyrate *dr, void *ctx)
{
	dr->ctx = ctx;
}

int dirtyrate_start(struct dirtyrate *dr)
{
	int r = -pthread_create(&dr->thread, NULL, dirtyrate_thread, dr);

	if (r == 0)
		dr->started = true;
	return r;
}

void dirtyrate_free(struct dirtyrate *dr)
{
	if (!dr)
		return;
	if (dr->started) {
		pthread_mutex_lock(&dr->lock);
		dr->stop = true;
		pthread_mutex_unlock(&dr->lock);
		wake(dr);
		pthread_join(dr->thread, NULL);
	}
	if (dr->efd >= 0)
		close(dr->efd);
	pthread_mutex_destroy(&dr->lock);
	free(dr->table);
	free(dr->doms);
	free(dr->picked);
	free(dr->stats);
	free(dr->started_ns);
	free(dr);
}
