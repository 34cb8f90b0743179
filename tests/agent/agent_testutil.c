/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/agent/agent_testutil.h"

void tu_ring_name(const char *tag, char *ret, size_t len)
{
	snprintf(ret, len, "/mt-test-%s-%d", tag, (int)getpid());
}

void tu_tmpdir(const char *tag, char *ret, size_t len)
{
	/* Short: unix socket paths are limited to 108 bytes. */
	snprintf(ret, len, "/tmp/mt-%s-%d", tag, (int)getpid());
	mkdir(ret, 0755);
}

void tu_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char p[512];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

size_t tu_read_all(const char *ring_name, struct ring_record *ret, size_t max)
{
	struct ring_reader *r;
	struct ring_record rec;
	uint64_t seq;
	size_t n = 0;

	if (ring_reader_open(ring_name, &r) < 0)
		return 0;
	ring_reader_seek_oldest(r);
	while (n < max && ring_read(r, &rec, &seq, NULL) == 1)
		ret[n++] = rec;
	ring_reader_close(r);
	return n;
}

size_t tu_count(const struct ring_record *recs, size_t n, uint16_t type)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += recs[i].type == type;
	return c;
}

int tu_job_params(uint64_t elapsed_ms, uint32_t iteration, uint64_t remaining_bytes,
		  uint64_t bps, uint64_t dirty_pages_s, uint64_t downtime_ms,
		  virTypedParameterPtr *ret_params, int *ret_n)
{
	virTypedParameterPtr p = NULL;
	int n = 0, max = 0;
	uint64_t total = 256ULL << 20;
	uint64_t processed = total * (iteration ? iteration : 1) - remaining_bytes % total;

	if (virTypedParamsAddInt(&p, &n, &max, VIR_DOMAIN_JOB_OPERATION, 5) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_TIME_ELAPSED, elapsed_ms) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_MEMORY_ITERATION, iteration) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_DATA_TOTAL, total) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_DATA_PROCESSED, processed) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_DATA_REMAINING, remaining_bytes) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_MEMORY_TOTAL, total) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_MEMORY_PROCESSED, processed) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_MEMORY_REMAINING, remaining_bytes) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_MEMORY_BPS, bps) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, dirty_pages_s) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, 4096) < 0 ||
	    virTypedParamsAddULLong(&p, &n, &max, VIR_DOMAIN_JOB_DOWNTIME, downtime_ms) < 0) {
		virTypedParamsFree(p, n);
		return -ENOMEM;
	}
	*ret_params = p;
	*ret_n = n;
	return 0;
}

void tu_hook_event(struct wire_event *ret, const char *name, const uint8_t *uuid, const char *op,
		   const char *subop, const char *extra)
{
	struct timespec ts;

	memset(ret, 0, sizeof(*ret));
	if (uuid) {
		memcpy(ret->uuid, uuid, 16);
		ret->flags |= WIRE_EV_HAS_UUID;
	}
	ret->hook_pid = (uint32_t)getpid();
	clock_gettime(CLOCK_REALTIME, &ts);
	ret->realtime_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ret->monotonic_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	snprintf(ret->domain, sizeof(ret->domain), "%s", name);
	snprintf(ret->op, sizeof(ret->op), "%s", op);
	snprintf(ret->subop, sizeof(ret->subop), "%s", subop);
	snprintf(ret->extra, sizeof(ret->extra), "%s", extra);
}

int tu_connect_unix(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

int tu_hook_send(const char *path, const struct wire_event *ev, int type, struct wire_reply *reply)
{
	unsigned char buf[WIRE_MSG_MAX];
	ssize_t len = wire_encode_event(ev, (enum wire_type)type, 42, buf, sizeof(buf));
	int fd, r = 0;

	if (len < 0)
		return (int)len;
	fd = tu_connect_unix(path, SOCK_SEQPACKET);
	if (fd < 0)
		return fd;
	if (send(fd, buf, (size_t)len, MSG_NOSIGNAL) != len)
		r = -errno;
	if (!r && reply) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct wire_msg m;
		ssize_t n;

		if (poll(&p, 1, 1000) <= 0) {
			r = -ETIMEDOUT;
		} else {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				r = -ECONNRESET;
			else if ((r = wire_decode(buf, (size_t)n, &m)) == 0)
				*reply = m.reply;
		}
	} else if (!r) {
		/* Wait for the agent to close: the message has then been handled. */
		struct pollfd p = { .fd = fd, .events = POLLIN };

		poll(&p, 1, 1000);
	}
	close(fd);
	return r;
}

int tu_ctl_request_within(const char *path, const char *line, char *buf, size_t len,
			  unsigned timeout_ms)
{
	uint64_t end = ring_now_mono_ns() + (uint64_t)timeout_ms * 1000000;
	size_t off = 0;
	int fd = tu_connect_unix(path, SOCK_STREAM);

	if (fd < 0)
		return fd;
	/* A refused client gets its answer and the close before it may have sent anything: a
	 * failed send still leaves that answer to read. */
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) >= 0)
		(void)send(fd, "\n", 1, MSG_NOSIGNAL);
	while (off < len - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = ring_now_mono_ns();
		ssize_t n;

		if (now >= end || poll(&p, 1, (int)((end - now) / 1000000) + 1) <= 0) {
			close(fd);
			return -ETIMEDOUT;
		}
		n = recv(fd, buf + off, len - 1 - off, 0);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	close(fd);
	return 0;
}

int tu_ctl_request(const char *path, const char *line, char *buf, size_t len)
{
	return tu_ctl_request_within(path, line, buf, len, 30000);
}

bool tu_wait(bool (*cond)(void *arg), void *arg, unsigned timeout_ms)
{
	for (unsigned t = 0; t <= timeout_ms; t += 10) {
		if (cond(arg))
			return true;
		usleep(10000);
	}
	return cond(arg);
}

/*
 * ThreadSanitizer sees the agent's own accesses but not the synchronization inside uninstrumented
 * libraries: liburcu's grace periods (a snapshot freed by call_rcu after every reader left looks
 * like a race with those readers) and glib's slice allocator under libvirt.  Reports whose stack
 * goes through those libraries are theirs, not ours; use-after-free there would still show under
 * ASan.  Only consulted in TSan builds.
 */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "race:liburcu.so\n"
	       "race:liburcu-cds.so\n"
	       "race:libglib-2.0.so\n";
}
