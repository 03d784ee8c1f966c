#!/usr/bin/env bash
# Benchmark: the synthetic capture generator. Writes CALLS calls (default 125000, about 1 GB with
# 10 % RTP) and their records, and fails when it takes longer than MAX_WALL_S (default 30) or peaks
# above MAX_RSS_MB (default 64). With CALLS=1000000 it writes to /dev/null (8 GB) to show memory
# stays bounded by the calls open at once.
#   bench/gen.sh [CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
calls="${1:-125000}"
max_wall="${MAX_WALL_S:-30}"
max_rss_mb="${MAX_RSS_MB:-64}"
if [ ! -x /usr/bin/time ]; then
  echo "bench: /usr/bin/time (Debian package 'time') is needed" >&2
  exit 1
fi
mkdir -p bench/out
go build -o bench/out/gen ./samples/gen
out=bench/out/gen-bench.pcap truth=bench/out/gen-bench.ndjson
if [ "$calls" -gt 200000 ]; then out=/dev/null truth=/dev/null; fi
log=$(mktemp)
/usr/bin/time -f '%U %S %M %e' -o "$log" bench/out/gen -calls "$calls" -seed 1 -rtp 0.10 -o "$out" -truth "$truth"
read -r user sys rss_kb wall < "$log"
rm -f "$log"
awk -v user="$user" -v sys="$sys" -v rss="$rss_kb" -v wall="$wall" -v maxwall="$max_wall" -v maxrss="$max_rss_mb" 'BEGIN {
  printf "bench gen: wall %.2f s (user %.2f, sys %.2f); peak RSS %.1f MB\n", wall, user, sys, rss / 1024
  fail = 0
  if (wall > maxwall) { printf "FAIL: slower than %d s\n", maxwall; fail = 1 }
  if (rss / 1024 > maxrss) { printf "FAIL: peak RSS above %d MB\n", maxrss; fail = 1 }
  exit fail
}'
