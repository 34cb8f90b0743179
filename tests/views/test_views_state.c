/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What migtop says about the agent and about each migration's state: a writer killed with -9 is
 * dead at once (also while it is a zombie nobody reaped yet), its migrations' state unknown; a
 * migration the agent recorded as ended is shown ended and is not counted as running, whatever
 * its last sample's phase.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tests/views/runprog.h"
#include "tests/views/synth.h"

#define MIGTOP  VIEWS_BIN_DIR "/migtop"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* A writer in a child process, killed and reaped at the end of its test whatever happened. */
static pid_t writer = -1;

static int reap_writer(void **state)
{
	(void)state;
	if (writer > 0) {
		kill(writer, SIGKILL);
		waitpid(writer, NULL, 0);
		writer = -1;
	}
	return 0;
}

static void pre_copy(struct ring_writer *w, uint32_t dom, uint32_t elapsed_ms)
{
	struct ring_sample s = { .direction = RING_DIR_OUT, .phase = RING_PHASE_PRECOPY, .iteration = 4,
				 .data_total_bytes = 1u << 30, .data_remaining_bytes = 1u << 28,
				 .page_size = 4096, .elapsed_ms = elapsed_ms };
	assert_int_equal(ring_append(w, RING_REC_SAMPLE, dom, &s, sizeof(s)), 0);
}

static void agent_event(struct ring_writer *w, uint32_t dom, const char *subop, int phase)
{
	struct ring_event e = { .source = RING_EVSRC_AGENT, .detail1 = phase };
	snprintf(e.op, sizeof(e.op), "migration");
	snprintf(e.subop, sizeof(e.subop), "%s", subop);
	snprintf(e.text, sizeof(e.text), "job ended without completion (aborted or failed)");
	assert_int_equal(ring_append(w, RING_REC_EVENT, dom, &e, sizeof(e)), 0);
}

static void one_pre_copy(struct ring_writer *w, void *arg)
{
	uint8_t uuid[16];
	(void)arg;
	synth_uuid(0, uuid);
	pre_copy(w, ring_domain_index(w, uuid, "vm-a"), 5000);
}

/* An agent killed with -9 whose parent has not reaped it yet: dead, not live. */
static void test_zombie_writer_is_dead(void **state)
{
	(void)state;
	char name[64];
	struct run r;

	synth_ring_name(name, sizeof(name));
	pid_t pid = writer = synth_writer_child(name, one_pre_copy, NULL);
	assert_true(pid > 0);
	RUN(&r, MIGTOP, "--ring", name, "-b", "-n", "1");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "agent live"));
	assert_non_null(strstr(r.out, "(1 running)"));
	run_free(&r);

	assert_int_equal(kill(pid, SIGKILL), 0);
	sleep_ms(100);   /* the kill lands; the child stays a zombie until the waitpid below */
	RUN(&r, MIGTOP, "--ring", name, "-b", "-n", "1");
	assert_int_equal(r.status, 0);
	if (!strstr(r.out, "agent dead"))
		fail_msg("a writer killed with -9 (a zombie) is not shown dead:\n%s", r.out);
	assert_non_null(strstr(r.out, "(0 running)"));
	assert_non_null(strstr(r.out, " unknown "));
	run_free(&r);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	writer = -1;
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	unlink(path);
}

/* Six migrations in pre-copy, five of them aborted as the agent recorded it: one runs. */
static void test_ended_not_running(void **state)
{
	(void)state;
	char name[64];
	struct ring_create_opts o = { .slot_count = 1024, .domain_slots = 16, .gid = (gid_t)-1 };
	struct ring_writer *w;
	struct run r;

	synth_ring_name(name, sizeof(name));
	o.name = name;
	assert_int_equal(ring_writer_open(&o, &w), 0);
	for (uint32_t i = 0; i < 6; i++) {
		uint8_t uuid[16];
		char dn[16];
		synth_uuid(i, uuid);
		snprintf(dn, sizeof(dn), "vm-%u", i);
		uint32_t dom = ring_domain_index(w, uuid, dn);
		pre_copy(w, dom, 20000);
		if (i < 5)
			agent_event(w, dom, "aborted", RING_PHASE_FAILED);
	}
	RUN(&r, MIGTOP, "--ring", name, "-b", "-n", "1");
	assert_int_equal(r.status, 0);
	if (!strstr(r.out, "migrations 6 (1 running)"))
		fail_msg("aborted migrations counted as running:\n%s", r.out);
	/* the running one first, its phase from its sample; the others say how they ended */
	const char *running = strstr(r.out, "vm-5 "), *aborted = strstr(r.out, "vm-0 ");
	assert_non_null(running);
	assert_non_null(aborted);
	assert_true(running < aborted);
	assert_non_null(strstr(running, " pre-copy "));
	assert_true(strstr(aborted, " aborted ") && strstr(aborted, " aborted ") < strchr(aborted, '\n'));
	run_free(&r);

	RUN(&r, MIGTOP, "--ring", name, "--json", "-n", "1");
	assert_int_equal(r.status, 0);
	struct json_object *j = json_tokener_parse(r.out), *migs, *x;
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "migrations", &migs));
	int running_n = 0, aborted_n = 0;
	for (size_t i = 0; i < json_object_array_length(migs); i++) {
		struct json_object *m = json_object_array_get_idx(migs, i);
		assert_true(json_object_object_get_ex(m, "running", &x));
		running_n += json_object_get_boolean(x);
		assert_true(json_object_object_get_ex(m, "outcome", &x));
		if (x && strcmp(json_object_get_string(x), "aborted") == 0)
			aborted_n++;
	}
	assert_int_equal(running_n, 1);
	assert_int_equal(aborted_n, 5);
	json_object_put(j);
	run_free(&r);
	ring_writer_close(w, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_zombie_writer_is_dead, reap_writer),
		cmocka_unit_test(test_ended_not_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
