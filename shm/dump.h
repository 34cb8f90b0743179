/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * migtune dump files — post-mortem copies of the telemetry ring.
 *
 * A dump is a sequence of LZ4 frames (docs/dump-format.md is the full description):
 *
 *   skippable frame 0x184D2A5D   struct dump_header + domain table        (exactly one, first)
 *   LZ4 frame (content checksum) one chunk: struct dump_chunk + transformed records   (0..n)
 *   skippable frame 0x184D2A5E   struct dump_trailer                      (last; absent = cut short)
 *
 * `lz4 -dc FILE` therefore yields the chunk stream.  Records are struct ring_record (120 bytes),
 * transformed per chunk for compression: each 8-byte column is stored as the difference from the
 * same column of the previous record of the same (type, domain) — the time column from the
 * previous record of any kind — and the result is byte-shuffled (all first bytes of column 0, all
 * second bytes, ...).  Chunks are independent, so a damaged chunk costs only its own records.
 *
 * Writing is strict (a dump is complete and renamed into place, or it does not exist).  Reading is
 * tolerant: a reader decodes every whole chunk, skips damaged ones by scanning for the next frame,
 * accepts newer minor versions and other record sizes (extra bytes ignored, missing bytes zero),
 * and reports what it could not decode through dump_read_stats and dump_problem().
 *
 * Reading is also bounded, whatever the file claims: a few hundred kilobytes of LZ4 frames can
 * expand a thousandfold (frames of zeros, 16-byte records).  struct dump_limits caps the file's
 * size, the records handed out, the bytes decompressed and one chunk's size; the defaults are what
 * a dump of the largest ring (RING_MAX_SLOTS records) needs, so only a file no writer produced hits
 * them.  The reader keeps one chunk at a time: its memory is the file plus two chunks.
 *
 * Library code: no logging, negative errno on failure, ret_* out parameters untouched on failure.
 */
#ifndef MIGTUNE_SHM_DUMP_H
#define MIGTUNE_SHM_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"

#define DUMP_MAGIC              UINT64_C(0x31504d5544544d4d) /* "MMTDUMP1" little-endian */
#define DUMP_TRAILER_MAGIC      UINT64_C(0x31444e4544544d4d) /* "MMTDEND1" */
#define DUMP_CHUNK_MAGIC        0x4b4e4843u                  /* "CHNK" */
#define DUMP_FRAME_HEADER       0x184D2A5Du                  /* skippable frame: header */
#define DUMP_FRAME_TRAILER      0x184D2A5Eu                  /* skippable frame: trailer */
#define DUMP_FRAME_LZ4          0x184D2204u
#define DUMP_VERSION_MAJOR      1u
#define DUMP_VERSION_MINOR      1u      /* 1.1: the writer's identity (writer_info) */
#define DUMP_CHUNK_RECORDS      8000u   /* records per chunk when writing: a multiple of 8 but
					  * not of 512, so the shuffled columns do not alias in caches */
#define DUMP_MAX_CHUNK_RECORDS  65536u  /* readers refuse larger chunks (bounded memory) */
#define DUMP_MAX_RECORD_SIZE    1024u
#define DUMP_MAX_DOMAINS        RING_MAX_DOMAINS
#define DUMP_TRANSFORM_NONE     0u
#define DUMP_TRANSFORM_DELTA_SHUFFLE 1u
#define DUMP_SUFFIX             ".migdump"

#define DUMP_F_FILTER_DOMAIN    0x01u   /* only some domains were kept */
#define DUMP_F_FILTER_TIME      0x02u   /* only a time range was kept */
#define DUMP_F_COUNTS_IN_TRAILER 0x04u  /* written to a pipe: record_count, the time range, lost
					 * and the sequence numbers are only in the trailer */

/* On disk in the writer's byte order (endian says which), inside the header skippable frame. */
struct dump_header {
	uint64_t magic;                /* DUMP_MAGIC */
	uint16_t endian;               /* RING_ENDIAN */
	uint16_t version_major;
	uint16_t version_minor;
	uint16_t header_size;          /* sizeof(struct dump_header) of the writer */
	uint32_t record_size;          /* bytes per record in chunks (120 for ring ABI 1) */
	uint32_t chunk_records;        /* most records a chunk holds */
	uint16_t ring_abi_major;
	uint16_t ring_abi_minor;
	uint32_t writer_pid;           /* the agent that wrote the ring */
	uint32_t writer_state;         /* RING_WRITER_* at dump time */
	uint32_t flags;                /* DUMP_F_* */
	uint64_t created_real_ns;      /* when the dump was written */
	uint64_t first_mono_ns;        /* time range of the records (writer's CLOCK_MONOTONIC) */
	uint64_t last_mono_ns;
	uint64_t map_mono_ns;          /* real = map_real_ns + (mono - map_mono_ns) */
	uint64_t map_real_ns;
	uint64_t record_count;         /* records in the chunks */
	uint64_t lost_count;           /* records overwritten in the ring before the dump read them */
	uint64_t dropped_count;        /* records the ring's writers dropped (header.dropped) */
	uint64_t first_seq;            /* ring sequence numbers of the first and last record */
	uint64_t last_seq;
	uint64_t filter_from_mono_ns;  /* DUMP_F_FILTER_TIME: kept [from, to] */
	uint64_t filter_to_mono_ns;
	uint32_t domain_count;         /* entries following this header: the ring's domain table */
	uint32_t domain_entry_size;    /* sizeof(struct dump_domain) of the writer */
	char     hostname[64];
	struct ring_writer_info writer_info; /* 1.1: the ring header's (zero in 1.0 dumps) */
	uint8_t  reserved[24];
};

struct dump_domain {
	uint32_t index;                /* domain index used by the records */
	uint32_t reserved;
	uint8_t  uuid[16];
	uint64_t first_mono_ns;        /* first record of this domain in the dump, 0 if none or
					* the dump went to a pipe */
	char     name[RING_NAME_MAX + 1];
};

/* Content of each LZ4 frame, before the transformed records. */
struct dump_chunk {
	uint32_t magic;                /* DUMP_CHUNK_MAGIC */
	uint32_t record_count;
	uint32_t record_size;
	uint32_t transform;            /* DUMP_TRANSFORM_* */
	uint64_t first_seq;
	uint64_t first_mono_ns;
};

struct dump_trailer {
	uint64_t magic;                /* DUMP_TRAILER_MAGIC */
	uint64_t record_count;
	uint64_t chunk_count;
	uint64_t first_mono_ns;
	uint64_t last_mono_ns;
	uint64_t raw_bytes;            /* record bytes before compression */
	uint64_t lost_count;
	uint64_t reserved;
};

/* ---- writing ---------------------------------------------------------------------------------- */

struct dump_filter {
	const uint32_t *domains;       /* keep only these domain indices (NULL: all) */
	size_t n_domains;
	uint64_t from_mono_ns;         /* keep records with from <= mono_ns <= to; 0 = unbounded */
	uint64_t to_mono_ns;
};

struct dump_stats {
	uint64_t records;              /* records written */
	uint64_t lost;                 /* overwritten before they could be read */
	uint64_t chunks;
	uint64_t raw_bytes;            /* records * record size */
	uint64_t file_bytes;           /* bytes written */
	uint64_t first_mono_ns;
	uint64_t last_mono_ns;
};

/* What a dump says about its source, besides the records. */
struct dump_meta {
	char hostname[64];
	uint32_t writer_pid;
	uint32_t writer_state;
	struct ring_writer_info writer_info; /* mode, default policy, simulated */
	uint16_t ring_abi_major;
	uint16_t ring_abi_minor;
	uint32_t flags;
	uint64_t map_mono_ns;
	uint64_t map_real_ns;
	uint64_t lost_count;
	uint64_t dropped_count;
	uint64_t first_seq;
	uint64_t last_seq;
	uint64_t filter_from_mono_ns;
	uint64_t filter_to_mono_ns;
	const struct dump_domain *domains;
	size_t n_domains;
};

/* Reads everything the ring still holds (up to its head at the call), keeps what the filter
 * accepts, and writes a dump to path through a temporary file synced, renamed into place, and its
 * directory synced (an error there leaves the file in place).  The reader's cursor is moved. */
int dump_write(struct ring_reader *r, const char *path, const struct dump_filter *f,
	       struct dump_stats *ret);
/* Same, to an open file descriptor (a pipe is fine). */
int dump_write_fd(struct ring_reader *r, int fd, const struct dump_filter *f, struct dump_stats *ret);
/* Encodes records already in memory (the replay tools and benchmarks use this). */
int dump_encode_fd(int fd, const struct dump_meta *meta, const struct ring_record *recs, size_t n,
		   struct dump_stats *ret);

/* The compression transform of one chunk, exposed for tests and benchmarks.  out holds
 * n * sizeof(struct ring_record) bytes. */
int dump_transform(const struct ring_record *recs, size_t n, uint8_t *out);
int dump_untransform(const uint8_t *in, size_t n, size_t record_size, uint8_t *out);

/* Removes dump files (DUMP_SUFFIX, regular files only) in dir older than max_age_s, then the oldest
 * until the rest fit in max_bytes; 0 disables either limit.  The newest dump is never removed for
 * size.  Returns the number removed, or a negative errno when nothing could be removed. */
int dump_retention(const char *dir, uint64_t max_bytes, uint64_t max_age_s);
/* Builds "DIR/NAME-YYYYmmddTHHMMSSZ-WHY.migdump" (name sanitised to [A-Za-z0-9._-]). */
int dump_auto_path(const char *dir, const char *domain_name, const char *why, uint64_t real_ns,
		   char *ret, size_t len);

/* For the agent: dumps the whole ring `ring_name` (opened read-only, so the writer is not
 * disturbed) into dir (created if missing, mode 0750) under dump_auto_path(dir, domain_name, why,
 * now).  dump_retention(dir, max_bytes, max_age_s) runs before the write (so that on a full disk
 * old dumps make room) and after it (counting the new one).  The new
 * file's path goes to ret_path.  Takes about 0.3 s per million records: call it off the agent's
 * event loop.  Returns 0 or a negative errno (retention failures are not errors). */
int dump_auto(const char *ring_name, const char *dir, const char *domain_name, const char *why,
	      uint64_t max_bytes, uint64_t max_age_s, char *ret_path, size_t len);

/* ---- reading ---------------------------------------------------------------------------------- */

struct dump_file;

/* Bounds of one reader; 0 in a field means its default. */
struct dump_limits {
	uint64_t max_file_bytes;       /* dump_open refuses a larger file: -EFBIG */
	uint64_t max_records;          /* records handed out: dump_next fails with -EFBIG past it */
	uint64_t max_decoded_bytes;    /* bytes fed to and produced by the decompressor, damaged chunks
					* included: dump_next fails with -EFBIG past it */
	uint64_t max_chunk_bytes;      /* one chunk's content: a larger chunk is skipped as damaged */
};
/* A dump of the largest ring written without any compression, with its domain table. */
#define DUMP_DEFAULT_MAX_FILE_BYTES    ((uint64_t)RING_MAX_SLOTS * 128u + (UINT64_C(64) << 20))
#define DUMP_DEFAULT_MAX_RECORDS       ((uint64_t)RING_MAX_SLOTS)
#define DUMP_DEFAULT_MAX_DECODED_BYTES (2 * DUMP_DEFAULT_MAX_FILE_BYTES + (UINT64_C(2) << 30))
#define DUMP_DEFAULT_MAX_CHUNK_BYTES   (UINT64_C(16) << 20)

struct dump_read_stats {
	uint64_t records;              /* records handed out so far */
	uint64_t chunks_ok;
	uint64_t chunks_bad;           /* damaged chunks skipped */
	uint64_t bytes_skipped;        /* bytes of the file that could not be used */
	uint64_t records_missing;      /* what the header/trailer promised minus what was decoded */
	bool trailer_seen;             /* false at the end: the file was cut short */
	bool truncated;                /* a frame ran past the end of the file */
	uint64_t decoded_bytes;        /* bytes fed to and produced by the decompressor */
	bool refused;                  /* a limit was reached: decoding stopped (-EFBIG) */
};

/* Opens a dump held in memory (the bytes must outlive the handle) or a file, with the default
 * limits or the given ones (NULL: defaults).  Errors: -EPROTO (not a migtune dump),
 * -EPROTONOSUPPORT (other major version or byte order), -EBADMSG (header damaged, cut, or out of
 * range: more records declared than the limit), -ENOMEM; dump_open also -EFBIG (file larger than
 * max_file_bytes) and -errno of open/read. */
int dump_open_mem(const void *buf, size_t len, struct dump_file **ret);
int dump_open(const char *path, struct dump_file **ret);
int dump_open_mem_limits(const void *buf, size_t len, const struct dump_limits *lim,
			 struct dump_file **ret);
int dump_open_limits(const char *path, const struct dump_limits *lim, struct dump_file **ret);
/* The limits in force (defaults filled in). */
const struct dump_limits *dump_get_limits(const struct dump_file *d);
/* Bytes the reader holds: the file (when dump_open read it), the chunk buffers, the tables. */
size_t dump_memory_bytes(const struct dump_file *d);
void dump_close(struct dump_file *d);

/* Header as read (fields of a shorter, older header are zero). */
const struct dump_header *dump_get_header(const struct dump_file *d);
size_t dump_domain_count(const struct dump_file *d);
const struct dump_domain *dump_domain_at(const struct dump_file *d, size_t i);
/* Looks up a domain by the index records carry; NULL if the table does not have it. */
const struct dump_domain *dump_domain_find(const struct dump_file *d, uint32_t index);
uint64_t dump_mono_to_real_ns(const struct dump_file *d, uint64_t mono_ns);

/* Next record: 1 with *ret filled, 0 at the end.  Damage never stops the iteration; it is counted
 * in the stats and described by dump_problem().  A limit does: -EFBIG, from then on (until
 * dump_rewind), with dump_problem() saying which; so does a chunk that takes the records past the
 * count the header declares (a writer's header counts exactly what it wrote). */
int dump_next(struct dump_file *d, struct ring_record *ret);
void dump_rewind(struct dump_file *d);
const struct dump_read_stats *dump_get_read_stats(const struct dump_file *d);
/* Problems found so far, oldest first; NULL past the last.  At most 32 are kept. */
const char *dump_problem(const struct dump_file *d, size_t i);

#endif
