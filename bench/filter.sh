#!/usr/bin/env bash
# Benchmark: the cost of display filters. Runs `sigtrace messages -o json` on a generated capture of
# about 1 GB (125k calls, 10 % RTP) unfiltered and with --preset epc-ims, and fails when the
# filtered run takes more than 25 % more CPU time than the unfiltered one.
#   bench/filter.sh [CALLS]        (default 125000; the capture is cached in bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
calls="${1:-125000}"
max_overhead_pct="${MAX_OVERHEAD_PCT:-25}"
mkdir -p bench/out
capture="bench/out/gen-${calls}.pcap"
[ -f "$capture" ] || go run ./samples/gen -calls "$calls" -seed 1 -rtp 0.10 -o "$capture"
bin=bench/out/sigtrace-filter
go build -o "$bin" ./cmd/sigtrace
if [ ! -x /usr/bin/time ]; then
  echo "bench: /usr/bin/time (Debian package 'time') is needed" >&2
  exit 1
fi
# cpu COMMAND...: user+sys CPU seconds of COMMAND, stdout discarded.
cpu() {
  local log
  log=$(mktemp)
  /usr/bin/time -f '%U %S' -o "$log" "$@" > /dev/null
  awk '{ print $1 + $2 }' "$log"
  rm -f "$log"
}
# Best of three each, interleaved, so that a busy machine hurts both alike.
plain=999999 filtered=999999
for _ in 1 2 3; do
  p=$(cpu "$bin" messages -q -o json "$capture")
  f=$(cpu "$bin" messages -q -o json --preset epc-ims "$capture")
  plain=$(awk -v a="$plain" -v b="$p" 'BEGIN { print (b < a) ? b : a }')
  filtered=$(awk -v a="$filtered" -v b="$f" 'BEGIN { print (b < a) ? b : a }')
done
kept=$("$bin" messages -o json --preset epc-ims "$capture" 2>&1 >/dev/null | sed -n 's/.*sigtrace: \([0-9]*\) messages matched.*/\1/p')
size=$(stat -L -c %s "$capture")
awk -v plain="$plain" -v filtered="$filtered" -v max="$max_overhead_pct" -v size="$size" -v kept="$kept" 'BEGIN {
  pct = (filtered - plain) / plain * 100
  printf "messages -o json: %.0f MB in %.2f CPU-s unfiltered, %.2f CPU-s with --preset epc-ims (%s messages kept): %+.1f %%\n", size / 1e6, plain, filtered, kept, pct
  if (pct > max) { printf "FAIL: filtering costs more than %d %%\n", max; exit 1 }
}'
