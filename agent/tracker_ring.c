/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tracker and the ring: the records it writes for a domain (events of every source, job-stats
 * samples) and for the agent itself, each counted for the status reply and reflected in the
 * domain's status; and, when a restarted agent opens a ring that still holds them, reading them
 * back to rebuild the migrations they show running.  The policy's actions are recorded by the
 * actuator (agent/actuator.c) or, without one, by the seam (tracker_advice.c).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/strutil.h"
#include "agent/tracker_impl.h"

void tracker_record_event(struct tracker *t, struct tracker_domain *d, int source, int code,
			  int detail1, int detail2, const char *op, const char *subop,
			  const char *text, uint64_t mono_ns)
{
	struct ring_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.source = (uint8_t)source;
	ev.code = code;
	ev.detail1 = detail1;
	ev.detail2 = detail2;
	str_copy(ev.op, sizeof(ev.op), op ? op : "");
	str_copy(ev.subop, sizeof(ev.subop), subop ? subop : "");
	str_copy(ev.text, sizeof(ev.text), text ? text : "");
	ring_append_at(t->ring, RING_REC_EVENT, d ? d->ring_index : RING_NO_DOMAIN, mono_ns, &ev,
		       sizeof(ev));
	tracker_count(&t->n_events);
	if (d) {
		d->cur.events++;
		d->cur.updated_mono_ns = mono_ns;
		snprintf(d->cur.last_event, sizeof(d->cur.last_event), "%s %s", ev.op, ev.subop);
	}
}

void tracker_agent_record(struct tracker *t, int kind, const char *fmt, ...)
{
	struct ring_agent a;
	va_list ap;

	memset(&a, 0, sizeof(a));
	a.kind = (uint8_t)kind;
	a.pid = (uint32_t)getpid();
	va_start(ap, fmt);
	vsnprintf(a.text, sizeof(a.text), fmt, ap);
	va_end(ap);
	ring_append(t->ring, RING_REC_AGENT, RING_NO_DOMAIN, &a, sizeof(a));
}

void tracker_record_sample(struct tracker *t, struct tracker_domain *d,
			   const struct ring_sample *s, uint64_t mono_ns)
{
	ring_append_at(t->ring, RING_REC_SAMPLE, d->ring_index, mono_ns, s, sizeof(*s));
	tracker_count(&t->n_samples);
	d->cur.samples++;
	d->cur.last = *s;
	d->cur.updated_mono_ns = mono_ns;
}


/* ---- reading back after a restart ---------------------------------------------------------- */

/*
 * The ring outlives the agent.  A tracker opened over one that holds records reads it twice: the
 * first pass finds, per domain index, the migration still open at the end (a "migration started"
 * or "found" event, or a sample, with no end after it); the second collects what that migration
 * left: its samples, its 'dirtyrate prior' event, its actions.  Records are counted per index, so
 * that the second pass finds where each job began without relying on sequence numbers.
 */

struct scan_dom {
	uint32_t idx;                     /* RING_NO_DOMAIN: slot unused */
	uint64_t nrec;                    /* records of idx seen so far */
	bool open;
	uint64_t open_at;                 /* nrec of the record that opened the job */
	uint8_t direction;
	uint64_t start_mono_ns;
	struct tracker_restored *r;       /* second pass: what is collected */
	bool have_prior;
	struct dirty_measure prior;
	uint32_t prior_age_ms;
	struct ring_sample last;
	uint64_t last_mono_ns;
	struct tracker_pc pc;             /* its post-copy's breaks, from the agent's events */
	bool incomplete;                  /* memory ran out while collecting */
};

struct scan {
	struct scan_dom *doms;
	uint32_t mask;
	int pass;
	uint32_t open;
	struct tracker *t;
	uint32_t overshoots;              /* observations of the host's overshoot replayed */
};

static bool is_migration_event(const struct ring_record *rec, const char *const *subops)
{
	const struct ring_event *e = &rec->u.event;

	if (rec->type != RING_REC_EVENT || e->source != RING_EVSRC_AGENT ||
	    strcmp(e->op, "migration") != 0)
		return false;
	for (; *subops; subops++)
		if (strcmp(e->subop, *subops) == 0)
			return true;
	return false;
}

static bool opens_job(const struct ring_record *rec)
{
	static const char *const subops[] = { "started", "found", NULL };

	return is_migration_event(rec, subops);
}

static bool ends_job(const struct ring_record *rec)
{
	static const char *const subops[] = { "completed", "failed", "aborted", "unknown", NULL };

	return is_migration_event(rec, subops) ||
	       (rec->type == RING_REC_SAMPLE && (rec->u.sample.flags & RING_SAMPLE_F_END));
}

static void scan_first(struct scan_dom *sd, const struct ring_record *rec, uint64_t ord)
{
	if (opens_job(rec) && (rec->u.event.detail1 == RING_DIR_OUT ||
			       rec->u.event.detail1 == RING_DIR_IN)) {
		sd->open = true;
		sd->open_at = ord;
		sd->direction = (uint8_t)rec->u.event.detail1;
		sd->start_mono_ns = rec->mono_ns;
	} else if (ends_job(rec)) {
		sd->open = false;
	} else if (rec->type == RING_REC_SAMPLE && !sd->open && rec->u.sample.direction) {
		/* a sample with no start before it (a ring written before start records) */
		sd->open = true;
		sd->open_at = ord;
		sd->direction = rec->u.sample.direction;
		sd->start_mono_ns = rec->mono_ns;
	}
}

/* Appends rec to a growing array; false when memory ran out (the record is left out). */
static bool keep(struct ring_record **arr, uint32_t *n, const struct ring_record *rec)
{
	if ((*n & (*n - 1)) == 0) {     /* 0, 1, 2, 4, ...: grow to the next power of two */
		struct ring_record *a = realloc(*arr, sizeof(**arr) * (*n ? 2 * *n : 1));

		if (!a)
			return false;
		*arr = a;
	}
	(*arr)[(*n)++] = *rec;
	return true;
}

/* A break of the post-copy and its recovery (docs/recovery.md): a break still open when the
 * agent stopped goes on from when it began, not from the restart. */
static void scan_postcopy(struct scan_dom *sd, const struct ring_record *rec)
{
	const struct ring_event *e = &rec->u.event;
	struct tracker_pc *pc = &sd->pc;

	if (e->code == RING_AGEV_PC_BROKEN) {
		pc->broken_ns = rec->mono_ns;
		pc->breaks = e->detail2 > 0 ? (uint32_t)e->detail2 : pc->breaks + 1;
		if (!pc->since_ns && e->detail1 > 0 &&
		    (uint64_t)e->detail1 * 1000000 < rec->mono_ns)
			pc->since_ns = rec->mono_ns - (uint64_t)e->detail1 * 1000000;
	} else if (e->code == RING_AGEV_PC_RECOVERED) {
		pc->broken_ns = 0;
		if (e->detail2 >= 0)
			pc->broken_total_ns = (uint64_t)e->detail2 * 1000000;
	}
}

static void scan_second(struct scan_dom *sd, const struct ring_record *rec)
{
	struct tracker_restored *r = sd->r;

	switch (rec->type) {
	case RING_REC_SAMPLE:
		sd->last = rec->u.sample;
		sd->last_mono_ns = rec->mono_ns;
		if (!keep(&r->samples, &r->n_samples, rec))
			sd->incomplete = true;
		break;
	case RING_REC_EVENT:
		r->events++;
		if (rec->u.event.source == RING_EVSRC_AGENT &&
		    rec->u.event.code == RING_AGEV_PRIOR_DIRTY && rec->u.event.detail1 > 0) {
			unsigned period = 0;

			sd->have_prior = true;
			sd->prior.bps = (uint64_t)rec->u.event.detail1 * 1024;
			/* the window's length is only in the words: "40.0 MiB/s over 1000 ms, ..." */
			if (sscanf(rec->u.event.text, "%*f MiB/s over %u ms", &period) == 1)
				sd->prior.period_ms = period;
			sd->prior_age_ms = rec->u.event.detail2 > 0 ? (uint32_t)rec->u.event.detail2 : 0;
			sd->prior.measured_mono_ns = rec->mono_ns;
		}
		break;
	case RING_REC_ACTION:
		if (!keep(&r->actions, &r->n_actions, rec))
			sd->incomplete = true;
		break;
	default:
		break;
	}
	if (rec->type == RING_REC_EVENT && rec->u.event.source == RING_EVSRC_AGENT)
		scan_postcopy(sd, rec);
}

static void scan_record(struct scan *sc, const struct ring_record *rec)
{
	struct scan_dom *sd;

	/* the host's overshoot: every observation the ring holds, oldest first, whatever became
	 * of its domain's entry */
	if (sc->pass == 1 && rec->type == RING_REC_EVENT && tracker_overshoot_replay(sc->t, &rec->u.event))
		sc->overshoots++;
	if (rec->domain == RING_NO_DOMAIN)
		return;
	sd = &sc->doms[rec->domain & sc->mask];
	if (sd->idx != rec->domain) {
		/* The table slot went to a newer domain index: the older one's records are of a
		 * domain the ring no longer names. */
		if (sd->idx != RING_NO_DOMAIN && rec->domain < sd->idx)
			return;
		if (sc->pass == 2)
			return;
		memset(sd, 0, sizeof(*sd));
		sd->idx = rec->domain;
	}
	sd->nrec++;
	if (sc->pass == 1)
		scan_first(sd, rec, sd->nrec);
	else if (sd->r && sd->nrec >= sd->open_at)
		scan_second(sd, rec);
}

/* Reads every record the ring holds, oldest first.  A slot left half-written by the dead agent
 * costs the reader one bounded wait (shm/ring.c), never more than a second in all. */
static int scan_ring(struct ring_reader *r, struct scan *sc)
{
	uint64_t t0 = ring_now_mono_ns();
	struct ring_record rec;
	int k;

	ring_reader_seek_oldest(r);
	for (;;) {
		k = ring_read(r, &rec, NULL, NULL);
		if (k < 0)
			return k;
		if (k == 1) {
			scan_record(sc, &rec);
			continue;
		}
		if (ring_reader_cursor(r) >= ring_reader_head(r) ||
		    ring_now_mono_ns() - t0 > UINT64_C(1000000000))
			return 0;
		usleep(5000);
	}
}

/* The entry of one migration the ring shows running. */
static bool rebuild(struct tracker *t, struct ring_reader *rr, struct scan_dom *sd)
{
	struct tracker_restored *r = sd->r;
	char name[RING_NAME_MAX + 1];
	struct tracker_domain *d;
	uint8_t uuid[16];

	if (ring_domain_lookup(rr, sd->idx, uuid, name) < 0) {
		log_warn("ring: a running migration of domain #%" PRIu32 " cannot be rebuilt: the "
			 "ring's domain table no longer names it", sd->idx);
		return false;
	}
	if (sd->incomplete) {
		log_warn("%s: a running migration cannot be rebuilt from the ring: out of memory",
			 name);
		return false;
	}
	d = tracker_get(t, uuid, name);
	if (!d || d->restored || d->cur.active)
		return false;             /* a newer index of the same domain came first */
	r->direction = sd->direction;
	r->start_mono_ns = sd->start_mono_ns;
	if (r->n_samples && sd->last.elapsed_ms &&
	    (uint64_t)sd->last.elapsed_ms * 1000000 < sd->last_mono_ns)
		r->job_start_mono_ns = sd->last_mono_ns - (uint64_t)sd->last.elapsed_ms * 1000000;
	d->cur.direction = sd->direction;
	d->cur.phase = r->n_samples ? sd->last.phase : RING_PHASE_SETUP;
	d->cur.started_mono_ns = sd->start_mono_ns;
	d->cur.samples = r->n_samples;
	d->cur.events = r->events;
	d->cur.last = sd->last;
	d->cur.updated_mono_ns = sd->last_mono_ns ? sd->last_mono_ns : sd->start_mono_ns;
	/* The prior rate was looked up at the job's first sample: not again (the new agent has
	 * measured nothing yet, and cannot while the job runs). */
	d->prior_looked = r->n_samples > 0 || sd->have_prior;
	if (sd->have_prior) {
		d->prior = sd->prior;
		d->prior_age_ms = sd->prior_age_ms;
	}
	d->pc = sd->pc;
	d->restored = r;
	sd->r = NULL;
	/* An outgoing job is polled at once: libvirt's job statistics confirm it or say how it
	 * ended.  An incoming one waits for discovery or its events (tracker_discovered). */
	d->cur.active = d->cur.direction == RING_DIR_OUT;
	d->want_poll = d->cur.active;
	log_domain(LOG_INFO, d->name, d->uuid, "%s: the ring shows an %s migration running "
		   "(%" PRIu32 " samples, %" PRIu32 " actions); asking libvirt whether it still "
		   "runs", d->name, d->cur.direction == RING_DIR_OUT ? "outgoing" : "incoming",
		   r->n_samples, r->n_actions);
	tracker_publish(d);
	return true;
}

unsigned tracker_restore(struct tracker *t)
{
	struct ring_header h;
	struct ring_reader *rr;
	struct scan sc = { .t = t };
	unsigned n = 0;
	int r;

	r = ring_reader_open(ring_writer_name(t->ring), &rr);
	if (r < 0) {
		log_warn("ring: cannot read %s back (%s): migrations running before this start are "
			 "not rebuilt", ring_writer_name(t->ring), strerror(-r));
		return 0;
	}
	if (ring_reader_snapshot_header(rr, &h) < 0 || !h.domain_slots)
		goto out;
	sc.mask = h.domain_slots - 1;
	sc.doms = calloc(h.domain_slots, sizeof(*sc.doms));
	if (!sc.doms)
		goto out;
	for (uint32_t i = 0; i <= sc.mask; i++)
		sc.doms[i].idx = RING_NO_DOMAIN;
	sc.pass = 1;
	if (scan_ring(rr, &sc) < 0)
		goto out;
	if (sc.overshoots)
		tracker_overshoot_restored(t, sc.overshoots);
	for (uint32_t i = 0; i <= sc.mask; i++) {
		struct scan_dom *sd = &sc.doms[i];

		if (sd->idx == RING_NO_DOMAIN || !sd->open)
			continue;
		sd->r = calloc(1, sizeof(*sd->r));
		if (!sd->r)
			continue;
		sd->nrec = 0;
		sc.open++;
	}
	if (!sc.open)
		goto out;
	sc.pass = 2;
	if (scan_ring(rr, &sc) < 0)
		goto out;
	for (uint32_t i = 0; i <= sc.mask; i++)
		if (sc.doms[i].r && rebuild(t, rr, &sc.doms[i]))
			n++;
out:
	if (sc.doms)
		for (uint32_t i = 0; i <= sc.mask; i++)
			tracker_restored_free(sc.doms[i].r);
	free(sc.doms);
	ring_reader_close(rr);
	return n;
}
