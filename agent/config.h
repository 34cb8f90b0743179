/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migtuned configuration: /etc/migtune/migtuned.conf, INI format (see migtune.conf(5) and the
 * commented example shipped in etc/migtune/migtuned.conf, which lists every key and its default).
 */
#ifndef MIGTUNE_AGENT_CONFIG_H
#define MIGTUNE_AGENT_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define AGENT_DEFAULT_CONFIG     "/etc/migtune/migtuned.conf"
#define AGENT_DEFAULT_URI        "qemu:///system"
#define AGENT_DEFAULT_CTL_SOCKET "/run/migtune/ctl.sock"
#define AGENT_PATH_MAX           108  /* sun_path */
#define AGENT_URI_MAX            512
#define AGENT_NAME_MAX           64
#define AGENT_DIR_MAX            256
#define AGENT_DEFAULT_DUMP_DIR   "/var/lib/migtune/dumps"
#define DIRTYRATE_MIN_INTERVAL_S 5u    /* [sampling] dirtyrate-interval-s, when not 0 */

struct agent_config {
	/* [agent] */
	bool advisory;
	int log_level;                       /* LOG_* */
	char ring_name[AGENT_NAME_MAX];
	uint32_t ring_slots;
	uint32_t ring_domains;
	char ring_group[AGENT_NAME_MAX];     /* "" = root's group */
	gid_t ring_gid;                      /* resolved from ring_group, (gid_t)-1 if none */
	char hook_socket[AGENT_PATH_MAX];
	char ctl_socket[AGENT_PATH_MAX];
	char ctl_group[AGENT_NAME_MAX];
	gid_t ctl_gid;                       /* resolved from ctl_group, (gid_t)-1 if none */
	/* [libvirt] */
	char uri[AGENT_URI_MAX];
	uint32_t keepalive_interval_s;
	uint32_t keepalive_count;
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;
	uint32_t call_timeout_s;             /* a libvirt call older than this is abandoned */
	/* [sampling] */
	uint32_t interval_ms;
	uint32_t heartbeat_ms;
	uint32_t discovery_ms;               /* look for new outgoing jobs this often */
	uint32_t dirtyrate_interval_s;       /* measure idle guests' dirty rates; 0 = never */
	/* [nic] */
	char nic_interface[IF_NAMESIZE];     /* "" = find by route lookup */
	char nic_peer[64];                   /* "" = find from the migration's connection */
	uint32_t nic_speed_mbps;             /* 0 = from sysfs */
	/* [policy] */
	char policy[AGENT_NAME_MAX];
	uint32_t sla_max_downtime_ms;        /* defaults for every domain; its metadata overrides */
	bool allow_postcopy;
	bool allow_suspend;
	uint32_t budget_s_per_gib;
	uint32_t reserve_permille;
	uint32_t bandwidth_max_mibs;         /* 0 = no ceiling but the NIC */
	uint8_t on_hopeless;                 /* enum mig_on_hopeless: park (default) or abort */
	bool allow_abort;                    /* false: the agent never aborts a migration */
	bool postcopy_recovery;              /* auto: a broken post-copy is resumed (off: never) */
	/* [recovery] (docs/recovery.md) */
	char recovery_dest_uri[AGENT_URI_MAX]; /* template, {peer}; "" = learn it */
	uint32_t recovery_settle_ms;
	uint32_t recovery_stall_s;           /* 0 = never interrupt a post-copy that moves nothing */
	bool recovery_interrupt;
	uint32_t recovery_link_stall_s;      /* 0 = no interrupt after the carrier's return */
	uint32_t recovery_attempts;
	uint32_t recovery_retry_min_ms;
	uint32_t recovery_retry_max_ms;
	/* [actuator] */
	uint32_t rate_burst;
	uint32_t rate_interval_ms;
	uint32_t retry_min_ms;
	uint32_t retry_max_ms;
	/* [dump] */
	bool dump_enabled;
	bool dump_on_complete;
	char dump_dir[AGENT_DIR_MAX];
	uint32_t dump_max_mib;               /* 0 = no size limit */
	uint32_t dump_max_age_days;          /* 0 = no age limit */
	/* [metrics] */
	char metrics_textfile[AGENT_DIR_MAX]; /* node_exporter textfile; "" = off */
	uint32_t metrics_interval_s;
	/* Keys config_load found in their old '_' spelling (bit = the key's place in its table). */
	uint64_t old_spellings;
};

void config_defaults(struct agent_config *cfg);

/*
 * Parses path over the values already in *cfg (call config_defaults first).  On failure returns a
 * negative errno, leaves *cfg in an unspecified state, and writes one line into err naming the
 * file, the line and the key: "FILE:LINE: [section] key: reason".  -ENOENT when the file does not
 * exist (the caller decides whether a missing default file is fine).
 */
int config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen);

/* Writes every key with its value in the file's format, section by section (--check-config). */
int config_print(FILE *f, const struct agent_config *cfg);

/*
 * Calls emit with one line for each key the file spells the old way ("interval_ms" for
 * "interval-ms") whose bit is not yet in *warned (NULL: every one), and adds the bits: a reload
 * does not repeat a warning.  The old spellings stay accepted.
 */
void config_old_spellings(const struct agent_config *cfg, const char *path, uint64_t *warned,
			  void (*emit)(const char *line, void *arg), void *arg);

/* Cross-key checks and group resolution, after the command line overrides are applied. */
int config_finish(struct agent_config *cfg, char *err, size_t errlen);

#endif
