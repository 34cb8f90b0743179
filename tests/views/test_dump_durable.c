/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dumps on disk: the directory is synced after a dump's rename (or a crash can lose the name),
 * and the agent's retention runs before a dump is written, so that on a full disk the old dumps
 * past the limits make room for the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include <cmocka.h>

#include "shm/dump.h"
#include "tests/views/synth.h"

/*
 * fsync as dump.c sees it in this program (the executable's definition wins over libc's): each
 * sync of a directory is recorded, with whether the file the test waits for was in it then.
 */
static const char *expect_file;
static char synced_dir[256];
static int synced_with_file;

int fsync(int fd)
{
	struct stat st;
	char link[64];

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t k = readlink(link, synced_dir, sizeof(synced_dir) - 1);
		synced_dir[k > 0 ? k : 0] = '\0';
		synced_with_file = expect_file && access(expect_file, F_OK) == 0;
	}
	return (int)syscall(SYS_fsync, fd);
}

struct fixture {
	char ring[64];
	char dir[128];
	struct ring_writer *w;
};

static int setup(void **state)
{
	static struct fixture f;
	struct ring_create_opts o = { .slot_count = 4096, .domain_slots = 16, .gid = (gid_t)-1 };
	struct synth_opts so = { .migrations = 4, .steps = 800, .step_ns = 1000000000ull, .seed = 9,
				 .start_mono_ns = 1000000000ull };

	memset(&f, 0, sizeof(f));
	synth_ring_name(f.ring, sizeof(f.ring));
	o.name = f.ring;
	snprintf(f.dir, sizeof(f.dir), "/tmp/migtune-test-durable-XXXXXX");
	if (!mkdtemp(f.dir) || ring_writer_open(&o, &f.w) < 0 || synth_fill(f.w, &so) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[256];
	ring_writer_close(f->w, true);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_directory_synced_after_rename(void **state)
{
	struct fixture *f = *state;
	struct ring_reader *r;
	char path[256];

	snprintf(path, sizeof(path), "%s/x%s", f->dir, DUMP_SUFFIX);
	synced_dir[0] = '\0';
	expect_file = path;
	assert_int_equal(ring_reader_open(f->ring, &r), 0);
	assert_int_equal(dump_write(r, path, NULL, NULL), 0);
	ring_reader_close(r);
	expect_file = NULL;
	assert_string_equal(synced_dir, f->dir);
	assert_true(synced_with_file);      /* synced after the rename, not before */
}

/* A file of size bytes named name in dir, last modified age_s ago. */
static void old_file(const char *dir, const char *name, size_t size, time_t age_s)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	for (size_t i = 0; i < size; i++)
		fputc((int)(i * 2654435761u >> 13), fp);
	assert_int_equal(fclose(fp), 0);
	struct utimbuf t = { time(NULL) - age_s, time(NULL) - age_s };
	assert_int_equal(utime(path, &t), 0);
}

static bool exists(const char *dir, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Retention does not wait for the write to succeed. */
static void test_retention_before_write(void **state)
{
	struct fixture *f = *state;
	char path[512];

	old_file(f->dir, "old" DUMP_SUFFIX, 1000, 3 * 86400);
	assert_int_equal(dump_auto("/migtune-no-such-ring", f->dir, "vm", "failed", 0, 86400, path,
				   sizeof(path)), -ENOENT);
	assert_false(exists(f->dir, "old" DUMP_SUFFIX));
}

/* In a private mount namespace: a small tmpfs filled with old dumps past max_bytes. */
static int full_disk_child(const struct fixture *f)
{
	char path[512];

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", f->dir, "tmpfs", 0, "size=512k") < 0) {
		perror("private tmpfs");
		return 2;
	}
	/* 2 x 200 KiB of old dumps: 100 KiB free, less than the new dump needs */
	old_file(f->dir, "a" DUMP_SUFFIX, 200 << 10, 7200);
	old_file(f->dir, "b" DUMP_SUFFIX, 200 << 10, 3600);
	int r = dump_auto(f->ring, f->dir, "vm", "failed", 300 << 10, 0, path, sizeof(path));
	if (r < 0) {
		fprintf(stderr, "dump_auto on a full disk: %s\n", strerror(-r));
		return 1;
	}
	struct stat st;
	if (stat(path, &st) < 0 || st.st_size < (150 << 10)) {
		fprintf(stderr, "the new dump is missing or too small to need the room\n");
		return 3;
	}
	if (exists(f->dir, "a" DUMP_SUFFIX)) {
		fprintf(stderr, "the oldest dump past the limit is still there\n");
		return 4;
	}
	return 0;
}

static void test_full_disk_relieved(void **state)
{
	struct fixture *f = *state;
	int st;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP full disk: needs root for a private mount namespace\n");
		skip();
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(full_disk_child(f));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_directory_synced_after_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_before_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_disk_relieved, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
