/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scenario files (docs/scenarios.md): strict JSON, unknown keys rejected so that a typo cannot
 * silently change a scenario.  Every error names the field: "vms[0].dirty[1].hot_mib: ...".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "sim.h"

#define MIB 1048576.0
#define SCENARIO_MAX_BYTES (1u << 20)

struct sctx {
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int sfail(struct sctx *c, const char *path, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s", path, what);
	/* keys and values come from the input: keep the message on one printable line */
	for (char *p = c->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

static int check_keys(struct sctx *c, json_object *o, const char *path, const char *const *keys)
{
	json_object_object_foreach(o, k, val) {
		bool ok = false;

		(void)val;
		for (const char *const *kk = keys; *kk; kk++)
			if (!strcmp(k, *kk))
				ok = true;
		if (!ok) {
			char buf[300] = "";
			size_t off = 0;

			for (const char *const *kk = keys; *kk && off < sizeof(buf) - 40; kk++)
				off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
				                        kk == keys ? "" : ", ", *kk);
			return sfail(c, path, "unknown key \"%.40s\" (known: %s)", k, buf);
		}
	}
	return 0;
}

/* Optional number in [lo, hi]; *present tells whether it was there. */
static int get_num(struct sctx *c, json_object *o, const char *path, const char *key, double lo,
                   double hi, double *ret, bool *present)
{
	json_object *v;
	double d;

	if (present)
		*present = false;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return sfail(c, path, "%s: expected a number, got %s", key,
		             json_type_to_name(json_object_get_type(v)));
	d = json_object_get_double(v);
	if (!isfinite(d) || d < lo || d > hi)
		return sfail(c, path, "%s: %g is out of range %g..%g", key, d, lo, hi);
	*ret = d;
	if (present)
		*present = true;
	return 0;
}

/* Optional number in [lo, hi], dflt when absent, stored times scale (a unit change) in *ret. */
static int get_u32(struct sctx *c, json_object *o, const char *path, const char *key, double lo,
                   double hi, double dflt, double scale, uint32_t *ret)
{
	double d = dflt;
	int r = get_num(c, o, path, key, lo, hi, &d, NULL);

	if (r < 0)
		return r;
	*ret = (uint32_t)(d * scale + 0.5);
	return 0;
}

static int get_bool(struct sctx *c, json_object *o, const char *path, const char *key, bool *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return sfail(c, path, "%s: expected true or false, got %s", key,
		             json_type_to_name(json_object_get_type(v)));
	*ret = json_object_get_boolean(v);
	return 0;
}

static int get_str(struct sctx *c, json_object *o, const char *path, const char *key, char *buf,
                   size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return sfail(c, path, "%s: expected a string, got %s", key,
		             json_type_to_name(json_object_get_type(v)));
	if (strlen(json_object_get_string(v)) >= len)
		return sfail(c, path, "%s: longer than %zu characters", key, len - 1);
	snprintf(buf, len, "%s", json_object_get_string(v));
	return 0;
}

static int get_array(struct sctx *c, json_object *o, const char *path, const char *key,
                     size_t max, json_object **ret, size_t *ret_n)
{
	json_object *v;

	*ret = NULL;
	*ret_n = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return sfail(c, path, "%s: expected an array, got %s", key,
		             json_type_to_name(json_object_get_type(v)));
	if (json_object_array_length(v) > max)
		return sfail(c, path, "%s: %zu entries, at most %zu supported", key,
		             json_object_array_length(v), max);
	*ret = v;
	*ret_n = json_object_array_length(v);
	return 0;
}

/* Steps over time must come in order: a later entry may not start earlier. */
static int check_order(struct sctx *c, const char *path, uint64_t prev_ms, uint64_t t_ms)
{
	if (t_ms < prev_ms)
		return sfail(c, path, "t_s goes backwards (entries must be in time order)");
	return 0;
}

/*
 * A timeline: an array of steps, or {"steps": [...], "repeat_s": P, "until_s": U} to play the
 * steps again every P seconds from the first one on, until U.  ret_path receives the path of the
 * steps' array ("link" or "link.steps") for the steps' own errors.
 */
static int get_timeline(struct sctx *c, json_object *o, const char *prefix, const char *key,
                        json_object **ret_steps, size_t *ret_n, struct sim_repeat *ret_rep,
                        char *ret_path, size_t pathlen)
{
	static const char *const keys[] = { "steps", "repeat_s", "until_s", NULL };
	char path[80];
	json_object *v;
	double d;
	int r;

	memset(ret_rep, 0, sizeof(*ret_rep));
	snprintf(path, sizeof(path), "%s%s", prefix, key);
	snprintf(ret_path, pathlen, "%s", path);
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
		return get_array(c, o, *prefix ? prefix : "scenario", key, SIM_MAX_STEPS, ret_steps,
		                 ret_n);
	if ((r = check_keys(c, v, path, keys)) < 0)
		return r;
	snprintf(ret_path, pathlen, "%s.steps", path);
	if ((r = get_array(c, v, path, "steps", SIM_MAX_STEPS, ret_steps, ret_n)) < 0)
		return r;
	if (!*ret_steps)
		return sfail(c, path, "steps: missing (the steps to repeat)");
	d = 0;
	if ((r = get_num(c, v, path, "repeat_s", 0.1, 7 * 86400, &d, NULL)) < 0)
		return r;
	ret_rep->every_ms = (uint64_t)(d * 1000);
	d = 0;
	if ((r = get_num(c, v, path, "until_s", 0, 7 * 86400, &d, NULL)) < 0)
		return r;
	ret_rep->until_ms = (uint64_t)(d * 1000);
	if (ret_rep->until_ms && !ret_rep->every_ms)
		return sfail(c, path, "until_s: given without repeat_s");
	return 0;
}

/* Every repeated step must fall within one period from the first step. */
static int check_period(struct sctx *c, const char *steps_path, const struct sim_repeat *rep,
                        uint64_t first_ms, uint64_t t_ms, size_t i)
{
	if (rep->every_ms && t_ms >= first_ms + rep->every_ms)
		return sfail(c, steps_path, "[%zu].t_s: %g s is not within the repeat period (%g s"
		             " from the first step)", i, t_ms / 1000.0, rep->every_ms / 1000.0);
	return 0;
}


/* Distinct bytes per second the guest's first phase writes over one second. */
static double prior_dirty_default(const struct sim_vm *vm)
{
	const struct sim_dirty_phase *ph = vm->nphases ? &vm->phases[0] : NULL;
	double hot, w;

	if (!ph || ph->t_ms)
		return 0;
	hot = (double)ph->hot_bytes;
	w = (double)ph->rate_bps;
	if (hot <= 0 || w <= 0)
		return 0;
	if (ph->pattern == SIM_PATTERN_RANDOM)
		return hot * (1.0 - exp(-w / hot));
	return w < hot ? w : hot;
}
static int parse_vm(struct sctx *c, json_object *o, const char *path, struct sim_vm *vm,
                    unsigned idx, bool recovery)
{
	static const char *const keys[] = {
		"name", "ram_mib", "ram_gib", "page_size", "start_s", "bandwidth_mibps",
		"bandwidth_max_mibps", "downtime_limit_ms", "postcopy_flag", "sla_max_downtime_ms",
		"allow_postcopy", "allow_suspend", "budget_s_per_gib", "reserve_percent", "zero_percent",
		"dirty", "prior_dirty_mibps", "prior_dirty_age_s", "postcopy_recovery", "on_hopeless",
		"allow_abort", "budget_min_s", "downtime_overshoot_ratio", NULL
	};
	char on_hopeless[16] = "", steps_path[96], prefix[40];
	double d;
	bool have_mib, have_gib;
	json_object *arr;
	size_t n;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return sfail(c, path, "expected an object");
	if ((r = check_keys(c, o, path, keys)) < 0)
		return r;
	memset(vm, 0, sizeof(*vm));
	snprintf(vm->name, sizeof(vm->name), "vm%u", idx + 1);
	policy_limits_default(&vm->limits);
	vm->limits.postcopy_recovery = recovery;
	vm->page_size = 4096;
	vm->downtime_limit_ms = 300;
	if ((r = get_str(c, o, path, "name", vm->name, sizeof(vm->name))) < 0)
		return r;
	if ((r = get_num(c, o, path, "ram_mib", 1, 64.0 * 1024 * 1024, &d, &have_mib)) < 0)
		return r;
	if (have_mib)
		vm->ram_bytes = (uint64_t)(d * MIB);
	if ((r = get_num(c, o, path, "ram_gib", 1.0 / 1024, 64.0 * 1024, &d, &have_gib)) < 0)
		return r;
	if (have_gib)
		vm->ram_bytes = (uint64_t)(d * MIB * 1024);
	if (have_mib == have_gib)
		return sfail(c, path, "give exactly one of ram_mib or ram_gib");
	d = 4096;
	if ((r = get_num(c, o, path, "page_size", 512, 1 << 30, &d, NULL)) < 0)
		return r;
	vm->page_size = (uint32_t)d;
	d = 0;
	if ((r = get_num(c, o, path, "start_s", 0, 86400, &d, NULL)) < 0)
		return r;
	vm->start_ms = (uint64_t)(d * 1000);
	d = 0;
	if ((r = get_num(c, o, path, "bandwidth_mibps", 0, 1e7, &d, NULL)) < 0)
		return r;
	vm->cap_bps = (uint64_t)(d * MIB);
	d = 0;
	if ((r = get_num(c, o, path, "bandwidth_max_mibps", 0, 1e7, &d, NULL)) < 0)
		return r;
	vm->limits.bandwidth_max_bps = (uint64_t)(d * MIB);
	if ((r = get_u32(c, o, path, "downtime_limit_ms", 1, 3600000, 300, 1,
	                 &vm->downtime_limit_ms)) < 0 ||
	    (r = get_u32(c, o, path, "sla_max_downtime_ms", 1, 3600000,
	                 vm->limits.sla_max_downtime_ms, 1, &vm->limits.sla_max_downtime_ms)) < 0 ||
	    (r = get_u32(c, o, path, "budget_s_per_gib", 1, 1e6, vm->limits.budget_s_per_gib, 1,
	                 &vm->limits.budget_s_per_gib)) < 0 ||
	    (r = get_u32(c, o, path, "budget_min_s", 0, 1e6, vm->limits.budget_min_s, 1,
	                 &vm->limits.budget_min_s)) < 0 ||
	    (r = get_u32(c, o, path, "downtime_overshoot_ratio", 0, 100, 0, 1000,
	                 &vm->limits.downtime_overshoot_permille)) < 0)
		return r;
	d = vm->limits.reserve_permille / 10.0;
	if ((r = get_num(c, o, path, "reserve_percent", 0, 90, &d, NULL)) < 0)
		return r;
	vm->limits.reserve_permille = (uint16_t)(d * 10);
	if ((r = get_bool(c, o, path, "postcopy_flag", &vm->postcopy_flag)) < 0 ||
	    (r = get_bool(c, o, path, "allow_postcopy", &vm->limits.allow_postcopy)) < 0 ||
	    (r = get_bool(c, o, path, "allow_suspend", &vm->limits.allow_suspend)) < 0 ||
	    (r = get_bool(c, o, path, "postcopy_recovery", &vm->limits.postcopy_recovery)) < 0 ||
	    (r = get_bool(c, o, path, "allow_abort", &vm->limits.allow_abort)) < 0 ||
	    (r = get_str(c, o, path, "on_hopeless", on_hopeless, sizeof(on_hopeless))) < 0)
		return r;
	if (!strcmp(on_hopeless, "abort"))
		vm->limits.on_hopeless = MIG_ON_HOPELESS_ABORT;
	else if (!strcmp(on_hopeless, "park"))
		vm->limits.on_hopeless = MIG_ON_HOPELESS_PARK;
	else if (on_hopeless[0])
		return sfail(c, path, "on_hopeless: \"%s\" is neither \"park\" nor \"abort\"",
		             on_hopeless);

	snprintf(prefix, sizeof(prefix), "%s.", path);
	if ((r = get_timeline(c, o, prefix, "dirty", &arr, &n, &vm->dirty_repeat, steps_path,
	                      sizeof(steps_path))) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		static const char *const pkeys[] = { "t_s", "hot_mib", "hot_gib", "rate_mibps",
		                                     "pattern", NULL };
		json_object *p = json_object_array_get_idx(arr, i);
		struct sim_dirty_phase *ph = &vm->phases[i];
		char ppath[128], pattern[16] = "sequential";
		bool hm, hg;

		snprintf(ppath, sizeof(ppath), "%s[%zu]", steps_path, i);
		if (!json_object_is_type(p, json_type_object))
			return sfail(c, ppath, "expected an object");
		if ((r = check_keys(c, p, ppath, pkeys)) < 0)
			return r;
		d = 0;
		if ((r = get_num(c, p, ppath, "t_s", 0, 86400, &d, NULL)) < 0)
			return r;
		ph->t_ms = (uint64_t)(d * 1000);
		if (i && (r = check_order(c, ppath, vm->phases[i - 1].t_ms, ph->t_ms)) < 0)
			return r;
		if ((r = check_period(c, steps_path, &vm->dirty_repeat, vm->phases[0].t_ms, ph->t_ms,
		                      i)) < 0)
			return r;
		d = 0;
		if ((r = get_num(c, p, ppath, "hot_mib", 0, 64.0 * 1024 * 1024, &d, &hm)) < 0)
			return r;
		if (hm)
			ph->hot_bytes = (uint64_t)(d * MIB);
		if ((r = get_num(c, p, ppath, "hot_gib", 0, 64.0 * 1024, &d, &hg)) < 0)
			return r;
		if (hg)
			ph->hot_bytes = (uint64_t)(d * MIB * 1024);
		if (hm && hg)
			return sfail(c, ppath, "give hot_mib or hot_gib, not both");
		if (ph->hot_bytes > vm->ram_bytes)
			return sfail(c, ppath, "hot set (%.0f MiB) is larger than the guest's RAM "
			             "(%.0f MiB)", ph->hot_bytes / MIB, vm->ram_bytes / MIB);
		d = 0;
		if ((r = get_num(c, p, ppath, "rate_mibps", 0, 1e7, &d, NULL)) < 0)
			return r;
		ph->rate_bps = (uint64_t)(d * MIB);
		if ((r = get_str(c, p, ppath, "pattern", pattern, sizeof(pattern))) < 0)
			return r;
		if (!strcmp(pattern, "sequential"))
			ph->pattern = SIM_PATTERN_SEQUENTIAL;
		else if (!strcmp(pattern, "random"))
			ph->pattern = SIM_PATTERN_RANDOM;
		else
			return sfail(c, ppath, "pattern: \"%s\" is neither \"sequential\" nor \"random\"",
			             pattern);
	}
	vm->nphases = (unsigned)n;
	d = 0;
	if ((r = get_num(c, o, path, "zero_percent", 0, 100, &d, NULL)) < 0)
		return r;
	vm->zero_bytes = (uint64_t)(vm->ram_bytes * d / 100.0);
	if (vm->zero_bytes + (n ? vm->phases[0].hot_bytes : 0) > vm->ram_bytes)
		return sfail(c, path, "zero_percent: %g %% of RAM plus the first hot set (%.0f MiB) is"
		             " more than the RAM", d, vm->phases[0].hot_bytes / MIB);

	/* what the agent's page-sampling measurement saw before the job: by default the workload
	 * at the job's start, over 1 s, counted as distinct bytes like QEMU's sampling does */
	vm->limits.prior_dirty_period_ms = 1000;
	d = prior_dirty_default(vm) / MIB;
	if ((r = get_num(c, o, path, "prior_dirty_mibps", 0, 1e7, &d, NULL)) < 0)
		return r;
	vm->limits.prior_dirty_bps = (uint64_t)(d * MIB);
	d = 30;
	if ((r = get_num(c, o, path, "prior_dirty_age_s", 0, 86400, &d, NULL)) < 0)
		return r;
	vm->limits.prior_dirty_age_ms = (uint32_t)(d * 1000);
	return 0;
}

int sim_scenario_parse(const char *text, size_t len, struct sim_scenario *ret_scn, char *err,
                       size_t errlen)
{
	static const char *const keys[] = {
		"name", "description", "duration_s", "sample_ms", "monitor_delay_ms", "setup_ms",
		"final_stage_uncapped", "postcopy_switch_ms", "switchover_ms", "stream_timeout_s",
		"reconnect_ms", "nic_overhead_percent", "postcopy_recovery", "link", "tenant", "vms",
		"reference", NULL
	};
	char steps_path[96];
	bool recovery = true;       /* migtuned's default, postcopy-recovery = auto */
	struct sctx c = { .err = err, .errlen = errlen };
	struct sim_scenario *s;
	json_tokener *tok;
	json_object *root, *arr;
	enum json_tokener_error jerr;
	size_t n, used;
	double d;
	int r;

	if (len > SCENARIO_MAX_BYTES) {
		snprintf(err, errlen, "scenario: larger than %u bytes", SCENARIO_MAX_BYTES);
		return -E2BIG;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "scenario: contains a NUL byte (not a JSON text file?)");
		return -EINVAL;
	}
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root) {
		unsigned line = 1;

		for (size_t i = 0; i < used && i < len; i++)
			line += text[i] == '\n';
		snprintf(err, errlen, "scenario: JSON %s near line %u",
		         jerr == json_tokener_continue ? "ends early (truncated?)"
		                                       : json_tokener_error_desc(jerr), line);
		return -EINVAL;
	}
	for (size_t i = used; i < len; i++) {
		if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r') {
			json_object_put(root);
			snprintf(err, errlen, "scenario: unexpected text after the JSON object");
			return -EINVAL;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		json_object_put(root);
		return -ENOMEM;
	}
	r = -EINVAL;
	if (!json_object_is_type(root, json_type_object)) {
		sfail(&c, "scenario", "expected a JSON object at the top");
		goto out;
	}
	if (check_keys(&c, root, "scenario", keys) < 0)
		goto out;
	snprintf(s->name, sizeof(s->name), "unnamed");
	if (get_str(&c, root, "scenario", "name", s->name, sizeof(s->name)) < 0 ||
	    get_str(&c, root, "scenario", "description", s->description,
	            sizeof(s->description)) < 0)
		goto out;
	d = 600;
	if (get_num(&c, root, "scenario", "duration_s", 1, 7 * 86400, &d, NULL) < 0)
		goto out;
	s->duration_ms = (uint64_t)(d * 1000);
	if (get_u32(&c, root, "scenario", "sample_ms", 100, 60000, 500, 1, &s->sample_ms) < 0 ||
	    get_u32(&c, root, "scenario", "monitor_delay_ms", 0, 600000, 0, 1,
	            &s->monitor_delay_ms) < 0 ||
	    get_u32(&c, root, "scenario", "setup_ms", 0, 600000, 0, 1, &s->setup_ms) < 0 ||
	    get_u32(&c, root, "scenario", "postcopy_switch_ms", 0, 60000, 3, 1,
	            &s->postcopy_switch_ms) < 0 ||
	    get_u32(&c, root, "scenario", "switchover_ms", 0, 60000, SIM_SWITCHOVER_MS_DEFAULT, 1,
	            &s->switchover_ms) < 0 ||
	    get_u32(&c, root, "scenario", "stream_timeout_s", 0.1, 86400,
	            SIM_STREAM_TIMEOUT_MS_DEFAULT / 1000.0, 1000, &s->stream_timeout_ms) < 0 ||
	    get_u32(&c, root, "scenario", "reconnect_ms", 0, 600000, SIM_RECONNECT_MS_DEFAULT, 1,
	            &s->reconnect_ms) < 0 ||
	    get_u32(&c, root, "scenario", "nic_overhead_percent", 0, 50,
	            SIM_NIC_OVERHEAD_PERMILLE_DEFAULT / 10.0, 10, &s->nic_overhead_permille) < 0)
		goto out;
	if (get_bool(&c, root, "scenario", "final_stage_uncapped", &s->final_uncapped) < 0 ||
	    get_bool(&c, root, "scenario", "postcopy_recovery", &recovery) < 0)
		goto out;

	if (get_timeline(&c, root, "", "link", &arr, &n, &s->link_repeat, steps_path,
	                 sizeof(steps_path)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		static const char *const lkeys[] = { "t_s", "mbit", "carrier", "errors_per_s", "reset",
		                                     "speed_known", NULL };
		json_object *o = json_object_array_get_idx(arr, i);
		struct sim_link_step *l = &s->link[i];
		char path[128];
		bool have;

		snprintf(path, sizeof(path), "%s[%zu]", steps_path, i);
		if (!json_object_is_type(o, json_type_object)) {
			sfail(&c, path, "expected an object");
			goto out;
		}
		if (check_keys(&c, o, path, lkeys) < 0)
			goto out;
		d = 0;
		if (get_num(&c, o, path, "t_s", 0, 7 * 86400, &d, NULL) < 0)
			goto out;
		l->t_ms = (uint64_t)(d * 1000);
		if (i && check_order(&c, path, s->link[i - 1].t_ms, l->t_ms) < 0)
			goto out;
		if (check_period(&c, steps_path, &s->link_repeat, s->link[0].t_ms, l->t_ms, i) < 0)
			goto out;
		if (get_num(&c, o, path, "mbit", 0, 1e7, &d, &have) < 0)
			goto out;
		if (!have && i) {
			l->capacity_bps = s->link[i - 1].capacity_bps;
		} else if (!have) {
			sfail(&c, path, "mbit: missing (link speed in Mbit/s)");
			goto out;
		} else {
			l->capacity_bps = (uint64_t)(d * 1e6 / 8);
		}
		l->carrier = true;
		l->speed_known = i ? s->link[i - 1].speed_known : true;
		if (get_bool(&c, o, path, "carrier", &l->carrier) < 0 ||
		    get_bool(&c, o, path, "reset", &l->reset) < 0 ||
		    get_bool(&c, o, path, "speed_known", &l->speed_known) < 0)
			goto out;
		d = 0;
		if (get_num(&c, o, path, "errors_per_s", 0, 1e9, &d, NULL) < 0)
			goto out;
		l->errors_per_s = (uint32_t)d;
	}
	s->nlink = (unsigned)n;
	if (!n) {
		sfail(&c, "scenario", "link: missing (e.g. \"link\": [{\"t_s\": 0, \"mbit\": 10000}])");
		goto out;
	}

	if (get_timeline(&c, root, "", "tenant", &arr, &n, &s->tenant_repeat, steps_path,
	                 sizeof(steps_path)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		static const char *const tkeys[] = { "t_s", "mibps", NULL };
		json_object *o = json_object_array_get_idx(arr, i);
		char path[128];

		snprintf(path, sizeof(path), "%s[%zu]", steps_path, i);
		if (!json_object_is_type(o, json_type_object)) {
			sfail(&c, path, "expected an object");
			goto out;
		}
		if (check_keys(&c, o, path, tkeys) < 0)
			goto out;
		d = 0;
		if (get_num(&c, o, path, "t_s", 0, 7 * 86400, &d, NULL) < 0)
			goto out;
		s->tenant[i].t_ms = (uint64_t)(d * 1000);
		if (i && check_order(&c, path, s->tenant[i - 1].t_ms, s->tenant[i].t_ms) < 0)
			goto out;
		if (check_period(&c, steps_path, &s->tenant_repeat, s->tenant[0].t_ms,
		                 s->tenant[i].t_ms, i) < 0)
			goto out;
		d = 0;
		if (get_num(&c, o, path, "mibps", 0, 1e7, &d, NULL) < 0)
			goto out;
		s->tenant[i].demand_bps = (uint64_t)(d * MIB);
	}
	s->ntenant = (unsigned)n;

	if (get_array(&c, root, "scenario", "vms", SIM_MAX_VMS, &arr, &n) < 0)
		goto out;
	if (!n) {
		sfail(&c, "scenario", "vms: missing or empty (at least one migrating guest)");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char path[32];

		snprintf(path, sizeof(path), "vms[%zu]", i);
		if (parse_vm(&c, json_object_array_get_idx(arr, i), path, &s->vms[i], (unsigned)i,
		             recovery) < 0)
			goto out;
	}
	s->nvms = (unsigned)n;

	if (get_array(&c, root, "scenario", "reference", SIM_MAX_REFS, &arr, &n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		static const char *const rkeys[] = { "policy", "outcome", "total_s", "bytes_mib",
		                                     "passes", "note", NULL };
		json_object *o = json_object_array_get_idx(arr, i);
		struct sim_ref *ref = &s->refs[i];
		char path[48], note[160];

		snprintf(path, sizeof(path), "reference[%zu]", i);
		if (!json_object_is_type(o, json_type_object)) {
			sfail(&c, path, "expected an object");
			goto out;
		}
		if (check_keys(&c, o, path, rkeys) < 0 ||
		    get_str(&c, o, path, "policy", ref->policy, sizeof(ref->policy)) < 0 ||
		    get_str(&c, o, path, "outcome", ref->outcome, sizeof(ref->outcome)) < 0 ||
		    get_str(&c, o, path, "note", note, sizeof(note)) < 0)
			goto out;
		if (!ref->policy[0]) {
			sfail(&c, path, "policy: missing");
			goto out;
		}
		ref->total_s = ref->bytes_mib = ref->passes = -1;
		if (get_num(&c, o, path, "total_s", 0, 1e7, &ref->total_s, NULL) < 0 ||
		    get_num(&c, o, path, "bytes_mib", 0, 1e12, &ref->bytes_mib, NULL) < 0 ||
		    get_num(&c, o, path, "passes", 0, 1e9, &ref->passes, NULL) < 0)
			goto out;
	}
	s->nrefs = (unsigned)n;
	*ret_scn = *s;
	r = 0;
out:
	json_object_put(root);
	free(s);
	return r;
}

int sim_read_file(const char *path, size_t max_bytes, char **ret_buf, size_t *ret_len, char *err,
		  size_t errlen)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max_bytes) {
		close(fd);
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max_bytes);
		return -E2BIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	buf[got] = '\0';
	*ret_buf = buf;
	*ret_len = got;
	return 0;
}

int sim_scenario_load(const char *path, struct sim_scenario *ret_scn, char *err, size_t errlen)
{
	char *buf = NULL, sub[400];
	size_t len;
	int r;

	r = sim_read_file(path, SCENARIO_MAX_BYTES, &buf, &len, err, errlen);
	if (r < 0)
		return r;
	r = sim_scenario_parse(buf, len, ret_scn, sub, sizeof(sub));
	if (r < 0)
		snprintf(err, errlen, "%s: %s", path, sub);
	free(buf);
	return r;
}
