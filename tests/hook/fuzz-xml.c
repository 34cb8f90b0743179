/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the hook's path from stdin to the message -- domxml's reader of the domain
 * XML, then the event it feeds -- must survive any bytes.  Whatever it accepts must encode into
 * a message the decoder accepts.  (domxml's own bounds: tests/domxml/fuzz-domxml.c.) */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domxml_domain d;
	struct hook_args a = { .domain = "", .op = "migrate", .subop = "begin", .extra = "-" };
	struct wire_event ev;
	struct wire_msg m;
	uint8_t buf[WIRE_MSG_MAX];

	if (domxml_parse_domain((const char *)data, size, &d, NULL) != 0)
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
