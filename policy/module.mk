# policy/ — the migration policies: pure functions from a migration's sample history to tuning
# actions (policy.h).  A library of its own: migtuned (agent/) and migsim (tools/) link the same
# objects.  It is compiled with no library's flags but json-c's (policy_json.c reads RHV's JSON),
# and every source includes policy/pure.h last, which makes any I/O call a compile error.
#
# Link $(POLICY_OBJS) with $(POLICY_LIBS).

POLICY_SRCS := policy/policy.c policy/history.c policy/action.c policy/dispatch.c \
               policy/policy_rhv.c \
               policy/policy_nova.c policy/policy_adaptive.c \
               policy/adaptive_estimate.c policy/adaptive_choose.c \
               policy/policy_json.c
POLICY_OBJS := $(patsubst %.c,$(B)/%.o,$(POLICY_SRCS))
POLICY_LIBS  = $(JSONC_LIBS) -lm

$(B)/policy/policy_json.o: CFLAGS += $(JSONC_CFLAGS)

# ---- unit tests (cmocka) -----------------------------------------------------------------------
POLICY_TEST_CFLAGS = $(CMOCKA_CFLAGS) $(JSONC_CFLAGS) -DPOLICY_TESTDIR='"$(CURDIR)/tests/policy"'
$(B)/tests/policy/%.o: CFLAGS += $(POLICY_TEST_CFLAGS)

UNIT_TESTS += $(B)/tests/test-policy $(B)/tests/test-policy-json $(B)/tests/test-adaptive \
              $(B)/tests/test-estimate $(B)/tests/test-choose
$(B)/tests/test-policy: $(B)/tests/policy/test_policy.o $(B)/tests/policy/synth.o $(POLICY_OBJS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(POLICY_LIBS) $(CMOCKA_LIBS)
$(B)/tests/test-adaptive: $(B)/tests/policy/test_adaptive.o $(B)/tests/policy/synth.o $(POLICY_OBJS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(POLICY_LIBS) $(CMOCKA_LIBS)
$(B)/tests/test-estimate: $(B)/tests/policy/test_estimate.o $(B)/tests/policy/synth.o $(POLICY_OBJS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(POLICY_LIBS) $(CMOCKA_LIBS)
$(B)/tests/test-choose: $(B)/tests/policy/test_choose.o $(POLICY_OBJS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(POLICY_LIBS) $(CMOCKA_LIBS)
$(B)/tests/test-policy-json: $(B)/tests/policy/test_policy_json.o $(POLICY_OBJS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(POLICY_LIBS) $(CMOCKA_LIBS)

# The purity fence itself: a probe that calls I/O from a policy source must not compile, and the
# same probe without the call must (so that a missing compiler cannot pass it).
UNIT_TESTS += $(B)/tests/test-policy-pure
$(B)/tests/test-policy-pure: tests/policy/test-policy-pure.sh tests/policy/pure_probe.c policy/pure.h
	@mkdir -p $(@D)
	printf '#!/bin/sh\nexec %s/tests/policy/test-policy-pure.sh "%s" "%s"\n' "$(CURDIR)" \
	  "$(CC)" "$(CURDIR)" > $@ && chmod +x $@

# ---- fuzzing (clang libFuzzer; the sources are rebuilt with the fuzzer's instrumentation) -------
FUZZ_CC     ?= clang
POLICY_FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all -D_GNU_SOURCE -I. -Ishm -DMIGTUNE_VERSION='"$(VERSION)"'
$(B)/fuzz/fuzz-policy-json: tests/policy/fuzz_policy_json.c $(POLICY_SRCS) policy/policy.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(POLICY_FUZZ_CFLAGS) $(JSONC_CFLAGS) -o $@ $(filter %.c,$^) $(JSONC_LIBS) -lm
FUZZERS += fuzz-policy
.PHONY: fuzz-policy
fuzz-policy: $(B)/fuzz/fuzz-policy-json
	@mkdir -p $(B)/fuzz/corpus-policy
	$(B)/fuzz/fuzz-policy-json -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(B)/fuzz/ \
		-print_final_stats=1 $(B)/fuzz/corpus-policy tests/policy/policies
