/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>

#include "shm/dump.h"
#include "tests/views/bomb.h"

static int put(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t ncap = (*cap ? *cap * 2 : 65536) + n;
		uint8_t *nb = realloc(*buf, ncap);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint8_t *bomb_build(const struct bomb_opts *o, size_t *ret_len)
{
	struct dump_header h = { .magic = DUMP_MAGIC, .endian = RING_ENDIAN,
				 .version_major = DUMP_VERSION_MAJOR, .header_size = sizeof(h),
				 .record_size = o->record_size, .chunk_records = o->chunk_records,
				 .ring_abi_major = RING_ABI_MAJOR, .ring_abi_minor = RING_ABI_MINOR,
				 .writer_state = RING_WRITER_STOPPED, .record_count = o->declared,
				 .map_real_ns = 1700000000ull * 1000000000ull };
	LZ4F_preferences_t prefs = { .frameInfo = { .blockSizeID = LZ4F_max4MB,
						     .contentChecksumFlag = LZ4F_contentChecksumEnabled } };
	uint8_t *buf = NULL, fh[8], *raw = NULL, *comp = NULL;
	size_t len = 0, cap = 0, raw_len = sizeof(struct dump_chunk) + (size_t)o->chunk_records * o->record_size;

	if (!o->declared)
		h.flags = DUMP_F_COUNTS_IN_TRAILER;
	snprintf(h.hostname, sizeof(h.hostname), "bomb");
	le32(fh, DUMP_FRAME_HEADER);
	le32(fh + 4, sizeof(h));
	raw = calloc(1, raw_len);
	size_t comp_cap = LZ4F_compressFrameBound(raw_len, &prefs);
	comp = malloc(comp_cap);
	if (!raw || !comp || put(&buf, &len, &cap, fh, sizeof(fh)) < 0 ||
	    put(&buf, &len, &cap, &h, sizeof(h)) < 0)
		goto fail;
	for (uint32_t i = 0; o->tmpl && i < o->chunk_records; i++)
		memcpy(raw + sizeof(struct dump_chunk) + (size_t)i * o->record_size, o->tmpl,
		       o->record_size < sizeof(*o->tmpl) ? o->record_size : sizeof(*o->tmpl));
	/* every chunk holds the same records, so it is compressed once */
	size_t z = 0;
	uint32_t z_n = 0;
	for (uint64_t done = 0; done < o->records;) {
		uint32_t n = o->records - done < o->chunk_records ? (uint32_t)(o->records - done)
								  : o->chunk_records;
		if (n != z_n) {
			struct dump_chunk c = { .magic = DUMP_CHUNK_MAGIC, .record_count = n,
						.record_size = o->record_size,
						.transform = DUMP_TRANSFORM_NONE, .first_seq = done };
			memcpy(raw, &c, sizeof(c));
			prefs.frameInfo.contentSize = sizeof(c) + (size_t)n * o->record_size;
			z = LZ4F_compressFrame(comp, comp_cap, raw, prefs.frameInfo.contentSize, &prefs);
			if (LZ4F_isError(z))
				goto fail;
			z_n = n;
		}
		if (put(&buf, &len, &cap, comp, z) < 0)
			goto fail;
		done += n;
	}
	struct dump_trailer t = { .magic = DUMP_TRAILER_MAGIC, .record_count = o->records };
	le32(fh, DUMP_FRAME_TRAILER);
	le32(fh + 4, sizeof(t));
	if (put(&buf, &len, &cap, fh, sizeof(fh)) < 0 || put(&buf, &len, &cap, &t, sizeof(t)) < 0)
		goto fail;
	free(raw);
	free(comp);
	*ret_len = len;
	return buf;
fail:
	free(raw);
	free(comp);
	free(buf);
	return NULL;
}

size_t bomb_write(const struct bomb_opts *o, const char *path)
{
	size_t len;
	uint8_t *b = bomb_build(o, &len);
	FILE *f;

	if (!b)
		return 0;
	f = fopen(path, "w");
	if (!f || fwrite(b, 1, len, f) != len) {
		if (f)
			fclose(f);
		free(b);
		return 0;
	}
	free(b);
	return fclose(f) == 0 ? len : 0;
}
