#!/bin/sh
# Installs (or checks) every package migtune needs to build, test and run its lab on Debian 12.
#   deps.sh install   install what is missing (root), fail with the list otherwise
#   deps.sh if-root   install what is missing when run as root; otherwise only warn
#   deps.sh list      print the package list
set -eu

PKGS="build-essential pkg-config gcc-multilib clang libclang-rt-14-dev
libvirt-dev libnl-3-dev libnl-route-3-dev liburcu-dev liblz4-dev libncurses-dev libexpat1-dev
libinih-dev libjson-c-dev libcmocka-dev libsystemd-dev
libvirt-daemon-system libvirt-clients qemu-system-x86 iproute2 util-linux tmux procps
prometheus jq dpkg-dev debhelper devscripts lintian systemd socat"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in *" installed") ;; *) missing="$missing $p" ;; esac
done

mode=${1:-install}
case "$mode" in
list) echo $PKGS; exit 0 ;;
install|if-root) ;;
*) echo "deps.sh: unknown mode '$mode' (install, if-root, list)" >&2; exit 2 ;;
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
