package decode

import (
	"bytes"
	"context"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestEachFrameYields runs the frame loop on one processor beside a goroutine that is ready to
// run: that goroutine gets its turn during the loop only because the loop yields (the capture is
// read from memory, so no system call hands the processor over, and the loop ends long before
// the runtime's 10 ms preemption).
func TestEachFrameYields(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	defer func(d time.Duration) { yieldInterval = d }(yieldInterval)
	yieldInterval = 0 // at every check (each 1024 frames)

	const frames = 3000
	c, err := OpenReader("mem.pcap", bytes.NewReader(zeroFramesPcap(frames)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var ran atomic.Bool
	go ran.Store(true)
	n, ranAt := 0, -1
	err = EachFrame(context.Background(), []*Capture{c}, func(_ int, _ *Frame) error {
		if ranAt < 0 && ran.Load() {
			ranAt = n
		}
		n++
		return nil
	})
	if err != nil || n != frames {
		t.Fatalf("%d frames, %v; want %d", n, err, frames)
	}
	if ranAt < 0 {
		t.Fatal("a waiting goroutine did not run during the loop: EachFrame never yielded")
	}
	t.Logf("the waiting goroutine ran by frame %d", ranAt)
}

// zeroFramesPcap is a pcap of n Ethernet frames of 60 zero bytes, a microsecond apart.
func zeroFramesPcap(n int) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...) // time zone, accuracy
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 1) // Ethernet
	for i := range n {
		for _, v := range []uint32{1700000000, uint32(i), 60, 60} { // seconds, microseconds, lengths
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		b = append(b, make([]byte, 60)...)
	}
	return b
}
