/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the hook's pieces: arguments, configuration, event building from the parsed
 * domain XML, sanitising, and reading stdin.  The XML reader itself: tests/domxml. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hook.h"

/* ---- arguments ------------------------------------------------------------------------------ */

static void args_exactly_four(void **state)
{
	struct hook_args a;
	char *ok[] = { "qemu", "vm1", "migrate", "begin", "-", NULL };
	char *three[] = { "qemu", "vm1", "migrate", "begin", NULL };
	char *five[] = { "qemu", "vm1", "migrate", "begin", "-", "x", NULL };
	char *empty_op[] = { "qemu", "vm1", "", "begin", "-", NULL };

	assert_int_equal(hook_parse_args(5, ok, &a), 0);
	assert_string_equal(a.domain, "vm1");
	assert_string_equal(a.op, "migrate");
	assert_string_equal(a.subop, "begin");
	assert_string_equal(a.extra, "-");
	assert_int_equal(hook_parse_args(4, three, &a), -EINVAL);
	assert_int_equal(hook_parse_args(6, five, &a), -EINVAL);
	assert_int_equal(hook_parse_args(5, empty_op, &a), -EINVAL);
	assert_int_equal(hook_parse_args(1, ok, &a), -EINVAL);
}

static void event_from_hostile_arguments(void **state)
{
	char longname[1000], longextra[400];
	struct hook_args a = { .op = "started", .subop = "begin" };
	struct wire_event ev;
	uint8_t buf[WIRE_MSG_MAX];
	struct wire_msg m;

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(longextra, 'e', sizeof(longextra) - 1);
	longextra[sizeof(longextra) - 1] = '\0';
	a.domain = longname;
	a.extra = longextra;
	assert_int_equal(hook_build_event(&a, NULL, HOOK_XML_MISSING, &ev), 0);
	assert_int_equal(strlen(ev.domain), WIRE_DOMAIN_MAX);
	assert_int_equal(strlen(ev.extra), WIRE_EXTRA_MAX);
	assert_true(ev.flags & WIRE_EV_NAME_TRUNCATED);
	assert_true(ev.flags & WIRE_EV_EXTRA_TRUNCATED);
	assert_true(ev.flags & WIRE_EV_XML_MISSING);
	assert_int_equal(ev.hook_pid, (uint32_t)getpid());
	assert_true(ev.realtime_ns > 1600000000LL * 1000000000LL);
	assert_true(ev.monotonic_ns > 0);
	/* Whatever the arguments, the result encodes and decodes. */
	ssize_t n = wire_encode_event(&ev, WIRE_TYPE_EVENT, 1, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(wire_decode(buf, (size_t)n, &m), 0);
	assert_string_equal(m.event.domain, ev.domain);

	/* Control characters, quotes and shell metacharacters pass through verbatim on the wire. */
	a.domain = "evil\n\"; rm -rf / #\x1b[31m\xc3\xa9";
	a.extra = "-";
	assert_int_equal(hook_build_event(&a, NULL, HOOK_XML_OK, &ev), 0);
	assert_string_equal(ev.domain, a.domain);
	assert_false(ev.flags & (WIRE_EV_NAME_TRUNCATED | WIRE_EV_XML_MISSING));

	char op[64];
	memset(op, 'o', sizeof(op) - 1);
	op[sizeof(op) - 1] = '\0';
	a.op = op;
	assert_int_equal(hook_build_event(&a, NULL, HOOK_XML_OK, &ev), -EINVAL);
}

static void event_takes_xml_facts(void **state)
{
	struct hook_args a = { .domain = "", .op = "migrate", .subop = "begin", .extra = "-" };
	/* What domxml_parse_domain() found (tests/domxml reads the real file). */
	struct domxml_domain d = {
		.flags = DOMXML_HAS_NAME | DOMXML_HAS_UUID | DOMXML_HAS_MEMORY | DOMXML_POLICY_BAD,
		.name = "guest-s1", .uuid = { 0xc7, [15] = 0x09 }, .memory_kib = 262144,
		.policy = { .present = WIRE_POL_NAME | WIRE_POL_ON_HOPELESS, .name = "adaptive",
			    .on_hopeless = WIRE_ON_HOPELESS_ABORT },
	};
	struct wire_event ev;

	assert_int_equal(hook_build_event(&a, &d, HOOK_XML_OK, &ev), 0);
	assert_string_equal(ev.domain, "guest-s1"); /* empty argument: XML name */
	assert_int_equal(ev.flags, WIRE_EV_HAS_UUID | WIRE_EV_HAS_MEMORY | WIRE_EV_POLICY_INVALID);
	assert_int_equal(ev.memory_kib, 262144);
	assert_int_equal(ev.uuid[0], 0xc7);
	assert_int_equal(ev.uuid[15], 0x09);
	assert_memory_equal(&ev.policy, &d.policy, sizeof(d.policy));

	/* Invalid XML: no facts leak into the event even if dom holds some. */
	assert_int_equal(hook_build_event(&a, &d, HOOK_XML_INVALID, &ev), 0);
	assert_int_equal(ev.flags, WIRE_EV_XML_INVALID);
	assert_int_equal(ev.policy.present, 0);
	assert_int_equal(hook_build_event(&a, &d, HOOK_XML_TRUNCATED, &ev), 0);
	assert_int_equal(ev.flags, WIRE_EV_XML_TRUNCATED);
}

static void sanitize_strips_controls(void **state)
{
	char out[16];
	hook_sanitize(out, sizeof(out), "a\nb\x1b[c\xc3\xa9");
	assert_string_equal(out, "a?b?[c??");
	hook_sanitize(out, 4, "abcdef");
	assert_string_equal(out, "abc");
	hook_sanitize(out, sizeof(out), NULL);
	assert_string_equal(out, "");
}

/* ---- configuration -------------------------------------------------------------------------- */

static void config_parsing(void **state)
{
	struct hook_config c;
	unsigned bad = 0;
	const char *text = "# comment\n\n  socket = /srv/lab/a/hook.sock  # trailing comment\n"
			   "admission=yes\r\nadmission-timeout-ms = 150\n";

	hook_config_defaults(&c);
	assert_string_equal(c.socket_path, HOOK_SOCKET_PATH);
	assert_false(c.admission);
	assert_int_equal(c.admission_timeout_ms, 200);
	assert_int_equal(hook_config_parse(text, strlen(text), &c, &bad), 0);
	assert_string_equal(c.socket_path, "/srv/lab/a/hook.sock");
	assert_true(c.admission);
	assert_int_equal(c.admission_timeout_ms, 150);

	/* Bad lines are reported (first one) and skipped; good ones still apply. */
	hook_config_defaults(&c);
	text = "socket = relative/path\nadmission = maybe\nadmission-timeout-ms = 5000\n"
	       "no equals sign\nsocket = /ok.sock\nbogus = 1\n";
	assert_int_equal(hook_config_parse(text, strlen(text), &c, &bad), -EINVAL);
	assert_int_equal(bad, 1);
	assert_string_equal(c.socket_path, "/ok.sock");
	assert_false(c.admission);
	assert_int_equal(c.admission_timeout_ms, 200);

	/* Socket path must fit sun_path. */
	char line[256];
	hook_config_defaults(&c);
	int n = snprintf(line, sizeof(line), "socket=/%0120d\n", 1);
	assert_int_equal(hook_config_parse(line, (size_t)n, &c, &bad), -EINVAL);
	assert_string_equal(c.socket_path, HOOK_SOCKET_PATH);

	/* No trailing newline, embedded NUL. */
	assert_int_equal(hook_config_parse("admission=yes", 13, &c, &bad), 0);
	assert_true(c.admission);
	assert_int_equal(hook_config_parse("socket=/a\0b\n", 12, &c, &bad), -EINVAL);
}

static void config_files(void **state)
{
	char dir[] = "/tmp/migtune-hook-test.XXXXXX", path[256];
	struct hook_config c;
	unsigned bad = 0;

	assert_non_null(mkdtemp(dir));
	hook_config_defaults(&c);
	snprintf(path, sizeof(path), "%s/absent.conf", dir);
	assert_int_equal(hook_config_load(path, &c, &bad), -ENOENT);

	snprintf(path, sizeof(path), "%s/hook.conf", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("socket = /run/lab-a/hook.sock\nadmission = yes\n", f);
	fclose(f);
	assert_int_equal(hook_config_load(path, &c, &bad), 0);
	assert_string_equal(c.socket_path, "/run/lab-a/hook.sock");
	unlink(path);

	/* A FIFO must not block the hook. */
	snprintf(path, sizeof(path), "%s/fifo.conf", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(hook_config_load(path, &c, &bad), -EINVAL);
	unlink(path);

	/* A directory, an oversized file. */
	assert_int_equal(hook_config_load(dir, &c, &bad), -EINVAL);
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 70000; i++)
		fputc('#', f);
	fclose(f);
	assert_int_equal(hook_config_load(path, &c, &bad), -EFBIG);
	unlink(path);
	rmdir(dir);
}

/* ---- stdin ---------------------------------------------------------------------------------- */

static void read_all_keeps_bound_and_drains(void **state)
{
	int p[2];
	char keep[100];
	uint64_t total = 0;

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char chunk[4096];
		close(p[0]);
		memset(chunk, 'z', sizeof(chunk));
		chunk[0] = 'A';
		for (int i = 0; i < 300; i++) /* 1.2 MB, far above the pipe buffer */
			if (write(p[1], chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	ssize_t kept = hook_read_all(p[0], keep, sizeof(keep), &total);
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* the writer never saw EPIPE */
	assert_int_equal(kept, sizeof(keep));
	assert_int_equal(total, 300 * 4096);
	assert_int_equal(keep[0], 'A');

	/* Closed descriptor: -EBADF, nothing kept. */
	int fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(hook_read_all(fd, keep, sizeof(keep), &total), -EBADF);
	assert_int_equal(total, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(args_exactly_four),
		cmocka_unit_test(event_from_hostile_arguments),
		cmocka_unit_test(event_takes_xml_facts),
		cmocka_unit_test(sanitize_strips_controls),
		cmocka_unit_test(config_parsing),
		cmocka_unit_test(config_files),
		cmocka_unit_test(read_all_keeps_bound_and_drains),
	};
	return cmocka_run_group_tests_name("hook", tests, NULL, NULL);
}
