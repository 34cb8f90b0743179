/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domxml.h — migtune's reader of libvirt domain XML: the few facts migtune-hook sends the agent
 * (name, UUID, memory size, the owner's <migtune:policy> metadata) and the policy element that
 * migtuned reads through libvirt.  Both programs link this one library; it depends on expat and
 * shm/wire.h only (no libvirt, no liburcu), and nothing here logs: functions return a negative
 * errno and the caller words the one line.
 *
 * Every byte is hostile: a domain's owner writes its metadata, and the hook runs as root on
 * whatever arrives on stdin while libvirtd waits for it.  So the work of one parse is bounded
 * before any XML library sees the text, and linear in its size:
 *
 *   1. size: above the caller's max_bytes, refused without reading (-EFBIG);
 *   2. a pre-scan examines each byte once (work.scanned_bytes) and refuses a DTD, a document
 *      that is not in an 8-bit encoding (a UTF-16/32 byte order mark or NUL bytes at its start:
 *      libvirt writes UTF-8, and in 8-bit encodings markup bytes mean what they say), nesting
 *      deeper than DOMXML_MAX_DEPTH, any element with more than DOMXML_MAX_ATTRS attributes, and
 *      more than DOMXML_MAX_ELEMENTS elements or DOMXML_MAX_ATTRS_TOTAL attributes in all
 *      (-E2BIG, work.limit says which), where it stands: a 600 KB element of 60000 attributes is
 *      refused after DOMXML_MAX_ATTRS of them;
 *   3. expat then parses what passed, in one call (so no token is ever re-scanned), with
 *      namespaces, no DTD, no external entities, and every allocation charged to a budget of
 *      DOMXML_MEM_FACTOR times the input plus DOMXML_MEM_BASE bytes.
 *
 * The limits are fixed, generous for anything libvirt writes (a domain is a few KiB, nested a
 * dozen levels, with at most a couple of dozen attributes on one element; a guest with a
 * thousand vCPUs and a hundred devices has some thousands of elements and attributes), and the
 * same for every caller.  The totals bound what expat's cost grows with besides bytes: it keeps
 * every distinct attribute name in a table (beyond some 20000 of them the table leaves the
 * processor's caches and each costs several times more), and each element costs it more than
 * text does; bench-domxml measures a document at every bound.
 */
#ifndef MIGTUNE_DOMXML_H
#define MIGTUNE_DOMXML_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Namespace of migtune's element in <metadata> (docs/wire.md). */
#define DOMXML_NS "https://migtune.org/xmlns/migtune/1"

/* Largest document each reader takes: the hook's whole domain XML (what it keeps of stdin), and
 * the agent's <policy> element, which is one line of attributes. */
#define DOMXML_DOMAIN_MAX_BYTES (1024 * 1024)
#define DOMXML_POLICY_MAX_BYTES (64 * 1024)

#define DOMXML_MAX_DEPTH 64   /* elements open at once, the root included */
#define DOMXML_MAX_ATTRS 64   /* attributes on one element, namespace declarations included */
#define DOMXML_MAX_ELEMENTS 16384     /* elements in the document */
#define DOMXML_MAX_ATTRS_TOTAL 16384  /* attributes in the document */
#define DOMXML_MEM_FACTOR 8   /* parser memory budget: 8 bytes per input byte ... */
#define DOMXML_MEM_BASE (256 * 1024) /* ... plus this */

/* Which bound refused a document (domxml_work.limit). */
enum domxml_limit {
	DOMXML_LIMIT_NONE = 0,
	DOMXML_LIMIT_SIZE,      /* larger than the reader takes */
	DOMXML_LIMIT_DEPTH,     /* nested deeper than DOMXML_MAX_DEPTH */
	DOMXML_LIMIT_ATTRS,     /* an element with more than DOMXML_MAX_ATTRS attributes */
	DOMXML_LIMIT_ELEMENTS,  /* more than DOMXML_MAX_ELEMENTS elements */
	DOMXML_LIMIT_ATTRS_TOTAL, /* more than DOMXML_MAX_ATTRS_TOTAL attributes */
	DOMXML_LIMIT_MEMORY,    /* the parser needed more than its budget */
};

/* What one parse cost; tests assert bounds on it, callers may ignore it (NULL). */
struct domxml_work {
	size_t scanned_bytes;   /* bytes the pre-scan examined (each at most once) */
	size_t parsed_bytes;    /* bytes handed to expat (0 when the pre-scan refused) */
	uint32_t elements;      /* start tags the parser reported */
	uint32_t attributes;    /* attributes the parser reported */
	uint32_t max_depth;     /* deepest nesting the pre-scan saw */
	uint32_t parser_max_depth;  /* deepest nesting the parser reported */
	uint32_t parser_max_attrs;  /* most attributes the parser reported on one element */
	size_t mem_peak_bytes;  /* most memory the parser held at once */
	size_t mem_budget_bytes;
	uint32_t allocations;   /* allocation calls of the parser */
	enum domxml_limit limit;
};

/* One line naming the bound ("nesting deeper than 64 elements"), "" for DOMXML_LIMIT_NONE. */
const char *domxml_limit_text(enum domxml_limit limit);

/* ---- the hook: a whole domain XML ----------------------------------------------------------- */

#define DOMXML_HAS_NAME   (1U << 0)
#define DOMXML_HAS_UUID   (1U << 1)
#define DOMXML_HAS_MEMORY (1U << 2)
#define DOMXML_POLICY_BAD (1U << 3) /* a <migtune:policy> attribute was malformed, dropped */

/* The first malformed policy attribute, for the caller's log line (value cut to fit). */
struct domxml_bad_attr {
	char name[32];
	char value[40];
};

struct domxml_domain {
	uint32_t flags;                          /* DOMXML_HAS_*, DOMXML_POLICY_BAD */
	char name[WIRE_DOMAIN_MAX + 1];
	uint8_t uuid[WIRE_UUID_BYTES];
	uint64_t memory_kib;
	struct wire_policy policy;
	struct domxml_bad_attr bad;
};

/*
 * Parse a libvirt domain XML held in buf[0..len) (not necessarily NUL-terminated): <name>,
 * <uuid>, <memory unit=...> (the first of each, children of the root) and the first <policy> in
 * DOMXML_NS among the children of the first <metadata>.  Returns 0 with what could be found in
 * *ret (flags say what), -ENODATA for empty input, -EFBIG above DOMXML_DOMAIN_MAX_BYTES, -E2BIG
 * when a bound refused it, -EBADMSG when it is not well-formed XML, declares a DTD, or its root
 * is not <domain> (without namespace), -ENOMEM.  *ret is untouched on failure.
 */
int domxml_parse_domain(const char *buf, size_t len, struct domxml_domain *ret,
			struct domxml_work *ret_work);

/* ---- the agent: the <policy> element virDomainGetMetadata returns --------------------------- */

/*
 * Parse a <policy .../> element, in DOMXML_NS or without a namespace (libvirt hands the element
 * back without its declaration), at most DOMXML_POLICY_MAX_BYTES, into *ret (zeroed first).
 * Returns 0; -EINVAL when some attribute was malformed (dropped; the others are in *ret, *ret_bad
 * names the first); -ENODATA, -EFBIG, -E2BIG, -EBADMSG (another root element), -ENOMEM as above,
 * with *ret zeroed.
 */
int domxml_parse_policy(const char *buf, size_t len, struct wire_policy *ret,
			struct domxml_bad_attr *ret_bad, struct domxml_work *ret_work);

/* ---- values ----------------------------------------------------------------------------------- */

/*
 * One attribute of the policy element into *pol (sets its WIRE_POL_* bit).  0, -EINVAL for a
 * malformed value (*pol unchanged), -ENOENT for an attribute this version does not know (newer
 * ones may add some: ignored).
 *   name                 1-31 of [A-Za-z0-9._-]
 *   sla-max-downtime-ms  1..3600000          budget-s-per-gib  1..86400
 *   allow-postcopy, allow-suspend, allow-abort   yes | no
 *   on-hopeless          park | abort        postcopy-recovery auto | off
 */
int domxml_policy_attr(struct wire_policy *pol, const char *name, const char *value);

/* A decimal in min..max, blanks around it allowed (as XML attribute values and hook.conf carry
 * them).  0 or -EINVAL, *ret untouched on failure. */
int domxml_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret);

/* "262144" with unit "KiB" (NULL = KiB) -> KiB, rounding bytes up as libvirt does.  0, -EINVAL
 * or -ERANGE. */
int domxml_parse_memory_kib(const char *value, const char *unit, uint64_t *ret_kib);

/* "c7a5fdbd-cdaf-9455-926a-d65c16db1809" (dashes between bytes optional) -> 16 bytes.  0 or
 * -EINVAL, ret_uuid untouched on failure. */
int domxml_parse_uuid(const char *s, uint8_t ret_uuid[WIRE_UUID_BYTES]);

#endif /* MIGTUNE_DOMXML_H */
