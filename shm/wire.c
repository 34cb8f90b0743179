/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wire.c — encoder and validating decoder for the hook <-> agent messages (see wire.h and
 * docs/wire.md for the byte layout).
 *
 * The layout is written byte by byte rather than by copying a struct so that padding, compiler and
 * ABI (the hook may be a 32-bit build on a multiarch host) never change what goes on the wire.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "wire.h"

#define HDR_BYTES   16

#define OFF_LENGTH  8 /* of the u32 total length in the header */

/* The event body's reserved bytes after the policy's one-byte fields: zero on the wire. */
static const uint8_t reserved_zero[3];

/* Known presence bits, and every one-byte policy field 0 or 1 (each is a yes/no or a choice of
 * two), whether or not its presence bit is set: one encoding per message. */
static bool policy_bytes_valid(const struct wire_policy *p)
{
	return !(p->present & ~WIRE_POL_KNOWN) && p->allow_postcopy <= 1 && p->allow_suspend <= 1 &&
	       p->on_hopeless <= 1 && p->allow_abort <= 1 && p->postcopy_recovery <= 1;
}

struct writer {
	uint8_t *p;
	size_t len;
	size_t size;
	int err;
};

struct reader {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
};

static void put_bytes(struct writer *w, const void *src, size_t n)
{
	if (w->err)
		return;
	if (n > w->size - w->len) {
		w->err = -EMSGSIZE;
		return;
	}
	if (n)
		memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_u8(struct writer *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static void put_u16(struct writer *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	put_bytes(w, b, sizeof(b));
}

static void put_u32(struct writer *w, uint32_t v)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put_bytes(w, b, sizeof(b));
}

static void put_u64(struct writer *w, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put_bytes(w, b, sizeof(b));
}

/* A string field: arr is a char array of arr_size bytes whose content must end in a NUL and be at
 * most max bytes long. */
static void put_str(struct writer *w, const char *arr, size_t arr_size, size_t max)
{
	size_t n = strnlen(arr, arr_size);
	if (n == arr_size || n > max) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	put_u16(w, (uint16_t)n);
	put_bytes(w, arr, n);
}

static const uint8_t *get_bytes(struct reader *r, size_t n)
{
	if (r->err)
		return NULL;
	if (n > r->len - r->off) {
		r->err = -EBADMSG;
		return NULL;
	}
	const uint8_t *q = r->p + r->off;
	r->off += n;
	return q;
}

static uint8_t get_u8(struct reader *r)
{
	const uint8_t *q = get_bytes(r, 1);
	return q ? q[0] : 0;
}

static uint16_t get_u16(struct reader *r)
{
	const uint8_t *q = get_bytes(r, 2);
	return q ? (uint16_t)(q[0] | (q[1] << 8)) : 0;
}

static uint32_t get_u32(struct reader *r)
{
	const uint8_t *q = get_bytes(r, 4);
	uint32_t v = 0;
	if (q)
		for (int i = 3; i >= 0; i--)
			v = (v << 8) | q[i];
	return v;
}

static uint64_t get_u64(struct reader *r)
{
	const uint8_t *q = get_bytes(r, 8);
	uint64_t v = 0;
	if (q)
		for (int i = 7; i >= 0; i--)
			v = (v << 8) | q[i];
	return v;
}

/* Copy a string field into dst[max + 1], NUL-terminated; NUL bytes inside are malformed. */
static void get_str(struct reader *r, char *dst, size_t max)
{
	uint16_t n = get_u16(r);
	if (r->err)
		return;
	if (n > max) {
		r->err = -EBADMSG;
		return;
	}
	const uint8_t *q = get_bytes(r, n);
	if (!q)
		return;
	if (memchr(q, '\0', n)) {
		r->err = -EBADMSG;
		return;
	}
	memcpy(dst, q, n);
	dst[n] = '\0';
}

static void put_header(struct writer *w, uint16_t type, uint32_t request_id)
{
	put_u32(w, WIRE_MAGIC);
	put_u16(w, WIRE_VERSION);
	put_u16(w, type);
	put_u32(w, 0); /* total length, patched once known */
	put_u32(w, request_id);
}

static ssize_t finish(struct writer *w, void *buf, size_t size)
{
	if (w->err)
		return w->err;
	if (w->len > WIRE_MSG_MAX)
		return -EMSGSIZE;
	uint32_t total = (uint32_t)w->len;
	for (int i = 0; i < 4; i++)
		w->p[OFF_LENGTH + i] = (uint8_t)(total >> (8 * i));
	memcpy(buf, w->p, w->len);
	return (ssize_t)w->len;
}

ssize_t wire_encode_event(const struct wire_event *ev, enum wire_type type, uint32_t request_id,
			  void *buf, size_t size)
{
	/* Encode into a scratch buffer first so that buf stays untouched on failure. */
	uint8_t tmp[WIRE_MSG_MAX];
	struct writer w = { .p = tmp, .size = sizeof(tmp) };

	if (!ev || !buf)
		return -EINVAL;
	if (type != WIRE_TYPE_EVENT && type != WIRE_TYPE_ADMIT_REQUEST)
		return -EINVAL;
	if (ev->flags & ~WIRE_EV_FLAGS_KNOWN)
		return -EINVAL;
	if (!policy_bytes_valid(&ev->policy))
		return -EINVAL;

	put_header(&w, (uint16_t)type, request_id);
	put_u32(&w, ev->flags);
	put_u32(&w, ev->hook_pid);
	put_u64(&w, ev->memory_kib);
	put_u64(&w, (uint64_t)ev->realtime_ns);
	put_u64(&w, (uint64_t)ev->monotonic_ns);
	put_bytes(&w, ev->uuid, WIRE_UUID_BYTES);
	put_u32(&w, ev->policy.present);
	put_u32(&w, ev->policy.sla_max_downtime_ms);
	put_u32(&w, ev->policy.budget_s_per_gib);
	put_u8(&w, ev->policy.allow_postcopy);
	put_u8(&w, ev->policy.allow_suspend);
	put_u8(&w, ev->policy.on_hopeless);
	put_u8(&w, ev->policy.allow_abort);
	put_u8(&w, ev->policy.postcopy_recovery);
	put_bytes(&w, reserved_zero, sizeof(reserved_zero));
	put_str(&w, ev->domain, sizeof(ev->domain), WIRE_DOMAIN_MAX);
	put_str(&w, ev->op, sizeof(ev->op), WIRE_OP_MAX);
	put_str(&w, ev->subop, sizeof(ev->subop), WIRE_SUBOP_MAX);
	put_str(&w, ev->extra, sizeof(ev->extra), WIRE_EXTRA_MAX);
	put_str(&w, ev->policy.name, sizeof(ev->policy.name), WIRE_POLICY_NAME_MAX);
	if (!w.err && size < w.len)
		return -EMSGSIZE;
	return finish(&w, buf, size);
}

ssize_t wire_encode_reply(const struct wire_reply *reply, uint32_t request_id, void *buf,
			  size_t size)
{
	uint8_t tmp[WIRE_MSG_MAX];
	struct writer w = { .p = tmp, .size = sizeof(tmp) };

	if (!reply || !buf)
		return -EINVAL;
	if (reply->verdict != WIRE_VERDICT_ACCEPT && reply->verdict != WIRE_VERDICT_REFUSE)
		return -EINVAL;
	put_header(&w, WIRE_TYPE_ADMIT_REPLY, request_id);
	put_u32(&w, reply->verdict);
	put_str(&w, reply->reason, sizeof(reply->reason), WIRE_REASON_MAX);
	if (!w.err && size < w.len)
		return -EMSGSIZE;
	return finish(&w, buf, size);
}

static void decode_event(struct reader *r, struct wire_event *ev)
{
	ev->flags = get_u32(r);
	ev->hook_pid = get_u32(r);
	ev->memory_kib = get_u64(r);
	ev->realtime_ns = (int64_t)get_u64(r);
	ev->monotonic_ns = (int64_t)get_u64(r);
	const uint8_t *uuid = get_bytes(r, WIRE_UUID_BYTES);
	if (uuid)
		memcpy(ev->uuid, uuid, WIRE_UUID_BYTES);
	ev->policy.present = get_u32(r);
	ev->policy.sla_max_downtime_ms = get_u32(r);
	ev->policy.budget_s_per_gib = get_u32(r);
	ev->policy.allow_postcopy = get_u8(r);
	ev->policy.allow_suspend = get_u8(r);
	ev->policy.on_hopeless = get_u8(r);
	ev->policy.allow_abort = get_u8(r);
	ev->policy.postcopy_recovery = get_u8(r);
	const uint8_t *reserved = get_bytes(r, sizeof(reserved_zero));
	if (r->err)
		return;
	if ((ev->flags & ~WIRE_EV_FLAGS_KNOWN) || !policy_bytes_valid(&ev->policy) ||
	    memcmp(reserved, reserved_zero, sizeof(reserved_zero)) != 0) {
		r->err = -EBADMSG;
		return;
	}
	get_str(r, ev->domain, WIRE_DOMAIN_MAX);
	get_str(r, ev->op, WIRE_OP_MAX);
	get_str(r, ev->subop, WIRE_SUBOP_MAX);
	get_str(r, ev->extra, WIRE_EXTRA_MAX);
	get_str(r, ev->policy.name, WIRE_POLICY_NAME_MAX);
}

static void decode_reply(struct reader *r, struct wire_reply *reply)
{
	reply->verdict = get_u32(r);
	if (!r->err && reply->verdict != WIRE_VERDICT_ACCEPT && reply->verdict != WIRE_VERDICT_REFUSE)
		r->err = -EBADMSG;
	get_str(r, reply->reason, WIRE_REASON_MAX);
}

int wire_decode(const void *buf, size_t len, struct wire_msg *ret)
{
	struct reader r = { .p = buf, .len = len };
	struct wire_msg m;

	if (!buf || !ret)
		return -EINVAL;
	if (len < HDR_BYTES || len > WIRE_MSG_MAX)
		return -EBADMSG;
	memset(&m, 0, sizeof(m));
	if (get_u32(&r) != WIRE_MAGIC)
		return -EBADMSG;
	m.version = get_u16(&r);
	m.type = get_u16(&r);
	uint32_t total = get_u32(&r);
	m.request_id = get_u32(&r);
	if (m.version != WIRE_VERSION)
		return -EPROTONOSUPPORT;
	if (total != len)
		return -EBADMSG;

	switch (m.type) {
	case WIRE_TYPE_EVENT:
	case WIRE_TYPE_ADMIT_REQUEST:
		decode_event(&r, &m.event);
		break;
	case WIRE_TYPE_ADMIT_REPLY:
		decode_reply(&r, &m.reply);
		break;
	default:
		return -EPROTO;
	}
	if (r.err)
		return r.err;
	if (r.off != len)
		return -EBADMSG; /* trailing bytes: not a message this version wrote */
	*ret = m;
	return 0;
}

const char *wire_type_name(unsigned type)
{
	switch (type) {
	case WIRE_TYPE_EVENT:
		return "event";
	case WIRE_TYPE_ADMIT_REQUEST:
		return "admit-request";
	case WIRE_TYPE_ADMIT_REPLY:
		return "admit-reply";
	default:
		return "unknown";
	}
}
