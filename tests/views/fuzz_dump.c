/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: arbitrary bytes as a dump file.  Opens, decodes every record, renders each in
 * the three migdump formats and feeds the migtop view model, as a replay would.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shm/dump.h"
#include "tools/view_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lookup(void *ctx, uint32_t idx, char name[RING_NAME_MAX + 1], uint8_t uuid[16])
{
	const struct dump_domain *d = dump_domain_find(ctx, idx);
	if (!d)
		return -1;
	memcpy(name, d->name, RING_NAME_MAX + 1);
	memcpy(uuid, d->uuid, 16);
	return 0;
}

static uint64_t to_real(void *ctx, uint64_t mono)
{
	return dump_mono_to_real_ns(ctx, mono);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct dump_file *d;
	struct ring_record rec;
	struct view_state v;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (dump_open_mem(data, size, &d) < 0)
		return 0;
	struct view_source src = { lookup, to_real, d };
	view_init(&v, &src);
	for (int i = 0; dump_next(d, &rec) > 0; i++) {
		view_record_print(sink, (enum view_format)(i % 3), &src, &rec);
		view_feed(&v, &rec);
	}
	for (size_t i = 0; dump_problem(d, i); i++)
		fputs(dump_problem(d, i), sink);
	struct json_object *j = view_state_json(&v, VIEW_SORT_REMAINING);
	json_object_put(j);
	view_print_text(sink, &v, VIEW_SORT_DIRTY);
	view_free(&v);
	dump_close(d);
	return 0;
}
