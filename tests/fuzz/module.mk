# tests/fuzz: libFuzzer targets for the agent's own input and output handling (the control
# socket's request line, migtuned.conf, the Prometheus exposition of hostile names), with their
# seed corpora in tests/fuzz/ctl, tests/fuzz/config and tests/fuzz/metrics.  The other
# modules declare their fuzzers in their own fragments; `make fuzz` runs them all.
FUZZ_CC ?= clang
FUZZ_AGENT_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
                     -fno-sanitize-recover=all -D_GNU_SOURCE -I. -Ishm \
                     -DMIGTUNE_VERSION='"$(VERSION)"'

$(B)/fuzz/fuzz-agent-ctl: tests/agent/fuzz_ctl_request.c agent/ctl_request.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_AGENT_CFLAGS) -o $@ tests/agent/fuzz_ctl_request.c

FUZZ_CONFIG_SRCS := tests/agent/fuzz_config.c agent/config.c agent/log.c shm/escape.c $(POLICY_SRCS)
$(B)/fuzz/fuzz-agent-config: $(FUZZ_CONFIG_SRCS) agent/config.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_AGENT_CFLAGS) $(INIH_CFLAGS) $(JSONC_CFLAGS) $(SYSTEMD_CFLAGS) -o $@ \
	  $(FUZZ_CONFIG_SRCS) $(INIH_LIBS) $(JSONC_LIBS) $(SYSTEMD_LIBS) -lm

# metrics.c alone: the fuzzer stubs the status source and the log.
FUZZ_METRICS_SRCS := tests/agent/fuzz_metrics.c agent/metrics.c
$(B)/fuzz/fuzz-agent-metrics: $(FUZZ_METRICS_SRCS) agent/metrics.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_AGENT_CFLAGS) $(URCU_CFLAGS) $(JSONC_CFLAGS) -o $@ $(FUZZ_METRICS_SRCS) \
	  $(URCU_LIBS) $(JSONC_LIBS) -lpthread

# New inputs go to scratch corpora under $(B); the seeds in the tree stay as committed.
.PHONY: fuzz-agent
fuzz-agent: $(B)/fuzz/fuzz-agent-ctl $(B)/fuzz/fuzz-agent-config $(B)/fuzz/fuzz-agent-metrics
	@for t in ctl config metrics; do \
	  mkdir -p $(B)/fuzz/corpus-agent-$$t $(B)/fuzz/artifacts-agent-$$t && \
	  echo "== fuzz-agent-$$t for $(FUZZ_SECONDS) s" && \
	  $(B)/fuzz/fuzz-agent-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix=$(B)/fuzz/artifacts-agent-$$t/ \
	    $(B)/fuzz/corpus-agent-$$t tests/fuzz/$$t > $(B)/fuzz/fuzz-agent-$$t.log 2>&1 || \
	    { tail -n 40 $(B)/fuzz/fuzz-agent-$$t.log; exit 1; }; \
	  grep -E '^(Done|stat::number_of_executed_units)' $(B)/fuzz/fuzz-agent-$$t.log; \
	done

FUZZERS += fuzz-agent
