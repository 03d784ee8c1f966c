package correlate

import (
	"testing"
	"time"
)

func TestLatencyPercentiles(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		want    Latency
	}{
		{"none", nil, Latency{}},
		{"one", ms(7), Latency{1, 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond}},
		// Nearest rank: p50 of 3 is the 2nd, p90 and p99 the 3rd.
		{"three unsorted", ms(30, 10, 20), Latency{3, 20 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond}},
		// p50 of 4 is the 2nd (ceil 2.0), p90 the 4th (ceil 3.6).
		{"four", ms(1, 2, 3, 4), Latency{4, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}},
		// One slow outlier among 200: p99 (the 198th) stays fast, Max shows it.
		{"outlier", append(ms(make([]int, 199)...), time.Minute), Latency{200, 0, 0, 0, time.Minute}},
		{"ties", ms(5, 5, 5, 5, 9), Latency{5, 5 * time.Millisecond, 9 * time.Millisecond, 9 * time.Millisecond, 9 * time.Millisecond}},
	} {
		var l latencies
		for _, s := range tc.samples {
			l.add(s)
		}
		if got := l.summary(); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}

	// Adding after a summary must not reuse a stale sort.
	var l latencies
	l.add(3 * time.Second)
	l.summary()
	l.add(time.Second)
	l.add(2 * time.Second)
	if got := l.summary(); got.P50 != 2*time.Second || got.Max != 3*time.Second {
		t.Errorf("after more samples: %+v", got)
	}
}
