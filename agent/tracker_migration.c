/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration lifecycle: how a domain's migration starts, moves through its phases and ends,
 * from what the agent is told: the hook's calls (the destination's only early sign), libvirt's
 * lifecycle, iteration and job-completed events, and the job-stats samples (tracker_ingest_sample,
 * the seam tests drive with fabricated stats).  How a migration ended comes from libvirt's own
 * word (a lifecycle event, JOB_COMPLETED, the statistics of the finished job); where there is
 * none, the outcome is recorded as unknown.  Each change is recorded (tracker_ring.c) and
 * published to the status readers; each sample of an outgoing job goes on to the policy seam
 * (tracker_advice.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>

#include "agent/log.h"
#include "agent/stats.h"
#include "agent/strutil.h"
#include "agent/tracker_impl.h"

/* A job libvirt shows after a restart is the one the ring showed when their starts (sample time
 * less the job's elapsed time) are this close. */
#define SAME_JOB_NS (3 * UINT64_C(1000000000))

static const char *direction_word(int direction)
{
	return direction == RING_DIR_OUT ? "outgoing" : "incoming";
}

void tracker_restored_free(struct tracker_restored *r)
{
	if (!r)
		return;
	free(r->samples);
	free(r->actions);
	free(r);
}

void tracker_restored_drop(struct tracker_domain *d)
{
	tracker_restored_free(d->restored);
	d->restored = NULL;
}

/* The migration of a restored entry that is not running (any more): ended while the agent was not
 * running, how is not known. */
static void end_restored(struct tracker *t, struct tracker_domain *d, const char *why,
			 uint64_t mono_ns)
{
	d->cur.active = true;
	tracker_end(t, d, RING_PHASE_UNKNOWN, why, mono_ns);
}

/* A migration starts (subop "started") or is found running (subop "found"): recorded, so that a
 * reader of the ring knows where each migration begins.  One still open before it (the other
 * direction, or the job the ring showed after a restart) is over, how is not known. */
static void start_migration(struct tracker *t, struct tracker_domain *d, int direction,
			    uint64_t mono_ns, const char *subop, const char *how)
{
	if (d->restored && !d->restored->confirmed)
		end_restored(t, d, "ended while migtuned was not running", mono_ns);
	tracker_restored_drop(d);
	tracker_end(t, d, RING_PHASE_UNKNOWN, "another migration of the domain began", mono_ns);
	d->cur.direction = (uint8_t)direction;
	d->cur.phase = RING_PHASE_SETUP;
	d->cur.active = true;
	d->cur.started_mono_ns = mono_ns;
	d->cur.samples = 0;
	memset(&d->cur.last, 0, sizeof(d->cur.last));
	d->cur.advice[0] = '\0';
	d->saw_completed = false;
	d->finished_mono_ns = 0;
	d->gone_mono_ns = 0;
	d->migrated_mono_ns = 0;
	d->want_poll = true;
	d->prior_looked = false;
	memset(&d->prior, 0, sizeof(d->prior));
	d->prior_age_ms = 0;
	memset(&d->pc, 0, sizeof(d->pc));
	/* A new job gets a fresh policy history. */
	tracker_advice_drop(d);
	tracker_record_event(t, d, RING_EVSRC_AGENT, 0, direction, 0, "migration", subop, how,
			     mono_ns);
	log_domain(LOG_INFO, d->name, d->uuid, "%s: %s migration %s (%s)", d->name,
		   direction_word(direction), subop, how);
}

/*
 * The job the ring showed is running: the entry goes on from it.  Recorded as found, with what
 * was rebuilt.  An outgoing job keeps d->restored for the policy seam, which takes it over at the
 * next sample.
 */
static void adopt_restored(struct tracker *t, struct tracker_domain *d, uint64_t mono_ns)
{
	struct tracker_restored *r = d->restored;
	char prior[40], text[80];

	d->cur.active = true;
	r->confirmed = true;
	if (d->prior.bps)
		snprintf(prior, sizeof(prior), "prior %.1f MiB/s", (double)d->prior.bps / 1048576);
	else
		snprintf(prior, sizeof(prior), "no prior rate");
	/* no comma in the text: CSV readers split on it */
	snprintf(text, sizeof(text), "rebuilt: %" PRIu32 " samples; %s", r->n_samples, prior);
	tracker_record_event(t, d, RING_EVSRC_AGENT, 0, r->direction, 0, "migration", "found", text,
			     mono_ns);
	log_domain(LOG_INFO, d->name, d->uuid, "%s: %s migration found running; rebuilt from the "
		   "ring: %" PRIu32 " samples, %" PRIu32 " actions, dirty rate before the job: %s",
		   d->name, direction_word(r->direction), r->n_samples, r->n_actions, prior);
	if (r->direction != RING_DIR_OUT)
		tracker_restored_drop(d);
}

/* How long the migration took: QEMU's elapsed time of the job when a sample had it (also for a
 * job the agent found running), else the agent's own clock from the start it saw; -1 unknown. */
static int64_t migration_duration_ms(const struct domain_status *s, uint64_t end_mono_ns)
{
	if (s->samples && s->last.elapsed_ms)
		return s->last.elapsed_ms;
	if (s->started_mono_ns && end_mono_ns >= s->started_mono_ns)
		return (int64_t)((end_mono_ns - s->started_mono_ns) / 1000000);
	return -1;
}

/* The real downtime, which only a completed job's final statistics carry; -1 unknown. */
static int64_t migration_downtime_ms(const struct domain_status *s)
{
	if (s->phase != RING_PHASE_DONE || !(s->last.flags & RING_SAMPLE_F_FINAL) ||
	    !s->last.expected_downtime_ms)
		return -1;
	return s->last.expected_downtime_ms;
}

/* ---- post-copy: breaks and recoveries (docs/recovery.md) -------------------------------- */

/* A broken post-copy's figures are frozen: it is recorded this often, its state read each time. */
#define PC_BROKEN_RECORD_NS (5 * UINT64_C(1000000000))

static int32_t ms_of(uint64_t ns)
{
	ns /= 1000000;
	return ns > INT32_MAX ? INT32_MAX : (int32_t)ns;
}

/* The guest's time split by breaks so far, this one included. */
static uint64_t pc_split_ns(const struct tracker_domain *d, uint64_t now)
{
	return d->pc.broken_total_ns + (d->pc.broken_ns && now > d->pc.broken_ns ?
					now - d->pc.broken_ns : 0);
}

static void pc_begin(struct tracker_domain *d, uint64_t now)
{
	if (!d->pc.since_ns)
		d->pc.since_ns = now;
}

/* The stream broke; how = what told the agent. */
static void pc_broken(struct tracker *t, struct tracker_domain *d, const char *how, uint64_t now)
{
	bool out = d->cur.direction == RING_DIR_OUT;
	char text[56];

	if (d->pc.broken_ns)
		return;
	d->pc.broken_ns = now;
	d->pc.breaks++;
	d->pc.recovering = false;
	d->pc.recorded_ns = 0;
	snprintf(text, sizeof(text), "stream broke (%s)", how);
	tracker_record_event(t, d, RING_EVSRC_AGENT, RING_AGEV_PC_BROKEN,
			     d->pc.since_ns ? ms_of(now - d->pc.since_ns) : 0, (int)d->pc.breaks,
			     "postcopy", "broken", text, now);
	log_domain(LOG_WARNING, d->name, d->uuid, "%s: post-copy migration stream broken (%s): "
		   "the guest runs on the destination, the pages it lacks are %s", d->name, how,
		   out ? "only on this host" : "on the source");
	pc_begin(d, now);
	d->want_poll = true;
}

void tracker_pc_recovering(struct tracker *t, struct tracker_domain *d, uint32_t attempt,
			   uint64_t now)
{
	char text[56];

	if (!d->pc.broken_ns || d->pc.recovering)
		return;
	d->pc.recovering = true;
	d->pc.mark_bytes = d->cur.last.data_processed_bytes;
	if (attempt)
		snprintf(text, sizeof(text), "resume attempt %" PRIu32, attempt);
	else
		snprintf(text, sizeof(text), "resumed by another client");
	tracker_record_event(t, d, RING_EVSRC_AGENT, RING_AGEV_PC_RECOVERING, (int)attempt,
			     ms_of(now - d->pc.broken_ns), "postcopy", "recovering", text, now);
}

static void pc_recovered(struct tracker *t, struct tracker_domain *d, const char *how,
			 uint64_t now)
{
	uint64_t ns = now > d->pc.broken_ns ? now - d->pc.broken_ns : 0;
	char text[56];

	d->pc.broken_total_ns += ns;
	d->pc.broken_ns = 0;
	d->pc.recovering = false;
	snprintf(text, sizeof(text), "split %.1f s (%s)", (double)ns / 1e9, how);
	tracker_record_event(t, d, RING_EVSRC_AGENT, RING_AGEV_PC_RECOVERED, ms_of(ns),
			     ms_of(d->pc.broken_total_ns), "postcopy", "recovered", text, now);
	log_domain(LOG_NOTICE, d->name, d->uuid, "%s: post-copy migration stream recovered after "
		   "%.1f s (%s); %.1f s split in %" PRIu32 " break(s) so far", d->name,
		   (double)ns / 1e9, how, (double)d->pc.broken_total_ns / 1e9, d->pc.breaks);
}

/* A sample of an outgoing post-copy: libvirt's state says whether it is broken (virt_poll),
 * progress whether a resume worked; the sample gets the flags that say so. */
static void pc_sample(struct tracker *t, struct tracker_domain *d, struct ring_sample *s,
		      uint64_t now)
{
	bool broken = s->flags & RING_SAMPLE_F_PC_BROKEN;

	pc_begin(d, now);
	if (broken)
		pc_broken(t, d, "libvirt state", now);
	if (d->pc.broken_ns) {
		if (!broken && !d->pc.recovering)
			tracker_pc_recovering(t, d, 0, now);
		else if (broken && d->pc.recovering && !tracker_advice_pc_busy(d))
			d->pc.recovering = false;      /* the attempt failed */
		if (!broken && d->pc.recovering && s->data_processed_bytes > d->pc.mark_bytes)
			pc_recovered(t, d, "pages move again", now);
	}
	s->flags &= (uint8_t)~(RING_SAMPLE_F_PC_BROKEN | RING_SAMPLE_F_PC_RECOVERING);
	if (d->pc.broken_ns)
		s->flags |= d->pc.recovering ? RING_SAMPLE_F_PC_RECOVERING : RING_SAMPLE_F_PC_BROKEN;
}

/* What the end of a migration says of its post-copy breaks: "" when there were none. */
static void pc_summary(const struct tracker_domain *d, uint64_t now, char *buf, size_t len)
{
	buf[0] = '\0';
	if (d->pc.breaks)
		snprintf(buf, len, "; split %.1f s in %" PRIu32 " break%s%s",
			 (double)pc_split_ns(d, now) / 1e9, d->pc.breaks, d->pc.breaks > 1 ? "s" : "",
			 d->pc.broken_ns ? ", still broken" : "");
}

void tracker_end(struct tracker *t, struct tracker_domain *d, int phase, const char *why,
		 uint64_t mono_ns)
{
	const char *outcome;
	bool ours = false;
	char pcs[64], text[160];

	if (!d->cur.active)
		return;

	if (phase == RING_PHASE_DONE && d->cur.direction == RING_DIR_OUT)
		tracker_overshoot_learn(t, d, mono_ns);
	d->cur.active = false;
	d->cur.phase = (uint8_t)phase;
	d->finished_mono_ns = mono_ns;
	d->cur.updated_mono_ns = mono_ns;
	d->gone_mono_ns = 0;
	d->migrated_mono_ns = 0;
	tracker_restored_drop(d);
	ours = tracker_advice_end(t, d, phase, mono_ns);
	outcome = phase == RING_PHASE_DONE ? "completed" : phase == RING_PHASE_UNKNOWN ? "unknown" :
		  ours ? "aborted" : "failed";
	/* The last sample says the migration is over, and how, to a reader that keys on samples. */
	if (d->cur.samples && !(d->cur.last.flags & RING_SAMPLE_F_END)) {
		struct ring_sample s = d->cur.last;

		s.phase = (uint8_t)phase;
		s.flags |= RING_SAMPLE_F_END;
		tracker_record_sample(t, d, &s, mono_ns);
	}
	pc_summary(d, mono_ns, pcs, sizeof(pcs));
	snprintf(text, sizeof(text), "%s%s", why, pcs);
	tracker_record_event(t, d, RING_EVSRC_AGENT, 0, phase, 0, "migration", outcome, text,
			     mono_ns);
	stats_migration_end(t->stats, ring_direction_name(d->cur.direction), outcome,
			    migration_duration_ms(&d->cur, mono_ns), migration_downtime_ms(&d->cur));
	log_domain(LOG_INFO, d->name, d->uuid, "%s: %s migration %s (%s)", d->name,
		   direction_word(d->cur.direction),
		   phase == RING_PHASE_DONE ? "completed" : phase == RING_PHASE_UNKNOWN ?
		   "ended, outcome unknown" : ours ? "aborted by migtuned" : "failed", text);
	tracker_publish(d);
	if (t->on_end)
		t->on_end(d, phase, ours, t->on_end_arg);
}

struct tracker_domain *tracker_begin(struct tracker *t, const uint8_t uuid[16], const char *name,
				     int direction, uint64_t mono_ns)
{
	struct tracker_domain *d = tracker_get(t, uuid, name);

	if (!d)
		return NULL;
	if (d->restored && !d->cur.active && d->restored->direction == direction) {
		adopt_restored(t, d, mono_ns);
		tracker_publish(d);
	} else if (!d->cur.active || d->cur.direction != direction) {
		start_migration(t, d, direction, mono_ns, "found", direction == RING_DIR_OUT ?
				"outgoing job running" : "incoming job running");
		tracker_publish(d);
	}
	return d;
}

void tracker_settle(struct tracker *t, struct tracker_domain *d, uint64_t mono_ns)
{
	if (d->cur.active && d->migrated_mono_ns &&
	    mono_ns - d->migrated_mono_ns >= (uint64_t)TRACKER_GONE_GRACE_MS * 1000000)
		tracker_end(t, d, RING_PHASE_DONE, "guest stopped: migrated away", mono_ns);
}

void tracker_domain_gone(struct tracker *t, struct tracker_domain *d, uint64_t mono_ns)
{
	if (!d->cur.active)
		return;
	d->want_poll = false;
	if (d->migrated_mono_ns)
		return;         /* completed: JOB_COMPLETED is on its way (tracker_settle) */
	if (d->restored && !d->restored->confirmed) {
		/* Its events, if any, came while the agent was not running. */
		tracker_end(t, d, RING_PHASE_UNKNOWN, "ended while migtuned was not running",
			    mono_ns);
		return;
	}
	if (!d->gone_mono_ns) {
		d->gone_mono_ns = mono_ns;
		log_domain(LOG_INFO, d->name, d->uuid, "%s: the domain is gone from this host; "
			   "libvirt's events will say how its migration ended", d->name);
		return;
	}
	if (mono_ns - d->gone_mono_ns >= (uint64_t)TRACKER_GONE_GRACE_MS * 1000000)
		tracker_end(t, d, RING_PHASE_UNKNOWN, "domain gone; libvirt sent no event on it",
			    mono_ns);
}

static void end_unconfirmed_incoming(struct tracker_domain *d, void *arg)
{
	struct { struct tracker *t; uint64_t now; } *c = arg;

	if (d->restored && !d->cur.active)
		end_restored(c->t, d, "not running when migtuned restarted", c->now);
}

void tracker_discovered(struct tracker *t, uint64_t mono_ns)
{
	struct { struct tracker *t; uint64_t now; } c = { t, mono_ns };

	tracker_foreach(t, end_unconfirmed_incoming, &c);
}

/* ---- hook messages ---------------------------------------------------------------------- */

/* Domains known only by name (a hook call whose XML could not be read) get a stable key derived
 * from the name, marked by the reserved variant bits 111 so it can never equal a real UUID. */
static void name_key(const char *name, uint8_t ret[16])
{
	uint64_t h1 = 1469598103934665603ULL, h2 = 0x9e3779b97f4a7c15ULL;

	for (const char *p = name; *p; p++) {
		h1 = (h1 ^ (uint8_t)*p) * 1099511628211ULL;
		h2 = (h2 ^ (uint8_t)*p) * 0xff51afd7ed558ccdULL;
	}
	memcpy(ret, &h1, 8);
	memcpy(ret + 8, &h2, 8);
	ret[8] = (uint8_t)((ret[8] & 0x1f) | 0xe0);
}

void tracker_on_hook(struct tracker *t, const struct wire_event *ev, uint64_t mono_ns)
{
	bool begin = strcmp(ev->op, "migrate") == 0 && strcmp(ev->subop, "begin") == 0;
	struct tracker_domain *d;
	uint8_t key[16];
	bool active_in;

	tracker_count(&t->n_hook);
	if (ev->flags & WIRE_EV_HAS_UUID) {
		memcpy(key, ev->uuid, 16);
		d = tracker_find(t, key);
	} else {
		d = tracker_find_name(t, ev->domain);
		if (!d) {
			name_key(ev->domain, key);
			d = tracker_find(t, key);
		}
	}
	/* Only a migration takes an entry: "migrate begin" is the destination's first sign of
	 * one.  Other calls of a domain the agent does not follow are not recorded. */
	if (!d && begin)
		d = tracker_get(t, key, ev->domain);
	if (!d)
		return;
	/* The incoming job the ring showed goes on (its QEMU is being set up). */
	if (d->restored && !d->cur.active && d->restored->direction == RING_DIR_IN &&
	    strcmp(ev->subop, "begin") == 0 && !begin)
		adopt_restored(t, d, mono_ns);
	tracker_record_event(t, d, RING_EVSRC_HOOK, 0, (int)ev->hook_pid, 0, ev->op, ev->subop,
			     ev->extra, mono_ns);
	/* The owner's settings travel in the domain XML: every hook call with XML refreshes them
	 * (the incoming side of a migration, or a start on this host after one). */
	if (ev->policy.present)
		d->owner_policy = ev->policy;
	active_in = d->cur.active && d->cur.direction == RING_DIR_IN;
	/* The destination's hook calls are the only sign of an incoming migration before QEMU
	 * runs: "migrate begin" opens it; "stopped"/"release" while it is still open mean the
	 * incoming side was torn down (abort or failure; success sends nothing). */
	if (begin) {
		if (!active_in)
			start_migration(t, d, RING_DIR_IN, mono_ns, "started", "hook: migrate begin");
	} else if ((strcmp(ev->op, "stopped") == 0 || strcmp(ev->op, "release") == 0) &&
		   active_in) {
		tracker_end(t, d, RING_PHASE_FAILED, "incoming side stopped (hook)", mono_ns);
	}
	tracker_publish(d);
}

/* ---- libvirt events --------------------------------------------------------------------- */

const char *tracker_lifecycle_name(int event)
{
	static const char *const names[] = {
		[VIR_DOMAIN_EVENT_DEFINED] = "defined", [VIR_DOMAIN_EVENT_UNDEFINED] = "undefined",
		[VIR_DOMAIN_EVENT_STARTED] = "started", [VIR_DOMAIN_EVENT_SUSPENDED] = "suspended",
		[VIR_DOMAIN_EVENT_RESUMED] = "resumed", [VIR_DOMAIN_EVENT_STOPPED] = "stopped",
		[VIR_DOMAIN_EVENT_SHUTDOWN] = "shutdown", [VIR_DOMAIN_EVENT_PMSUSPENDED] = "pmsuspended",
		[VIR_DOMAIN_EVENT_CRASHED] = "crashed",
	};

	if (event >= 0 && event < (int)(sizeof(names) / sizeof(names[0])) && names[event])
		return names[event];
	return "unknown";
}

const char *tracker_lifecycle_detail_name(int event, int detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_STARTED_BOOTED: return "booted";
		case VIR_DOMAIN_EVENT_STARTED_MIGRATED: return "migrated";
		case VIR_DOMAIN_EVENT_STARTED_RESTORED: return "restored";
		default: return "other";
		}
	case VIR_DOMAIN_EVENT_SUSPENDED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_SUSPENDED_PAUSED: return "paused";
		case VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED: return "migrated";
		case VIR_DOMAIN_EVENT_SUSPENDED_IOERROR: return "ioerror";
		case VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY: return "postcopy";
		case VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED: return "postcopy-failed";
		default: return "other";
		}
	case VIR_DOMAIN_EVENT_RESUMED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_RESUMED_UNPAUSED: return "unpaused";
		case VIR_DOMAIN_EVENT_RESUMED_MIGRATED: return "migrated";
		case VIR_DOMAIN_EVENT_RESUMED_POSTCOPY: return "postcopy";
		case VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED: return "postcopy-failed";
		default: return "other";
		}
	case VIR_DOMAIN_EVENT_STOPPED:
		switch (detail) {
		case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: return "shutdown";
		case VIR_DOMAIN_EVENT_STOPPED_DESTROYED: return "destroyed";
		case VIR_DOMAIN_EVENT_STOPPED_CRASHED: return "crashed";
		case VIR_DOMAIN_EVENT_STOPPED_MIGRATED: return "migrated";
		case VIR_DOMAIN_EVENT_STOPPED_FAILED: return "failed";
		default: return "other";
		}
	default:
		return "other";
	}
}

/*
 * The direction of the migration that a lifecycle event of a domain without an entry reveals, or
 * RING_DIR_UNKNOWN.  RESUMED/MIGRATED is not one: the source sends it too, when it resumes its
 * guest after a failed switchover.
 */
static int migration_direction(int event, int detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		return detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED ? RING_DIR_IN : RING_DIR_UNKNOWN;
	case VIR_DOMAIN_EVENT_RESUMED:
		return detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY ||
		       detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED ? RING_DIR_IN :
		       RING_DIR_UNKNOWN;
	case VIR_DOMAIN_EVENT_SUSPENDED:
		return detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED ||
		       detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY ||
		       detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED ?
		       RING_DIR_OUT : RING_DIR_UNKNOWN;
	case VIR_DOMAIN_EVENT_STOPPED:
		return detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED ? RING_DIR_OUT : RING_DIR_UNKNOWN;
	default:
		return RING_DIR_UNKNOWN;
	}
}

/* The events of an incoming migration that the ring showed running: it still is. */
static bool incoming_goes_on(int event, int detail)
{
	return migration_direction(event, detail) == RING_DIR_IN ||
	       (event == VIR_DOMAIN_EVENT_RESUMED && detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED) ||
	       (event == VIR_DOMAIN_EVENT_STOPPED && detail == VIR_DOMAIN_EVENT_STOPPED_FAILED);
}

void tracker_on_lifecycle(struct tracker *t, const uint8_t uuid[16], const char *name, int event,
			  int detail, uint64_t mono_ns)
{
	struct tracker_domain *d = tracker_find(t, uuid);
	int reveals = migration_direction(event, detail);
	bool out, in;

	/* A guest started, paused or destroyed around its migration is part of the migration's
	 * story: recorded while its entry lasts.  A domain without one gets one only when the
	 * event is a migration's (one the agent had not noticed yet). */
	if (!d) {
		if (reveals == RING_DIR_UNKNOWN)
			return;
		d = tracker_get(t, uuid, name);
		if (!d)
			return;
		start_migration(t, d, reveals, mono_ns, "started", "lifecycle event");
	} else if (d->restored && !d->cur.active && d->restored->direction == RING_DIR_IN &&
		   incoming_goes_on(event, detail)) {
		adopt_restored(t, d, mono_ns);
	}
	tracker_record_event(t, d, RING_EVSRC_LIBVIRT, VIR_DOMAIN_EVENT_ID_LIFECYCLE, event, detail,
			     "lifecycle", tracker_lifecycle_name(event),
			     tracker_lifecycle_detail_name(event, detail), mono_ns);
	out = d->cur.active && d->cur.direction == RING_DIR_OUT;
	in = d->cur.active && d->cur.direction == RING_DIR_IN;
	switch (event) {
	case VIR_DOMAIN_EVENT_SUSPENDED:
		if (out && detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED) {
			d->cur.phase = RING_PHASE_SUSPENDED;
		} else if (out && detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY) {
			/* Post-copy began, or a broken one is being resumed. */
			d->cur.phase = RING_PHASE_POSTCOPY;
			pc_begin(d, mono_ns);
			tracker_pc_recovering(t, d, 0, mono_ns);
		} else if (out && detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED) {
			/* Not the end: the job stays, the guest split until it is resumed. */
			d->cur.phase = RING_PHASE_POSTCOPY;
			pc_broken(t, d, "libvirt event", mono_ns);
		}
		d->want_poll = out;
		break;
	case VIR_DOMAIN_EVENT_STARTED:
		if (detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED) {
			if (!in)
				start_migration(t, d, RING_DIR_IN, mono_ns, "started",
						"lifecycle event");
			d->cur.phase = RING_PHASE_PRECOPY;
		}
		break;
	case VIR_DOMAIN_EVENT_RESUMED:
		if (in && detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY) {
			d->cur.phase = RING_PHASE_POSTCOPY;
			/* The destination cannot see pages move: libvirt's word that post-copy
			 * runs again is its recovery. */
			if (d->pc.broken_ns)
				pc_recovered(t, d, "libvirt: post-copy running again", mono_ns);
			pc_begin(d, mono_ns);
		} else if (in && detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED) {
			d->cur.phase = RING_PHASE_POSTCOPY;
			pc_broken(t, d, "libvirt event", mono_ns);
		} else if (in && detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED)
			tracker_end(t, d, RING_PHASE_DONE, "guest resumed on this host", mono_ns);
		else if (out)
			/* The source resumes its guest after a failed switchover; the job state
			 * (polled next) says whether the migration still runs. */
			d->want_poll = true;
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		/* STOPPED/MIGRATED is libvirt's word that the guest left for the destination, in
		 * pre-copy and post-copy alike.  JOB_COMPLETED with the final statistics follows
		 * at once: the migration ends with them (or without, TRACKER_GONE_GRACE_MS later:
		 * tracker_settle). */
		if (out && detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED)
			d->migrated_mono_ns = mono_ns;
		else if (in)
			tracker_end(t, d, RING_PHASE_FAILED, "incoming guest stopped", mono_ns);
		else if (out)
			tracker_end(t, d, RING_PHASE_FAILED, "guest stopped during migration", mono_ns);
		break;
	default:
		break;
	}
	tracker_publish(d);
}

void tracker_on_iteration(struct tracker *t, const uint8_t uuid[16], const char *name,
			  int iteration, uint64_t mono_ns)
{
	struct tracker_domain *d = tracker_get(t, uuid, name);
	char text[32];

	if (!d)
		return;
	/* An iteration event is the earliest sign of an outgoing job on the source (libvirt
	 * announces nothing when a migration starts). */
	if (!d->cur.active || d->cur.direction != RING_DIR_OUT)
		start_migration(t, d, RING_DIR_OUT, mono_ns, "started", "iteration event");
	snprintf(text, sizeof(text), "pass %d", iteration);
	tracker_record_event(t, d, RING_EVSRC_LIBVIRT, VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
			     iteration, 0, "iteration", "", text, mono_ns);
	if (d->cur.phase < RING_PHASE_PRECOPY)
		d->cur.phase = RING_PHASE_PRECOPY;
	d->want_poll = true;
	tracker_publish(d);
}

/* The sample of libvirt's final statistics: the migration ends with it (F_END), and its phase
 * (DONE: completed, FAILED: failed or cancelled) is how. */
static void record_final(struct tracker *t, struct tracker_domain *d, struct ring_sample *s,
			 const char *why, uint64_t mono_ns)
{
	int phase = s->phase == RING_PHASE_DONE ? RING_PHASE_DONE : RING_PHASE_FAILED;

	s->phase = (uint8_t)phase;
	s->flags |= RING_SAMPLE_F_FINAL | RING_SAMPLE_F_END;
	if (!s->direction)
		s->direction = d->cur.direction ? d->cur.direction : RING_DIR_OUT;
	/* Keep the NIC figures of the last live sample: the final stats have none. */
	if (!s->nic_tx_kibps && !s->nic_rx_kibps) {
		s->nic_tx_kibps = d->cur.last.nic_tx_kibps;
		s->nic_rx_kibps = d->cur.last.nic_rx_kibps;
	}
	tracker_record_sample(t, d, s, mono_ns);
	d->saw_completed = phase == RING_PHASE_DONE;
	tracker_end(t, d, phase, why, mono_ns);
}

void tracker_on_job_completed(struct tracker *t, const uint8_t uuid[16], const char *name,
			      const struct ring_sample *final, uint64_t mono_ns)
{
	struct tracker_domain *d = tracker_find(t, uuid);
	uint8_t dir = final ? final->direction : RING_DIR_UNKNOWN;
	struct ring_sample s;

	/* The incoming job the ring showed running: it completed. */
	if (d && d->restored && !d->cur.active && d->restored->direction == dir)
		adopt_restored(t, d, mono_ns);
	/* A migration's job (its statistics name the operation) that the agent had not seen
	 * running gets an entry; another job's completion of a domain without one is none. */
	if (!d) {
		if (dir == RING_DIR_UNKNOWN || !(d = tracker_get(t, uuid, name)))
			return;
		start_migration(t, d, dir, mono_ns, "started", "job-completed event");
	}
	tracker_record_event(t, d, RING_EVSRC_LIBVIRT, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, 0, 0,
			     "job-completed", "", final ? "final stats" : "no stats", mono_ns);
	if (!d->cur.active && dir != RING_DIR_UNKNOWN && (d->cur.phase != RING_PHASE_DONE ||
	    d->cur.direction != dir || d->saw_completed))
		/* not the statistics of the migration that ended last: of one never seen */
		start_migration(t, d, dir, mono_ns, "started", "job-completed event");
	/* JOB_COMPLETED is sent for a job that completed, and for nothing else. */
	if (final)
		s = *final;
	s.phase = RING_PHASE_DONE;
	if (d->cur.active && final) {
		record_final(t, d, &s, "job completed", mono_ns);
	} else if (d->cur.active) {
		d->saw_completed = true;
		tracker_end(t, d, RING_PHASE_DONE, "job completed", mono_ns);
	} else if (final && dir != RING_DIR_UNKNOWN) {
		/* after the lifecycle event that ended it: its final statistics */
		s.flags |= RING_SAMPLE_F_FINAL | RING_SAMPLE_F_END;
		tracker_record_sample(t, d, &s, mono_ns);
		d->saw_completed = true;
	}
	tracker_publish(d);
}

void tracker_set_nic(struct tracker *t, struct tracker_domain *d, int ifindex, const char *ifname)
{
	if (d->nic_ifindex == ifindex)
		return;
	d->nic_ifindex = ifindex;
	str_copy(d->cur.nic, sizeof(d->cur.nic), ifname ? ifname : "");
	tracker_record_event(t, d, RING_EVSRC_AGENT, 0, ifindex, 0, "nic", "selected", d->cur.nic,
			     ring_now_mono_ns());
	tracker_publish(d);
}

/*
 * A job the ring showed running, at libvirt's first word on it since the restart.  Returns false
 * when that word ended it.
 */
static bool confirm_restored(struct tracker *t, struct tracker_domain *d, bool job_active,
			     const struct ring_sample *s, uint64_t mono_ns)
{
	const struct tracker_restored *r = d->restored;
	uint64_t start = 0;
	bool same;

	if (!job_active) {
		tracker_end(t, d, RING_PHASE_UNKNOWN, "ended while migtuned was not running",
			    mono_ns);
		return false;
	}
	if (s->elapsed_ms && (uint64_t)s->elapsed_ms * 1000000 < mono_ns)
		start = mono_ns - (uint64_t)s->elapsed_ms * 1000000;
	if (s->direction && s->direction != r->direction)
		same = false;
	else if (!start)
		same = true;            /* nothing to tell them apart: the one job there is */
	else if (r->job_start_mono_ns)
		same = start + SAME_JOB_NS >= r->job_start_mono_ns &&
		       start <= r->job_start_mono_ns + SAME_JOB_NS;
	else
		same = start <= r->start_mono_ns + SAME_JOB_NS;
	if (!same) {
		tracker_end(t, d, RING_PHASE_UNKNOWN, "ended while migtuned was not running",
			    mono_ns);
		return true;            /* the sample is the next job's */
	}
	if (s->flags & RING_SAMPLE_F_FINAL)
		d->restored->confirmed = true;  /* it ended meanwhile: the statistics say how */
	else
		adopt_restored(t, d, mono_ns);
	return true;
}

/* Bytes per second sent between two samples of one job, 0 when they do not tell. */
static uint64_t sent_over(const struct ring_sample *prev, const struct ring_sample *s)
{
	if (!prev->elapsed_ms || s->elapsed_ms <= prev->elapsed_ms ||
	    s->data_processed_bytes < prev->data_processed_bytes)
		return 0;
	return (s->data_processed_bytes - prev->data_processed_bytes) * 1000 /
	       (s->elapsed_ms - prev->elapsed_ms);
}

int tracker_ingest_sample(struct tracker *t, struct tracker_domain *d, bool job_active,
			  const struct ring_sample *s, const struct tracker_nic_view *nic,
			  uint64_t mono_ns)
{
	struct ring_sample rs;

	if (!d)
		return -ENOENT;
	if (d->restored && !d->restored->confirmed && d->cur.active &&
	    !confirm_restored(t, d, job_active, s, mono_ns))
		return 0;
	if (!job_active) {
		if (d->cur.active)
			tracker_end(t, d, d->saw_completed ? RING_PHASE_DONE : RING_PHASE_FAILED,
				    "job ended without completion (aborted or failed)", mono_ns);
		return 0;
	}
	if (!d->cur.active)
		start_migration(t, d, s->direction ? s->direction : RING_DIR_OUT, mono_ns,
				"started", "job statistics");
	rs = *s;
	if (!rs.direction)
		rs.direction = d->cur.direction;
	d->sent_bps = sent_over(&d->cur.last, &rs);
	if (rs.flags & RING_SAMPLE_F_FINAL) {
		/* The statistics of the finished job, which libvirt keeps for completed, failed and
		 * cancelled jobs alike (an abort sends no event). */
		record_final(t, d, &rs, rs.phase == RING_PHASE_DONE ?
			     "statistics of the ended job: completed" :
			     "statistics of the ended job: failed or cancelled", mono_ns);
		tracker_publish(d);
		return 0;
	}
	/* Events know the phase better than the stats (a suspend shows only as a lifecycle event);
	 * the domain's state, read with the stats in post-copy, knows post-copy. */
	if (rs.phase != RING_PHASE_POSTCOPY &&
	    (d->cur.phase == RING_PHASE_SUSPENDED || d->cur.phase == RING_PHASE_POSTCOPY))
		rs.phase = d->cur.phase;
	else if (!rs.phase)
		rs.phase = rs.iteration > 0 ? RING_PHASE_PRECOPY : RING_PHASE_SETUP;
	d->cur.phase = rs.phase;
	d->want_poll = false;
	d->gone_mono_ns = 0;
	if (tracker_advice_postcopy_flag(d))
		rs.flags |= RING_SAMPLE_F_POSTCOPY_FLAG;
	if (rs.direction == RING_DIR_OUT && rs.phase == RING_PHASE_POSTCOPY)
		pc_sample(t, d, &rs, mono_ns);
	else
		rs.flags &= (uint8_t)~(RING_SAMPLE_F_PC_BROKEN | RING_SAMPLE_F_PC_RECOVERING);
	if ((rs.flags & RING_SAMPLE_F_PC_BROKEN) && d->pc.recorded_ns &&
	    mono_ns - d->pc.recorded_ns < PC_BROKEN_RECORD_NS) {
		d->cur.last = rs;
		d->cur.updated_mono_ns = mono_ns;
	} else {
		tracker_record_sample(t, d, &rs, mono_ns);
		d->pc.recorded_ns = (rs.flags & RING_SAMPLE_F_PC_BROKEN) ? mono_ns : 0;
	}
	if (rs.direction == RING_DIR_OUT && !d->prior_looked)
		tracker_prior_lookup(t, d, &rs, mono_ns);
	if (rs.direction == RING_DIR_OUT)
		tracker_advise(t, d, &rs, nic, mono_ns);
	tracker_publish(d);
	return 0;
}
