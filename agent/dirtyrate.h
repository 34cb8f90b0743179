/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guests' dirty rates, measured before their migrations.
 *
 * QEMU's calc-dirty-rate (libvirt: virDomainStartDirtyRateCalc in page-sampling mode, then the
 * "dirtyrate.*" bulk stats) says how many distinct bytes a guest writes per second over a short
 * window.  The adaptive policy can use that to call a non-converging migration right after the
 * bulk pass.  libvirt runs the calculation under a modify job, which an outgoing migration holds
 * off for ~30 s and then refuses: so it is measured ahead of time, on domains without a job, by a
 * thread of its own (the calls can block), and kept per domain UUID for the tracker to look up
 * when a job starts.
 *
 * The libvirt calls go through struct dirtyrate_ops (virt.c supplies them), so the table, the
 * sweep and the thread run in tests against fabricated domains.  The table is bounded
 * (DIRTYRATE_MAX_DOMAINS) and forgets domains not seen running for DIRTYRATE_FORGET_SWEEPS
 * intervals; a mutex guards it (the tracker thread looks up, the measuring thread stores).
 */
#ifndef MIGTUNE_AGENT_DIRTYRATE_H
#define MIGTUNE_AGENT_DIRTYRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#define DIRTYRATE_PERIOD_S       1u    /* length of one measurement */
#define DIRTYRATE_MAX_DOMAINS    256u  /* table size and domains measured per sweep */
#define DIRTYRATE_FORGET_SWEEPS  3u    /* intervals a domain may go unseen before it is forgotten */
#define DIRTYRATE_SOON_MAX       16u   /* pending "measure soon" requests; more become a sweep */
#define DIRTYRATE_NAME_MAX       255u

/* One measurement. */
struct dirty_measure {
	uint64_t bps;                  /* distinct bytes written per second */
	uint32_t period_ms;            /* length of the window */
	uint64_t measured_mono_ns;     /* CLOCK_MONOTONIC at the end of the window */
};

/* What libvirt's dirtyrate.* stats say of one domain. */
enum dirtyrate_calc_status {
	DIRTYRATE_ABSENT    = -1,      /* no dirtyrate.calc_status in the stats */
	DIRTYRATE_UNSTARTED = 0,
	DIRTYRATE_MEASURING = 1,
	DIRTYRATE_MEASURED  = 2,
};
struct dirtyrate_stat {
	int calc_status;               /* enum dirtyrate_calc_status */
	uint64_t mibs;                 /* dirtyrate.megabytes_per_second (MiB/s) */
	uint32_t period_s;             /* dirtyrate.calc_period, 0 when absent */
	bool page_sampling;            /* calc_mode is page-sampling (or absent: the only mode then) */
};

/*
 * Reads one domain's dirtyrate.* fields from a stats record (virDomainStatsRecord.params).
 * Integers are accepted in any of libvirt's integer types.  Returns 0 (calc_status is
 * DIRTYRATE_ABSENT when the record has none), -EINVAL for a negative rate or period.
 */
int dirtyrate_parse(const virTypedParameter *params, int nparams, struct dirtyrate_stat *ret);

/* bytes/s from a measured stat, 0 when it does not hold a usable page-sampling result. */
uint64_t dirtyrate_stat_bps(const struct dirtyrate_stat *s);

/* A running domain as the list operation reports it. */
struct dirtyrate_dom {
	uint8_t uuid[16];
	char name[DIRTYRATE_NAME_MAX + 1];
	bool busy;                     /* it has a job (or its job could not be read): not measured */
};

/*
 * The libvirt side.  Each writes one line into err on failure (the thread logs it).
 *   list:  running domains, up to max; returns the count, -ENOTCONN without a connection.
 *   start: starts a period_s page-sampling calculation; -EOPNOTSUPP when libvirt or QEMU cannot
 *          (the agent stops trying), -ENOENT when the domain went, another negative errno else.
 *   read:  dirtyrate stats of n domains into ret[n] (DIRTYRATE_ABSENT for those without).
 */
struct dirtyrate_ops {
	int (*list)(void *ctx, struct dirtyrate_dom *ret, size_t max, char *err, size_t errlen);
	int (*start)(void *ctx, const struct dirtyrate_dom *dom, uint32_t period_s, char *err,
		     size_t errlen);
	int (*read)(void *ctx, const struct dirtyrate_dom *doms, size_t n,
		    struct dirtyrate_stat *ret, char *err, size_t errlen);
};

struct dirtyrate;

struct dirtyrate_opts {
	uint32_t interval_s;           /* between sweeps of every running domain (>= 1) */
	uint32_t settle_ms;            /* wait after the period before reading (default 500) */
	uint32_t retry_ms;             /* a sweep that found no connection retries this soon
					* (default 2000) */
	const struct dirtyrate_ops *ops;
	void *ctx;
};

/* The table alone; no thread yet.  -EINVAL without ops or interval. */
int dirtyrate_new(const struct dirtyrate_opts *opts, struct dirtyrate **ret);
/* The ops' context, when it exists only after the table (before dirtyrate_start). */
void dirtyrate_set_ctx(struct dirtyrate *dr, void *ctx);
/* Starts the measuring thread; its first sweep is at once. */
int dirtyrate_start(struct dirtyrate *dr);
/* Stops the thread (waits for a call in progress) and frees.  NULL is fine. */
void dirtyrate_free(struct dirtyrate *dr);

/* ---- any thread ------------------------------------------------------------------------- */
/* Measure uuid about delay_ms from now (it started or resumed). */
void dirtyrate_soon(struct dirtyrate *dr, const uint8_t uuid[16], uint32_t delay_ms);
/* Sweep every domain now (the connection came back). */
void dirtyrate_kick(struct dirtyrate *dr);
/* A new interval (reload); 0 pauses the periodic sweeps. */
void dirtyrate_set_interval(struct dirtyrate *dr, uint32_t interval_s);
/*
 * The latest measurement of uuid whose window ended at or before before_mono_ns.  Returns 0, or
 * -ENOENT when there is none.  Matches tracker_opts.prior_dirty.
 */
int dirtyrate_lookup(void *dr, const uint8_t uuid[16], uint64_t before_mono_ns,
		     struct dirty_measure *ret);
/* Domains in the table. */
size_t dirtyrate_count(struct dirtyrate *dr);
/* True once libvirt or QEMU said it cannot measure (nothing more is tried). */
bool dirtyrate_unsupported(struct dirtyrate *dr);
/* Sweeps done (a sweep that measured at least one domain). */
uint64_t dirtyrate_sweeps(struct dirtyrate *dr);

/* ---- the measuring thread's steps, for tests (no thread running) ----------------------- */
/*
 * One sweep: list, start on every idle domain (all, or only those in the pending "soon" set
 * that are due at now_mono_ns), wait, read, store, forget stale entries.  Returns the number of
 * domains measured, -ENOTCONN, -EOPNOTSUPP (now unsupported), or another negative errno.
 */
int dirtyrate_sweep(struct dirtyrate *dr, bool all);
/* Stores m for uuid, seen at now; evicts the longest unseen entry when full. */
void dirtyrate_store(struct dirtyrate *dr, const uint8_t uuid[16], const char *name,
		     const struct dirty_measure *m);
/* Marks uuid as running at now_mono_ns (keeps its entry). */
void dirtyrate_seen(struct dirtyrate *dr, const uint8_t uuid[16], uint64_t now_mono_ns);
/* Drops entries unseen for DIRTYRATE_FORGET_SWEEPS intervals; returns how many. */
size_t dirtyrate_forget(struct dirtyrate *dr, uint64_t now_mono_ns);

/* Milliseconds between a measurement and a job's start (0 when the job started first). */
uint32_t dirtyrate_age_ms(const struct dirty_measure *m, uint64_t job_start_mono_ns);

#endif
