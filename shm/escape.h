/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Escaping of untrusted text before it is printed: domain names (chosen by whoever defines the
 * domain), the hook's extra argument, host names, and every other string that reaches a terminal,
 * a log, a CSV or a JSON file through migtop, migdump or migtuned's log.
 *
 * What comes out is valid UTF-8 with no control function a terminal or a log viewer acts on:
 *
 *   \\                  a backslash (so that every escape below reads back unambiguously)
 *   \t \n \r            tab, line feed, carriage return
 *   \xHH                any other C0 control (0x00-0x1f), DEL (0x7f), and every byte that is not
 *                       part of well-formed UTF-8 (stray continuation bytes, overlong forms,
 *                       surrogates, code points past U+10FFFF, sequences cut short)
 *   \u00HH, \uHHHH      the C1 controls U+0080-U+009F (U+009B is CSI on UTF-8 terminals), and the
 *                       Unicode controls that reorder or break a line: U+061C, U+200E, U+200F,
 *                       U+2028, U+2029, U+202A-U+202E, U+2066-U+2069
 *
 * Everything else — printable ASCII and well-formed UTF-8 — is copied as it is.  An escape takes
 * at most 4 output bytes per input byte (TEXT_ESCAPE_SIZE).  Output is cut only between two
 * characters or escapes, never inside one, and is always NUL-terminated.
 *
 * JSON writers store the escaped form as the string's value, so that a consumer that decodes
 * the JSON (`jq -r`) still prints nothing a terminal would act on.
 *
 * Library code: no allocation, no locale, async-signal-safe.
 */
#ifndef MIGTUNE_SHM_ESCAPE_H
#define MIGTUNE_SHM_ESCAPE_H

#include <stddef.h>

/* Bytes a buffer needs to hold the escape of n input bytes, with its NUL. */
#define TEXT_ESCAPE_SIZE(n) (4 * (size_t)(n) + 1)

/*
 * Escapes len bytes of src (which may hold NULs) into dst of size bytes (size > 0).  Returns the
 * length the whole escape has, like snprintf: a value >= size means the output was cut (at an
 * escape boundary).
 */
size_t text_escape(char *dst, size_t size, const char *src, size_t len);

/* The NUL-terminated string s (NULL reads as ""), escaped into dst; returns dst. */
const char *text_esc(char *dst, size_t size, const char *s);

/* The first at most max bytes of s, up to its first NUL: fixed-size fields of records. */
const char *text_esc_n(char *dst, size_t size, const char *s, size_t max);

#endif
