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

#include "tools/dump.h"

_Static_assert(sizeof(struct ring_record) % 8 == 0, "records are transformed in 8-byte columns");
_Static_assert(sizeof(struct dump_header) == 256, "dump header layout");
_Static_assert(sizeof(struct dump_domain) == 128, "dump domain entry layout");
_Static_assert(sizeof(struct dump_chunk) == 32, "dump chunk header layout");
_Static_assert(sizeof(struct dump_trailer) == 64, "dump trailer layout");

/* The smallest header a reader accepts: everything up to the reserved tail of version 1.0. */
#define DUMP_HEADER_MIN offsetof(struct dump_header, reserved)
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

static void transform_words(const uint8_t *in, size_t n, size_t record_size, uint8_t *out,
			    struct key_table *t)
{
	size_t nwords = record_size / 8;
	uint64_t prev_time = 0;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *rec = in + i * record_size;
		uint64_t *hist = key_history(t, rec);
		for (size_t j = 0; j < nwords; j++) {
			uint64_t w, d;
			memcpy(&w, rec + j * 8, 8);
			if (j == 0) {
				d = w;
			} else if (j == 1) {
				d = w - prev_time;
				prev_time = w;
			} else {
				d = w - hist[j];
				hist[j] = w;
			}
			uint8_t *col = out + (j * 8) * n + i;
			for (size_t b = 0; b < 8; b++, col += n)
				*col = (uint8_t)(d >> (8 * b));
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

static int untransform_words(const uint8_t *in, size_t n, size_t record_size, uint8_t *out)
{
	size_t nwords = record_size / 8;
	uint64_t prev_time = 0;
	struct key_table t;
	int r = key_table_init(&t, nwords);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		uint8_t *rec = out + i * record_size;
		uint64_t *hist = NULL;
		for (size_t j = 0; j < nwords; j++) {
			const uint8_t *col = in + (j * 8) * n + i;
			uint64_t d = 0, w;
			for (size_t b = 0; b < 8; b++, col += n)
				d |= (uint64_t)*col << (8 * b);
			if (j == 0) {
				w = d;
				memcpy(rec, &w, 8);
				hist = key_history(&t, rec);
			} else if (j == 1) {
				w = d + prev_time;
				prev_time = w;
			} else {
				w = d + hist[j];
				hist[j] = w;
			}
			memcpy(rec + j * 8, &w, 8);
		}
	}
	key_table_free(&t);
	return 0;
}

int dump_untransform(const uint8_t *in, size_t n, size_t record_size, uint8_t *out)
{
	return untransform_words(in, n, record_size, out);
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

int dump_encode_fd(int fd, const struct dump_meta *meta, const struct ring_record *recs, size_t n,
		   struct dump_stats *ret)
{
	struct dump_header h = { 0 };
	struct dump_stats st = { 0 };
	LZ4F_preferences_t prefs = { 0 };
	uint8_t *raw = NULL, *comp = NULL;
	size_t comp_cap;
	int r;

	assert(meta);
	assert(recs || n == 0);
	if (meta->n_domains > DUMP_MAX_DOMAINS)
		return -E2BIG;

	h.magic = DUMP_MAGIC;
	h.endian = RING_ENDIAN;
	h.version_major = DUMP_VERSION_MAJOR;
	h.version_minor = DUMP_VERSION_MINOR;
	h.header_size = sizeof(h);
	h.record_size = sizeof(struct ring_record);
	h.chunk_records = DUMP_CHUNK_RECORDS;
	h.ring_abi_major = meta->ring_abi_major;
	h.ring_abi_minor = meta->ring_abi_minor;
	h.writer_pid = meta->writer_pid;
	h.writer_state = meta->writer_state;
	h.flags = meta->flags;
	h.created_real_ns = ring_now_real_ns();
	h.first_mono_ns = n ? recs[0].mono_ns : 0;
	h.last_mono_ns = n ? recs[n - 1].mono_ns : 0;
	for (size_t i = 0; i < n; i++) {
		/* Multi-threaded writers can commit slightly out of time order. */
		if (recs[i].mono_ns < h.first_mono_ns)
			h.first_mono_ns = recs[i].mono_ns;
		if (recs[i].mono_ns > h.last_mono_ns)
			h.last_mono_ns = recs[i].mono_ns;
	}
	h.map_mono_ns = meta->map_mono_ns;
	h.map_real_ns = meta->map_real_ns;
	h.record_count = n;
	h.lost_count = meta->lost_count;
	h.dropped_count = meta->dropped_count;
	h.first_seq = meta->first_seq;
	h.last_seq = meta->last_seq;
	h.filter_from_mono_ns = meta->filter_from_mono_ns;
	h.filter_to_mono_ns = meta->filter_to_mono_ns;
	h.domain_count = (uint32_t)meta->n_domains;
	h.domain_entry_size = sizeof(struct dump_domain);
	snprintf(h.hostname, sizeof(h.hostname), "%.*s", (int)sizeof(h.hostname) - 1, meta->hostname);

	r = write_skippable(fd, DUMP_FRAME_HEADER, &h, sizeof(h), meta->domains,
			    meta->n_domains * sizeof(struct dump_domain));
	if (r < 0)
		return r;

	prefs.frameInfo.blockSizeID = LZ4F_max4MB;
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
	size_t raw_cap = sizeof(struct dump_chunk) + (size_t)DUMP_CHUNK_RECORDS * sizeof(*recs);
	comp_cap = LZ4F_compressFrameBound(raw_cap, &prefs);
	raw = malloc(raw_cap);
	comp = malloc(comp_cap);
	struct key_table t;
	if (!raw || !comp || key_table_init(&t, sizeof(*recs) / 8) < 0) {
		r = -ENOMEM;
		goto out_nokeys;
	}
	st.file_bytes = 8 + sizeof(h) + meta->n_domains * sizeof(struct dump_domain);
	for (size_t i = 0; i < n; i += DUMP_CHUNK_RECORDS) {
		size_t k = n - i < DUMP_CHUNK_RECORDS ? n - i : DUMP_CHUNK_RECORDS;
		struct dump_chunk c = {
			.magic = DUMP_CHUNK_MAGIC, .record_count = (uint32_t)k,
			.record_size = sizeof(*recs), .transform = DUMP_TRANSFORM_DELTA_SHUFFLE,
			.first_seq = meta->first_seq + i, .first_mono_ns = recs[i].mono_ns,
		};
		memcpy(raw, &c, sizeof(c));
		/* Fresh history per chunk: chunks decode independently. */
		memset(t.keys, 0, KEY_SLOTS * sizeof(*t.keys));
		memset(t.hist, 0, (KEY_SLOTS + KEY_FALLBACK) * t.nwords * sizeof(*t.hist));
		t.used = 0;
		transform_words((const uint8_t *)(recs + i), k, sizeof(*recs), raw + sizeof(c), &t);
		size_t raw_len = sizeof(c) + k * sizeof(*recs);
		prefs.frameInfo.contentSize = raw_len;
		size_t z = LZ4F_compressFrame(comp, comp_cap, raw, raw_len, &prefs);
		if (LZ4F_isError(z)) {
			r = -EIO;
			goto out;
		}
		r = write_all(fd, comp, z);
		if (r < 0)
			goto out;
		st.file_bytes += z;
		st.chunks++;
	}

	struct dump_trailer tr = {
		.magic = DUMP_TRAILER_MAGIC, .record_count = n, .chunk_count = st.chunks,
		.last_mono_ns = h.last_mono_ns, .raw_bytes = n * sizeof(*recs),
	};
	r = write_skippable(fd, DUMP_FRAME_TRAILER, &tr, sizeof(tr), NULL, 0);
	if (r < 0)
		goto out;
	st.file_bytes += 8 + sizeof(tr);
	st.records = n;
	st.lost = meta->lost_count;
	st.raw_bytes = n * sizeof(*recs);
	st.first_mono_ns = h.first_mono_ns;
	st.last_mono_ns = h.last_mono_ns;
	if (ret)
		*ret = st;
	r = 0;
out:
	key_table_free(&t);
out_nokeys:
	free(raw);
	free(comp);
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

/* The set of domains the kept records mention, with the time each was first seen.  Domain indices
 * grow for the life of a ring, so this is a small hash set rather than an array by index. */
struct dom_set {
	uint32_t *idx;
	uint64_t *first;
	size_t cap, n;
};

static int dom_set_add(struct dom_set *s, uint32_t idx, uint64_t mono_ns)
{
	if (s->n * 2 >= s->cap) {
		struct dom_set g = { .cap = s->cap ? s->cap * 2 : 64 };
		g.idx = malloc(g.cap * sizeof(*g.idx));
		g.first = malloc(g.cap * sizeof(*g.first));
		if (!g.idx || !g.first) {
			free(g.idx);
			free(g.first);
			return -ENOMEM;
		}
		memset(g.idx, 0xff, g.cap * sizeof(*g.idx));
		for (size_t i = 0; i < s->cap; i++)
			if (s->idx[i] != RING_NO_DOMAIN)
				dom_set_add(&g, s->idx[i], s->first[i]);
		free(s->idx);
		free(s->first);
		*s = g;
	}
	size_t h = (size_t)(idx * 2654435761u) & (s->cap - 1);
	while (s->idx[h] != RING_NO_DOMAIN) {
		if (s->idx[h] == idx) {
			if (mono_ns < s->first[h])
				s->first[h] = mono_ns;
			return 0;
		}
		h = (h + 1) & (s->cap - 1);
	}
	s->idx[h] = idx;
	s->first[h] = mono_ns;
	s->n++;
	return 0;
}

int dump_write_fd(struct ring_reader *r, int fd, const struct dump_filter *f, struct dump_stats *ret)
{
	struct ring_header h;
	struct dump_meta meta = { 0 };
	struct ring_record *recs = NULL;
	struct dump_domain *doms = NULL;
	struct dom_set ds = { 0 };
	size_t n = 0, cap = 0, ndom = 0;
	uint64_t lost = 0, seq = 0, first_seq = 0, last_seq = 0;
	uint32_t last_dom = RING_NO_DOMAIN;
	int rc;

	rc = ring_reader_snapshot_header(r, &h);
	if (rc < 0)
		return rc;
	/* Stop at the head seen now: a busy writer must not keep the dump running forever. */
	uint64_t end = ring_reader_head(r);
	ring_reader_seek_oldest(r);
	for (;;) {
		struct ring_record rec;
		rc = ring_read(r, &rec, &seq, &lost);
		if (rc < 0)
			goto out;
		if (rc == 0)
			break;
		if (filter_accepts(f, &rec)) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 4096;
				struct ring_record *nr = realloc(recs, ncap * sizeof(*recs));
				if (!nr) {
					rc = -ENOMEM;
					goto out;
				}
				recs = nr;
				cap = ncap;
			}
			recs[n++] = rec;
			if (n == 1)
				first_seq = seq;
			last_seq = seq;
			/* consecutive records of one domain are common: skip the hash then */
			if (rec.domain != RING_NO_DOMAIN && rec.domain != last_dom) {
				rc = dom_set_add(&ds, rec.domain, rec.mono_ns);
				if (rc < 0)
					goto out;
				last_dom = rec.domain;
			}
		}
		if (seq + 1 >= end)
			break;
	}

	doms = calloc(ds.n ? ds.n : 1, sizeof(*doms));
	if (!doms) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ds.cap; i++) {
		if (ds.idx[i] == RING_NO_DOMAIN)
			continue;
		struct dump_domain *d = &doms[ndom];
		if (ring_domain_lookup(r, ds.idx[i], d->uuid, d->name) < 0)
			continue;  /* reused or never committed: records keep the bare index */
		d->index = ds.idx[i];
		d->first_mono_ns = ds.first[i];
		ndom++;
	}
	memcpy(meta.hostname, h.hostname, sizeof(meta.hostname));
	meta.hostname[sizeof(meta.hostname) - 1] = '\0';
	meta.writer_pid = h.writer_pid;
	meta.writer_state = h.writer_state;
	meta.ring_abi_major = h.abi_major;
	meta.ring_abi_minor = h.abi_minor;
	meta.map_mono_ns = h.map_mono_ns;
	meta.map_real_ns = h.map_real_ns;
	meta.lost_count = lost;
	meta.dropped_count = h.dropped;
	meta.first_seq = first_seq;
	meta.last_seq = last_seq;
	if (f && f->domains)
		meta.flags |= DUMP_F_FILTER_DOMAIN;
	if (f && (f->from_mono_ns || f->to_mono_ns)) {
		meta.flags |= DUMP_F_FILTER_TIME;
		meta.filter_from_mono_ns = f->from_mono_ns;
		meta.filter_to_mono_ns = f->to_mono_ns;
	}
	meta.domains = doms;
	meta.n_domains = ndom;
	rc = dump_encode_fd(fd, &meta, recs, n, ret);
out:
	free(ds.idx);
	free(ds.first);
	free(doms);
	free(recs);
	return rc;
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
	return rc;
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
		bool too_big = max_bytes && total > max_bytes;
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

/* ---- reading ---------------------------------------------------------------------------------- */

struct dump_file {
	const uint8_t *buf;
	size_t len;
	uint8_t *owned;
	struct dump_header hdr;
	struct dump_domain *domains;
	size_t n_domains;
	size_t data_start;
	size_t pos;
	LZ4F_dctx *dctx;
	uint8_t *chunk;         /* decompressed chunk */
	size_t chunk_cap;
	uint8_t *recs;          /* records of the current chunk */
	size_t rec_i, rec_n;
	uint64_t chunk_index;
	struct dump_trailer trailer;
	struct dump_read_stats st;
	bool ended;
	char *problems[DUMP_MAX_PROBLEMS];
	size_t n_problems;
	uint64_t suppressed;
};

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

	d->chunk_cap = sizeof(struct dump_chunk) + (size_t)h.chunk_records * h.record_size;
	d->chunk = malloc(d->chunk_cap);
	d->recs = malloc((size_t)h.chunk_records * h.record_size);
	if (!d->chunk || !d->recs)
		return -ENOMEM;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d->dctx, LZ4F_VERSION)))
		return -ENOMEM;
	return 0;
}

int dump_open_mem(const void *buf, size_t len, struct dump_file **ret)
{
	struct dump_file *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
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

int dump_open(const char *path, struct dump_file **ret)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat sb;
	int fd, r;

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
	cap = S_ISREG(sb.st_mode) && sb.st_size > 0 ? (size_t)sb.st_size + 1 : 65536;
	for (;;) {
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
	r = dump_open_mem(buf, len, &d);
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
	free(d->owned);
	free(d);
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

static void decode_chunk(struct dump_file *d)
{
	size_t start = d->pos;
	const uint8_t *src = d->buf + start;
	size_t src_left = d->len - start;
	uint8_t *dst = d->chunk;
	size_t dst_left = d->chunk_cap;
	uint64_t idx = d->chunk_index++;

	LZ4F_resetDecompressionContext(d->dctx);
	for (;;) {
		size_t dsz = dst_left, ssz = src_left;
		size_t hint = LZ4F_decompress(d->dctx, dst, &dsz, src, &ssz, NULL);
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
				problem(d, "chunk %llu at byte %zu is larger than the header allows; skipped",
					(unsigned long long)idx, start);
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
	if (c.transform == DUMP_TRANSFORM_NONE)
		memcpy(d->recs, d->chunk + sizeof(c), (size_t)c.record_count * c.record_size);
	else if (untransform_words(d->chunk + sizeof(c), c.record_count, c.record_size, d->recs) < 0) {
		problem(d, "chunk %llu: out of memory; skipped", (unsigned long long)idx);
		d->st.chunks_bad++;
		return;
	}
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
	if (!d->st.trailer_seen)
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
			return 0;
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
	for (size_t i = 0; i < d->n_problems; i++)
		free(d->problems[i]);
	d->n_problems = 0;
	d->suppressed = 0;
	memset(&d->st, 0, sizeof(d->st));
	memset(&d->trailer, 0, sizeof(d->trailer));
	d->pos = d->data_start;
	d->rec_i = d->rec_n = 0;
	d->chunk_index = 0;
	d->ended = false;
}
