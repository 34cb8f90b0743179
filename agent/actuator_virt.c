/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The actuator's libvirt calls (struct act_ops): the tuning APIs, their read-backs, the domain's
 * migtune metadata, and whether the running job may switch to post-copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "agent/actuator.h"
#include "agent/virt.h"

/* libvirt's last error as a negative errno plus its message. */
static int fail(const char *what, char *err, size_t errlen)
{
	virErrorPtr e = virGetLastError();
	const char *msg = e && e->message ? e->message : "unknown error";
	int r = -EIO;

	if (e) {
		switch (e->code) {
		case VIR_ERR_NO_DOMAIN: r = -ENOENT; break;
		case VIR_ERR_NO_DOMAIN_METADATA: r = -ENOENT; break;
		case VIR_ERR_OPERATION_INVALID: r = -EINVAL; break;
		case VIR_ERR_NO_SUPPORT:
		case VIR_ERR_OPERATION_UNSUPPORTED:
		case VIR_ERR_ARGUMENT_UNSUPPORTED: r = -EOPNOTSUPP; break;
		case VIR_ERR_ACCESS_DENIED:
		case VIR_ERR_AUTH_FAILED: r = -EACCES; break;
		case VIR_ERR_OPERATION_TIMEOUT: r = -ETIMEDOUT; break;
		case VIR_ERR_SYSTEM_ERROR: r = e->int1 > 0 ? -e->int1 : -EIO; break;
		case VIR_ERR_RPC:
		case VIR_ERR_INTERNAL_ERROR: r = -ECONNRESET; break;
		default: break;
		}
	}
	snprintf(err, errlen, "%s: %s", what, msg);
	return r;
}

static virDomainPtr dom_of(void *h, char *err, size_t errlen)
{
	virDomainPtr d = virt_domain_ptr(h);

	if (!d)
		snprintf(err, errlen, "no libvirt handle for the domain");
	return d;
}

static int set_max_downtime(void *h, uint64_t ms, char *err, size_t errlen)
{
	virDomainPtr d = dom_of(h, err, errlen);

	if (!d)
		return -ENOTCONN;
	if (virDomainMigrateSetMaxDowntime(d, ms, 0) < 0)
		return fail("virDomainMigrateSetMaxDowntime", err, errlen);
	return 0;
}

static int get_max_downtime(void *h, uint64_t *ret_ms, char *err, size_t errlen)
{
	virDomainPtr d = dom_of(h, err, errlen);
	unsigned long long v = 0;

	if (!d)
		return -ENOTCONN;
	if (virDomainMigrateGetMaxDowntime(d, &v, 0) < 0)
		return fail("virDomainMigrateGetMaxDowntime", err, errlen);
	*ret_ms = v;
	return 0;
}

static int set_max_speed(void *h, uint64_t mibs, char *err, size_t errlen)
{
	virDomainPtr d = dom_of(h, err, errlen);

	if (!d)
		return -ENOTCONN;
	if (virDomainMigrateSetMaxSpeed(d, (unsigned long)mibs, 0) < 0)
		return fail("virDomainMigrateSetMaxSpeed", err, errlen);
	return 0;
}

static int get_max_speed(void *h, uint64_t *ret_mibs, char *err, size_t errlen)
{
	virDomainPtr d = dom_of(h, err, errlen);
	unsigned long v = 0;

	if (!d)
		return -ENOTCONN;
	if (virDomainMigrateGetMaxSpeed(d, &v, 0) < 0)
		return fail("virDomainMigrateGetMaxSpeed", err, errlen);
	*ret_mibs = v;
	return 0;
}

static int start_postcopy(void *h, char *err, size_t errlen)
{
	virDomainPtr d = dom_of(h, err, errlen);

	if (!d)
		return -ENOTCONN;
	if (virDomainMigrateStartPostCopy(d, 0) < 0)
		return fail("virDomainMigrateStartPostCopy", err, errlen);
	return 0;
}

static int suspend(void *h, char *err, size_t errlen)
{
	virDomainPtr d = dom_of(h, err, errlen);

	if (!d)
		return -ENOTCONN;
	if (virDomainSuspend(d) < 0)
		return fail("virDomainSuspend", err, errlen);
	return 0;
}

static int abort_job(void *h, char *err, size_t errlen)
{
	virDomainPtr d = dom_of(h, err, errlen);

	if (!d)
		return -ENOTCONN;
	if (virDomainAbortJob(d) < 0)
		return fail("virDomainAbortJob", err, errlen);
	return 0;
}

static int get_metadata(void *h, char **ret_xml, char *err, size_t errlen)
{
	virDomainPtr d = dom_of(h, err, errlen);
	char *x;

	if (!d)
		return -ENOTCONN;
	x = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, ACT_METADATA_NS,
				 VIR_DOMAIN_AFFECT_LIVE);
	if (!x)
		return fail("virDomainGetMetadata", err, errlen);
	*ret_xml = x;
	return 0;
}

/*
 * libvirt keeps the flags a running migration was started with in the domain's status file
 * (<job async='migration out' flags='0x...'>), readable by root on the source; no API returns them.
 */
static int postcopy_enabled(void *h, const char *domain_name)
{
	char path[512];
	uint64_t flags = 0;
	char *buf;
	ssize_t n;
	size_t len = 0, cap = 1 << 16;
	int fd, r;

	(void)h;
	if (!domain_name || !*domain_name || strchr(domain_name, '/'))
		return -EINVAL;
	snprintf(path, sizeof(path), "/run/libvirt/qemu/%s.xml", domain_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	/* The status file carries QEMU's capabilities: ~100 KiB.  Bounded at 8 MiB. */
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			char *nb;

			if (cap >= (8u << 20))
				break;
			nb = realloc(buf, cap * 2 + 1);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = '\0';
	r = actuator_status_job_flags(buf, &flags);
	free(buf);
	if (r < 0)
		return r;
	return (flags & VIR_MIGRATE_POSTCOPY) ? 1 : 0;
}

const struct act_ops actuator_virt_ops = {
	.set_max_downtime = set_max_downtime,
	.get_max_downtime = get_max_downtime,
	.set_max_speed = set_max_speed,
	.get_max_speed = get_max_speed,
	.start_postcopy = start_postcopy,
	.suspend = suspend,
	.abort_job = abort_job,
	.get_metadata = get_metadata,
	.postcopy_enabled = postcopy_enabled,
};
