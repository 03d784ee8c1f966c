package correlate

import (
	"bytes"
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
	data, err := benchCapture()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
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
		}, decode.Options{})
		var f decode.Frame
		for cp.Next(&f) == nil {
			c.Frame(&f)
			d.Frame(&f)
		}
		d.Finish()
		n += len(c.Flush())
		if n != 20000 {
			b.Fatalf("%d calls", n)
		}
	}
}

// BenchmarkDecodeOnly is the same capture through the decoder alone: the floor under BenchmarkCalls.
func BenchmarkDecodeOnly(b *testing.B) {
	data, err := benchCapture()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	defer reportCPU(b, len(data))()
	for b.Loop() {
		cp, err := decode.OpenReader("bench", bytes.NewReader(data), nil)
		if err != nil {
			b.Fatal(err)
		}
		d := decode.NewDecoder(func(m *decode.Message) {}, decode.Options{})
		var f decode.Frame
		for cp.Next(&f) == nil {
			d.Frame(&f)
		}
		d.Finish()
	}
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
