/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "agent/ctl.h"
#include "agent/ctl_request.h"
#include "agent/sockutil.h"

#define CTL_REQUEST_MS 1000
#define CTL_REPLY_MS 2000

struct ctl {
	struct sock_server srv;
	gid_t group;
	struct tracker *t;
	ctl_extra_fn extra;
	void *arg;
	uint64_t refused;
};

static void add_domain(const struct domain_status *s, void *arg)
{
	struct json_object *arr = arg, *o = json_object_new_object();
	char uuid[37];

	ring_uuid_format(s->uuid, uuid);
	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	json_object_object_add(o, "ring_index", json_object_new_int64(s->ring_index));
	json_object_object_add(o, "direction",
			       json_object_new_string(ring_direction_name(s->direction)));
	json_object_object_add(o, "phase", json_object_new_string(ring_phase_name(s->phase)));
	json_object_object_add(o, "active", json_object_new_boolean(s->active));
	json_object_object_add(o, "samples", json_object_new_int64((int64_t)s->samples));
	json_object_object_add(o, "events", json_object_new_int64((int64_t)s->events));
	json_object_object_add(o, "iteration", json_object_new_int64(s->last.iteration));
	json_object_object_add(o, "elapsed_ms", json_object_new_int64(s->last.elapsed_ms));
	json_object_object_add(o, "data_total_bytes",
			       json_object_new_int64((int64_t)s->last.data_total_bytes));
	json_object_object_add(o, "data_processed_bytes",
			       json_object_new_int64((int64_t)s->last.data_processed_bytes));
	json_object_object_add(o, "data_remaining_bytes",
			       json_object_new_int64((int64_t)s->last.data_remaining_bytes));
	json_object_object_add(o, "memory_bps", json_object_new_int64((int64_t)s->last.memory_bps));
	json_object_object_add(o, "dirty_pages_per_s",
			       json_object_new_int64(s->last.dirty_pages_per_s));
	json_object_object_add(o, "expected_downtime_ms",
			       json_object_new_int64(s->last.expected_downtime_ms));
	json_object_object_add(o, "downtime_limit_ms",
			       json_object_new_int64(s->last.downtime_limit_ms));
	json_object_object_add(o, "bandwidth_limit_mibs",
			       json_object_new_int64(s->last.bandwidth_limit_mibs));
	json_object_object_add(o, "nic", json_object_new_string(s->nic));
	json_object_object_add(o, "nic_tx_kibps", json_object_new_int64(s->last.nic_tx_kibps));
	json_object_object_add(o, "nic_rx_kibps", json_object_new_int64(s->last.nic_rx_kibps));
	json_object_object_add(o, "last_event", json_object_new_string(s->last_event));
	json_object_object_add(o, "advice", json_object_new_string(s->advice));
	json_object_array_add(arr, o);
}

struct json_object *ctl_status_json(struct tracker *t, ctl_extra_fn extra, void *arg)
{
	struct json_object *root = json_object_new_object();
	struct json_object *doms = json_object_new_array();
	struct json_object *cnt = json_object_new_object();
	struct tracker_counters c;

	json_object_object_add(root, "version", json_object_new_string(MIGTUNE_VERSION));
	json_object_object_add(root, "pid", json_object_new_int(getpid()));
	tracker_counters(t, &c);
	json_object_object_add(cnt, "samples", json_object_new_int64((int64_t)c.samples));
	json_object_object_add(cnt, "events", json_object_new_int64((int64_t)c.events));
	json_object_object_add(cnt, "hook_messages", json_object_new_int64((int64_t)c.hook_messages));
	json_object_object_add(cnt, "advisories", json_object_new_int64((int64_t)c.advisories));
	json_object_object_add(cnt, "domains", json_object_new_int64((int64_t)c.domains));
	json_object_object_add(root, "counters", cnt);
	if (extra)
		extra(root, arg);
	tracker_status_foreach(t, add_domain, doms);
	json_object_object_add(root, "domains", doms);
	return root;
}

/* The reply text of o, newline-terminated, for the server to send. */
static char *reply_json(struct json_object *o, size_t *ret_len)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(s);
	char *out = malloc(len + 2);

	if (out) {
		memcpy(out, s, len);
		out[len] = '\n';
		out[len + 1] = '\0';
		*ret_len = len + 1;
	}
	json_object_put(o);
	return out;
}

static char *reply_error(const char *msg, size_t *ret_len)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	return reply_json(o, ret_len);
}

static int admit(void *arg, int cfd, char **ret_reply, size_t *ret_len)
{
	struct ctl *c = arg;
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    !sock_peer_allowed(cred.pid, cred.uid, cred.gid, c->group)) {
		__atomic_fetch_add(&c->refused, 1, __ATOMIC_RELAXED);
		*ret_reply = reply_error("permission denied: root or the agent's ctl-group only",
					 ret_len);
		return -EACCES;
	}
	return 0;
}

static bool complete(const char *buf, size_t len)
{
	return memchr(buf, '\n', len) != NULL;
}

static char *respond(void *arg, const char *line, size_t len, int end, size_t *ret_len)
{
	struct ctl *c = arg;
	int req = ctl_request_decode(line, len < CTL_REQUEST_MAX ? len : CTL_REQUEST_MAX);

	if (req == CTL_REQ_STATUS)
		return reply_json(ctl_status_json(c->t, c->extra, c->arg), ret_len);
	if (req == CTL_REQ_PING) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		return reply_json(o, ret_len);
	}
	if (req == -EMSGSIZE)
		return reply_error("request too long: one word per line (known: status, ping)",
				   ret_len);
	if (req == -EBADMSG)
		return reply_error("malformed request: one word per line (known: status, ping)",
				   ret_len);
	return reply_error("unknown request (known: status, ping)", ret_len);
}

/*
 * Each connection has CTL_REQUEST_MS from accept to send its whole request line, then
 * CTL_REPLY_MS to take the reply (a status of many migrations is a few hundred KiB); a client that
 * dawdles loses only its own connection.
 */
static const struct sock_server_ops ctl_ops = {
	.request_max = CTL_REQUEST_MAX,
	.request_ms = CTL_REQUEST_MS,
	.reply_ms = CTL_REPLY_MS,
	.admit = admit,
	.complete = complete,
	.respond = respond,
	.busy_reply = "{\"error\":\"busy: too many requests in progress, try again\"}\n",
};

int ctl_start(const char *path, gid_t group, struct tracker *t, ctl_extra_fn extra, void *arg,
	      struct ctl **ret)
{
	struct ctl *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->t = t;
	c->group = group;
	c->extra = extra;
	c->arg = arg;
	/* the status reply walks the RCU domain table: the serving thread registers */
	r = sock_server_start(&c->srv, path, SOCK_STREAM, group == (gid_t)-1 ? 0600 : 0660, group,
			      &ctl_ops, c, true);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void ctl_stop(struct ctl *c)
{
	if (!c)
		return;
	sock_server_stop(&c->srv);
	free(c);
}

uint64_t ctl_refused(struct ctl *c)
{
	return __atomic_load_n(&c->refused, __ATOMIC_RELAXED);
}
