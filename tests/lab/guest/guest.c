/*
 * migtune lab guest: a freestanding program that QEMU boots as a multiboot kernel and that dirties
 * guest memory at a controlled rate, so that live migrations face a known, reproducible load.
 *
 * Parameters come from the kernel command line (libvirt <cmdline>):
 *   dirty=MIB rate=MIBPS         one workload forever: re-dirty a hot set of MIB MiB at MIBPS MiB/s
 *                                (rate=0: as fast as the vCPU can)
 *   phases=P[,P...]              a workload that changes over time; each P is
 *                                  idle[:SECS]  or  dirty=MIB@MIBPS[:SECS]
 *                                the last phase runs forever (its duration, if any, is ignored)
 * With no parameter the guest idles.  Every page write touches one byte of a distinct 4 KiB page,
 * walking the hot set in order, so that each write is one page for the migration to resend.  Rates
 * count page writes: 1 MiB/s is 256 page writes per second, whatever the size of the hot set.
 *
 * Time comes from the TSC, calibrated against PIT channel 2 at boot; PIT channel 0 ticks at 100 Hz
 * only to wake the vCPU from HLT, so that an idle or rate-limited guest leaves the host CPU to the
 * migration.  Once a second the guest prints its achieved rate on COM1.
 */
#include <stdint.h>
#include <stddef.h>

#define PAGE_BYTES      4096u
#define MIB             (1024u * 1024u)
#define HOT_BASE_BYTES  (4u * MIB)  /* above the image, the stack and the multiboot data */
#define TICK_HZ         100u
#define PIT_HZ          1193182u
#define MAX_PHASES      16
#define MAX_CATCHUP_DIV 5           /* never write more than 1/5 s of backlog after a stall */

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower_kib;
	uint32_t mem_upper_kib;
	uint32_t boot_device;
	uint32_t cmdline;
};

struct phase {
	uint32_t hot_mib;      /* 0: idle */
	uint32_t rate_mibps;   /* 0 with hot_mib > 0: flat out */
	uint32_t secs;         /* 0: forever */
};

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t zero;
	uint8_t type;
	uint16_t off_hi;
} __attribute__((packed));

struct idt_desc {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

volatile uint32_t ticks;
extern char _image_end[];
void irq0_stub(void);
void irq_spurious_stub(void);
void fault_stub(void);
void guest_main(uint32_t magic, const struct multiboot_info *mbi);
void guest_fault(void);

static struct idt_entry idt[256];
static struct phase phases[MAX_PHASES];
static unsigned n_phases;
static char parse_error[160];

/* ---- port I/O and the TSC ------------------------------------------------------------------ */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint64_t rdtsc(void) { uint64_t v; __asm__ volatile("rdtsc" : "=A"(v)); return v; }

/* ---- COM1 ------------------------------------------------------------------------------------ */
static void serial_init(void)
{
	outb(0x3f9, 0x00);      /* no UART interrupts: we poll */
	outb(0x3fb, 0x80);      /* DLAB */
	outb(0x3f8, 0x01);      /* 115200 baud */
	outb(0x3f9, 0x00);
	outb(0x3fb, 0x03);      /* 8N1 */
	outb(0x3fa, 0xc7);      /* FIFO on */
	outb(0x3fc, 0x03);
}

static void put_c(char c)
{
	for (unsigned i = 0; i < 100000 && !(inb(0x3fd) & 0x20); i++)
		;
	outb(0x3f8, (uint8_t)c);
}

static void put_s(const char *s)
{
	while (*s) {
		if (*s == '\n')
			put_c('\r');
		put_c(*s++);
	}
}

static void put_u(uint32_t v)
{
	char buf[11];
	int i = 0;
	do {
		buf[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		put_c(buf[--i]);
}

/* v in tenths: 123 prints "12.3" */
static void put_tenths(uint32_t v)
{
	put_u(v / 10);
	put_c('.');
	put_c((char)('0' + v % 10));
}

void guest_fault(void)
{
	put_s("migtune-guest: CPU exception, stopped\n");
}

/* ---- command line ---------------------------------------------------------------------------- */
static int starts_with(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

static void set_error(const char *what, const char *tok)
{
	size_t n = 0;
	for (const char *s = what; *s && n < sizeof(parse_error) - 1; s++)
		parse_error[n++] = *s;
	for (const char *s = tok; *s && *s != ' ' && n < sizeof(parse_error) - 2; s++)
		parse_error[n++] = *s;
	if (*tok && n < sizeof(parse_error) - 1)
		parse_error[n++] = '\'';
	parse_error[n] = 0;
}

/* Parses a decimal number ending at one of `ends` (or NUL/space); returns the end or NULL. */
static const char *parse_u32(const char *s, uint32_t *ret, const char *ends)
{
	uint32_t v = 0;
	const char *start = s;
	while (*s >= '0' && *s <= '9') {
		if (v > 100000000u)
			return NULL;
		v = v * 10 + (uint32_t)(*s++ - '0');
	}
	if (s == start)
		return NULL;
	if (*s && *s != ' ') {
		const char *e = ends;
		while (*e && *e != *s)
			e++;
		if (!*e)
			return NULL;
	}
	*ret = v;
	return s;
}

/* phases=idle:10,dirty=24@40:20,dirty=96@40 */
static int parse_phases(const char *s)
{
	const char *tok = s;
	n_phases = 0;
	for (;;) {
		struct phase p = { 0, 0, 0 };
		if (n_phases == MAX_PHASES) {
			set_error("too many phases (max 16) at '", tok);
			return -1;
		}
		if (starts_with(s, "idle")) {
			s += 4;
		} else if (starts_with(s, "dirty=")) {
			s = parse_u32(s + 6, &p.hot_mib, "@");
			if (!s || *s != '@' || p.hot_mib == 0)
				goto bad;
			s = parse_u32(s + 1, &p.rate_mibps, ":,");
			if (!s)
				goto bad;
		} else {
			goto bad;
		}
		if (*s == ':') {
			s = parse_u32(s + 1, &p.secs, ",");
			if (!s || p.secs == 0)
				goto bad;
		}
		phases[n_phases++] = p;
		if (*s != ',')
			return 0;
		tok = ++s;
	}
bad:
	set_error("bad phase (want idle[:SECS] or dirty=MIB@MIBPS[:SECS]) at '", tok);
	n_phases = 0;
	return -1;
}

static void parse_cmdline(const char *s)
{
	uint32_t dirty = 0, rate = 0;
	int have_dirty = 0, have_phases = 0;

	while (*s) {
		while (*s == ' ')
			s++;
		const char *tok = s;
		if (!*s)
			break;
		if (starts_with(s, "dirty=")) {
			if (!parse_u32(s + 6, &dirty, "") || dirty == 0)
				set_error("bad dirty= (want MiB > 0) at '", tok);
			have_dirty = 1;
		} else if (starts_with(s, "rate=")) {
			if (!parse_u32(s + 5, &rate, ""))
				set_error("bad rate= (want MiB/s, 0 = flat out) at '", tok);
		} else if (starts_with(s, "phases=")) {
			parse_phases(s + 7);
			have_phases = 1;
		}
		/* Anything else (QEMU passes the kernel path first) is not ours. */
		while (*s && *s != ' ')
			s++;
	}
	if (parse_error[0]) {
		n_phases = 0;
		return;
	}
	if (have_phases && have_dirty) {
		set_error("give either phases= or dirty=/rate=, not both", "");
		n_phases = 0;
		return;
	}
	if (!have_phases && have_dirty) {
		phases[0].hot_mib = dirty;
		phases[0].rate_mibps = rate;
		phases[0].secs = 0;
		n_phases = 1;
	}
}

/* ---- timers and interrupts ------------------------------------------------------------------- */
static uint64_t tsc_calibrate_hz(void)
{
	const uint32_t count = PIT_HZ / 20; /* 50 ms */
	uint64_t best = 0;

	for (int round = 0; round < 3; round++) {
		uint8_t v = inb(0x61);
		outb(0x61, (uint8_t)((v & ~0x02) | 0x01)); /* gate channel 2 on, speaker off */
		outb(0x43, 0xb0);                          /* channel 2, lo/hi byte, mode 0 */
		outb(0x42, (uint8_t)(count & 0xff));
		outb(0x42, (uint8_t)(count >> 8));
		uint64_t t0 = rdtsc();
		for (uint32_t spin = 0; spin < 0x40000000u && !(inb(0x61) & 0x20); spin++)
			;
		uint64_t hz = (rdtsc() - t0) * 20;
		/* The first round also pays for translating this loop under TCG: keep the last. */
		best = hz;
	}
	return best ? best : 1000000000ull;
}

static void idt_set(unsigned vec, void (*fn)(void))
{
	uint32_t a = (uint32_t)(uintptr_t)fn;
	idt[vec].off_lo = (uint16_t)a;
	idt[vec].sel = 0x08;
	idt[vec].zero = 0;
	idt[vec].type = 0x8e;
	idt[vec].off_hi = (uint16_t)(a >> 16);
}

static void interrupts_init(void)
{
	static struct idt_desc desc;

	for (unsigned v = 0; v < 32; v++)
		idt_set(v, fault_stub);
	for (unsigned v = 32; v < 48; v++)
		idt_set(v, irq_spurious_stub);
	idt_set(32, irq0_stub);
	desc.limit = sizeof(idt) - 1;
	desc.base = (uint32_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(desc));

	/* Remap the PICs to vectors 0x20..0x2f and unmask only IRQ0. */
	outb(0x20, 0x11); outb(0xa0, 0x11);
	outb(0x21, 0x20); outb(0xa1, 0x28);
	outb(0x21, 0x04); outb(0xa1, 0x02);
	outb(0x21, 0x01); outb(0xa1, 0x01);
	outb(0x21, 0xfe); outb(0xa1, 0xff);

	uint16_t div = (uint16_t)(PIT_HZ / TICK_HZ);
	outb(0x43, 0x34); /* channel 0, lo/hi byte, rate generator */
	outb(0x40, (uint8_t)(div & 0xff));
	outb(0x40, (uint8_t)(div >> 8));
	__asm__ volatile("sti");
}

/* ---- the workload ---------------------------------------------------------------------------- */
static void announce_phase(unsigned i, const struct phase *p)
{
	put_s("migtune-guest: phase ");
	put_u(i + 1);
	put_c('/');
	put_u(n_phases);
	if (!p->hot_mib) {
		put_s(": idle");
	} else {
		put_s(": hot set ");
		put_u(p->hot_mib);
		put_s(" MiB at ");
		if (p->rate_mibps) {
			put_u(p->rate_mibps);
			put_s(" MiB/s");
		} else {
			put_s("full speed");
		}
	}
	if (p->secs && i + 1 < n_phases) {
		put_s(" for ");
		put_u(p->secs);
		put_s(" s");
	}
	put_c('\n');
}

void guest_main(uint32_t magic, const struct multiboot_info *mbi)
{
	static const struct phase idle_forever = { 0, 0, 0 };
	uint32_t top_bytes = 0;

	serial_init();
	put_s("\nmigtune-guest: booting\n");
	if (magic != 0x2badb002u) {
		put_s("migtune-guest: not started by a multiboot loader, stopped\n");
		return;
	}
	if (mbi->flags & 0x1)
		top_bytes = MIB + mbi->mem_upper_kib * 1024u;
	if (mbi->flags & 0x4)
		parse_cmdline((const char *)(uintptr_t)mbi->cmdline);
	if (parse_error[0]) {
		put_s("migtune-guest: error: ");
		put_s(parse_error);
		put_s("; running idle\n");
	}

	uint64_t hz = tsc_calibrate_hz();
	interrupts_init();

	uint32_t room_mib = 0;
	if (top_bytes > HOT_BASE_BYTES && (uintptr_t)_image_end < HOT_BASE_BYTES)
		room_mib = (top_bytes - HOT_BASE_BYTES) / MIB;
	put_s("migtune-guest: tsc ");
	put_u((uint32_t)(hz / 1000000u));
	put_s(" MHz, memory ");
	put_u(top_bytes / MIB);
	put_s(" MiB, room for a hot set of ");
	put_u(room_mib);
	put_s(" MiB\n");
	for (unsigned i = 0; i < n_phases; i++) {
		if (phases[i].hot_mib > room_mib) {
			put_s("migtune-guest: warning: hot set of phase ");
			put_u(i + 1);
			put_s(" cut to ");
			put_u(room_mib);
			put_s(" MiB (give the domain more memory)\n");
			phases[i].hot_mib = room_mib;
		}
	}

	volatile uint8_t *const base = (volatile uint8_t *)(uintptr_t)HOT_BASE_BYTES;
	unsigned cur = 0;
	const struct phase *p = n_phases ? &phases[0] : &idle_forever;
	if (!n_phases)
		n_phases = 1;
	announce_phase(0, p);

	uint64_t now = rdtsc();
	uint64_t boot = now, phase_start = now, last = now, last_report = now;
	uint64_t debt = 0;                /* pages owed, in units of 1/hz page */
	uint32_t cursor = 0, report_pages = 0, total_mib_pages = 0, total_mib = 0;

	for (;;) {
		now = rdtsc();
		if (p->secs && cur + 1 < n_phases && now - phase_start >= p->secs * hz) {
			p = &phases[++cur];
			phase_start = now;
			cursor = 0;
			debt = 0;
			report_pages = 0;
			last_report = now;
			announce_phase(cur, p);
		}

		uint32_t hot_pages = p->hot_mib * (MIB / PAGE_BYTES);
		uint32_t todo = 0;
		if (hot_pages && p->rate_mibps) {
			uint64_t dt = now - last;
			if (dt > hz / MAX_CATCHUP_DIV)
				dt = hz / MAX_CATCHUP_DIV; /* paused by the host: do not burst afterwards */
			debt += dt * p->rate_mibps * (MIB / PAGE_BYTES);
			todo = (uint32_t)(debt / hz);
			debt -= (uint64_t)todo * hz;
		} else if (hot_pages) {
			todo = 4096; /* flat out: come back to the clock every 16 MiB */
		}
		last = now;

		for (uint32_t i = 0; i < todo; i++) {
			base[(size_t)cursor * PAGE_BYTES]++;
			if (++cursor >= hot_pages)
				cursor = 0;
		}
		report_pages += todo;
		total_mib_pages += todo;
		if (total_mib_pages >= MIB / PAGE_BYTES) {
			total_mib += total_mib_pages / (MIB / PAGE_BYTES);
			total_mib_pages %= MIB / PAGE_BYTES;
		}

		if (now - last_report >= hz) {
			uint64_t elapsed = now - last_report;
			/* achieved MiB/s in tenths: pages * 4 KiB * 10 / elapsed seconds */
			uint32_t tenths = (uint32_t)((uint64_t)report_pages * 10u * hz / elapsed / (MIB / PAGE_BYTES));
			put_s("migtune-guest: t=");
			put_u((uint32_t)((now - boot) / hz));
			put_s(" phase=");
			put_u(cur + 1);
			put_s(" hot=");
			put_u(p->hot_mib);
			put_s("MiB target=");
			put_u(p->rate_mibps);
			put_s("MiB/s achieved=");
			put_tenths(tenths);
			put_s("MiB/s written=");
			put_u(total_mib);
			put_s("MiB\n");
			report_pages = 0;
			last_report = now;
		}

		if (p->rate_mibps || !hot_pages)
			__asm__ volatile("hlt"); /* until the next 10 ms tick */
	}
}
