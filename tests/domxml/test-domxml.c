/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for domxml: the domain XML facts the hook reads, the <policy> element the agent
 * reads, their values, and the bounds that keep a hostile document's cost linear.  The bounds are
 * asserted by counting work (bytes the pre-scan examined, bytes expat was given, its allocations),
 * never by the clock; bench-domxml times the same inputs.
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

#include "domxml/bound.h"
#include "domxml/domxml.h"
#include "tests/domxml/gen.h"

#define NS "xmlns:migtune='" DOMXML_NS "'"

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

static int parse(const char *xml, struct domxml_domain *d)
{
	/* Exact-size heap copy without a NUL: the parser must honour len, and ASan checks it. */
	size_t len = strlen(xml);
	char *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, xml, len);
	memset(d, 0x5a, sizeof(*d));
	int r = domxml_parse_domain(p, len, d, NULL);
	free(p);
	return r;
}

/* ---- domain XML ----------------------------------------------------------------------------- */

static void real_domain_xml(void **state)
{
	struct domxml_domain d;
	size_t len;
	char *xml = read_file(DOMXML_SRCDIR "/tests/hook/data/domain-2k.xml", &len);
	static const uint8_t uuid[16] = { 0xc7, 0xa5, 0xfd, 0xbd, 0xcd, 0xaf, 0x94, 0x55,
					  0x92, 0x6a, 0xd6, 0x5c, 0x16, 0xdb, 0x18, 0x09 };

	assert_true(len > 2000);
	assert_int_equal(domxml_parse_domain(xml, len, &d, NULL), 0);
	free(xml);
	assert_int_equal(d.flags, DOMXML_HAS_NAME | DOMXML_HAS_UUID | DOMXML_HAS_MEMORY);
	assert_string_equal(d.name, "guest-s1");
	assert_memory_equal(d.uuid, uuid, 16);
	assert_int_equal(d.memory_kib, 262144);
	assert_int_equal(d.policy.present, WIRE_POL_KNOWN);
	assert_string_equal(d.policy.name, "adaptive");
	assert_int_equal(d.policy.sla_max_downtime_ms, 500);
	assert_int_equal(d.policy.allow_postcopy, 1);
	assert_int_equal(d.policy.allow_suspend, 0);
	assert_int_equal(d.policy.budget_s_per_gib, 60);
	assert_int_equal(d.policy.on_hopeless, WIRE_ON_HOPELESS_ABORT);
	assert_int_equal(d.policy.allow_abort, 1);
	assert_int_equal(d.policy.postcopy_recovery, WIRE_POSTCOPY_RECOVERY_AUTO);
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
		if (domxml_parse_memory_kib(ok[i].value, ok[i].unit, &kib) != 0 || kib != ok[i].kib)
			fail_msg("'%s' '%s': expected %llu KiB", ok[i].value,
				 ok[i].unit ? ok[i].unit : "(none)", (unsigned long long)ok[i].kib);
	}
	assert_int_equal(domxml_parse_memory_kib("16", "EiB", &kib), -ERANGE);
	assert_int_equal(domxml_parse_memory_kib("99999999999999999999999", "b", &kib), -ERANGE);
	assert_int_equal(domxml_parse_memory_kib("-1", NULL, &kib), -EINVAL);
	assert_int_equal(domxml_parse_memory_kib("1.5", "GiB", &kib), -EINVAL);
	assert_int_equal(domxml_parse_memory_kib("", NULL, &kib), -EINVAL);
	assert_int_equal(domxml_parse_memory_kib("12", "furlongs", &kib), -EINVAL);
	assert_int_equal(domxml_parse_memory_kib("12", "", &kib), -EINVAL);
	assert_int_equal(domxml_parse_memory_kib("12", "KiBB", &kib), -EINVAL);
	assert_int_equal(domxml_parse_memory_kib("0x10", NULL, &kib), -EINVAL);
}

static void uuids(void **state)
{
	uint8_t u[16], before[16];
	assert_int_equal(domxml_parse_uuid("c7a5fdbd-cdaf-9455-926a-d65c16db1809", u), 0);
	assert_int_equal(u[0], 0xc7);
	assert_int_equal(u[15], 0x09);
	assert_int_equal(domxml_parse_uuid(" C7A5FDBDCDAF9455926AD65C16DB1809 ", u), 0);
	assert_int_equal(u[1], 0xa5);
	memcpy(before, u, 16);
	assert_int_equal(domxml_parse_uuid("c7a5fdbd-cdaf-9455-926a-d65c16db180", u), -EINVAL);
	assert_int_equal(domxml_parse_uuid("c7a5fdbd-cdaf-9455-926a-d65c16db18090", u), -EINVAL);
	assert_int_equal(domxml_parse_uuid("c7a5fdbd-cdaf-9455-926a-d65c16db180g", u), -EINVAL);
	assert_int_equal(domxml_parse_uuid("-c7a5fdbdcdaf9455926ad65c16db1809", u), -EINVAL);
	assert_int_equal(domxml_parse_uuid("c7a5fdbdcdaf9455926ad65c16db1809-", u), -EINVAL);
	assert_int_equal(domxml_parse_uuid("c-7a5fdbdcdaf9455926ad65c16db1809", u), -EINVAL);
	assert_int_equal(domxml_parse_uuid("", u), -EINVAL);
	assert_memory_equal(u, before, 16); /* untouched on failure */
}

static void policy_metadata(void **state)
{
	struct domxml_domain d;

	/* Only some attributes; unknown ones ignored (forward compatible). */
	assert_int_equal(parse("<domain><metadata><m:policy xmlns:m='" DOMXML_NS "' "
			       "allow-suspend='yes' colour='blue'/></metadata></domain>", &d), 0);
	assert_int_equal(d.policy.present, WIRE_POL_ALLOW_SUSPEND);
	assert_int_equal(d.policy.allow_suspend, 1);
	assert_false(d.flags & DOMXML_POLICY_BAD);

	/* Malformed values: dropped one by one and flagged; valid neighbours kept. */
	assert_int_equal(parse("<domain><metadata><migtune:policy " NS " name='a b' "
			       "sla-max-downtime-ms='-5' allow-postcopy='true' allow-suspend='no' "
			       "budget-s-per-gib='0'/></metadata></domain>", &d), 0);
	assert_int_equal(d.policy.present, WIRE_POL_ALLOW_SUSPEND);
	assert_true(d.flags & DOMXML_POLICY_BAD);

	assert_int_equal(parse("<domain><metadata><migtune:policy " NS
			       " name='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' sla-max-downtime-ms='3600001'"
			       " budget-s-per-gib='99999999999999999999'/></metadata></domain>", &d), 0);
	assert_int_equal(d.policy.present, 0);
	assert_true(d.flags & DOMXML_POLICY_BAD);

	/* Same local name in another namespace, or no namespace: not ours. */
	assert_int_equal(parse("<domain><metadata><x:policy xmlns:x='https://example.org/x' "
			       "name='evil'/><policy name='evil'/></metadata></domain>", &d), 0);
	assert_int_equal(d.policy.present, 0);
	assert_false(d.flags & DOMXML_POLICY_BAD);

	/* The default-namespace spelling is the same namespace. */
	assert_int_equal(parse("<domain><metadata><policy xmlns='" DOMXML_NS "' name='nova'/>"
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
	struct domxml_domain d;
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
	assert_false(d.flags & DOMXML_HAS_NAME);

	/* Whitespace-only name, duplicated elements: the first counts. */
	assert_int_equal(parse("<domain><name>  </name><name>b</name>"
			       "<memory unit='GiB'>1</memory><memory>5</memory></domain>", &d), 0);
	assert_false(d.flags & DOMXML_HAS_NAME);
	assert_int_equal(d.memory_kib, 1048576);

	/* A UTF-8 name passes through byte for byte. */
	assert_int_equal(parse("<domain><name>\xc3\xa9t\xc3\xa9</name></domain>", &d), 0);
	assert_string_equal(d.name, "\xc3\xa9t\xc3\xa9");
}

static void malformed_xml(void **state)
{
	struct domxml_domain d, before;
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
		int r = domxml_parse_domain(p, len, &d, NULL);
		free(p);
		if (r != -EBADMSG)
			fail_msg("case %zu: expected -EBADMSG, got %d", i, r);
		assert_memory_equal(&d, &before, sizeof(d)); /* untouched */
	}
	assert_int_equal(domxml_parse_domain("", 0, &d, NULL), -ENODATA);
}

static void policy_owner_choices(void **state)
{
	struct domxml_domain d;

	/* The owner's abort and recovery choices, both spellings of each. */
	assert_int_equal(parse("<domain><metadata><migtune:policy " NS " on-hopeless='abort' "
			       "allow-abort='no' postcopy-recovery='auto'/></metadata></domain>", &d), 0);
	assert_int_equal(d.policy.present, WIRE_POL_ON_HOPELESS | WIRE_POL_ALLOW_ABORT |
					   WIRE_POL_POSTCOPY_RECOVERY);
	assert_int_equal(d.policy.on_hopeless, WIRE_ON_HOPELESS_ABORT);
	assert_int_equal(d.policy.allow_abort, 0);
	assert_int_equal(d.policy.postcopy_recovery, WIRE_POSTCOPY_RECOVERY_AUTO);
	assert_false(d.flags & DOMXML_POLICY_BAD);

	assert_int_equal(parse("<domain><metadata><migtune:policy " NS " on-hopeless='park' "
			       "allow-abort='yes' postcopy-recovery='off'/></metadata></domain>", &d), 0);
	assert_int_equal(d.policy.on_hopeless, WIRE_ON_HOPELESS_PARK);
	assert_int_equal(d.policy.allow_abort, 1);
	assert_int_equal(d.policy.postcopy_recovery, WIRE_POSTCOPY_RECOVERY_OFF);
	assert_int_equal(d.policy.present, WIRE_POL_ON_HOPELESS | WIRE_POL_ALLOW_ABORT |
					   WIRE_POL_POSTCOPY_RECOVERY);

	/* Other words, other cases: dropped one by one, the first named for the log. */
	assert_int_equal(parse("<domain><metadata><migtune:policy " NS " on-hopeless='Park' "
			       "allow-abort='true' postcopy-recovery='on' name='ok'/></metadata>"
			       "</domain>", &d), 0);
	assert_int_equal(d.policy.present, WIRE_POL_NAME);
	assert_true(d.flags & DOMXML_POLICY_BAD);
	assert_string_equal(d.bad.name, "on-hopeless");
	assert_string_equal(d.bad.value, "Park");
}

static void policy_attr_values(void **state)
{
	struct wire_policy p, before;

	memset(&p, 0, sizeof(p));
	assert_int_equal(domxml_policy_attr(&p, "sla-max-downtime-ms", " 3600000 "), 0);
	assert_int_equal(p.sla_max_downtime_ms, 3600000);
	assert_int_equal(domxml_policy_attr(&p, "budget-s-per-gib", "86400"), 0);
	assert_int_equal(p.budget_s_per_gib, 86400);
	assert_int_equal(p.present, WIRE_POL_SLA_DOWNTIME | WIRE_POL_BUDGET);
	before = p;
	assert_int_equal(domxml_policy_attr(&p, "sla-max-downtime-ms", "3600001"), -EINVAL);
	assert_int_equal(domxml_policy_attr(&p, "budget-s-per-gib", "0"), -EINVAL);
	assert_int_equal(domxml_policy_attr(&p, "allow-abort", ""), -EINVAL);
	assert_int_equal(domxml_policy_attr(&p, "postcopy-recovery", "auto "), -EINVAL);
	assert_int_equal(domxml_policy_attr(&p, "name", "has space"), -EINVAL);
	assert_memory_equal(&p, &before, sizeof(p)); /* untouched by every refusal */
	assert_int_equal(domxml_policy_attr(&p, "colour", "blue"), -ENOENT);
	assert_int_equal(domxml_policy_attr(&p, "name", "rhv-minimal"), 0);
	assert_string_equal(p.name, "rhv-minimal");
}

/* ---- the agent's reader: the element virDomainGetMetadata returns ---------------------------- */

static void policy_element(void **state)
{
	struct wire_policy p;
	struct domxml_bad_attr bad;

	/* As libvirt returns it: the element without its namespace declaration. */
	assert_int_equal(domxml_parse_policy("<policy name='adaptive' allow-abort='no' "
					     "on-hopeless='abort'/>", 62, &p, &bad, NULL), 0);
	assert_string_equal(p.name, "adaptive");
	assert_int_equal(p.present, WIRE_POL_NAME | WIRE_POL_ALLOW_ABORT | WIRE_POL_ON_HOPELESS);

	static const char ns[] = "<m:policy xmlns:m='" DOMXML_NS "' postcopy-recovery='auto'>"
				 "<child x='1'/></m:policy>";
	assert_int_equal(domxml_parse_policy(ns, strlen(ns), &p, &bad, NULL), 0);
	assert_int_equal(p.present, WIRE_POL_POSTCOPY_RECOVERY);
	assert_int_equal(p.postcopy_recovery, WIRE_POSTCOPY_RECOVERY_AUTO);

	/* A bad value: the others still apply, the first bad one is named. */
	static const char half[] = "<policy sla-max-downtime-ms='lots' allow-suspend='yes' "
				   "allow-abort='maybe'/>";
	assert_int_equal(domxml_parse_policy(half, strlen(half), &p, &bad, NULL), -EINVAL);
	assert_int_equal(p.present, WIRE_POL_ALLOW_SUSPEND);
	assert_string_equal(bad.name, "sla-max-downtime-ms");
	assert_string_equal(bad.value, "lots");

	/* Not our element: refused, nothing kept. */
	static const char *const other[] = {
		"<policy xmlns='urn:other' name='x'/>", "<other name='x'/>", "<migtune:policy",
		"<policy name='x'/><policy/>", "<!DOCTYPE policy><policy/>",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		if (domxml_parse_policy(other[i], strlen(other[i]), &p, &bad, NULL) != -EBADMSG)
			fail_msg("'%s' was not refused", other[i]);
		assert_int_equal(p.present, 0);
	}
	assert_int_equal(domxml_parse_policy("", 0, &p, &bad, NULL), -ENODATA);

	/* Above its own, smaller, size bound: refused without a look. */
	size_t big = DOMXML_POLICY_MAX_BYTES + 1;
	char *b = malloc(big);
	struct domxml_work w;
	assert_non_null(b);
	memset(b, ' ', big);
	memcpy(b, "<policy/>", 9);
	assert_int_equal(domxml_parse_policy(b, big, &p, &bad, &w), -EFBIG);
	assert_int_equal(w.limit, DOMXML_LIMIT_SIZE);
	assert_int_equal(w.scanned_bytes + w.parsed_bytes, 0);
	assert_int_equal(domxml_parse_policy(b, big - 1, &p, &bad, &w), 0);
	free(b);
}

/* ---- bounds: hostile documents cost what the bounds allow, counted --------------------------- */

/* Every bound reached at once. */
static struct doc worst_accepted(size_t size)
{
	return doc_bounded(size, DOMXML_MAX_ATTRS_TOTAL, DOMXML_MAX_ELEMENTS);
}

static void bound_attributes(void **state)
{
	struct domxml_domain dom;
	struct domxml_work w;

	struct doc d = doc_many_attributes(60000, "a", "");
	assert_true(d.len > 600000 && d.len <= DOMXML_DOMAIN_MAX_BYTES);
	assert_int_equal(domxml_parse_domain(d.p, d.len, &dom, &w), -E2BIG);
	assert_int_equal(w.limit, DOMXML_LIMIT_ATTRS);
	/* Refused at the 65th attribute: the bytes before it were examined, none after, and the
	 * XML library never saw the document. */
	const char *at65 = strstr(d.p, " a64=");
	assert_non_null(at65);
	assert_true(w.scanned_bytes > (size_t)(at65 - d.p));
	assert_true(w.scanned_bytes < (size_t)(at65 - d.p) + 16);
	assert_int_equal(w.parsed_bytes, 0);
	assert_int_equal(w.allocations, 0);
	free(d.p);

	/* Namespace declarations are attributes too (libxml2 also searched those linearly). */
	d = doc_many_attributes(40000, "xmlns:p", "urn:");
	assert_int_equal(domxml_parse_domain(d.p, d.len, &dom, &w), -E2BIG);
	assert_int_equal(w.limit, DOMXML_LIMIT_ATTRS);
	assert_true(w.scanned_bytes < 2000);
	free(d.p);

	/* Exactly at the bound: parsed, every attribute reported once. */
	d = doc_many_attributes(DOMXML_MAX_ATTRS, "a", "");
	assert_int_equal(domxml_parse_domain(d.p, d.len, &dom, &w), 0);
	assert_int_equal(w.attributes, DOMXML_MAX_ATTRS);
	assert_int_equal(w.parser_max_attrs, DOMXML_MAX_ATTRS);
	assert_int_equal(w.scanned_bytes, d.len);
	assert_int_equal(w.parsed_bytes, d.len);
	free(d.p);
	d = doc_many_attributes(DOMXML_MAX_ATTRS + 1, "a", "");
	assert_int_equal(domxml_parse_domain(d.p, d.len, &dom, &w), -E2BIG);
	free(d.p);

	/* One more attribute, or one more element, than the document may hold. */
	d = doc_bounded(DOMXML_DOMAIN_MAX_BYTES, DOMXML_MAX_ATTRS_TOTAL + 1, DOMXML_MAX_ELEMENTS);
	assert_int_equal(domxml_parse_domain(d.p, d.len, &dom, &w), -E2BIG);
	assert_int_equal(w.limit, DOMXML_LIMIT_ATTRS_TOTAL);
	assert_int_equal(w.parsed_bytes, 0);
	free(d.p);
	d = doc_bounded(DOMXML_DOMAIN_MAX_BYTES, DOMXML_MAX_ATTRS_TOTAL, DOMXML_MAX_ELEMENTS + 1);
	assert_int_equal(domxml_parse_domain(d.p, d.len, &dom, &w), -E2BIG);
	assert_int_equal(w.limit, DOMXML_LIMIT_ELEMENTS);
	/* Refused at the last element's '<': nothing after it was examined. */
	const char *last = strstr(d.p, "/>xxx");
	assert_non_null(last);
	while (*last != '<')
		last--;
	assert_int_equal(w.scanned_bytes, (size_t)(last + 1 - d.p));
	free(d.p);
}

static void bound_depth(void **state)
{
	struct domxml_domain dom;
	struct domxml_work w;
	/* 100000 open elements (700 KB): refused at level 65, after ~200 bytes. */
	struct doc d = doc_nested(100000);
	assert_int_equal(domxml_parse_domain(d.p, d.len, &dom, &w), -E2BIG);
	assert_int_equal(w.limit, DOMXML_LIMIT_DEPTH);
	assert_int_equal(w.max_depth, DOMXML_MAX_DEPTH);
	assert_true(w.scanned_bytes <= 8 + 3 * DOMXML_MAX_DEPTH);
	assert_int_equal(w.parsed_bytes, 0);
	free(d.p);

	/* 64 levels, the deepest ones siblings and empty elements that do not nest: parsed. */
	d = (struct doc){ 0 };
	doc_put(&d, "<domain>");
	for (int i = 2; i < DOMXML_MAX_DEPTH; i++)
		doc_put(&d, "<a>");
	for (int i = 0; i < 1000; i++)
		doc_put(&d, "<e/><e x='/'/><f></f>");
	for (int i = 2; i < DOMXML_MAX_DEPTH; i++)
		doc_put(&d, "</a>");
	doc_put(&d, "<name>deep</name></domain>");
	assert_int_equal(domxml_parse_domain(d.p, d.len, &dom, &w), 0);
	assert_int_equal(w.max_depth, DOMXML_MAX_DEPTH);
	assert_int_equal(w.parser_max_depth, DOMXML_MAX_DEPTH);
	assert_int_equal(w.elements, 1 + (DOMXML_MAX_DEPTH - 2) + 3000 + 1);
	assert_string_equal(dom.name, "deep");
	free(d.p);
}

static void bound_size_and_memory(void **state)
{
	struct domxml_domain dom;
	struct domxml_work w;

	/* Exactly at the bound: parsed, each byte examined once by the pre-scan. */
	size_t size = DOMXML_DOMAIN_MAX_BYTES;
	char *p = malloc(size + 1);
	assert_non_null(p);
	const char *head = "<domain><name>big</name><!--", *tail = "--></domain>";
	memcpy(p, head, strlen(head));
	memset(p + strlen(head), 'x', size - strlen(head) - strlen(tail));
	memcpy(p + size - strlen(tail), tail, strlen(tail));
	assert_int_equal(domxml_parse_domain(p, size, &dom, &w), 0);
	assert_string_equal(dom.name, "big");
	assert_int_equal(w.scanned_bytes, size);
	assert_true(w.mem_peak_bytes <= w.mem_budget_bytes);
	/* One byte more: refused without a look. */
	assert_int_equal(domxml_parse_domain(p, size + 1, &dom, &w), -EFBIG);
	assert_int_equal(w.limit, DOMXML_LIMIT_SIZE);
	assert_int_equal(w.scanned_bytes + w.parsed_bytes + w.allocations, 0);
	free(p);

	/* The most an accepted document can hold: every bound reached at once.  Memory stays well
	 * within the budget. */
	struct doc d = worst_accepted(DOMXML_DOMAIN_MAX_BYTES);
	assert_int_equal(d.len, DOMXML_DOMAIN_MAX_BYTES);
	assert_int_equal(domxml_parse_domain(d.p, d.len, &dom, &w), 0);
	assert_int_equal(w.elements, DOMXML_MAX_ELEMENTS);
	assert_int_equal(w.attributes, DOMXML_MAX_ATTRS_TOTAL);
	assert_int_equal(w.scanned_bytes, d.len);
	assert_int_equal(w.mem_budget_bytes, DOMXML_MEM_BASE + DOMXML_MEM_FACTOR * d.len);
	assert_true(w.mem_peak_bytes <= w.mem_budget_bytes / 2);
	free(d.p);

	/* A real domain needs a small part of its budget. */
	size_t len;
	char *xml = read_file(DOMXML_SRCDIR "/tests/hook/data/domain-2k.xml", &len);
	assert_int_equal(domxml_parse_domain(xml, len, &dom, &w), 0);
	assert_true(w.mem_peak_bytes < w.mem_budget_bytes / 2);
	assert_int_equal(w.scanned_bytes, len);
	free(xml);
}

static void prescan_reads_markup_not_text(void **state)
{
	struct domxml_domain dom;
	struct domxml_work w;
	struct doc d = { 0 };

	/* '=' and '<' in comments, CDATA, processing instructions and text, '=', '>' and '/' in
	 * quoted values are no attributes and no elements: 5000 of each, and the document passes. */
	doc_put(&d, "<?xml version='1.0'?><domain><name>t</name><x q='a=b>c/' r=\"=>\">");
	for (int i = 0; i < 5000; i++)
		doc_put(&d, "<!-- <a b='1' c=2> --><![CDATA[<a b=1 c=2>]]><?pi a=b c=d?>x=y&gt;");
	doc_put(&d, "</x></domain>");
	assert_int_equal(domxml_parse_domain(d.p, d.len, &dom, &w), 0);
	assert_int_equal(w.elements, 3);
	assert_int_equal(w.attributes, 2);
	assert_int_equal(w.max_depth, 2);
	assert_string_equal(dom.name, "t");
	free(d.p);

	/* Only 8-bit encodings reach expat, so the bytes the pre-scan reads are its characters. */
	static const char utf16le[] = "\xff\xfe<\0d\0/\0>\0", bare16[] = "<\0d\0/\0>\0",
			  latin1[] = "<?xml version='1.0' encoding='ISO-8859-1'?><domain>"
				     "<name>caf\xe9</name></domain>",
			  liar[] = "<?xml version='1.0' encoding='UTF-16'?><domain/>";
	assert_int_equal(domxml_parse_domain(utf16le, sizeof(utf16le) - 1, &dom, &w), -EBADMSG);
	assert_int_equal(w.parsed_bytes, 0);
	assert_int_equal(domxml_parse_domain(bare16, sizeof(bare16) - 1, &dom, &w), -EBADMSG);
	assert_int_equal(w.parsed_bytes, 0);
	assert_int_equal(domxml_parse_domain(latin1, sizeof(latin1) - 1, &dom, &w), 0);
	assert_string_equal(dom.name, "caf\xc3\xa9"); /* expat hands out UTF-8 */
	assert_int_equal(domxml_parse_domain(liar, sizeof(liar) - 1, &dom, &w), -EBADMSG);

	/* A DTD anywhere is refused before the XML library sees it. */
	static const char dtd[] = "<domain><!-- fine --></domain><!DOCTYPE x>";
	memset(&w, 0, sizeof(w));
	assert_int_equal(domxml_prescan(dtd, strlen(dtd), &w), -EBADMSG);
	assert_int_equal(domxml_parse_domain(dtd, strlen(dtd), &dom, &w), -EBADMSG);
	assert_int_equal(w.parsed_bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_domain_xml),
		cmocka_unit_test(memory_units),
		cmocka_unit_test(uuids),
		cmocka_unit_test(policy_metadata),
		cmocka_unit_test(policy_owner_choices),
		cmocka_unit_test(policy_attr_values),
		cmocka_unit_test(hostile_names),
		cmocka_unit_test(malformed_xml),
		cmocka_unit_test(policy_element),
		cmocka_unit_test(bound_attributes),
		cmocka_unit_test(bound_depth),
		cmocka_unit_test(bound_size_and_memory),
		cmocka_unit_test(prescan_reads_markup_not_text),
	};
	return cmocka_run_group_tests_name("domxml", tests, NULL, NULL);
}
