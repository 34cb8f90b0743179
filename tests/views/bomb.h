/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decompression bombs in the dump format, for the tests of the reader's limits: a small file of
 * LZ4 frames that each expand to a full chunk of repeated records.
 */
#ifndef MIGTUNE_TESTS_VIEWS_BOMB_H
#define MIGTUNE_TESTS_VIEWS_BOMB_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

struct bomb_opts {
	uint32_t record_size;           /* bytes per record in the file (16 expands most) */
	uint32_t chunk_records;         /* records per chunk (at most 65536) */
	uint64_t records;               /* records in all */
	const struct ring_record *tmpl; /* every record (its first record_size bytes); NULL: zeros */
	uint64_t declared;              /* the header's record count; 0: counts only in the trailer */
};

/* Builds the file in memory (malloc'd, *ret_len bytes); NULL when out of memory. */
uint8_t *bomb_build(const struct bomb_opts *o, size_t *ret_len);
/* Writes it to path; returns the file's size, or 0 on failure. */
size_t bomb_write(const struct bomb_opts *o, const char *path);

#endif
