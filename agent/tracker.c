/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The domain table: one entry per domain the agent follows, in a cds_lfht keyed by UUID under
 * urcu-memb.  This file owns the entries' life (creation, lookup, expiry, freeing after a grace
 * period), the immutable status snapshot each entry publishes for the RCU readers (control socket,
 * metrics) and the counters they read.  What happens to a migration is in tracker_migration.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include "agent/strutil.h"
#include "agent/tracker_impl.h"

static unsigned long uuid_hash(const uint8_t uuid[16])
{
	uint64_t h = 1469598103934665603ULL;    /* FNV-1a: UUIDs are already random */

	for (int i = 0; i < 16; i++)
		h = (h ^ uuid[i]) * 1099511628211ULL;
	return (unsigned long)h;
}

static int uuid_match(struct cds_lfht_node *node, const void *key)
{
	const struct tracker_domain *d = caa_container_of(node, struct tracker_domain, node);

	return memcmp(d->uuid, key, 16) == 0;
}

int tracker_new(const struct tracker_opts *opts, struct tracker **ret)
{
	struct tracker *t;

	if (!opts || !opts->ring || !ret)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ring = opts->ring;
	t->stats = opts->stats;
	t->act = opts->actuator;
	t->on_end = opts->on_end;
	t->on_end_arg = opts->on_end_arg;
	t->prior_dirty = opts->prior_dirty;
	t->prior_dirty_arg = opts->prior_dirty_arg;
	t->keep_finished_ns = opts->keep_finished_ns ? opts->keep_finished_ns :
		UINT64_C(600) * 1000000000;
	str_copy(t->policy_name, sizeof(t->policy_name), opts->policy ? opts->policy : "none");
	tracker_overshoot_init(t);
	if (opts->policy && strcmp(opts->policy, "none") != 0) {
		int r = policy_builtin(opts->policy, &t->policy);

		if (r < 0) {
			free(t);
			return r;
		}
		t->have_policy = true;
	}
	t->table = cds_lfht_new_flavor(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
				       &urcu_memb_flavor, NULL);
	if (!t->table) {
		free(t);
		return -ENOMEM;
	}
	/* A ring that survived the previous agent: its running migrations go on from it. */
	tracker_restore(t);
	*ret = t;
	return 0;
}

static void status_free_rcu(struct rcu_head *head)
{
	/* rcu_head is the first member of the wrapper below */
	free(head);
}

struct status_box {
	struct rcu_head rcu;     /* first: status_free_rcu frees the whole box */
	struct domain_status s;
};

static void domain_free_rcu(struct rcu_head *head)
{
	struct tracker_domain *d = caa_container_of(head, struct tracker_domain, rcu);

	if (d->status)
		free(caa_container_of(d->status, struct status_box, s));
	tracker_advice_drop(d);
	tracker_restored_free(d->restored);
	free(d);
}

/* Publishes d->cur as the snapshot readers see.  The old one goes after a grace period. */
void tracker_publish(struct tracker_domain *d)
{
	struct status_box *box = malloc(sizeof(*box));
	struct domain_status *old;

	if (!box)
		return;          /* readers keep the previous snapshot: stale beats wrong */
	box->s = d->cur;
	/* Release pairs with the acquire load in tracker_status_foreach(). */
	old = __atomic_exchange_n(&d->status, &box->s, __ATOMIC_ACQ_REL);
	if (old)
		urcu_memb_call_rcu(&caa_container_of(old, struct status_box, s)->rcu,
				   status_free_rcu);
}

void tracker_free(struct tracker *t, void (*release_handle)(void *handle))
{
	struct cds_lfht_iter it;
	struct tracker_domain *d;

	if (!t)
		return;
	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->table, &it, d, node) {
		if (cds_lfht_del(t->table, &d->node) == 0) {
			if (release_handle && d->virt_handle)
				release_handle(d->virt_handle);
			d->virt_handle = NULL;
			urcu_memb_call_rcu(&d->rcu, domain_free_rcu);
		}
	}
	urcu_memb_read_unlock();
	/* Every call_rcu above (and the snapshot frees before) must run before the table goes. */
	urcu_memb_barrier();
	cds_lfht_destroy(t->table, NULL);
	free(t);
}

struct tracker_domain *tracker_find(struct tracker *t, const uint8_t uuid[16])
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	/* The tracker thread is the only writer, so the entry cannot go away under it; the read
	 * lock is what the hash table's traversal needs. */
	urcu_memb_read_lock();
	cds_lfht_lookup(t->table, uuid_hash(uuid), uuid_match, uuid, &it);
	n = cds_lfht_iter_get_node(&it);
	urcu_memb_read_unlock();
	return n ? caa_container_of(n, struct tracker_domain, node) : NULL;
}

struct tracker_domain *tracker_find_name(struct tracker *t, const char *name)
{
	struct cds_lfht_iter it;
	struct tracker_domain *d, *found = NULL;

	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->table, &it, d, node) {
		if (strcmp(d->name, name) == 0) {
			found = d;
			break;
		}
	}
	urcu_memb_read_unlock();
	return found;
}

struct tracker_domain *tracker_get(struct tracker *t, const uint8_t uuid[16], const char *name)
{
	struct tracker_domain *d = tracker_find(t, uuid);

	if (d) {
		if (name && *name && strcmp(d->name, name) != 0) {
			/* A rename, or a name learnt late: the ring's table keeps the first. */
			str_copy(d->name, sizeof(d->name), name);
			str_copy(d->cur.name, sizeof(d->cur.name), name);
		}
		return d;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	memcpy(d->uuid, uuid, 16);
	str_copy(d->name, sizeof(d->name), name ? name : "");
	d->ring_index = ring_domain_index(t->ring, uuid, d->name);
	memcpy(d->cur.uuid, uuid, 16);
	memcpy(d->cur.name, d->name, sizeof(d->name));
	d->cur.ring_index = d->ring_index;
	cds_lfht_node_init(&d->node);
	tracker_publish(d);
	/* Pairs with the acquire in tracker_status_foreach(): the entry is complete before readers
	 * can reach it through the table (whose own barriers live in liburcu). */
	__atomic_store_n(&d->published, 1, __ATOMIC_RELEASE);
	urcu_memb_read_lock();
	cds_lfht_add(t->table, uuid_hash(uuid), &d->node);
	urcu_memb_read_unlock();
	tracker_count(&t->n_domains);
	return d;
}

void tracker_foreach(struct tracker *t, void (*fn)(struct tracker_domain *d, void *arg), void *arg)
{
	struct cds_lfht_iter it;
	struct tracker_domain *d;

	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->table, &it, d, node)
		fn(d, arg);
	urcu_memb_read_unlock();
}

unsigned tracker_expire(struct tracker *t, uint64_t now_mono_ns,
			void (*release_handle)(void *handle))
{
	struct cds_lfht_iter it;
	struct tracker_domain *d;
	unsigned n = 0;

	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->table, &it, d, node) {
		uint64_t since = d->finished_mono_ns ? d->finished_mono_ns : d->cur.updated_mono_ns;

		tracker_settle(t, d, now_mono_ns);
		/* An incoming migration rebuilt from the ring waits for discovery to say whether it
		 * still runs (tracker_discovered). */
		if (d->cur.active || d->restored || now_mono_ns - since < t->keep_finished_ns)
			continue;
		if (cds_lfht_del(t->table, &d->node) == 0) {
			if (release_handle && d->virt_handle)
				release_handle(d->virt_handle);
			d->virt_handle = NULL;
			urcu_memb_call_rcu(&d->rcu, domain_free_rcu);
			__atomic_fetch_sub(&t->n_domains, 1, __ATOMIC_RELAXED);
			n++;
		}
	}
	urcu_memb_read_unlock();
	return n;
}

static void count_active(struct tracker_domain *d, void *arg)
{
	if (d->cur.active)
		(*(unsigned *)arg)++;
}

unsigned tracker_active_count(struct tracker *t)
{
	unsigned n = 0;

	tracker_foreach(t, count_active, &n);
	return n;
}

void tracker_status_foreach(struct tracker *t, void (*fn)(const struct domain_status *s, void *arg),
			    void *arg)
{
	struct cds_lfht_iter it;
	struct tracker_domain *d;

	urcu_memb_read_lock();
	cds_lfht_for_each_entry(t->table, &it, d, node) {
		const struct domain_status *s;

		if (!__atomic_load_n(&d->published, __ATOMIC_ACQUIRE))
			continue;
		s = __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
		if (s)
			fn(s, arg);
	}
	urcu_memb_read_unlock();
}

void tracker_counters(struct tracker *t, struct tracker_counters *ret)
{
	ret->samples = __atomic_load_n(&t->n_samples, __ATOMIC_RELAXED);
	ret->events = __atomic_load_n(&t->n_events, __ATOMIC_RELAXED);
	ret->hook_messages = __atomic_load_n(&t->n_hook, __ATOMIC_RELAXED);
	ret->advisories = __atomic_load_n(&t->n_advisories, __ATOMIC_RELAXED);
	ret->domains = __atomic_load_n(&t->n_domains, __ATOMIC_RELAXED);
}
