/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migtuned — follows every live migration on this host and records it in the telemetry ring.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/log.h"
#include "shm/wire.h"

static const char usage_text[] =
"Usage: migtuned [OPTION]...\n"
"Follow every live migration of libvirt/QEMU guests on this host: outgoing ones through libvirt\n"
"events and job statistics, incoming ones through the libvirt hook, the migration NIC through\n"
"netlink.  Everything is recorded in the shared-memory telemetry ring that migtop reads.\n"
"\n"
"In advisory mode (the default) the agent records what its policy would do and changes nothing;\n"
"in active mode ([agent] mode = active) it tunes the migration live through libvirt: max downtime,\n"
"bandwidth, post-copy, suspend or abort, each action checked, recorded and logged with its reason.\n"
"When a migration fails or is aborted the ring is dumped to [dump] dir (see migdump(1)).\n"
"\n"
"Options:\n"
"  -f, --foreground         log to stderr (default: the journal, with DOMAIN=, UUID=, ACTION=\n"
"                           and POLICY= fields, or syslog without journald); migtuned never\n"
"                           forks, run it under systemd or a supervisor\n"
"  -c, --config FILE        configuration file (default " AGENT_DEFAULT_CONFIG ");\n"
"                           a missing default file means built-in defaults\n"
"      --connect URI        libvirt URI (default " AGENT_DEFAULT_URI ", [libvirt] uri)\n"
"      --ring NAME          shared-memory ring name (default /migtune, [agent] ring)\n"
"      --hook-socket PATH   socket the libvirt hook talks to (default " WIRE_DEFAULT_SOCKET ")\n"
"      --ctl-socket PATH    control socket for tools (default " AGENT_DEFAULT_CTL_SOCKET ")\n"
"      --check-config       parse the configuration, print the effective values, exit\n"
"  -h, --help               show this help and exit\n"
"  -V, --version            show the version and exit\n"
"\n"
"Signals: SIGTERM and SIGINT stop cleanly (final heartbeat; the ring stays readable);\n"
"SIGHUP re-reads the configuration (sampling, logging and reconnect settings apply at once;\n"
"the URI, ring and sockets at the next start).  A configuration with an error is refused\n"
"with one line naming the file, the line and the key.\n"
"\n"
"Exit status: 0 on a clean stop, 1 on a configuration error, 2 on a start-up failure.\n"
"See migtuned(8) and migtune.conf(5).\n";

struct cli {
	const char *config;
	bool config_given;
	const char *uri, *ring, *hook_socket, *ctl_socket;
	bool foreground;
	bool check;
};

static int apply_cli(const struct cli *c, struct agent_config *cfg, char *err, size_t errlen)
{
	struct { const char *v; char *dst; size_t size; const char *opt; } ov[] = {
		{ c->uri, cfg->uri, sizeof(cfg->uri), "--connect" },
		{ c->ring, cfg->ring_name, sizeof(cfg->ring_name), "--ring" },
		{ c->hook_socket, cfg->hook_socket, sizeof(cfg->hook_socket), "--hook-socket" },
		{ c->ctl_socket, cfg->ctl_socket, sizeof(cfg->ctl_socket), "--ctl-socket" },
	};

	for (size_t i = 0; i < sizeof(ov) / sizeof(ov[0]); i++) {
		if (!ov[i].v)
			continue;
		if (strlen(ov[i].v) >= ov[i].size) {
			snprintf(err, errlen, "%s: longer than %zu bytes", ov[i].opt, ov[i].size - 1);
			return -EINVAL;
		}
		snprintf(ov[i].dst, ov[i].size, "%s", ov[i].v);
	}
	if (c->ring && (c->ring[0] != '/' || strchr(c->ring + 1, '/') || !c->ring[1])) {
		snprintf(err, errlen, "--ring: '%s' is not a shared-memory name like /migtune", c->ring);
		return -EINVAL;
	}
	if ((c->hook_socket && c->hook_socket[0] != '/') ||
	    (c->ctl_socket && c->ctl_socket[0] != '/')) {
		snprintf(err, errlen, "--hook-socket/--ctl-socket: need an absolute path");
		return -EINVAL;
	}
	return 0;
}

/* Loads defaults, the file, the command line, then checks the whole. */
static int load_all(const struct cli *c, struct agent_config *cfg, char *err, size_t errlen)
{
	char e[600];
	int r;

	config_defaults(cfg);
	r = config_load(c->config, cfg, e, sizeof(e));
	if (r == -ENOENT && !c->config_given) {
		/* No file at the default place: the built-in defaults are the documented ones. */
		config_defaults(cfg);
	} else if (r < 0) {
		snprintf(err, errlen, "%s", e);
		return r;
	}
	r = apply_cli(c, cfg, err, errlen);
	if (r < 0)
		return r;
	r = config_finish(cfg, e, sizeof(e));
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", c->config, e);
		return r;
	}
	return 0;
}

static struct cli g_cli;
/* Keys already reported in their old '_' spelling: once per key, not at every reload. */
static uint64_t g_warned_spellings;

static void warn_spelling_stderr(const char *line, void *arg)
{
	fprintf(stderr, "migtuned: warning: %s\n", line);
}

static void warn_spelling_log(const char *line, void *arg)
{
	log_warn("%s", line);
}

static int reload_cb(struct agent_config *ret_cfg, void *arg)
{
	char err[700];
	int r = load_all(&g_cli, ret_cfg, err, sizeof(err));

	if (r < 0)
		log_err("reload refused, keeping the running configuration: %s", err);
	else
		config_old_spellings(ret_cfg, g_cli.config, &g_warned_spellings, warn_spelling_log,
				     NULL);
	return r;
}

int main(int argc, char **argv)
{
	enum { OPT_CONNECT = 256, OPT_RING, OPT_HOOK, OPT_CTL, OPT_CHECK };
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "connect", required_argument, NULL, OPT_CONNECT },
		{ "ring", required_argument, NULL, OPT_RING },
		{ "hook-socket", required_argument, NULL, OPT_HOOK },
		{ "ctl-socket", required_argument, NULL, OPT_CTL },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent_config cfg;
	struct agent *a = NULL;
	char err[700];
	sigset_t mask;
	int o, r, sigfd;

	g_cli.config = AGENT_DEFAULT_CONFIG;
	while ((o = getopt_long(argc, argv, "fc:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'f': g_cli.foreground = true; break;
		case 'c': g_cli.config = optarg; g_cli.config_given = true; break;
		case OPT_CONNECT: g_cli.uri = optarg; break;
		case OPT_RING: g_cli.ring = optarg; break;
		case OPT_HOOK: g_cli.hook_socket = optarg; break;
		case OPT_CTL: g_cli.ctl_socket = optarg; break;
		case OPT_CHECK: g_cli.check = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("migtuned %s\n", MIGTUNE_VERSION); return 0;
		default:
			fprintf(stderr, "Try 'migtuned --help' for more information.\n");
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "migtuned: unexpected argument '%s'\n"
			"Try 'migtuned --help' for more information.\n", argv[optind]);
		return 1;
	}
	r = load_all(&g_cli, &cfg, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "migtuned: %s\n", err);
		return 1;
	}
	if (g_cli.check) {
		config_old_spellings(&cfg, g_cli.config, NULL, warn_spelling_stderr, NULL);
		return config_print(stdout, &cfg) < 0 ? 1 : 0;
	}
	log_open(g_cli.foreground, cfg.log_level);
	config_old_spellings(&cfg, g_cli.config, &g_warned_spellings, warn_spelling_log, NULL);
	/* Signals are taken through a signalfd by the main loop; block them before any thread
	 * starts so that every thread inherits the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sigfd < 0) {
		log_err("cannot create signalfd: %s", strerror(errno));
		return 2;
	}
	r = agent_new(&cfg, &a, err, sizeof(err));
	if (r < 0) {
		log_err("%s", err);
		if (!g_cli.foreground)
			fprintf(stderr, "migtuned: %s\n", err);
		return 2;
	}
	log_info("started (%s mode, policy %s, uri %s, ring %s)",
		 cfg.advisory ? "advisory" : "active", cfg.policy, cfg.uri, cfg.ring_name);
	r = agent_run(a, sigfd, reload_cb, NULL);
	agent_free(a);
	close(sigfd);
	log_info("stopped");
	log_close();
	return r < 0 ? 2 : 0;
}
