// Package stream turns transport segments into ordered byte streams and framed payloads: TCP
// reassembly (out of order, retransmissions, overlaps, gaps) and SCTP DATA chunks (bundling and
// fragmentation). It knows nothing of SIP or Diameter: a consumer frames the bytes.
package stream

import (
	"net/netip"
	"slices"
	"time"
)

// Key identifies one direction of a connection.
type Key struct {
	Src, Dst netip.AddrPort
}

// Limits that keep memory bounded by live connections, not by capture size.
const (
	// MaxBuffered is the most unframed bytes a direction may hold (a message larger than this is
	// dropped and the stream resynchronises).
	MaxBuffered = 1 << 20
	// MaxOutOfOrder is the most segments held while waiting for a missing one; past it the hole is
	// declared lost.
	MaxOutOfOrder = 128
	// IdleTimeout forgets a direction unseen for this long in capture time.
	IdleTimeout = 5 * time.Minute
)

// Flow is one direction of a TCP connection being reassembled.
type Flow struct {
	Key Key
	// Proto is free for the consumer: it records which protocol it recognised on this flow (0: none
	// yet). Incomplete messages left at the end are counted only for flows with a protocol.
	Proto uint8
	// Ignore, set by the consumer, marks a flow it does not decode: its bytes are dropped unread.
	Ignore bool
	// Gap is set when bytes were lost before the data now offered: the consumer should look for the
	// start of a message rather than trust the first bytes. The consumer clears it.
	Gap bool

	started bool
	closed  bool
	next    uint32 // next expected sequence number
	buf     []byte // in-order bytes not yet consumed
	base    int64  // stream offset of buf[0] (or of the segment being offered)
	spans   []span // which frames carried the bytes from base on
	ooo     []segment
	last    time.Time
}

type span struct {
	end   int64 // stream offset just past this frame's bytes
	frame int
}

type segment struct {
	seq   uint32
	data  []byte
	frame int
}

// Consumer frames the in-order bytes of a flow: it returns how many bytes at the start of data it
// used (a whole message, or bytes it skipped while resynchronising), or 0 when it needs more.
// data is valid only during the call.
type Consumer func(f *Flow, data []byte) int

// Stats counts what the assembler saw.
type Stats struct {
	Retransmitted int // segments whose bytes had all been seen already
	OutOfOrder    int // segments that arrived ahead of a missing one
	Gaps          int // holes given up on (bytes never seen)
	Overflows     int // flows whose unframed bytes passed MaxBuffered
	Leftover      int // flows that ended with an incomplete message
}

// TCP reassembles TCP streams.
type TCP struct {
	flows   map[Key]*Flow
	consume Consumer
	Stats   Stats
	lastGC  time.Time
}

// NewTCP returns an assembler that hands in-order bytes to consume.
func NewTCP(consume Consumer) *TCP {
	return &TCP{flows: make(map[Key]*Flow), consume: consume}
}

// seqDiff returns a-b in sequence space (RFC 1982 style).
func seqDiff(a, b uint32) int32 { return int32(a - b) }

// Segment adds one TCP segment seen in frame at time t.
func (a *TCP) Segment(k Key, seq uint32, syn, fin, rst bool, payload []byte, frame int, t time.Time) {
	a.gc(t)
	f := a.flows[k]
	if f == nil {
		if len(payload) == 0 && !syn {
			return // a bare ACK or FIN of a flow we never saw data on
		}
		f = &Flow{Key: k}
		a.flows[k] = f
	}
	f.last = t
	if syn {
		f.started = true
		f.next = seq + 1
		seq++
	} else if !f.started {
		// The capture began mid-connection: start where we are, and let the consumer resynchronise.
		f.started = true
		f.next = seq
		f.Gap = true
	}
	if len(payload) > 0 {
		a.add(f, seq, payload, frame)
	}
	if fin || rst {
		a.close(f)
	}
}

func (a *TCP) add(f *Flow, seq uint32, payload []byte, frame int) {
	d := seqDiff(seq, f.next)
	switch {
	case d < 0:
		overlap := int(-d)
		if overlap >= len(payload) {
			a.Stats.Retransmitted++
			return
		}
		payload = payload[overlap:]
	case d > 0:
		a.Stats.OutOfOrder++
		if len(f.ooo) >= MaxOutOfOrder {
			a.skipHole(f)
			a.add(f, seq, payload, frame)
			return
		}
		f.ooo = append(f.ooo, segment{seq: seq, data: slices.Clone(payload), frame: frame})
		return
	}
	a.deliver(f, payload, frame)
	a.drainOutOfOrder(f)
}

// drainOutOfOrder delivers held segments that have become contiguous.
func (a *TCP) drainOutOfOrder(f *Flow) {
	for len(f.ooo) > 0 {
		progressed := false
		for i := 0; i < len(f.ooo); i++ {
			s := f.ooo[i]
			d := seqDiff(s.seq, f.next)
			if d > 0 {
				continue
			}
			f.ooo = slices.Delete(f.ooo, i, i+1)
			i--
			if int(-d) < len(s.data) {
				a.deliver(f, s.data[-d:], s.frame)
				progressed = true
			} else {
				a.Stats.Retransmitted++
			}
		}
		if !progressed {
			return
		}
	}
}

// skipHole gives up on the bytes missing before the earliest held segment.
func (a *TCP) skipHole(f *Flow) {
	if len(f.ooo) == 0 {
		return
	}
	earliest := f.ooo[0].seq
	for _, s := range f.ooo[1:] {
		if seqDiff(s.seq, earliest) < 0 {
			earliest = s.seq
		}
	}
	a.Stats.Gaps++
	// The bytes before the hole can never complete a message now.
	f.base += int64(len(f.buf))
	f.buf = f.buf[:0]
	f.spans = f.spans[:0]
	f.base += int64(seqDiff(earliest, f.next))
	f.next = earliest
	f.Gap = true
	a.drainOutOfOrder(f)
}

// deliver appends in-order bytes and lets the consumer frame them. When nothing is buffered the
// consumer reads the segment in place, so the common case (one message per segment) copies nothing.
func (a *TCP) deliver(f *Flow, payload []byte, frame int) {
	f.next += uint32(len(payload))
	if f.Ignore {
		f.base += int64(len(payload))
		return
	}
	if len(f.buf) == 0 {
		f.spans = append(f.spans[:0], span{end: f.base + int64(len(payload)), frame: frame})
		used := a.run(f, payload)
		if used == len(payload) {
			f.spans = f.spans[:0]
			return
		}
		payload = payload[used:]
		f.buf = append(f.buf, payload...)
		return
	}
	f.spans = append(f.spans, span{end: f.base + int64(len(f.buf)+len(payload)), frame: frame})
	f.buf = append(f.buf, payload...)
	used := a.run(f, f.buf)
	if used > 0 {
		n := copy(f.buf, f.buf[used:])
		f.buf = f.buf[:n]
	}
	if len(f.buf) > MaxBuffered {
		a.Stats.Overflows++
		f.base += int64(len(f.buf))
		f.buf = f.buf[:0]
		f.spans = f.spans[:0]
		f.Gap = true
	}
}

// run offers data to the consumer until it needs more; it returns the bytes used and advances base.
func (a *TCP) run(f *Flow, data []byte) int {
	used := 0
	for used < len(data) {
		n := a.consume(f, data[used:])
		if n <= 0 {
			break
		}
		if n > len(data)-used {
			n = len(data) - used
		}
		used += n
		f.base += int64(n)
		f.trimSpans()
	}
	return used
}

// trimSpans drops spans wholly before base.
func (f *Flow) trimSpans() {
	i := 0
	for i < len(f.spans) && f.spans[i].end <= f.base {
		i++
	}
	if i > 0 {
		n := copy(f.spans, f.spans[i:])
		f.spans = f.spans[:n]
	}
}

// Frames appends to dst the numbers of the frames that carried the first n bytes now offered to
// the consumer, in order. The last one is the frame that completed them.
func (f *Flow) Frames(n int, dst []int) []int {
	end := f.base + int64(n)
	for _, s := range f.spans {
		dst = append(dst, s.frame)
		if s.end >= end {
			break
		}
	}
	return dst
}

func (a *TCP) close(f *Flow) {
	if len(f.ooo) > 0 {
		a.skipHole(f)
	}
	if len(f.buf) > 0 && f.Proto != 0 && !f.Ignore {
		a.Stats.Leftover++
	}
	delete(a.flows, f.Key)
}

// gc forgets idle flows; it runs at most once per second of capture time.
func (a *TCP) gc(now time.Time) {
	if now.Sub(a.lastGC) < time.Second {
		return
	}
	a.lastGC = now
	for k, f := range a.flows {
		if now.Sub(f.last) > IdleTimeout {
			if len(f.buf) > 0 && f.Proto != 0 && !f.Ignore {
				a.Stats.Leftover++
			}
			delete(a.flows, k)
		}
	}
}

// Flush ends every flow (at the end of the input), counting incomplete messages.
func (a *TCP) Flush() {
	for _, f := range a.flows {
		a.close(f)
	}
}

// Open returns the number of directions being reassembled.
func (a *TCP) Open() int { return len(a.flows) }
