/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "agent/strutil.h"
#include "agent/config.h"
#include "agent/log.h"
#include "shm/wire.h"
#include "policy/policy.h"

void config_defaults(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->advisory = true;
	cfg->log_level = LOG_INFO;
	str_copy(cfg->ring_name, sizeof(cfg->ring_name), "/migtune");
	cfg->ring_slots = 65536;
	cfg->ring_domains = 256;
	cfg->ring_gid = (gid_t)-1;
	str_copy(cfg->hook_socket, sizeof(cfg->hook_socket), WIRE_DEFAULT_SOCKET);
	str_copy(cfg->ctl_socket, sizeof(cfg->ctl_socket), AGENT_DEFAULT_CTL_SOCKET);
	cfg->ctl_gid = (gid_t)-1;
	str_copy(cfg->uri, sizeof(cfg->uri), AGENT_DEFAULT_URI);
	cfg->keepalive_interval_s = 5;
	cfg->keepalive_count = 5;
	cfg->reconnect_min_ms = 500;
	cfg->reconnect_max_ms = 5000;
	cfg->call_timeout_s = 40;
	cfg->interval_ms = 500;
	cfg->heartbeat_ms = 1000;
	cfg->discovery_ms = 1000;
	cfg->dirtyrate_interval_s = 60;
	str_copy(cfg->policy, sizeof(cfg->policy), "adaptive");
	cfg->sla_max_downtime_ms = 500;
	cfg->budget_s_per_gib = 150;
	cfg->reserve_permille = 100;
	cfg->on_hopeless = MIG_ON_HOPELESS_PARK;
	cfg->allow_abort = true;
	cfg->postcopy_recovery = true;
	cfg->recovery_settle_ms = 2000;
	cfg->recovery_stall_s = 30;
	cfg->recovery_interrupt = true;
	cfg->recovery_link_stall_s = 5;
	cfg->recovery_attempts = 30;
	cfg->recovery_retry_min_ms = 2000;
	cfg->recovery_retry_max_ms = 60000;
	cfg->rate_burst = 4;
	cfg->rate_interval_ms = 2000;
	cfg->retry_min_ms = 5000;
	cfg->retry_max_ms = 60000;
	cfg->dump_enabled = true;
	str_copy(cfg->dump_dir, sizeof(cfg->dump_dir), AGENT_DEFAULT_DUMP_DIR);
	cfg->dump_max_mib = 1024;
	cfg->dump_max_age_days = 30;
	cfg->metrics_interval_s = 15;
}

struct parse_state {
	struct agent_config *cfg;
	char *err;              /* first error's reason, without the line (inih gives the line) */
	size_t errlen;
	bool failed;
};

enum key_kind { K_BOOL, K_U32, K_STR, K_LEVEL, K_PATH, K_OPTPATH, K_RING, K_POLICY, K_MODE,
		K_HOPELESS, K_AUTO, K_URI };

struct key_desc {
	const char *section;
	const char *name;
	enum key_kind kind;
	size_t off;
	size_t size;            /* string buffer size */
	uint32_t min, max;      /* K_U32 bounds */
};

#define F(field) offsetof(struct agent_config, field), sizeof(((struct agent_config *)0)->field)

static const struct key_desc keys[] = {
	{ "agent", "mode", K_MODE, F(advisory), 0, 0 },
	{ "agent", "advisory", K_BOOL, F(advisory), 0, 0 },
	{ "agent", "log-level", K_LEVEL, F(log_level), 0, 0 },
	{ "agent", "ring", K_RING, F(ring_name), 0, 0 },
	{ "agent", "ring-slots", K_U32, F(ring_slots), 1024, 1u << 24 },
	{ "agent", "ring-domains", K_U32, F(ring_domains), 16, 1u << 16 },
	{ "agent", "ring-group", K_STR, F(ring_group), 0, 0 },
	{ "agent", "hook-socket", K_PATH, F(hook_socket), 0, 0 },
	{ "agent", "ctl-socket", K_PATH, F(ctl_socket), 0, 0 },
	{ "agent", "ctl-group", K_STR, F(ctl_group), 0, 0 },
	{ "libvirt", "uri", K_STR, F(uri), 0, 0 },
	{ "libvirt", "keepalive-interval-s", K_U32, F(keepalive_interval_s), 0, 3600 },
	{ "libvirt", "keepalive-count", K_U32, F(keepalive_count), 1, 100 },
	{ "libvirt", "reconnect-min-ms", K_U32, F(reconnect_min_ms), 10, 600000 },
	{ "libvirt", "reconnect-max-ms", K_U32, F(reconnect_max_ms), 10, 3600000 },
	{ "libvirt", "call-timeout-s", K_U32, F(call_timeout_s), 1, 3600 },
	{ "sampling", "interval-ms", K_U32, F(interval_ms), 50, 60000 },
	{ "sampling", "heartbeat-ms", K_U32, F(heartbeat_ms), 100, 60000 },
	{ "sampling", "discovery-ms", K_U32, F(discovery_ms), 100, 60000 },
	{ "sampling", "dirtyrate-interval-s", K_U32, F(dirtyrate_interval_s), 0, 86400 },
	{ "nic", "interface", K_STR, F(nic_interface), 0, 0 },
	{ "nic", "peer", K_STR, F(nic_peer), 0, 0 },
	{ "nic", "speed-mbps", K_U32, F(nic_speed_mbps), 0, 10000000 },
	{ "policy", "name", K_POLICY, F(policy), 0, 0 },
	{ "policy", "sla-max-downtime-ms", K_U32, F(sla_max_downtime_ms), 1, 3600000 },
	{ "policy", "allow-postcopy", K_BOOL, F(allow_postcopy), 0, 0 },
	{ "policy", "allow-suspend", K_BOOL, F(allow_suspend), 0, 0 },
	{ "policy", "budget-s-per-gib", K_U32, F(budget_s_per_gib), 1, 86400 },
	{ "policy", "reserve-permille", K_U32, F(reserve_permille), 0, 999 },
	{ "policy", "bandwidth-max-mibs", K_U32, F(bandwidth_max_mibs), 0, 10000000 },
	{ "policy", "on-hopeless", K_HOPELESS, F(on_hopeless), 0, 0 },
	{ "policy", "allow-abort", K_BOOL, F(allow_abort), 0, 0 },
	{ "policy", "postcopy-recovery", K_AUTO, F(postcopy_recovery), 0, 0 },
	{ "recovery", "destination-uri", K_URI, F(recovery_dest_uri), 0, 0 },
	{ "recovery", "settle-ms", K_U32, F(recovery_settle_ms), 100, 600000 },
	{ "recovery", "stall-s", K_U32, F(recovery_stall_s), 0, 86400 },
	{ "recovery", "interrupt", K_BOOL, F(recovery_interrupt), 0, 0 },
	{ "recovery", "link-stall-s", K_U32, F(recovery_link_stall_s), 0, 3600 },
	{ "recovery", "attempts", K_U32, F(recovery_attempts), 1, 10000 },
	{ "recovery", "retry-min-ms", K_U32, F(recovery_retry_min_ms), 100, 3600000 },
	{ "recovery", "retry-max-ms", K_U32, F(recovery_retry_max_ms), 100, 3600000 },
	{ "actuator", "rate-burst", K_U32, F(rate_burst), 1, 100 },
	{ "actuator", "rate-interval-ms", K_U32, F(rate_interval_ms), 100, 600000 },
	{ "actuator", "retry-min-ms", K_U32, F(retry_min_ms), 100, 3600000 },
	{ "actuator", "retry-max-ms", K_U32, F(retry_max_ms), 100, 3600000 },
	{ "dump", "enabled", K_BOOL, F(dump_enabled), 0, 0 },
	{ "dump", "on-complete", K_BOOL, F(dump_on_complete), 0, 0 },
	{ "dump", "dir", K_PATH, F(dump_dir), 0, 0 },
	{ "dump", "max-mib", K_U32, F(dump_max_mib), 0, 16777216 },
	{ "dump", "max-age-days", K_U32, F(dump_max_age_days), 0, 36500 },
	{ "metrics", "textfile", K_OPTPATH, F(metrics_textfile), 0, 0 },
	{ "metrics", "interval-s", K_U32, F(metrics_interval_s), 1, 3600 },
};

static bool is_power_of_two(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int fail(struct parse_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parse_state *st, const char *fmt, ...)
{
	va_list ap;

	if (!st->failed) {
		va_start(ap, fmt);
		vsnprintf(st->err, st->errlen, fmt, ap);
		va_end(ap);
		st->failed = true;
	}
	return 0;     /* inih: error on this line */
}

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* name as written matches key, exactly or with '_' where the key has '-' (*old then). */
static bool key_matches(const char *key, const char *name, bool *old)
{
	bool underscore = false;

	for (; *key && *name; key++, name++) {
		if (*key == '-' && *name == '_')
			underscore = true;
		else if (*key != *name)
			return false;
	}
	if (*key || *name)
		return false;
	*old = underscore;
	return true;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	const struct key_desc *k = NULL;
	bool old = false;
	char *field;

	static const char *const sections[] = { "agent", "libvirt", "sampling", "nic", "policy",
						"recovery", "actuator", "dump", "metrics" };
	bool known = false;

	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		known |= strcmp(section, sections[i]) == 0;
	/* inih reports keys, not section lines: an unknown section shows at its first key. */
	if (!known && *section)
		return fail(st, "[%s]: unknown section (expected agent, libvirt, sampling, nic, policy, "
			    "recovery, actuator, dump or metrics)",
			    section);
	if (!name)
		return 1;
	/* Keys are spelled with '-'; the '_' of older versions is accepted and remembered so that
	 * the caller can ask for the new spelling. */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, section) == 0 && key_matches(keys[i].name, name, &old)) {
			k = &keys[i];
			if (old)
				st->cfg->old_spellings |= UINT64_C(1) << i;
		}
	if (!k) {
		if (!*section)
			return fail(st, "%s: key outside of any section", name);
		return fail(st, "[%s] %s: unknown key", section, name);
	}
	field = (char *)st->cfg + k->off;
	switch (k->kind) {
	case K_BOOL:
		if (parse_bool(value, (bool *)field) < 0)
			return fail(st, "[%s] %s: '%s' is not a boolean (use yes or no)", section, name,
				    value);
		break;
	case K_U32: {
		char *end;
		unsigned long long v;

		errno = 0;
		if (!*value || *value == '-')
			return fail(st, "[%s] %s: '%s' is not a number", section, name, value);
		v = strtoull(value, &end, 10);
		if (errno || *end)
			return fail(st, "[%s] %s: '%s' is not a number", section, name, value);
		if (v < k->min || v > k->max)
			return fail(st, "[%s] %s: %llu is out of range %" PRIu32 "..%" PRIu32, section,
				    name, v, k->min, k->max);
		*(uint32_t *)field = (uint32_t)v;
		break;
	}
	case K_MODE:
		/* "mode" and the older boolean "advisory" set the same thing. */
		if (strcmp(value, "advisory") == 0)
			*(bool *)field = true;
		else if (strcmp(value, "active") == 0)
			*(bool *)field = false;
		else
			return fail(st, "[%s] %s: '%s' is not a mode (advisory or active)", section,
				    name, value);
		break;
	case K_HOPELESS:
		/* what adaptive does when nothing permitted finishes a migration now */
		if (strcmp(value, "park") == 0)
			*(uint8_t *)field = MIG_ON_HOPELESS_PARK;
		else if (strcmp(value, "abort") == 0)
			*(uint8_t *)field = MIG_ON_HOPELESS_ABORT;
		else
			return fail(st, "[%s] %s: '%s' is not park or abort", section, name, value);
		break;
	case K_AUTO:
		if (strcmp(value, "auto") == 0)
			*(bool *)field = true;
		else if (strcmp(value, "off") == 0)
			*(bool *)field = false;
		else
			return fail(st, "[%s] %s: '%s' is not auto or off", section, name, value);
		break;
	case K_URI:
		/* empty: learnt per migration; else a libvirt URI whose only placeholder is {peer} */
		for (const char *c = strchr(value, '{'); c; c = strchr(c + 1, '{'))
			if (strncmp(c, "{peer}", 6) != 0)
				return fail(st, "[%s] %s: '%s': the only placeholder is {peer}",
					    section, name, value);
		if (value[0] && !strstr(value, "://"))
			return fail(st, "[%s] %s: '%s' is not a libvirt URI like "
				    "qemu+tcp://{peer}/system", section, name, value);
		goto copy;
	case K_LEVEL: {
		int l = log_level_parse(value);

		if (l < 0)
			return fail(st, "[%s] %s: '%s' is not a level (error, warning, notice, info, debug)",
				    section, name, value);
		*(int *)field = l;
		break;
	}
	case K_POLICY:
		{
			struct policy p;

			if (policy_builtin(value, &p) < 0)
				return fail(st, "[%s] %s: unknown policy '%s' (known: %s)", section,
					    name, value, policy_builtin_names());
		}
		goto copy;
	case K_OPTPATH:
		/* empty switches the feature off */
		if (value[0] && value[0] != '/')
			return fail(st, "[%s] %s: '%s' is not an absolute path (leave it empty to switch "
				    "it off)", section, name, value);
		goto copy;
	case K_PATH:
		if (value[0] != '/')
			return fail(st, "[%s] %s: '%s' is not an absolute path", section, name, value);
		/* fall through */
	case K_RING:
	case K_STR:
copy:
		if (strlen(value) >= k->size)
			return fail(st, "[%s] %s: value longer than %zu bytes", section, name,
				    k->size - 1);
		if (k->kind == K_RING && (value[0] != '/' || strchr(value + 1, '/') || !value[1]))
			return fail(st, "[%s] %s: '%s' is not a shared-memory name like /migtune",
				    section, name, value);
		memcpy(field, value, strlen(value) + 1);
		break;
	}
	return 1;
}

int config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen)
{
	struct parse_state st = { .cfg = cfg, .err = err, .errlen = errlen };
	char reason[512] = "";
	FILE *f;
	int line;

	st.err = reason;
	st.errlen = sizeof(reason);
	f = fopen(path, "re");
	if (!f) {
		int e = errno;

		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	line = ini_parse_file(f, handler, &st);
	fclose(f);
	if (line == 0 && !st.failed)
		return 0;
	if (line < 0) {
		snprintf(err, errlen, "%s: cannot read", path);
		return -EIO;
	}
	if (!st.failed)     /* inih's own syntax error: no '=' or ']' */
		snprintf(reason, sizeof(reason), "syntax error (expected [section] or key = value)");
	snprintf(err, errlen, "%s:%d: %s", path, line, reason);
	return -EINVAL;
}

int config_print(FILE *f, const struct agent_config *cfg)
{
	const char *section = NULL;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key_desc *k = &keys[i];
		const char *field = (const char *)cfg + k->off;

		if (k->kind == K_BOOL && k->off == offsetof(struct agent_config, advisory))
			continue;       /* the older spelling of mode */
		if (!section || strcmp(section, k->section) != 0) {
			fprintf(f, "%s[%s]\n", section ? "\n" : "", k->section);
			section = k->section;
		}
		switch (k->kind) {
		case K_BOOL: fprintf(f, "%s = %s\n", k->name, *(const bool *)field ? "yes" : "no"); break;
		case K_U32: fprintf(f, "%s = %" PRIu32 "\n", k->name, *(const uint32_t *)field); break;
		case K_LEVEL:
			fprintf(f, "%s = %s\n", k->name, log_level_name(*(const int *)field));
			break;
		case K_MODE:
			fprintf(f, "%s = %s\n", k->name, *(const bool *)field ? "advisory" : "active");
			break;
		case K_HOPELESS:
			fprintf(f, "%s = %s\n", k->name,
				*(const uint8_t *)field == MIG_ON_HOPELESS_ABORT ? "abort" : "park");
			break;
		case K_AUTO:
			fprintf(f, "%s = %s\n", k->name, *(const bool *)field ? "auto" : "off");
			break;
		default: fprintf(f, "%s =%s%s\n", k->name, *field ? " " : "", field); break;
		}
	}
	return ferror(f) ? -EIO : 0;
}

void config_old_spellings(const struct agent_config *cfg, const char *path, uint64_t *warned,
			  void (*emit)(const char *line, void *arg), void *arg)
{
	_Static_assert(sizeof(keys) / sizeof(keys[0]) <= 64, "old_spellings is a 64-bit mask");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint64_t bit = UINT64_C(1) << i;
		char line[512], old[AGENT_NAME_MAX];

		if (!(cfg->old_spellings & bit) || (warned && (*warned & bit)))
			continue;
		str_copy(old, sizeof(old), keys[i].name);
		for (char *c = old; *c; c++)
			if (*c == '-')
				*c = '_';
		snprintf(line, sizeof(line), "%s: [%s] %s: old spelling of %s, still accepted; "
			 "rename it", path, keys[i].section, old, keys[i].name);
		emit(line, arg);
		if (warned)
			*warned |= bit;
	}
}

static int resolve_group(const char *name, gid_t *ret)
{
	struct group gr, *res = NULL;
	char buf[4096];
	char *end;
	unsigned long v;

	if (!*name) {
		*ret = (gid_t)-1;
		return 0;
	}
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 && res) {
		*ret = res->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(name, &end, 10);
	if (!errno && !*end && v < (unsigned long)(gid_t)-1) {
		*ret = (gid_t)v;
		return 0;
	}
	return -ENOENT;
}

int config_finish(struct agent_config *cfg, char *err, size_t errlen)
{
	if (!is_power_of_two(cfg->ring_slots)) {
		snprintf(err, errlen, "[agent] ring-slots: %" PRIu32 " is not a power of two",
			 cfg->ring_slots);
		return -EINVAL;
	}
	if (!is_power_of_two(cfg->ring_domains)) {
		snprintf(err, errlen, "[agent] ring-domains: %" PRIu32 " is not a power of two",
			 cfg->ring_domains);
		return -EINVAL;
	}
	if (cfg->reconnect_min_ms > cfg->reconnect_max_ms) {
		snprintf(err, errlen, "[libvirt] reconnect-min-ms (%" PRIu32 ") is above "
			 "reconnect-max-ms (%" PRIu32 ")", cfg->reconnect_min_ms, cfg->reconnect_max_ms);
		return -EINVAL;
	}
	if (cfg->dirtyrate_interval_s && cfg->dirtyrate_interval_s < DIRTYRATE_MIN_INTERVAL_S) {
		/* Each measurement holds a job on the domain for a second. */
		snprintf(err, errlen, "[sampling] dirtyrate-interval-s: %" PRIu32 " is below %u (0 "
			 "switches the measurement off)", cfg->dirtyrate_interval_s,
			 DIRTYRATE_MIN_INTERVAL_S);
		return -EINVAL;
	}
	if (!cfg->uri[0]) {
		snprintf(err, errlen, "[libvirt] uri: empty");
		return -EINVAL;
	}
	if (cfg->recovery_retry_min_ms > cfg->recovery_retry_max_ms) {
		snprintf(err, errlen, "[recovery] retry-min-ms (%" PRIu32 ") is above "
			 "retry-max-ms (%" PRIu32 ")", cfg->recovery_retry_min_ms,
			 cfg->recovery_retry_max_ms);
		return -EINVAL;
	}
	if (cfg->retry_min_ms > cfg->retry_max_ms) {
		snprintf(err, errlen, "[actuator] retry-min-ms (%" PRIu32 ") is above "
			 "retry-max-ms (%" PRIu32 ")", cfg->retry_min_ms, cfg->retry_max_ms);
		return -EINVAL;
	}
	if (resolve_group(cfg->ctl_group, &cfg->ctl_gid) < 0) {
		snprintf(err, errlen, "[agent] ctl-group: no group named '%s'", cfg->ctl_group);
		return -EINVAL;
	}
	if (resolve_group(cfg->ring_group, &cfg->ring_gid) < 0) {
		snprintf(err, errlen, "[agent] ring-group: no group named '%s'", cfg->ring_group);
		return -EINVAL;
	}
	return 0;
}
