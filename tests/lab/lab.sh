#!/usr/bin/env bash
# lab.sh — two libvirt "hosts" on one machine, joined by a veth, for real live migrations.
#
# Each host is a libvirtd + virtlogd pair in its own network, mount and UTS namespace, with private
# /etc/libvirt, /run, /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt and /dev/shm, and a
# distinct host UUID.  The namespaces are held open by one sleeper process per host; everything the
# lab starts is recorded by PID under the work directory and killed by `down`, which also runs on
# any interruption of `up`.  Run `lab.sh help` for the commands.  Needs root.
set -euo pipefail

PROG=lab.sh
LAB_DIR=${LAB_DIR:-/tmp/migtune-lab}
LAB_NET=${LAB_NET:-10.77.0}              # the /24 that exists only inside the lab namespaces
LAB_IF=${LAB_IF:-mig0}                   # the veth end's name inside each host
LAB_START_TIMEOUT=${LAB_START_TIMEOUT:-90}
LAB_MIGRATE_TIMEOUT=${LAB_MIGRATE_TIMEOUT:-600}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB_GUEST=${LAB_GUEST:-$REPO/build/lab/guest.elf}
LAB_FLOW=${LAB_FLOW:-$REPO/build/lab/lab-flow}
MARKER=.migtune-lab

die() { echo "$PROG: $*" >&2; exit 1; }
note() { echo "$PROG: $*" >&2; }

usage() {
	cat <<EOF
Usage: lab.sh COMMAND [ARGS...]            (as root; work dir \$LAB_DIR, now $LAB_DIR)

Lab lifecycle
  up [--hook PATH]             create hosts A and B (namespaces, veth $LAB_NET.1 <-> $LAB_NET.2,
                               libvirtd + virtlogd each); --hook installs PATH as each host's
                               /etc/libvirt/hooks/qemu before the daemons start
  down                         stop everything the lab started and remove the work dir; safe to
                               run at any time, also after an interrupted run
  status                       daemons, domains and recorded processes of both hosts

Guests (HOST is A or B)
  guest HOST NAME [--memory MIB] [--vcpus N] [--workload "ARGS"]
                               define and start a lab guest; ARGS is the guest kernel command
                               line, e.g. "dirty=96 rate=40" or "phases=idle:10,dirty=24@40:20"
                               (default: idle; memory 256 MiB)
  destroy HOST NAME            stop and undefine NAME on HOST
  where NAME                   print the state of NAME on A and on B
  serial HOST NAME [LINES]     last LINES (10) lines the guest printed on HOST's serial log

Migrations
  migrate NAME FROM TO [--bandwidth MIBPS] [--postcopy] [--auto-converge] [--timeout SECS]
          [--bg] [--direct] [-- VIRSH-MIGRATE-ARGS...]
                               live-migrate NAME (peer to peer, persistent, undefining the source);
                               --timeout aborts the job after SECS (default $LAB_MIGRATE_TIMEOUT);
                               --bg returns at once, see migrate-wait
  migrate-wait NAME [SECS]     wait (at most SECS, default $LAB_MIGRATE_TIMEOUT) for a --bg migration;
                               prints virsh's output, exits with its status
  abort HOST NAME              abort NAME's running job on HOST (virsh domjobabort)
  jobinfo HOST NAME [ARGS]     virsh domjobinfo NAME ARGS (e.g. --rawstats, --completed)

Inside the hosts
  exec HOST CMD [ARGS...]      run CMD in HOST's namespaces, in the foreground
  spawn HOST TAG CMD [ARGS...] run CMD in HOST's namespaces in the background (e.g. an agent);
                               output to the work dir's HOST/log/TAG.log, killed by down
  stop HOST TAG                stop a spawned process group
  hook HOST PATH               install PATH as HOST's qemu hook and make libvirtd rescan hooks
  virsh HOST ARGS...           virsh connected to HOST's libvirtd
  uri HOST                     print the libvirt URI of HOST (usable from the host namespace)

Network
  shape HOST RATE|off          token-bucket limit on HOST's egress on the veth (RATE as tc: 200mbit)
  traffic FROM TO SECS [--rate MBIT] [--port N]
                               a tenant TCP flow FROM -> TO for SECS seconds (stops by itself)
  logs DIR                     copy both hosts' daemon, QEMU, serial and spawned-process logs to DIR

Environment: LAB_DIR (work dir, short: sockets live there), LAB_GUEST (guest kernel,
\$REPO/build/lab/guest.elf), LAB_FLOW (traffic tool), LAB_NET (first three octets, 10.77.0).
EOF
}

# ---- helpers ------------------------------------------------------------------------------------
need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, libvirtd)"; }

host_id() {
	case "${1:-}" in
	A|a) echo a ;;
	B|b) echo b ;;
	*) die "unknown host '${1:-}' (use A or B)" ;;
	esac
}
host_name() { [ "$1" = a ] && echo A || echo B; }
host_addr() { [ "$1" = a ] && echo "$LAB_NET.1" || echo "$LAB_NET.2"; }
hdir() { echo "$LAB_DIR/$1"; }
uri() { echo "qemu+unix:///system?socket=$LAB_DIR/$1/run/libvirt/libvirt-sock"; }

# Is PID alive and the process we think it is (MATCH appears in its command line)?  Used for
# daemons that write their own pid files.
pid_is() {
	local pid=$1 match=$2 cmd
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ "$cmd" == *"$match"* ]]
}

# Start time of PID in clock ticks since boot (field 22 of /proc/PID/stat): with the PID, it names
# one process for good, so a recycled PID is never mistaken for ours.
proc_start() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	set -- $st
	echo "${20}"
}

# Records PID (started by us) in FILE as "PID STARTTIME".
record_pid() { echo "$1 $(proc_start "$1")" > "$2"; }

# Is the process recorded in FILE still alive?  Prints its PID.
recorded_alive() {
	local p t
	[ -r "$1" ] || return 1
	read -r p t < "$1" || return 1
	[ -n "$p" ] && [ "$(proc_start "$p" 2>/dev/null)" = "$t" ] || return 1
	echo "$p"
}

recorded_alive_q() { recorded_alive "$1" >/dev/null; }

signal_and_wait() {
	local group=$1 pid=$2 alive=$3
	if [ "$group" -eq 1 ]; then kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	else kill -TERM "$pid" 2>/dev/null || true; fi
	for _ in $(seq 50); do $alive || return 0; sleep 0.1; done
	note "pid $pid ignored SIGTERM; sending SIGKILL"
	if [ "$group" -eq 1 ]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
	kill -KILL "$pid" 2>/dev/null || true
	for _ in $(seq 20); do $alive || return 0; sleep 0.1; done
	note "pid $pid survived SIGKILL"
}

# Kill PID if it is still the daemon named MATCH (pid file contents); wait for it to go.
kill_checked() {
	local pid=$1 match=$2
	pid_is "$pid" "$match" || return 0
	signal_and_wait 0 "$pid" "pid_is $pid $match"
}

# Kill the process group of the process recorded in FILE (spawned with setsid), if still ours.
kill_recorded() {
	local pid
	pid=$(recorded_alive "$1") || return 0
	signal_and_wait 1 "$pid" "recorded_alive_q $1"
}

sleeper_tag() { echo "migtune-lab-$1:$LAB_DIR"; }
sleeper_pid() {
	local f p
	f=$(hdir "$1")/sleeper.pid
	[ -r "$f" ] || return 1
	p=$(cat "$f")
	pid_is "$p" "$(sleeper_tag "$1")" || return 1
	echo "$p"
}

# Run a command inside host $1's namespaces.
in_host() {
	local h=$1 p
	shift
	p=$(sleeper_pid "$h") || die "host $(host_name "$h") is not up (run: lab.sh up)"
	nsenter -t "$p" -n -m -u -- "$@"
}

need_up() {
	sleeper_pid "$1" >/dev/null && [ -S "$(hdir "$1")/run/libvirt/libvirt-sock" ] \
		|| die "host $(host_name "$1") is not up in $LAB_DIR (run: lab.sh up)"
}

vsh() {
	local h=$1
	shift
	need_up "$h"
	virsh -q -c "$(uri "$h")" "$@"
}

check_lab_dir() {
	case "$LAB_DIR" in
	/*) ;;
	*) die "LAB_DIR must be an absolute path (got '$LAB_DIR')" ;;
	esac
	case "$LAB_DIR" in
	/|/tmp|/tmp/|/var|/var/*|/etc|/etc/*|/run|/run/*|/usr|/usr/*|/home|/root) die "LAB_DIR=$LAB_DIR is not a private directory; pick e.g. /tmp/migtune-lab" ;;
	esac
	# libvirt's socket lives at LAB_DIR/b/run/libvirt/libvirt-sock-ro; sun_path holds 107 bytes.
	[ ${#LAB_DIR} -le 72 ] || die "LAB_DIR is too long for unix sockets (${#LAB_DIR} > 72 bytes): $LAB_DIR"
}

is_up() { sleeper_pid a >/dev/null 2>&1 || sleeper_pid b >/dev/null 2>&1; }

# ---- up -----------------------------------------------------------------------------------------
write_configs() {
	local h=$1 d
	d=$(hdir "$h")
	mkdir -p "$d"/etc/hooks "$d"/etc/qemu "$d"/etc/nwfilter "$d"/run "$d"/lib "$d"/log/qemu \
		"$d"/cache "$d"/pids
	# Private, minimal configuration: nothing of the machine's own libvirt setup (networks, domains,
	# hooks, autostart) leaks into the lab, and both hosts differ only where they must.
	cat > "$d/etc/libvirtd.conf" <<EOF
# migtune lab host $(host_name "$h")
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
unix_sock_rw_perms = "0700"
EOF
	cat > "$d/etc/qemu.conf" <<EOF
# migtune lab host $(host_name "$h"): no cgroups (both hosts would claim the same cgroup paths),
# no security driver, QEMU as root, incoming migrations advertised on the lab veth.
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
cgroup_controllers = [ ]
migration_host = "$(host_addr "$h")"
migration_address = "$(host_addr "$h")"
stdio_handler = "logd"
EOF
	cat > "$d/etc/virtlogd.conf" <<EOF
log_outputs = "3:file:/var/log/libvirt/virtlogd.log"
EOF
	: > "$d/etc/libvirt.conf"
	# Reuse the machine's probe of QEMU's capabilities if it has one: saves seconds per start.
	if [ -d /var/cache/libvirt/qemu/capabilities ]; then
		mkdir -p "$d/cache/qemu"
		cp -a /var/cache/libvirt/qemu/capabilities "$d/cache/qemu/" 2>/dev/null || true
	fi
}

start_sleeper() {
	local h=$1 d p tag
	d=$(hdir "$h")
	tag=$(sleeper_tag "$h")
	# unshare execs the sleeper itself (no --fork): $! is the process holding the namespaces.
	# setsid: a terminal's ^C must reach lab.sh (which tears down), not kill the namespaces
	# underneath running daemons.
	setsid unshare --net --mount --uts --propagation private -- \
		bash -c 'exec -a "$0" sleep infinity' "$tag" </dev/null >/dev/null 2>&1 &
	p=$!
	echo "$p" > "$d/sleeper.pid"
	for _ in $(seq 100); do
		pid_is "$p" "$tag" && [ "$(readlink "/proc/$p/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.05
	done
	pid_is "$p" "$tag" || die "could not create the namespaces of host $(host_name "$h") (unshare failed)"
	readlink "/proc/$p/ns/net" > "$d/netns"
}

setup_mounts() {
	local h=$1 d
	d=$(hdir "$h")
	in_host "$h" sh -ec "
		mount --bind '$d/etc' /etc/libvirt
		mount --bind '$d/lib' /var/lib/libvirt
		mount --bind '$d/log' /var/log/libvirt
		mount --bind '$d/cache' /var/cache/libvirt
		mount --bind '$d/run' /run
		mkdir -p /run/libvirt /run/lock
		mount -t tmpfs -o size=64m,mode=1777 lab-shm /dev/shm
		hostname lab-$h
		ip link set lo up
	"
}

setup_veth() {
	local pa pb
	pa=$(sleeper_pid a); pb=$(sleeper_pid b)
	# Created inside A with its peer placed straight into B: the pair never exists on the machine's
	# own network namespace, and it disappears with the namespaces.
	nsenter -t "$pa" -n -- ip link add "$LAB_IF" type veth peer name "$LAB_IF" netns "$pb"
	nsenter -t "$pa" -n -- ip addr add "$LAB_NET.1/24" dev "$LAB_IF"
	nsenter -t "$pb" -n -- ip addr add "$LAB_NET.2/24" dev "$LAB_IF"
	nsenter -t "$pa" -n -- ip link set "$LAB_IF" up
	nsenter -t "$pb" -n -- ip link set "$LAB_IF" up
}

# A TCP connect to a closed port of B answers "refused" at once when the veth passes traffic, and
# times out when it does not (no ping on minimal machines).
veth_check() {
	local err
	err=$(in_host a timeout 3 bash -c "exec 3<>/dev/tcp/$LAB_NET.2/9" 2>&1) && return 0
	[[ "$err" == *refused* ]] || die "veth $LAB_NET.1 -> $LAB_NET.2 does not pass traffic ($err)"
}

start_daemons() {
	local h=$1
	in_host "$h" virtlogd -d -p /run/virtlogd.pid
	in_host "$h" libvirtd -d -p /run/libvirtd.pid
}

wait_daemon() {
	local h=$1 d
	d=$(hdir "$h")
	for _ in $(seq $((LAB_START_TIMEOUT * 4))); do
		if [ -S "$d/run/libvirt/libvirt-sock" ] && virsh -q -c "$(uri "$h")" version >/dev/null 2>&1; then
			return 0
		fi
		if [ -r "$d/run/libvirtd.pid" ] && ! pid_is "$(cat "$d/run/libvirtd.pid")" libvirtd; then
			tail -5 "$d/log/libvirtd.log" >&2 2>/dev/null || true
			die "libvirtd of host $(host_name "$h") exited during start (log: $d/log/libvirtd.log)"
		fi
		sleep 0.25
	done
	die "libvirtd of host $(host_name "$h") did not answer within ${LAB_START_TIMEOUT}s (log: $d/log/libvirtd.log)"
}

cmd_up() {
	local hook=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--hook) [ $# -ge 2 ] || die "--hook needs a PATH"; hook=$2; shift 2 ;;
		--hook=*) hook=${1#--hook=}; shift ;;
		-h|--help) usage; exit 0 ;;
		*) die "up: unknown option '$1' (see lab.sh help)" ;;
		esac
	done
	need_root
	check_lab_dir
	[ -z "$hook" ] || [ -x "$hook" ] || die "hook '$hook' is not an executable file"
	for t in unshare nsenter ip virsh libvirtd virtlogd qemu-system-x86_64; do
		command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || die "'$t' not found (run 'make deps' as root)"
	done
	[ -r "$LAB_GUEST" ] || die "guest kernel '$LAB_GUEST' missing (run 'make', or set LAB_GUEST)"
	if [ -e "$LAB_DIR/$MARKER" ]; then
		is_up && die "a lab is already up in $LAB_DIR (run 'lab.sh down' first)"
		note "cleaning up a stale lab in $LAB_DIR"
		cmd_down
	fi
	[ ! -e "$LAB_DIR" ] || [ -z "$(ls -A "$LAB_DIR")" ] \
		|| die "$LAB_DIR exists and is not a lab work dir; remove it or set LAB_DIR"

	trap 'rc=$?; trap - EXIT INT TERM; if [ $rc -ne 0 ]; then note "up failed; tearing down"; cmd_down; fi; exit $rc' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$LAB_DIR"
	touch "$LAB_DIR/$MARKER"
	cp "$LAB_GUEST" "$LAB_DIR/guest.elf"
	local h
	for h in a b; do
		write_configs "$h"
		[ -z "$hook" ] || install -m 0755 "$hook" "$(hdir "$h")/etc/hooks/qemu"
		start_sleeper "$h"
		setup_mounts "$h"
	done
	setup_veth
	veth_check
	start_daemons a
	start_daemons b
	wait_daemon a
	wait_daemon b
	trap - EXIT INT TERM
	echo "lab up in $LAB_DIR: A $(uri a) ($LAB_NET.1), B $(uri b) ($LAB_NET.2)"
}

# ---- down ---------------------------------------------------------------------------------------
# Processes whose network namespace is the lab host's: all started by the lab (nothing else can
# enter that namespace), so killing them is killing our own.
procs_in_netns() {
	local ns=$1 self=$$ p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$self" ] && continue
		[ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$ns" ] && echo "$p"
	done
	return 0
}

down_host() {
	local h=$1 d f p name ns sp
	d=$(hdir "$h")
	[ -d "$d" ] || return 0
	sp=$(sleeper_pid "$h" 2>/dev/null) || sp=""
	# 1. Domains, while libvirtd can still stop them cleanly.
	if [ -S "$d/run/libvirt/libvirt-sock" ] && [ -r "$d/run/libvirtd.pid" ] \
		&& pid_is "$(cat "$d/run/libvirtd.pid")" libvirtd; then
		for name in $(timeout 10 virsh -q -c "$(uri "$h")" list --name 2>/dev/null || true); do
			timeout 10 virsh -q -c "$(uri "$h")" domjobabort "$name" >/dev/null 2>&1 || true
			timeout 15 virsh -q -c "$(uri "$h")" destroy "$name" >/dev/null 2>&1 || true
		done
	fi
	# 2. Spawned processes (agents, traffic, background migrations): whole process groups.
	for f in "$d"/pids/*.pid; do
		[ -e "$f" ] || continue
		kill_recorded "$f"
		rm -f "$f"
	done
	# 3. Daemons and any QEMU left behind, by their pid files.
	[ -r "$d/run/libvirtd.pid" ] && kill_checked "$(cat "$d/run/libvirtd.pid")" libvirtd
	for f in "$d"/run/libvirt/qemu/*.pid; do
		[ -r "$f" ] && kill_checked "$(cat "$f")" /usr/bin/qemu-system
	done
	[ -r "$d/run/virtlogd.pid" ] && kill_checked "$(cat "$d/run/virtlogd.pid")" virtlogd
	# 4. Anything else still inside the namespace (e.g. a child of a killed process).
	ns=""
	[ -n "$sp" ] && ns=$(readlink "/proc/$sp/ns/net" 2>/dev/null || true)
	if [ -n "$ns" ]; then
		for p in $(procs_in_netns "$ns"); do
			[ "$p" = "$sp" ] && continue
			note "stopping leftover pid $p ($(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-60)) in host $(host_name "$h")"
			kill -KILL "$p" 2>/dev/null || true
		done
	fi
	# 5. The sleeper: with it the namespaces, the veth end and the private mounts go away.
	[ -n "$sp" ] && kill_checked "$sp" "$(sleeper_tag "$h")"
	rm -f "$d/sleeper.pid"
	return 0
}

cmd_down() {
	need_root
	check_lab_dir
	[ -d "$LAB_DIR" ] || return 0
	if [ ! -e "$LAB_DIR/$MARKER" ]; then
		[ -z "$(ls -A "$LAB_DIR")" ] && { rmdir "$LAB_DIR"; return 0; }
		die "$LAB_DIR is not a lab work dir (no $MARKER); not touching it"
	fi
	down_host a
	down_host b
	# Nothing of ours may remain mounted under the work dir before it is removed.
	if grep -q " $LAB_DIR/" /proc/self/mountinfo; then
		die "mounts remain under $LAB_DIR (see /proc/self/mountinfo); not removing it"
	fi
	rm -rf "$LAB_DIR"
}

# ---- status -------------------------------------------------------------------------------------
cmd_status() {
	local h d p f
	[ -e "$LAB_DIR/$MARKER" ] || { echo "no lab in $LAB_DIR"; return 0; }
	for h in a b; do
		d=$(hdir "$h")
		if p=$(sleeper_pid "$h"); then
			echo "host $(host_name "$h"): namespaces held by pid $p, $(host_addr "$h"), $(uri "$h")"
		else
			echo "host $(host_name "$h"): down"
			continue
		fi
		for f in libvirtd virtlogd; do
			if [ -r "$d/run/$f.pid" ] && pid_is "$(cat "$d/run/$f.pid")" "$f"; then
				echo "  $f pid $(cat "$d/run/$f.pid")"
			else
				echo "  $f not running"
			fi
		done
		for f in "$d"/pids/*.pid; do
			[ -e "$f" ] || continue
			if p=$(recorded_alive "$f"); then
				echo "  $(basename "$f" .pid): pid $p"
			else
				echo "  $(basename "$f" .pid): exited"
			fi
		done
		vsh "$h" list --all 2>/dev/null | sed 's/^/  /' || true
	done
}

# ---- guests -------------------------------------------------------------------------------------
cmd_guest() {
	local h name mem=256 vcpus=1 workload="" xml
	[ $# -ge 2 ] || die "usage: lab.sh guest HOST NAME [--memory MIB] [--vcpus N] [--workload ARGS]"
	h=$(host_id "$1"); name=$2; shift 2
	need_up "$h"
	while [ $# -gt 0 ]; do
		case "$1" in
		--memory) mem=${2:?--memory needs MiB}; shift 2 ;;
		--vcpus) vcpus=${2:?--vcpus needs a count}; shift 2 ;;
		--workload) workload=${2-}; shift 2 ;;
		*) die "guest: unknown option '$1'" ;;
		esac
	done
	[[ "$name" =~ ^[A-Za-z0-9_-]{1,40}$ ]] || die "guest name '$name' must be 1-40 letters, digits, - or _"
	[[ "$mem" =~ ^[0-9]+$ ]] && [ "$mem" -ge 16 ] || die "--memory must be a number of MiB >= 16 (got '$mem')"
	[[ "$vcpus" =~ ^[0-9]+$ ]] && [ "$vcpus" -ge 1 ] || die "--vcpus must be >= 1 (got '$vcpus')"
	[[ "$workload" =~ ^[A-Za-z0-9=@:,\ ]*$ ]] || die "--workload '$workload' has characters the guest does not parse"
	xml=$(hdir "$h")/$name.xml
	cat > "$xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>$mem</memory>
  <vcpu>$vcpus</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$LAB_DIR/guest.elf</kernel>
    <cmdline>$workload</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='/var/log/libvirt/qemu/$name.serial' append='on'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
	vsh "$h" define "$xml" >/dev/null
	vsh "$h" start "$name" >/dev/null || { vsh "$h" undefine "$name" >/dev/null 2>&1 || true; die "could not start guest $name on $(host_name "$h")"; }
	echo "guest $name running on $(host_name "$h") (${mem} MiB, workload '${workload:-idle}')"
}

cmd_destroy() {
	local h name
	[ $# -eq 2 ] || die "usage: lab.sh destroy HOST NAME"
	h=$(host_id "$1"); name=$2
	vsh "$h" destroy "$name" >/dev/null 2>&1 || true
	vsh "$h" undefine "$name" >/dev/null
}

dom_state() {
	local st
	st=$(vsh "$1" domstate "$2" 2>/dev/null | head -1) || st=""
	echo "${st:-absent}"
}

cmd_where() {
	[ $# -eq 1 ] || die "usage: lab.sh where NAME"
	echo "A: $(dom_state a "$1")"
	echo "B: $(dom_state b "$1")"
}

cmd_serial() {
	local h name lines=${3:-10}
	[ $# -ge 2 ] || die "usage: lab.sh serial HOST NAME [LINES]"
	h=$(host_id "$1"); name=$2
	tail -n "$lines" "$(hdir "$h")/log/qemu/$name.serial" 2>/dev/null | tr -d '\r' \
		|| die "no serial log for $name on $(host_name "$h")"
}

# ---- migrations ---------------------------------------------------------------------------------
# Runs one migration to the end, bounded: after SECS the job is aborted.  Writes virsh's output to
# OUT and its exit status to RC.  Used in the foreground and, through `_migrate-worker`, detached.
migrate_run() {
	local name=$1 from=$2 to=$3 secs=$4 out=$5 rcf=$6
	shift 6
	local vpid deadline rc=0
	rm -f "$rcf"
	: > "$out"
	# Appending: the abort notice below must not be overwritten by virsh's own output.
	virsh -q -c "$(uri "$from")" migrate "$@" "$name" "$(uri "$to")" >>"$out" 2>&1 &
	vpid=$!
	deadline=$(( $(date +%s) + secs ))
	while kill -0 "$vpid" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "lab.sh: migration of $name not finished after ${secs}s: aborting the job" >>"$out"
			timeout 10 virsh -q -c "$(uri "$from")" domjobabort "$name" >>"$out" 2>&1 || true
			deadline=$(( $(date +%s) + 30 ))
			secs=30
		fi
		sleep 0.2
	done
	wait "$vpid" || rc=$?
	echo "$rc" > "$rcf.tmp" && mv "$rcf.tmp" "$rcf"
	return "$rc"
}

cmd_migrate() {
	local name from to secs=$LAB_MIGRATE_TIMEOUT bg=0 flags=(--live --p2p --persistent --undefinesource)
	[ $# -ge 3 ] || die "usage: lab.sh migrate NAME FROM TO [options] (see lab.sh help)"
	name=$1; from=$(host_id "$2"); to=$(host_id "$3"); shift 3
	[ "$from" != "$to" ] || die "migrate: FROM and TO are the same host"
	while [ $# -gt 0 ]; do
		case "$1" in
		--bandwidth) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--bandwidth needs MiB/s"; flags+=(--bandwidth "$2"); shift 2 ;;
		--postcopy) flags+=(--postcopy); shift ;;
		--auto-converge) flags+=(--auto-converge); shift ;;
		--timeout) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--timeout needs seconds"; secs=$2; shift 2 ;;
		--bg) bg=1; shift ;;
		--direct) flags=("${flags[@]/--p2p}"); shift ;;
		--) shift; flags+=("$@"); break ;;
		*) die "migrate: unknown option '$1' (see lab.sh help)" ;;
		esac
	done
	local f=()
	for x in "${flags[@]}"; do [ -n "$x" ] && f+=("$x"); done
	local d out rcf
	d=$(hdir "$from")
	[ -d "$d/pids" ] || die "host $(host_name "$from") is not up"
	out=$LAB_DIR/migrate-$name.out; rcf=$LAB_DIR/migrate-$name.rc
	vsh "$from" domstate "$name" >/dev/null 2>&1 || die "no domain '$name' on host $(host_name "$from")"
	if [ $bg -eq 0 ]; then
		local rc=0
		migrate_run "$name" "$from" "$to" "$secs" "$out" "$rcf" "${f[@]}" || rc=$?
		cat "$out"
		return "$rc"
	fi
	rm -f "$rcf"
	setsid bash "$HERE/lab.sh" _migrate-worker "$name" "$from" "$to" "$secs" "$out" "$rcf" "${f[@]}" \
		</dev/null >/dev/null 2>&1 &
	record_pid "$!" "$d/pids/migrate-$name.pid"
}

cmd_migrate_wait() {
	local name=${1:?usage: lab.sh migrate-wait NAME [SECS]} secs=${2:-$LAB_MIGRATE_TIMEOUT} deadline
	local rcf=$LAB_DIR/migrate-$name.rc out=$LAB_DIR/migrate-$name.out
	[ -e "$rcf" ] || ls "$LAB_DIR"/?/pids/migrate-"$name".pid >/dev/null 2>&1 \
		|| die "no background migration of '$name' (start one with: lab.sh migrate ... --bg)"
	deadline=$(( $(date +%s) + secs ))
	while [ ! -e "$rcf" ]; do
		[ "$(date +%s)" -lt "$deadline" ] || die "migration of $name still running after ${secs}s"
		sleep 0.2
	done
	rm -f "$LAB_DIR"/?/pids/migrate-"$name".pid
	cat "$out"
	return "$(cat "$rcf")"
}

cmd_abort() {
	[ $# -eq 2 ] || die "usage: lab.sh abort HOST NAME"
	local h
	h=$(host_id "$1")
	vsh "$h" domjobabort "$2"
}

cmd_jobinfo() {
	[ $# -ge 2 ] || die "usage: lab.sh jobinfo HOST NAME [domjobinfo options]"
	local h name=$2
	h=$(host_id "$1")
	shift 2
	vsh "$h" domjobinfo "$name" "$@"
}

# ---- inside the hosts ---------------------------------------------------------------------------
cmd_exec() {
	[ $# -ge 2 ] || die "usage: lab.sh exec HOST CMD [ARGS...]"
	local h
	h=$(host_id "$1"); shift
	in_host "$h" "$@"
}

cmd_spawn() {
	[ $# -ge 3 ] || die "usage: lab.sh spawn HOST TAG CMD [ARGS...]"
	local h tag d p sp
	h=$(host_id "$1"); tag=$2; shift 2
	[[ "$tag" =~ ^[A-Za-z0-9_.-]{1,40}$ ]] || die "spawn: TAG '$tag' must be 1-40 letters, digits, . - _"
	d=$(hdir "$h")
	sp=$(sleeper_pid "$h") || die "host $(host_name "$h") is not up"
	if recorded_alive "$d/pids/$tag.pid" >/dev/null; then
		die "spawn: '$tag' is already running on host $(host_name "$h") (lab.sh stop $(host_name "$h") $tag)"
	fi
	# setsid: its own process group, so that stop/down also reach the children it forks.
	# nsenter execs the command in place (no PID namespace), so $! is the command itself.
	setsid nsenter -t "$sp" -n -m -u -- "$@" </dev/null >>"$d/log/$tag.log" 2>&1 &
	p=$!
	record_pid "$p" "$d/pids/$tag.pid"
	echo "$p"
}

cmd_stop() {
	[ $# -eq 2 ] || die "usage: lab.sh stop HOST TAG"
	local h f
	h=$(host_id "$1")
	f=$(hdir "$h")/pids/$2.pid
	[ -e "$f" ] || die "nothing spawned as '$2' on host $(host_name "$h")"
	kill_recorded "$f"
	rm -f "$f"
}

cmd_hook() {
	[ $# -eq 2 ] || die "usage: lab.sh hook HOST PATH"
	local h d
	h=$(host_id "$1")
	d=$(hdir "$h")
	[ -x "$2" ] || die "hook '$2' is not an executable file"
	[ -d "$d/etc/hooks" ] || die "host $(host_name "$h") is not up"
	install -m 0755 "$2" "$d/etc/hooks/qemu"
	# libvirtd discovers hook scripts at start and on SIGHUP.
	kill -HUP "$(cat "$d/run/libvirtd.pid")"
}

cmd_virsh() {
	[ $# -ge 1 ] || die "usage: lab.sh virsh HOST ARGS..."
	local h
	h=$(host_id "$1"); shift
	need_up "$h"
	virsh -c "$(uri "$h")" "$@"
}

# ---- network ------------------------------------------------------------------------------------
cmd_shape() {
	[ $# -eq 2 ] || die "usage: lab.sh shape HOST RATE|off"
	local h
	h=$(host_id "$1")
	if [ "$2" = off ]; then
		in_host "$h" tc qdisc del dev "$LAB_IF" root 2>/dev/null || true
		return 0
	fi
	[[ "$2" =~ ^[0-9]+(bit|kbit|mbit|gbit)$ ]] || die "shape: RATE like 200mbit or 1gbit (got '$2')"
	in_host "$h" tc qdisc replace dev "$LAB_IF" root tbf rate "$2" burst 256kb latency 100ms
}

cmd_traffic() {
	[ $# -ge 3 ] || die "usage: lab.sh traffic FROM TO SECS [--rate MBIT] [--port N]"
	local from to secs port=5201 rate=0
	from=$(host_id "$1"); to=$(host_id "$2"); secs=$3; shift 3
	[ "$from" != "$to" ] || die "traffic: FROM and TO are the same host"
	[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -ge 1 ] && [ "$secs" -le 3600 ] || die "traffic: SECS must be 1..3600"
	while [ $# -gt 0 ]; do
		case "$1" in
		--rate) rate=${2:?--rate needs Mbit/s}; shift 2 ;;
		--port) port=${2:?--port needs a number}; shift 2 ;;
		*) die "traffic: unknown option '$1'" ;;
		esac
	done
	[ -x "$LAB_FLOW" ] || die "traffic tool '$LAB_FLOW' missing (run 'make')"
	# The sink outlives the sender by a few seconds so the sender never meets a closed port.
	cmd_spawn "$to" "traffic-sink-$port" "$LAB_FLOW" sink --port "$port" --seconds $((secs + 5)) >/dev/null
	sleep 0.3
	cmd_spawn "$from" "traffic-send-$port" "$LAB_FLOW" send --to "$(host_addr "$to"):$port" \
		--seconds "$secs" --rate-mbit "$rate" >/dev/null
	echo "tenant flow $(host_name "$from") -> $(host_name "$to") for ${secs}s (logs: $LAB_DIR/{a,b}/log/traffic-*.log)"
}

cmd_logs() {
	[ $# -eq 1 ] || die "usage: lab.sh logs DIR"
	local h
	[ -e "$LAB_DIR/$MARKER" ] || die "no lab in $LAB_DIR"
	for h in a b; do
		mkdir -p "$1/$(host_name "$h")"
		cp -a "$(hdir "$h")/log/." "$1/$(host_name "$h")/" 2>/dev/null || true
	done
	cp -a "$LAB_DIR"/migrate-*.out "$1/" 2>/dev/null || true
	echo "logs of hosts A and B copied to $1"
}

# ---- main ---------------------------------------------------------------------------------------
main() {
	local cmd=${1:-help}
	[ $# -gt 0 ] && shift
	case "$cmd" in
	help|-h|--help) usage ;;
	up) cmd_up "$@" ;;
	down) cmd_down ;;
	status) cmd_status ;;
	guest) cmd_guest "$@" ;;
	destroy) cmd_destroy "$@" ;;
	where) cmd_where "$@" ;;
	serial) cmd_serial "$@" ;;
	migrate) cmd_migrate "$@" ;;
	migrate-wait) cmd_migrate_wait "$@" ;;
	_migrate-worker) migrate_run "$@" ;;
	abort) cmd_abort "$@" ;;
	jobinfo) cmd_jobinfo "$@" ;;
	exec) cmd_exec "$@" ;;
	spawn) cmd_spawn "$@" ;;
	stop) cmd_stop "$@" ;;
	hook) cmd_hook "$@" ;;
	virsh) cmd_virsh "$@" ;;
	uri) local h; h=$(host_id "${1:-}"); uri "$h" ;;
	shape) cmd_shape "$@" ;;
	traffic) cmd_traffic "$@" ;;
	logs) cmd_logs "$@" ;;
	*) die "unknown command '$cmd' (see lab.sh help)" ;;
	esac
}

main "$@"
