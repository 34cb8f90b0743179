/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The recovery of a broken post-copy through the actuator's libvirt seam (a fake struct act_ops
 * whose interrupt and resume run on the actuator's worker threads and can be held there): what
 * "proven" needs, the wait for a healthy link, the back-off and the bound on attempts, the
 * interrupt of a stream the link left stalled, the records and what the operator is told; then
 * the tracker's side: broken, recovering and recovered events with their times, the samples'
 * flags, the end of the migration with the time the guest was split, and the destination.
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

#include "agent/actuator.h"
#include "agent/tracker.h"
#include "tests/agent/agent_testutil.h"

#define MAXREC 4096
#define S_NS UINT64_C(1000000000)
#define MS_NS UINT64_C(1000000)
#define DIRECT_JOB (ACT_MIGRATE_LIVE | ACT_MIGRATE_PERSIST_DEST | ACT_MIGRATE_UNDEFINE_SOURCE | \
		    ACT_MIGRATE_CHANGE_PROTECTION | ACT_MIGRATE_POSTCOPY)

/* ---- the fake libvirt ---------------------------------------------------------------------- */

struct fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t flags;               /* the job's */
	unsigned long libvirt, qemu;
	const char *peer;             /* NULL: not seen */
	const char *daemon;           /* NULL: none */
	unsigned peer_looks;
	/* under lock: the worker's calls */
	unsigned resumes, interrupts;
	struct act_pc_request last;
	bool hold;                    /* calls wait until released */
	int resume_rc, interrupt_rc;
};

static struct fake F = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int f_meta(void *h, char **ret, char *err, size_t errlen) { return -ENOENT; }

static int f_flags(void *h, const char *name, uint64_t *ret)
{
	*ret = F.flags;
	return 0;
}

static int f_versions(void *h, unsigned long *lv, unsigned long *hv, char *err, size_t errlen)
{
	*lv = F.libvirt;
	*hv = F.qemu;
	return 0;
}

static int f_peer(void *h, const char *name, char *ret, size_t len)
{
	F.peer_looks++;
	if (!F.peer)
		return -ENOENT;
	snprintf(ret, len, "%s", F.peer);
	return 0;
}

static int f_daemon(const char *peer, char *ret, size_t len)
{
	if (!F.daemon)
		return -ENOENT;
	snprintf(ret, len, "%s", F.daemon);
	return 0;
}

static int f_call(const struct act_pc_request *r, char *err, size_t errlen, bool resume)
{
	int rc;

	pthread_mutex_lock(&F.lock);
	if (resume)
		F.resumes++;
	else
		F.interrupts++;
	F.last = *r;
	pthread_cond_broadcast(&F.cond);
	while (F.hold)
		pthread_cond_wait(&F.cond, &F.lock);
	rc = resume ? F.resume_rc : F.interrupt_rc;
	pthread_mutex_unlock(&F.lock);
	if (rc)
		snprintf(err, errlen, "unable to connect to server: Network is unreachable");
	return rc;
}

static int f_resume(const struct act_pc_request *r, char *err, size_t errlen)
{
	return f_call(r, err, errlen, true);
}

static int f_interrupt(const struct act_pc_request *r, char *err, size_t errlen)
{
	return f_call(r, err, errlen, false);
}

static int f_fail(void *h, uint64_t v, char *err, size_t errlen) { return -EIO; }
static int f_get(void *h, uint64_t *v, char *err, size_t errlen) { return -EIO; }
static int f_none(void *h, char *err, size_t errlen) { return -EIO; }

static const struct act_ops fake_ops = {
	.set_max_downtime = f_fail, .get_max_downtime = f_get, .set_max_speed = f_fail,
	.get_max_speed = f_get, .start_postcopy = f_none, .suspend = f_none, .abort_job = f_none,
	.get_metadata = f_meta, .job_flags = f_flags, .versions = f_versions,
	.stream_peer = f_peer, .peer_daemon = f_daemon, .pc_interrupt = f_interrupt,
	.pc_resume = f_resume,
};

static int HANDLE;

static void release_calls(void)
{
	pthread_mutex_lock(&F.lock);
	F.hold = false;
	pthread_cond_broadcast(&F.cond);
	pthread_mutex_unlock(&F.lock);
}

static unsigned resumes(void)
{
	unsigned n;

	pthread_mutex_lock(&F.lock);
	n = F.resumes;
	pthread_mutex_unlock(&F.lock);
	return n;
}

static unsigned interrupts(void)
{
	unsigned n;

	pthread_mutex_lock(&F.lock);
	n = F.interrupts;
	pthread_mutex_unlock(&F.lock);
	return n;
}

static bool no_call_running(void *arg)
{
	return actuator_pc_calls(arg) == 0;
}

static bool calls_entered(void *arg)
{
	unsigned want = *(unsigned *)arg, n;

	pthread_mutex_lock(&F.lock);
	n = F.resumes + F.interrupts;
	pthread_mutex_unlock(&F.lock);
	return n >= want;
}

/* ---- fixture ------------------------------------------------------------------------------- */

struct fx {
	char ring[64];
	struct ring_writer *w;
	struct actuator *act;
	struct act_job job;
	struct act_pc_context ctx;
	uint64_t processed;
	struct ring_record *recs;
	size_t n;
};

static const uint8_t U1[16] = { 0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static uint32_t link_stall_s = 5;    /* [recovery] link-stall-s of the next setup */

static int setup_with(void **state, bool advisory, const char *dest_tmpl, bool wish)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ring_create_opts o = { .slot_count = 8192, .domain_slots = 64, .gid = (gid_t)-1 };
	struct actuator_opts ao = { 0 };

	F.flags = ACT_MIGRATE_LIVE | ACT_MIGRATE_PEER2PEER | ACT_MIGRATE_PERSIST_DEST |
		  ACT_MIGRATE_UNDEFINE_SOURCE | ACT_MIGRATE_POSTCOPY;
	F.libvirt = 9000000;
	F.qemu = 7002000;
	F.peer = "10.77.0.2";
	F.daemon = NULL;
	F.peer_looks = 0;
	F.resumes = F.interrupts = 0;
	F.hold = false;
	F.resume_rc = F.interrupt_rc = 0;
	tu_ring_name("rec", f->ring, sizeof(f->ring));
	o.name = f->ring;
	assert_int_equal(ring_writer_open(&o, &f->w), 0);
	ao.ring = f->w;
	ao.ops = &fake_ops;
	ao.advisory = advisory;
	policy_limits_default(&ao.defaults.lim);
	ao.defaults.lim.postcopy_recovery = wish;
	snprintf(ao.recovery.local_uri, sizeof(ao.recovery.local_uri), "qemu:///system");
	if (dest_tmpl)
		snprintf(ao.recovery.dest_uri, sizeof(ao.recovery.dest_uri), "%s", dest_tmpl);
	ao.recovery.settle_ms = 2000;
	ao.recovery.stall_s = 30;
	ao.recovery.interrupt = true;
	ao.recovery.link_stall_s = link_stall_s;
	link_stall_s = 5;
	ao.recovery.attempts = 3;
	ao.recovery.retry_min_ms = 2000;
	ao.recovery.retry_max_ms = 5000;
	assert_int_equal(actuator_new(&ao, &f->act), 0);
	actuator_job_init(&f->job, 3, "web'1");
	f->job.uuid = U1;
	actuator_load_settings(f->act, &f->job, &HANDLE, NULL);
	f->ctx.phase = RING_PHASE_PRECOPY;
	f->ctx.nic_carrier = MIG_NIC_CARRIER_UP;
	f->ctx.now_ns = 100 * S_NS;
	f->recs = calloc(MAXREC, sizeof(*f->recs));
	*state = f;
	return 0;
}

static int setup_tmpl(void **state) { return setup_with(state, false, "qemu+tcp://{peer}/system", true); }
static int setup_learn(void **state) { return setup_with(state, false, NULL, true); }
static int setup_no_link_stall(void **state)
{
	link_stall_s = 0;
	return setup_with(state, false, "qemu+tcp://{peer}/system", true);
}
static int setup_off(void **state) { return setup_with(state, false, "qemu+tcp://{peer}/system", false); }
static int setup_advisory(void **state) { return setup_with(state, true, "qemu+tcp://{peer}/system", true); }

static int teardown(void **state)
{
	struct fx *f = *state;

	release_calls();
	actuator_job_release(&f->job);
	assert_true(tu_wait(no_call_running, f->act, 5000));
	actuator_free(f->act);
	ring_writer_close(f->w, true);
	free(f->recs);
	free(f);
	return 0;
}

/* One sample 500 ms after the previous one; moved: pages moved since. */
static uint32_t step(struct fx *f, bool moved)
{
	f->ctx.now_ns += 500 * MS_NS;
	if (moved)
		f->processed += 1 << 20;
	f->ctx.processed_bytes = f->processed;
	return actuator_postcopy(f->act, &f->job, &HANDLE, &f->ctx);
}

static uint32_t steps(struct fx *f, int n, bool moved)
{
	uint32_t started = 0;

	for (int i = 0; i < n; i++) {
		uint32_t s = step(f, moved);

		if (s)
			started = s;
	}
	return started;
}

/* Pre-copy, then post-copy with pages moving. */
static void into_postcopy(struct fx *f)
{
	steps(f, 8, true);
	f->ctx.phase = RING_PHASE_POSTCOPY;
	steps(f, 4, true);
}

static void reread(struct fx *f)
{
	f->n = tu_read_all(f->ring, f->recs, MAXREC);
}

/* Action records of kind with result; the last one in *ret when not NULL. */
static size_t actions_of(struct fx *f, uint16_t kind, int result, struct ring_action *ret)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		if (f->recs[i].type == RING_REC_ACTION && f->recs[i].u.action.kind == kind &&
		    f->recs[i].u.action.result == result) {
			n++;
			if (ret)
				*ret = f->recs[i].u.action;
		}
	return n;
}

/* Waits until the worker of the started call has returned, then lets the actuator collect it. */
static void finish_call(struct fx *f)
{
	assert_true(tu_wait(no_call_running, f->act, 5000));
	step(f, false);
}

/* ---- pure helpers -------------------------------------------------------------------------- */

static void test_helpers(void **state)
{
	char buf[600];

	assert_int_equal(actuator_pc_dest_uri("qemu+tcp://{peer}/system", "10.0.0.2", buf,
					      sizeof(buf)), 0);
	assert_string_equal(buf, "qemu+tcp://10.0.0.2/system");
	assert_int_equal(actuator_pc_dest_uri("qemu+tls://{peer}/system?x={peer}", "fd00::2", buf,
					      sizeof(buf)), 0);
	assert_string_equal(buf, "qemu+tls://[fd00::2]/system?x=[fd00::2]");
	assert_int_equal(actuator_pc_dest_uri("qemu+ssh://root@b/system", NULL, buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "qemu+ssh://root@b/system");
	assert_int_equal(actuator_pc_dest_uri("qemu+tcp://{peer}/system", "", buf, sizeof(buf)),
			 -ENOENT);
	assert_int_equal(actuator_pc_dest_uri("qemu+tcp://{peer}/system", "10.0.0.2", buf, 12),
			 -ENAMETOOLONG);

	/* A direct job (change protection) is resumed peer to peer, with its own flags. */
	assert_int_equal(actuator_pc_resume_flags(DIRECT_JOB),
			 ACT_MIGRATE_LIVE | ACT_MIGRATE_PERSIST_DEST | ACT_MIGRATE_UNDEFINE_SOURCE |
			 ACT_MIGRATE_POSTCOPY | ACT_MIGRATE_PEER2PEER | ACT_MIGRATE_POSTCOPY_RESUME);
	assert_int_equal(actuator_pc_resume_flags(ACT_MIGRATE_LIVE | ACT_MIGRATE_PEER2PEER |
						  ACT_MIGRATE_POSTCOPY | ACT_MIGRATE_TLS),
			 ACT_MIGRATE_LIVE | ACT_MIGRATE_PEER2PEER | ACT_MIGRATE_POSTCOPY |
			 ACT_MIGRATE_TLS | ACT_MIGRATE_POSTCOPY_RESUME);

	/* The command for the operator: options from the flags, every argument shell-quoted. */
	actuator_pc_command("qemu:///system", "it's", DIRECT_JOB | ACT_MIGRATE_TLS,
			    "qemu+tcp://b/system", "tcp://10.0.0.2", buf, sizeof(buf));
	assert_string_equal(buf, "virsh -c 'qemu:///system' migrate --live --p2p --postcopy "
			    "--postcopy-resume --persistent --undefinesource --tls --migrateuri "
			    "'tcp://10.0.0.2' 'it'\\''s' 'qemu+tcp://b/system'");
	actuator_pc_command("qemu:///system", "db", ACT_MIGRATE_POSTCOPY, NULL, NULL, buf,
			    sizeof(buf));
	assert_string_equal(buf, "virsh -c 'qemu:///system' migrate --live --p2p --postcopy "
			    "--postcopy-resume 'db' qemu+tcp://DESTINATION/system");
	actuator_pc_command("qemu:///system", "db", 0, NULL, NULL, buf, 20);
	assert_int_equal(strlen(buf), 19);
}

/* ---- proven ---------------------------------------------------------------------------------- */

static void test_proven_with_template(void **state)
{
	struct fx *f = *state;

	assert_false(actuator_pc_proven(&f->job));
	into_postcopy(f);
	assert_true(actuator_pc_proven(&f->job));
	assert_string_equal(f->job.pc.dest_uri, "qemu+tcp://10.77.0.2/system");
	assert_string_equal(f->job.pc.peer, "10.77.0.2");
	/* Once proven, nothing more is looked up. */
	F.peer_looks = 0;
	steps(f, 20, true);
	assert_int_equal(F.peer_looks, 0);
}

static void test_proven_from_the_daemons_connection(void **state)
{
	struct fx *f = *state;

	/* Without a template and without a connection of libvirtd to the peer: not proven. */
	into_postcopy(f);
	assert_false(actuator_pc_proven(&f->job));
	assert_non_null(strstr(f->job.pc.why_not, "set [recovery] destination-uri"));
	F.daemon = "qemu+tcp://10.77.0.2/system";
	steps(f, 4, true);
	assert_true(actuator_pc_proven(&f->job));
	assert_string_equal(f->job.pc.dest_uri, "qemu+tcp://10.77.0.2/system");
}

static void test_not_proven(void **state)
{
	struct fx *f = *state;

	/* libvirt before 8.5 */
	F.libvirt = 8004000;
	into_postcopy(f);
	assert_false(actuator_pc_proven(&f->job));
	assert_string_equal(f->job.pc.why_not, "libvirt 8.4.0 cannot resume a post-copy (8.5.0 can)");
	/* a job without --postcopy cannot break in post-copy: nothing is looked up */
	actuator_job_init(&f->job, 3, "web1");
	F.libvirt = 9000000;
	F.flags = ACT_MIGRATE_LIVE | ACT_MIGRATE_PEER2PEER;
	F.peer_looks = 0;
	actuator_load_settings(f->act, &f->job, &HANDLE, NULL);
	f->ctx.phase = RING_PHASE_PRECOPY;
	steps(f, 12, true);
	assert_false(actuator_pc_proven(&f->job));
	assert_int_equal(f->job.pc.libvirt_version, 0);
	assert_int_equal(F.peer_looks, 0);
	/* a template with {peer} and no peer seen */
	actuator_job_init(&f->job, 3, "web1");
	F.flags |= ACT_MIGRATE_POSTCOPY;
	F.peer = NULL;
	actuator_load_settings(f->act, &f->job, &HANDLE, NULL);
	steps(f, 12, true);
	assert_false(actuator_pc_proven(&f->job));
	assert_non_null(strstr(f->job.pc.why_not, "the stream's peer is not known"));
}

static void test_off_tells_the_command(void **state)
{
	struct fx *f = *state;
	struct ring_action ra;

	into_postcopy(f);
	assert_false(actuator_pc_proven(&f->job));
	assert_string_equal(f->job.pc.why_not, "postcopy-recovery is off for this domain");
	f->ctx.broken = true;
	steps(f, 20, false);
	assert_int_equal(resumes(), 0);
	reread(f);
	/* One record of the refusal, not one per sample. */
	assert_int_equal(actions_of(f, RING_ACT_PC_RESUME, RING_RES_SKIPPED, &ra), 1);
	assert_string_equal(ra.reason, "postcopy-recovery is off for this domain");
	assert_string_equal(ra.policy, "recovery");
}

static void test_advisory_records_what_it_would_do(void **state)
{
	struct fx *f = *state;

	into_postcopy(f);
	assert_false(actuator_pc_proven(&f->job));
	assert_true(f->job.pc.capable);
	assert_string_equal(f->job.pc.why_not, "advisory mode");
	f->ctx.broken = true;
	steps(f, 20, false);
	assert_int_equal(resumes(), 0);
	reread(f);
	assert_int_equal(actions_of(f, RING_ACT_PC_RESUME, RING_RES_ADVISORY, NULL), 1);
}

/* ---- broken: resume when the link allows, back off, give up ------------------------------- */

static void test_resume_waits_for_a_healthy_link(void **state)
{
	struct fx *f = *state;
	struct ring_action ra;
	uint32_t started;

	into_postcopy(f);
	/* Reset while the link is down: nothing until the carrier is back for settle-ms. */
	f->ctx.nic_carrier = MIG_NIC_CARRIER_DOWN;
	f->ctx.broken = true;
	assert_int_equal(steps(f, 10, false), 0);
	f->ctx.nic_carrier = MIG_NIC_CARRIER_UP;
	f->ctx.nic_errors_delta = 3;              /* up, but with errors: not healthy */
	assert_int_equal(steps(f, 6, false), 0);
	f->ctx.nic_errors_delta = 0;
	assert_int_equal(steps(f, 4, false), 0);   /* healthy for 1.5 s < 2 s */
	F.hold = true;
	started = step(f, false);                  /* 2 s */
	assert_int_equal(started, 1);
	assert_true(actuator_pc_busy(&f->job));
	assert_true(tu_wait(calls_entered, &(unsigned){ 1 }, 5000));
	pthread_mutex_lock(&F.lock);
	assert_memory_equal(F.last.uuid, U1, 16);
	assert_string_equal(F.last.local_uri, "qemu:///system");
	assert_string_equal(F.last.dest_uri, "qemu+tcp://10.77.0.2/system");
	assert_string_equal(F.last.migrate_uri, "tcp://10.77.0.2");
	assert_int_equal(F.last.flags, actuator_pc_resume_flags(F.flags));
	pthread_mutex_unlock(&F.lock);
	/* One call at a time: while it runs, no other. */
	assert_int_equal(steps(f, 10, false), 0);
	assert_int_equal(resumes(), 1);
	/* It resumed: pages move; the call returns when the migration completed. */
	f->ctx.broken = false;
	steps(f, 4, true);
	release_calls();
	finish_call(f);
	assert_false(actuator_pc_busy(&f->job));
	reread(f);
	assert_int_equal(actions_of(f, RING_ACT_PC_RESUME, RING_RES_APPLIED, &ra), 1);
	assert_int_equal(ra.new_value, 1);
	assert_non_null(strstr(ra.reason, "resumed; completed"));
}

static void test_failed_resumes_back_off_and_stop(void **state)
{
	struct fx *f = *state;
	struct ring_action ra;
	uint64_t t_fail;

	into_postcopy(f);
	F.resume_rc = -ENETUNREACH;
	f->ctx.broken = true;
	/* the link has been healthy all along: settle-ms after the break */
	assert_int_equal(steps(f, 4, false), 0);
	assert_int_equal(step(f, false), 1);
	finish_call(f);
	t_fail = f->ctx.now_ns;
	/* retry-min-ms 2000 later, not before */
	while (!step(f, false) && f->ctx.now_ns - t_fail < 10 * S_NS)
		;
	assert_int_equal(f->ctx.now_ns - t_fail, 2 * S_NS);
	finish_call(f);
	t_fail = f->ctx.now_ns;
	while (!step(f, false) && f->ctx.now_ns - t_fail < 20 * S_NS)
		;
	assert_int_equal(f->ctx.now_ns - t_fail, 4 * S_NS);    /* doubled */
	finish_call(f);
	/* attempts = 3: no fourth, one record saying so */
	assert_int_equal(steps(f, 40, false), 0);
	assert_int_equal(resumes(), 3);
	reread(f);
	assert_int_equal(actions_of(f, RING_ACT_PC_RESUME, RING_RES_FAILED, &ra), 3);
	assert_int_equal(ra.error, -ENETUNREACH);
	assert_int_equal(ra.new_value, 3);
	assert_non_null(strstr(ra.reason, "Network is unreachable"));
	assert_int_equal(actions_of(f, RING_ACT_PC_RESUME, RING_RES_SKIPPED, &ra), 1);
	assert_non_null(strstr(ra.reason, "3 attempts failed"));
	/* The carrier coming back opens a new round. */
	F.resume_rc = 0;
	f->ctx.nic_carrier = MIG_NIC_CARRIER_DOWN;
	steps(f, 2, false);
	f->ctx.nic_carrier = MIG_NIC_CARRIER_UP;
	assert_int_equal(steps(f, 5, false), 4);
	assert_true(tu_wait(calls_entered, &(unsigned){ 4 }, 5000));
	assert_int_equal(f->job.pc.attempts_total, 4);
}

/* ---- running: a stream the link left stalled ---------------------------------------------- */

static void test_interrupt_after_the_link_came_back(void **state)
{
	struct fx *f = *state;
	struct ring_action ra;

	into_postcopy(f);
	/* An outage TCP gets over within link-stall-s (5 s) of the carrier's return: no interrupt. */
	f->ctx.nic_carrier = MIG_NIC_CARRIER_DOWN;
	steps(f, 40, false);
	f->ctx.nic_carrier = MIG_NIC_CARRIER_UP;
	steps(f, 8, false);
	steps(f, 10, true);
	assert_int_equal(interrupts(), 0);
	/* Another: the carrier is back, nothing moves for link-stall-s: interrupt, once. */
	f->ctx.nic_carrier = MIG_NIC_CARRIER_DOWN;
	steps(f, 40, false);
	assert_int_equal(interrupts(), 0);        /* never while the carrier is down */
	f->ctx.nic_carrier = MIG_NIC_CARRIER_UP;
	steps(f, 10, false);
	assert_int_equal(interrupts(), 0);
	step(f, false);
	assert_true(tu_wait(calls_entered, &(unsigned){ 1 }, 5000));
	finish_call(f);
	steps(f, 6, false);
	assert_int_equal(interrupts(), 1);
	reread(f);
	assert_int_equal(actions_of(f, RING_ACT_PC_INTERRUPT, RING_RES_APPLIED, &ra), 1);
	/* libvirt now says broken, by the agent's own interrupt on a healthy link: resumed at once. */
	f->ctx.broken = true;
	assert_int_equal(step(f, false), 1);
}

/* stall-s counts the time nothing moved while the link looked up: not the outage itself (after
 * which TCP gets link-stall-s, here 0 = nothing interrupts for that). */
static void test_stall_s_counts_no_outage(void **state)
{
	struct fx *f = *state;

	into_postcopy(f);
	f->ctx.nic_carrier = MIG_NIC_CARRIER_DOWN;
	steps(f, 100, false);                     /* 50 s without a carrier */
	f->ctx.nic_carrier = MIG_NIC_CARRIER_UP;
	steps(f, 59, false);                      /* 29.5 s up, nothing moves */
	assert_int_equal(interrupts(), 0);
	steps(f, 2, false);
	assert_true(tu_wait(calls_entered, &(unsigned){ 1 }, 5000));
	finish_call(f);
	assert_int_equal(interrupts(), 1);
}

static void test_interrupt_after_stall_s(void **state)
{
	struct fx *f = *state;

	into_postcopy(f);
	/* The link looks fine, nothing moves: interrupted after stall-s (30 s), not before. */
	steps(f, 59, false);
	assert_int_equal(interrupts(), 0);
	steps(f, 2, false);
	assert_true(tu_wait(calls_entered, &(unsigned){ 1 }, 5000));
	finish_call(f);
	assert_int_equal(interrupts(), 1);
	/* Only when a break could be resumed: not proven, never interrupted. */
	actuator_job_init(&f->job, 3, "web1");
	f->job.uuid = U1;
	F.libvirt = 8000000;
	actuator_load_settings(f->act, &f->job, &HANDLE, NULL);
	steps(f, 100, false);
	assert_int_equal(interrupts(), 1);
}

/* ---- the tracker's side ---------------------------------------------------------------------- */

struct tfx {
	struct fx f;
	struct tracker *t;
	struct tracker_domain *d;
	uint64_t now;
	struct ring_sample s;
};

static void t_sample(struct tfx *x, bool broken, bool moved, uint8_t carrier)
{
	struct tracker_nic_view nv = { .carrier = carrier };

	x->now += 500 * MS_NS;
	x->s.elapsed_ms += 500;
	if (moved) {
		x->s.data_processed_bytes += 1 << 20;
		x->s.postcopy_requests++;
	}
	x->s.flags = broken ? RING_SAMPLE_F_PC_BROKEN : 0;
	tracker_ingest_sample(x->t, x->d, true, &x->s, &nv, x->now);
}

static size_t agent_events(struct fx *f, int code)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		n += f->recs[i].type == RING_REC_EVENT &&
		     f->recs[i].u.event.source == RING_EVSRC_AGENT && f->recs[i].u.event.code == code;
	return n;
}

/* The first agent event with code; fails the test when there is none. */
static const struct ring_event *agent_event(struct fx *f, int code)
{
	static const struct ring_event none;

	for (size_t i = 0; i < f->n; i++)
		if (f->recs[i].type == RING_REC_EVENT && f->recs[i].u.event.source == RING_EVSRC_AGENT &&
		    f->recs[i].u.event.code == code)
			return &f->recs[i].u.event;
	fail_msg("no agent event with code %d", code);
	return &none;
}

static size_t samples_flagged(struct fx *f, uint8_t flag)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		n += f->recs[i].type == RING_REC_SAMPLE && (f->recs[i].u.sample.flags & flag);
	return n;
}

static void tracker_up(struct tfx *x, int direction)
{
	struct tracker_opts to = { 0 };

	urcu_memb_register_thread();
	to.ring = x->f.w;
	to.policy = "adaptive";
	to.actuator = x->f.act;
	assert_int_equal(tracker_new(&to, &x->t), 0);
	x->now = 1000 * S_NS;
	x->d = tracker_begin(x->t, U1, "web1", direction, x->now);
	x->d->virt_handle = &HANDLE;
	memset(&x->s, 0, sizeof(x->s));
	x->s.direction = (uint8_t)direction;
	x->s.iteration = 1;
	x->s.data_total_bytes = 256 << 20;
	x->s.memory_bps = 2 << 20;
}

static void tracker_down(struct tfx *x)
{
	x->d->virt_handle = NULL;
	tracker_free(x->t, NULL);
	urcu_memb_unregister_thread();
}

static void test_tracker_break_and_recovery(void **state)
{
	struct tfx *x = *state;
	struct fx *f = &x->f;
	const struct ring_event *e;

	tracker_up(x, RING_DIR_OUT);
	for (int i = 0; i < 8; i++)
		t_sample(x, false, true, 1);
	/* The switch to post-copy: SUSPENDED/MIGRATED, SUSPENDED/POSTCOPY; pages move 5 s. */
	tracker_on_lifecycle(x->t, U1, "web1", VIR_DOMAIN_EVENT_SUSPENDED,
			     VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY, x->now);
	for (int i = 0; i < 10; i++)
		t_sample(x, false, true, 1);
	/* The stream is reset: libvirt's event; the migration is not over. */
	F.hold = true;
	tracker_on_lifecycle(x->t, U1, "web1", VIR_DOMAIN_EVENT_SUSPENDED,
			     VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED, x->now);
	assert_true(x->d->cur.active);
	for (int i = 0; i < 30; i++)            /* 10 s with the link down, 5 s up */
		t_sample(x, true, false, i < 20 ? 0 : 1);
	assert_true(tu_wait(calls_entered, &(unsigned){ 1 }, 5000));
	/* libvirt: post-copy again, pages move */
	tracker_on_lifecycle(x->t, U1, "web1", VIR_DOMAIN_EVENT_SUSPENDED,
			     VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY, x->now);
	t_sample(x, false, false, 1);
	t_sample(x, false, true, 1);
	for (int i = 0; i < 10; i++)
		t_sample(x, false, true, 1);
	/* completed: the call returns, libvirt says the guest left */
	release_calls();
	assert_true(tu_wait(no_call_running, f->act, 5000));
	tracker_on_lifecycle(x->t, U1, "web1", VIR_DOMAIN_EVENT_STOPPED,
			     VIR_DOMAIN_EVENT_STOPPED_MIGRATED, x->now);
	tracker_on_job_completed(x->t, U1, "web1", NULL, x->now);
	assert_false(x->d->cur.active);
	tracker_down(x);
	reread(f);

	e = agent_event(f, RING_AGEV_PC_BROKEN);
	assert_int_equal(e->detail1, 5000);         /* 5 s of post-copy before the break */
	assert_int_equal(e->detail2, 1);
	assert_string_equal(e->text, "stream broke (libvirt event)");
	assert_int_equal(agent_events(f, RING_AGEV_PC_BROKEN), 1);   /* the state said so too */
	e = agent_event(f, RING_AGEV_PC_RECOVERING);
	assert_int_equal(e->detail1, 1);            /* our attempt 1 */
	assert_int_equal(e->detail2, 12500);        /* 2 s after the carrier came back */
	e = agent_event(f, RING_AGEV_PC_RECOVERED);
	assert_int_equal(e->detail1, 16000);        /* pages moved 1 s after the resume began */
	assert_int_equal(e->detail2, 16000);
	/* Broken samples are flagged (and recorded every 5 s, not every 500 ms), then recovering. */
	assert_int_equal(samples_flagged(f, RING_SAMPLE_F_PC_BROKEN), 3);
	assert_int_equal(samples_flagged(f, RING_SAMPLE_F_PC_RECOVERING), 6);
	/* The end says how long the guest was split, and the resume is recorded as applied. */
	for (size_t i = 0, found = 0; i < f->n && !found; i++)
		if (f->recs[i].type == RING_REC_EVENT && strcmp(f->recs[i].u.event.op, "migration") == 0 &&
		    strcmp(f->recs[i].u.event.subop, "completed") == 0) {
			assert_non_null(strstr(f->recs[i].u.event.text, "split 16.0 s in 1 break"));
			found = 1;
		}
	assert_int_equal(actions_of(f, RING_ACT_PC_RESUME, RING_RES_APPLIED, NULL), 1);
}

static void test_tracker_break_found_by_polling(void **state)
{
	struct tfx *x = *state;
	struct fx *f = &x->f;

	/* After a restart: the first sample already says post-copy, broken (virt_poll reads the
	 * domain's state); the operator resumes it by hand (recovery off here). */
	tracker_up(x, RING_DIR_OUT);
	x->s.phase = RING_PHASE_POSTCOPY;
	for (int i = 0; i < 4; i++)
		t_sample(x, true, false, 1);
	for (int i = 0; i < 4; i++)
		t_sample(x, false, i > 1, 1);
	tracker_down(x);
	reread(f);
	assert_string_equal(agent_event(f, RING_AGEV_PC_BROKEN)->text,
			    "stream broke (libvirt state)");
	assert_int_equal(agent_event(f, RING_AGEV_PC_BROKEN)->detail1, 0);   /* unknown */
	assert_string_equal(agent_event(f, RING_AGEV_PC_RECOVERING)->text,
			    "resumed by another client");
	assert_int_equal(agent_event(f, RING_AGEV_PC_RECOVERED)->detail1, 3000);
	assert_int_equal(resumes(), 0);
}

/* The agent restarts while the stream is broken: the new one rebuilds the migration from the
 * ring with its break, so the time the guest was split counts from the break, not the restart. */
static void test_tracker_restart_keeps_the_break(void **state)
{
	struct tfx *x = *state;
	struct fx *f = &x->f;
	struct tracker_opts to = { 0 };
	uint64_t t_break;

	tracker_up(x, RING_DIR_OUT);
	for (int i = 0; i < 8; i++)
		t_sample(x, false, true, 1);
	tracker_on_lifecycle(x->t, U1, "web1", VIR_DOMAIN_EVENT_SUSPENDED,
			     VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY, x->now);
	for (int i = 0; i < 4; i++)
		t_sample(x, false, true, 1);
	t_break = x->now;
	tracker_on_lifecycle(x->t, U1, "web1", VIR_DOMAIN_EVENT_SUSPENDED,
			     VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED, x->now);
	for (int i = 0; i < 4; i++)
		t_sample(x, true, false, 1);
	/* the agent goes (its entries with it), a new one starts over the same ring */
	x->d->virt_handle = NULL;
	tracker_free(x->t, NULL);
	to.ring = f->w;
	to.policy = "adaptive";
	to.actuator = f->act;
	assert_int_equal(tracker_new(&to, &x->t), 0);
	x->d = tracker_find(x->t, U1);
	assert_non_null(x->d);
	assert_int_equal(x->d->pc.broken_ns, t_break);
	assert_int_equal(x->d->pc.breaks, 1);
	x->d->virt_handle = &HANDLE;
	x->now += 20 * S_NS;                  /* the agent was away 20 s */
	x->s.elapsed_ms += 20000;
	for (int i = 0; i < 4; i++)
		t_sample(x, true, false, 1);
	t_sample(x, false, false, 1);
	t_sample(x, false, true, 1);
	tracker_down(x);
	reread(f);
	assert_int_equal(agent_events(f, RING_AGEV_PC_BROKEN), 1);    /* not again after the restart */
	/* 2 s of broken samples, 20 s away, 3 s more */
	assert_int_equal(agent_event(f, RING_AGEV_PC_RECOVERED)->detail1, 25000);
}

static void test_tracker_destination(void **state)
{
	struct tfx *x = *state;
	struct fx *f = &x->f;
	const struct ring_event *e;

	tracker_up(x, RING_DIR_IN);
	tracker_on_lifecycle(x->t, U1, "web1", VIR_DOMAIN_EVENT_STARTED,
			     VIR_DOMAIN_EVENT_STARTED_MIGRATED, x->now);
	tracker_on_lifecycle(x->t, U1, "web1", VIR_DOMAIN_EVENT_RESUMED,
			     VIR_DOMAIN_EVENT_RESUMED_POSTCOPY, x->now);
	x->now += 3 * S_NS;
	tracker_on_lifecycle(x->t, U1, "web1", VIR_DOMAIN_EVENT_RESUMED,
			     VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED, x->now);
	x->now += 7 * S_NS;
	tracker_on_lifecycle(x->t, U1, "web1", VIR_DOMAIN_EVENT_RESUMED,
			     VIR_DOMAIN_EVENT_RESUMED_POSTCOPY, x->now);
	x->now += 20 * S_NS;
	tracker_on_lifecycle(x->t, U1, "web1", VIR_DOMAIN_EVENT_RESUMED,
			     VIR_DOMAIN_EVENT_RESUMED_MIGRATED, x->now);
	assert_false(x->d->cur.active);
	tracker_down(x);
	reread(f);
	e = agent_event(f, RING_AGEV_PC_BROKEN);
	assert_int_equal(e->detail1, 3000);
	assert_int_equal(agent_events(f, RING_AGEV_PC_RECOVERING), 0);
	e = agent_event(f, RING_AGEV_PC_RECOVERED);
	assert_int_equal(e->detail1, 7000);
	assert_int_equal(resumes(), 0);
}

static int setup_tracker(void **state)
{
	struct tfx *x = calloc(1, sizeof(*x));
	struct fx *f;

	setup_tmpl(state);
	f = *state;
	x->f = *f;
	free(f);
	actuator_job_init(&x->f.job, 0, "unused");
	*state = x;
	return 0;
}

static int setup_tracker_off(void **state)
{
	struct tfx *x = calloc(1, sizeof(*x));
	struct fx *f;

	setup_off(state);
	f = *state;
	x->f = *f;
	free(f);
	actuator_job_init(&x->f.job, 0, "unused");
	*state = x;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helpers),
		cmocka_unit_test_setup_teardown(test_proven_with_template, setup_tmpl, teardown),
		cmocka_unit_test_setup_teardown(test_proven_from_the_daemons_connection, setup_learn,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_proven, setup_tmpl, teardown),
		cmocka_unit_test_setup_teardown(test_off_tells_the_command, setup_off, teardown),
		cmocka_unit_test_setup_teardown(test_advisory_records_what_it_would_do,
						setup_advisory, teardown),
		cmocka_unit_test_setup_teardown(test_resume_waits_for_a_healthy_link, setup_tmpl,
						teardown),
		cmocka_unit_test_setup_teardown(test_failed_resumes_back_off_and_stop, setup_tmpl,
						teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_after_the_link_came_back, setup_tmpl,
						teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_after_stall_s, setup_tmpl, teardown),
		cmocka_unit_test_setup_teardown(test_stall_s_counts_no_outage, setup_no_link_stall,
						teardown),
		cmocka_unit_test_setup_teardown(test_tracker_break_and_recovery, setup_tracker,
						teardown),
		cmocka_unit_test_setup_teardown(test_tracker_break_found_by_polling, setup_tracker_off,
						teardown),
		cmocka_unit_test_setup_teardown(test_tracker_restart_keeps_the_break, setup_tracker_off,
						teardown),
		cmocka_unit_test_setup_teardown(test_tracker_destination, setup_tracker, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
