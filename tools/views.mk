# tools/views.mk — migtop (live view and replay) and migdump (dump writer/decoder), over the
# ring and its dump format (shm/).  Included from tools/module.mk.

VIEW_OBJS  := $(B)/tools/view_decode.o $(DUMP_OBJS) $(ESCAPE_OBJS)
VIEWS_LIBS := $(LZ4_LIBS) $(JSONC_LIBS) -lm

$(B)/tools/view_decode.o $(B)/tools/migdump.o: CFLAGS += $(LZ4_CFLAGS) $(JSONC_CFLAGS)
$(B)/tools/migtop.o: CFLAGS += $(LZ4_CFLAGS) $(JSONC_CFLAGS) $(NCURSES_CFLAGS)

$(B)/migtop: $(B)/tools/migtop.o $(VIEW_OBJS) $(RING_OBJS)
	$(LINK) -o $@ $^ $(NCURSES_LIBS) $(VIEWS_LIBS) -lrt
$(B)/migdump: $(B)/tools/migdump.o $(VIEW_OBJS) $(RING_OBJS)
	$(LINK) -o $@ $^ $(VIEWS_LIBS) -lrt

BINS += $(B)/migtop $(B)/migdump
MANPAGES += man/migtop.1 man/migdump.1

# ---- tests ------------------------------------------------------------------------------------
# The tests spawn the programs of the same build flavour, found through VIEWS_BIN_DIR.
VIEWS_TEST_CFLAGS := $(CMOCKA_CFLAGS) $(LZ4_CFLAGS) $(JSONC_CFLAGS) \
	-DVIEWS_BIN_DIR='"$(abspath $(B))"'
$(B)/tests/views/%.o: CFLAGS += $(VIEWS_TEST_CFLAGS)

$(B)/tests/test-dump: $(B)/tests/views/test_dump.o $(B)/tests/views/synth.o $(VIEW_OBJS) $(RING_OBJS)
	$(LINK) -o $@ $^ $(CMOCKA_LIBS) $(VIEWS_LIBS) -lrt
$(B)/tests/test-dump-live: $(B)/tests/views/test_dump_live.o $(B)/tests/views/synth.o $(VIEW_OBJS) \
		$(RING_OBJS)
	$(LINK) -o $@ $^ $(CMOCKA_LIBS) $(VIEWS_LIBS) -lpthread -lrt
$(B)/tests/test-view-model: $(B)/tests/views/test_view_model.o $(VIEW_OBJS) $(RING_OBJS)
	$(LINK) -o $@ $^ $(CMOCKA_LIBS) $(VIEWS_LIBS) -lrt
$(B)/tests/test-views: $(B)/tests/views/test_views.o $(B)/tests/views/synth.o \
		$(B)/tests/views/runprog.o $(B)/tests/common/exe_copy.o $(VIEW_OBJS) \
		$(RING_OBJS) $(B)/migtop $(B)/migdump
	$(LINK) -o $@ $(filter %.o,$^) $(CMOCKA_LIBS) $(VIEWS_LIBS) -lrt
$(B)/tests/test-migtop-tmux: $(B)/tests/views/test_tmux.o $(B)/tests/views/synth.o $(VIEW_OBJS) \
		$(RING_OBJS) $(B)/migtop $(B)/migdump
	$(LINK) -o $@ $(filter %.o,$^) $(CMOCKA_LIBS) $(VIEWS_LIBS) -lrt
$(B)/tests/test-views-hostile: $(B)/tests/views/test_hostile.o $(B)/tests/views/synth.o \
		$(B)/tests/views/runprog.o $(B)/tests/views/escape_check.o $(B)/tests/views/bomb.o \
		$(VIEW_OBJS) $(RING_OBJS) \
		$(B)/migtop $(B)/migdump
	$(LINK) -o $@ $(filter %.o,$^) $(CMOCKA_LIBS) $(VIEWS_LIBS) -lrt
$(B)/tests/test-dump-limits: $(B)/tests/views/test_dump_limits.o $(B)/tests/views/bomb.o \
		$(B)/tests/views/synth.o $(VIEW_OBJS) $(RING_OBJS)
	$(LINK) -o $@ $^ $(CMOCKA_LIBS) $(VIEWS_LIBS) -lrt
$(B)/tests/test-dump-durable: $(B)/tests/views/test_dump_durable.o $(B)/tests/views/synth.o \
		$(VIEW_OBJS) $(RING_OBJS)
	$(LINK) -o $@ $^ $(CMOCKA_LIBS) $(VIEWS_LIBS) -lrt
$(B)/tests/test-views-state: $(B)/tests/views/test_views_state.o $(B)/tests/views/synth.o \
		$(B)/tests/views/runprog.o $(VIEW_OBJS) $(RING_OBJS) $(B)/migtop
	$(LINK) -o $@ $(filter %.o,$^) $(CMOCKA_LIBS) $(VIEWS_LIBS) -lrt
$(B)/tests/test-escape: $(B)/tests/views/test_escape.o $(B)/tests/views/escape_check.o $(ESCAPE_OBJS)
	$(LINK) -o $@ $^ $(CMOCKA_LIBS) $(JSONC_LIBS)
# A helper to fill a ring by hand: build/tests/views-synth --ring /migtune-demo --hold 60
$(B)/tests/views-synth: $(B)/tests/views/synth_main.o $(B)/tests/views/synth.o $(RING_OBJS)
	$(LINK) -o $@ $^ -lrt

# migsim --ring / --dump shown by migtop and migdump, run as nobody when root
$(B)/tests/views/test_sim_ring.o: CFLAGS += -DVIEWS_SCENARIO_DIR='"$(CURDIR)/tests/sim/scenarios"' \
	-DVIEWS_SRC_DIR='"$(CURDIR)"'
$(B)/tests/test-sim-ring: $(B)/tests/views/test_sim_ring.o $(B)/tests/views/synth.o \
		$(B)/tests/views/runprog.o $(B)/tests/common/exe_copy.o $(RING_OBJS) \
		$(B)/migsim $(B)/migtop $(B)/migdump
	$(LINK) -o $@ $(filter %.o,$^) $(CMOCKA_LIBS) $(JSONC_LIBS) -lrt

UNIT_TESTS += $(B)/tests/test-sim-ring
UNIT_TESTS += $(B)/tests/test-dump $(B)/tests/test-dump-live $(B)/tests/test-view-model \
	$(B)/tests/test-views $(B)/tests/test-migtop-tmux $(B)/tests/test-escape \
	$(B)/tests/test-views-hostile $(B)/tests/test-dump-limits $(B)/tests/test-dump-durable \
	$(B)/tests/test-views-state
TSAN_TESTS += $(B)/tests/test-dump-live

# ---- benchmark (always the optimised, uninstrumented build) -----------------------------------
$(B)/bench/bench-dump: $(B)/tests/views/bench_dump.o $(B)/tests/views/synth.o $(VIEW_OBJS) \
		$(RING_OBJS) $(B)/migtop
	@mkdir -p $(@D)
	$(LINK) -o $@ $(filter %.o,$^) $(VIEWS_LIBS) -lrt
BENCHES += bench-dump
bench-dump: $(B)/bench/bench-dump
	$(B)/bench/bench-dump

# ---- fuzzing ----------------------------------------------------------------------------------
FUZZ_CC ?= clang
FUZZ_DUMP_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-D_GNU_SOURCE -I. -Ishm \
	$(URCU_ATOMIC_CFLAGS) $(LZ4_CFLAGS) $(JSONC_CFLAGS)
FUZZ_DUMP_SRCS := tests/views/fuzz_dump.c shm/dump.c tools/view_decode.c shm/ring.c shm/escape.c
$(B)/fuzz/fuzz-dump: $(FUZZ_DUMP_SRCS) shm/dump.h tools/view_decode.h shm/ring.h shm/escape.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_DUMP_FLAGS) -o $@ $(FUZZ_DUMP_SRCS) $(LZ4_LIBS) $(JSONC_LIBS) -lm -lpthread -lrt
$(B)/fuzz/mkseed-dump: tests/views/fuzz_seed.c tests/views/synth.c tests/views/bomb.c $(VIEW_OBJS) \
		$(RING_OBJS)
	@mkdir -p $(@D)
	$(LINK) $(CPPFLAGS) $(LZ4_CFLAGS) -o $@ tests/views/fuzz_seed.c tests/views/synth.c \
		tests/views/bomb.c $(VIEW_OBJS) $(RING_OBJS) $(VIEWS_LIBS) -lrt
FUZZERS += fuzz-dump
fuzz-dump: $(B)/fuzz/fuzz-dump $(B)/fuzz/mkseed-dump
	@mkdir -p $(B)/fuzz/corpus-dump
	$(B)/fuzz/mkseed-dump $(B)/fuzz/corpus-dump
	$(B)/fuzz/fuzz-dump -max_total_time=$(FUZZ_SECONDS) -max_len=262144 \
	  -artifact_prefix=$(B)/fuzz/ -print_final_stats=1 $(B)/fuzz/corpus-dump

# ---- install ----------------------------------------------------------------------------------
install-views: $(B)/migtop $(B)/migdump
	$(INSTALL) -D -m 0755 $(B)/migtop $(DESTDIR)$(BINDIR)/migtop
	$(INSTALL) -D -m 0755 $(B)/migdump $(DESTDIR)$(BINDIR)/migdump
	$(INSTALL) -D -m 0644 docs/dump-format.md $(DESTDIR)$(DOCDIR)/dump-format.md
	$(INSTALL) -D -m 0644 docs/threat-model.md $(DESTDIR)$(DOCDIR)/threat-model.md
INSTALL_TARGETS += install-views

# The reader's limits: small limits chosen by the input, over the same seeds.
FUZZ_LIMITS_SRCS := tests/views/fuzz_dump_limits.c shm/dump.c shm/ring.c
$(B)/fuzz/fuzz-dump-limits: $(FUZZ_LIMITS_SRCS) shm/dump.h shm/ring.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_DUMP_FLAGS) -o $@ $(FUZZ_LIMITS_SRCS) $(LZ4_LIBS) -lpthread -lrt
FUZZERS += fuzz-dump-limits
fuzz-dump-limits: $(B)/fuzz/fuzz-dump-limits $(B)/fuzz/mkseed-dump
	@mkdir -p $(B)/fuzz/corpus-dump-limits $(B)/fuzz/seeds-dump-limits
	$(B)/fuzz/mkseed-dump $(B)/fuzz/seeds-dump-limits
	@for f in $(B)/fuzz/seeds-dump-limits/*; do \
	  printf '\001\000\010\010' | cat - /dev/zero | head -c 8 | cat - "$$f" \
	    > $(B)/fuzz/corpus-dump-limits/seed-$$(basename "$$f"); done
	$(B)/fuzz/fuzz-dump-limits -max_total_time=$(FUZZ_SECONDS) -max_len=262144 \
	  -artifact_prefix=$(B)/fuzz/ -print_final_stats=1 $(B)/fuzz/corpus-dump-limits

# Every printed text goes through shm/escape.c: arbitrary bytes in, safe text out, read back equal.
FUZZ_ESCAPE_SRCS := tests/views/fuzz_escape.c tests/views/escape_check.c shm/escape.c
$(B)/fuzz/fuzz-escape: $(FUZZ_ESCAPE_SRCS) shm/escape.h tests/views/escape_check.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_DUMP_FLAGS) -o $@ $(FUZZ_ESCAPE_SRCS) $(JSONC_LIBS)
FUZZERS += fuzz-escape
fuzz-escape: $(B)/fuzz/fuzz-escape
	@mkdir -p $(B)/fuzz/corpus-escape
	$(B)/fuzz/fuzz-escape -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -artifact_prefix=$(B)/fuzz/ -print_final_stats=1 $(B)/fuzz/corpus-escape tests/fuzz/escape

.PHONY: bench-dump fuzz-dump fuzz-dump-limits fuzz-escape install-views
