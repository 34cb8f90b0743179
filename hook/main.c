/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migtune-hook — the libvirt qemu hook.  libvirtd runs it synchronously, with no timeout, for
 * every domain operation: it reads the domain XML, hands one message to migtuned and exits.
 *
 * Rules that shape this file:
 *  - it fails open: whatever goes wrong (agent down, queue full, bad XML, bad config), exit 0 and
 *    log one line, because a non-zero exit of "migrate begin" cancels the incoming migration;
 *  - nothing ever reaches stdout in hook mode: for "migrate" and "restore" libvirt would take it
 *    as the replacement domain XML;
 *  - nothing blocks: non-blocking connect and send, a hard deadline on the admission reply, and a
 *    syslog writer that drops the line rather than wait for a stalled log daemon;
 *  - no child processes, every descriptor close-on-exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"

#ifndef MIGTUNE_VERSION
#define MIGTUNE_VERSION "unknown"
#endif
#ifndef HOOK_SYSCONFDIR
#define HOOK_SYSCONFDIR "/etc"
#endif

#define PROG "migtune-hook"

/* Kept in the binary (never optimised out) so that install-hook.sh recognises a copy of us. */
__attribute__((used)) static const char hook_marker[] = HOOK_MARKER;

enum log_target { LOG_TO_SYSLOG, LOG_TO_STDERR, LOG_TO_NONE };

static enum log_target log_target = LOG_TO_SYSLOG;
static const char *syslog_path = "/dev/log";

static void log_init(void)
{
	const char *v = getenv("MIGTUNE_HOOK_LOG");
	if (!v || strcmp(v, "syslog") == 0) {
		log_target = LOG_TO_SYSLOG;
	} else if (strncmp(v, "syslog:/", 8) == 0 && strlen(v + 7) <= HOOK_SOCKET_PATH_MAX) {
		/* Another log socket: lets tests stand in for the log daemon. */
		log_target = LOG_TO_SYSLOG;
		syslog_path = v + 7;
	} else if (strcmp(v, "stderr") == 0)
		log_target = LOG_TO_STDERR;
	else if (strcmp(v, "none") == 0)
		log_target = LOG_TO_NONE;
}

/*
 * glibc's syslog() sends with a blocking socket: a stalled log daemon would stall the hook, and
 * libvirtd with it.  This writes the same RFC 3164 line to /dev/log without ever waiting and drops
 * it when the log daemon is absent or behind.
 */
static void syslog_nonblocking(int priority, const char *line)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[1024], stamp[32];
	struct tm tm;
	time_t now = time(NULL);

	if (!localtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	int n = snprintf(msg, sizeof(msg), "<%d>%s %s[%ld]: %s", LOG_DAEMON | priority, stamp, PROG,
			 (long)getpid(), line);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	strcpy(sa.sun_path, syslog_path); /* length checked in log_init() */

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;
			close(fd);
			if (e == EPROTOTYPE)
				continue; /* /dev/log is a stream socket on this host */
			return;
		}
		/* A stream log socket needs a terminator between messages. */
		(void)send(fd, msg, len + (types[i] == SOCK_STREAM), MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		return;
	}
}

__attribute__((format(printf, 2, 3))) static void hook_log(int priority, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	switch (log_target) {
	case LOG_TO_SYSLOG:
		syslog_nonblocking(priority, line);
		break;
	case LOG_TO_STDERR:
		fprintf(stderr, "%s: %s\n", PROG, line);
		break;
	case LOG_TO_NONE:
		break;
	}
}

static const char *config_path(void)
{
	const char *p = getenv("MIGTUNE_HOOK_CONF");
	return (p && *p) ? p : HOOK_CONF_PATH;
}

/* Configuration for this run; bad lines are logged once and otherwise ignored. */
static const char *load_config(struct hook_config *cfg, bool quiet)
{
	unsigned bad_line = 0;
	const char *path = config_path();
	const char *source = "built-in default";

	hook_config_defaults(cfg);
	int r = hook_config_load(path, cfg, &bad_line);
	if (r == 0) {
		source = path;
	} else if (r == -EINVAL && bad_line) {
		source = path;
		if (!quiet)
			hook_log(LOG_WARNING, "%s line %u: not a valid setting, ignored "
				 "(keys: socket=/abs/path, admission=yes|no, admission-timeout-ms=1..%d)",
				 path, bad_line, HOOK_ADMISSION_TIMEOUT_MAX_MS);
	} else if (r != -ENOENT && !quiet) {
		hook_log(LOG_WARNING, "cannot read %s: %s; using defaults", path, strerror(-r));
	}

	const char *env = getenv("MIGTUNE_HOOK_SOCKET");
	if (env && *env) {
		if (strlen(env) <= HOOK_SOCKET_PATH_MAX) {
			strcpy(cfg->socket_path, env);
			source = "MIGTUNE_HOOK_SOCKET";
		} else if (!quiet) {
			hook_log(LOG_WARNING, "MIGTUNE_HOOK_SOCKET longer than %d bytes, ignored",
				 HOOK_SOCKET_PATH_MAX);
		}
	}
	return source;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s DOMAIN OP SUBOP EXTRA < domain.xml\n"
"       %s --selftest | --help | --version\n"
"\n"
"The libvirt qemu hook of migtune.  libvirtd runs it as /etc/libvirt/hooks/qemu (or\n"
"/etc/libvirt/hooks/qemu.d/migtune) for every domain operation, with the domain XML on\n"
"stdin.  It reads stdin to the end (the first %d MiB is parsed, within fixed bounds on\n"
"nesting and attributes per element), sends one message to the migtuned agent over a\n"
"unix socket and exits.  It never writes to stdout, never waits on the agent, and exits\n"
"0 whatever fails: a broken agent must not break migrations.\n"
"\n"
"The message carries OP/SUBOP/EXTRA, the domain name, UUID and memory size, the time,\n"
"and the per-domain policy from the domain's <metadata> element in the namespace\n"
"%s, for example:\n"
"  <metadata>\n"
"    <migtune:policy xmlns:migtune=\"%s\"\n"
"        name=\"adaptive\" sla-max-downtime-ms=\"500\" allow-postcopy=\"yes\"\n"
"        allow-suspend=\"no\" budget-s-per-gib=\"60\" on-hopeless=\"park\"\n"
"        allow-abort=\"yes\" postcopy-recovery=\"auto\"/>\n"
"  </metadata>\n"
"\n"
"Admission control (off by default, admission=yes in the configuration file): on\n"
"\"migrate begin\" on the destination the hook asks the agent whether to accept the\n"
"incoming migration and waits at most admission-timeout-ms (default %d ms) for the\n"
"answer.  A refusal exits 1 with the agent's reason on stderr, which libvirt reports and\n"
"which cancels the migration; no answer, a late answer or an unreachable agent accepts.\n"
"\n"
"Options:\n"
"  --selftest   check the configuration, the socket path, its type and permissions, and\n"
"               that the agent accepts connections; print a verdict on stdout\n"
"  --help       show this help and exit\n"
"  --version    show the version and exit\n"
"\n"
"Configuration file (%s; lines \"key = value\", # comments):\n"
"  socket = PATH               agent socket (default %s)\n"
"  admission = yes|no          ask the agent before accepting an incoming migration (no)\n"
"  admission-timeout-ms = N    deadline for the agent's answer, 1..%d (%d)\n"
"\n"
"Environment (libvirtd runs hooks with an emptied environment: these serve tests, labs\n"
"and wrapper scripts):\n"
"  MIGTUNE_HOOK_CONF     configuration file to read instead of %s\n"
"  MIGTUNE_HOOK_SOCKET   agent socket, overrides the configuration file\n"
"  MIGTUNE_HOOK_LOG      syslog (default: /dev/log, facility daemon), syslog:/SOCKET,\n"
"                        stderr or none\n"
"\n"
"Exit status:\n"
"  hook mode   0 always, except 1 when admission control is on and the agent refused\n"
"  --selftest  0 ready (the agent accepts connections), 1 a check failed, 2 usage error\n"
"  otherwise   0 success, 2 usage error\n"
"\n"
"See migtune-hook(8).\n",
		PROG, PROG, HOOK_STDIN_KEEP_BYTES / (1024 * 1024), DOMXML_NS, DOMXML_NS,
		WIRE_ADMISSION_DEADLINE_MS, HOOK_CONF_PATH, HOOK_SOCKET_PATH,
		HOOK_ADMISSION_TIMEOUT_MAX_MS, WIRE_ADMISSION_DEADLINE_MS, HOOK_CONF_PATH);
}

/* ---- self-test ------------------------------------------------------------------------------ */

static void report_installed(const char *path)
{
	char target[4096];
	struct stat st;

	if (lstat(path, &st) < 0) {
		printf("  hook file     %s: absent\n", path);
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			n = 0;
		target[n] = '\0';
		const char *base = strrchr(target, '/');
		base = base ? base + 1 : target;
		printf("  hook file     %s -> %s%s\n", path, target,
		       strcmp(base, PROG) == 0 ? " (migtune)" : " (not migtune)");
	} else {
		printf("  hook file     %s: present (%s)\n", path,
		       S_ISREG(st.st_mode) ? "regular file" : "not a regular file");
	}
}

static int selftest(void)
{
	struct hook_config cfg;
	struct stat st;
	const char *source = load_config(&cfg, true);
	const char *conf = config_path();
	unsigned bad_line = 0;
	const char *fail = NULL;
	struct hook_config probe;
	int r;

	printf("%s %s self-test\n", PROG, MIGTUNE_VERSION);
	hook_config_defaults(&probe);
	r = hook_config_load(conf, &probe, &bad_line);
	if (r == 0)
		printf("  config        %s: ok\n", conf);
	else if (r == -ENOENT)
		printf("  config        %s: absent, built-in defaults apply\n", conf);
	else if (r == -EINVAL && bad_line)
		printf("  config        %s: line %u is not a valid setting and is ignored "
		       "(keys: socket, admission, admission-timeout-ms)\n", conf, bad_line);
	else
		printf("  config        %s: cannot read: %s\n", conf, strerror(-r));
	printf("  socket        %s (from %s)\n", cfg.socket_path, source);
	printf("  admission     %s, deadline %u ms\n", cfg.admission ? "on" : "off",
	       cfg.admission_timeout_ms);

	if (stat(cfg.socket_path, &st) < 0) {
		printf("  socket file   missing: %s\n", strerror(errno));
		fail = errno == ENOENT ? "the agent socket does not exist (is migtuned running? does "
					 "its socket path match this one?)"
				       : "the agent socket cannot be examined";
	} else if (!S_ISSOCK(st.st_mode)) {
		printf("  socket file   not a socket (mode %o)\n", (unsigned)st.st_mode);
		fail = "the socket path names something that is not a socket";
	} else {
		printf("  socket file   socket, mode %04o, owner %u:%u\n",
		       (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
		if (access(cfg.socket_path, W_OK) < 0) {
			printf("  permission    not writable by uid %u: %s\n", (unsigned)geteuid(),
			       strerror(errno));
			fail = "this user may not connect to the agent socket (libvirtd runs hooks as "
			       "root: run the self-test as root)";
		} else {
			printf("  permission    writable by uid %u\n", (unsigned)geteuid());
			struct sockaddr_un sa = { .sun_family = AF_UNIX };
			strcpy(sa.sun_path, cfg.socket_path);
			int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
				int e = errno;
				printf("  agent         not reachable: %s\n", strerror(e));
				fail = e == ECONNREFUSED ? "nothing listens on the socket (stale socket "
							   "file: restart migtuned)"
				       : e == EAGAIN ? "the agent's connection queue is full (migtuned "
						       "is stalled)"
						     : "cannot connect to the agent";
			} else {
				printf("  agent         accepting connections\n");
			}
			if (fd >= 0)
				close(fd);
		}
	}
	report_installed(HOOK_SYSCONFDIR "/libvirt/hooks/qemu");
	report_installed(HOOK_SYSCONFDIR "/libvirt/hooks/qemu.d/migtune");

	if (fail) {
		printf("verdict: NOT READY: %s.  The hook still fails open: migrations proceed and the "
		       "agent does not see them.\n", fail);
		return 1;
	}
	printf("verdict: READY: hook events reach the agent at %s.\n", cfg.socket_path);
	return 0;
}

/* ---- hook mode ------------------------------------------------------------------------------ */

/* stdout belongs to libvirt (replacement XML for migrate/restore); point it at /dev/null so that
 * no library can ever write there by accident. */
static void seal_stdout(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fd != STDOUT_FILENO) {
		dup2(fd, STDOUT_FILENO); /* dup2 clears close-on-exec on the copy; we never exec */
		close(fd);
	}
}

static bool stdin_is_open(void)
{
	return fcntl(STDIN_FILENO, F_GETFD) >= 0;
}

static int hook_main(int argc, char **argv)
{
	static char xml[HOOK_STDIN_KEEP_BYTES];
	struct hook_args args;
	struct hook_config cfg;
	struct domxml_domain dom;
	struct domxml_work work;
	struct wire_event ev;
	enum hook_xml_state xml_state = HOOK_XML_OK;
	uint64_t total = 0;
	ssize_t kept = 0;
	char name[96], op[48], subop[48];
	uint8_t msg[WIRE_MSG_MAX];
	int r, fd = -1;

	seal_stdout();

	/* Drain stdin before anything can fail, so libvirtd's writer never sees EPIPE. */
	if (!stdin_is_open() || isatty(STDIN_FILENO)) {
		xml_state = HOOK_XML_MISSING;
	} else {
		kept = hook_read_all(STDIN_FILENO, xml, sizeof(xml), &total);
		if (kept < 0 || total == 0)
			xml_state = HOOK_XML_MISSING;
		else if (total > sizeof(xml))
			xml_state = HOOK_XML_TRUNCATED;
	}

	r = hook_parse_args(argc, argv, &args);
	if (r < 0) {
		hook_log(LOG_WARNING, "called with %d arguments, expected 4 "
			 "(DOMAIN OP SUBOP EXTRA as libvirt passes them); nothing sent", argc - 1);
		return 0;
	}
	/* Every string from the command line goes through hook_sanitize() before a log line. */
	hook_sanitize(name, sizeof(name), args.domain);
	hook_sanitize(op, sizeof(op), args.op);
	hook_sanitize(subop, sizeof(subop), args.subop);

	load_config(&cfg, false);

	memset(&dom, 0, sizeof(dom));
	if (xml_state == HOOK_XML_OK) {
		r = domxml_parse_domain(xml, (size_t)kept, &dom, &work);
		if (r < 0) {
			xml_state = HOOK_XML_INVALID;
			hook_log(LOG_WARNING, "domain '%s' %s %s: stdin is not a usable domain XML (%s); "
				 "sending the event without UUID, memory or policy", name, op, subop,
				 r == -E2BIG ? domxml_limit_text(work.limit) :
				 r == -EBADMSG ? "not well-formed, a DTD, or no <domain> root" :
				 strerror(-r));
		} else if (dom.flags & DOMXML_POLICY_BAD) {
			char attr[sizeof(dom.bad.name)], value[sizeof(dom.bad.value)];
			hook_sanitize(attr, sizeof(attr), dom.bad.name);
			hook_sanitize(value, sizeof(value), dom.bad.value);
			hook_log(LOG_WARNING, "domain '%s': <migtune:policy> %s=\"%s\" is not valid and "
				 "is ignored (see migtune-hook(8) for the accepted values)", name, attr,
				 value);
		}
	} else if (xml_state == HOOK_XML_TRUNCATED) {
		hook_log(LOG_WARNING, "domain '%s' %s %s: domain XML of %llu bytes exceeds %d KiB; "
			 "sending the event without UUID, memory or policy", name, op, subop,
			 (unsigned long long)total, HOOK_STDIN_KEEP_BYTES / 1024);
	}

	r = hook_build_event(&args, &dom, xml_state, &ev);
	if (r < 0) {
		hook_log(LOG_WARNING, "domain '%s': operation '%s' '%s' is longer than libvirt's; "
			 "nothing sent", name, op, subop);
		return 0;
	}

	bool admission = cfg.admission && strcmp(args.op, "migrate") == 0 &&
			 strcmp(args.subop, "begin") == 0;
	uint32_t request_id = (uint32_t)ev.monotonic_ns ^ ((uint32_t)ev.hook_pid << 16);
	ssize_t len = wire_encode_event(&ev, admission ? WIRE_TYPE_ADMIT_REQUEST : WIRE_TYPE_EVENT,
					request_id, msg, sizeof(msg));
	if (len < 0) {
		hook_log(LOG_WARNING, "domain '%s' %s %s: cannot encode the event: %s", name, op,
			 subop, strerror((int)-len));
		return 0;
	}

	r = hook_send(cfg.socket_path, msg, (size_t)len, &fd);
	if (r < 0) {
		const char *hint = r == -ENOENT       ? " (is migtuned running?)"
				   : r == -ECONNREFUSED ? " (stale socket: is migtuned running?)"
				   : r == -EAGAIN       ? " (agent queue full: migtuned is stalled)"
				   : r == -EACCES       ? " (permission denied on the socket)"
							: "";
		hook_log(LOG_WARNING, "domain '%s' %s %s: event not delivered to %s: %s%s%s", name,
			 op, subop, cfg.socket_path, strerror(-r), hint,
			 admission ? "; migration accepted" : "");
		return 0;
	}
	if (!admission) {
		close(fd);
		return 0;
	}

	struct wire_reply reply;
	r = hook_await_reply(fd, request_id, cfg.admission_timeout_ms, &reply);
	close(fd);
	if (r < 0) {
		hook_log(LOG_WARNING, "domain '%s': no valid admission answer from migtuned within "
			 "%u ms (%s); migration accepted", name, cfg.admission_timeout_ms,
			 r == -ETIMEDOUT ? "timed out" : strerror(-r));
		return 0;
	}
	if (reply.verdict == WIRE_VERDICT_REFUSE) {
		char reason[WIRE_REASON_MAX + 1];
		hook_sanitize(reason, sizeof(reason), reply.reason[0] ? reply.reason : "no reason given");
		/* libvirt puts the hook's stderr in the migration error the operator sees. */
		fprintf(stderr, "%s: incoming migration of domain '%s' refused by migtuned: %s "
			"(admission control: admission=no in %s disables it)\n", PROG, name, reason,
			config_path());
		hook_log(LOG_NOTICE, "domain '%s': incoming migration refused: %s", name, reason);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	log_init();
	/* Options only when called with one argument: libvirt always passes four, and a domain may
	 * well be named "--help". */
	if (argc == 2 && argv[1][0] == '-') {
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[1], "--version") == 0) {
			printf("%s %s (wire format %u)\n", PROG, MIGTUNE_VERSION, WIRE_VERSION);
			return 0;
		}
		if (strcmp(argv[1], "--selftest") == 0)
			return selftest();
		fprintf(stderr, "%s: unknown option '%s' (try --help)\n", PROG, argv[1]);
		return 2;
	}
	if (argc == 1) {
		fprintf(stderr, "%s: missing arguments: libvirt runs this as "
			"DOMAIN OP SUBOP EXTRA with the domain XML on stdin (try --help)\n", PROG);
		return 2;
	}
	return hook_main(argc, argv);
}
