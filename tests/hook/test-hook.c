/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the hook's pieces: arguments, domain XML and metadata, configuration, event
 * building, sanitising, and reading stdin. */
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

#define NS "xmlns:migtune='" HOOK_XMLNS "'"

static char *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	*ret_len = n;
	return buf;
}

static int parse(const char *xml, struct hook_domain *d)
{
	/* Exact-size heap copy without a NUL: the parser must honour len, and ASan checks it. */
	size_t len = strlen(xml);
	char *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, xml, len);
	memset(d, 0x5a, sizeof(*d));
	int r = hook_parse_domain_xml(p, len, d);
	free(p);
	return r;
}

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
	struct hook_domain d;
	struct wire_event ev;
	size_t len;
	char *xml = read_file(HOOK_SRCDIR "/tests/hook/data/domain-2k.xml", &len);

	assert_int_equal(hook_parse_domain_xml(xml, len, &d), 0);
	free(xml);
	assert_int_equal(hook_build_event(&a, &d, HOOK_XML_OK, &ev), 0);
	assert_string_equal(ev.domain, "guest-s1"); /* empty argument: XML name */
	assert_int_equal(ev.flags, WIRE_EV_HAS_UUID | WIRE_EV_HAS_MEMORY);
	assert_int_equal(ev.memory_kib, 262144);
	assert_int_equal(ev.uuid[0], 0xc7);
	assert_int_equal(ev.uuid[15], 0x09);
	assert_string_equal(ev.policy.name, "adaptive");

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

/* ---- domain XML ----------------------------------------------------------------------------- */

static void real_domain_xml(void **state)
{
	struct hook_domain d;
	size_t len;
	char *xml = read_file(HOOK_SRCDIR "/tests/hook/data/domain-2k.xml", &len);
	static const uint8_t uuid[16] = { 0xc7, 0xa5, 0xfd, 0xbd, 0xcd, 0xaf, 0x94, 0x55,
					  0x92, 0x6a, 0xd6, 0x5c, 0x16, 0xdb, 0x18, 0x09 };

	assert_true(len > 2000);
	assert_int_equal(hook_parse_domain_xml(xml, len, &d), 0);
	free(xml);
	assert_int_equal(d.flags, HOOK_DOM_HAS_NAME | HOOK_DOM_HAS_UUID | HOOK_DOM_HAS_MEMORY);
	assert_string_equal(d.name, "guest-s1");
	assert_memory_equal(d.uuid, uuid, 16);
	assert_int_equal(d.memory_kib, 262144);
	assert_int_equal(d.policy.present, WIRE_POL_NAME | WIRE_POL_SLA_DOWNTIME | WIRE_POL_ALLOW_POSTCOPY |
					   WIRE_POL_ALLOW_SUSPEND | WIRE_POL_BUDGET);
	assert_string_equal(d.policy.name, "adaptive");
	assert_int_equal(d.policy.sla_max_downtime_ms, 500);
	assert_int_equal(d.policy.allow_postcopy, 1);
	assert_int_equal(d.policy.allow_suspend, 0);
	assert_int_equal(d.policy.budget_s_per_gib, 60);
}

static void memory_units(void **state)
{
	static const struct {
		const char *value, *unit;
		uint64_t kib;
	} ok[] = {
		{ "262144", NULL, 262144 },
		{ " 262144\n", "KiB", 262144 },
		{ "1", "k", 1 },
		{ "256", "MiB", 262144 },
		{ "256", "M", 262144 },
		{ "256", "mib", 262144 },
		{ "2", "GiB", 2097152 },
		{ "1", "TiB", 1073741824ULL },
		{ "1", "PiB", 1099511627776ULL },
		{ "1", "EiB", 1125899906842624ULL },
		{ "1000", "KB", 977 },      /* 1 000 000 bytes = 976.56 KiB, rounded up */
		{ "1", "GB", 976563 },       /* 10^9 bytes */
		{ "1024", "b", 1 },
		{ "1025", "bytes", 2 },     /* rounded up like libvirt */
		{ "0", "KiB", 0 },
	};
	uint64_t kib;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (hook_parse_memory_kib(ok[i].value, ok[i].unit, &kib) != 0 || kib != ok[i].kib)
			fail_msg("'%s' '%s': expected %llu KiB", ok[i].value,
				 ok[i].unit ? ok[i].unit : "(none)", (unsigned long long)ok[i].kib);
	}
	assert_int_equal(hook_parse_memory_kib("16", "EiB", &kib), -ERANGE);
	assert_int_equal(hook_parse_memory_kib("99999999999999999999999", "b", &kib), -ERANGE);
	assert_int_equal(hook_parse_memory_kib("-1", NULL, &kib), -EINVAL);
	assert_int_equal(hook_parse_memory_kib("1.5", "GiB", &kib), -EINVAL);
	assert_int_equal(hook_parse_memory_kib("", NULL, &kib), -EINVAL);
	assert_int_equal(hook_parse_memory_kib("12", "furlongs", &kib), -EINVAL);
	assert_int_equal(hook_parse_memory_kib("12", "", &kib), -EINVAL);
	assert_int_equal(hook_parse_memory_kib("12", "KiBB", &kib), -EINVAL);
	assert_int_equal(hook_parse_memory_kib("0x10", NULL, &kib), -EINVAL);
}

static void uuids(void **state)
{
	uint8_t u[16], before[16];
	assert_int_equal(hook_parse_uuid("c7a5fdbd-cdaf-9455-926a-d65c16db1809", u), 0);
	assert_int_equal(u[0], 0xc7);
	assert_int_equal(u[15], 0x09);
	assert_int_equal(hook_parse_uuid(" C7A5FDBDCDAF9455926AD65C16DB1809 ", u), 0);
	assert_int_equal(u[1], 0xa5);
	memcpy(before, u, 16);
	assert_int_equal(hook_parse_uuid("c7a5fdbd-cdaf-9455-926a-d65c16db180", u), -EINVAL);
	assert_int_equal(hook_parse_uuid("c7a5fdbd-cdaf-9455-926a-d65c16db18090", u), -EINVAL);
	assert_int_equal(hook_parse_uuid("c7a5fdbd-cdaf-9455-926a-d65c16db180g", u), -EINVAL);
	assert_int_equal(hook_parse_uuid("-c7a5fdbdcdaf9455926ad65c16db1809", u), -EINVAL);
	assert_int_equal(hook_parse_uuid("c7a5fdbdcdaf9455926ad65c16db1809-", u), -EINVAL);
	assert_int_equal(hook_parse_uuid("c-7a5fdbdcdaf9455926ad65c16db1809", u), -EINVAL);
	assert_int_equal(hook_parse_uuid("", u), -EINVAL);
	assert_memory_equal(u, before, 16); /* untouched on failure */
}

static void policy_metadata(void **state)
{
	struct hook_domain d;

	/* Only some attributes; unknown ones ignored (forward compatible). */
	assert_int_equal(parse("<domain><metadata><m:policy xmlns:m='" HOOK_XMLNS "' "
			       "allow-suspend='yes' colour='blue'/></metadata></domain>", &d), 0);
	assert_int_equal(d.policy.present, WIRE_POL_ALLOW_SUSPEND);
	assert_int_equal(d.policy.allow_suspend, 1);
	assert_false(d.flags & HOOK_DOM_POLICY_BAD);

	/* Malformed values: dropped one by one and flagged; valid neighbours kept. */
	assert_int_equal(parse("<domain><metadata><migtune:policy " NS " name='a b' "
			       "sla-max-downtime-ms='-5' allow-postcopy='true' allow-suspend='no' "
			       "budget-s-per-gib='0'/></metadata></domain>", &d), 0);
	assert_int_equal(d.policy.present, WIRE_POL_ALLOW_SUSPEND);
	assert_true(d.flags & HOOK_DOM_POLICY_BAD);

	assert_int_equal(parse("<domain><metadata><migtune:policy " NS
			       " name='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' sla-max-downtime-ms='3600001'"
			       " budget-s-per-gib='99999999999999999999'/></metadata></domain>", &d), 0);
	assert_int_equal(d.policy.present, 0);
	assert_true(d.flags & HOOK_DOM_POLICY_BAD);

	/* Same local name in another namespace, or no namespace: not ours. */
	assert_int_equal(parse("<domain><metadata><x:policy xmlns:x='https://example.org/x' "
			       "name='evil'/><policy name='evil'/></metadata></domain>", &d), 0);
	assert_int_equal(d.policy.present, 0);
	assert_false(d.flags & HOOK_DOM_POLICY_BAD);

	/* The default-namespace spelling is the same namespace. */
	assert_int_equal(parse("<domain><metadata><policy xmlns='" HOOK_XMLNS "' name='nova'/>"
			       "</metadata></domain>", &d), 0);
	assert_int_equal(d.policy.present, WIRE_POL_NAME);
	assert_string_equal(d.policy.name, "nova");

	/* First policy wins; a policy outside <metadata> is ignored. */
	assert_int_equal(parse("<domain><migtune:policy " NS " name='outside'/><metadata>"
			       "<migtune:policy " NS " name='first'/><migtune:policy " NS
			       " name='second'/></metadata></domain>", &d), 0);
	assert_string_equal(d.policy.name, "first");
}

static void hostile_names(void **state)
{
	struct hook_domain d;
	char xml[2048];

	/* Entities and character references are plain data, never markup; an escape character is
	 * not even legal XML. */
	assert_int_equal(parse("<domain><name>a&lt;b&gt;&amp;&#10;&#9;c</name></domain>", &d), 0);
	assert_string_equal(d.name, "a<b>&\n\tc");
	assert_int_equal(parse("<domain><name>&#x1b;[31m</name></domain>", &d), -EBADMSG);

	/* An over-long name is dropped, not cut (libvirt's argument carries it anyway). */
	int n = snprintf(xml, sizeof(xml), "<domain><name>%0300d</name></domain>", 7);
	assert_true(n > 0 && (size_t)n < sizeof(xml));
	assert_int_equal(parse(xml, &d), 0);
	assert_false(d.flags & HOOK_DOM_HAS_NAME);

	/* Whitespace-only name, duplicated elements: the first counts. */
	assert_int_equal(parse("<domain><name>  </name><name>b</name>"
			       "<memory unit='GiB'>1</memory><memory>5</memory></domain>", &d), 0);
	assert_false(d.flags & HOOK_DOM_HAS_NAME);
	assert_int_equal(d.memory_kib, 1048576);

	/* A UTF-8 name passes through byte for byte. */
	assert_int_equal(parse("<domain><name>\xc3\xa9t\xc3\xa9</name></domain>", &d), 0);
	assert_string_equal(d.name, "\xc3\xa9t\xc3\xa9");
}

static void malformed_xml(void **state)
{
	struct hook_domain d, before;
	static const char *const bad[] = {
		"not xml at all",
		"<domain><name>x</name>",                       /* unterminated */
		"<domain><name>x</domain></name>",              /* misnested */
		"<vm><name>x</name></vm>",                      /* wrong root */
		"<x:domain xmlns:x='urn:x'><name>x</name></x:domain>", /* namespaced root */
		"<domain>\x01</domain>",                        /* invalid char */
		"<?xml version='1.0' encoding='bogus-charset'?><domain/>",
		"\xff\xfe<\0d\0",
		/* DTDs refused: entity amplification and external entities. */
		"<!DOCTYPE domain [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
		"<domain><name>&b;</name></domain>",
		"<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain><name>&x;</name>"
		"</domain>",
		"<!DOCTYPE domain SYSTEM 'http://127.0.0.1:1/x.dtd'><domain/>",
		"<domain><name>&undefined;</name></domain>",
	};
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&before, 0x5a, sizeof(before));
		len = strlen(bad[i]);
		if (i == 7)
			len = 6;
		char *p = malloc(len);
		assert_non_null(p);
		memcpy(p, bad[i], len);
		memcpy(&d, &before, sizeof(d));
		int r = hook_parse_domain_xml(p, len, &d);
		free(p);
		if (r != -EBADMSG)
			fail_msg("case %zu: expected -EBADMSG, got %d", i, r);
		assert_memory_equal(&d, &before, sizeof(d)); /* untouched */
	}
	assert_int_equal(hook_parse_domain_xml("", 0, &d), -ENODATA);
}

static void deep_and_huge_xml(void **state)
{
	struct hook_domain d;
	/* Nesting far deeper than libxml2's default limit: refused, not a stack overflow. */
	size_t depth = 100000, len = 0;
	char *p = malloc(depth * 7 + 64);
	assert_non_null(p);
	len += (size_t)sprintf(p, "<domain>");
	for (size_t i = 0; i < depth; i++)
		len += (size_t)sprintf(p + len, "<a>");
	assert_int_equal(hook_parse_domain_xml(p, len, &d), -EBADMSG);
	free(p);

	/* Exactly at the bound: parsed.  A big comment pads a valid document. */
	size_t size = HOOK_STDIN_KEEP_BYTES;
	p = malloc(size + 1);
	assert_non_null(p);
	const char *head = "<domain><name>big</name><!--", *tail = "--></domain>";
	memcpy(p, head, strlen(head));
	memset(p + strlen(head), 'x', size - strlen(head) - strlen(tail));
	memcpy(p + size - strlen(tail), tail, strlen(tail));
	assert_int_equal(hook_parse_domain_xml(p, size, &d), 0);
	assert_string_equal(d.name, "big");
	/* One byte more: refused without parsing. */
	assert_int_equal(hook_parse_domain_xml(p, size + 1, &d), -EFBIG);
	free(p);
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
		cmocka_unit_test(real_domain_xml),
		cmocka_unit_test(memory_units),
		cmocka_unit_test(uuids),
		cmocka_unit_test(policy_metadata),
		cmocka_unit_test(hostile_names),
		cmocka_unit_test(malformed_xml),
		cmocka_unit_test(deep_and_huge_xml),
		cmocka_unit_test(config_parsing),
		cmocka_unit_test(config_files),
		cmocka_unit_test(read_all_keeps_bound_and_drains),
	};
	return cmocka_run_group_tests_name("hook", tests, NULL, NULL);
}
