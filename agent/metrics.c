/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/strutil.h"

struct metrics {
	char path[4096];
	uint32_t interval_s;
	struct tracker *t;
	ctl_extra_fn extra;
	void *arg;
	int stop_fd;
	pthread_t thread;
	int last_error;            /* atomics */
};

/* ---- escaping -------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes there are not one. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)     /* also stops at the terminating NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void metrics_escape_label(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_seq(p);

		if (n == 0) {
			fputs("\xef\xbf\xbd", f);
			p++;
		} else if (n > 1) {
			fwrite(p, 1, n, f);
			p += n;
		} else {
			switch (*p) {
			case '\\': fputs("\\\\", f); break;
			case '"': fputs("\\\"", f); break;
			case '\n': fputs("\\n", f); break;
			default: fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f); break;
			}
			p++;
		}
	}
}

/* ---- rendering ------------------------------------------------------------------------- */

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;
	const char *s;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return "";
	s = json_object_get_string(v);
	return s ? s : "";
}

static bool jbool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* Milliseconds as exact decimal seconds, no binary-fraction noise. */
static void seconds(FILE *f, int64_t ms)
{
	fprintf(f, "%s%lld.%03lld", ms < 0 ? "-" : "", llabs(ms) / 1000LL, llabs(ms) % 1000LL);
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void agent_metric(FILE *f, const char *name, const char *type, const char *help,
			 int64_t v)
{
	header(f, name, type, help);
	fprintf(f, "%s %lld\n", name, (long long)v);
}

/*
 * When a migration's value is known.  Job statistics carry no "absent" marker (a missing field
 * reads 0), so each metric says from what it may be trusted; an unknown value is left out of the
 * file rather than shown as 0 (the destination of a migration in set-up has no remaining bytes).
 */
enum known {
	K_ALWAYS,       /* the agent's own counts */
	K_SAMPLED,      /* once a job-statistics sample arrived */
	K_SIZED,        /* once the job knows its total (the source; never the destination) */
	K_SENDING,      /* on the source, once bytes moved: QEMU has measured a rate */
	K_DIRTY,        /* on the source from the second pass: QEMU's dirty rate needs two syncs */
	K_NONZERO,      /* 0 means the agent could not read it */
	K_SOURCE,       /* on the source, once sampled (0 is a real value: no cap) */
	K_NIC,          /* once the migration's NIC is known */
};

/* One value per migration, with the labels that identify it. */
struct mig_metric {
	const char *name, *type, *help;
	const char *key;           /* field of the status domain object */
	int64_t mult;              /* to the base unit of the name; 0: milliseconds to seconds */
	enum known known;
};

static const struct mig_metric mig_metrics[] = {
	{ "migtune_migration_active", "gauge", "1 while the migration runs, 0 once it ended",
	  "active", 1, K_ALWAYS },
	{ "migtune_migration_iteration", "gauge", "Pre-copy pass number (QEMU's memory_iteration)",
	  "iteration", 1, K_SIZED },
	{ "migtune_migration_elapsed_seconds", "gauge", "Time since the migration started",
	  "elapsed_ms", 0, K_SAMPLED },
	{ "migtune_migration_total_bytes", "gauge", "Bytes the migration has to move in all",
	  "data_total_bytes", 1, K_SIZED },
	{ "migtune_migration_processed_bytes", "gauge", "Bytes the migration has moved so far",
	  "data_processed_bytes", 1, K_SIZED },
	{ "migtune_migration_remaining_bytes", "gauge",
	  "Bytes still to move (the quantity that must shrink for pre-copy to converge)",
	  "data_remaining_bytes", 1, K_SIZED },
	{ "migtune_migration_memory_bytes_per_second", "gauge",
	  "Rate at which guest memory is sent (QEMU's memory_bps)", "memory_bps", 1, K_SENDING },
	{ "migtune_migration_dirty_pages_per_second", "gauge",
	  "Rate at which the guest dirties pages, as QEMU measures it", "dirty_pages_per_s", 1,
	  K_DIRTY },
	{ "migtune_migration_expected_downtime_seconds", "gauge",
	  "Downtime QEMU expects at switchover with the current bandwidth", "expected_downtime_ms",
	  0, K_SIZED },
	{ "migtune_migration_downtime_limit_seconds", "gauge",
	  "Maximum downtime currently allowed (migrate-setmaxdowntime)", "downtime_limit_ms", 0,
	  K_NONZERO },
	{ "migtune_migration_bandwidth_limit_bytes_per_second", "gauge",
	  "Bandwidth cap currently set; 0 means none (libvirt's unlimited)", "bandwidth_limit_mibs",
	  1048576, K_SOURCE },
	{ "migtune_migration_nic_transmit_bytes_per_second", "gauge",
	  "Transmit rate of the migration NIC at the last sample", "nic_tx_kibps", 1024, K_NIC },
	{ "migtune_migration_nic_receive_bytes_per_second", "gauge",
	  "Receive rate of the migration NIC at the last sample", "nic_rx_kibps", 1024, K_NIC },
	{ "migtune_migration_samples_total", "counter", "Job-statistics samples recorded",
	  "samples", 1, K_ALWAYS },
	{ "migtune_migration_events_total", "counter", "Events recorded for the domain",
	  "events", 1, K_ALWAYS },
};

static bool is_known(struct json_object *d, enum known k, int64_t v)
{
	bool out = strcmp(jstr(d, "direction"), "out") == 0;

	switch (k) {
	case K_ALWAYS: return true;
	case K_SAMPLED: return jint(d, "samples") > 0;
	case K_SIZED: return jint(d, "data_total_bytes") > 0;
	case K_SENDING: return out && jint(d, "data_processed_bytes") > 0;
	case K_DIRTY: return out && jint(d, "iteration") >= 2;
	case K_NONZERO: return v != 0;
	case K_SOURCE: return out && jint(d, "samples") > 0;
	case K_NIC: return jstr(d, "nic")[0] != '\0';
	}
	return false;
}

static bool is_migration(struct json_object *d)
{
	const char *dir = jstr(d, "direction");

	return strcmp(dir, "out") == 0 || strcmp(dir, "in") == 0;
}

static void labels(FILE *f, struct json_object *d)
{
	fputs("{domain=\"", f);
	metrics_escape_label(f, jstr(d, "name"));
	fputs("\",uuid=\"", f);
	metrics_escape_label(f, jstr(d, "uuid"));
	fputs("\",direction=\"", f);
	metrics_escape_label(f, jstr(d, "direction"));
	fputc('"', f);
}

static void render_migrations(FILE *f, struct json_object *doms)
{
	size_t n = doms ? json_object_array_length(doms) : 0;
	int64_t active = 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(doms, i);

		if (is_migration(d) && jbool(d, "active"))
			active++;
	}
	agent_metric(f, "migtune_migrations_active", "gauge",
		     "Migrations in progress on this host, both directions", active);

	header(f, "migtune_migration_info", "gauge",
	       "Always 1; the migration's phase and NIC as labels");
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(doms, i);

		if (!is_migration(d))
			continue;
		fputs("migtune_migration_info", f);
		labels(f, d);
		fputs(",phase=\"", f);
		metrics_escape_label(f, jstr(d, "phase"));
		fputs("\",nic=\"", f);
		metrics_escape_label(f, jstr(d, "nic"));
		fputs("\"} 1\n", f);
	}
	for (size_t k = 0; k < sizeof(mig_metrics) / sizeof(mig_metrics[0]); k++) {
		const struct mig_metric *m = &mig_metrics[k];

		header(f, m->name, m->type, m->help);
		for (size_t i = 0; i < n; i++) {
			struct json_object *d = json_object_array_get_idx(doms, i);
			int64_t v = strcmp(m->key, "active") == 0 ? jbool(d, "active") : jint(d, m->key);

			if (!is_migration(d) || !is_known(d, m->known, v))
				continue;
			fputs(m->name, f);
			labels(f, d);
			if (m->mult) {
				fprintf(f, "} %lld\n", (long long)(v * m->mult));
			} else {
				fputs("} ", f);
				seconds(f, v);
				fputc('\n', f);
			}
		}
	}
}

/* name{l0="v0",l1="v1",...: labels named by names, values read from o; the caller closes. */
static void labels_open(FILE *f, const char *name, struct json_object *o,
			const char *const *names, size_t n)
{
	fputs(name, f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "{", names[i]);
		metrics_escape_label(f, jstr(o, names[i]));
		fputc('"', f);
	}
}

static void labelled(FILE *f, const char *name, struct json_object *o, const char *const *names,
		     size_t n)
{
	labels_open(f, name, o, names, n);
	fputc('}', f);
}

static struct json_object *jarray(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) &&
	       json_object_is_type(v, json_type_array) ? v : NULL;
}

/* A counter with one series per row of a totals table ({labels..., "count"}). */
static void render_table(FILE *f, struct json_object *rows, const char *name, const char *help,
			 const char *const *names, size_t n)
{
	size_t len = rows ? json_object_array_length(rows) : 0;

	header(f, name, "counter", help);
	for (size_t i = 0; i < len; i++) {
		struct json_object *r = json_object_array_get_idx(rows, i);

		labelled(f, name, r, names, n);
		fprintf(f, " %lld\n", (long long)jint(r, "count"));
	}
}

/* A histogram in seconds with one set of series per direction ({direction, buckets [[le_ms,
 * cumulative]...], sum_ms, count}). */
static void render_histogram(FILE *f, struct json_object *hists, const char *name,
			     const char *help)
{
	static const char *const dir[] = { "direction" };
	size_t len = hists ? json_object_array_length(hists) : 0;
	char series[128];

	header(f, name, "histogram", help);
	for (size_t i = 0; i < len; i++) {
		struct json_object *h = json_object_array_get_idx(hists, i), *b = jarray(h, "buckets");
		size_t nb = b ? json_object_array_length(b) : 0;

		snprintf(series, sizeof(series), "%s_bucket", name);
		for (size_t k = 0; k < nb; k++) {
			struct json_object *pair = json_object_array_get_idx(b, k);

			labels_open(f, series, h, dir, 1);
			fputs(",le=\"", f);
			seconds(f, json_object_get_int64(json_object_array_get_idx(pair, 0)));
			fprintf(f, "\"} %lld\n",
				(long long)json_object_get_int64(json_object_array_get_idx(pair, 1)));
		}
		labels_open(f, series, h, dir, 1);
		fprintf(f, ",le=\"+Inf\"} %lld\n", (long long)jint(h, "count"));
		snprintf(series, sizeof(series), "%s_sum", name);
		labelled(f, series, h, dir, 1);
		fputc(' ', f);
		seconds(f, jint(h, "sum_ms"));
		fputc('\n', f);
		snprintf(series, sizeof(series), "%s_count", name);
		labelled(f, series, h, dir, 1);
		fprintf(f, " %lld\n", (long long)jint(h, "count"));
	}
}

static void render_totals(FILE *f, struct json_object *totals)
{
	static const char *const action_labels[] = { "kind", "result", "policy" };
	static const char *const end_labels[] = { "direction", "outcome" };

	render_table(f, jarray(totals, "actions"), "migtune_actions_total",
		     "Actions recorded, by kind, result (applied, failed, advisory, skipped) and policy",
		     action_labels, 3);
	render_table(f, jarray(totals, "migrations"), "migtune_migrations_finished_total",
		     "Migrations that ended, by direction and outcome (completed, aborted by "
		     "migtuned, failed)", end_labels, 2);
	render_histogram(f, jarray(totals, "duration"), "migtune_migration_duration_seconds",
			 "How long the migrations that ended took (QEMU's elapsed time of the job)");
	render_histogram(f, jarray(totals, "downtime"), "migtune_migration_downtime_seconds",
			 "Real downtime of completed migrations, from their final statistics");
}

int metrics_render(FILE *f, struct json_object *status)
{
	struct json_object *cnt = NULL, *hook = NULL, *doms = NULL, *ring = NULL, *totals = NULL;

	agent_metric(f, "migtune_agent_up", "gauge", "1 while migtuned runs, 0 after a clean stop",
		     status ? 1 : 0);
	if (status) {
		json_object_object_get_ex(status, "counters", &cnt);
		json_object_object_get_ex(status, "hook", &hook);
		json_object_object_get_ex(status, "domains", &doms);
		if (doms && !json_object_is_type(doms, json_type_array))
			doms = NULL;

		header(f, "migtune_agent_info", "gauge",
		       "Always 1; version, policy, mode and libvirt URI as labels");
		fputs("migtune_agent_info{version=\"", f);
		metrics_escape_label(f, jstr(status, "version"));
		fputs("\",policy=\"", f);
		metrics_escape_label(f, jstr(status, "policy"));
		fprintf(f, "\",mode=\"%s\",uri=\"", jbool(status, "advisory") ? "advisory" : "active");
		metrics_escape_label(f, jstr(status, "uri"));
		fputs("\"} 1\n", f);
		agent_metric(f, "migtune_agent_libvirt_connected", "gauge",
			     "1 while the agent is connected to libvirt", jbool(status, "connected"));
		agent_metric(f, "migtune_agent_samples_total", "counter",
			     "Job-statistics samples recorded", jint(cnt, "samples"));
		agent_metric(f, "migtune_agent_events_total", "counter",
			     "Libvirt, hook and agent events recorded", jint(cnt, "events"));
		agent_metric(f, "migtune_agent_domains", "gauge",
			     "Domains the agent currently follows", jint(cnt, "domains"));
		agent_metric(f, "migtune_agent_hook_messages_total", "counter",
			     "Messages received from the libvirt hook", jint(hook, "messages"));
		agent_metric(f, "migtune_agent_hook_refused_total", "counter",
			     "Hook connections refused (peer not root)", jint(hook, "refused"));
		agent_metric(f, "migtune_agent_hook_malformed_total", "counter",
			     "Hook messages dropped as malformed or late", jint(hook, "malformed"));
		agent_metric(f, "migtune_agent_hook_probes_total", "counter",
			     "Connections that sent nothing (migtune-hook --selftest)",
			     jint(hook, "probes"));
		json_object_object_get_ex(status, "ring_writer", &ring);
		agent_metric(f, "migtune_ring_records_total", "counter",
			     "Records written into the telemetry ring", jint(ring, "records"));
		agent_metric(f, "migtune_ring_records_dropped_total", "counter",
			     "Records the ring dropped (slot contention): the flight recorder has gaps",
			     jint(ring, "dropped"));
		if (jint(ring, "heartbeat_unix_ms") > 0) {
			header(f, "migtune_agent_heartbeat_timestamp_seconds", "gauge",
			       "When the agent's main loop last beat (stale: stuck or dead agent)");
			fputs("migtune_agent_heartbeat_timestamp_seconds ", f);
			seconds(f, jint(ring, "heartbeat_unix_ms"));
			fputc('\n', f);
		}
		json_object_object_get_ex(status, "totals", &totals);
		render_totals(f, totals);
		render_migrations(f, doms);
	}
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

/* ---- the file -------------------------------------------------------------------------- */

int metrics_write_atomic(const char *path, const char *text, size_t len)
{
	char tmp[4096 + 16];
	size_t off = 0;
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* mkostemp: O_CREAT|O_EXCL, a name nobody could have planted a link at */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* node_exporter runs as its own user: the file must be world-readable, not the umask's */
	if (fchmod(fd, 0644) < 0)
		r = -errno;
	while (!r && off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static int write_once(struct metrics *m, bool up)
{
	struct json_object *status = up ? ctl_status_json(m->t, m->extra, m->arg) : NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (!f) {
		json_object_put(status);
		return -ENOMEM;
	}
	r = metrics_render(f, status);
	json_object_put(status);
	if (fclose(f) != 0 && !r)
		r = -ENOMEM;
	if (!r)
		r = metrics_write_atomic(m->path, buf, len);
	free(buf);
	return r;
}

static void note_result(struct metrics *m, int r)
{
	int old = __atomic_exchange_n(&m->last_error, r, __ATOMIC_RELAXED);

	/* one line per change, not one per interval */
	if (r < 0 && r != old)
		log_warn("metrics: cannot write %s: %s", m->path, strerror(-r));
	else if (!r && old < 0)
		log_info("metrics: writing %s again", m->path);
}

static void *metrics_thread(void *arg)
{
	struct metrics *m = arg;
	struct pollfd p = { .fd = m->stop_fd, .events = POLLIN };

	/* ctl_status_json reads the domain table under RCU */
	urcu_memb_register_thread();
	for (;;) {
		int n = poll(&p, 1, (int)m->interval_s * 1000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != 0)
			break;
		note_result(m, write_once(m, true));
	}
	urcu_memb_unregister_thread();
	return NULL;
}

int metrics_start(const struct metrics_opts *o, struct metrics **ret)
{
	struct metrics *m;
	int r;

	if (!o->path || o->path[0] != '/' || !o->interval_s || !o->tracker)
		return -EINVAL;
	if (strlen(o->path) >= sizeof(m->path))
		return -ENAMETOOLONG;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	str_copy(m->path, sizeof(m->path), o->path);
	m->interval_s = o->interval_s;
	m->t = o->tracker;
	m->extra = o->extra;
	m->arg = o->extra_arg;
	m->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (m->stop_fd < 0) {
		r = -errno;
		free(m);
		return r;
	}
	/* The first file is written by the caller's thread, which is a registered RCU reader. */
	r = write_once(m, true);
	if (r == 0)
		r = -pthread_create(&m->thread, NULL, metrics_thread, m);
	if (r < 0) {
		close(m->stop_fd);
		free(m);
		return r;
	}
	*ret = m;
	return 0;
}

void metrics_stop(struct metrics *m)
{
	uint64_t one = 1;

	if (!m)
		return;
	if (write(m->stop_fd, &one, sizeof(one)) != sizeof(one))
		abort();       /* a fresh eventfd cannot refuse; the join would hang */
	pthread_join(m->thread, NULL);
	note_result(m, write_once(m, false));
	close(m->stop_fd);
	free(m);
}

int metrics_last_error(struct metrics *m)
{
	return __atomic_load_n(&m->last_error, __ATOMIC_RELAXED);
}
