/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Configuration parsing: the shipped example, defaults, and one clear error per bad key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/config.h"
#include "policy/policy.h"
#include "tests/agent/agent_testutil.h"

static char dir[128];

static const char *write_conf(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int setup(void **state)
{
	tu_tmpdir("conf", dir, sizeof(dir));
	return 0;
}

static int teardown(void **state)
{
	tu_rmdir(dir);
	return 0;
}

static void test_shipped_example_is_the_defaults(void **state)
{
	struct agent_config def, cfg;
	char err[512] = "";

	/* Every key of etc/migtune/migtuned.conf is commented out at its default: loading it must
	 * change nothing, and uncommenting every line must change nothing either. */
	config_defaults(&def);
	config_defaults(&cfg);
	assert_int_equal(config_load("etc/migtune/migtuned.conf", &cfg, err, sizeof(err)), 0);
	assert_memory_equal(&def, &cfg, sizeof(cfg));

	{
		FILE *in = fopen("etc/migtune/migtuned.conf", "r");
		char line[512], all[16384] = "";
		int keys = 0;

		assert_non_null(in);
		while (fgets(line, sizeof(line), in)) {
			/* "#key = value" (no space after '#') marks a key at its default. */
			if (line[0] == '#' && line[1] != ' ' && line[1] != '\n' && strchr(line, '=')) {
				strcat(all, line + 1);
				keys++;
			} else if (line[0] == '[') {
				strcat(all, line);
			}
		}
		fclose(in);
		assert_true(keys >= 19);
		config_defaults(&cfg);
		assert_int_equal(config_load(write_conf("all.conf", all), &cfg, err, sizeof(err)), 0);
		assert_int_equal(config_finish(&cfg, err, sizeof(err)), 0);
		config_defaults(&def);
		assert_int_equal(config_finish(&def, err, sizeof(err)), 0);
		assert_memory_equal(&def, &cfg, sizeof(cfg));
	}
}

static void test_good_values(void **state)
{
	struct agent_config cfg;
	char err[512] = "";
	const char *p = write_conf("good.conf",
		"; comment\n"
		"[agent]\n"
		"advisory = yes\n"
		"log-level = debug\n"
		"ring = /lab-a\n"
		"ring-slots = 4096\n"
		"hook-socket = /run/lab-a/hook.sock\n"
		"ctl-group = root\n"
		"[libvirt]\n"
		"uri = qemu+unix:///system?socket=/run/lab-a/libvirt-sock\n"
		"reconnect-min-ms = 100\n"
		"[sampling]\n"
		"interval-ms = 250\n"
		"[nic]\n"
		"interface = lo\n"
		"speed-mbps = 10000\n"
		"[policy]\n"
		"name = rhv-minimal\n"
		"on-hopeless = abort\n"
		"allow_abort = no\n"
		"postcopy-recovery = off\n"
		"[recovery]\n"
		"destination-uri = qemu+tcp://{peer}:16509/system\n"
		"settle-ms = 500\n"
		"stall-s = 0\n"
		"interrupt = no\n"
		"link-stall-s = 0\n"
		"attempts = 5\n"
		"[metrics]\n"
		"textfile = /var/lib/prometheus/node-exporter/migtune.prom\n"
		"interval-s = 30\n");

	config_defaults(&cfg);
	assert_int_equal(config_load(p, &cfg, err, sizeof(err)), 0);
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), 0);
	assert_true(cfg.advisory);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(cfg.ring_name, "/lab-a");
	assert_int_equal(cfg.ring_slots, 4096);
	assert_string_equal(cfg.hook_socket, "/run/lab-a/hook.sock");
	assert_int_equal(cfg.ctl_gid, 0);
	assert_string_equal(cfg.uri, "qemu+unix:///system?socket=/run/lab-a/libvirt-sock");
	assert_int_equal(cfg.reconnect_min_ms, 100);
	assert_int_equal(cfg.interval_ms, 250);
	assert_string_equal(cfg.nic_interface, "lo");
	assert_int_equal(cfg.nic_speed_mbps, 10000);
	assert_false(cfg.postcopy_recovery);
	assert_string_equal(cfg.recovery_dest_uri, "qemu+tcp://{peer}:16509/system");
	assert_int_equal(cfg.recovery_settle_ms, 500);
	assert_int_equal(cfg.recovery_stall_s, 0);
	assert_false(cfg.recovery_interrupt);
	assert_int_equal(cfg.recovery_link_stall_s, 0);
	assert_int_equal(cfg.recovery_attempts, 5);
	assert_string_equal(cfg.policy, "rhv-minimal");
	assert_int_equal(cfg.on_hopeless, MIG_ON_HOPELESS_ABORT);
	assert_false(cfg.allow_abort);
	assert_string_equal(cfg.metrics_textfile, "/var/lib/prometheus/node-exporter/migtune.prom");
	assert_int_equal(cfg.metrics_interval_s, 30);
	/* Untouched keys keep their defaults. */
	assert_int_equal(cfg.heartbeat_ms, 1000);
	assert_int_equal(cfg.keepalive_count, 5);
	config_defaults(&cfg);
	assert_string_equal(cfg.metrics_textfile, "");      /* metrics off unless asked for */
	assert_int_equal(cfg.metrics_interval_s, 15);
	assert_int_equal(cfg.on_hopeless, MIG_ON_HOPELESS_PARK);  /* park, and aborts allowed */
	assert_true(cfg.allow_abort);
	assert_int_equal(cfg.old_spellings, 0);
}

struct lines {
	char text[4][512];
	int n;
};

static void collect(const char *line, void *arg)
{
	struct lines *l = arg;

	assert_true(l->n < 4);
	snprintf(l->text[l->n++], sizeof(l->text[0]), "%s", line);
}

/* Keys of older versions were spelled with '_': still accepted, each reported once. */
static void test_old_spellings(void **state)
{
	struct agent_config cfg;
	struct lines out = { .n = 0 };
	uint64_t warned = 0;
	char err[512] = "";
	const char *p = write_conf("old.conf",
		"[sampling]\n"
		"interval_ms = 250\n"
		"dirtyrate-interval-s = 0\n"
		"[policy]\n"
		"sla_max_downtime_ms = 800\n"
		"allow-postcopy = yes\n");

	config_defaults(&cfg);
	assert_int_equal(config_load(p, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.interval_ms, 250);
	assert_int_equal(cfg.dirtyrate_interval_s, 0);
	assert_int_equal(cfg.sla_max_downtime_ms, 800);
	assert_true(cfg.allow_postcopy);
	config_old_spellings(&cfg, p, &warned, collect, &out);
	assert_int_equal(out.n, 2);
	assert_non_null(strstr(out.text[0], "old.conf: [sampling] interval_ms: old spelling of "
					   "interval-ms, still accepted; rename it"));
	assert_non_null(strstr(out.text[1], "[policy] sla_max_downtime_ms: old spelling of "
					   "sla-max-downtime-ms"));
	/* a reload of the same file: nothing new to say */
	config_defaults(&cfg);
	assert_int_equal(config_load(p, &cfg, err, sizeof(err)), 0);
	config_old_spellings(&cfg, p, &warned, collect, &out);
	assert_int_equal(out.n, 2);
	/* '_' only stands for '-': other misspellings stay errors, named as written */
	p = write_conf("typo.conf", "[sampling]\ninterval-ms = 250\ninterval__ms = 1\n");
	config_defaults(&cfg);
	assert_int_equal(config_load(p, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "typo.conf:3: [sampling] interval__ms: unknown key"));
}

/* --check-config's output lists every key (dirtyrate-interval-s was once missing) and reads
 * back as the same configuration. */
static void test_print_round_trip(void **state)
{
	struct agent_config cfg, back;
	char err[512] = "", *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int keys = 0;

	assert_non_null(f);
	config_defaults(&cfg);
	cfg.advisory = false;
	cfg.log_level = LOG_DEBUG;
	cfg.dirtyrate_interval_s = 30;
	cfg.allow_suspend = true;
	cfg.on_hopeless = MIG_ON_HOPELESS_ABORT;
	cfg.allow_abort = false;
	cfg.postcopy_recovery = false;
	snprintf(cfg.recovery_dest_uri, sizeof(cfg.recovery_dest_uri), "qemu+tls://{peer}/system");
	snprintf(cfg.ring_group, sizeof(cfg.ring_group), "root");
	snprintf(cfg.metrics_textfile, sizeof(cfg.metrics_textfile), "/tmp/x.prom");
	assert_int_equal(config_print(f, &cfg), 0);
	fclose(f);
	assert_non_null(strstr(text, "[sampling]\ninterval-ms = 500\nheartbeat-ms = 1000\n"
				     "discovery-ms = 1000\ndirtyrate-interval-s = 30\n"));
	assert_non_null(strstr(text, "mode = active\n"));
	assert_non_null(strstr(text, "on-hopeless = abort\nallow-abort = no\n"));
	assert_non_null(strstr(text, "ctl-group =\n"));        /* empty: no trailing blank */
	assert_null(strchr(text, '_'));                          /* one key style */
	for (const char *c = text; (c = strstr(c, " =")); c++)
		keys++;
	assert_int_equal(keys, 51);        /* every key of migtune.conf(5) but the older "advisory" */
	config_defaults(&back);
	assert_int_equal(config_load(write_conf("printed.conf", text), &back, err, sizeof(err)), 0);
	assert_memory_equal(&cfg, &back, sizeof(cfg));
	free(text);
}

/* Each bad line goes at line 3 after two good lines, so the reported line number is checked too. */
struct bad_case {
	const char *section;
	const char *line_text;
	const char *expect;   /* substring of the error after "FILE:LINE: " */
	int line;             /* 0: 3 */
};

static const struct bad_case bad[] = {
	{ "agent", "advisory = maybe", "[agent] advisory: 'maybe' is not a boolean", 0 },
	{ "agent", "log_level = loud", "[agent] log_level: 'loud' is not a level", 0 },
	{ "agent", "ring = migtune", "[agent] ring: 'migtune' is not a shared-memory name", 0 },
	{ "agent", "ring = /a/b", "[agent] ring: '/a/b' is not a shared-memory name", 0 },
	{ "agent", "ring_slots = 12", "[agent] ring_slots: 12 is out of range", 0 },
	{ "agent", "ring_slots = many", "[agent] ring_slots: 'many' is not a number", 0 },
	{ "agent", "ring_domains = -4", "[agent] ring_domains: '-4' is not a number", 0 },
	{ "agent", "hook_socket = run/hook.sock", "[agent] hook_socket: 'run/hook.sock' is not an absolute path", 0 },
	{ "agent", "ctl_socket = ctl", "[agent] ctl_socket: 'ctl' is not an absolute path", 0 },
	{ "agent", "hook_socket = /xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	  "[agent] hook_socket: value longer than 107 bytes", 0 },
	{ "agent", "colour = blue", "[agent] colour: unknown key", 0 },
	{ "libvirt", "keepalive_interval_s = 99999", "[libvirt] keepalive_interval_s: 99999 is out of range 0..3600", 0 },
	{ "libvirt", "keepalive_count = 0", "[libvirt] keepalive_count: 0 is out of range 1..100", 0 },
	{ "libvirt", "reconnect_min_ms = 5", "[libvirt] reconnect_min_ms: 5 is out of range", 0 },
	{ "libvirt", "reconnect_max_ms = 1x", "[libvirt] reconnect_max_ms: '1x' is not a number", 0 },
	{ "libvirt", "url = qemu:///system", "[libvirt] url: unknown key", 0 },
	{ "sampling", "interval_ms = 10", "[sampling] interval_ms: 10 is out of range 50..60000", 0 },
	{ "sampling", "heartbeat_ms = 99999999999999999999", "[sampling] heartbeat_ms: '99999999999999999999' is not a number", 0 },
	{ "nic", "interface = averyveryverylongname", "[nic] interface: value longer than 15 bytes", 0 },
	{ "nic", "speed_mbps = fast", "[nic] speed_mbps: 'fast' is not a number", 0 },
	{ "policy", "nmae = adaptive", "[policy] nmae: unknown key", 0 },
	{ "policy", "name = fastest", "[policy] name: unknown policy 'fastest' (known: none", 0 },
	{ "policy", "on-hopeless = wait", "[policy] on-hopeless: 'wait' is not park or abort", 0 },
	{ "policy", "on_hopeless = Park", "[policy] on_hopeless: 'Park' is not park or abort", 0 },
	{ "policy", "allow-abort = never", "[policy] allow-abort: 'never' is not a boolean", 0 },
	{ "policy", "postcopy-recovery = yes", "[policy] postcopy-recovery: 'yes' is not auto or off", 0 },
	{ "recovery", "destination-uri = {host}", "[recovery] destination-uri: '{host}': the only placeholder is {peer}", 0 },
	{ "recovery", "destination-uri = dest-b", "[recovery] destination-uri: 'dest-b' is not a libvirt URI", 0 },
	{ "recovery", "attempts = 0", "[recovery] attempts: 0 is out of range 1..10000", 0 },
	{ "recovery", "settle-ms = 10", "[recovery] settle-ms: 10 is out of range 100..600000", 0 },
	{ "metrics", "textfile = migtune.prom", "[metrics] textfile: 'migtune.prom' is not an absolute path", 0 },
	{ "metrics", "interval_s = 0", "[metrics] interval_s: 0 is out of range 1..3600", 0 },
	{ "agent", "this line has no equals sign", "syntax error", 0 },
	{ "agent", "[tuning]\nspeed = 1", "[tuning]: unknown section", 4 },
};

static void test_each_bad_key(void **state)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct agent_config cfg;
		char text[512], err[512] = "", want[600];
		const char *p;

		snprintf(text, sizeof(text), "[%s]\n; fine so far\n%s\n", bad[i].section, bad[i].line_text);
		p = write_conf("bad.conf", text);
		config_defaults(&cfg);
		if (config_load(p, &cfg, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu (%s) was accepted", i, bad[i].line_text);
		snprintf(want, sizeof(want), "%s:%d: %s", p, bad[i].line ? bad[i].line : 3,
			 bad[i].expect);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu: got '%s', want prefix '%s'", i, err, want);
	}
}

static void test_first_error_wins_with_its_line(void **state)
{
	struct agent_config cfg;
	char err[512] = "", want[300];
	const char *p = write_conf("two.conf", "[agent]\nadvisory = yes\n\n\n[sampling]\n"
				   "interval_ms = 1\n[nic]\nbogus = 1\n");

	config_defaults(&cfg);
	assert_int_equal(config_load(p, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:6: [sampling] interval_ms: 1 is out of range", p);
	assert_true(strncmp(err, want, strlen(want)) == 0);
}

static void test_key_outside_section(void **state)
{
	struct agent_config cfg;
	char err[512] = "";
	const char *p = write_conf("nosec.conf", "advisory = yes\n");

	config_defaults(&cfg);
	assert_int_equal(config_load(p, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":1: advisory: key outside of any section"));
}

static void test_missing_file(void **state)
{
	struct agent_config cfg;
	char err[512] = "", path[200];

	snprintf(path, sizeof(path), "%s/none.conf", dir);
	config_defaults(&cfg);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "none.conf: cannot open: No such file"));
}

static void test_finish_checks(void **state)
{
	struct agent_config cfg;
	char err[512] = "";

	config_defaults(&cfg);
	cfg.ring_slots = 5000;
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[agent] ring-slots: 5000 is not a power of two"));

	config_defaults(&cfg);
	cfg.reconnect_min_ms = 5000;
	cfg.reconnect_max_ms = 1000;
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "reconnect-min-ms (5000) is above reconnect-max-ms (1000)"));

	/* Acting is allowed now that the actuator exists. */
	config_defaults(&cfg);
	cfg.advisory = false;
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), 0);

	config_defaults(&cfg);
	cfg.retry_min_ms = 9000;
	cfg.retry_max_ms = 1000;
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[actuator] retry-min-ms (9000) is above retry-max-ms (1000)"));

	config_defaults(&cfg);
	assert_true(cfg.postcopy_recovery);
	cfg.recovery_retry_min_ms = 9000;
	cfg.recovery_retry_max_ms = 1000;
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[recovery] retry-min-ms (9000) is above retry-max-ms (1000)"));

	/* Dirty-rate sweeps: off, or at least every 5 s apart (each takes a job on the domain). */
	config_defaults(&cfg);
	assert_int_equal(cfg.dirtyrate_interval_s, 60);
	cfg.dirtyrate_interval_s = 4;
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[sampling] dirtyrate-interval-s: 4 is below 5"));
	cfg.dirtyrate_interval_s = 0;
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), 0);
	cfg.dirtyrate_interval_s = 5;
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), 0);

	config_defaults(&cfg);
	snprintf(cfg.ctl_group, sizeof(cfg.ctl_group), "no-such-group-mt");
	assert_int_equal(config_finish(&cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[agent] ctl-group: no group named 'no-such-group-mt'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_example_is_the_defaults),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_each_bad_key),
		cmocka_unit_test(test_first_error_wins_with_its_line),
		cmocka_unit_test(test_key_outside_section),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_finish_checks),
		cmocka_unit_test(test_old_spellings),
		cmocka_unit_test(test_print_round_trip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
