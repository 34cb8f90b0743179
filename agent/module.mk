# agent/ — migtuned, the per-host agent.

AGENT_SRCS := agent/agent.c agent/config.c agent/ctl.c agent/hooksock.c agent/jobstats.c \
              agent/log.c agent/msgq.c agent/nic.c agent/sockutil.c agent/virt.c \
              agent/tracker.c agent/tracker_migration.c agent/tracker_ring.c agent/tracker_advice.c \
              agent/actuator.c agent/actuator_recovery.c agent/actuator_virt.c agent/dumper.c \
              agent/metrics.c agent/dirtyrate.c agent/stats.c agent/sdnotify.c agent/overshoot.c
AGENT_OBJS := $(patsubst %.c,$(B)/%.o,$(AGENT_SRCS))
# Below the agent: the ring, its dump format and the wire format (shm/), the policies (policy/),
# the bounded domain XML reader it shares with the hook (domxml/).
AGENT_SHM_OBJS := $(RING_OBJS) $(DUMP_OBJS) $(ESCAPE_OBJS) $(B)/shm/wire.o $(DOMXML_OBJS)
AGENT_LIB_CFLAGS := $(VIRT_CFLAGS) $(NL_CFLAGS) $(URCU_CFLAGS) $(INIH_CFLAGS) $(JSONC_CFLAGS) \
                    $(SYSTEMD_CFLAGS)
AGENT_LIBS := $(VIRT_LIBS) $(NL_LIBS) $(URCU_LIBS) $(INIH_LIBS) $(JSONC_LIBS) $(EXPAT_LIBS) \
              $(LZ4_LIBS) $(SYSTEMD_LIBS) -lpthread -lrt

$(B)/agent/%.o: CFLAGS += $(AGENT_LIB_CFLAGS)

$(B)/migtuned: $(B)/agent/main.o $(AGENT_OBJS) $(POLICY_OBJS) $(AGENT_SHM_OBJS)
	$(LINK) -o $@ $^ $(AGENT_LIBS) -lm

BINS += $(B)/migtuned
MANPAGES += man/migtuned.8 man/migtune.conf.5

# ---- tests ------------------------------------------------------------------------------------
$(B)/tests/agent/%.o: CFLAGS += $(AGENT_LIB_CFLAGS) $(CMOCKA_CFLAGS)
AGENT_TEST_DEPS := $(AGENT_OBJS) $(POLICY_OBJS) $(AGENT_SHM_OBJS)

AGENT_UNIT := test-agent-config test-agent-tracker test-agent-hooksock test-agent-ctl \
              test-agent-nic test-agent-threads test-agent-daemon test-agent-actuator \
              test-agent-dumper test-agent-metrics test-agent-dirtyrate test-agent-log \
              test-agent-overshoot test-agent-recovery
$(foreach t,$(AGENT_UNIT),$(eval $(B)/tests/$(t): $(B)/tests/agent/$(subst -,_,$(t)).o \
  $(B)/tests/agent/agent_testutil.o $$(AGENT_TEST_DEPS) ; \
  $$(LINK) -o $$@ $$^ $$(AGENT_LIBS) $$(CMOCKA_LIBS) -lm))

# The daemon test runs the migtuned of the same build flavour.
$(B)/tests/agent/test_agent_daemon.o: CPPFLAGS += -DMIGTUNED_PATH='"$(B)/migtuned"'
$(B)/tests/test-agent-daemon: $(B)/tests/common/exe_copy.o | $(B)/migtuned $(B)/migtune-hook

UNIT_TESTS += $(addprefix $(B)/tests/,$(AGENT_UNIT))

# The systemd unit, checked by systemd-analyze against the migtuned of the same build.
$(B)/tests/test-unit-file: tests/agent/test-unit-file.sh etc/systemd/migtuned.service | $(B)/migtuned
	@mkdir -p $(@D)
	cp $< $@
	chmod 0755 $@
UNIT_TESTS += $(B)/tests/test-unit-file
TSAN_TESTS += $(B)/tests/test-agent-threads $(B)/tests/test-agent-hooksock \
              $(B)/tests/test-agent-dumper $(B)/tests/test-agent-dirtyrate \
              $(B)/tests/test-agent-recovery

# ---- benchmark --------------------------------------------------------------------------------
$(B)/bench/bench-agent: $(B)/tests/agent/bench_agent.o $(B)/tests/agent/agent_testutil.o \
  $(AGENT_TEST_DEPS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(AGENT_LIBS) $(CMOCKA_LIBS) -lm
BENCHES += bench-agent
bench-agent: $(B)/bench/bench-agent
	$(B)/bench/bench-agent

# ---- lab --------------------------------------------------------------------------------------
LAB_TESTS += lab-agent
lab-agent: $(B)/migtuned $(B)/migdump $(B)/migtune-hook $(B)/lab/guest.elf
	tests/agent/lab-agent.sh $(B)/migtuned

# The rescue: migtuned in active mode on the lab's non-converging migration (one lab instance
# for every scenario; the measured table goes to $(B)/lab/rescue.txt).
LAB_TESTS += lab-rescue
lab-rescue: $(B)/migtuned $(B)/migdump $(B)/lab/guest.elf $(B)/lab/lab-flow
	tests/agent/lab-rescue.sh $(B)/migtuned

# Post-copy recovery: the stream of a post-copy cut (TCP reset and link down) on the lab, resumed
# by the agent, also across its restart; a link only down; and the failure path with recovery off.
LAB_TESTS += lab-recovery
lab-recovery: $(B)/migtuned $(B)/migdump $(B)/lab/guest.elf
	tests/agent/lab-recovery.sh $(B)/migtuned

# ---- install ----------------------------------------------------------------------------------
INSTALL_TARGETS += install-agent
install-agent: $(B)/migtuned
	$(INSTALL) -D -m 0755 $(B)/migtuned $(DESTDIR)$(SBINDIR)/migtuned
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/migtune/migtuned.conf ]; then \
	  echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/migtune/migtuned.conf"; \
	else \
	  $(INSTALL) -D -m 0644 etc/migtune/migtuned.conf $(DESTDIR)$(SYSCONFDIR)/migtune/migtuned.conf; \
	fi
	@mkdir -p $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/sbin/|$(SBINDIR)/|g' etc/systemd/migtuned.service > $(DESTDIR)$(UNITDIR)/migtuned.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/migtuned.service

.PHONY: bench-agent lab-agent lab-rescue lab-recovery install-agent
