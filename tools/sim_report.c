/* SPDX-License-Identifier: GPL-2.0-or-later */
/* migsim output: one run as text or as a JSON object. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "sim.h"

#define MIB 1048576.0

static const struct sim_ref *find_ref(const struct sim_scenario *scn, const char *policy)
{
	for (unsigned i = 0; i < scn->nrefs; i++)
		if (!strcmp(scn->refs[i].policy, policy))
			return &scn->refs[i];
	return NULL;
}

/* The second line of a guest: how it ended, the SLA, the verdict, parking and splits. */
static void print_end(const struct sim_vm_result *v, FILE *f)
{
	fprintf(f, "  %-10s ended %s", "", sim_end_name((enum sim_end)v->end));
	if (v->end == SIM_END_LOST)
		fprintf(f, " (post-copy stream broke at %.1f s, no recovery: memory split for good)",
		        v->total_ms / 1000.0);
	else if (v->breaks)
		fprintf(f, " (%" PRIu32 " break%s, split %.1f s)", v->breaks, v->breaks > 1 ? "s" : "",
		        v->split_ms / 1000.0);
	if (v->stall_ms)
		fprintf(f, ", post-copy stalled %.1f s", v->stall_ms / 1000.0);
	if (v->outcome == SIM_FAILED)
		fprintf(f, "; SLA MISSED (guest lost)");
	else
		fprintf(f, "; SLA %s (downtime %" PRIu64 " ms %s %" PRIu32 " ms)",
		        v->sla_held ? "held" : "MISSED", v->downtime_ms, v->sla_held ? "<=" : ">",
		        v->sla_ms);
	if (v->have_verdict)
		fprintf(f, "; verdict%s at %.1f s, %.1f MiB sent after it (%.0f %% of RAM)",
		        v->verdict_inferred ? " (inferred)" : "", v->verdict_ms / 1000.0,
		        v->bytes_after_verdict / MIB,
		        v->ram_bytes ? v->bytes_after_verdict * 100.0 / v->ram_bytes : 0);
	if (v->parked_ms)
		fprintf(f, "; parked %.1f s", v->parked_ms / 1000.0);
	fputc('\n', f);
}

void sim_print_text(const struct sim_scenario *scn, const struct sim_result *r, bool actions,
                    FILE *f)
{
	const struct sim_ref *ref = find_ref(scn, r->policy);

	fprintf(f, "%s / %s\n", r->scenario, r->policy);
	for (unsigned i = 0; i < r->nvms; i++) {
		const struct sim_vm_result *v = &r->vms[i];

		fprintf(f, "  %-10s %-20s total %8.1f s  downtime %7" PRIu64 " ms  sent %9.1f MiB  "
		        "passes %5" PRIu32 "  first action %s", v->name,
		        sim_outcome_name((enum sim_outcome)v->outcome), v->total_ms / 1000.0,
		        v->downtime_ms, v->bytes_sent / MIB, v->passes,
		        v->first_action_ms ? "" : "-");
		if (v->first_action_ms)
			fprintf(f, "%.1f s", v->first_action_ms / 1000.0);
		fputc('\n', f);
		print_end(v, f);
		if (ref && r->nvms == 1) {
			fprintf(f, "  %-10s %-20s", "measured", ref->outcome[0] ? ref->outcome : "?");
			if (ref->passes >= 0)
				fprintf(f, " passes %5.0f (sim %+" PRId64 ")", ref->passes,
				        (int64_t)v->passes - (int64_t)(ref->passes + 0.5));
			if (ref->total_s >= 0)
				fprintf(f, " total %8.1f s (sim %+.0f %%)", ref->total_s,
				        (v->total_ms / 1000.0 - ref->total_s) * 100.0 / ref->total_s);
			if (ref->bytes_mib >= 0)
				fprintf(f, "  sent %9.1f MiB (sim %+.0f %%)", ref->bytes_mib,
				        (v->bytes_sent / MIB - ref->bytes_mib) * 100.0 / ref->bytes_mib);
			fputc('\n', f);
		}
		if (!actions)
			continue;
		for (unsigned k = 0; k < v->nactions; k++) {
			char line[256];

			policy_action_format(&v->actions[k], line, sizeof(line));
			fprintf(f, "      %s\n", line);
		}
		if (v->actions_truncated)
			fprintf(f, "      (more actions not kept)\n");
	}
	if (r->tenant_demand_bytes)
		fprintf(f, "  tenants    sent %.1f of %.1f MiB wanted (%.1f %%)\n",
		        r->tenant_sent_bytes / MIB, r->tenant_demand_bytes / MIB,
		        r->tenant_sent_bytes * 100.0 / r->tenant_demand_bytes);
}

static json_object *jint(int64_t v)
{
	return json_object_new_int64(v);
}

struct json_object *sim_result_json(const struct sim_scenario *scn, const struct sim_result *r)
{
	json_object *o = json_object_new_object(), *vms = json_object_new_array();
	const struct sim_ref *ref = find_ref(scn, r->policy);

	json_object_object_add(o, "scenario", json_object_new_string(r->scenario));
	json_object_object_add(o, "policy", json_object_new_string(r->policy));
	for (unsigned i = 0; i < r->nvms; i++) {
		const struct sim_vm_result *v = &r->vms[i];
		json_object *jv = json_object_new_object(), *acts = json_object_new_array();

		json_object_object_add(jv, "name", json_object_new_string(v->name));
		json_object_object_add(jv, "outcome",
		                       json_object_new_string(sim_outcome_name((enum sim_outcome)v->outcome)));
		json_object_object_add(jv, "total_ms", jint((int64_t)v->total_ms));
		json_object_object_add(jv, "downtime_ms", jint((int64_t)v->downtime_ms));
		json_object_object_add(jv, "bytes_sent", jint((int64_t)v->bytes_sent));
		json_object_object_add(jv, "passes", jint(v->passes));
		json_object_object_add(jv, "first_action_ms",
		                       v->first_action_ms ? jint((int64_t)v->first_action_ms) : NULL);
		json_object_object_add(jv, "sla_max_downtime_ms", jint(v->sla_ms));
		json_object_object_add(jv, "end",
		                       json_object_new_string(sim_end_name((enum sim_end)v->end)));
		json_object_object_add(jv, "sla_held", json_object_new_boolean(v->sla_held));
		json_object_object_add(jv, "verdict_ms",
		                       v->have_verdict ? jint((int64_t)v->verdict_ms) : NULL);
		json_object_object_add(jv, "verdict_inferred",
		                       json_object_new_boolean(v->verdict_inferred));
		json_object_object_add(jv, "bytes_after_verdict",
		                       v->have_verdict ? jint((int64_t)v->bytes_after_verdict) : NULL);
		json_object_object_add(jv, "ram_bytes", jint((int64_t)v->ram_bytes));
		json_object_object_add(jv, "budget_ms", jint((int64_t)v->budget_ms));
		json_object_object_add(jv, "parked_ms", jint((int64_t)v->parked_ms));
		json_object_object_add(jv, "postcopy_recovery", json_object_new_boolean(v->recovery));
		json_object_object_add(jv, "postcopy_breaks", jint(v->breaks));
		json_object_object_add(jv, "split_ms", jint((int64_t)v->split_ms));
		json_object_object_add(jv, "postcopy_stall_ms", jint((int64_t)v->stall_ms));
		for (unsigned k = 0; k < v->nactions; k++) {
			const struct policy_action *a = &v->actions[k];
			json_object *ja = json_object_new_object();

			json_object_object_add(ja, "t_ms", jint((int64_t)a->t_ms));
			json_object_object_add(ja, "action", json_object_new_string(
			        policy_action_name((enum policy_action_kind)a->kind)));
			json_object_object_add(ja, "value", jint(a->value));
			json_object_object_add(ja, "old_value", jint(a->old_value));
			json_object_object_add(ja, "reason", json_object_new_string(
			        policy_reason_name((enum policy_reason)a->reason)));
			json_object_object_add(ja, "text", json_object_new_string(a->text));
			json_object_array_add(acts, ja);
		}
		json_object_object_add(jv, "actions", acts);
		json_object_object_add(jv, "actions_truncated",
		                       json_object_new_boolean(v->actions_truncated));
		json_object_array_add(vms, jv);
	}
	json_object_object_add(o, "vms", vms);
	json_object_object_add(o, "tenant_demand_bytes", jint((int64_t)r->tenant_demand_bytes));
	json_object_object_add(o, "tenant_sent_bytes", jint((int64_t)r->tenant_sent_bytes));
	if (ref) {
		json_object *jr = json_object_new_object();

		json_object_object_add(jr, "outcome", json_object_new_string(ref->outcome));
		if (ref->total_s >= 0)
			json_object_object_add(jr, "total_s", json_object_new_double(ref->total_s));
		if (ref->bytes_mib >= 0)
			json_object_object_add(jr, "bytes_mib", json_object_new_double(ref->bytes_mib));
		if (ref->passes >= 0)
			json_object_object_add(jr, "passes", json_object_new_double(ref->passes));
		json_object_object_add(o, "measured", jr);
	}
	return o;
}
