/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migsim --bench: every scenario with QEMU's defaults, the RHV schedules, Nova and adaptive; the
 * table, adaptive's targets (each met or MISSED), and the simulator against the lab's measurements.
 * What each line means: docs/scenarios.md, "The benchmark".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MIB 1048576.0
#define NBENCH SIM_BENCH_NPOLICIES
#define AD (NBENCH - 1)                  /* adaptive comes last */

const char *const sim_bench_policies[SIM_BENCH_NPOLICIES] = {
	"none", "rhv-minimal", "rhv-suspend", "rhv-postcopy", "rhv-verylarge", "nova", "adaptive",
};

/* Targets of the adaptive policy (docs/scenarios.md). */
#define TARGET_HARD_TIME     0.50
#define TARGET_HARD_BYTES    0.60
#define TARGET_DOOMED_SHARE  0.10

struct agg {
	bool converged;                  /* every guest completed, whatever the way */
	bool accepted;                   /* every guest finished the way its owner accepts */
	double total_s, downtime_ms, bytes_mib, first_s;
	uint32_t passes;
	bool sla_held;
};

/* A list of names in a bounded buffer: " a b c ..." */
struct list {
	char buf[1200];
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void list_add(struct list *l, const char *fmt, ...)
{
	size_t len = strlen(l->buf);
	char item[160];
	va_list ap;

	if (l->full)
		return;
	va_start(ap, fmt);
	vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (len + strlen(item) + 6 >= sizeof(l->buf)) {
		snprintf(l->buf + len, sizeof(l->buf) - len, " ...");
		l->full = true;
		return;
	}
	snprintf(l->buf + len, sizeof(l->buf) - len, " %s", item);
}

struct tally {
	size_t nscn, guests;
	size_t lost[3];                  /* adaptive: recovery as the scenario says, on, off */
	struct list lost_list[3];
	size_t lost_by[NBENCH];
	size_t gave_up, gave_up_of;
	struct list gave_up_list;
	size_t over_sla, precopy;
	struct list over_list;
	double *rt, *rb, *ht, *hb, *nt, *nb;
	size_t nr, nh, nn;
	struct list hard_list;
	size_t doomed, doomed_over, doomed_silent, doomed_broken;
	double *shares;
	size_t nshares;
	struct list doomed_list;
	size_t any_acc, ad_acc, only_ad;
	struct list missed_list;
};

/* The items of a list on lines of at most 100 columns, each indented by six spaces. */
static void print_list(const struct list *l, FILE *f)
{
	const char *p = l->buf;
	size_t col = 0;

	while (*p == ' ')
		p++;
	while (*p) {
		size_t n = strcspn(p, " ");

		if (!col || col + 1 + n > 100) {
			fprintf(f, "%s      ", col ? "\n" : "");
			col = 6;
		} else {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, n, f);
		col += n;
		p += n;
		while (*p == ' ')
			p++;
	}
	if (col)
		fputc('\n', f);
}

static void aggregate(const struct sim_result *r, struct agg *a)
{
	memset(a, 0, sizeof(*a));
	a->converged = a->accepted = a->sla_held = true;
	a->first_s = -1;
	for (unsigned i = 0; i < r->nvms; i++) {
		const struct sim_vm_result *v = &r->vms[i];

		if (!sim_outcome_completed((enum sim_outcome)v->outcome))
			a->converged = false;
		if (!sim_vm_finish_accepted(v))
			a->accepted = false;
		if (!v->sla_held)
			a->sla_held = false;
		if (v->total_ms / 1000.0 > a->total_s)
			a->total_s = v->total_ms / 1000.0;
		if (v->downtime_ms > a->downtime_ms)
			a->downtime_ms = (double)v->downtime_ms;
		a->bytes_mib += v->bytes_sent / MIB;
		if (v->passes > a->passes)
			a->passes = v->passes;
		if (v->first_action_ms && (a->first_s < 0 || v->first_action_ms / 1000.0 < a->first_s))
			a->first_s = v->first_action_ms / 1000.0;
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

/* The worst way any guest of a run ended, in a few characters. */
static const char *short_end(const struct sim_result *r)
{
	static const uint8_t rank[] = {
		[SIM_END_COMPLETED] = 0, [SIM_END_POSTCOPY] = 1, [SIM_END_SUSPENDED] = 2,
		[SIM_END_SPLIT_RECOVERED] = 3, [SIM_END_NOT_CONVERGED] = 4,
		[SIM_END_PARKED_NOT_CONVERGED] = 5, [SIM_END_ABORTED] = 6,
		[SIM_END_PARKED_ABORTED] = 7, [SIM_END_INTERRUPTED] = 8, [SIM_END_LOST] = 9,
	};
	enum sim_end worst = SIM_END_COMPLETED;

	for (unsigned i = 0; i < r->nvms; i++) {
		enum sim_end e = (enum sim_end)r->vms[i].end;

		if (e != SIM_END_NONE && rank[e] > rank[worst])
			worst = e;
	}
	switch (worst) {
	case SIM_END_COMPLETED: return "yes";
	case SIM_END_POSTCOPY: return "yes/pc";
	case SIM_END_SUSPENDED: return "yes/susp";
	case SIM_END_SPLIT_RECOVERED: return "yes/split";
	case SIM_END_NOT_CONVERGED: return "no";
	case SIM_END_PARKED_NOT_CONVERGED: return "no/park";
	case SIM_END_ABORTED: return "abort";
	case SIM_END_PARKED_ABORTED: return "park/abort";
	case SIM_END_INTERRUPTED: return "broken";
	case SIM_END_LOST: return "LOST";
	default: return "?";
	}
}

static void print_row(const struct sim_scenario *scn, const char *policy,
                      const struct sim_result *r, const struct agg *a, FILE *f)
{
	char first[16] = "-", ten[16] = "-";

	if (a->first_s >= 0)
		snprintf(first, sizeof(first), "%.1f", a->first_s);
	if (r->tenant_demand_bytes)
		snprintf(ten, sizeof(ten), "%.0f", r->tenant_sent_bytes * 100.0 / r->tenant_demand_bytes);
	fprintf(f, "%-30.30s %-14s %-10s %9.1f %10.0f %-4s %10.1f %7" PRIu32 " %8s %8s\n", scn->name,
	        policy, short_end(r), a->total_s, a->downtime_ms, a->sla_held ? "ok" : "MISS",
	        a->bytes_mib, a->passes, first, ten);
}

static int run_builtin(const struct sim_scenario *scn, const char *name,
                       const struct sim_opts *opts, struct sim_result *res)
{
	struct policy p;

	if (policy_builtin(name, &p) < 0)
		return -ENOENT;
	return sim_run(scn, &p, opts, res);
}

/* The per-guest targets of one scenario. */
static void tally_guests(const struct sim_scenario *scn, const struct sim_result *res,
                         struct tally *t)
{
	const struct sim_result *ad = &res[AD];

	for (unsigned j = 0; j < ad->nvms; j++) {
		const struct sim_vm_result *v = &ad->vms[j], *none = &res[0].vms[j];
		bool accepted = false;

		t->guests++;
		for (size_t k = 0; k < NBENCH; k++) {
			accepted |= sim_vm_finish_accepted(&res[k].vms[j]);
			t->lost_by[k] += res[k].vms[j].outcome == SIM_FAILED;
		}
		if (v->outcome == SIM_FAILED) {
			t->lost[0]++;
			list_add(&t->lost_list[0], "%.40s/%.20s", scn->name, v->name);
		}
		if (none->outcome == SIM_COMPLETED && none->total_ms <= none->budget_ms) {
			t->gave_up_of++;
			if (!sim_outcome_completed((enum sim_outcome)v->outcome)) {
				t->gave_up++;
				list_add(&t->gave_up_list, "%.40s/%.20s(%s)", scn->name, v->name,
				         sim_end_name((enum sim_end)v->end));
			}
		}
		if (v->outcome == SIM_COMPLETED) {
			t->precopy++;
			if (!v->sla_held) {
				t->over_sla++;
				list_add(&t->over_list, "%.40s/%.20s(%" PRIu64 ">%" PRIu32 ")", scn->name,
				         v->name, v->downtime_ms, v->sla_ms);
			}
		}
		if (accepted)
			continue;
		/* doomed: no policy finishes this guest the way its owner accepts; unless the network
		 * broke adaptive's migration (counted above when the guest was lost), which leaves no
		 * waste to judge */
		if (v->outcome == SIM_INTERRUPTED || v->outcome == SIM_FAILED) {
			t->doomed_broken++;
			continue;
		}
		t->doomed++;
		if (!v->have_verdict) {
			t->doomed_silent++;
			list_add(&t->doomed_list, "%.40s/%.20s(no verdict)", scn->name, v->name);
			continue;
		}
		t->shares[t->nshares] = (double)v->bytes_after_verdict / (double)v->ram_bytes;
		if (t->shares[t->nshares] > TARGET_DOOMED_SHARE) {
			t->doomed_over++;
			list_add(&t->doomed_list, "%.40s/%.20s(%.0f%%)", scn->name, v->name,
			         t->shares[t->nshares] * 100);
		}
		t->nshares++;
	}
}

/* Adaptive with post-copy recovery forced on (which = 1) or off (2): lost guests. */
static int tally_recovery(const struct sim_scenario *scn, const struct sim_opts *opts,
                          struct sim_result *res, struct tally *t)
{
	for (int which = 1; which <= 2; which++) {
		struct sim_opts o = *opts;
		int r;

		o.postcopy_recovery = which == 1;
		if ((r = run_builtin(scn, "adaptive", &o, res)) < 0)
			return r;
		for (unsigned j = 0; j < res->nvms; j++) {
			if (res->vms[j].outcome != SIM_FAILED)
				continue;
			t->lost[which]++;
			list_add(&t->lost_list[which], "%.40s/%.20s", scn->name, res->vms[j].name);
		}
	}
	return 0;
}

/* Ratios against the best RHV policy, where both converged; hard = QEMU's defaults do not. */
static int tally_ratios(const struct sim_scenario *scn, const struct agg *a,
                        const struct sim_opts *opts, struct sim_result *scratch, struct tally *t)
{
	int best_t = -1, best_b = -1;
	bool any = false;

	for (size_t k = 0; k < NBENCH; k++) {
		any |= a[k].accepted;
		if (strncmp(sim_bench_policies[k], "rhv-", 4) || !a[k].converged)
			continue;
		if (best_t < 0 || a[k].total_s < a[best_t].total_s)
			best_t = (int)k;
		if (best_b < 0 || a[k].bytes_mib < a[best_b].bytes_mib)
			best_b = (int)k;
	}
	if (any) {
		t->any_acc++;
		if (a[AD].accepted)
			t->ad_acc++;
		else
			list_add(&t->missed_list, "%.60s", scn->name);
	}
	if (!a[AD].converged)
		return 0;
	if (best_t < 0) {
		t->only_ad++;
		return 0;
	}
	t->rt[t->nr] = a[AD].total_s / a[best_t].total_s;
	t->rb[t->nr] = a[AD].bytes_mib / a[best_b].bytes_mib;
	if (!a[0].converged) {
		struct sim_opts noprior = *opts;
		struct agg np;
		int r;

		t->ht[t->nh] = t->rt[t->nr];
		t->hb[t->nh] = t->rb[t->nr];
		list_add(&t->hard_list, "%.40s(%.2f/%.2f)", scn->name, t->ht[t->nh], t->hb[t->nh]);
		t->nh++;
		noprior.no_prior = true;
		if ((r = run_builtin(scn, "adaptive", &noprior, scratch)) < 0)
			return r;
		aggregate(scratch, &np);
		if (np.converged) {
			t->nt[t->nn] = np.total_s / a[best_t].total_s;
			t->nb[t->nn] = np.bytes_mib / a[best_b].bytes_mib;
			t->nn++;
		}
	}
	t->nr++;
	return 0;
}

static const char *met(bool ok)
{
	return ok ? "met" : "MISSED";
}

static void print_targets(struct tally *t, FILE *f)
{
	static const char *const lost_what[3] = {
		"post-copy recovery as each scenario says",
		"post-copy recovery on for every guest",
		"post-copy recovery off for every guest",
	};
	double mt = median(t->ht, t->nh), mb = median(t->hb, t->nh), ms = median(t->shares, t->nshares);
	double worst = t->nshares ? t->shares[t->nshares - 1] : 0;   /* sorted by median() */

	fprintf(f, "\nadaptive's targets over %zu scenarios, %zu guests (each met or MISSED):\n",
	        t->nscn, t->guests);
	/* the target is the first two: migtune resumes a broken post-copy where the host can
	 * (postcopy-recovery = auto, the scenarios' default); the third is what a host that cannot
	 * would see, where post-copy bets the guest on a stream no policy sees break coming */
	for (int i = 0; i < 3; i++) {
		fprintf(f, "  guests lost, %-44s %4zu          %s\n", lost_what[i], t->lost[i],
		        i < 2 ? met(!t->lost[i]) : "(a host without recovery, not a target)");
		print_list(&t->lost_list[i], f);
	}
	fprintf(f, "  given up where QEMU's defaults complete within the budget %4zu of %-4zu %s\n",
	        t->gave_up, t->gave_up_of, met(!t->gave_up));
	print_list(&t->gave_up_list, f);
	fprintf(f, "  pre-copy downtimes over the SLA                           %4zu of %-4zu %s\n",
	        t->over_sla, t->precopy, met(!t->over_sla));
	print_list(&t->over_list, f);
	fprintf(f, "  hard scenarios (%3zu): median time against the best RHV    %5.2f <= %.2f %s\n",
	        t->nh, mt, TARGET_HARD_TIME, met(t->nh && mt <= TARGET_HARD_TIME));
	fprintf(f, "  hard scenarios (%3zu): median bytes against the best RHV   %5.2f <= %.2f %s\n",
	        t->nh, mb, TARGET_HARD_BYTES, met(t->nh && mb <= TARGET_HARD_BYTES));
	fprintf(f, "  doomed guests (%3zu): sent after the verdict, share of RAM  worst %.0f %% <= %.0f %%"
	        " %s\n      (median %.0f %%; %zu over, %zu without a verdict; %zu more the network"
	        " broke, not judged)\n", t->doomed, worst * 100, TARGET_DOOMED_SHARE * 100,
	        met(!t->doomed_over && !t->doomed_silent), ms < 0 ? 0 : ms * 100, t->doomed_over,
	        t->doomed_silent, t->doomed_broken);
	print_list(&t->doomed_list, f);
}

static void print_context(struct tally *t, FILE *f)
{
	fprintf(f, "\nmore of adaptive:\n");
	fprintf(f, "  all scenarios where it and an RHV policy converged (%zu): median time %.2f,"
	        " bytes %.2f\n", t->nr, median(t->rt, t->nr), median(t->rb, t->nr));
	fprintf(f, "  hard, without the dirty rate measured before the job (%zu): median time %.2f,"
	        " bytes %.2f\n", t->nn, median(t->nt, t->nn), median(t->nb, t->nn));
	fprintf(f, "  hard = QEMU's defaults alone (policy \"none\") do not converge within the"
	        " scenario's\n  duration, so the policy decides the outcome; doomed = no policy"
	        " finishes the guest\n  the way its owner accepts (within the SLA, post-copy or"
	        " suspend only where allowed).\n  hard (time/bytes):\n");
	print_list(&t->hard_list, f);
	fprintf(f, "  finished as the owners accept in %zu of the %zu scenarios where any policy did%s\n",
	        t->ad_acc, t->any_acc, *t->missed_list.buf ? "; not in:" : "");
	print_list(&t->missed_list, f);
	fprintf(f, "  converged in %zu scenarios where no RHV policy did\n", t->only_ad);
	fprintf(f, "  guests lost by each policy (recovery as the scenarios say):");
	for (size_t k = 0; k < NBENCH; k++)
		fprintf(f, " %s %zu", sim_bench_policies[k], t->lost_by[k]);
	fputc('\n', f);
}

static int print_references(const struct sim_scenario *scns, size_t nscn,
                            const struct sim_opts *opts, struct sim_result *res, FILE *f)
{
	bool any = false;

	for (size_t i = 0; i < nscn; i++)
		any |= scns[i].nrefs > 0;
	if (!any)
		return 0;
	fprintf(f, "\nsimulator vs measured (scenarios carrying \"reference\" results):\n");
	fprintf(f, "%-20s %-14s %-20s %-20s %6s %6s %6s %9s %9s %6s %10s %10s %6s\n", "scenario",
	        "policy", "measured", "simulated", "meas_p", "sim_p", "diff", "meas_s", "sim_s",
	        "diff", "meas_MiB", "sim_MiB", "diff");
	for (size_t i = 0; i < nscn; i++) {
		for (unsigned k = 0; k < scns[i].nrefs; k++) {
			const struct sim_ref *ref = &scns[i].refs[k];
			const struct sim_vm_result *v = &res->vms[0];
			char ds[16] = "-", db[16] = "-", ms[16] = "-", mb[16] = "-";
			char dp[16] = "-", mp[16] = "-";
			int r = run_builtin(&scns[i], ref->policy, opts, res);

			if (r == -ENOENT)
				continue;
			if (r < 0)
				return r;
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
			fprintf(f, "%-20.20s %-14s %-20s %-20s %6s %6" PRIu32 " %6s %9s %9.1f %6s %10s %10.0f %6s\n",
			        scns[i].name, ref->policy, ref->outcome,
			        sim_outcome_name((enum sim_outcome)v->outcome), mp, v->passes, dp, ms,
			        v->total_ms / 1000.0, ds, mb, v->bytes_sent / MIB, db);
		}
	}
	return 0;
}

static int tally_alloc(struct tally *t, size_t nscn)
{
	size_t guests = nscn * SIM_MAX_VMS + 1;

	memset(t, 0, sizeof(*t));
	t->nscn = nscn;
	t->rt = calloc(nscn + 1, sizeof(double));
	t->rb = calloc(nscn + 1, sizeof(double));
	t->ht = calloc(nscn + 1, sizeof(double));
	t->hb = calloc(nscn + 1, sizeof(double));
	t->nt = calloc(nscn + 1, sizeof(double));
	t->nb = calloc(nscn + 1, sizeof(double));
	t->shares = calloc(guests, sizeof(double));
	return t->rt && t->rb && t->ht && t->hb && t->nt && t->nb && t->shares ? 0 : -ENOMEM;
}

static void tally_free(struct tally *t)
{
	free(t->rt);
	free(t->rb);
	free(t->ht);
	free(t->hb);
	free(t->nt);
	free(t->nb);
	free(t->shares);
}

int sim_bench(const struct sim_scenario *scns, size_t nscn, const struct sim_opts *opts, FILE *f)
{
	struct sim_result *res = calloc(NBENCH + 1, sizeof(*res));
	struct tally *t = malloc(sizeof(*t));
	int r = 0;

	if (!res || !t || tally_alloc(t, nscn) < 0) {
		r = -ENOMEM;
		goto out;
	}
	fprintf(f, "%-30s %-14s %-10s %9s %10s %-4s %10s %7s %8s %8s\n", "scenario", "policy", "end",
	        "total_s", "downtime", "sla", "sent_MiB", "passes", "first_s", "tenant%");
	for (size_t i = 0; i < nscn; i++) {
		struct agg a[NBENCH];

		for (size_t k = 0; k < NBENCH; k++) {
			if ((r = run_builtin(&scns[i], sim_bench_policies[k], opts, &res[k])) < 0)
				goto out;
			aggregate(&res[k], &a[k]);
			print_row(&scns[i], sim_bench_policies[k], &res[k], &a[k], f);
		}
		tally_guests(&scns[i], res, t);
		if ((r = tally_ratios(&scns[i], a, opts, &res[NBENCH], t)) < 0 ||
		    (r = tally_recovery(&scns[i], opts, &res[NBENCH], t)) < 0)
			goto out;
	}
	print_targets(t, f);
	print_context(t, f);
	r = print_references(scns, nscn, opts, &res[NBENCH], f);
out:
	if (t)
		tally_free(t);
	free(t);
	free(res);
	return r;
}
