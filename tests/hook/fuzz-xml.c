/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the domain XML and metadata parser, then the event it feeds, must survive any
 * bytes on stdin.  Whatever it accepts must encode into a message the decoder accepts. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hook_domain d;
	struct hook_args a = { .domain = "", .op = "migrate", .subop = "begin", .extra = "-" };
	struct wire_event ev;
	struct wire_msg m;
	uint8_t buf[WIRE_MSG_MAX];

	if (hook_parse_domain_xml((const char *)data, size, &d) != 0)
		return 0;
	assert(strlen(d.name) <= WIRE_DOMAIN_MAX);
	assert((d.policy.present & ~WIRE_POL_KNOWN) == 0);
	if (hook_build_event(&a, &d, HOOK_XML_OK, &ev) != 0)
		return 0;
	ssize_t n = wire_encode_event(&ev, WIRE_TYPE_EVENT, 1, buf, sizeof(buf));
	assert(n > 0);
	assert(wire_decode(buf, (size_t)n, &m) == 0);
	assert(m.event.policy.present == d.policy.present);
	return 0;
}
