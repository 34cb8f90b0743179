/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: both domxml readers on any bytes.  Besides surviving them (ASan/UBSan, no
 * recovery), every run checks the bounds the readers promise:
 *   - the pre-scan examines at most the input, and refuses with a named bound when it refuses;
 *   - expat never reports an element nested deeper, or carrying more attributes, than the
 *     pre-scan let through (the pre-scan is never fooled about where markup is);
 *   - the parser's memory stays within its budget;
 *   - whatever is accepted encodes into a wire message that decodes to the same policy.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domxml/domxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_work(const struct domxml_work *w, size_t size, int r)
{
	assert(w->scanned_bytes <= size);
	assert(w->parsed_bytes == 0 || w->parsed_bytes == size);
	assert(w->parser_max_depth <= DOMXML_MAX_DEPTH);
	assert(w->parser_max_attrs <= DOMXML_MAX_ATTRS);
	assert(w->mem_peak_bytes <= w->mem_budget_bytes);
	assert((r == -E2BIG || r == -EFBIG) == (w->limit != DOMXML_LIMIT_NONE));
}

static void check_policy(const struct wire_policy *p)
{
	struct wire_event ev = { .policy = *p };
	struct wire_msg m;
	uint8_t buf[WIRE_MSG_MAX];

	strcpy(ev.op, "migrate");
	strcpy(ev.subop, "begin");
	ssize_t n = wire_encode_event(&ev, WIRE_TYPE_EVENT, 1, buf, sizeof(buf));
	assert(n > 0);
	assert(wire_decode(buf, (size_t)n, &m) == 0);
	assert(memcmp(&m.event.policy, p, sizeof(*p)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domxml_domain d;
	struct domxml_work w;
	struct wire_policy p;
	struct domxml_bad_attr bad;

	/* Exact-size copy so that ASan flags a read of even one byte too many. */
	char *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);

	int r = domxml_parse_domain(copy, size, &d, &w);
	check_work(&w, size, r);
	if (r == 0) {
		assert(strlen(d.name) <= WIRE_DOMAIN_MAX);
		assert(!(d.flags & DOMXML_HAS_NAME) || d.name[0] != '\0');
		check_policy(&d.policy);
	}

	r = domxml_parse_policy(copy, size, &p, &bad, &w);
	check_work(&w, size, r);
	if (r == 0 || r == -EINVAL)
		check_policy(&p);
	else
		assert(p.present == 0);
	free(copy);
	return 0;
}
