/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dump files: writer, compression transform, tolerant reader, retention.  See dump.h and
 * docs/dump-format.md.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lz4frame.h>

#include "shm/dump.h"

_Static_assert(sizeof(struct ring_record) % 8 == 0, "records are transformed in 8-byte columns");
_Static_assert(sizeof(struct dump_header) == 256, "dump header layout");
_Static_assert(sizeof(struct dump_domain) == 128, "dump domain entry layout");
_Static_assert(sizeof(struct dump_chunk) == 32, "dump chunk header layout");
_Static_assert(sizeof(struct dump_trailer) == 64, "dump trailer layout");

/* The smallest header a reader accepts: everything up to the reserved tail of version 1.0. */
#define DUMP_HEADER_MIN offsetof(struct dump_header, writer_info)
_Static_assert(offsetof(struct dump_header, writer_info) == 208, "1.0's reserved tail");
#define DUMP_DOMAIN_MIN (offsetof(struct dump_domain, name) + 1)
#define DUMP_MAX_PROBLEMS 32u

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int domain_cmp(const void *a, const void *b);

/* ---- transform -------------------------------------------------------------------------------- */

/*
 * Per-key history for the column deltas.  Records of one migration resemble each other far more
 * than consecutive records of the ring (samples of different domains, NIC samples and events
 * interleave), so each column is predicted from the last record with the same (type, domain).
 * When a chunk has more keys than the table holds, the extra keys share one history per type:
 * still exact, just compressing less.  The table is rebuilt per chunk so chunks stay independent.
 */
#define KEY_SLOTS 1024u
#define KEY_FALLBACK 8u

struct key_table {
	size_t nwords;
	size_t used;
	uint64_t *keys;         /* KEY_SLOTS; 0 = empty (keys are stored + 1) */
	uint64_t *hist;         /* (KEY_SLOTS + KEY_FALLBACK) * nwords */
};

static int key_table_init(struct key_table *t, size_t nwords)
{
	t->nwords = nwords;
	t->used = 0;
	t->keys = calloc(KEY_SLOTS, sizeof(*t->keys));
	t->hist = calloc((size_t)(KEY_SLOTS + KEY_FALLBACK) * nwords, sizeof(*t->hist));
	if (!t->keys || !t->hist) {
		free(t->keys);
		free(t->hist);
		return -ENOMEM;
	}
	return 0;
}

static void key_table_free(struct key_table *t)
{
	free(t->keys);
	free(t->hist);
}

/* Fresh history for a chunk: chunks decode independently. */
static void key_table_reset(struct key_table *t)
{
	memset(t->keys, 0, KEY_SLOTS * sizeof(*t->keys));
	memset(t->hist, 0, (KEY_SLOTS + KEY_FALLBACK) * t->nwords * sizeof(*t->hist));
	t->used = 0;
}

static size_t key_table_bytes(const struct key_table *t)
{
	return KEY_SLOTS * sizeof(*t->keys) + (KEY_SLOTS + KEY_FALLBACK) * t->nwords * sizeof(*t->hist);
}

static uint64_t *key_history(struct key_table *t, const uint8_t *rec)
{
	uint16_t type;
	uint32_t domain;

	memcpy(&type, rec, sizeof(type));
	memcpy(&domain, rec + 4, sizeof(domain));
	uint64_t key = ((uint64_t)domain << 16 | type) + 1;
	size_t h = (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 54) & (KEY_SLOTS - 1);
	for (size_t probe = 0; probe < KEY_SLOTS; probe++) {
		size_t i = (h + probe) & (KEY_SLOTS - 1);
		if (t->keys[i] == key)
			return t->hist + i * t->nwords;
		if (t->keys[i] == 0) {
			/* Keep the table at most 3/4 full so probes stay short. */
			if (t->used >= KEY_SLOTS / 4 * 3)
				break;
			t->keys[i] = key;
			t->used++;
			return t->hist + i * t->nwords;
		}
	}
	size_t f = type < KEY_FALLBACK ? type : KEY_FALLBACK - 1;
	return t->hist + (KEY_SLOTS + f) * t->nwords;
}

/*
 * 8x8 byte transpose: byte r of ret[b] = byte b of x[r].  The shuffle moves whole 8-byte words
 * this way instead of single bytes: one store per column and 8 records rather than eight.
 */
static inline void transpose8(const uint64_t x[8], uint64_t ret[8])
{
	/* three rounds of block swaps: 1-byte blocks between rows 1 apart, 2-byte blocks between
	 * rows 2 apart, 4-byte blocks between rows 4 apart (written out: compilers leave the
	 * looped form with its branches) */
#define SWAP(a, b, shift, mask) do { \
		uint64_t t_ = (((a) >> (shift)) ^ (b)) & (mask); (b) ^= t_; (a) ^= t_ << (shift); \
	} while (0)
	const uint64_t m1 = UINT64_C(0x00FF00FF00FF00FF), m2 = UINT64_C(0x0000FFFF0000FFFF),
		       m4 = UINT64_C(0x00000000FFFFFFFF);
	uint64_t y0 = x[0], y1 = x[1], y2 = x[2], y3 = x[3], y4 = x[4], y5 = x[5], y6 = x[6], y7 = x[7];

	SWAP(y0, y1, 8, m1); SWAP(y2, y3, 8, m1); SWAP(y4, y5, 8, m1); SWAP(y6, y7, 8, m1);
	SWAP(y0, y2, 16, m2); SWAP(y1, y3, 16, m2); SWAP(y4, y6, 16, m2); SWAP(y5, y7, 16, m2);
	SWAP(y0, y4, 32, m4); SWAP(y1, y5, 32, m4); SWAP(y2, y6, 32, m4); SWAP(y3, y7, 32, m4);
#undef SWAP
	ret[0] = y0; ret[1] = y1; ret[2] = y2; ret[3] = y3;
	ret[4] = y4; ret[5] = y5; ret[6] = y6; ret[7] = y7;
}

/* Stored little-endian so that the shuffled layout is the same on every host. */
static inline void store_le64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, 8);
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

#define MAX_WORDS (DUMP_MAX_RECORD_SIZE / 8)

static inline void delta_record(const uint8_t *rec, size_t nwords, uint64_t *hist,
				uint64_t *prev_time, uint64_t *d)
{
	for (size_t j = 0; j < nwords; j++) {
		uint64_t w;
		memcpy(&w, rec + j * 8, 8);
		if (j == 0) {
			d[j] = w;
		} else if (j == 1) {
			d[j] = w - *prev_time;
			*prev_time = w;
		} else {
			d[j] = w - hist[j];
			hist[j] = w;
		}
	}
}

static void transform_words(const uint8_t *in, size_t n, size_t record_size, uint8_t *out,
			    struct key_table *t)
{
	size_t nwords = record_size / 8, i = 0;
	uint64_t prev_time = 0;
	uint64_t d[8][MAX_WORDS];

	for (; i + 8 <= n; i += 8) {
		for (size_t r = 0; r < 8; r++) {
			const uint8_t *rec = in + (i + r) * record_size;
			delta_record(rec, nwords, key_history(t, rec), &prev_time, d[r]);
		}
		for (size_t j = 0; j < nwords; j++) {
			uint64_t x[8], y[8];
			for (size_t r = 0; r < 8; r++)
				x[r] = d[r][j];
			transpose8(x, y);
			for (size_t b = 0; b < 8; b++)
				store_le64(out + (j * 8 + b) * n + i, y[b]);
		}
	}
	for (; i < n; i++) {
		const uint8_t *rec = in + i * record_size;
		delta_record(rec, nwords, key_history(t, rec), &prev_time, d[0]);
		for (size_t j = 0; j < nwords; j++) {
			uint8_t *col = out + (j * 8) * n + i;
			for (size_t b = 0; b < 8; b++, col += n)
				*col = (uint8_t)(d[0][j] >> (8 * b));
		}
	}
}

int dump_transform(const struct ring_record *recs, size_t n, uint8_t *out)
{
	struct key_table t;
	int r = key_table_init(&t, sizeof(*recs) / 8);

	if (r < 0)
		return r;
	transform_words((const uint8_t *)recs, n, sizeof(*recs), out, &t);
	key_table_free(&t);
	return 0;
}

static inline void undelta_record(uint8_t *rec, size_t nwords, const uint64_t *d,
				  struct key_table *t, uint64_t *prev_time)
{
	uint64_t *hist;

	memcpy(rec, &d[0], 8);
	hist = key_history(t, rec);
	for (size_t j = 1; j < nwords; j++) {
		uint64_t w;
		if (j == 1) {
			w = d[j] + *prev_time;
			*prev_time = w;
		} else {
			w = d[j] + hist[j];
			hist[j] = w;
		}
		memcpy(rec + j * 8, &w, 8);
	}
}

/* t has record_size / 8 words per key and is reset here. */
static void untransform_words(const uint8_t *in, size_t n, size_t record_size, uint8_t *out,
			      struct key_table *t)
{
	size_t nwords = record_size / 8, i = 0;
	uint64_t prev_time = 0;
	uint64_t d[8][MAX_WORDS];

	key_table_reset(t);
	for (; i + 8 <= n; i += 8) {
		for (size_t j = 0; j < nwords; j++) {
			uint64_t x[8], y[8];
			for (size_t b = 0; b < 8; b++)
				x[b] = load_le64(in + (j * 8 + b) * n + i);
			transpose8(x, y);
			for (size_t k = 0; k < 8; k++)
				d[k][j] = y[k];
		}
		for (size_t k = 0; k < 8; k++)
			undelta_record(out + (i + k) * record_size, nwords, d[k], t, &prev_time);
	}
	for (; i < n; i++) {
		for (size_t j = 0; j < nwords; j++) {
			const uint8_t *col = in + (j * 8) * n + i;
			uint64_t v = 0;
			for (size_t b = 0; b < 8; b++, col += n)
				v |= (uint64_t)*col << (8 * b);
			d[0][j] = v;
		}
		undelta_record(out + i * record_size, nwords, d[0], t, &prev_time);
	}
}

int dump_untransform(const uint8_t *in, size_t n, size_t record_size, uint8_t *out)
{
	struct key_table t;
	int r = key_table_init(&t, record_size / 8);

	if (r < 0)
		return r;
	untransform_words(in, n, record_size, out, &t);
	key_table_free(&t);
	return 0;
}

/* ---- writing ---------------------------------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static int write_skippable(int fd, uint32_t magic, const void *a, size_t alen, const void *b,
			   size_t blen)
{
	uint8_t fh[8];
	int r;

	if (alen + blen > UINT32_MAX)
		return -E2BIG;
	put_le32(fh, magic);
	put_le32(fh + 4, (uint32_t)(alen + blen));
	r = write_all(fd, fh, sizeof(fh));
	if (r == 0)
		r = write_all(fd, a, alen);
	if (r == 0 && blen)
		r = write_all(fd, b, blen);
	return r;
}

/*
 * The encoder streams: the header goes out first with what is known up front, records are
 * compressed a chunk at a time, and the trailer carries the final counts.  When the output is a
 * regular file the header is rewritten in place at the end so that it holds the final counts too;
 * on a pipe it keeps DUMP_F_COUNTS_IN_TRAILER.  Memory stays at one chunk whatever the ring size.
 */
struct encoder {
	int fd;
	bool seekable;
	off_t start;
	struct dump_header h;
	struct dump_domain *doms;
	size_t n_doms;
	LZ4F_preferences_t prefs;
	uint8_t *raw, *comp;
	size_t comp_cap;
	struct key_table keys;
	struct ring_record *buf;
	size_t nbuf;
	struct dump_stats st;
	uint64_t next_seq;
};

static void encoder_free(struct encoder *e)
{
	free(e->raw);
	free(e->comp);
	free(e->buf);
	free(e->doms);
	key_table_free(&e->keys);
}

static int encoder_begin(struct encoder *e, int fd, const struct dump_meta *meta)
{
	struct dump_header *h = &e->h;
	struct stat sb;

	if (meta->n_domains > DUMP_MAX_DOMAINS)
		return -E2BIG;
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		e->start = lseek(fd, 0, SEEK_CUR);
		e->seekable = e->start >= 0;
	}
	h->magic = DUMP_MAGIC;
	h->endian = RING_ENDIAN;
	h->version_major = DUMP_VERSION_MAJOR;
	h->version_minor = DUMP_VERSION_MINOR;
	h->header_size = sizeof(*h);
	h->record_size = sizeof(struct ring_record);
	h->chunk_records = DUMP_CHUNK_RECORDS;
	h->ring_abi_major = meta->ring_abi_major;
	h->ring_abi_minor = meta->ring_abi_minor;
	h->writer_pid = meta->writer_pid;
	h->writer_state = meta->writer_state;
	h->flags = meta->flags | DUMP_F_COUNTS_IN_TRAILER;
	h->created_real_ns = ring_now_real_ns();
	h->map_mono_ns = meta->map_mono_ns;
	h->map_real_ns = meta->map_real_ns;
	h->dropped_count = meta->dropped_count;
	h->filter_from_mono_ns = meta->filter_from_mono_ns;
	h->filter_to_mono_ns = meta->filter_to_mono_ns;
	h->domain_count = (uint32_t)meta->n_domains;
	h->domain_entry_size = sizeof(struct dump_domain);
	snprintf(h->hostname, sizeof(h->hostname), "%.*s", (int)sizeof(h->hostname) - 1, meta->hostname);
	h->writer_info = meta->writer_info;
	h->writer_info.reserved = 0;
	h->writer_info.policy[sizeof(h->writer_info.policy) - 1] = '\0';

	e->doms = calloc(meta->n_domains ? meta->n_domains : 1, sizeof(*e->doms));
	e->prefs.frameInfo.blockSizeID = LZ4F_max4MB;
	e->prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	size_t raw_cap = sizeof(struct dump_chunk) + (size_t)DUMP_CHUNK_RECORDS * sizeof(struct ring_record);
	e->comp_cap = LZ4F_compressFrameBound(raw_cap, &e->prefs);
	e->raw = malloc(raw_cap);
	e->comp = malloc(e->comp_cap);
	e->buf = malloc((size_t)DUMP_CHUNK_RECORDS * sizeof(*e->buf));
	if (!e->doms || !e->raw || !e->comp || !e->buf || key_table_init(&e->keys, sizeof(struct ring_record) / 8) < 0) {
		encoder_free(e);
		return -ENOMEM;
	}
	if (meta->n_domains)
		memcpy(e->doms, meta->domains, meta->n_domains * sizeof(*e->doms));
	e->n_doms = meta->n_domains;
	qsort(e->doms, e->n_doms, sizeof(*e->doms), domain_cmp);
	e->st.file_bytes = 8 + sizeof(*h) + e->n_doms * sizeof(struct dump_domain);
	e->next_seq = meta->first_seq;
	int r = write_skippable(fd, DUMP_FRAME_HEADER, h, sizeof(*h), e->doms,
				e->n_doms * sizeof(struct dump_domain));
	if (r < 0)
		encoder_free(e);
	return r;
}

static int encoder_chunk(struct encoder *e, const struct ring_record *recs, size_t k)
{
	struct dump_chunk c = {
		.magic = DUMP_CHUNK_MAGIC, .record_count = (uint32_t)k,
		.record_size = sizeof(*recs), .transform = DUMP_TRANSFORM_DELTA_SHUFFLE,
		.first_seq = e->next_seq, .first_mono_ns = recs[0].mono_ns,
	};
	struct key_table *t = &e->keys;

	memcpy(e->raw, &c, sizeof(c));
	key_table_reset(t);
	transform_words((const uint8_t *)recs, k, sizeof(*recs), e->raw + sizeof(c), t);
	size_t raw_len = sizeof(c) + k * sizeof(*recs);
	e->prefs.frameInfo.contentSize = raw_len;
	size_t z = LZ4F_compressFrame(e->comp, e->comp_cap, e->raw, raw_len, &e->prefs);
	if (LZ4F_isError(z))
		return -EIO;
	int r = write_all(e->fd, e->comp, z);
	if (r < 0)
		return r;
	for (size_t i = 0; i < k; i++) {
		uint64_t m = recs[i].mono_ns;
		/* multi-threaded writers can commit slightly out of time order */
		if (e->st.records + i == 0 || m < e->st.first_mono_ns)
			e->st.first_mono_ns = m;
		if (m > e->st.last_mono_ns)
			e->st.last_mono_ns = m;
		if (recs[i].domain != RING_NO_DOMAIN && e->n_doms) {
			/* the table is in index order (encoder_begin's callers build it so) */
			size_t lo = 0, hi = e->n_doms;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (e->doms[mid].index < recs[i].domain)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < e->n_doms && e->doms[lo].index == recs[i].domain &&
			    (!e->doms[lo].first_mono_ns || m < e->doms[lo].first_mono_ns))
				e->doms[lo].first_mono_ns = m;
		}
	}
	e->st.file_bytes += z;
	e->st.chunks++;
	e->st.records += k;
	e->next_seq += k;
	return 0;
}

static int encoder_end(struct encoder *e, uint64_t lost, uint64_t first_seq, uint64_t last_seq,
		       struct dump_stats *ret)
{
	int r = 0;

	if (e->nbuf) {
		r = encoder_chunk(e, e->buf, e->nbuf);
		e->nbuf = 0;
		if (r < 0)
			return r;
	}
	struct dump_trailer tr = {
		.magic = DUMP_TRAILER_MAGIC, .record_count = e->st.records, .chunk_count = e->st.chunks,
		.first_mono_ns = e->st.first_mono_ns, .last_mono_ns = e->st.last_mono_ns,
		.raw_bytes = e->st.records * sizeof(struct ring_record), .lost_count = lost,
	};
	r = write_skippable(e->fd, DUMP_FRAME_TRAILER, &tr, sizeof(tr), NULL, 0);
	if (r < 0)
		return r;
	e->st.file_bytes += 8 + sizeof(tr);
	e->st.lost = lost;
	e->st.raw_bytes = tr.raw_bytes;
	if (e->seekable) {
		/* the header now states the final counts, as if written in one go */
		struct dump_header *h = &e->h;
		h->flags &= ~DUMP_F_COUNTS_IN_TRAILER;
		h->record_count = e->st.records;
		h->first_mono_ns = e->st.first_mono_ns;
		h->last_mono_ns = e->st.last_mono_ns;
		h->lost_count = lost;
		h->first_seq = first_seq;
		h->last_seq = last_seq;
		if (pwrite(e->fd, h, sizeof(*h), e->start + 8) != (ssize_t)sizeof(*h) ||
		    pwrite(e->fd, e->doms, e->n_doms * sizeof(*e->doms), e->start + 8 + (off_t)sizeof(*h)) !=
			    (ssize_t)(e->n_doms * sizeof(*e->doms)))
			return errno ? -errno : -EIO;
	}
	if (ret)
		*ret = e->st;
	return 0;
}

int dump_encode_fd(int fd, const struct dump_meta *meta, const struct ring_record *recs, size_t n,
		   struct dump_stats *ret)
{
	struct encoder e;
	int r;

	assert(meta);
	assert(recs || n == 0);
	r = encoder_begin(&e, fd, meta);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i += DUMP_CHUNK_RECORDS)
		r = encoder_chunk(&e, recs + i, n - i < DUMP_CHUNK_RECORDS ? n - i : DUMP_CHUNK_RECORDS);
	if (r == 0)
		r = encoder_end(&e, meta->lost_count, meta->first_seq,
				n ? meta->first_seq + n - 1 : meta->first_seq, ret);
	encoder_free(&e);
	return r;
}

static bool filter_accepts(const struct dump_filter *f, const struct ring_record *rec)
{
	if (!f)
		return true;
	if (f->from_mono_ns && rec->mono_ns < f->from_mono_ns)
		return false;
	if (f->to_mono_ns && rec->mono_ns > f->to_mono_ns)
		return false;
	if (f->domains) {
		for (size_t i = 0; i < f->n_domains; i++)
			if (f->domains[i] == rec->domain)
				return true;
		return false;
	}
	return true;
}

static bool filter_keeps_domain(const struct dump_filter *f, uint32_t idx)
{
	if (!f || !f->domains)
		return true;
	for (size_t i = 0; i < f->n_domains; i++)
		if (f->domains[i] == idx)
			return true;
	return false;
}

int dump_write_fd(struct ring_reader *r, int fd, const struct dump_filter *f, struct dump_stats *ret)
{
	struct ring_header h;
	struct dump_meta meta = { 0 };
	struct dump_domain *doms = NULL;
	struct encoder e;
	size_t ndom = 0;
	uint64_t lost = 0, seq = 0, first_seq = 0, last_seq = 0;
	bool any = false;
	int rc;

	rc = ring_reader_snapshot_header(r, &h);
	if (rc < 0)
		return rc;

	/* The domain table: every entry the ring still holds (that the filter keeps).  It is small
	 * (domain_slots entries) and known before the records, so the header can go out first. */
	uint64_t dn = h.domain_next, dfirst = dn > h.domain_slots ? dn - h.domain_slots : 0;
	doms = calloc(dn - dfirst ? dn - dfirst : 1, sizeof(*doms));
	if (!doms)
		return -ENOMEM;
	for (uint64_t i = dfirst; i < dn && i < RING_NO_DOMAIN; i++) {
		struct dump_domain *d = &doms[ndom];
		if (!filter_keeps_domain(f, (uint32_t)i) ||
		    ring_domain_lookup(r, (uint32_t)i, d->uuid, d->name) < 0)
			continue;
		d->index = (uint32_t)i;
		ndom++;
	}

	memcpy(meta.hostname, h.hostname, sizeof(meta.hostname));
	meta.hostname[sizeof(meta.hostname) - 1] = '\0';
	meta.writer_pid = h.writer_pid;
	meta.writer_state = h.writer_state;
	meta.writer_info = h.info;
	meta.ring_abi_major = h.abi_major;
	meta.ring_abi_minor = h.abi_minor;
	meta.map_mono_ns = h.map_mono_ns;
	meta.map_real_ns = h.map_real_ns;
	meta.dropped_count = h.dropped;
	if (f && f->domains)
		meta.flags |= DUMP_F_FILTER_DOMAIN;
	if (f && (f->from_mono_ns || f->to_mono_ns)) {
		meta.flags |= DUMP_F_FILTER_TIME;
		meta.filter_from_mono_ns = f->from_mono_ns;
		meta.filter_to_mono_ns = f->to_mono_ns;
	}
	meta.domains = doms;
	meta.n_domains = ndom;
	rc = encoder_begin(&e, fd, &meta);
	free(doms);
	if (rc < 0)
		return rc;

	/* Stop at the head seen now: a busy writer must not keep the dump running forever. */
	uint64_t end = ring_reader_head(r);
	ring_reader_seek_oldest(r);
	uint64_t waited_ns = 0;
	while (ring_reader_cursor(r) < end) {
		struct ring_record *rec = &e.buf[e.nbuf];
		rc = ring_read(r, rec, &seq, &lost);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			/* A slot before `end` still being written (the agent dumping its own ring while
			 * another of its threads appends): the reader gives a live writer a bounded
			 * time to commit it, then counts it lost.  Wait for that rather than stop. */
			if (waited_ns >= 500 * UINT64_C(1000000))
				break;
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
			waited_ns += 1000000;
			continue;
		}
		if (!filter_accepts(f, rec))
			continue;
		if (!any)
			first_seq = seq;
		any = true;
		last_seq = seq;
		/* the record is already in the encoder's buffer: count it in */
		if (++e.nbuf == DUMP_CHUNK_RECORDS) {
			e.nbuf = 0;
			rc = encoder_chunk(&e, e.buf, DUMP_CHUNK_RECORDS);
			if (rc < 0)
				goto out;
		}
	}
	e.h.first_seq = first_seq;
	rc = encoder_end(&e, lost, first_seq, last_seq, ret);
out:
	encoder_free(&e);
	return rc;
}

/* Makes a rename in path's directory durable: without it a crash can leave the directory
 * without the new name although the file's data was synced. */
static int fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	int fd, r = 0;

	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)   /* EINVAL: a file system that cannot sync one */
		r = -errno;
	close(fd);
	return r;
}

int dump_write(struct ring_reader *r, const char *path, const struct dump_filter *f,
	       struct dump_stats *ret)
{
	char *tmp = NULL;
	int fd, rc;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		free(tmp);
		return rc;
	}
	rc = fchmod(fd, 0640) < 0 ? -errno : 0;
	if (rc == 0)
		rc = dump_write_fd(r, fd, f, ret);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc < 0 ? rc : fsync_dir_of(path);
}

/* ---- retention -------------------------------------------------------------------------------- */

struct dump_entry {
	char *name;
	time_t mtime;
	uint64_t size;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct dump_entry *x = a, *y = b;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool has_dump_suffix(const char *name)
{
	size_t l = strlen(name), s = strlen(DUMP_SUFFIX);
	return l > s && strcmp(name + l - s, DUMP_SUFFIX) == 0;
}

int dump_retention(const char *dir, uint64_t max_bytes, uint64_t max_age_s)
{
	struct dump_entry *ents = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	int removed = 0, first_err = 0, rc = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	time_t now = time(NULL);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat sb;
		if (!has_dump_suffix(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct dump_entry *ne = realloc(ents, ncap * sizeof(*ents));
			if (!ne) {
				rc = -ENOMEM;
				goto out;
			}
			ents = ne;
			cap = ncap;
		}
		ents[n].name = strdup(de->d_name);
		if (!ents[n].name) {
			rc = -ENOMEM;
			goto out;
		}
		ents[n].mtime = sb.st_mtime;
		ents[n].size = (uint64_t)sb.st_size;
		total += ents[n].size;
		n++;
	}
	if (n)
		qsort(ents, n, sizeof(*ents), entry_cmp);
	for (size_t i = 0; i < n; i++) {
		bool too_old = max_age_s && now > ents[i].mtime && (uint64_t)(now - ents[i].mtime) > max_age_s;
		/* the newest dump is kept whatever its size: it is the one someone is about to read */
		bool too_big = max_bytes && total > max_bytes && i + 1 < n;
		if (!too_old && !too_big)
			continue;
		if (unlinkat(dirfd(d), ents[i].name, 0) < 0) {
			if (errno != ENOENT && !first_err)
				first_err = -errno;
			continue;
		}
		total -= ents[i].size;
		removed++;
	}
	rc = removed ? removed : first_err;
out:
	for (size_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	closedir(d);
	return rc;
}

int dump_auto_path(const char *dir, const char *domain_name, const char *why, uint64_t real_ns,
		   char *ret, size_t len)
{
	char name[RING_NAME_MAX + 1], reason[32], stamp[32];
	time_t t = (time_t)(real_ns / 1000000000u);
	struct tm tm;
	size_t i;

	for (i = 0; domain_name && domain_name[i] && i < sizeof(name) - 1; i++) {
		char c = domain_name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-';
		name[i] = ok ? c : '_';
	}
	name[i] = '\0';
	if (i == 0 || name[0] == '.')
		snprintf(name, sizeof(name), "%s", "ring");
	for (i = 0; why && why[i] && i < sizeof(reason) - 1; i++) {
		char c = why[i];
		reason[i] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') ? c : '_';
	}
	reason[i] = '\0';
	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	int k = snprintf(ret, len, "%s/%s-%s%s%s%s", dir, name, stamp, reason[0] ? "-" : "", reason,
			 DUMP_SUFFIX);
	if (k < 0 || (size_t)k >= len)
		return -ENAMETOOLONG;
	return 0;
}

int dump_auto(const char *ring_name, const char *dir, const char *domain_name, const char *why,
	      uint64_t max_bytes, uint64_t max_age_s, char *ret_path, size_t len)
{
	struct ring_reader *r;
	char path[4096];
	int rc;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	rc = dump_auto_path(dir, domain_name, why, ring_now_real_ns(), path, sizeof(path));
	if (rc < 0)
		return rc;
	/* two dumps of one domain within a second: number the later ones rather than replace */
	size_t base = strlen(path) - strlen(DUMP_SUFFIX);
	for (int k = 2; access(path, F_OK) == 0; k++) {
		if (k > 999 || base + 5 + strlen(DUMP_SUFFIX) >= sizeof(path))
			return -EEXIST;
		snprintf(path + base, sizeof(path) - base, "-%d%s", k, DUMP_SUFFIX);
	}
	/* Retention first: on a full disk the old dumps past the limits must make room for the
	 * new one, which is the one someone is about to read. */
	if (max_bytes || max_age_s)
		(void)dump_retention(dir, max_bytes, max_age_s);
	rc = ring_reader_open(ring_name, &r);
	if (rc < 0)
		return rc;
	rc = dump_write(r, path, NULL, NULL);
	ring_reader_close(r);
	if (rc < 0)
		return rc;
	if (max_bytes || max_age_s) {
		/* again with the new dump counted; it is the newest file, which retention keeps */
		(void)dump_retention(dir, max_bytes, max_age_s);
	}
	if (ret_path && snprintf(ret_path, len, "%s", path) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- reading ---------------------------------------------------------------------------------- */

struct dump_file {
	const uint8_t *buf;
	size_t len;
	uint8_t *owned;
	struct dump_limits lim;
	struct dump_header hdr;
	uint64_t declared;      /* records the header counts (UINT64_MAX: only the trailer does) */
	struct dump_domain *domains;
	size_t n_domains;
	size_t data_start;
	size_t pos;
	LZ4F_dctx *dctx;
	uint8_t *chunk;         /* decompressed chunk, chunk_cap bytes once the first is decoded */
	size_t chunk_cap;
	uint8_t *recs;          /* records of the current chunk (chunk_cap bytes too) */
	struct key_table keys;  /* the transform's history, reused chunk after chunk */
	size_t rec_i, rec_n;
	uint64_t chunk_index;
	struct dump_trailer trailer;
	struct dump_read_stats st;
	bool ended;
	int error;              /* -EFBIG once a limit stopped the decoding */
	char *problems[DUMP_MAX_PROBLEMS];
	size_t n_problems;
	uint64_t suppressed;
};

static void limits_fill(struct dump_limits *l, const struct dump_limits *in)
{
	*l = in ? *in : (struct dump_limits){ 0 };
	if (!l->max_file_bytes)
		l->max_file_bytes = DUMP_DEFAULT_MAX_FILE_BYTES;
	if (!l->max_records)
		l->max_records = DUMP_DEFAULT_MAX_RECORDS;
	if (!l->max_decoded_bytes)
		l->max_decoded_bytes = DUMP_DEFAULT_MAX_DECODED_BYTES;
	if (!l->max_chunk_bytes)
		l->max_chunk_bytes = DUMP_DEFAULT_MAX_CHUNK_BYTES;
}

__attribute__((format(printf, 2, 3)))
static void problem(struct dump_file *d, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (d->n_problems >= DUMP_MAX_PROBLEMS - 1) {
		d->suppressed++;
		free(d->problems[DUMP_MAX_PROBLEMS - 1]);
		d->problems[DUMP_MAX_PROBLEMS - 1] = NULL;
		if (asprintf(&s, "... and %llu more problems", (unsigned long long)d->suppressed) >= 0)
			d->problems[DUMP_MAX_PROBLEMS - 1] = s;
		d->n_problems = DUMP_MAX_PROBLEMS;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0)
		d->problems[d->n_problems++] = s;
	va_end(ap);
}

/* A limit is reached: decoding stops here, for good (until dump_rewind). */
__attribute__((format(printf, 2, 3)))
static void refuse(struct dump_file *d, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0) {
		problem(d, "%s", s);
		free(s);
	}
	va_end(ap);
	d->st.refused = true;
	d->error = -EFBIG;
	d->ended = true;
	d->rec_i = d->rec_n = 0;
}

static int domain_cmp(const void *a, const void *b)
{
	const struct dump_domain *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int parse_header(struct dump_file *d)
{
	const uint8_t *p = d->buf;
	uint64_t magic;

	if (d->len < 4 || get_le32(p) != DUMP_FRAME_HEADER)
		return -EPROTO;
	if (d->len < 8)
		return -EBADMSG;
	size_t fsize = get_le32(p + 4);
	if (fsize > d->len - 8)
		return -EBADMSG;
	p += 8;
	if (fsize < sizeof(magic))
		return -EBADMSG;
	memcpy(&magic, p, sizeof(magic));
	if (magic == __builtin_bswap64(DUMP_MAGIC))
		return -EPROTONOSUPPORT;
	if (magic != DUMP_MAGIC)
		return -EPROTO;
	if (fsize < DUMP_HEADER_MIN)
		return -EBADMSG;
	struct dump_header h = { 0 };
	memcpy(&h, p, DUMP_HEADER_MIN);
	if (h.endian != RING_ENDIAN)
		return -EPROTONOSUPPORT;
	if (h.version_major != DUMP_VERSION_MAJOR)
		return -EPROTONOSUPPORT;
	if (h.header_size < DUMP_HEADER_MIN || h.header_size > fsize)
		return -EBADMSG;
	memcpy(&h, p, h.header_size < sizeof(h) ? h.header_size : sizeof(h));
	if (h.record_size < 16 || h.record_size > DUMP_MAX_RECORD_SIZE || h.record_size % 8)
		return -EBADMSG;
	if (h.chunk_records == 0 || h.chunk_records > DUMP_MAX_CHUNK_RECORDS)
		return -EBADMSG;
	h.hostname[sizeof(h.hostname) - 1] = '\0';
	h.writer_info.policy[sizeof(h.writer_info.policy) - 1] = '\0';
	d->declared = h.flags & DUMP_F_COUNTS_IN_TRAILER ? UINT64_MAX : h.record_count;
	if (d->declared != UINT64_MAX && d->declared > d->lim.max_records)
		return -EBADMSG;        /* more records than any ring holds */
	d->hdr = h;

	size_t es = h.domain_entry_size, avail = fsize - h.header_size;
	size_t nd = h.domain_count;
	if (nd && (es < DUMP_DOMAIN_MIN || es > 4096)) {
		problem(d, "domain table entries of %zu bytes cannot be read; domains shown by index", es);
		nd = 0;
	} else if (nd && nd > avail / es) {
		problem(d, "domain table cut short: %zu of %u entries present", avail / es, h.domain_count);
		nd = avail / es;
	}
	d->domains = calloc(nd ? nd : 1, sizeof(*d->domains));
	if (!d->domains)
		return -ENOMEM;
	for (size_t i = 0; i < nd; i++) {
		struct dump_domain *e = &d->domains[i];
		memcpy(e, p + h.header_size + i * es, es < sizeof(*e) ? es : sizeof(*e));
		e->name[RING_NAME_MAX] = '\0';
	}
	d->n_domains = nd;
	qsort(d->domains, nd, sizeof(*d->domains), domain_cmp);
	d->data_start = 8 + fsize;
	d->pos = d->data_start;

	/* The chunk buffers are allocated with the first chunk: a file with none costs nothing. */
	uint64_t cap = sizeof(struct dump_chunk) + (uint64_t)h.chunk_records * h.record_size;
	d->chunk_cap = (size_t)(cap < d->lim.max_chunk_bytes ? cap : d->lim.max_chunk_bytes);
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d->dctx, LZ4F_VERSION)))
		return -ENOMEM;
	return 0;
}

int dump_open_mem_limits(const void *buf, size_t len, const struct dump_limits *lim,
			 struct dump_file **ret)
{
	struct dump_file *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	limits_fill(&d->lim, lim);
	d->buf = buf;
	d->len = len;
	r = parse_header(d);
	if (r < 0) {
		dump_close(d);
		return r;
	}
	*ret = d;
	return 0;
}

int dump_open_mem(const void *buf, size_t len, struct dump_file **ret)
{
	return dump_open_mem_limits(buf, len, NULL, ret);
}

int dump_open(const char *path, struct dump_file **ret)
{
	return dump_open_limits(path, NULL, ret);
}

int dump_open_limits(const char *path, const struct dump_limits *lim_in, struct dump_file **ret)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	struct dump_limits lim;
	struct stat sb;
	int fd, r;

	limits_fill(&lim, lim_in);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		goto fail;
	}
	if (S_ISDIR(sb.st_mode)) {
		r = -EISDIR;
		goto fail;
	}
	if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > lim.max_file_bytes) {
		r = -EFBIG;
		goto fail;
	}
	cap = S_ISREG(sb.st_mode) && sb.st_size > 0 ? (size_t)sb.st_size + 1 : 65536;
	for (;;) {
		if (len > lim.max_file_bytes) {
			r = -EFBIG;     /* a pipe, or a file that grew while read */
			goto fail;
		}
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				r = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		if (!buf && !(buf = malloc(cap))) {
			r = -ENOMEM;
			goto fail;
		}
		ssize_t k = read(fd, buf + len, cap - len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	struct dump_file *d;
	r = dump_open_mem_limits(buf, len, &lim, &d);
	if (r < 0) {
		free(buf);
		return r;
	}
	d->owned = buf;
	*ret = d;
	return 0;
fail:
	free(buf);
	close(fd);
	return r;
}

void dump_close(struct dump_file *d)
{
	if (!d)
		return;
	if (d->dctx)
		LZ4F_freeDecompressionContext(d->dctx);
	for (size_t i = 0; i < d->n_problems; i++)
		free(d->problems[i]);
	free(d->domains);
	free(d->chunk);
	free(d->recs);
	if (d->keys.keys)
		key_table_free(&d->keys);
	free(d->owned);
	free(d);
}

const struct dump_limits *dump_get_limits(const struct dump_file *d)
{
	return &d->lim;
}

size_t dump_memory_bytes(const struct dump_file *d)
{
	size_t n = sizeof(*d) + d->n_domains * sizeof(*d->domains);

	if (d->owned)
		n += d->len;
	if (d->chunk)
		n += 2 * d->chunk_cap;
	if (d->keys.keys)
		n += key_table_bytes(&d->keys);
	for (size_t i = 0; i < d->n_problems; i++)
		n += strlen(d->problems[i]) + 1;
	return n;
}

const struct dump_header *dump_get_header(const struct dump_file *d)
{
	return &d->hdr;
}

size_t dump_domain_count(const struct dump_file *d)
{
	return d->n_domains;
}

const struct dump_domain *dump_domain_at(const struct dump_file *d, size_t i)
{
	return i < d->n_domains ? &d->domains[i] : NULL;
}

const struct dump_domain *dump_domain_find(const struct dump_file *d, uint32_t index)
{
	struct dump_domain key = { .index = index };
	if (!d->n_domains)
		return NULL;
	return bsearch(&key, d->domains, d->n_domains, sizeof(key), domain_cmp);
}

uint64_t dump_mono_to_real_ns(const struct dump_file *d, uint64_t mono_ns)
{
	return d->hdr.map_real_ns + (mono_ns - d->hdr.map_mono_ns);
}

const struct dump_read_stats *dump_get_read_stats(const struct dump_file *d)
{
	return &d->st;
}

const char *dump_problem(const struct dump_file *d, size_t i)
{
	return i < d->n_problems ? d->problems[i] : NULL;
}

static bool is_frame_magic(uint32_t m)
{
	return m == DUMP_FRAME_LZ4 || (m & 0xFFFFFFF0u) == 0x184D2A50u;
}

/* Skips to the next plausible frame start at or after from; what lies between is lost. */
static void resync(struct dump_file *d, size_t from)
{
	size_t p = from;

	while (p + 4 <= d->len && !is_frame_magic(get_le32(d->buf + p)))
		p++;
	if (p + 4 > d->len)
		p = d->len;
	d->st.bytes_skipped += p - d->pos;
	d->pos = p;
}

static bool chunk_buffers(struct dump_file *d)
{
	if (d->chunk)
		return true;
	d->chunk = malloc(d->chunk_cap);
	d->recs = malloc(d->chunk_cap);
	if (d->chunk && d->recs && key_table_init(&d->keys, d->hdr.record_size / 8) == 0)
		return true;
	free(d->chunk);
	free(d->recs);
	d->chunk = d->recs = NULL;
	problem(d, "out of memory for a chunk of %zu bytes; decoding stopped", d->chunk_cap);
	d->error = -ENOMEM;
	d->ended = true;
	return false;
}

static void decode_chunk(struct dump_file *d)
{
	size_t start = d->pos;
	const uint8_t *src = d->buf + start;
	size_t src_left = d->len - start;
	uint8_t *dst;
	size_t dst_left = d->chunk_cap;
	uint64_t idx = d->chunk_index++;

	if (!chunk_buffers(d))
		return;
	dst = d->chunk;
	LZ4F_resetDecompressionContext(d->dctx);
	for (;;) {
		/* Whatever the decompressor reads or writes counts against max_decoded_bytes: half
		 * of what is left may go either way, so the sum never passes it. */
		uint64_t left = d->lim.max_decoded_bytes - d->st.decoded_bytes;
		if (left < 2) {
			refuse(d, "decompressing past %llu bytes (%.0f times the file's size): decoding "
			       "stopped; no dump a ring yields expands like this",
			       (unsigned long long)d->lim.max_decoded_bytes,
			       (double)d->lim.max_decoded_bytes / (double)(d->len ? d->len : 1));
			return;
		}
		size_t dsz = dst_left < left / 2 ? dst_left : (size_t)(left / 2);
		size_t ssz = src_left < left / 2 ? src_left : (size_t)(left / 2);
		size_t hint = LZ4F_decompress(d->dctx, dst, &dsz, src, &ssz, NULL);
		d->st.decoded_bytes += dsz + ssz;
		if (LZ4F_isError(hint)) {
			problem(d, "chunk %llu at byte %zu is damaged (%s); its records are skipped",
				(unsigned long long)idx, start, LZ4F_getErrorName(hint));
			d->st.chunks_bad++;
			resync(d, start + 4);
			return;
		}
		dst += dsz;
		dst_left -= dsz;
		src += ssz;
		src_left -= ssz;
		if (hint == 0)
			break;
		if (ssz == 0 && dsz == 0) {
			if (src_left == 0) {
				problem(d, "chunk %llu at byte %zu is cut short: the file ends inside it",
					(unsigned long long)idx, start);
				d->st.truncated = true;
			} else {
				problem(d, "chunk %llu at byte %zu is larger than the header allows (or %zu "
					"bytes, the reader's limit); skipped", (unsigned long long)idx, start,
					d->chunk_cap);
			}
			d->st.chunks_bad++;
			resync(d, src_left == 0 ? d->len : start + 4);
			return;
		}
	}
	size_t consumed = (size_t)(src - (d->buf + start));
	size_t produced = (size_t)(dst - d->chunk);
	struct dump_chunk c;
	const char *why = NULL;
	if (produced < sizeof(c)) {
		why = "too short for a chunk header";
	} else {
		memcpy(&c, d->chunk, sizeof(c));
		if (c.magic != DUMP_CHUNK_MAGIC)
			why = "bad chunk magic";
		else if (c.record_size != d->hdr.record_size)
			why = "record size differs from the header's";
		else if (c.record_count == 0 || c.record_count > d->hdr.chunk_records)
			why = "record count out of range";
		else if (c.transform != DUMP_TRANSFORM_DELTA_SHUFFLE && c.transform != DUMP_TRANSFORM_NONE)
			why = "unknown transform";
		else if (produced != sizeof(c) + (size_t)c.record_count * c.record_size)
			why = "length does not match its record count";
	}
	d->pos = start + consumed;
	if (why) {
		problem(d, "chunk %llu at byte %zu: %s; skipped", (unsigned long long)idx, start, why);
		d->st.chunks_bad++;
		return;
	}
	if (d->st.records + c.record_count > d->lim.max_records) {
		refuse(d, "chunk %llu at byte %zu brings the records past %llu, more than any ring "
		       "holds: decoding stopped", (unsigned long long)idx, start,
		       (unsigned long long)d->lim.max_records);
		return;
	}
	if (d->st.records + c.record_count > d->declared) {
		refuse(d, "chunk %llu at byte %zu brings the records past the %llu the header declares: "
		       "decoding stopped", (unsigned long long)idx, start,
		       (unsigned long long)d->declared);
		return;
	}
	if (c.transform == DUMP_TRANSFORM_NONE)
		memcpy(d->recs, d->chunk + sizeof(c), (size_t)c.record_count * c.record_size);
	else
		untransform_words(d->chunk + sizeof(c), c.record_count, c.record_size, d->recs, &d->keys);
	d->rec_n = c.record_count;
	d->rec_i = 0;
	d->st.chunks_ok++;
}

static void finish(struct dump_file *d)
{
	d->ended = true;
	uint64_t promised = d->st.trailer_seen ? d->trailer.record_count : d->hdr.record_count;
	if (promised > d->st.records)
		d->st.records_missing = promised - d->st.records;
	if (!d->st.trailer_seen && (d->hdr.flags & DUMP_F_COUNTS_IN_TRAILER))
		problem(d, "the file ends without its trailer: it was cut short (%llu records decoded)",
			(unsigned long long)d->st.records);
	else if (!d->st.trailer_seen)
		problem(d, "the file ends without its trailer: it was cut short (%llu of %llu records decoded)",
			(unsigned long long)d->st.records, (unsigned long long)d->hdr.record_count);
	else if (d->st.records_missing)
		problem(d, "%llu of %llu records could not be decoded",
			(unsigned long long)d->st.records_missing, (unsigned long long)promised);
}

static void next_frame(struct dump_file *d)
{
	if (d->pos >= d->len) {
		finish(d);
		return;
	}
	if (d->len - d->pos < 4) {
		problem(d, "%zu stray bytes at the end of the file", d->len - d->pos);
		d->st.bytes_skipped += d->len - d->pos;
		d->st.truncated = true;
		d->pos = d->len;
		return;
	}
	uint32_t magic = get_le32(d->buf + d->pos);
	if (magic == DUMP_FRAME_LZ4) {
		decode_chunk(d);
		return;
	}
	if ((magic & 0xFFFFFFF0u) == 0x184D2A50u) {
		if (d->len - d->pos < 8) {
			problem(d, "frame at byte %zu is cut short", d->pos);
			d->st.truncated = true;
			resync(d, d->len);
			return;
		}
		size_t size = get_le32(d->buf + d->pos + 4);
		if (size > d->len - d->pos - 8) {
			problem(d, "frame at byte %zu is cut short", d->pos);
			d->st.truncated = true;
			resync(d, d->len);
			return;
		}
		const uint8_t *body = d->buf + d->pos + 8;
		if (magic == DUMP_FRAME_TRAILER && size >= sizeof(struct dump_trailer)) {
			struct dump_trailer t;
			memcpy(&t, body, sizeof(t));
			if (t.magic == DUMP_TRAILER_MAGIC) {
				d->trailer = t;
				d->st.trailer_seen = true;
				if (d->hdr.flags & DUMP_F_COUNTS_IN_TRAILER) {
					d->hdr.record_count = t.record_count;
					d->hdr.first_mono_ns = t.first_mono_ns;
					d->hdr.last_mono_ns = t.last_mono_ns;
					d->hdr.lost_count = t.lost_count;
				}
			} else {
				problem(d, "damaged trailer at byte %zu", d->pos);
			}
		} else if (magic == DUMP_FRAME_TRAILER || magic == DUMP_FRAME_HEADER) {
			problem(d, "unexpected %s frame at byte %zu; skipped",
				magic == DUMP_FRAME_HEADER ? "header" : "trailer", d->pos);
		}
		/* Other skippable frames belong to newer writers: skipped on purpose. */
		d->pos += 8 + size;
		return;
	}
	problem(d, "unrecognised bytes at %zu; looking for the next frame", d->pos);
	resync(d, d->pos + 1);
}

int dump_next(struct dump_file *d, struct ring_record *ret)
{
	while (d->rec_i >= d->rec_n) {
		if (d->ended)
			return d->error;
		d->rec_i = d->rec_n = 0;
		next_frame(d);
	}
	size_t rs = d->hdr.record_size;
	memset(ret, 0, sizeof(*ret));
	memcpy(ret, d->recs + d->rec_i * rs, rs < sizeof(*ret) ? rs : sizeof(*ret));
	d->rec_i++;
	d->st.records++;
	return 1;
}

void dump_rewind(struct dump_file *d)
{
	for (size_t i = 0; i < d->n_problems; i++) {
		free(d->problems[i]);
		d->problems[i] = NULL;   /* problem() frees the last slot when the list is full */
	}
	d->n_problems = 0;
	d->suppressed = 0;
	memset(&d->st, 0, sizeof(d->st));
	memset(&d->trailer, 0, sizeof(d->trailer));
	d->pos = d->data_start;
	d->rec_i = d->rec_n = 0;
	d->chunk_index = 0;
	d->ended = false;
	d->error = 0;
}
