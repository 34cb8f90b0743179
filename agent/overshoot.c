/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "agent/overshoot.h"

void overshoot_init(struct overshoot *o, uint32_t assumed_permille)
{
	memset(o, 0, sizeof(*o));
	o->assumed_permille = assumed_permille;
}

int overshoot_observe(struct overshoot *o, uint32_t real_ms, uint32_t limit_ms)
{
	uint64_t permille;

	if (!real_ms || limit_ms < OVERSHOOT_MIN_LIMIT_MS)
		return -EDOM;
	permille = ((uint64_t)real_ms * 1000 + limit_ms / 2) / limit_ms;
	if (permille > OVERSHOOT_MAX_PERMILLE)
		permille = OVERSHOOT_MAX_PERMILLE;
	o->obs[o->taken % OVERSHOOT_WINDOW] = (uint32_t)permille;
	o->taken++;
	return (int)permille;
}

uint32_t overshoot_count(const struct overshoot *o)
{
	return o->taken < OVERSHOOT_WINDOW ? o->taken : OVERSHOOT_WINDOW;
}

uint32_t overshoot_estimate(const struct overshoot *o)
{
	uint32_t n = overshoot_count(o), most = OVERSHOOT_FLOOR_PERMILLE;

	for (uint32_t i = 0; i < n; i++)
		if (o->obs[i] > most)
			most = o->obs[i];
	if (!n || (n < OVERSHOOT_TRUST_AFTER && most < o->assumed_permille))
		return 0;
	return most;
}
