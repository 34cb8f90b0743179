/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xml.c — the few facts the hook needs from a libvirt domain XML: name, UUID, memory size and the
 * per-domain migtune policy from <metadata>.
 *
 * libvirt hands us the XML it generated, but the hook runs as root on whatever arrives on stdin, so
 * the parser is configured for hostile input: no network, no DTD loading, no entity substitution,
 * and any document that declares a DTD is refused outright (libvirt never writes one; a DTD is the
 * only way to get custom entities and their amplification).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "hook.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Trimmed view of s: [*ret_start, *ret_start + return value). */
static size_t trim(const char *s, const char **ret_start)
{
	size_t n = strlen(s);
	while (n && is_space(*s)) {
		s++;
		n--;
	}
	while (n && is_space(s[n - 1]))
		n--;
	*ret_start = s;
	return n;
}

static int parse_u64(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* libvirt's scaled-integer units: b/byte/bytes; k, M, G, T, P, E alone or with "iB" are powers of
 * 1024, with "B" powers of 1000; letters are case-insensitive. */
static int unit_scale(const char *unit, uint64_t *ret_scale)
{
	static const char prefixes[] = "kmgtpe";
	const char *u;
	size_t n = trim(unit, &u);

	if (n == 0)
		return -EINVAL;
	if ((n == 1 && lower(u[0]) == 'b') || (n == 4 && strncasecmp(u, "byte", 4) == 0) ||
	    (n == 5 && strncasecmp(u, "bytes", 5) == 0)) {
		*ret_scale = 1;
		return 0;
	}
	const char *p = strchr(prefixes, lower(u[0]));
	if (!p || !*p)
		return -EINVAL;
	uint64_t base;
	if (n == 1 || (n == 3 && strncasecmp(u + 1, "ib", 2) == 0))
		base = 1024;
	else if (n == 2 && lower(u[1]) == 'b')
		base = 1000;
	else
		return -EINVAL;
	uint64_t scale = 1;
	for (long i = 0; i <= p - prefixes; i++)
		scale *= base; /* at most 1024^6 = 2^60: no overflow */
	*ret_scale = scale;
	return 0;
}

int hook_parse_memory_kib(const char *value, const char *unit, uint64_t *ret_kib)
{
	const char *v;
	uint64_t n, scale = 1024;
	int r;

	if (!value || !ret_kib)
		return -EINVAL;
	size_t vlen = trim(value, &v);
	r = parse_u64(v, vlen, &n);
	if (r < 0)
		return r;
	if (unit) {
		r = unit_scale(unit, &scale);
		if (r < 0)
			return r;
	}
	if (scale && n > UINT64_MAX / scale)
		return -ERANGE;
	uint64_t bytes = n * scale;
	/* libvirt rounds memory sizes up to whole KiB. */
	*ret_kib = bytes / 1024 + (bytes % 1024 != 0);
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int hook_parse_uuid(const char *s, uint8_t ret_uuid[WIRE_UUID_BYTES])
{
	uint8_t out[WIRE_UUID_BYTES];
	const char *p;
	size_t n, i = 0, nibbles = 0;

	if (!s || !ret_uuid)
		return -EINVAL;
	n = trim(s, &p);
	while (i < n) {
		/* A dash may separate bytes, never split one. */
		if (p[i] == '-' && nibbles % 2 == 0 && nibbles > 0 && i + 1 < n) {
			i++;
			continue;
		}
		int h = hex_value(p[i]);
		if (h < 0 || nibbles == 2 * WIRE_UUID_BYTES)
			return -EINVAL;
		if (nibbles % 2 == 0)
			out[nibbles / 2] = (uint8_t)(h << 4);
		else
			out[nibbles / 2] |= (uint8_t)h;
		nibbles++;
		i++;
	}
	if (nibbles != 2 * WIRE_UUID_BYTES)
		return -EINVAL;
	memcpy(ret_uuid, out, WIRE_UUID_BYTES);
	return 0;
}

int hook_parse_policy_name(const char *s, char ret_name[WIRE_POLICY_NAME_MAX + 1])
{
	size_t n;

	if (!s)
		return -EINVAL;
	n = strlen(s);
	if (n == 0 || n > WIRE_POLICY_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return -EINVAL;
	}
	memcpy(ret_name, s, n + 1);
	return 0;
}

int hook_parse_bool(const char *s, uint8_t *ret)
{
	/* libvirt's own attributes are yes/no; accepting only those keeps the metadata uniform. */
	if (s && strcmp(s, "yes") == 0) {
		*ret = 1;
		return 0;
	}
	if (s && strcmp(s, "no") == 0) {
		*ret = 0;
		return 0;
	}
	return -EINVAL;
}

int hook_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
{
	const char *v;
	uint64_t n;

	if (!s)
		return -EINVAL;
	size_t vlen = trim(s, &v);
	if (parse_u64(v, vlen, &n) < 0 || n < min || n > max)
		return -EINVAL;
	*ret = (uint32_t)n;
	return 0;
}

static bool is_element(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL &&
	       strcmp((const char *)n->name, name) == 0;
}

/* Upper bounds on policy numbers: anything beyond is a typo, not a policy. */
#define SLA_DOWNTIME_MAX_MS 3600000U /* one hour */
#define BUDGET_MAX_S_PER_GIB 86400U

static void parse_policy(xmlNode *el, struct wire_policy *pol, uint32_t *flags)
{
	static const struct {
		const char *attr;
		uint32_t bit;
	} attrs[] = {
		{ "name", WIRE_POL_NAME },
		{ "sla-max-downtime-ms", WIRE_POL_SLA_DOWNTIME },
		{ "allow-postcopy", WIRE_POL_ALLOW_POSTCOPY },
		{ "allow-suspend", WIRE_POL_ALLOW_SUSPEND },
		{ "budget-s-per-gib", WIRE_POL_BUDGET },
	};

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		xmlChar *v = xmlGetNoNsProp(el, (const xmlChar *)attrs[i].attr);
		const char *s = (const char *)v;
		int r;

		if (!v)
			continue;
		switch (attrs[i].bit) {
		case WIRE_POL_NAME:
			r = hook_parse_policy_name(s, pol->name);
			break;
		case WIRE_POL_SLA_DOWNTIME:
			r = hook_parse_u32(s, 1, SLA_DOWNTIME_MAX_MS, &pol->sla_max_downtime_ms);
			break;
		case WIRE_POL_ALLOW_POSTCOPY:
			r = hook_parse_bool(s, &pol->allow_postcopy);
			break;
		case WIRE_POL_ALLOW_SUSPEND:
			r = hook_parse_bool(s, &pol->allow_suspend);
			break;
		default:
			r = hook_parse_u32(s, 1, BUDGET_MAX_S_PER_GIB, &pol->budget_s_per_gib);
			break;
		}
		xmlFree(v);
		if (r == 0)
			pol->present |= attrs[i].bit;
		else
			*flags |= HOOK_DOM_POLICY_BAD;
	}
}

static void parse_metadata(xmlNode *md, struct hook_domain *d)
{
	for (xmlNode *n = md->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || !n->ns || !n->ns->href)
			continue;
		if (strcmp((const char *)n->ns->href, HOOK_XMLNS) != 0)
			continue;
		if (strcmp((const char *)n->name, "policy") != 0)
			continue;
		parse_policy(n, &d->policy, &d->flags);
		return; /* the first policy element wins, as libvirt keeps one element per namespace */
	}
}

static void silent_error(void *ctx, const char *fmt, ...)
{
}

static void silent_structured_error(void *ctx, xmlErrorPtr err)
{
}

int hook_parse_domain_xml(const char *buf, size_t len, struct hook_domain *ret)
{
	struct hook_domain d;
	xmlDocPtr doc;
	xmlNode *root;
	bool seen_name = false, seen_uuid = false, seen_memory = false, seen_metadata = false;

	if (!buf || !ret)
		return -EINVAL;
	if (len == 0)
		return -ENODATA;
	if (len > HOOK_STDIN_KEEP_BYTES || len > INT_MAX)
		return -EFBIG;

	/* libxml2 prints parse errors on stderr by default; the hook reports one line itself. */
	xmlSetGenericErrorFunc(NULL, silent_error);
	xmlSetStructuredErrorFunc(NULL, silent_structured_error);

	doc = xmlReadMemory(buf, (int)len, "stdin", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -EBADMSG;
	if (doc->intSubset || doc->extSubset) {
		xmlFreeDoc(doc);
		return -EBADMSG;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !is_element(root, "domain")) {
		xmlFreeDoc(doc);
		return -EBADMSG;
	}

	memset(&d, 0, sizeof(d));
	for (xmlNode *n = root->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!seen_name && is_element(n, "name")) {
			xmlChar *s = xmlNodeGetContent(n);
			const char *t;
			size_t tl;
			seen_name = true;
			if (s && (tl = trim((const char *)s, &t)) > 0 && tl <= WIRE_DOMAIN_MAX) {
				memcpy(d.name, t, tl);
				d.name[tl] = '\0';
				d.flags |= HOOK_DOM_HAS_NAME;
			}
			xmlFree(s);
		} else if (!seen_uuid && is_element(n, "uuid")) {
			xmlChar *s = xmlNodeGetContent(n);
			seen_uuid = true;
			if (s && hook_parse_uuid((const char *)s, d.uuid) == 0)
				d.flags |= HOOK_DOM_HAS_UUID;
			xmlFree(s);
		} else if (!seen_memory && is_element(n, "memory")) {
			xmlChar *s = xmlNodeGetContent(n);
			xmlChar *unit = xmlGetNoNsProp(n, (const xmlChar *)"unit");
			seen_memory = true;
			if (s && hook_parse_memory_kib((const char *)s, (const char *)unit,
						       &d.memory_kib) == 0)
				d.flags |= HOOK_DOM_HAS_MEMORY;
			xmlFree(s);
			xmlFree(unit);
		} else if (!seen_metadata && is_element(n, "metadata")) {
			seen_metadata = true;
			parse_metadata(n, &d);
		}
	}
	xmlFreeDoc(doc);
	*ret = d;
	return 0;
}
