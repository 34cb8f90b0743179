/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A simulated run as migtuned would record it: see sim_record.h.  The mapping from the
 * simulator's events to records follows the agent's (docs/agent.md): one sample per sampling
 * turn, an action with the prediction right after it, "migration found" on the first sample, and
 * at the end a sample flagged F_END (with the final statistics, F_FINAL, when there are some)
 * then "migration completed|aborted|failed|unknown".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "policy/ring_record.h"
#include "shm/dump.h"
#include "shm/ring.h"
#include "sim_record.h"

#define NS_PER_MS UINT64_C(1000000)
#define HEARTBEAT_NS (100 * NS_PER_MS)

struct sim_recorder {
	struct sim_record_opts o;
	struct ring_writer *w;
	uint64_t base_mono_ns;           /* the scenario's t = 0 on the writer's clock */
	uint64_t last_beat_ns;
	uint64_t last_t_ms;              /* the last tick seen: the run's end */
	bool stopped;
	uint32_t dom[SIM_MAX_VMS];
	bool found[SIM_MAX_VMS];
	struct ring_sample last[SIM_MAX_VMS];   /* each guest's last sample */
	/* the NIC's counters, from the samples' rates */
	uint64_t nic_t_ms;
	double nic_tx_bytes;
	bool nic_seen;
	/* the dump's records, kept until the end */
	struct ring_record *recs;
	size_t n, cap;
	bool dump_full;
	size_t count;
	struct dump_domain doms[SIM_MAX_VMS];
};

/* Copies what fits of src into a fixed-size field, NUL-terminated. */
static void str_cut(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint64_t mono_of(const struct sim_recorder *r, uint64_t t_ms)
{
	return r->base_mono_ns + (r->o.speed ? t_ms * NS_PER_MS / r->o.speed : t_ms * NS_PER_MS);
}

static void emit(struct sim_recorder *r, uint16_t type, uint32_t domain, uint64_t t_ms,
		 const void *payload, size_t len)
{
	uint64_t mono = mono_of(r, t_ms);

	if (r->stopped)
		return;
	if (r->w && ring_append_at(r->w, type, domain, mono, payload, len) == 0)
		r->count++;
	if (!r->o.dump)
		return;
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 4096;
		struct ring_record *nr;

		if (ncap > SIM_RECORD_MAX_RECORDS || !(nr = realloc(r->recs, ncap * sizeof(*nr)))) {
			r->dump_full = true;
			return;
		}
		r->recs = nr;
		r->cap = ncap;
	}
	struct ring_record *rec = &r->recs[r->n++];
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->size = (uint16_t)len;
	rec->domain = domain;
	rec->mono_ns = mono;
	memcpy(&rec->u, payload, len);
	if (!r->w)
		r->count++;
}

static void emit_agent(struct sim_recorder *r, uint8_t kind, uint64_t t_ms, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void emit_agent(struct sim_recorder *r, uint8_t kind, uint64_t t_ms, const char *fmt, ...)
{
	struct ring_agent a;
	va_list ap;

	memset(&a, 0, sizeof(a));
	a.kind = kind;
	a.pid = (uint32_t)getpid();
	va_start(ap, fmt);
	vsnprintf(a.text, sizeof(a.text), fmt, ap);
	va_end(ap);
	emit(r, RING_REC_AGENT, RING_NO_DOMAIN, t_ms, &a, sizeof(a));
}

/* The agent's own event about a migration: "migration SUBOP". */
static void emit_migration_event(struct sim_recorder *r, unsigned vm, uint64_t t_ms,
				 const char *subop, int detail1, const char *text)
{
	struct ring_event e;

	memset(&e, 0, sizeof(e));
	e.source = RING_EVSRC_AGENT;
	e.code = RING_AGEV_GENERAL;
	e.detail1 = detail1;
	snprintf(e.op, sizeof(e.op), "migration");
	str_cut(e.subop, sizeof(e.subop), subop);
	str_cut(e.text, sizeof(e.text), text);
	emit(r, RING_REC_EVENT, r->dom[vm], t_ms, &e, sizeof(e));
}

static uint32_t sat32(uint64_t x)
{
	return x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
}

/* A stable identity per scenario and guest: FNV-1a of both, as a version-4-shaped UUID. */
static void sim_uuid(const char *scenario, const char *vm, uint8_t ret[16])
{
	uint64_t h[2] = { UINT64_C(0xcbf29ce484222325), UINT64_C(0x84222325cbf29ce4) };

	for (int k = 0; k < 2; k++) {
		for (const char *s = scenario; *s; s++)
			h[k] = (h[k] ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
		h[k] = (h[k] ^ '/') * UINT64_C(0x100000001b3);
		for (const char *s = vm; *s; s++)
			h[k] = (h[k] ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
	}
	memcpy(ret, h, 16);
	ret[6] = (uint8_t)((ret[6] & 0x0f) | 0x40);
	ret[8] = (uint8_t)((ret[8] & 0x3f) | 0x80);
}

/* ---- the observer ---------------------------------------------------------------------------- */

static void sleep_until_mono(uint64_t mono)
{
	struct timespec ts = { (time_t)(mono / 1000000000u), (long)(mono % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void on_tick(void *ctx, uint64_t t_ms)
{
	struct sim_recorder *r = ctx;
	uint64_t now;

	if (r->stopped)
		return;
	r->last_t_ms = t_ms;
	if (r->o.stop && *r->o.stop) {
		emit_agent(r, RING_AGENT_STOP, t_ms, "migsim: interrupted at %.1f s of the scenario",
			   t_ms / 1000.0);
		r->stopped = true;
		if (r->w) {
			ring_writer_close(r->w, false);
			r->w = NULL;
		}
		return;
	}
	if (!r->w || !r->o.speed)
		return;
	/* paced: this tick's records are written when its time comes, with heartbeats meanwhile */
	for (;;) {
		uint64_t due = mono_of(r, t_ms), next;

		now = ring_now_mono_ns();
		if (now - r->last_beat_ns >= HEARTBEAT_NS) {
			ring_heartbeat(r->w);
			r->last_beat_ns = now;
		}
		if (now >= due || (r->o.stop && *r->o.stop))
			return;
		next = r->last_beat_ns + HEARTBEAT_NS;
		sleep_until_mono(due < next ? due : next);
	}
}

static void on_sample(void *ctx, unsigned vm, uint64_t t_ms, const struct mig_sample *s)
{
	struct sim_recorder *r = ctx;
	const struct sim_vm *cfg = &r->o.scn->vms[vm];
	struct ring_sample rs;

	if (r->stopped || vm >= SIM_MAX_VMS)
		return;
	if (!r->found[vm]) {
		r->found[vm] = true;
		emit_migration_event(r, vm, t_ms, "found", RING_DIR_OUT, "outgoing job running");
	}
	/* the NIC, once per sampling instant: what the agent samples on its own */
	if (!r->nic_seen || r->nic_t_ms != t_ms) {
		struct ring_nic n;

		if (r->nic_seen && t_ms > r->nic_t_ms)
			r->nic_tx_bytes += (double)s->nic_tx_bps * (double)(t_ms - r->nic_t_ms) / 1000.0;
		r->nic_seen = true;
		r->nic_t_ms = t_ms;
		memset(&n, 0, sizeof(n));
		n.ifindex = 1;
		snprintf(n.ifname, sizeof(n.ifname), "sim0");
		n.carrier = s->nic_carrier == MIG_NIC_CARRIER_DOWN ? 0 : 1;
		n.tx_bytes = (uint64_t)r->nic_tx_bytes;
		n.tx_bps = s->nic_tx_bps;
		n.rx_bps = s->nic_rx_bps;
		n.tx_errors = s->nic_errors_delta;
		n.speed_mbps = sat32(s->nic_capacity_bps * 8 / 1000000);
		emit(r, RING_REC_NIC, RING_NO_DOMAIN, t_ms, &n, sizeof(n));
	}
	memset(&rs, 0, sizeof(rs));
	rs.direction = RING_DIR_OUT;
	switch (s->phase) {
	case MIG_PHASE_SETUP: rs.phase = RING_PHASE_SETUP; break;
	case MIG_PHASE_PRECOPY: rs.phase = RING_PHASE_PRECOPY; break;
	case MIG_PHASE_POSTCOPY: rs.phase = RING_PHASE_POSTCOPY; break;
	case MIG_PHASE_SUSPENDED: rs.phase = RING_PHASE_SUSPENDED; break;
	case MIG_PHASE_DONE: rs.phase = RING_PHASE_DONE; break;
	case MIG_PHASE_POSTCOPY_BROKEN:
		rs.phase = RING_PHASE_POSTCOPY;
		rs.flags |= RING_SAMPLE_F_PC_BROKEN;
		break;
	case MIG_PHASE_POSTCOPY_RECOVERING:
		rs.phase = RING_PHASE_POSTCOPY;
		rs.flags |= RING_SAMPLE_F_PC_RECOVERING;
		break;
	default: rs.phase = RING_PHASE_UNKNOWN; break;
	}
	if (cfg->postcopy_flag)
		rs.flags |= RING_SAMPLE_F_POSTCOPY_FLAG;
	rs.throttle_pct = s->throttle_pct;
	rs.iteration = s->iteration;
	rs.data_total_bytes = s->data_total_bytes;
	rs.data_processed_bytes = s->data_processed_bytes;
	rs.data_remaining_bytes = s->data_remaining_bytes;
	rs.mem_total_bytes = s->mem_total_bytes;
	rs.mem_processed_bytes = s->mem_processed_bytes;
	rs.mem_remaining_bytes = s->mem_remaining_bytes;
	rs.memory_bps = s->memory_bps;
	rs.dirty_pages_per_s = sat32(s->dirty_pages_per_s);
	rs.page_size = s->page_size;
	rs.expected_downtime_ms = s->expected_downtime_ms;
	rs.downtime_limit_ms = s->downtime_limit_ms;
	/* libvirt speaks whole MiB/s: the actuator rounds up */
	rs.bandwidth_limit_mibs = sat32((s->bandwidth_limit_bps + (1u << 20) - 1) >> 20);
	rs.elapsed_ms = sat32(s->t_ms);
	rs.nic_tx_kibps = sat32(s->nic_tx_bps / 1024);
	rs.nic_rx_kibps = sat32(s->nic_rx_bps / 1024);
	r->last[vm] = rs;
	emit(r, RING_REC_SAMPLE, r->dom[vm], t_ms, &rs, sizeof(rs));
}

static void on_action(void *ctx, unsigned vm, uint64_t t_ms, const struct policy_action *a,
		      bool applied)
{
	struct sim_recorder *r = ctx;
	struct ring_action ra;
	struct ring_prediction rp;

	if (r->stopped || vm >= SIM_MAX_VMS)
		return;
	memset(&ra, 0, sizeof(ra));
	ra.kind = a->kind;
	ra.reason_code = a->reason;
	/* the simulator applies every action, as an agent in active mode; libvirt's refusals
	 * (post-copy without its flag, ...) are failures */
	ra.result = applied ? RING_RES_APPLIED : RING_RES_FAILED;
	ra.error = applied ? 0 : -EINVAL;
	ra.old_value = policy_ring_value(a->kind, a->old_value);
	ra.new_value = policy_ring_value(a->kind, a->value);
	/* what is in force from now on, for the final statistics */
	if (applied && a->kind == POLICY_ACT_SET_DOWNTIME && a->value > 0)
		r->last[vm].downtime_limit_ms = sat32((uint64_t)a->value);
	if (applied && a->kind == POLICY_ACT_SET_BANDWIDTH && a->value >= 0)
		r->last[vm].bandwidth_limit_mibs = sat32((uint64_t)ra.new_value);
	str_cut(ra.policy, sizeof(ra.policy), r->o.policy);
	str_cut(ra.reason, sizeof(ra.reason), a->text);
	emit(r, RING_REC_ACTION, r->dom[vm], t_ms, &ra, sizeof(ra));
	if (policy_ring_prediction(a, &rp))
		emit(r, RING_REC_PREDICTION, r->dom[vm], t_ms, &rp, sizeof(rp));
}

static void on_end(void *ctx, unsigned vm, uint64_t t_ms, const struct sim_vm_result *res)
{
	struct sim_recorder *r = ctx;
	enum sim_outcome o = (enum sim_outcome)res->outcome;
	const char *subop;
	char text[64];
	uint8_t phase;

	if (r->stopped || vm >= SIM_MAX_VMS || !r->found[vm])
		return;
	if (o == SIM_NOT_CONVERGED || o == SIM_RUNNING) {
		/* the scenario ended first: nobody learns how the migration does.  Its last figures
		 * end it, as the agent's do for an outcome it could not learn */
		struct ring_sample es = r->last[vm];
		es.phase = RING_PHASE_UNKNOWN;
		es.flags = (uint8_t)((es.flags & RING_SAMPLE_F_POSTCOPY_FLAG) | RING_SAMPLE_F_END);
		emit(r, RING_REC_SAMPLE, r->dom[vm], t_ms, &es, sizeof(es));
		snprintf(text, sizeof(text), "still running when the scenario ended at %.0f s",
			 t_ms / 1000.0);
		emit_migration_event(r, vm, t_ms, "unknown", RING_PHASE_UNKNOWN, text);
		return;
	}
	if (sim_outcome_completed(o)) {
		subop = "completed";
		phase = RING_PHASE_DONE;
	} else {
		subop = o == SIM_ABORTED ? "aborted" : "failed";
		phase = RING_PHASE_FAILED;
	}
	/* the final statistics, as libvirt's JOB_COMPLETED gives them: the real downtime, the
	 * limits of the last sample */
	struct ring_sample fs = r->last[vm];
	fs.phase = phase;
	fs.flags = (uint8_t)(RING_SAMPLE_F_FINAL | RING_SAMPLE_F_END |
			     (fs.flags & RING_SAMPLE_F_POSTCOPY_FLAG));
	fs.iteration = res->passes;
	fs.data_processed_bytes = fs.mem_processed_bytes = res->bytes_sent;
	if (phase == RING_PHASE_DONE)
		fs.data_remaining_bytes = fs.mem_remaining_bytes = 0;
	fs.memory_bps = fs.dirty_pages_per_s = 0;
	fs.expected_downtime_ms = sat32(res->downtime_ms);
	fs.elapsed_ms = sat32(res->total_ms);
	emit(r, RING_REC_SAMPLE, r->dom[vm], t_ms, &fs, sizeof(fs));
	snprintf(text, sizeof(text), "%s after %.1f s, downtime %" PRIu64 " ms",
		 sim_outcome_name(o), res->total_ms / 1000.0, res->downtime_ms);
	emit_migration_event(r, vm, t_ms, subop, phase, text);
}

const struct sim_observer sim_recorder_observer = {
	.tick = on_tick, .sample = on_sample, .action = on_action, .end = on_end,
};

/* ---- opening and closing --------------------------------------------------------------------- */

int sim_recorder_open(const struct sim_record_opts *o, struct sim_recorder **ret, char *err,
		      size_t errlen)
{
	struct sim_recorder *r = calloc(1, sizeof(*r));
	struct ring_create_opts co = { .name = o->ring, .gid = (gid_t)-1, .slot_count = 65536,
				       .lanes = 1, .domain_slots = 64, .heartbeat_interval_ms = 1000 };
	uint64_t now = ring_now_mono_ns(), span = o->scn->duration_ms * NS_PER_MS;
	int rc;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->o = *o;
	if (o->speed > SIM_RECORD_MAX_SPEED) {
		snprintf(err, errlen, "--speed %u: at most %u", o->speed, SIM_RECORD_MAX_SPEED);
		free(r);
		return -EINVAL;
	}
	/* paced: the run starts now; unpaced, it ends by now (a second after boot at the earliest) */
	r->base_mono_ns = o->speed && o->ring ? now : now > span + 1000000000u ? now - span :
			  1000000000u;
	if (!o->ring)
		r->o.speed = 0;
	if (o->ring) {
		if (strcmp(o->ring, RING_DEFAULT_NAME) == 0) {
			snprintf(err, errlen, "--ring %s is the agent's ring: name another one (for "
				 "example /migtune-sim)", o->ring);
			free(r);
			return -EINVAL;
		}
		co.info.mode = RING_MODE_ACTIVE;
		co.info.flags = RING_WRITER_F_SIMULATED;
		co.info.sim_speed = (uint16_t)r->o.speed;
		str_cut(co.info.policy, sizeof(co.info.policy), o->policy);
		/* a simulation is a world of its own: a ring left by an earlier one is replaced,
		 * not continued (a live writer's is never touched: -EBUSY) */
		co.keep_stale = true;
		rc = ring_writer_open(&co, &r->w);
		if (rc == -EEXIST && shm_unlink(o->ring) == 0) {
			co.keep_stale = false;
			rc = ring_writer_open(&co, &r->w);
		}
		if (rc < 0) {
			snprintf(err, errlen, "cannot open ring %s: %s%s", o->ring, strerror(-rc),
				 rc == -EBUSY ? " (another program writes it: name another ring)" :
				 rc == -EINVAL ? " (a name is one '/' then up to 62 characters, no other "
						 "'/')" :
				 rc == -EPERM ? " (another user's segment holds that name)" :
				 rc == -ENOSPC ? " (/dev/shm is full)" : "");
			free(r);
			return rc;
		}
		r->last_beat_ns = now;
	}
	for (unsigned i = 0; i < o->scn->nvms && i < SIM_MAX_VMS; i++) {
		struct dump_domain *d = &r->doms[i];

		sim_uuid(o->scn->name, o->scn->vms[i].name, d->uuid);
		str_cut(d->name, sizeof(d->name), o->scn->vms[i].name);
		d->index = i;
		r->dom[i] = r->w ? ring_domain_index(r->w, d->uuid, d->name) : i;
		d->index = r->dom[i];
	}
	if (r->o.speed)
		emit_agent(r, RING_AGENT_START, 0, "migsim %s: scenario %.24s, policy %.16s, x%u "
			   "(simulated, not a host)", MIGTUNE_VERSION, o->scn->name, o->policy,
			   r->o.speed);
	else
		emit_agent(r, RING_AGENT_START, 0, "migsim %s: scenario %.24s, policy %.16s "
			   "(simulated, not a host)", MIGTUNE_VERSION, o->scn->name, o->policy);
	*ret = r;
	return 0;
}

bool sim_recorder_stopped(const struct sim_recorder *r)
{
	return r->stopped;
}

static int write_dump(struct sim_recorder *r, char *err, size_t errlen)
{
	struct dump_meta meta;
	char tmp[4096];
	int fd, rc;

	if (r->dump_full) {
		snprintf(err, errlen, "%s: more than %u records: shorten the scenario", r->o.dump,
			 SIM_RECORD_MAX_RECORDS);
		return -EFBIG;
	}
	memset(&meta, 0, sizeof(meta));
	if (gethostname(meta.hostname, sizeof(meta.hostname) - 1) < 0)
		snprintf(meta.hostname, sizeof(meta.hostname), "unknown");
	meta.writer_pid = (uint32_t)getpid();
	meta.writer_state = RING_WRITER_STOPPED;
	meta.writer_info.mode = RING_MODE_ACTIVE;
	meta.writer_info.flags = RING_WRITER_F_SIMULATED;
	meta.writer_info.sim_speed = (uint16_t)r->o.speed;
	str_cut(meta.writer_info.policy, sizeof(meta.writer_info.policy), r->o.policy);
	meta.ring_abi_major = RING_ABI_MAJOR;
	meta.ring_abi_minor = RING_ABI_MINOR;
	meta.map_mono_ns = ring_now_mono_ns();
	meta.map_real_ns = ring_now_real_ns();
	meta.domains = r->doms;
	meta.n_domains = r->o.scn->nvms;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%d", r->o.dump, (int)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: name too long", r->o.dump);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(-rc));
		return rc;
	}
	rc = dump_encode_fd(fd, &meta, r->recs, r->n, NULL);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, r->o.dump) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", r->o.dump, strerror(-rc));
	}
	return rc;
}

int sim_recorder_close(struct sim_recorder *r, size_t *ret_records, char *err, size_t errlen)
{
	int rc = 0;

	if (!r->stopped)
		emit_agent(r, RING_AGENT_STOP, r->last_t_ms, "migsim: scenario %.40s over after "
			   "%.1f s", r->o.scn->name, r->last_t_ms / 1000.0);
	if (ret_records)
		*ret_records = r->count;
	if (r->w)
		ring_writer_close(r->w, false);
	r->w = NULL;
	if (r->o.dump)
		rc = write_dump(r, err, errlen);
	free(r->recs);
	free(r);
	return rc;
}
