/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Running a program of the build tree as another user (nobody) from a test: the checkout may sit
 * in a directory that user cannot reach (root's home is 0700), and exec would then fail with
 * EACCES, which a test must not take for the program's own refusal.  The test runs a copy in a
 * fresh directory every user can reach instead.
 */
#ifndef MIGTUNE_TESTS_COMMON_EXE_COPY_H
#define MIGTUNE_TESTS_COMMON_EXE_COPY_H

#include <stddef.h>

/* Copies the executable at path into a new directory under /tmp (mode 0755) as a 0755 file of
 * the same name; ret gets the copy's path.  0, or a negative errno. */
int exe_copy_reachable(const char *path, char *ret, size_t len);
/* Removes the copy and its directory. */
void exe_copy_remove(const char *copy);

#endif
