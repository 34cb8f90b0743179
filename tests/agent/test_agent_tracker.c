/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tracker driven through its entry points: fabricated job stats (the sample seam), events,
 * hook messages, the advisory policy seam, and the libvirt side against libvirt's test driver.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include "agent/jobstats.h"
#include "agent/msgq.h"
#include "agent/tracker.h"
#include "agent/virt.h"
#include "tests/agent/agent_testutil.h"

#define MAXREC 4096

struct fx {
	char ring[64];
	struct ring_writer *w;
	struct tracker *t;
	struct ring_record *recs;
	size_t n;
};

static const uint8_t U1[16] = { 0x11, 0x22, 0x33, 0x44, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
static const uint8_t U2[16] = { 0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ring_create_opts o = { .slot_count = 8192, .domain_slots = 64, .gid = (gid_t)-1 };
	struct tracker_opts to = { 0 };

	urcu_memb_register_thread();
	tu_ring_name("trk", f->ring, sizeof(f->ring));
	o.name = f->ring;
	assert_int_equal(ring_writer_open(&o, &f->w), 0);
	to.ring = f->w;
	to.policy = "adaptive";
	assert_int_equal(tracker_new(&to, &f->t), 0);
	f->recs = calloc(MAXREC, sizeof(*f->recs));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tracker_free(f->t, NULL);
	ring_writer_close(f->w, true);
	free(f->recs);
	free(f);
	urcu_memb_unregister_thread();
	return 0;
}

static void reread(struct fx *f)
{
	f->n = tu_read_all(f->ring, f->recs, MAXREC);
}

static const struct ring_record *find_event(struct fx *f, int source, const char *op,
					    const char *subop)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct ring_event *e = &f->recs[i].u.event;

		if (f->recs[i].type == RING_REC_EVENT && e->source == source &&
		    strcmp(e->op, op) == 0 && (!subop || strcmp(e->subop, subop) == 0))
			return &f->recs[i];
	}
	return NULL;
}

static void sample(struct ring_sample *s, uint64_t elapsed_ms, uint32_t it, uint64_t remaining,
		   uint64_t bps, uint64_t dirty, uint64_t downtime)
{
	virTypedParameterPtr p;
	int n;

	assert_int_equal(tu_job_params(elapsed_ms, it, remaining, bps, dirty, downtime, &p, &n), 0);
	assert_int_equal(jobstats_to_sample(VIR_DOMAIN_JOB_UNBOUNDED, p, n, s),
			 JOBSTATS_OP_MIGRATION_OUT);
	virTypedParamsFree(p, n);
}

static void test_jobstats_conversion(void **state)
{
	struct ring_sample s;

	sample(&s, 7300, 3, 96000000, 20400000, 5072, 4934);
	assert_int_equal(s.direction, RING_DIR_OUT);
	assert_int_equal(s.iteration, 3);
	assert_int_equal(s.elapsed_ms, 7300);
	assert_int_equal(s.data_remaining_bytes, 96000000);
	assert_int_equal(s.mem_remaining_bytes, 96000000);
	assert_int_equal(s.data_total_bytes, 256ULL << 20);
	assert_int_equal(s.memory_bps, 20400000);
	assert_int_equal(s.dirty_pages_per_s, 5072);
	assert_int_equal(s.expected_downtime_ms, 4934);
	assert_int_equal(s.page_size, 4096);
	assert_false(s.flags & RING_SAMPLE_F_FINAL);
	assert_true(jobstats_is_migration(VIR_DOMAIN_JOB_UNBOUNDED, JOBSTATS_OP_MIGRATION_OUT));
	assert_false(jobstats_is_migration(VIR_DOMAIN_JOB_NONE, JOBSTATS_OP_MIGRATION_OUT));
	assert_false(jobstats_is_migration(VIR_DOMAIN_JOB_UNBOUNDED, 1 /* start */));
}

static void test_outgoing_completed(void **state)
{
	struct fx *f = *state;
	struct tracker_domain *d;
	struct ring_sample s, fin;
	uint8_t uuid[16];
	char name[RING_NAME_MAX + 1];
	size_t samples = 0, finals = 0;
	uint64_t t0 = ring_now_mono_ns();

	tracker_on_iteration(f->t, U1, "vm1", 1, t0);
	d = tracker_find(f->t, U1);
	assert_non_null(d);
	assert_true(d->cur.active);
	assert_int_equal(d->cur.direction, RING_DIR_OUT);
	assert_true(d->want_poll);
	for (int i = 0; i < 5; i++) {
		sample(&s, 500u * (unsigned)i, 1 + (unsigned)i / 2, 100000000 - 1000000u * (unsigned)i,
		       20000000, 5000, 4000);
		assert_int_equal(tracker_ingest_sample(f->t, d, true, &s, NULL, t0 + 1000 + (unsigned)i),
				 0);
	}
	assert_int_equal(d->cur.phase, RING_PHASE_PRECOPY);
	tracker_on_lifecycle(f->t, U1, "vm1", VIR_DOMAIN_EVENT_SUSPENDED,
			     VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED, t0 + 2000);
	assert_int_equal(d->cur.phase, RING_PHASE_SUSPENDED);
	sample(&fin, 3100, 4, 0, 900000000, 0, 31);
	tracker_on_job_completed(f->t, U1, "vm1", &fin, t0 + 3000);
	assert_false(d->cur.active);
	assert_int_equal(d->cur.phase, RING_PHASE_DONE);

	reread(f);
	for (size_t i = 0; i < f->n; i++) {
		if (f->recs[i].type != RING_REC_SAMPLE)
			continue;
		assert_int_equal(f->recs[i].domain, d->ring_index);
		if (f->recs[i].u.sample.flags & RING_SAMPLE_F_FINAL) {
			finals++;
			assert_int_equal(f->recs[i].u.sample.expected_downtime_ms, 31);
			assert_int_equal(f->recs[i].u.sample.phase, RING_PHASE_DONE);
		} else {
			assert_int_equal(f->recs[i].u.sample.data_remaining_bytes,
					 100000000 - 1000000 * samples);
			assert_int_equal(f->recs[i].u.sample.direction, RING_DIR_OUT);
			samples++;
		}
	}
	assert_int_equal(samples, 5);
	assert_int_equal(finals, 1);
	assert_non_null(find_event(f, RING_EVSRC_LIBVIRT, "iteration", NULL));
	assert_non_null(find_event(f, RING_EVSRC_LIBVIRT, "lifecycle", "suspended"));
	assert_non_null(find_event(f, RING_EVSRC_LIBVIRT, "job-completed", NULL));
	assert_non_null(find_event(f, RING_EVSRC_AGENT, "migration", "completed"));
	assert_null(find_event(f, RING_EVSRC_AGENT, "migration", "failed"));
	/* The domain table of the segment names it. */
	{
		struct ring_reader *r;

		assert_int_equal(ring_reader_open(f->ring, &r), 0);
		assert_int_equal(ring_domain_lookup(r, d->ring_index, uuid, name), 0);
		assert_memory_equal(uuid, U1, 16);
		assert_string_equal(name, "vm1");
		ring_reader_close(r);
	}
}

static void test_abort_seen_as_job_none(void **state)
{
	struct fx *f = *state;
	struct ring_sample s;
	struct tracker_domain *d;
	uint64_t t0 = ring_now_mono_ns();

	d = tracker_begin(f->t, U2, "vm2", RING_DIR_OUT, t0);
	assert_non_null(d);
	sample(&s, 500, 1, 5000000, 20000000, 10, 100);
	tracker_ingest_sample(f->t, d, true, &s, NULL, t0 + 1);
	/* domjobabort: no event, the next poll finds no job. */
	memset(&s, 0, sizeof(s));
	tracker_ingest_sample(f->t, d, false, &s, NULL, t0 + 2);
	assert_false(d->cur.active);
	assert_int_equal(d->cur.phase, RING_PHASE_FAILED);
	reread(f);
	assert_non_null(find_event(f, RING_EVSRC_AGENT, "migration", "found"));
	assert_non_null(find_event(f, RING_EVSRC_AGENT, "migration", "failed"));
	/* The live sample, then the one that says to a reader of samples that it is over. */
	assert_int_equal(tu_count(f->recs, f->n, RING_REC_SAMPLE), 2);
	for (size_t i = 0; i < f->n; i++)
		if (f->recs[i].type == RING_REC_SAMPLE)
			s = f->recs[i].u.sample;
	assert_int_equal(s.phase, RING_PHASE_FAILED);
	assert_true(s.flags & RING_SAMPLE_F_END);
	assert_false(s.flags & RING_SAMPLE_F_FINAL);
	assert_int_equal(s.data_remaining_bytes, 5000000);
}

static void hook(struct fx *f, const uint8_t *uuid, const char *name, const char *op,
		 const char *subop, const char *extra)
{
	struct wire_event ev;

	tu_hook_event(&ev, name, uuid, op, subop, extra);
	tracker_on_hook(f->t, &ev, ring_now_mono_ns());
}

static void test_incoming_from_hook_and_lifecycle(void **state)
{
	struct fx *f = *state;
	struct tracker_domain *d;
	const struct ring_record *r;

	hook(f, U1, "in1", "migrate", "begin", "-");
	d = tracker_find(f->t, U1);
	assert_non_null(d);
	assert_true(d->cur.active);
	assert_int_equal(d->cur.direction, RING_DIR_IN);
	assert_int_equal(d->cur.phase, RING_PHASE_SETUP);
	hook(f, U1, "in1", "prepare", "begin", "-");
	hook(f, U1, "in1", "start", "begin", "-");
	hook(f, U1, "in1", "started", "begin", "-");
	tracker_on_lifecycle(f->t, U1, "in1", VIR_DOMAIN_EVENT_STARTED,
			     VIR_DOMAIN_EVENT_STARTED_MIGRATED, ring_now_mono_ns());
	assert_int_equal(d->cur.phase, RING_PHASE_PRECOPY);
	tracker_on_lifecycle(f->t, U1, "in1", VIR_DOMAIN_EVENT_RESUMED,
			     VIR_DOMAIN_EVENT_RESUMED_MIGRATED, ring_now_mono_ns());
	assert_false(d->cur.active);
	assert_int_equal(d->cur.phase, RING_PHASE_DONE);

	/* Second incoming migration of another guest, torn down: stopped/release. */
	hook(f, U2, "in2", "migrate", "begin", "-");
	hook(f, U2, "in2", "stopped", "end", "-");
	d = tracker_find(f->t, U2);
	assert_false(d->cur.active);
	assert_int_equal(d->cur.phase, RING_PHASE_FAILED);

	reread(f);
	r = find_event(f, RING_EVSRC_HOOK, "prepare", "begin");
	assert_non_null(r);
	assert_string_equal(r->u.event.text, "-");
	assert_int_equal(r->u.event.detail1, getpid());
	assert_non_null(find_event(f, RING_EVSRC_HOOK, "started", "begin"));
	assert_non_null(find_event(f, RING_EVSRC_LIBVIRT, "lifecycle", "started"));
	assert_non_null(find_event(f, RING_EVSRC_HOOK, "stopped", "end"));
	/* 6 hook calls, each one event record. */
	{
		size_t hooks = 0;

		for (size_t i = 0; i < f->n; i++)
			hooks += f->recs[i].type == RING_REC_EVENT &&
				 f->recs[i].u.event.source == RING_EVSRC_HOOK;
		assert_int_equal(hooks, 6);
	}
}

static void test_hook_without_uuid_keeps_one_entry(void **state)
{
	struct fx *f = *state;
	struct tracker_counters c;

	hook(f, NULL, "noxml", "migrate", "begin", "-");
	hook(f, NULL, "noxml", "prepare", "begin", "-");
	tracker_counters(f->t, &c);
	assert_int_equal(c.domains, 1);
	assert_int_equal(c.hook_messages, 2);
	assert_non_null(tracker_find_name(f->t, "noxml"));
	/* the two hook calls and "migration started" */
	assert_int_equal(tracker_find_name(f->t, "noxml")->cur.events, 3);
}

/* Hook calls and lifecycle events of domains that are not migrating take no entry: not in the
 * agent's table, not in the ring's domain table, whose slots they once exhausted until a failed
 * migration's records lost their name ("?"). */
static void test_non_migrations_take_no_entry(void **state)
{
	struct fx *f = *state;
	struct tracker_counters c;
	struct tracker_domain *d;
	struct ring_sample s;
	struct ring_reader *r;
	uint8_t uuid[16];
	char name[RING_NAME_MAX + 1];
	size_t mine = 0;

	d = tracker_begin(f->t, U1, "mig", RING_DIR_OUT, ring_now_mono_ns());
	sample(&s, 500, 1, 5000000, 20000000, 10, 100);
	tracker_ingest_sample(f->t, d, true, &s, NULL, ring_now_mono_ns());
	/* Four times as many other guests as the ring has domain slots (64), each started, paused
	 * and destroyed on this host with every hook call. */
	for (int i = 0; i < 256; i++) {
		uint8_t u[16] = { 0x77, (uint8_t)i, (uint8_t)(i >> 8) };
		char n[32];

		snprintf(n, sizeof(n), "idle-%d", i);
		hook(f, u, n, "prepare", "begin", "-");
		hook(f, u, n, "start", "begin", "-");
		hook(f, u, n, "started", "begin", "-");
		tracker_on_lifecycle(f->t, u, n, VIR_DOMAIN_EVENT_STARTED,
				     VIR_DOMAIN_EVENT_STARTED_BOOTED, ring_now_mono_ns());
		tracker_on_lifecycle(f->t, u, n, VIR_DOMAIN_EVENT_SUSPENDED,
				     VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, ring_now_mono_ns());
		tracker_on_lifecycle(f->t, u, n, VIR_DOMAIN_EVENT_STOPPED,
				     VIR_DOMAIN_EVENT_STOPPED_DESTROYED, ring_now_mono_ns());
		hook(f, u, n, "stopped", "end", "-");
		hook(f, u, n, "release", "end", "-");
		assert_null(tracker_find(f->t, u));
	}
	tracker_counters(f->t, &c);
	assert_int_equal(c.domains, 1);
	assert_int_equal(c.hook_messages, 256 * 5);
	assert_int_equal(tracker_active_count(f->t), 1);
	/* The migration fails: its records, first to last, still name it. */
	memset(&s, 0, sizeof(s));
	tracker_ingest_sample(f->t, d, false, &s, NULL, ring_now_mono_ns());
	reread(f);
	assert_int_equal(ring_reader_open(f->ring, &r), 0);
	for (size_t i = 0; i < f->n; i++) {
		if (f->recs[i].domain == RING_NO_DOMAIN)
			continue;
		assert_int_equal(f->recs[i].domain, d->ring_index);
		assert_int_equal(ring_domain_lookup(r, f->recs[i].domain, uuid, name), 0);
		assert_string_equal(name, "mig");
		mine += f->recs[i].type != RING_REC_ACTION;
	}
	ring_reader_close(r);
	/* found, sample, closing sample, failed (and the policy's advice) */
	assert_int_equal(mine, 4);
	assert_non_null(find_event(f, RING_EVSRC_AGENT, "migration", "failed"));
}

/* A lifecycle event only a migration sends is one, also of a domain the agent did not know of;
 * a domain whose migration just ended keeps its entry, and the events around it are its story. */
static void test_lifecycle_of_migrations_recorded(void **state)
{
	struct fx *f = *state;
	struct tracker_domain *d;
	const struct ring_record *r;
	uint64_t t0;

	/* A switchover seen before the agent's discovery noticed the job. */
	tracker_on_lifecycle(f->t, U1, "quick", VIR_DOMAIN_EVENT_SUSPENDED,
			     VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED, ring_now_mono_ns());
	d = tracker_find(f->t, U1);
	assert_non_null(d);
	assert_true(d->cur.active);
	assert_int_equal(d->cur.direction, RING_DIR_OUT);
	assert_int_equal(d->cur.phase, RING_PHASE_SUSPENDED);
	/* It completed; the migration ends with the final statistics JOB_COMPLETED brings right
	 * after, or, if they never come, TRACKER_GONE_GRACE_MS later without them. */
	t0 = ring_now_mono_ns();
	tracker_on_lifecycle(f->t, U1, "quick", VIR_DOMAIN_EVENT_STOPPED,
			     VIR_DOMAIN_EVENT_STOPPED_MIGRATED, t0);
	assert_true(d->cur.active);
	tracker_domain_gone(f->t, d, t0 + 1000000);
	tracker_expire(f->t, t0 + (TRACKER_GONE_GRACE_MS - 1) * 1000000ULL, NULL);
	assert_true(d->cur.active);
	tracker_expire(f->t, t0 + TRACKER_GONE_GRACE_MS * 1000000ULL, NULL);
	assert_false(d->cur.active);
	assert_int_equal(d->cur.phase, RING_PHASE_DONE);
	/* libvirt resumes a source guest after a failed switchover with RESUMED/MIGRATED: from a
	 * domain without an entry it says nothing of a migration. */
	tracker_on_lifecycle(f->t, U2, "other", VIR_DOMAIN_EVENT_RESUMED,
			     VIR_DOMAIN_EVENT_RESUMED_MIGRATED, ring_now_mono_ns());
	assert_null(tracker_find(f->t, U2));
	/* After its migration, the guest's events stay with it while the entry lasts. */
	tracker_on_lifecycle(f->t, U1, "quick", VIR_DOMAIN_EVENT_UNDEFINED, 0, ring_now_mono_ns());
	reread(f);
	assert_non_null(find_event(f, RING_EVSRC_AGENT, "migration", "started"));
	assert_non_null(find_event(f, RING_EVSRC_AGENT, "migration", "completed"));
	r = find_event(f, RING_EVSRC_LIBVIRT, "lifecycle", "undefined");
	assert_non_null(r);
	assert_int_equal(r->domain, d->ring_index);
	assert_null(find_event(f, RING_EVSRC_LIBVIRT, "lifecycle", "resumed"));
	/* Finished entries expire once nothing happened to them for keep_finished_ns (600 s). */
	assert_int_equal(tracker_expire(f->t, t0 + TRACKER_GONE_GRACE_MS * 1000000ULL, NULL), 0);
	assert_int_equal(tracker_expire(f->t, t0 + 606ULL * 1000000000, NULL), 1);
	assert_null(tracker_find(f->t, U1));
}

static void collect(const struct domain_status *s, void *arg)
{
	*(struct domain_status *)arg = *s;
}

static void test_status_snapshot(void **state)
{
	struct fx *f = *state;
	struct domain_status st;
	struct ring_sample s;
	struct tracker_domain *d = tracker_begin(f->t, U1, "snap", RING_DIR_OUT, ring_now_mono_ns());

	sample(&s, 1000, 2, 4242, 1, 1, 1);
	tracker_ingest_sample(f->t, d, true, &s, NULL, ring_now_mono_ns());
	memset(&st, 0, sizeof(st));
	tracker_status_foreach(f->t, collect, &st);
	assert_string_equal(st.name, "snap");
	assert_true(st.active);
	assert_int_equal(st.samples, 1);
	assert_int_equal(st.last.iteration, 2);
	assert_int_equal(st.last.data_remaining_bytes, 4242);
}

static int setup_rhv(void **state)
{
	struct fx *f;
	struct tracker_opts to = { 0 };

	setup(state);
	f = *state;
	tracker_free(f->t, NULL);
	to.ring = f->w;
	to.policy = "rhv-minimal";
	assert_int_equal(tracker_new(&to, &f->t), 0);
	return 0;
}

/* Feeds the field notes' S1 (256 MiB guest, 20 MB/s, ~90 MiB remaining on every pass, expected
 * downtime ~4.9 s: it never converges) from sample `from` to `to`, 500 ms apart on the job's
 * clock and on the agent's. */
static void feed_s1(struct fx *f, struct tracker_domain *d, uint64_t t0, int from, int to,
		    const struct tracker_nic_view *nv)
{
	for (int i = from; i < to; i++) {
		struct ring_sample s;
		uint32_t it = 1 + (uint32_t)(i / 9);
		uint64_t rem = i < 27 ? (256ULL << 20) - (uint64_t)i * 10000000 : 94371840 +
			(uint64_t)(i % 9) * 1000000;

		sample(&s, 500u * (unsigned)i, it, rem, 20400000, 5072, 4934);
		s.downtime_limit_ms = 300;
		tracker_ingest_sample(f->t, d, true, &s, nv, t0 + (uint64_t)i * 500000000);
	}
}

/* Feeds S1 for two minutes at 2 Hz, then checks that the actions recorded are exactly RHV's
 * "Minimal downtime" schedule, whose steps are fixed by pass numbers. */
static void check_rhv_minimal_series(struct fx *f, struct tracker_domain *d, const char *policy)
{
	struct tracker_nic_view nv = { .carrier = 1, .capacity_bps = 125000000 };
	static const int64_t steps[] = { 100, 150, 200, 300, 400, 500 };
	size_t actions = 0, downtimes = 0, bandwidths = 0, aborts = 0;
	uint64_t t0 = ring_now_mono_ns();

	feed_s1(f, d, t0, 0, 240, &nv);
	reread(f);
	for (size_t i = 0; i < f->n; i++) {
		const struct ring_action *a = &f->recs[i].u.action;

		if (f->recs[i].type != RING_REC_ACTION)
			continue;
		actions++;
		assert_int_equal(a->result, RING_RES_ADVISORY);
		assert_string_equal(a->policy, policy);
		assert_true(strlen(a->reason) > 0);
		assert_int_equal(f->recs[i].domain, d->ring_index);
		assert_int_equal(aborts, 0);        /* nothing after the terminal action */
		switch (a->kind) {
		case RING_ACT_SET_DOWNTIME:
			assert_true(downtimes < 6);
			assert_int_equal(a->new_value, steps[downtimes]);
			downtimes++;
			break;
		case RING_ACT_SET_BANDWIDTH:
			bandwidths++;
			assert_true(a->new_value > 0 && a->new_value <= 119);   /* MiB/s */
			break;
		case RING_ACT_ABORT:
			aborts++;
			break;
		default:
			fail_msg("unexpected action kind %u", a->kind);
		}
	}
	assert_int_equal(downtimes, 6);
	assert_int_equal(aborts, 1);
	assert_int_equal(bandwidths, 1);
	assert_int_equal(actions, 8);
	assert_true(d->cur.advice[0] != '\0');
	/* Advisory: the migration is still followed as running, nothing was applied. */
	assert_true(d->cur.active);
}

static void test_advisory_records_policy_decisions(void **state)
{
	struct fx *f = *state;

	check_rhv_minimal_series(f, tracker_begin(f->t, U1, "busy", RING_DIR_OUT, ring_now_mono_ns()),
				 "rhv-minimal");
}

static void test_owner_names_the_policy(void **state)
{
	struct fx *f = *state;    /* the agent's policy is adaptive here */
	struct wire_event ev;

	/* The domain's XML metadata, seen by the hook when the guest migrated to this host. */
	tu_hook_event(&ev, "owned", U2, "migrate", "begin", "-");
	ev.policy.present = WIRE_POL_NAME | WIRE_POL_SLA_DOWNTIME;
	snprintf(ev.policy.name, sizeof(ev.policy.name), "rhv-minimal");
	ev.policy.sla_max_downtime_ms = 2000;
	tracker_on_hook(f->t, &ev, ring_now_mono_ns());
	tracker_on_lifecycle(f->t, U2, "owned", VIR_DOMAIN_EVENT_RESUMED,
			     VIR_DOMAIN_EVENT_RESUMED_MIGRATED, ring_now_mono_ns());
	/* ... and leaves again: the settings came with it. */
	check_rhv_minimal_series(f, tracker_begin(f->t, U2, "owned", RING_DIR_OUT, ring_now_mono_ns()),
				 "rhv-minimal");
}

/* ---- how a migration ended, and a restarted agent ------------------------------------------- */

/* What the tracker told the agent of each end (the automatic dumps are named after it). */
static struct { int n, phase; bool ours; } ENDS;

static void on_end(const struct tracker_domain *d, int phase, bool aborted_by_agent, void *arg)
{
	ENDS.n++;
	ENDS.phase = phase;
	ENDS.ours = aborted_by_agent;
}

/* The prior dirty rate the agent measured: 40 MiB/s over 1 s, 3 s before the job. */
static int PRIOR_CALLS;

static int prior_dirty(void *arg, const uint8_t uuid[16], uint64_t before_mono_ns,
		       struct dirty_measure *ret)
{
	PRIOR_CALLS++;
	ret->bps = 40ULL << 20;
	ret->period_ms = 1000;
	ret->measured_mono_ns = before_mono_ns - 3000000000ULL;
	return 0;
}

/* A tracker as migtuned opens it, over the fixture's ring (which may hold records). */
static void open_tracker(struct fx *f, const char *policy)
{
	struct tracker_opts to = { 0 };

	to.ring = f->w;
	to.policy = policy;
	to.on_end = on_end;
	to.prior_dirty = prior_dirty;
	assert_int_equal(tracker_new(&to, &f->t), 0);
}

static int setup_ends(void **state)
{
	struct fx *f;

	setup(state);
	f = *state;
	tracker_free(f->t, NULL);
	memset(&ENDS, 0, sizeof(ENDS));
	PRIOR_CALLS = 0;
	open_tracker(f, "rhv-minimal");
	return 0;
}

/* The agent killed: its tracker is gone without a word in the ring (what tracker_free writes:
 * nothing), and a new one opens the same ring. */
static void restart(struct fx *f)
{
	tracker_free(f->t, NULL);
	f->t = NULL;
	open_tracker(f, "rhv-minimal");
}

static struct ring_sample last_sample(struct fx *f)
{
	struct ring_sample s = { 0 };
	bool any = false;

	for (size_t i = 0; i < f->n; i++)
		if (f->recs[i].type == RING_REC_SAMPLE) {
			s = f->recs[i].u.sample;
			any = true;
		}
	if (!any)
		fail_msg("no sample in the ring");
	return s;
}

/* An outgoing migration found running, with one pre-copy sample (pass 2, 90 MB to go). */
static struct tracker_domain *outgoing(struct fx *f, const uint8_t uuid[16], const char *name,
				       uint64_t t0)
{
	struct tracker_domain *d = tracker_begin(f->t, uuid, name, RING_DIR_OUT, t0);
	struct ring_sample s;

	sample(&s, 500, 2, 90000000, 20000000, 5000, 4900);
	tracker_ingest_sample(f->t, d, true, &s, NULL, t0 + 1);
	return d;
}

/* The migration ended once, with phase: told to the agent, and recorded as `subop` (completed,
 * failed, aborted, unknown) and by a last sample flagged END. */
static void ended_as(struct fx *f, const struct tracker_domain *d, int phase, const char *subop)
{
	static const char *const ends[] = { "completed", "failed", "aborted", "unknown" };

	assert_false(d->cur.active);
	assert_int_equal(d->cur.phase, phase);
	assert_int_equal(ENDS.n, 1);
	assert_int_equal(ENDS.phase, phase);
	reread(f);
	assert_true(last_sample(f).flags & RING_SAMPLE_F_END);
	assert_int_equal(last_sample(f).phase, phase);
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		const struct ring_record *r = find_event(f, RING_EVSRC_AGENT, "migration", ends[i]);

		if (strcmp(ends[i], subop) == 0)
			assert_non_null(r);
		else
			assert_null(r);
	}
}

/* A post-copy migration that completed: the guest left the source, whose poll finds the domain
 * gone before libvirt's events arrive.  It once ended as "failed (domain disappeared)" and was
 * dumped as such; how it ended is libvirt's to say. */
static void test_postcopy_completed_domain_gone_first(void **state)
{
	struct fx *f = *state;
	struct tracker_domain *d;
	struct ring_sample fin;
	uint64_t t0 = ring_now_mono_ns();

	d = outgoing(f, U1, "pc", t0);
	tracker_on_lifecycle(f->t, U1, "pc", VIR_DOMAIN_EVENT_SUSPENDED,
			     VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED, t0 + 600000000);
	tracker_on_lifecycle(f->t, U1, "pc", VIR_DOMAIN_EVENT_SUSPENDED,
			     VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY, t0 + 610000000);
	assert_int_equal(d->cur.phase, RING_PHASE_POSTCOPY);
	/* post-copy completes: the transient domain is removed; the poll comes first */
	tracker_domain_gone(f->t, d, t0 + 1000000000);
	tracker_domain_gone(f->t, d, t0 + 1500000000);
	assert_true(d->cur.active);
	assert_int_equal(ENDS.n, 0);
	tracker_on_lifecycle(f->t, U1, "pc", VIR_DOMAIN_EVENT_STOPPED,
			     VIR_DOMAIN_EVENT_STOPPED_MIGRATED, t0 + 1600000000);
	sample(&fin, 1600, 2, 0, 20000000, 0, 3);
	tracker_on_job_completed(f->t, U1, "pc", &fin, t0 + 1610000000);
	ended_as(f, d, RING_PHASE_DONE, "completed");
	/* last: the final statistics from JOB_COMPLETED */
	assert_true(last_sample(f).flags & RING_SAMPLE_F_FINAL);
	assert_int_equal(last_sample(f).expected_downtime_ms, 3);
}

/* Gone, and libvirt never says how: the outcome is unknown, and recorded as such. */
static void test_domain_gone_without_events_is_unknown(void **state)
{
	struct fx *f = *state;
	struct tracker_domain *d;
	uint64_t t0 = ring_now_mono_ns();

	d = outgoing(f, U1, "lost", t0);
	tracker_on_lifecycle(f->t, U1, "lost", VIR_DOMAIN_EVENT_SUSPENDED,
			     VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED, t0 + 2);
	tracker_domain_gone(f->t, d, t0 + 1000000000);
	tracker_domain_gone(f->t, d, t0 + 1000000000 + (TRACKER_GONE_GRACE_MS - 1) * 1000000ULL);
	assert_true(d->cur.active);
	tracker_domain_gone(f->t, d, t0 + 1000000000 + TRACKER_GONE_GRACE_MS * 1000000ULL);
	ended_as(f, d, RING_PHASE_UNKNOWN, "unknown");
	/* an event that comes later still does not make it two migrations */
	tracker_on_lifecycle(f->t, U1, "lost", VIR_DOMAIN_EVENT_STOPPED,
			     VIR_DOMAIN_EVENT_STOPPED_MIGRATED, t0 + 7000000000ULL);
	assert_int_equal(ENDS.n, 1);
}

/* The statistics of the finished job (an abort sends no event; the poll reads them) end it. */
static void test_final_statistics_end_it(void **state)
{
	struct fx *f = *state;
	struct tracker_domain *d;
	struct ring_sample s;
	virTypedParameterPtr p;
	int n;
	uint64_t t0 = ring_now_mono_ns();

	d = outgoing(f, U1, "cancelled", t0);
	assert_int_equal(tu_job_params(900, 2, 80000000, 20000000, 5000, 4900, &p, &n), 0);
	assert_int_equal(jobstats_to_sample(VIR_DOMAIN_JOB_CANCELLED, p, n, &s),
			 JOBSTATS_OP_MIGRATION_OUT);
	virTypedParamsFree(p, n);
	tracker_ingest_sample(f->t, d, true, &s, NULL, t0 + 2);
	/* the poll's next look, job NONE, changes nothing */
	memset(&s, 0, sizeof(s));
	tracker_ingest_sample(f->t, d, false, &s, NULL, t0 + 3);
	ended_as(f, d, RING_PHASE_FAILED, "failed");
	assert_int_equal(tu_count(f->recs, f->n, RING_REC_SAMPLE), 2);
	assert_true(last_sample(f).flags & RING_SAMPLE_F_FINAL);
	assert_int_equal(last_sample(f).data_remaining_bytes, 80000000);
}

/* A migration the agent never saw end (its events lost) is closed, as unknown, when the next one
 * of the domain begins: a reader never sees two running. */
static void test_next_migration_closes_the_open_one(void **state)
{
	struct fx *f = *state;
	struct tracker_domain *d;

	hook(f, U1, "back", "migrate", "begin", "-");
	d = tracker_find(f->t, U1);
	assert_true(d->cur.active);
	assert_int_equal(d->cur.direction, RING_DIR_IN);
	tracker_on_iteration(f->t, U1, "back", 1, ring_now_mono_ns());
	assert_true(d->cur.active);
	assert_int_equal(d->cur.direction, RING_DIR_OUT);
	assert_int_equal(ENDS.n, 1);
	assert_int_equal(ENDS.phase, RING_PHASE_UNKNOWN);
	reread(f);
	assert_string_equal(find_event(f, RING_EVSRC_AGENT, "migration", "unknown")->u.event.text,
			    "another migration of the domain began");
}

/* kill -9 mid-migration and a restart: the new agent goes on from the ring, with the prior dirty
 * rate and the policy's course as they were (before, it started the job over: the schedule's
 * first steps advised twice, the prior rate lost). */
static void test_restart_goes_on_from_the_ring(void **state)
{
	struct fx *f = *state;
	struct tracker_domain *d;
	struct domain_status st;
	const struct ring_record *r;
	uint64_t t0 = ring_now_mono_ns() - 200ULL * 1000000000;
	size_t downtimes = 0, founds = 0;

	d = tracker_begin(f->t, U1, "busy", RING_DIR_OUT, t0);
	feed_s1(f, d, t0, 0, 60, NULL);
	assert_int_equal(PRIOR_CALLS, 1);
	assert_int_equal(d->prior.bps, 40ULL << 20);
	restart(f);

	d = tracker_find(f->t, U1);
	assert_non_null(d);
	assert_true(d->cur.active);
	assert_int_equal(d->cur.direction, RING_DIR_OUT);
	assert_int_equal(d->cur.samples, 60);
	assert_int_equal(d->prior.bps, 40ULL << 20);
	assert_int_equal(d->prior.period_ms, 1000);
	assert_true(d->prior_age_ms >= 2900 && d->prior_age_ms <= 3100);
	memset(&st, 0, sizeof(st));
	tracker_status_foreach(f->t, collect, &st);
	assert_true(st.active);
	assert_string_equal(st.name, "busy");
	/* libvirt's next statistics are of the same job: it goes on */
	feed_s1(f, d, t0, 60, 240, NULL);
	assert_int_equal(PRIOR_CALLS, 1);
	reread(f);
	for (size_t i = 0; i < f->n; i++) {
		const struct ring_record *x = &f->recs[i];

		if (x->type == RING_REC_ACTION && x->u.action.kind == RING_ACT_SET_DOWNTIME)
			downtimes++;
		if (x->type == RING_REC_EVENT && strcmp(x->u.event.op, "migration") == 0 &&
		    strcmp(x->u.event.subop, "found") == 0)
			founds++;
	}
	/* RHV-minimal's six steps, each advised once, and its abort */
	assert_int_equal(downtimes, 6);
	assert_int_equal(founds, 2);    /* by discovery, then at the restart */
	r = NULL;
	for (size_t i = 0; i < f->n; i++)
		if (f->recs[i].type == RING_REC_EVENT &&
		    strcmp(f->recs[i].u.event.subop, "found") == 0)
			r = &f->recs[i];
	assert_string_equal(r->u.event.text, "rebuilt: 60 samples; prior 40.0 MiB/s");
	assert_int_equal(tu_count(f->recs, f->n, RING_REC_SAMPLE), 240);
}

/* The job ended while the agent was away: libvirt's word on it ends it, and a reader of the ring
 * sees it ended (before, it stayed "pre-copy" in the ring for ever). */
static void test_restart_after_the_job_ended(void **state)
{
	struct fx *f = *state;
	struct tracker_domain *d;
	struct ring_sample s;
	uint64_t t0 = ring_now_mono_ns() - 100ULL * 1000000000, now;

	/* 1: no statistics left (libvirtd restarted meanwhile): the outcome is not known */
	d = tracker_begin(f->t, U1, "gone1", RING_DIR_OUT, t0);
	feed_s1(f, d, t0, 0, 10, NULL);
	/* 2: the statistics of the finished job say how */
	d = tracker_begin(f->t, U2, "gone2", RING_DIR_OUT, t0);
	feed_s1(f, d, t0, 0, 10, NULL);
	/* 3: an incoming one that discovery no longer finds */
	hook(f, (const uint8_t[16]){ 3 }, "in3", "migrate", "begin", "-");
	restart(f);
	assert_int_equal(tracker_active_count(f->t), 2);
	assert_non_null(tracker_find(f->t, (const uint8_t[16]){ 3 }));

	d = tracker_find(f->t, U1);
	memset(&s, 0, sizeof(s));
	tracker_ingest_sample(f->t, d, false, &s, NULL, ring_now_mono_ns());
	assert_false(d->cur.active);
	assert_int_equal(d->cur.phase, RING_PHASE_UNKNOWN);
	assert_int_equal(ENDS.phase, RING_PHASE_UNKNOWN);

	/* (the same job: it began at t0 by its elapsed time) */
	d = tracker_find(f->t, U2);
	now = ring_now_mono_ns();
	sample(&s, (uint32_t)((now - t0) / 1000000), 9, 0, 20400000, 0, 40);
	s.phase = RING_PHASE_DONE;
	s.flags |= RING_SAMPLE_F_FINAL;
	tracker_ingest_sample(f->t, d, true, &s, NULL, now);
	assert_false(d->cur.active);
	assert_int_equal(d->cur.phase, RING_PHASE_DONE);

	tracker_discovered(f->t, ring_now_mono_ns());
	d = tracker_find(f->t, (const uint8_t[16]){ 3 });
	assert_false(d->cur.active);
	assert_int_equal(d->cur.phase, RING_PHASE_UNKNOWN);
	assert_int_equal(ENDS.n, 3);
	reread(f);
	{
		size_t unknown = 0, completed = 0;

		for (size_t i = 0; i < f->n; i++) {
			const struct ring_event *e = &f->recs[i].u.event;

			if (f->recs[i].type != RING_REC_EVENT || strcmp(e->op, "migration") != 0)
				continue;
			unknown += strcmp(e->subop, "unknown") == 0;
			completed += strcmp(e->subop, "completed") == 0;
		}
		assert_int_equal(unknown, 2);
		assert_int_equal(completed, 1);
	}
	/* A third start finds nothing running. */
	restart(f);
	assert_int_equal(tracker_active_count(f->t), 0);
	assert_null(tracker_find(f->t, U1));
}

/* ---- libvirt's test driver ---------------------------------------------------------------- */

static void test_virt_against_test_driver(void **state)
{
	struct fx *f = *state;
	struct msgq q;
	struct virt *v;
	struct virt_opts vo = { .uri = "test:///default", .q = &q };
	char err[512] = "";
	virConnectPtr other;
	virDomainPtr dom;
	struct agent_msg *m = NULL;
	unsigned char uuid[VIR_UUID_BUFLEN];
	struct tracker_domain *d;
	struct ring_sample s;
	bool active = true, final = true;

	assert_int_equal(msgq_init(&q), 0);
	assert_int_equal(virt_new(&vo, &v), 0);
	assert_int_equal(virt_connect(v, err, sizeof(err)), 0);
	assert_true(virt_connected(v));
	/* The test driver's domain runs no job: nothing to rediscover. */
	assert_int_equal(virt_discover(v, f->t, ring_now_mono_ns()), 0);

	/* test:///default is one shared state per process: a second connection's suspend is an
	 * event on ours, delivered by the event loop thread into the queue. */
	other = virConnectOpen("test:///default");
	assert_non_null(other);
	dom = virDomainLookupByName(other, "test");
	assert_non_null(dom);
	assert_int_equal(virDomainGetUUID(dom, uuid), 0);
	assert_int_equal(virDomainSuspend(dom), 0);
	for (int i = 0; i < 200 && !m; i++) {
		struct pollfd p = { .fd = q.efd, .events = POLLIN };

		poll(&p, 1, 10);
		msgq_ack(&q);
		m = msgq_pop(&q);
	}
	assert_non_null(m);
	assert_int_equal(m->kind, MSG_LIFECYCLE);
	assert_int_equal(m->event, VIR_DOMAIN_EVENT_SUSPENDED);
	assert_string_equal(m->name, "test");
	assert_true(m->has_uuid);
	assert_memory_equal(m->uuid, uuid, 16);
	free(m);
	virDomainResume(dom);

	/* A domain that left (migrated away, transient) cannot be polled: -ENOENT, which the
	 * agent takes as "gone".  (The test driver has no job stats, so the running case is
	 * covered through the sample seam above and in the lab.) */
	{
		static const uint8_t gone[16] = { 0xde, 0xad };

		d = tracker_begin(f->t, gone, "gone", RING_DIR_OUT, ring_now_mono_ns());
		assert_int_equal(virt_poll(v, d, &s, &active, &final), -ENOENT);
		assert_null(d->virt_handle);
		d = tracker_begin(f->t, uuid, "test", RING_DIR_OUT, ring_now_mono_ns());
		assert_int_equal(virt_poll(v, d, &s, &active, &final), -EOPNOTSUPP);
		assert_non_null(d->virt_handle);
		virt_release_handle(d->virt_handle);
		d->virt_handle = NULL;
	}

	virDomainFree(dom);
	virConnectClose(other);
	virt_free(v);
	msgq_destroy(&q);
}

static void test_connect_error_names_uri_and_fix(void **state)
{
	struct msgq q;
	struct virt *v;
	struct virt_opts vo = { .uri = "qemu+unix:///system?socket=/nonexistent/mt.sock", .q = &q };
	char err[512] = "";

	assert_int_equal(msgq_init(&q), 0);
	assert_int_equal(virt_new(&vo, &v), 0);
	assert_true(virt_connect(v, err, sizeof(err)) < 0);
	assert_false(virt_connected(v));
	assert_string_equal(err, "cannot connect to qemu+unix:///system?socket=/nonexistent/mt.sock: "
			    "libvirtd is not running (start libvirtd or check [libvirt] uri)");
	virt_free(v);
	msgq_destroy(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobstats_conversion),
		cmocka_unit_test_setup_teardown(test_outgoing_completed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_seen_as_job_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incoming_from_hook_and_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hook_without_uuid_keeps_one_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_migrations_take_no_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle_of_migrations_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_advisory_records_policy_decisions, setup_rhv, teardown),
		cmocka_unit_test_setup_teardown(test_owner_names_the_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_postcopy_completed_domain_gone_first, setup_ends,
						teardown),
		cmocka_unit_test_setup_teardown(test_domain_gone_without_events_is_unknown, setup_ends,
						teardown),
		cmocka_unit_test_setup_teardown(test_final_statistics_end_it, setup_ends, teardown),
		cmocka_unit_test_setup_teardown(test_next_migration_closes_the_open_one, setup_ends,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart_goes_on_from_the_ring, setup_ends,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart_after_the_job_ended, setup_ends, teardown),
		cmocka_unit_test_setup_teardown(test_virt_against_test_driver, setup, teardown),
		cmocka_unit_test(test_connect_error_names_uri_and_fix),
	};

	if (virInitialize() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
