/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>

#include "agent/nic.h"
#include "agent/strutil.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000     /* linux/if.h, which clashes with net/if.h */
#endif

#define NIC_RATE_MAX_GAP_NS (UINT64_C(5) * 1000000000)

struct nic_entry {
	int ifindex;
	uint32_t speed_override_mbps;
	bool have;
	struct nic_stat last;
	/* The carrier as last reported to the notification callback.  Kept apart from last.carrier:
	 * a periodic sample that sees a change first must not swallow its notification. */
	bool carrier_reported;
};

struct nic_mon {
	struct nl_sock *query;
	struct nl_sock *notify;
	unsigned n;
	struct nic_entry nics[NIC_MAX_TRACKED];
	/* notification callback state while nic_handle_notify runs */
	void (*fn)(int ifindex, bool carrier, void *arg);
	void *fn_arg;
	int changes;
};

static int nl_err(int e)
{
	/* libnl has its own error space; map what callers can act on. */
	switch (e < 0 ? -e : e) {
	case NLE_NOMEM: return -ENOMEM;
	case NLE_PERM: return -EPERM;
	case NLE_NODEV: return -ENODEV;
	case NLE_OBJ_NOTFOUND: return -ENODEV;
	case NLE_AGAIN: return -EAGAIN;
	case NLE_INVAL: return -EINVAL;
	default: return -EIO;
	}
}

static struct nic_entry *find_entry(const struct nic_mon *m, int ifindex)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->nics[i].ifindex == ifindex)
			return (struct nic_entry *)&m->nics[i];
	return NULL;
}

static int notify_valid(struct nl_msg *msg, void *arg)
{
	struct nic_mon *m = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct ifinfomsg *ifi;
	struct nic_entry *e;
	bool carrier;

	if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
		return NL_OK;
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return NL_OK;
	ifi = nlmsg_data(h);
	e = find_entry(m, ifi->ifi_index);
	if (!e || !e->have)
		return NL_OK;
	carrier = h->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_LOWER_UP);
	if (carrier != e->carrier_reported) {
		e->carrier_reported = carrier;
		e->last.carrier = carrier;
		m->changes++;
		if (m->fn)
			m->fn(ifi->ifi_index, carrier, m->fn_arg);
	}
	return NL_OK;
}

int nic_mon_new(struct nic_mon **ret)
{
	struct nic_mon *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	m->query = nl_socket_alloc();
	if (!m->query) {
		free(m);
		return -ENOMEM;
	}
	r = nl_connect(m->query, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(m->query);
		free(m);
		return nl_err(r);
	}
	/* Notifications are optional: without them carrier changes show at the next poll. */
	m->notify = nl_socket_alloc();
	if (m->notify) {
		nl_socket_disable_seq_check(m->notify);
		nl_socket_modify_cb(m->notify, NL_CB_VALID, NL_CB_CUSTOM, notify_valid, m);
		if (nl_connect(m->notify, NETLINK_ROUTE) < 0 ||
		    nl_socket_add_membership(m->notify, RTNLGRP_LINK) < 0 ||
		    nl_socket_set_nonblocking(m->notify) < 0) {
			nl_socket_free(m->notify);
			m->notify = NULL;
		}
	}
	*ret = m;
	return 0;
}

void nic_mon_free(struct nic_mon *m)
{
	if (!m)
		return;
	if (m->notify)
		nl_socket_free(m->notify);
	nl_socket_free(m->query);
	free(m);
}

int nic_mon_notify_fd(const struct nic_mon *m)
{
	return m->notify ? nl_socket_get_fd(m->notify) : -1;
}

struct route_reply {
	int oif;
	bool got;
};

static int route_valid(struct nl_msg *msg, void *arg)
{
	struct route_reply *rr = arg;
	struct nlattr *tb[RTA_MAX + 1];
	struct nlmsghdr *h = nlmsg_hdr(msg);

	if (h->nlmsg_type != RTM_NEWROUTE)
		return NL_OK;
	if (nlmsg_parse(h, sizeof(struct rtmsg), tb, RTA_MAX, NULL) < 0)
		return NL_SKIP;
	if (tb[RTA_OIF]) {
		rr->oif = (int)nla_get_u32(tb[RTA_OIF]);
		rr->got = true;
	}
	return NL_STOP;
}

int nic_route_ifindex(struct nic_mon *m, const char *addr, int *ret_ifindex)
{
	struct rtmsg rtm = { 0 };
	struct route_reply rr = { 0 };
	unsigned char buf[16];
	struct nl_sock *sk;
	struct nl_msg *msg;
	struct nl_cb *cb;
	int alen, r;

	if (inet_pton(AF_INET, addr, buf) == 1) {
		rtm.rtm_family = AF_INET;
		alen = 4;
	} else if (inet_pton(AF_INET6, addr, buf) == 1) {
		rtm.rtm_family = AF_INET6;
		alen = 16;
	} else {
		return -EINVAL;
	}
	rtm.rtm_dst_len = (unsigned char)(alen * 8);
	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, RTA_DST, alen, buf) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	/* A socket of its own: a lookup is rare (once per migration), and whatever the kernel
	 * answers cannot then be left behind for the counter queries to trip over. */
	sk = nl_socket_alloc();
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!sk || !cb || nl_connect(sk, NETLINK_ROUTE) < 0) {
		if (sk)
			nl_socket_free(sk);
		if (cb)
			nl_cb_put(cb);
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, route_valid, &rr);
	/* No ACK: the reply is the route, or an error message that nl_recvmsgs turns into r < 0. */
	nl_socket_disable_auto_ack(sk);
	r = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (r >= 0)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	nl_socket_free(sk);
	if (r < 0)
		return r == -NLE_PERM ? -EPERM : -ENETUNREACH;
	if (!rr.got)
		return -ENETUNREACH;
	*ret_ifindex = rr.oif;
	return 0;
}

int nic_track(struct nic_mon *m, int ifindex, uint32_t speed_override_mbps)
{
	struct nic_entry *e = find_entry(m, ifindex);

	if (e) {
		e->speed_override_mbps = speed_override_mbps;
		return 0;
	}
	if (m->n >= NIC_MAX_TRACKED)
		return -ENOSPC;
	e = &m->nics[m->n++];
	memset(e, 0, sizeof(*e));
	e->ifindex = ifindex;
	e->speed_override_mbps = speed_override_mbps;
	return 0;
}

uint32_t nic_sysfs_speed_mbps(const char *ifname)
{
	char path[64 + IF_NAMESIZE];
	long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/speed", ifname);
	f = fopen(path, "re");
	if (!f)
		return 0;
	/* Reading fails with EINVAL while the link is down; -1 means unknown. */
	if (fscanf(f, "%ld", &v) != 1 || v <= 0 || v > UINT32_MAX)
		v = 0;
	fclose(f);
	return (uint32_t)v;
}

static uint64_t rate(uint64_t now, uint64_t before, uint64_t dt_ns)
{
	if (now < before || !dt_ns)
		return 0;     /* counter reset (link re-created): skip one interval */
	return (uint64_t)((double)(now - before) * 1e9 / (double)dt_ns);
}

int nic_sample(struct nic_mon *m, int ifindex, uint64_t now_mono_ns, struct nic_stat *ret)
{
	struct nic_entry *e = find_entry(m, ifindex);
	struct rtnl_link *link = NULL;
	struct nic_stat s;
	const char *name;
	int r;

	r = rtnl_link_get_kernel(m->query, ifindex, NULL, &link);
	if (r < 0)
		return nl_err(r);
	memset(&s, 0, sizeof(s));
	s.ifindex = ifindex;
	s.mono_ns = now_mono_ns;
	name = rtnl_link_get_name(link);
	str_copy(s.ifname, sizeof(s.ifname), name ? name : "");
	s.carrier = (rtnl_link_get_flags(link) & IFF_LOWER_UP) != 0;
	s.tx_bytes = rtnl_link_get_stat(link, RTNL_LINK_TX_BYTES);
	s.rx_bytes = rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES);
	s.tx_packets = rtnl_link_get_stat(link, RTNL_LINK_TX_PACKETS);
	s.rx_packets = rtnl_link_get_stat(link, RTNL_LINK_RX_PACKETS);
	s.tx_errors = rtnl_link_get_stat(link, RTNL_LINK_TX_ERRORS);
	s.rx_errors = rtnl_link_get_stat(link, RTNL_LINK_RX_ERRORS);
	s.tx_dropped = rtnl_link_get_stat(link, RTNL_LINK_TX_DROPPED);
	s.rx_dropped = rtnl_link_get_stat(link, RTNL_LINK_RX_DROPPED);
	rtnl_link_put(link);
	if (e && e->speed_override_mbps)
		s.speed_mbps = e->speed_override_mbps;
	else
		s.speed_mbps = s.carrier ? nic_sysfs_speed_mbps(s.ifname) : 0;
	/* A rate over a long gap (the link was idle, not sampled) would be a diluted average:
	 * start afresh instead. */
	if (e && e->have && now_mono_ns > e->last.mono_ns &&
	    now_mono_ns - e->last.mono_ns <= NIC_RATE_MAX_GAP_NS) {
		uint64_t dt = now_mono_ns - e->last.mono_ns;

		s.have_rate = true;
		s.tx_bps = rate(s.tx_bytes, e->last.tx_bytes, dt);
		s.rx_bps = rate(s.rx_bytes, e->last.rx_bytes, dt);
		s.errors_delta = (uint32_t)((s.tx_errors + s.rx_errors) -
					    (e->last.tx_errors + e->last.rx_errors));
		s.drops_delta = (uint32_t)((s.tx_dropped + s.rx_dropped) -
					   (e->last.tx_dropped + e->last.rx_dropped));
	}
	if (e) {
		if (!e->have)
			e->carrier_reported = s.carrier;
		e->last = s;
		e->have = true;
	}
	*ret = s;
	return 0;
}

const struct nic_stat *nic_last(const struct nic_mon *m, int ifindex)
{
	const struct nic_entry *e = find_entry(m, ifindex);

	return e && e->have ? &e->last : NULL;
}

unsigned nic_tracked(const struct nic_mon *m, int ret_ifindex[NIC_MAX_TRACKED])
{
	for (unsigned i = 0; i < m->n; i++)
		ret_ifindex[i] = m->nics[i].ifindex;
	return m->n;
}

int nic_handle_notify(struct nic_mon *m, void (*fn)(int ifindex, bool carrier, void *arg),
		      void *arg)
{
	int r;

	if (!m->notify)
		return 0;
	m->fn = fn;
	m->fn_arg = arg;
	m->changes = 0;
	do {
		r = nl_recvmsgs_default(m->notify);
	} while (r >= 0);
	m->fn = NULL;
	/* -NLE_AGAIN: drained.  Anything else (e.g. ENOBUFS on overflow) loses notifications, which
	 * the next poll makes up for. */
	return m->changes;
}

void nic_to_record(const struct nic_stat *s, struct ring_nic *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->ifindex = (uint32_t)s->ifindex;
	str_copy(ret->ifname, sizeof(ret->ifname), s->ifname);
	ret->carrier = s->carrier ? 1 : 0;
	ret->tx_bytes = s->tx_bytes;
	ret->rx_bytes = s->rx_bytes;
	ret->tx_bps = s->tx_bps;
	ret->rx_bps = s->rx_bps;
	ret->tx_errors = (uint32_t)s->tx_errors;
	ret->rx_errors = (uint32_t)s->rx_errors;
	ret->tx_dropped = (uint32_t)s->tx_dropped;
	ret->rx_dropped = (uint32_t)s->rx_dropped;
	ret->speed_mbps = s->speed_mbps;
	ret->tx_packets = s->tx_packets;
	ret->rx_packets = s->rx_packets;
}

/* ---- which connection is the migration's ------------------------------------------------ */

#define MIG_PORT_MIN 49152
#define MIG_PORT_MAX 49215

static bool socket_inode_of(int pid, unsigned long inode)
{
	char path[64], link[64], want[48];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char fdpath[320];
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	closedir(d);
	return found;
}

static void hex_to_addr(const char *hex, bool v6, char *ret, size_t len)
{
	unsigned char b[16];
	size_t n = v6 ? 16 : 4;

	/* /proc/net/tcp prints the address as host-order 32-bit words. */
	for (size_t w = 0; w < n / 4; w++) {
		unsigned int word = 0;

		sscanf(hex + w * 8, "%8x", &word);
		memcpy(b + w * 4, &word, 4);
	}
	inet_ntop(v6 ? AF_INET6 : AF_INET, b, ret, (socklen_t)len);
}

/* Calls fn with the remote address and the ports of every established TCP connection of pid
 * (IPv4, then IPv6) until it returns true; returns whether one did. */
static bool each_established(int pid, bool (*fn)(const char *raddr, unsigned lport, unsigned rport,
						void *arg), void *arg)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };

	for (int fi = 0; fi < 2; fi++) {
		char line[512];
		FILE *f = fopen(files[fi], "re");
		bool done = false;

		if (!f)
			continue;
		while (!done && fgets(line, sizeof(line), f)) {
			char local[64], remote[64], addr[64];
			unsigned lport, rport, state;
			unsigned long inode;

			if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%x %x %*s %*s %*s %*s %*s %lu",
				   local, &lport, remote, &rport, &state, &inode) != 6)
				continue;
			if (state != 1 /* ESTABLISHED */ || !inode || !socket_inode_of(pid, inode))
				continue;
			hex_to_addr(remote, fi == 1, addr, sizeof(addr));
			done = fn(addr, lport, rport, arg);
		}
		fclose(f);
		if (done)
			return true;
	}
	return false;
}

struct mig_peer {
	char best[64], other[64];
	int others;
};

static bool mig_peer_of(const char *addr, unsigned lport, unsigned rport, void *arg)
{
	struct mig_peer *m = arg;

	if ((rport >= MIG_PORT_MIN && rport <= MIG_PORT_MAX) ||
	    (lport >= MIG_PORT_MIN && lport <= MIG_PORT_MAX)) {
		str_copy(m->best, sizeof(m->best), addr);
		return true;
	}
	if (strncmp(addr, "127.", 4) != 0 && strcmp(addr, "::1") != 0) {
		str_copy(m->other, sizeof(m->other), addr);
		m->others++;
	}
	return false;
}

int nic_qemu_migration_peer(int pid, char *ret_addr, size_t len)
{
	struct mig_peer m = { .others = 0 };

	each_established(pid, mig_peer_of, &m);
	if (!m.best[0] && m.others == 1)
		str_copy(m.best, sizeof(m.best), m.other);
	if (!m.best[0])
		return -ENOENT;
	snprintf(ret_addr, len, "%s", m.best);
	return 0;
}

struct peer_port {
	const char *addr;
	unsigned port;
};

static bool is_peer_port(const char *addr, unsigned lport, unsigned rport, void *arg)
{
	const struct peer_port *pp = arg;

	return rport == pp->port && strcmp(addr, pp->addr) == 0;
}

int nic_connected_to(int pid, const char *addr, unsigned port)
{
	struct peer_port pp = { .addr = addr, .port = port };

	return each_established(pid, is_peer_port, &pp) ? 0 : -ENOENT;
}
