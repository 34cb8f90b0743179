#!/bin/bash
# Baseline for bench-hook: the usual shell qemu.d dispatcher, doing the same hand-off as
# migtune-hook (read the domain XML from stdin, forward the call to a local socket).  Not
# installed; it exists so that the benchmark measures what operators would otherwise deploy.
xml=$(cat)
sock=${BENCH_DISPATCH_SOCKET:-/run/migtune/hook-stream.sock}
if command -v socat >/dev/null 2>&1; then
	printf '%s %s %s %s\n%s' "$1" "$2" "$3" "$4" "$xml" | socat -u - "UNIX-CONNECT:$sock" 2>/dev/null
else
	printf '%s %s %s %s\n%s' "$1" "$2" "$3" "$4" "$xml" | nc -N -U "$sock" 2>/dev/null
fi
exit 0
