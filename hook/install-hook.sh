#!/bin/sh
# Installs migtune-hook and registers it with libvirt without ever replacing someone else's hook.
#
#   install-hook.sh [--destdir DIR] [--libexecdir DIR] [--sysconfdir DIR] [--conf FILE] BINARY
#
# The binary goes to DESTDIR/LIBEXECDIR/migtune-hook.  libvirt runs SYSCONFDIR/libvirt/hooks/qemu
# and, from libvirt 6.5 on, every executable in SYSCONFDIR/libvirt/hooks/qemu.d/.  The hook is
# registered as a symlink to the binary, in this order of preference:
#   1. hooks/qemu if it is already ours (update in place);
#   2. hooks/qemu.d/migtune if it is already ours (never register twice);
#   3. hooks/qemu if nothing is there (not even a dangling symlink);
#   4. hooks/qemu.d/migtune if nothing is there;
#   otherwise stop with an error naming both files.
# "Ours" means a symlink whose target ends in /migtune-hook, or a file carrying the marker string
# compiled into the binary (a copy of it, or a wrapper script that says so).  Nothing is executed
# to find out.  A copy is replaced by the symlink; a wrapper script is left as it is.  --conf FILE is installed as SYSCONFDIR/migtune/hook.conf only if that is absent.
# libvirtd discovers hooks when it starts: restart it (or send it SIGHUP) afterwards.
set -eu

MARKER=migtune-hook-marker-v1
destdir= libexecdir=/usr/local/libexec/migtune sysconfdir=/etc conf= bin=

die() { echo "install-hook: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--destdir) destdir=${2-}; shift 2 ;;
	--libexecdir) libexecdir=${2:?--libexecdir needs a directory}; shift 2 ;;
	--sysconfdir) sysconfdir=${2:?--sysconfdir needs a directory}; shift 2 ;;
	--conf) conf=${2:?--conf needs a file}; shift 2 ;;
	-h|--help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) die "unknown option '$1' (try --help)" ;;
	*) [ -z "$bin" ] || die "more than one binary given ('$bin', '$1')"; bin=$1; shift ;;
	esac
done
[ -n "$bin" ] || die "no binary given (usage: install-hook.sh [options] BINARY)"
[ -f "$bin" ] && [ -x "$bin" ] || die "$bin is not an executable file (run make first)"

target=$libexecdir/migtune-hook
hooks=$destdir$sysconfdir/libvirt/hooks
main=$hooks/qemu
dropin=$hooks/qemu.d/migtune

ours() {
	if [ -L "$1" ]; then
		case "$(readlink "$1")" in */migtune-hook) return 0 ;; *) return 1 ;; esac
	fi
	[ -f "$1" ] && grep -aqF "$MARKER" "$1"
}
free() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
# A script of ours (etc/libvirt/hooks/migtune-wrapper.sh.example adapted to a host) execs the
# binary just installed: it stays as the operator wrote it.
wrapper() { [ ! -L "$1" ] && [ -f "$1" ] && [ "$(head -c 2 "$1")" = "#!" ] && ours "$1"; }

install -D -m 0755 "$bin" "$destdir$target"

if ours "$main"; then
	where=$main
elif ours "$dropin"; then
	where=$dropin
elif free "$main"; then
	where=$main
elif free "$dropin"; then
	where=$dropin
else
	die "both $main and $dropin belong to another program; not touching them.  Chain" \
	    "$target from your dispatcher, or move one of them aside and run make install again"
fi

if wrapper "$where"; then
	echo "install-hook: $where is a migtune wrapper script, kept (it runs $target)"
else
	mkdir -p "$(dirname "$where")"
	# Replace atomically (rename), so that a libvirtd rescan never sees a half-made hook; -T so
	# that a symlink to a directory is replaced rather than moved into.
	ln -sfn "$target" "$where.migtune-new"
	mv -fT "$where.migtune-new" "$where"
	echo "install-hook: $where -> $target"
fi
if [ "$where" = "$dropin" ] && ! free "$main"; then
	echo "install-hook: $main belongs to another program and was left alone"
fi

if [ -n "$conf" ]; then
	cfg=$destdir$sysconfdir/migtune/hook.conf
	if [ -e "$cfg" ] || [ -L "$cfg" ]; then
		echo "install-hook: $cfg exists, kept"
	else
		install -D -m 0644 "$conf" "$cfg"
		echo "install-hook: $cfg installed"
	fi
fi
echo "install-hook: restart libvirtd (or send it SIGHUP) so that it finds the hook"
