#!/usr/bin/env bash
# scripts/deps.sh and the tests that call programs: every program a test asks for comes from a
# package `make deps` installs, and a test without one fails loudly instead of passing.
#
#   1. each program of `deps.sh tools` comes from a package of `deps.sh list` or an essential one;
#   2. `deps.sh need` fails with one line naming the package for a program missing from PATH
#      (exit 1), and for a program it does not provide (exit 2);
#   3. every `deps.sh need` in the test scripts names programs deps.sh provides;
#   4. tests/faults/test-local-faults.sh with nc missing from PATH fails at once, naming nc (it
#      used to pass its "control socket refused" check because nc could not run).
#
# Usage: test-deps.sh   (from the top of the tree; run by `make check`)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEPS=$ROOT/scripts/deps.sh
failures=0
fail() { echo "test-deps: FAIL $*"; failures=$((failures + 1)); }
pass() { echo "test-deps: PASS $*"; }

# 1.
pkgs=" $("$DEPS" list | tr '\n' ' ') "
bad=""
while read -r prog pkg; do
	case "$pkgs" in *" $pkg "*) continue ;; esac
	[ "$(dpkg-query -W -f='${Essential}' "$pkg" 2>/dev/null)" = yes ] && continue
	bad="$bad $prog($pkg)"
done < <("$DEPS" tools)
[ -z "$bad" ] && pass "every program comes from a listed or essential package" ||
	fail "programs from packages make deps does not install:$bad"

# 2.
out=$(env PATH=/nonexistent /bin/sh "$DEPS" need nc 2>&1); rc=$?
[ "$rc" -eq 1 ] && [[ "$out" == *"'nc' not found"*"make deps"*"netcat-openbsd"* ]] &&
	pass "need: a missing program: exit 1, '$out'" || fail "need nc without PATH: exit $rc, '$out'"
out=$("$DEPS" need no-such-program-xyz 2>&1); rc=$?
[ "$rc" -eq 2 ] && [[ "$out" == *"not a program scripts/deps.sh provides"* ]] &&
	pass "need: an unknown program: exit 2" || fail "need of an unknown program: exit $rc, '$out'"

# 3.
unknown=""
while read -r line; do
	# shellcheck disable=SC2086
	for p in ${line#*need }; do
		case "$p" in \|*|\&*|\{*|\;*) break ;; esac
		"$DEPS" need "$p" >/dev/null 2>&1; [ $? -eq 2 ] && unknown="$unknown $p"
	done
done < <(grep -rhE '^[^#]*deps\.sh"? need ' "$ROOT/tests" "$ROOT/scripts" --include='*.sh' |
	 grep -oE 'need [a-zA-Z0-9_ .-]+')
[ -z "$unknown" ] && pass "the tests ask only for programs deps.sh provides" ||
	fail "tests ask for programs deps.sh does not provide:$unknown"

# 4.
shim=$(mktemp -d /tmp/mt-deps-path.XXXXXX)
trap 'rm -rf "$shim"' EXIT
for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
	for f in "$d"/*; do
		b=${f##*/}
		case "$b" in nc|nc.*|netcat) continue ;; esac
		[ -x "$f" ] && [ ! -e "$shim/$b" ] && ln -s "$f" "$shim/$b"
	done
done
out=$(env PATH="$shim" bash "$ROOT/tests/faults/test-local-faults.sh" /nonexistent-build 2>&1); rc=$?
if [ "$rc" -ne 0 ] && [[ "$out" == *"'nc' not found"* ]] && [[ "$out" != *PASS* ]]; then
	pass "test-local-faults without nc: exit $rc before any check"
else
	fail "test-local-faults without nc: exit $rc: $(printf '%s' "$out" | head -3)"
fi

[ "$failures" -eq 0 ]
