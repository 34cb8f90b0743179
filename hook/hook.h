/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hook.h — internals of migtune-hook, split out so that unit tests and fuzzers drive each piece
 * without a process.  Nothing here logs: functions return a negative errno and main.c decides what
 * the one syslog line says.
 */
#ifndef MIGTUNE_HOOK_H
#define MIGTUNE_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "domxml/domxml.h"
#include "wire.h"

/* How much of stdin is kept for parsing; the rest is read and discarded so libvirt never blocks
 * on a full pipe.  A domain XML is a few KiB; the largest seen in the wild are well under this. */
#define HOOK_STDIN_KEEP_BYTES DOMXML_DOMAIN_MAX_BYTES

#define HOOK_SOCKET_PATH_MAX 107 /* sizeof(sun_path) - 1 */

/* Build-time defaults; the Makefile may override them (make HOOK_CONF=... HOOK_SOCKET=...). */
#ifndef HOOK_CONF_PATH
#define HOOK_CONF_PATH "/etc/migtune/hook.conf"
#endif
#ifndef HOOK_SOCKET_PATH
#define HOOK_SOCKET_PATH WIRE_DEFAULT_SOCKET
#endif

/* Present in the binary so that install-hook.sh can tell a copy of this program from someone
 * else's hook without running it. */
#define HOOK_MARKER "migtune-hook-marker-v1"

/* ---- arguments ------------------------------------------------------------------------------ */

struct hook_args {
	const char *domain;
	const char *op;
	const char *subop;
	const char *extra;
};

/* libvirt passes exactly <domain> <op> <subop> <extra>; argv[0] is the hook path.  Returns 0 or
 * -EINVAL (wrong count, empty op). */
int hook_parse_args(int argc, char *const argv[], struct hook_args *ret);

/* The domain XML is read by domxml_parse_domain() (domxml/domxml.h), the library the agent
 * shares for the same metadata. */

/* ---- event ---------------------------------------------------------------------------------- */

enum hook_xml_state {
	HOOK_XML_OK,
	HOOK_XML_MISSING,
	HOOK_XML_TRUNCATED,
	HOOK_XML_INVALID,
};

/* Fill *ret from the arguments and what the XML gave (dom may be NULL).  Over-long name/extra are
 * cut and flagged; over-long op/subop give -EINVAL (not a libvirt call). */
int hook_build_event(const struct hook_args *args, const struct domxml_domain *dom,
		     enum hook_xml_state xml_state, struct wire_event *ret);

/* Copy src into dst[size] replacing control and non-ASCII bytes by '?', so that a hostile domain
 * name cannot forge log lines or terminal escapes. */
void hook_sanitize(char *dst, size_t size, const char *src);

/* ---- configuration -------------------------------------------------------------------------- */

struct hook_config {
	char socket_path[HOOK_SOCKET_PATH_MAX + 1];
	bool admission;
	unsigned admission_timeout_ms;
};

#define HOOK_ADMISSION_TIMEOUT_MAX_MS 1000

void hook_config_defaults(struct hook_config *cfg);

/*
 * Parse "key = value" lines ('#' comments, blank lines).  Keys: socket, admission,
 * admission-timeout-ms.  Applies every valid line; returns 0, or -EINVAL after the whole text when
 * some line was bad, with its 1-based number in *ret_bad_line (the first one).
 */
int hook_config_parse(const char *text, size_t len, struct hook_config *cfg,
		      unsigned *ret_bad_line);

/* Read and parse a config file (regular file, at most 64 KiB, opened without blocking on FIFOs).
 * -ENOENT when absent (defaults stay), other negative errno on read errors, -EINVAL as above. */
int hook_config_load(const char *path, struct hook_config *cfg, unsigned *ret_bad_line);

/* ---- I/O ------------------------------------------------------------------------------------ */

/*
 * Read fd to EOF, keeping the first keep bytes in buf and discarding the rest.  Returns the number
 * of bytes kept, sets *ret_total_bytes to all bytes read.  -EBADF for a closed fd, other negative
 * errno on read errors (what was kept stays valid for the caller to ignore).
 */
ssize_t hook_read_all(int fd, char *buf, size_t keep, uint64_t *ret_total_bytes);

/* Connect to the agent socket without blocking (SOCK_SEQPACKET, non-blocking, close-on-exec) and
 * send msg with MSG_DONTWAIT|MSG_NOSIGNAL.  On success returns 0 and the connected fd in *ret_fd
 * (caller closes).  -EAGAIN when the agent's backlog or queue is full. */
int hook_send(const char *socket_path, const void *msg, size_t len, int *ret_fd);

/* Wait up to timeout_ms (monotonic deadline) for an admission reply matching request_id on fd.
 * -ETIMEDOUT, -ECONNRESET (agent closed), -EBADMSG/-EPROTO (garbage or wrong id/type). */
int hook_await_reply(int fd, uint32_t request_id, unsigned timeout_ms, struct wire_reply *ret);

int64_t hook_now_ns(int clock_id);

#endif /* MIGTUNE_HOOK_H */
