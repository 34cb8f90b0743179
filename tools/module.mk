# tools/: the migration simulator (migsim) and the policy engine's build rules.
#
# The policy sources live in agent/ (the agent links them too) but are built from here, so that the
# simulator, the tests and the fuzzers use exactly the objects migtuned does: link $(POLICY_OBJS)
# with $(POLICY_LIBS).

POLICY_SRCS := agent/policy.c agent/policy_rhv.c agent/policy_nova.c agent/policy_adaptive.c \
               agent/policy_json.c
POLICY_OBJS := $(patsubst %.c,$(B)/%.o,$(POLICY_SRCS))
POLICY_LIBS  = $(JSONC_LIBS) -lm

SIM_SRCS := tools/sim.c tools/sim_scenario.c tools/sim_report.c
SIM_OBJS := $(patsubst %.c,$(B)/%.o,$(SIM_SRCS))

$(B)/agent/policy_json.o: CFLAGS += $(JSONC_CFLAGS)
$(B)/tools/sim.o $(B)/tools/sim_scenario.o $(B)/tools/sim_report.o $(B)/tools/migsim.o: \
	CFLAGS += $(JSONC_CFLAGS)

BINS += $(B)/migsim
$(B)/migsim: $(B)/tools/migsim.o $(SIM_OBJS) $(POLICY_OBJS)
	$(LINK) -o $@ $^ $(POLICY_LIBS)

# ---- unit tests (cmocka) -----------------------------------------------------------------------
SIM_TEST_CFLAGS = $(CMOCKA_CFLAGS) $(JSONC_CFLAGS) -DSIM_TESTDIR='"$(CURDIR)/tests/sim"'
$(B)/tests/sim/%.o: CFLAGS += $(SIM_TEST_CFLAGS)

UNIT_TESTS += $(B)/tests/test-policy $(B)/tests/test-policy-json $(B)/tests/test-sim
$(B)/tests/test-policy: $(B)/tests/sim/test_policy.o $(POLICY_OBJS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(POLICY_LIBS) $(CMOCKA_LIBS)
$(B)/tests/test-policy-json: $(B)/tests/sim/test_policy_json.o $(POLICY_OBJS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(POLICY_LIBS) $(CMOCKA_LIBS)
$(B)/tests/test-sim: $(B)/tests/sim/test_sim.o $(SIM_OBJS) $(POLICY_OBJS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(POLICY_LIBS) $(CMOCKA_LIBS)

# ---- benchmark ---------------------------------------------------------------------------------
BENCHES += bench-policy
.PHONY: bench-policy
bench-policy: $(B)/migsim
	$(B)/migsim --bench tests/sim/scenarios/*.json

# ---- fuzzers (clang libFuzzer; the sources are rebuilt with the fuzzer's instrumentation) -------
FUZZ_CC     ?= clang
POLICY_FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. -Ishm \
               -DMIGTUNE_VERSION='"$(VERSION)"'
FUZZERS += fuzz-policy
.PHONY: fuzz-policy
$(B)/fuzz/fuzz-policy-json: tests/sim/fuzz_policy_json.c $(POLICY_SRCS) agent/policy.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(POLICY_FUZZ_CFLAGS) $(JSONC_CFLAGS) -o $@ $(filter %.c,$^) $(JSONC_LIBS) -lm
$(B)/fuzz/fuzz-scenario: tests/sim/fuzz_scenario.c $(SIM_SRCS) $(POLICY_SRCS) tools/sim.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(POLICY_FUZZ_CFLAGS) $(JSONC_CFLAGS) -o $@ $(filter %.c,$^) $(JSONC_LIBS) -lm
fuzz-policy: $(B)/fuzz/fuzz-policy-json $(B)/fuzz/fuzz-scenario
	@mkdir -p $(B)/fuzz/corpus-policy $(B)/fuzz/corpus-scenario
	$(B)/fuzz/fuzz-policy-json -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(B)/fuzz/ \
		-print_final_stats=1 $(B)/fuzz/corpus-policy tests/sim/policies
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
