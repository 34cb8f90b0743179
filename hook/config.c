/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.c — /etc/migtune/hook.conf.  libvirt runs hooks with an emptied environment, so a file is
 * the only way to point a hook at another socket (a lab host) or to turn admission control on.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hook.h"

#define CONF_MAX_BYTES (64 * 1024)

void hook_config_defaults(struct hook_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->socket_path, HOOK_SOCKET_PATH);
	cfg->admission = false;
	cfg->admission_timeout_ms = WIRE_ADMISSION_DEADLINE_MS;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Trim [*s, *s + *n) in place. */
static void trim_span(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

static bool span_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

static int apply(struct hook_config *cfg, const char *key, size_t klen, const char *val,
		 size_t vlen)
{
	if (span_is(key, klen, "socket")) {
		/* An absolute path that fits in sun_path, nothing a shell would have to quote. */
		if (vlen == 0 || vlen > HOOK_SOCKET_PATH_MAX || val[0] != '/' ||
		    memchr(val, '\0', vlen))
			return -EINVAL;
		memcpy(cfg->socket_path, val, vlen);
		cfg->socket_path[vlen] = '\0';
		return 0;
	}
	if (span_is(key, klen, "admission")) {
		if (span_is(val, vlen, "yes"))
			cfg->admission = true;
		else if (span_is(val, vlen, "no"))
			cfg->admission = false;
		else
			return -EINVAL;
		return 0;
	}
	if (span_is(key, klen, "admission-timeout-ms")) {
		char num[16];
		uint32_t ms;
		if (vlen == 0 || vlen >= sizeof(num))
			return -EINVAL;
		memcpy(num, val, vlen);
		num[vlen] = '\0';
		if (domxml_parse_u32(num, 1, HOOK_ADMISSION_TIMEOUT_MAX_MS, &ms) < 0)
			return -EINVAL;
		cfg->admission_timeout_ms = ms;
		return 0;
	}
	return -EINVAL;
}

int hook_config_parse(const char *text, size_t len, struct hook_config *cfg,
		      unsigned *ret_bad_line)
{
	unsigned line = 0, bad = 0;
	size_t off = 0;

	if (!text || !cfg)
		return -EINVAL;
	while (off < len) {
		const char *s = text + off;
		const char *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;
		off += n + (nl != NULL);
		line++;

		const char *hash = memchr(s, '#', n);
		if (hash)
			n = (size_t)(hash - s);
		trim_span(&s, &n);
		if (n == 0)
			continue;
		const char *eq = memchr(s, '=', n);
		if (!eq) {
			if (!bad)
				bad = line;
			continue;
		}
		const char *key = s, *val = eq + 1;
		size_t klen = (size_t)(eq - s), vlen = n - klen - 1;
		trim_span(&key, &klen);
		trim_span(&val, &vlen);
		if (apply(cfg, key, klen, val, vlen) < 0 && !bad)
			bad = line;
	}
	if (bad) {
		if (ret_bad_line)
			*ret_bad_line = bad;
		return -EINVAL;
	}
	return 0;
}

int hook_config_load(const char *path, struct hook_config *cfg, unsigned *ret_bad_line)
{
	char buf[CONF_MAX_BYTES];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, r;

	/* O_NONBLOCK: a FIFO planted at the path must not hang libvirtd. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > CONF_MAX_BYTES) {
		close(fd);
		return -EFBIG;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == sizeof(buf))
		return -EFBIG; /* grew while we read it */
	return hook_config_parse(buf, len, cfg, ret_bad_line);
}
