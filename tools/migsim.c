/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migsim: run migration scenarios against policies; print each run, or the benchmark table.
 * See migsim(1), docs/scenarios.md and docs/policy.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "shm/ring.h"
#include "sim.h"
#include "sim_record.h"

#define MIB 1048576.0
#define MAX_POLICIES 32
#define MAX_SCENARIOS 4096

static void usage(FILE *f)
{
	fprintf(f,
"Usage: migsim [OPTION]... SCENARIO.json...\n"
"       migsim --bench [OPTION]... SCENARIO.json...\n"
"\n"
"Simulate live migrations (QEMU pre-copy, stop-and-copy, post-copy and its recovery, suspend,\n"
"abort; up to 16 migrations sharing one NIC with tenant traffic; carrier losses and stream resets)\n"
"and let a migtune policy tune them, through the same interface as migtuned.  Prints, per run and\n"
"guest: outcome, total time, downtime, bytes sent, passes, how the migration ended, whether the\n"
"guest's SLA held, the policy's verdict and the bytes sent after it, and every action the policy\n"
"took with its time and reason.\n"
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
"      --postcopy-recovery, --no-postcopy-recovery\n"
"                          override every guest's postcopy_recovery: a broken post-copy is\n"
"                          resumed once the link is back, or the guest is lost\n"
"      --no-prior          hide the dirty rate the agent measured before the job (see\n"
"                          prior_dirty_mibps in docs/scenarios.md): adaptive then waits for\n"
"                          two passes of evidence after the bulk pass\n"
"      --ring NAME         also write the records migtuned would (samples, events, actions with\n"
"                          their predictions) to the telemetry ring NAME, marked simulated,\n"
"                          for migtop --ring NAME; never the agent's own (%s)\n"
"      --speed N           with --ring: N simulated seconds per second (default 1; 0: as fast\n"
"                          as it computes, the run ending now)\n"
"      --dump FILE         also write those records to the dump FILE (migdump -d, migtop -r)\n"
"                          --ring and --dump take one scenario and one policy\n"
"  -b, --bench             run every scenario with none, rhv-minimal, rhv-suspend, rhv-postcopy,\n"
"                          rhv-verylarge, nova and adaptive; print the table, adaptive's targets\n"
"                          (guests lost, migrations given up, downtimes over the SLA, ratios\n"
"                          against the best RHV policy, bytes after the verdict), each met or\n"
"                          MISSED, and the simulator against the measured references\n"
"  -h, --help              this text\n"
"  -V, --version           print the version\n"
"\n"
"Exit status: 0 when every run was simulated, 1 on a bad scenario or policy or a ring or dump\n"
"that cannot be written, 2 on usage errors, 130 when a recording was interrupted.\n"
"\n"
"Examples:\n"
"  migsim tests/sim/scenarios/lab-s1.json\n"
"  migsim -p all -q tests/sim/scenarios/*.json\n"
"  migsim -p my-policies.json --sla 300 scenario.json\n"
"  migsim --bench tests/sim/scenarios/*.json\n"
"  migsim --ring /migtune-sim --speed 10 tests/sim/scenarios/lab-s1.json &\n"
"  migtop --ring /migtune-sim\n",
	        policy_builtin_names(), RING_DEFAULT_NAME);
}

static int add_policy(const char *arg, struct policy *pols, size_t *n)
{
	char err[300];

	if (!strcmp(arg, "all")) {
		for (size_t i = 0; i < SIM_BENCH_NPOLICIES; i++) {
			if (*n >= MAX_POLICIES)
				return -E2BIG;
			policy_builtin(sim_bench_policies[i], &pols[(*n)++]);
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
	        "cap=%.1fMiB/s nic=%.1f/%.1fMiB/s carrier=%u phase=%u\n", vm, s->t_ms / 1000.0,
	        s->iteration,
	        s->data_remaining_bytes / MIB, s->data_processed_bytes / MIB, s->memory_bps / MIB,
	        s->dirty_pages_per_s, s->expected_downtime_ms, s->downtime_limit_ms,
	        s->bandwidth_limit_bps / MIB, s->nic_tx_bps / MIB, s->nic_capacity_bps / MIB,
	        s->nic_carrier, s->phase);
}

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* One run, recorded as the agent would record it (--ring, --dump), then printed as usual. */
static int record_run(const struct sim_scenario *scn, const struct policy *pol,
                      struct sim_opts *opts, struct sim_record_opts *rec, struct sim_result *res,
                      bool json, bool quiet)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct sim_recorder *r;
	char err[512];
	int rc;

	rec->scn = scn;
	rec->policy = pol->name;
	rec->stop = &stop_requested;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (sim_recorder_open(rec, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "migsim: %s\n", err);
		return 1;
	}
	opts->obs = &sim_recorder_observer;
	opts->obs_ctx = r;
	rc = sim_run(scn, pol, opts, res);
	bool interrupted = sim_recorder_stopped(r);
	size_t n = 0;
	if (sim_recorder_close(r, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "migsim: %s\n", err);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "migsim: %s: out of memory\n", scn->name);
		return 1;
	}
	if (interrupted) {
		fprintf(stderr, "migsim: interrupted; the ring holds the run up to then\n");
		return 130;
	}
	if (json) {
		json_object *top = json_object_new_object(), *runs = json_object_new_array();

		json_object_array_add(runs, sim_result_json(scn, res));
		json_object_object_add(top, "migsim_version", json_object_new_string(MIGTUNE_VERSION));
		json_object_object_add(top, "runs", runs);
		puts(json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY |
		                                         JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(top);
	} else {
		sim_print_text(scn, res, !quiet, stdout);
	}
	fprintf(stderr, "migsim: %zu records%s%s%s%s\n", n, rec->ring ? " in ring " : "",
	        rec->ring ? rec->ring : "", rec->dump ? (rec->ring ? " and in " : " in ") : "",
	        rec->dump ? rec->dump : "");
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_SLA = 256, OPT_PC, OPT_NOPC, OPT_SUSP, OPT_NOSUSP, OPT_NOPRIOR, OPT_REC,
	       OPT_NOREC, OPT_RING, OPT_SPEED, OPT_DUMP };
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
		{ "postcopy-recovery", no_argument, NULL, OPT_REC },
		{ "no-postcopy-recovery", no_argument, NULL, OPT_NOREC },
		{ "ring", required_argument, NULL, OPT_RING },
		{ "speed", required_argument, NULL, OPT_SPEED },
		{ "dump", required_argument, NULL, OPT_DUMP },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct policy pols[MAX_POLICIES];
	struct sim_scenario *scns = NULL;
	struct sim_opts opts = SIM_OPTS_INIT;
	bool json = false, quiet = false, do_bench = false, speed_set = false;
	struct sim_record_opts rec = { .speed = 1 };
	char ring_name[256];
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
		case OPT_REC: opts.postcopy_recovery = 1; break;
		case OPT_NOREC: opts.postcopy_recovery = 0; break;
		case OPT_RING:
			/* a shm name: one '/' then the name, as migtop --ring takes it with or without */
			if (!optarg[0] || strchr(optarg + 1, '/') ||
			    (size_t)snprintf(ring_name, sizeof(ring_name), "%s%s",
					     optarg[0] == '/' ? "" : "/", optarg) >= 64) {
				fprintf(stderr, "migsim: --ring \"%s\": a ring is named like /migtune-sim "
				        "(no other '/', at most 62 characters)\n", optarg);
				return 2;
			}
			rec.ring = ring_name;
			break;
		case OPT_SPEED:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 0 || v > SIM_RECORD_MAX_SPEED) {
				fprintf(stderr, "migsim: --speed: \"%s\" is not a whole number of simulated "
				        "seconds per second from 0 to %u\n", optarg, SIM_RECORD_MAX_SPEED);
				return 2;
			}
			rec.speed = (unsigned)v;
			speed_set = true;
			break;
		case OPT_DUMP: rec.dump = optarg; break;
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
	if (speed_set && !rec.ring) {
		fprintf(stderr, "migsim: --speed paces a ring: give --ring NAME too\n");
		return 2;
	}
	if ((rec.ring || rec.dump) && (do_bench || argc - optind > 1 || npol > 1)) {
		fprintf(stderr, "migsim: --ring and --dump record one run: one scenario and one policy, "
		        "without --bench\n");
		return 2;
	}
	if (argc - optind > MAX_SCENARIOS) {
		fprintf(stderr, "migsim: at most %d scenarios per run\n", MAX_SCENARIOS);
		return 2;
	}
	scns = calloc((size_t)(argc - optind), sizeof(*scns));
	if (!scns) {
		fprintf(stderr, "migsim: out of memory for %d scenarios\n", argc - optind);
		return 1;
	}
	for (int i = optind; i < argc; i++) {
		char err[512];

		if (sim_scenario_load(argv[i], &scns[nscn], err, sizeof(err)) < 0) {
			fprintf(stderr, "migsim: %s\n", err);
			free(scns);
			return 1;
		}
		nscn++;
	}
	if (do_bench) {
		rc = sim_bench(scns, nscn, &opts, stdout) < 0 ? 1 : 0;
		if (rc)
			fprintf(stderr, "migsim: --bench: out of memory\n");
		free(scns);
		return rc;
	}
	if (!npol)
		policy_builtin("adaptive", &pols[npol++]);

	res = malloc(sizeof(*res));
	if (!res) {
		free(scns);
		return 1;
	}
	if (rec.ring || rec.dump) {
		rc = record_run(&scns[0], &pols[0], &opts, &rec, res, json, quiet);
		free(res);
		free(scns);
		return rc;
	}
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
	free(scns);
	return rc;
}
