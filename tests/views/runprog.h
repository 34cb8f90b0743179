/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Running migtop and migdump from the view tests: output, exit status and peak memory of one run,
 * bounded in time, optionally as another user.  A program that could not be started (fork,
 * setgid/setuid or exec failed) fails the test with the reason: "could not run" is never taken for
 * the program's own answer (tests/common/exe_copy.h makes a copy another user can run).
 */
#ifndef MIGTUNE_TESTS_VIEWS_RUNPROG_H
#define MIGTUNE_TESTS_VIEWS_RUNPROG_H

#include <stddef.h>
#include <sys/types.h>

#define RUN_TIMEOUT_MS 20000

struct run {
	int status;             /* exit code, or 128 + signal */
	char *out, *err;        /* NUL-terminated */
	size_t out_len, err_len;
	long maxrss_kib;        /* peak resident memory of the program */
};

void run_free(struct run *r);
/* Runs argv (argv[0] is a path) as uid:gid when uid != (uid_t)-1 (root only). */
void run_as(struct run *r, uid_t uid, gid_t gid, char *const argv[]);
/* The line of a program's output s that holds word, copied into buf; NULL when none does. */
const char *run_line_with(const char *s, const char *word, char *buf, size_t len);

#define RUN(r, ...) do { char *const av_[] = { __VA_ARGS__, NULL }; \
	run_as((r), (uid_t)-1, (gid_t)-1, av_); } while (0)


#endif
