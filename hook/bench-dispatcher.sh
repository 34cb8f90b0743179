#!/bin/bash
# Baseline for bench-hook: the usual shell qemu.d dispatcher, doing the same hand-off as
# migtune-hook (read the domain XML from stdin, forward the call to a local socket).  Not
# installed; it exists so that the benchmark measures what operators would otherwise deploy.
# socat comes with `make deps`; without it this says so and fails, so that the benchmark never
# compares the hook with a dispatcher that forwards nothing.
if ! command -v socat >/dev/null 2>&1; then
	cat >/dev/null
	echo "bench-dispatcher: socat not found in PATH ($PATH); run 'make deps'" >&2
	exit 127
fi
xml=$(cat)
sock=${BENCH_DISPATCH_SOCKET:-/run/migtune/hook-stream.sock}
printf '%s %s %s %s\n%s' "$1" "$2" "$3" "$4" "$xml" | socat -u - "UNIX-CONNECT:$sock"
