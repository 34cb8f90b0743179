/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the MigrationPolicies JSON loader, then one decision on what it loaded. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy pols[8];
	static struct mig_history hist;
	char err[256];
	size_t n = 0;

	if (policy_json_load((const char *)data, size, pols, 8, &n, err, sizeof(err)) < 0) {
		/* errors are one terminated line */
		if (!memchr(err, '\0', sizeof(err)) || strchr(err, '\n'))
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct policy_action acts[POLICY_MAX_ACTIONS];
		struct policy_state st;
		struct mig_limits lim;

		policy_limits_default(&lim);
		policy_history_init(&hist);
		policy_state_init(&pols[i], &st);
		for (uint32_t k = 0; k < 200; k++) {
			struct mig_sample s = { .t_ms = k * 1000, .iteration = 1 + k / 3,
			                        .phase = MIG_PHASE_PRECOPY, .memory_bps = 1 << 20,
			                        .data_remaining_bytes = 1 << 26, .downtime_limit_ms = 300 };
			int r;

			policy_observe(&hist, &s);
			r = policy_decide(&pols[i], &st, &hist, &lim, acts, POLICY_MAX_ACTIONS);
			if (r < 0 || r > POLICY_MAX_ACTIONS)
				__builtin_trap();
			for (int a = 0; a < r; a++)
				policy_applied(&pols[i], &st, &acts[a], true);
		}
	}
	return 0;
}
