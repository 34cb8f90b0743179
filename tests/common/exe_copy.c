/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/common/exe_copy.h"

static int copy_fd(int in, int out)
{
	char buf[1 << 16];
	ssize_t k;

	while ((k = read(in, buf, sizeof(buf))) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (ssize_t off = 0; off < k;) {
			ssize_t w = write(out, buf + off, (size_t)(k - off));
			if (w < 0)
				return -errno;
			off += w;
		}
	}
	return 0;
}

int exe_copy_reachable(const char *path, char *ret, size_t len)
{
	char dir[] = "/tmp/migtune-exe-XXXXXX";
	const char *base = strrchr(path, '/');
	int in, out, r;

	if (!mkdtemp(dir))
		return -errno;
	if (chmod(dir, 0755) < 0 ||
	    (size_t)snprintf(ret, len, "%s/%s", dir, base ? base + 1 : path) >= len) {
		r = errno ? -errno : -ENAMETOOLONG;
		rmdir(dir);
		return r;
	}
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		r = -errno;
		rmdir(dir);
		return r;
	}
	out = open(ret, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	r = out < 0 ? -errno : copy_fd(in, out);
	close(in);
	if (out >= 0 && (fchmod(out, 0755) < 0 || close(out) < 0) && r == 0)
		r = -errno;
	if (r < 0)
		exe_copy_remove(ret);
	return r;
}

void exe_copy_remove(const char *copy)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", copy);
	unlink(copy);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		rmdir(dir);
	}
}
