# tests/lab: the two-host migration lab (driver script, guest kernel, tenant traffic tool, tests).

# The guest is a freestanding 32-bit multiboot kernel: it must not inherit the host programs'
# CFLAGS (-fPIE, sanitizers, fortify), so it has its own explicit flags and rules.
GUEST_CC      ?= gcc
GUEST_CFLAGS  := -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
                 -fno-asynchronous-unwind-tables -mno-sse -mno-mmx -mno-80387 -O2 -g -std=gnu11 \
                 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
GUEST_LDFLAGS := -m elf_i386 -nostdlib --build-id=none -z noexecstack --no-warn-rwx-segments
GUEST_OBJS    := $(B)/lab/guest/boot.o $(B)/lab/guest/guest.o

$(B)/lab/guest/guest.o: tests/lab/guest/guest.c
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/lab/guest/boot.o: tests/lab/guest/boot.S
	@mkdir -p $(@D)
	$(GUEST_CC) -m32 -MMD -MP -c -o $@ $<

# libgcc supplies the 64-bit divisions of the TSC arithmetic.
$(B)/lab/guest.elf: $(GUEST_OBJS) tests/lab/guest/guest.ld
	$(LD) $(GUEST_LDFLAGS) -T tests/lab/guest/guest.ld -o $@ $(GUEST_OBJS) \
	  $$($(GUEST_CC) -m32 -print-libgcc-file-name)

# Not part of `make all` (the programs): building it needs a 32-bit toolchain (gcc-multilib),
# which only the lab needs.  `make lab` builds it; the lab targets depend on it.
LAB_BINS += $(B)/lab/guest.elf

# Tenant traffic between the lab hosts: an ordinary host program, built like the others.
$(B)/lab/lab-flow: $(B)/tests/lab/lab-flow.o
	$(LINK) -o $@ $^

LAB_BINS += $(B)/lab/lab-flow

# One lab instance for all scenarios (baseline, live rescues, idle round trip): bringing the lab
# up costs more than a scenario.  Run as root through `make check-lab` (scripts/lab-gate.sh).
LAB_TESTS += lab-migrate
.PHONY: lab-migrate
lab-migrate: $(B)/lab/guest.elf $(B)/lab/lab-flow
	LAB_GUEST=$(abspath $(B)/lab/guest.elf) LAB_FLOW=$(abspath $(B)/lab/lab-flow) \
	  LAB_TEST_LOGS=$(abspath $(B)/lab/test-logs) tests/lab/test-lab.sh
