package decode

import (
	"net/netip"
	"slices"
	"time"
)

// IP reassembly limits: a datagram whose fragments do not all arrive within fragTimeout of capture
// time is dropped (and counted), and at most maxPendingDatagrams are held at once, so that a capture
// full of lost fragments cannot grow memory.
const (
	fragTimeout         = 30 * time.Second
	maxPendingDatagrams = 4096
	maxDatagram         = 65535 + 8
)

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
	v6       bool
}

type fragment struct {
	offset int
	data   []byte
}

type pendingDatagram struct {
	frags  []fragment
	total  int // payload length, known once the last fragment (MF=0) arrived; -1 before
	frames []int
	first  time.Time
}

type defragmenter struct {
	pending map[fragKey]*pendingDatagram
	now     time.Time
	// frames of the datagram most recently completed, for the message envelope
	lastFrames []int
	expired    int
	overflow   int
	whole      []byte
}

func newDefragmenter() *defragmenter {
	return &defragmenter{pending: make(map[fragKey]*pendingDatagram)}
}

// add stores one fragment. When it completes its datagram, add returns the reassembled payload
// (valid until the next call) and true.
func (f *defragmenter) add(k fragKey, offset int, more bool, data []byte, frame int) ([]byte, bool) {
	p := f.pending[k]
	if p == nil {
		if len(f.pending) >= maxPendingDatagrams {
			f.evictOldest()
		}
		p = &pendingDatagram{total: -1, first: f.now}
		f.pending[k] = p
	}
	if offset+len(data) > maxDatagram {
		delete(f.pending, k)
		return nil, false
	}
	p.frags = append(p.frags, fragment{offset: offset, data: slices.Clone(data)})
	p.frames = append(p.frames, frame)
	if !more {
		p.total = offset + len(data)
	}
	if p.total < 0 {
		return nil, false
	}
	slices.SortFunc(p.frags, func(a, b fragment) int { return a.offset - b.offset })
	covered := 0
	for _, fr := range p.frags {
		if fr.offset > covered {
			return nil, false // a hole remains
		}
		if end := fr.offset + len(fr.data); end > covered {
			covered = end
		}
	}
	if covered < p.total {
		return nil, false
	}
	if cap(f.whole) < p.total {
		f.whole = make([]byte, p.total)
	}
	whole := f.whole[:p.total]
	// Later fragments overwrite earlier ones where they overlap, as most stacks do.
	for _, fr := range p.frags {
		copy(whole[fr.offset:], fr.data)
	}
	f.lastFrames = p.frames
	delete(f.pending, k)
	return whole, true
}

// expire drops datagrams that have waited longer than fragTimeout of capture time.
func (f *defragmenter) expire(now time.Time) {
	f.now = now
	if len(f.pending) == 0 {
		return
	}
	for k, p := range f.pending {
		if now.Sub(p.first) > fragTimeout {
			delete(f.pending, k)
			f.expired++
		}
	}
}

func (f *defragmenter) evictOldest() {
	var oldest fragKey
	var t time.Time
	found := false
	for k, p := range f.pending {
		if !found || p.first.Before(t) {
			oldest, t, found = k, p.first, true
		}
	}
	if found {
		delete(f.pending, oldest)
		f.overflow++
	}
}
