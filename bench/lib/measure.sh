#!/usr/bin/env bash
# measure.sh NAME CAPTURE MIN_MB_PER_CPU_S MAX_RSS_MB COMMAND...
# Runs COMMAND (stdout to /dev/null) under GNU time, reports MB of CAPTURE per CPU-second and peak
# RSS, and exits 1 when either misses its target.
set -euo pipefail
name=$1 capture=$2 min=$3 maxrss=$4
shift 4
if [ ! -x /usr/bin/time ]; then
  echo "bench: /usr/bin/time (Debian package 'time') is needed" >&2
  exit 1
fi
size=$(stat -c %s "$capture")
log=$(mktemp)
/usr/bin/time -f '%U %S %M %e' -o "$log" "$@" > /dev/null
read -r user sys rss_kb wall < "$log"
rm -f "$log"
awk -v name="$name" -v size="$size" -v user="$user" -v sys="$sys" -v rss="$rss_kb" -v wall="$wall" -v min="$min" -v maxrss="$maxrss" 'BEGIN {
  cpu = user + sys; mb = size / 1e6; rate = mb / cpu; rssmb = rss / 1024
  printf "%s: %.0f MB in %.2f CPU-s (user %.2f, sys %.2f, wall %.2f s): %.0f MB per CPU-second; peak RSS %.1f MB\n", name, mb, cpu, user, sys, wall, rate, rssmb
  fail = 0
  if (rate < min) { printf "FAIL: below %d MB per CPU-second\n", min; fail = 1 }
  if (rssmb > maxrss) { printf "FAIL: peak RSS above %d MB\n", maxrss; fail = 1 }
  exit fail
}'
