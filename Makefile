# migtune — top-level GNU Makefile.
#
# Every module describes itself in its own module.mk fragment (shm/, hook/, agent/, tools/,
# tests/*/); this file holds the toolchain, the library flags, and the targets that walk the lists
# the fragments fill in.  Build outputs go under $(B) so that the plain, ASan+UBSan and TSan builds
# of the same sources can live side by side.

VERSION    := 0.1.0
B          ?= build
SAN        ?=
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/migtune
SYSCONFDIR ?= /etc
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/migtune
UNITDIR    ?= /lib/systemd/system
DESTDIR    ?=
INSTALL    ?= install

CC     ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wformat-overflow=2 -Wundef -Wpointer-arith \
        -Wcast-align -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wnull-dereference \
        -Wimplicit-fallthrough -Wno-unused-parameter
CSTD := -std=gnu11
OPT  ?= -O2 -g

SAN_asan  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_tsan  := -fsanitize=thread -fno-omit-frame-pointer
SANFLAGS  := $(SAN_$(SAN))

CPPFLAGS += -D_GNU_SOURCE -DMIGTUNE_VERSION='"$(VERSION)"' -I. -Ishm
CFLAGS   += $(CSTD) $(OPT) $(WARN) $(SANFLAGS) -fPIE -D_FORTIFY_SOURCE=2 -fstack-protector-strong
LDFLAGS  += $(SANFLAGS) -pie -Wl,-z,relro,-z,now
LINK      = $(CC) $(CFLAGS) $(LDFLAGS)

# Library flags, all through pkg-config.  Missing packages are caught by `make deps`.
pc = $(shell pkg-config $(1) $(2) 2>/dev/null)
VIRT_CFLAGS    := $(call pc,--cflags,libvirt)
VIRT_LIBS      := $(call pc,--libs,libvirt)
NL_CFLAGS      := $(call pc,--cflags,libnl-3.0 libnl-route-3.0)
NL_LIBS        := $(call pc,--libs,libnl-3.0 libnl-route-3.0)
URCU_CFLAGS    := $(call pc,--cflags,liburcu liburcu-cds)
URCU_LIBS      := $(call pc,--libs,liburcu liburcu-cds)
URCU_ATOMIC_CFLAGS := $(call pc,--cflags,liburcu)
LZ4_CFLAGS     := $(call pc,--cflags,liblz4)
LZ4_LIBS       := $(call pc,--libs,liblz4)
NCURSES_CFLAGS := $(call pc,--cflags,ncursesw)
NCURSES_LIBS   := $(call pc,--libs,ncursesw)
EXPAT_CFLAGS   := $(call pc,--cflags,expat)
EXPAT_LIBS     := $(call pc,--libs,expat)
INIH_CFLAGS    := $(call pc,--cflags,inih)
INIH_LIBS      := $(call pc,--libs,inih)
JSONC_CFLAGS   := $(call pc,--cflags,json-c)
JSONC_LIBS     := $(call pc,--libs,json-c)
CMOCKA_CFLAGS  := $(call pc,--cflags,cmocka)
CMOCKA_LIBS    := $(call pc,--libs,cmocka)
SYSTEMD_CFLAGS := $(call pc,--cflags,libsystemd)
SYSTEMD_LIBS   := $(call pc,--libs,libsystemd)

# Lists filled in by the module fragments.
BINS            :=
UNIT_TESTS      :=
TSAN_TESTS      :=
LAB_TESTS       :=
LAB_BINS        :=
BENCHES         :=
FUZZERS         :=
INSTALL_TARGETS :=
MANPAGES        :=

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The libraries first (their object lists are prerequisites of the programs above them), then
# every other fragment.
BASE_FRAGMENTS := shm/module.mk policy/module.mk domxml/module.mk
include $(BASE_FRAGMENTS) $(filter-out $(BASE_FRAGMENTS),$(sort $(wildcard */module.mk tests/*/module.mk)))
-include $(shell find $(B) -name '*.d' 2>/dev/null)

.PHONY: all lab deps deps-if-root check unit unit-tsan check-plain check-asan check-tsan check-lab check-package \
        bench fuzz install clean demo try lab-check help

all: $(BINS)

# The lab's guest kernel and traffic tool (tests/lab): a 32-bit toolchain, not needed by `all`.
lab: $(LAB_BINS)

help:
	@echo "make            build the programs (warnings are errors)"
	@echo "make lab        build the lab's guest kernel and traffic tool (needs gcc-multilib)"
	@echo "make check      install missing deps (as root), unit tests plain, ASan+UBSan, TSan, lab tests"
	@echo "make demo       bring up the two-host lab and show a non-converging migration"
	@echo "make try        a simulated migration in migtop: no root, no lab (migsim --ring)"
	@echo "make bench      benchmarks, each reporting ratios against a baseline run alongside"
	@echo "make fuzz       run every libFuzzer target for a bounded time (FUZZ_SECONDS=$(FUZZ_SECONDS))"
	@echo "make install    install into DESTDIR/PREFIX (PREFIX=$(PREFIX))"
	@echo "make deps       install build, test and lab dependencies with apt-get (root)"

# ---- dependencies -----------------------------------------------------------------------------
deps:
	@scripts/deps.sh install

deps-if-root:
	@scripts/deps.sh if-root

# ---- tests ------------------------------------------------------------------------------------
# Each unit test is an executable that exits 0 when all its cases pass; scripts/run-tests.sh runs
# them, records pass/fail, and prints one summary line per build flavour.
unit: $(UNIT_TESTS)
	@scripts/run-tests.sh "$(or $(SAN),plain)" $(UNIT_TESTS)

unit-tsan: $(TSAN_TESTS)
	@scripts/run-tests.sh tsan $(TSAN_TESTS)

check-plain: ; @$(MAKE) --no-print-directory B=build SAN= all unit
check-asan:  ; @$(MAKE) --no-print-directory B=build/asan SAN=asan unit
check-tsan:  ; @$(MAKE) --no-print-directory B=build/tsan SAN=tsan unit-tsan

check-lab: all lab
	@scripts/lab-gate.sh $(MAKE) --no-print-directory $(LAB_TESTS)

# The Debian package as the README builds it, then lintian (tests/package/test-package.sh).
check-package:
	@scripts/run-tests.sh package tests/package/test-package.sh

check: deps-if-root
	@rm -f build/.results
	@$(MAKE) --no-print-directory check-plain
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory check-tsan
	@$(MAKE) --no-print-directory check-package
	@$(MAKE) --no-print-directory check-lab
	@scripts/run-tests.sh --summary

bench: all $(BENCHES)

FUZZ_SECONDS ?= 20
fuzz: $(FUZZERS)

demo: deps-if-root all lab
	@scripts/demo.sh

# No root, no lab: migsim writes a simulated migration to a ring of its own, migtop shows it.
try: $(B)/migsim $(B)/migtop
	@B=$(B) scripts/try.sh

# ---- install ----------------------------------------------------------------------------------
install: all $(INSTALL_TARGETS)
	@for m in $(MANPAGES); do \
	  s=$${m##*.}; $(INSTALL) -D -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/$$(basename $$m) || exit 1; \
	done

clean:
	rm -rf build
