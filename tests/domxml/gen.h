/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Generated documents for domxml's tests and benchmark: the hostile shapes and the one that
 * reaches every bound at once.  Allocation failures abort. */
#ifndef MIGTUNE_TESTS_DOMXML_GEN_H
#define MIGTUNE_TESTS_DOMXML_GEN_H

#include <stddef.h>

struct doc {
	char *p;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) void doc_put(struct doc *d, const char *fmt, ...);

/* <domain><name>x</name><metadata><big ATTRS/></metadata></domain>, attribute i being
 * NAMEi='VALUEi': 60000 of ("a", "") make ~650 KB, 6 to 24 s under libxml2 2.9's quadratic
 * duplicate check; ("xmlns:p", "urn:") declares namespaces instead. */
struct doc doc_many_attributes(unsigned n, const char *name, const char *value);

/* <domain>, then depth open <a>, as many closed, </domain>. */
struct doc doc_nested(unsigned depth);

/* `elements` elements (the root included) holding `attrs` attributes, at most
 * DOMXML_MAX_ATTRS on each, names all different, padded with text to size bytes (0: none). */
struct doc doc_bounded(size_t size, unsigned attrs, unsigned elements);

#endif
