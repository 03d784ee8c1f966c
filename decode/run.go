package decode

import (
	"container/heap"
	"context"
	"runtime"
	"time"
)

// Run decodes every input, merged in capture-time order, calling handle for each message. It stops
// early only when ctx is cancelled or an input cannot be opened; damaged inputs yield what they hold
// and a Warning in the returned Stats.
func Run(ctx context.Context, inputs []string, handle Handler, opts Options) (*Stats, error) {
	caps := make([]*Capture, 0, len(inputs))
	defer func() {
		for _, c := range caps {
			c.Close()
		}
	}()
	for _, name := range inputs {
		c, err := Open(name)
		if err != nil {
			return nil, err
		}
		caps = append(caps, c)
	}
	d := NewDecoder(handle, opts)
	err := d.RunCaptures(ctx, caps)
	return &d.Stats, err
}

// RunCaptures decodes already opened captures, merged by time, then finishes the decoder.
func (d *Decoder) RunCaptures(ctx context.Context, caps []*Capture) error {
	d.Stats.Inputs += len(caps)
	err := EachFrame(ctx, caps, func(_ int, f *Frame) error {
		d.Frame(f)
		return nil
	})
	for _, c := range caps {
		if w := c.Warning(); w != nil {
			d.Stats.Warnings = append(d.Stats.Warnings, w)
		}
	}
	d.Finish()
	return err
}

// EachFrame hands over the frames of caps merged in capture-time order (ties: input order) with the
// index of each frame's capture. The frame is valid only during the call. It stops at the first
// error fn returns, or when ctx is cancelled.
func EachFrame(ctx context.Context, caps []*Capture, fn func(input int, f *Frame) error) error {
	var f Frame
	var y yielder
	if len(caps) == 1 { // the usual case: nothing to merge, the frame is read in place
		for n := 0; ; n++ {
			if n&0x3ff == 0 {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				y.maybe()
			}
			if caps[0].Next(&f) != nil {
				return nil
			}
			if err := fn(0, &f); err != nil {
				return err
			}
		}
	}
	m := newMerger(caps)
	for n := 0; ; n++ {
		if n&0x3ff == 0 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			y.maybe()
		}
		if !m.next(&f) {
			return nil
		}
		if err := fn(m.advance, &f); err != nil {
			return err
		}
	}
}

// merger interleaves several captures by frame time. Each capture keeps one frame pending; its
// reader's buffer holds that frame's data until it is consumed, so nothing is copied.
type merger struct {
	caps []*Capture
	h    frameHeap
	// advance is the capture whose frame was handed out last and must be read again.
	advance int
}

type pendingFrame struct {
	f   Frame
	cap int
}

type frameHeap []*pendingFrame

func (h frameHeap) Len() int { return len(h) }
func (h frameHeap) Less(i, j int) bool {
	if h[i].f.Time.Equal(h[j].f.Time) {
		return h[i].cap < h[j].cap
	}
	return h[i].f.Time.Before(h[j].f.Time)
}
func (h frameHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *frameHeap) Push(x any)   { *h = append(*h, x.(*pendingFrame)) }
func (h *frameHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newMerger(caps []*Capture) *merger {
	m := &merger{caps: caps, advance: -1}
	for i, c := range caps {
		p := &pendingFrame{cap: i}
		if c.Next(&p.f) == nil {
			m.h = append(m.h, p)
		}
	}
	heap.Init(&m.h)
	return m
}

// next copies the earliest pending frame into f (sharing its data) and reads its capture's next frame.
func (m *merger) next(f *Frame) bool {
	if m.advance >= 0 {
		// Refill the capture whose frame was handed out last time.
		top := m.h[0]
		if m.caps[top.cap].Next(&top.f) == nil {
			if len(m.h) > 1 { // the last input left needs no reordering
				heap.Fix(&m.h, 0)
			}
		} else {
			heap.Pop(&m.h)
		}
		m.advance = -1
	}
	if len(m.h) == 0 {
		return false
	}
	*f = m.h[0].f
	m.advance = m.h[0].cap
	return true
}

// yieldInterval is how long a frame loop runs before it yields the processor itself. The Go
// runtime stops a goroutine that has run for 10 ms with a signal, and on a machine with another
// core idle the goroutine often resumes on that core, its caches cold. Yielding first avoids it:
// on the 1 GB bench/calls.sh capture, CPU migrations fell from 37-133 a run to 7-11 (perf stat)
// and CPU time by 3-6 %.
var yieldInterval = 4 * time.Millisecond

// yielder yields the processor every yieldInterval (runtime.Gosched): the loop goes on at once
// when nothing else waits to run.
type yielder struct{ last time.Time }

func (y *yielder) maybe() {
	if now := time.Now(); now.Sub(y.last) >= yieldInterval {
		if !y.last.IsZero() {
			runtime.Gosched()
		}
		y.last = now
	}
}
