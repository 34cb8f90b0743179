/*
 * lab-flow — a bounded TCP flow between the lab hosts, standing in for tenant traffic that shares
 * the migration NIC.  Both ends stop by themselves when their time is up, whatever the peer does.
 *
 *   lab-flow sink --port PORT --seconds SECS
 *   lab-flow send --to ADDR:PORT --seconds SECS [--rate-mbit MBIT]   (0 or absent: as fast as TCP)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_BYTES (64 * 1024)

static void usage(FILE *f)
{
	fputs("Usage: lab-flow sink --port PORT --seconds SECS\n"
	      "       lab-flow send --to ADDR:PORT --seconds SECS [--rate-mbit MBIT]\n"
	      "A TCP flow that ends by itself after SECS seconds (at most 3600); the sender paces itself\n"
	      "to MBIT megabits per second when given, else sends as fast as TCP allows.  Each end\n"
	      "prints the bytes it moved and the average rate.\n", f);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int ms_left(double deadline)
{
	double left = deadline - now_s();
	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

static void report(const char *role, uint64_t bytes, double secs)
{
	printf("lab-flow %s: %llu bytes in %.1f s (%.1f Mbit/s)\n", role, (unsigned long long)bytes, secs,
	       secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0.0);
}

static int run_sink(unsigned port, unsigned secs)
{
	static char buf[CHUNK_BYTES];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	double start = now_s(), deadline = start + secs;
	uint64_t bytes = 0;
	int one = 1, conn = -1;

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0) {
		fprintf(stderr, "lab-flow: cannot listen on port %u: %s\n", port, strerror(errno));
		return 1;
	}
	for (;;) {
		struct pollfd pfd = { .fd = conn >= 0 ? conn : ls, .events = POLLIN };
		int t = ms_left(deadline);
		if (t == 0)
			break;
		int r = poll(&pfd, 1, t);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "lab-flow: poll: %s\n", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (conn < 0) {
			conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
			if (conn < 0 && errno != EINTR && errno != ECONNABORTED) {
				fprintf(stderr, "lab-flow: accept: %s\n", strerror(errno));
				break;
			}
			continue;
		}
		ssize_t n = read(conn, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the sender is done */
		bytes += (uint64_t)n;
	}
	report("sink", bytes, now_s() - start);
	if (conn >= 0)
		close(conn);
	close(ls);
	return 0;
}

static int connect_bounded(const char *addr, unsigned port, double deadline)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "lab-flow: '%s' is not an IPv4 address\n", addr);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		goto fail;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);
	if (poll(&pfd, 1, ms_left(deadline)) != 1) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		errno = err ? err : errno;
		goto fail;
	}
	return fd;
fail:
	fprintf(stderr, "lab-flow: connect %s:%u: %s\n", addr, port, strerror(errno));
	close(fd);
	return -1;
}

static int run_send(const char *to, unsigned secs, unsigned long rate_mbit)
{
	static char buf[CHUNK_BYTES];
	char addr[64];
	unsigned long port;
	const char *colon = strrchr(to, ':');
	if (!colon || (size_t)(colon - to) >= sizeof(addr) || parse_ulong(colon + 1, 65535, &port) < 0 || !port) {
		fprintf(stderr, "lab-flow: --to wants ADDR:PORT (got '%s')\n", to);
		return 2;
	}
	memcpy(addr, to, (size_t)(colon - to));
	addr[colon - to] = 0;
	memset(buf, 0x5a, sizeof(buf));

	double start = now_s(), deadline = start + secs;
	int fd = connect_bounded(addr, (unsigned)port, deadline);
	if (fd < 0)
		return 1;
	uint64_t bytes = 0;
	double bytes_per_s = (double)rate_mbit * 1e6 / 8;
	for (;;) {
		double t = now_s();
		if (t >= deadline)
			break;
		if (bytes_per_s > 0 && (double)bytes > (t - start) * bytes_per_s) {
			/* ahead of the pace: sleep until the budget catches up, never past the deadline */
			double wait = (double)bytes / bytes_per_s - (t - start);
			if (wait > deadline - t)
				wait = deadline - t;
			struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
			nanosleep(&ts, NULL);
			continue;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int r = poll(&pfd, 1, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t n = write(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			fprintf(stderr, "lab-flow: send to %s: %s\n", to, strerror(errno));
			break;
		}
		bytes += (uint64_t)n;
	}
	report("send", bytes, now_s() - start);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *to = NULL;
	unsigned long port = 0, secs = 0, rate = 0;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int i = 2; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = !val;
		if (!bad && !strcmp(opt, "--port"))
			bad = parse_ulong(val, 65535, &port) < 0 || !port;
		else if (!bad && !strcmp(opt, "--seconds"))
			bad = parse_ulong(val, 3600, &secs) < 0 || !secs;
		else if (!bad && !strcmp(opt, "--rate-mbit"))
			bad = parse_ulong(val, 100000, &rate) < 0;
		else if (!bad && !strcmp(opt, "--to"))
			to = val;
		else {
			fprintf(stderr, "lab-flow: unknown option '%s' (see lab-flow --help)\n", opt);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "lab-flow: bad or missing value for %s\n", opt);
			return 2;
		}
		i++;
	}
	if (!secs) {
		fprintf(stderr, "lab-flow: --seconds SECS (1..3600) is required\n");
		return 2;
	}
	if (!strcmp(argv[1], "sink")) {
		if (!port) {
			fprintf(stderr, "lab-flow: sink needs --port PORT\n");
			return 2;
		}
		return run_sink((unsigned)port, (unsigned)secs);
	}
	if (!strcmp(argv[1], "send")) {
		if (!to) {
			fprintf(stderr, "lab-flow: send needs --to ADDR:PORT\n");
			return 2;
		}
		return run_send(to, (unsigned)secs, rate);
	}
	fprintf(stderr, "lab-flow: unknown mode '%s' (sink or send)\n", argv[1]);
	return 2;
}
