# hook/ — migtune-hook, the libvirt qemu hook, and shm/wire.c, the hook <-> agent message format.
# Links domxml/ and through it expat, dynamically: no libvirt, no liburcu, no libxml2.

# Build-time defaults, overridable on the command line (e.g. a lab build:
#   make HOOK_CONF=/srv/lab/host-a/etc/migtune/hook.conf).
HOOK_CONF   ?= $(SYSCONFDIR)/migtune/hook.conf
HOOK_SOCKET ?= /run/migtune/hook.sock

HOOK_DEFS := -DHOOK_CONF_PATH='"$(HOOK_CONF)"' -DHOOK_SOCKET_PATH='"$(HOOK_SOCKET)"' \
             -DHOOK_SYSCONFDIR='"$(SYSCONFDIR)"'

# Rebuild the objects that embed those paths whenever they change (the stamp's content changes
# only then, so an unchanged build stays up to date).
HOOK_DEFS_STAMP := $(B)/hook/defs.stamp
$(shell mkdir -p $(B)/hook && printf '%s\n' "$(HOOK_CONF)" "$(HOOK_SOCKET)" "$(SYSCONFDIR)" | \
        cmp -s - $(HOOK_DEFS_STAMP) 2>/dev/null || \
        printf '%s\n' "$(HOOK_CONF)" "$(HOOK_SOCKET)" "$(SYSCONFDIR)" > $(HOOK_DEFS_STAMP))
$(B)/hook/main.o $(B)/hook/config.o: $(HOOK_DEFS_STAMP)

HOOK_LIB_OBJS := $(B)/hook/event.o $(B)/hook/config.o $(B)/hook/io.o $(B)/shm/wire.o \
                 $(DOMXML_OBJS)
HOOK_OBJS     := $(HOOK_LIB_OBJS) $(B)/hook/main.o

$(B)/hook/%.o: CPPFLAGS += $(HOOK_DEFS)

# Every library dynamically, from the distribution: its security updates reach the hook.  expat
# maps one small library (bench-hook measures the whole exec against /bin/true's).
$(B)/migtune-hook: $(HOOK_OBJS)
	$(LINK) -o $@ $(HOOK_OBJS) $(EXPAT_LIBS)

BINS += $(B)/migtune-hook

# ---- unit and process-level tests ------------------------------------------------------------
$(B)/tests/hook/%.o: CFLAGS += $(CMOCKA_CFLAGS)
$(B)/tests/hook/%.o: CPPFLAGS += -Ihook -DHOOK_SRCDIR='"$(CURDIR)"'

$(B)/tests/test-wire: $(B)/tests/hook/test-wire.o $(B)/shm/wire.o
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(CMOCKA_LIBS)

$(B)/tests/test-hook: $(B)/tests/hook/test-hook.o $(HOOK_LIB_OBJS)
	@mkdir -p $(@D)
	$(LINK) -o $@ $^ $(CMOCKA_LIBS) $(EXPAT_LIBS)

# Runs the built hook as libvirt would (finds it next to itself: $(B)/tests/.. ) and exercises
# install-hook.sh against temporary DESTDIRs.
$(B)/tests/test-hook-exec: $(B)/tests/hook/test-hook-exec.o $(B)/shm/wire.o | $(B)/migtune-hook
	@mkdir -p $(@D)
	$(LINK) -o $@ $(filter %.o,$^) $(CMOCKA_LIBS)

UNIT_TESTS += $(B)/tests/test-wire $(B)/tests/test-hook $(B)/tests/test-hook-exec

# ---- install ----------------------------------------------------------------------------------
.PHONY: install-hook
install-hook: $(B)/migtune-hook
	hook/install-hook.sh --destdir "$(DESTDIR)" --libexecdir "$(LIBEXECDIR)" \
	  --sysconfdir "$(SYSCONFDIR)" --conf hook/hook.conf $(B)/migtune-hook
	$(INSTALL) -D -m 0644 docs/wire.md $(DESTDIR)$(DOCDIR)/wire.md

INSTALL_TARGETS += install-hook
MANPAGES += man/migtune-hook.8

# ---- benchmark --------------------------------------------------------------------------------
$(B)/bench/bench-hook: tests/hook/bench-hook.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -lpthread

# Targets are reported; HOOK_BENCH_STRICT=1 makes a missed one fail the target.
HOOK_BENCH_RUNS ?= 1000
.PHONY: bench-hook
bench-hook: $(B)/bench/bench-hook $(B)/migtune-hook
	@command -v socat >/dev/null || { echo "bench-hook: socat not found: the bash dispatcher" \
	  "baseline needs it; run 'make deps'" >&2; exit 1; }
	$(B)/bench/bench-hook --runs $(HOOK_BENCH_RUNS) $(if $(HOOK_BENCH_STRICT),--strict) \
	  --xml tests/hook/data/domain-2k.xml \
	  --dispatcher hook/bench-dispatcher.sh $(B)/migtune-hook

BENCHES += bench-hook

# ---- fuzzing (clang libFuzzer + ASan/UBSan; never part of the gcc build) ---------------------
FUZZ_CC     ?= clang
HOOK_FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -D_GNU_SOURCE -I. -Ishm -Ihook $(EXPAT_CFLAGS)

# The hook's whole path from stdin to the message: domxml's reader, the event, the encoder.
$(B)/fuzz/fuzz-hook-xml: tests/hook/fuzz-xml.c $(DOMXML_SRCS) hook/event.c shm/wire.c hook/hook.h \
                         shm/wire.h $(DOMXML_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(HOOK_FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(EXPAT_LIBS)

$(B)/fuzz/fuzz-hook-wire: tests/hook/fuzz-wire.c shm/wire.c shm/wire.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(HOOK_FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# New inputs go to a scratch corpus under $(B); the seeds in tests/fuzz/hook/ stay as committed.
.PHONY: fuzz-hook
fuzz-hook: $(B)/fuzz/fuzz-hook-xml $(B)/fuzz/fuzz-hook-wire
	@for t in xml wire; do \
	  mkdir -p $(B)/fuzz/corpus-hook-$$t $(B)/fuzz/artifacts-hook-$$t && \
	  echo "== fuzz-hook-$$t for $(FUZZ_SECONDS) s" && \
	  $(B)/fuzz/fuzz-hook-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -artifact_prefix=$(B)/fuzz/artifacts-hook-$$t/ \
	    $(B)/fuzz/corpus-hook-$$t tests/fuzz/hook/$$t > $(B)/fuzz/fuzz-hook-$$t.log 2>&1 || \
	    { tail -n 40 $(B)/fuzz/fuzz-hook-$$t.log; exit 1; }; \
	  tail -n 1 $(B)/fuzz/fuzz-hook-$$t.log; \
	done

FUZZERS += fuzz-hook
