# shm/ — the telemetry ring library (ring.[ch]: no dependency but liburcu's header-only atomics)
# and its persistence, the dump format (dump.[ch]: the ring's records in LZ4 frames, used by the
# agent's automatic dumps and by migdump/migtop alike; link $(DUMP_OBJS) $(RING_OBJS) with
# $(LZ4_LIBS)).  The hook <-> agent wire format (wire.[ch]) is built by hook/module.mk.
# escape.[ch]: the one escaping of untrusted text before it is printed, for the tools and the
# agent's log (no dependency at all).
RING_OBJS := $(B)/shm/ring.o
DUMP_OBJS := $(B)/shm/dump.o
ESCAPE_OBJS := $(B)/shm/escape.o
$(B)/shm/%.o: CFLAGS += $(URCU_ATOMIC_CFLAGS)
$(B)/shm/dump.o: CFLAGS += $(LZ4_CFLAGS)
$(B)/tests/shm/%.o: CFLAGS += $(URCU_ATOMIC_CFLAGS) $(CMOCKA_CFLAGS)

$(B)/tests/test-ring: $(B)/tests/shm/test_ring.o $(RING_OBJS)
	$(LINK) -o $@ $^ $(CMOCKA_LIBS) -lpthread -lrt
$(B)/tests/test-ring-stress: $(B)/tests/shm/test_ring_stress.o $(RING_OBJS)
	$(LINK) -o $@ $^ -lpthread -lrt
$(B)/tests/test-ring-threads: $(B)/tests/shm/test_ring_threads.o $(RING_OBJS)
	$(LINK) -o $@ $^ -lpthread -lrt

UNIT_TESTS += $(B)/tests/test-ring $(B)/tests/test-ring-stress $(B)/tests/test-ring-threads
UNIT_TESTS += $(B)/tests/test-fuzz-flags
$(B)/tests/test-fuzz-flags: tests/shm/test-fuzz-flags.sh
	@mkdir -p $(@D)
	printf '#!/bin/sh\nexec %s/tests/shm/test-fuzz-flags.sh "%s" "%s"\n' "$(CURDIR)" \
	  "$(MAKE)" "$(CURDIR)" > $@ && chmod +x $@
TSAN_TESTS += $(B)/tests/test-ring-threads

# Benchmark: always an optimised, uninstrumented build.
$(B)/bench/bench-ring: $(B)/tests/shm/bench_ring.o $(RING_OBJS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ -lpthread -lrt
BENCHES += bench-ring
bench-ring: $(B)/bench/bench-ring
	$(B)/bench/bench-ring

# libFuzzer target over arbitrary segment bytes.  Every sanitizer finding stops the run
# (-fno-sanitize-recover=all): a UBSan report that only printed would end in "Done" with no
# artifact.  tests/shm/test-fuzz-flags.sh checks that every module's fuzzers say so.
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE \
              -I. -Ishm $(URCU_ATOMIC_CFLAGS)
$(B)/fuzz/fuzz-ring: tests/shm/fuzz_ring.c shm/ring.c shm/ring.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/shm/fuzz_ring.c shm/ring.c -lpthread -lrt
FUZZERS += fuzz-ring
fuzz-ring: $(B)/fuzz/fuzz-ring
	@mkdir -p $(B)/fuzz/corpus-ring
	$(B)/fuzz/fuzz-ring -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  -artifact_prefix=$(B)/fuzz/ -print_final_stats=1 $(B)/fuzz/corpus-ring tests/fuzz/ring

install-shm-doc:
	$(INSTALL) -D -m 0644 docs/ring-abi.md $(DESTDIR)$(DOCDIR)/ring-abi.md
	$(INSTALL) -D -m 0644 shm/ring.h $(DESTDIR)$(PREFIX)/include/migtune/ring.h
INSTALL_TARGETS += install-shm-doc
