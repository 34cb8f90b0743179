/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Record decoding and the outputs shared by migtop and migdump: see view_decode.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/view_decode.h"

#define MIB 1048576.0

/* An escaped copy of a fixed-size text field of a record (it may lack its NUL). */
#define ESC_FIELD(buf, field) text_esc_n(buf, sizeof(buf), field, sizeof(field))

void view_init(struct view_state *v, const struct view_source *src)
{
	memset(v, 0, sizeof(*v));
	if (src)
		v->src = *src;
}

void view_reset(struct view_state *v)
{
	v->n_migs = 0;
	memset(v->index, 0, sizeof(v->index));
	v->n_nics = 0;
	v->log_n = v->log_head = 0;
	v->records = v->invalid = v->evicted = 0;
	v->newest_mono_ns = 0;
}

void view_set_host(struct view_state *v, const char *raw)
{
	text_esc_n(v->host, sizeof(v->host), raw, 63);
}

void view_format_writer(const struct ring_writer_info *w, char *buf, size_t len)
{
	char sim[32] = "", pol[TEXT_ESCAPE_SIZE(sizeof(w->policy))];

	if ((w->flags & RING_WRITER_F_SIMULATED) && w->sim_speed)
		snprintf(sim, sizeof(sim), "SIMULATED x%u  ", w->sim_speed);
	else if (w->flags & RING_WRITER_F_SIMULATED)
		snprintf(sim, sizeof(sim), "SIMULATED  ");
	ESC_FIELD(pol, w->policy);
	snprintf(buf, len, "%s%s%s  policy %s", sim, w->mode ? "" : "mode ", ring_mode_name(w->mode),
		 pol[0] ? pol : "?");
}

void view_free(struct view_state *v)
{
	free(v->migs);
	v->migs = NULL;
	v->n_migs = v->cap_migs = 0;
}

static void mig_forget_job(struct view_mig *m)
{
	m->have_sample = false;
	m->have_action = false;
	m->n_actions = 0;
	m->hist_n = m->hist_head = 0;
	m->pass_n = m->pass_head = 0;
	m->policy[0] = '\0';
	m->ended = false;
	m->outcome[0] = '\0';
	m->have_pred = false;
	m->pc_breaks = 0;
	m->pc_split_ms = 0;
	m->pc_broken_mono_ns = 0;
}

/* Not known to have ended: from the records alone, whoever writes them. */
static bool mig_active(const struct view_mig *m)
{
	return m->have_sample && !m->ended && m->s.phase != RING_PHASE_DONE &&
	       m->s.phase != RING_PHASE_FAILED;
}

/* The newest record of the row. */
static uint64_t mig_last(const struct view_mig *m)
{
	uint64_t t = m->last_mono_ns > m->act_mono_ns ? m->last_mono_ns : m->act_mono_ns;
	return t > m->ended_mono_ns ? t : m->ended_mono_ns;
}

/* The row index: every record looks its domain up, so it must not cost a scan of the rows. */
static size_t index_slot(uint32_t domain)
{
	return (size_t)((domain * UINT32_C(0x9E3779B1)) >> 21) % VIEW_INDEX_SLOTS;
}

static void index_add(struct view_state *v, size_t row)
{
	size_t h = index_slot(v->migs[row].domain);
	while (v->index[h])
		h = (h + 1) % VIEW_INDEX_SLOTS;
	v->index[h] = (uint32_t)row + 1;
}

static void index_rebuild(struct view_state *v)
{
	memset(v->index, 0, sizeof(v->index));
	for (size_t i = 0; i < v->n_migs; i++)
		index_add(v, i);
}

static struct view_mig *mig_find(struct view_state *v, uint32_t domain)
{
	for (size_t h = index_slot(domain); v->index[h]; h = (h + 1) % VIEW_INDEX_SLOTS)
		if (v->migs[v->index[h] - 1].domain == domain)
			return &v->migs[v->index[h] - 1];
	return NULL;
}

/* Which rows go first when the view is full: ended ones, then those heard of least recently. */
static int evict_cmp(const void *a, const void *b)
{
	const struct view_mig *x = *(const struct view_mig *const *)a;
	const struct view_mig *y = *(const struct view_mig *const *)b;
	if (mig_active(x) != mig_active(y))
		return mig_active(x) ? 1 : -1;
	return mig_last(x) < mig_last(y) ? -1 : mig_last(x) > mig_last(y);
}

/* Drops the quarter of the rows that evict_cmp puts first: once per VIEW_MAX_MIGS / 4 new
 * domains, so that a stream of new domains costs no more than a log per record. */
static void evict_rows(struct view_state *v)
{
	const struct view_mig **order = malloc(v->n_migs * sizeof(*order));
	size_t k = 0;

	if (!order)
		return;
	for (size_t i = 0; i < v->n_migs; i++)
		order[i] = &v->migs[i];
	qsort(order, v->n_migs, sizeof(*order), evict_cmp);
	for (size_t i = 0; i < VIEW_MAX_MIGS / 4; i++)
		((struct view_mig *)order[i])->domain = RING_NO_DOMAIN;   /* marked to go */
	free(order);
	for (size_t i = 0; i < v->n_migs; i++) {
		if (v->migs[i].domain == RING_NO_DOMAIN)
			continue;
		if (k != i)
			v->migs[k] = v->migs[i];
		k++;
	}
	v->evicted += v->n_migs - k;
	v->n_migs = k;
	index_rebuild(v);
}

static struct view_mig *mig_get(struct view_state *v, uint32_t domain, uint64_t mono_ns)
{
	struct view_mig *m = mig_find(v, domain);

	if (m)
		return m;
	/* Bounded whatever the ring or dump holds. */
	if (v->n_migs >= VIEW_MAX_MIGS)
		evict_rows(v);
	if (v->n_migs >= VIEW_MAX_MIGS)
		return NULL;
	if (v->n_migs == v->cap_migs) {
		size_t ncap = v->cap_migs ? v->cap_migs * 2 : 16;
		struct view_mig *nm = realloc(v->migs, ncap * sizeof(*nm));
		if (!nm)
			return NULL;
		v->migs = nm;
		v->cap_migs = ncap;
	}
	m = &v->migs[v->n_migs++];
	uint8_t uuid[16];
	char raw[RING_NAME_MAX + 1];
	memset(m, 0, sizeof(*m));
	m->domain = domain;
	index_add(v, v->n_migs - 1);
	m->first_mono_ns = mono_ns;
	if (v->src.lookup && v->src.lookup(v->src.ctx, domain, raw, uuid) == 0) {
		text_esc_n(m->name, sizeof(m->name), raw, RING_NAME_MAX);
		ring_uuid_format(uuid, m->uuid);
	} else {
		snprintf(m->name, sizeof(m->name), "#%" PRIu32, domain);
	}
	return m;
}

static void log_push(struct view_state *v, const struct ring_record *rec)
{
	struct view_log_entry *e = &v->log[v->log_head];
	e->mono_ns = rec->mono_ns;
	e->rec = *rec;
	v->log_head = (v->log_head + 1) % VIEW_LOG;
	if (v->log_n < VIEW_LOG)
		v->log_n++;
}

static void feed_sample(struct view_state *v, const struct ring_record *rec)
{
	struct view_mig *m = mig_get(v, rec->domain, rec->mono_ns);
	const struct ring_sample *s = &rec->u.sample;

	if (!m)
		return;
	/* A job clock that goes back means a new migration of the same domain; so does, after the
	 * end of one, a job that started after that end (not the ended job's own last sample). */
	uint64_t job_start = rec->mono_ns - (uint64_t)s->elapsed_ms * 1000000u;
	if ((m->have_sample && s->elapsed_ms < m->s.elapsed_ms) ||
	    (m->ended && (uint64_t)s->elapsed_ms * 1000000u <= rec->mono_ns &&
	     job_start > m->ended_mono_ns)) {
		mig_forget_job(m);
		m->first_mono_ns = rec->mono_ns;
	}
	m->s = *s;
	m->have_sample = true;
	m->last_mono_ns = rec->mono_ns;

	struct view_point *p = &m->hist[m->hist_head];
	p->mono_ns = rec->mono_ns;
	p->elapsed_ms = s->elapsed_ms;
	p->dirty_mibs = (double)s->dirty_pages_per_s * (s->page_size ? s->page_size : 4096) / MIB;
	p->bw_mibs = (double)s->memory_bps / MIB;
	p->remaining_bytes = s->data_remaining_bytes;
	m->hist_head = (m->hist_head + 1) % VIEW_HISTORY;
	if (m->hist_n < VIEW_HISTORY)
		m->hist_n++;

	const struct view_pass *last = m->pass_n ? view_pass_at(m, m->pass_n - 1) : NULL;
	if (s->iteration && (!last || last->iteration != s->iteration)) {
		struct view_pass *np = &m->passes[m->pass_head];
		np->iteration = s->iteration;
		np->elapsed_ms = s->elapsed_ms;
		np->remaining_bytes = s->data_remaining_bytes;
		m->pass_head = (m->pass_head + 1) % VIEW_PASSES;
		if (m->pass_n < VIEW_PASSES)
			m->pass_n++;
	}
}

/* The agent's own events about a migration: "migration started|found" opens a job,
 * "migration completed|failed|aborted|unknown" ends it (docs/agent.md). */
static int feed_migration_event(struct view_state *v, const struct ring_record *rec)
{
	static const char *const ends[] = { "completed", "failed", "aborted", "unknown" };
	const struct ring_event *e = &rec->u.event;
	struct view_mig *m;

	if (rec->domain == RING_NO_DOMAIN || e->source != RING_EVSRC_AGENT)
		return 0;
	if (e->code == RING_AGEV_PC_BROKEN || e->code == RING_AGEV_PC_RECOVERED) {
		m = mig_get(v, rec->domain, rec->mono_ns);
		if (!m)
			return -ENOMEM;
		if (e->code == RING_AGEV_PC_BROKEN) {
			m->pc_breaks = e->detail2 > 0 ? (uint32_t)e->detail2 : m->pc_breaks + 1;
			m->pc_broken_mono_ns = rec->mono_ns;
		} else {
			if (e->detail2 >= 0)
				m->pc_split_ms = (uint64_t)e->detail2;
			m->pc_broken_mono_ns = 0;
		}
		return 0;
	}
	if (strcmp(e->op, "migration") != 0)
		return 0;
	if (strcmp(e->subop, "started") == 0 || strcmp(e->subop, "found") == 0) {
		m = mig_find(v, rec->domain);
		if (m && m->ended) {
			mig_forget_job(m);
			m->first_mono_ns = rec->mono_ns;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		if (strcmp(e->subop, ends[i]) != 0)
			continue;
		m = mig_get(v, rec->domain, rec->mono_ns);
		if (!m)
			return -ENOMEM;
		m->ended = true;
		m->ended_mono_ns = rec->mono_ns;
		snprintf(m->outcome, sizeof(m->outcome), "%s", ends[i]);
		return 0;
	}
	return 0;
}

/* A prediction belongs to the action just before it: same domain, time, kind and reason. */
static void feed_prediction(struct view_state *v, const struct ring_record *rec)
{
	const struct ring_prediction *p = &rec->u.prediction;
	struct view_mig *m = rec->domain == RING_NO_DOMAIN ? NULL : mig_find(v, rec->domain);

	if (!m || !m->have_action || m->act_mono_ns != rec->mono_ns || m->act.kind != p->kind ||
	    m->act.reason_code != p->reason_code)
		return;
	m->have_pred = true;
	m->pred = *p;
	m->pred_result = m->act.result;
	/* the job's clock then: its last sample's, and the time since that sample */
	m->pred_elapsed_ms = m->s.elapsed_ms;
	if (m->have_sample && rec->mono_ns > m->last_mono_ns) {
		uint64_t add = (rec->mono_ns - m->last_mono_ns) / 1000000u;
		m->pred_elapsed_ms = add > UINT32_MAX - m->s.elapsed_ms ? UINT32_MAX :
				     m->s.elapsed_ms + (uint32_t)add;
	}
}

int view_feed(struct view_state *v, const struct ring_record *rec)
{
	if (ring_record_validate(rec) < 0) {
		v->invalid++;
		return 0;
	}
	v->records++;
	if (rec->mono_ns > v->newest_mono_ns)
		v->newest_mono_ns = rec->mono_ns;
	switch (rec->type) {
	case RING_REC_SAMPLE:
		if (rec->domain == RING_NO_DOMAIN)
			break;
		feed_sample(v, rec);
		break;
	case RING_REC_ACTION:
		log_push(v, rec);
		if (rec->domain != RING_NO_DOMAIN) {
			struct view_mig *m = mig_get(v, rec->domain, rec->mono_ns);
			if (!m)
				return -ENOMEM;
			const struct ring_action *a = &rec->u.action;
			/* a change to the job that predicted nothing leaves the last prediction stale */
			if (a->result == RING_RES_APPLIED && a->kind != RING_ACT_HOLD &&
			    a->kind != RING_ACT_DUMP)
				m->have_pred = false;
			m->act = *a;
			m->have_action = true;
			m->act_mono_ns = rec->mono_ns;
			m->n_actions++;
			ESC_FIELD(m->policy, a->policy);
		}
		break;
	case RING_REC_PREDICTION:
		feed_prediction(v, rec);
		break;
	case RING_REC_EVENT:
		log_push(v, rec);
		return feed_migration_event(v, rec);
	case RING_REC_AGENT:
		log_push(v, rec);
		break;
	case RING_REC_NIC: {
		size_t i;
		for (i = 0; i < v->n_nics; i++)
			if (v->nics[i].n.ifindex == rec->u.nic.ifindex)
				break;
		if (i == v->n_nics) {
			if (v->n_nics < VIEW_NICS) {
				v->n_nics++;
			} else {
				/* replace the NIC heard from least recently */
				i = 0;
				for (size_t k = 1; k < v->n_nics; k++)
					if (v->nics[k].mono_ns < v->nics[i].mono_ns)
						i = k;
			}
		}
		v->nics[i].mono_ns = rec->mono_ns;
		v->nics[i].n = rec->u.nic;
		break;
	}
	default:
		break;
	}
	return 0;
}

size_t view_prune(struct view_state *v, uint64_t cutoff_mono_ns)
{
	size_t k = 0, gone = 0;

	for (size_t i = 0; i < v->n_migs; i++) {
		const struct view_mig *m = &v->migs[i];
		if (!mig_active(m) && mig_last(m) < cutoff_mono_ns) {
			gone++;
			continue;
		}
		if (k != i)
			v->migs[k] = v->migs[i];
		k++;
	}
	v->n_migs = k;
	index_rebuild(v);
	return gone;
}

const struct view_log_entry *view_log_at(const struct view_state *v, uint32_t i)
{
	if (i >= v->log_n)
		return NULL;
	return &v->log[(v->log_head + VIEW_LOG - v->log_n + i) % VIEW_LOG];
}

const struct view_point *view_hist_at(const struct view_mig *m, uint32_t i)
{
	if (i >= m->hist_n)
		return NULL;
	return &m->hist[(m->hist_head + VIEW_HISTORY - m->hist_n + i) % VIEW_HISTORY];
}

const struct view_pass *view_pass_at(const struct view_mig *m, uint32_t i)
{
	if (i >= m->pass_n)
		return NULL;
	return &m->passes[(m->pass_head + VIEW_PASSES - m->pass_n + i) % VIEW_PASSES];
}

/* ---- formatting ------------------------------------------------------------------------------- */

void view_format_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTP";
	double x = (double)bytes;
	int u = 0;

	while (x >= 1024.0 && u < 5) {
		x /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 "B", bytes);
	else
		snprintf(buf, len, x < 10.0 ? "%.1f%c" : "%.0f%c", x, units[u]);
}

/* What an agent record says happened, as a word (the JSON keeps the number in "kind"). */
static const char *agent_kind_name(uint8_t kind)
{
	static const char *const names[] = {
		[RING_AGENT_START] = "start", [RING_AGENT_STOP] = "stop",
		[RING_AGENT_RELOAD] = "reload", [RING_AGENT_CONNECT] = "connect",
		[RING_AGENT_DISCONNECT] = "disconnect", [RING_AGENT_NOTE] = "note",
	};

	return kind < sizeof(names) / sizeof(names[0]) && names[kind] ? names[kind] : "other";
}

/* ISO 8601 local time with its offset and milliseconds: a CSV read elsewhere stays exact. */
static void format_time_iso(uint64_t real_ns, char *buf, size_t len)
{
	time_t t = (time_t)(real_ns / 1000000000u);
	char zone[8], date[24];
	struct tm tm;

	if (!real_ns || !localtime_r(&t, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);          /* +hhmm: written +hh:mm */
	snprintf(buf, len, "%.19s.%03u%.3s:%.2s", date, (unsigned)(real_ns / 1000000u % 1000u),
		 zone, zone + 3);
}

void view_format_time(uint64_t real_ns, bool with_date, char *buf, size_t len)
{
	time_t t = (time_t)(real_ns / 1000000000u);
	struct tm tm;

	if (!real_ns || !localtime_r(&t, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
}

const char *view_liveness_word(int liveness)
{
	return liveness ? ring_liveness_name(liveness) : "replay";
}

/* An action without its result: "downtime 300->500ms". */
static void action_what(const struct ring_action *a, char *buf, size_t len)
{
	switch (a->kind) {
	case RING_ACT_SET_DOWNTIME:
		snprintf(buf, len, "downtime %" PRId64 "->%" PRId64 "ms", a->old_value, a->new_value);
		break;
	case RING_ACT_SET_BANDWIDTH:
		snprintf(buf, len, "bandwidth %" PRId64 "->%" PRId64 "MiB/s", a->old_value, a->new_value);
		break;
	case RING_ACT_THROTTLE:
		snprintf(buf, len, "throttle %" PRId64 "->%" PRId64 "%%", a->old_value, a->new_value);
		break;
	default:
		snprintf(buf, len, "%s", ring_action_name(a->kind));
		break;
	}
}

/* The result marker that follows an action: "" when applied. */
static const char *action_marker(uint8_t result)
{
	return result == RING_RES_APPLIED ? "" : result == RING_RES_ADVISORY ? " (advisory)" :
	       result == RING_RES_SKIPPED ? " (skipped)" : " (failed)";
}

void view_action_format(const struct ring_action *a, char *buf, size_t len)
{
	char what[48];

	action_what(a, what, sizeof(what));
	snprintf(buf, len, "%s%s", what, action_marker(a->result));
}

int view_text_cols(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

size_t view_text_fit(const char *s, int cols)
{
	size_t i = 0;
	int n = 0;

	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n++ == cols)
			break;
	}
	return i;
}

/* The byte at which column `col` of s begins (its end when shorter). */
static size_t text_col_offset(const char *s, int col)
{
	return view_text_fit(s, col);
}

/* Appends to buf (of len, holding k bytes) the first cols columns of s; returns the new k. */
static size_t put_cols(char *buf, size_t len, size_t k, const char *s, int cols)
{
	size_t n = view_text_fit(s, cols < 0 ? 0 : cols);

	if (k + n >= len)
		n = len - k - 1;
	memcpy(buf + k, s, n);
	buf[k + n] = '\0';
	return k + n;
}

static size_t put_str(char *buf, size_t len, size_t k, const char *s)
{
	return put_cols(buf, len, k, s, view_text_cols(s));
}

void view_action_cell(const struct view_row *r, int width, char *buf, size_t len)
{
	const char *ell = r->utf8 ? "\u2026" : "~", *mark, *sep;
	char what[48];
	int wc, rc, avail, wkeep, rkeep, rmin;
	size_t k = 0;

	buf[0] = '\0';
	if (!r->action[0]) {
		snprintf(buf, len, "-");
		return;
	}
	action_what(&r->m->act, what, sizeof(what));
	mark = action_marker(r->m->act.result);
	sep = r->reason[0] ? ": " : "";
	wc = view_text_cols(what);
	rc = view_text_cols(r->reason);
	avail = width - view_text_cols(mark) - view_text_cols(sep);
	if (width <= 0 || wc + rc <= avail) {
		snprintf(buf, len, "%s%s%s%s", what, mark, sep, r->reason);
		return;
	}
	if (avail < 3) {                /* not even room for the action: the marker first */
		k = put_cols(buf, len, k, mark[0] ? mark + 1 : what, width);
		return;
	}
	/* the reason keeps its start; the action gives up its middle */
	rmin = rc < 8 ? rc : 8;
	wkeep = avail - rmin < wc ? avail - rmin : wc;
	if (wkeep < 3)
		wkeep = avail < wc ? avail : wc;
	rkeep = avail - wkeep;
	if (wkeep < wc) {
		int head = (wkeep - 1) / 2, tail = wkeep - 1 - head;
		k = put_cols(buf, len, k, what, head);
		k = put_str(buf, len, k, ell);
		k = put_str(buf, len, k, what + text_col_offset(what, wc - tail));
	} else {
		k = put_str(buf, len, k, what);
	}
	k = put_str(buf, len, k, mark);
	if (rkeep <= 0)
		return;
	k = put_str(buf, len, k, sep);
	if (rkeep >= rc) {
		put_str(buf, len, k, r->reason);
	} else {
		k = put_cols(buf, len, k, r->reason, rkeep - 1);
		put_str(buf, len, k, ell);
	}
}

void view_format_duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t sec = ms / 1000;

	if (sec < 3600)
		snprintf(buf, len, "%" PRIu64 ":%02" PRIu64, sec / 60, sec % 60);
	else if (sec < 100 * 3600)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", sec / 3600, sec / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "h", sec / 3600);
}

void view_sparkline(const struct view_mig *m, bool utf8, char *buf, size_t len)
{
	static const char *const blocks[8] = { "\u2581", "\u2582", "\u2583", "\u2584",
					       "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = "_.:-=+*#";
	uint32_t n = m->pass_n < VIEW_SPARK_PASSES ? m->pass_n : VIEW_SPARK_PASSES;
	double hi = 0;
	size_t k = 0;

	buf[0] = '\0';
	for (uint32_t i = m->pass_n - n; i < m->pass_n; i++)
		if ((double)view_pass_at(m, i)->remaining_bytes > hi)
			hi = (double)view_pass_at(m, i)->remaining_bytes;
	/* two decades below the largest: a plateau reads flat, a halving per pass as a step */
	for (uint32_t i = m->pass_n - n; i < m->pass_n; i++) {
		double x = (double)view_pass_at(m, i)->remaining_bytes;
		int lvl = x <= 0 || hi <= 0 ? 0 : (int)lround((log10(x / hi) + 2.0) / 2.0 * 7.0);
		lvl = lvl < 0 ? 0 : lvl > 7 ? 7 : lvl;
		if (utf8)
			k = put_str(buf, len, k, blocks[lvl]);
		else if (k + 1 < len) {
			buf[k++] = ascii[lvl];
			buf[k] = '\0';
		}
	}
}

static const struct ring_nic *migration_nic(const struct view_state *v)
{
	const struct ring_nic *best = NULL;

	/* The NIC carrying migrations is the busiest one the agent reports. */
	for (size_t i = 0; i < v->n_nics; i++)
		if (!best || v->nics[i].n.tx_bps + v->nics[i].n.rx_bps > best->tx_bps + best->rx_bps)
			best = &v->nics[i].n;
	return best;
}

/*
 * When the job finishes, by the policy's last prediction: an action applied has its own time,
 * advice not applied (advisory, skipped, failed) leaves the job as waiting would, aged by the job's
 * clock since.  Unknown without a prediction or once the job no longer runs.
 */
static void row_eta(const struct view_mig *m, struct view_row *r)
{
	uint32_t base, since;

	r->eta = VIEW_ETA_UNKNOWN;
	if (!r->running || !m->have_pred)
		return;
	base = m->pred_result == RING_RES_APPLIED ? m->pred.time_ms : m->pred.wait_ms;
	if (base == RING_PRED_NEVER) {
		r->eta = VIEW_ETA_NEVER;
		return;
	}
	since = m->s.elapsed_ms > m->pred_elapsed_ms ? m->s.elapsed_ms - m->pred_elapsed_ms : 0;
	if (since > base) {
		r->eta = VIEW_ETA_LATE;
		return;
	}
	r->eta = VIEW_ETA_IN;
	r->eta_ms = base - since;
}

/* The last two passes after the bulk pass: the later one kept 90 % or more of the earlier. */
static bool passes_plateau(const struct view_mig *m)
{
	if (m->pass_n < 2)
		return false;
	const struct view_pass *a = view_pass_at(m, m->pass_n - 2), *b = view_pass_at(m, m->pass_n - 1);
	return a->iteration >= 2 && b->iteration == a->iteration + 1 &&
	       b->remaining_bytes * 10 >= a->remaining_bytes * 9;
}

static unsigned row_attention(const struct view_state *v, const struct view_mig *m,
			      const struct view_row *r)
{
	const struct ring_sample *s = &m->s;
	bool over = m->have_sample && s->downtime_limit_ms && s->expected_downtime_ms > s->downtime_limit_ms;
	unsigned a = 0;

	if ((m->ended && (strcmp(m->outcome, "failed") == 0 || strcmp(m->outcome, "aborted") == 0)) ||
	    (!m->ended && m->have_sample && s->phase == RING_PHASE_FAILED) ||
	    (m->have_action && m->act.kind != RING_ACT_DUMP && m->act.result == RING_RES_FAILED))
		a |= VIEW_ATTN_FAILED;
	if (r->running && s->phase == RING_PHASE_PRECOPY && s->iteration >= 2) {
		if (over)
			a |= VIEW_ATTN_OVER_LIMIT;
		if (over && passes_plateau(m))
			a |= VIEW_ATTN_NOT_CONVERGING;
	}
	/* done: the final statistics carry the real downtime */
	if (over && s->phase == RING_PHASE_DONE && (s->flags & RING_SAMPLE_F_FINAL) &&
	    (!m->ended || strcmp(m->outcome, "completed") == 0))
		a |= VIEW_ATTN_OVER_LIMIT;
	/* an agent that only advises never acts */
	if (r->eta == VIEW_ETA_NEVER && v->writer.mode != RING_MODE_ADVISORY)
		a |= VIEW_ATTN_ABOUT_TO_ACT;
	if (m->have_action && m->act.result == RING_RES_ADVISORY)
		a |= VIEW_ATTN_ADVISORY;
	if (r->running && s->phase == RING_PHASE_POSTCOPY &&
	    (s->flags & (RING_SAMPLE_F_PC_BROKEN | RING_SAMPLE_F_PC_RECOVERING)))
		a |= VIEW_ATTN_SPLIT;
	return a;
}

const char *view_attn_name(unsigned bit)
{
	switch (bit) {
	case VIEW_ATTN_NOT_CONVERGING: return "not-converging";
	case VIEW_ATTN_OVER_LIMIT: return "downtime-over-limit";
	case VIEW_ATTN_ABOUT_TO_ACT: return "agent-about-to-act";
	case VIEW_ATTN_FAILED: return "failed";
	case VIEW_ATTN_ADVISORY: return "advisory";
	case VIEW_ATTN_SPLIT: return "postcopy-split";
	default: return "?";
	}
}

void view_row_fill(const struct view_state *v, const struct view_mig *m, struct view_row *r)
{
	const struct ring_sample *s = &m->s;

	memset(r, 0, sizeof(*r));
	r->m = m;
	r->progress_pct = -1;
	r->headroom_mibs = -1;
	r->running = view_mig_running(v, m);
	if (m->have_sample) {
		r->dir = ring_direction_name(s->direction);
		r->phase = ring_phase_name(s->phase);
		if (s->phase == RING_PHASE_POSTCOPY && (s->flags & RING_SAMPLE_F_PC_BROKEN))
			r->phase = "pc-broken";
		else if (s->phase == RING_PHASE_POSTCOPY && (s->flags & RING_SAMPLE_F_PC_RECOVERING))
			r->phase = "pc-resume";
		r->pass = s->iteration;
		if (s->data_total_bytes)
			r->progress_pct = 100.0 * (double)(s->data_total_bytes -
				(s->data_remaining_bytes < s->data_total_bytes ? s->data_remaining_bytes
									       : s->data_total_bytes)) /
				(double)s->data_total_bytes;
		if (s->phase == RING_PHASE_DONE)
			r->progress_pct = 100.0;
		r->remaining_bytes = s->data_remaining_bytes;
		r->dirty_mibs = (double)s->dirty_pages_per_s * (s->page_size ? s->page_size : 4096) / MIB;
		r->bw_mibs = (double)s->memory_bps / MIB;
		r->bw_limit_mibs = s->bandwidth_limit_mibs;
		r->nic_tx_mibs = s->nic_tx_kibps / 1024.0;
		r->nic_rx_mibs = s->nic_rx_kibps / 1024.0;
		r->expected_downtime_ms = s->expected_downtime_ms;
		r->downtime_limit_ms = s->downtime_limit_ms;
		r->throttle_pct = s->throttle_pct;
		r->elapsed_ms = s->elapsed_ms;
		const struct ring_nic *nic = migration_nic(v);
		if (nic && nic->speed_mbps) {
			double cap = nic->speed_mbps * 1e6 / 8.0 / MIB;
			double tx = s->nic_tx_kibps ? r->nic_tx_mibs : (double)nic->tx_bps / MIB;
			r->headroom_mibs = cap > tx ? cap - tx : 0;
		}
	} else {
		r->dir = "?";
		r->phase = "unknown";
	}
	if (m->ended) {
		/* how it ended, not the phase of its last sample */
		r->phase = strcmp(m->outcome, "completed") == 0 ? ring_phase_name(RING_PHASE_DONE)
								 : m->outcome;
		if (strcmp(m->outcome, "completed") == 0)
			r->progress_pct = 100.0;
	} else if (mig_active(m) && !r->running) {
		r->phase = "unknown";    /* its agent is gone: nobody knows */
	}
	if (m->have_action) {
		view_action_format(&m->act, r->action, sizeof(r->action));
		ESC_FIELD(r->reason, m->act.reason);
	}
	r->utf8 = v->utf8;
	row_eta(m, r);
	r->attn = row_attention(v, m, r);
	r->pc_breaks = m->pc_breaks;
	r->pc_split_s = m->pc_split_ms / 1000.0;
	if (m->pc_broken_mono_ns) {
		/* still split: until the end of the job, or until now */
		uint64_t until = m->ended ? m->ended_mono_ns : v->now_mono_ns ? v->now_mono_ns :
				 v->newest_mono_ns;

		if (until > m->pc_broken_mono_ns)
			r->pc_split_s += (double)(until - m->pc_broken_mono_ns) / 1e9;
	}
}

bool view_mig_running(const struct view_state *v, const struct view_mig *m)
{
	return mig_active(m) && (v->liveness == 0 || v->liveness == RING_LIVE ||
				 v->liveness == RING_STALLED);
}

size_t view_running_count(const struct view_state *v)
{
	size_t n = 0;
	for (size_t i = 0; i < v->n_migs; i++)
		n += view_mig_running(v, &v->migs[i]);
	return n;
}

static int mig_cmp(const void *a, const void *b, void *arg)
{
	const struct view_mig *x = *(const struct view_mig *const *)a;
	const struct view_mig *y = *(const struct view_mig *const *)b;
	enum view_sort key = *(const enum view_sort *)arg;
	int c = 0;

	if (mig_active(x) != mig_active(y))
		return mig_active(x) ? -1 : 1;
	switch (key) {
	case VIEW_SORT_REMAINING:
		c = x->s.data_remaining_bytes > y->s.data_remaining_bytes ? -1 :
		    x->s.data_remaining_bytes < y->s.data_remaining_bytes;
		break;
	case VIEW_SORT_PROGRESS: {
		double px = x->s.data_total_bytes ? (double)x->s.data_remaining_bytes / (double)x->s.data_total_bytes : 1;
		double py = y->s.data_total_bytes ? (double)y->s.data_remaining_bytes / (double)y->s.data_total_bytes : 1;
		c = px > py ? -1 : px < py;   /* least progress first */
		break;
	}
	case VIEW_SORT_DIRTY: {
		double dx = (double)x->s.dirty_pages_per_s * x->s.page_size;
		double dy = (double)y->s.dirty_pages_per_s * y->s.page_size;
		c = dx > dy ? -1 : dx < dy;
		break;
	}
	case VIEW_SORT_ELAPSED:
		c = x->s.elapsed_ms > y->s.elapsed_ms ? -1 : x->s.elapsed_ms < y->s.elapsed_ms;
		break;
	default:
		break;
	}
	if (c == 0)
		c = strcmp(x->name, y->name);
	if (c == 0)
		c = x->domain < y->domain ? -1 : x->domain > y->domain;
	return c;
}

void view_sorted(const struct view_state *v, enum view_sort key, const struct view_mig **out)
{
	for (size_t i = 0; i < v->n_migs; i++)
		out[i] = &v->migs[i];
	if (v->n_migs > 1)
		qsort_r(out, v->n_migs, sizeof(*out), mig_cmp, &key);
}

const char *view_sort_name(enum view_sort key)
{
	static const char *const names[] = { "domain", "remaining", "progress", "dirty", "elapsed" };
	return key < VIEW_SORT_MAX ? names[key] : "?";
}

void view_log_format(const struct view_state *v, const struct view_log_entry *e, char *buf,
		     size_t len)
{
	char t[32], what[64];
	const struct ring_record *rec = &e->rec;
	char dom[TEXT_ESCAPE_SIZE(RING_NAME_MAX)] = "-", raw[RING_NAME_MAX + 1];
	char a[TEXT_ESCAPE_SIZE(sizeof(rec->u.agent.text))], b[TEXT_ESCAPE_SIZE(16)],
	     c[TEXT_ESCAPE_SIZE(16)];
	uint8_t uuid[16];

	view_format_time(v->src.to_real_ns ? v->src.to_real_ns(v->src.ctx, e->mono_ns) : 0, false, t,
			 sizeof(t));
	if (rec->domain != RING_NO_DOMAIN) {
		if (v->src.lookup && v->src.lookup(v->src.ctx, rec->domain, raw, uuid) == 0)
			text_esc_n(dom, sizeof(dom), raw, RING_NAME_MAX);
		else
			snprintf(dom, sizeof(dom), "#%" PRIu32, rec->domain);
	}
	switch (rec->type) {
	case RING_REC_ACTION:
		view_action_format(&rec->u.action, what, sizeof(what));
		snprintf(buf, len, "%s %s %s [%s] %s", t, dom, what, ESC_FIELD(b, rec->u.action.policy),
			 ESC_FIELD(a, rec->u.action.reason));
		break;
	case RING_REC_EVENT:
		snprintf(buf, len, "%s %s event %s %s %s", t, dom, ESC_FIELD(b, rec->u.event.op),
			 ESC_FIELD(c, rec->u.event.subop), ESC_FIELD(a, rec->u.event.text));
		break;
	case RING_REC_AGENT:
		snprintf(buf, len, "%s agent %s pid %" PRIu32 " %s", t,
			 agent_kind_name(rec->u.agent.kind), rec->u.agent.pid,
			 ESC_FIELD(a, rec->u.agent.text));
		break;
	default:
		snprintf(buf, len, "%s %s %s", t, dom, ring_rec_type_name(rec->type));
		break;
	}
}

/* ---- columns ---------------------------------------------------------------------------------- */

static void c_domain(const struct view_row *r, char *b, size_t l) { snprintf(b, l, "%s", r->m->name); }
static void c_dir(const struct view_row *r, char *b, size_t l) { snprintf(b, l, "%s", r->dir); }
static void c_phase(const struct view_row *r, char *b, size_t l) { snprintf(b, l, "%s", r->phase); }
static void c_pass(const struct view_row *r, char *b, size_t l) { snprintf(b, l, "%" PRIu32, r->pass); }
static void c_prog(const struct view_row *r, char *b, size_t l)
{
	if (r->progress_pct < 0)
		snprintf(b, l, "-");
	else
		snprintf(b, l, "%.0f%%", r->progress_pct);
}
static void c_remain(const struct view_row *r, char *b, size_t l) { view_format_bytes(r->remaining_bytes, b, l); }
static void c_dirty(const struct view_row *r, char *b, size_t l) { snprintf(b, l, "%.1f", r->dirty_mibs); }
static void c_bw(const struct view_row *r, char *b, size_t l)
{
	if (r->bw_limit_mibs > 0)
		snprintf(b, l, "%.1f/%.0f", r->bw_mibs, r->bw_limit_mibs);
	else
		snprintf(b, l, "%.1f/none", r->bw_mibs);     /* 0: no limit, as in JSON and CSV */
}
static void c_nic(const struct view_row *r, char *b, size_t l)
{
	snprintf(b, l, "%.0f/%.0f", r->nic_tx_mibs, r->nic_rx_mibs);
}
static void c_headroom(const struct view_row *r, char *b, size_t l)
{
	if (r->headroom_mibs < 0)
		snprintf(b, l, "-");
	else
		snprintf(b, l, "%.0f", r->headroom_mibs);
}
static void c_downtime(const struct view_row *r, char *b, size_t l)
{
	snprintf(b, l, "%" PRIu32 "/%" PRIu32, r->expected_downtime_ms, r->downtime_limit_ms);
}
static void c_throttle(const struct view_row *r, char *b, size_t l) { snprintf(b, l, "%" PRIu32, r->throttle_pct); }
static void c_policy(const struct view_row *r, char *b, size_t l) { snprintf(b, l, "%s", r->m->policy[0] ? r->m->policy : "-"); }
static void c_action(const struct view_row *r, char *b, size_t l) { view_action_cell(r, 0, b, l); }
static void c_passes(const struct view_row *r, char *b, size_t l)
{
	view_sparkline(r->m, r->utf8, b, l);
	if (!b[0])
		snprintf(b, l, "-");
}
static void c_elapsed(const struct view_row *r, char *b, size_t l)
{
	if (r->m->have_sample)
		view_format_duration(r->elapsed_ms, b, l);
	else
		snprintf(b, l, "-");
}
static void c_eta(const struct view_row *r, char *b, size_t l)
{
	switch (r->eta) {
	case VIEW_ETA_IN: view_format_duration(r->eta_ms, b, l); break;
	case VIEW_ETA_NEVER: snprintf(b, l, "never"); break;
	case VIEW_ETA_LATE: snprintf(b, l, "late"); break;
	default: snprintf(b, l, "-"); break;
	}
}

#define ATTN_PHASE (VIEW_ATTN_FAILED | VIEW_ATTN_NOT_CONVERGING | VIEW_ATTN_OVER_LIMIT | \
		    VIEW_ATTN_SPLIT)
const struct view_col view_cols[] = {
	{ "DOMAIN",    14, 0, true,  0, c_domain },
	{ "DIR",        3, 6, true,  0, c_dir },
	{ "PHASE",      9, 0, true,  ATTN_PHASE, c_phase },
	{ "PASS",       4, 4, false, 0, c_pass },
	{ "PROG",       4, 5, false, 0, c_prog },
	{ "REMAIN",     6, 0, false, VIEW_ATTN_NOT_CONVERGING, c_remain },
	{ "PASSES",     VIEW_SPARK_PASSES, 1, false, VIEW_ATTN_NOT_CONVERGING, c_passes },
	{ "DIRTY",      6, 4, false, 0, c_dirty },
	{ "BW/LIMIT",  11, 4, false, 0, c_bw },
	{ "NICTX/RX",   9, 6, false, 0, c_nic },
	{ "HEADRM",     6, 6, false, 0, c_headroom },
	{ "DOWNTIME",  11, 3, false, VIEW_ATTN_OVER_LIMIT, c_downtime },
	{ "THR",        3, 6, false, 0, c_throttle },
	{ "ELAPSED",    7, 2, false, 0, c_elapsed },
	{ "ETA",        5, 0, false, VIEW_ATTN_ABOUT_TO_ACT, c_eta },
	{ "POLICY",     9, 5, true,  0, c_policy },
	{ "LAST ACTION", 11, 0, true, VIEW_ATTN_FAILED | VIEW_ATTN_ADVISORY | VIEW_ATTN_ABOUT_TO_ACT,
	  c_action },
};
const size_t view_n_cols = sizeof(view_cols) / sizeof(view_cols[0]);

/* ---- batch text ------------------------------------------------------------------------------- */

/* One cell of the batch table, padded to its column's width in terminal columns (a wider one
 * pushes the rest of the line right rather than being cut); the last ends the line. */
static void print_cell(FILE *f, size_t c, const char *text)
{
	int pad = view_cols[c].width - view_text_cols(text);

	if (c + 1 == view_n_cols) {
		fprintf(f, "%s\n", text);
		return;
	}
	if (view_cols[c].left)
		fprintf(f, "%s%*s ", text, pad > 0 ? pad : 0, "");
	else
		fprintf(f, "%*s%s ", pad > 0 ? pad : 0, "", text);
}

void view_print_text(FILE *f, const struct view_state *v, enum view_sort key)
{
	char t[32];
	const struct view_mig **order = calloc(v->n_migs ? v->n_migs : 1, sizeof(*order));

	view_format_time(v->now_real_ns, true, t, sizeof(t));
	fprintf(f, "migtop %s  host %s  agent %s", t, v->host[0] ? v->host : "?",
		view_liveness_word(v->liveness));
	if (v->writer_pid)
		fprintf(f, " (pid %" PRIu32 ")", v->writer_pid);
	char who[96];
	view_format_writer(&v->writer, who, sizeof(who));
	fprintf(f, "  %s", who);
	fprintf(f, "  migrations %zu (%zu running)  records %" PRIu64 "  lost %" PRIu64 "  dropped %"
		PRIu64 "\n", v->n_migs, view_running_count(v), v->records, v->lost, v->dropped);
	for (size_t i = 0; i < v->n_nics; i++) {
		const struct ring_nic *n = &v->nics[i].n;
		char ifname[TEXT_ESCAPE_SIZE(sizeof(n->ifname))];
		fprintf(f, "NIC %s %s speed %" PRIu32 "Mb/s tx %.1fMiB/s rx %.1fMiB/s errors %" PRIu32
			"/%" PRIu32 " dropped %" PRIu32 "/%" PRIu32 "\n",
			ESC_FIELD(ifname, n->ifname), n->carrier ? "up" : "down", n->speed_mbps,
			(double)n->tx_bps / MIB,
			(double)n->rx_bps / MIB, n->tx_errors, n->rx_errors, n->tx_dropped, n->rx_dropped);
	}
	for (size_t c = 0; c < view_n_cols; c++)
		print_cell(f, c, view_cols[c].name);
	if (!order)
		return;
	view_sorted(v, key, order);
	for (size_t i = 0; i < v->n_migs; i++) {
		struct view_row r;
		char cell[320];
		view_row_fill(v, order[i], &r);
		for (size_t c = 0; c < view_n_cols; c++) {
			view_cols[c].fmt(&r, cell, sizeof(cell));
			print_cell(f, c, cell);
		}
	}
	free(order);
	fflush(f);
}

/* ---- JSON ------------------------------------------------------------------------------------- */

/* For texts the program makes itself (names of enums, formatted numbers) or already escaped. */
static void jadd_str(struct json_object *o, const char *k, const char *s)
{
	json_object_object_add(o, k, json_object_new_string(s));
}

/* For texts from the ring, a dump or the command line: the value is the escaped text. */
static void jadd_text(struct json_object *o, const char *k, const char *s, size_t max)
{
	char buf[TEXT_ESCAPE_SIZE(256)];
	jadd_str(o, k, text_esc_n(buf, sizeof(buf), s, max < 256 ? max : 256));
}
#define JADD_FIELD(o, k, field) jadd_text(o, k, field, sizeof(field))

static void jadd_u64(struct json_object *o, const char *k, uint64_t x)
{
	json_object_object_add(o, k, json_object_new_uint64(x));
}

static void jadd_i64(struct json_object *o, const char *k, int64_t x)
{
	json_object_object_add(o, k, json_object_new_int64(x));
}

static void jadd_dbl(struct json_object *o, const char *k, double x)
{
	/* two decimals are all a reader of MiB/s or % needs; keeps the output stable for diffs */
	json_object_object_add(o, k, json_object_new_double(round(x * 100.0) / 100.0));
}

static struct json_object *nic_json(const struct ring_nic *n)
{
	struct json_object *o = json_object_new_object();
	JADD_FIELD(o, "ifname", n->ifname);
	jadd_u64(o, "ifindex", n->ifindex);
	json_object_object_add(o, "carrier", json_object_new_boolean(n->carrier));
	jadd_u64(o, "speed_mbps", n->speed_mbps);
	jadd_u64(o, "tx_bytes", n->tx_bytes);
	jadd_u64(o, "rx_bytes", n->rx_bytes);
	jadd_u64(o, "tx_bps", n->tx_bps);
	jadd_u64(o, "rx_bps", n->rx_bps);
	jadd_u64(o, "tx_errors", n->tx_errors);
	jadd_u64(o, "rx_errors", n->rx_errors);
	jadd_u64(o, "tx_dropped", n->tx_dropped);
	jadd_u64(o, "rx_dropped", n->rx_dropped);
	jadd_u64(o, "tx_packets", n->tx_packets);
	jadd_u64(o, "rx_packets", n->rx_packets);
	return o;
}

static struct json_object *action_json(const struct ring_action *a)
{
	struct json_object *o = json_object_new_object();
	jadd_str(o, "kind", ring_action_name(a->kind));
	jadd_str(o, "result", ring_result_name(a->result));
	jadd_u64(o, "reason_code", a->reason_code);
	jadd_i64(o, "error", a->error);
	jadd_i64(o, "old_value", a->old_value);
	jadd_i64(o, "new_value", a->new_value);
	JADD_FIELD(o, "policy", a->policy);
	JADD_FIELD(o, "reason", a->reason);
	return o;
}

/* A predicted time: its ms, or null and finishes false for never. */
static void jadd_pred(struct json_object *o, const char *k, const char *fin, uint32_t ms)
{
	json_object_object_add(o, fin, json_object_new_boolean(ms != RING_PRED_NEVER));
	json_object_object_add(o, k, ms == RING_PRED_NEVER ? NULL : json_object_new_uint64(ms));
}

static struct json_object *prediction_json(const struct ring_prediction *p)
{
	struct json_object *o = json_object_new_object();
	jadd_str(o, "kind", ring_action_name(p->kind));
	jadd_u64(o, "reason_code", p->reason_code);
	jadd_pred(o, "time_ms", "finishes", p->time_ms);
	jadd_u64(o, "bytes", p->bytes);
	jadd_u64(o, "downtime_ms", p->downtime_ms);
	jadd_pred(o, "wait_ms", "wait_finishes", p->wait_ms);
	return o;
}

struct json_object *view_state_json(const struct view_state *v, enum view_sort key)
{
	struct json_object *o = json_object_new_object(), *arr, *nics;
	const struct view_mig **order = calloc(v->n_migs ? v->n_migs : 1, sizeof(*order));
	char t[32];

	if (!o || !order) {
		free(order);
		json_object_put(o);
		return NULL;
	}
	jadd_u64(o, "time_ns", v->now_real_ns);
	view_format_time(v->now_real_ns, true, t, sizeof(t));
	jadd_str(o, "time", t);
	jadd_str(o, "host", v->host);
	jadd_str(o, "agent", view_liveness_word(v->liveness));
	jadd_u64(o, "agent_pid", v->writer_pid);
	json_object_object_add(o, "agent_mode", v->writer.mode ?
			       json_object_new_string(ring_mode_name(v->writer.mode)) : NULL);
	if (v->writer.policy[0])
		JADD_FIELD(o, "default_policy", v->writer.policy);
	else
		json_object_object_add(o, "default_policy", NULL);
	json_object_object_add(o, "simulated",
			       json_object_new_boolean(v->writer.flags & RING_WRITER_F_SIMULATED));
	if (v->writer.flags & RING_WRITER_F_SIMULATED)
		jadd_u64(o, "sim_speed", v->writer.sim_speed);
	jadd_text(o, "source", v->label ? v->label : "live", 256);
	jadd_u64(o, "records", v->records);
	jadd_u64(o, "records_lost", v->lost);
	jadd_u64(o, "records_dropped", v->dropped);
	jadd_u64(o, "records_invalid", v->invalid);
	nics = json_object_new_array();
	for (size_t i = 0; i < v->n_nics; i++)
		json_object_array_add(nics, nic_json(&v->nics[i].n));
	json_object_object_add(o, "nics", nics);

	arr = json_object_new_array();
	view_sorted(v, key, order);
	for (size_t i = 0; i < v->n_migs; i++) {
		struct view_row r;
		struct json_object *m = json_object_new_object();
		view_row_fill(v, order[i], &r);
		jadd_str(m, "domain", order[i]->name);
		jadd_u64(m, "domain_index", order[i]->domain);
		jadd_str(m, "uuid", order[i]->uuid);
		jadd_str(m, "direction", r.dir);
		jadd_str(m, "phase", r.phase);
		json_object_object_add(m, "running", json_object_new_boolean(r.running));
		json_object_object_add(m, "outcome", order[i]->ended ?
				       json_object_new_string(order[i]->outcome) : NULL);
		jadd_u64(m, "pass", r.pass);
		if (r.progress_pct >= 0)
			jadd_dbl(m, "progress_pct", r.progress_pct);
		else
			json_object_object_add(m, "progress_pct", NULL);
		jadd_u64(m, "remaining_bytes", r.remaining_bytes);
		jadd_u64(m, "total_bytes", order[i]->s.data_total_bytes);
		jadd_dbl(m, "dirty_mibs", r.dirty_mibs);
		jadd_dbl(m, "bandwidth_mibs", r.bw_mibs);
		jadd_dbl(m, "bandwidth_limit_mibs", r.bw_limit_mibs);
		jadd_dbl(m, "nic_tx_mibs", r.nic_tx_mibs);
		jadd_dbl(m, "nic_rx_mibs", r.nic_rx_mibs);
		if (r.headroom_mibs >= 0)
			jadd_dbl(m, "nic_headroom_mibs", r.headroom_mibs);
		else
			json_object_object_add(m, "nic_headroom_mibs", NULL);
		jadd_u64(m, "expected_downtime_ms", r.expected_downtime_ms);
		jadd_u64(m, "downtime_limit_ms", r.downtime_limit_ms);
		jadd_u64(m, "throttle_pct", r.throttle_pct);
		jadd_u64(m, "elapsed_ms", r.elapsed_ms);
		json_object_object_add(m, "eta_ms", r.eta == VIEW_ETA_IN ?
				       json_object_new_uint64(r.eta_ms) : NULL);
		jadd_str(m, "eta", r.eta == VIEW_ETA_IN ? "in" : r.eta == VIEW_ETA_NEVER ? "never" :
				   r.eta == VIEW_ETA_LATE ? "late" : "unknown");
		struct json_object *att = json_object_new_array(), *rp = json_object_new_array();
		for (unsigned b = 0; b < VIEW_N_ATTN; b++)
			if (r.attn & (1u << b))
				json_object_array_add(att, json_object_new_string(view_attn_name(1u << b)));
		json_object_object_add(m, "attention", att);
		const struct view_mig *vm = order[i];
		uint32_t np = vm->pass_n < VIEW_SPARK_PASSES ? vm->pass_n : VIEW_SPARK_PASSES;
		for (uint32_t k = vm->pass_n - np; k < vm->pass_n; k++) {
			const struct view_pass *ps = view_pass_at(vm, k);
			struct json_object *po = json_object_new_object();
			jadd_u64(po, "pass", ps->iteration);
			jadd_u64(po, "elapsed_ms", ps->elapsed_ms);
			jadd_u64(po, "remaining_bytes", ps->remaining_bytes);
			json_object_array_add(rp, po);
		}
		json_object_object_add(m, "recent_passes", rp);
		jadd_u64(m, "postcopy_breaks", r.pc_breaks);
		if (r.pc_breaks)
			jadd_dbl(m, "postcopy_split_s", r.pc_split_s);
		else
			json_object_object_add(m, "postcopy_split_s", NULL);
		jadd_str(m, "policy", order[i]->policy);
		jadd_u64(m, "actions", order[i]->n_actions);
		json_object_object_add(m, "last_action",
				       order[i]->have_action ? action_json(&order[i]->act) : NULL);
		json_object_array_add(arr, m);
	}
	json_object_object_add(o, "migrations", arr);
	free(order);
	return o;
}

/* ---- record by record ------------------------------------------------------------------------- */

void view_record_csv_header(FILE *f)
{
	fputs("time,mono_ns,type,domain,domain_name,"
	      "direction,phase,iteration,throttle_pct,flags,data_total_bytes,data_processed_bytes,"
	      "data_remaining_bytes,mem_total_bytes,mem_processed_bytes,mem_remaining_bytes,memory_bps,"
	      "dirty_pages_per_s,page_size,expected_downtime_ms,downtime_limit_ms,bandwidth_limit_mibs,"
	      "elapsed_ms,nic_tx_kibps,nic_rx_kibps,postcopy_requests,"
	      "source,code,detail1,detail2,op,subop,"
	      "kind,reason_code,result,error,old_value,new_value,policy,"
	      "ifindex,ifname,carrier,tx_bytes,rx_bytes,tx_bps,rx_bps,tx_errors,rx_errors,tx_dropped,"
	      "rx_dropped,speed_mbps,tx_packets,rx_packets,"
	      "pred_time_ms,pred_bytes,pred_downtime_ms,pred_wait_ms,pid,text\n", f);
}

/* CSV field with quoting (RFC 4180). */
static void csv_str(FILE *f, const char *s)
{
	bool q = strpbrk(s, ",\"\n\r") != NULL;
	if (!q) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* A text field of a record: escaped, then quoted as CSV needs. */
static void csv_text(FILE *f, const char *field, size_t size)
{
	char buf[TEXT_ESCAPE_SIZE(RING_PAYLOAD_SIZE)];
	csv_str(f, text_esc_n(buf, sizeof(buf), field, size < RING_PAYLOAD_SIZE ? size : RING_PAYLOAD_SIZE));
}
#define CSV_FIELD(f, field) csv_text(f, field, sizeof(field))

/* The record's domain name, escaped, and UUID; both "" when unknown. */
static void record_domain(const struct view_source *src, uint32_t domain,
			  char name[TEXT_ESCAPE_SIZE(RING_NAME_MAX)], char uuid_s[37])
{
	uint8_t uuid[16];
	char raw[RING_NAME_MAX + 1];

	name[0] = uuid_s[0] = '\0';
	if (domain == RING_NO_DOMAIN)
		return;
	if (src && src->lookup && src->lookup(src->ctx, domain, raw, uuid) == 0) {
		text_esc_n(name, TEXT_ESCAPE_SIZE(RING_NAME_MAX), raw, RING_NAME_MAX);
		ring_uuid_format(uuid, uuid_s);
	}
}

/* A predicted time in ms, or "never". */
static const char *pred_ms(uint32_t ms, char *buf, size_t len)
{
	if (ms == RING_PRED_NEVER)
		snprintf(buf, len, "never");
	else
		snprintf(buf, len, "%" PRIu32, ms);
	return buf;
}

/* A predicted time for people: "in 10.8 s", or "never". */
static const char *pred_words(uint32_t ms, char *buf, size_t len)
{
	if (ms == RING_PRED_NEVER)
		snprintf(buf, len, "never");
	else
		snprintf(buf, len, "in %.1f s", ms / 1000.0);
	return buf;
}

static void record_csv(FILE *f, const struct view_source *src, const struct ring_record *rec)
{
	char name[TEXT_ESCAPE_SIZE(RING_NAME_MAX)], uuid[37], t[32];
	uint64_t real = src && src->to_real_ns ? src->to_real_ns(src->ctx, rec->mono_ns) : 0;

	record_domain(src, rec->domain, name, uuid);
	format_time_iso(real, t, sizeof(t));
	fprintf(f, "%s,%" PRIu64 ",%s,", t, rec->mono_ns, ring_rec_type_name(rec->type));
	if (rec->domain != RING_NO_DOMAIN)
		fprintf(f, "%" PRIu32, rec->domain);
	fputc(',', f);
	csv_str(f, name);
	fputc(',', f);
	if (rec->type == RING_REC_SAMPLE) {
		const struct ring_sample *s = &rec->u.sample;
		fprintf(f, "%s,%s,%" PRIu32 ",%u,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			",%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32
			",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",",
			ring_direction_name(s->direction), ring_phase_name(s->phase), s->iteration,
			s->throttle_pct, s->flags, s->data_total_bytes, s->data_processed_bytes,
			s->data_remaining_bytes, s->mem_total_bytes, s->mem_processed_bytes,
			s->mem_remaining_bytes, s->memory_bps, s->dirty_pages_per_s, s->page_size,
			s->expected_downtime_ms, s->downtime_limit_ms, s->bandwidth_limit_mibs,
			s->elapsed_ms, s->nic_tx_kibps, s->nic_rx_kibps, s->postcopy_requests);
	} else {
		fputs(",,,,,,,,,,,,,,,,,,,,,", f);
	}
	if (rec->type == RING_REC_EVENT) {
		const struct ring_event *e = &rec->u.event;
		fprintf(f, "%u,%" PRId32 ",%" PRId32 ",%" PRId32 ",", e->source, e->code, e->detail1,
			e->detail2);
		CSV_FIELD(f, e->op);
		fputc(',', f);
		CSV_FIELD(f, e->subop);
		fputc(',', f);
	} else {
		fputs(",,,,,,", f);
	}
	if (rec->type == RING_REC_ACTION) {
		const struct ring_action *a = &rec->u.action;
		fprintf(f, "%s,%u,%s,%" PRId32 ",%" PRId64 ",%" PRId64 ",", ring_action_name(a->kind),
			a->reason_code, ring_result_name(a->result), a->error, a->old_value, a->new_value);
		CSV_FIELD(f, a->policy);
		fputc(',', f);
	} else if (rec->type == RING_REC_PREDICTION) {
		/* the action it belongs to */
		fprintf(f, "%s,%u,,,,,,", ring_action_name(rec->u.prediction.kind),
			rec->u.prediction.reason_code);
	} else {
		fputs(",,,,,,,", f);
	}
	if (rec->type == RING_REC_NIC) {
		const struct ring_nic *n = &rec->u.nic;
		fprintf(f, "%" PRIu32 ",", n->ifindex);
		CSV_FIELD(f, n->ifname);
		fprintf(f, ",%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%" PRIu32
			",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",",
			n->carrier, n->tx_bytes, n->rx_bytes, n->tx_bps, n->rx_bps, n->tx_errors,
			n->rx_errors, n->tx_dropped, n->rx_dropped, n->speed_mbps, n->tx_packets,
			n->rx_packets);
	} else {
		fputs(",,,,,,,,,,,,,,", f);
	}
	if (rec->type == RING_REC_PREDICTION) {
		const struct ring_prediction *p = &rec->u.prediction;
		char tm[16], wm[16];
		fprintf(f, "%s,%" PRIu64 ",%" PRIu32 ",%s,", pred_ms(p->time_ms, tm, sizeof(tm)),
			p->bytes, p->downtime_ms, pred_ms(p->wait_ms, wm, sizeof(wm)));
	} else {
		fputs(",,,,", f);
	}
	if (rec->type == RING_REC_AGENT) {
		fprintf(f, "%" PRIu32 ",", rec->u.agent.pid);
		CSV_FIELD(f, rec->u.agent.text);
	} else if (rec->type == RING_REC_EVENT) {
		fputc(',', f);
		CSV_FIELD(f, rec->u.event.text);
	} else if (rec->type == RING_REC_ACTION) {
		fputc(',', f);
		CSV_FIELD(f, rec->u.action.reason);
	} else {
		fputc(',', f);
	}
	fputc('\n', f);
}

static struct json_object *record_json(const struct view_source *src, const struct ring_record *rec)
{
	struct json_object *o = json_object_new_object();
	char name[TEXT_ESCAPE_SIZE(RING_NAME_MAX)], uuid[37];
	uint64_t real = src && src->to_real_ns ? src->to_real_ns(src->ctx, rec->mono_ns) : 0;

	record_domain(src, rec->domain, name, uuid);
	jadd_u64(o, "time_ns", real);
	jadd_u64(o, "mono_ns", rec->mono_ns);
	jadd_str(o, "type", ring_rec_type_name(rec->type));
	if (rec->domain != RING_NO_DOMAIN) {
		jadd_u64(o, "domain_index", rec->domain);
		jadd_str(o, "domain", name);
		if (uuid[0])
			jadd_str(o, "uuid", uuid);
	}
	switch (rec->type) {
	case RING_REC_SAMPLE: {
		const struct ring_sample *s = &rec->u.sample;
		jadd_str(o, "direction", ring_direction_name(s->direction));
		jadd_str(o, "phase", ring_phase_name(s->phase));
		jadd_u64(o, "throttle_pct", s->throttle_pct);
		jadd_u64(o, "flags", s->flags);
		jadd_u64(o, "iteration", s->iteration);
		jadd_u64(o, "data_total_bytes", s->data_total_bytes);
		jadd_u64(o, "data_processed_bytes", s->data_processed_bytes);
		jadd_u64(o, "data_remaining_bytes", s->data_remaining_bytes);
		jadd_u64(o, "mem_total_bytes", s->mem_total_bytes);
		jadd_u64(o, "mem_processed_bytes", s->mem_processed_bytes);
		jadd_u64(o, "mem_remaining_bytes", s->mem_remaining_bytes);
		jadd_u64(o, "memory_bps", s->memory_bps);
		jadd_u64(o, "dirty_pages_per_s", s->dirty_pages_per_s);
		jadd_u64(o, "page_size", s->page_size);
		jadd_u64(o, "expected_downtime_ms", s->expected_downtime_ms);
		jadd_u64(o, "downtime_limit_ms", s->downtime_limit_ms);
		jadd_u64(o, "bandwidth_limit_mibs", s->bandwidth_limit_mibs);
		jadd_u64(o, "elapsed_ms", s->elapsed_ms);
		jadd_u64(o, "nic_tx_kibps", s->nic_tx_kibps);
		jadd_u64(o, "nic_rx_kibps", s->nic_rx_kibps);
		jadd_u64(o, "postcopy_requests", s->postcopy_requests);
		break;
	}
	case RING_REC_EVENT: {
		const struct ring_event *e = &rec->u.event;
		jadd_str(o, "source", e->source == RING_EVSRC_HOOK ? "hook" :
				      e->source == RING_EVSRC_LIBVIRT ? "libvirt" : "agent");
		jadd_i64(o, "code", e->code);
		jadd_i64(o, "detail1", e->detail1);
		jadd_i64(o, "detail2", e->detail2);
		JADD_FIELD(o, "op", e->op);
		JADD_FIELD(o, "subop", e->subop);
		JADD_FIELD(o, "text", e->text);
		if (e->source == RING_EVSRC_AGENT && e->code == RING_AGEV_PRIOR_DIRTY &&
		    e->detail1 >= 0 && e->detail2 >= 0) {
			jadd_u64(o, "prior_dirty_bps", (uint64_t)e->detail1 * 1024);
			jadd_u64(o, "prior_dirty_age_ms", (uint64_t)e->detail2);
		}
		if (e->source == RING_EVSRC_AGENT && e->code == RING_AGEV_PC_BROKEN &&
		    e->detail1 >= 0 && e->detail2 >= 0) {
			jadd_u64(o, "postcopy_ms", (uint64_t)e->detail1);
			jadd_u64(o, "break", (uint64_t)e->detail2);
		}
		if (e->source == RING_EVSRC_AGENT && e->code == RING_AGEV_PC_RECOVERING &&
		    e->detail1 >= 0 && e->detail2 >= 0) {
			jadd_u64(o, "attempt", (uint64_t)e->detail1);
			jadd_u64(o, "broken_ms", (uint64_t)e->detail2);
		}
		if (e->source == RING_EVSRC_AGENT && e->code == RING_AGEV_PC_RECOVERED &&
		    e->detail1 >= 0 && e->detail2 >= 0) {
			jadd_u64(o, "split_ms", (uint64_t)e->detail1);
			jadd_u64(o, "split_total_ms", (uint64_t)e->detail2);
		}
		if (e->source == RING_EVSRC_AGENT && e->code == RING_AGEV_OVERSHOOT &&
		    e->detail1 >= 0 && e->detail2 > 0) {
			jadd_u64(o, "downtime_ms", (uint64_t)e->detail1);
			jadd_u64(o, "downtime_limit_ms", (uint64_t)e->detail2);
		}
		break;
	}
	case RING_REC_ACTION:
		json_object_object_add(o, "action", action_json(&rec->u.action));
		break;
	case RING_REC_NIC:
		json_object_object_add(o, "nic", nic_json(&rec->u.nic));
		break;
	case RING_REC_AGENT:
		jadd_u64(o, "kind", rec->u.agent.kind);
		jadd_u64(o, "pid", rec->u.agent.pid);
		JADD_FIELD(o, "text", rec->u.agent.text);
		break;
	case RING_REC_PREDICTION:
		json_object_object_add(o, "prediction", prediction_json(&rec->u.prediction));
		break;
	default:
		break;
	}
	return o;
}

static void record_text(FILE *f, const struct view_source *src, const struct ring_record *rec)
{
	char name[TEXT_ESCAPE_SIZE(RING_NAME_MAX)], uuid[37], t[32], rem[16], what[64];
	char a[TEXT_ESCAPE_SIZE(sizeof(rec->u.agent.text))], b[TEXT_ESCAPE_SIZE(16)],
	     c[TEXT_ESCAPE_SIZE(16)];
	uint64_t real = src && src->to_real_ns ? src->to_real_ns(src->ctx, rec->mono_ns) : 0;

	record_domain(src, rec->domain, name, uuid);
	view_format_time(real, true, t, sizeof(t));
	fprintf(f, "%s.%03u %-6s ", t, (unsigned)(real / 1000000u % 1000u), ring_rec_type_name(rec->type));
	if (rec->domain != RING_NO_DOMAIN)
		fprintf(f, "%s ", name[0] ? name : "?");
	switch (rec->type) {
	case RING_REC_SAMPLE: {
		const struct ring_sample *s = &rec->u.sample;
		view_format_bytes(s->data_remaining_bytes, rem, sizeof(rem));
		fprintf(f, "%s %s pass %" PRIu32 " remaining %s dirty %.1fMiB/s bw %.1fMiB/s limit %" PRIu32
			"MiB/s downtime %" PRIu32 "/%" PRIu32 "ms throttle %u%% elapsed %" PRIu32 "ms\n",
			ring_direction_name(s->direction), ring_phase_name(s->phase), s->iteration, rem,
			(double)s->dirty_pages_per_s * (s->page_size ? s->page_size : 4096) / MIB,
			(double)s->memory_bps / MIB, s->bandwidth_limit_mibs, s->expected_downtime_ms,
			s->downtime_limit_ms, s->throttle_pct, s->elapsed_ms);
		break;
	}
	case RING_REC_EVENT:
		fprintf(f, "%s %s %s (code %" PRId32 " detail %" PRId32 "/%" PRId32 ")\n",
			ESC_FIELD(b, rec->u.event.op), ESC_FIELD(c, rec->u.event.subop),
			ESC_FIELD(a, rec->u.event.text), rec->u.event.code, rec->u.event.detail1,
			rec->u.event.detail2);
		break;
	case RING_REC_ACTION:
		view_action_format(&rec->u.action, what, sizeof(what));
		fprintf(f, "%s [%s] %s\n", what, ESC_FIELD(b, rec->u.action.policy),
			ESC_FIELD(a, rec->u.action.reason));
		break;
	case RING_REC_NIC: {
		const struct ring_nic *n = &rec->u.nic;
		fprintf(f, "%s %s tx %.1fMiB/s rx %.1fMiB/s errors %" PRIu32 "/%" PRIu32 " dropped %" PRIu32
			"/%" PRIu32 " speed %" PRIu32 "Mb/s\n", ESC_FIELD(b, n->ifname),
			n->carrier ? "up" : "down",
			(double)n->tx_bps / MIB, (double)n->rx_bps / MIB, n->tx_errors, n->rx_errors,
			n->tx_dropped, n->rx_dropped, n->speed_mbps);
		break;
	}
	case RING_REC_AGENT:
		fprintf(f, "%s pid %" PRIu32 " %s\n", agent_kind_name(rec->u.agent.kind),
			rec->u.agent.pid, ESC_FIELD(a, rec->u.agent.text));
		break;
	case RING_REC_PREDICTION: {
		const struct ring_prediction *p = &rec->u.prediction;
		char t1[24], t2[24];
		view_format_bytes(p->bytes, rem, sizeof(rem));
		fprintf(f, "%s (reason %u): finishes %s, %s to send, downtime %" PRIu32 "ms; waiting: "
			"finishes %s\n", ring_action_name(p->kind), p->reason_code,
			pred_words(p->time_ms, t1, sizeof(t1)), rem, p->downtime_ms,
			pred_words(p->wait_ms, t2, sizeof(t2)));
		break;
	}
	default:
		fputc('\n', f);
		break;
	}
}

void view_record_print(FILE *f, enum view_format fmt, const struct view_source *src,
		       const struct ring_record *rec)
{
	if (ring_record_validate(rec) < 0)
		return;
	switch (fmt) {
	case VIEW_FMT_CSV:
		record_csv(f, src, rec);
		break;
	case VIEW_FMT_JSON: {
		struct json_object *o = record_json(src, rec);
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		break;
	}
	default:
		record_text(f, src, rec);
		break;
	}
}

/* ---- plots ------------------------------------------------------------------------------------ */

void view_plot(char *grid, int rows, int cols, const double *a, const double *b, int n,
	       char ca, char cb, double *ret_max)
{
	view_plot_scaled(grid, rows, cols, a, b, n, ca, cb, false, NULL, ret_max);
}

/* Where v falls on the plot's scale, 0 (bottom) to 1 (top); < 0 not drawn. */
static double plot_pos(double v, double lo, double hi, bool log)
{
	if (!(v > 0))
		return -1;
	if (!log)
		return v / hi;
	if (hi <= lo)
		return 1;
	return (log10(v) - log10(lo)) / (log10(hi) - log10(lo));
}

void view_plot_scaled(char *grid, int rows, int cols, const double *a, const double *b, int n,
		      char ca, char cb, bool log, double *ret_lo, double *ret_hi)
{
	double max = 0, lo = 0;

	memset(grid, ' ', (size_t)rows * (size_t)cols);
	/* the scale of what is drawn: the newest cols points */
	for (int i = n > cols && cols > 0 ? n - cols : 0; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			const double *sr = k ? b : a;
			if (!sr || !(sr[i] > 0))
				continue;
			if (sr[i] > max)
				max = sr[i];
			if (log && (lo == 0 || sr[i] < lo))
				lo = sr[i];
		}
	}
	/* a decade at least: values a few percent apart read as the plateau they are */
	if (log && lo > max / 10)
		lo = max / 10;
	if (ret_hi)
		*ret_hi = max;
	if (ret_lo)
		*ret_lo = lo;
	if (rows <= 0 || cols <= 0 || n <= 0 || max <= 0)
		return;
	/* newest point at the right edge; one column per point */
	int first = n > cols ? n - cols : 0;
	for (int i = first; i < n; i++) {
		int x = i - first + (n - first < cols ? cols - (n - first) : 0);
		for (int k = 0; k < 2; k++) {
			const double *s = k ? b : a;
			double pos = s ? plot_pos(s[i], lo, max, log) : -1;
			if (pos < 0)
				continue;
			int y = (int)lround(pos * (rows - 1));
			if (y < 0)
				y = 0;
			if (y > rows - 1)
				y = rows - 1;
			char *cell = &grid[(rows - 1 - y) * cols + x];
			char mark = k ? cb : ca;
			*cell = (*cell != ' ' && *cell != mark) ? 'X' : mark;
		}
	}
}

void view_time_axis(char *buf, size_t len, int cols, const uint32_t *elapsed_ms, int n)
{
	int first = n > cols ? n - cols : 0, shift = n - first < cols ? cols - (n - first) : 0;
	int next_free = cols;           /* labels go right to left, two columns apart */

	if (len == 0)
		return;
	if (cols < 0 || (size_t)cols >= len)
		cols = (int)len - 1;
	memset(buf, ' ', (size_t)cols);
	buf[cols] = '\0';
	for (int i = n - 1; i >= first; i--) {
		char t[16];
		int x = i - first + shift, w;

		if (elapsed_ms[i] == VIEW_NO_LABEL)
			continue;
		view_format_duration(elapsed_ms[i], t, sizeof(t));
		w = (int)strlen(t);
		if (x + w + 2 > next_free && !(x + w <= cols && next_free == cols))
			continue;
		memcpy(buf + x, t, (size_t)w);
		next_free = x;
	}
}
