/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared decoding of telemetry records for migtop and migdump.
 *
 * collect (a live ring, or a dump file) -> view_feed() one record at a time into a view_state
 * (per-migration latest sample, history, action log, NIC summary) -> output handlers (the ncurses
 * screen, batch text, JSON) that read the state.  Record-by-record output (migdump -d) goes
 * through view_record_print().  The live view, the batch printer and the replay all consume the
 * same decoded records through the same code.
 *
 * Every text that comes from the ring or a dump (domain and host names, the hook's arguments,
 * reasons, NIC names) is escaped with text_escape (shm/escape.h) before any output sees it: the
 * names kept in the state are stored escaped, the record printers escape each field.
 */
#ifndef MIGTUNE_TOOLS_VIEW_DECODE_H
#define MIGTUNE_TOOLS_VIEW_DECODE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "escape.h"
#include "ring.h"

/* Where names and wall-clock time come from (ring or dump). */
struct view_source {
	int (*lookup)(void *ctx, uint32_t idx, char ret_name[RING_NAME_MAX + 1], uint8_t ret_uuid[16]);
	uint64_t (*to_real_ns)(void *ctx, uint64_t mono_ns);
	void *ctx;
};

#define VIEW_HISTORY  240u   /* samples kept per migration for the plots */
#define VIEW_PASSES   128u   /* passes kept per migration */
#define VIEW_LOG      512u   /* actions and events kept for the action log */
#define VIEW_NICS     16u
#define VIEW_MAX_MIGS 1024u  /* rows kept: past it the quarter heard of least recently goes,
			      * ended ones first */
#define VIEW_INDEX_SLOTS (2 * VIEW_MAX_MIGS)

struct view_point {
	uint64_t mono_ns;
	uint32_t elapsed_ms;          /* the job's clock: the plots' time axis */
	double dirty_mibs;
	double bw_mibs;
	uint64_t remaining_bytes;
};

struct view_pass {
	uint32_t iteration;
	uint32_t elapsed_ms;          /* the job's clock at the first sample seen in that pass */
	uint64_t remaining_bytes;     /* at that sample */
};

struct view_mig {
	uint32_t domain;
	char name[TEXT_ESCAPE_SIZE(RING_NAME_MAX)];   /* escaped */
	char uuid[37];
	uint64_t first_mono_ns;
	uint64_t last_mono_ns;
	bool have_sample;
	struct ring_sample s;         /* latest sample */
	bool have_action;
	struct ring_action act;       /* latest action */
	uint64_t act_mono_ns;
	char policy[TEXT_ESCAPE_SIZE(sizeof(((struct ring_action *)0)->policy))];  /* escaped */
	uint32_t n_actions;
	struct view_point hist[VIEW_HISTORY];
	uint32_t hist_n, hist_head;   /* ring of points: oldest at (head - n) */
	struct view_pass passes[VIEW_PASSES];
	uint32_t pass_n, pass_head;
	/* The agent's "migration completed|failed|aborted|unknown" event: the job ended, whatever
	 * its last sample's phase.  Cleared when the next job of the domain starts. */
	bool ended;
	uint64_t ended_mono_ns;
	char outcome[12];             /* "completed", "failed", "aborted", "unknown" */
	/* The policy's prediction recorded right after an action of this job (the ETA's source),
	 * the result of that action, and the job's clock when it was made.  Forgotten when a later
	 * action changes the job without predicting anything. */
	bool have_pred;
	struct ring_prediction pred;
	uint8_t pred_result;          /* enum ring_action_result */
	uint32_t pred_elapsed_ms;
	/* Post-copy breaks (the agent's postcopy events): how many, the time the guest was split
	 * by those that are over, and when the current one began (0: none). */
	uint32_t pc_breaks;
	uint64_t pc_split_ms;
	uint64_t pc_broken_mono_ns;
};

struct view_log_entry {
	uint64_t mono_ns;
	struct ring_record rec;       /* RING_REC_ACTION, _EVENT or _AGENT */
};

struct view_nic {
	uint64_t mono_ns;
	struct ring_nic n;
};

struct view_state {
	struct view_source src;
	struct view_mig *migs;
	size_t n_migs, cap_migs;
	uint32_t index[VIEW_INDEX_SLOTS];  /* domain -> row + 1 (0: free), open addressing */
	struct view_nic nics[VIEW_NICS];
	size_t n_nics;
	struct view_log_entry log[VIEW_LOG];
	uint32_t log_n, log_head;
	uint64_t records;             /* records fed */
	uint64_t invalid;             /* records refused by ring_record_validate */
	uint64_t evicted;             /* rows dropped to stay within VIEW_MAX_MIGS */
	uint64_t lost;                /* overwritten before read (front end adds) */
	uint64_t dropped;             /* dropped by the writer (front end sets) */
	uint64_t newest_mono_ns;
	/* front end fills these for the header */
	char host[TEXT_ESCAPE_SIZE(63)];   /* escaped: view_set_host() */
	struct ring_writer_info writer;    /* mode, default policy, simulated (raw: escape to print) */
	int liveness;                 /* RING_LIVE.. or 0 for a replay */
	uint32_t writer_pid;
	uint64_t now_real_ns;         /* wall-clock of this view (replay: the replayed time) */
	uint64_t now_mono_ns;         /* writer clock of this view */
	const char *label;            /* "live" or the dump file name */
	bool utf8;                    /* the output takes UTF-8: Unicode blocks and ellipses */
};

/* What a row deserves attention for (view_row.attn); the screen colours it, JSON names it. */
enum {
	VIEW_ATTN_NOT_CONVERGING = 1u << 0, /* pre-copy after the bulk pass, the remaining at the start
					     * of its last pass over 90 % of the one before, and the
					     * expected downtime over its limit */
	VIEW_ATTN_OVER_LIMIT     = 1u << 1, /* expected downtime over the max downtime in force after
					     * the bulk pass; or the real one over it, once done */
	VIEW_ATTN_ABOUT_TO_ACT   = 1u << 2, /* the policy predicted the job, as it runs, never
					     * finishes: its next step (a look, an abort, ...) comes */
	VIEW_ATTN_FAILED         = 1u << 3, /* ended failed or aborted, or its last action failed */
	VIEW_ATTN_ADVISORY       = 1u << 4, /* its last action is advice the agent did not apply */
	VIEW_ATTN_SPLIT          = 1u << 5, /* a post-copy whose stream is broken: the guest runs on
	                                       the destination, part of its memory on the source */
};
#define VIEW_N_ATTN 6
const char *view_attn_name(unsigned bit);   /* "not-converging", ... */

/* The ETA of a row, from the policy's prediction (view_mig.pred). */
enum view_eta {
	VIEW_ETA_UNKNOWN = 0,         /* no prediction for this job, or it no longer runs: "-" */
	VIEW_ETA_IN,                  /* finishes in eta_ms */
	VIEW_ETA_NEVER,               /* the prediction says it does not finish as it runs */
	VIEW_ETA_LATE,                /* the predicted time has passed and it still runs */
};

#define VIEW_SPARK_PASSES 8u          /* passes in a row's sparkline */

/* Derived numbers of one row, shared by every output. */
struct view_row {
	const struct view_mig *m;
	const char *dir;
	const char *phase;
	uint32_t pass;
	double progress_pct;          /* < 0 unknown */
	uint64_t remaining_bytes;
	double dirty_mibs;
	double bw_mibs;
	double bw_limit_mibs;         /* 0 unlimited/unknown */
	double nic_tx_mibs, nic_rx_mibs;
	double headroom_mibs;         /* link capacity minus tx; < 0 unknown */
	bool running;                 /* not ended, and followed by a writer (view_mig_running) */
	uint32_t expected_downtime_ms;
	uint32_t downtime_limit_ms;
	uint32_t throttle_pct;
	uint32_t elapsed_ms;
	enum view_eta eta;
	uint32_t eta_ms;              /* VIEW_ETA_IN */
	unsigned attn;                /* VIEW_ATTN_* */
	bool utf8;                    /* view_state.utf8 */
	uint32_t pc_breaks;           /* post-copy breaks of the job */
	double pc_split_s;            /* the guest split by them so far, the current one included */
	char action[48];              /* "downtime 300->500ms", "" */
	char reason[TEXT_ESCAPE_SIZE(sizeof(((struct ring_action *)0)->reason))];  /* escaped */
};

/* Columns of the migration table, shared by the screen and the batch text.  The screen shows
 * the columns of prio 0, then adds the others by prio while the action column (the last) keeps
 * VIEW_ACTION_MIN columns (VIEW_ACTION_WIDE for prio 3 and more), and stops at the first that
 * does not fit. */
struct view_col {
	const char *name;
	int width;                    /* in terminal columns */
	int prio;                     /* 0 always shown; higher dropped first */
	bool left;                    /* left-aligned */
	unsigned attn;                /* VIEW_ATTN_* the screen colours this cell for */
	void (*fmt)(const struct view_row *r, char *buf, size_t len);
};
#define VIEW_ACTION_MIN  28
#define VIEW_ACTION_WIDE 44
extern const struct view_col view_cols[];
extern const size_t view_n_cols;

enum view_sort { VIEW_SORT_DOMAIN, VIEW_SORT_REMAINING, VIEW_SORT_PROGRESS, VIEW_SORT_DIRTY,
		 VIEW_SORT_ELAPSED, VIEW_SORT_MAX };

void view_init(struct view_state *v, const struct view_source *src);
void view_reset(struct view_state *v);  /* forget every record, keep source and header fields */
void view_free(struct view_state *v);
/* The host name of the header, escaped (at most 63 bytes of raw are read). */
void view_set_host(struct view_state *v, const char *raw);
/* What the writer is, from the ring's or the dump's header: "advisory  policy adaptive",
 * "SIMULATED x10  active  policy adaptive"; "mode ?" and "policy ?" for what it did not say.  The
 * policy name is escaped. */
void view_format_writer(const struct ring_writer_info *w, char *buf, size_t len);
/* Feeds one record; invalid ones are counted and ignored.  Returns 0, or -ENOMEM. */
int view_feed(struct view_state *v, const struct ring_record *rec);

/* Forgets finished migrations (done, failed, or never sampled) with no record since cutoff_mono_ns,
 * so that a long-running live view does not grow without bound.  Returns how many went. */
size_t view_prune(struct view_state *v, uint64_t cutoff_mono_ns);

void view_row_fill(const struct view_state *v, const struct view_mig *m, struct view_row *ret);
/* A migration still running as far as the records tell: sampled, not ended, and its writer still
 * following it (a dead or stopped agent's migrations are in an unknown state). */
bool view_mig_running(const struct view_state *v, const struct view_mig *m);
size_t view_running_count(const struct view_state *v);
/* Row order for display: active migrations first, then by the key. */
void view_sorted(const struct view_state *v, enum view_sort key, const struct view_mig **out);
const char *view_sort_name(enum view_sort key);
const struct view_log_entry *view_log_at(const struct view_state *v, uint32_t i); /* 0 = oldest */
const struct view_point *view_hist_at(const struct view_mig *m, uint32_t i);
const struct view_pass *view_pass_at(const struct view_mig *m, uint32_t i);

/* One log entry as a line ("12:01:02 set-downtime applied 300->500 ms: reason"). */
void view_log_format(const struct view_state *v, const struct view_log_entry *e, char *buf,
		     size_t len);
void view_action_format(const struct ring_action *a, char *buf, size_t len);
/* The action column of a row in at most width terminal columns (0: no limit): the action, its
 * result marker ("(advisory)", "(failed)", "(skipped)") and the start of its reason.  What does
 * not fit is cut from the middle of the action ("down…500ms"), never from the marker, and the
 * reason keeps its start. */
void view_action_cell(const struct view_row *r, int width, char *buf, size_t len);
/* A duration for a column: "0:42", "12:34", "1h02m", "123h". */
void view_format_duration(uint64_t ms, char *buf, size_t len);
/* Terminal columns the UTF-8 text s takes (one per character), and the bytes of its longest
 * prefix that fits in cols columns. */
int view_text_cols(const char *s);
size_t view_text_fit(const char *s, int cols);
void view_format_bytes(uint64_t bytes, char *buf, size_t len);
void view_format_time(uint64_t real_ns, bool with_date, char *buf, size_t len);
const char *view_liveness_word(int liveness);

/* Batch text: a header block then one line per migration. */
void view_print_text(FILE *f, const struct view_state *v, enum view_sort key);
/* One JSON object per refresh. */
struct json_object *view_state_json(const struct view_state *v, enum view_sort key);

/* Record by record (migdump -d). */
enum view_format { VIEW_FMT_TEXT, VIEW_FMT_CSV, VIEW_FMT_JSON };
void view_record_csv_header(FILE *f);
void view_record_print(FILE *f, enum view_format fmt, const struct view_source *src,
		       const struct ring_record *rec);

/* Terminal plot: draws series into a rows x cols character grid (row 0 at the top), the newest
 * cols points.  Series a is drawn with ca, b with cb ('X' where both fall); y scale from 0 to the
 * maximum of both over the points drawn. */
void view_plot(char *grid, int rows, int cols, const double *a, const double *b, int n,
	       char ca, char cb, double *ret_max);
/* The same with a logarithmic y scale when log is set: from the smallest positive value of the
 * series, or a tenth of the largest if that is lower (ret_lo), to the largest (ret_hi); points
 * <= 0 are not drawn.  Linear: ret_lo is 0. */
void view_plot_scaled(char *grid, int rows, int cols, const double *a, const double *b, int n,
		      char ca, char cb, bool log, double *ret_lo, double *ret_hi);
/* The time axis under a plot of n points drawn by view_plot: the job's elapsed time (m:ss) of
 * some points, each label beginning in its point's column, none overlapping; a point whose time
 * is VIEW_NO_LABEL gets none.  buf gets cols columns (and its NUL). */
#define VIEW_NO_LABEL UINT32_MAX
void view_time_axis(char *buf, size_t len, int cols, const uint32_t *elapsed_ms, int n);
/* A row's sparkline: the remaining bytes at the start of its last VIEW_SPARK_PASSES passes on a
 * log scale, newest at the right, in Unicode blocks (utf8) or ASCII "_.:-=+*#". */
void view_sparkline(const struct view_mig *m, bool utf8, char *buf, size_t len);

#endif
