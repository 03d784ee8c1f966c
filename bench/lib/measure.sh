#!/usr/bin/env bash
# measure.sh NAME CAPTURE MIN_MB_PER_CPU_S MAX_RSS_MB COMMAND...
# Runs COMMAND (stdout to /dev/null) under GNU time, reports MB of CAPTURE per CPU-second and peak
# RSS, and exits 1 when either misses its target.
#
# RUNS=N (default 1) runs it N times and judges the run of median CPU time against the target and
# the largest peak RSS against its limit: on a shared or virtual machine a single run can lose 10 %
# or more to a neighbour, in either direction, and the median is what the code costs.
set -euo pipefail
name=$1 capture=$2 min=$3 maxrss=$4
shift 4
runs="${RUNS:-1}"
if ! [ "$runs" -ge 1 ] 2>/dev/null; then
  echo "bench: RUNS must be 1 or more, not '$runs'" >&2
  exit 2
fi
if [ ! -x /usr/bin/time ]; then
  echo "bench: /usr/bin/time (Debian package 'time') is needed" >&2
  exit 1
fi
size=$(stat -c %s "$capture")
log=$(mktemp) all=$(mktemp)
trap 'rm -f "$log" "$all"' EXIT
for ((i = 1; i <= runs; i++)); do
  /usr/bin/time -f '%U %S %M %e' -o "$log" "$@" > /dev/null
  cat "$log" >> "$all"
done
awk -v name="$name" -v size="$size" -v min="$min" -v maxrss="$maxrss" -v runs="$runs" '
# GNU time counts in hundredths: a run too short to register counts as one hundredth.
function atleast(c) { return c > 0.01 ? c : 0.01 }
function line(label, u, s, r, w) {
  printf "%s: %.0f MB in %.2f CPU-s (user %.2f, sys %.2f, wall %.2f s): %.0f MB per CPU-second; peak RSS %.1f MB\n", label, mb, u + s, u, s, w, mb / atleast(u + s), r / 1024
}
{ n++; user[n] = $1; sys[n] = $2; rss[n] = $3; wall[n] = $4; cpu[n] = atleast($1 + $2); if ($3 > peak) peak = $3 }
END {
  mb = size / 1e6
  if (runs > 1)
    for (i = 1; i <= n; i++) line(sprintf("%s, run %d of %d", name, i, n), user[i], sys[i], rss[i], wall[i])
  # The run of median CPU time (insertion sort of the indices by CPU); of two middle runs, the
  # slower.
  for (i = 1; i <= n; i++) idx[i] = i
  for (i = 2; i <= n; i++)
    for (j = i; j > 1 && cpu[idx[j]] < cpu[idx[j-1]]; j--) { t = idx[j]; idx[j] = idx[j-1]; idx[j-1] = t }
  m = idx[int(n / 2) + 1]
  label = name
  if (runs > 1) label = sprintf("%s, median of %d runs", name, n)
  line(label, user[m], sys[m], peak, wall[m])
  fail = 0
  if (mb / cpu[m] < min) { printf "FAIL: below %d MB per CPU-second\n", min; fail = 1 }
  if (peak / 1024 > maxrss) { printf "FAIL: peak RSS above %d MB\n", maxrss; fail = 1 }
  exit fail
}' "$all"
