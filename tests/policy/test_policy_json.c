/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The MigrationPolicies JSON loader: RHV's published policies load verbatim (fixtures copied from
 * an engine-config dump as published, fragments included) and equal the built-ins; malformed input
 * is refused with one line naming the policy and the field.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"

#ifndef POLICY_TESTDIR
#define POLICY_TESTDIR "tests/policy"
#endif

static char *slurp(const char *name, size_t *ret_len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/policies/%s", POLICY_TESTDIR, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

static void same_items(const struct sched_item *a, const struct sched_item *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(a[i].action, b[i].action);
		assert_int_equal(a[i].stalling_limit, b[i].stalling_limit);
		assert_int_equal(a[i].downtime_ms, b[i].downtime_ms);
	}
}

static void same_sched(const struct sched *a, const struct sched *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->uuid, b->uuid);
	assert_int_equal(a->max_migrations, b->max_migrations);
	assert_int_equal(a->auto_convergence, b->auto_convergence);
	assert_int_equal(a->compression, b->compression);
	assert_int_equal(a->ninitial, b->ninitial);
	assert_int_equal(a->nconvergence, b->nconvergence);
	assert_int_equal(a->nlast, b->nlast);
	same_items(a->initial, b->initial, a->ninitial);
	same_items(a->convergence, b->convergence, a->nconvergence);
	same_items(a->last, b->last, a->nlast);
}

static void load_one(const char *file, const char *builtin)
{
	struct policy got[4], ref;
	char err[256] = "";
	size_t len, n = 0;
	char *text = slurp(file, &len);
	int r = policy_json_load(text, len, got, 4, &n, err, sizeof(err));

	if (r < 0)
		fail_msg("%s: %s", file, err);
	assert_int_equal(n, 1);
	assert_int_equal(got[0].id, POLICY_SCHEDULE);
	assert_int_equal(policy_builtin(builtin, &ref), 0);
	same_sched(&got[0].sched, &ref.sched);
	free(text);
}

static void test_seed_fragments_load_verbatim(void **state)
{
	(void)state;
	/* "[{...}}": the array's '[' with the first policy, its ']' cut off */
	load_one("seed003-minimal-downtime.json", "rhv-minimal");
	load_one("seed003-suspend-workload.json", "rhv-suspend");
	/* "{...}]": the last policy with the array's closing ']' */
	load_one("seed003-post-copy.json", "rhv-postcopy");
}

static void test_seed_all_and_proper_array(void **state)
{
	static const char *const builtins[] = { "rhv-minimal", "rhv-suspend", "rhv-postcopy" };
	struct policy got[8], ref;
	char err[256] = "", *text, *fixed;
	size_t len, n = 0, k = 0;

	(void)state;
	text = slurp("seed003-all.json", &len);
	assert_int_equal(policy_json_load(text, len, got, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		policy_builtin(builtins[i], &ref);
		same_sched(&got[i].sched, &ref.sched);
	}
	/* the same as well-formed JSON: commas between the policies */
	fixed = malloc(len + 8);
	assert_non_null(fixed);
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n' && i + 1 < len && text[i + 1] == '{')
			fixed[k++] = ',';
		else
			fixed[k++] = text[i];
	}
	n = 0;
	assert_int_equal(policy_json_load(fixed, k, got, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(got[2].name, "Post-copy migration");
	free(fixed);
	free(text);
}

static void test_loaded_schedule_runs_like_builtin(void **state)
{
	static struct mig_history h1, h2;
	struct policy loaded[1], builtin;
	struct policy_state s1, s2;
	struct mig_limits lim;
	char err[256];
	size_t len, n;
	char *text = slurp("seed003-suspend-workload.json", &len);
	unsigned nact = 0;

	(void)state;
	assert_int_equal(policy_json_load(text, len, loaded, 1, &n, err, sizeof(err)), 0);
	free(text);
	policy_builtin("rhv-suspend", &builtin);
	policy_limits_default(&lim);
	policy_history_init(&h1);
	policy_history_init(&h2);
	policy_state_init(&loaded[0], &s1);
	policy_state_init(&builtin, &s2);
	for (uint64_t t = 0; t < 200000; t += 500) {
		struct mig_sample s = { .t_ms = t, .iteration = 1 + (uint32_t)(t / 4000),
		                        .phase = MIG_PHASE_PRECOPY, .data_remaining_bytes = 1 << 26,
		                        .memory_bps = 1 << 24, .downtime_limit_ms = 300 };
		struct policy_action a1[POLICY_MAX_ACTIONS], a2[POLICY_MAX_ACTIONS];
		int n1, n2;

		policy_observe(&h1, &s);
		policy_observe(&h2, &s);
		n1 = policy_decide(&loaded[0], &s1, &h1, &lim, a1, POLICY_MAX_ACTIONS);
		n2 = policy_decide(&builtin, &s2, &h2, &lim, a2, POLICY_MAX_ACTIONS);
		assert_int_equal(n1, n2);
		for (int i = 0; i < n1; i++) {
			assert_int_equal(a1[i].kind, a2[i].kind);
			assert_int_equal(a1[i].value, a2[i].value);
			assert_int_equal(a1[i].reason, a2[i].reason);
			policy_applied(&loaded[0], &s1, &a1[i], true);
			policy_applied(&builtin, &s2, &a2[i], true);
			nact++;
		}
	}
	assert_int_equal(nact, 8);     /* initial, five steps, 5000 ms, abort */
}

struct bad {
	const char *json;
	const char *needle;             /* the error must contain this */
	int err;
};

#define GOOD_ITEM "{\"stallingLimit\":1,\"convergenceItem\":{\"action\":\"setDowntime\",\"params\":[\"150\"]}}"

static void test_malformed(void **state)
{
	static const struct bad cases[] = {
		{ "", "no policy found", -EINVAL },
		{ "   \n  ", "no policy found", -EINVAL },
		{ "{", "unexpected end of input", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"initialItems\":[{\"action\":\"setDowntime\",\"params\":[\"100\"]}]}",
		  "unexpected end of input", -EINVAL },
		{ "42", "expected '{'", -EINVAL },
		{ "[[{}]]", "expected '{'", -EINVAL },
		{ "{\"name\":\"a\"}", "policy 1 (\"a\"): config: missing", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{}}", "nothing to do", -EINVAL },
		{ "{\"name\":7,\"config\":{}}", "name: expected a string", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"convergenceItems\":[{\"stallingLimit\":\"abc\","
		  "\"convergenceItem\":{\"action\":\"setDowntime\",\"params\":[\"150\"]}}]}}",
		  "config.convergenceItems[0].stallingLimit: expected an integer", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"convergenceItems\":[{\"stallingLimit\":-1,"
		  "\"convergenceItem\":{\"action\":\"setDowntime\",\"params\":[\"150\"]}}]}}",
		  "stallingLimit: expected an integer", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"convergenceItems\":[" GOOD_ITEM ",{\"stallingLimit\":2}]}}",
		  "config.convergenceItems[1].convergenceItem: missing", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"lastItems\":[{\"action\":\"explode\",\"params\":[]}]}}",
		  "unknown action \"explode\"", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"lastItems\":[{\"action\":\"x\\ny\"}]}}",
		  "unknown action \"x?y\"", -EINVAL },           /* found by fuzzing: stays one line */
		{ "{\"name\":\"a\\tb\",\"config\":{\"lastItems\":[{\"action\":\"abort\"}]}}",
		  "name: contains control characters", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"lastItems\":[{\"action\":\"setDowntime\",\"params\":[]}]}}",
		  "setDowntime takes one parameter", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"lastItems\":[{\"action\":\"setDowntime\",\"params\":[\"-5\"]}]}}",
		  "config.lastItems[0].params[0]: downtime must be 1..3600000 ms", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"lastItems\":[{\"action\":\"setDowntime\",\"params\":[\"15x\"]}]}}",
		  "downtime must be", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"lastItems\":[{\"action\":\"setDowntime\",\"params\":[\"0\"]}]}}",
		  "downtime must be", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"lastItems\":[{\"action\":\"postcopy\",\"params\":[\"1\"]}]}}",
		  "postcopy takes no parameters", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"initialItems\":[{\"action\":\"abort\",\"params\":[]}]}}",
		  "initialItems may only hold setDowntime", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"lastItems\":{\"action\":\"abort\"}}}",
		  "config.lastItems: expected an array", -EINVAL },
		{ "{\"name\":\"a\",\"maxMigrations\":\"two\",\"config\":{\"lastItems\":[{\"action\":\"abort\"}]}}",
		  "maxMigrations", -EINVAL },
		{ "{\"name\":\"a\",\"autoConvergence\":\"yes\",\"config\":{\"lastItems\":[{\"action\":\"abort\"}]}}",
		  "autoConvergence: expected true or false", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"lastItems\":[{\"action\":\"abort\"}]}} trailing",
		  "expected '{'", -EINVAL },
		{ "[{\"name\":\"a\",\"config\":{\"lastItems\":[{\"action\":\"abort\"}]}}] {}",
		  "unexpected text after ']'", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"lastItems\":[{\"action\":\"abort\"}]}}"
		  "{\"name\":\"b\",\"config\":{\"lastItems\":[{\"action\":\"nope\"}]}}",
		  "policy 2 (\"b\"): config.lastItems[0].action: unknown action", -EINVAL },
		{ "{\"name\":\"a\",\"config\":{\"lastItems\":[{\"action\":\"abort\"}]}}"
		  "{\"name\":\"b\",\"config\":{\"lastItems\":[{\"action\":\"abort\"}]}}"
		  "{\"name\":\"c\",\"config\":{\"lastItems\":[{\"action\":\"abort\"}]}}",
		  "more than 2 policies", -E2BIG },
	};
	struct policy got[2];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		size_t n = 12345;
		int r = policy_json_load(cases[i].json, strlen(cases[i].json), got, 2, &n, err,
		                         sizeof(err));

		if (r != cases[i].err || !strstr(err, cases[i].needle))
			fail_msg("case %zu: r=%d err=\"%s\", wanted %d and \"%s\"", i, r, err,
			         cases[i].err, cases[i].needle);
		assert_int_equal(n, 12345);                  /* untouched on failure */
		assert_null(strchr(err, '\n'));               /* one line */
	}
}

static void test_nul_byte_and_numbers(void **state)
{
	static const char with_nul[] = "{\"name\":\"a\",\0\"config\":{}}";
	struct policy got[1];
	char err[256] = "";
	size_t n;
	const char *ok = "{\"name\":\"int params\",\"config\":{\"convergenceItems\":[{\"stallingLimit\":\"3\","
	                 "\"convergenceItem\":{\"action\":\"setDowntime\",\"params\":[250]}}],"
	                 "\"lastItems\":[{\"action\":\"abort\"}]}}";

	(void)state;
	assert_int_equal(policy_json_load(with_nul, sizeof(with_nul) - 1, got, 1, &n, err,
	                                  sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NUL byte"));
	/* integers as JSON numbers or decimal strings; a missing params list means none */
	assert_int_equal(policy_json_load(ok, strlen(ok), got, 1, &n, err, sizeof(err)), 0);
	assert_int_equal(got[0].sched.convergence[0].stalling_limit, 3);
	assert_int_equal(got[0].sched.convergence[0].downtime_ms, 250);
	assert_int_equal(got[0].sched.last[0].action, SCHED_ABORT);
	assert_string_equal(got[0].name, "int params");
}

static void test_user_example(void **state)
{
	struct policy got[2];
	char err[256] = "";
	size_t len, n = 0;
	char *text = slurp("example-careful.json", &len);

	(void)state;
	if (policy_json_load(text, len, got, 2, &n, err, sizeof(err)) < 0)
		fail_msg("example-careful.json: %s", err);
	free(text);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].name, "Careful, then post-copy");
	assert_int_equal(got[0].sched.max_migrations, 1);
	assert_false(got[0].sched.auto_convergence);
	assert_int_equal(got[0].sched.nconvergence, 2);
	assert_int_equal(got[0].sched.convergence[1].stalling_limit, 4);
	assert_int_equal(got[0].sched.convergence[1].downtime_ms, 400);
	assert_int_equal(got[0].sched.nlast, 2);
	assert_int_equal(got[0].sched.last[0].action, SCHED_POSTCOPY);
	assert_int_equal(got[0].sched.last[1].action, SCHED_ABORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_fragments_load_verbatim),
		cmocka_unit_test(test_seed_all_and_proper_array),
		cmocka_unit_test(test_loaded_schedule_runs_like_builtin),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul_byte_and_numbers),
		cmocka_unit_test(test_user_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
