/* Unit tests of the telemetry ring: layout, writer, reader, validation, adoption, liveness. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <unistd.h>
#include <cmocka.h>

#include "ring.h"

static char shm_name[64];

static int setup(void **state)
{
	static int n;

	snprintf(shm_name, sizeof(shm_name), "/migtune-test-%d-%d", (int)getpid(), n++);
	shm_unlink(shm_name);
	return 0;
}

static int teardown(void **state)
{
	shm_unlink(shm_name);
	return 0;
}

static struct ring_writer *open_writer_lanes(uint32_t slots, uint32_t domains, uint32_t lanes)
{
	struct ring_create_opts o = { .name = shm_name, .slot_count = slots, .lanes = lanes,
				      .domain_slots = domains, .gid = (gid_t)-1 };
	struct ring_writer *w = NULL;

	assert_int_equal(ring_writer_open(&o, &w), 0);
	assert_non_null(w);
	return w;
}

/* With the default lanes: the test's thread appends to lane 1, the first of its own. */
static struct ring_writer *open_writer(uint32_t slots, uint32_t domains)
{
	return open_writer_lanes(slots, domains, 0);
}

static struct ring_sample make_sample(uint32_t iter)
{
	struct ring_sample s = { 0 };

	s.direction = RING_DIR_OUT;
	s.phase = RING_PHASE_PRECOPY;
	s.throttle_pct = 20;
	s.flags = RING_SAMPLE_F_POSTCOPY_FLAG;
	s.iteration = iter;
	s.data_total_bytes = 268435456;
	s.data_processed_bytes = 1000000ull * iter;
	s.data_remaining_bytes = 96ull << 20;
	s.mem_total_bytes = 268435456;
	s.mem_processed_bytes = 999;
	s.mem_remaining_bytes = 95ull << 20;
	s.memory_bps = 20400000;
	s.dirty_pages_per_s = 5072;
	s.page_size = 4096;
	s.expected_downtime_ms = 4934;
	s.downtime_limit_ms = 300;
	s.bandwidth_limit_mibs = 20;
	s.elapsed_ms = 12345;
	s.nic_tx_kibps = 19921;
	s.nic_rx_kibps = 100;
	s.postcopy_requests = 7;
	return s;
}

static void test_layout_and_header(void **state)
{
	struct ring_writer *w = open_writer(64, 8);
	struct ring_reader *r = NULL;
	struct ring_header h;
	struct stat st;
	int fd;

	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	assert_int_equal(ring_reader_snapshot_header(r, &h), 0);
	assert_true(h.magic == RING_MAGIC);
	assert_int_equal(h.endian, RING_ENDIAN);
	assert_int_equal(h.abi_major, RING_ABI_MAJOR);
	assert_int_equal(h.header_size, RING_HEADER_SIZE);
	assert_int_equal(h.slot_size, RING_SLOT_SIZE);
	assert_int_equal(h.slot_count, 64);
	assert_int_equal(h.lane_count, RING_DEFAULT_LANES);
	assert_int_equal(h.domain_slots, 8);
	assert_int_equal(h.domains_offset, RING_HEADER_SIZE);
	assert_int_equal(h.slots_offset, RING_HEADER_SIZE + 8 * RING_DOMAIN_SIZE);
	assert_int_equal(h.segment_size, RING_HEADER_SIZE + 8 * 128 + RING_DEFAULT_LANES * 64 * 128);
	assert_int_equal(h.writer_pid, (uint32_t)getpid());
	assert_int_equal(h.writer_state, RING_WRITER_RUNNING);
	assert_true(h.hostname[0] != '\0');
	assert_int_equal(ring_reader_liveness(r, ring_now_mono_ns()), RING_LIVE);

	/* 0640 whatever the umask */
	fd = shm_open(shm_name, O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_size, (off_t)h.segment_size);
	close(fd);

	ring_reader_close(r);
	ring_writer_close(w, false);
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	assert_int_equal(ring_reader_liveness(r, ring_now_mono_ns()), RING_STOPPED);
	ring_reader_close(r);
}

static void test_round_trip_every_type(void **state)
{
	struct ring_writer *w = open_writer(64, 8);
	struct ring_reader *r = NULL;
	struct ring_record rec;
	struct ring_sample s = make_sample(3);
	struct ring_event ev = { .source = RING_EVSRC_HOOK, .code = 1, .detail1 = 2, .detail2 = 3 };
	struct ring_action act = { .kind = RING_ACT_SET_DOWNTIME, .reason_code = 42,
				   .result = RING_RES_ADVISORY, .error = -5, .old_value = 300,
				   .new_value = 5000 };
	struct ring_nic nic = { .ifindex = 7, .carrier = 1, .tx_bytes = 1, .rx_bytes = 2,
				.tx_bps = 3, .rx_bps = 4, .tx_errors = 5, .rx_errors = 6,
				.tx_dropped = 7, .rx_dropped = 8, .speed_mbps = 10000,
				.tx_packets = 9, .rx_packets = 10 };
	struct ring_agent ag = { .kind = RING_AGENT_START, .pid = 1234 };
	uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	uint32_t dom;
	uint64_t seq, lost = 0;

	strcpy(ev.op, "migrate");
	strcpy(ev.subop, "begin");
	strcpy(ev.text, "-");
	strcpy(act.policy, "adaptive");
	strcpy(act.reason, "needs 4934 ms > limit 300 ms");
	strcpy(nic.ifname, "veth-a");
	strcpy(ag.text, "migtuned 0.1.0 started");

	dom = ring_domain_index(w, uuid, "guest1");
	assert_int_equal(dom, 0);
	assert_int_equal(ring_append_at(w, RING_REC_SAMPLE, dom, 111, &s, sizeof(s)), 0);
	assert_int_equal(ring_append_at(w, RING_REC_EVENT, dom, 222, &ev, sizeof(ev)), 0);
	assert_int_equal(ring_append_at(w, RING_REC_ACTION, dom, 333, &act, sizeof(act)), 0);
	assert_int_equal(ring_append_at(w, RING_REC_NIC, RING_NO_DOMAIN, 444, &nic, sizeof(nic)), 0);
	assert_int_equal(ring_append(w, RING_REC_AGENT, RING_NO_DOMAIN, &ag, sizeof(ag)), 0);

	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	assert_int_equal(ring_read(r, &rec, &seq, &lost), 1);
	assert_int_equal(seq, 0);
	assert_int_equal(rec.type, RING_REC_SAMPLE);
	assert_int_equal(rec.domain, dom);
	assert_int_equal(rec.mono_ns, 111);
	assert_memory_equal(&rec.u.sample, &s, sizeof(s));
	assert_int_equal(ring_read(r, &rec, &seq, &lost), 1);
	assert_int_equal(rec.type, RING_REC_EVENT);
	assert_memory_equal(&rec.u.event, &ev, sizeof(ev));
	assert_int_equal(ring_read(r, &rec, &seq, &lost), 1);
	assert_int_equal(rec.type, RING_REC_ACTION);
	assert_memory_equal(&rec.u.action, &act, sizeof(act));
	assert_int_equal(ring_read(r, &rec, &seq, &lost), 1);
	assert_int_equal(rec.type, RING_REC_NIC);
	assert_int_equal(rec.domain, RING_NO_DOMAIN);
	assert_memory_equal(&rec.u.nic, &nic, sizeof(nic));
	assert_int_equal(ring_read(r, &rec, &seq, &lost), 1);
	assert_int_equal(rec.type, RING_REC_AGENT);
	assert_memory_equal(&rec.u.agent, &ag, sizeof(ag));
	assert_true(rec.mono_ns > 444);
	assert_int_equal(seq, 4);
	assert_int_equal(ring_read(r, &rec, &seq, &lost), 0);
	assert_int_equal(lost, 0);

	/* resume from the cursor: only new records come */
	assert_int_equal(ring_append(w, RING_REC_AGENT, RING_NO_DOMAIN, &ag, sizeof(ag)), 0);
	assert_int_equal(ring_read(r, &rec, &seq, &lost), 1);
	assert_int_equal(seq, 5);
	assert_int_equal(ring_read(r, &rec, &seq, &lost), 0);
	ring_reader_close(r);
	ring_writer_close(w, true);
}

static void test_overwrite_accounting(void **state)
{
	struct ring_writer *w = open_writer(16, 8);
	struct ring_reader *r = NULL;
	struct ring_record rec;
	struct ring_agent ag = { .kind = RING_AGENT_NOTE };
	uint64_t seq, lost = 0, got = 0, expect = 32;

	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	for (uint32_t i = 0; i < 50; i++) {
		ag.pid = i;
		assert_int_equal(ring_append(w, RING_REC_AGENT, RING_NO_DOMAIN, &ag, sizeof(ag)), 0);
	}
	/* 50 written into 16 slots: the first 34 are gone, exactly */
	while (ring_read(r, &rec, &seq, &lost) == 1) {
		assert_int_equal(rec.u.agent.pid, expect + 2);
		assert_int_equal(seq, expect + 2);
		expect++;
		got++;
	}
	assert_int_equal(got, 16);
	assert_int_equal(lost, 34);
	assert_int_equal(ring_reader_cursor(r), 50);

	/* a reader opened later starts at the oldest record still held */
	ring_reader_close(r);
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	assert_int_equal(ring_reader_cursor(r), 34);
	ring_reader_seek_newest(r);   /* only what comes next */
	assert_int_equal(ring_reader_cursor(r), 50);
	assert_int_equal(ring_read(r, &rec, &seq, &lost), 0);
	ag.pid = 50;
	assert_int_equal(ring_append(w, RING_REC_AGENT, RING_NO_DOMAIN, &ag, sizeof(ag)), 0);
	lost = 0;
	assert_int_equal(ring_read(r, &rec, &seq, &lost), 1);
	assert_int_equal(rec.u.agent.pid, 50);
	assert_int_equal(seq, 50);
	assert_int_equal(lost, 0);
	ring_reader_seek_oldest(r);
	assert_int_equal(ring_reader_cursor(r), 35);
	ring_reader_close(r);
	ring_writer_close(w, true);
}

/* Lane `lane`'s slots in a copy of a segment. */
static struct ring_slot *lane_slots(uint8_t *seg, uint32_t lane)
{
	const struct ring_header *h = (const struct ring_header *)seg;

	return (struct ring_slot *)(seg + h->slots_offset) + (size_t)lane * h->slot_count;
}

/* A byte copy of a live segment, for the validation tests. */
static uint8_t *segment_copy(size_t *ret_len)
{
	struct ring_reader *r = NULL;
	const void *mem;
	uint8_t *copy;

	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	mem = ring_reader_mem(r, ret_len);
	copy = malloc(*ret_len);
	assert_non_null(copy);
	memcpy(copy, mem, *ret_len);
	ring_reader_close(r);
	return copy;
}

static void expect_open_mem(const uint8_t *seg, size_t len, int want)
{
	struct ring_reader *r = NULL;
	int rc = ring_reader_open_mem(seg, len, &r);

	assert_int_equal(rc, want);
	if (rc == 0)
		ring_reader_close(r);
}

static void test_header_validation(void **state)
{
	struct ring_writer *w = open_writer(16, 4);
	struct ring_header *h;
	uint8_t *seg, *bad;
	size_t len;

	seg = segment_copy(&len);
	bad = malloc(len);
	assert_non_null(bad);
	h = (struct ring_header *)bad;

#define MUTATE(stmt, want) do { memcpy(bad, seg, len); stmt; expect_open_mem(bad, len, want); } while (0)
	MUTATE((void)0, 0);
	MUTATE(h->magic = 0, -EAGAIN);
	MUTATE(h->magic ^= 1, -EPROTO);
	MUTATE(h->endian = 0x3412, -EPROTO);
	MUTATE(h->abi_major = RING_ABI_MAJOR + 1, -EPROTONOSUPPORT);
	MUTATE(h->slot_size = 64, -EBADMSG);
	MUTATE(h->header_size = 512, -EBADMSG);
	MUTATE(h->domain_size = 256, -EBADMSG);
	MUTATE(h->slot_count = 24, -EBADMSG);
	MUTATE(h->slot_count = 32, -EBADMSG);               /* does not fit the bytes */
	MUTATE(h->lane_count = 0, -EBADMSG);
	MUTATE(h->lane_count = RING_MAX_LANES + 1, -EBADMSG);
	MUTATE(h->lane_count = RING_DEFAULT_LANES + 1, -EBADMSG); /* does not fit the bytes */
	MUTATE(h->domain_slots = 0, -EBADMSG);
	MUTATE(h->slots_offset = len, -EBADMSG);
	MUTATE(h->slots_offset = UINT64_MAX - 100, -EBADMSG);
	MUTATE(h->slots_offset = UINT64_MAX - 63, -EBADMSG);   /* aligned: the end would wrap */
	MUTATE(h->domains_offset = UINT64_MAX - 63, -EBADMSG);
	MUTATE(h->domains_offset = 100, -EBADMSG);
	MUTATE(h->slots_offset = h->domains_offset, -EBADMSG); /* overlapping tables */
	MUTATE(h->slots_offset += 8, -EBADMSG);               /* misaligned */
#undef MUTATE
	expect_open_mem(seg, 100, -EBADMSG);
	expect_open_mem(seg, len - 1, -EBADMSG);
	free(bad);
	free(seg);
	ring_writer_close(w, true);
}

static void test_corrupt_records_skipped(void **state)
{
	struct ring_writer *w = open_writer(16, 4);
	struct ring_reader *r = NULL;
	struct ring_record rec;
	struct ring_event ev = { .source = RING_EVSRC_LIBVIRT };
	struct ring_slot *slots;
	uint64_t lost = 0, seq;
	uint8_t *seg;
	size_t len;
	int n = 0;

	strcpy(ev.op, "lifecycle");
	for (int i = 0; i < 6; i++)
		assert_int_equal(ring_append(w, RING_REC_EVENT, RING_NO_DOMAIN, &ev, sizeof(ev)), 0);
	seg = segment_copy(&len);
	slots = lane_slots(seg, 1);
	slots[0].rec.type = 99;                                  /* unknown type */
	memset(slots[1].rec.u.event.op, 'A', sizeof(ev.op));     /* unterminated string */
	slots[2].rec.size = 3;                                   /* wrong size */
	slots[3].rec.u.event.source = 0;                         /* bad enum */
	slots[4].seq = 1234567;                      /* a later lap's, but of another slot: lies */
	assert_int_equal(ring_reader_open_mem(seg, len, &r), 0);
	while (ring_read(r, &rec, &seq, &lost) == 1) {
		assert_int_equal(seq, 5);
		assert_string_equal(rec.u.event.op, "lifecycle");
		n++;
	}
	assert_int_equal(n, 1);
	assert_int_equal(ring_reader_corrupt(r), 4);
	assert_int_equal(lost, 1);
	ring_reader_close(r);
	free(seg);
	ring_writer_close(w, true);
}

static void test_open_errors(void **state)
{
	struct ring_reader *r = NULL;
	struct ring_writer *w = NULL, *w2 = NULL;
	struct ring_create_opts o = { .name = shm_name, .slot_count = 16, .gid = (gid_t)-1 };
	int fd;

	assert_int_equal(ring_reader_open(shm_name, &r), -ENOENT);
	o.slot_count = 24;
	assert_int_equal(ring_writer_open(&o, &w), -EINVAL);
	o.slot_count = 16;
	o.name = "no-slash";
	assert_int_equal(ring_writer_open(&o, &w), -EINVAL);
	o.name = "/a/b";
	assert_int_equal(ring_writer_open(&o, &w), -EINVAL);
	o.name = shm_name;

	/* a live writer's segment is never replaced */
	assert_int_equal(ring_writer_open(&o, &w), 0);
	assert_int_equal(ring_writer_open(&o, &w2), -EBUSY);
	ring_writer_close(w, true);

	/* a segment that is not a ring: readers say so; a writer replaces it (nobody owns it) */
	fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8192), 0);
	assert_int_equal(pwrite(fd, "garbage!", 8, 0), 8);
	close(fd);
	assert_int_equal(ring_reader_open(shm_name, &r), -EPROTO);
	o.keep_stale = true;
	assert_int_equal(ring_writer_open(&o, &w), -EEXIST);
	o.keep_stale = false;
	assert_int_equal(ring_writer_open(&o, &w), 0);
	ring_writer_close(w, true);

	/* too small to hold a header */
	fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 100), 0);
	close(fd);
	assert_int_equal(ring_reader_open(shm_name, &r), -EBADMSG);
}

static void test_adoption_keeps_history(void **state)
{
	struct ring_writer *w = open_writer(32, 4);
	struct ring_reader *r = NULL;
	struct ring_record rec;
	struct ring_agent ag = { .kind = RING_AGENT_NOTE };
	struct ring_create_opts o = { .name = shm_name, .slot_count = 64, .domain_slots = 4,
				      .gid = (gid_t)-1 };
	uint8_t uuid[16] = { 9 };
	uint64_t lost = 0;
	uint32_t dom;
	int n = 0;

	dom = ring_domain_index(w, uuid, "kept");
	for (uint32_t i = 0; i < 10; i++) {
		ag.pid = i;
		assert_int_equal(ring_append(w, RING_REC_AGENT, dom, &ag, sizeof(ag)), 0);
	}
	ring_writer_close(w, false);

	/* same geometry: adopted, history kept, sequence goes on */
	w = open_writer(32, 4);
	assert_int_equal(ring_writer_head(w), 10);
	assert_int_equal(ring_domain_index(w, uuid, "kept"), dom);
	ag.pid = 10;
	assert_int_equal(ring_append(w, RING_REC_AGENT, dom, &ag, sizeof(ag)), 0);
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	while (ring_read(r, &rec, NULL, &lost) == 1) {
		assert_int_equal(rec.u.agent.pid, (uint32_t)n);
		n++;
	}
	assert_int_equal(n, 11);
	assert_int_equal(lost, 0);
	ring_reader_close(r);
	ring_writer_close(w, false);

	/* other geometry: replaced by a fresh segment */
	assert_int_equal(ring_writer_open(&o, &w), 0);
	assert_int_equal(ring_writer_head(w), 0);
	ring_writer_close(w, true);
}

/* What the writer is goes to the header at creation, and is the new writer's after adoption. */
static void test_writer_info(void **state)
{
	struct ring_create_opts o = { .name = shm_name, .slot_count = 32, .domain_slots = 4,
				      .gid = (gid_t)-1 };
	struct ring_writer *w = NULL;
	struct ring_reader *r = NULL;
	struct ring_header h;

	/* an agent says nothing: all zero, read as not said */
	w = open_writer(32, 4);
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	assert_int_equal(ring_reader_snapshot_header(r, &h), 0);
	assert_int_equal(h.abi_minor, RING_ABI_MINOR);
	assert_int_equal(h.info.mode, RING_MODE_UNKNOWN);
	assert_int_equal(h.info.flags, 0);
	assert_string_equal(h.info.policy, "");
	assert_string_equal(ring_mode_name(h.info.mode), "?");
	ring_reader_close(r);
	ring_writer_close(w, false);

	/* adopted by a simulator at ten times real time: its identity replaces the agent's */
	o.info.mode = RING_MODE_ACTIVE;
	o.info.flags = RING_WRITER_F_SIMULATED;
	o.info.sim_speed = 10;
	o.info.reserved = 77;                             /* not the writer's to set */
	memset(o.info.policy, 'x', sizeof(o.info.policy)); /* no NUL: cut to 15 */
	assert_int_equal(ring_writer_open(&o, &w), 0);
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	assert_int_equal(ring_reader_snapshot_header(r, &h), 0);
	assert_int_equal(h.info.mode, RING_MODE_ACTIVE);
	assert_int_equal(h.info.flags, RING_WRITER_F_SIMULATED);
	assert_int_equal(h.info.sim_speed, 10);
	assert_int_equal(h.info.reserved, 0);
	assert_int_equal(strlen(h.info.policy), sizeof(h.info.policy) - 1);
	assert_string_equal(ring_mode_name(h.info.mode), "active");
	ring_reader_close(r);
	ring_writer_close(w, false);

	o.info = (struct ring_writer_info){ .mode = RING_MODE_ADVISORY };
	snprintf(o.info.policy, sizeof(o.info.policy), "adaptive");
	assert_int_equal(ring_writer_open(&o, &w), 0);
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	assert_int_equal(ring_reader_snapshot_header(r, &h), 0);
	assert_int_equal(h.info.mode, RING_MODE_ADVISORY);
	assert_int_equal(h.info.flags, 0);
	assert_int_equal(h.info.sim_speed, 0);
	assert_string_equal(h.info.policy, "adaptive");
	assert_string_equal(ring_mode_name(h.info.mode), "advisory");
	/* a mode this reader does not know reads as unknown */
	assert_string_equal(ring_mode_name(200), "?");
	ring_reader_close(r);
	ring_writer_close(w, true);
}

static void test_domain_table(void **state)
{
	struct ring_writer *w = open_writer(16, 4);
	struct ring_reader *r = NULL;
	uint8_t u[16], got[16];
	char name[RING_NAME_MAX + 1], longname[300];
	uint32_t idx[6];

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (int i = 0; i < 6; i++) {
		char n[16];

		memset(u, i, sizeof(u));
		snprintf(n, sizeof(n), "dom%d", i);
		idx[i] = ring_domain_index(w, u, i == 5 ? longname : n);
		assert_int_equal(idx[i], (uint32_t)i);
	}
	memset(u, 4, sizeof(u));
	assert_int_equal(ring_domain_index(w, u, "dom4"), 4);  /* found again, not re-added */
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	/* 6 domains in 4 entries: 0 and 1 were reused */
	assert_int_equal(ring_domain_lookup(r, idx[0], got, name), -ENOENT);
	assert_int_equal(ring_domain_lookup(r, idx[1], got, name), -ENOENT);
	assert_int_equal(ring_domain_lookup(r, idx[2], got, name), 0);
	assert_string_equal(name, "dom2");
	memset(u, 2, sizeof(u));
	assert_memory_equal(got, u, 16);
	assert_int_equal(ring_domain_lookup(r, idx[5], got, name), 0);
	assert_int_equal(strlen(name), RING_NAME_MAX);
	assert_int_equal(ring_domain_lookup(r, RING_NO_DOMAIN, got, name), -ENOENT);
	assert_int_equal(ring_domain_lookup(r, 77, got, name), -ENOENT);
	ring_reader_close(r);
	ring_writer_close(w, true);
}

static void test_clock_mapping(void **state)
{
	struct ring_writer *w = open_writer(16, 4);
	struct ring_reader *r = NULL;
	uint64_t mono = ring_now_mono_ns(), real = ring_now_real_ns(), mapped;

	ring_heartbeat(w);
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	mapped = ring_mono_to_real_ns(r, mono);
	assert_true(mapped > real - 50000000ull && mapped < real + 50000000ull);
	mapped = ring_mono_to_real_ns(r, mono - 5000000000ull);
	assert_true(mapped > real - 5050000000ull && mapped < real - 4950000000ull);
	ring_reader_close(r);
	ring_writer_close(w, true);
}

static void test_killed_writer(void **state)
{
	struct ring_reader *r = NULL;
	struct ring_record rec;
	int pipefd[2], status;
	uint64_t lost = 0, n = 0, last = 0, start;
	pid_t pid;
	char c;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ring_writer *w = open_writer(1024, 4);
		struct ring_agent ag = { .kind = RING_AGENT_NOTE };

		for (uint32_t i = 0; i < 100; i++) {
			ag.pid = i;
			ring_append(w, RING_REC_AGENT, RING_NO_DOMAIN, &ag, sizeof(ag));
		}
		if (write(pipefd[1], "r", 1) != 1)
			_exit(2);
		for (uint32_t i = 100;; i++) {   /* until killed, mid-stream */
			ag.pid = i;
			ring_append(w, RING_REC_AGENT, RING_NO_DOMAIN, &ag, sizeof(ag));
		}
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	usleep(2000);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	assert_int_equal(ring_reader_liveness(r, ring_now_mono_ns()), RING_DEAD);
	start = ring_reader_cursor(r);
	while (ring_read(r, &rec, NULL, &lost) == 1) {
		if (n > 0)
			assert_true(rec.u.agent.pid > last);
		last = rec.u.agent.pid;
		n++;
	}
	assert_true(n > 0);
	/* every claimed position is either returned or counted lost, exactly */
	assert_int_equal(n + lost, ring_reader_head(r) - start);
	ring_reader_close(r);
}

static void append_notes(struct ring_writer *w, uint32_t from, uint32_t n)
{
	struct ring_agent ag = { .kind = RING_AGENT_NOTE };

	for (uint32_t i = 0; i < n; i++) {
		ag.pid = from + i;
		assert_int_equal(ring_append(w, RING_REC_AGENT, RING_NO_DOMAIN, &ag, sizeof(ag)), 0);
	}
}

/* ---- lanes ------------------------------------------------------------------------------------ */

struct lane_job {
	struct ring_writer *w;
	uint32_t id, count;
	pthread_barrier_t *hold;        /* waited on after appending (NULL: exit at once) */
};

/* Appends `count` notes whose times interleave with the other jobs' (mono_ns = i * 10 + id). */
static void *lane_job_main(void *arg)
{
	struct lane_job *j = arg;
	struct ring_agent ag = { .kind = RING_AGENT_NOTE };

	for (uint32_t i = 0; i < j->count; i++) {
		ag.pid = j->id << 16 | i;
		if (ring_append_at(j->w, RING_REC_AGENT, j->id, (uint64_t)i * 10 + j->id, &ag,
				   sizeof(ag)) != 0)
			return (void *)1;
	}
	if (j->hold)
		pthread_barrier_wait(j->hold);
	return NULL;
}

static uint64_t lane_head_of(uint32_t lane)
{
	struct ring_reader *r = NULL;
	uint64_t head;

	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	head = ring_reader_header(r)->lanes[lane].head;
	ring_reader_close(r);
	return head;
}

/* Each writer thread appends to a lane of its own; the reader merges them back by time, each
 * thread's records in the order it appended them. */
static void test_lane_per_thread(void **state)
{
	struct ring_writer *w = open_writer(64, 4);
	struct ring_reader *r = NULL;
	struct ring_record rec;
	struct lane_job jobs[3];
	pthread_barrier_t all_appended;         /* none exits (and frees its lane) before the others */
	pthread_t th[3];
	uint64_t seq, lost = 0, n = 0, last_mono = 0;
	void *rc;

	assert_int_equal(pthread_barrier_init(&all_appended, NULL, 3), 0);
	for (uint32_t i = 0; i < 3; i++) {
		jobs[i] = (struct lane_job){ w, i + 1, 20, &all_appended };
		assert_int_equal(pthread_create(&th[i], NULL, lane_job_main, &jobs[i]), 0);
	}
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(th[i], &rc), 0);
		assert_null(rc);
	}
	pthread_barrier_destroy(&all_appended);
	/* three threads at once, three lanes of their own: none shared lane 0 */
	assert_int_equal(lane_head_of(0), 0);
	for (uint32_t l = 1; l < 4; l++)
		assert_int_equal(lane_head_of(l), 20);
	assert_int_equal(ring_writer_head(w), 60);

	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	while (ring_read(r, &rec, &seq, &lost) == 1) {
		/* merged by time: 1, 2, 3 (each thread's first), 11, 12, 13, ... */
		assert_int_equal(seq, n);
		assert_true(rec.mono_ns > last_mono);
		assert_int_equal(rec.mono_ns, (n / 3) * 10 + n % 3 + 1);
		assert_int_equal(rec.domain, n % 3 + 1);
		assert_int_equal(rec.u.agent.pid, rec.domain << 16 | (uint32_t)(n / 3));
		last_mono = rec.mono_ns;
		n++;
	}
	assert_int_equal(n, 60);
	assert_int_equal(lost, 0);
	ring_reader_close(r);
	ring_writer_close(w, true);
}

/* A thread that finds every lane taken shares lane 0; a lane comes free when its thread exits. */
static void test_shared_lane_and_release(void **state)
{
	struct ring_writer *w = open_writer_lanes(64, 4, 2);
	struct lane_job holder, other, later;
	pthread_barrier_t hold;
	pthread_t th[3];
	void *rc;

	assert_int_equal(pthread_barrier_init(&hold, NULL, 2), 0);
	holder = (struct lane_job){ w, 1, 5, &hold };
	assert_int_equal(pthread_create(&th[0], NULL, lane_job_main, &holder), 0);
	while (lane_head_of(1) < 5)
		usleep(1000);
	/* lane 1 is held by a live thread: the next thread goes to lane 0 */
	other = (struct lane_job){ w, 2, 7, NULL };
	assert_int_equal(pthread_create(&th[1], NULL, lane_job_main, &other), 0);
	assert_int_equal(pthread_join(th[1], &rc), 0);
	assert_null(rc);
	assert_int_equal(lane_head_of(0), 7);
	assert_int_equal(lane_head_of(1), 5);
	/* the holder exits: its lane is free for the next thread */
	pthread_barrier_wait(&hold);
	assert_int_equal(pthread_join(th[0], &rc), 0);
	later = (struct lane_job){ w, 3, 3, NULL };
	assert_int_equal(pthread_create(&th[2], NULL, lane_job_main, &later), 0);
	assert_int_equal(pthread_join(th[2], &rc), 0);
	assert_int_equal(lane_head_of(1), 8);
	assert_int_equal(lane_head_of(0), 7);
	pthread_barrier_destroy(&hold);
	ring_writer_close(w, true);
}

/* A child forked from a writing process shares the segment, not its parent's lanes: its appends to
 * the inherited writer go to lane 0, while a writer it opens itself gives it lanes of its own. */
static void test_forked_child_uses_lane_0(void **state)
{
	struct ring_writer *w = open_writer(64, 4);
	int status;
	pid_t pid;

	append_notes(w, 0, 3);                  /* this thread: lane 1 */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ring_agent ag = { .kind = RING_AGENT_NOTE };

		for (int i = 0; i < 4; i++)
			if (ring_append(w, RING_REC_AGENT, RING_NO_DOMAIN, &ag, sizeof(ag)) != 0)
				_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(lane_head_of(0), 4);
	assert_int_equal(lane_head_of(1), 3);
	append_notes(w, 3, 1);                  /* the parent keeps its lane */
	assert_int_equal(lane_head_of(1), 4);
	ring_writer_close(w, true);
}

/* A pass reads up to the heads it saw when it began, then says 0 even though more was appended
 * since: the next call begins a pass that reads them.  Readers thus stay off the lines the writer
 * is writing. */
static void test_pass_ends_at_its_heads(void **state)
{
	struct ring_writer *w = open_writer(64, 4);
	struct ring_reader *r = NULL;
	struct ring_record rec;
	uint64_t lost = 0;

	append_notes(w, 0, 3);
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	assert_int_equal(ring_read(r, &rec, NULL, &lost), 1);  /* the pass sees heads 3 */
	append_notes(w, 3, 2);
	assert_int_equal(ring_read(r, &rec, NULL, &lost), 1);
	assert_int_equal(ring_read(r, &rec, NULL, &lost), 1);
	assert_int_equal(rec.u.agent.pid, 2);
	assert_int_equal(ring_read(r, &rec, NULL, &lost), 0);  /* end of the pass */
	assert_int_equal(ring_read(r, &rec, NULL, &lost), 1);  /* a new one */
	assert_int_equal(rec.u.agent.pid, 3);
	assert_int_equal(ring_read(r, &rec, NULL, &lost), 1);
	assert_int_equal(ring_read(r, &rec, NULL, &lost), 0);
	assert_int_equal(lost, 0);
	ring_reader_close(r);
	ring_writer_close(w, true);
}

/* A reader the writer laps in the middle of a pass does not go on from the oldest record left,
 * the one the writer overwrites next, but from the newest sixteenth of the lane as the head says
 * now: recent records, far from the writer's front.  Before a pass, a lapped reader starts at the
 * oldest record held (nothing intact is skipped when the writer is quiet). */
static void test_lapped_within_a_pass(void **state)
{
	struct ring_writer *w = open_writer(64, 4);
	struct ring_reader *r = NULL;
	struct ring_record rec;
	uint64_t lost = 0;

	append_notes(w, 0, 64);
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	assert_int_equal(ring_read(r, &rec, NULL, &lost), 1);  /* record 0; the pass ends at 64 */
	assert_int_equal(rec.u.agent.pid, 0);
	append_notes(w, 64, 2);                                 /* 64 and 65 overwrite 0 and 1 */
	assert_int_equal(ring_read(r, &rec, NULL, &lost), 1);
	assert_int_equal(rec.u.agent.pid, 62);                  /* head 66, minus 64/16 */
	assert_int_equal(lost, 61);                             /* 1 to 61 */
	for (uint32_t pid = 63; pid < 66; pid++) {             /* the pass now ends at 66 */
		assert_int_equal(ring_read(r, &rec, NULL, &lost), 1);
		assert_int_equal(rec.u.agent.pid, pid);
	}
	assert_int_equal(ring_read(r, &rec, NULL, &lost), 0);
	assert_int_equal(lost, 61);

	/* lapped before the pass, by a writer that has stopped: the oldest held on */
	append_notes(w, 66, 100);
	assert_int_equal(ring_read(r, &rec, NULL, &lost), 1);
	assert_int_equal(rec.u.agent.pid, 166 - 64);
	assert_int_equal(lost, 61 + 166 - 64 - 66);
	ring_reader_close(r);
	ring_writer_close(w, true);
}

/* ---- uncommitted slots: bounded reading ------------------------------------------------------ */

/* Positions claimed in the segment but never committed (a writer that dropped them or died
 * mid-record, or a hostile segment made of nothing else): `holes` of them after `before` records,
 * then `after` records.  The head is moved through a second, writable mapping. */
/* In lane 0, shared by writer threads: where a dropped record leaves its position. */
static void claim_holes(uint64_t holes)
{
	int fd = shm_open(shm_name, O_RDWR, 0);
	struct ring_header *h;

	assert_true(fd >= 0);
	h = mmap(NULL, RING_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(h != MAP_FAILED);
	close(fd);
	__atomic_fetch_add(&h->lanes[0].head, holes, __ATOMIC_SEQ_CST);
	munmap(h, RING_HEADER_SIZE);
}

/* read(2) calls this process has made so far (/proc/self/io): what looking up a writer's
 * liveness costs, counted instead of timed. */
static uint64_t read_syscalls(void)
{
	char buf[512];
	unsigned long long v = 0;
	const char *p;
	ssize_t n;
	int fd = open("/proc/self/io", O_RDONLY);

	if (fd < 0)
		fail_msg("/proc/self/io cannot be read: cannot count the reader's lookups");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	p = strstr(buf, "syscr:");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "syscr: %llu", &v), 1);
	return v;
}

/* A writer that died with thousands of claimed, uncommitted positions: the reader counts them
 * lost after one look at its liveness, not one per slot (a hostile 128 MiB ring of such slots
 * took seconds to read). */
static void test_dead_writer_holes_one_lookup(void **state)
{
	struct ring_reader *r = NULL;
	struct ring_record rec;
	uint64_t lost = 0, n = 0, before, after;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct ring_writer *w = open_writer_lanes(4096, 4, 1);

		append_notes(w, 0, 10);
		claim_holes(3000);
		append_notes(w, 10, 10);
		_exit(0);               /* dies as a writer: no clean stop */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	assert_int_equal(ring_reader_liveness(r, ring_now_mono_ns()), RING_DEAD);
	before = read_syscalls();
	while (ring_read(r, &rec, NULL, &lost) == 1)
		n++;
	after = read_syscalls();
	assert_int_equal(n, 20);
	assert_int_equal(lost, 3000);
	/* one lookup reads /proc a couple of times; 3000 lookups would read it thousands of times */
	if (after - before > 50)
		fail_msg("reading 3000 uncommitted slots made %llu read calls: liveness looked up per slot",
			 (unsigned long long)(after - before));
	ring_reader_close(r);
}

/* A live writer whose claimed positions stay uncommitted (a hole): the reader waits one timeout
 * (200 ms) for all the positions claimed when it began to wait, then counts every one of them lost
 * at once and goes on, instead of waiting 200 ms per slot. */
static void test_live_writer_holes_one_timeout(void **state)
{
	struct ring_writer *w = open_writer_lanes(1024, 4, 1);
	struct ring_reader *r = NULL;
	struct ring_record rec;
	uint64_t lost = 0, n = 0;

	append_notes(w, 0, 5);
	claim_holes(100);
	append_notes(w, 5, 5);
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	while (ring_read(r, &rec, NULL, &lost) == 1)
		n++;
	assert_int_equal(n, 5);                 /* waiting at the first hole */
	assert_int_equal(lost, 0);
	usleep(300 * 1000);                     /* one timeout, and some */
	while (ring_read(r, &rec, NULL, &lost) == 1) {
		assert_int_equal(rec.u.agent.pid, n);
		n++;
	}
	assert_int_equal(lost, 100);
	assert_int_equal(n, 10);
	ring_reader_close(r);
	ring_writer_close(w, true);
}

/* ---- trust: who may have written the segment ------------------------------------------------- */

#define COULD_NOT_RUN 77        /* the child never became the other user: not a verdict */

static char shm_path[96];

static const char *path_of(const char *name)
{
	snprintf(shm_path, sizeof(shm_path), "/dev/shm%s", name);
	return shm_path;
}

/* Runs fn(arg) in a child process as user `nobody`; returns its exit status.  Needs root to switch
 * users: the caller skips (loudly) otherwise.  A child that could not switch exits COULD_NOT_RUN,
 * which fails the test as such rather than passing for a refusal. */
static int as_nobody(int (*fn)(void *), void *arg, uid_t *ret_uid)
{
	struct passwd *pw = getpwnam("nobody");
	int status;
	pid_t pid;

	if (!pw)
		fail_msg("no user 'nobody' on this system: cannot test another user's segment");
	*ret_uid = pw->pw_uid;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0 || geteuid() != pw->pw_uid)
			_exit(COULD_NOT_RUN);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		fail_msg("the child running as nobody died (status %#x)", status);
	if (WEXITSTATUS(status) == COULD_NOT_RUN)
		fail_msg("could not run as nobody (setresuid failed): nothing was tested");
	return WEXITSTATUS(status);
}

static bool skip_unless_root(const char *what)
{
	if (geteuid() == 0)
		return false;
	print_message("SKIPPED: %s needs root\n", what);
	return true;
}

/* The bytes of a valid segment whose writer stopped: what a planted copy looks like. */
struct planted { const char *name; const uint8_t *bytes; size_t len; mode_t mode; };

static uint8_t *valid_segment_bytes(size_t *ret_len)
{
	struct ring_writer *w = open_writer(16, 4);
	struct ring_agent ag = { .kind = RING_AGENT_NOTE, .pid = 4242 };
	uint8_t *seg;

	assert_int_equal(ring_append(w, RING_REC_AGENT, RING_NO_DOMAIN, &ag, sizeof(ag)), 0);
	ring_writer_close(w, false);
	seg = segment_copy(ret_len);
	shm_unlink(shm_name);
	return seg;
}

static int plant(void *arg)
{
	const struct planted *p = arg;
	int fd = shm_open(p->name, O_RDWR | O_CREAT | O_EXCL, p->mode);

	if (fd < 0)
		return 10;
	if (fchmod(fd, p->mode) < 0 || write(fd, p->bytes, p->len) != (ssize_t)p->len)
		return 11;
	close(fd);
	return 0;
}

/* Plants, as nobody and through fn, a copy of a valid segment under shm_name (skips unless root).
 * Returns the copy's bytes, to be freed. */
static uint8_t *plant_as_nobody(int (*fn)(void *), struct planted *p, uid_t *ret_nobody)
{
	uint8_t *seg;

	if (skip_unless_root("acting as another user"))
		skip();
	seg = valid_segment_bytes(&p->len);
	p->name = shm_name;
	p->bytes = seg;
	p->mode = 0644;
	assert_int_equal(as_nobody(fn, p, ret_nobody), 0);
	return seg;
}

static void assert_fresh_own_segment(struct ring_writer *w, ino_t planted_ino)
{
	struct stat st;

	assert_int_equal(ring_writer_head(w), 0);          /* nothing of the planted history */
	assert_int_equal(lstat(path_of(shm_name), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_true(st.st_ino != planted_ino);
}

/* Before the agent's first start any local user can create the name with a valid header of a
 * stopped writer.  The writer must not adopt it (the file would stay that user's: forge, erase,
 * or truncate it for SIGBUS), and readers must refuse it. */
static void test_planted_by_another_user(void **state)
{
	struct ring_reader *r = NULL;
	struct ring_writer *w;
	struct planted p;
	struct stat st;
	uid_t nobody;
	uint8_t *seg = plant_as_nobody(plant, &p, &nobody);

	assert_int_equal(stat(path_of(shm_name), &st), 0);
	assert_int_equal(st.st_uid, nobody);

	/* readers: one clear refusal, unless that user is the configured owner */
	assert_int_equal(ring_reader_open(shm_name, &r), -EPERM);
	assert_int_equal(ring_reader_open_owner(shm_name, nobody, &r), 0);
	ring_reader_close(r);

	/* the writer replaces it, geometry and header notwithstanding */
	w = open_writer(16, 4);
	assert_fresh_own_segment(w, st.st_ino);
	assert_int_equal(ring_reader_open(shm_name, &r), 0);
	ring_reader_close(r);
	ring_writer_close(w, true);
	free(seg);
}

static int plant_symlink(void *arg)
{
	const struct planted *p = arg;
	char target[128];
	int rc = plant(arg);

	if (rc)
		return rc;
	snprintf(target, sizeof(target), "%s-target", path_of(p->name));
	/* the planted file moves aside and the name becomes a link to it */
	if (rename(path_of(p->name), target) < 0 || symlink(target, path_of(p->name)) < 0)
		return 12;
	return 0;
}

static void test_planted_symlink(void **state)
{
	struct ring_reader *r = NULL;
	struct ring_writer *w;
	struct planted p;
	char target[128];
	struct stat st;
	uid_t nobody;
	uint8_t *seg = plant_as_nobody(plant_symlink, &p, &nobody);

	snprintf(target, sizeof(target), "%s-target", path_of(shm_name));
	assert_int_equal(lstat(path_of(shm_name), &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	assert_int_equal(ring_reader_open(shm_name, &r), -EPERM);
	assert_int_equal(ring_reader_open_owner(shm_name, nobody, &r), -EPERM); /* a link, still */
	w = open_writer(16, 4);
	assert_fresh_own_segment(w, 0);
	ring_writer_close(w, true);
	/* the link was replaced, not followed: its target is as planted */
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_uid, nobody);
	assert_int_equal(st.st_size, (off_t)p.len);
	unlink(target);
	free(seg);
}

/* Segments of this very user that someone else could still have written: a second link to the
 * file, group- or world-writable, not a regular file.  Replaced, and refused by readers. */
static void test_own_segment_not_vouched_for(void **state)
{
	struct ring_reader *r = NULL;
	struct ring_writer *w;
	char other[128];
	struct stat st;

	/* a second link */
	w = open_writer(16, 4);
	assert_int_equal(ring_append(w, RING_REC_AGENT, RING_NO_DOMAIN,
				     &(struct ring_agent){ .kind = RING_AGENT_NOTE }, sizeof(struct ring_agent)), 0);
	ring_writer_close(w, false);
	snprintf(other, sizeof(other), "%s-link", path_of(shm_name));
	unlink(other);
	assert_int_equal(link(path_of(shm_name), other), 0);
	assert_int_equal(ring_reader_open(shm_name, &r), -EPERM);
	assert_int_equal(stat(other, &st), 0);
	w = open_writer(16, 4);
	assert_fresh_own_segment(w, st.st_ino);
	ring_writer_close(w, false);
	unlink(other);

	/* writable by others */
	assert_int_equal(chmod(path_of(shm_name), 0666), 0);
	assert_int_equal(ring_reader_open(shm_name, &r), -EPERM);
	assert_int_equal(chmod(path_of(shm_name), 0620), 0);
	assert_int_equal(ring_reader_open(shm_name, &r), -EPERM);
	assert_int_equal(stat(path_of(shm_name), &st), 0);
	w = open_writer(16, 4);
	assert_fresh_own_segment(w, st.st_ino);
	ring_writer_close(w, true);

	/* a FIFO: neither end may block on it */
	assert_int_equal(mkfifo(path_of(shm_name), 0600), 0);
	alarm(10);
	assert_int_equal(ring_reader_open(shm_name, &r), -EPERM);
	w = open_writer(16, 4);
	alarm(0);
	assert_fresh_own_segment(w, 0);
	ring_writer_close(w, true);
}

/* A segment adopted after a restart gets every page allocated first, as a new one does: a hole
 * (left by whoever wrote it last, or punched since) would otherwise be allocated by the first
 * access to it, and on a full /dev/shm that access raises SIGBUS and kills the agent.  Played out
 * on a 1 MiB tmpfs mounted over /dev/shm in a mount namespace of a child process (root only). */
static int adopt_on_full_tmpfs(void)
{
	struct ring_create_opts o = { .name = shm_name, .slot_count = 1024, .domain_slots = 4,
				      .gid = (gid_t)-1 };
	static const char chunk[4096];
	struct ring_writer *w = NULL;
	int fd, filler, r;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m,mode=1777") < 0)
		return COULD_NOT_RUN;
	if (ring_writer_open(&o, &w) < 0)
		return 20;
	ring_writer_close(w, false);
	fd = shm_open(shm_name, O_RDWR, 0);
	if (fd < 0 || fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 65536, 65536) < 0)
		return 21;
	close(fd);
	filler = open("/dev/shm/filler", O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (filler < 0)
		return 22;
	while (write(filler, chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk))
		;
	r = ring_writer_open(&o, &w);
	return r == -ENOSPC ? 0 : 30;
}

static void test_adoption_allocates(void **state)
{
	int status;
	pid_t pid;

	if (skip_unless_root("mounting a small tmpfs over /dev/shm"))
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);        /* the verdict is the parent's: no handler here */
		_exit(adopt_on_full_tmpfs());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("adopting a segment with a hole on a full /dev/shm died of signal %d",
			 WTERMSIG(status));
	if (WEXITSTATUS(status) == COULD_NOT_RUN)
		fail_msg("could not mount a small tmpfs in a mount namespace: nothing was tested");
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_uuid(void **state)
{
	uint8_t u[16];
	char s[37];

	assert_int_equal(ring_uuid_parse("0e4b6f3c-8d1a-4c2e-9f00-123456789abc", u), 0);
	ring_uuid_format(u, s);
	assert_string_equal(s, "0e4b6f3c-8d1a-4c2e-9f00-123456789abc");
	assert_int_equal(ring_uuid_parse("0e4b6f3c8d1a4c2e9f00123456789ABC", u), 0);
	assert_int_equal(ring_uuid_parse("0e4b6f3c-8d1a-4c2e-9f00-123456789ab", u), -EINVAL);
	assert_int_equal(ring_uuid_parse("0e4b6f3c-8d1a-4c2e-9f00-123456789abcd", u), -EINVAL);
	assert_int_equal(ring_uuid_parse("0e4b6f3c-8d1a-4c2e-9f00-123456789abz", u), -EINVAL);
	assert_string_equal(ring_phase_name(RING_PHASE_POSTCOPY), "post-copy");
	assert_string_equal(ring_phase_name(200), "?");
	assert_string_equal(ring_action_name(RING_ACT_ABORT), "abort");
	assert_string_equal(ring_action_name(RING_ACT_PC_INTERRUPT), "postcopy-interrupt");
	assert_string_equal(ring_action_name(RING_ACT_PC_RESUME), "postcopy-resume");
	assert_string_equal(ring_action_name(RING_ACT_KIND_MAX + 1), "?");
	assert_string_equal(ring_liveness_name(RING_DEAD), "dead");
}

/* ABI minor 2: the post-copy recovery's action kinds are valid, the next one is not; the
 * sample's post-copy flags are not checked (readers before minor 2 see a post-copy). */
static void test_validate_postcopy_recovery(void **state)
{
	struct ring_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.type = RING_REC_ACTION;
	rec.size = sizeof(struct ring_action);
	rec.u.action.result = RING_RES_FAILED;
	rec.u.action.kind = RING_ACT_PC_RESUME;
	assert_int_equal(ring_record_validate(&rec), 0);
	rec.u.action.kind = RING_ACT_PC_INTERRUPT;
	assert_int_equal(ring_record_validate(&rec), 0);
	rec.u.action.kind = RING_ACT_KIND_MAX + 1;
	assert_int_equal(ring_record_validate(&rec), -EBADMSG);
	memset(&rec, 0, sizeof(rec));
	rec.type = RING_REC_SAMPLE;
	rec.size = sizeof(struct ring_sample);
	rec.u.sample.phase = RING_PHASE_POSTCOPY;
	rec.u.sample.flags = RING_SAMPLE_F_POSTCOPY_FLAG | RING_SAMPLE_F_PC_BROKEN;
	assert_int_equal(ring_record_validate(&rec), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout_and_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_every_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overwrite_accounting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_records_skipped, setup, teardown),
		cmocka_unit_test(test_validate_postcopy_recovery),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adoption_keeps_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lane_per_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_lane_and_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forked_child_uses_lane_0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pass_ends_at_its_heads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lapped_within_a_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_writer_holes_one_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_writer_holes_one_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planted_by_another_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planted_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_segment_not_vouched_for, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adoption_allocates, setup, teardown),
		cmocka_unit_test(test_uuid),
	};

	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
