/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the scenario loader, then a short simulation of what it accepted. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tools/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sim_scenario scn;
	static struct sim_result res;
	struct policy p;
	char err[512];

	if (sim_scenario_parse((const char *)data, size, &scn, err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)) || strchr(err, '\n'))
			__builtin_trap();
		return 0;
	}
	/* keep each input quick: the model's cost is in simulated time */
	if (scn.duration_ms > 60000)
		scn.duration_ms = 60000;
	policy_builtin("adaptive", &p);
	if (sim_run(&scn, &p, NULL, &res) < 0)
		return 0;
	for (unsigned i = 0; i < res.nvms; i++)
		if (res.vms[i].outcome == SIM_RUNNING || res.vms[i].nactions > SIM_MAX_ACTIONS)
			__builtin_trap();
	return 0;
}
