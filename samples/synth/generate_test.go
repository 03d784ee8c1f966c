package synth_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/samples/synth"
)

func TestDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  synth.Config
	}{
		{"pcap", synth.Config{Calls: 300, Seed: 42, RTPShare: 0.1}},
		{"pcapng", synth.Config{Calls: 300, Seed: 42, RTPShare: 0.1, Format: synth.PCAPNG}},
		{"no RTP, every scenario", synth.Config{Calls: 60, Seed: -3, EachAtLeast: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c1, t1, _ := generate(t, tc.cfg)
			c2, t2, _ := generate(t, tc.cfg)
			if !bytes.Equal(c1, c2) || !bytes.Equal(t1, t2) {
				t.Fatal("same seed, different output")
			}
			other := tc.cfg
			other.Seed++
			c3, t3, _ := generate(t, other)
			if bytes.Equal(c1, c3) || bytes.Equal(t1, t3) {
				t.Fatal("different seeds, same output")
			}
		})
	}
}

func TestCaptureReadsBack(t *testing.T) {
	for _, f := range []synth.Format{synth.PCAP, synth.PCAPNG} {
		t.Run(f.String(), func(t *testing.T) {
			capture, _, st := generate(t, synth.Config{Calls: 400, Seed: 5, RTPShare: 0.2, EachAtLeast: 2, Format: f})
			pkts := readCapture(t, capture)
			var sip, rtp, rtpBytes int64
			for _, p := range pkts {
				if p.sip != nil {
					sip++
				} else {
					rtp++
					rtpBytes += int64(len(p.payload))
				}
			}
			if int64(len(pkts)) != st.Packets || sip != st.SIPPackets || rtp != st.RTPPackets {
				t.Errorf("read %d packets (%d SIP, %d RTP), Stats say %d (%d, %d)",
					len(pkts), sip, rtp, st.Packets, st.SIPPackets, st.RTPPackets)
			}
			if rtp == 0 || sip == 0 {
				t.Errorf("want both SIP and RTP, got %d and %d", sip, rtp)
			}
			if !pkts[0].ts.Equal(st.First) || !pkts[len(pkts)-1].ts.Equal(st.Last) {
				t.Errorf("first/last %v/%v, Stats %v/%v", pkts[0].ts, pkts[len(pkts)-1].ts, st.First, st.Last)
			}
		})
	}
}

// TestRTPFollowsSDP checks that every RTP packet flows between addresses some SDP of a
// call announced, and only while that call is answered.
func TestRTPFollowsSDP(t *testing.T) {
	capture, _, _ := generate(t, synth.Config{Calls: 300, Seed: 9, RTPShare: 0.3})
	announced := map[string]bool{}
	n := 0
	for _, p := range readCapture(t, capture) {
		if p.sip != nil {
			if ip, port := sdpAddr(p.sip.body); ip != "" {
				announced[ip+":"+port] = true
			}
			continue
		}
		n++
		if !announced[p.src.String()] || !announced[p.dst.String()] {
			t.Fatalf("frame %d: RTP %v -> %v between addresses no SDP announced before", p.n, p.src, p.dst)
		}
	}
	if n == 0 {
		t.Fatal("no RTP")
	}
}

func sdpAddr(body []byte) (ip, port string) {
	for _, l := range strings.Split(string(body), "\r\n") {
		if v, ok := strings.CutPrefix(l, "c=IN IP4 "); ok {
			ip = v
		}
		if v, ok := strings.CutPrefix(l, "m=audio "); ok {
			port, _, _ = strings.Cut(v, " ")
		}
	}
	return ip, port
}

func TestMixAndOutcomes(t *testing.T) {
	const n = 4000
	cfg := synth.Config{Calls: n, Seed: 11}
	_, truth, st := generate(t, cfg)
	recs, err := synth.ReadTruth(bytes.NewReader(truth))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n || st.Calls != n {
		t.Fatalf("%d records, Stats.Calls %d, want %d", len(recs), st.Calls, n)
	}
	// Scenario counts follow the weights within binomial noise.
	wantOutcomes := map[string]int{}
	for s := synth.Answered; s <= synth.NoAnswer; s++ {
		p := synth.DefaultMix.Share(s)
		got := st.Scenarios[s]
		if tol := 5*math.Sqrt(n*p*(1-p)) + 2; math.Abs(float64(got)-n*p) > tol {
			t.Errorf("%s: %d calls, want %.0f ± %.0f", s, got, n*p, tol)
		}
		wantOutcomes[s.Outcome()] += got
	}
	// Outcomes and events follow exactly from the scenarios drawn.
	gotOutcomes := map[string]int{}
	withEvent := map[string]int{}
	for _, r := range recs {
		gotOutcomes[r.Outcome]++
		seen := map[string]bool{}
		for _, e := range r.Events {
			if !seen[e.Type] {
				withEvent[e.Type]++
				seen[e.Type] = true
			}
		}
	}
	for o, w := range wantOutcomes {
		if gotOutcomes[o] != w {
			t.Errorf("outcome %s: %d records, scenarios give %d", o, gotOutcomes[o], w)
		}
	}
	for typ, s := range map[string]synth.Scenario{"dtmf": synth.DTMF, "hold": synth.Hold, "unhold": synth.Hold,
		"forward": synth.Forward, "refer": synth.Transfer, "transfer": synth.Transfer} {
		if withEvent[typ] != st.Scenarios[s] {
			t.Errorf("%d calls with a %s event, %d %s calls", withEvent[typ], typ, st.Scenarios[s], s)
		}
	}
	if st.MaxOpen < 100 {
		t.Errorf("at most %d calls open at once: calls should overlap", st.MaxOpen)
	}
}

func TestRTPShare(t *testing.T) {
	for _, share := range []float64{0, 0.05, 0.10, 0.30} {
		_, _, st := generate(t, synth.Config{Calls: 3000, Seed: 3, RTPShare: share})
		if got := st.RTPShare(); math.Abs(got-share) > 0.015 {
			t.Errorf("RTPShare %.2f: got %.3f", share, got)
		}
		if share == 0 && st.RTPPackets != 0 {
			t.Errorf("RTPShare 0: %d RTP packets", st.RTPPackets)
		}
	}
}

// heapProbe is a writer that records the live heap every few megabytes written.
type heapProbe struct {
	n, next int
	peak    uint64
}

func (h *heapProbe) Write(p []byte) (int, error) {
	h.n += len(p)
	if h.n >= h.next {
		h.next = h.n + 8<<20
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peak = max(h.peak, ms.HeapAlloc)
	}
	return len(p), nil
}

// TestMemoryBounded shows memory follows the calls open at once, not the calls generated:
// ten times the calls, about the same live heap.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 150 MB")
	}
	peak := func(calls int) (uint64, synth.Stats) {
		var h heapProbe
		st, err := synth.Generate(synth.Config{Calls: calls, Seed: 1, RTPShare: 0.1}, &h, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return h.peak, st
	}
	small, s1 := peak(1800)
	large, s2 := peak(18000)
	t.Logf("live heap: %d calls %.1f MB (%d open at most), %d calls %.1f MB (%d open at most)",
		s1.Calls, float64(small)/1e6, s1.MaxOpen, s2.Calls, float64(large)/1e6, s2.MaxOpen)
	if large > small+8<<20 || large > 32<<20 {
		t.Errorf("live heap grew from %d to %d bytes with ten times the calls", small, large)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  synth.Config
	}{
		{"negative calls", synth.Config{Calls: -1}},
		{"RTP share 1", synth.Config{Calls: 1, RTPShare: 1}},
		{"RTP share NaN", synth.Config{Calls: 1, RTPShare: math.NaN()}},
		{"CPS NaN", synth.Config{Calls: 1, CPS: math.NaN()}},
		{"negative weight", synth.Config{Calls: 1, Mix: synth.Mix{synth.Busy: -1, synth.Answered: 2}}},
		{"infinite weight", synth.Config{Calls: 1, Mix: synth.Mix{synth.Busy: math.Inf(1)}}},
		{"too few phones", synth.Config{Calls: 1, Class5: 4, Phones: 7}},
		{"talk too short", synth.Config{Calls: 1, MeanTalk: time.Millisecond}},
		{"bad format", synth.Config{Calls: 1, Format: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := synth.Generate(tc.cfg, io.Discard, nil)
			if err == nil || !strings.HasPrefix(err.Error(), "synth: ") {
				t.Fatalf("got %v, want an error naming synth", err)
			}
		})
	}
}

type failAfter struct{ n int }

var errDisk = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errDisk
	}
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	if _, err := synth.Generate(synth.Config{Calls: 2000, Seed: 1}, &failAfter{3 << 20}, nil); !errors.Is(err, errDisk) {
		t.Errorf("capture writer failing: got %v", err)
	}
	if _, err := synth.Generate(synth.Config{Calls: 2000, Seed: 1}, io.Discard, &failAfter{100 << 10}); !errors.Is(err, errDisk) {
		t.Errorf("truth writer failing: got %v", err)
	}
}

func TestEmpty(t *testing.T) {
	capture, truth, st := generate(t, synth.Config{Seed: 1})
	if st.Packets != 0 || len(truth) != 0 || len(readCapture(t, capture)) != 0 {
		t.Fatalf("no calls: %d packets, %d bytes of truth", st.Packets, len(truth))
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, f := range []synth.Format{synth.PCAP, synth.PCAPNG} {
		b.Run(f.String(), func(b *testing.B) {
			var st synth.Stats
			for b.Loop() {
				var err error
				st, err = synth.Generate(synth.Config{Calls: 5000, Seed: 1, RTPShare: 0.1, Format: f}, io.Discard, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(st.Bytes)
			b.ReportMetric(float64(st.Bytes)/float64(st.Calls), "B/call")
		})
	}
}
