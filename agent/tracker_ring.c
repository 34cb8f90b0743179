/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Publishing to the ring: the records the tracker writes for a domain (events of every source,
 * job-stats samples) and for the agent itself, each counted for the status reply and reflected in
 * the domain's status.  The policy's actions are recorded by the actuator (agent/actuator.c) or,
 * without one, by the seam (tracker_advice.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/strutil.h"
#include "agent/tracker_impl.h"

void tracker_record_event(struct tracker *t, struct tracker_domain *d, int source, int code,
			  int detail1, int detail2, const char *op, const char *subop,
			  const char *text, uint64_t mono_ns)
{
	struct ring_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.source = (uint8_t)source;
	ev.code = code;
	ev.detail1 = detail1;
	ev.detail2 = detail2;
	str_copy(ev.op, sizeof(ev.op), op ? op : "");
	str_copy(ev.subop, sizeof(ev.subop), subop ? subop : "");
	str_copy(ev.text, sizeof(ev.text), text ? text : "");
	ring_append_at(t->ring, RING_REC_EVENT, d ? d->ring_index : RING_NO_DOMAIN, mono_ns, &ev,
		       sizeof(ev));
	tracker_count(&t->n_events);
	if (d) {
		d->cur.events++;
		d->cur.updated_mono_ns = mono_ns;
		snprintf(d->cur.last_event, sizeof(d->cur.last_event), "%s %s", ev.op, ev.subop);
	}
}

void tracker_agent_record(struct tracker *t, int kind, const char *fmt, ...)
{
	struct ring_agent a;
	va_list ap;

	memset(&a, 0, sizeof(a));
	a.kind = (uint8_t)kind;
	a.pid = (uint32_t)getpid();
	va_start(ap, fmt);
	vsnprintf(a.text, sizeof(a.text), fmt, ap);
	va_end(ap);
	ring_append(t->ring, RING_REC_AGENT, RING_NO_DOMAIN, &a, sizeof(a));
}

void tracker_record_sample(struct tracker *t, struct tracker_domain *d,
			   const struct ring_sample *s, uint64_t mono_ns)
{
	ring_append_at(t->ring, RING_REC_SAMPLE, d->ring_index, mono_ns, s, sizeof(*s));
	tracker_count(&t->n_samples);
	d->cur.samples++;
	d->cur.last = *s;
	d->cur.updated_mono_ns = mono_ns;
}

