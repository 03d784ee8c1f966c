package correlate

import (
	"slices"
	"time"
)

// Latency summarises the answer times of a set of request/answer pairs. Percentiles use the
// nearest-rank method: P90 is the smallest latency at least 90% of the pairs did not exceed.
type Latency struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50"`
	P90   time.Duration `json:"p90"`
	P99   time.Duration `json:"p99"`
	Max   time.Duration `json:"max"`
}

// latencies collects samples for one statistic. It keeps every sample (8 bytes per answered pair) so
// percentiles are exact.
type latencies struct {
	samples []time.Duration
	sorted  bool
}

func (l *latencies) add(d time.Duration) {
	l.samples = append(l.samples, d)
	l.sorted = false
}

func (l *latencies) summary() Latency {
	n := len(l.samples)
	if n == 0 {
		return Latency{}
	}
	if !l.sorted {
		slices.Sort(l.samples)
		l.sorted = true
	}
	rank := func(p int) time.Duration {
		r := (p*n + 99) / 100 // ceil(p% of n), at least 1 since n > 0
		return l.samples[r-1]
	}
	return Latency{Count: n, P50: rank(50), P90: rank(90), P99: rank(99), Max: l.samples[n-1]}
}
