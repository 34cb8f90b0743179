# domxml/ — the bounded reader of libvirt domain XML shared by migtune-hook and migtuned: the
# hook's domain facts and the owner's <migtune:policy> metadata.  Links expat (dynamically, as
# Debian ships it) and shm/wire.h's types; no libvirt, no liburcu, no libxml2.

DOMXML_SRCS := domxml/bound.c domxml/domain.c domxml/values.c
DOMXML_HDRS := domxml/domxml.h domxml/bound.h
DOMXML_OBJS := $(patsubst %.c,$(B)/%.o,$(DOMXML_SRCS))

$(B)/domxml/%.o: CFLAGS += $(EXPAT_CFLAGS)

# ---- tests ------------------------------------------------------------------------------------
$(B)/tests/domxml/%.o: CFLAGS += $(CMOCKA_CFLAGS) $(EXPAT_CFLAGS)
$(B)/tests/domxml/%.o: CPPFLAGS += -DDOMXML_SRCDIR='"$(CURDIR)"'

$(B)/tests/test-domxml: $(B)/tests/domxml/test-domxml.o $(B)/tests/domxml/gen.o $(DOMXML_OBJS) \
                       $(B)/shm/wire.o
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(CMOCKA_LIBS) $(EXPAT_LIBS)

UNIT_TESTS += $(B)/tests/test-domxml

# ---- benchmark: the parse's cost is linear in hostile input ---------------------------------
$(B)/bench/bench-domxml: $(B)/tests/domxml/bench-domxml.o $(B)/tests/domxml/gen.o $(DOMXML_OBJS) \
                         $(B)/shm/wire.o
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(EXPAT_LIBS)

.PHONY: bench-domxml
bench-domxml: $(B)/bench/bench-domxml
	$(B)/bench/bench-domxml $(if $(HOOK_BENCH_STRICT),--strict)

BENCHES += bench-domxml

# ---- fuzzing (clang libFuzzer + ASan/UBSan) ---------------------------------------------------
FUZZ_CC ?= clang
DOMXML_FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
                      -fno-sanitize-recover=all -D_GNU_SOURCE -I. -Ishm $(EXPAT_CFLAGS)

$(B)/fuzz/fuzz-domxml: tests/domxml/fuzz-domxml.c $(DOMXML_SRCS) shm/wire.c $(DOMXML_HDRS) \
                       shm/wire.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(DOMXML_FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(EXPAT_LIBS)

# New inputs go to a scratch corpus under $(B); the seeds in tests/fuzz/domxml stay as committed.
.PHONY: fuzz-domxml
fuzz-domxml: $(B)/fuzz/fuzz-domxml
	@mkdir -p $(B)/fuzz/corpus-domxml $(B)/fuzz/artifacts-domxml
	@echo "== fuzz-domxml for $(FUZZ_SECONDS) s"
	@$(B)/fuzz/fuzz-domxml -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  -print_final_stats=1 -artifact_prefix=$(B)/fuzz/artifacts-domxml/ \
	  $(B)/fuzz/corpus-domxml tests/fuzz/domxml > $(B)/fuzz/fuzz-domxml.log 2>&1 || \
	  { tail -n 40 $(B)/fuzz/fuzz-domxml.log; exit 1; }
	@grep -E '^(Done|stat::number_of_executed_units)' $(B)/fuzz/fuzz-domxml.log

FUZZERS += fuzz-domxml
