/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal glue between policy.c and the individual policies; not part of the API. */
#ifndef MIGTUNE_POLICY_POLICY_IMPL_H
#define MIGTUNE_POLICY_POLICY_IMPL_H

#include <stdarg.h>
#include <stdbool.h>

#include "policy.h"
#include "pure.h"

struct action_buf {
	struct policy_action *a;
	size_t n, max;
	uint64_t t_ms;
};

__attribute__((format(__printf__, 6, 7)))
bool action_push(struct action_buf *out, enum policy_action_kind kind, enum policy_reason reason,
                 int64_t value, int64_t old_value, const char *fmt, ...);

void sched_builtin(enum policy_id id, struct sched *ret_sched);
void sched_decide(const struct policy *p, struct policy_state *st, const struct mig_history *hist,
                  const struct mig_limits *lim, struct action_buf *out);
void nova_decide(const struct policy *p, struct policy_state *st, const struct mig_history *hist,
                 const struct mig_limits *lim, struct action_buf *out);
void adaptive_decide(const struct policy *p, struct policy_state *st,
                     const struct mig_history *hist, const struct mig_limits *lim,
                     struct action_buf *out);
void adaptive_applied(struct policy_state *st, const struct policy_action *a, bool ok);

/* Nova's data size: the guest's RAM in GiB, at least 2 (as Nova's driver rounds it). */
double nova_data_gib(const struct mig_history *hist, const struct mig_limits *lim);

/* RAM of the guest in bytes, from the limits or the samples. */
uint64_t guest_ram_bytes(const struct mig_history *hist, const struct mig_limits *lim);

#endif
