/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MIGTUNE_AGENT_STRUTIL_H
#define MIGTUNE_AGENT_STRUTIL_H

#include <string.h>

/* Copies src into dst[size], truncating, always NUL-terminated.  Fixed-size record fields take
 * whatever fits: a shortened name is better than a lost record. */
static inline void str_copy(char *dst, size_t size, const char *src)
{
	size_t n;

	if (!size)
		return;
	n = src ? strnlen(src, size - 1) : 0;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

#endif
