/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * migtune telemetry ring: writer and reader.  The protocol is described in ring.h and
 * docs/ring-abi.md; comments here say why each step is where it is.
 */
#include "ring.h"
#include "ring_atomic.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The ABI is the layout: pin it so a compiler or an edit cannot move it silently. */
_Static_assert(sizeof(struct ring_sample) == RING_PAYLOAD_SIZE, "sample payload size");
_Static_assert(sizeof(struct ring_event) == RING_PAYLOAD_SIZE, "event payload size");
_Static_assert(sizeof(struct ring_action) == RING_PAYLOAD_SIZE, "action payload size");
_Static_assert(sizeof(struct ring_nic) <= RING_PAYLOAD_SIZE, "nic payload size");
_Static_assert(sizeof(struct ring_agent) == RING_PAYLOAD_SIZE, "agent payload size");
_Static_assert(sizeof(struct ring_prediction) == RING_PAYLOAD_SIZE, "prediction payload size");
_Static_assert(sizeof(struct ring_record) == RING_SLOT_SIZE - 8, "record size");
_Static_assert(sizeof(struct ring_slot) == RING_SLOT_SIZE, "slot size");
_Static_assert(sizeof(struct ring_domain) == RING_DOMAIN_SIZE, "domain entry size");
_Static_assert(sizeof(struct ring_header) <= RING_HEADER_SIZE, "header size");
_Static_assert(sizeof(struct ring_lane) == 64, "a lane's head alone on its cache line");
_Static_assert(offsetof(struct ring_header, dropped) == 320, "dropped offset");
_Static_assert(sizeof(struct ring_writer_info) == 24, "writer info layout");
_Static_assert(offsetof(struct ring_header, info) == 192, "writer info offset");
_Static_assert(offsetof(struct ring_header, reserved0) == 256, "ABI 1's head offset");
_Static_assert(offsetof(struct ring_header, lanes) == 512, "lane table offset");

#define NSEC_PER_SEC UINT64_C(1000000000)
#define PENDING_TIMEOUT_NS (200 * UINT64_C(1000000))

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t ring_now_mono_ns(void) { return now_ns(CLOCK_MONOTONIC); }
uint64_t ring_now_real_ns(void) { return now_ns(CLOCK_REALTIME); }

static bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* ---- process identity: tells a live writer from a dead one whose pid was reused --------------- */

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static uint64_t boot_id_hash(void)
{
	char buf[64];
	ssize_t n;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 ? fnv1a(buf, (size_t)n) : 0;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks); 0 when the process does not exist or
 * has exited (a zombie its parent has not reaped yet: state Z, or X while being reaped). */
static uint64_t proc_start_ticks(pid_t pid)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;
	char *p;
	unsigned long long ticks = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields restart after the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X' || p[1] == 'x'))
		return 0;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	if (!p || sscanf(p, " %llu", &ticks) != 1)
		return 0;
	return ticks;
}

/* ---- header validation, shared by readers and by a writer adopting a segment ------------------ */

static int header_validate(const struct ring_header *h, size_t len)
{
	uint64_t dom_end, slot_end;

	if (len < RING_HEADER_SIZE)
		return -EBADMSG;
	if (h->magic == 0)
		return -EAGAIN;                 /* being initialised: magic is written last */
	if (h->magic != RING_MAGIC)
		return -EPROTO;
	if (h->endian != RING_ENDIAN)
		return -EPROTO;                 /* written by a host of the other byte order */
	if (h->abi_major != RING_ABI_MAJOR)
		return -EPROTONOSUPPORT;
	if (h->header_size != RING_HEADER_SIZE || h->slot_size != RING_SLOT_SIZE ||
	    h->domain_size != RING_DOMAIN_SIZE)
		return -EBADMSG;
	if (!is_pow2(h->slot_count) || h->slot_count > RING_MAX_SLOTS ||
	    !is_pow2(h->domain_slots) || h->domain_slots > RING_MAX_DOMAINS ||
	    h->lane_count < 1 || h->lane_count > RING_MAX_LANES)
		return -EBADMSG;
	if (h->domains_offset < RING_HEADER_SIZE || h->domains_offset % 64 ||
	    h->slots_offset % 64 || h->domains_offset > len || h->slots_offset > len)
		return -EBADMSG;        /* bounded first, so the sums below cannot wrap */
	dom_end = h->domains_offset + (uint64_t)h->domain_slots * RING_DOMAIN_SIZE;
	slot_end = h->slots_offset + (uint64_t)h->lane_count * h->slot_count * RING_SLOT_SIZE;
	if (dom_end > len || slot_end > len)
		return -EBADMSG;
	if (h->slots_offset < dom_end && h->domains_offset < slot_end)
		return -EBADMSG;                /* the two tables overlap */
	return 0;
}

static size_t layout_size(uint32_t lanes, uint32_t slots, uint32_t domains, uint64_t *ret_dom_off,
			  uint64_t *ret_slot_off)
{
	uint64_t dom_off = RING_HEADER_SIZE;
	uint64_t slot_off = dom_off + (uint64_t)domains * RING_DOMAIN_SIZE;

	*ret_dom_off = dom_off;
	*ret_slot_off = slot_off;
	return (size_t)(slot_off + (uint64_t)lanes * slots * RING_SLOT_SIZE);
}

/* ---- who may have written the segment ------------------------------------------------------ */

/* Whether the file behind fd can only have been written by `owner` (or, for readers, one of the
 * owners they accept): a regular file, one link, owned by them, writable by nobody else.  /dev/shm
 * is world-writable: anyone can create the name first, or link, or hand over a FIFO.  -EPERM when
 * it fails: the caller must neither adopt nor believe it. */
static int segment_trusted(int fd, const uid_t *owners, size_t n_owners, struct stat *ret_st)
{
	struct stat st;
	bool owned = false;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (ret_st)
		*ret_st = st;
	for (size_t i = 0; i < n_owners; i++)
		owned |= st.st_uid == owners[i];
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || !owned || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

/* ---- writer ---------------------------------------------------------------------------------- */

static void lane_release(void *arg);

/* The writer's view of one lane.  Cache-line aligned: the thread that owns a lane writes `next`
 * on every append, and must not share that line with another lane's owner. */
struct lane_writer {
	struct ring_slot *slots;
	uint64_t *head;                 /* in the segment */
	uint64_t next;                  /* lanes 1..: the owner's next position (head, unpublished) */
	uint64_t mask;
	uint64_t owned;                 /* lanes 1..: a thread holds it */
	uint64_t *dropped;
	uint32_t index;
} __attribute__((aligned(64)));

struct ring_writer {
	struct lane_writer lanes[RING_MAX_LANES];
	struct ring_header *hdr;
	struct ring_domain *domains;
	size_t len;
	uint32_t lane_count;
	uint32_t domain_mask;
	pthread_key_t lane_key;         /* a thread's lane, released when the thread exits */
	uint64_t serial;                /* unique among the writers this process opened */
	char name[256];
	pthread_mutex_t domain_lock;    /* writer-side only: serialises domain allocation */
};

/* The last writer this thread appended to, and its lane: a thread-local load on every append
 * instead of a call into pthread_getspecific.  Writers are told apart by a serial number, not by
 * address: a new writer may be allocated where a closed one was. */
static _Thread_local struct {
	uint64_t serial;
	struct lane_writer *lane;
} thread_lane;
static uint64_t writer_serial;

/* A child process forked from a writer shares its segment but not its claims: the lanes its
 * parent's threads hold, or will take, are theirs.  In a child every append to a writer opened
 * before the fork (serial below inherited_below) goes to lane 0, whose protocol holds across
 * processes. */
static uint64_t inherited_below;
static pthread_once_t fork_guard = PTHREAD_ONCE_INIT;

static void after_fork_in_child(void)
{
	inherited_below = __atomic_load_n(&writer_serial, __ATOMIC_RELAXED) + 1;
	thread_lane.serial = 0;
}

static void fork_guard_install(void)
{
	pthread_atfork(NULL, NULL, after_fork_in_child);
}

static int liveness_of(const struct ring_header *h, uint64_t now_mono_ns)
{
	uint32_t pid = ring_load(&h->writer_pid);
	uint64_t ticks, hb, interval;

	if (ring_load(&h->writer_state) == RING_WRITER_STOPPED)
		return RING_STOPPED;
	if (pid == 0 || h->writer_boot_id_hash != boot_id_hash())
		return RING_DEAD;
	ticks = proc_start_ticks((pid_t)pid);
	if (ticks == 0 || ticks != h->writer_start_ticks)
		return RING_DEAD;
	interval = h->heartbeat_interval_ms ? h->heartbeat_interval_ms : 1000;
	hb = ring_load(&h->heartbeat_mono_ns);
	if (now_mono_ns > hb && now_mono_ns - hb > 3 * interval * UINT64_C(1000000))
		return RING_STALLED;
	return RING_LIVE;
}

static void clock_map_update(struct ring_header *h)
{
	uint64_t s = h->map_seq;

	ring_store(&h->map_seq, s + 1);
	ring_wmb();     /* pairs with the rmb in ring_mono_to_real_ns after reading map_seq */
	ring_store(&h->map_mono_ns, ring_now_mono_ns());
	ring_store(&h->map_real_ns, ring_now_real_ns());
	ring_wmb();     /* pairs with the rmb in ring_mono_to_real_ns before re-reading map_seq */
	ring_store(&h->map_seq, s + 2);
}

static void writer_claim(struct ring_writer *w, uint32_t hb_ms,
			 const struct ring_writer_info *info)
{
	struct ring_header *h = w->hdr;
	pid_t pid = getpid();

	h->heartbeat_interval_ms = hb_ms ? hb_ms : 1000;
	h->writer_start_real_ns = ring_now_real_ns();
	h->writer_boot_id_hash = boot_id_hash();
	h->writer_start_ticks = proc_start_ticks(pid);
	ring_store(&h->heartbeat_mono_ns, ring_now_mono_ns());
	if (gethostname(h->hostname, sizeof(h->hostname) - 1) < 0)
		strcpy(h->hostname, "unknown");
	h->hostname[sizeof(h->hostname) - 1] = '\0';
	h->info = *info;
	h->info.reserved = 0;
	h->info.policy[sizeof(h->info.policy) - 1] = '\0';
	clock_map_update(h);
	ring_wmb();     /* identity before pid+state: pairs with liveness_of()'s loads */
	ring_store(&h->writer_pid, (uint32_t)pid);
	ring_store(&h->writer_state, RING_WRITER_RUNNING);
}

/* Allocates every page of the segment now, so that a full /dev/shm fails here with -ENOSPC
 * rather than as SIGBUS at some later append.  `fresh`: the file holds nothing yet, and where the
 * filesystem cannot fallocate, zeros are written instead. */
static int zero_fill(int fd, size_t len, bool fresh)
{
	int r = posix_fallocate(fd, 0, (off_t)len);

	if (r == 0)
		return 0;
	if ((r != EOPNOTSUPP && r != EINVAL) || !fresh)
		return -r;
	/* no fallocate: write the zeros so every page exists now rather than SIGBUS later */
	{
		static const char zeros[65536];
		size_t off = 0;

		while (off < len) {
			size_t n = len - off < sizeof(zeros) ? len - off : sizeof(zeros);
			ssize_t wr = pwrite(fd, zeros, n, (off_t)off);

			if (wr < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			off += (size_t)wr;
		}
	}
	return 0;
}

/* Points the writer at the tables of its mapped segment; the lanes go on from their heads. */
static void writer_map_tables(struct ring_writer *w, const struct ring_create_opts *o)
{
	char *mem = (char *)w->hdr;

	w->domains = (struct ring_domain *)(mem + w->hdr->domains_offset);
	w->lane_count = o->lanes;
	for (uint32_t l = 0; l < o->lanes; l++) {
		struct lane_writer *lw = &w->lanes[l];

		lw->slots = (struct ring_slot *)(mem + w->hdr->slots_offset) + (size_t)l * o->slot_count;
		lw->head = &w->hdr->lanes[l].head;
		lw->next = ring_load(lw->head);
		lw->mask = o->slot_count - 1;
		lw->dropped = &w->hdr->dropped;
		lw->index = l;
	}
}

/* A dead writer's segment of the same geometry is adopted: its records stay, the head goes on.
 * Only one this user alone could have written (segment_trusted): anything else is -EPERM and gets
 * replaced, never mapped, since a planted file's owner could also shrink it under us (SIGBUS). */
static int writer_adopt(struct ring_writer *w, int fd, const struct ring_create_opts *o,
			size_t want_len)
{
	uid_t self = geteuid();
	struct stat st = { 0 };
	void *mem;
	int r;

	r = segment_trusted(fd, &self, 1, &st);
	if (r < 0)
		return r;
	if ((size_t)st.st_size != want_len)
		return -ESTALE;
	/* Allocated like a new one: pages a previous owner left as holes would otherwise be
	 * allocated on first write, and a full /dev/shm would raise SIGBUS then. */
	r = zero_fill(fd, want_len, false);
	if (r < 0)
		return r;
	mem = mmap(NULL, want_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	w->hdr = mem;
	r = header_validate(w->hdr, want_len);
	if (r == 0 && (w->hdr->slot_count != o->slot_count || w->hdr->lane_count != o->lanes ||
		       w->hdr->domain_slots != o->domain_slots))
		r = -ESTALE;
	if (r == 0) {
		int l = liveness_of(w->hdr, ring_now_mono_ns());

		if (l == RING_LIVE || l == RING_STALLED)
			r = -EBUSY;
	}
	if (r < 0) {
		munmap(mem, want_len);
		w->hdr = NULL;
		/* a live writer keeps -EBUSY; anything else unusable is replaced by the caller */
		return r == -EBUSY ? r : -ESTALE;
	}
	w->len = want_len;
	writer_map_tables(w, o);
	/* A slot the dead writer left half-written would refuse every later lap (odd seq): clear
	 * it.  Readers take a cleared slot for an uncommitted one and count it lost. */
	for (uint32_t l = 0; l < o->lanes; l++)
		for (uint32_t i = 0; i < o->slot_count; i++)
			if (w->lanes[l].slots[i].seq & 1)
				ring_store(&w->lanes[l].slots[i].seq, 0);
	for (uint32_t i = 0; i < o->domain_slots; i++)
		if (w->domains[i].seq & 1)
			ring_store(&w->domains[i].seq, 0);
	/* The records it appends from now on may use what its minor added.  (Through a variable:
	 * while the minor is 0 the comparison is constant, and the compiler says so.) */
	{
		const uint16_t minor = RING_ABI_MINOR;

		if (w->hdr->abi_minor < minor)
			w->hdr->abi_minor = minor;
	}
	if (fchmod(fd, o->mode) < 0 ||
	    (o->gid != (gid_t)-1 && fchown(fd, (uid_t)-1, o->gid) < 0)) {
		r = -errno;
		munmap(mem, want_len);
		w->hdr = NULL;
		return r;
	}
	writer_claim(w, o->heartbeat_interval_ms, &o->info);
	return 0;
}

static int writer_create(struct ring_writer *w, const struct ring_create_opts *o, size_t len,
			 uint64_t dom_off, uint64_t slot_off)
{
	struct ring_header *h;
	void *mem;
	int fd, r;

	fd = shm_open(o->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, o->mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, o->mode) < 0 ||     /* the umask must not decide who may read telemetry */
	    (o->gid != (gid_t)-1 && fchown(fd, (uid_t)-1, o->gid) < 0) ||
	    ftruncate(fd, (off_t)len) < 0) {
		r = -errno;
		goto fail;
	}
	r = zero_fill(fd, len, true);
	if (r < 0)
		goto fail;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		r = -errno;
		goto fail;
	}
	close(fd);
	h = mem;
	h->endian = RING_ENDIAN;
	h->abi_major = RING_ABI_MAJOR;
	h->abi_minor = RING_ABI_MINOR;
	h->header_size = RING_HEADER_SIZE;
	h->slot_size = RING_SLOT_SIZE;
	h->slot_count = o->slot_count;
	h->lane_count = o->lanes;
	h->domain_size = RING_DOMAIN_SIZE;
	h->domain_slots = o->domain_slots;
	h->domains_offset = dom_off;
	h->slots_offset = slot_off;
	h->segment_size = len;
	w->hdr = h;
	w->len = len;
	writer_map_tables(w, o);
	writer_claim(w, o->heartbeat_interval_ms, &o->info);
	ring_wmb();     /* the whole header before the magic: pairs with header_validate's reader */
	ring_store(&h->magic, RING_MAGIC);
	return 0;
fail:
	close(fd);
	shm_unlink(o->name);
	return r;
}

/* Opens an existing segment of that name for adoption.  A name that is not even a file this user
 * can open read-write (a symbolic link: ELOOP with O_NOFOLLOW; a socket; another user's file) is
 * -EPERM, like a file that fails segment_trusted(): replaced, never used.  O_NONBLOCK: a FIFO
 * planted under the name must not block the open. */
static int writer_open_existing(const char *name, int *ret_fd)
{
	int fd = shm_open(name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);

	if (fd >= 0) {
		*ret_fd = fd;
		return 0;
	}
	switch (errno) {
	case ELOOP: case ENXIO: case EACCES: case EPERM: case EISDIR: case ETXTBSY:
		return -EPERM;
	default:
		return -errno;
	}
}

/* Create-or-replace, never adopt what this user cannot vouch for: a new segment is created with
 * O_EXCL; an existing one is adopted only when segment_trusted() and of the same geometry with no
 * live writer, otherwise unlinked and created anew.  Someone racing to plant the name again in
 * between only makes the O_EXCL create fail once more: a bounded number of rounds, then -EEXIST. */
static int writer_create_or_adopt(struct ring_writer *w, const struct ring_create_opts *o,
				  size_t len, uint64_t dom_off, uint64_t slot_off)
{
	for (int round = 0; round < 8; round++) {
		int fd = -1, r;

		r = writer_create(w, o, len, dom_off, slot_off);
		if (r != -EEXIST)
			return r;
		r = writer_open_existing(o->name, &fd);
		if (r == -ENOENT)
			continue;               /* gone since: create again */
		if (r == 0) {
			r = writer_adopt(w, fd, o, len);
			close(fd);
		}
		if (r == 0 || (r != -ESTALE && r != -EPERM))
			return r;
		/* Not adoptable (other geometry, ABI or garbage) and not live (-ESTALE), or not ours
		 * alone (-EPERM, replaced even when told to keep stale segments: its history may be
		 * forged).  An -EPERM from the unlink is the one error left: another user's file that
		 * this user may not remove (not root, sticky /dev/shm). */
		if (r == -ESTALE && o->keep_stale)
			return -EEXIST;
		if (shm_unlink(o->name) < 0 && errno != ENOENT)
			return errno == EACCES ? -EPERM : -errno;
	}
	return -EEXIST;
}

int ring_writer_open(const struct ring_create_opts *opts, struct ring_writer **ret)
{
	struct ring_create_opts o = {
		.name = RING_DEFAULT_NAME, .slot_count = RING_DEFAULT_SLOTS,
		.lanes = RING_DEFAULT_LANES, .domain_slots = RING_DEFAULT_DOMAINS, .mode = 0640,
		.gid = (gid_t)-1,
		.heartbeat_interval_ms = 1000,
	};
	struct ring_writer *w;
	uint64_t dom_off, slot_off;
	size_t len;
	int r;

	if (opts) {
		if (opts->name) o.name = opts->name;
		if (opts->slot_count) o.slot_count = opts->slot_count;
		if (opts->lanes) o.lanes = opts->lanes;
		if (opts->domain_slots) o.domain_slots = opts->domain_slots;
		if (opts->mode) o.mode = opts->mode;
		o.gid = opts->gid;
		if (opts->heartbeat_interval_ms) o.heartbeat_interval_ms = opts->heartbeat_interval_ms;
		o.keep_stale = opts->keep_stale;
		o.info = opts->info;
	}
	if (o.name[0] != '/' || strchr(o.name + 1, '/') || strlen(o.name) >= sizeof(w->name) ||
	    strlen(o.name) < 2)
		return -EINVAL;
	if (!is_pow2(o.slot_count) || o.slot_count > RING_MAX_SLOTS || o.slot_count < 2 ||
	    !is_pow2(o.domain_slots) || o.domain_slots > RING_MAX_DOMAINS ||
	    o.lanes > RING_MAX_LANES)
		return -EINVAL;
	/* aligned as its lanes ask: calloc only promises 16 bytes */
	if (posix_memalign((void **)&w, _Alignof(struct ring_writer), sizeof(*w)) != 0)
		return -ENOMEM;
	memset(w, 0, sizeof(*w));
	snprintf(w->name, sizeof(w->name), "%s", o.name);
	pthread_once(&fork_guard, fork_guard_install);
	w->serial = __atomic_add_fetch(&writer_serial, 1, __ATOMIC_RELAXED);
	r = -pthread_key_create(&w->lane_key, lane_release);
	if (r < 0) {
		free(w);
		return r;
	}
	pthread_mutex_init(&w->domain_lock, NULL);
	w->domain_mask = o.domain_slots - 1;
	len = layout_size(o.lanes, o.slot_count, o.domain_slots, &dom_off, &slot_off);

	r = writer_create_or_adopt(w, &o, len, dom_off, slot_off);
	if (r < 0) {
		pthread_key_delete(w->lane_key);
		pthread_mutex_destroy(&w->domain_lock);
		free(w);
		return r;
	}
	*ret = w;
	return 0;
}

void ring_writer_close(struct ring_writer *w, bool unlink_segment)
{
	if (!w)
		return;
	ring_heartbeat(w);
	ring_store(&w->hdr->writer_state, RING_WRITER_STOPPED);
	munmap(w->hdr, w->len);
	if (unlink_segment)
		shm_unlink(w->name);
	/* Threads still holding lanes keep a stale value: glibc no longer returns it, and the
	 * destructor of a deleted key never runs. */
	pthread_key_delete(w->lane_key);
	pthread_mutex_destroy(&w->domain_lock);
	free(w);
}

/* ---- appending ------------------------------------------------------------------------------- */

static void lane_release(void *arg)
{
	struct lane_writer *lw = arg;

	if (lw->index == 0)
		return;
	ring_wmb();     /* the owner's last `next` before the release: pairs with lane_claim's CAS */
	ring_store(&lw->owned, 0);
}

/* The calling thread's lane: found through the thread-specific key, or claimed on its first
 * append (a free lane of its own, else the shared lane 0). */
static struct lane_writer *lane_claim(struct ring_writer *w)
{
	bool inherited = w->serial < inherited_below;
	struct lane_writer *lw = inherited ? NULL : pthread_getspecific(w->lane_key);

	if (lw)
		return lw;
	lw = &w->lanes[0];
	for (uint32_t l = 1; l < w->lane_count && !inherited; l++) {
		if (ring_cas(&w->lanes[l].owned, 0, 1) == 0) {
			lw = &w->lanes[l];
			break;
		}
	}
	if (pthread_setspecific(w->lane_key, lw) != 0 && lw->index) {
		lane_release(lw);       /* cannot remember it: share lane 0 rather than leak one */
		lw = &w->lanes[0];
	}
	return lw;
}

static inline struct lane_writer *lane_of_thread(struct ring_writer *w)
{
	if (thread_lane.serial != w->serial) {
		thread_lane.lane = lane_claim(w);
		thread_lane.serial = w->serial;
	}
	return thread_lane.lane;
}

/* Writes a record into its slot, between the "writing" and "committed" marks.  In place: a
 * record built on the stack and then copied is read back right after it was written, in other
 * widths, and stalls on store forwarding.  The usual payload, a whole one, is a copy of a known
 * size that the compiler inlines.  Under ThreadSanitizer the words go through ring_copy_in's
 * atomic stores instead (see ring_atomic.h). */
static inline void record_put(struct ring_record *dst, uint16_t type, uint32_t domain,
			      uint64_t mono_ns, const void *payload, size_t len)
{
#ifdef RING_ATOMIC_BUILTINS
	struct ring_record rec = { .type = type, .size = (uint16_t)len, .domain = domain,
				   .mono_ns = mono_ns };

	memcpy(rec.u.raw, payload, len);
	memset(rec.u.raw + len, 0, RING_PAYLOAD_SIZE - len);
	ring_copy_in(dst, &rec, sizeof(rec));
#else
	dst->type = type;
	dst->size = (uint16_t)len;
	dst->domain = domain;
	dst->mono_ns = mono_ns;
	if (len == RING_PAYLOAD_SIZE) {
		memcpy(dst->u.raw, payload, RING_PAYLOAD_SIZE);
	} else {
		memcpy(dst->u.raw, payload, len);
		memset(dst->u.raw + len, 0, RING_PAYLOAD_SIZE - len);
	}
#endif
}

int ring_append_at(struct ring_writer *w, uint16_t type, uint32_t domain, uint64_t mono_ns,
		   const void *payload, size_t len)
{
	struct lane_writer *lw = lane_of_thread(w);
	struct ring_slot *slot;
	uint64_t pos, prev;

	assert(len <= RING_PAYLOAD_SIZE);
	if (len > RING_PAYLOAD_SIZE)
		len = RING_PAYLOAD_SIZE;
	if (lw->index) {
		/* A lane of the thread's own: nobody else writes it, so no atomic instruction, and
		 * no cache line it writes is written by another thread. */
		pos = lw->next++;
		slot = &lw->slots[pos & lw->mask];
		prev = ring_load(&slot->seq);
		/* Only a segment changed behind the writer's back shows these (an odd mark from a
		 * crash is cleared at adoption): the position is given up, as lane 0 would drop it. */
		if ((prev & 1) || prev >= 2 * pos + 1) {
			ring_store(lw->head, pos + 1);
			ring_inc(lw->dropped);
			return -ENOBUFS;
		}
		ring_store(&slot->seq, 2 * pos + 1);
	} else {
		/* Lane 0, shared by threads without a lane of their own.  Odd: another thread is
		 * still writing an older lap here; newer: a later lap already claimed it.  Either
		 * way this record cannot be placed without waiting: drop it.  The CAS keeps a
		 * thread stalled for a whole lap from writing over a newer record. */
		pos = ring_fetch_inc(lw->head);
		slot = &lw->slots[pos & lw->mask];
		prev = ring_load(&slot->seq);
		if ((prev & 1) || prev >= 2 * pos + 1 ||
		    ring_cas(&slot->seq, prev, 2 * pos + 1) != prev) {
			ring_inc(lw->dropped);
			return -ENOBUFS;
		}
	}
	ring_wmb();     /* "writing" before the data: pairs with the reader's rmb after its 2nd seq read */
	record_put(&slot->rec, type, domain, mono_ns, payload, len);
	ring_wmb();     /* data before "committed": pairs with the reader's rmb after its 1st seq read */
	ring_store(&slot->seq, 2 * pos + 2);
	if (lw->index)
		ring_store(lw->head, pos + 1);  /* after the commit: below it, an own lane is complete */
	return 0;
}

int ring_append(struct ring_writer *w, uint16_t type, uint32_t domain, const void *payload,
		size_t len)
{
	return ring_append_at(w, type, domain, ring_now_mono_ns(), payload, len);
}

uint32_t ring_domain_index(struct ring_writer *w, const uint8_t uuid[16], const char *name)
{
	uint64_t next, idx;
	struct ring_domain *d;
	uint32_t found = RING_NO_DOMAIN;

	pthread_mutex_lock(&w->domain_lock);
	next = w->hdr->domain_next;
	/* newest first, only indices still held by the table */
	for (uint64_t i = next; i > 0 && next - i < (uint64_t)w->domain_mask + 1; i--) {
		idx = i - 1;
		d = &w->domains[idx & w->domain_mask];
		if (d->seq == 2 * idx + 2 && memcmp(d->uuid, uuid, 16) == 0 &&
		    strncmp(d->name, name ? name : "", RING_NAME_MAX) == 0) {
			found = (uint32_t)idx;
			break;
		}
	}
	if (found == RING_NO_DOMAIN && next < RING_NO_DOMAIN) {
		idx = next;
		d = &w->domains[idx & w->domain_mask];
		ring_store(&d->seq, 2 * idx + 1);
		ring_wmb();     /* pairs with the rmb after the 2nd seq read in ring_domain_lookup */
		{
			struct ring_domain tmp = { 0 };

			memcpy(tmp.uuid, uuid, 16);
			tmp.first_mono_ns = ring_now_mono_ns();
			snprintf(tmp.name, sizeof(tmp.name), "%s", name ? name : "");
			ring_copy_in((char *)d + 8, (char *)&tmp + 8, sizeof(tmp) - 8);
		}
		ring_wmb();     /* pairs with the rmb after the 1st seq read in ring_domain_lookup */
		ring_store(&d->seq, 2 * idx + 2);
		ring_store(&w->hdr->domain_next, idx + 1);
		found = (uint32_t)idx;
	}
	pthread_mutex_unlock(&w->domain_lock);
	return found;
}

void ring_heartbeat(struct ring_writer *w)
{
	clock_map_update(w->hdr);
	ring_store(&w->hdr->heartbeat_mono_ns, ring_now_mono_ns());
}

void ring_set_heartbeat_interval(struct ring_writer *w, uint32_t ms)
{
	/* A fresh heartbeat first: a reader that sees the shorter interval must not find the
	 * last beat already three of them old. */
	ring_heartbeat(w);
	ring_store(&w->hdr->heartbeat_interval_ms, ms ? ms : 1000);
}

const char *ring_writer_name(const struct ring_writer *w) { return w->name; }
uint64_t ring_writer_head(const struct ring_writer *w)
{
	uint64_t sum = 0;

	for (uint32_t l = 0; l < w->lane_count; l++)
		sum += ring_load(w->lanes[l].head);
	return sum;
}
uint64_t ring_writer_dropped(const struct ring_writer *w) { return ring_load(&w->hdr->dropped); }

/* ---- reader ---------------------------------------------------------------------------------- */

/* One lane as a reader follows it. */
struct lane_reader {
	const struct ring_slot *slots;
	const uint64_t *head;
	uint64_t cursor;                /* next position to return or count lost */
	uint64_t known_head;            /* highest head seen: a hostile one cannot move it back */
	uint64_t end;                   /* this pass reads below it: the head when the pass began */
	uint64_t pending_since_ns;      /* a wait for uncommitted slots began then (0: none) */
	uint64_t pending_limit;         /* ... for the positions below this */
	bool ready;                     /* the slot at cursor held it committed (ready_seq)... */
	bool ready_timed;               /* ... with this record's time, read when a merge needed it */
	uint64_t ready_seq;
	uint64_t ready_mono_ns;
};

struct ring_reader {
	const uint8_t *mem;
	size_t len;
	bool mapped;
	bool is_mem;                    /* over caller bytes: no writer can still be running */
	struct ring_header geo;         /* geometry copied once at open: never re-read from shm */
	const struct ring_header *hdr;
	const struct ring_domain *domains;
	uint64_t mask;
	uint64_t corrupt;
	bool in_pass;
	uint32_t pass_lanes;            /* lanes that may still give a record in this pass */
	int pass_liveness;              /* looked up when a pass first needs it; 0 until then */
	uint64_t pass_now_ns;
	struct lane_reader lanes[RING_MAX_LANES];
};

static int reader_init(struct ring_reader *r)
{
	int ret;

	memcpy(&r->geo, r->mem, sizeof(r->geo));
	ret = header_validate(&r->geo, r->len);
	if (ret < 0)
		return ret;
	r->hdr = (const struct ring_header *)r->mem;
	r->domains = (const struct ring_domain *)(r->mem + r->geo.domains_offset);
	r->mask = r->geo.slot_count - 1;
	for (uint32_t l = 0; l < r->geo.lane_count; l++) {
		r->lanes[l].slots = (const struct ring_slot *)(r->mem + r->geo.slots_offset) +
				    (size_t)l * r->geo.slot_count;
		r->lanes[l].head = &r->hdr->lanes[l].head;
	}
	ring_reader_seek_oldest(r);
	return 0;
}

int ring_reader_open_owner(const char *name, uid_t owner, struct ring_reader **ret)
{
	const uid_t owners[] = { 0, geteuid(), owner };
	struct ring_reader *r;
	struct stat st;
	void *mem;
	int fd, err;

	/* O_NOFOLLOW: a symbolic link is refused as untrusted (ELOOP); O_NONBLOCK: a FIFO planted
	 * under the name must not hang the reader before fstat shows what it is. */
	fd = shm_open(name ? name : RING_DEFAULT_NAME,
		      O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == ELOOP || errno == ENXIO ? -EPERM : -errno;
	err = segment_trusted(fd, owners, owner == (uid_t)-1 ? 2 : 3, &st);
	if (err < 0) {
		close(fd);
		return err;
	}
	if (st.st_size < (off_t)RING_HEADER_SIZE) {
		close(fd);
		return st.st_size == 0 ? -EAGAIN : -EBADMSG;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	err = errno;
	close(fd);
	if (mem == MAP_FAILED)
		return -err;
	r = calloc(1, sizeof(*r));
	if (!r) {
		munmap(mem, (size_t)st.st_size);
		return -ENOMEM;
	}
	r->mem = mem;
	r->len = (size_t)st.st_size;
	r->mapped = true;
	err = reader_init(r);
	if (err < 0) {
		ring_reader_close(r);
		return err;
	}
	*ret = r;
	return 0;
}

int ring_reader_open(const char *name, struct ring_reader **ret)
{
	return ring_reader_open_owner(name, (uid_t)-1, ret);
}

int ring_reader_open_mem(const void *mem, size_t len, struct ring_reader **ret)
{
	struct ring_reader *r;
	int err;

	if (!mem || len < RING_HEADER_SIZE)
		return -EBADMSG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->mem = mem;
	r->len = len;
	r->is_mem = true;
	err = reader_init(r);
	if (err < 0) {
		free(r);
		return err;
	}
	*ret = r;
	return 0;
}

void ring_reader_close(struct ring_reader *r)
{
	if (!r)
		return;
	if (r->mapped)
		munmap((void *)r->mem, r->len);
	free(r);
}

/* A lane's head as far as this reader goes: never below what it saw before. */
static uint64_t lane_head(const struct lane_reader *lr)
{
	uint64_t head = ring_load(lr->head);

	return head < lr->known_head ? lr->known_head : head;
}

uint64_t ring_reader_head(const struct ring_reader *r)
{
	uint64_t sum = 0;

	for (uint32_t l = 0; l < r->geo.lane_count; l++)
		sum += lane_head(&r->lanes[l]);
	return sum;
}

uint64_t ring_reader_cursor(const struct ring_reader *r)
{
	uint64_t sum = 0;

	for (uint32_t l = 0; l < r->geo.lane_count; l++)
		sum += r->lanes[l].cursor;
	return sum;
}

uint64_t ring_reader_corrupt(const struct ring_reader *r) { return r->corrupt; }
const struct ring_header *ring_reader_header(const struct ring_reader *r) { return r->hdr; }

const void *ring_reader_mem(const struct ring_reader *r, size_t *ret_len)
{
	if (ret_len)
		*ret_len = r->len;
	return r->mem;
}

static void reader_seek(struct ring_reader *r, bool newest)
{
	for (uint32_t l = 0; l < r->geo.lane_count; l++) {
		struct lane_reader *lr = &r->lanes[l];
		uint64_t head = lane_head(lr);

		if (newest)
			lr->cursor = head;
		else
			lr->cursor = head > r->geo.slot_count ? head - r->geo.slot_count : 0;
		lr->known_head = lr->end = head;
		lr->pending_since_ns = lr->pending_limit = 0;
		lr->ready = false;
	}
	r->in_pass = false;
}

void ring_reader_seek_oldest(struct ring_reader *r) { reader_seek(r, false); }
void ring_reader_seek_newest(struct ring_reader *r) { reader_seek(r, true); }

int ring_reader_snapshot_header(const struct ring_reader *r, struct ring_header *ret)
{
	struct ring_header h;
	int err;

	ring_copy_out(&h, r->hdr, sizeof(h));
	err = header_validate(&h, r->len);
	if (err < 0)
		return err;
	/* geometry must still be what was validated at open */
	if (h.slot_count != r->geo.slot_count || h.slots_offset != r->geo.slots_offset ||
	    h.lane_count != r->geo.lane_count ||
	    h.domain_slots != r->geo.domain_slots || h.domains_offset != r->geo.domains_offset)
		return -EBADMSG;
	h.hostname[sizeof(h.hostname) - 1] = '\0';
	h.info.policy[sizeof(h.info.policy) - 1] = '\0';
	*ret = h;
	return 0;
}

int ring_reader_liveness(const struct ring_reader *r, uint64_t now_mono_ns)
{
	if (r->is_mem)
		return ring_load(&r->hdr->writer_state) == RING_WRITER_STOPPED ? RING_STOPPED
									       : RING_DEAD;
	return liveness_of(r->hdr, now_mono_ns);
}

static bool str_ok(const char *s, size_t n) { return memchr(s, '\0', n) != NULL; }

int ring_record_validate(const struct ring_record *rec)
{
	switch (rec->type) {
	case RING_REC_SAMPLE:
		if (rec->size != sizeof(struct ring_sample) ||
		    rec->u.sample.direction > RING_DIR_IN || rec->u.sample.phase > RING_PHASE_MAX ||
		    rec->u.sample.throttle_pct > 100)
			return -EBADMSG;
		return 0;
	case RING_REC_EVENT:
		if (rec->size != sizeof(struct ring_event) ||
		    rec->u.event.source < RING_EVSRC_HOOK || rec->u.event.source > RING_EVSRC_AGENT ||
		    !str_ok(rec->u.event.op, sizeof(rec->u.event.op)) ||
		    !str_ok(rec->u.event.subop, sizeof(rec->u.event.subop)) ||
		    !str_ok(rec->u.event.text, sizeof(rec->u.event.text)))
			return -EBADMSG;
		return 0;
	case RING_REC_ACTION:
		if (rec->size != sizeof(struct ring_action) ||
		    rec->u.action.kind > RING_ACT_KIND_MAX ||
		    rec->u.action.result < RING_RES_APPLIED || rec->u.action.result > RING_RES_SKIPPED ||
		    !str_ok(rec->u.action.policy, sizeof(rec->u.action.policy)) ||
		    !str_ok(rec->u.action.reason, sizeof(rec->u.action.reason)))
			return -EBADMSG;
		return 0;
	case RING_REC_NIC:
		if (rec->size != sizeof(struct ring_nic) || rec->u.nic.carrier > 1 ||
		    !str_ok(rec->u.nic.ifname, sizeof(rec->u.nic.ifname)))
			return -EBADMSG;
		return 0;
	case RING_REC_AGENT:
		if (rec->size != sizeof(struct ring_agent) || rec->u.agent.kind < RING_AGENT_START ||
		    rec->u.agent.kind > RING_AGENT_NOTE ||
		    !str_ok(rec->u.agent.text, sizeof(rec->u.agent.text)))
			return -EBADMSG;
		return 0;
	case RING_REC_PREDICTION:
		if (rec->size != sizeof(struct ring_prediction) ||
		    rec->u.prediction.kind > RING_ACT_KIND_MAX)
			return -EBADMSG;
		return 0;
	default:
		return -EBADMSG;
	}
}

/* A pass reads each lane's head once, here, and reads the lane up to it.  A reader that went on
 * reading slots as fast as they were committed would keep pulling the lines the writer is about
 * to write into its own cache (its hardware prefetcher runs ahead of it), and every such line
 * costs the writer a round trip to take back; bounded by the head at its start, a pass stays
 * behind the writer. */
static void pass_begin(struct ring_reader *r)
{
	r->pass_lanes = 0;
	for (uint32_t l = 0; l < r->geo.lane_count; l++) {
		struct lane_reader *lr = &r->lanes[l];

		lr->end = lr->known_head = lane_head(lr);
		if (lr->ready || lr->cursor < lr->end)
			r->pass_lanes |= 1u << l;
	}
	ring_rmb();     /* heads before the slots below them: pairs with the writers' commits */
	r->in_pass = true;
	r->pass_liveness = 0;
}

/* Whether to wait for lane position c, claimed but not committed.  A dead or stopped writer gets
 * no time.  A live one gets one timeout for every position claimed when the wait began, not one
 * per slot: once it has passed, the rest of them are counted lost without waiting again.  The
 * writer's liveness (files under /proc) is looked up once per pass, not once per slot. */
static bool lane_wait(struct ring_reader *r, struct lane_reader *lr, uint64_t c)
{
	if (r->is_mem)
		return false;
	if (!r->pass_liveness) {
		r->pass_now_ns = ring_now_mono_ns();
		r->pass_liveness = ring_reader_liveness(r, r->pass_now_ns);
	}
	if (r->pass_liveness != RING_LIVE && r->pass_liveness != RING_STALLED)
		return false;
	if (lr->pending_since_ns == 0 || c >= lr->pending_limit) {
		lr->pending_since_ns = r->pass_now_ns;
		lr->pending_limit = lr->end;
		return true;
	}
	return r->pass_now_ns - lr->pending_since_ns < PENDING_TIMEOUT_NS;
}

/* The reader was lapped: the oldest position the lane may still hold is `oldest`, and the cursor
 * moves there, never past the pass's end, whatever a hostile slot claims. */
static void lapped_to(struct lane_reader *lr, uint64_t oldest, uint64_t *dropped)
{
	uint64_t next = oldest < lr->end ? oldest : lr->end;

	if (next <= lr->cursor)
		next = lr->cursor + 1;
	*dropped += next - lr->cursor;
	lr->cursor = next;
}

/* The writer is overwriting, right now, what this pass was to read (the slot at the cursor
 * holds position q of a later lap): a writer faster than the reader.  Going on from the oldest
 * record left (q - n + 1), the reader would read just ahead of the writer, which catches up with
 * it at once, takes each record from under it, and finds in the reader's cache every line it
 * writes next (a round trip to take each back): glued to the writer's front, readers cost it
 * several times its speed.  Nor should a reader that cannot keep up copy most of the lane on
 * every pass: bench-ring's readers polling a writer that appends flat out slowed it by more than
 * 5 % as soon as each copied a quarter of a lane per millisecond.  It goes on from the newest
 * sixteenth of the lane instead: recent records, far from the writer's front, and little to copy.
 * Newest as of now: the head is read again and this pass reads the lane up to it, since the head
 * of the pass's start may be long gone (a reader not scheduled for a while), and a sixteenth
 * behind it can be the writer's front again. */
static void lapped_in_pass(struct ring_reader *r, struct lane_reader *lr, uint64_t q,
			   uint64_t *dropped)
{
	uint64_t n = r->geo.slot_count, keep = n / 16 ? n / 16 : 1, head = lane_head(lr);

	lr->end = lr->known_head = head;
	lapped_to(lr, q + 1 - n > head - keep ? q + 1 - n : head - keep, dropped);
}

/* Moves the lane's cursor to its next committed record below the pass's end and notes that
 * record's time, for the merge; counts what it passes over as lost.  Stops early at a slot worth
 * waiting for.  The record itself is copied (and checked) only when the merge picks it.  Returns
 * whether the lane has a record ready: if not, it has nothing more for this pass. */
static bool lane_peek(struct ring_reader *r, struct lane_reader *lr, uint64_t *lost)
{
	uint64_t n = r->geo.slot_count, dropped = 0;

	while (!lr->ready && lr->cursor < lr->end) {
		uint64_t c = lr->cursor, want = 2 * c + 2, s1;
		const struct ring_slot *slot;

		if (lr->end - c > n) {
			/* lapped before the pass: everything older than one ring behind the head is
			 * gone, what is newer was there when the pass began */
			lapped_to(lr, lr->end - n, &dropped);
			continue;
		}
		slot = &lr->slots[c & r->mask];
		s1 = ring_load(&slot->seq);
		if (s1 == want) {
			lr->ready = true;
			lr->ready_timed = false;
			lr->ready_seq = s1;
			break;
		}
		if (s1 > want) {
			/* A later lap has been here: the slot now holds position q (being written or
			 * committed), claimed after every position before it, so every position up to
			 * q - n has been overwritten too.  No need to read the head to know that. */
			uint64_t q = (s1 - 1) / 2;

			if ((q & r->mask) == (c & r->mask))
				lapped_in_pass(r, lr, q, &dropped);
			else {          /* not a lap: a slot that lies about its position; skip it */
				dropped++;
				lr->cursor++;
			}
			continue;
		}
		/* Claimed (below the head) but not committed yet, or never: a writer dropped it, or
		 * died while writing. */
		if (lane_wait(r, lr, c))
			break;
		dropped++;
		lr->cursor++;
	}
	if (lost)
		*lost += dropped;
	return lr->ready;
}

/* The time of the record a lane has ready, read once, only when two lanes compete for the next
 * place.  It may be read while a later lap overwrites the slot: then the order is off for a record
 * that the copy will find torn and count lost anyway. */
static uint64_t lane_ready_mono(const struct ring_reader *r, struct lane_reader *lr)
{
	if (!lr->ready_timed) {
		ring_rmb();     /* seq (lane_peek) before the time: pairs with the writer's wmb */
		lr->ready_mono_ns = ring_load(&lr->slots[lr->cursor & r->mask].rec.mono_ns);
		lr->ready_timed = true;
	}
	return lr->ready_mono_ns;
}

int ring_read(struct ring_reader *r, struct ring_record *ret, uint64_t *ret_seq, uint64_t *lost)
{
	if (!r->in_pass)
		pass_begin(r);
	for (;;) {
		struct lane_reader *next = NULL;
		const struct ring_slot *slot;
		struct ring_record rec;
		uint64_t s1, s2;

		for (uint32_t m = r->pass_lanes; m; m &= m - 1) {
			uint32_t l = (uint32_t)__builtin_ctz(m);
			struct lane_reader *lr = &r->lanes[l];

			if (!lr->ready && !lane_peek(r, lr, lost)) {
				r->pass_lanes &= ~(1u << l);
				continue;
			}
			/* merged by time; a tie goes to the lower lane */
			if (!next || lane_ready_mono(r, lr) < lane_ready_mono(r, next))
				next = lr;
		}
		if (!next) {
			r->in_pass = false;
			return 0;
		}
		/* The seqlock copy: the record counts only if its slot still holds the position it
		 * held when lane_peek read its seq (s1) once the copy is done. */
		slot = &next->slots[next->cursor & r->mask];
		s1 = next->ready_seq;
		next->ready = false;
		ring_rmb();     /* seq before data: pairs with the writer's wmb before "committed" */
		ring_copy_out(&rec, &slot->rec, sizeof(rec));
		ring_rmb();     /* data before the re-check: pairs with the writer's wmb after "writing" */
		s2 = ring_load(&slot->seq);
		if (s2 != s1) {                 /* overwritten while we copied: the copy may be torn */
			if (lost)
				(*lost)++;
			next->cursor++;
			continue;
		}
		if (ring_record_validate(&rec) < 0) {
			r->corrupt++;
			next->cursor++;
			continue;
		}
		if (ret_seq)
			*ret_seq = ring_reader_cursor(r);
		next->cursor++;
		*ret = rec;
		return 1;
	}
}

int ring_domain_lookup(const struct ring_reader *r, uint32_t idx, uint8_t ret_uuid[16],
		       char ret_name[RING_NAME_MAX + 1])
{
	const struct ring_domain *d;
	struct ring_domain copy;
	uint64_t s1, s2;

	if (idx == RING_NO_DOMAIN)
		return -ENOENT;
	d = &r->domains[idx & (r->geo.domain_slots - 1)];
	s1 = ring_load(&d->seq);
	if (s1 != 2 * (uint64_t)idx + 2)
		return -ENOENT;
	ring_rmb();     /* pairs with the wmb before "committed" in ring_domain_index */
	ring_copy_out(&copy, d, sizeof(copy));
	ring_rmb();     /* pairs with the wmb after "writing" in ring_domain_index */
	s2 = ring_load(&d->seq);
	if (s2 != s1)
		return -ENOENT;
	if (ret_uuid)
		memcpy(ret_uuid, copy.uuid, 16);
	if (ret_name) {
		memcpy(ret_name, copy.name, RING_NAME_MAX);
		ret_name[RING_NAME_MAX] = '\0';
	}
	return 0;
}

uint64_t ring_mono_to_real_ns(const struct ring_reader *r, uint64_t mono_ns)
{
	uint64_t s1, s2, m, rl;
	int tries = 0;

	do {
		s1 = ring_load(&r->hdr->map_seq);
		ring_rmb();     /* pairs with clock_map_update's first wmb */
		m = ring_load(&r->hdr->map_mono_ns);
		rl = ring_load(&r->hdr->map_real_ns);
		ring_rmb();     /* pairs with clock_map_update's second wmb */
		s2 = ring_load(&r->hdr->map_seq);
	} while ((s1 != s2 || (s1 & 1)) && ++tries < 100);
	if (mono_ns >= m)
		return rl + (mono_ns - m);
	return rl > m - mono_ns ? rl - (m - mono_ns) : 0;
}

/* ---- names ----------------------------------------------------------------------------------- */

#define NAME_OF(table, v) ((size_t)(v) < sizeof(table) / sizeof(table[0]) && table[v] ? table[v] : "?")

const char *ring_rec_type_name(uint16_t type)
{
	static const char *const t[] = { "none", "sample", "event", "action", "nic", "agent",
					 "prediction" };
	return NAME_OF(t, type);
}

const char *ring_phase_name(uint8_t phase)
{
	static const char *const t[] = { "unknown", "setup", "pre-copy", "post-copy",
					 "suspended", "done", "failed" };
	return NAME_OF(t, phase);
}

const char *ring_direction_name(uint8_t dir)
{
	static const char *const t[] = { "?", "out", "in" };
	return NAME_OF(t, dir);
}

const char *ring_action_name(uint16_t kind)
{
	static const char *const t[] = { "none", "set-downtime", "set-bandwidth", "postcopy",
					 "suspend", "abort", "throttle", "hold", "dump",
					 "postcopy-interrupt", "postcopy-resume" };
	return NAME_OF(t, kind);
}

const char *ring_result_name(uint8_t result)
{
	static const char *const t[] = { "?", "applied", "failed", "advisory", "skipped" };
	return NAME_OF(t, result);
}

const char *ring_liveness_name(int liveness)
{
	static const char *const t[] = { "?", "live", "stalled", "dead", "stopped" };
	return liveness >= 0 ? NAME_OF(t, liveness) : "?";
}

const char *ring_mode_name(uint8_t mode)
{
	static const char *const t[] = { "?", "advisory", "active" };
	return NAME_OF(t, mode);
}

void ring_uuid_format(const uint8_t u[16], char ret[37])
{
	snprintf(ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int ring_uuid_parse(const char *s, uint8_t ret[16])
{
	uint8_t u[16];
	int n = 0;

	for (; *s && n < 32; s++) {
		int v;

		if (*s == '-')
			continue;
		v = hexval(*s);
		if (v < 0)
			return -EINVAL;
		if (n % 2 == 0)
			u[n / 2] = (uint8_t)(v << 4);
		else
			u[n / 2] |= (uint8_t)v;
		n++;
	}
	if (n != 32 || *s)
		return -EINVAL;
	memcpy(ret, u, 16);
	return 0;
}
