/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shared decoder behind migtop and migdump: what view_feed makes of records, row arithmetic,
 * ordering, and the terminal plot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tools/view_decode.h"

static struct ring_record sample(uint32_t dom, uint64_t t, uint8_t phase, uint32_t iter,
				 uint64_t remaining, uint32_t elapsed_ms)
{
	struct ring_record r = { .type = RING_REC_SAMPLE, .size = sizeof(struct ring_sample),
				 .domain = dom, .mono_ns = t };
	r.u.sample.direction = RING_DIR_OUT;
	r.u.sample.phase = phase;
	r.u.sample.iteration = iter;
	r.u.sample.data_total_bytes = 1000u << 20;
	r.u.sample.data_remaining_bytes = remaining;
	r.u.sample.memory_bps = 20u << 20;
	r.u.sample.dirty_pages_per_s = 10240;   /* 40 MiB/s at 4 KiB pages */
	r.u.sample.page_size = 4096;
	r.u.sample.elapsed_ms = elapsed_ms;
	r.u.sample.nic_tx_kibps = 20 * 1024;
	return r;
}

/* The agent's "migration SUBOP" event (docs/agent.md). */
static struct ring_record migration_event(uint32_t dom, uint64_t t, const char *subop, int phase)
{
	struct ring_record r = { .type = RING_REC_EVENT, .size = sizeof(struct ring_event),
				 .domain = dom, .mono_ns = t };
	r.u.event.source = RING_EVSRC_AGENT;
	r.u.event.detail1 = phase;
	snprintf(r.u.event.op, sizeof(r.u.event.op), "migration");
	snprintf(r.u.event.subop, sizeof(r.u.event.subop), "%s", subop);
	snprintf(r.u.event.text, sizeof(r.u.event.text), "job ended without completion");
	return r;
}

static int names(void *ctx, uint32_t idx, char name[RING_NAME_MAX + 1], uint8_t uuid[16])
{
	(void)ctx;
	if (idx > 9)
		return -1;
	snprintf(name, RING_NAME_MAX + 1, "dom%u", idx);
	memset(uuid, (int)idx, 16);
	return 0;
}

static void test_feed_and_rows(void **state)
{
	(void)state;
	struct view_state v;
	struct view_source src = { names, NULL, NULL };
	struct view_row row;

	view_init(&v, &src);
	/* passes 1, 1, 2, 3: three passes recorded with the remaining at each pass's start */
	struct ring_record r = sample(1, 100, RING_PHASE_PRECOPY, 1, 800u << 20, 1000);
	assert_int_equal(view_feed(&v, &r), 0);
	r = sample(1, 200, RING_PHASE_PRECOPY, 1, 700u << 20, 2000);
	view_feed(&v, &r);
	r = sample(1, 300, RING_PHASE_PRECOPY, 2, 300u << 20, 3000);
	view_feed(&v, &r);
	r = sample(1, 400, RING_PHASE_PRECOPY, 3, 250u << 20, 4000);
	view_feed(&v, &r);
	assert_int_equal(v.n_migs, 1);
	const struct view_mig *m = &v.migs[0];
	assert_string_equal(m->name, "dom1");
	assert_int_equal(m->hist_n, 4);
	assert_int_equal(m->pass_n, 3);
	assert_int_equal(view_pass_at(m, 0)->remaining_bytes, 800u << 20);
	assert_int_equal(view_pass_at(m, 1)->remaining_bytes, 300u << 20);
	assert_int_equal(view_pass_at(m, 2)->iteration, 3);

	/* a NIC of 1 Gb/s: headroom = 119.2 MiB/s - 20 MiB/s */
	struct ring_record n = { .type = RING_REC_NIC, .size = sizeof(struct ring_nic),
				 .domain = RING_NO_DOMAIN, .mono_ns = 450 };
	n.u.nic.ifindex = 2;
	snprintf(n.u.nic.ifname, sizeof(n.u.nic.ifname), "eth1");
	n.u.nic.carrier = 1;
	n.u.nic.speed_mbps = 1000;
	n.u.nic.tx_bps = 20u << 20;
	view_feed(&v, &n);

	struct ring_record a = { .type = RING_REC_ACTION, .size = sizeof(struct ring_action),
				 .domain = 1, .mono_ns = 500 };
	a.u.action.kind = RING_ACT_SET_DOWNTIME;
	a.u.action.result = RING_RES_ADVISORY;
	a.u.action.old_value = 300;
	a.u.action.new_value = 500;
	snprintf(a.u.action.policy, sizeof(a.u.action.policy), "adaptive");
	snprintf(a.u.action.reason, sizeof(a.u.action.reason), "stalled");
	view_feed(&v, &a);

	view_row_fill(&v, m, &row);
	assert_string_equal(row.phase, "pre-copy");
	assert_string_equal(row.dir, "out");
	assert_int_equal(row.pass, 3);
	assert_true(row.progress_pct > 74.9 && row.progress_pct < 75.1);
	assert_true(row.dirty_mibs > 39.99 && row.dirty_mibs < 40.01);
	assert_true(row.bw_mibs > 19.99 && row.bw_mibs < 20.01);
	assert_true(row.headroom_mibs > 99.2 && row.headroom_mibs < 99.3);
	assert_string_equal(row.action, "downtime 300->500ms (advisory)");
	assert_string_equal(row.reason, "stalled");
	assert_string_equal(m->policy, "adaptive");
	assert_int_equal(v.log_n, 1);

	/* the job clock going back is a new migration of the same domain: history restarts */
	r = sample(1, 600, RING_PHASE_SETUP, 0, 1000u << 20, 10);
	view_feed(&v, &r);
	assert_int_equal(v.n_migs, 1);
	assert_int_equal(m->hist_n, 1);
	assert_int_equal(m->pass_n, 0);
	assert_false(m->have_action);

	/* invalid records are counted, not shown */
	r = sample(2, 700, RING_PHASE_MAX + 1, 1, 0, 0);
	view_feed(&v, &r);
	assert_int_equal(v.invalid, 1);
	assert_int_equal(v.n_migs, 1);

	/* an unknown domain index is shown by number */
	r = sample(42, 800, RING_PHASE_PRECOPY, 1, 1, 1);
	view_feed(&v, &r);
	assert_string_equal(v.migs[1].name, "#42");
	view_free(&v);
}

/* The agent's post-copy event CODE (2 broken, 3 recovering, 4 recovered) with its details. */
static struct ring_record pc_event(uint32_t dom, uint64_t t, int code, int d1, int d2)
{
	static const char *const subops[] = { [2] = "broken", [3] = "recovering", [4] = "recovered" };
	struct ring_record r = { .type = RING_REC_EVENT, .size = sizeof(struct ring_event),
				 .domain = dom, .mono_ns = t };
	r.u.event.source = RING_EVSRC_AGENT;
	r.u.event.code = code;
	r.u.event.detail1 = d1;
	r.u.event.detail2 = d2;
	snprintf(r.u.event.op, sizeof(r.u.event.op), "postcopy");
	snprintf(r.u.event.subop, sizeof(r.u.event.subop), "%s", subops[code]);
	return r;
}

#define PC_SEC(x) ((uint64_t)(x) * 1000000000u)

/* A post-copy broken twice: the phase says broken or resuming, the split time adds up the
 * breaks, the current one counted until now (or the end), and the JSON carries both. */
static void test_postcopy_breaks(void **state)
{
	(void)state;
	struct view_state v;
	struct view_source src = { names, NULL, NULL };
	struct view_row row;
	struct ring_record r;
	struct json_object *o, *migs, *m, *x;

	view_init(&v, &src);
	r = sample(1, PC_SEC(10), RING_PHASE_POSTCOPY, 2, 100u << 20, 10000);
	view_feed(&v, &r);
	view_row_fill(&v, &v.migs[0], &row);
	assert_string_equal(row.phase, "post-copy");
	assert_int_equal(row.pc_breaks, 0);
	r = pc_event(1, PC_SEC(12), RING_AGEV_PC_BROKEN, 2000, 1);
	view_feed(&v, &r);
	r = sample(1, PC_SEC(13), RING_PHASE_POSTCOPY, 2, 100u << 20, 13000);
	r.u.sample.flags = RING_SAMPLE_F_PC_BROKEN;
	view_feed(&v, &r);
	view_row_fill(&v, &v.migs[0], &row);
	assert_string_equal(row.phase, "pc-broken");
	assert_true(row.attn & VIEW_ATTN_SPLIT);
	assert_int_equal(row.pc_breaks, 1);
	assert_true(row.pc_split_s > 0.99 && row.pc_split_s < 1.01);   /* 12 s -> newest 13 s */
	r = pc_event(1, PC_SEC(20), RING_AGEV_PC_RECOVERING, 1, 8000);
	view_feed(&v, &r);
	r = sample(1, PC_SEC(21), RING_PHASE_POSTCOPY, 2, 100u << 20, 21000);
	r.u.sample.flags = RING_SAMPLE_F_PC_RECOVERING;
	view_feed(&v, &r);
	view_row_fill(&v, &v.migs[0], &row);
	assert_string_equal(row.phase, "pc-resume");
	r = pc_event(1, PC_SEC(22), RING_AGEV_PC_RECOVERED, 10000, 10000);
	view_feed(&v, &r);
	r = pc_event(1, PC_SEC(30), RING_AGEV_PC_BROKEN, 20000, 2);
	view_feed(&v, &r);
	r = pc_event(1, PC_SEC(33), RING_AGEV_PC_RECOVERED, 3000, 13000);
	view_feed(&v, &r);
	r = sample(1, PC_SEC(34), RING_PHASE_POSTCOPY, 2, 50u << 20, 34000);
	view_feed(&v, &r);
	view_row_fill(&v, &v.migs[0], &row);
	assert_string_equal(row.phase, "post-copy");
	assert_false(row.attn & VIEW_ATTN_SPLIT);
	assert_int_equal(row.pc_breaks, 2);
	assert_true(row.pc_split_s > 12.99 && row.pc_split_s < 13.01);
	o = view_state_json(&v, VIEW_SORT_DOMAIN);
	assert_true(json_object_object_get_ex(o, "migrations", &migs));
	m = json_object_array_get_idx(migs, 0);
	assert_true(json_object_object_get_ex(m, "postcopy_breaks", &x));
	assert_int_equal(json_object_get_int(x), 2);
	assert_true(json_object_object_get_ex(m, "postcopy_split_s", &x));
	assert_true(json_object_get_double(x) > 12.99 && json_object_get_double(x) < 13.01);
	json_object_put(o);
	/* the next job of the domain starts with no breaks */
	r = migration_event(1, PC_SEC(40), "completed", RING_PHASE_DONE);
	view_feed(&v, &r);
	r = migration_event(1, PC_SEC(50), "found", 1);
	view_feed(&v, &r);
	r = sample(1, PC_SEC(51), RING_PHASE_PRECOPY, 1, 900u << 20, 100);
	view_feed(&v, &r);
	view_row_fill(&v, &v.migs[0], &row);
	assert_int_equal(row.pc_breaks, 0);
	assert_true(row.pc_split_s == 0);
	view_free(&v);
}

static void test_order(void **state)
{
	(void)state;
	struct view_state v;
	struct view_source src = { names, NULL, NULL };
	const struct view_mig *order[4];

	view_init(&v, &src);
	struct ring_record r = sample(3, 1, RING_PHASE_DONE, 5, 0, 9000);
	view_feed(&v, &r);
	r = sample(2, 2, RING_PHASE_PRECOPY, 2, 100u << 20, 5000);
	view_feed(&v, &r);
	r = sample(1, 3, RING_PHASE_PRECOPY, 2, 600u << 20, 1000);
	view_feed(&v, &r);
	r = sample(4, 4, RING_PHASE_FAILED, 2, 600u << 20, 20000);
	view_feed(&v, &r);

	view_sorted(&v, VIEW_SORT_DOMAIN, order);
	assert_string_equal(order[0]->name, "dom1");
	assert_string_equal(order[1]->name, "dom2");
	assert_string_equal(order[2]->name, "dom3");   /* finished ones after the active ones */
	assert_string_equal(order[3]->name, "dom4");
	view_sorted(&v, VIEW_SORT_REMAINING, order);
	assert_string_equal(order[0]->name, "dom1");
	assert_string_equal(order[1]->name, "dom2");
	assert_string_equal(order[2]->name, "dom4");
	view_sorted(&v, VIEW_SORT_ELAPSED, order);
	assert_string_equal(order[0]->name, "dom2");
	assert_string_equal(order[2]->name, "dom4");
	view_free(&v);
}

static void test_prune(void **state)
{
	(void)state;
	struct view_state v;
	struct view_source src = { names, NULL, NULL };

	view_init(&v, &src);
	struct ring_record r = sample(1, 100, RING_PHASE_DONE, 3, 0, 5000);     /* old, finished */
	view_feed(&v, &r);
	r = sample(2, 100, RING_PHASE_PRECOPY, 3, 1, 5000);                     /* old, active */
	view_feed(&v, &r);
	r = sample(3, 900, RING_PHASE_FAILED, 3, 1, 5000);                      /* recent, finished */
	view_feed(&v, &r);
	assert_int_equal(view_prune(&v, 500), 1);
	assert_int_equal(v.n_migs, 2);
	assert_string_equal(v.migs[0].name, "dom2");
	assert_string_equal(v.migs[1].name, "dom3");
	view_free(&v);
}

#define S UINT64_C(1000000000)

/* An aborted migration whose last sample says pre-copy: ended, not running, and aged out like any
 * finished one; the domain's next job runs again. */
static void test_ended_migrations(void **state)
{
	(void)state;
	struct view_state v;
	struct view_source src = { names, NULL, NULL };
	struct view_row row;

	view_init(&v, &src);
	struct ring_record r = sample(1, 100 * S, RING_PHASE_PRECOPY, 3, 1u << 28, 30000);
	view_feed(&v, &r);
	r = sample(2, 100 * S, RING_PHASE_PRECOPY, 3, 1u << 28, 30000);
	view_feed(&v, &r);
	assert_int_equal(view_running_count(&v), 2);
	r = migration_event(1, 101 * S, "aborted", RING_PHASE_FAILED);
	assert_int_equal(view_feed(&v, &r), 0);
	assert_int_equal(view_running_count(&v), 1);
	view_row_fill(&v, &v.migs[0], &row);
	assert_string_equal(row.phase, "aborted");
	assert_false(row.running);
	view_row_fill(&v, &v.migs[1], &row);
	assert_string_equal(row.phase, "pre-copy");
	assert_true(row.running);
	/* the ended job's own last sample (it started long before the end) changes nothing */
	r = sample(1, 101 * S + 1, RING_PHASE_PRECOPY, 3, 1u << 28, 31000);
	view_feed(&v, &r);
	assert_false(view_mig_running(&v, &v.migs[0]));
	/* ended rows go after running ones, and age out like finished ones */
	const struct view_mig *order[2];
	view_sorted(&v, VIEW_SORT_DOMAIN, order);
	assert_int_equal(order[0]->domain, 2);
	r = sample(2, 2000 * S, RING_PHASE_PRECOPY, 9, 1u << 20, 1930000);
	view_feed(&v, &r);
	assert_int_equal(view_prune(&v, 1000 * S), 1);
	assert_int_equal(v.n_migs, 1);
	assert_int_equal(v.migs[0].domain, 2);

	/* completed shows done; a new job started after the end runs again */
	r = migration_event(2, 2001 * S, "completed", RING_PHASE_DONE);
	view_feed(&v, &r);
	view_row_fill(&v, &v.migs[0], &row);
	assert_string_equal(row.phase, "done");
	assert_true(row.progress_pct == 100.0);
	r = sample(2, 2010 * S, RING_PHASE_PRECOPY, 1, 1u << 29, 2000);   /* started at 2008 s */
	view_feed(&v, &r);
	assert_true(view_mig_running(&v, &v.migs[0]));
	assert_int_equal(v.migs[0].pass_n, 1);
	/* "migration started" opens the next job even before its first sample */
	r = migration_event(2, 2020 * S, "failed", RING_PHASE_FAILED);
	view_feed(&v, &r);
	assert_false(view_mig_running(&v, &v.migs[0]));
	r = migration_event(2, 2030 * S, "started", RING_PHASE_UNKNOWN);
	view_feed(&v, &r);
	assert_false(v.migs[0].ended);
	/* an outcome the agent could not know reads unknown */
	r = sample(2, 2031 * S, RING_PHASE_PRECOPY, 1, 1u << 29, 1000);
	view_feed(&v, &r);
	r = migration_event(2, 2032 * S, "unknown", RING_PHASE_UNKNOWN);
	view_feed(&v, &r);
	view_row_fill(&v, &v.migs[0], &row);
	assert_string_equal(row.phase, "unknown");
	assert_false(row.running);
	view_free(&v);
}

/* When the agent is gone, nobody follows its migrations: their state is unknown, none runs. */
static void test_dead_writer_rows(void **state)
{
	(void)state;
	struct view_state v;
	struct view_source src = { names, NULL, NULL };
	struct view_row row;

	view_init(&v, &src);
	struct ring_record r = sample(1, 100 * S, RING_PHASE_PRECOPY, 3, 1u << 28, 30000);
	view_feed(&v, &r);
	v.liveness = RING_LIVE;
	assert_int_equal(view_running_count(&v), 1);
	v.liveness = RING_DEAD;
	assert_int_equal(view_running_count(&v), 0);
	view_row_fill(&v, &v.migs[0], &row);
	assert_string_equal(row.phase, "unknown");
	v.liveness = RING_STOPPED;
	assert_int_equal(view_running_count(&v), 0);
	view_free(&v);
}

/* However many domains the records name, the view keeps at most VIEW_MAX_MIGS rows: the ones
 * heard of least recently make room, ended ones first; every domain still finds its own row. */
static void test_rows_bounded(void **state)
{
	(void)state;
	struct view_state v;
	struct view_source src = { names, NULL, NULL };

	view_init(&v, &src);
	/* domain 0 ends early; domain 1 stays active but goes quiet */
	struct ring_record r = sample(0, 10, RING_PHASE_DONE, 1, 0, 1000);
	view_feed(&v, &r);
	r = sample(1, 20, RING_PHASE_PRECOPY, 1, 1u << 20, 1000);
	view_feed(&v, &r);
	for (uint32_t d = 2; d < VIEW_MAX_MIGS + 100; d++) {
		r = sample(d, 100 + d, RING_PHASE_PRECOPY, 1, 1u << 20, 1000);
		assert_int_equal(view_feed(&v, &r), 0);
		assert_true(v.n_migs <= VIEW_MAX_MIGS);
	}
	assert_true(v.n_migs > VIEW_MAX_MIGS / 2);
	assert_int_equal(v.evicted + v.n_migs, VIEW_MAX_MIGS + 100);
	bool have0 = false, have1 = false, have_last = false;
	for (size_t i = 0; i < v.n_migs; i++) {
		have0 |= v.migs[i].domain == 0;
		have1 |= v.migs[i].domain == 1;
		have_last |= v.migs[i].domain == VIEW_MAX_MIGS + 99;
	}
	/* the ended one went first, then the active ones heard of least recently */
	assert_false(have0);
	assert_false(have1);
	assert_true(have_last);
	/* a record of a domain that has its row lands in that row */
	size_t n = v.n_migs;
	r = sample(VIEW_MAX_MIGS + 99, 99999, RING_PHASE_PRECOPY, 2, 1u << 19, 2000);
	assert_int_equal(view_feed(&v, &r), 0);
	assert_int_equal(v.n_migs, n);
	for (size_t i = 0; i < v.n_migs; i++)
		if (v.migs[i].domain == VIEW_MAX_MIGS + 99)
			assert_int_equal(v.migs[i].s.iteration, 2);
	view_free(&v);
}

static void test_plot(void **state)
{
	(void)state;
	char g[4 * 5 + 1];
	double a[] = { 0, 1, 2, 3 }, b[] = { 3, 3, 3, 3 }, max;

	/* 4 rows x 5 columns; 4 points sit in the rightmost 4 columns, newest on the right */
	view_plot(g, 4, 5, a, b, 4, 'd', 'b', &max);
	g[20] = '\0';
	assert_true(max == 3);
	assert_memory_equal(g + 0, " bbbX", 5);   /* top row: b everywhere, a reaches it last */
	assert_memory_equal(g + 5, "   d ", 5);
	assert_memory_equal(g + 10, "  d  ", 5);
	assert_memory_equal(g + 15, "     ", 5);  /* a[0] = 0 is not drawn */

	/* more points than columns: only the newest fit, and set the scale */
	double c[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	view_plot(g, 4, 5, c, NULL, 8, '#', '#', &max);
	assert_true(max == 8);
	double big_then_small[] = { 500, 1, 2, 3, 4, 5 };
	view_plot(g, 4, 5, big_then_small, NULL, 6, '#', '#', &max);
	assert_true(max == 5);                   /* 500 is off the left edge */
	view_plot(g, 4, 5, c, NULL, 8, '#', '#', &max);
	assert_int_equal(g[4], '#');              /* 8 at the top right */
	assert_int_equal(g[15], ' ');             /* 4 is two thirds of 8, not at the bottom */

	/* nothing to draw: a blank grid, no division by zero */
	view_plot(g, 4, 5, NULL, NULL, 0, 'x', 'y', &max);
	for (int i = 0; i < 20; i++)
		assert_int_equal(g[i], ' ');
}

static void test_formatters(void **state)
{
	(void)state;
	char b[64];
	view_format_bytes(512, b, sizeof(b));
	assert_string_equal(b, "512B");
	view_format_bytes(1536, b, sizeof(b));
	assert_string_equal(b, "1.5K");
	view_format_bytes(96ull << 20, b, sizeof(b));
	assert_string_equal(b, "96M");
	view_format_bytes(3ull << 40, b, sizeof(b));
	assert_string_equal(b, "3.0T");
	struct ring_action a = { .kind = RING_ACT_POSTCOPY, .result = RING_RES_FAILED };
	view_action_format(&a, b, sizeof(b));
	assert_string_equal(b, "postcopy (failed)");
	a.kind = RING_ACT_SET_BANDWIDTH;
	a.result = RING_RES_APPLIED;
	a.old_value = 20;
	a.new_value = 1000;
	view_action_format(&a, b, sizeof(b));
	assert_string_equal(b, "bandwidth 20->1000MiB/s");
}

static struct ring_record action(uint32_t dom, uint64_t t, uint16_t kind, uint16_t reason,
				 uint8_t result, const char *why)
{
	struct ring_record r = { .type = RING_REC_ACTION, .size = sizeof(struct ring_action),
				 .domain = dom, .mono_ns = t };
	r.u.action.kind = kind;
	r.u.action.reason_code = reason;
	r.u.action.result = result;
	r.u.action.old_value = 300;
	r.u.action.new_value = 500;
	snprintf(r.u.action.policy, sizeof(r.u.action.policy), "adaptive");
	snprintf(r.u.action.reason, sizeof(r.u.action.reason), "%s", why);
	return r;
}

static struct ring_record prediction(uint32_t dom, uint64_t t, uint16_t kind, uint16_t reason,
				     uint32_t time_ms, uint32_t wait_ms)
{
	struct ring_record r = { .type = RING_REC_PREDICTION, .size = sizeof(struct ring_prediction),
				 .domain = dom, .mono_ns = t };
	r.u.prediction.kind = kind;
	r.u.prediction.reason_code = reason;
	r.u.prediction.time_ms = time_ms;
	r.u.prediction.wait_ms = wait_ms;
	r.u.prediction.bytes = 96u << 20;
	return r;
}

static void feed(struct view_state *v, struct ring_record r)
{
	assert_int_equal(view_feed(v, &r), 0);
}

static struct view_row row_of(const struct view_state *v, uint32_t dom)
{
	struct view_row r;
	for (size_t i = 0; i < v->n_migs; i++) {
		if (v->migs[i].domain == dom) {
			view_row_fill(v, &v->migs[i], &r);
			return r;
		}
	}
	fail_msg("no row for domain %u", dom);
	return r;
}

#define SEC UINT64_C(1000000000)

/* The ETA comes from the prediction recorded with the last action, aged by the job's clock. */
static void test_eta(void **state)
{
	(void)state;
	struct view_state v;
	struct view_source src = { names, NULL, NULL };
	struct view_row r;

	view_init(&v, &src);
	v.liveness = RING_LIVE;
	feed(&v, sample(1, 10 * SEC, RING_PHASE_PRECOPY, 3, 96u << 20, 10000));
	/* no prediction: unknown, never a number */
	r = row_of(&v, 1);
	assert_int_equal(r.eta, VIEW_ETA_UNKNOWN);

	/* an applied downtime that finishes in 10.8 s; 4 s of job time later, 6.8 s are left */
	feed(&v, action(1, 10 * SEC, RING_ACT_SET_DOWNTIME, 9, RING_RES_APPLIED, "converges"));
	feed(&v, prediction(1, 10 * SEC, RING_ACT_SET_DOWNTIME, 9, 10800, RING_PRED_NEVER));
	r = row_of(&v, 1);
	assert_int_equal(r.eta, VIEW_ETA_IN);
	assert_int_equal(r.eta_ms, 10800);
	feed(&v, sample(1, 14 * SEC, RING_PHASE_PRECOPY, 4, 50u << 20, 14000));
	r = row_of(&v, 1);
	assert_int_equal(r.eta, VIEW_ETA_IN);
	assert_int_equal(r.eta_ms, 6800);
	char b[32];
	for (size_t c = 0; c < view_n_cols; c++)
		if (strcmp(view_cols[c].name, "ETA") == 0)
			view_cols[c].fmt(&r, b, sizeof(b));
	assert_string_equal(b, "0:06");
	/* past it, still running: late, not a negative or made-up time */
	feed(&v, sample(1, 22 * SEC, RING_PHASE_PRECOPY, 5, 50u << 20, 22000));
	assert_int_equal(row_of(&v, 1).eta, VIEW_ETA_LATE);

	/* advice not applied: the job goes on as waiting would, and waiting never finishes */
	feed(&v, action(1, 23 * SEC, RING_ACT_SUSPEND, 9, RING_RES_ADVISORY, "would suspend"));
	feed(&v, prediction(1, 23 * SEC, RING_ACT_SUSPEND, 9, 5000, RING_PRED_NEVER));
	r = row_of(&v, 1);
	assert_int_equal(r.eta, VIEW_ETA_NEVER);
	assert_true(r.attn & VIEW_ATTN_ADVISORY);
	assert_true(r.attn & VIEW_ATTN_ABOUT_TO_ACT);       /* the mode is not known to be advisory */
	v.writer.mode = RING_MODE_ADVISORY;
	assert_false(row_of(&v, 1).attn & VIEW_ATTN_ABOUT_TO_ACT); /* an advisory agent never acts */
	v.writer.mode = RING_MODE_ACTIVE;

	/* a prediction that does not belong to the last action (another time or kind) is ignored */
	feed(&v, prediction(1, 24 * SEC, RING_ACT_SUSPEND, 9, 1000, 1000));
	feed(&v, prediction(1, 23 * SEC, RING_ACT_POSTCOPY, 9, 1000, 1000));
	assert_int_equal(row_of(&v, 1).eta, VIEW_ETA_NEVER);

	/* a change that predicted nothing makes the last prediction stale; a hold does not */
	feed(&v, action(1, 25 * SEC, RING_ACT_HOLD, 10, RING_RES_APPLIED, "network unsteady"));
	assert_int_equal(row_of(&v, 1).eta, VIEW_ETA_NEVER);
	feed(&v, action(1, 26 * SEC, RING_ACT_SET_BANDWIDTH, 16, RING_RES_APPLIED, "probe"));
	assert_int_equal(row_of(&v, 1).eta, VIEW_ETA_UNKNOWN);

	/* ended, or its agent dead: no ETA */
	feed(&v, action(1, 27 * SEC, RING_ACT_SET_DOWNTIME, 9, RING_RES_APPLIED, "converges"));
	feed(&v, prediction(1, 27 * SEC, RING_ACT_SET_DOWNTIME, 9, 3000, RING_PRED_NEVER));
	assert_int_equal(row_of(&v, 1).eta, VIEW_ETA_IN);
	v.liveness = RING_DEAD;
	assert_int_equal(row_of(&v, 1).eta, VIEW_ETA_UNKNOWN);
	v.liveness = RING_LIVE;
	feed(&v, migration_event(1, 28 * SEC, "completed", RING_PHASE_DONE));
	assert_int_equal(row_of(&v, 1).eta, VIEW_ETA_UNKNOWN);
	view_free(&v);
}

/* What a row deserves attention for, from its records alone. */
static void test_attention(void **state)
{
	(void)state;
	struct view_state v;
	struct view_source src = { names, NULL, NULL };
	struct ring_record s;
	unsigned a;

	view_init(&v, &src);
	v.liveness = RING_LIVE;
	/* dom1: 96 MiB left at every pass, 4.9 s expected against 300 ms: stuck and over */
	for (uint32_t p = 1; p <= 4; p++) {
		s = sample(1, p * SEC, RING_PHASE_PRECOPY, p, p == 1 ? 1000u << 20 : 96u << 20, p * 1000);
		s.u.sample.expected_downtime_ms = 4934;
		s.u.sample.downtime_limit_ms = 300;
		feed(&v, s);
	}
	a = row_of(&v, 1).attn;
	assert_true(a & VIEW_ATTN_NOT_CONVERGING);
	assert_true(a & VIEW_ATTN_OVER_LIMIT);
	assert_false(a & (VIEW_ATTN_FAILED | VIEW_ATTN_ADVISORY | VIEW_ATTN_ABOUT_TO_ACT));

	/* dom2: halving every pass: converging, though not yet within its limit */
	for (uint32_t p = 1; p <= 4; p++) {
		s = sample(2, p * SEC, RING_PHASE_PRECOPY, p, (800u >> p) << 20, p * 1000);
		s.u.sample.expected_downtime_ms = 900;
		s.u.sample.downtime_limit_ms = 300;
		feed(&v, s);
	}
	a = row_of(&v, 2).attn;
	assert_false(a & VIEW_ATTN_NOT_CONVERGING);
	assert_true(a & VIEW_ATTN_OVER_LIMIT);
	/* in its bulk pass, an expected downtime over the limit is normal */
	s = sample(3, SEC, RING_PHASE_PRECOPY, 1, 900u << 20, 1000);
	s.u.sample.expected_downtime_ms = 45000;
	s.u.sample.downtime_limit_ms = 300;
	feed(&v, s);
	assert_int_equal(row_of(&v, 3).attn, 0);

	/* done, its real downtime (final statistics) over the limit */
	s.u.sample.phase = RING_PHASE_DONE;
	s.u.sample.flags = RING_SAMPLE_F_FINAL;
	s.u.sample.expected_downtime_ms = 350;
	s.mono_ns = 2 * SEC;
	s.u.sample.elapsed_ms = 2000;
	feed(&v, s);
	assert_int_equal(row_of(&v, 3).attn, VIEW_ATTN_OVER_LIMIT);

	/* failed: by the agent's event, and by an action that failed */
	feed(&v, migration_event(2, 5 * SEC, "aborted", RING_PHASE_FAILED));
	assert_true(row_of(&v, 2).attn & VIEW_ATTN_FAILED);
	assert_false(row_of(&v, 2).attn & VIEW_ATTN_OVER_LIMIT);  /* it no longer runs */
	feed(&v, action(1, 5 * SEC, RING_ACT_POSTCOPY, 9, RING_RES_FAILED, "libvirt refused"));
	assert_true(row_of(&v, 1).attn & VIEW_ATTN_FAILED);

	for (unsigned b = 0; b < VIEW_N_ATTN; b++)
		assert_string_not_equal(view_attn_name(1u << b), "?");
	view_free(&v);
}

/* The remaining per pass on a log scale of two decades: a plateau is flat, a fall a step. */
static void test_sparkline(void **state)
{
	(void)state;
	struct view_state v;
	struct view_source src = { names, NULL, NULL };
	char b[64];

	view_init(&v, &src);
	static const uint32_t mib[] = { 1000, 120, 120, 118, 10, 1 };
	for (uint32_t p = 0; p < 6; p++)
		feed(&v, sample(1, (p + 1) * SEC, RING_PHASE_PRECOPY, p + 1, (uint64_t)mib[p] << 20,
				(p + 1) * 1000));
	view_sparkline(&v.migs[0], false, b, sizeof(b));
	assert_string_equal(b, "#===__");          /* 1000 top; 120 a decade down; 10 and less 0 */
	view_sparkline(&v.migs[0], true, b, sizeof(b));
	assert_string_equal(b, "\u2588\u2585\u2585\u2585\u2581\u2581");
	/* at most VIEW_SPARK_PASSES, the newest */
	for (uint32_t p = 6; p < 12; p++)
		feed(&v, sample(1, (p + 1) * SEC, RING_PHASE_PRECOPY, p + 1, 50u << 20, (p + 1) * 1000));
	view_sparkline(&v.migs[0], false, b, sizeof(b));
	assert_int_equal(strlen(b), VIEW_SPARK_PASSES);
	assert_string_equal(b, "+.######");        /* 10 and 1 MiB, then 50 MiB for six passes */
	view_free(&v);
}

/* The action column keeps the result marker and the start of the reason at every width. */
static void test_action_cell(void **state)
{
	(void)state;
	struct view_state v;
	struct view_source src = { names, NULL, NULL };
	struct view_row r;
	char b[256];

	view_init(&v, &src);
	feed(&v, sample(1, SEC, RING_PHASE_PRECOPY, 3, 96u << 20, 1000));
	feed(&v, action(1, SEC, RING_ACT_SET_DOWNTIME, 9, RING_RES_ADVISORY,
			"pass 3: needs 6250 ms > SLA 500 ms (63 MiB)"));
	r = row_of(&v, 1);
	view_action_cell(&r, 0, b, sizeof(b));
	assert_string_equal(b, "downtime 300->500ms (advisory): pass 3: needs 6250 ms > SLA 500 ms "
			       "(63 MiB)");
	for (int w = VIEW_ACTION_MIN; w <= 120; w++) {
		view_action_cell(&r, w, b, sizeof(b));
		assert_true(view_text_cols(b) <= w);
		assert_non_null(strstr(b, " (advisory): pass 3"));
		assert_true(strncmp(b, "do", 2) == 0);
	}
	view_action_cell(&r, 33, b, sizeof(b));
	assert_string_equal(b, "downt~>500ms (advisory): pass 3:~");
	/* applied: no marker; the action whole while the reason keeps 8 columns */
	feed(&v, action(1, 2 * SEC, RING_ACT_SET_DOWNTIME, 9, RING_RES_APPLIED,
			"pass 3: needs 6250 ms > SLA 500 ms"));
	r = row_of(&v, 1);
	view_action_cell(&r, 29, b, sizeof(b));
	assert_string_equal(b, "downtime 300->500ms: pass 3:~");
	/* UTF-8: an ellipsis, counted as one column */
	v.utf8 = true;
	r = row_of(&v, 1);
	view_action_cell(&r, 29, b, sizeof(b));
	assert_string_equal(b, "downtime 300->500ms: pass 3:\u2026");
	assert_int_equal(view_text_cols(b), 29);
	/* so narrow that only the marker fits: the marker */
	feed(&v, action(1, 3 * SEC, RING_ACT_ABORT, 14, RING_RES_SKIPPED, "budget spent"));
	r = row_of(&v, 1);
	view_action_cell(&r, 10, b, sizeof(b));
	assert_string_equal(b, "(skipped)");
	/* no action: unknown */
	feed(&v, sample(2, SEC, RING_PHASE_PRECOPY, 1, 1, 1));
	r = row_of(&v, 2);
	view_action_cell(&r, 40, b, sizeof(b));
	assert_string_equal(b, "-");
	view_free(&v);
}

static void test_time_axis_and_log_plot(void **state)
{
	(void)state;
	char b[64], g[4 * 5];
	double lo, hi;

	view_format_duration(42000, b, sizeof(b));
	assert_string_equal(b, "0:42");
	view_format_duration(754000, b, sizeof(b));
	assert_string_equal(b, "12:34");
	view_format_duration(3725000, b, sizeof(b));
	assert_string_equal(b, "1h02m");
	view_format_duration(UINT64_C(500) * 3600000, b, sizeof(b));
	assert_string_equal(b, "500h");

	/* one label per point where they fit, each starting in its point's column, right first */
	uint32_t t[] = { 0, 5000, 10000, 15000, 20000, 25000 };
	view_time_axis(b, sizeof(b), 24, t, 6);
	assert_string_equal(b, "                    0:10");   /* 0:15 would not fit */
	uint32_t t2[] = { 0, VIEW_NO_LABEL, VIEW_NO_LABEL, VIEW_NO_LABEL, VIEW_NO_LABEL, VIEW_NO_LABEL,
			  60000, VIEW_NO_LABEL, VIEW_NO_LABEL, VIEW_NO_LABEL, VIEW_NO_LABEL,
			  VIEW_NO_LABEL };
	view_time_axis(b, sizeof(b), 12, t2, 12);
	assert_string_equal(b, "0:00  1:00  ");
	assert_int_equal(strlen(b), 12);

	/* log scale: 1000, 100, 10 evenly spaced; linear would flatten the last two */
	double a[] = { 1000, 100, 10 };
	view_plot_scaled(g, 4, 5, a, NULL, 3, '#', '#', true, &lo, &hi);
	assert_true(lo == 10 && hi == 1000);
	assert_memory_equal(g + 0, "  #  ", 5);
	assert_memory_equal(g + 5, "   # ", 5);          /* half way: 1.5 rows up, rounded */
	assert_memory_equal(g + 10, "     ", 5);
	assert_memory_equal(g + 15, "    #", 5);
	view_plot_scaled(g, 4, 5, a, NULL, 3, '#', '#', false, &lo, &hi);
	assert_true(lo == 0);
	assert_memory_equal(g + 15, "   ##", 5);
	/* values within a few percent on a log scale: a decade at least, they read flat */
	double p[] = { 99, 97, 96 };
	view_plot_scaled(g, 4, 5, p, NULL, 3, '#', '#', true, &lo, &hi);
	assert_true(lo > 9.8 && lo < 9.91);
	assert_memory_equal(g + 0, "  ###", 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feed_and_rows),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_postcopy_breaks),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_rows_bounded),
		cmocka_unit_test(test_ended_migrations),
		cmocka_unit_test(test_dead_writer_rows),
		cmocka_unit_test(test_plot),
		cmocka_unit_test(test_formatters),
		cmocka_unit_test(test_eta),
		cmocka_unit_test(test_attention),
		cmocka_unit_test(test_sparkline),
		cmocka_unit_test(test_action_cell),
		cmocka_unit_test(test_time_axis_and_log_plot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
