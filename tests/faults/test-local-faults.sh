#!/usr/bin/env bash
# Faults and permissions that need root but not the two-host lab:
#
#   1. permissions: a real migtuned (test:///default) with ring_group and ctl_group set creates its
#      ring 0640 root:GROUP, its control socket 0660 root:GROUP and its hook socket 0600 root;
#      migtop and migdump run as nobody are refused with one clear line and exit status 3; the
#      control socket refuses nobody; nobody with GROUP as a supplementary group reads the ring
#      and gets the status;
#   2. a pre-existing symlink or file at the socket path is never followed nor removed;
#   3. /dev/shm full at start (a 64 KiB tmpfs in a private mount namespace): one clear error
#      line, no SIGBUS, exit status 2, nothing left behind.
#
# Usage: test-local-faults.sh BUILD-DIR   (root; run by `make check-lab`)
set -euo pipefail

# Every program the checks call (scripts/deps.sh installs them): a missing one must fail the
# test here, before anything runs, not pass a check that expects a failure.
"$(dirname "${BASH_SOURCE[0]}")/../../scripts/deps.sh" need setpriv nc timeout unshare mount getent stat ||
	{ echo "test-local-faults: a program it needs is missing" >&2; exit 1; }

BUILD=$(realpath "${1:?usage: test-local-faults.sh BUILD-DIR}")
AGENT=$BUILD/migtuned
MIGTOP=$BUILD/migtop
MIGDUMP=$BUILD/migdump
GROUP=${FAULTS_GROUP:-users}           # a group nobody is not in
WORK=$(mktemp -d /tmp/mt-faults.XXXXXX)
RING=/mt-faults-$$
failures=0
checks=0
agent_pid=""

log() { printf '%s faults: %s\n' "$(date +%T)" "$*"; }
pass() { checks=$((checks + 1)); log "PASS $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); log "FAIL $*"; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
		kill -TERM "$agent_pid" 2>/dev/null || true
		wait "$agent_pid" 2>/dev/null || true
	fi
	rm -f "/dev/shm$RING"
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ "$(id -u)" -eq 0 ] || { echo "test-local-faults: needs root" >&2; exit 1; }
for f in "$AGENT" "$MIGTOP" "$MIGDUMP"; do
	[ -x "$f" ] || { echo "test-local-faults: $f missing (run make)" >&2; exit 1; }
done
getent group "$GROUP" >/dev/null || { echo "test-local-faults: no group $GROUP" >&2; exit 1; }
gid=$(getent group "$GROUP" | cut -d: -f3)
chmod 0755 "$WORK"

# nobody runs copies in $WORK (0755): the build tree may be where nobody cannot go (a checkout in
# root's home is 0700).
mkdir -m 0755 "$WORK/bin"
cp "$MIGTOP" "$MIGDUMP" "$WORK/bin/"
MIGTOP=$WORK/bin/migtop
MIGDUMP=$WORK/bin/migdump

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
as_member() { setpriv --reuid=nobody --regid=nogroup --groups="$gid" -- "$@"; }
# A command that could not even start (setpriv or the shell could not run it: 126, 127, or
# setpriv's own message) has refused nothing: such a check fails, whatever it expected.
could_not_run() { [ "$1" -eq 126 ] || [ "$1" -eq 127 ] || [[ "$2" == setpriv:* ]] || [[ "$2" == *"command not found"* ]]; }

wait_for() {   # SECONDS CMD...
	local secs=$1 i
	shift
	for i in $(seq $((secs * 10))); do "$@" && return 0; sleep 0.1; done
	"$@"
}

# ---- 1. permissions ----------------------------------------------------------------------------
cat > "$WORK/migtuned.conf" <<CONF
[agent]
ring_group = $GROUP
ctl_group = $GROUP
ring_slots = 1024
ring_domains = 16
CONF
"$AGENT" --foreground --config "$WORK/migtuned.conf" --connect test:///default --ring "$RING" \
	--hook-socket "$WORK/run/hook.sock" --ctl-socket "$WORK/run/ctl.sock" \
	> "$WORK/agent.log" 2>&1 &
agent_pid=$!
wait_for 10 test -S "$WORK/run/ctl.sock" || { fail "agent did not open its control socket: $(tail -3 "$WORK/agent.log")"; exit 1; }

modes="ring $(stat -c '%a %U:%G' "/dev/shm$RING"), ctl $(stat -c '%a %U:%G' "$WORK/run/ctl.sock"), hook $(stat -c '%a %U:%G' "$WORK/run/hook.sock")"
if [ "$modes" = "ring 640 root:$GROUP, ctl 660 root:$GROUP, hook 600 root:root" ]; then
	pass "modes: $modes"
else
	fail "modes: $modes (want ring 640 root:$GROUP, ctl 660 root:$GROUP, hook 600 root:root)"
fi
# The socket directory must let the group through to the socket, and nobody else write into it.
dmode=$(stat -c '%a %U' "$WORK/run")
[[ "$dmode" =~ ^7[0-5][0-5]\ root$ ]] && pass "socket directory $dmode" || fail "socket directory $dmode"

rc=0; out=$(as_nobody "$MIGTOP" --ring "$RING" -b -n 1 2>&1) || rc=$?
if could_not_run "$rc" "$out"; then
	fail "migtop as nobody: could not run it (exit $rc): '$out'"
elif [ "$rc" -eq 3 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && [[ "$out" == *"permission denied"*"group"* ]]; then
	pass "migtop as nobody: exit 3, '$out'"
else
	fail "migtop as nobody: exit $rc, '$out'"
fi
rc=0; out=$(as_nobody "$MIGDUMP" --ring "$RING" -o "$WORK/nobody.mtd" 2>&1) || rc=$?
if could_not_run "$rc" "$out"; then
	fail "migdump as nobody: could not run it (exit $rc): '$out'"
elif [ "$rc" -eq 3 ] && [[ "$out" == *"permission denied"* ]] && [ ! -s "$WORK/nobody.mtd" ]; then
	pass "migdump as nobody: exit 3, '$out'"
else
	fail "migdump as nobody: exit $rc, '$out'"
fi
# Refused means refused: the kernel's (connect: permission denied, the socket is 0660) or the
# agent's ("permission denied: root or the agent's ctl-group only"); not nc failing to start.
rc=0; out=$(as_nobody bash -c "printf 'status\n' | timeout 5 nc -N -U '$WORK/run/ctl.sock'" 2>&1) || rc=$?
if could_not_run "$rc" "$out"; then
	fail "control socket as nobody: could not run nc (exit $rc): '$out'"
elif [[ "$out" != *'"domains"'* ]] && [[ "${out,,}" == *"permission denied"* ]]; then
	pass "control socket as nobody: refused ($(printf '%s' "$out" | head -1))"
else
	fail "control socket as nobody: exit $rc, '$out'"
fi

rc=0; out=$(as_member "$MIGTOP" --ring "$RING" -b -n 1 --json 2>&1) || rc=$?
if could_not_run "$rc" "$out"; then
	fail "migtop as a member of $GROUP: could not run it (exit $rc): '$out'"
elif [ "$rc" -eq 0 ] && [[ "$out" == *'"agent":"live"'* ]]; then
	pass "migtop as a member of $GROUP: exit 0"
else
	fail "migtop as a member of $GROUP: exit $rc, '$(printf '%s' "$out" | head -c 200)'"
fi
rc=0; out=$(as_member bash -c "printf 'status\n' | timeout 5 nc -N -U '$WORK/run/ctl.sock'" 2>&1) || rc=$?
if [ "$rc" -eq 0 ] && [[ "$out" == *'"domains"'* ]]; then
	pass "control socket as a member of $GROUP: status answered"
else
	fail "control socket as a member of $GROUP: exit $rc, '$(printf '%s' "$out" | head -c 200)'"
fi
kill -TERM "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
rm -f "/dev/shm$RING"

# ---- 2. no following of what sits at the socket path ------------------------------------------
mkdir -p "$WORK/run2"
echo precious > "$WORK/precious"
ln -s "$WORK/precious" "$WORK/run2/ctl.sock"
rc=0
timeout 20 "$AGENT" --foreground --config "$WORK/migtuned.conf" --connect test:///default \
	--ring "$RING" --hook-socket "$WORK/run2/hook.sock" --ctl-socket "$WORK/run2/ctl.sock" \
	> "$WORK/agent2.log" 2>&1 || rc=$?
if [ "$rc" -eq 2 ] && [ -L "$WORK/run2/ctl.sock" ] && [ "$(cat "$WORK/precious")" = precious ] &&
   grep -q "ctl.sock.*not a socket.*move it away" "$WORK/agent2.log"; then
	pass "symlink at the control socket path: refused, left alone ('$(grep -m1 ctl.sock "$WORK/agent2.log")')"
else
	fail "symlink at the control socket path: exit $rc, link $( [ -L "$WORK/run2/ctl.sock" ] && echo kept || echo gone): $(tail -2 "$WORK/agent2.log")"
fi
rm -f "/dev/shm$RING"

# ---- 3. /dev/shm full at start -------------------------------------------------------------------
t0=$(date +%s%N)
rc=0
timeout 30 unshare -m sh -c '
	mount --make-rprivate / && mount -t tmpfs -o size=64k tmpfs /dev/shm &&
	exec "$@"' sh "$AGENT" --foreground --config "$WORK/migtuned.conf" --connect test:///default \
	--ring "$RING" --hook-socket "$WORK/run3/hook.sock" --ctl-socket "$WORK/run3/ctl.sock" \
	> "$WORK/agent3.log" 2>&1 || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
sed -i '/^\s*$/d' "$WORK/agent3.log"
errs=$(grep -ci "error\|cannot\|fail" "$WORK/agent3.log" || true)
if [ "$rc" -eq 2 ] && [ "$errs" -eq 1 ] && grep -qi "space\|ENOSPC\|/dev/shm" "$WORK/agent3.log" &&
   [ ! -e "$WORK/run3/ctl.sock" ] && [ ! -e "/dev/shm$RING" ]; then
	pass "/dev/shm full: exit 2 in $ms ms, '$(grep -i -m1 "space\|/dev/shm" "$WORK/agent3.log")'"
else
	fail "/dev/shm full: exit $rc (want 2; 135 would be SIGBUS), $errs error lines: $(head -c 400 "$WORK/agent3.log")"
fi

log "$((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ]
