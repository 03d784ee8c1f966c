#!/usr/bin/env bash
# Benchmark: `sigtrace messages -o json` on a generated capture of about 1 GB (125k calls, 10 % RTP).
# Prints MB of capture per CPU-second (user+sys) and peak memory, and fails below the targets.
#   bench/messages.sh [CALLS]        (default 125000; the capture is cached in bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
calls="${1:-125000}"
min_mb_per_cpu_s="${MIN_MB_PER_CPU_S:-300}"
max_rss_mb="${MAX_RSS_MB:-100}"
mkdir -p bench/out
capture="bench/out/gen-${calls}.pcap"
[ -f "$capture" ] || go run ./samples/gen -calls "$calls" -seed 1 -rtp 0.10 -o "$capture"
go build -o bench/out/sigtrace ./cmd/sigtrace
bench/lib/measure.sh "messages -o json" "$capture" "$min_mb_per_cpu_s" "$max_rss_mb" \
  bench/out/sigtrace messages -q -o json "$capture"
