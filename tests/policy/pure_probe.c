/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Compiled by test-policy-pure.sh: a policy source that calls what PROBE names.  With PROBE
 * undefined it must compile; with any I/O PROBE it must not (policy/pure.h poisons the names).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "policy/policy_impl.h"

int probe(char *buf, size_t len);

int probe(char *buf, size_t len)
{
#if defined(PROBE_FOPEN)
	return fopen("/etc/hostname", "r") != NULL;
#elif defined(PROBE_CLOCK)
	struct timespec ts;
	return clock_gettime(CLOCK_MONOTONIC, &ts);
#elif defined(PROBE_WRITE)
	return (int)write(2, buf, len);
#elif defined(PROBE_LIBVIRT)
	virConnectPtr c = virConnectOpen("qemu:///system");
	return c != NULL;
#else
	return snprintf(buf, len, "%s", "pure");
#endif
}
