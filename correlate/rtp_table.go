package correlate

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
)

// rtpTable maps media addresses to their sinks. Every SDP with telephone-event puts addresses in
// and every emitted call takes them out again, so it is an open-addressing table (linear
// probing, deletion by backward shift: no tombstones) whose hash and key comparison are inlined:
// a Go map with this 18-byte key hashes and compares through function calls, and it takes two
// lookups to read and delete an entry.
type rtpTable struct {
	slots []rtpSlot // a power of two long; at most half full
	n     int
	k0    uint64 // the hash's secrets (from a random seed: crafted captures cannot pick collisions)
	k1    uint64
}

// rtpSlot is 32 bytes (the sink spelled out to fit): two to a cache line, none across two.
type rtpSlot struct {
	key  rtpKey
	pt   uint8
	used bool
	leg  *legState
}

func newRTPTable(seed maphash.Seed) rtpTable {
	return rtpTable{
		slots: make([]rtpSlot, 64),
		k0:    maphash.Comparable(seed, "rtp0") | 1,
		k1:    maphash.Comparable(seed, "rtp1") | 1,
	}
}

func (t *rtpTable) home(k rtpKey) int {
	a := binary.LittleEndian.Uint64(k.addr[:8])
	b := binary.LittleEndian.Uint64(k.addr[8:])
	hi, lo := bits.Mul64(a^t.k0, b^uint64(k.port)<<48^t.k1)
	return int((hi ^ lo) & uint64(len(t.slots)-1))
}

// find returns the slot holding k, or the free slot where it would go.
func (t *rtpTable) find(k rtpKey) (i int, found bool) {
	mask := len(t.slots) - 1
	for i = t.home(k); t.slots[i].used; i = (i + 1) & mask {
		if t.slots[i].key == k {
			return i, true
		}
	}
	return i, false
}

func (t *rtpTable) get(k rtpKey) (rtpSink, bool) {
	i, ok := t.find(k)
	return t.slots[i].sink(), ok
}

func (s *rtpSlot) sink() rtpSink { return rtpSink{leg: s.leg, pt: s.pt} }

// put stores s under k and returns the sink it replaced.
func (t *rtpTable) put(k rtpKey, s rtpSink) (old rtpSink, replaced bool) {
	i, ok := t.find(k)
	if ok {
		old = t.slots[i].sink()
		t.slots[i].leg, t.slots[i].pt = s.leg, s.pt
		return old, true
	}
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
		i, _ = t.find(k)
	}
	t.slots[i] = rtpSlot{key: k, pt: s.pt, used: true, leg: s.leg}
	t.n++
	return rtpSink{}, false
}

// delete removes k and returns its sink. The entries after it in its run move back into the
// hole when their home allows, so that every key stays reachable from its home without gaps.
func (t *rtpTable) delete(k rtpKey) (rtpSink, bool) {
	i, ok := t.find(k)
	if !ok {
		return rtpSink{}, false
	}
	s := t.slots[i].sink()
	mask := len(t.slots) - 1
	for j := (i + 1) & mask; t.slots[j].used; j = (j + 1) & mask {
		// The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
		if h := t.home(t.slots[j].key); (j-h)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = rtpSlot{}
	t.n--
	return s, true
}

func (t *rtpTable) grow() {
	old := t.slots
	t.slots = make([]rtpSlot, 2*len(old))
	for _, s := range old {
		if s.used {
			i, _ := t.find(s.key)
			t.slots[i] = s
		}
	}
}
