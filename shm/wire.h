/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wire.h — the datagram format between the libvirt hook (migtune-hook) and the agent (migtuned).
 *
 * Transport: one AF_UNIX SOCK_SEQPACKET connection per hook invocation to the agent's socket
 * (WIRE_DEFAULT_SOCKET).  The hook sends exactly one message (an event, or an admission request)
 * and, for an admission request only, waits for one admission reply on the same connection.
 *
 * Encoding: every integer little-endian at a fixed offset, strings as a 16-bit length followed by
 * that many bytes (no terminating NUL, no NUL inside).  The byte layout is specified in
 * docs/wire.md; wire.c is the only code that knows it.  Nothing here depends on libvirt or liburcu,
 * so both the hook and the agent link wire.c.
 *
 * Decoding trusts nothing: wire_decode() checks magic, version, type, the declared length against
 * the received length, every string length against its bound and the remaining bytes, rejects NUL
 * bytes inside strings and unknown flag bits, and never reads past the buffer.  It returns a
 * negative errno on any malformed input.
 */
#ifndef MIGTUNE_WIRE_H
#define MIGTUNE_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WIRE_MAGIC   0x4b48544dU /* "MTHK" as little-endian bytes */
#define WIRE_VERSION 2U          /* bumped on any change of layout or meaning */

#define WIRE_DEFAULT_SOCKET "/run/migtune/hook.sock"

/* The agent answers an admission request within this time or the hook accepts the migration. */
#define WIRE_ADMISSION_DEADLINE_MS 200

enum wire_type {
	WIRE_TYPE_EVENT = 1,       /* hook -> agent, no answer expected */
	WIRE_TYPE_ADMIT_REQUEST = 2, /* hook -> agent, same body as an event, answer expected */
	WIRE_TYPE_ADMIT_REPLY = 3, /* agent -> hook */
};

/* Bounds on strings, in bytes, excluding the NUL that decoded copies carry. */
#define WIRE_DOMAIN_MAX      255 /* libvirt keeps <name>.xml files: NAME_MAX bounds real names */
#define WIRE_OP_MAX          31  /* "migrate", "prepare", "started", ... */
#define WIRE_SUBOP_MAX       31  /* "begin", "end", "-" */
#define WIRE_EXTRA_MAX       127 /* "-" or a short reason such as "migrated" */
#define WIRE_POLICY_NAME_MAX 31
#define WIRE_REASON_MAX      200 /* admission reply reason, shown to the operator by libvirt */

/* Largest encoded message; a receiver may use a buffer of exactly this size. */
#define WIRE_MSG_MAX 1024

#define WIRE_UUID_BYTES 16

/* wire_event.flags */
#define WIRE_EV_HAS_UUID        (1U << 0) /* uuid[] is valid */
#define WIRE_EV_HAS_MEMORY      (1U << 1) /* memory_kib is valid */
#define WIRE_EV_XML_TRUNCATED   (1U << 2) /* stdin was larger than the hook keeps; not parsed */
#define WIRE_EV_XML_INVALID     (1U << 3) /* stdin was not a usable domain XML */
#define WIRE_EV_XML_MISSING     (1U << 4) /* stdin was closed, empty or a terminal */
#define WIRE_EV_NAME_TRUNCATED  (1U << 5) /* domain name longer than WIRE_DOMAIN_MAX, cut */
#define WIRE_EV_EXTRA_TRUNCATED (1U << 6) /* extra argument longer than WIRE_EXTRA_MAX, cut */
#define WIRE_EV_POLICY_INVALID  (1U << 7) /* a migtune:policy attribute was malformed, ignored */
#define WIRE_EV_FLAGS_KNOWN     0xffU

/* wire_policy.present: which fields of the per-domain policy the XML <metadata> carried. */
#define WIRE_POL_NAME           (1U << 0)
#define WIRE_POL_SLA_DOWNTIME   (1U << 1)
#define WIRE_POL_ALLOW_POSTCOPY (1U << 2)
#define WIRE_POL_ALLOW_SUSPEND  (1U << 3)
#define WIRE_POL_BUDGET         (1U << 4)
#define WIRE_POL_ON_HOPELESS    (1U << 5) /* since version 2 */
#define WIRE_POL_ALLOW_ABORT    (1U << 6) /* since version 2 */
#define WIRE_POL_POSTCOPY_RECOVERY (1U << 7) /* since version 2 */
#define WIRE_POL_KNOWN          0xffU

/* wire_policy.on_hopeless: what the owner wants when nothing permitted can finish the job. */
#define WIRE_ON_HOPELESS_PARK  0U /* throttle, watch, resume when it can finish */
#define WIRE_ON_HOPELESS_ABORT 1U /* abort as soon as that is clear */

/* wire_policy.postcopy_recovery: whether a broken post-copy may be resumed automatically. */
#define WIRE_POSTCOPY_RECOVERY_OFF  0U
#define WIRE_POSTCOPY_RECOVERY_AUTO 1U

struct wire_policy {
	uint32_t present;                       /* WIRE_POL_* */
	char name[WIRE_POLICY_NAME_MAX + 1];    /* [A-Za-z0-9._-]+ */
	uint32_t sla_max_downtime_ms;
	uint32_t budget_s_per_gib;              /* migration time budget, seconds per GiB of RAM */
	uint8_t allow_postcopy;                 /* 0 or 1 */
	uint8_t allow_suspend;                  /* 0 or 1 */
	uint8_t on_hopeless;                    /* WIRE_ON_HOPELESS_* */
	uint8_t allow_abort;                    /* 0 or 1 */
	uint8_t postcopy_recovery;              /* WIRE_POSTCOPY_RECOVERY_* */
};

struct wire_event {
	uint32_t flags;                         /* WIRE_EV_* */
	uint32_t hook_pid;
	uint64_t memory_kib;
	int64_t realtime_ns;                    /* CLOCK_REALTIME when the hook started */
	int64_t monotonic_ns;                   /* CLOCK_MONOTONIC, same instant */
	uint8_t uuid[WIRE_UUID_BYTES];
	char domain[WIRE_DOMAIN_MAX + 1];
	char op[WIRE_OP_MAX + 1];
	char subop[WIRE_SUBOP_MAX + 1];
	char extra[WIRE_EXTRA_MAX + 1];
	struct wire_policy policy;
};

enum wire_verdict {
	WIRE_VERDICT_ACCEPT = 1,
	WIRE_VERDICT_REFUSE = 2,
};

struct wire_reply {
	uint32_t verdict;                       /* enum wire_verdict */
	char reason[WIRE_REASON_MAX + 1];
};

struct wire_msg {
	uint16_t version;
	uint16_t type;                          /* enum wire_type */
	uint32_t request_id;                    /* echoed by the reply to an admission request */
	union {
		struct wire_event event;        /* WIRE_TYPE_EVENT, WIRE_TYPE_ADMIT_REQUEST */
		struct wire_reply reply;        /* WIRE_TYPE_ADMIT_REPLY */
	};
};

/*
 * Encode an event or an admission request (type) into buf[0..size).  Strings in ev must be
 * NUL-terminated within their arrays.  Returns the number of bytes written, -EINVAL for a bad type,
 * unknown flag bits or an unterminated/overlong string, -EMSGSIZE when size is too small.
 * buf is left untouched on failure.
 */
ssize_t wire_encode_event(const struct wire_event *ev, enum wire_type type, uint32_t request_id,
			  void *buf, size_t size);

/* Encode an admission reply.  Same return convention as wire_encode_event(). */
ssize_t wire_encode_reply(const struct wire_reply *reply, uint32_t request_id, void *buf,
			  size_t size);

/*
 * Decode buf[0..len) into *ret.  Returns 0, or a negative errno and leaves *ret untouched:
 * -EBADMSG (bad magic, length mismatch, truncated field, string too long or containing NUL,
 * unknown flag, bad verdict, trailing bytes), -EPROTONOSUPPORT (other version), -EPROTO (unknown
 * type), -EINVAL (NULL arguments).
 */
int wire_decode(const void *buf, size_t len, struct wire_msg *ret);

/* "event", "admit-request", "admit-reply" or "unknown". */
const char *wire_type_name(unsigned type);

#endif /* MIGTUNE_WIRE_H */
