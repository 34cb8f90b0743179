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
	assert_int_equal(tu_count(f->recs, f->n, RING_REC_SAMPLE), 1);
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
	assert_int_equal(tracker_find_name(f->t, "noxml")->cur.events, 2);
}

static void test_lifecycle_of_idle_domain_recorded(void **state)
{
	struct fx *f = *state;
	struct tracker_domain *d;
	const struct ring_record *r;

	/* A guest paused by its owner: recorded, but it is no migration. */
	tracker_on_lifecycle(f->t, U1, "idle", VIR_DOMAIN_EVENT_SUSPENDED,
			     VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, ring_now_mono_ns());
	d = tracker_find(f->t, U1);
	assert_non_null(d);
	assert_false(d->cur.active);
	assert_int_equal(d->cur.direction, RING_DIR_UNKNOWN);
	assert_int_equal(tracker_active_count(f->t), 0);
	reread(f);
	r = find_event(f, RING_EVSRC_LIBVIRT, "lifecycle", "suspended");
	assert_non_null(r);
	assert_string_equal(r->u.event.text, "paused");
	assert_int_equal(r->u.event.detail1, VIR_DOMAIN_EVENT_SUSPENDED);
	/* Such entries expire once nothing happened to them for keep_finished_ns (600 s). */
	assert_int_equal(tracker_expire(f->t, ring_now_mono_ns(), NULL), 0);
	assert_int_equal(tracker_expire(f->t, ring_now_mono_ns() + 601ULL * 1000000000, NULL), 1);
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
 * downtime ~4.9 s: it never converges) for two minutes at 2 Hz, then checks that the actions
 * recorded are exactly RHV's "Minimal downtime" schedule, whose steps are fixed by pass numbers. */
static void check_rhv_minimal_series(struct fx *f, struct tracker_domain *d, const char *policy)
{
	struct tracker_nic_view nv = { .carrier = 1, .capacity_bps = 125000000 };
	static const int64_t steps[] = { 100, 150, 200, 300, 400, 500 };
	size_t actions = 0, downtimes = 0, bandwidths = 0, aborts = 0;
	uint64_t t0 = ring_now_mono_ns();

	for (int i = 0; i < 240; i++) {
		struct ring_sample s;
		uint32_t it = 1 + (uint32_t)(i / 9);
		uint64_t rem = i < 27 ? (256ULL << 20) - (uint64_t)i * 10000000 : 94371840 +
			(uint64_t)(i % 9) * 1000000;

		sample(&s, 500u * (unsigned)i, it, rem, 20400000, 5072, 4934);
		s.downtime_limit_ms = 300;
		tracker_ingest_sample(f->t, d, true, &s, &nv, t0 + (uint64_t)i * 500000000);
	}
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

	/* The domain's XML metadata, seen by the hook when the guest started on this host. */
	tu_hook_event(&ev, "owned", U2, "start", "begin", "-");
	ev.policy.present = WIRE_POL_NAME | WIRE_POL_SLA_DOWNTIME;
	snprintf(ev.policy.name, sizeof(ev.policy.name), "rhv-minimal");
	ev.policy.sla_max_downtime_ms = 2000;
	tracker_on_hook(f->t, &ev, ring_now_mono_ns());
	check_rhv_minimal_series(f, tracker_begin(f->t, U2, "owned", RING_DIR_OUT, ring_now_mono_ns()),
				 "rhv-minimal");
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
		cmocka_unit_test_setup_teardown(test_lifecycle_of_idle_domain_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_advisory_records_policy_decisions, setup_rhv, teardown),
		cmocka_unit_test_setup_teardown(test_owner_names_the_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virt_against_test_driver, setup, teardown),
		cmocka_unit_test(test_connect_error_names_uri_and_fix),
	};

	if (virInitialize() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
