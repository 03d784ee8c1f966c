#!/usr/bin/env bash
# Profile-guided optimisation: writes cmd/sigtrace/default.pgo, the CPU profile `go build` uses
# for ./cmd/sigtrace (https://go.dev/doc/pgo), from the jobs the benchmarks measure: calls,
# messages and a preset filter on the generated capture of bench/calls.sh (125k calls, 10 % RTP;
# cached in bench/out/). Run it again after changes to the hot paths; a stale profile still
# builds, it only helps less.
#   bench/pgo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
capture=bench/out/gen-125000.pcap
[ -f "$capture" ] || go run ./samples/gen -calls 125000 -seed 1 -rtp 0.10 -o "$capture"
bin=bench/out/sigtrace-pgo
# Built without a profile, so that the new one describes the code, not an earlier optimisation.
go build -pgo=off -o "$bin" ./cmd/sigtrace
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() { # NAME ARGS...
  local name=$1
  shift
  SIGTRACE_CPUPROFILE="$dir/$name.prof" "$bin" "$@" > /dev/null
}
run calls calls -q -o json "$capture"
run messages messages -q -o json "$capture"
run filter messages -q -o json --preset epc-ims "$capture"
go tool pprof -proto "$dir"/*.prof > cmd/sigtrace/default.pgo
echo "pgo: wrote cmd/sigtrace/default.pgo ($(stat -c %s cmd/sigtrace/default.pgo) bytes)"
