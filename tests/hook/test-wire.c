/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for shm/wire.c: round trips, bounds, and rejection of every kind of malformed
 * datagram an agent could receive. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

static void fill_event(struct wire_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->flags = WIRE_EV_HAS_UUID | WIRE_EV_HAS_MEMORY | WIRE_EV_POLICY_INVALID;
	ev->hook_pid = 4242;
	ev->memory_kib = 16ULL * 1024 * 1024 * 1024; /* 16 TiB: more than 32 bits */
	ev->realtime_ns = 1763760000123456789LL;
	ev->monotonic_ns = -5; /* signed fields survive */
	for (int i = 0; i < WIRE_UUID_BYTES; i++)
		ev->uuid[i] = (uint8_t)(0xf0 + i);
	strcpy(ev->domain, "guest-01");
	strcpy(ev->op, "migrate");
	strcpy(ev->subop, "begin");
	strcpy(ev->extra, "-");
	ev->policy.present = WIRE_POL_KNOWN;
	strcpy(ev->policy.name, "adaptive");
	ev->policy.sla_max_downtime_ms = 500;
	ev->policy.budget_s_per_gib = 60;
	ev->policy.allow_postcopy = 1;
	ev->policy.allow_suspend = 0;
	ev->policy.on_hopeless = WIRE_ON_HOPELESS_ABORT;
	ev->policy.allow_abort = 0;
	ev->policy.postcopy_recovery = WIRE_POSTCOPY_RECOVERY_AUTO;
}

/* Offsets of docs/wire.md, version 2. */
#define OFF_POSTCOPY    76
#define OFF_ON_HOPELESS 78
#define OFF_ABORT       79
#define OFF_RECOVERY    80
#define OFF_RESERVED    81
#define OFF_STRINGS     84

static ssize_t encode_sample(uint8_t *buf, size_t size)
{
	struct wire_event ev;
	fill_event(&ev);
	return wire_encode_event(&ev, WIRE_TYPE_EVENT, 77, buf, size);
}

static void event_round_trip(void **state)
{
	struct wire_event ev;
	struct wire_msg m;
	uint8_t buf[WIRE_MSG_MAX];

	fill_event(&ev);
	ssize_t n = wire_encode_event(&ev, WIRE_TYPE_ADMIT_REQUEST, 0xdeadbeef, buf, sizeof(buf));
	assert_true(n > 16);
	/* 16 header + 68 fixed + 5 strings, each a 2-byte length and its bytes */
	assert_int_equal(n, OFF_STRINGS + (2 + 8) + (2 + 7) + (2 + 5) + (2 + 1) + (2 + 8));
	assert_int_equal(wire_decode(buf, (size_t)n, &m), 0);
	assert_int_equal(m.version, WIRE_VERSION);
	assert_int_equal(m.type, WIRE_TYPE_ADMIT_REQUEST);
	assert_int_equal(m.request_id, 0xdeadbeef);
	assert_memory_equal(&m.event, &ev, sizeof(ev));
	/* The version 2 fields sit where the document says. */
	assert_int_equal(buf[OFF_ON_HOPELESS], WIRE_ON_HOPELESS_ABORT);
	assert_int_equal(buf[OFF_ABORT], 0);
	assert_int_equal(buf[OFF_RECOVERY], WIRE_POSTCOPY_RECOVERY_AUTO);
	assert_int_equal(buf[64], WIRE_POL_KNOWN);
}

static void header_is_little_endian(void **state)
{
	uint8_t buf[WIRE_MSG_MAX];
	ssize_t n = encode_sample(buf, sizeof(buf));
	assert_true(n > 0);
	assert_memory_equal(buf, "MTHK", 4);
	assert_int_equal(buf[4], 2); /* version 2: the owner's abort and recovery choices */
	assert_int_equal(buf[5], 0);
	assert_int_equal(buf[6], WIRE_TYPE_EVENT);
	assert_int_equal(buf[8], (uint8_t)n);
	assert_int_equal(buf[9], (uint8_t)(n >> 8));
	assert_int_equal(buf[12], 77);
}

static void reply_round_trip(void **state)
{
	struct wire_reply r = { .verdict = WIRE_VERDICT_REFUSE };
	struct wire_msg m;
	uint8_t buf[WIRE_MSG_MAX];

	strcpy(r.reason, "2 incoming migrations already running (max 2)");
	ssize_t n = wire_encode_reply(&r, 9, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(wire_decode(buf, (size_t)n, &m), 0);
	assert_int_equal(m.type, WIRE_TYPE_ADMIT_REPLY);
	assert_int_equal(m.request_id, 9);
	assert_int_equal(m.reply.verdict, WIRE_VERDICT_REFUSE);
	assert_string_equal(m.reply.reason, r.reason);

	r.verdict = 0;
	assert_int_equal(wire_encode_reply(&r, 9, buf, sizeof(buf)), -EINVAL);
}

static void largest_message_fits(void **state)
{
	struct wire_event ev;
	struct wire_msg m;
	uint8_t buf[WIRE_MSG_MAX];

	fill_event(&ev);
	memset(ev.domain, 'd', WIRE_DOMAIN_MAX);
	ev.domain[WIRE_DOMAIN_MAX] = '\0';
	memset(ev.op, 'o', WIRE_OP_MAX);
	ev.op[WIRE_OP_MAX] = '\0';
	memset(ev.subop, 's', WIRE_SUBOP_MAX);
	ev.subop[WIRE_SUBOP_MAX] = '\0';
	memset(ev.extra, 'e', WIRE_EXTRA_MAX);
	ev.extra[WIRE_EXTRA_MAX] = '\0';
	memset(ev.policy.name, 'p', WIRE_POLICY_NAME_MAX);
	ev.policy.name[WIRE_POLICY_NAME_MAX] = '\0';
	ssize_t n = wire_encode_event(&ev, WIRE_TYPE_EVENT, 1, buf, sizeof(buf));
	assert_true(n > 0 && n <= WIRE_MSG_MAX);
	assert_int_equal(wire_decode(buf, (size_t)n, &m), 0);
	assert_string_equal(m.event.domain, ev.domain);

	struct wire_reply r = { .verdict = WIRE_VERDICT_ACCEPT };
	memset(r.reason, 'r', WIRE_REASON_MAX);
	r.reason[WIRE_REASON_MAX] = '\0';
	n = wire_encode_reply(&r, 1, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(wire_decode(buf, (size_t)n, &m), 0);
}

static void encode_rejects_bad_input(void **state)
{
	struct wire_event ev;
	uint8_t buf[WIRE_MSG_MAX], copy[WIRE_MSG_MAX];

	fill_event(&ev);
	memset(buf, 0x5a, sizeof(buf));
	memcpy(copy, buf, sizeof(buf));
	assert_int_equal(wire_encode_event(&ev, WIRE_TYPE_ADMIT_REPLY, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(wire_encode_event(&ev, WIRE_TYPE_EVENT, 1, buf, 20), -EMSGSIZE);
	ev.flags |= 1U << 31;
	assert_int_equal(wire_encode_event(&ev, WIRE_TYPE_EVENT, 1, buf, sizeof(buf)), -EINVAL);
	fill_event(&ev);
	ev.policy.allow_suspend = 2;
	assert_int_equal(wire_encode_event(&ev, WIRE_TYPE_EVENT, 1, buf, sizeof(buf)), -EINVAL);
	fill_event(&ev);
	ev.policy.on_hopeless = 2;
	assert_int_equal(wire_encode_event(&ev, WIRE_TYPE_EVENT, 1, buf, sizeof(buf)), -EINVAL);
	fill_event(&ev);
	ev.policy.postcopy_recovery = 7;
	assert_int_equal(wire_encode_event(&ev, WIRE_TYPE_EVENT, 1, buf, sizeof(buf)), -EINVAL);
	fill_event(&ev);
	memset(ev.op, 'x', sizeof(ev.op)); /* not terminated */
	assert_int_equal(wire_encode_event(&ev, WIRE_TYPE_EVENT, 1, buf, sizeof(buf)), -EINVAL);
	/* buf untouched by every failure */
	assert_memory_equal(buf, copy, sizeof(buf));
}

static void every_truncation_is_rejected(void **state)
{
	uint8_t buf[WIRE_MSG_MAX];
	struct wire_msg m;
	ssize_t n = encode_sample(buf, sizeof(buf));
	assert_true(n > 0);

	for (size_t len = 0; len < (size_t)n; len++) {
		/* Exact-size heap copy so that ASan catches any read past len. */
		uint8_t *p = malloc(len ? len : 1);
		assert_non_null(p);
		memcpy(p, buf, len);
		assert_true(wire_decode(p, len, &m) < 0);
		/* Also with the header's length patched to match: fields must still be bounded. */
		if (len >= 16) {
			p[8] = (uint8_t)len;
			p[9] = (uint8_t)(len >> 8);
			p[10] = p[11] = 0;
			assert_int_equal(wire_decode(p, len, &m), -EBADMSG);
		}
		free(p);
	}
}

static void garbage_is_rejected(void **state)
{
	uint8_t buf[WIRE_MSG_MAX + 8], bad[WIRE_MSG_MAX + 8];
	struct wire_msg m, before;
	ssize_t n = encode_sample(buf, sizeof(buf));
	assert_true(n > 0);

	memset(&m, 0x33, sizeof(m));
	before = m;

	memcpy(bad, buf, (size_t)n);
	bad[0] ^= 1; /* magic */
	assert_int_equal(wire_decode(bad, (size_t)n, &m), -EBADMSG);

	memcpy(bad, buf, (size_t)n);
	bad[4] = 1; /* version 1: a hook from before the owner's abort and recovery choices */
	assert_int_equal(wire_decode(bad, (size_t)n, &m), -EPROTONOSUPPORT);
	bad[4] = 3;
	assert_int_equal(wire_decode(bad, (size_t)n, &m), -EPROTONOSUPPORT);

	memcpy(bad, buf, (size_t)n);
	bad[6] = 9; /* type */
	assert_int_equal(wire_decode(bad, (size_t)n, &m), -EPROTO);

	memcpy(bad, buf, (size_t)n);
	bad[8]++; /* declared length differs from received */
	assert_int_equal(wire_decode(bad, (size_t)n, &m), -EBADMSG);

	memcpy(bad, buf, (size_t)n);
	bad[16 + 3] = 0x80; /* unknown event flag */
	assert_int_equal(wire_decode(bad, (size_t)n, &m), -EBADMSG);

	memcpy(bad, buf, (size_t)n);
	bad[64 + 1] = 1; /* policy_present bit 8: not known in version 2 */
	assert_int_equal(wire_decode(bad, (size_t)n, &m), -EBADMSG);

	/* Every one-byte policy field is 0 or 1. */
	static const size_t one_byte[] = { OFF_POSTCOPY, OFF_POSTCOPY + 1, OFF_ON_HOPELESS,
					   OFF_ABORT, OFF_RECOVERY };
	for (size_t i = 0; i < sizeof(one_byte) / sizeof(one_byte[0]); i++) {
		memcpy(bad, buf, (size_t)n);
		bad[one_byte[i]] = 2;
		assert_int_equal(wire_decode(bad, (size_t)n, &m), -EBADMSG);
	}

	for (size_t off = OFF_RESERVED; off < OFF_STRINGS; off++) {
		memcpy(bad, buf, (size_t)n);
		bad[off] = 1; /* reserved */
		assert_int_equal(wire_decode(bad, (size_t)n, &m), -EBADMSG);
	}

	memcpy(bad, buf, (size_t)n);
	bad[OFF_STRINGS + 2 + 2] = '\0'; /* NUL inside the domain name */
	assert_int_equal(wire_decode(bad, (size_t)n, &m), -EBADMSG);

	memcpy(bad, buf, (size_t)n);
	bad[OFF_STRINGS] = 0xff; /* domain length beyond the message */
	bad[OFF_STRINGS + 1] = 0x00;
	assert_int_equal(wire_decode(bad, (size_t)n, &m), -EBADMSG);

	/* Trailing bytes, with the length field agreeing. */
	memcpy(bad, buf, (size_t)n);
	bad[n] = 0;
	bad[8] = (uint8_t)(n + 1);
	assert_int_equal(wire_decode(bad, (size_t)n + 1, &m), -EBADMSG);

	/* Oversized datagram. */
	memset(bad, 0, sizeof(bad));
	assert_int_equal(wire_decode(bad, WIRE_MSG_MAX + 1, &m), -EBADMSG);

	assert_int_equal(wire_decode(NULL, 10, &m), -EINVAL);
	assert_int_equal(wire_decode(buf, (size_t)n, NULL), -EINVAL);

	/* *ret untouched by every failure */
	assert_memory_equal(&m, &before, sizeof(m));
}

static void string_bound_enforced_on_decode(void **state)
{
	/* A reply whose reason claims WIRE_REASON_MAX + 1 bytes and carries them. */
	uint8_t buf[WIRE_MSG_MAX];
	struct wire_msg m;
	size_t reason = WIRE_REASON_MAX + 1, len = 16 + 4 + 2 + reason;

	memset(buf, 'r', sizeof(buf));
	memcpy(buf, "MTHK", 4);
	buf[4] = WIRE_VERSION, buf[5] = 0, buf[6] = WIRE_TYPE_ADMIT_REPLY, buf[7] = 0;
	buf[8] = (uint8_t)len, buf[9] = (uint8_t)(len >> 8), buf[10] = buf[11] = 0;
	memset(buf + 12, 0, 4);
	buf[16] = WIRE_VERDICT_ACCEPT, buf[17] = buf[18] = buf[19] = 0;
	buf[20] = (uint8_t)reason, buf[21] = (uint8_t)(reason >> 8);
	assert_int_equal(wire_decode(buf, len, &m), -EBADMSG);

	/* One byte shorter is fine. */
	reason--, len--;
	buf[8] = (uint8_t)len, buf[9] = (uint8_t)(len >> 8);
	buf[20] = (uint8_t)reason;
	assert_int_equal(wire_decode(buf, len, &m), 0);
	assert_int_equal(strlen(m.reply.reason), WIRE_REASON_MAX);
}

static void random_bytes_never_crash(void **state)
{
	/* Cheap in-suite fuzzing with a fixed seed; the libFuzzer target goes much further. */
	uint8_t good[WIRE_MSG_MAX];
	struct wire_msg m;
	ssize_t n = encode_sample(good, sizeof(good));
	unsigned seed = 12345, accepted = 0;
	assert_true(n > 0);

	for (int round = 0; round < 20000; round++) {
		uint8_t *p = malloc((size_t)n);
		assert_non_null(p);
		memcpy(p, good, (size_t)n);
		int flips = 1 + (int)(rand_r(&seed) % 4);
		for (int i = 0; i < flips; i++)
			p[rand_r(&seed) % (unsigned)n] = (uint8_t)rand_r(&seed);
		if (wire_decode(p, (size_t)n, &m) == 0) {
			accepted++;
			assert_int_not_equal(m.type, WIRE_TYPE_ADMIT_REPLY);
			/* Whatever is accepted must re-encode to the same bytes. */
			uint8_t again[WIRE_MSG_MAX];
			ssize_t k = wire_encode_event(&m.event, m.type, m.request_id, again,
						      sizeof(again));
			assert_int_equal(k, n);
			assert_memory_equal(again, p, (size_t)n);
		}
		free(p);
	}
	/* Flips in the time/pid/uuid fields stay valid: both outcomes must be exercised. */
	assert_true(accepted > 0 && accepted < 20000);
}

static void type_names(void **state)
{
	assert_string_equal(wire_type_name(WIRE_TYPE_EVENT), "event");
	assert_string_equal(wire_type_name(WIRE_TYPE_ADMIT_REQUEST), "admit-request");
	assert_string_equal(wire_type_name(WIRE_TYPE_ADMIT_REPLY), "admit-reply");
	assert_string_equal(wire_type_name(0), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(event_round_trip),
		cmocka_unit_test(header_is_little_endian),
		cmocka_unit_test(reply_round_trip),
		cmocka_unit_test(largest_message_fits),
		cmocka_unit_test(encode_rejects_bad_input),
		cmocka_unit_test(every_truncation_is_rejected),
		cmocka_unit_test(garbage_is_rejected),
		cmocka_unit_test(string_bound_enforced_on_decode),
		cmocka_unit_test(random_bytes_never_crash),
		cmocka_unit_test(type_names),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
