/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging for migtuned: syslog (journald picks it up) when running as a service, stderr with the
 * program name when run with --foreground.  Only the daemon's front (main, virt, tracker) logs;
 * the parsing and sampling helpers return errors and let their callers decide.
 */
#ifndef MIGTUNE_AGENT_LOG_H
#define MIGTUNE_AGENT_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_open(bool to_stderr, int max_level);
void log_set_level(int max_level);
void log_close(void);
/* "error", "warning", "notice", "info", "debug" -> LOG_*; -EINVAL for anything else. */
int log_level_parse(const char *s);
const char *log_level_name(int level);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
