#!/bin/sh
# Installs (or checks) every package migtune needs to build, test and run its lab on Debian 12.
#   deps.sh install   install what is missing (root), fail with the list otherwise
#   deps.sh if-root   install what is missing when run as root; otherwise only warn
#   deps.sh list      print the package list
#   deps.sh tools     print the programs tests call, each with the package that provides it
#   deps.sh need PROG...  for a test: fail with one line per PROG that is missing (exit 1) or
#                         that this file does not provide (exit 2)
# Every program a test calls comes from a package of PKGS (or an essential one), so that a test
# can fail loudly without it and `make deps` is the fix it names.
set -eu

PKGS="build-essential pkg-config gcc-multilib clang libclang-rt-14-dev
libvirt-dev libnl-3-dev libnl-route-3-dev liburcu-dev liblz4-dev libncurses-dev libexpat1-dev
libinih-dev libjson-c-dev libcmocka-dev libsystemd-dev
libvirt-daemon-system libvirt-clients qemu-system-x86 iproute2 util-linux tmux procps
prometheus jq dpkg-dev debhelper devscripts lintian systemd socat netcat-openbsd binutils mount"

# Program, package (coreutils, libc-bin and util-linux are essential on Debian; a program that
# build-essential brings names it).
TOOLS="nc netcat-openbsd  socat socat  tmux tmux  jq jq  promtool prometheus
ip iproute2  tc iproute2  ps procps  pgrep procps
virsh libvirt-clients  libvirtd libvirt-daemon-system  virtlogd libvirt-daemon-system
qemu-system-x86_64 qemu-system-x86  systemd-analyze systemd  lintian lintian
dpkg-buildpackage dpkg-dev  readelf binutils  clang clang  gcc build-essential  make build-essential
setpriv util-linux  unshare util-linux  nsenter util-linux  flock util-linux  setsid util-linux
mount mount  timeout coreutils  stat coreutils  getent libc-bin"

# The package of program $1 in TOOLS, or nothing (shell builtins only: `need` must work on a
# PATH that lacks what it looks for).
tool_package() {
	# shellcheck disable=SC2086
	set -- "$1" $TOOLS
	want=$1; shift
	while [ $# -ge 2 ]; do
		[ "$1" = "$want" ] && { echo "$2"; return 0; }
		shift 2
	done
	return 1
}

case "${1:-}" in
tools)
	# shellcheck disable=SC2086
	set -- $TOOLS
	while [ $# -ge 2 ]; do echo "$1 $2"; shift 2; done
	exit 0 ;;
need)
	shift
	st=0
	for t in "$@"; do
		if ! pkg=$(tool_package "$t"); then
			echo "deps: '$t' is not a program scripts/deps.sh provides: add it to TOOLS with its package" >&2
			st=2
		elif ! command -v "$t" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$t" ] && [ ! -x "/sbin/$t" ]; then
			echo "deps: '$t' not found: run 'make deps' as root (Debian package $pkg)" >&2
			[ $st -ne 0 ] || st=1
		fi
	done
	exit $st ;;
esac

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in *" installed") ;; *) missing="$missing $p" ;; esac
done

mode=${1:-install}
case "$mode" in
list) echo $PKGS; exit 0 ;;
install|if-root) ;;
*) echo "deps.sh: unknown mode '$mode' (install, if-root, list, tools, need)" >&2; exit 2 ;;
esac

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	if [ "$mode" = if-root ]; then
		echo "deps: not root, not installing:$missing (run 'sudo make deps')" >&2
		exit 0
	fi
	echo "deps: missing packages:$missing; run 'sudo make deps'" >&2
	exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# libvirt-daemon-system's maintainer scripts try to start services; there is no init to start them
# here, and the lab starts its own daemons, so tell invoke-rc.d to leave them alone.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
fi
trap '[ $made_policy -eq 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
