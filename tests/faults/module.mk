# tests/faults: fault and permission tests, run as root in the lab part of `make check`, and the
# check that every program a test calls is installed by `make deps`.
#   lab-local-faults  permissions of the ring and sockets against an unprivileged user, a
#                     symlink at a socket path, /dev/shm full at start (no lab needed, ~1 s)
#   lab-faults        the two-host lab: hook with the agent down, agent kill -9 mid-migration,
#                     network cut during pre-copy, destination libvirtd killed (~2 min)
LAB_TESTS += lab-local-faults lab-faults
# scripts/deps.sh against the tests' programs (no root needed, ~1 s): with the unit tests.
UNIT_TESTS += tests/faults/test-deps.sh
.PHONY: lab-local-faults lab-faults
lab-local-faults: $(B)/migtuned $(B)/migtop $(B)/migdump
	tests/faults/test-local-faults.sh $(B)
lab-faults: $(B)/migtuned $(B)/migtop $(B)/migdump $(B)/migtune-hook $(B)/lab/guest.elf
	tests/lab/test-faults.sh $(B)
