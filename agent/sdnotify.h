/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Talking to the service manager: readiness, status, stopping and the watchdog, as datagrams on
 * $NOTIFY_SOCKET (systemd's sd_notify protocol, documented in sd_notify(3); any supervisor may
 * implement it).  Without $NOTIFY_SOCKET every call does nothing: a migtuned started by hand or
 * by another supervisor is unaffected.
 */
#ifndef MIGTUNE_AGENT_SDNOTIFY_H
#define MIGTUNE_AGENT_SDNOTIFY_H

#include <stdint.h>

/* Sends one state string ("READY=1", "STATUS=...", "WATCHDOG=1", several joined by '\n').
 * Returns 1 when sent, 0 when not under a service manager, or a negative errno. */
int sdnotify_send(const char *state);
int sdnotify_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog period the service manager expects from this process ($WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or ours), in microseconds; 0 when there is none. */
uint64_t sdnotify_watchdog_usec(void);

#endif
