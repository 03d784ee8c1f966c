#!/usr/bin/env bash
# Benchmark: `sigtrace hep listen` (live analysis to NDJSON and -w pcapng) fed by `sigtrace hep send`
# on loopback. Replays a generated capture of CALLS calls (default 20000: about 294,000 SIP messages)
# and reports the send rate, packets received and lost, the kernel's drops, the receive buffer
# granted, and the listener's CPU and peak memory. Fails when a packet is lost or the rate stays
# below MIN_PPS (default 50000).
#   bench/hep-load.sh [CALLS]
# Environment: RATE (packets/s for the sender; default 60000, above the 50,000 target; 0 sends as
# fast as the sender can, a stress test whose outcome depends on what else the cores run), MIN_PPS, TRANSPORT
# (udp or tcp; default udp), RCVBUF (bytes; default sigtrace's 64 MiB), WRITE (0 to skip -w).
set -euo pipefail
cd "$(dirname "$0")/.."
calls="${1:-20000}"
rate="${RATE:-60000}"
min_pps="${MIN_PPS:-50000}"
transport="${TRANSPORT:-udp}"
rcvbuf="${RCVBUF:-67108864}"
mkdir -p bench/out
capture="bench/out/gen-sip-${calls}.pcap"
[ -f "$capture" ] || go run ./samples/gen -calls "$calls" -seed 1 -rtp 0 -o "$capture"
go build -o bench/out/sigtrace ./cmd/sigtrace

write=(-w bench/out/hep-load.pcapng)
[ "${WRITE:-1}" = 0 ] && write=()
lerr=$(mktemp) serr=$(mktemp)
trap 'rm -f "$lerr" "$serr"; [ -n "${lpid:-}" ] && kill -TERM "$lpid" 2>/dev/null || true' EXIT
bench/out/sigtrace hep listen --listen "$transport://127.0.0.1:0" --rcvbuf "$rcvbuf" -o json "${write[@]}" \
  > /dev/null 2> "$lerr" &
lpid=$!
for _ in $(seq 200); do grep -q '^sigtrace: listening on' "$lerr" && break; sleep 0.05; done
addr=$(sed -n 's/^sigtrace: listening on \([a-z]*:\/\/[^ ,]*\).*/\1/p' "$lerr")
[ -n "$addr" ] || { echo "bench: the listener did not start:" >&2; cat "$lerr" >&2; exit 1; }
granted=$(sed -n 's/.*(receive buffer \([^)]*\)).*/\1/p' "$lerr")

bench/out/sigtrace hep send --rate "$rate" --to "$addr" "$capture" 2> "$serr" || { cat "$serr" >&2; exit 1; }
sleep 0.5 # let the listener take what is in flight before it is asked to stop
# The listener's CPU time and peak memory, read before it exits.
read -r utime stime < <(awk '{print $14, $15}' "/proc/$lpid/stat")
hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$lpid/status")
kill -INT "$lpid"
wait "$lpid"
lpid=""

sent_line=$(cat "$serr")
recv_line=$(grep '^sigtrace: received' "$lerr")
awk -v sent_line="$sent_line" -v recv_line="$recv_line" -v granted="${granted:-n/a (tcp)}" -v hz="$(getconf CLK_TCK)" \
  -v utime="$utime" -v stime="$stime" -v hwm="$hwm_kb" -v min="$min_pps" -v rate="$rate" -v transport="$transport" 'BEGIN {
  split(sent_line, s, " "); sent = s[3]
  match(sent_line, /in [0-9.]+(ms|s)/); d = substr(sent_line, RSTART + 3, RLENGTH - 3)
  secs = (d ~ /ms$/) ? substr(d, 1, length(d) - 2) / 1000 : substr(d, 1, length(d) - 1)
  split(recv_line, r, " "); received = r[3]
  match(recv_line, /; [0-9a-z]+ dropped by the kernel/); kd = substr(recv_line, RSTART + 2, RLENGTH - 24)
  pps = sent / secs; cpu = (utime + stime) / hz
  printf "bench hep-load (%s, rate %s): sent %d packets in %.2f s = %.0f packets/s\n", transport, rate == 0 ? "max" : rate, sent, secs, pps
  printf "  received %d, lost %d, kernel drops %s; receive buffer %s\n", received, sent - received, kd, granted
  printf "  listener: %.2f CPU-s (%.1f us per packet), peak RSS %.1f MB\n", cpu, cpu * 1e6 / (received ? received : 1), hwm / 1024
  fail = 0
  if (received != sent) { printf "FAIL: %d packets lost\n", sent - received; fail = 1 }
  if (pps < min) { printf "FAIL: below %d packets/s\n", min; fail = 1 }
  exit fail
}'
