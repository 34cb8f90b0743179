#!/bin/sh
# The Debian package as a user builds and installs it (README, "Install on a real host"):
#   1. dpkg-buildpackage -us -uc -b in a copy of the tree builds it, with the build dependencies
#      of debian/control (no lab toolchain among them);
#   2. lintian finds no error, and no warning that debian/*.lintian-overrides does not justify;
#   3. its contents: the programs, the hook in hooks/qemu.d, the unit, the sysusers.d group, the
#      documentation and examples the README points to (uncompressed where tools read them), the
#      configuration naming the group; no header, no static libxml2 in the hook;
#   4. apt would install it as the README says (apt-get --simulate install ./FILE.deb).
# Needs dpkg-buildpackage, debhelper and lintian (make deps); fails loudly without them.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
failures=0 passes=0
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for tool in dpkg-buildpackage dh lintian dpkg-deb apt-get; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "test-package: $tool is missing: run 'make deps' (dpkg-dev, debhelper, lintian, devscripts)" >&2
		exit 1
	}
done

WORK=$(mktemp -d /tmp/mt-package.XXXXXX)
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
mkdir "$WORK/src"
# The tree as it would be checked out: tracked files and new ones, nothing ignored (no build/).
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$REPO" && xargs -0 cp --parents -t "$WORK/src" 2>/dev/null)
[ -f "$WORK/src/debian/control" ] || { fail "could not copy the tree"; exit 1; }

# ---- 1. build ---------------------------------------------------------------------------------
if grep -q 'gcc-multilib' "$WORK/src/debian/control"; then
	fail "debian/control: gcc-multilib is a build dependency (only the lab needs it: make lab)"
fi
# The README's word: apt-get build-dep ./ resolves them (simulated), dpkg-checkbuilddeps finds them.
if (cd "$WORK/src" && apt-get --simulate build-dep ./) > "$WORK/builddep.log" 2>&1 &&
   (cd "$WORK/src" && dpkg-checkbuilddeps) > "$WORK/builddeps.log" 2>&1; then
	pass "build dependencies of debian/control: apt-get build-dep ./ resolves them, all installed"
else
	fail "build dependencies: $(tail -3 "$WORK/builddep.log") $(cat "$WORK/builddeps.log") (apt-get build-dep ./ in the tree)"
fi
t0=$(date +%s)
if (cd "$WORK/src" && dpkg-buildpackage -us -uc -b -j2) > "$WORK/build.log" 2>&1; then
	deb=$(ls "$WORK"/migtune_*.deb 2>/dev/null | head -1)
	pass "dpkg-buildpackage: $(basename "$deb") in $(( $(date +%s) - t0 )) s"
else
	fail "dpkg-buildpackage failed: $(tail -15 "$WORK/build.log")"
	echo "package: $passes passed, $failures failed"
	exit 1
fi

# ---- 2. lintian -------------------------------------------------------------------------------
lintian --fail-on none --display-info "$deb" > "$WORK/lintian.log" 2>&1
errors=$(grep -c '^E: ' "$WORK/lintian.log")
warnings=$(grep -c '^W: ' "$WORK/lintian.log")
if [ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ]; then
	pass "lintian: no error, no warning ($(grep -c '^I: ' "$WORK/lintian.log") info tags, $(grep -c '^O: ' "$WORK/lintian.log") overridden)"
else
	fail "lintian: $errors errors, $warnings warnings: $(grep -E '^[EW]: ' "$WORK/lintian.log" | tr '\n' ';')"
fi

# ---- 3. contents ------------------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' > "$WORK/files"
missing=""
for f in /usr/sbin/migtuned /usr/bin/migtop /usr/bin/migdump /usr/bin/migsim \
	/usr/libexec/migtune/migtune-hook /etc/libvirt/hooks/qemu.d/migtune \
	/lib/systemd/system/migtuned.service /usr/lib/sysusers.d/migtune.conf \
	/etc/migtune/migtuned.conf /etc/migtune/hook.conf \
	/usr/share/doc/migtune/policy.md.gz /usr/share/doc/migtune/scenarios.md.gz \
	/usr/share/doc/migtune/examples/scenarios/lab-s1.json \
	/usr/share/doc/migtune/examples/prometheus/migtune.rules.yml \
	/usr/share/doc/migtune/examples/grafana/migtune.json \
	/usr/share/man/man8/migtuned.8.gz; do
	grep -qx "$f" "$WORK/files" || missing="$missing $f"
done
unwanted=$(grep -E '^/usr/include/|^/etc/libvirt/hooks/qemu$' "$WORK/files" | tr '\n' ' ')
dpkg-deb -x "$deb" "$WORK/root"
conf_ok=no
grep -q '^ring-group = migtune$' "$WORK/root/etc/migtune/migtuned.conf" &&
	grep -q '^ctl-group = migtune$' "$WORK/root/etc/migtune/migtuned.conf" && conf_ok=yes
group_ok=no
grep -q '^g migtune ' "$WORK/root/usr/lib/sysusers.d/migtune.conf" && group_ok=yes
static_xml=no
strings "$WORK/root/usr/libexec/migtune/migtune-hook" | grep -q 'xmlReadMemory' &&
	! readelf -d "$WORK/root/usr/libexec/migtune/migtune-hook" | grep -q 'libxml2' && static_xml=yes
if [ -z "$missing" ] && [ -z "$unwanted" ] && [ "$conf_ok" = yes ] && [ "$group_ok" = yes ] &&
   [ "$static_xml" = no ]; then
	pass "contents: $(wc -l < "$WORK/files") entries; programs, hook in qemu.d, unit, sysusers group, docs and examples; no header"
else
	fail "contents: missing${missing:- nothing}; unwanted: ${unwanted:-none}; conf names the group: $conf_ok; sysusers group: $group_ok; hook with a static libxml2: $static_xml"
fi
if dpkg-deb -I "$deb" postinst 2>/dev/null | grep -q 'groupadd'; then
	fail "postinst still makes the group with groupadd"
fi

# ---- 4. installable ---------------------------------------------------------------------------
if apt-get --simulate install "$deb" > "$WORK/apt.log" 2>&1; then
	pass "apt-get --simulate install ./$(basename "$deb"): dependencies resolve"
else
	fail "apt would not install it: $(tail -5 "$WORK/apt.log")"
fi

echo "package: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
