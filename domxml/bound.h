/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bound.h — inside domxml: the bounded parse that domain.c's readers run (see domxml.h for the
 * bounds).  Not installed, not for callers outside domxml/.
 */
#ifndef MIGTUNE_DOMXML_BOUND_H
#define MIGTUNE_DOMXML_BOUND_H

#include "domxml.h"

/* Element and attribute names as the callbacks see them: "local" without a namespace,
 * "URI local" with one (the URI, one space, the local name). */
#define DOMXML_NS_SEP ' '

struct domxml_sax {
	/* A start tag at depth (1 = the root); atts is NULL-terminated name, value, name, value...
	 * A negative errno stops the parse and becomes its result. */
	int (*start)(void *ctx, unsigned depth, const char *name, const char **atts);
	/* Character data (CDATA sections included) inside the element open at depth; not
	 * NUL-terminated, possibly in several pieces. */
	void (*text)(void *ctx, unsigned depth, const char *s, size_t len);
	void (*end)(void *ctx, unsigned depth, const char *name);
};

/*
 * Pre-scan, then parse buf[0..len) with sax's callbacks.  Returns 0, or -ENODATA, -EFBIG (len >
 * max_bytes), -E2BIG (a bound, work->limit), -EBADMSG (not well-formed, a DTD), -ENOMEM, or the
 * first negative value a callback returned.  work (never NULL here) is filled in every case.
 */
int domxml_run(const char *buf, size_t len, size_t max_bytes, const struct domxml_sax *sax,
	       void *ctx, struct domxml_work *work);

/*
 * The pre-scan alone: 0 when buf[0..len) stays within the bounds, -E2BIG (work->limit set) or
 * -EBADMSG (a DTD) otherwise.  It is no XML checker: whatever it lets through, expat judges.
 */
int domxml_prescan(const char *buf, size_t len, struct domxml_work *work);

#endif
