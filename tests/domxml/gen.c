/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "domxml/domxml.h"
#include "tests/domxml/gen.h"

void doc_put(struct doc *d, const char *fmt, ...)
{
	va_list ap;

	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(d->p + d->len, d->cap - d->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if ((size_t)n < d->cap - d->len) {
			d->len += (size_t)n;
			return;
		}
		d->cap = d->cap * 2 + (size_t)n + 64;
		d->p = realloc(d->p, d->cap);
		if (!d->p)
			abort();
	}
}

struct doc doc_many_attributes(unsigned n, const char *name, const char *value)
{
	struct doc d = { 0 };

	doc_put(&d, "<domain><name>x</name><metadata><big");
	for (unsigned i = 0; i < n; i++)
		doc_put(&d, " %s%u='%s%u'", name, i, value, i);
	doc_put(&d, "/></metadata></domain>");
	return d;
}

struct doc doc_nested(unsigned depth)
{
	struct doc d = { 0 };

	doc_put(&d, "<domain>");
	for (unsigned i = 0; i < depth; i++)
		doc_put(&d, "<a>");
	for (unsigned i = 0; i < depth; i++)
		doc_put(&d, "</a>");
	doc_put(&d, "</domain>");
	return d;
}

struct doc doc_bounded(size_t size, unsigned attrs, unsigned elements)
{
	static const char tail[] = "</domain>";
	struct doc d = { 0 };

	doc_put(&d, "<domain>");
	for (unsigned e = 1, n = 0; e < elements; e++) {
		doc_put(&d, "<e");
		for (int i = 0; i < DOMXML_MAX_ATTRS && n < attrs; i++, n++)
			doc_put(&d, " %x=''", n + 0xa0000);
		doc_put(&d, "/>");
	}
	while (d.len + sizeof(tail) - 1 < size)
		doc_put(&d, "x");
	doc_put(&d, "%s", tail);
	return d;
}
