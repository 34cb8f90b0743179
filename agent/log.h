/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging for migtuned.  As a service the journal's native protocol (sd_journal_send) when the
 * journal's socket is there, with structured fields that let one migration's story be filtered
 * (journalctl DOMAIN=db-01, UUID=..., ACTION=abort, POLICY=adaptive); syslog otherwise.  With
 * --foreground, stderr with the program name; when stderr is itself the journal (systemd's
 * JOURNAL_STREAM names it) each line starts with the sd-daemon "<N>" priority prefix so that the
 * journal keeps the level.  Only the daemon's front (main, virt, tracker, actuator) logs; the
 * parsing and sampling helpers return errors and let their callers decide.
 */
#ifndef MIGTUNE_AGENT_LOG_H
#define MIGTUNE_AGENT_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

/* Where the journal's native socket is (sd_journal_send writes there). */
#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Where log lines go, as log_open chose it. */
enum log_target { LOG_TO_STDERR, LOG_TO_STDERR_JOURNAL, LOG_TO_JOURNAL, LOG_TO_SYSLOG };

void log_open(bool to_stderr, int max_level);
enum log_target log_target(void);
void log_set_level(int max_level);
void log_close(void);
/* "error", "warning", "notice", "info", "debug" -> LOG_*; -EINVAL for anything else. */
int log_level_parse(const char *s);
const char *log_level_name(int level);

/*
 * The journal fields of a line about one migration; any member may be NULL.  Text outputs
 * (stderr, syslog) show only the message, which names the domain itself.
 */
struct log_fields {
	const char *domain;         /* DOMAIN= */
	const uint8_t *uuid;        /* UUID= (16 bytes, printed as the usual 36 characters) */
	const char *action;         /* ACTION= (set-downtime, abort, ...) */
	const char *policy;         /* POLICY= */
};

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_fields_msg(int level, const struct log_fields *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

/* A line about domain (name, 16-byte uuid or NULL). */
#define log_domain(level, name_, uuid_, ...) \
	log_fields_msg(level, &(const struct log_fields){ .domain = (name_), .uuid = (uuid_) }, \
		       __VA_ARGS__)

#endif
