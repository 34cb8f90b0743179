/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-domxml: what domxml_parse_domain costs on hostile documents, against the same reader on
 * a real domain XML measured in the same run.  Each document is parsed repeatedly and the median
 * is kept; the ratios are the point:
 *   - the worst accepted document (1 MiB with every bound reached: the most elements, the most
 *     attributes, their names all different) against a real domain: its cost is the bound on
 *     what any document can make libvirtd wait for the parse (reported, in ms and as a ratio);
 *   - doubling the part expat finds dearest (attributes with names all different, 64 to an
 *     element) doubles its cost: 256 KiB against 128 KiB is reported against a target of <= 3
 *     (linear is 2, a quadratic parse 4);
 *   - the documents refused by a bound (60000 attributes, 100000 levels) cost less per byte than
 *     the real domain, since refusal happens where the bound is crossed.
 * With --strict a missed target fails the run.
 *
 *   bench-domxml [--strict] [--runs N]
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domxml/domxml.h"

struct doc {
	char *p;
	size_t len, cap;
};

static void put(struct doc *d, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(d->p + d->len, d->cap - d->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			exit(2);
		if ((size_t)n < d->cap - d->len) {
			d->len += (size_t)n;
			return;
		}
		d->cap = d->cap * 2 + (size_t)n + 64;
		d->p = realloc(d->p, d->cap);
		if (!d->p)
			exit(2);
	}
}

static struct doc real_domain(void)
{
	struct doc d = { 0 };
	put(&d, "<domain type='qemu'><name>guest-s1</name>"
		"<uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid><metadata><migtune:policy "
		"xmlns:migtune='" DOMXML_NS "' name='adaptive' sla-max-downtime-ms='500' "
		"allow-postcopy='yes' on-hopeless='park'/></metadata>"
		"<memory unit='KiB'>262144</memory><vcpu placement='static'>1</vcpu><os><type "
		"arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><boot dev='hd'/></os><devices>");
	for (int i = 0; i < 8; i++)
		put(&d, "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source "
			"file='/var/lib/libvirt/images/guest-%d.qcow2'/><target dev='vd%c' "
			"bus='virtio'/><address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' "
			"function='0x0'/></disk>", i, 'a' + i, i + 3);
	put(&d, "</devices></domain>");
	return d;
}

/* `elements` elements (the root included) holding `attrs` attributes, DOMXML_MAX_ATTRS to an
 * element, names all different, padded with text to size bytes (0: no padding). */
static struct doc bounded_doc(size_t size, unsigned attrs, unsigned elements)
{
	struct doc d = { 0 };
	put(&d, "<domain>");
	for (unsigned e = 1, n = 0; e < elements; e++) {
		put(&d, "<e");
		for (int i = 0; i < DOMXML_MAX_ATTRS && n < attrs; i++, n++)
			put(&d, " %x=''", n + 0xa0000);
		put(&d, "/>");
	}
	while (d.len + 9 < size)
		put(&d, "x");
	put(&d, "</domain>");
	return d;
}

static struct doc attribute_bomb(void)
{
	struct doc d = { 0 };
	put(&d, "<domain><name>x</name><metadata><big");
	for (unsigned i = 0; i < 60000; i++)
		put(&d, " a%u='%u'", i, i);
	put(&d, "/></metadata></domain>");
	return d;
}

static struct doc nesting_bomb(void)
{
	struct doc d = { 0 };
	put(&d, "<domain>");
	for (int i = 0; i < 100000; i++)
		put(&d, "<a>");
	for (int i = 0; i < 100000; i++)
		put(&d, "</a>");
	put(&d, "</domain>");
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

/* Median ns of one parse; *ret_rc is the parse's result. */
static double median_ns(const struct doc *d, int runs, int *ret_rc)
{
	double *t = calloc((size_t)runs, sizeof(double));
	struct domxml_domain dom;
	if (!t)
		exit(2);
	for (int i = 0; i < runs; i++) {
		double t0 = now_ns();
		*ret_rc = domxml_parse_domain(d->p, d->len, &dom, NULL);
		t[i] = now_ns() - t0;
	}
	qsort(t, (size_t)runs, sizeof(double), cmp_double);
	double m = t[runs / 2];
	free(t);
	return m;
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
		double ns;
		int rc;
	} v[] = {
		{ "real domain (baseline)", real_domain(), 0, 0 },
		{ "distinct attributes, 128 KiB", bounded_doc(0, 14000, 14000 / 64 + 1), 0, 0 },
		{ "distinct attributes, 256 KiB", bounded_doc(0, 28000, 28000 / 64 + 1), 0, 0 },
		{ "worst accepted, 1 MiB", bounded_doc(DOMXML_DOMAIN_MAX_BYTES,
						       DOMXML_MAX_ATTRS_TOTAL,
						       DOMXML_MAX_ELEMENTS), 0, 0 },
		{ "60000 attributes (refused)", attribute_bomb(), 0, 0 },
		{ "100000 levels (refused)", nesting_bomb(), 0, 0 },
	};
	enum { N = sizeof(v) / sizeof(v[0]) };

	/* Interleaved rounds, so that this machine's noise hits every document alike. */
	double per[N][5];
	for (int round = 0; round < 5; round++)
		for (int i = 0; i < N; i++)
			per[i][round] = median_ns(&v[i].d, runs, &v[i].rc);
	printf("bench-domxml: median of %d parses x 5 rounds each\n", runs);
	printf("  %-30s %10s %10s %10s %8s\n", "document", "bytes", "ms", "ns/byte", "result");
	for (int i = 0; i < N; i++) {
		qsort(per[i], 5, sizeof(double), cmp_double);
		v[i].ns = per[i][2];
		printf("  %-30s %10zu %10.3f %10.2f %8d\n", v[i].name, v[i].d.len, v[i].ns / 1e6,
		       v[i].ns / (double)v[i].d.len, v[i].rc);
	}
	double base = v[0].ns / (double)v[0].d.len;
	double doubling = v[2].ns / v[1].ns;
	double bomb = (v[4].ns / (double)v[4].d.len) / base;
	double deep = (v[5].ns / (double)v[5].d.len) / base;
	bool ok_rc = v[0].rc == 0 && v[1].rc == 0 && v[2].rc == 0 && v[3].rc == 0 && v[4].rc < 0 &&
		     v[5].rc < 0;
	bool t_double = doubling <= 3.0, t_bombs = bomb <= 1.0 && deep <= 1.0;
	printf("  worst accepted / real domain:                   %.0fx the time (%.2f ms), "
	       "%.1fx per byte\n", v[3].ns / v[0].ns, v[3].ns / 1e6,
	       v[3].ns / (double)v[3].d.len / base);
	printf("  256 KiB / 128 KiB of distinct attributes:       %.2fx (target <= 3, linear 2: "
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
