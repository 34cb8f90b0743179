/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * event.c — from libvirt's arguments and the parsed XML to the message the agent receives.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"

int hook_parse_args(int argc, char *const argv[], struct hook_args *ret)
{
	if (argc != 5 || !argv || !ret)
		return -EINVAL;
	for (int i = 1; i < 5; i++)
		if (!argv[i])
			return -EINVAL;
	if (argv[2][0] == '\0' || argv[3][0] == '\0')
		return -EINVAL;
	ret->domain = argv[1];
	ret->op = argv[2];
	ret->subop = argv[3];
	ret->extra = argv[4];
	return 0;
}

/* Copies src into dst[max + 1]; true when it had to cut. */
static bool copy_bounded(char *dst, size_t max, const char *src)
{
	size_t n = strlen(src);
	bool cut = n > max;
	if (cut)
		n = max;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return cut;
}

int64_t hook_now_ns(int clock_id)
{
	struct timespec ts;
	if (clock_gettime(clock_id, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int hook_build_event(const struct hook_args *args, const struct domxml_domain *dom,
		     enum hook_xml_state xml_state, struct wire_event *ret)
{
	struct wire_event ev;

	if (!args || !ret)
		return -EINVAL;
	if (strlen(args->op) > WIRE_OP_MAX || strlen(args->subop) > WIRE_SUBOP_MAX)
		return -EINVAL;

	memset(&ev, 0, sizeof(ev));
	ev.hook_pid = (uint32_t)getpid();
	ev.realtime_ns = hook_now_ns(CLOCK_REALTIME);
	ev.monotonic_ns = hook_now_ns(CLOCK_MONOTONIC);
	strcpy(ev.op, args->op);
	strcpy(ev.subop, args->subop);
	if (copy_bounded(ev.extra, WIRE_EXTRA_MAX, args->extra))
		ev.flags |= WIRE_EV_EXTRA_TRUNCATED;

	/* libvirt's argument is the authority on the name; the XML's is a fallback for callers that
	 * pass an empty one. */
	const char *name = args->domain;
	if (name[0] == '\0' && dom && (dom->flags & DOMXML_HAS_NAME))
		name = dom->name;
	if (copy_bounded(ev.domain, WIRE_DOMAIN_MAX, name))
		ev.flags |= WIRE_EV_NAME_TRUNCATED;

	switch (xml_state) {
	case HOOK_XML_MISSING:
		ev.flags |= WIRE_EV_XML_MISSING;
		break;
	case HOOK_XML_TRUNCATED:
		ev.flags |= WIRE_EV_XML_TRUNCATED;
		break;
	case HOOK_XML_INVALID:
		ev.flags |= WIRE_EV_XML_INVALID;
		break;
	case HOOK_XML_OK:
		break;
	}

	if (xml_state == HOOK_XML_OK && dom) {
		if (dom->flags & DOMXML_HAS_UUID) {
			memcpy(ev.uuid, dom->uuid, WIRE_UUID_BYTES);
			ev.flags |= WIRE_EV_HAS_UUID;
		}
		if (dom->flags & DOMXML_HAS_MEMORY) {
			ev.memory_kib = dom->memory_kib;
			ev.flags |= WIRE_EV_HAS_MEMORY;
		}
		if (dom->flags & DOMXML_POLICY_BAD)
			ev.flags |= WIRE_EV_POLICY_INVALID;
		ev.policy = dom->policy;
	}
	*ret = ev;
	return 0;
}

void hook_sanitize(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	if (!size)
		return;
	for (; src && src[i] && i + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	dst[i] = '\0';
}
