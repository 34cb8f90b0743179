/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tests/views/escape_check.h"

/* Decodes one UTF-8 character the strict way (written apart from the library on purpose). */
static size_t decode(const uint8_t *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (n == 0 || s[0] > 0xf4)
		return 0;
	uint32_t v = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

static int hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool forbidden(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c ||
	       cp == 0x200e || cp == 0x200f || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

const char *unsafe_text(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + len;
	uint8_t tail[4];

	while (p < end) {
		uint32_t cp;
		size_t left = (size_t)(end - p);
		const uint8_t *q = p;
		if (left < 4) {        /* decode() reads up to 4 bytes: pad the end with NULs */
			memset(tail, 0, sizeof(tail));
			memcpy(tail, p, left);
			q = tail;
		}
		size_t n = decode(q, &cp);
		if (n == 0 || n > left || (cp != '\n' && forbidden(cp)))
			return (const char *)p;
		p += n;
	}
	return NULL;
}

const char *escape_check(const char *in, size_t len, const char *out, int whole)
{
	const uint8_t *o = (const uint8_t *)out;
	size_t k = 0;        /* bytes of in matched so far */

	while (*o) {
		uint32_t cp;
		size_t n = decode(o, &cp);
		if (n == 0)
			return "output is not well-formed UTF-8";
		if (forbidden(cp))
			return "output holds a control character";
		if (cp != '\\') {
			if (k + n > len || memcmp(in + k, o, n) != 0)
				return "a copied character differs from the input";
			k += n;
			o += n;
			continue;
		}
		/* an escape: read it back into the byte(s) it stands for */
		uint8_t want[4];
		size_t wn = 0;
		switch (o[1]) {
		case '\\': want[wn++] = '\\'; o += 2; break;
		case 't': want[wn++] = '\t'; o += 2; break;
		case 'n': want[wn++] = '\n'; o += 2; break;
		case 'r': want[wn++] = '\r'; o += 2; break;
		case 'x': {
			int a = hexv((char)o[2]), b = a < 0 ? -1 : hexv((char)o[3]);
			if (b < 0)
				return "bad \\x escape";
			uint8_t byte = (uint8_t)(a << 4 | b);
			/* bytes that could have been copied must not be escaped this way */
			if (byte >= 0x20 && byte < 0x7f)
				return "\\x escape of a printable character";
			want[wn++] = byte;
			o += 4;
			break;
		}
		case 'u': {
			uint32_t v = 0;
			for (int i = 2; i < 6; i++) {
				int h = hexv((char)o[i]);
				if (h < 0)
					return "bad \\u escape";
				v = v << 4 | (uint32_t)h;
			}
			if (!forbidden(v) || v < 0x80)
				return "\\u escape of a character that needs none";
			if (v < 0x800) {
				want[wn++] = (uint8_t)(0xc0 | v >> 6);
			} else {
				want[wn++] = (uint8_t)(0xe0 | v >> 12);
				want[wn++] = (uint8_t)(0x80 | ((v >> 6) & 0x3f));
			}
			want[wn++] = (uint8_t)(0x80 | (v & 0x3f));
			o += 6;
			break;
		}
		default:
			return "a backslash that starts no escape";
		}
		if (k + wn > len || memcmp(in + k, want, wn) != 0)
			return "an escape reads back as other bytes than the input's";
		k += wn;
	}
	if (whole && k != len)
		return "the output stops before the end of the input";
	return NULL;
}
