/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The actuator through its libvirt seam (a fake struct act_ops): gates, advisory mode, read-back
 * verification, failures and back-off, the per-domain rate limit, the confirmation of terminal
 * actions, the ring records, the metadata parser, and the tracker handing the policy's actions
 * to it and telling the policy what took.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include "agent/actuator.h"
#include "agent/stats.h"
#include "agent/strutil.h"
#include "agent/jobstats.h"
#include "agent/tracker.h"
#include "tests/agent/agent_testutil.h"

#define MAXREC 4096
#define S_NS UINT64_C(1000000000)

/* ---- the fake libvirt ---------------------------------------------------------------------- */

enum { OP_SET_DT, OP_GET_DT, OP_SET_BW, OP_GET_BW, OP_POSTCOPY, OP_SUSPEND, OP_ABORT, OP_META,
       OP_PCFLAG, OP_N };

struct fake {
	unsigned calls[OP_N];
	int fail[OP_N];               /* errno to fail with (positive), 0 = succeed */
	uint64_t downtime_ms, speed_mibs;
	int64_t readback_skew;        /* added to what get_* returns */
	const char *metadata;         /* NULL: the domain has none */
	int postcopy;                 /* the job has the post-copy flag (1), not (0), unknown (< 0) */
};

static struct fake F;

static int fake_ret(int op, char *err, size_t errlen)
{
	F.calls[op]++;
	if (F.fail[op]) {
		snprintf(err, errlen, "fake error %d", F.fail[op]);
		return -F.fail[op];
	}
	return 0;
}

static int f_set_dt(void *h, uint64_t ms, char *err, size_t errlen)
{
	int r = fake_ret(OP_SET_DT, err, errlen);

	if (!r)
		F.downtime_ms = ms;
	return r;
}

static int f_get_dt(void *h, uint64_t *ret, char *err, size_t errlen)
{
	int r = fake_ret(OP_GET_DT, err, errlen);

	*ret = F.downtime_ms + (uint64_t)F.readback_skew;
	return r;
}

static int f_set_bw(void *h, uint64_t mibs, char *err, size_t errlen)
{
	int r = fake_ret(OP_SET_BW, err, errlen);

	if (!r)
		F.speed_mibs = mibs;
	return r;
}

static int f_get_bw(void *h, uint64_t *ret, char *err, size_t errlen)
{
	int r = fake_ret(OP_GET_BW, err, errlen);

	*ret = F.speed_mibs + (uint64_t)F.readback_skew;
	return r;
}

static int f_postcopy(void *h, char *err, size_t errlen) { return fake_ret(OP_POSTCOPY, err, errlen); }
static int f_suspend(void *h, char *err, size_t errlen) { return fake_ret(OP_SUSPEND, err, errlen); }
static int f_abort(void *h, char *err, size_t errlen) { return fake_ret(OP_ABORT, err, errlen); }

static int f_meta(void *h, char **ret, char *err, size_t errlen)
{
	int r = fake_ret(OP_META, err, errlen);

	if (r)
		return r;
	if (!F.metadata)
		return -ENOENT;
	*ret = strdup(F.metadata);
	return 0;
}

static int f_pcflag(void *h, const char *name, uint64_t *ret)
{
	F.calls[OP_PCFLAG]++;
	if (F.postcopy < 0)
		return F.postcopy;
	*ret = ACT_MIGRATE_LIVE | ACT_MIGRATE_PEER2PEER | (F.postcopy ? ACT_MIGRATE_POSTCOPY : 0);
	return 0;
}

/* The post-copy recovery's calls (test-agent-recovery drives them): a recent libvirt, no peer. */
static int f_versions(void *h, unsigned long *lv, unsigned long *hv, char *err, size_t errlen)
{
	*lv = 9000000;
	*hv = 7002000;
	return 0;
}

static int f_no_peer(void *h, const char *name, char *ret, size_t len) { return -ENOENT; }
static int f_no_daemon(const char *peer, char *ret, size_t len) { return -ENOENT; }

static int f_no_call(const struct act_pc_request *r, char *err, size_t errlen)
{
	snprintf(err, errlen, "not in this test");
	return -EOPNOTSUPP;
}

static const struct act_ops fake_ops = {
	.set_max_downtime = f_set_dt, .get_max_downtime = f_get_dt,
	.set_max_speed = f_set_bw, .get_max_speed = f_get_bw,
	.start_postcopy = f_postcopy, .suspend = f_suspend, .abort_job = f_abort,
	.get_metadata = f_meta, .job_flags = f_pcflag, .versions = f_versions,
	.stream_peer = f_no_peer, .peer_daemon = f_no_daemon, .pc_interrupt = f_no_call,
	.pc_resume = f_no_call,
};

static int HANDLE;                    /* any non-NULL handle */

/* ---- fixture ------------------------------------------------------------------------------- */

struct fx {
	char ring[64];
	struct ring_writer *w;
	struct actuator *act;
	struct act_job job;
	struct act_context ctx;
	struct ring_record *recs;
	size_t n;
	struct agent_stats *stats;
};

static int setup_mode(void **state, bool advisory)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ring_create_opts o = { .slot_count = 8192, .domain_slots = 64, .gid = (gid_t)-1 };
	struct actuator_opts ao = { 0 };

	memset(&F, 0, sizeof(F));
	F.downtime_ms = 300;
	F.speed_mibs = 20;
	F.postcopy = 0;
	tu_ring_name("act", f->ring, sizeof(f->ring));
	o.name = f->ring;
	assert_int_equal(ring_writer_open(&o, &f->w), 0);
	ao.ring = f->w;
	assert_int_equal(stats_new(&f->stats), 0);
	ao.stats = f->stats;
	ao.ops = &fake_ops;
	ao.advisory = advisory;
	ao.rate_burst = 4;
	ao.rate_interval_ms = 2000;
	ao.backoff_min_ms = 5000;
	ao.backoff_max_ms = 20000;
	assert_int_equal(actuator_new(&ao, &f->act), 0);
	actuator_job_init(&f->job, 3, "web1");
	actuator_load_settings(f->act, &f->job, &HANDLE, NULL);
	f->ctx.direction = RING_DIR_OUT;
	f->ctx.phase = RING_PHASE_PRECOPY;
	f->ctx.nic_carrier = 1;
	f->ctx.now_ns = 100 * S_NS;
	f->ctx.policy_name = "adaptive";
	f->recs = calloc(MAXREC, sizeof(*f->recs));
	*state = f;
	return 0;
}

static int setup_active(void **state) { return setup_mode(state, false); }
static int setup_advisory(void **state) { return setup_mode(state, true); }

static int teardown(void **state)
{
	struct fx *f = *state;

	actuator_free(f->act);
	stats_free(f->stats);
	ring_writer_close(f->w, true);
	free(f->recs);
	free(f);
	return 0;
}

/* migtune_actions_total's count for kind and result (policy adaptive), 0 when absent. */
static int64_t counted(struct fx *f, const char *kind, const char *result)
{
	struct json_object *o = stats_json(f->stats), *rows, *v;
	int64_t n = 0;

	assert_true(json_object_object_get_ex(o, "actions", &rows));
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);

		if (json_object_object_get_ex(r, "kind", &v) &&
		    strcmp(json_object_get_string(v), kind) == 0 &&
		    json_object_object_get_ex(r, "result", &v) &&
		    strcmp(json_object_get_string(v), result) == 0 &&
		    json_object_object_get_ex(r, "policy", &v) &&
		    strcmp(json_object_get_string(v), "adaptive") == 0 &&
		    json_object_object_get_ex(r, "count", &v))
			n = json_object_get_int64(v);
	}
	json_object_put(o);
	return n;
}

static void reread(struct fx *f)
{
	f->n = tu_read_all(f->ring, f->recs, MAXREC);
}

/* The i-th action record (0 = first); fails the test when there is none. */
static const struct ring_action *action(struct fx *f, size_t i, uint32_t *ret_domain)
{
	static const struct ring_action none;
	size_t want = i;

	for (size_t k = 0; k < f->n; k++) {
		if (f->recs[k].type != RING_REC_ACTION)
			continue;
		if (i-- == 0) {
			if (ret_domain)
				*ret_domain = f->recs[k].domain;
			return &f->recs[k].u.action;
		}
	}
	fail_msg("no action record #%zu", want);
	return &none;
}

static size_t actions(struct fx *f)
{
	return tu_count(f->recs, f->n, RING_REC_ACTION);
}

static struct policy_action act_of(int kind, int64_t value, int64_t old, const char *text)
{
	struct policy_action pa;

	memset(&pa, 0, sizeof(pa));
	pa.kind = (uint8_t)kind;
	pa.value = value;
	pa.old_value = old;
	pa.reason = REASON_CONVERGING_DOWNTIME;
	snprintf(pa.text, sizeof(pa.text), "%s", text);
	return pa;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_advisory_records_and_calls_nothing(void **state)
{
	struct fx *f = *state;
	struct policy_action pa = act_of(RING_ACT_SET_DOWNTIME, 6250, 300, "pass 3: needs 6250 ms");
	uint32_t dom;
	const struct ring_action *ra;

	assert_true(actuator_advisory(f->act));
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &pa, &f->ctx), RING_RES_ADVISORY);
	/* The same advice again is not recorded twice, also when other advice comes between
	 * (in advisory mode the job never changes, so the policy keeps proposing). */
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &pa, &f->ctx), RING_RES_ADVISORY);
	{
		struct policy_action bw = act_of(RING_ACT_SET_BANDWIDTH, 100LL << 20, 20LL << 20, "bw");

		assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &bw, &f->ctx),
				 RING_RES_ADVISORY);
		assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &pa, &f->ctx),
				 RING_RES_ADVISORY);
		assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &bw, &f->ctx),
				 RING_RES_ADVISORY);
		/* A few bytes/s more is the same MiB/s as recorded: not a new advice. */
		bw.value -= 5;
		assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &bw, &f->ctx),
				 RING_RES_ADVISORY);
	}
	pa = act_of(RING_ACT_ABORT, 0, -1, "hopeless");
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &pa, &f->ctx), RING_RES_ADVISORY);
	for (int op = OP_SET_DT; op <= OP_ABORT; op++)
		assert_int_equal(F.calls[op], 0);
	reread(f);
	assert_int_equal(actions(f), 3);
	ra = action(f, 0, &dom);
	assert_int_equal(dom, 3);
	assert_int_equal(ra->kind, RING_ACT_SET_DOWNTIME);
	assert_int_equal(ra->result, RING_RES_ADVISORY);
	assert_int_equal(ra->old_value, 300);
	assert_int_equal(ra->new_value, 6250);
	assert_int_equal(ra->reason_code, REASON_CONVERGING_DOWNTIME);
	assert_string_equal(ra->policy, "adaptive");
	assert_string_equal(ra->reason, "pass 3: needs 6250 ms");
	assert_int_equal(action(f, 1, NULL)->kind, RING_ACT_SET_BANDWIDTH);
	assert_int_equal(action(f, 1, NULL)->new_value, 100);
	assert_int_equal(action(f, 2, NULL)->kind, RING_ACT_ABORT);
}

static void test_applied_and_read_back(void **state)
{
	struct fx *f = *state;
	struct policy_action dt = act_of(RING_ACT_SET_DOWNTIME, 6250, 300, "converge");
	/* 100.5 MiB/s: libvirt takes whole MiB/s, rounded up. */
	struct policy_action bw = act_of(RING_ACT_SET_BANDWIDTH, (100LL << 20) + (1 << 19), 20LL << 20,
					 "headroom");
	const struct ring_action *ra;

	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &bw, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(F.speed_mibs, 101);
	assert_int_equal(F.downtime_ms, 6250);
	assert_int_equal(F.calls[OP_GET_BW], 1);
	assert_int_equal(F.calls[OP_GET_DT], 1);
	reread(f);
	assert_int_equal(actions(f), 2);
	ra = action(f, 0, NULL);
	assert_int_equal(ra->kind, RING_ACT_SET_BANDWIDTH);
	assert_int_equal(ra->result, RING_RES_APPLIED);
	assert_int_equal(ra->old_value, 20);
	assert_int_equal(ra->new_value, 101);
	ra = action(f, 1, NULL);
	assert_int_equal(ra->result, RING_RES_APPLIED);
	assert_int_equal(ra->error, 0);
	assert_int_equal(f->job.applied, 2);

	/* libvirt accepts but reads back another value: that is a failure. */
	F.readback_skew = 1;
	dt.value = 7000;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_FAILED);
	reread(f);
	ra = action(f, 2, NULL);
	assert_int_equal(ra->result, RING_RES_FAILED);
	assert_int_equal(ra->error, -EIO);
	assert_non_null(strstr(ra->reason, "read back 7001 ms"));
}

/* An action the policy predicted is followed by its prediction: same domain and time, its kind
 * and reason, the numbers the 56-byte reason cannot hold; one without a prediction has none. */
static void test_prediction_follows_its_action(void **state)
{
	struct fx *f = *state;
	struct policy_action dt = act_of(RING_ACT_SET_DOWNTIME, 500, 300, "sla");
	struct policy_action hold = act_of(RING_ACT_HOLD, 0, -1, "link speed unknown");
	const struct ring_prediction *p;
	size_t k;

	dt.reason = REASON_SLA_EXCEEDED;
	dt.pred.time_ms = POLICY_PRED_NEVER;
	dt.pred.bytes = UINT64_C(15) << 20;
	dt.pred.downtime_ms = 0;
	dt.pred.wait_ms = POLICY_PRED_NEVER;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &hold, &f->ctx), RING_RES_APPLIED);
	f->ctx.now_ns += S_NS;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_APPLIED);
	reread(f);
	assert_int_equal(tu_count(f->recs, f->n, RING_REC_PREDICTION), 1);
	for (k = 0; f->recs[k].type != RING_REC_PREDICTION; k++)
		;
	assert_true(k >= 1);
	assert_int_equal(f->recs[k - 1].type, RING_REC_ACTION);        /* right after it */
	assert_int_equal(f->recs[k - 1].u.action.kind, RING_ACT_SET_DOWNTIME);
	assert_int_equal(f->recs[k].domain, f->recs[k - 1].domain);
	assert_int_equal(f->recs[k].mono_ns, f->recs[k - 1].mono_ns);
	p = &f->recs[k].u.prediction;
	assert_int_equal(p->kind, RING_ACT_SET_DOWNTIME);
	assert_int_equal(p->reason_code, REASON_SLA_EXCEEDED);
	assert_int_equal(p->time_ms, RING_PRED_NEVER);
	assert_int_equal(p->bytes, UINT64_C(15) << 20);
	assert_int_equal(p->wait_ms, RING_PRED_NEVER);
	assert_int_equal(ring_record_validate(&f->recs[k]), 0);
}

/* The job's bandwidth ceiling (bandwidth-max-mibs) holds whatever the policy asks for: more is
 * applied as the ceiling, and the record says what was asked. */
static void test_bandwidth_ceiling_holds(void **state)
{
	struct fx *f = *state;
	struct policy_action look = act_of(RING_ACT_SET_BANDWIDTH, 60LL << 20, 1LL << 20, "last look");
	struct policy_action under = act_of(RING_ACT_SET_BANDWIDTH, 12LL << 20, 20LL << 20, "share");
	const struct ring_action *ra;

	f->job.settings.lim.bandwidth_max_bps = 20ULL << 20;
	look.reason = REASON_RESUME;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &look, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(F.speed_mibs, 20);
	reread(f);
	ra = action(f, 0, NULL);
	assert_int_equal(ra->new_value, 20);
	assert_int_equal(ra->reason_code, REASON_RESUME);
	assert_string_equal(ra->reason, "capped at bandwidth-max-mibs 20 MiB/s (the policy asked");
	/* under the ceiling: as asked */
	f->ctx.now_ns += 10 * S_NS;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &under, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(F.speed_mibs, 12);
	reread(f);
	assert_string_equal(action(f, 1, NULL)->reason, "share");
}

static void test_failure_backs_off_never_tight_loop(void **state)
{
	struct fx *f = *state;
	struct policy_action dt = act_of(RING_ACT_SET_DOWNTIME, 500, 300, "sla");
	const struct ring_action *ra;

	F.fail[OP_SET_DT] = EINVAL;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_FAILED);
	/* The policy proposes it again every sample: no call for 5 s, recorded once. */
	for (int i = 1; i <= 9; i++) {
		f->ctx.now_ns = 100 * S_NS + (uint64_t)i * 500000000;
		assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx),
				 RING_RES_SKIPPED);
	}
	assert_int_equal(F.calls[OP_SET_DT], 1);
	/* Another kind is not held back by this one's failure. */
	{
		struct policy_action bw = act_of(RING_ACT_SET_BANDWIDTH, 50LL << 20, 20LL << 20, "x");

		assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &bw, &f->ctx),
				 RING_RES_APPLIED);
	}
	f->ctx.now_ns = 105 * S_NS;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_FAILED);
	assert_int_equal(F.calls[OP_SET_DT], 2);
	/* The back-off doubled: 10 s now. */
	f->ctx.now_ns = 114 * S_NS;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_SKIPPED);
	assert_int_equal(F.calls[OP_SET_DT], 2);
	F.fail[OP_SET_DT] = 0;
	f->ctx.now_ns = 115 * S_NS;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(F.downtime_ms, 500);
	reread(f);
	/* failed, skipped (once), bandwidth applied, failed, skipped, applied */
	assert_int_equal(actions(f), 6);
	ra = action(f, 0, NULL);
	assert_int_equal(ra->result, RING_RES_FAILED);
	assert_int_equal(ra->error, -EINVAL);
	assert_non_null(strstr(ra->reason, "fake error 22"));
	ra = action(f, 1, NULL);
	assert_int_equal(ra->result, RING_RES_SKIPPED);
	assert_non_null(strstr(ra->reason, "backing off 5 s"));
	assert_int_equal(action(f, 4, NULL)->result, RING_RES_SKIPPED);
	assert_non_null(strstr(action(f, 4, NULL)->reason, "backing off 10 s"));
	assert_int_equal(action(f, 5, NULL)->result, RING_RES_APPLIED);
	/* the metrics count what the ring recorded, not every proposal */
	assert_int_equal(counted(f, "set-downtime", "failed"), 2);
	assert_int_equal(counted(f, "set-downtime", "skipped"), 2);
	assert_int_equal(counted(f, "set-downtime", "applied"), 1);
	assert_int_equal(counted(f, "set-bandwidth", "applied"), 1);
	assert_int_equal(counted(f, "set-bandwidth", "failed"), 0);
}

/* A limit set once is in force: the policy proposing it again while the job statistics still show
 * the old value calls nothing and records nothing (once, three calls of the same set-downtime
 * 300 -> 500 were made within 0.6 s). */
static void test_limit_in_force_not_set_again(void **state)
{
	struct fx *f = *state;
	struct policy_action dt = act_of(RING_ACT_SET_DOWNTIME, 500, 300, "sla");
	struct policy_action bw = act_of(RING_ACT_SET_BANDWIDTH, 40LL << 20, 20LL << 20, "bw");

	f->ctx.downtime_limit_ms = 300;
	f->ctx.bandwidth_limit_mibs = 20;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &bw, &f->ctx), RING_RES_APPLIED);
	for (int i = 1; i <= 3; i++) {
		f->ctx.now_ns += 200000000;
		assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx),
				 RING_RES_APPLIED);
		assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &bw, &f->ctx),
				 RING_RES_APPLIED);
	}
	assert_int_equal(F.calls[OP_SET_DT], 1);
	assert_int_equal(F.calls[OP_SET_BW], 1);
	reread(f);
	assert_int_equal(actions(f), 2);
	assert_int_equal(f->job.applied, 2);
	assert_int_equal(counted(f, "set-downtime", "applied"), 1);

	/* The statistics catch up; later someone else sets 300 again: ours is no longer in force,
	 * and the policy's 500 is applied once more. */
	f->ctx.downtime_limit_ms = 500;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(F.calls[OP_SET_DT], 1);
	f->ctx.downtime_limit_ms = 300;
	f->ctx.now_ns += 1 * S_NS;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(F.calls[OP_SET_DT], 2);
	/* Statistics that never show our bandwidth: after ACT_VERIFY_MS the value they show is
	 * believed, and the limit set again. */
	f->ctx.now_ns += (ACT_VERIFY_MS / 1000) * S_NS;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &bw, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(F.calls[OP_SET_BW], 2);
	/* Another value is a new action. */
	dt.value = 800;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(F.calls[OP_SET_DT], 3);
	assert_int_equal(F.downtime_ms, 800);
	reread(f);
	assert_int_equal(actions(f), 5);
}

/* A restarted agent takes the actions of the ring as its own: what was applied is in force, a
 * refusal already recorded is not recorded again, a terminal action that took stops the rest. */
static void test_restored_actions(void **state)
{
	struct fx *f = *state;
	struct policy_action dt = act_of(RING_ACT_SET_DOWNTIME, 500, 300, "sla");
	struct policy_action sus = act_of(RING_ACT_SUSPEND, 0, -1, "sla exceeded");
	struct ring_action ra = { .kind = RING_ACT_SET_DOWNTIME, .result = RING_RES_APPLIED,
				  .old_value = 300, .new_value = 500 };

	actuator_job_restore(&f->job, &ra, f->ctx.now_ns - 1 * S_NS);
	memset(&ra, 0, sizeof(ra));
	ra.kind = RING_ACT_SUSPEND;
	ra.result = RING_RES_SKIPPED;
	snprintf(ra.reason, sizeof(ra.reason), "suspend not allowed (allow-suspend=no)");
	actuator_job_restore(&f->job, &ra, f->ctx.now_ns - 1 * S_NS);
	f->ctx.downtime_limit_ms = 300;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &sus, &f->ctx), RING_RES_SKIPPED);
	assert_int_equal(F.calls[OP_SET_DT], 0);
	reread(f);
	assert_int_equal(actions(f), 0);
	assert_int_equal(f->job.applied, 1);
	assert_int_equal(f->job.skipped, 1);

	memset(&ra, 0, sizeof(ra));
	ra.kind = RING_ACT_POSTCOPY;
	ra.result = RING_RES_APPLIED;
	actuator_job_restore(&f->job, &ra, f->ctx.now_ns - 1 * S_NS);
	dt.value = 900;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &f->ctx), RING_RES_SKIPPED);
	reread(f);
	assert_non_null(strstr(action(f, 0, NULL)->reason, "already took"));
	assert_int_equal(F.calls[OP_SET_DT], 0);
}

static void test_rate_limit_per_domain(void **state)
{
	struct fx *f = *state;
	struct act_job other;
	struct policy_action bw;

	for (int i = 0; i < 5; i++) {
		bw = act_of(RING_ACT_SET_BANDWIDTH, (int64_t)(30 + i) << 20, 20LL << 20, "bw");
		assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &bw, &f->ctx),
				 i < 4 ? RING_RES_APPLIED : RING_RES_SKIPPED);
	}
	assert_int_equal(F.calls[OP_SET_BW], 4);
	assert_int_equal(F.speed_mibs, 33);
	/* Another domain has its own budget. */
	actuator_job_init(&other, 4, "db1");
	actuator_load_settings(f->act, &other, &HANDLE, NULL);
	assert_int_equal(actuator_apply(f->act, &other, &HANDLE, &bw, &f->ctx), RING_RES_APPLIED);
	/* An abort is never held back by the rate limit. */
	bw = act_of(RING_ACT_ABORT, 0, -1, "hopeless");
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &bw, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(F.calls[OP_ABORT], 1);
	/* One more action every 2 s for the first domain (whose job has ended by now: use a new
	 * one to see the refill). */
	reread(f);
	assert_non_null(strstr(action(f, 4, NULL)->reason, "rate limit: 4 actions per 8 s"));
	actuator_job_init(&other, 3, "web1");
	actuator_load_settings(f->act, &other, &HANDLE, NULL);
	for (int i = 0; i < 4; i++) {
		bw = act_of(RING_ACT_SET_BANDWIDTH, (int64_t)(40 + i) << 20, 20LL << 20, "bw");
		assert_int_equal(actuator_apply(f->act, &other, &HANDLE, &bw, &f->ctx),
				 RING_RES_APPLIED);
	}
	bw.value = 50LL << 20;
	assert_int_equal(actuator_apply(f->act, &other, &HANDLE, &bw, &f->ctx), RING_RES_SKIPPED);
	f->ctx.now_ns += 2 * S_NS;
	assert_int_equal(actuator_apply(f->act, &other, &HANDLE, &bw, &f->ctx), RING_RES_APPLIED);
	bw.value = 51LL << 20;
	assert_int_equal(actuator_apply(f->act, &other, &HANDLE, &bw, &f->ctx), RING_RES_SKIPPED);
}

static void test_gates(void **state)
{
	struct fx *f = *state;
	struct policy_action pc = act_of(RING_ACT_POSTCOPY, 0, -1, "sla exceeded");
	struct policy_action sus = act_of(RING_ACT_SUSPEND, 0, -1, "sla exceeded");
	struct policy_action dt = act_of(RING_ACT_SET_DOWNTIME, 500, 300, "sla");
	struct policy_action ab = act_of(RING_ACT_ABORT, 0, -1, "hopeless");
	struct act_context in = f->ctx;
	const struct ring_action *ra;

	/* Nothing is done on the destination. */
	in.direction = RING_DIR_IN;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &dt, &in), RING_RES_SKIPPED);
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &ab, &in), RING_RES_SKIPPED);
	/* No post-copy without the owner's consent, nor without the flag (the fake said 0). */
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &pc, &f->ctx), RING_RES_SKIPPED);
	f->job.settings.lim.allow_postcopy = true;
	assert_false(f->job.postcopy_flag);
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &pc, &f->ctx), RING_RES_SKIPPED);
	/* Suspend is refused unless the domain allows it (default: not). */
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &sus, &f->ctx), RING_RES_SKIPPED);
	/* With the flag, not on an unhealthy network. */
	f->job.postcopy_flag = true;
	f->ctx.nic_errors_delta = 3;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &pc, &f->ctx), RING_RES_SKIPPED);
	f->ctx.nic_errors_delta = 0;
	f->ctx.nic_carrier = MIG_NIC_CARRIER_DOWN;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &pc, &f->ctx), RING_RES_SKIPPED);
	assert_int_equal(F.calls[OP_POSTCOPY] + F.calls[OP_SUSPEND] + F.calls[OP_ABORT] +
			 F.calls[OP_SET_DT], 0);
	f->ctx.nic_carrier = MIG_NIC_CARRIER_UNKNOWN;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &pc, &f->ctx), RING_RES_APPLIED);
	assert_int_equal(F.calls[OP_POSTCOPY], 1);
	/* Post-copy took: nothing else may follow, above all no abort (the guest runs on both). */
	f->ctx.phase = RING_PHASE_POSTCOPY;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &ab, &f->ctx), RING_RES_SKIPPED);
	assert_int_equal(F.calls[OP_ABORT], 0);
	reread(f);
	ra = action(f, 0, NULL);
	assert_int_equal(ra->result, RING_RES_SKIPPED);
	assert_non_null(strstr(ra->reason, "incoming"));
	assert_non_null(strstr(action(f, 2, NULL)->reason, "allow-postcopy=no"));
	assert_non_null(strstr(action(f, 3, NULL)->reason, "--postcopy"));
	assert_non_null(strstr(action(f, 4, NULL)->reason, "allow-suspend"));
	assert_non_null(strstr(action(f, 5, NULL)->reason, "3 errors"));
	assert_non_null(strstr(action(f, 6, NULL)->reason, "carrier down"));
	assert_int_equal(action(f, 7, NULL)->result, RING_RES_APPLIED);
	assert_int_equal(action(f, 8, NULL)->result, RING_RES_SKIPPED);
}

static void test_terminal_actions_confirmed_or_failed(void **state)
{
	struct fx *f = *state;
	struct policy_action ab = act_of(RING_ACT_ABORT, 0, -1, "hopeless");
	struct policy_action sus = act_of(RING_ACT_SUSPEND, 0, -1, "sla");
	struct act_job j2;

	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &ab, &f->ctx), RING_RES_APPLIED);
	assert_true(f->job.terminal_done);
	actuator_observe(f->act, &f->job, true, RING_PHASE_PRECOPY, f->ctx.now_ns + S_NS);
	assert_int_equal(f->job.pending_kind, RING_ACT_ABORT);
	actuator_observe(f->act, &f->job, false, RING_PHASE_FAILED, f->ctx.now_ns + 2 * S_NS);
	assert_int_equal(f->job.pending_kind, 0);
	assert_true(f->job.aborted);

	/* A suspend libvirt accepted but the job never shows: recorded as failed after 15 s. */
	actuator_job_init(&j2, 5, "app2");
	actuator_load_settings(f->act, &j2, &HANDLE, NULL);
	j2.settings.lim.allow_suspend = true;
	assert_int_equal(actuator_apply(f->act, &j2, &HANDLE, &sus, &f->ctx), RING_RES_APPLIED);
	actuator_observe(f->act, &j2, true, RING_PHASE_PRECOPY, f->ctx.now_ns + 10 * S_NS);
	assert_int_equal(j2.pending_kind, RING_ACT_SUSPEND);
	actuator_observe(f->act, &j2, true, RING_PHASE_PRECOPY, f->ctx.now_ns + 16 * S_NS);
	assert_int_equal(j2.pending_kind, 0);
	assert_false(j2.terminal_done);
	reread(f);
	assert_int_equal(actions(f), 3);
	assert_int_equal(action(f, 2, NULL)->kind, RING_ACT_SUSPEND);
	assert_int_equal(action(f, 2, NULL)->result, RING_RES_FAILED);
	assert_int_equal(action(f, 2, NULL)->error, -ETIMEDOUT);
}

static void test_hold_recorded_not_applied(void **state)
{
	struct fx *f = *state;
	struct policy_action h = act_of(RING_ACT_HOLD, 0, -1, "network unsteady: waiting 3 s");

	h.reason = REASON_NETWORK_UNSTEADY;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &h, &f->ctx), RING_RES_APPLIED);
	reread(f);
	assert_int_equal(actions(f), 1);
	assert_int_equal(action(f, 0, NULL)->kind, RING_ACT_HOLD);
	assert_int_equal(action(f, 0, NULL)->reason_code, REASON_NETWORK_UNSTEADY);
	for (int op = OP_SET_DT; op <= OP_ABORT; op++)
		assert_int_equal(F.calls[op], 0);
}

/* Advisory holds are not applied, so each says what it is by its reason alone: two different
 * waits are two records (the second used to vanish as a repeat of the first), the same wait
 * proposed again is one. */
static void test_advisory_holds_by_reason(void **state)
{
	struct fx *f = *state;
	struct policy_action h1 = act_of(RING_ACT_HOLD, 0, -1, "link speed unknown (the NIC reports none)");
	struct policy_action h2 = act_of(RING_ACT_HOLD, 0, -1, "pass 2 ran on a disturbed network");

	h1.reason = REASON_PROBE;
	h2.reason = REASON_NETWORK_UNSTEADY;
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &h1, &f->ctx), RING_RES_ADVISORY);
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &h2, &f->ctx), RING_RES_ADVISORY);
	assert_int_equal(actuator_apply(f->act, &f->job, &HANDLE, &h2, &f->ctx), RING_RES_ADVISORY);
	reread(f);
	assert_int_equal(actions(f), 2);
	assert_int_equal(action(f, 0, NULL)->reason_code, REASON_PROBE);
	assert_int_equal(action(f, 1, NULL)->reason_code, REASON_NETWORK_UNSTEADY);
}

/* ---- metadata ------------------------------------------------------------------------------ */

#define META(attrs) "<migtune:policy xmlns:migtune=\"" ACT_METADATA_NS "\" " attrs "/>"

static void test_metadata_parse(void **state)
{
	struct act_settings s;
	char err[160];

	memset(&s, 0, sizeof(s));
	policy_limits_default(&s.lim);
	assert_int_equal(actuator_parse_metadata(META("name=\"rhv-minimal\" sla-max-downtime-ms=\"9000\" "
				"allow-postcopy=\"yes\" allow-suspend=\"yes\" budget-s-per-gib=\"60\" "
				"future=\"x\""), &s, err, sizeof(err)), 0);
	assert_string_equal(s.policy, "rhv-minimal");
	assert_int_equal(s.lim.sla_max_downtime_ms, 9000);
	assert_true(s.lim.allow_postcopy);
	assert_true(s.lim.allow_suspend);
	assert_int_equal(s.lim.budget_s_per_gib, 60);

	/* One bad attribute: the others still apply. */
	memset(&s, 0, sizeof(s));
	policy_limits_default(&s.lim);
	assert_int_equal(actuator_parse_metadata(META("sla-max-downtime-ms=\"lots\" allow-suspend=\"yes\""),
						 &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "sla-max-downtime-ms=\"lots\""));
	assert_int_equal(s.lim.sla_max_downtime_ms, 500);
	assert_true(s.lim.allow_suspend);
	assert_int_equal(actuator_parse_metadata(META("allow-postcopy=\"maybe\""), &s, err,
						 sizeof(err)), -EINVAL);
	assert_int_equal(actuator_parse_metadata(META("name=\"a b\""), &s, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(actuator_parse_metadata(META("sla-max-downtime-ms=\"0\""), &s, err,
						 sizeof(err)), -EINVAL);
	/* As libvirt returns it: the element without its namespace. */
	memset(&s, 0, sizeof(s));
	policy_limits_default(&s.lim);
	assert_int_equal(actuator_parse_metadata("<policy name=\"adaptive\" sla-max-downtime-ms=\"10000\"/>",
						 &s, err, sizeof(err)), 0);
	assert_string_equal(s.policy, "adaptive");
	assert_int_equal(s.lim.sla_max_downtime_ms, 10000);
	/* Not ours, or not XML at all. */
	assert_int_equal(actuator_parse_metadata("<policy xmlns=\"urn:other\" name=\"x\"/>", &s, err,
						 sizeof(err)), -EBADMSG);
	assert_int_equal(actuator_parse_metadata("<migtune:policy", &s, err, sizeof(err)), -EBADMSG);
	assert_int_equal(actuator_parse_metadata("<other name=\"x\"/>", &s, err, sizeof(err)), -EBADMSG);
	assert_int_equal(actuator_parse_metadata("", &s, err, sizeof(err)), -EBADMSG);

	/* The owner's abort and recovery choices reach the policy's limits. */
	memset(&s, 0, sizeof(s));
	policy_limits_default(&s.lim);
	assert_int_equal(s.lim.on_hopeless, MIG_ON_HOPELESS_PARK);
	assert_true(s.lim.allow_abort);
	assert_false(s.lim.postcopy_recovery);
	assert_int_equal(actuator_parse_metadata(META("on-hopeless=\"abort\" allow-abort=\"no\" "
						      "postcopy-recovery=\"auto\""), &s, err,
						 sizeof(err)), 0);
	assert_int_equal(s.lim.on_hopeless, MIG_ON_HOPELESS_ABORT);
	assert_false(s.lim.allow_abort);
	assert_true(s.lim.postcopy_recovery);
	assert_int_equal(actuator_parse_metadata(META("on-hopeless=\"never\""), &s, err,
						 sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "on-hopeless=\"never\""));
	assert_int_equal(s.lim.on_hopeless, MIG_ON_HOPELESS_ABORT); /* kept */

	/* A hostile element (the owner writes it; this runs on the agent's main loop): 60000
	 * attributes are refused by the bound, not parsed in quadratic time. */
	size_t cap = 60000 * 12 + 64, len = 0;
	char *big = malloc(cap);
	assert_non_null(big);
	len += (size_t)snprintf(big, cap, "<policy");
	for (int i = 0; i < 60000; i++)
		len += (size_t)snprintf(big + len, cap - len, " a%d='1'", i);
	snprintf(big + len, cap - len, "/>");
	memset(&s, 0, sizeof(s));
	policy_limits_default(&s.lim);
	assert_int_equal(actuator_parse_metadata(big, &s, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "larger than 64 KiB"));
	big[60000] = '\0'; /* the first ~6000 attributes: within the size bound, over the count */
	assert_int_equal(actuator_parse_metadata(big, &s, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "more than 64 attributes"));
	assert_int_equal(s.lim.sla_max_downtime_ms, 500);
	free(big);
}

/* The hook's report (the wire's policy) and the metadata both land in the same fields. */
static void test_owner_limits(void **state)
{
	struct wire_policy p = { .present = WIRE_POL_ON_HOPELESS | WIRE_POL_ALLOW_ABORT |
					    WIRE_POL_POSTCOPY_RECOVERY | WIRE_POL_SLA_DOWNTIME,
				 .on_hopeless = WIRE_ON_HOPELESS_ABORT, .allow_abort = 0,
				 .postcopy_recovery = WIRE_POSTCOPY_RECOVERY_AUTO,
				 .sla_max_downtime_ms = 900, .allow_suspend = 1 };
	struct mig_limits lim;

	policy_limits_default(&lim);
	actuator_owner_limits(&p, &lim);
	assert_int_equal(lim.on_hopeless, MIG_ON_HOPELESS_ABORT);
	assert_false(lim.allow_abort);
	assert_true(lim.postcopy_recovery);
	assert_int_equal(lim.sla_max_downtime_ms, 900);
	assert_false(lim.allow_suspend); /* not present: the default stays */
}

static void test_settings_from_metadata(void **state)
{
	struct fx *f = *state;
	struct act_job j;

	F.metadata = META("name=\"rhv-postcopy\" sla-max-downtime-ms=\"2000\" allow-postcopy=\"yes\"");
	F.postcopy = 1;
	actuator_job_init(&j, 7, "db");
	actuator_load_settings(f->act, &j, NULL, NULL);     /* no handle yet: defaults, retried */
	assert_false(j.settings_loaded);
	actuator_load_settings(f->act, &j, &HANDLE, NULL);
	assert_true(j.settings_loaded);
	assert_string_equal(j.settings.policy, "rhv-postcopy");
	assert_int_equal(j.settings.lim.sla_max_downtime_ms, 2000);
	assert_true(j.settings.lim.allow_postcopy);
	assert_true(j.postcopy_flag);
	/* Loaded once per job. */
	actuator_load_settings(f->act, &j, &HANDLE, NULL);
	assert_int_equal(F.calls[OP_META], 2);     /* setup's job, then this one */

	/* Malformed metadata: the configured defaults, and the job still runs. */
	F.metadata = "<garbage";
	actuator_job_init(&j, 8, "db2");
	actuator_load_settings(f->act, &j, &HANDLE, NULL);
	assert_true(j.settings_loaded);
	assert_string_equal(j.settings.policy, "adaptive");
	assert_int_equal(j.settings.lim.sla_max_downtime_ms, 500);
	/* libvirt failing to answer: defaults too. */
	F.fail[OP_META] = EIO;
	actuator_job_init(&j, 9, "db3");
	actuator_load_settings(f->act, &j, &HANDLE, NULL);
	assert_string_equal(j.settings.policy, "adaptive");
}

/* migtuned.conf's [policy] on-hopeless and allow-abort are the defaults; the domain's attributes
 * of the same names override them, one by one. */
static void test_owner_choices_over_the_file(void **state)
{
	struct actuator_opts ao = { .ops = &fake_ops };
	struct ring_create_opts o = { .slot_count = 1024, .domain_slots = 16, .gid = (gid_t)-1 };
	struct ring_writer *w;
	struct actuator *a;
	struct act_job j;
	char ring[64];

	memset(&F, 0, sizeof(F));
	tu_ring_name("act-own", ring, sizeof(ring));
	o.name = ring;
	assert_int_equal(ring_writer_open(&o, &w), 0);
	ao.ring = w;
	str_copy(ao.defaults.policy, sizeof(ao.defaults.policy), "adaptive");
	policy_limits_default(&ao.defaults.lim);
	ao.defaults.lim.on_hopeless = MIG_ON_HOPELESS_ABORT;     /* on-hopeless = abort */
	ao.defaults.lim.allow_abort = false;                     /* allow-abort = no */
	assert_int_equal(actuator_new(&ao, &a), 0);

	F.metadata = NULL;                       /* no metadata: the file's choices */
	actuator_job_init(&j, 1, "a");
	actuator_load_settings(a, &j, &HANDLE, NULL);
	assert_int_equal(j.settings.lim.on_hopeless, MIG_ON_HOPELESS_ABORT);
	assert_false(j.settings.lim.allow_abort);

	F.metadata = META("on-hopeless=\"park\"");     /* one overridden, the other kept */
	actuator_job_init(&j, 2, "b");
	actuator_load_settings(a, &j, &HANDLE, NULL);
	assert_int_equal(j.settings.lim.on_hopeless, MIG_ON_HOPELESS_PARK);
	assert_false(j.settings.lim.allow_abort);

	F.metadata = META("allow-abort=\"yes\"");
	actuator_job_init(&j, 3, "c");
	actuator_load_settings(a, &j, &HANDLE, NULL);
	assert_int_equal(j.settings.lim.on_hopeless, MIG_ON_HOPELESS_ABORT);
	assert_true(j.settings.lim.allow_abort);
	actuator_free(a);
	ring_writer_close(w, true);
}

static void test_status_job_flags(void **state)
{
	uint64_t fl = 0;
	static const char status[] =
		"<domstatus state='running'>\n  <job type='none' async='migration out' "
		"phase='perform3' flags='0x801b' asyncStarted='1795298924763'>\n    <migParams>\n";

	assert_int_equal(actuator_status_job_flags(status, &fl), 0);
	assert_int_equal(fl, 0x801b);
	assert_true(fl & (1u << 15));
	assert_int_equal(actuator_status_job_flags("<domstatus><job type='none' flags='0x0'/>", &fl),
			 -ENOENT);
	assert_int_equal(actuator_status_job_flags("<job async='migration out' flags='zz'>", &fl),
			 -EBADMSG);
	assert_int_equal(actuator_status_job_flags("no job here", &fl), -ENOENT);
	/* The attributes of the next tag are not this one's. */
	assert_int_equal(actuator_status_job_flags("<job type='none'><x async='migration out' "
						   "flags='0x1'/>", &fl), -ENOENT);

	/* 200000 <job> tags before the migration's (a status file is in /run: hostile): each is
	 * searched once, so this is one pass over 1.4 MB, not 200000 of them. */
	size_t n = 200000, len = 0;
	char *big = malloc(n * 7 + 128);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++) {
		memcpy(big + len, "<job x>", 7);
		len += 7;
	}
	strcpy(big + len, "<job async='migration out' flags='0x8000'>");
	assert_int_equal(actuator_status_job_flags(big, &fl), 0);
	assert_int_equal(fl, 0x8000);
	free(big);
}

/* ---- the tracker hands the policy's actions to the actuator --------------------------------- */

static const uint8_t U1[16] = { 0x11, 0x22, 0x33, 0x44, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static void s1_sample(struct ring_sample *s, int i)
{
	virTypedParameterPtr p;
	int n;
	uint32_t it = 1 + (uint32_t)(i / 9);
	uint64_t rem = i < 27 ? (256ULL << 20) - (uint64_t)i * 10000000 :
		94371840 + (uint64_t)(i % 9) * 1000000;

	assert_int_equal(tu_job_params(500u * (unsigned)i, it, rem, 20400000, 5072, 4934, &p, &n), 0);
	jobstats_to_sample(VIR_DOMAIN_JOB_UNBOUNDED, p, n, s);
	virTypedParamsFree(p, n);
	s->downtime_limit_ms = 300;
}

/* The S1 series through a tracker with the actuator; with restart_at > 0 the agent is killed
 * before that sample and a new one (tracker and actuator) opens the same ring. */
static void run_tracker_restart(struct fx *f, const char *policy, int restart_at,
				size_t *ret_applied, size_t *ret_skipped, size_t *ret_aborts)
{
	struct tracker *t;
	struct tracker_opts to = { 0 };
	struct tracker_domain *d;
	struct tracker_nic_view nv = { .carrier = 1, .capacity_bps = 0 };
	uint64_t t0 = 1000 * S_NS;

	urcu_memb_register_thread();
	to.ring = f->w;
	to.policy = policy;
	to.actuator = f->act;
	assert_int_equal(tracker_new(&to, &t), 0);
	d = tracker_begin(t, U1, "busy", RING_DIR_OUT, t0);
	d->virt_handle = &HANDLE;
	for (int i = 0; i < 240 && d->cur.active; i++) {
		struct ring_sample s;

		if (i == restart_at) {
			struct actuator_opts ao = { .ring = f->w, .ops = &fake_ops };

			d->virt_handle = NULL;
			tracker_free(t, NULL);
			actuator_free(f->act);
			assert_int_equal(actuator_new(&ao, &f->act), 0);
			to.actuator = f->act;
			assert_int_equal(tracker_new(&to, &t), 0);
			d = tracker_find(t, U1);
			assert_non_null(d);
			assert_true(d->cur.active);
			d->virt_handle = &HANDLE;
		}
		s1_sample(&s, i);
		tracker_ingest_sample(t, d, !F.calls[OP_ABORT], &s, &nv,
				      t0 + (uint64_t)i * 500000000);
	}
	d->virt_handle = NULL;
	tracker_free(t, NULL);
	urcu_memb_unregister_thread();
	reread(f);
	*ret_applied = *ret_skipped = *ret_aborts = 0;
	for (size_t i = 0; i < actions(f); i++) {
		const struct ring_action *ra = action(f, i, NULL);

		*ret_applied += ra->result == RING_RES_APPLIED;
		*ret_skipped += ra->result == RING_RES_SKIPPED;
		*ret_aborts += ra->kind == RING_ACT_ABORT && ra->result == RING_RES_APPLIED;
	}
}

static void run_tracker(struct fx *f, const char *policy, size_t *ret_applied, size_t *ret_skipped,
			size_t *ret_aborts)
{
	run_tracker_restart(f, policy, -1, ret_applied, ret_skipped, ret_aborts);
}

/* The lab's S1 as a consistent job at time t_ms: 256 MiB sent at 20 MiB/s (the bulk pass, 12.8 s),
 * then passes of a 96 MiB dirty set (4.8 s each) for ever. */
static void plateau_sample(struct ring_sample *s, uint64_t t_ms)
{
	const uint64_t mib = 1048576, ram = 256 * mib, dirty = 96 * mib, bps = 20 * mib;
	const uint64_t first_ms = ram * 1000 / bps, pass_ms = dirty * 1000 / bps;
	uint64_t sent = bps * t_ms / 1000;

	memset(s, 0, sizeof(*s));
	s->direction = RING_DIR_OUT;
	s->phase = RING_PHASE_PRECOPY;
	if (t_ms < first_ms) {
		s->iteration = 1;
		s->data_remaining_bytes = ram - sent;
	} else {
		s->iteration = 2 + (uint32_t)((t_ms - first_ms) / pass_ms);
		s->data_remaining_bytes = dirty - bps * ((t_ms - first_ms) % pass_ms) / 1000;
	}
	s->data_total_bytes = s->mem_total_bytes = ram;
	s->data_processed_bytes = s->mem_processed_bytes = sent;
	s->mem_remaining_bytes = s->data_remaining_bytes;
	s->memory_bps = bps;
	s->page_size = 4096;
	s->dirty_pages_per_s = (uint32_t)(bps / 4096);
	s->expected_downtime_ms = (uint32_t)(s->data_remaining_bytes * 1000 / bps);
	s->downtime_limit_ms = 300;
	s->elapsed_ms = (uint32_t)t_ms;
}

static const uint8_t U2[16] = { 0x21, 0x22, 0x33, 0x44, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
static const uint8_t U3[16] = { 0x31, 0x22, 0x33, 0x44, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

/* A job of domain uuid that runs n samples of the lab's S1 with the max downtime limit_ms, then
 * completes with final statistics fin. */
static void completed_job(struct tracker *t, const uint8_t uuid[16], const char *name,
			  uint32_t limit_ms, const struct ring_sample *fin, uint64_t t0)
{
	struct tracker_nic_view nv = { .carrier = 1 };
	struct tracker_domain *d = tracker_begin(t, uuid, name, RING_DIR_OUT, t0);
	struct ring_sample s;

	d->virt_handle = &HANDLE;
	for (int i = 0; i < 4; i++) {
		plateau_sample(&s, 500 * (uint64_t)i);
		s.downtime_limit_ms = limit_ms;
		tracker_ingest_sample(t, d, true, &s, &nv, t0 + (uint64_t)i * 500000000);
	}
	tracker_on_job_completed(t, uuid, name, fin, t0 + 2 * S_NS);
	d->virt_handle = NULL;
}

/* The overshoot records of the ring, in order. */
static size_t overshoot_events(struct fx *f, const struct ring_event **ret, size_t max)
{
	size_t n = 0;

	reread(f);
	for (size_t i = 0; i < f->n && n < max; i++)
		if (f->recs[i].type == RING_REC_EVENT &&
		    f->recs[i].u.event.source == RING_EVSRC_AGENT &&
		    f->recs[i].u.event.code == RING_AGEV_OVERSHOOT)
			ret[n++] = &f->recs[i].u.event;
	return n;
}

/*
 * A completed pre-copy teaches the host's downtime overshoot, recorded in the ring with its
 * numbers; a post-copy's downtime says nothing of it.  A restarted agent reads it back from the
 * ring, and the next job's policy plans with what was
 * learned: a real downtime 1.5 x the limit makes the largest max downtime it sets for an SLA of
 * 500 ms 333 ms, where the assumed 1.2 x gives 416 ms.
 */
static void test_tracker_learns_overshoot(void **state)
{
	struct fx *f = *state;
	struct tracker *t;
	struct tracker_opts to = { 0 };
	struct tracker_nic_view nv = { .carrier = 1 };
	struct tracker_domain *d;
	const struct ring_event *ev[4];
	struct ring_sample fin;
	uint64_t t0 = 1000 * S_NS;
	int64_t first_dt = 0;

	F.metadata = META("sla-max-downtime-ms=\"500\"");
	urcu_memb_register_thread();
	to.ring = f->w;
	to.policy = "adaptive";
	to.actuator = f->act;
	assert_int_equal(tracker_new(&to, &t), 0);

	plateau_sample(&fin, 2500);
	fin.expected_downtime_ms = 750;                      /* the real downtime, 1.5 x 500 ms */
	completed_job(t, U1, "done", 500, &fin, t0);
	assert_int_equal(overshoot_events(f, ev, 4), 1);
	assert_int_equal(ev[0]->detail1, 750);
	assert_int_equal(ev[0]->detail2, 500);
	assert_string_equal(ev[0]->op, "overshoot");
	assert_string_equal(ev[0]->text, "1500 permille; estimate none -> 1500, 1 of last 8");

	fin.postcopy_requests = 12;                          /* finished in post-copy */
	completed_job(t, U2, "pc", 500, &fin, t0 + 10 * S_NS);
	assert_int_equal(overshoot_events(f, ev, 4), 1);

	/* a restarted agent rebuilds the estimate from the ring */
	tracker_free(t, NULL);
	assert_int_equal(tracker_new(&to, &t), 0);

	/* the next job: the SLA's limit less the learned overshoot */
	d = tracker_begin(t, U3, "next", RING_DIR_OUT, t0 + 20 * S_NS);
	d->virt_handle = &HANDLE;
	for (int i = 0; i < 120 && !F.calls[OP_SET_DT]; i++) {
		struct ring_sample s;

		plateau_sample(&s, 500 * (uint64_t)i);
		tracker_ingest_sample(t, d, true, &s, &nv, t0 + 20 * S_NS + (uint64_t)i * 500000000);
	}
	reread(f);
	for (size_t i = 0; i < actions(f) && !first_dt; i++) {
		uint32_t dom;
		const struct ring_action *ra = action(f, i, &dom);

		if (dom == d->ring_index && ra->kind == RING_ACT_SET_DOWNTIME &&
		    ra->result == RING_RES_APPLIED)
			first_dt = ra->new_value;
	}
	assert_int_equal(first_dt, 500 * 1000 / 1500);
	d->virt_handle = NULL;
	tracker_free(t, NULL);
	urcu_memb_unregister_thread();
}

/* Runs n samples of a plateau job of domain uuid with the NIC view nv, what the agent logs going
 * to a file; returns how many lines of it hold needle. */
static int logged_during_job(struct fx *f, const uint8_t uuid[16], const char *name,
			     const struct tracker_nic_view *nv, int n, const char *needle)
{
	struct tracker *t;
	struct tracker_opts to = { .ring = f->w, .policy = "adaptive", .actuator = f->act };
	struct tracker_domain *d;
	char path[] = "/tmp/mt-act-log.XXXXXX", line[1024];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO), found = 0;
	FILE *in;

	assert_true(fd >= 0 && saved >= 0);
	urcu_memb_register_thread();
	assert_int_equal(tracker_new(&to, &t), 0);
	d = tracker_begin(t, uuid, name, RING_DIR_OUT, 1000 * S_NS);
	d->virt_handle = &HANDLE;
	fflush(stderr);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	for (int i = 0; i < n; i++) {
		struct ring_sample s;

		plateau_sample(&s, 500 * (uint64_t)i);
		s.nic_tx_kibps = 20480;
		tracker_ingest_sample(t, d, true, &s, nv, 1000 * S_NS + (uint64_t)i * 500000000);
	}
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	d->virt_handle = NULL;
	tracker_free(t, NULL);
	urcu_memb_unregister_thread();
	in = fdopen(fd, "r");
	assert_non_null(in);
	rewind(in);
	while (fgets(line, sizeof(line), in))
		found += strstr(line, needle) != NULL;
	fclose(in);
	unlink(path);
	return found;
}

/* A migration NIC without a speed leaves the link's capacity unknown: the journal says so once
 * per migration, naming the fix; a NIC with a speed, or one not found, says nothing of it. */
static void test_tracker_logs_unknown_speed_once(void **state)
{
	struct fx *f = *state;
	const struct tracker_nic_view none = { .carrier = 1, .capacity_bps = 0 };
	const struct tracker_nic_view known = { .carrier = 1, .capacity_bps = 125000000 };
	const struct tracker_nic_view unfound = { .carrier = MIG_NIC_CARRIER_UNKNOWN };
	const char *said = "reports no link speed: its capacity is unknown, the policy finds "
			   "headroom by probing (set [nic] speed-mbps if the speed is known)";

	assert_int_equal(logged_during_job(f, U1, "veth", &none, 20, said), 1);
	assert_int_equal(logged_during_job(f, U2, "known", &known, 20, said), 0);
	assert_int_equal(logged_during_job(f, U3, "unfound", &unfound, 20, said), 0);
}

/* What a job sends, as the other migrations on its NIC are told: QEMU reports 0 at a job's first
 * samples and little at a pass's first while the job sends; the bytes over its last interval
 * say more then. */
static void test_tracker_job_sends(void **state)
{
	struct fx *f = *state;
	struct tracker *t;
	struct tracker_opts to = { .ring = f->w, .policy = "none" };
	struct tracker_nic_view nv = { .carrier = 1 };
	struct tracker_domain *d;
	struct ring_sample s;

	urcu_memb_register_thread();
	assert_int_equal(tracker_new(&to, &t), 0);
	d = tracker_begin(t, U1, "sends", RING_DIR_OUT, 1000 * S_NS);
	plateau_sample(&s, 1000);
	s.memory_bps = 0;                                   /* QEMU has no rate yet */
	tracker_ingest_sample(t, d, true, &s, &nv, 1001 * S_NS);
	assert_int_equal(tracker_domain_tx_bps(d), 0);      /* one sample: nothing to tell */
	plateau_sample(&s, 1500);
	s.memory_bps = 0;
	tracker_ingest_sample(t, d, true, &s, &nv, 1001 * S_NS + 500000000);
	assert_int_equal(tracker_domain_tx_bps(d), 20 << 20);     /* 10 MiB in 500 ms */
	plateau_sample(&s, 2000);
	s.memory_bps = 30 << 20;                            /* QEMU's rate, when it is more */
	tracker_ingest_sample(t, d, true, &s, &nv, 1002 * S_NS);
	assert_int_equal(tracker_domain_tx_bps(d), 30 << 20);
	tracker_free(t, NULL);
	urcu_memb_unregister_thread();
}

static void test_tracker_applies_rhv_schedule(void **state)
{
	struct fx *f = *state;
	size_t applied, skipped, aborts;

	F.metadata = META("name=\"rhv-minimal\"");
	run_tracker(f, "adaptive", &applied, &skipped, &aborts);
	/* RHV "Minimal downtime": 100, 150, 200, 300, 400, 500 ms, then abort; each applied once. */
	assert_int_equal(F.calls[OP_SET_DT], 6);
	assert_int_equal(F.downtime_ms, 500);
	assert_int_equal(F.calls[OP_ABORT], 1);
	assert_int_equal(aborts, 1);
	assert_int_equal(skipped, 0);
	assert_int_equal(applied, 7);
	assert_string_equal(action(f, 0, NULL)->policy, "rhv-minimal");
}

/* kill -9 and a restart between the schedule's steps: the new agent goes on from the ring and
 * applies each step once, as one agent would have (it once started the schedule over). */
static void test_tracker_restart_applies_each_step_once(void **state)
{
	struct fx *f = *state;
	size_t applied, skipped, aborts;

	F.metadata = META("name=\"rhv-minimal\"");
	run_tracker_restart(f, "adaptive", 100, &applied, &skipped, &aborts);
	assert_int_equal(F.calls[OP_SET_DT], 6);
	assert_int_equal(F.downtime_ms, 500);
	assert_int_equal(F.calls[OP_ABORT], 1);
	assert_int_equal(applied, 7);
	assert_int_equal(skipped, 0);
}

static void test_tracker_refused_postcopy_lets_schedule_go_on(void **state)
{
	struct fx *f = *state;
	size_t applied, skipped, aborts;

	/* "Post-copy migration" on a job without the flag: the gate refuses the post-copy, the
	 * policy is told, and its next item (abort) follows, as VDSM does. */
	F.metadata = META("name=\"rhv-postcopy\" allow-postcopy=\"yes\"");
	F.postcopy = 0;
	run_tracker(f, "adaptive", &applied, &skipped, &aborts);
	assert_int_equal(F.calls[OP_POSTCOPY], 0);
	assert_int_equal(F.calls[OP_ABORT], 1);
	assert_int_equal(skipped, 1);
	assert_int_equal(aborts, 1);
}

static void test_tracker_postcopy_when_flagged(void **state)
{
	struct fx *f = *state;
	size_t applied, skipped, aborts;

	F.metadata = META("name=\"rhv-postcopy\" allow-postcopy=\"yes\"");
	F.postcopy = 1;
	run_tracker(f, "adaptive", &applied, &skipped, &aborts);
	assert_int_equal(F.calls[OP_POSTCOPY], 1);
	assert_int_equal(F.calls[OP_ABORT], 0);
	assert_int_equal(aborts, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_advisory_holds_by_reason, setup_advisory, teardown),
		cmocka_unit_test_setup_teardown(test_advisory_records_and_calls_nothing, setup_advisory,
						teardown),
		cmocka_unit_test_setup_teardown(test_applied_and_read_back, setup_active, teardown),
		cmocka_unit_test_setup_teardown(test_prediction_follows_its_action, setup_active,
						teardown),
		cmocka_unit_test_setup_teardown(test_bandwidth_ceiling_holds, setup_active, teardown),
		cmocka_unit_test_setup_teardown(test_failure_backs_off_never_tight_loop, setup_active,
						teardown),
		cmocka_unit_test_setup_teardown(test_limit_in_force_not_set_again, setup_active,
						teardown),
		cmocka_unit_test_setup_teardown(test_restored_actions, setup_active, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_per_domain, setup_active, teardown),
		cmocka_unit_test_setup_teardown(test_gates, setup_active, teardown),
		cmocka_unit_test_setup_teardown(test_terminal_actions_confirmed_or_failed, setup_active,
						teardown),
		cmocka_unit_test_setup_teardown(test_hold_recorded_not_applied, setup_active, teardown),
		cmocka_unit_test(test_metadata_parse),
		cmocka_unit_test(test_owner_limits),
		cmocka_unit_test_setup_teardown(test_settings_from_metadata, setup_active, teardown),
		cmocka_unit_test(test_owner_choices_over_the_file),
		cmocka_unit_test(test_status_job_flags),
		cmocka_unit_test_setup_teardown(test_tracker_applies_rhv_schedule, setup_active,
						teardown),
		cmocka_unit_test_setup_teardown(test_tracker_restart_applies_each_step_once, setup_active,
						teardown),
		cmocka_unit_test_setup_teardown(test_tracker_refused_postcopy_lets_schedule_go_on,
						setup_active, teardown),
		cmocka_unit_test_setup_teardown(test_tracker_postcopy_when_flagged, setup_active,
						teardown),
		cmocka_unit_test_setup_teardown(test_tracker_learns_overshoot, setup_active,
						teardown),
		cmocka_unit_test_setup_teardown(test_tracker_logs_unknown_speed_once, setup_active,
						teardown),
		cmocka_unit_test_setup_teardown(test_tracker_job_sends, setup_active, teardown),
	};

	/* libvirt's thread-local error state is set up here, before the typed-parameter helpers
	 * of the fabricated job stats use it. */
	if (virInitialize() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
