/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Loader for user schedules in RHV's MigrationPolicies JSON shape (json-c).  Parses a buffer; the
 * caller reads the file.  Every problem is reported as one line naming the policy and the field.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "policy.h"
#include "pure.h"

#define DOWNTIME_MAX_MS 3600000u     /* an hour: anything above is a typo */
#define STALLING_MAX    1000000u

struct jctx {
	char *err;
	size_t errlen;
	unsigned index;                  /* 1-based policy number in the input */
	const char *name;                /* once known */
};

__attribute__((format(__printf__, 2, 3)))
static int jfail(struct jctx *c, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->name)
		snprintf(c->err, c->errlen, "policy %u (\"%.60s\"): %s", c->index, c->name, what);
	else
		snprintf(c->err, c->errlen, "policy %u: %s", c->index, what);
	/* names and values come from the input: keep the message on one printable line */
	for (char *p = c->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

static const char *jtype(json_object *o)
{
	return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

/* A non-negative integer given as a JSON integer or as a decimal string ("150", as RHV writes). */
static int juint(json_object *o, uint32_t max, uint32_t *ret)
{
	if (json_object_is_type(o, json_type_int)) {
		int64_t v = json_object_get_int64(o);

		if (v < 0 || (uint64_t)v > max)
			return -ERANGE;
		*ret = (uint32_t)v;
		return 0;
	}
	if (json_object_is_type(o, json_type_string)) {
		const char *str = json_object_get_string(o);
		char *end;
		unsigned long long v;

		if (!*str || *str == '-' || *str == '+' || *str == ' ')
			return -EINVAL;
		errno = 0;
		v = strtoull(str, &end, 10);
		if (errno || *end)
			return -EINVAL;
		if (v > max)
			return -ERANGE;
		*ret = (uint32_t)v;
		return 0;
	}
	return -EINVAL;
}

static int parse_action(struct jctx *c, json_object *o, const char *where, bool initial,
                        struct sched_item *it)
{
	json_object *action, *params;
	const char *name;
	size_t nparams = 0;

	if (!json_object_is_type(o, json_type_object))
		return jfail(c, "%s: expected an object {\"action\": ..., \"params\": [...]}, got %s",
		             where, jtype(o));
	if (!json_object_object_get_ex(o, "action", &action) ||
	    !json_object_is_type(action, json_type_string))
		return jfail(c, "%s.action: missing or not a string", where);
	name = json_object_get_string(action);
	if (json_object_object_get_ex(o, "params", &params) && params) {
		if (!json_object_is_type(params, json_type_array))
			return jfail(c, "%s.params: expected an array, got %s", where, jtype(params));
		nparams = json_object_array_length(params);
	}
	if (!strcmp(name, "setDowntime")) {
		uint32_t ms;
		int r;

		if (nparams != 1)
			return jfail(c, "%s: setDowntime takes one parameter (milliseconds), got %zu",
			             where, nparams);
		r = juint(json_object_array_get_idx(params, 0), DOWNTIME_MAX_MS, &ms);
		if (r < 0 || ms == 0)
			return jfail(c, "%s.params[0]: downtime must be 1..%u ms, got %s", where,
			             DOWNTIME_MAX_MS, json_object_to_json_string(
			                     json_object_array_get_idx(params, 0)));
		it->action = SCHED_SET_DOWNTIME;
		it->downtime_ms = ms;
		return 0;
	}
	if (initial)
		return jfail(c, "%s: initialItems may only hold setDowntime, got \"%.32s\"", where, name);
	if (!strcmp(name, "postcopy") || !strcmp(name, "abort")) {
		if (nparams)
			return jfail(c, "%s: %s takes no parameters, got %zu", where, name, nparams);
		it->action = !strcmp(name, "abort") ? SCHED_ABORT : SCHED_POSTCOPY;
		return 0;
	}
	return jfail(c, "%s.action: unknown action \"%.32s\" (known: setDowntime, postcopy, abort)",
	             where, name);
}

static int parse_items(struct jctx *c, json_object *cfg, const char *key, bool convergence,
                       bool initial, struct sched_item *items, uint8_t *ret_n)
{
	json_object *arr;
	size_t n;

	if (!json_object_object_get_ex(cfg, key, &arr) || !arr) {
		*ret_n = 0;
		return 0;
	}
	if (!json_object_is_type(arr, json_type_array))
		return jfail(c, "config.%s: expected an array, got %s", key, jtype(arr));
	n = json_object_array_length(arr);
	if (n > SCHED_MAX_ITEMS)
		return jfail(c, "config.%s: %zu items, at most %u supported", key, n, SCHED_MAX_ITEMS);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		char where[64];
		int r;

		snprintf(where, sizeof(where), "config.%s[%zu]", key, i);
		memset(&items[i], 0, sizeof(items[i]));
		if (convergence) {
			json_object *lim, *item;
			char where2[80];

			if (!json_object_is_type(o, json_type_object))
				return jfail(c, "%s: expected an object, got %s", where, jtype(o));
			if (!json_object_object_get_ex(o, "stallingLimit", &lim))
				return jfail(c, "%s.stallingLimit: missing", where);
			r = juint(lim, STALLING_MAX, &items[i].stalling_limit);
			if (r < 0)
				return jfail(c, "%s.stallingLimit: expected an integer 0..%u, got %s", where,
				             STALLING_MAX, json_object_to_json_string(lim));
			if (!json_object_object_get_ex(o, "convergenceItem", &item))
				return jfail(c, "%s.convergenceItem: missing", where);
			snprintf(where2, sizeof(where2), "%s.convergenceItem", where);
			r = parse_action(c, item, where2, false, &items[i]);
		} else {
			r = parse_action(c, o, where, initial, &items[i]);
		}
		if (r < 0)
			return r;
	}
	*ret_n = (uint8_t)n;
	return 0;
}

static int parse_bool(struct jctx *c, json_object *o, const char *key, bool *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return jfail(c, "%s: expected true or false, got %s", key, jtype(v));
	*ret = json_object_get_boolean(v);
	return 0;
}

static int parse_policy(struct jctx *c, json_object *o, struct sched *ret)
{
	json_object *v, *cfg;
	struct sched s;
	int r;

	memset(&s, 0, sizeof(s));
	c->name = NULL;
	if (!json_object_is_type(o, json_type_object))
		return jfail(c, "expected a policy object, got %s", jtype(o));
	if (json_object_object_get_ex(o, "name", &v) && v) {
		if (!json_object_is_type(v, json_type_string))
			return jfail(c, "name: expected a string, got %s", jtype(v));
		if (strlen(json_object_get_string(v)) >= sizeof(s.name))
			return jfail(c, "name: longer than %zu characters", sizeof(s.name) - 1);
		for (const char *p = json_object_get_string(v); *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return jfail(c, "name: contains control characters");
		snprintf(s.name, sizeof(s.name), "%s", json_object_get_string(v));
		c->name = json_object_get_string(v);
	} else {
		snprintf(s.name, sizeof(s.name), "policy %u", c->index);
	}
	if (json_object_object_get_ex(o, "id", &v) && v) {
		json_object *u;

		if (!json_object_is_type(v, json_type_object) ||
		    !json_object_object_get_ex(v, "uuid", &u) ||
		    !json_object_is_type(u, json_type_string))
			return jfail(c, "id: expected {\"uuid\": \"...\"}");
		if (strlen(json_object_get_string(u)) >= sizeof(s.uuid))
			return jfail(c, "id.uuid: longer than %zu characters", sizeof(s.uuid) - 1);
		snprintf(s.uuid, sizeof(s.uuid), "%s", json_object_get_string(u));
	}
	if (json_object_object_get_ex(o, "maxMigrations", &v) && v) {
		if (juint(v, 1000, &s.max_migrations) < 0 || !json_object_is_type(v, json_type_int))
			return jfail(c, "maxMigrations: expected an integer 0..1000, got %s",
			             json_object_to_json_string(v));
	}
	if ((r = parse_bool(c, o, "autoConvergence", &s.auto_convergence)) < 0 ||
	    (r = parse_bool(c, o, "migrationCompression", &s.compression)) < 0)
		return r;
	if (!json_object_object_get_ex(o, "config", &cfg) || !cfg)
		return jfail(c, "config: missing (it holds initialItems, convergenceItems, lastItems)");
	if (!json_object_is_type(cfg, json_type_object))
		return jfail(c, "config: expected an object, got %s", jtype(cfg));
	if ((r = parse_items(c, cfg, "initialItems", false, true, s.initial, &s.ninitial)) < 0 ||
	    (r = parse_items(c, cfg, "convergenceItems", true, false, s.convergence,
	                     &s.nconvergence)) < 0 ||
	    (r = parse_items(c, cfg, "lastItems", false, false, s.last, &s.nlast)) < 0)
		return r;
	if (!s.ninitial && !s.nconvergence && !s.nlast)
		return jfail(c, "config: no initialItems, convergenceItems or lastItems: nothing to do");
	*ret = s;
	return 0;
}

static void line_col(const char *text, size_t pos, unsigned *ret_line, unsigned *ret_col)
{
	unsigned line = 1, col = 1;

	for (size_t i = 0; i < pos; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	*ret_line = line;
	*ret_col = col;
}

static size_t skip_ws(const char *t, size_t len, size_t pos, bool commas)
{
	while (pos < len && (t[pos] == ' ' || t[pos] == '\t' || t[pos] == '\n' || t[pos] == '\r' ||
	                     (commas && t[pos] == ',')))
		pos++;
	return pos;
}

int policy_json_load(const char *text, size_t len, struct policy *ret_policies, size_t max,
                     size_t *ret_n, char *err, size_t errlen)
{
	struct jctx c = { .err = err, .errlen = errlen };
	struct sched *tmp = NULL;
	size_t pos, n = 0, cap = max ? max : 1;
	bool opened = false;
	int r = 0;

	if (len > INT_MAX) {
		snprintf(err, errlen, "policy JSON: input too large (%zu bytes)", len);
		return -E2BIG;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "policy JSON: contains a NUL byte at offset %zu (not a text file?)",
		         (size_t)((const char *)memchr(text, '\0', len) - text));
		return -EINVAL;
	}
	tmp = calloc(cap, sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;

	pos = skip_ws(text, len, 0, false);
	if (pos < len && text[pos] == '[') {
		/* the array around the policies; its ']' may have been cut off */
		opened = true;
		pos++;
	}
	for (;;) {
		json_tokener *tok;
		json_object *o;
		enum json_tokener_error jerr;
		size_t used;

		pos = skip_ws(text, len, pos, true);
		if (pos >= len)
			break;
		if (text[pos] == ']') {
			/* closes the array: its '[' may have been cut off, or was seen above */
			(void)opened;
			pos = skip_ws(text, len, pos + 1, false);
			if (pos < len) {
				unsigned line, col;

				line_col(text, pos, &line, &col);
				snprintf(err, errlen, "policy JSON: unexpected text after ']' at line %u, "
				         "column %u", line, col);
				r = -EINVAL;
				goto out;
			}
			break;
		}
		if (text[pos] != '{') {
			unsigned line, col;

			line_col(text, pos, &line, &col);
			snprintf(err, errlen, "policy JSON: expected '{' starting a policy at line %u, "
			         "column %u, found '%c'", line, col,
			         (text[pos] >= 0x20 && text[pos] < 0x7f) ? text[pos] : '?');
			r = -EINVAL;
			goto out;
		}
		tok = json_tokener_new();
		if (!tok) {
			r = -ENOMEM;
			goto out;
		}
		o = json_tokener_parse_ex(tok, text + pos, (int)(len - pos));
		jerr = json_tokener_get_error(tok);
		used = json_tokener_get_parse_end(tok);
		json_tokener_free(tok);
		if (!o) {
			unsigned line, col;

			line_col(text, pos + used, &line, &col);
			snprintf(err, errlen, "policy JSON: %s at line %u, column %u",
			         jerr == json_tokener_continue ? "unexpected end of input (truncated?)"
			                                       : json_tokener_error_desc(jerr),
			         line, col);
			r = -EINVAL;
			goto out;
		}
		c.index = (unsigned)n + 1;
		if (n >= max) {
			json_object_put(o);
			snprintf(err, errlen, "policy JSON: more than %zu policies", max);
			r = -E2BIG;
			goto out;
		}
		r = parse_policy(&c, o, &tmp[n]);
		json_object_put(o);
		if (r < 0)
			goto out;
		n++;
		pos += used;
	}
	if (!n) {
		snprintf(err, errlen, "policy JSON: no policy found (expected {\"name\": ..., "
		         "\"config\": {...}})");
		r = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		policy_from_sched(&tmp[i], &ret_policies[i]);
	*ret_n = n;
	r = 0;
out:
	free(tmp);
	return r;
}
