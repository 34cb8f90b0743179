/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the agent decodes datagrams from anyone who can connect.  wire_decode must
 * never read past the input, and anything it accepts must re-encode to the very same bytes (one
 * encoding per message: no ambiguity an attacker could play with). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_msg m;
	uint8_t buf[WIRE_MSG_MAX];
	ssize_t n;

	/* Exact-size copy so that ASan flags a read of even one byte too many. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	int r = wire_decode(copy, size, &m);
	free(copy);
	if (r != 0)
		return 0;
	if (m.type == WIRE_TYPE_ADMIT_REPLY)
		n = wire_encode_reply(&m.reply, m.request_id, buf, sizeof(buf));
	else
		n = wire_encode_event(&m.event, m.type, m.request_id, buf, sizeof(buf));
	assert(n >= 0 && (size_t)n == size);
	assert(memcmp(buf, data, size) == 0);
	return 0;
}
