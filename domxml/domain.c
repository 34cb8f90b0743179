/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domain.c — the two readers on top of the bounded parse: the facts of a whole domain XML (the
 * hook) and the owner's <policy> element alone (the agent, from virDomainGetMetadata).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bound.h"

#define POLICY_NS_NAME DOMXML_NS " policy"

/* Text kept of <name>, <uuid> or <memory>: more than any valid value with its whitespace. */
#define TEXT_MAX 1023
#define UNIT_MAX 15

/* Every attribute of a policy element; the first malformed one is remembered for the log. */
static int read_policy(const char **atts, struct wire_policy *pol, struct domxml_bad_attr *bad)
{
	int rc = 0;

	for (; *atts; atts += 2) {
		if (domxml_policy_attr(pol, atts[0], atts[1]) != -EINVAL)
			continue; /* taken, or unknown (newer versions may add some) */
		if (rc == 0) {
			snprintf(bad->name, sizeof(bad->name), "%s", atts[0]);
			snprintf(bad->value, sizeof(bad->value), "%s", atts[1]);
		}
		rc = -EINVAL;
	}
	return rc;
}

/* ---- a whole domain -------------------------------------------------------------------------- */

enum field { FIELD_NONE, FIELD_NAME, FIELD_UUID, FIELD_MEMORY };

struct domain_ctx {
	struct domxml_domain d;
	enum field field;          /* the child of <domain> whose text is being kept */
	char text[TEXT_MAX + 1];
	size_t text_len;
	bool text_overflow;
	char unit[UNIT_MAX + 1];   /* <memory unit=...>, "" when absent */
	bool unit_bad;
	bool seen_name, seen_uuid, seen_memory, seen_metadata, in_metadata, seen_policy;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void keep_name(struct domain_ctx *c)
{
	const char *s = c->text;
	size_t n = c->text_len;

	while (n && is_space(*s)) {
		s++;
		n--;
	}
	while (n && is_space(s[n - 1]))
		n--;
	/* An over-long name is dropped, not cut: libvirt's argument carries the real one. */
	if (c->text_overflow || n == 0 || n > WIRE_DOMAIN_MAX)
		return;
	memcpy(c->d.name, s, n);
	c->d.name[n] = '\0';
	c->d.flags |= DOMXML_HAS_NAME;
}

static void field_done(struct domain_ctx *c)
{
	c->text[c->text_len] = '\0';
	switch (c->field) {
	case FIELD_NAME:
		keep_name(c);
		break;
	case FIELD_UUID:
		if (!c->text_overflow && domxml_parse_uuid(c->text, c->d.uuid) == 0)
			c->d.flags |= DOMXML_HAS_UUID;
		break;
	case FIELD_MEMORY:
		if (!c->text_overflow && !c->unit_bad &&
		    domxml_parse_memory_kib(c->text, c->unit[0] ? c->unit : NULL,
					    &c->d.memory_kib) == 0)
			c->d.flags |= DOMXML_HAS_MEMORY;
		break;
	case FIELD_NONE:
		break;
	}
	c->field = FIELD_NONE;
}

static void field_start(struct domain_ctx *c, enum field f, bool *seen)
{
	*seen = true; /* the first one counts, as libvirt writes one */
	c->field = f;
	c->text_len = 0;
	c->text_overflow = false;
}

static int domain_start(void *ctx, unsigned depth, const char *name, const char **atts)
{
	struct domain_ctx *c = ctx;

	if (depth == 1)
		return strcmp(name, "domain") == 0 ? 0 : -EBADMSG;
	if (depth == 2) {
		if (!c->seen_name && strcmp(name, "name") == 0) {
			field_start(c, FIELD_NAME, &c->seen_name);
		} else if (!c->seen_uuid && strcmp(name, "uuid") == 0) {
			field_start(c, FIELD_UUID, &c->seen_uuid);
		} else if (!c->seen_memory && strcmp(name, "memory") == 0) {
			field_start(c, FIELD_MEMORY, &c->seen_memory);
			for (const char **a = atts; *a; a += 2) {
				if (strcmp(a[0], "unit") != 0)
					continue;
				c->unit_bad = strlen(a[1]) > UNIT_MAX || a[1][0] == '\0';
				if (!c->unit_bad)
					strcpy(c->unit, a[1]);
			}
		} else if (!c->seen_metadata && strcmp(name, "metadata") == 0) {
			c->seen_metadata = true;
			c->in_metadata = true;
		}
	} else if (depth == 3 && c->in_metadata && !c->seen_policy &&
		   strcmp(name, POLICY_NS_NAME) == 0) {
		c->seen_policy = true; /* libvirt keeps one element per namespace: the first wins */
		if (read_policy(atts, &c->d.policy, &c->d.bad) < 0)
			c->d.flags |= DOMXML_POLICY_BAD;
	}
	return 0;
}

static void domain_text(void *ctx, unsigned depth, const char *s, size_t len)
{
	struct domain_ctx *c = ctx;

	if (c->field == FIELD_NONE || c->text_overflow)
		return;
	if (len > TEXT_MAX - c->text_len) {
		c->text_overflow = true;
		return;
	}
	memcpy(c->text + c->text_len, s, len);
	c->text_len += len;
}

static void domain_end(void *ctx, unsigned depth, const char *name)
{
	struct domain_ctx *c = ctx;

	if (depth != 2)
		return;
	if (c->field != FIELD_NONE)
		field_done(c);
	c->in_metadata = false;
}

int domxml_parse_domain(const char *buf, size_t len, struct domxml_domain *ret,
			struct domxml_work *ret_work)
{
	static const struct domxml_sax sax = {
		.start = domain_start, .text = domain_text, .end = domain_end,
	};
	struct domxml_work work;
	struct domain_ctx c;
	int r;

	if (!buf || !ret)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	r = domxml_run(buf, len, DOMXML_DOMAIN_MAX_BYTES, &sax, &c, &work);
	if (r == 0)
		*ret = c.d;
	if (ret_work)
		*ret_work = work;
	return r;
}

/* ---- the policy element alone --------------------------------------------------------------- */

struct policy_ctx {
	struct wire_policy pol;
	struct domxml_bad_attr bad;
	int rc;
};

static int policy_start(void *ctx, unsigned depth, const char *name, const char **atts)
{
	struct policy_ctx *c = ctx;

	if (depth > 1)
		return 0; /* children of <policy> mean nothing (yet) */
	if (strcmp(name, "policy") != 0 && strcmp(name, POLICY_NS_NAME) != 0)
		return -EBADMSG;
	c->rc = read_policy(atts, &c->pol, &c->bad);
	return 0;
}

int domxml_parse_policy(const char *buf, size_t len, struct wire_policy *ret,
			struct domxml_bad_attr *ret_bad, struct domxml_work *ret_work)
{
	static const struct domxml_sax sax = { .start = policy_start };
	struct policy_ctx c = { .rc = 0 };
	struct domxml_work work;
	int r;

	if (!buf || !ret)
		return -EINVAL;
	r = domxml_run(buf, len, DOMXML_POLICY_MAX_BYTES, &sax, &c, &work);
	if (r == 0)
		r = c.rc;
	if (r == 0 || r == -EINVAL)
		*ret = c.pol;
	else
		memset(ret, 0, sizeof(*ret));
	if (ret_bad)
		*ret_bad = c.bad;
	if (ret_work)
		*ret_work = work;
	return r;
}
