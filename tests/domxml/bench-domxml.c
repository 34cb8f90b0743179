/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-domxml: what domxml_parse_domain costs on hostile documents, against the same reader on
 * a real domain XML measured in the same run.  Each document is parsed repeatedly in interleaved
 * rounds; the median is reported and the ratios, which are the point, use the fastest parse:
 *   - the worst accepted document (1 MiB with every bound reached: the most elements, the most
 *     attributes, their names all different) against a real domain: its cost is the bound on
 *     what any document can make libvirtd wait for the parse (reported, in ms and as a ratio);
 *   - doubling the part expat finds dearest (attributes with names all different, 64 to an
 *     element) doubles its cost: 14000 against 7000 of them is reported against a target of
 *     <= 3 (linear is 2, a quadratic parse 4);
 *   - the documents refused by a bound (60000 attributes, 100000 levels) cost less per byte than
 *     the real domain, since refusal happens where the bound is crossed.
 * With --strict a missed target fails the run.
 *
 *   bench-domxml [--strict] [--runs N]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domxml/domxml.h"
#include "tests/domxml/gen.h"

static struct doc real_domain(void)
{
	struct doc d = { 0 };
	doc_put(&d, "<domain type='qemu'><name>guest-s1</name>"
		"<uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid><metadata><migtune:policy "
		"xmlns:migtune='" DOMXML_NS "' name='adaptive' sla-max-downtime-ms='500' "
		"allow-postcopy='yes' on-hopeless='park'/></metadata>"
		"<memory unit='KiB'>262144</memory><vcpu placement='static'>1</vcpu><os><type "
		"arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><boot dev='hd'/></os><devices>");
	for (int i = 0; i < 8; i++)
		doc_put(&d, "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source "
			"file='/var/lib/libvirt/images/guest-%d.qcow2'/><target dev='vd%c' "
			"bus='virtio'/><address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' "
			"function='0x0'/></disk>", i, 'a' + i, i + 3);
	doc_put(&d, "</devices></domain>");
	return d;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* runs parses of d, their times appended to t; *ret_rc is the parse's result. */
static void time_parses(const struct doc *d, int runs, double *t, int *ret_rc)
{
	struct domxml_domain dom;

	for (int i = 0; i < runs; i++) {
		double t0 = now_ns();
		*ret_rc = domxml_parse_domain(d->p, d->len, &dom, NULL);
		t[i] = now_ns() - t0;
	}
}

int main(int argc, char **argv)
{
	bool strict = false;
	int runs = 21;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--strict") == 0) {
			strict = true;
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			runs = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: bench-domxml [--strict] [--runs N]\n");
			return 2;
		}
	}
	if (runs < 3) {
		fprintf(stderr, "bench-domxml: --runs must be at least 3\n");
		return 2;
	}

	struct {
		const char *name;
		struct doc d;
		double ns, min_ns;
		int rc;
	} v[] = {
		{ "real domain (baseline)", real_domain(), 0, 0, 0 },
		{ "distinct attributes, 64 KiB", doc_bounded(0, 7000, 7000 / 64 + 1), 0, 0, 0 },
		{ "distinct attributes, 128 KiB", doc_bounded(0, 14000, 14000 / 64 + 1), 0, 0, 0 },
		{ "worst accepted, 1 MiB", doc_bounded(DOMXML_DOMAIN_MAX_BYTES,
						       DOMXML_MAX_ATTRS_TOTAL,
						       DOMXML_MAX_ELEMENTS), 0, 0, 0 },
		{ "60000 attributes (refused)", doc_many_attributes(60000, "a", ""), 0, 0, 0 },
		{ "100000 levels (refused)", doc_nested(100000), 0, 0, 0 },
	};
	enum { N = sizeof(v) / sizeof(v[0]) };

	/* Interleaved rounds, so that this machine's noise hits every document alike.  The median
	 * is reported; the ratios use the fastest parse of each document, the estimate of its own
	 * cost that other processes disturb least. */
	enum { ROUNDS = 7 };
	double *t[N];
	for (int i = 0; i < N; i++) {
		t[i] = calloc((size_t)(runs * ROUNDS), sizeof(double));
		if (!t[i])
			return 2;
	}
	for (int round = 0; round < ROUNDS; round++)
		for (int i = 0; i < N; i++)
			time_parses(&v[i].d, runs, t[i] + round * runs, &v[i].rc);
	printf("bench-domxml: %d parses of each document in %d interleaved rounds\n", runs * ROUNDS,
	       ROUNDS);
	printf("  %-30s %10s %10s %10s %10s %7s\n", "document", "bytes", "median ms", "min ms",
	       "ns/byte", "result");
	for (int i = 0; i < N; i++) {
		qsort(t[i], (size_t)(runs * ROUNDS), sizeof(double), cmp_double);
		v[i].ns = t[i][runs * ROUNDS / 2];
		v[i].min_ns = t[i][0];
		free(t[i]);
		printf("  %-30s %10zu %10.3f %10.3f %10.2f %7d\n", v[i].name, v[i].d.len,
		       v[i].ns / 1e6, v[i].min_ns / 1e6, v[i].min_ns / (double)v[i].d.len, v[i].rc);
	}
	double base = v[0].min_ns / (double)v[0].d.len;
	double doubling = v[2].min_ns / v[1].min_ns;
	double bomb = (v[4].min_ns / (double)v[4].d.len) / base;
	double deep = (v[5].min_ns / (double)v[5].d.len) / base;
	bool ok_rc = v[0].rc == 0 && v[1].rc == 0 && v[2].rc == 0 && v[3].rc == 0 && v[4].rc < 0 &&
		     v[5].rc < 0;
	bool t_double = doubling <= 3.0, t_bombs = bomb <= 1.0 && deep <= 1.0;
	printf("  worst accepted / real domain:                   %.0fx the time (median %.2f ms), "
	       "%.1fx per byte\n", v[3].min_ns / v[0].min_ns, v[3].ns / 1e6,
	       v[3].min_ns / (double)v[3].d.len / base);
	printf("  128 KiB / 64 KiB of distinct attributes:        %.2fx (target <= 3, linear 2: "
	       "%s)\n", doubling, t_double ? "met" : "MISSED");
	printf("  refused bombs per byte / real domain per byte:  %.3fx and %.3fx (target <= 1: "
	       "%s)\n", bomb, deep, t_bombs ? "met" : "MISSED");
	for (int i = 0; i < N; i++)
		free(v[i].d.p);
	if (!ok_rc) {
		printf("bench-domxml: FAILED: a document was not accepted or refused as expected\n");
		return 1;
	}
	if (strict && !(t_double && t_bombs)) {
		printf("bench-domxml: FAILED: a target was missed (--strict)\n");
		return 1;
	}
	return 0;
}
