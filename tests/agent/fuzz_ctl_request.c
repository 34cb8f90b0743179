/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the control socket's request line comes from any member of ctl_group.  The
 * decoder must stay within the bytes received, and whatever it accepts must be exactly one known
 * word followed by the end of the input, "\n" or "\r\n": nothing else may be read as a request. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ctl_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The agent reads at most CTL_REQUEST_MAX bytes; an exact-size copy lets ASan see any
	 * read past them. */
	size_t len = size < CTL_REQUEST_MAX ? size : CTL_REQUEST_MAX;
	char *copy = malloc(len ? len : 1);
	const char *w;
	size_t wl;
	int r;

	if (!copy)
		return 0;
	memcpy(copy, data, len);
	r = ctl_request_decode(copy, len);
	free(copy);
	if (r < 0) {
		assert(r == -EMSGSIZE || r == -EBADMSG || r == -ENOENT);
		return 0;
	}
	w = ctl_request_name((enum ctl_request)r);
	assert(w);
	wl = strlen(w);
	assert(len >= wl && memcmp(data, w, wl) == 0);
	assert(len == wl || data[wl] == '\n' || (data[wl] == '\r' && (len == wl + 1 || data[wl + 1] == '\n')));
	return 0;
}
