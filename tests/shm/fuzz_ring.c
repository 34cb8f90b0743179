/* libFuzzer target: the ring reader over arbitrary segment bytes must never crash, hang or read
 * outside the buffer, whatever the header, slots and domain table say. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ring_reader *r = NULL;
	struct ring_record rec;
	struct ring_header h;
	uint64_t lost = 0, seq;
	uint8_t uuid[16];
	char name[RING_NAME_MAX + 1];
	void *copy;
	int n = 0;

	/* the reader gets the exact length: ASan catches any read past it */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (ring_reader_open_mem(copy, size, &r) == 0) {
		(void)ring_reader_snapshot_header(r, &h);
		(void)ring_reader_liveness(r, 0);
		(void)ring_mono_to_real_ns(r, 12345);
		while (n++ < 100000 && ring_read(r, &rec, &seq, &lost) == 1)
			(void)ring_domain_lookup(r, rec.domain, uuid, name);
		ring_reader_seek_newest(r);
		ring_reader_seek_oldest(r);
		(void)ring_read(r, &rec, &seq, &lost);
		ring_reader_close(r);
	}
	free(copy);
	return 0;
}
