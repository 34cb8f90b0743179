/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: migtuned.conf.  A configuration file is written by an administrator, but it
 * is also what a package upgrade, a configuration manager or a typo hands the agent.  Whatever
 * the bytes, the parser must fail with exactly one line naming the file, or succeed with every
 * string terminated inside its field and every number inside the range the key allows. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(field) assert(memchr((field), '\0', sizeof(field)))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config cfg;
	char path[64], err[1024];
	int fd, r;

	fd = memfd_create("migtuned.conf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(&cfg);
	err[0] = '\0';
	r = config_load(path, &cfg, err, sizeof(err));
	if (r == 0) {
		err[0] = '\0';
		r = config_finish(&cfg, err, sizeof(err));
	}
	close(fd);
	if (r < 0) {
		assert(err[0] != '\0');
		assert(!strchr(err, '\n'));
		return 0;
	}
	TERMINATED(cfg.ring_name);
	TERMINATED(cfg.ring_group);
	TERMINATED(cfg.hook_socket);
	TERMINATED(cfg.ctl_socket);
	TERMINATED(cfg.ctl_group);
	TERMINATED(cfg.uri);
	TERMINATED(cfg.nic_interface);
	TERMINATED(cfg.nic_peer);
	TERMINATED(cfg.policy);
	TERMINATED(cfg.dump_dir);
	assert(cfg.ring_name[0] == '/' && !strchr(cfg.ring_name + 1, '/'));
	assert(cfg.hook_socket[0] == '/' && cfg.ctl_socket[0] == '/');
	assert(cfg.ring_slots && !(cfg.ring_slots & (cfg.ring_slots - 1)));
	assert(cfg.ring_domains && !(cfg.ring_domains & (cfg.ring_domains - 1)));
	assert(cfg.reconnect_min_ms <= cfg.reconnect_max_ms);
	assert(cfg.retry_min_ms <= cfg.retry_max_ms);
	assert(cfg.interval_ms > 0 && cfg.heartbeat_ms > 0);
	return 0;
}
