/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket's request line, decoded apart from the socket so that the fuzzer and the
 * tests drive exactly the code the agent runs.  A request is one word of CTL_REQUEST_MAX - 1
 * bytes at most, ended by "\n" (or "\r\n") or by the end of what the client sent.  Anything else
 * (a NUL, a control character, a missing or unknown word, an over-long line) is refused with a
 * reason the agent sends back: a client that speaks another protocol learns so at once.
 */
#ifndef MIGTUNE_AGENT_CTL_REQUEST_H
#define MIGTUNE_AGENT_CTL_REQUEST_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define CTL_REQUEST_MAX 256   /* bytes the agent reads, newline included */

enum ctl_request {
	CTL_REQ_STATUS = 1,
	CTL_REQ_PING,
};

static inline const char *ctl_request_name(enum ctl_request r)
{
	switch (r) {
	case CTL_REQ_STATUS: return "status";
	case CTL_REQ_PING: return "ping";
	}
	return NULL;
}

/*
 * Decodes buf[len], everything the client sent.  Returns the request, or -EMSGSIZE (no newline
 * within CTL_REQUEST_MAX bytes), -EBADMSG (NUL or control character in the line, or an empty
 * line), -ENOENT (a word that is not a request).
 */
static inline int ctl_request_decode(const char *buf, size_t len)
{
	static const enum ctl_request known[] = { CTL_REQ_STATUS, CTL_REQ_PING };
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl ? (size_t)(nl - buf) : len;

	if (n >= CTL_REQUEST_MAX)
		return -EMSGSIZE;
	if (n && buf[n - 1] == '\r')
		n--;
	if (!n)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return -EBADMSG;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const char *w = ctl_request_name(known[i]);

		if (strlen(w) == n && memcmp(w, buf, n) == 0)
			return (int)known[i];
	}
	return -ENOENT;
}

#endif
