/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent/log.h"

/* Written once before any thread starts, then only by SIGHUP reload on the main thread; readers
 * tolerate a stale level, so relaxed atomics are enough. */
static int log_stderr = 1;
static int log_max = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_open(bool to_stderr, int max_level)
{
	__atomic_store_n(&log_stderr, to_stderr ? 1 : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&log_max, max_level, __ATOMIC_RELAXED);
	if (!to_stderr)
		openlog("migtuned", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(int max_level)
{
	__atomic_store_n(&log_max, max_level, __ATOMIC_RELAXED);
}

void log_close(void)
{
	if (!__atomic_load_n(&log_stderr, __ATOMIC_RELAXED))
		closelog();
}

int log_level_parse(const char *s)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
		if (level_names[i] && strcmp(s, level_names[i]) == 0)
			return i;
	return -EINVAL;
}

const char *log_level_name(int level)
{
	if (level >= 0 && level < (int)(sizeof(level_names) / sizeof(level_names[0])) &&
	    level_names[level])
		return level_names[level];
	return "?";
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > __atomic_load_n(&log_max, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	if (__atomic_load_n(&log_stderr, __ATOMIC_RELAXED)) {
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		/* One write per line keeps lines from different threads whole. */
		fprintf(stderr, "migtuned: %s%s\n", level <= LOG_WARNING ?
			(level == LOG_WARNING ? "warning: " : "error: ") : "", line);
	} else {
		vsyslog(level, fmt, ap);
	}
	va_end(ap);
}
