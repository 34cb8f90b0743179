/* Shared by the ring stress tests: records that prove their own integrity, writer and reader
 * loops that count every claimed position as read, lost or dropped. */
#ifndef MIGTUNE_TESTS_STRESS_H
#define MIGTUNE_TESTS_STRESS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "ring.h"

#define STRESS_MAX_WRITERS 8

/* Every byte of the payload is derived from (writer, counter): one torn copy breaks the sum. */
static inline void stress_fill(struct ring_record *rec, uint32_t writer, uint64_t counter)
{
	uint64_t x = counter * UINT64_C(0x9e3779b97f4a7c15) ^ writer, sum = 0;

	for (size_t i = 0; i < RING_PAYLOAD_SIZE - 8; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		rec->u.raw[i] = (uint8_t)x;
		sum += rec->u.raw[i] * (i + 1);
	}
	sum ^= (uint64_t)writer << 56 ^ counter;
	memcpy(rec->u.raw + RING_PAYLOAD_SIZE - 8, &sum, 8);
	rec->domain = writer;
	rec->mono_ns = counter;
}

/* One writer thread: count records, each an agent NOTE whose payload is a stress pattern.  The
 * agent record type is validated only on kind/text, so the pattern is forced to pass that. */
static inline uint64_t stress_write(struct ring_writer *w, uint32_t writer, uint64_t count)
{
	struct ring_record rec;
	uint64_t dropped = 0;

	for (uint64_t i = 0; i < count; i++) {
		stress_fill(&rec, writer, i);
		rec.u.raw[0] = RING_AGENT_NOTE;                 /* kind */
		rec.u.raw[RING_PAYLOAD_SIZE - 9] = 0;           /* text terminated */
		if (ring_append_at(w, RING_REC_AGENT, writer, i, rec.u.raw, RING_PAYLOAD_SIZE) < 0)
			dropped++;
	}
	return dropped;
}

struct stress_tally {
	uint64_t read, lost, torn, disorder;
	uint64_t last[STRESS_MAX_WRITERS];
	uint8_t seen[STRESS_MAX_WRITERS];
};

/* Checks one record read: integrity and per-writer order (a writer's records appear in the
 * order it wrote them since its positions increase). */
static inline void stress_account(struct stress_tally *t, const struct ring_record *rec)
{
	struct ring_record want;
	uint32_t wr = rec->domain;

	t->read++;
	if (wr >= STRESS_MAX_WRITERS) {
		t->torn++;
		return;
	}
	stress_fill(&want, wr, rec->mono_ns);
	want.u.raw[0] = RING_AGENT_NOTE;
	want.u.raw[RING_PAYLOAD_SIZE - 9] = 0;
	if (memcmp(want.u.raw, rec->u.raw, RING_PAYLOAD_SIZE) != 0) {
		t->torn++;
		return;
	}
	if (t->seen[wr] && rec->mono_ns <= t->last[wr])
		t->disorder++;
	t->seen[wr] = 1;
	t->last[wr] = rec->mono_ns;
}

#endif
