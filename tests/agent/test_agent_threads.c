/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The whole agent in one process, every thread running at once: the tracker loop, libvirt's event
 * thread (test:///default), the hook listener fed by several sender threads, and the control
 * socket polled by another.  Run plain, under ASan and under TSan.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/log.h"
#include "tests/agent/agent_testutil.h"

#define SENDERS 3
#define PER_SENDER 40

struct fx {
	struct agent_config cfg;
	struct agent *a;
	char dir[64];
	pthread_t loop;
	int loop_rc;
	int stop_ctl;
};

static void *run_loop(void *arg)
{
	struct fx *f = arg;

	f->loop_rc = agent_run(f->a, -1, NULL, NULL);
	return NULL;
}

static void *hook_sender(void *arg)
{
	struct fx *f = arg;
	static const char *const ops[][2] = { { "migrate", "begin" }, { "prepare", "begin" },
					      { "start", "begin" }, { "started", "begin" } };
	uint8_t uuid[16] = { 0x42 };
	long failures = 0;

	uuid[1] = (uint8_t)(uintptr_t)pthread_self();
	for (int i = 0; i < PER_SENDER; i++) {
		struct wire_event ev;
		char name[32];

		uuid[2] = (uint8_t)(i / 4);
		snprintf(name, sizeof(name), "g-%02x-%d", uuid[1], i / 4);
		tu_hook_event(&ev, name, uuid, ops[i % 4][0], ops[i % 4][1], "-");
		if (tu_hook_send(f->cfg.hook_socket, &ev, WIRE_TYPE_EVENT, NULL) < 0)
			failures++;
	}
	return (void *)failures;
}

static void *ctl_poller(void *arg)
{
	struct fx *f = arg;
	long good = 0;

	while (!__atomic_load_n(&f->stop_ctl, __ATOMIC_ACQUIRE)) {
		char buf[65536];

		if (tu_ctl_request(f->cfg.ctl_socket, "status", buf, sizeof(buf)) == 0 &&
		    strstr(buf, "\"domains\""))
			good++;
		usleep(2000);
	}
	return (void *)good;
}

static void test_all_threads_together(void **state)
{
	struct fx f;
	char err[512] = "";
	pthread_t senders[SENDERS], poller;
	struct ring_record *recs;
	size_t n, hooks = 0, lifecycle = 0, starts = 0, stops = 0, connects = 0;
	virConnectPtr other;
	virDomainPtr dom;
	void *rv;
	long ctl_ok;

	memset(&f, 0, sizeof(f));
	config_defaults(&f.cfg);
	tu_tmpdir("thr", f.dir, sizeof(f.dir));
	tu_ring_name("thr", f.cfg.ring_name, sizeof(f.cfg.ring_name));
	snprintf(f.cfg.hook_socket, sizeof(f.cfg.hook_socket), "%s/hook.sock", f.dir);
	snprintf(f.cfg.ctl_socket, sizeof(f.cfg.ctl_socket), "%s/ctl.sock", f.dir);
	snprintf(f.cfg.uri, sizeof(f.cfg.uri), "test:///default");
	f.cfg.ring_slots = 4096;
	f.cfg.interval_ms = 50;
	f.cfg.heartbeat_ms = 100;
	assert_int_equal(config_finish(&f.cfg, err, sizeof(err)), 0);
	assert_int_equal(agent_new(&f.cfg, &f.a, err, sizeof(err)), 0);
	assert_int_equal(pthread_create(&f.loop, NULL, run_loop, &f), 0);
	assert_int_equal(pthread_create(&poller, NULL, ctl_poller, &f), 0);
	for (int i = 0; i < SENDERS; i++)
		assert_int_equal(pthread_create(&senders[i], NULL, hook_sender, &f), 0);

	/* Meanwhile a second client changes the test driver's domain: lifecycle events flow
	 * through libvirt's event thread into the same queue. */
	other = virConnectOpen("test:///default");
	assert_non_null(other);
	dom = virDomainLookupByName(other, "test");
	assert_non_null(dom);
	{
		/* The hook announces "test" as arriving here: from then on its lifecycle events
		 * are the agent's business. */
		struct wire_event ev;
		uint8_t uuid[16];
		struct ring_reader *r;

		assert_int_equal(virDomainGetUUID(dom, uuid), 0);
		tu_hook_event(&ev, "test", uuid, "migrate", "begin", "-");
		assert_int_equal(tu_hook_send(f.cfg.hook_socket, &ev, WIRE_TYPE_EVENT, NULL), 0);
		/* Wait until the tracker has it (its domain table entry appears in the ring). */
		assert_int_equal(ring_reader_open(f.cfg.ring_name, &r), 0);
		for (int i = 0; i < 500; i++) {
			uint8_t u[16];
			char name[RING_NAME_MAX + 1] = "";
			bool found = false;

			for (uint32_t idx = 0; idx < 64 && !found; idx++)
				found = ring_domain_lookup(r, idx, u, name) == 0 &&
					strcmp(name, "test") == 0;
			if (found)
				break;
			usleep(10000);
		}
		ring_reader_close(r);
	}
	for (int i = 0; i < 5; i++) {
		assert_int_equal(virDomainSuspend(dom), 0);
		assert_int_equal(virDomainResume(dom), 0);
	}

	for (int i = 0; i < SENDERS; i++) {
		assert_int_equal(pthread_join(senders[i], &rv), 0);
		assert_null(rv);
	}
	usleep(300000);       /* a few ticks: heartbeats, status queries */
	__atomic_store_n(&f.stop_ctl, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(poller, &rv), 0);
	ctl_ok = (long)rv;
	agent_stop(f.a);
	assert_int_equal(pthread_join(f.loop, NULL), 0);
	assert_int_equal(f.loop_rc, 0);
	agent_free(f.a);
	virDomainFree(dom);
	virConnectClose(other);
	assert_true(ctl_ok > 0);

	/* Everything is in the ring, and the segment outlived the agent. */
	recs = calloc(8192, sizeof(*recs));
	n = tu_read_all(f.cfg.ring_name, recs, 8192);
	for (size_t i = 0; i < n; i++) {
		if (recs[i].type == RING_REC_EVENT && recs[i].u.event.source == RING_EVSRC_HOOK)
			hooks++;
		if (recs[i].type == RING_REC_EVENT && recs[i].u.event.source == RING_EVSRC_LIBVIRT)
			lifecycle++;
		if (recs[i].type == RING_REC_AGENT) {
			starts += recs[i].u.agent.kind == RING_AGENT_START;
			stops += recs[i].u.agent.kind == RING_AGENT_STOP;
			connects += recs[i].u.agent.kind == RING_AGENT_CONNECT;
		}
	}
	free(recs);
	assert_int_equal(hooks, SENDERS * PER_SENDER + 1);
	/* 5 suspends and 5 resumes of the tracked "test" domain. */
	assert_int_equal(lifecycle, 10);
	assert_int_equal(starts, 1);
	assert_int_equal(stops, 1);
	assert_int_equal(connects, 1);
	{
		struct ring_reader *r;
		struct ring_header h;

		assert_int_equal(ring_reader_open(f.cfg.ring_name, &r), 0);
		assert_int_equal(ring_reader_snapshot_header(r, &h), 0);
		assert_int_equal(h.writer_state, RING_WRITER_STOPPED);
		assert_int_equal(ring_reader_liveness(r, ring_now_mono_ns()), RING_STOPPED);
		/* what the views' header says of the agent: its mode and default policy */
		assert_int_equal(h.info.mode, f.cfg.advisory ? RING_MODE_ADVISORY : RING_MODE_ACTIVE);
		assert_int_equal(h.info.flags, 0);
		assert_string_equal(h.info.policy, f.cfg.policy);
		ring_reader_close(r);
	}
	shm_unlink(f.cfg.ring_name);
	tu_rmdir(f.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_threads_together),
	};

	log_open(true, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
