/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * text_escape (shm/escape.h): what terminals and logs get instead of hostile bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "shm/escape.h"
#include "tests/views/escape_check.h"

#define ESC(in) esc_of(in, sizeof(in) - 1)

static char out[1024];

static const char *esc_of(const char *in, size_t len)
{
	size_t n = text_escape(out, sizeof(out), in, len);
	assert_int_equal(n, strlen(out));
	const char *why = escape_check(in, len, out, 1);
	if (why)
		fail_msg("%s: '%s'", why, out);
	return out;
}

static void test_plain_text_is_kept(void **state)
{
	(void)state;
	assert_string_equal(ESC("db-01.example_vm"), "db-01.example_vm");
	assert_string_equal(ESC("pass 3: needs 6250 ms > SLA 500 ms"), "pass 3: needs 6250 ms > SLA 500 ms");
	assert_string_equal(ESC("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xa7"),
			    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xa7");
	assert_string_equal(ESC(""), "");
	assert_string_equal(ESC("a\\b"), "a\\\\b");
}

static void test_c0_and_del(void **state)
{
	(void)state;
	/* the attack: clear the screen, move the cursor, set the window title */
	assert_string_equal(ESC("vm\x1b[2J\x1b[H\x1b]0;owned\x07"), "vm\\x1b[2J\\x1b[H\\x1b]0;owned\\x07");
	assert_string_equal(ESC("a\tb\nc\rd"), "a\\tb\\nc\\rd");
	assert_string_equal(ESC("\x7f\x01\x1f"), "\\x7f\\x01\\x1f");
	assert_string_equal(ESC("a\0b"), "a\\x00b");
}

static void test_c1_and_reordering(void **state)
{
	(void)state;
	/* U+009B is CSI on a UTF-8 terminal; U+0085 is NEL */
	assert_string_equal(ESC("\xc2\x9b" "2J"), "\\u009b2J");
	assert_string_equal(ESC("\xc2\x85"), "\\u0085");
	assert_string_equal(ESC("\xc2\xa0"), "\xc2\xa0");    /* U+00A0 is printable */
	/* right-to-left override, isolates, line separator */
	assert_string_equal(ESC("ab\xe2\x80\xae" "cd"), "ab\\u202ecd");
	assert_string_equal(ESC("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u2066x\\u2069");
	assert_string_equal(ESC("\xe2\x80\xa8"), "\\u2028");
	assert_string_equal(ESC("\xd8\x9c"), "\\u061c");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	assert_string_equal(ESC("\x9b" "2J"), "\\x9b2J");             /* 8-bit CSI */
	assert_string_equal(ESC("\xc0\x80"), "\\xc0\\x80");           /* overlong NUL */
	assert_string_equal(ESC("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");  /* overlong '/' */
	assert_string_equal(ESC("\xed\xa0\x80"), "\\xed\\xa0\\x80");  /* surrogate */
	assert_string_equal(ESC("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
	assert_string_equal(ESC("\xf5\xff\xfe"), "\\xf5\\xff\\xfe");
	assert_string_equal(ESC("ok\xe6\x97"), "ok\\xe6\\x97");        /* cut short */
	/* a bad lead byte does not swallow the good character after it */
	assert_string_equal(ESC("\xe6\xc3\xa9"), "\\xe6\xc3\xa9");
}

static void test_cut_between_escapes(void **state)
{
	(void)state;
	char small[8];
	const char *in = "ab\x1b[2J";
	size_t n = text_escape(small, sizeof(small), in, strlen(in));
	assert_int_equal(n, strlen("ab\\x1b[2J"));
	/* "ab\x1b" is 6 bytes, "[" makes 7 = all that fits with the NUL */
	assert_string_equal(small, "ab\\x1b[");
	n = text_escape(small, 5, in, strlen(in));
	assert_string_equal(small, "ab");   /* \x1b does not fit whole in what is left */
	assert_true(n >= 5);
	assert_null(escape_check(in, strlen(in), small, 0));
	/* never inside a UTF-8 character either */
	n = text_escape(small, 4, "a\xe6\x97\xa5", 4);
	assert_string_equal(small, "a");
	n = text_escape(small, 1, in, strlen(in));
	assert_string_equal(small, "");
	char big[TEXT_ESCAPE_SIZE(3)];
	assert_int_equal(text_escape(big, sizeof(big), "\x01\x02\x03", 3), sizeof(big) - 1);
	assert_string_equal(big, "\\x01\\x02\\x03");
}

static void test_helpers(void **state)
{
	(void)state;
	char b[64];
	assert_string_equal(text_esc(b, sizeof(b), NULL), "");
	assert_string_equal(text_esc(b, sizeof(b), "x\x1b"), "x\\x1b");
	/* a fixed-size field with no NUL is read up to its size */
	char field[4] = { 'a', 'b', '\x1b', 'c' };
	assert_string_equal(text_esc_n(b, sizeof(b), field, sizeof(field)), "ab\\x1bc");
	assert_string_equal(text_esc_n(b, sizeof(b), "ab\0cd", 5), "ab");
}

/* Random bytes, biased to the interesting ranges: every output is safe and reads back. */
static void test_random_inputs(void **state)
{
	(void)state;
	static const uint8_t pool[] = { 0x00, 0x07, 0x1b, 0x5b, 0x5c, 0x41, 0x7f, 0x80, 0x85, 0x9b,
					0xbf, 0xc0, 0xc2, 0xd8, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0,
					0xf4, 0xf5, 0xff, 0x9c, 0xa0, 0xa8, 0xae, 0x81, 0xa6, 0x90 };
	uint32_t seed = 12345;
	char in[64], buf[TEXT_ESCAPE_SIZE(64)];

	for (int iter = 0; iter < 200000; iter++) {
		size_t len = (seed = seed * 1103515245u + 12345u) >> 16 & 63;
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = (char)pool[(seed >> 16) % sizeof(pool)];
		}
		size_t n = text_escape(buf, sizeof(buf), in, len);
		assert_true(n < sizeof(buf));
		const char *why = escape_check(in, len, buf, 1);
		if (why)
			fail_msg("%s (iteration %d)", why, iter);
	}
}

/* The JSON writers store the escaped text: json-c keeps it as it is, and it reads back equal. */
static void test_json_round_trip(void **state)
{
	(void)state;
	const char *name = "vm\x1b]0;x\x07\xc2\x9b\xff\xe2\x80\xae\"/";
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "domain", json_object_new_string(text_esc(out, sizeof(out), name)));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	for (const char *p = s; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
	struct json_object *back = json_tokener_parse(s), *d;
	assert_non_null(back);
	assert_true(json_object_object_get_ex(back, "domain", &d));
	assert_string_equal(json_object_get_string(d), out);
	json_object_put(back);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text_is_kept),
		cmocka_unit_test(test_c0_and_del),
		cmocka_unit_test(test_c1_and_reordering),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_cut_between_escapes),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_random_inputs),
		cmocka_unit_test(test_json_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
