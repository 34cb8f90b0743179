/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "agent/log.h"
#include "shm/escape.h"

/* Written once before any thread starts, then only by SIGHUP reload on the main thread; readers
 * tolerate a stale level, so relaxed atomics are enough. */
static int log_to = LOG_TO_STDERR;
static int log_max = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* systemd sets JOURNAL_STREAM=DEV:INODE to the stream it connected to stdout/stderr; stderr is
 * the journal only when it is still that very stream (not redirected since). */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n] != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(bool to_stderr, int max_level)
{
	int to;

	if (to_stderr)
		to = stderr_is_journal() ? LOG_TO_STDERR_JOURNAL : LOG_TO_STDERR;
	else
		to = access(LOG_JOURNAL_SOCKET, W_OK) == 0 ? LOG_TO_JOURNAL : LOG_TO_SYSLOG;
	__atomic_store_n(&log_to, to, __ATOMIC_RELAXED);
	__atomic_store_n(&log_max, max_level, __ATOMIC_RELAXED);
	/* syslog also stands in when the journal refuses a line (journald restarting) */
	if (!to_stderr)
		openlog("migtuned", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

enum log_target log_target(void)
{
	return (enum log_target)__atomic_load_n(&log_to, __ATOMIC_RELAXED);
}

void log_set_level(int max_level)
{
	__atomic_store_n(&log_max, max_level, __ATOMIC_RELAXED);
}

void log_close(void)
{
	int to = __atomic_load_n(&log_to, __ATOMIC_RELAXED);

	if (to == LOG_TO_JOURNAL || to == LOG_TO_SYSLOG)
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

/* One native journal entry: the message, its priority and whichever fields f names.  Returns 0
 * or a negative errno (the caller falls back to syslog). */
static int journal_send(int level, const struct log_fields *f, const char *msg)
{
	char prio[16], uuid[48], fields[4][600];
	struct iovec iov[8];
	const char *const names[4] = { "DOMAIN", "ACTION", "POLICY", NULL };
	const char *const vals[4] = { f ? f->domain : NULL, f ? f->action : NULL,
				      f ? f->policy : NULL, NULL };
	size_t msglen = strlen("MESSAGE=") + strlen(msg) + 1;
	char *m = malloc(msglen);
	int n = 0, r;

	if (!m)
		return -ENOMEM;
	snprintf(m, msglen, "MESSAGE=%s", msg);
	iov[n++] = (struct iovec){ m, strlen(m) };
	snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
	iov[n++] = (struct iovec){ prio, strlen(prio) };
	iov[n++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=migtuned",
				   strlen("SYSLOG_IDENTIFIER=migtuned") };
	for (int i = 0; names[i]; i++) {
		if (!vals[i] || !vals[i][0])
			continue;
		snprintf(fields[i], sizeof(fields[i]), "%s=%s", names[i], vals[i]);
		iov[n++] = (struct iovec){ fields[i], strlen(fields[i]) };
	}
	if (f && f->uuid) {
		const uint8_t *u = f->uuid;

		snprintf(uuid, sizeof(uuid), "UUID=%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			 "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
			 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
		iov[n++] = (struct iovec){ uuid, strlen(uuid) };
	}
	r = sd_journal_sendv(iov, n);
	free(m);
	return r;
}

static void log_va(int level, const struct log_fields *f, const char *fmt, va_list ap)
{
	int to = __atomic_load_n(&log_to, __ATOMIC_RELAXED);
	/* Lines carry names chosen by others (domains, hook arguments): the line is escaped as a
	 * whole (shm/escape.h), so that no terminal or log viewer acts on what they hold.  The
	 * journal's fields stay binary-safe as they are: journalctl does not print them raw. */
	char raw[1024], line[TEXT_ESCAPE_SIZE(sizeof(raw))];

	if (level > __atomic_load_n(&log_max, __ATOMIC_RELAXED))
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	text_esc(line, sizeof(line), raw);
	switch (to) {
	case LOG_TO_STDERR:
	case LOG_TO_STDERR_JOURNAL: {
		char prefix[8] = "";

		if (to == LOG_TO_STDERR_JOURNAL)
			snprintf(prefix, sizeof(prefix), "<%d>", level);
		/* One write per line keeps lines from different threads whole. */
		fprintf(stderr, "%smigtuned: %s%s\n", prefix, level <= LOG_WARNING ?
			(level == LOG_WARNING ? "warning: " : "error: ") : "", line);
		break;
	}
	default:
		/* journald restarting or gone: syslog may still take the line */
		if (to != LOG_TO_JOURNAL || journal_send(level, f, line) < 0)
			syslog(level, "%s", line);
		break;
	}
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(level, NULL, fmt, ap);
	va_end(ap);
}

void log_fields_msg(int level, const struct log_fields *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(level, f, fmt, ap);
	va_end(ap);
}
