/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes a few small, valid dumps into a directory as the fuzzers' seed corpus: one chunk, several
 * chunks, an empty dump, and one with a domain table; and small decompression bombs (16-byte
 * records, chunks of zeros or of one record repeated) for the reader's limits.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/views/bomb.h"
#include "tests/views/synth.h"
#include "shm/dump.h"

static int write_seed(const char *dir, const char *name, const struct synth_opts *o, size_t chunk_cap)
{
	char path[512];
	size_t cap = synth_count(o);
	struct ring_record *recs = calloc(cap ? cap : 1, sizeof(*recs));
	struct dump_domain doms[4] = { 0 };
	struct dump_meta meta = { .hostname = "seed", .writer_pid = 1, .ring_abi_major = 1,
				  .map_mono_ns = 1000000000ull, .map_real_ns = 1795294800ull * 1000000000ull,
				  .domains = doms, .n_domains = 4 };
	int rc = 1;

	for (uint32_t i = 0; i < 4; i++) {
		doms[i].index = i;
		synth_uuid(i, doms[i].uuid);
		snprintf(doms[i].name, sizeof(doms[i].name), "vm-%03u", i);
	}
	if (!recs)
		return 1;
	size_t n = synth_records(o, 0, recs, cap);
	if (n > chunk_cap)
		n = chunk_cap;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		rc = dump_encode_fd(fd, &meta, recs, n, NULL) < 0;
		close(fd);
	}
	free(recs);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseed-dump DIR\n");
		return 1;
	}
	struct synth_opts small = { .migrations = 2, .steps = 6, .start_mono_ns = 2000000000ull,
				    .step_ns = 1000000000ull, .seed = 1 };
	struct synth_opts many = { .migrations = 4, .steps = 2100, .start_mono_ns = 2000000000ull,
				   .step_ns = 500000000ull, .seed = 2 };
	int rc = write_seed(argv[1], "small.migdump", &small, 1000);
	rc |= write_seed(argv[1], "empty.migdump", &small, 0);
	/* just over one chunk, so the seed has two frames and a short last chunk */
	rc |= write_seed(argv[1], "two-chunks.migdump", &many, DUMP_CHUNK_RECORDS + 40);

	char path[512];
	struct ring_record rec = { .type = RING_REC_AGENT, .size = sizeof(struct ring_agent),
				   .domain = RING_NO_DOMAIN, .mono_ns = 1 };
	struct bomb_opts zeros = { .record_size = 16, .chunk_records = 4096, .records = 40000 };
	struct bomb_opts same = { .record_size = 120, .chunk_records = 1024, .records = 5000,
				  .tmpl = &rec, .declared = 4000 };
	snprintf(path, sizeof(path), "%s/bomb-zeros.migdump", argv[1]);
	rc |= bomb_write(&zeros, path) == 0;
	snprintf(path, sizeof(path), "%s/bomb-declared.migdump", argv[1]);
	rc |= bomb_write(&same, path) == 0;
	return rc;
}
