package correlate

import (
	"bytes"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/samples/synth"
)

var benchCapture = sync.OnceValues(func() ([]byte, error) {
	var b bytes.Buffer
	_, err := synth.Generate(synth.Config{Calls: 20000, Seed: 1, RTPShare: 0.10}, &b, nil)
	return b.Bytes(), err
})

// BenchmarkCalls correlates a generated capture held in memory (20,000 calls, 10 % RTP): decoding
// and correlation, records built (and released, as the calls command does) but not written. b.SetBytes makes -bench report MB/s of capture.
func BenchmarkCalls(b *testing.B) {
	data := benchSetup(b)
	defer reportCPU(b, len(data))()
	for b.Loop() {
		cp, err := decode.OpenReader("bench", bytes.NewReader(data), nil)
		if err != nil {
			b.Fatal(err)
		}
		c := NewCalls(CallOptions{})
		n := 0
		d := decode.NewDecoder(func(m *decode.Message) {
			for _, call := range c.Add(m) {
				n++
				c.Release(call)
			}
		}, decode.Options{DedupWindow: -1, UncheckedSIP: true, OtherUDP: c.RTP, NoteSIPHeaders: c.HeaderNames()}) // as the calls command decodes
		var f decode.Frame
		for cp.Next(&f) == nil {
			d.Frame(&f)
		}
		d.Finish()
		n += len(c.Flush())
		if n != 20000 {
			b.Fatalf("%d calls", n)
		}
	}
}

// TestSteadyStateAllocations: once the first calls have set up the correlator's state, the
// calls command's path (decode, correlate, records released) allocates next to nothing per call:
// legs, calls and records are recycled with their memory, strings included. Counted over the
// second half of 20,000 calls generated as for the benchmark (held in memory first, so that the
// generator's own allocations are not counted; not benchCapture, which would stay in memory for
// TestSynthMemoryBound to count).
func TestSteadyStateAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 20,000 calls")
	}
	// Recycled state grows its slices until it has held a large call: warm takes a while.
	const total, warm = 20000, 10000
	var data bytes.Buffer
	if _, err := synth.Generate(synth.Config{Calls: total, Seed: 1, RTPShare: 0.10}, &data, nil); err != nil {
		t.Fatal(err)
	}
	cp, err := decode.OpenReader("bench", &data, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCalls(CallOptions{})
	n := 0
	var ms runtime.MemStats
	var mallocs, bytes0 uint64
	d := decode.NewDecoder(func(m *decode.Message) {
		for _, call := range c.Add(m) {
			if n++; n == warm {
				runtime.ReadMemStats(&ms)
				mallocs, bytes0 = ms.Mallocs, ms.TotalAlloc
			}
			c.Release(call)
		}
	}, decode.Options{DedupWindow: -1, UncheckedSIP: true, OtherUDP: c.RTP, NoteSIPHeaders: c.HeaderNames()})
	var f decode.Frame
	for cp.Next(&f) == nil {
		d.Frame(&f)
	}
	d.Finish()
	runtime.ReadMemStats(&ms)
	calls := float64(n - warm)
	perCall, bytesPerCall := float64(ms.Mallocs-mallocs)/calls, float64(ms.TotalAlloc-bytes0)/calls
	t.Logf("second half: %.0f calls, %.2f allocations and %.0f bytes per call", calls, perCall, bytesPerCall)
	// A fresh string per leg alone would be about two allocations per call.
	if perCall > 1 || bytesPerCall > 1024 {
		t.Errorf("%.2f allocations and %.0f bytes per call once warm, want under 1 and 1 KB", perCall, bytesPerCall)
	}
}

// BenchmarkDecodeOnly is the same capture through the decoder alone, set up as for BenchmarkCalls:
// the floor under it.
func BenchmarkDecodeOnly(b *testing.B) {
	data := benchSetup(b)
	defer reportCPU(b, len(data))()
	for b.Loop() {
		cp, err := decode.OpenReader("bench", bytes.NewReader(data), nil)
		if err != nil {
			b.Fatal(err)
		}
		d := decode.NewDecoder(func(m *decode.Message) {}, decode.Options{DedupWindow: -1, UncheckedSIP: true})
		var f decode.Frame
		for cp.Next(&f) == nil {
			d.Frame(&f)
		}
		d.Finish()
	}
}

// benchSetup returns the generated capture and makes the benchmark report per MB of it.
func benchSetup(b *testing.B) []byte {
	b.Helper()
	data, err := benchCapture()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	return data
}

// reportCPU adds the MB of capture per CPU-second (user+sys, all threads) to the benchmark's
// report: on a shared machine wall time says little, and the project's target is per CPU-second.
func reportCPU(b *testing.B, size int) func() {
	start := cpuTime()
	return func() {
		if cpu := cpuTime() - start; cpu > 0 && b.N > 0 {
			b.ReportMetric(float64(size)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchItem is one step of a recorded run: a decoded message for Add, or with rtp a UDP payload
// of no known protocol for RTP.
type benchItem struct {
	msg *decode.Message
	rtp []byte
}

// benchRun is the capture of BenchmarkCalls decoded once (as the calls command decodes: no
// deduplication in the decoder), frames and messages in the order the correlator sees them.
var benchRun = sync.OnceValues(func() ([]benchItem, error) {
	data, err := benchCapture()
	if err != nil {
		return nil, err
	}
	cp, err := decode.OpenReader("bench", bytes.NewReader(data), nil)
	if err != nil {
		return nil, err
	}
	var items []benchItem
	d := decode.NewDecoder(func(m *decode.Message) {
		k := *m
		k.Payload = nil
		if m.SIP != nil {
			k.SIP = m.SIP.Clone()
		}
		items = append(items, benchItem{msg: &k})
	}, decode.Options{DedupWindow: -1, UncheckedSIP: true, OtherUDP: func(m *decode.Message, p []byte) {
		k := *m
		items = append(items, benchItem{msg: &k, rtp: bytes.Clone(p)})
	}})
	var f decode.Frame
	for cp.Next(&f) == nil {
		d.Frame(&f)
	}
	d.Finish()
	return items, nil
})

// BenchmarkCorrelate is BenchmarkCalls without the decoder: the correlator alone, fed messages
// decoded beforehand. MB/s and MB/cpu-s are still per MB of capture.
func BenchmarkCorrelate(b *testing.B) {
	data := benchSetup(b)
	items, err := benchRun()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	defer reportCPU(b, len(data))()
	for b.Loop() {
		c := NewCalls(CallOptions{})
		n := 0
		for _, it := range items {
			if it.rtp != nil {
				c.RTP(it.msg, it.rtp)
				continue
			}
			for _, call := range c.Add(it.msg) {
				n++
				c.Release(call)
			}
		}
		n += len(c.Flush())
		if n != 20000 {
			b.Fatalf("%d calls", n)
		}
	}
}

// BenchmarkSDPEvents reads a typical offer (two codecs and telephone-event).
func BenchmarkSDPEvents(b *testing.B) {
	body := []byte("v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=alice\r\nc=IN IP4 192.0.2.10\r\n" +
		"t=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n")
	n := 0
	for b.Loop() {
		sdpEvents(body, func(conn []byte, port, pt int) { n += port })
	}
}
