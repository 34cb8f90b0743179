/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: arbitrary bytes through text_escape (shm/escape.h), whole and into every
 * smaller buffer.  Aborts when an output is not safe to print, does not read back as the input
 * (or a prefix of it when cut), or is cut inside an escape; and when the JSON writers' use of it
 * would not read back equal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "shm/escape.h"
#include "tests/views/escape_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-escape: %s: %s\n", what, detail);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	const char *in = (const char *)data;
	size_t cap = TEXT_ESCAPE_SIZE(size);
	char *full = malloc(cap), *part = malloc(cap);
	if (!full || !part)
		abort();

	size_t n = text_escape(full, cap, in, size);
	if (n >= cap || n != strlen(full))
		die("whole escape", "length does not fit the documented bound");
	const char *why = escape_check(in, size, full, 1);
	if (why)
		die("whole escape", why);

	/* Every smaller buffer: a prefix of the whole escape, ending between two escapes. */
	for (size_t s = 1; s < n + 1; s += 1 + s / 16) {
		size_t m = text_escape(part, s, in, size);
		if (m != n)
			die("cut escape", "the returned length depends on the buffer");
		size_t k = strlen(part);
		if (k >= s || memcmp(part, full, k) != 0)
			die("cut escape", "not a prefix of the whole escape");
		if ((why = escape_check(in, size, part, 0)))
			die("cut escape", why);
	}

	/* What the JSON outputs do with it. */
	struct json_object *o = json_object_new_string(full), *back;
	const char *js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	for (const char *p = js; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			die("json", "a control byte in the serialised JSON");
	back = json_tokener_parse(js);
	if (!back || strcmp(json_object_get_string(back), full) != 0)
		die("json", "does not read back equal");
	json_object_put(back);
	json_object_put(o);
	free(full);
	free(part);
	return 0;
}
