/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every policy shares: the per-domain defaults, a job's fresh state, and the policies' names.
 * dispatch.c picks a policy and hands it each decision; history.c keeps the samples, action.c
 * writes the actions.
 * Pure code: no I/O, no clock, no allocation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "policy_impl.h"

void policy_limits_default(struct mig_limits *ret_limits)
{
	*ret_limits = (struct mig_limits){
		.sla_max_downtime_ms = 500,
		.allow_postcopy = false,
		.postcopy_flag_set = false,
		.allow_suspend = false,
		.budget_s_per_gib = 150,
		.budget_min_s = 60,
		.reserve_permille = 100,
		.concurrent_on_nic = 1,
		.bandwidth_max_bps = 0,
		.guest_ram_bytes = 0,
		.on_hopeless = MIG_ON_HOPELESS_PARK,
		.allow_abort = true,
		.postcopy_recovery = false,
		.downtime_overshoot_permille = 0,
	};
}

void policy_state_init(const struct policy *p, struct policy_state *ret_state)
{
	memset(ret_state, 0, sizeof(*ret_state));
	ret_state->id = p->id;
}

static const char *const policy_names[] = {
	[POLICY_NONE] = "none",
	[POLICY_RHV_MINIMAL] = "rhv-minimal",
	[POLICY_RHV_SUSPEND] = "rhv-suspend",
	[POLICY_RHV_POSTCOPY] = "rhv-postcopy",
	[POLICY_RHV_VERYLARGE] = "rhv-verylarge",
	[POLICY_NOVA] = "nova",
	[POLICY_NOVA_FORCE] = "nova-force",
	[POLICY_ADAPTIVE] = "adaptive",
	[POLICY_SCHEDULE] = "schedule",
};

const char *policy_id_name(enum policy_id id)
{
	if ((unsigned)id > POLICY_ID_MAX)
		return "?";
	return policy_names[id];
}

const char *policy_builtin_names(void)
{
	return "none, rhv-minimal, rhv-suspend, rhv-postcopy, rhv-verylarge, nova, nova-force, adaptive";
}

