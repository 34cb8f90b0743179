/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dirty rates measured before migrations: libvirt's dirtyrate.* stats, the bounded table, the
 * sweep and its thread against fabricated domains, the no-support path against libvirt's test
 * driver, and the tracker handing the prior rate of an outgoing job to the ring.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include "agent/dirtyrate.h"
#include "agent/msgq.h"
#include "agent/tracker.h"
#include "agent/virt.h"
#include "tests/agent/agent_testutil.h"

#define MS UINT64_C(1000000)
#define S  UINT64_C(1000000000)

static void uuid_of(unsigned i, uint8_t ret[16])
{
	memset(ret, 0x5a, 16);
	memcpy(ret, &i, sizeof(i));
}

/* ---- parsing ---------------------------------------------------------------------------- */

static struct dirtyrate_stat parse_ok(virTypedParameterPtr p, int n)
{
	struct dirtyrate_stat s;

	memset(&s, 0xff, sizeof(s));
	assert_int_equal(dirtyrate_parse(p, n, &s), 0);
	return s;
}

static void test_parse(void **state)
{
	virTypedParameterPtr p = NULL;
	int n = 0, max = 0;
	struct dirtyrate_stat s;

	(void)state;
	/* What libvirt 9.0 returns after a page-sampling calculation (plus unrelated fields). */
	assert_int_equal(virTypedParamsAddInt(&p, &n, &max, "state.state", 1), 0);
	assert_int_equal(virTypedParamsAddInt(&p, &n, &max, "dirtyrate.calc_status", 2), 0);
	assert_int_equal(virTypedParamsAddLLong(&p, &n, &max, "dirtyrate.calc_start_time", 12345), 0);
	assert_int_equal(virTypedParamsAddInt(&p, &n, &max, "dirtyrate.calc_period", 1), 0);
	assert_int_equal(virTypedParamsAddString(&p, &n, &max, "dirtyrate.calc_mode",
						 "page-sampling"), 0);
	assert_int_equal(virTypedParamsAddLLong(&p, &n, &max, "dirtyrate.megabytes_per_second", 36),
			 0);
	s = parse_ok(p, n);
	assert_int_equal(s.calc_status, DIRTYRATE_MEASURED);
	assert_int_equal(s.mibs, 36);
	assert_int_equal(s.period_s, 1);
	assert_true(s.page_sampling);
	/* MiB/s, not MB/s */
	assert_int_equal(dirtyrate_stat_bps(&s), UINT64_C(36) * 1048576);
	virTypedParamsFree(p, n);

	/* Other integer types, no mode (libvirt before the modes), an idle guest. */
	p = NULL; n = max = 0;
	assert_int_equal(virTypedParamsAddUInt(&p, &n, &max, "dirtyrate.calc_status", 2), 0);
	assert_int_equal(virTypedParamsAddULLong(&p, &n, &max, "dirtyrate.megabytes_per_second", 0),
			 0);
	s = parse_ok(p, n);
	assert_true(s.page_sampling);
	assert_int_equal(s.period_s, 0);
	assert_int_equal(dirtyrate_stat_bps(&s), 1);    /* measured idle: not "unknown" */
	virTypedParamsFree(p, n);

	/* Still measuring, or another mode: no usable result. */
	p = NULL; n = max = 0;
	assert_int_equal(virTypedParamsAddInt(&p, &n, &max, "dirtyrate.calc_status", 1), 0);
	assert_int_equal(virTypedParamsAddLLong(&p, &n, &max, "dirtyrate.megabytes_per_second", 50),
			 0);
	s = parse_ok(p, n);
	assert_int_equal(s.calc_status, DIRTYRATE_MEASURING);
	assert_int_equal(dirtyrate_stat_bps(&s), 0);
	virTypedParamsFree(p, n);
	p = NULL; n = max = 0;
	assert_int_equal(virTypedParamsAddInt(&p, &n, &max, "dirtyrate.calc_status", 2), 0);
	assert_int_equal(virTypedParamsAddString(&p, &n, &max, "dirtyrate.calc_mode", "dirty-ring"),
			 0);
	assert_int_equal(virTypedParamsAddLLong(&p, &n, &max, "dirtyrate.megabytes_per_second", 50),
			 0);
	s = parse_ok(p, n);
	assert_false(s.page_sampling);
	assert_int_equal(dirtyrate_stat_bps(&s), 0);
	virTypedParamsFree(p, n);

	/* No dirtyrate fields at all (a libvirt without them), and nonsense. */
	p = NULL; n = max = 0;
	assert_int_equal(virTypedParamsAddInt(&p, &n, &max, "state.state", 1), 0);
	s = parse_ok(p, n);
	assert_int_equal(s.calc_status, DIRTYRATE_ABSENT);
	assert_int_equal(dirtyrate_stat_bps(&s), 0);
	assert_int_equal(virTypedParamsAddLLong(&p, &n, &max, "dirtyrate.megabytes_per_second", -3),
			 0);
	assert_int_equal(dirtyrate_parse(p, n, &s), -EINVAL);
	virTypedParamsFree(p, n);
	assert_int_equal(dirtyrate_parse(NULL, 0, &s), 0);
	assert_int_equal(s.calc_status, DIRTYRATE_ABSENT);
}

/* ---- fabricated libvirt ----------------------------------------------------------------- */

struct fake {
	pthread_mutex_t lock;
	unsigned ndoms;
	bool busy[8];
	uint64_t mibs[8];
	int list_rc;                  /* returned instead of the list when < 0 */
	int start_rc;                 /* returned by start when < 0 */
	unsigned lists, starts, reads;
	bool started[8];
};

static unsigned fake_index(const uint8_t uuid[16])
{
	unsigned i;

	memcpy(&i, uuid, sizeof(i));
	return i;
}

static int fake_list(void *ctx, struct dirtyrate_dom *ret, size_t max, char *err, size_t errlen)
{
	struct fake *f = ctx;
	int r;

	pthread_mutex_lock(&f->lock);
	f->lists++;
	r = f->list_rc;
	for (unsigned i = 0; r == 0 && i < f->ndoms && i < max; i++) {
		uuid_of(i, ret[i].uuid);
		snprintf(ret[i].name, sizeof(ret[i].name), "g%u", i);
		ret[i].busy = f->busy[i];
	}
	if (r == 0)
		r = (int)f->ndoms;
	pthread_mutex_unlock(&f->lock);
	if (r < 0)
		snprintf(err, errlen, "fake list failure");
	return r;
}

static int fake_start(void *ctx, const struct dirtyrate_dom *d, uint32_t period_s, char *err,
		      size_t errlen)
{
	struct fake *f = ctx;
	int r;

	assert_int_equal(period_s, DIRTYRATE_PERIOD_S);
	pthread_mutex_lock(&f->lock);
	f->starts++;
	r = f->start_rc;
	if (r == 0) {
		/* a domain with a job must never get here */
		assert_false(f->busy[fake_index(d->uuid)]);
		f->started[fake_index(d->uuid)] = true;
	}
	pthread_mutex_unlock(&f->lock);
	if (r < 0)
		snprintf(err, errlen, "cannot measure the dirty rate of %s: fake", d->name);
	return r;
}

static int fake_read(void *ctx, const struct dirtyrate_dom *doms, size_t n,
		     struct dirtyrate_stat *ret, char *err, size_t errlen)
{
	struct fake *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->reads++;
	for (size_t i = 0; i < n; i++) {
		unsigned k = fake_index(doms[i].uuid);

		memset(&ret[i], 0, sizeof(ret[i]));
		ret[i].calc_status = f->started[k] ? DIRTYRATE_MEASURED : DIRTYRATE_UNSTARTED;
		ret[i].mibs = f->mibs[k];
		ret[i].period_s = 1;
		ret[i].page_sampling = true;
	}
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static const struct dirtyrate_ops fake_ops = { fake_list, fake_start, fake_read };

static struct dirtyrate *new_table(struct fake *f, uint32_t interval_s)
{
	struct dirtyrate_opts o = { .interval_s = interval_s, .settle_ms = 1, .retry_ms = 50,
				    .ops = &fake_ops, .ctx = f };
	struct dirtyrate *dr = NULL;

	pthread_mutex_init(&f->lock, NULL);
	assert_int_equal(dirtyrate_new(&o, &dr), 0);
	return dr;
}

/* ---- the table -------------------------------------------------------------------------- */

static void test_table_lookup_and_age(void **state)
{
	struct fake f = { 0 };
	struct dirtyrate *dr = new_table(&f, 60);
	struct dirty_measure m1 = { .bps = 40 << 20, .period_ms = 1000, .measured_mono_ns = 100 * S };
	struct dirty_measure m2 = { .bps = 80 << 20, .period_ms = 1000, .measured_mono_ns = 160 * S };
	struct dirty_measure got;
	uint8_t u[16], other[16];
	struct dirtyrate_opts bad = { .interval_s = 0, .ops = &fake_ops };
	struct dirtyrate *none = NULL;

	(void)state;
	assert_int_equal(dirtyrate_new(&bad, &none), -EINVAL);
	assert_null(none);
	uuid_of(1, u);
	uuid_of(2, other);
	assert_int_equal(dirtyrate_lookup(dr, u, 200 * S, &got), -ENOENT);
	assert_int_equal(dirtyrate_lookup(NULL, u, 200 * S, &got), -ENOENT);
	dirtyrate_store(dr, u, "g1", &m1);
	dirtyrate_store(dr, u, "g1", &m2);
	assert_int_equal(dirtyrate_count(dr), 1);
	/* The newest one that ended before the job. */
	assert_int_equal(dirtyrate_lookup(dr, u, 170 * S, &got), 0);
	assert_int_equal(got.bps, 80 << 20);
	assert_int_equal(dirtyrate_age_ms(&got, 170 * S), 10000);
	/* A job that began during the latest window gets the one before. */
	assert_int_equal(dirtyrate_lookup(dr, u, 159 * S, &got), 0);
	assert_int_equal(got.bps, 40 << 20);
	assert_int_equal(dirtyrate_age_ms(&got, 159 * S), 59000);
	/* Nothing measured before the job: nothing. */
	assert_int_equal(dirtyrate_lookup(dr, u, 99 * S, &got), -ENOENT);
	assert_int_equal(dirtyrate_lookup(dr, other, 170 * S, &got), -ENOENT);
	/* A job that started before the measurement ended is not aged negatively. */
	assert_int_equal(dirtyrate_age_ms(&m2, 150 * S), 0);
	assert_int_equal(dirtyrate_age_ms(&m2, 160 * S + 1500 * MS), 1500);
	dirtyrate_free(dr);
	pthread_mutex_destroy(&f.lock);
}

static void test_table_bounded_and_forgets(void **state)
{
	struct fake f = { 0 };
	struct dirtyrate *dr = new_table(&f, 10);
	struct dirty_measure m = { .bps = 1 << 20, .period_ms = 1000 };
	struct dirty_measure got;
	uint8_t u[16];

	(void)state;
	for (unsigned i = 0; i < DIRTYRATE_MAX_DOMAINS + 44; i++) {
		uuid_of(1000 + i, u);
		m.measured_mono_ns = (1000 + i) * S;
		dirtyrate_store(dr, u, "g", &m);
	}
	assert_int_equal(dirtyrate_count(dr), DIRTYRATE_MAX_DOMAINS);
	/* The ones unseen for longest made room; the latest are all there. */
	uuid_of(1000, u);
	assert_int_equal(dirtyrate_lookup(dr, u, UINT64_MAX, &got), -ENOENT);
	uuid_of(1000 + 43, u);
	assert_int_equal(dirtyrate_lookup(dr, u, UINT64_MAX, &got), -ENOENT);
	uuid_of(1000 + 44, u);
	assert_int_equal(dirtyrate_lookup(dr, u, UINT64_MAX, &got), 0);
	uuid_of(1000 + DIRTYRATE_MAX_DOMAINS + 43, u);
	assert_int_equal(dirtyrate_lookup(dr, u, UINT64_MAX, &got), 0);

	/* Forgotten after DIRTYRATE_FORGET_SWEEPS intervals unseen, unless seen running since. */
	uuid_of(1000 + 44, u);
	dirtyrate_seen(dr, u, 2000 * S);
	assert_int_equal(dirtyrate_forget(dr, (1300 + 10 * DIRTYRATE_FORGET_SWEEPS) * S),
			 DIRTYRATE_MAX_DOMAINS - 1);
	assert_int_equal(dirtyrate_count(dr), 1);
	assert_int_equal(dirtyrate_lookup(dr, u, UINT64_MAX, &got), 0);
	/* Paused sweeps forget nothing. */
	dirtyrate_set_interval(dr, 0);
	assert_int_equal(dirtyrate_forget(dr, 100000 * S), 0);
	dirtyrate_free(dr);
	pthread_mutex_destroy(&f.lock);
}

/* ---- sweeps ----------------------------------------------------------------------------- */

static void test_sweep_skips_busy_domains(void **state)
{
	struct fake f = { .ndoms = 3, .busy = { false, true, false }, .mibs = { 36, 99, 0 } };
	struct dirtyrate *dr = new_table(&f, 60);
	struct dirty_measure got;
	uint64_t before = ring_now_mono_ns();
	uint8_t u[16];

	(void)state;
	assert_int_equal(dirtyrate_sweep(dr, true), 2);
	assert_int_equal(f.starts, 2);
	assert_int_equal(f.reads, 1);
	assert_int_equal(dirtyrate_sweeps(dr), 1);
	uuid_of(0, u);
	assert_int_equal(dirtyrate_lookup(dr, u, UINT64_MAX, &got), 0);
	assert_int_equal(got.bps, UINT64_C(36) << 20);
	assert_int_equal(got.period_ms, 1000);
	/* The window ended a period after the start. */
	assert_true(got.measured_mono_ns >= before + 1000 * MS);
	assert_true(got.measured_mono_ns <= ring_now_mono_ns());
	uuid_of(1, u);                 /* had a job: never started */
	assert_int_equal(dirtyrate_lookup(dr, u, UINT64_MAX, &got), -ENOENT);
	uuid_of(2, u);                 /* idle guest: measured, 0 MiB/s */
	assert_int_equal(dirtyrate_lookup(dr, u, UINT64_MAX, &got), 0);
	assert_int_equal(got.bps, 1);

	/* A "soon" request that is not due yet is not measured by a partial sweep. */
	uuid_of(0, u);
	dirtyrate_soon(dr, u, 60000);
	f.starts = 0;
	assert_int_equal(dirtyrate_sweep(dr, false), 0);
	assert_int_equal(f.starts, 0);
	dirtyrate_soon(dr, u, 0);
	assert_int_equal(dirtyrate_sweep(dr, false), 1);
	assert_int_equal(f.starts, 1);
	/* and it was taken out of the set */
	assert_int_equal(dirtyrate_sweep(dr, false), 0);
	assert_int_equal(f.starts, 1);
	dirtyrate_free(dr);
	pthread_mutex_destroy(&f.lock);
}

static void test_sweep_without_connection(void **state)
{
	struct fake f = { .ndoms = 2, .list_rc = -ENOTCONN };
	struct dirtyrate *dr = new_table(&f, 60);

	(void)state;
	assert_int_equal(dirtyrate_sweep(dr, true), -ENOTCONN);
	assert_int_equal(f.starts, 0);
	assert_false(dirtyrate_unsupported(dr));
	f.list_rc = -ECONNRESET;
	assert_int_equal(dirtyrate_sweep(dr, true), -ECONNRESET);
	f.list_rc = 0;
	assert_int_equal(dirtyrate_sweep(dr, true), 2);
	dirtyrate_free(dr);
	pthread_mutex_destroy(&f.lock);
}

static void test_sweep_unsupported_stops_trying(void **state)
{
	struct fake f = { .ndoms = 3, .start_rc = -EOPNOTSUPP };
	struct dirtyrate *dr = new_table(&f, 60);

	(void)state;
	assert_int_equal(dirtyrate_sweep(dr, true), -EOPNOTSUPP);
	assert_true(dirtyrate_unsupported(dr));
	/* One refusal is enough: no second domain, no second sweep. */
	assert_int_equal(f.starts, 1);
	assert_int_equal(dirtyrate_sweep(dr, true), -EOPNOTSUPP);
	assert_int_equal(f.lists, 1);
	assert_int_equal(f.starts, 1);
	assert_int_equal(f.reads, 0);
	dirtyrate_free(dr);
	pthread_mutex_destroy(&f.lock);
}

/* A start that fails for one domain (a job began since the list) leaves the others measured. */
static void test_sweep_start_failure_is_per_domain(void **state)
{
	struct fake f = { .ndoms = 2, .mibs = { 10, 20 }, .start_rc = -EBUSY };
	struct dirtyrate *dr = new_table(&f, 60);

	(void)state;
	assert_int_equal(dirtyrate_sweep(dr, true), 0);
	assert_int_equal(f.starts, 2);
	assert_int_equal(f.reads, 0);
	assert_false(dirtyrate_unsupported(dr));
	dirtyrate_free(dr);
	pthread_mutex_destroy(&f.lock);
}

/* ---- the thread ------------------------------------------------------------------------- */

struct thread_fx {
	struct dirtyrate *dr;
	struct fake *f;
	unsigned want;
};

static bool sweeps_at_least(void *arg)
{
	struct thread_fx *t = arg;

	return dirtyrate_sweeps(t->dr) >= t->want;
}

static bool started_at_least(void *arg)
{
	struct thread_fx *t = arg;
	unsigned n;

	pthread_mutex_lock(&t->f->lock);
	n = t->f->starts;
	pthread_mutex_unlock(&t->f->lock);
	return n >= t->want;
}

static void test_thread_sweeps_and_requests(void **state)
{
	struct fake f = { .ndoms = 2, .mibs = { 36, 12 } };
	struct dirtyrate *dr = new_table(&f, 3600);
	struct thread_fx t = { .dr = dr, .f = &f, .want = 1 };
	struct dirty_measure got;
	uint8_t u[16];

	(void)state;
	assert_int_equal(dirtyrate_start(dr), 0);
	/* The first sweep is at once; the tracker thread looks up meanwhile. */
	uuid_of(0, u);
	for (int i = 0; i < 100 && dirtyrate_lookup(dr, u, UINT64_MAX, &got) < 0; i++)
		usleep(20000);
	assert_true(tu_wait(sweeps_at_least, &t, 5000));
	assert_int_equal(dirtyrate_lookup(dr, u, UINT64_MAX, &got), 0);
	assert_int_equal(got.bps, UINT64_C(36) << 20);
	/* A start event: measured again soon, not an hour later. */
	t.want = 3;
	dirtyrate_soon(dr, u, 10);
	assert_true(tu_wait(started_at_least, &t, 5000));
	/* A reconnect: everyone again. */
	t.want = 5;
	dirtyrate_kick(dr);
	assert_true(tu_wait(started_at_least, &t, 5000));
	dirtyrate_free(dr);        /* stops the thread */
	pthread_mutex_destroy(&f.lock);
}

static bool is_unsupported(void *arg)
{
	return dirtyrate_unsupported(arg);
}

static void test_thread_retries_connection_stops_on_unsupported(void **state)
{
	struct fake f = { .ndoms = 1, .list_rc = -ENOTCONN };
	struct dirtyrate *dr = new_table(&f, 3600);
	struct thread_fx t = { .dr = dr, .f = &f, .want = 1 };
	unsigned lists;

	(void)state;
	assert_int_equal(dirtyrate_start(dr), 0);
	/* No connection yet: retried every retry_ms (50 here), not after the hour. */
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&f.lock);
		lists = f.lists;
		pthread_mutex_unlock(&f.lock);
		if (lists >= 3)
			break;
		usleep(10000);
	}
	assert_true(lists >= 3);
	pthread_mutex_lock(&f.lock);
	f.list_rc = 0;
	f.start_rc = -EOPNOTSUPP;
	pthread_mutex_unlock(&f.lock);
	assert_true(tu_wait(started_at_least, &t, 5000));
	assert_true(tu_wait(is_unsupported, dr, 5000));
	dirtyrate_kick(dr);
	dirtyrate_soon(dr, (const uint8_t[16]){ 0 }, 0);
	usleep(200000);
	pthread_mutex_lock(&f.lock);
	assert_int_equal(f.starts, 1);
	pthread_mutex_unlock(&f.lock);
	dirtyrate_free(dr);
	pthread_mutex_destroy(&f.lock);
}

/* ---- libvirt's test driver: no dirty-rate calculation there ----------------------------- */

static void test_virt_test_driver_unsupported(void **state)
{
	struct msgq q;
	struct virt *v;
	struct virt_opts vo = { .uri = "test:///default", .q = &q };
	struct dirtyrate_opts o = { .interval_s = 60, .settle_ms = 1,
				    .ops = virt_dirtyrate_ops() };
	struct dirtyrate *dr;
	char err[512] = "";

	(void)state;
	assert_int_equal(msgq_init(&q), 0);
	assert_int_equal(virt_new(&vo, &v), 0);
	o.ctx = v;
	assert_int_equal(dirtyrate_new(&o, &dr), 0);
	/* Before the connection: skipped, not a crash. */
	assert_int_equal(dirtyrate_sweep(dr, true), -ENOTCONN);
	assert_int_equal(virt_connect(v, err, sizeof(err)), 0);
	/* The driver lists its running domain "test", job-free, and refuses the calculation. */
	assert_int_equal(dirtyrate_sweep(dr, true), -EOPNOTSUPP);
	assert_true(dirtyrate_unsupported(dr));
	assert_int_equal(dirtyrate_count(dr), 0);
	dirtyrate_free(dr);
	virt_free(v);
	msgq_destroy(&q);
}

/* ---- the tracker hands the prior rate on ------------------------------------------------ */

struct prior_fx {
	uint64_t asked_before;
	unsigned calls;
	struct dirty_measure m;
};

static int fake_prior(void *arg, const uint8_t uuid[16], uint64_t before, struct dirty_measure *ret)
{
	struct prior_fx *p = arg;

	p->calls++;
	p->asked_before = before;
	if (p->m.measured_mono_ns > before)
		return -ENOENT;
	*ret = p->m;
	return 0;
}

static void test_tracker_records_prior_rate(void **state)
{
	struct ring_create_opts o = { .slot_count = 1024, .domain_slots = 16, .gid = (gid_t)-1 };
	struct tracker_opts to = { 0 };
	struct ring_writer *w;
	struct tracker *t;
	struct tracker_domain *d;
	struct ring_sample s;
	struct prior_fx pf = { .m = { .bps = UINT64_C(36) << 20, .period_ms = 1000 } };
	struct ring_record *recs = calloc(1024, sizeof(*recs));
	char ring[64];
	uint8_t u[16];
	uint64_t now = 1000 * S;
	size_t n, found = 0;

	(void)state;
	urcu_memb_register_thread();
	tu_ring_name("dirty", ring, sizeof(ring));
	o.name = ring;
	assert_int_equal(ring_writer_open(&o, &w), 0);
	to.ring = w;
	to.policy = "adaptive";
	to.prior_dirty = fake_prior;
	to.prior_dirty_arg = &pf;
	assert_int_equal(tracker_new(&to, &t), 0);
	uuid_of(7, u);
	/* Measured at 980 s; the agent learns of the job at 1000 s, 5 s into it. */
	pf.m.measured_mono_ns = 980 * S;
	d = tracker_begin(t, u, "busy", RING_DIR_OUT, now);
	assert_non_null(d);
	memset(&s, 0, sizeof(s));
	s.direction = RING_DIR_OUT;
	s.elapsed_ms = 5000;
	s.iteration = 1;
	s.mem_total_bytes = 256 << 20;
	s.data_remaining_bytes = 200 << 20;
	s.memory_bps = 20 << 20;
	assert_int_equal(tracker_ingest_sample(t, d, true, &s, NULL, now), 0);
	assert_int_equal(pf.calls, 1);
	assert_int_equal(pf.asked_before, 995 * S);      /* the job's start, not the discovery */
	assert_int_equal(d->prior.bps, UINT64_C(36) << 20);
	assert_int_equal(d->prior_age_ms, 15000);
	/* Looked up once per job. */
	s.elapsed_ms = 5500;
	assert_int_equal(tracker_ingest_sample(t, d, true, &s, NULL, now + 500 * MS), 0);
	assert_int_equal(pf.calls, 1);

	n = tu_read_all(ring, recs, 1024);
	for (size_t i = 0; i < n; i++) {
		const struct ring_event *e = &recs[i].u.event;

		if (recs[i].type != RING_REC_EVENT || strcmp(e->op, "dirtyrate") != 0)
			continue;
		found++;
		assert_int_equal(e->source, RING_EVSRC_AGENT);
		assert_int_equal(e->code, RING_AGEV_PRIOR_DIRTY);
		assert_string_equal(e->subop, "prior");
		assert_int_equal(e->detail1, 36 * 1024);     /* KiB/s */
		assert_int_equal(e->detail2, 15000);         /* ms before the job */
		assert_non_null(strstr(e->text, "36.0 MiB/s"));
		assert_int_equal(recs[i].domain, d->ring_index);
	}
	assert_int_equal(found, 1);

	/* The next job, whose guest was measured only after it began: nothing handed on. */
	assert_int_equal(tracker_ingest_sample(t, d, false, &s, NULL, now + 1 * S), 0);
	pf.m.measured_mono_ns = 1003 * S;
	s.elapsed_ms = 0;                                /* unknown: the agent's own start time */
	d = tracker_begin(t, u, "busy", RING_DIR_OUT, 1002 * S);
	assert_int_equal(tracker_ingest_sample(t, d, true, &s, NULL, 1004 * S), 0);
	assert_int_equal(pf.calls, 2);
	assert_int_equal(pf.asked_before, 1002 * S);
	assert_int_equal(d->prior.bps, 0);

	tracker_free(t, NULL);
	ring_writer_close(w, true);
	free(recs);
	urcu_memb_unregister_thread();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_table_lookup_and_age),
		cmocka_unit_test(test_table_bounded_and_forgets),
		cmocka_unit_test(test_sweep_skips_busy_domains),
		cmocka_unit_test(test_sweep_without_connection),
		cmocka_unit_test(test_sweep_unsupported_stops_trying),
		cmocka_unit_test(test_sweep_start_failure_is_per_domain),
		cmocka_unit_test(test_thread_sweeps_and_requests),
		cmocka_unit_test(test_thread_retries_connection_stops_on_unsupported),
		cmocka_unit_test(test_virt_test_driver_unsupported),
		cmocka_unit_test(test_tracker_records_prior_rate),
	};

	if (virInitialize() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
