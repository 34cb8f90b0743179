/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration NIC: which interface carries a migration (route lookup to the peer through
 * netlink, or a configured name), and its counters, rates and carrier.
 *
 * Counters are polled per link (one RTM_GETLINK per tracked interface per interval: a few µs,
 * independent of how many links the host has); carrier changes arrive at once through a netlink
 * socket subscribed to link notifications, whose fd the main loop watches.
 */
#ifndef MIGTUNE_AGENT_NIC_H
#define MIGTUNE_AGENT_NIC_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "shm/ring.h"

#define NIC_MAX_TRACKED 16

struct nic_stat {
	int ifindex;
	char ifname[IF_NAMESIZE];
	bool carrier;
	bool have_rate;             /* false on the first sample of a link */
	uint64_t mono_ns;
	uint64_t tx_bytes, rx_bytes, tx_packets, rx_packets;
	uint64_t tx_errors, rx_errors, tx_dropped, rx_dropped;
	uint64_t tx_bps, rx_bps;    /* since the previous sample */
	uint32_t errors_delta, drops_delta;
	uint32_t speed_mbps;        /* 0 unknown */
};

struct nic_mon;

int nic_mon_new(struct nic_mon **ret);
void nic_mon_free(struct nic_mon *m);
/* Readable when link notifications are waiting; -1 if notifications are unavailable. */
int nic_mon_notify_fd(const struct nic_mon *m);

/* Interface the kernel would use to reach addr (IPv4 or IPv6 literal): RTM_GETROUTE.
 * -EINVAL for a bad address, -ENETUNREACH and friends from the kernel. */
int nic_route_ifindex(struct nic_mon *m, const char *addr, int *ret_ifindex);

/* Adds ifindex to the sampled set (no-op if present); -ENOSPC when NIC_MAX_TRACKED are. */
int nic_track(struct nic_mon *m, int ifindex, uint32_t speed_override_mbps);
/* Samples one link now and derives rates from its previous sample.  -ENODEV if it is gone. */
int nic_sample(struct nic_mon *m, int ifindex, uint64_t now_mono_ns, struct nic_stat *ret);
/* The last sample of a tracked link, or NULL. */
const struct nic_stat *nic_last(const struct nic_mon *m, int ifindex);
/* Every tracked ifindex, for the sampling loop. */
unsigned nic_tracked(const struct nic_mon *m, int ret_ifindex[NIC_MAX_TRACKED]);

/*
 * Reads pending link notifications.  For every tracked link whose carrier changed, calls
 * fn(ifindex, carrier, arg).  Returns the number of changes, or a negative errno.
 */
int nic_handle_notify(struct nic_mon *m, void (*fn)(int ifindex, bool carrier, void *arg),
		      void *arg);

/* Link speed from /sys/class/net/IF/speed (Mbit/s); 0 when unknown or down. */
uint32_t nic_sysfs_speed_mbps(const char *ifname);

/*
 * The peer address of a QEMU process's migration connection: the established TCP connection of
 * pid whose local or remote port is in libvirt's migration range (49152-49215), else its only
 * other established non-loopback one.  -ENOENT when there is none.
 */
int nic_qemu_migration_peer(int pid, char *ret_addr, size_t len);

/* 0 when pid has an established TCP connection to addr (as nic_qemu_migration_peer prints it)
 * on port, -ENOENT when not. */
int nic_connected_to(int pid, const char *addr, unsigned port);

/* Converts a nic_stat into the ring's NIC record. */
void nic_to_record(const struct nic_stat *s, struct ring_nic *ret);

#endif
