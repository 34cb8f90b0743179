/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bound.c — the bounded parse behind every domxml reader: a pre-scan that refuses what is too
 * deep or has too many attributes before any parser sees it, then one expat pass whose memory is
 * charged to a budget.
 *
 * Why a pre-scan when expat is linear: the bound must not depend on the library's internals
 * (libxml2 2.9's duplicate-attribute check is quadratic; a future expat may have its own
 * surprise), and a refusal should cost the bytes up to the offending element, not the whole
 * document.  The pre-scan only needs to know where tags, quotes, comments, CDATA sections and
 * processing instructions start and end; it judges nothing else and lets expat find every
 * well-formedness error.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "bound.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *domxml_limit_text(enum domxml_limit limit)
{
	switch (limit) {
	case DOMXML_LIMIT_NONE:
		return "";
	case DOMXML_LIMIT_SIZE:
		return "larger than the reader takes";
	case DOMXML_LIMIT_DEPTH:
		return "elements nested more than " STR(DOMXML_MAX_DEPTH) " deep";
	case DOMXML_LIMIT_ATTRS:
		return "an element with more than " STR(DOMXML_MAX_ATTRS) " attributes";
	case DOMXML_LIMIT_ELEMENTS:
		return "more than " STR(DOMXML_MAX_ELEMENTS) " elements";
	case DOMXML_LIMIT_ATTRS_TOTAL:
		return "more than " STR(DOMXML_MAX_ATTRS_TOTAL) " attributes in all";
	case DOMXML_LIMIT_MEMORY:
		return "the parser would need more than " STR(DOMXML_MEM_FACTOR) " bytes of memory per input byte";
	}
	return "unknown bound";
}

/* ---- pre-scan --------------------------------------------------------------------------------- */

/* Index just past the first occurrence of term in buf[from..len), or len when there is none
 * (expat then reports the unterminated construct). */
static size_t skip_past(const char *buf, size_t len, size_t from, const char *term)
{
	size_t tl = strlen(term);
	const char *p = memmem(buf + from, len - from, term, tl);
	return p ? (size_t)(p - buf) + tl : len;
}

static bool starts(const char *buf, size_t len, size_t at, const char *s)
{
	size_t n = strlen(s);
	return n <= len - at && memcmp(buf + at, s, n) == 0;
}

static int refuse(struct domxml_work *work, size_t at, enum domxml_limit limit)
{
	work->scanned_bytes = at;
	work->limit = limit;
	return -E2BIG;
}

/* A UTF-16 or UTF-32 document, which expat would decode: every ASCII character of it has NUL
 * bytes, so its start shows it (XML 1.0 appendix F).  Refused, so that the bytes this pre-scan
 * reads are the characters expat reads.  A NUL byte later on is expat's error to find. */
static bool wide_encoding(const unsigned char *b, size_t len)
{
	if (len >= 2 && ((b[0] == 0xfe && b[1] == 0xff) || (b[0] == 0xff && b[1] == 0xfe)))
		return true;
	return memchr(b, '\0', len < 4 ? len : 4) != NULL;
}

int domxml_prescan(const char *buf, size_t len, struct domxml_work *work)
{
	size_t i = 0;
	unsigned depth = 0, elements = 0, attrs_total = 0;

	if (wide_encoding((const unsigned char *)buf, len))
		return -EBADMSG;
	while (i < len) {
		const char *lt = memchr(buf + i, '<', len - i);
		if (!lt) {
			i = len; /* examined to the end */
			break;
		}
		i = (size_t)(lt - buf) + 1;
		if (i == len)
			break;
		if (buf[i] == '/') { /* end tag: no attributes, no quotes */
			depth -= depth > 0;
			i = skip_past(buf, len, i, ">");
			continue;
		}
		if (buf[i] == '?') {
			i = skip_past(buf, len, i + 1, "?>");
			continue;
		}
		if (buf[i] == '!') {
			if (starts(buf, len, i, "!--")) {
				i = skip_past(buf, len, i + 3, "-->");
			} else if (starts(buf, len, i, "![CDATA[")) {
				i = skip_past(buf, len, i + 8, "]]>");
			} else {
				/* <!DOCTYPE: the only door to entities, external or amplified. */
				work->scanned_bytes = i;
				return -EBADMSG;
			}
			continue;
		}
		if (++depth > DOMXML_MAX_DEPTH)
			return refuse(work, i, DOMXML_LIMIT_DEPTH);
		if (++elements > DOMXML_MAX_ELEMENTS)
			return refuse(work, i, DOMXML_LIMIT_ELEMENTS);
		if (depth > work->max_depth)
			work->max_depth = depth;
		/* A start tag: every '=' outside a quoted value belongs to one attribute. */
		unsigned attrs = 0;
		char last = 0;
		for (; i < len; i++) {
			char c = buf[i];
			if (c == '"' || c == '\'') {
				const char *q = memchr(buf + i + 1, c, len - i - 1);
				if (!q) {
					i = len;
					break;
				}
				i = (size_t)(q - buf);
				last = c;
			} else if (c == '=') {
				if (++attrs > DOMXML_MAX_ATTRS)
					return refuse(work, i, DOMXML_LIMIT_ATTRS);
				if (++attrs_total > DOMXML_MAX_ATTRS_TOTAL)
					return refuse(work, i, DOMXML_LIMIT_ATTRS_TOTAL);
			} else if (c == '>') {
				if (last == '/') /* <empty/> */
					depth--;
				i++;
				break;
			} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
				last = c;
			}
		}
	}
	work->scanned_bytes = i < len ? i : len;
	return 0;
}

/* ---- the parser's memory budget ---------------------------------------------------------------- */

/* expat's allocator hooks take no context: the budget of the parse running on this thread. */
struct budget {
	size_t used, peak, limit;
	uint32_t calls;
	bool refused;
};
static _Thread_local struct budget *budget;

union block {
	size_t size;
	max_align_t align;
};

static void *budget_realloc(void *ptr, size_t size)
{
	union block *b = ptr ? (union block *)ptr - 1 : NULL;
	size_t old = b ? b->size : 0;

	if (size > SIZE_MAX - sizeof(*b) || budget->used - old + size > budget->limit) {
		budget->refused = true;
		return NULL;
	}
	budget->calls++;
	b = realloc(b, sizeof(*b) + size);
	if (!b)
		return NULL;
	b->size = size;
	budget->used = budget->used - old + size;
	if (budget->used > budget->peak)
		budget->peak = budget->used;
	return b + 1;
}

static void *budget_malloc(size_t size)
{
	return budget_realloc(NULL, size);
}

static void budget_free(void *ptr)
{
	if (!ptr)
		return;
	union block *b = (union block *)ptr - 1;
	budget->used -= b->size;
	free(b);
}

static const XML_Memory_Handling_Suite budget_suite = {
	.malloc_fcn = budget_malloc,
	.realloc_fcn = budget_realloc,
	.free_fcn = budget_free,
};

/* ---- the parse ------------------------------------------------------------------------------- */

struct run {
	XML_Parser parser;
	const struct domxml_sax *sax;
	void *ctx;
	struct domxml_work *work;
	unsigned depth;
	int err; /* the first callback's refusal; nothing is delivered after it */
};

static void stop(struct run *r, int err)
{
	if (!r->err)
		r->err = err;
	XML_StopParser(r->parser, XML_FALSE);
}

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **atts)
{
	struct run *r = data;

	if (r->err)
		return;
	uint32_t n = 0;
	for (const XML_Char **a = atts; *a; a += 2)
		n++;
	r->depth++;
	r->work->elements++;
	r->work->attributes += n;
	if (r->depth > r->work->parser_max_depth)
		r->work->parser_max_depth = r->depth;
	if (n > r->work->parser_max_attrs)
		r->work->parser_max_attrs = n;
	if (r->sax->start) {
		int e = r->sax->start(r->ctx, r->depth, name, atts);
		if (e < 0)
			stop(r, e);
	}
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
	struct run *r = data;

	if (r->err)
		return;
	if (r->sax->end)
		r->sax->end(r->ctx, r->depth, name);
	r->depth--;
}

static void XMLCALL on_text(void *data, const XML_Char *s, int len)
{
	struct run *r = data;

	if (!r->err && r->sax->text && len > 0)
		r->sax->text(r->ctx, r->depth, s, (size_t)len);
}

/* The pre-scan refuses DTDs already; this keeps expat's own door shut as well. */
static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	stop(data, -EBADMSG);
}

int domxml_run(const char *buf, size_t len, size_t max_bytes, const struct domxml_sax *sax,
	       void *ctx, struct domxml_work *work)
{
	static const XML_Char ns_sep[] = { DOMXML_NS_SEP, '\0' };
	struct budget b = { 0 };
	struct run r = { .sax = sax, .ctx = ctx, .work = work };
	int rc;

	memset(work, 0, sizeof(*work));
	if (len == 0)
		return -ENODATA;
	if (len > max_bytes || len > INT_MAX) {
		work->limit = DOMXML_LIMIT_SIZE;
		return -EFBIG;
	}
	rc = domxml_prescan(buf, len, work);
	if (rc < 0)
		return rc;

	b.limit = DOMXML_MEM_BASE + DOMXML_MEM_FACTOR * len;
	work->mem_budget_bytes = b.limit;
	budget = &b;
	r.parser = XML_ParserCreate_MM(NULL, &budget_suite, ns_sep);
	if (!r.parser) {
		budget = NULL;
		return -ENOMEM;
	}
	XML_SetUserData(r.parser, &r);
	XML_SetElementHandler(r.parser, on_start, on_end);
	XML_SetCharacterDataHandler(r.parser, on_text);
	XML_SetStartDoctypeDeclHandler(r.parser, on_doctype);
	XML_SetParamEntityParsing(r.parser, XML_PARAM_ENTITY_PARSING_NEVER);

	work->parsed_bytes = len;
	/* The whole document in one call: expat 2.5 re-scans a token split across calls. */
	if (XML_Parse(r.parser, buf, (int)len, XML_TRUE) == XML_STATUS_OK)
		rc = 0;
	else if (r.err)
		rc = r.err;
	else if (XML_GetErrorCode(r.parser) == XML_ERROR_NO_MEMORY)
		rc = b.refused ? -E2BIG : -ENOMEM;
	else
		rc = -EBADMSG;
	if (rc == -E2BIG && b.refused)
		work->limit = DOMXML_LIMIT_MEMORY;
	XML_ParserFree(r.parser);
	budget = NULL;
	work->mem_peak_bytes = b.peak;
	work->allocations = b.calls;
	return rc;
}
