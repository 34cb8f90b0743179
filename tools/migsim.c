/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migsim: run migration scenarios against policies; print each run, or the benchmark table.
 * See migsim(1), docs/scenarios.md and docs/policy.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "sim.h"

#define MIB 1048576.0
#define MAX_POLICIES 32
#define MAX_SCENARIOS 256

static const char *const bench_policies[] = {
	"none", "rhv-minimal", "rhv-suspend", "rhv-postcopy", "rhv-verylarge", "nova", "adaptive",
};
#define NBENCH (sizeof(bench_policies) / sizeof(bench_policies[0]))

static void usage(FILE *f)
{
	fprintf(f,
"Usage: migsim [OPTION]... SCENARIO.json...\n"
"       migsim --bench [OPTION]... SCENARIO.json...\n"
"\n"
"Simulate live migrations (QEMU pre-copy, post-copy, suspend, abort; several migrations sharing\n"
"one NIC with tenant traffic) and let a migtune policy tune them, through the same interface as\n"
"migtuned.  Prints, per run and guest: outcome, total time, downtime, bytes sent, passes, and every\n"
"action the policy took with its time and reason.\n"
"\n"
"Options:\n"
"  -p, --policy NAME|FILE  policy to run; repeat for several.  NAME is one of:\n"
"                          %s,\n"
"                          or \"all\" (none, the four RHV, nova, adaptive).  FILE is a JSON file\n"
"                          in RHV's MigrationPolicies shape; each policy in it runs.\n"
"                          Default: adaptive.\n"
"  -j, --json              JSON output: {\"runs\": [...]} (see docs/scenarios.md)\n"
"  -q, --quiet             do not list the actions, only the outcome lines\n"
"  -t, --trace             print every sample the policy sees (to stderr)\n"
"  -i, --interval MS       policy sampling interval (default: the scenario's, else 500 ms as\n"
"                          migtuned; RHV policies keep VDSM's own 10 s poll inside)\n"
"      --sla MS            override every guest's SLA max downtime\n"
"      --allow-postcopy, --no-postcopy\n"
"      --allow-suspend, --no-suspend\n"
"                          override every guest's permissions\n"
"      --no-prior          hide the dirty rate the agent measured before the job (see\n"
"                          prior_dirty_mibps in docs/scenarios.md): adaptive then waits for\n"
"                          two passes of evidence after the bulk pass\n"
"  -b, --bench             run every scenario with none, rhv-minimal, rhv-suspend, rhv-postcopy,\n"
"                          rhv-verylarge, nova and adaptive; print the table, adaptive's ratios\n"
"                          against the best RHV policy, and the simulator against the measured\n"
"                          references found in the scenarios\n"
"  -h, --help              this text\n"
"  -V, --version           print the version\n"
"\n"
"Exit status: 0 when every run was simulated, 1 on a bad scenario or policy, 2 on usage errors.\n"
"\n"
"Examples:\n"
"  migsim tests/sim/scenarios/lab-s1.json\n"
"  migsim -p all -q tests/sim/scenarios/*.json\n"
"  migsim -p my-policies.json --sla 300 scenario.json\n"
"  migsim --bench tests/sim/scenarios/*.json\n",
	        policy_builtin_names());
}

static int add_policy(const char *arg, struct policy *pols, size_t *n)
{
	char err[300];

	if (!strcmp(arg, "all")) {
		for (size_t i = 0; i < NBENCH; i++) {
			if (*n >= MAX_POLICIES)
				return -E2BIG;
			policy_builtin(bench_policies[i], &pols[(*n)++]);
		}
		return 0;
	}
	if (*n >= MAX_POLICIES) {
		fprintf(stderr, "migsim: at most %d policies\n", MAX_POLICIES);
		return -E2BIG;
	}
	if (policy_builtin(arg, &pols[*n]) == 0) {
		(*n)++;
		return 0;
	}
	if (strchr(arg, '/') || strstr(arg, ".json") || access(arg, R_OK) == 0) {
		char *buf = NULL;
		size_t len = 0, got = 0;
		int r = sim_read_file(arg, 1u << 20, &buf, &len, err, sizeof(err));

		if (r < 0) {
			fprintf(stderr, "migsim: policy %s\n", err);
			return r;
		}
		r = policy_json_load(buf, len, pols + *n, MAX_POLICIES - *n, &got, err, sizeof(err));
		free(buf);
		if (r < 0) {
			fprintf(stderr, "migsim: %s: %s\n", arg, err);
			return r;
		}
		*n += got;
		return 0;
	}
	fprintf(stderr, "migsim: unknown policy \"%s\" (built-ins: %s; or a JSON file)\n", arg,
	        policy_builtin_names());
	return -ENOENT;
}

static void trace_sample(void *ctx, unsigned vm, const struct mig_sample *s)
{
	(void)ctx;
	fprintf(stderr, "trace vm%u t=%.1fs pass=%" PRIu32 " remaining=%.1fMiB sent=%.1fMiB "
	        "bw=%.1fMiB/s dirty=%" PRIu64 "p/s expected=%" PRIu32 "ms limit=%" PRIu32 "ms "
	        "cap=%.1fMiB/s nic=%.1f/%.1fMiB/s carrier=%u\n", vm, s->t_ms / 1000.0, s->iteration,
	        s->data_remaining_bytes / MIB, s->data_processed_bytes / MIB, s->memory_bps / MIB,
	        s->dirty_pages_per_s, s->expected_downtime_ms, s->downtime_limit_ms,
	        s->bandwidth_limit_bps / MIB, s->nic_tx_bps / MIB, s->nic_capacity_bps / MIB,
	        s->nic_carrier);
}

/* ---- benchmark ------------------------------------------------------------------------------ */

struct agg {
	bool converged;
	bool precopy_only;               /* every guest finished by pre-copy */
	double total_s, downtime_ms, bytes_mib, first_s;
	uint32_t passes;
	uint32_t sla_ms;
};

static void aggregate(const struct sim_result *r, struct agg *a)
{
	memset(a, 0, sizeof(*a));
	a->converged = true;
	a->precopy_only = true;
	a->first_s = -1;
	for (unsigned i = 0; i < r->nvms; i++) {
		const struct sim_vm_result *v = &r->vms[i];

		if (!sim_outcome_completed((enum sim_outcome)v->outcome))
			a->converged = false;
		if (v->outcome != SIM_COMPLETED)
			a->precopy_only = false;
		if (v->total_ms / 1000.0 > a->total_s)
			a->total_s = v->total_ms / 1000.0;
		if (v->downtime_ms > a->downtime_ms)
			a->downtime_ms = (double)v->downtime_ms;
		a->bytes_mib += v->bytes_sent / MIB;
		if (v->passes > a->passes)
			a->passes = v->passes;
		if (v->first_action_ms && (a->first_s < 0 || v->first_action_ms / 1000.0 < a->first_s))
			a->first_s = v->first_action_ms / 1000.0;
		if (!a->sla_ms || v->sla_ms < a->sla_ms)
			a->sla_ms = v->sla_ms;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	if (!n)
		return -1;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *short_outcome(const struct sim_result *r)
{
	enum sim_outcome worst = SIM_COMPLETED;

	for (unsigned i = 0; i < r->nvms; i++) {
		enum sim_outcome o = (enum sim_outcome)r->vms[i].outcome;

		if (!sim_outcome_completed(o) || worst == SIM_COMPLETED)
			worst = o;
	}
	switch (worst) {
	case SIM_COMPLETED: return "yes";
	case SIM_COMPLETED_POSTCOPY: return "yes/pc";
	case SIM_COMPLETED_SUSPENDED: return "yes/susp";
	case SIM_ABORTED: return "abort";
	case SIM_FAILED: return "LOST";
	case SIM_NOT_CONVERGED: return "no";
	default: return "?";
	}
}

static int bench(struct sim_scenario *scns, size_t nscn, const struct sim_opts *opts)
{
	double rt[MAX_SCENARIOS], rb[MAX_SCENARIOS], ht[MAX_SCENARIOS], hb[MAX_SCENARIOS];
	double nt[MAX_SCENARIOS], nb[MAX_SCENARIOS];     /* hard ones, adaptive without a prior */
	char hard[MAX_SCENARIOS][96];
	size_t nh = 0, nn = 0;
	struct sim_opts noprior = *opts;
	size_t nr = 0, any_conv = 0, ad_conv = 0, sla_ok = 0, sla_n = 0, only_ad = 0;
	char missed[1024] = "", sla_bad[1024] = "";
	struct sim_result *res = malloc(sizeof(*res));
	bool have_refs = false;

	if (!res)
		return -ENOMEM;
	printf("%-26s %-14s %-8s %9s %10s %10s %7s %8s %8s\n", "scenario", "policy", "conv",
	       "total_s", "downtime", "sent_MiB", "passes", "first_s", "tenant%");
	for (size_t i = 0; i < nscn; i++) {
		struct agg a[NBENCH];
		int best_t = -1, best_b = -1;
		bool any = false;

		for (size_t k = 0; k < NBENCH; k++) {
			struct policy p;

			policy_builtin(bench_policies[k], &p);
			if (sim_run(&scns[i], &p, opts, res) < 0) {
				free(res);
				return -ENOMEM;
			}
			aggregate(res, &a[k]);
			{
				char first[16] = "-", ten[16] = "-";

				if (a[k].first_s >= 0)
					snprintf(first, sizeof(first), "%.1f", a[k].first_s);
				if (res->tenant_demand_bytes)
					snprintf(ten, sizeof(ten), "%.0f", res->tenant_sent_bytes * 100.0 /
					         res->tenant_demand_bytes);
				printf("%-26.26s %-14s %-8s %9.1f %10.0f %10.1f %7" PRIu32 " %8s %8s\n",
				       scns[i].name, bench_policies[k], short_outcome(res), a[k].total_s,
				       a[k].downtime_ms, a[k].bytes_mib, a[k].passes, first, ten);
			}
			if (a[k].converged)
				any = true;
			if (!strncmp(bench_policies[k], "rhv-", 4) && a[k].converged) {
				if (best_t < 0 || a[k].total_s < a[best_t].total_s)
					best_t = (int)k;
				if (best_b < 0 || a[k].bytes_mib < a[best_b].bytes_mib)
					best_b = (int)k;
			}
		}
		if (scns[i].nrefs)
			have_refs = true;
		{
			struct agg *ad = &a[NBENCH - 1];

			if (any) {
				any_conv++;
				if (ad->converged) {
					ad_conv++;
				} else {
					size_t l = strlen(missed);

					snprintf(missed + l, sizeof(missed) - l, " %.63s", scns[i].name);
				}
			}
			if (ad->converged && best_t >= 0 && !a[0].converged) {
				struct policy p;
				struct agg np;

				noprior.no_prior = true;
				policy_builtin("adaptive", &p);
				if (sim_run(&scns[i], &p, &noprior, res) < 0) {
					free(res);
					return -ENOMEM;
				}
				aggregate(res, &np);
				if (np.converged) {
					nt[nn] = np.total_s / a[best_t].total_s;
					nb[nn] = np.bytes_mib / a[best_b].bytes_mib;
					nn++;
				}
			}
			if (ad->converged && best_t >= 0) {
				rt[nr] = ad->total_s / a[best_t].total_s;
				rb[nr] = ad->bytes_mib / a[best_b].bytes_mib;
				nr++;
				if (!a[0].converged) {
					/* QEMU's defaults alone do not finish: the policy matters here */
					ht[nh] = rt[nr - 1];
					hb[nh] = rb[nr - 1];
					snprintf(hard[nh], sizeof(hard[nh]), "%.40s %.2f/%.2f", scns[i].name,
					         ht[nh], hb[nh]);
					nh++;
				}
			} else if (ad->converged) {
				only_ad++;
			}
			if (ad->converged && ad->precopy_only) {
				sla_n++;
				if (ad->downtime_ms <= ad->sla_ms) {
					sla_ok++;
				} else {
					size_t l = strlen(sla_bad);

					snprintf(sla_bad + l, sizeof(sla_bad) - l, " %.63s(%.0f>%u)",
					         scns[i].name, ad->downtime_ms, ad->sla_ms);
				}
			}
		}
	}
	free(res);
	printf("\nadaptive against the best RHV policy of each scenario (the fastest converging one for\n"
	       "time, the one sending least for bytes); median ratios, target <= 0.60:\n");
	{
		double mt = median(rt, nr), mb = median(rb, nr);

		printf("  all scenarios where both converged (%3zu):   time %.2f %-6s  bytes %.2f %s\n", nr,
		       mt, nr && mt <= 0.6 ? "met" : "MISSED", mb, nr && mb <= 0.6 ? "met" : "MISSED");
	}
	{
		double mt = median(ht, nh), mb = median(hb, nh);

		printf("  hard scenarios among them            (%3zu):   time %.2f %-6s  bytes %.2f %s\n", nh,
		       mt, nh && mt <= 0.6 ? "met" : "MISSED", mb, nh && mb <= 0.6 ? "met" : "MISSED");
	}
	{
		double mt = median(nt, nn), mb = median(nb, nn);

		printf("  hard, adaptive without the dirty rate measured before the job (%zu):"
		       " time %.2f, bytes %.2f\n", nn, mt, mb);
	}
	printf("  hard = QEMU's defaults alone (policy \"none\") do not converge within the scenario's\n"
	       "  duration, so the policy decides the outcome.  In the others every policy, RHV's too,\n"
	       "  finishes in the time the link needs to carry the guest once or twice: ratios near 1.00.\n"
	       "  hard (time/bytes):");
	for (size_t k = 0; k < nh; k++)
		printf("%s%s", k % 3 ? ", " : "\n    ", hard[k]);
	printf("\n");
	printf("  adaptive converged in %zu of the %zu scenarios where any policy did (%s)%s%s\n",
	       ad_conv, any_conv, ad_conv == any_conv ? "met" : "MISSED", *missed ? "; missed:" : "",
	       missed);
	printf("  adaptive converged in %zu scenarios where no RHV policy did\n", only_ad);
	printf("  adaptive pre-copy downtime within the SLA in %zu of %zu (%s)%s%s\n", sla_ok, sla_n,
	       sla_ok == sla_n ? "met" : "MISSED", *sla_bad ? ":" : "", sla_bad);

	if (!have_refs)
		return 0;
	printf("\nsimulator vs measured (scenarios carrying \"reference\" results):\n");
	printf("%-20s %-14s %-20s %-20s %6s %6s %6s %9s %9s %6s %10s %10s %6s\n", "scenario",
	       "policy", "measured", "simulated", "meas_p", "sim_p", "diff", "meas_s", "sim_s", "diff",
	       "meas_MiB", "sim_MiB", "diff");
	res = malloc(sizeof(*res));
	if (!res)
		return -ENOMEM;
	for (size_t i = 0; i < nscn; i++) {
		for (unsigned k = 0; k < scns[i].nrefs; k++) {
			const struct sim_ref *ref = &scns[i].refs[k];
			const struct sim_vm_result *v = &res->vms[0];
			struct policy p;
			char ds[16] = "-", db[16] = "-", ms[16] = "-", mb[16] = "-";
			char dp[16] = "-", mp[16] = "-";

			if (policy_builtin(ref->policy, &p) < 0)
				continue;
			if (sim_run(&scns[i], &p, opts, res) < 0)
				break;
			if (ref->passes >= 0) {
				snprintf(mp, sizeof(mp), "%.0f", ref->passes);
				snprintf(dp, sizeof(dp), "%+.0f%%",
				         ref->passes > 0 ? (v->passes - ref->passes) * 100 / ref->passes : 0);
			}
			if (ref->total_s >= 0) {
				snprintf(ms, sizeof(ms), "%.1f", ref->total_s);
				snprintf(ds, sizeof(ds), "%+.0f%%",
				         (v->total_ms / 1000.0 - ref->total_s) * 100 / ref->total_s);
			}
			if (ref->bytes_mib >= 0) {
				snprintf(mb, sizeof(mb), "%.0f", ref->bytes_mib);
				snprintf(db, sizeof(db), "%+.0f%%",
				         (v->bytes_sent / MIB - ref->bytes_mib) * 100 / ref->bytes_mib);
			}
			printf("%-20.20s %-14s %-20s %-20s %6s %6" PRIu32 " %6s %9s %9.1f %6s %10s %10.0f %6s\n",
			       scns[i].name, ref->policy, ref->outcome,
			       sim_outcome_name((enum sim_outcome)v->outcome), mp, v->passes, dp, ms,
			       v->total_ms / 1000.0, ds, mb, v->bytes_sent / MIB, db);
		}
	}
	free(res);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_SLA = 256, OPT_PC, OPT_NOPC, OPT_SUSP, OPT_NOSUSP, OPT_NOPRIOR };
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "trace", no_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "bench", no_argument, NULL, 'b' },
		{ "sla", required_argument, NULL, OPT_SLA },
		{ "allow-postcopy", no_argument, NULL, OPT_PC },
		{ "no-postcopy", no_argument, NULL, OPT_NOPC },
		{ "allow-suspend", no_argument, NULL, OPT_SUSP },
		{ "no-suspend", no_argument, NULL, OPT_NOSUSP },
		{ "no-prior", no_argument, NULL, OPT_NOPRIOR },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct policy pols[MAX_POLICIES];
	static struct sim_scenario scns[MAX_SCENARIOS];
	struct sim_opts opts = { .sla_ms = -1, .allow_postcopy = -1, .allow_suspend = -1 };
	bool json = false, quiet = false, do_bench = false;
	size_t npol = 0, nscn = 0;
	json_object *runs = NULL;
	struct sim_result *res;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "p:jqti:bhV", longopts, NULL)) != -1) {
		char *end;
		long v;

		switch (c) {
		case 'p':
			if (add_policy(optarg, pols, &npol) < 0)
				return 1;
			break;
		case 'j': json = true; break;
		case 'q': quiet = true; break;
		case 't': opts.trace = trace_sample; break;
		case 'b': do_bench = true; break;
		case 'i':
		case OPT_SLA:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < (c == 'i' ? 100 : 1) || v > 3600000) {
				fprintf(stderr, "migsim: %s: \"%s\" is not a number of milliseconds%s\n",
				        c == 'i' ? "--interval" : "--sla", optarg,
				        c == 'i' ? " >= 100" : " >= 1");
				return 2;
			}
			if (c == 'i')
				opts.sample_ms = (uint32_t)v;
			else
				opts.sla_ms = (int)v;
			break;
		case OPT_PC: opts.allow_postcopy = 1; break;
		case OPT_NOPC: opts.allow_postcopy = 0; break;
		case OPT_SUSP: opts.allow_suspend = 1; break;
		case OPT_NOSUSP: opts.allow_suspend = 0; break;
		case OPT_NOPRIOR: opts.no_prior = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("migsim %s\n", MIGTUNE_VERSION); return 0;
		default:
			fprintf(stderr, "Try 'migsim --help'.\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "migsim: no scenario given (e.g. migsim tests/sim/scenarios/lab-s1.json;"
		        " see migsim --help)\n");
		return 2;
	}
	if (argc - optind > MAX_SCENARIOS) {
		fprintf(stderr, "migsim: at most %d scenarios per run\n", MAX_SCENARIOS);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		char err[512];

		if (sim_scenario_load(argv[i], &scns[nscn], err, sizeof(err)) < 0) {
			fprintf(stderr, "migsim: %s\n", err);
			return 1;
		}
		nscn++;
	}
	if (do_bench)
		return bench(scns, nscn, &opts) < 0 ? 1 : 0;
	if (!npol)
		policy_builtin("adaptive", &pols[npol++]);

	res = malloc(sizeof(*res));
	if (!res)
		return 1;
	if (json)
		runs = json_object_new_array();
	for (size_t i = 0; i < nscn; i++) {
		for (size_t k = 0; k < npol; k++) {
			if (sim_run(&scns[i], &pols[k], &opts, res) < 0) {
				fprintf(stderr, "migsim: %s: out of memory\n", scns[i].name);
				rc = 1;
				continue;
			}
			if (json)
				json_object_array_add(runs, sim_result_json(&scns[i], res));
			else
				sim_print_text(&scns[i], res, !quiet, stdout);
		}
	}
	if (json) {
		json_object *top = json_object_new_object();

		json_object_object_add(top, "migsim_version", json_object_new_string(MIGTUNE_VERSION));
		json_object_object_add(top, "runs", runs);
		puts(json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY |
		                                         JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(top);
	}
	free(res);
	return rc;
}
