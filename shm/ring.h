/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * migtune telemetry ring — the shared-memory ABI and its API.
 *
 * One segment in POSIX shared memory (default name "/migtune", i.e. /dev/shm/migtune) holds:
 *
 *   offset 0                 struct ring_header   (RING_HEADER_SIZE bytes, 4096), whose lane table
 *                            holds each lane's head on a cache line of its own
 *   header.domains_offset    domain table: domain_slots x struct ring_domain (128 bytes each)
 *   header.slots_offset      lane_count lanes, one after the other, each slot_count x struct
 *                            ring_slot (128 bytes each)
 *
 * Everything is little- or big-endian as the writer's host; header.endian == 0x1234 read as such
 * tells a reader whether it can decode.  No pointers are stored, only offsets from the segment's
 * start.  docs/ring-abi.md is the full description; this comment is the short one.
 *
 * Writing (threads of one process).  Each writer thread appends to a lane of its own, claimed on
 * its first append (like a per-CPU buffer, per thread): no other thread writes that lane, so an
 * append is plain stores, no atomic instruction and no cache line shared with another writer:
 *   pos = the lane's next position; slot = lane.slots[pos & (slot_count - 1)]
 *   slot.seq = 2*pos+1 ("writing pos"); write barrier; copy the record; write barrier
 *   slot.seq = 2*pos+2 ("pos committed"); lane.head = pos+1
 * Lane 0 is shared by the threads that found no lane free: there a position is claimed with
 * fetch-and-add(lane.head, 1) and the slot with a CAS of slot.seq from its previous committed
 * value (even, < 2*pos+1) to 2*pos+1.  A writer that finds the slot being written by another
 * thread, or already claimed by a later lap, drops its record and counts it in header.dropped: it
 * never waits.
 *
 * Reading (other processes, read-only mapping, trusting nothing), in passes: a pass reads each
 * lane's head once and reads that lane up to it, never chasing the writer onto the cache lines it
 * is writing.  For lane cursor c: s1 = slot.seq; s1 must equal 2*c+2; read barrier; copy; read
 * barrier; s2 = slot.seq; s1 == s2 or the copy is discarded as overwritten.  A slot that holds a
 * later lap tells how far the lane has gone: everything one ring behind it is lost.  Records come
 * out of the lanes merged by time (mono_ns); within a lane in the order they were appended.
 *
 * The magic is written last when a segment is created, so a reader that sees RING_MAGIC sees a
 * complete header.  ABI major changes on any change of meaning; minor on compatible additions
 * (new record types or fields in reserved space).  Readers reject another major.
 */
#ifndef MIGTUNE_SHM_RING_H
#define MIGTUNE_SHM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RING_MAGIC          UINT64_C(0x474e495254474d4d) /* "MMGTRING" little-endian */
#define RING_ENDIAN         0x1234u
#define RING_ABI_MAJOR      2u      /* 2: lanes (1: one head shared by every writer) */
#define RING_ABI_MINOR      2u      /* 2.0 holds every record 1.3 had; 2.1 adds the writer's
                                       identity to the header (struct ring_writer_info); 2.2
                                       RING_SAMPLE_F_END */
#define RING_HEADER_SIZE    4096u
#define RING_SLOT_SIZE      128u
#define RING_DOMAIN_SIZE    128u
#define RING_DEFAULT_NAME   "/migtune"
#define RING_DEFAULT_SLOTS  65536u
#define RING_DEFAULT_DOMAINS 256u
#define RING_MAX_SLOTS      (1u << 24)   /* per lane */
#define RING_DEFAULT_LANES  4u      /* lane 0 shared, three for threads of their own */
#define RING_MAX_LANES      16u
#define RING_MAX_DOMAINS    (1u << 16)
#define RING_PAYLOAD_SIZE   104u
#define RING_NAME_MAX       95u     /* domain name bytes kept in the domain table */
#define RING_TEXT_MAX       64u

/* ---- record types ------------------------------------------------------------------------- */
enum ring_rec_type {
	RING_REC_NONE      = 0,
	RING_REC_SAMPLE    = 1,  /* struct ring_sample: one job-stats sample of a migration */
	RING_REC_EVENT     = 2,  /* struct ring_event: hook call or libvirt event */
	RING_REC_ACTION    = 3,  /* struct ring_action: what the agent did (or would have done) */
	RING_REC_NIC       = 4,  /* struct ring_nic: one NIC sample */
	RING_REC_AGENT     = 5,  /* struct ring_agent: agent lifecycle */
	RING_REC_PREDICTION = 6, /* struct ring_prediction: what the policy predicted for the action
	                            recorded just before it (ABI 1.3) */
	RING_REC_TYPE_MAX  = 6,
};

enum ring_direction { RING_DIR_UNKNOWN = 0, RING_DIR_OUT = 1, RING_DIR_IN = 2 };

enum ring_phase {
	RING_PHASE_UNKNOWN   = 0,
	RING_PHASE_SETUP     = 1,
	RING_PHASE_PRECOPY   = 2,
	RING_PHASE_POSTCOPY  = 3,
	RING_PHASE_SUSPENDED = 4,  /* paused on the source: switchover or a suspend */
	RING_PHASE_DONE      = 5,
	RING_PHASE_FAILED    = 6,  /* failed or aborted */
	RING_PHASE_MAX       = 6,
};

/* Migration sample: what virDomainGetJobStats said, plus what the agent knew at that instant. */
struct ring_sample {
	uint8_t  direction;            /* enum ring_direction */
	uint8_t  phase;                /* enum ring_phase */
	uint8_t  throttle_pct;         /* auto-converge CPU throttle */
	uint8_t  flags;                /* RING_SAMPLE_F_* */
	uint32_t iteration;            /* memory_iteration: pre-copy pass number */
	uint64_t data_total_bytes;
	uint64_t data_processed_bytes;
	uint64_t data_remaining_bytes;
	uint64_t mem_total_bytes;
	uint64_t mem_processed_bytes;
	uint64_t mem_remaining_bytes;
	uint64_t memory_bps;           /* bytes/s, as QEMU measured it */
	uint32_t dirty_pages_per_s;    /* memory_dirty_rate */
	uint32_t page_size;
	uint32_t expected_downtime_ms; /* QEMU's estimate while running, the real one after */
	uint32_t downtime_limit_ms;    /* current max downtime (0 = unknown) */
	uint32_t bandwidth_limit_mibs; /* current max speed, MiB/s (0 = unlimited/unknown) */
	uint32_t elapsed_ms;           /* time_elapsed of the job */
	uint32_t nic_tx_kibps;         /* migration NIC tx, KiB/s (0 = unknown) */
	uint32_t nic_rx_kibps;
	uint32_t postcopy_requests;
	uint32_t reserved;
};
#define RING_SAMPLE_F_POSTCOPY_FLAG 0x01 /* migration was started with VIR_MIGRATE_POSTCOPY */
#define RING_SAMPLE_F_FINAL         0x02 /* final stats of a finished job */
/* ABI 1.2: the state of a post-copy (phase RING_PHASE_POSTCOPY) whose stream broke.  Readers
 * that do not know them see a post-copy, which it still is. */
#define RING_SAMPLE_F_PC_BROKEN     0x04 /* the migration stream broke: the guest runs on the
                                            destination, the pages it lacks are on the source */
#define RING_SAMPLE_F_PC_RECOVERING 0x08 /* a broken post-copy being resumed over a new connection,
                                            no page moved yet */
/* ABI 2.2: the migration ended with this sample; its phase says how: DONE, FAILED, or UNKNOWN
 * when the agent could not learn the outcome.  Its figures are the final statistics when F_FINAL
 * is set too, else the last ones the agent saw.  A reader that does not know it sees the phase. */
#define RING_SAMPLE_F_END           0x10

enum ring_event_source { RING_EVSRC_HOOK = 1, RING_EVSRC_LIBVIRT = 2, RING_EVSRC_AGENT = 3 };

/* ring_event.code of the agent's own events (source RING_EVSRC_AGENT).  ABI 1.1 added
 * RING_AGEV_PRIOR_DIRTY, 1.2 the post-copy codes, 1.3 the overshoot; a reader that does not know
 * a code still has op, subop and text. */
enum ring_agent_event_code {
	RING_AGEV_GENERAL     = 0,     /* op/subop say what ("migration found", "nic selected") */
	RING_AGEV_PRIOR_DIRTY = 1,     /* "dirtyrate prior": the guest's dirty rate measured before
					* the job, as handed to the policy: detail1 KiB/s, detail2
					* how many ms before the job's start it was measured */
	RING_AGEV_PC_BROKEN   = 2,     /* "postcopy broken": detail1 ms of post-copy before the
					* break (0 unknown), detail2 the break's number in the job */
	RING_AGEV_PC_RECOVERING = 3,   /* "postcopy recovering": a resume started; detail1 the
					* attempt's number, detail2 ms broken so far */
	RING_AGEV_PC_RECOVERED = 4,    /* "postcopy recovered": pages move again; detail1 ms this
					* break lasted, detail2 ms broken in the whole job */
	/* ABI 1.3 */
	RING_AGEV_OVERSHOOT   = 5,     /* "overshoot learned": a completed pre-copy job's real
					* downtime (detail1, ms) over the max downtime in force at
					* its end (detail2, ms), taken into the host's estimate of
					* QEMU's downtime overshoot; text the estimate before and
					* after, in permille */
};

/* Event: a hook call (op/subop/extra as libvirt passed them) or a libvirt domain event. */
struct ring_event {
	uint8_t  source;               /* enum ring_event_source */
	uint8_t  reserved[3];
	int32_t  code;                 /* libvirt: event id; hook: 0 */
	int32_t  detail1;              /* libvirt: event type / iteration; hook: 0 */
	int32_t  detail2;              /* libvirt: event detail */
	char     op[16];               /* hook op ("migrate") or libvirt event name ("lifecycle") */
	char     subop[16];            /* hook subop ("begin") or decoded detail ("suspended") */
	char     text[56];             /* hook extra, or a short description */
};

enum ring_action_kind {
	RING_ACT_NONE          = 0,
	RING_ACT_SET_DOWNTIME  = 1,    /* values in ms */
	RING_ACT_SET_BANDWIDTH = 2,    /* values in MiB/s */
	RING_ACT_POSTCOPY      = 3,
	RING_ACT_SUSPEND       = 4,
	RING_ACT_ABORT         = 5,
	RING_ACT_THROTTLE      = 6,    /* vCPU quota, values in percent */
	RING_ACT_HOLD          = 7,    /* policy deliberately waits; reason says why */
	RING_ACT_DUMP          = 8,    /* a dump was written; text names the file */
	/* ABI 1.2: the actuator's post-copy recovery (readers before it skip these records) */
	RING_ACT_PC_INTERRUPT  = 9,    /* a stalled post-copy interrupted to be resumed at once */
	RING_ACT_PC_RESUME     = 10,   /* a broken post-copy resumed; new_value the attempt */
	RING_ACT_KIND_MAX      = 10,
};

enum ring_action_result {
	RING_RES_APPLIED  = 1,
	RING_RES_FAILED   = 2,
	RING_RES_ADVISORY = 3,         /* advisory mode: recorded, not done */
	RING_RES_SKIPPED  = 4,         /* refused by a safety gate */
};

/* Action: a decision of the agent, with the policy's reason. */
struct ring_action {
	uint16_t kind;                 /* enum ring_action_kind */
	uint16_t reason_code;          /* policy-defined reason code */
	uint8_t  result;               /* enum ring_action_result */
	uint8_t  reserved[3];
	int32_t  error;                /* negative errno / libvirt error code when FAILED */
	uint32_t reserved2;
	int64_t  old_value;
	int64_t  new_value;
	char     policy[16];           /* policy name */
	char     reason[56];           /* short human reason with its numbers */
};

/*
 * Prediction (ABI 1.3): written right after an action whose policy predicted its outcome,
 * under the same domain and with the same mono_ns; kind and reason_code repeat the action's.  The
 * action's reason keeps only the first 55 characters of the policy's text: these are its numbers.
 * An action without a prediction (a hold, a bandwidth step, another policy) has no such record.
 */
struct ring_prediction {
	uint16_t kind;                 /* enum ring_action_kind of the action it belongs to */
	uint16_t reason_code;          /* ... and its reason code */
	uint32_t time_ms;              /* the chosen remedy: time to finish from the decision,
	                                  RING_PRED_NEVER: does not finish */
	uint64_t bytes;                /* ... bytes still to send */
	uint32_t downtime_ms;          /* ... the guest's downtime */
	uint32_t wait_ms;              /* what waiting (doing nothing) would take, RING_PRED_NEVER:
	                                  never finishes */
	uint8_t  reserved[80];
};
#define RING_PRED_NEVER UINT32_MAX

/* NIC sample: counters of the interface carrying migrations. */
struct ring_nic {
	uint32_t ifindex;
	char     ifname[16];
	uint8_t  carrier;              /* 1 up, 0 down */
	uint8_t  reserved[3];
	uint64_t tx_bytes;
	uint64_t rx_bytes;
	uint64_t tx_bps;               /* derived rate, bytes/s */
	uint64_t rx_bps;
	uint32_t tx_errors;
	uint32_t rx_errors;
	uint32_t tx_dropped;
	uint32_t rx_dropped;
	uint32_t speed_mbps;           /* link speed, 0 unknown */
	uint32_t reserved2;
	uint64_t tx_packets;
	uint64_t rx_packets;
};

enum ring_agent_kind {
	RING_AGENT_START = 1, RING_AGENT_STOP = 2, RING_AGENT_RELOAD = 3,
	RING_AGENT_CONNECT = 4, RING_AGENT_DISCONNECT = 5, RING_AGENT_NOTE = 6,
};

/* Agent lifecycle. */
struct ring_agent {
	uint8_t  kind;                 /* enum ring_agent_kind */
	uint8_t  reserved[3];
	uint32_t pid;
	char     text[96];
};

/* The record as readers receive it.  mono_ns is CLOCK_MONOTONIC of the writer's host. */
struct ring_record {
	uint16_t type;                 /* enum ring_rec_type */
	uint16_t size;                 /* payload bytes that carry meaning (sizeof the struct) */
	uint32_t domain;               /* domain index into the domain table, RING_NO_DOMAIN if none */
	uint64_t mono_ns;
	union {
		struct ring_sample sample;
		struct ring_event  event;
		struct ring_action action;
		struct ring_nic    nic;
		struct ring_agent  agent;
		struct ring_prediction prediction;
		uint8_t            raw[RING_PAYLOAD_SIZE];
	} u;
};
#define RING_NO_DOMAIN UINT32_MAX

/* ---- layout in the segment ---------------------------------------------------------------- */

struct ring_slot {
	uint64_t seq;                  /* 0 never written; 2p+1 writing pos p; 2p+2 committed pos p */
	struct ring_record rec;        /* 120 bytes */
};

struct ring_domain {
	uint64_t seq;                  /* like a slot: 2i+1 writing index i, 2i+2 committed */
	uint8_t  uuid[16];
	uint64_t first_mono_ns;
	char     name[RING_NAME_MAX + 1]; /* NUL-terminated, truncated */
};

/*
 * What the writer is (ABI 2.1), for the views' header: the agent's mode and default policy, and
 * whether it is a simulator rather than a host's agent.  All zero: not said (an ABI 2.0 writer).
 * A reader shows an unknown mode as unknown and escapes the policy name like any other text.
 */
struct ring_writer_info {
	uint8_t  mode;                 /* enum ring_writer_mode */
	uint8_t  flags;                /* RING_WRITER_F_* */
	uint16_t sim_speed;            /* RING_WRITER_F_SIMULATED: simulated seconds per second of
	                                  the writer's clock; 0 = as fast as it computes */
	uint32_t reserved;
	char     policy[16];           /* default policy, NUL-terminated; "" = not said */
};
enum ring_writer_mode { RING_MODE_UNKNOWN = 0, RING_MODE_ADVISORY = 1, RING_MODE_ACTIVE = 2 };
#define RING_WRITER_F_SIMULATED 0x01u /* migsim: a simulated migration, not a host's */

/* A lane's head, alone on its cache line: the one word its writer publishes per record. */
struct ring_lane {
	uint64_t head;                 /* next position of the lane: those below it are claimed */
	uint8_t  pad[56];
};

struct ring_header {
	uint64_t magic;                /* RING_MAGIC, written last at creation */
	uint16_t endian;               /* RING_ENDIAN in the writer's byte order */
	uint16_t abi_major;
	uint16_t abi_minor;
	uint16_t header_size;          /* RING_HEADER_SIZE */
	uint32_t slot_size;            /* RING_SLOT_SIZE */
	uint32_t slot_count;           /* power of two */
	uint32_t domain_size;          /* RING_DOMAIN_SIZE */
	uint32_t domain_slots;         /* power of two */
	uint64_t domains_offset;
	uint64_t slots_offset;
	uint64_t segment_size;         /* bytes the writer sized the segment to */
	/* writer identity and liveness */
	uint32_t writer_pid;
	uint32_t heartbeat_interval_ms;
	uint64_t writer_start_real_ns; /* CLOCK_REALTIME when the segment was (re)opened for writing */
	uint64_t writer_boot_id_hash;  /* hash of /proc/sys/kernel/random/boot_id: pid reuse guard */
	uint64_t writer_start_ticks;   /* /proc/PID/stat starttime of the writer: pid reuse guard */
	uint64_t heartbeat_mono_ns;    /* updated by the writer at least every heartbeat interval */
	/* clock mapping, refreshed with the heartbeat: real = map_real_ns + (mono - map_mono_ns) */
	uint64_t map_mono_ns;
	uint64_t map_real_ns;
	uint64_t map_seq;              /* odd while the two fields above change */
	uint32_t writer_state;         /* RING_WRITER_* */
	uint32_t lane_count;           /* 1..RING_MAX_LANES lanes of slot_count slots */
	char     hostname[64];
	struct ring_writer_info info;  /* offset 192 (ABI 2.1; zero before) */
	uint8_t  pad0[40];
	uint64_t reserved0;            /* offset 256: ABI 1's single head; 0 */
	uint8_t  pad1[56];
	uint64_t dropped;              /* records dropped by writers on slot contention (lane 0) */
	uint64_t domain_next;          /* next domain index to allocate */
	uint8_t  pad2[176];
	struct ring_lane lanes[RING_MAX_LANES]; /* offset 512; entries past lane_count are zero */
};
#define RING_WRITER_RUNNING 1u
#define RING_WRITER_STOPPED 2u     /* clean shutdown */

/* ---- writer API (the agent) ----------------------------------------------------------------- */

struct ring_writer;

struct ring_create_opts {
	const char *name;              /* shm name, default RING_DEFAULT_NAME */
	uint32_t slot_count;           /* slots per lane, power of two, default RING_DEFAULT_SLOTS */
	uint32_t lanes;                /* 1..RING_MAX_LANES, default RING_DEFAULT_LANES */
	uint32_t domain_slots;         /* power of two, default RING_DEFAULT_DOMAINS */
	mode_t mode;                   /* default 0640 */
	gid_t gid;                     /* (gid_t)-1: leave the creator's group */
	uint32_t heartbeat_interval_ms;/* default 1000 */
	bool keep_stale;               /* refuse to replace a stale segment of ours (-EEXIST) */
	struct ring_writer_info info;  /* written to the header as the writer takes the segment */
};

/* Creates the segment (O_EXCL), adopts the one a writer of this user left when it stopped or died
 * (same geometry: records kept), or replaces whatever else holds the name: a segment of another
 * geometry or ABI, and anything this user cannot vouch for (another owner, links, a non-regular
 * file, writable by others) is unlinked and created anew, never adopted.  A live writer's segment
 * is never touched: -EBUSY.  -EPERM (another user's file that this user may not remove), -EEXIST
 * (a stale segment kept on request, or the name planted again and again while replacing it),
 * -EACCES, -ENOSPC (no room in /dev/shm: every page is allocated at creation and adoption, so this
 * shows here rather than as SIGBUS later), -EINVAL. */
int ring_writer_open(const struct ring_create_opts *opts, struct ring_writer **ret);
void ring_writer_close(struct ring_writer *w, bool unlink);
/* Appends one record; never blocks.  The calling thread's first append claims it a lane of its
 * own, kept until the thread exits; when none is free it shares lane 0 (so does a child process
 * appending to a writer its parent opened).  Returns 0, or -ENOBUFS when dropped on slot
 * contention (lane 0 only). */
int ring_append(struct ring_writer *w, uint16_t type, uint32_t domain, const void *payload,
		size_t len);
int ring_append_at(struct ring_writer *w, uint16_t type, uint32_t domain, uint64_t mono_ns,
		   const void *payload, size_t len);
/* Finds or allocates a domain table index for uuid (16 bytes) and name. */
uint32_t ring_domain_index(struct ring_writer *w, const uint8_t uuid[16], const char *name);
void ring_heartbeat(struct ring_writer *w);
/* Changes the heartbeat interval readers judge liveness by (a writer that changes its period). */
void ring_set_heartbeat_interval(struct ring_writer *w, uint32_t ms);
const char *ring_writer_name(const struct ring_writer *w);
uint64_t ring_writer_head(const struct ring_writer *w);   /* positions claimed, every lane */
/* Records dropped on slot contention so far (header.dropped), for the writer's own metrics. */
uint64_t ring_writer_dropped(const struct ring_writer *w);

/* ---- reader API (tools, tests) ---------------------------------------------------------------- */

struct ring_reader;

enum ring_writer_liveness {
	RING_LIVE = 1,      /* writer process exists and heartbeats */
	RING_STALLED = 2,   /* writer process exists, heartbeat older than 3 intervals */
	RING_DEAD = 3,      /* writer process gone without a clean stop */
	RING_STOPPED = 4,   /* writer shut down cleanly */
};

/* Opens read-only a segment that only root or the calling user can have written: a regular
 * file with one link, owned by one of them, writable by no group or other.  Errors: -ENOENT (no
 * segment: agent not running), -EACCES (not allowed to read it), -EPERM (untrusted: another
 * owner, a link, a FIFO, or writable by others; anyone can create names in /dev/shm), -EPROTO (not
 * a migtune ring or corrupt header), -EPROTONOSUPPORT (other ABI major), -EBADMSG (sizes do not
 * fit the segment), -EAGAIN (being initialised). */
int ring_reader_open(const char *name, struct ring_reader **ret);
/* The same, trusting also segments owned by `owner` (a writer run as that user); (uid_t)-1 adds
 * nobody. */
int ring_reader_open_owner(const char *name, uid_t owner, struct ring_reader **ret);
/* Same over caller-owned bytes (dump files, fuzzing).  The memory must outlive the reader. */
int ring_reader_open_mem(const void *mem, size_t len, struct ring_reader **ret);
void ring_reader_close(struct ring_reader *r);

/* Copies the next committed record into *ret: the oldest (by mono_ns) of what the lanes hold
 * next.  Returns 1 with a record, 0 at the end of a pass (every lane read up to the head it had
 * when the pass began; the next call begins a new one), negative errno on a broken segment.
 * Records overwritten before they could be read are added to *lost (may be NULL).  *ret_seq gets
 * the reader's position: every record returned or lost before this one, so it grows by one per
 * record and from 0 on a fresh ring. */
int ring_read(struct ring_reader *r, struct ring_record *ret, uint64_t *ret_seq, uint64_t *lost);
/* Positions of every lane returned or counted lost so far (≤ ring_reader_head). */
uint64_t ring_reader_cursor(const struct ring_reader *r);
void ring_reader_seek_oldest(struct ring_reader *r);   /* the oldest record each lane holds */
void ring_reader_seek_newest(struct ring_reader *r);   /* only what is appended from now on */
/* Positions claimed in every lane. */
uint64_t ring_reader_head(const struct ring_reader *r);
/* Committed records that failed validation (hostile or corrupt segment) and were skipped. */
uint64_t ring_reader_corrupt(const struct ring_reader *r);
const struct ring_header *ring_reader_header(const struct ring_reader *r);
/* A validated copy of the header (0, or negative errno when it changed to something invalid). */
int ring_reader_snapshot_header(const struct ring_reader *r, struct ring_header *ret);
int ring_reader_liveness(const struct ring_reader *r, uint64_t now_mono_ns);
/* Copies domain idx's entry; -ENOENT when the index was never written or has been reused. */
int ring_domain_lookup(const struct ring_reader *r, uint32_t idx, uint8_t ret_uuid[16],
		       char ret_name[RING_NAME_MAX + 1]);
/* Translate the writer's monotonic time to realtime (ns since epoch) through the clock mapping. */
uint64_t ring_mono_to_real_ns(const struct ring_reader *r, uint64_t mono_ns);
const void *ring_reader_mem(const struct ring_reader *r, size_t *ret_len);

/* ---- helpers shared by writers and readers ---------------------------------------------------- */
const char *ring_rec_type_name(uint16_t type);
const char *ring_phase_name(uint8_t phase);
const char *ring_direction_name(uint8_t dir);
const char *ring_action_name(uint16_t kind);
const char *ring_result_name(uint8_t result);
const char *ring_liveness_name(int liveness);
const char *ring_mode_name(uint8_t mode);        /* "advisory", "active", "?" */
/* Checks a record's type/size/enum fields and NUL-terminated strings; -EBADMSG if not valid. */
int ring_record_validate(const struct ring_record *rec);
void ring_uuid_format(const uint8_t uuid[16], char ret[37]);
int ring_uuid_parse(const char *s, uint8_t ret[16]);
uint64_t ring_now_mono_ns(void);
uint64_t ring_now_real_ns(void);

#endif
