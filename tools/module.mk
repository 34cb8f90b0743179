# tools/: the migration simulator (migsim), built over the policy library (policy/module.mk).
# migtop / migdump have their own fragment (tools/views.mk, included at the end).

SIM_SRCS := tools/sim.c tools/sim_scenario.c tools/sim_report.c tools/sim_bench.c
SIM_OBJS := $(patsubst %.c,$(B)/%.o,$(SIM_SRCS))

$(B)/tools/sim.o $(B)/tools/sim_scenario.o $(B)/tools/sim_report.o $(B)/tools/sim_bench.o \
$(B)/tools/migsim.o: \
	CFLAGS += $(JSONC_CFLAGS)
# migsim --ring / --dump: the records migtuned would write, through shm/'s writers
$(B)/tools/sim_record.o: CFLAGS += $(LZ4_CFLAGS)

BINS += $(B)/migsim
$(B)/migsim: $(B)/tools/migsim.o $(B)/tools/sim_record.o $(SIM_OBJS) $(POLICY_OBJS) $(RING_OBJS) \
		$(DUMP_OBJS)
	$(LINK) -o $@ $^ $(POLICY_LIBS) $(LZ4_LIBS) -lrt

# ---- unit tests (cmocka) -----------------------------------------------------------------------
SIM_TEST_CFLAGS = $(CMOCKA_CFLAGS) $(JSONC_CFLAGS) -DSIM_TESTDIR='"$(CURDIR)/tests/sim"'
$(B)/tests/sim/%.o: CFLAGS += $(SIM_TEST_CFLAGS)

UNIT_TESTS += $(B)/tests/test-sim
$(B)/tests/test-sim: $(B)/tests/sim/test_sim.o $(SIM_OBJS) $(POLICY_OBJS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(POLICY_LIBS) $(CMOCKA_LIBS)

# ---- benchmark ---------------------------------------------------------------------------------
BENCHES += bench-policy
.PHONY: bench-policy
bench-policy: $(B)/migsim
	$(B)/migsim --bench tests/sim/scenarios/*.json

# ---- the sweep scenarios: generated, committed, checked by test-sim ------------------------------
.PHONY: sim-sweeps
sim-sweeps:
	tests/sim/gen-sweeps.sh tests/sim/scenarios

# ---- fuzzers (clang libFuzzer; the sources are rebuilt with the fuzzer's instrumentation) -------
FUZZERS += fuzz-sim
.PHONY: fuzz-sim
$(B)/fuzz/fuzz-scenario: tests/sim/fuzz_scenario.c $(SIM_SRCS) $(POLICY_SRCS) tools/sim.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(POLICY_FUZZ_CFLAGS) $(JSONC_CFLAGS) -o $@ $(filter %.c,$^) $(JSONC_LIBS) -lm
fuzz-sim: $(B)/fuzz/fuzz-scenario
	@mkdir -p $(B)/fuzz/corpus-scenario
	$(B)/fuzz/fuzz-scenario -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(B)/fuzz/ \
		-print_final_stats=1 $(B)/fuzz/corpus-scenario tests/sim/scenarios

# ---- install -----------------------------------------------------------------------------------
MANPAGES += man/migsim.1
INSTALL_TARGETS += install-migsim
.PHONY: install-migsim
install-migsim: $(B)/migsim
	$(INSTALL) -D -m 0755 $(B)/migsim $(DESTDIR)$(BINDIR)/migsim

# migtop / migdump rules live in their own fragment.
-include tools/views.mk

# ---- calibration against the two-host lab (root; minutes: not part of make check) --------------
# Runs the lab migrations of tests/sim/scenarios/lab-cal-*.json for real and prints them next to
# the simulator; CALIBRATE_ARGS="--update" stores the measurements as the scenarios' references.
.PHONY: calibrate
calibrate: $(B)/migsim $(B)/lab/guest.elf $(B)/lab/lab-flow
	MIGSIM=$(abspath $(B)/migsim) LAB_GUEST=$(abspath $(B)/lab/guest.elf) \
	  LAB_FLOW=$(abspath $(B)/lab/lab-flow) TRACE_DIR=$(abspath $(B)/lab/calibrate) \
	  tests/lab/calibrate.sh $(CALIBRATE_ARGS)
