/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The actuator's libvirt calls (struct act_ops): the tuning APIs, their read-backs, the domain's
 * migtune metadata, the flags the running job was started with, and the post-copy recovery's
 * calls (versions, where the stream goes, interrupt and resume on a worker thread's own
 * connection).
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
#include "agent/nic.h"
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
static int job_flags(void *h, const char *domain_name, uint64_t *ret_flags)
{
	char path[512];
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
	r = actuator_status_job_flags(buf, ret_flags);
	free(buf);
	return r;
}

/* ---- post-copy recovery ------------------------------------------------------------------ */

_Static_assert(ACT_MIGRATE_LIVE == VIR_MIGRATE_LIVE && ACT_MIGRATE_PEER2PEER == VIR_MIGRATE_PEER2PEER &&
	       ACT_MIGRATE_TUNNELLED == VIR_MIGRATE_TUNNELLED &&
	       ACT_MIGRATE_PERSIST_DEST == VIR_MIGRATE_PERSIST_DEST &&
	       ACT_MIGRATE_UNDEFINE_SOURCE == VIR_MIGRATE_UNDEFINE_SOURCE &&
	       ACT_MIGRATE_NON_SHARED_DISK == VIR_MIGRATE_NON_SHARED_DISK &&
	       ACT_MIGRATE_NON_SHARED_INC == VIR_MIGRATE_NON_SHARED_INC &&
	       ACT_MIGRATE_CHANGE_PROTECTION == VIR_MIGRATE_CHANGE_PROTECTION &&
	       ACT_MIGRATE_UNSAFE == VIR_MIGRATE_UNSAFE &&
	       ACT_MIGRATE_COMPRESSED == VIR_MIGRATE_COMPRESSED &&
	       ACT_MIGRATE_ABORT_ON_ERROR == VIR_MIGRATE_ABORT_ON_ERROR &&
	       ACT_MIGRATE_AUTO_CONVERGE == VIR_MIGRATE_AUTO_CONVERGE &&
	       ACT_MIGRATE_POSTCOPY == VIR_MIGRATE_POSTCOPY && ACT_MIGRATE_TLS == VIR_MIGRATE_TLS &&
	       ACT_MIGRATE_PARALLEL == VIR_MIGRATE_PARALLEL,
	       "ACT_MIGRATE_* are libvirt's VIR_MIGRATE_*");
#if LIBVIR_CHECK_VERSION(8, 5, 0)
_Static_assert(ACT_MIGRATE_POSTCOPY_RESUME == VIR_MIGRATE_POSTCOPY_RESUME,
	       "ACT_MIGRATE_POSTCOPY_RESUME is libvirt's");
#endif

static int versions(void *h, unsigned long *ret_libvirt, unsigned long *ret_hv, char *err,
		    size_t errlen)
{
	virDomainPtr d = dom_of(h, err, errlen);
	virConnectPtr c;

	if (!d)
		return -ENOTCONN;
	c = virDomainGetConnect(d);
	if (!c || virConnectGetLibVersion(c, ret_libvirt) < 0)
		return fail("virConnectGetLibVersion", err, errlen);
	if (virConnectGetVersion(c, ret_hv) < 0)
		return fail("virConnectGetVersion", err, errlen);
	return 0;
}

static int stream_peer(void *h, const char *domain_name, char *ret_addr, size_t len)
{
	int pid = virt_qemu_pid(domain_name);

	return pid < 0 ? pid : nic_qemu_migration_peer(pid, ret_addr, len);
}

/* A peer-to-peer migration over TCP: the source's daemon (monolithic libvirtd or modular
 * virtqemud) holds a connection to the destination's on libvirt's TCP port.  TLS (16514) and
 * ssh name a host the certificate or the user's configuration knows, which an address would not
 * match: those need [recovery] destination-uri. */
static int peer_daemon(const char *peer, char *ret_uri, size_t len)
{
	static const char *const pidfiles[] = { "/run/libvirtd.pid", "/run/virtqemud.pid" };

	for (size_t i = 0; i < sizeof(pidfiles) / sizeof(pidfiles[0]); i++) {
		int pid = virt_pidfile(pidfiles[i]);

		if (pid > 0 && nic_connected_to(pid, peer, 16509) == 0)
			return actuator_pc_dest_uri("qemu+tcp://{peer}/system", peer, ret_uri, len);
	}
	return -ENOENT;
}

/* The worker's own connection to this host's daemon and the domain in it.  Keepalive ends a call
 * on a daemon that stopped answering (libvirt's event loop runs on the agent's virt thread). */
static virDomainPtr open_domain(const struct act_pc_request *r, virConnectPtr *ret_conn, char *err,
				size_t errlen)
{
	virConnectPtr c = virConnectOpen(r->local_uri);
	virDomainPtr d;

	if (!c) {
		fail("virConnectOpen", err, errlen);
		return NULL;
	}
	virConnectSetKeepAlive(c, 5, 5);
	d = virDomainLookupByUUID(c, r->uuid);
	if (!d) {
		fail("virDomainLookupByUUID", err, errlen);
		virConnectClose(c);
		return NULL;
	}
	*ret_conn = c;
	return d;
}

static int pc_interrupt(const struct act_pc_request *r, char *err, size_t errlen)
{
#if LIBVIR_CHECK_VERSION(8, 5, 0)
	virConnectPtr c = NULL;
	virDomainPtr d = open_domain(r, &c, err, errlen);
	int rc = 0;

	if (!d)
		return -ECONNRESET;
	if (virDomainAbortJobFlags(d, VIR_DOMAIN_ABORT_JOB_POSTCOPY) < 0)
		rc = fail("virDomainAbortJobFlags(POSTCOPY)", err, errlen);
	virDomainFree(d);
	virConnectClose(c);
	return rc;
#else
	snprintf(err, errlen, "built against libvirt older than 8.5: no post-copy interrupt");
	return -EOPNOTSUPP;
#endif
}

static int pc_resume(const struct act_pc_request *r, char *err, size_t errlen)
{
#if LIBVIR_CHECK_VERSION(8, 5, 0)
	virTypedParameterPtr params = NULL;
	int nparams = 0, maxparams = 0, rc = 0;
	virConnectPtr c = NULL;
	virDomainPtr d;

	if (r->migrate_uri[0] &&
	    virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_URI,
				    r->migrate_uri) < 0)
		return fail("virTypedParamsAddString", err, errlen);
	d = open_domain(r, &c, err, errlen);
	if (!d) {
		virTypedParamsFree(params, nparams);
		return -ECONNRESET;
	}
	if (virDomainMigrateToURI3(d, r->dest_uri, params, (unsigned)nparams,
				   (unsigned)r->flags) < 0)
		rc = fail("virDomainMigrateToURI3(POSTCOPY_RESUME)", err, errlen);
	virTypedParamsFree(params, nparams);
	virDomainFree(d);
	virConnectClose(c);
	return rc;
#else
	snprintf(err, errlen, "built against libvirt older than 8.5: no post-copy resume");
	return -EOPNOTSUPP;
#endif
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
	.job_flags = job_flags,
	.versions = versions,
	.stream_peer = stream_peer,
	.peer_daemon = peer_daemon,
	.pc_interrupt = pc_interrupt,
	.pc_resume = pc_resume,
};
