/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dump files: round trip of every record type and field through a real ring, the transform, the
 * filters, damaged/truncated/foreign files, newer minor versions, retention and naming.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/views/synth.h"
#include "shm/dump.h"
#include "tools/view_decode.h"

static uint64_t rs = 0x9e3779b97f4a7c15ull;

static uint64_t rnd64(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static void rnd_bytes(void *p, size_t n)
{
	uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd64();
}

/* A NUL-terminated string with random printable bytes before and random bytes after the NUL. */
static void rnd_str(char *s, size_t n)
{
	rnd_bytes(s, n);
	size_t len = rnd64() % n;
	for (size_t i = 0; i < len; i++)
		s[i] = (char)('a' + rnd64() % 26);
	s[len] = '\0';
}

/* Every byte of the payload random, then the few constraints ring_record_validate enforces. */
static void random_record(struct ring_record *r, uint16_t type, uint32_t domain, uint64_t mono)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->domain = domain;
	r->mono_ns = mono;
	rnd_bytes(&r->u, sizeof(r->u));
	switch (type) {
	case RING_REC_SAMPLE:
		r->size = sizeof(r->u.sample);
		r->u.sample.direction = (uint8_t)(rnd64() % 3);
		r->u.sample.phase = (uint8_t)(rnd64() % (RING_PHASE_MAX + 1));
		r->u.sample.throttle_pct = (uint8_t)(rnd64() % 101);
		break;
	case RING_REC_EVENT:
		r->size = sizeof(r->u.event);
		r->u.event.source = (uint8_t)(1 + rnd64() % 3);
		rnd_str(r->u.event.op, sizeof(r->u.event.op));
		rnd_str(r->u.event.subop, sizeof(r->u.event.subop));
		rnd_str(r->u.event.text, sizeof(r->u.event.text));
		break;
	case RING_REC_ACTION:
		r->size = sizeof(r->u.action);
		r->u.action.kind = (uint16_t)(rnd64() % (RING_ACT_KIND_MAX + 1));
		r->u.action.result = (uint8_t)(1 + rnd64() % 4);
		rnd_str(r->u.action.policy, sizeof(r->u.action.policy));
		rnd_str(r->u.action.reason, sizeof(r->u.action.reason));
		break;
	case RING_REC_NIC:
		r->size = sizeof(r->u.nic);
		r->u.nic.carrier = (uint8_t)(rnd64() % 2);
		rnd_str(r->u.nic.ifname, sizeof(r->u.nic.ifname));
		break;
	case RING_REC_PREDICTION:
		r->size = sizeof(r->u.prediction);
		r->u.prediction.kind = (uint16_t)(rnd64() % (RING_ACT_KIND_MAX + 1));
		break;
	default:
		r->size = sizeof(r->u.agent);
		r->u.agent.kind = (uint8_t)(1 + rnd64() % 6);
		rnd_str(r->u.agent.text, sizeof(r->u.agent.text));
		break;
	}
	/* bytes beyond the struct are not carried by the ring */
	memset(r->u.raw + r->size, 0, RING_PAYLOAD_SIZE - r->size);
}

struct fixture {
	char name[64];
	struct ring_writer *w;
	struct ring_reader *r;
	struct ring_record *recs;
	size_t n;
	uint32_t dom[4];
	char path[128];
};

static int setup_ring(void **state, size_t n)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ring_create_opts o = { .slot_count = 32768, .domain_slots = 64, .gid = (gid_t)-1 };

	assert_non_null(f);
	synth_ring_name(f->name, sizeof(f->name));
	o.name = f->name;
	assert_int_equal(ring_writer_open(&o, &f->w), 0);
	for (uint32_t i = 0; i < 4; i++) {
		uint8_t u[16];
		char nm[32];
		synth_uuid(i, u);
		snprintf(nm, sizeof(nm), "dom,\"%u\"", i);   /* characters CSV has to quote */
		f->dom[i] = ring_domain_index(f->w, u, nm);
		assert_int_not_equal(f->dom[i], RING_NO_DOMAIN);
	}
	f->recs = calloc(n, sizeof(*f->recs));
	assert_non_null(f->recs);
	uint64_t t = ring_now_mono_ns() - 1000000000ull * 60;
	for (size_t i = 0; i < n; i++) {
		uint16_t type = (uint16_t)(1 + i % RING_REC_TYPE_MAX);
		uint32_t d = (i % 9 == 0) ? RING_NO_DOMAIN : f->dom[i % 4];
		t += 1000 + rnd64() % 100000;
		random_record(&f->recs[i], type, d, t);
		assert_int_equal(ring_append_at(f->w, type, d, t, &f->recs[i].u, f->recs[i].size), 0);
	}
	f->n = n;
	assert_int_equal(ring_reader_open(f->name, &f->r), 0);
	snprintf(f->path, sizeof(f->path), "/tmp/migtune-test-dump-%d%s", (int)getpid(), DUMP_SUFFIX);
	*state = f;
	return 0;
}

static int setup_big(void **state) { return setup_ring(state, 20000); }

static int teardown_ring(void **state)
{
	struct fixture *f = *state;
	ring_reader_close(f->r);
	ring_writer_close(f->w, true);
	unlink(f->path);
	free(f->recs);
	free(f);
	return 0;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat sb;
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	uint8_t *b = malloc((size_t)sb.st_size + 1);
	assert_non_null(b);
	assert_int_equal(read(fd, b, (size_t)sb.st_size), sb.st_size);
	close(fd);
	*len = (size_t)sb.st_size;
	return b;
}

static void assert_records_equal(const struct ring_record *a, const struct ring_record *b)
{
	if (memcmp(a, b, sizeof(*a)) != 0) {
		for (size_t i = 0; i < sizeof(*a); i++)
			if (((const uint8_t *)a)[i] != ((const uint8_t *)b)[i])
				print_error("records differ at byte %zu (type %u)\n", i, a->type);
		fail();
	}
}

static void test_round_trip_every_field(void **state)
{
	struct fixture *f = *state;
	struct dump_stats st;
	struct dump_file *d;
	struct ring_record rec;
	size_t i = 0;

	assert_int_equal(dump_write(f->r, f->path, NULL, &st), 0);
	assert_int_equal(st.records, f->n);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.chunks, (f->n + DUMP_CHUNK_RECORDS - 1) / DUMP_CHUNK_RECORDS);
	assert_int_equal(dump_open(f->path, &d), 0);

	const struct dump_header *h = dump_get_header(d);
	struct ring_header rh;
	assert_int_equal(ring_reader_snapshot_header(f->r, &rh), 0);
	assert_string_equal(h->hostname, rh.hostname);
	assert_int_equal(h->writer_pid, getpid());
	assert_int_equal(h->record_count, f->n);
	assert_int_equal(h->record_size, sizeof(struct ring_record));
	assert_int_equal(h->first_mono_ns, f->recs[0].mono_ns);
	assert_int_equal(h->last_mono_ns, f->recs[f->n - 1].mono_ns);
	assert_int_equal(h->first_seq, 0);
	assert_int_equal(h->last_seq, f->n - 1);
	assert_int_equal(h->map_real_ns, rh.map_real_ns);
	assert_int_equal(dump_domain_count(d), 4);
	for (uint32_t k = 0; k < 4; k++) {
		const struct dump_domain *e = dump_domain_find(d, f->dom[k]);
		uint8_t u[16];
		char nm[32];
		assert_non_null(e);
		synth_uuid(k, u);
		snprintf(nm, sizeof(nm), "dom,\"%u\"", k);
		assert_memory_equal(e->uuid, u, 16);
		assert_string_equal(e->name, nm);
		size_t first = 0;
		while (f->recs[first].domain != f->dom[k])
			first++;
		assert_int_equal(e->first_mono_ns, f->recs[first].mono_ns);
	}
	assert_null(dump_domain_find(d, 12345));

	while (dump_next(d, &rec) > 0) {
		assert_true(i < f->n);
		assert_records_equal(&rec, &f->recs[i]);
		i++;
	}
	assert_int_equal(i, f->n);
	const struct dump_read_stats *rst = dump_get_read_stats(d);
	assert_true(rst->trailer_seen);
	assert_false(rst->truncated);
	assert_int_equal(rst->chunks_bad, 0);
	assert_int_equal(rst->records_missing, 0);
	assert_null(dump_problem(d, 0));

	/* a second pass gives the same records */
	dump_rewind(d);
	i = 0;
	while (dump_next(d, &rec) > 0)
		assert_records_equal(&rec, &f->recs[i++]);
	assert_int_equal(i, f->n);
	dump_close(d);
}

static void test_transform_inverse(void **state)
{
	(void)state;
	/* more (type, domain) keys than the history table keeps, to cover the shared fallback */
	size_t n = 5000;
	struct ring_record *in = calloc(n, sizeof(*in)), *back = calloc(n, sizeof(*back));
	uint8_t *t = malloc(n * sizeof(*in));
	assert_non_null(in);
	assert_non_null(back);
	assert_non_null(t);
	rnd_bytes(in, n * sizeof(*in));
	for (size_t i = 0; i < n; i++)
		in[i].domain = (uint32_t)(i % 2000);
	assert_int_equal(dump_transform(in, n, t), 0);
	assert_int_equal(dump_untransform(t, n, sizeof(*in), (uint8_t *)back), 0);
	assert_memory_equal(in, back, n * sizeof(*in));
	free(in);
	free(back);
	free(t);
}

static void test_filters(void **state)
{
	struct fixture *f = *state;
	struct dump_filter flt = { 0 };
	struct dump_stats st;
	struct dump_file *d;
	struct ring_record rec;
	uint32_t keep[] = { f->dom[2] };
	uint64_t from = f->recs[100].mono_ns, to = f->recs[900].mono_ns;

	flt.domains = keep;
	flt.n_domains = 1;
	flt.from_mono_ns = from;
	flt.to_mono_ns = to;
	assert_int_equal(dump_write(f->r, f->path, &flt, &st), 0);
	size_t want = 0;
	for (size_t i = 100; i <= 900; i++)
		want += f->recs[i].domain == f->dom[2];
	assert_int_equal(st.records, want);
	assert_int_equal(dump_open(f->path, &d), 0);
	assert_int_equal(dump_get_header(d)->flags, DUMP_F_FILTER_DOMAIN | DUMP_F_FILTER_TIME);
	assert_int_equal(dump_get_header(d)->filter_from_mono_ns, from);
	assert_int_equal(dump_domain_count(d), 1);
	size_t got = 0;
	while (dump_next(d, &rec) > 0) {
		assert_int_equal(rec.domain, f->dom[2]);
		assert_true(rec.mono_ns >= from && rec.mono_ns <= to);
		got++;
	}
	assert_int_equal(got, want);
	dump_close(d);
}

/* Offsets of every frame in a dump, to cut and damage it at meaningful places. */
static size_t frame_offsets(const uint8_t *b, size_t len, size_t *off, size_t max)
{
	size_t n = 0, p = 0;
	while (p + 8 <= len && n < max) {
		uint32_t m = (uint32_t)b[p] | (uint32_t)b[p + 1] << 8 | (uint32_t)b[p + 2] << 16 |
			     (uint32_t)b[p + 3] << 24;
		off[n++] = p;
		if ((m & 0xFFFFFFF0u) == 0x184D2A50u) {
			p += 8 + ((size_t)b[p + 4] | (size_t)b[p + 5] << 8 | (size_t)b[p + 6] << 16 |
				  (size_t)b[p + 7] << 24);
		} else {
			/* an LZ4 frame: find its end through the decoder of the next chunk start */
			size_t q = p + 4;
			while (q + 4 <= len) {
				uint32_t x = (uint32_t)b[q] | (uint32_t)b[q + 1] << 8 |
					     (uint32_t)b[q + 2] << 16 | (uint32_t)b[q + 3] << 24;
				if (x == DUMP_FRAME_LZ4 || x == DUMP_FRAME_TRAILER)
					break;
				q++;
			}
			p = q;
		}
	}
	return n;
}

static size_t decode_all(const uint8_t *b, size_t len, const struct ring_record *orig,
			 struct dump_file **ret)
{
	struct dump_file *d;
	struct ring_record rec;
	size_t n = 0;
	assert_int_equal(dump_open_mem(b, len, &d), 0);
	while (dump_next(d, &rec) > 0) {
		if (orig)
			assert_records_equal(&rec, &orig[n]);
		n++;
	}
	*ret = d;
	return n;
}

static bool problems_mention(struct dump_file *d, const char *word)
{
	for (size_t i = 0; dump_problem(d, i); i++)
		if (strstr(dump_problem(d, i), word))
			return true;
	return false;
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	struct dump_file *d;
	size_t len, off[16];
	uint8_t *b;

	assert_int_equal(dump_write(f->r, f->path, NULL, NULL), 0);
	b = slurp(f->path, &len);
	size_t nf = frame_offsets(b, len, off, 16);
	assert_int_equal(nf, 5);   /* header, 3 chunks, trailer */

	/* cut inside the header: nothing can be decoded, and the reader says so */
	assert_int_equal(dump_open_mem(b, 100, &d), -EBADMSG);
	assert_int_equal(dump_open_mem(b, 6, &d), -EBADMSG);
	assert_int_equal(dump_open_mem(b, 0, &d), -EPROTO);

	/* cut in the middle of the second chunk: the first chunk is whole */
	size_t n = decode_all(b, off[2] + (off[3] - off[2]) / 2, f->recs, &d);
	assert_int_equal(n, DUMP_CHUNK_RECORDS);
	assert_true(dump_get_read_stats(d)->truncated);
	assert_false(dump_get_read_stats(d)->trailer_seen);
	assert_int_equal(dump_get_read_stats(d)->records_missing, f->n - DUMP_CHUNK_RECORDS);
	assert_true(problems_mention(d, "cut short"));
	dump_close(d);

	/* cut exactly before the trailer: every record is there, but the file says it was cut */
	n = decode_all(b, off[4], f->recs, &d);
	assert_int_equal(n, f->n);
	assert_false(dump_get_read_stats(d)->trailer_seen);
	assert_true(problems_mention(d, "without its trailer"));
	dump_close(d);

	/* every cut length decodes without crashing and never yields more than the file had */
	for (size_t cut = off[1]; cut < len; cut += 997) {
		n = decode_all(b, cut, f->recs, &d);
		assert_true(n <= f->n);
		dump_close(d);
	}
	free(b);
}

static void test_corrupted_chunk(void **state)
{
	struct fixture *f = *state;
	struct dump_file *d;
	struct ring_record rec;
	size_t len, off[16];
	uint8_t *b;

	assert_int_equal(dump_write(f->r, f->path, NULL, NULL), 0);
	b = slurp(f->path, &len);
	assert_int_equal(frame_offsets(b, len, off, 16), 5);
	/* flip bytes in the middle of chunk 1: its checksum (or block) fails, chunks 0 and 2 survive */
	size_t mid = off[2] + (off[3] - off[2]) / 2;
	b[mid] ^= 0x5a;
	b[mid + 1] ^= 0xa5;
	assert_int_equal(dump_open_mem(b, len, &d), 0);
	size_t n = 0;
	while (dump_next(d, &rec) > 0) {
		size_t orig = n < DUMP_CHUNK_RECORDS ? n : n + DUMP_CHUNK_RECORDS;
		assert_records_equal(&rec, &f->recs[orig]);
		n++;
	}
	assert_int_equal(n, f->n - DUMP_CHUNK_RECORDS);
	const struct dump_read_stats *st = dump_get_read_stats(d);
	assert_int_equal(st->chunks_bad, 1);
	assert_int_equal(st->chunks_ok, 2);
	assert_true(st->trailer_seen);
	assert_int_equal(st->records_missing, DUMP_CHUNK_RECORDS);
	assert_true(problems_mention(d, "chunk 1"));
	dump_close(d);

	/* garbage between frames is skipped and reported */
	uint8_t *g = malloc(len + 64);
	assert_non_null(g);
	memcpy(g, b, off[2]);
	memset(g + off[2], 0x33, 64);
	memcpy(g + off[2] + 64, b + off[2], len - off[2]);
	b[mid] ^= 0x5a;
	b[mid + 1] ^= 0xa5;
	memcpy(g + off[2] + 64, b + off[2], len - off[2]);
	n = decode_all(g, len + 64, f->recs, &d);
	assert_int_equal(n, f->n);
	assert_int_equal(dump_get_read_stats(d)->bytes_skipped, 64);
	assert_true(problems_mention(d, "unrecognised"));
	dump_close(d);
	free(g);
	free(b);
}

static void test_foreign_files(void **state)
{
	(void)state;
	struct dump_file *d;
	uint8_t junk[4096];
	struct dump_header h = { 0 };
	uint8_t frame[8 + sizeof(h)];

	rnd_bytes(junk, sizeof(junk));
	junk[0] = 0;
	assert_int_equal(dump_open_mem(junk, sizeof(junk), &d), -EPROTO);

	h.magic = DUMP_MAGIC;
	h.endian = RING_ENDIAN;
	h.version_major = 2;
	h.header_size = sizeof(h);
	h.record_size = sizeof(struct ring_record);
	h.chunk_records = 8;
	frame[0] = 0x5D; frame[1] = 0x2A; frame[2] = 0x4D; frame[3] = 0x18;
	frame[4] = (uint8_t)sizeof(h); frame[5] = 1; frame[6] = 0; frame[7] = 0;
	memcpy(frame + 8, &h, sizeof(h));
	assert_int_equal(dump_open_mem(frame, sizeof(frame), &d), -EPROTONOSUPPORT);
	h.version_major = 1;
	h.magic = __builtin_bswap64(DUMP_MAGIC);
	memcpy(frame + 8, &h, sizeof(h));
	assert_int_equal(dump_open_mem(frame, sizeof(frame), &d), -EPROTONOSUPPORT);
	h.magic = DUMP_MAGIC;
	h.chunk_records = DUMP_MAX_CHUNK_RECORDS + 1;
	memcpy(frame + 8, &h, sizeof(h));
	assert_int_equal(dump_open_mem(frame, sizeof(frame), &d), -EBADMSG);
	h.chunk_records = 8;
	h.record_size = 121;
	memcpy(frame + 8, &h, sizeof(h));
	assert_int_equal(dump_open_mem(frame, sizeof(frame), &d), -EBADMSG);
	/* a valid header with no chunks and no trailer: opens, nothing decoded, reported */
	h.record_size = sizeof(struct ring_record);
	memcpy(frame + 8, &h, sizeof(h));
	assert_int_equal(dump_open_mem(frame, sizeof(frame), &d), 0);
	struct ring_record rec;
	assert_int_equal(dump_next(d, &rec), 0);
	assert_false(dump_get_read_stats(d)->trailer_seen);
	dump_close(d);
	assert_int_equal(dump_open("/nonexistent/x.migdump", &d), -ENOENT);
}

/* A dump of a newer minor version: a longer header, longer domain entries, and a skippable frame
 * of a kind this reader does not know.  All of it must be read or skipped quietly. */
static void test_newer_minor(void **state)
{
	struct fixture *f = *state;
	struct dump_file *d;
	size_t len, off[16];
	uint8_t *b;

	assert_int_equal(dump_write(f->r, f->path, NULL, NULL), 0);
	b = slurp(f->path, &len);
	assert_int_equal(frame_offsets(b, len, off, 16), 5);
	struct dump_header h;
	memcpy(&h, b + 8, sizeof(h));
	size_t nd = h.domain_count, extra_h = 40, extra_e = 24;
	size_t es = sizeof(struct dump_domain) + extra_e;
	size_t body = sizeof(h) + extra_h + nd * es;
	size_t nlen = 8 + body + 12 + (len - off[1]);
	uint8_t *n = calloc(1, nlen);
	assert_non_null(n);
	h.version_minor = 7;
	h.header_size = (uint16_t)(sizeof(h) + extra_h);
	h.domain_entry_size = (uint32_t)es;
	memcpy(n, b, 4);
	n[4] = (uint8_t)body; n[5] = (uint8_t)(body >> 8); n[6] = (uint8_t)(body >> 16); n[7] = 0;
	memcpy(n + 8, &h, sizeof(h));
	for (size_t i = 0; i < nd; i++)
		memcpy(n + 8 + sizeof(h) + extra_h + i * es, b + 8 + sizeof(h) + i * sizeof(struct dump_domain),
		       sizeof(struct dump_domain));
	uint8_t *p = n + 8 + body;
	p[0] = 0x51; p[1] = 0x2A; p[2] = 0x4D; p[3] = 0x18; p[4] = 4; p[5] = p[6] = p[7] = 0;
	memcpy(p + 8, "idx!", 4);
	memcpy(p + 12, b + off[1], len - off[1]);

	size_t got = decode_all(n, nlen, f->recs, &d);
	assert_int_equal(got, f->n);
	assert_int_equal(dump_get_header(d)->version_minor, 7);
	assert_int_equal(dump_domain_count(d), 4);
	assert_string_equal(dump_domain_find(d, f->dom[1])->name, "dom,\"1\"");
	assert_null(dump_problem(d, 0));
	dump_close(d);
	free(n);
	free(b);
}

static void test_empty_ring(void **state)
{
	(void)state;
	char name[64], path[128];
	struct ring_create_opts o = { .slot_count = 64, .domain_slots = 4, .gid = (gid_t)-1 };
	struct ring_writer *w;
	struct ring_reader *r;
	struct dump_file *d;
	struct dump_stats st;
	struct ring_record rec;

	synth_ring_name(name, sizeof(name));
	o.name = name;
	snprintf(path, sizeof(path), "/tmp/migtune-test-empty-%d%s", (int)getpid(), DUMP_SUFFIX);
	assert_int_equal(ring_writer_open(&o, &w), 0);
	assert_int_equal(ring_reader_open(name, &r), 0);
	assert_int_equal(dump_write(r, path, NULL, &st), 0);
	assert_int_equal(st.records, 0);
	assert_int_equal(dump_open(path, &d), 0);
	assert_int_equal(dump_next(d, &rec), 0);
	assert_true(dump_get_read_stats(d)->trailer_seen);
	assert_null(dump_problem(d, 0));
	dump_close(d);
	/* an unwritable place fails cleanly and leaves no temporary file */
	assert_int_equal(dump_write(r, "/nonexistent-dir/x.migdump", NULL, &st), -ENOENT);
	ring_reader_close(r);
	ring_writer_close(w, true);
	unlink(path);
}

static void touch(const char *dir, const char *name, size_t size, time_t age_s)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	struct timespec ts[2] = { { time(NULL) - age_s, 0 }, { time(NULL) - age_s, 0 } };
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static bool exists(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void test_retention(void **state)
{
	(void)state;
	char dir[] = "/tmp/migtune-test-ret-XXXXXX";
	assert_non_null(mkdtemp(dir));
	touch(dir, "a" DUMP_SUFFIX, 1000, 5000);   /* too old */
	touch(dir, "b" DUMP_SUFFIX, 1000, 300);
	touch(dir, "c" DUMP_SUFFIX, 1000, 200);
	touch(dir, "d" DUMP_SUFFIX, 1000, 100);
	touch(dir, "notes.txt", 100000, 9000);     /* not a dump: never touched */
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/e%s", dir, DUMP_SUFFIX);
	assert_int_equal(mkdir(sub, 0755), 0);     /* a directory with the suffix: never touched */

	/* age 3600 removes a; 2500 bytes then removes b (oldest) so that c + d = 2000 remain */
	assert_int_equal(dump_retention(dir, 2500, 3600), 2);
	assert_false(exists(dir, "a" DUMP_SUFFIX));
	assert_false(exists(dir, "b" DUMP_SUFFIX));
	assert_true(exists(dir, "c" DUMP_SUFFIX));
	assert_true(exists(dir, "d" DUMP_SUFFIX));
	assert_true(exists(dir, "notes.txt"));
	assert_true(exists(dir, "e" DUMP_SUFFIX));
	/* no limits: nothing removed */
	assert_int_equal(dump_retention(dir, 0, 0), 0);
	assert_int_equal(dump_retention("/nonexistent-dir", 1, 1), -ENOENT);
	/* a limit smaller than the newest dump removes all but that one */
	assert_int_equal(dump_retention(dir, 10, 0), 1);
	assert_false(exists(dir, "c" DUMP_SUFFIX));
	assert_true(exists(dir, "d" DUMP_SUFFIX));

	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_dump_auto(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/migtune-test-auto-XXXXXX", sub[300], path[512], old[400];
	struct dump_file *d;
	struct ring_record rec;

	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/dumps", dir);      /* created on demand */
	snprintf(old, sizeof(old), "%s/old%s", sub, DUMP_SUFFIX);
	assert_int_equal(dump_auto(f->name, sub, "web/01", "failed", 0, 0, path, sizeof(path)), 0);
	assert_non_null(strstr(path, "/dumps/web_01-"));
	assert_non_null(strstr(path, "-failed" DUMP_SUFFIX));
	assert_int_equal(dump_open(path, &d), 0);
	size_t n = 0;
	while (dump_next(d, &rec) > 0)
		assert_records_equal(&rec, &f->recs[n++]);
	assert_int_equal(n, f->n);
	dump_close(d);
	/* an old dump beyond the age limit goes when the next one is written */
	touch(sub, "old" DUMP_SUFFIX, 10, 7200);
	char first[512];
	snprintf(first, sizeof(first), "%s", path);
	assert_int_equal(dump_auto(f->name, sub, "web/01", "failed", 0, 3600, path, sizeof(path)), 0);
	assert_int_equal(access(old, F_OK), -1);
	assert_int_equal(access(path, F_OK), 0);
	/* the same domain and reason within the same second gets a new name, never replaces */
	assert_int_equal(dump_auto(f->name, sub, "web/01", "failed", 0, 0, path, sizeof(path)), 0);
	assert_string_not_equal(path, first);
	assert_int_equal(access(first, F_OK), 0);
	assert_int_equal(dump_auto("/migtune-no-such-ring", sub, "x", "y", 0, 0, path, sizeof(path)), -ENOENT);

	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_auto_path(void **state)
{
	(void)state;
	char p[256];
	/* 2026-11-21 21:00:00 UTC */
	assert_int_equal(dump_auto_path("/var/lib/migtune/dumps", "web/01 prod", "failed",
					1795294800ull * 1000000000ull, p, sizeof(p)), 0);
	assert_string_equal(p, "/var/lib/migtune/dumps/web_01_prod-20261121T210000Z-failed.migdump");
	assert_int_equal(dump_auto_path("/d", "../x", "", 0, p, sizeof(p)), 0);
	assert_string_equal(p, "/d/ring-19700101T000000Z.migdump");
	assert_int_equal(dump_auto_path("/d", "x", "y", 0, p, 10), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_every_field, setup_big, teardown_ring),
		cmocka_unit_test(test_transform_inverse),
		cmocka_unit_test_setup_teardown(test_filters, setup_big, teardown_ring),
		cmocka_unit_test_setup_teardown(test_truncated, setup_big, teardown_ring),
		cmocka_unit_test_setup_teardown(test_corrupted_chunk, setup_big, teardown_ring),
		cmocka_unit_test(test_foreign_files),
		cmocka_unit_test_setup_teardown(test_newer_minor, setup_big, teardown_ring),
		cmocka_unit_test(test_empty_ring),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_auto_path),
		cmocka_unit_test_setup_teardown(test_dump_auto, setup_big, teardown_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
