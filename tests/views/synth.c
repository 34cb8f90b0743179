/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/views/synth.h"

#define MIB 1048576ull

static uint32_t rnd(uint64_t *s)
{
	/* xorshift64*: deterministic and fast enough to produce millions of records */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * UINT64_C(2685821657736338717)) >> 32);
}

void synth_uuid(uint32_t i, uint8_t ret[16])
{
	for (int k = 0; k < 16; k++)
		ret[k] = (uint8_t)(0x5a ^ (k * 17) ^ (i >> ((k % 4) * 8)));
	ret[6] = (uint8_t)(0x40 | (ret[6] & 0x0f));
}

size_t synth_count(const struct synth_opts *o)
{
	size_t per_step = o->migrations + 1;
	size_t n = (size_t)o->steps * per_step;
	for (uint32_t s = 0; s < o->steps; s++)
		for (uint32_t m = 0; m < o->migrations; m++)
			n += ((s + m) % 7 == 6) + ((s + m) % 11 == 10);
	return n;
}

size_t synth_records(const struct synth_opts *o, uint32_t dom_base, struct ring_record *out,
		     size_t cap)
{
	uint64_t st = (uint64_t)o->seed * 2654435761u + 88172645463325252ull;
	uint64_t tx_total = 0;
	size_t n = 0;

	for (uint32_t s = 0; s < o->steps; s++) {
		uint64_t t = o->start_mono_ns + (uint64_t)s * o->step_ns;
		uint64_t nic_bps = 0;
		for (uint32_t m = 0; m < o->migrations && n < cap; m++) {
			struct ring_record *r = &out[n++];
			struct ring_sample *x = &r->u.sample;
			uint64_t total = (256ull << (m % 6)) * MIB;
			/* Even migrations never converge (hot set re-dirtied faster than the link),
			 * odd ones shrink each pass. */
			uint32_t pass = 1 + s / 5;
			uint64_t hot = total * 3 / 8;
			uint64_t remaining = (m % 2 == 0) ? hot - (s % 5) * hot / 10 + (rnd(&st) % (4 * MIB))
					   : (pass > 8 ? total / 100 : total / (pass * 2));
			memset(r, 0, sizeof(*r));
			r->type = RING_REC_SAMPLE;
			r->size = sizeof(*x);
			r->domain = dom_base + m;
			r->mono_ns = t + (uint64_t)m * 1000003u + rnd(&st) % 1000;
			x->direction = (m % 5 == 4) ? RING_DIR_IN : RING_DIR_OUT;
			x->phase = s + 1 == o->steps && m % 4 == 1 ? RING_PHASE_DONE :
				   s + 1 == o->steps && m % 4 == 3 ? RING_PHASE_FAILED : RING_PHASE_PRECOPY;
			x->throttle_pct = (uint8_t)(m % 3 == 0 ? (s / 10 * 10) % 100 : 0);
			x->flags = (m % 3 == 2) ? RING_SAMPLE_F_POSTCOPY_FLAG : 0;
			x->iteration = pass;
			x->data_total_bytes = total;
			x->data_remaining_bytes = remaining;
			x->data_processed_bytes = (uint64_t)(s + 1) * (20 + m % 7) * MIB + rnd(&st) % 65536;
			x->mem_total_bytes = total;
			x->mem_remaining_bytes = remaining;
			x->mem_processed_bytes = x->data_processed_bytes - x->data_processed_bytes / 64;
			x->memory_bps = (20 + m % 7) * MIB + rnd(&st) % (2 * MIB);
			x->dirty_pages_per_s = 5000 + rnd(&st) % 400 + (m % 2 ? 0 : 5000);
			x->page_size = 4096;
			x->expected_downtime_ms = (uint32_t)(remaining * 1000 / (x->memory_bps ? x->memory_bps : 1));
			x->downtime_limit_ms = 300 + 100 * (s / 7);
			x->bandwidth_limit_mibs = (m % 4 == 0) ? 0 : 20 + m % 7;
			x->elapsed_ms = s * (uint32_t)(o->step_ns / 1000000u) + m;
			x->nic_tx_kibps = (uint32_t)(x->memory_bps / 1024 + rnd(&st) % 512);
			x->nic_rx_kibps = 40 + rnd(&st) % 16;
			x->postcopy_requests = 0;
			nic_bps += x->memory_bps;

			if ((s + m) % 7 == 6 && n < cap) {
				struct ring_record *a = &out[n++];
				memset(a, 0, sizeof(*a));
				a->type = RING_REC_ACTION;
				a->size = sizeof(a->u.action);
				a->domain = dom_base + m;
				a->mono_ns = r->mono_ns + 1000;
				a->u.action.kind = RING_ACT_SET_DOWNTIME;
				a->u.action.reason_code = 3;
				a->u.action.result = RING_RES_APPLIED;
				a->u.action.old_value = x->downtime_limit_ms;
				a->u.action.new_value = x->downtime_limit_ms + 100;
				snprintf(a->u.action.policy, sizeof(a->u.action.policy), "adaptive");
				snprintf(a->u.action.reason, sizeof(a->u.action.reason),
					 "stalled %u passes, need %ums", pass, x->expected_downtime_ms);
			}
			if ((s + m) % 11 == 10 && n < cap) {
				struct ring_record *e = &out[n++];
				memset(e, 0, sizeof(*e));
				e->type = RING_REC_EVENT;
				e->size = sizeof(e->u.event);
				e->domain = dom_base + m;
				e->mono_ns = r->mono_ns + 2000;
				e->u.event.source = RING_EVSRC_LIBVIRT;
				e->u.event.code = 22;
				e->u.event.detail1 = (int32_t)pass;
				snprintf(e->u.event.op, sizeof(e->u.event.op), "iteration");
				snprintf(e->u.event.subop, sizeof(e->u.event.subop), "pass");
				snprintf(e->u.event.text, sizeof(e->u.event.text), "pass %u", pass);
			}
		}
		if (n < cap) {
			struct ring_record *r = &out[n++];
			struct ring_nic *c = &r->u.nic;
			memset(r, 0, sizeof(*r));
			r->type = RING_REC_NIC;
			r->size = sizeof(*c);
			r->domain = RING_NO_DOMAIN;
			r->mono_ns = t + 500000;
			c->ifindex = 3;
			snprintf(c->ifname, sizeof(c->ifname), "mig0");
			c->carrier = 1;
			tx_total += nic_bps * (o->step_ns / 1000000u) / 1000;
			c->tx_bytes = tx_total;
			c->rx_bytes = tx_total / 50;
			c->tx_bps = nic_bps + rnd(&st) % 100000;
			c->rx_bps = nic_bps / 50;
			c->tx_packets = tx_total / 1448;
			c->rx_packets = tx_total / 1448 / 2;
			c->speed_mbps = 10000;
		}
	}
	return n;
}

long synth_fill(struct ring_writer *w, const struct synth_opts *o)
{
	size_t cap = synth_count(o);
	struct ring_record *recs = calloc(cap ? cap : 1, sizeof(*recs));
	uint32_t base = UINT32_MAX;
	long k = 0;

	if (!recs)
		return -ENOMEM;
	for (uint32_t m = 0; m < o->migrations; m++) {
		char name[32];
		uint8_t uuid[16];
		snprintf(name, sizeof(name), "vm-%03u", m);
		synth_uuid(m, uuid);
		uint32_t idx = ring_domain_index(w, uuid, name);
		if (idx == RING_NO_DOMAIN) {
			free(recs);
			return -ENOSPC;
		}
		if (m == 0)
			base = idx;
		else if (idx != base + m) {   /* the generator numbers domains consecutively */
			free(recs);
			return -EINVAL;
		}
	}
	size_t n = synth_records(o, base == UINT32_MAX ? 0 : base, recs, cap);
	for (size_t i = 0; i < n; i++) {
		int r = ring_append_at(w, recs[i].type, recs[i].domain, recs[i].mono_ns, &recs[i].u,
				       recs[i].size);
		if (r < 0) {
			free(recs);
			return r;
		}
		k++;
	}
	free(recs);
	return k;
}

void synth_ring_name(char *buf, size_t len)
{
	static unsigned counter;
	snprintf(buf, len, "/migtune-t-%d-%u", (int)getpid(), counter++);
}

pid_t synth_writer_child(const char *name, void (*fill)(struct ring_writer *w, void *arg), void *arg)
{
	struct ring_create_opts o = { .name = name, .slot_count = 1024, .domain_slots = 16,
				      .gid = (gid_t)-1, .heartbeat_interval_ms = 1000 };
	int go[2];
	char c;

	if (pipe(go) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		struct ring_writer *w;
		struct timespec ts = { 0, 100000000 };
		close(go[0]);
		if (ring_writer_open(&o, &w) < 0)
			_exit(1);
		if (fill)
			fill(w, arg);
		if (write(go[1], "x", 1) != 1)
			_exit(1);
		for (;;) {          /* an agent at work until killed */
			ring_heartbeat(w);
			nanosleep(&ts, NULL);
		}
	}
	close(go[1]);
	if (pid > 0 && read(go[0], &c, 1) != 1)
		pid = -1;   /* the child could not open the ring; it has exited */
	close(go[0]);
	return pid;
}
