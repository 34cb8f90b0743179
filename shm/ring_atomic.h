/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handful of atomic operations the ring needs, in one place.
 *
 * Normal builds use liburcu's uatomic and cmm_smp_* barriers (liburcu 0.13 has no memory-order
 * API, so ordering comes from explicit barriers; each use site names the barrier it pairs with).
 *
 * ThreadSanitizer cannot see liburcu's inline assembly: under TSan the same operations map to the
 * compiler's __atomic builtins with the ordering the barriers provide, and the record copies are
 * done with relaxed atomic word accesses (the C11 way to write a seqlock), so TSan checks the
 * protocol instead of flagging every seqlock copy as a race.
 */
#ifndef MIGTUNE_SHM_RING_ATOMIC_H
#define MIGTUNE_SHM_RING_ATOMIC_H

#include <stdint.h>
#include <string.h>

#if defined(__SANITIZE_THREAD__)
#define RING_ATOMIC_BUILTINS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RING_ATOMIC_BUILTINS 1
#endif
#endif

#ifdef RING_ATOMIC_BUILTINS

#define ring_load(p)          __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ring_store(p, v)      __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ring_fetch_inc(p)     __atomic_fetch_add((p), 1, __ATOMIC_ACQ_REL)
#define ring_inc(p)           ((void)__atomic_fetch_add((p), 1, __ATOMIC_RELAXED))
static inline uint64_t ring_cas(uint64_t *p, uint64_t old, uint64_t new_)
{
	__atomic_compare_exchange_n(p, &old, new_, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	return old;
}
/* TSan does not model standalone fences; the ordering they give comes instead from the copies
 * below: every word stored with release (after the "writing" mark, before "committed") and
 * loaded with acquire (after the first seq read, before the second). */
#define ring_wmb()            do { } while (0)
#define ring_rmb()            do { } while (0)

static inline void ring_copy_out(void *dst, const void *src, size_t len)
{
	uint64_t *d = dst;
	const uint64_t *s = src;

	for (size_t i = 0; i < len / 8; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_ACQUIRE);
}

static inline void ring_copy_in(void *dst, const void *src, size_t len)
{
	uint64_t *d = dst;
	const uint64_t *s = src;

	for (size_t i = 0; i < len / 8; i++)
		__atomic_store_n(&d[i], s[i], __ATOMIC_RELEASE);
}

#else

#include <urcu/arch.h>
#include <urcu/uatomic.h>

#define ring_load(p)          uatomic_read(p)
#define ring_store(p, v)      uatomic_set((p), (v))
#define ring_fetch_inc(p)     (uatomic_add_return((p), 1) - 1)
#define ring_inc(p)           uatomic_inc(p)
#define ring_cas(p, o, n)     uatomic_cmpxchg((p), (o), (n))
#define ring_wmb()            cmm_smp_wmb()
#define ring_rmb()            cmm_smp_rmb()
#define ring_copy_out(d, s, n) memcpy((d), (s), (n))
#define ring_copy_in(d, s, n)  memcpy((d), (s), (n))

#endif

#endif
