/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * values.c — the values of the few attributes and elements migtune reads from a domain XML:
 * libvirt's memory sizes and UUIDs, and the attributes of the owner's <migtune:policy>.  Pure
 * string functions, shared by the hook and the agent so that both accept exactly the same text.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "domxml.h"

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

int domxml_parse_memory_kib(const char *value, const char *unit, uint64_t *ret_kib)
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

int domxml_parse_uuid(const char *s, uint8_t ret_uuid[WIRE_UUID_BYTES])
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

static int parse_policy_name(const char *s, char ret_name[WIRE_POLICY_NAME_MAX + 1])
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

/* One of two words: word0 -> 0, word1 -> 1.  Exact and case-sensitive, as libvirt's own
 * yes/no attributes, so that every owner writes the metadata the same way. */
static int parse_choice(const char *s, const char *word0, const char *word1, uint8_t *ret)
{
	if (strcmp(s, word0) == 0)
		*ret = 0;
	else if (strcmp(s, word1) == 0)
		*ret = 1;
	else
		return -EINVAL;
	return 0;
}

int domxml_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
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


/* Upper bounds on policy numbers: anything beyond is a typo, not a policy. */
#define SLA_DOWNTIME_MAX_MS 3600000U /* one hour */
#define BUDGET_MAX_S_PER_GIB 86400U

enum attr_kind { ATTR_NAME, ATTR_U32, ATTR_CHOICE };

static const struct policy_attr {
	const char *name;
	uint32_t bit;
	enum attr_kind kind;
	uint32_t max;             /* ATTR_U32: 1..max */
	const char *words[2];     /* ATTR_CHOICE: the words for 0 and 1 */
	size_t offset;            /* of the field in struct wire_policy */
} policy_attrs[] = {
	{ "name", WIRE_POL_NAME, ATTR_NAME, 0, { NULL, NULL }, offsetof(struct wire_policy, name) },
	{ "sla-max-downtime-ms", WIRE_POL_SLA_DOWNTIME, ATTR_U32, SLA_DOWNTIME_MAX_MS,
	  { NULL, NULL }, offsetof(struct wire_policy, sla_max_downtime_ms) },
	{ "budget-s-per-gib", WIRE_POL_BUDGET, ATTR_U32, BUDGET_MAX_S_PER_GIB, { NULL, NULL },
	  offsetof(struct wire_policy, budget_s_per_gib) },
	{ "allow-postcopy", WIRE_POL_ALLOW_POSTCOPY, ATTR_CHOICE, 0, { "no", "yes" },
	  offsetof(struct wire_policy, allow_postcopy) },
	{ "allow-suspend", WIRE_POL_ALLOW_SUSPEND, ATTR_CHOICE, 0, { "no", "yes" },
	  offsetof(struct wire_policy, allow_suspend) },
	{ "allow-abort", WIRE_POL_ALLOW_ABORT, ATTR_CHOICE, 0, { "no", "yes" },
	  offsetof(struct wire_policy, allow_abort) },
	/* The words' order is the WIRE_ON_HOPELESS_* and WIRE_POSTCOPY_RECOVERY_* values. */
	{ "on-hopeless", WIRE_POL_ON_HOPELESS, ATTR_CHOICE, 0, { "park", "abort" },
	  offsetof(struct wire_policy, on_hopeless) },
	{ "postcopy-recovery", WIRE_POL_POSTCOPY_RECOVERY, ATTR_CHOICE, 0, { "off", "auto" },
	  offsetof(struct wire_policy, postcopy_recovery) },
};

int domxml_policy_attr(struct wire_policy *pol, const char *name, const char *value)
{
	if (!pol || !name || !value)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(policy_attrs) / sizeof(policy_attrs[0]); i++) {
		const struct policy_attr *a = &policy_attrs[i];
		char *field = (char *)pol + a->offset;
		int r;

		if (strcmp(name, a->name) != 0)
			continue;
		switch (a->kind) {
		case ATTR_NAME:
			r = parse_policy_name(value, field);
			break;
		case ATTR_U32: {
			uint32_t v;
			r = domxml_parse_u32(value, 1, a->max, &v);
			if (r == 0)
				memcpy(field, &v, sizeof(v));
			break;
		}
		default:
			r = parse_choice(value, a->words[0], a->words[1], (uint8_t *)field);
			break;
		}
		if (r == 0)
			pol->present |= a->bit;
		return r;
	}
	return -ENOENT;
}
