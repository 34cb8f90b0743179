/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What text_escape (shm/escape.h) promises, checked from the outside: shared by the unit test and
 * the fuzz target.
 */
#ifndef MIGTUNE_TESTS_VIEWS_ESCAPE_CHECK_H
#define MIGTUNE_TESTS_VIEWS_ESCAPE_CHECK_H

#include <stddef.h>

/*
 * Checks that out (NUL-terminated) is safe to print — well-formed UTF-8, no C0 control, no DEL, no
 * C1 control, no line-reordering control — and that reading its escapes back gives the first
 * bytes of in (all len of them when whole is non-zero).  Returns NULL, or what is wrong.
 */
const char *escape_check(const char *in, size_t len, const char *out, int whole);

/*
 * A program's whole output: the first byte a terminal would act on or that is not well-formed
 * UTF-8 (a line feed is fine), or NULL when there is none.
 */
const char *unsafe_text(const char *s, size_t len);

#endif
