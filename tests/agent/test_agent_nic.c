/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NIC sampling on loopback: route lookup, counters that move with real traffic, QEMU's peer. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/nic.h"
#include "tests/agent/agent_testutil.h"

static void test_route_to_loopback(void **state)
{
	struct nic_mon *m;
	int idx = 0;

	assert_int_equal(nic_mon_new(&m), 0);
	assert_int_equal(nic_route_ifindex(m, "127.0.0.1", &idx), 0);
	assert_int_equal(idx, (int)if_nametoindex("lo"));
	idx = 0;
	assert_int_equal(nic_route_ifindex(m, "127.9.8.7", &idx), 0);
	assert_int_equal(idx, (int)if_nametoindex("lo"));
	assert_int_equal(nic_route_ifindex(m, "not-an-address", &idx), -EINVAL);
	/* The query socket still answers after an error. */
	idx = 0;
	assert_int_equal(nic_route_ifindex(m, "127.0.0.1", &idx), 0);
	assert_true(idx > 0);
	nic_mon_free(m);
}

static void send_udp(size_t total)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
	char buf[1200];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(buf, 'x', sizeof(buf));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	for (size_t sent = 0; sent < total; sent += sizeof(buf))
		sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
}

static void test_loopback_counters_move(void **state)
{
	struct nic_mon *m;
	struct nic_stat a, b;
	struct ring_nic rn;
	int lo = (int)if_nametoindex("lo");
	uint64_t t0 = ring_now_mono_ns();
	const size_t bytes = 3u << 20;

	assert_int_equal(nic_mon_new(&m), 0);
	/* As in the agent: the NIC is found by a route lookup, then sampled. */
	{
		int idx = 0;

		assert_int_equal(nic_route_ifindex(m, "127.0.0.1", &idx), 0);
		assert_int_equal(idx, lo);
	}
	assert_int_equal(nic_track(m, lo, 0), 0);
	assert_int_equal(nic_track(m, lo, 0), 0);     /* once only */
	{
		int idx[NIC_MAX_TRACKED];

		assert_int_equal(nic_tracked(m, idx), 1);
	}
	assert_int_equal(nic_sample(m, lo, t0, &a), 0);
	assert_false(a.have_rate);
	assert_string_equal(a.ifname, "lo");
	assert_true(a.carrier);
	send_udp(bytes);
	/* A chosen interval rather than a measured one: the rate is exact arithmetic. */
	assert_int_equal(nic_sample(m, lo, t0 + 1000000000ULL, &b), 0);
	assert_true(b.have_rate);
	/* Every datagram goes out and comes back in on lo: both counters grew by the payload plus
	 * headers (and whatever else this host sent on lo meanwhile). */
	assert_true(b.tx_bytes - a.tx_bytes >= bytes);
	assert_true(b.rx_bytes - a.rx_bytes >= bytes);
	assert_true(b.tx_packets - a.tx_packets >= bytes / 1200);
	assert_true(b.tx_bps >= bytes && b.tx_bps == b.tx_bytes - a.tx_bytes);
	assert_ptr_not_equal(nic_last(m, lo), NULL);
	assert_int_equal(nic_last(m, lo)->tx_bytes, b.tx_bytes);
	nic_to_record(&b, &rn);
	assert_int_equal(rn.ifindex, (uint32_t)lo);
	assert_string_equal(rn.ifname, "lo");
	assert_int_equal(rn.tx_bytes, b.tx_bytes);
	assert_int_equal(rn.tx_bps, b.tx_bps);
	assert_int_equal(rn.carrier, 1);
	assert_int_equal(nic_sample(m, 999999, t0, &b), -ENODEV);
	nic_mon_free(m);
}

static void test_speed_override(void **state)
{
	struct nic_mon *m;
	struct nic_stat s;
	int lo = (int)if_nametoindex("lo");

	assert_int_equal(nic_mon_new(&m), 0);
	assert_int_equal(nic_track(m, lo, 25000), 0);
	assert_int_equal(nic_sample(m, lo, ring_now_mono_ns(), &s), 0);
	assert_int_equal(s.speed_mbps, 25000);
	/* lo has no speed in sysfs. */
	assert_int_equal(nic_sysfs_speed_mbps("lo"), 0);
	assert_int_equal(nic_sysfs_speed_mbps("no-such-if"), 0);
	nic_mon_free(m);
}

static int g_notified_down;

static void on_carrier(int ifindex, bool carrier, void *arg)
{
	(void)ifindex;
	(void)arg;
	if (!carrier)
		g_notified_down++;
}

/*
 * A carrier loss is reported through the notification even when the periodic sample saw it
 * first: the sample must not swallow the change (it is what the agent logs and records at once).
 * Runs in a private network namespace with a veth pair (the peer goes down), as root.
 */
static void test_carrier_loss_notified_after_a_sample(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nic_mon *m;
		struct nic_stat s;
		int idx, rc = 0;

		if (unshare(CLONE_NEWNET) < 0)
			_exit(77);
		if (system("ip link add mt0 type veth peer name mt1 && ip link set mt0 up && ip link set mt1 up") != 0)
			_exit(78);
		idx = (int)if_nametoindex("mt0");
		if (idx <= 0 || nic_mon_new(&m) < 0 || nic_mon_notify_fd(m) < 0)
			_exit(79);
		nic_track(m, idx, 0);
		if (nic_sample(m, idx, 1000, &s) < 0 || !s.carrier)
			_exit(80);
		nic_handle_notify(m, on_carrier, NULL);        /* drain what came before */
		if (system("ip link set mt1 down") != 0)
			_exit(81);
		/* the tick samples before the notification is read */
		if (nic_sample(m, idx, 2000, &s) < 0 || s.carrier)
			_exit(82);
		for (int i = 0; i < 100 && !g_notified_down; i++) {
			nic_handle_notify(m, on_carrier, NULL);
			usleep(10000);
		}
		rc = g_notified_down == 1 ? 0 : 83;
		nic_mon_free(m);
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77 || WEXITSTATUS(status) == 78)
		skip();     /* no network namespaces or no veth here */
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_migration_peer_of_a_process(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char addr[64] = "";
	int l, c, a, status;
	pid_t child;

	/* Our own process holding an established connection to a port in libvirt's migration
	 * range stands in for QEMU. */
	l = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "127.0.0.3", &sa.sin_addr);
	for (int port = 49152; port <= 49215; port++) {
		sa.sin_port = htons((uint16_t)port);
		if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		sa.sin_port = 0;
	}
	if (!sa.sin_port)
		skip();
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(nic_qemu_migration_peer(getpid(), addr, sizeof(addr)), -ENOENT);
	/* The accepting end lives in a child: this process holds only the outgoing connection,
	 * as a source QEMU does. */
	child = fork();
	if (child == 0) {
		char b;

		a = accept(l, NULL, NULL);
		_exit(a >= 0 && read(a, &b, 1) >= 0 ? 0 : 1);
	}
	close(l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(nic_qemu_migration_peer(getpid(), addr, sizeof(addr)), 0);
	assert_string_equal(addr, "127.0.0.3");
	close(c);
	assert_int_equal(waitpid(child, &status, 0), child);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_to_loopback),
		cmocka_unit_test(test_loopback_counters_move),
		cmocka_unit_test(test_speed_override),
		cmocka_unit_test(test_migration_peer_of_a_process),
		cmocka_unit_test(test_carrier_loss_notified_after_a_sample),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
