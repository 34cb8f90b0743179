#!/bin/sh
# The systemd unit: `systemd-analyze verify` accepts it (with ExecStart= pointing at the migtuned
# built beside this script), and it is a Type=notify service with a watchdog, which migtuned
# feeds from its main loop.  systemd-analyze comes with Debian's systemd package (make deps).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
[ -f "$src/etc/systemd/migtuned.service" ] || src=$(pwd)
unit=$src/etc/systemd/migtuned.service
agent=$here/../migtuned

command -v systemd-analyze >/dev/null 2>&1 || {
	echo "test-unit-file: systemd-analyze not found: install the systemd package (make deps)" >&2
	exit 1
}
[ -x "$agent" ] || { echo "test-unit-file: $agent missing (run make)" >&2; exit 1; }
work=$(mktemp -d /tmp/mt-unit.XXXXXX)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/local/sbin/migtuned|$(realpath "$agent")|g" "$unit" > "$work/migtuned.service"

fail=0
out=$(systemd-analyze verify --man=no "$work/migtuned.service" 2>&1) || fail=1
if [ -n "$out" ]; then
	echo "$out" >&2
	fail=1
fi
for want in '^Type=notify$' '^WatchdogSec=' '^NotifyAccess=main$'; do
	grep -q "$want" "$unit" || { echo "test-unit-file: $unit has no line $want" >&2; fail=1; }
done
if [ $fail -eq 0 ]; then
	echo "test-unit-file: systemd-analyze verify accepts $unit (Type=notify, watchdog)"
fi
exit $fail
