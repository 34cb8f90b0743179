/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the dump reader's limits: the first 8 bytes choose small limits, the rest is
 * the file.  Aborts when the reader hands out more records than allowed, decompresses past its
 * budget, holds more memory than the file plus two chunks, or does not stop for good once stopped.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shm/dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
	fprintf(stderr, "fuzz-dump-limits: %s\n", what);
	abort();
}

static uint64_t drain(struct dump_file *d, const struct dump_limits *lim, size_t len, int *ret_end)
{
	struct ring_record rec;
	uint64_t n = 0;
	int r;

	while ((r = dump_next(d, &rec)) > 0) {
		if (++n > lim->max_records)
			die("more records than max_records");
		if (dump_get_read_stats(d)->decoded_bytes > lim->max_decoded_bytes)
			die("decompressed past max_decoded_bytes");
	}
	if (dump_get_read_stats(d)->decoded_bytes > lim->max_decoded_bytes)
		die("decompressed past max_decoded_bytes");
	/* the file (not owned here), two chunks, the transform's table (at most 128 words a key),
	 * the domain table (no larger than the file makes it), 32 problems */
	size_t bound = 4 * len + 2 * (size_t)lim->max_chunk_bytes + (2u << 20);
	if (dump_memory_bytes(d) > bound)
		die("memory past the file plus two chunks");
	if (r < 0 && r != -EFBIG && r != -ENOMEM)
		die("dump_next failed with an unexpected error");
	if (r < 0 && (dump_next(d, &rec) != r || !dump_get_read_stats(d)->refused))
		die("a stopped reader went on");
	*ret_end = r;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dump_limits lim;
	struct dump_file *d;
	int end1, end2;

	if (size < 8)
		return 0;
	/* records 1..65536, decoded bytes 1 KiB..16 MiB, chunks 64 B..1 MiB */
	lim.max_records = 1 + ((uint64_t)data[0] << 8 | data[1]);
	lim.max_decoded_bytes = (uint64_t)1024 << (data[2] % 15);
	lim.max_chunk_bytes = (uint64_t)64 << (data[3] % 15);
	lim.max_file_bytes = size;
	data += 8;
	size -= 8;
	if (dump_open_mem_limits(data, size, &lim, &d) < 0)
		return 0;
	if (dump_get_limits(d)->max_records != lim.max_records)
		die("limits not kept");
	uint64_t n1 = drain(d, &lim, size, &end1);
	dump_rewind(d);
	uint64_t n2 = drain(d, &lim, size, &end2);
	if (n1 != n2 || end1 != end2)
		die("a second pass after dump_rewind differs");
	dump_close(d);
	return 0;
}
