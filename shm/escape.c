/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Escaping of untrusted text for printing: see escape.h.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "shm/escape.h"

struct out {
	char *dst;
	size_t size;
	size_t pos;          /* bytes written (pos < size) */
	size_t total;        /* length of the whole escape */
	bool cut;            /* once a piece did not fit, nothing more is written */
};

static void put(struct out *o, const char *piece, size_t n)
{
	o->total += n;
	if (o->cut)
		return;
	if (n > o->size - 1 - o->pos) {
		o->cut = true;
		return;
	}
	memcpy(o->dst + o->pos, piece, n);
	o->pos += n;
}

static const char hex[] = "0123456789abcdef";

static void put_byte_escape(struct out *o, uint8_t b)
{
	char e[4] = { '\\', 'x', hex[b >> 4], hex[b & 15] };
	put(o, e, sizeof(e));
}

static void put_cp_escape(struct out *o, uint32_t cp)
{
	char e[6] = { '\\', 'u', hex[(cp >> 12) & 15], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15],
		      hex[cp & 15] };
	put(o, e, sizeof(e));
}

/* Code points that are well-formed but act on a terminal or on the order of a line. */
static bool cp_is_control(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Length of the well-formed UTF-8 sequence at s (Unicode's table 3-7: no overlong forms, no
 * surrogates, nothing past U+10FFFF), with its code point; 0 when the bytes there are not one.
 */
static size_t utf8_seq(const uint8_t *s, size_t left, uint32_t *ret_cp)
{
	uint8_t b0 = s[0], lo = 0x80, hi = 0xbf;
	size_t n;
	uint32_t cp;

	if (b0 >= 0xc2 && b0 <= 0xdf) {
		n = 2;
		cp = b0 & 0x1f;
	} else if (b0 >= 0xe0 && b0 <= 0xef) {
		n = 3;
		cp = b0 & 0x0f;
		if (b0 == 0xe0)
			lo = 0xa0;
		else if (b0 == 0xed)
			hi = 0x9f;
	} else if (b0 >= 0xf0 && b0 <= 0xf4) {
		n = 4;
		cp = b0 & 0x07;
		if (b0 == 0xf0)
			lo = 0x90;
		else if (b0 == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		uint8_t b = s[i];
		if (b < lo || b > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		cp = cp << 6 | (b & 0x3f);
	}
	*ret_cp = cp;
	return n;
}

size_t text_escape(char *dst, size_t size, const char *src, size_t len)
{
	struct out o = { .dst = dst, .size = size };
	const uint8_t *s = (const uint8_t *)src;
	size_t i = 0;

	if (size == 0)
		return 0;   /* nothing can be written, not even the NUL: callers pass size > 0 */
	while (i < len) {
		uint8_t b = s[i];
		uint32_t cp;
		size_t n;

		if (b >= 0x20 && b < 0x7f) {
			if (b == '\\')
				put(&o, "\\\\", 2);
			else
				put(&o, (const char *)&s[i], 1);
			i++;
		} else if (b < 0x80) {
			if (b == '\t')
				put(&o, "\\t", 2);
			else if (b == '\n')
				put(&o, "\\n", 2);
			else if (b == '\r')
				put(&o, "\\r", 2);
			else
				put_byte_escape(&o, b);
			i++;
		} else if ((n = utf8_seq(s + i, len - i, &cp)) == 0) {
			/* one byte at a time: what follows a bad lead byte is looked at afresh */
			put_byte_escape(&o, b);
			i++;
		} else {
			if (cp_is_control(cp))
				put_cp_escape(&o, cp);
			else
				put(&o, (const char *)&s[i], n);
			i += n;
		}
	}
	dst[o.pos] = '\0';
	return o.total;
}

const char *text_esc(char *dst, size_t size, const char *s)
{
	if (!s)
		s = "";
	text_escape(dst, size, s, strlen(s));
	return dst;
}

const char *text_esc_n(char *dst, size_t size, const char *s, size_t max)
{
	text_escape(dst, size, s, s ? strnlen(s, max) : 0);
	return dst;
}
