/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * migdump — write the telemetry ring to a compressed dump file, or decode a dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shm/dump.h"
#include "tools/view_decode.h"

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_NO_RING = 2,        /* no ring (agent not running) or no such file */
	EXIT_PERM = 3,
	EXIT_INCOMPATIBLE = 4,   /* other ABI/format version, or not a ring/dump */
	EXIT_RUNTIME = 5,
	EXIT_DAMAGED = 6,        /* decoded what was whole; some of the dump could not be read */
};

#define MAX_DOMAIN_ARGS 64

struct opts {
	const char *ring;
	const char *segment;
	const char *output;
	const char *decode;
	bool info;
	enum view_format fmt;
	const char *domains[MAX_DOMAIN_ARGS];
	size_t n_domains;
	const char *since, *until;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: migdump [OPTION]...              write the telemetry ring to a dump file\n"
		"       migdump -d FILE [OPTION]...      decode a dump\n"
		"\n"
		"Writing:\n"
		"  -o, --output FILE    dump file ('-' for stdout; default ./HOST-TIME-manual%s)\n"
		"      --ring NAME      telemetry ring to read (default %s)\n"
		"      --segment PATH   read a copy of a ring segment instead (e.g. a dead agent's,\n"
		"                       saved from /dev/shm)\n"
		"Decoding:\n"
		"  -d, --decode FILE    print the records of FILE\n"
		"      --text           one line per record (default)\n"
		"      --csv            CSV with a header line\n"
		"      --json           one JSON object per record\n"
		"  -i, --info           print only what the header and trailer say\n"
		"Filters (both modes):\n"
		"  -D, --domain NAME    keep this domain (name, UUID or #index); repeatable\n"
		"      --since TIME     keep records from TIME on\n"
		"      --until TIME     keep records up to TIME\n"
		"                       TIME: 'YYYY-MM-DD HH:MM[:SS]', 'HH:MM[:SS]' (today),\n"
		"                       '-SEC' (seconds before now) or '@EPOCH'\n"
		"  -h, --help           this help\n"
		"  -V, --version        version\n"
		"\n"
		"Exit status: 0 ok, 1 usage, 2 no ring (migtuned not running) or no such file,\n"
		"3 permission denied, 4 other ABI or format version, 5 runtime error,\n"
		"6 the dump is damaged: what was whole was decoded.  See migdump(1).\n",
		DUMP_SUFFIX, RING_DEFAULT_NAME);
}

/* Parses a wall-clock time into ns since the epoch. */
static int parse_time(const char *s, uint64_t *ret)
{
	struct tm tm;
	time_t now = time(NULL), t;
	char *end;

	if (s[0] == '-' || s[0] == '@') {
		double x = strtod(s + 1, &end);
		if (end == s + 1 || *end || !(x >= 0))
			return -EINVAL;
		double when = s[0] == '@' ? x : (double)now - x;
		if (when < 0)
			return -EINVAL;
		*ret = (uint64_t)(when * 1e9);
		return 0;
	}
	localtime_r(&now, &tm);
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!end || *end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d %H:%M", &tm);
	}
	if (!end || *end) {
		struct tm today;
		localtime_r(&now, &today);
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%H:%M:%S", &tm);
		if (!end || *end) {
			memset(&tm, 0, sizeof(tm));
			end = strptime(s, "%H:%M", &tm);
		}
		if (!end || *end)
			return -EINVAL;
		tm.tm_year = today.tm_year;
		tm.tm_mon = today.tm_mon;
		tm.tm_mday = today.tm_mday;
	}
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1 || t < 0)
		return -EINVAL;
	*ret = (uint64_t)t * 1000000000u;
	return 0;
}

static uint64_t real_to_mono(uint64_t real_ns, uint64_t map_mono, uint64_t map_real)
{
	int64_t d = (int64_t)(real_ns - map_real);
	int64_t m = (int64_t)map_mono + d;
	return m <= 0 ? 1 : (uint64_t)m;   /* 0 would mean "unbounded" in a filter */
}

/* "#N": a domain index (the records' own number for a domain). */
static bool parse_index(const char *arg, uint32_t *ret)
{
	char *end;
	unsigned long long x;

	if (arg[0] != '#' || arg[1] < '0' || arg[1] > '9')
		return false;
	errno = 0;
	x = strtoull(arg + 1, &end, 10);
	if (errno || *end || x >= RING_NO_DOMAIN)
		return false;
	*ret = (uint32_t)x;
	return true;
}

/* Matches a --domain argument against one domain. */
static bool domain_matches(const char *arg, uint32_t idx, const char *name, const uint8_t uuid[16])
{
	char u[37];
	uint32_t want;
	if (arg[0] == '#')
		return parse_index(arg, &want) && want == idx;
	if (strcmp(arg, name) == 0)
		return true;
	ring_uuid_format(uuid, u);
	return strcasecmp(arg, u) == 0;
}

static int ring_error(const char *what, int r)
{
	switch (r) {
	case -ENOENT:
		fprintf(stderr, "migdump: no telemetry ring %s: migtuned is not running (start it, name "
			"another ring with --ring, or read a saved segment with --segment)\n", what);
		return EXIT_NO_RING;
	case -EACCES:
		fprintf(stderr, "migdump: permission denied reading %s (run as root or as a member of "
			"the ring's group)\n", what);
		return EXIT_PERM;
	case -EPERM:
		fprintf(stderr, "migdump: refusing %s: not a file that only root or you could have "
			"written (another user may have planted it: remove it and restart migtuned)\n",
			what);
		return EXIT_PERM;
	case -EPROTONOSUPPORT:
		fprintf(stderr, "migdump: %s has another ABI version or byte order than this migdump "
			"reads (%u); use the migdump installed with that migtuned\n", what, RING_ABI_MAJOR);
		return EXIT_INCOMPATIBLE;
	case -EPROTO:
	case -EBADMSG:
		fprintf(stderr, "migdump: %s is not a valid migtune ring (%s)\n", what, strerror(-r));
		return EXIT_INCOMPATIBLE;
	default:
		fprintf(stderr, "migdump: cannot read %s: %s\n", what, strerror(-r));
		return EXIT_RUNTIME;
	}
}

static int do_write(const struct opts *o)
{
	struct ring_reader *r = NULL;
	void *map = MAP_FAILED;
	size_t map_len = 0;
	char what[256], path[4096];
	uint32_t doms[MAX_DOMAIN_ARGS * 4];
	size_t nd = 0;
	struct dump_filter f = { 0 };
	struct dump_stats st;
	struct ring_header h;
	int rc;

	if (o->segment) {
		int fd = open(o->segment, O_RDONLY | O_CLOEXEC);
		struct stat sb;
		snprintf(what, sizeof(what), "%s", o->segment);
		if (fd < 0)
			return ring_error(what, -errno);
		if (fstat(fd, &sb) < 0 || sb.st_size <= 0) {
			close(fd);
			return ring_error(what, -EBADMSG);
		}
		map_len = (size_t)sb.st_size;
		map = mmap(NULL, map_len, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (map == MAP_FAILED)
			return ring_error(what, -errno);
		rc = ring_reader_open_mem(map, map_len, &r);
	} else {
		snprintf(what, sizeof(what), "/dev/shm/%s", o->ring[0] == '/' ? o->ring + 1 : o->ring);
		rc = ring_reader_open(o->ring, &r);
	}
	if (rc < 0) {
		rc = ring_error(what, rc);
		goto out;
	}
	rc = ring_reader_snapshot_header(r, &h);
	if (rc < 0) {
		rc = ring_error(what, rc);
		goto out;
	}

	/* Resolve --domain against the ring's domain table: the indices it still holds are the
	 * domain_slots newest ones, however many domains the agent has seen since it started. */
	uint64_t held_from = h.domain_next > h.domain_slots ? h.domain_next - h.domain_slots : 0;
	for (size_t a = 0; a < o->n_domains; a++) {
		bool found = false;
		uint32_t idx;
		/* #N names an index the agent gave out, even if its table entry has been reused
		 * since: its records may still be in the ring */
		if (parse_index(o->domains[a], &idx) && idx < h.domain_next) {
			if (nd < sizeof(doms) / sizeof(doms[0]))
				doms[nd++] = idx;
			found = true;
		}
		for (uint64_t i = held_from; !found && i < h.domain_next && i < RING_NO_DOMAIN; i++) {
			uint8_t uuid[16];
			char name[RING_NAME_MAX + 1];
			if (ring_domain_lookup(r, (uint32_t)i, uuid, name) < 0)
				continue;
			if (domain_matches(o->domains[a], (uint32_t)i, name, uuid) &&
			    nd < sizeof(doms) / sizeof(doms[0])) {
				doms[nd++] = (uint32_t)i;
				found = true;
			}
		}
		if (!found) {
			fprintf(stderr, "migdump: no domain '%s' in the ring (list them with migtop -b)\n",
				o->domains[a]);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (o->n_domains) {
		f.domains = doms;
		f.n_domains = nd;
	}
	uint64_t t;
	if (o->since) {
		if (parse_time(o->since, &t) < 0) {
			fprintf(stderr, "migdump: cannot read --since '%s'\n", o->since);
			rc = EXIT_USAGE;
			goto out;
		}
		f.from_mono_ns = real_to_mono(t, h.map_mono_ns, h.map_real_ns);
	}
	if (o->until) {
		if (parse_time(o->until, &t) < 0) {
			fprintf(stderr, "migdump: cannot read --until '%s'\n", o->until);
			rc = EXIT_USAGE;
			goto out;
		}
		f.to_mono_ns = real_to_mono(t, h.map_mono_ns, h.map_real_ns);
	}

	if (o->output && strcmp(o->output, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			fprintf(stderr, "migdump: refusing to write a binary dump to a terminal\n");
			rc = EXIT_USAGE;
			goto out;
		}
		rc = dump_write_fd(r, STDOUT_FILENO, &f, &st);
		snprintf(path, sizeof(path), "stdout");
	} else {
		if (o->output) {
			snprintf(path, sizeof(path), "%s", o->output);
		} else {
			char host[64];
			snprintf(host, sizeof(host), "%.*s", (int)sizeof(h.hostname) - 1, h.hostname);
			if (dump_auto_path(".", host, "manual", ring_now_real_ns(), path, sizeof(path)) < 0)
				snprintf(path, sizeof(path), "migtune%s", DUMP_SUFFIX);
		}
		rc = dump_write(r, path, &f, &st);
	}
	if (rc < 0) {
		fprintf(stderr, "migdump: cannot write %s: %s\n", path, strerror(-rc));
		rc = rc == -EACCES || rc == -EPERM ? EXIT_PERM : EXIT_RUNTIME;
		goto out;
	}
	{
		/* A few records do not compress (the header and index cost more than LZ4 saves):
		 * say so rather than call a larger file "0.81x smaller". */
		bool larger = st.file_bytes > st.raw_bytes;
		uint64_t big = larger ? st.file_bytes : st.raw_bytes;
		uint64_t small = larger ? st.raw_bytes : st.file_bytes;

		fprintf(stderr, "migdump: wrote %s: %" PRIu64 " records (%" PRIu64 " lost before "
			"reading), %" PRIu64 " bytes, %.2fx %s than the records\n", path, st.records,
			st.lost, st.file_bytes, small ? (double)big / (double)small : 0.0,
			larger ? "larger" : "smaller");
	}
	rc = EXIT_OK;
out:
	if (r)
		ring_reader_close(r);
	if (map != MAP_FAILED)
		munmap(map, map_len);
	return rc;
}

static int dump_lookup(void *ctx, uint32_t idx, char name[RING_NAME_MAX + 1], uint8_t uuid[16])
{
	const struct dump_domain *d = dump_domain_find(ctx, idx);
	if (!d)
		return -ENOENT;
	memcpy(name, d->name, RING_NAME_MAX + 1);
	memcpy(uuid, d->uuid, 16);
	return 0;
}

static uint64_t dump_real(void *ctx, uint64_t mono)
{
	return dump_mono_to_real_ns(ctx, mono);
}

static void print_info(struct dump_file *d, const char *path)
{
	const struct dump_header *h = dump_get_header(d);
	char a[32], b[32], c[32];

	char text[TEXT_ESCAPE_SIZE(RING_NAME_MAX)];

	view_format_time(h->created_real_ns, true, a, sizeof(a));
	view_format_time(dump_mono_to_real_ns(d, h->first_mono_ns), true, b, sizeof(b));
	view_format_time(dump_mono_to_real_ns(d, h->last_mono_ns), true, c, sizeof(c));
	printf("file:        %s\n", text_esc(text, sizeof(text), path));
	printf("format:      %u.%u, record size %" PRIu32 ", ring ABI %u.%u\n", h->version_major,
	       h->version_minor, h->record_size, h->ring_abi_major, h->ring_abi_minor);
	printf("host:        %s\n", text_esc_n(text, sizeof(text), h->hostname, sizeof(h->hostname)));
	printf("agent:       pid %" PRIu32 ", %s at dump time\n", h->writer_pid,
	       h->writer_state == RING_WRITER_RUNNING ? "running" :
	       h->writer_state == RING_WRITER_STOPPED ? "stopped" : "unknown");
	view_format_writer(&h->writer_info, text, sizeof(text));
	printf("mode:        %s%s\n", text, h->writer_info.flags & RING_WRITER_F_SIMULATED ?
	       " (written by migsim, not by a host's agent)" : "");
	printf("written:     %s\n", a);
	printf("records:     %" PRIu64 " from %s to %s\n", h->record_count, b, c);
	printf("lost:        %" PRIu64 " overwritten before the dump, %" PRIu64 " dropped by writers\n",
	       h->lost_count, h->dropped_count);
	printf("filters:     %s%s%s\n", h->flags & DUMP_F_FILTER_DOMAIN ? "domain " : "",
	       h->flags & DUMP_F_FILTER_TIME ? "time" : "", h->flags ? "" : "none");
	printf("domains:     %zu\n", dump_domain_count(d));
	for (size_t i = 0; i < dump_domain_count(d); i++) {
		const struct dump_domain *e = dump_domain_at(d, i);
		char u[37];
		ring_uuid_format(e->uuid, u);
		printf("  #%-5" PRIu32 " %s %s\n", e->index, u,
		       text_esc_n(text, sizeof(text), e->name, sizeof(e->name)));
	}
}

static int do_decode(const struct opts *o)
{
	struct dump_file *d;
	struct ring_record rec;
	int rc = dump_open(o->decode, &d);
	uint32_t doms[MAX_DOMAIN_ARGS * 4];
	size_t nd = 0;
	uint64_t from = 0, to = 0, shown = 0, invalid = 0;

	switch (rc) {
	case 0:
		break;
	case -ENOENT:
		fprintf(stderr, "migdump: %s does not exist\n", o->decode);
		return EXIT_NO_RING;
	case -EACCES:
	case -EPERM:
		fprintf(stderr, "migdump: permission denied reading %s\n", o->decode);
		return EXIT_PERM;
	case -EPROTO:
		fprintf(stderr, "migdump: %s is not a migtune dump\n", o->decode);
		return EXIT_INCOMPATIBLE;
	case -EPROTONOSUPPORT:
		fprintf(stderr, "migdump: %s has another format version or byte order than this migdump "
			"reads (%u)\n", o->decode, DUMP_VERSION_MAJOR);
		return EXIT_INCOMPATIBLE;
	case -EBADMSG:
		fprintf(stderr, "migdump: %s: the dump header is damaged, cut short or out of range; "
			"nothing can be decoded\n", o->decode);
		return EXIT_DAMAGED;
	case -EFBIG:
		fprintf(stderr, "migdump: %s is larger than any dump of a ring (%llu MiB at most); "
			"refused\n", o->decode, (unsigned long long)(DUMP_DEFAULT_MAX_FILE_BYTES >> 20));
		return EXIT_INCOMPATIBLE;
	default:
		fprintf(stderr, "migdump: cannot read %s: %s\n", o->decode, strerror(-rc));
		return EXIT_RUNTIME;
	}
	const struct dump_header *h = dump_get_header(d);
	for (size_t a = 0; a < o->n_domains; a++) {
		bool found = false;
		uint32_t idx;
		/* #N also finds records whose domain the table lacks (they print as #N) */
		if (parse_index(o->domains[a], &idx)) {
			if (nd < sizeof(doms) / sizeof(doms[0]))
				doms[nd++] = idx;
			found = true;
		}
		for (size_t i = 0; !found && i < dump_domain_count(d); i++) {
			const struct dump_domain *e = dump_domain_at(d, i);
			if (domain_matches(o->domains[a], e->index, e->name, e->uuid) &&
			    nd < sizeof(doms) / sizeof(doms[0])) {
				doms[nd++] = e->index;
				found = true;
			}
		}
		if (!found) {
			fprintf(stderr, "migdump: no domain '%s' in %s (see migdump -i)\n", o->domains[a],
				o->decode);
			dump_close(d);
			return EXIT_USAGE;
		}
	}
	uint64_t t;
	if (o->since) {
		if (parse_time(o->since, &t) < 0) {
			fprintf(stderr, "migdump: cannot read --since '%s'\n", o->since);
			dump_close(d);
			return EXIT_USAGE;
		}
		from = real_to_mono(t, h->map_mono_ns, h->map_real_ns);
	}
	if (o->until) {
		if (parse_time(o->until, &t) < 0) {
			fprintf(stderr, "migdump: cannot read --until '%s'\n", o->until);
			dump_close(d);
			return EXIT_USAGE;
		}
		to = real_to_mono(t, h->map_mono_ns, h->map_real_ns);
	}

	int next = 0;
	if (o->info) {
		print_info(d, o->decode);
		while ((next = dump_next(d, &rec)) > 0)
			;
	} else {
		struct view_source src = { dump_lookup, dump_real, d };
		if (o->fmt == VIEW_FMT_CSV)
			view_record_csv_header(stdout);
		while ((next = dump_next(d, &rec)) > 0) {
			if (from && rec.mono_ns < from)
				continue;
			if (to && rec.mono_ns > to)
				continue;
			if (nd) {
				size_t i;
				for (i = 0; i < nd && doms[i] != rec.domain; i++)
					;
				if (i == nd)
					continue;
			}
			if (ring_record_validate(&rec) < 0) {
				invalid++;
				continue;
			}
			view_record_print(stdout, o->fmt, &src, &rec);
			shown++;
		}
	}
	fflush(stdout);
	const struct dump_read_stats *s = dump_get_read_stats(d);
	bool damaged = dump_problem(d, 0) != NULL || invalid;
	for (size_t i = 0; dump_problem(d, i); i++)
		fprintf(stderr, "migdump: %s: %s\n", o->decode, dump_problem(d, i));
	if (invalid)
		fprintf(stderr, "migdump: %s: %" PRIu64 " records are not valid telemetry records and were "
			"skipped\n", o->decode, invalid);
	if (next < 0)
		fprintf(stderr, "migdump: %s: decoding stopped after %" PRIu64 " records: %s\n", o->decode,
			s->records, next == -EFBIG ? "the dump expands beyond what any ring holds"
						   : strerror(-next));
	if (o->info)
		printf("decoded:     %" PRIu64 " records in %" PRIu64 " chunks, %" PRIu64 " damaged chunks, %s\n",
		       s->records, s->chunks_ok, s->chunks_bad, s->trailer_seen ? "complete" : "cut short");
	else if (damaged)
		fprintf(stderr, "migdump: %s: decoded %" PRIu64 " records; %" PRIu64 " damaged chunks, %"
			PRIu64 " bytes unusable\n", o->decode, s->records, s->chunks_bad, s->bytes_skipped);
	dump_close(d);
	if (ferror(stdout))
		return EXIT_RUNTIME;
	return damaged ? EXIT_DAMAGED : EXIT_OK;
}

int main(int argc, char **argv)
{
	enum { OPT_RING = 256, OPT_SEGMENT, OPT_TEXT, OPT_CSV, OPT_JSON, OPT_SINCE, OPT_UNTIL };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "ring", required_argument, NULL, OPT_RING },
		{ "segment", required_argument, NULL, OPT_SEGMENT },
		{ "decode", required_argument, NULL, 'd' },
		{ "info", no_argument, NULL, 'i' },
		{ "text", no_argument, NULL, OPT_TEXT },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "domain", required_argument, NULL, 'D' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .ring = RING_DEFAULT_NAME, .fmt = VIEW_FMT_TEXT };
	int c;

	while ((c = getopt_long(argc, argv, "o:d:iD:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o.output = optarg; break;
		case OPT_RING: o.ring = optarg; break;
		case OPT_SEGMENT: o.segment = optarg; break;
		case 'd': o.decode = optarg; break;
		case 'i': o.info = true; break;
		case OPT_TEXT: o.fmt = VIEW_FMT_TEXT; break;
		case OPT_CSV: o.fmt = VIEW_FMT_CSV; break;
		case OPT_JSON: o.fmt = VIEW_FMT_JSON; break;
		case 'D':
			if (o.n_domains == MAX_DOMAIN_ARGS) {
				fprintf(stderr, "migdump: at most %d --domain options\n", MAX_DOMAIN_ARGS);
				return EXIT_USAGE;
			}
			o.domains[o.n_domains++] = optarg;
			break;
		case OPT_SINCE: o.since = optarg; break;
		case OPT_UNTIL: o.until = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("migdump %s\n", MIGTUNE_VERSION); return EXIT_OK;
		default:
			fprintf(stderr, "Try 'migdump --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		/* "migdump FILE" reads naturally as "decode FILE" when FILE is a dump */
		if (!o.decode && optind + 1 == argc && !o.output) {
			o.decode = argv[optind];
		} else {
			fprintf(stderr, "migdump: unexpected argument '%s'; try 'migdump --help'\n", argv[optind]);
			return EXIT_USAGE;
		}
	}
	if (o.info && !o.decode) {
		fprintf(stderr, "migdump: -i needs a dump file (-d FILE)\n");
		return EXIT_USAGE;
	}
	if (o.decode && (o.output || o.segment)) {
		fprintf(stderr, "migdump: -o and --segment are for writing a dump, not with -d\n");
		return EXIT_USAGE;
	}
	return o.decode ? do_decode(&o) : do_write(&o);
}
