package correlate

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"slices"
	"time"

	"github.com/sigtrace/sigtrace/decode"
)

// rtpKey is a media address as a table key.
type rtpKey struct {
	addr [16]byte
	port uint16
}

func keyOf(ap netip.AddrPort) rtpKey { return rtpKey{addr: ap.Addr().As16(), port: ap.Port()} }

// rtpIndex holds the media addresses open legs announced with telephone-event. Each leg lists its
// own (legState.rtpAddrs), counted per group of UDP ports and per payload type: the cheap first
// tests of every frame. The table from address to leg is written lazily: an announcement is
// queued (pending), and the queue is written into the table, in order, only when a frame passes
// those tests (an event for one of the addresses, or a frame like one). Most captures send no such
// frame for most calls, and writing the table was a cache miss per address when its call began and
// another when it was emitted.
type rtpIndex struct {
	sinks rtpTable // address -> leg, as of the last flush
	// ports counts listed addresses by port modulo portGroups: small enough to stay in the cache.
	ports   [portGroups]uint32
	pts     [128]uint32 // listed addresses per payload type
	pending []rtpAnnounce
	// legs and serials identify the legs pending entries name without reading the legs: a leg
	// has a fixed slot (legState.slot) and a serial per life, 0 while free.
	legs    []*legState
	serials []uint64
	free    []int32 // slots of legs let go (see Calls.freeLeg)
	serial  uint64
}

// rtpAnnounce is an announcement not yet written into the table.
type rtpAnnounce struct {
	serial uint64 // of the leg when it announced; the entry is void when the slot's differs
	slot   int32
	key    rtpKey
	pt     uint8
}

// rtpAddr is a media address a leg announced. inTable: the table's entry for it is this leg's
// (when a flush gives the address to another leg, it leaves this list).
type rtpAddr struct {
	key     rtpKey
	pt      uint8
	inTable bool
}

const (
	portGroups = 4096
	// maxPending: beyond this many live announcements the queue is written into the table.
	maxPending = 1 << 16
)

func portGroup(port uint16) int { return int(port) % portGroups }

func newRTPIndex(seed maphash.Seed) rtpIndex {
	return rtpIndex{sinks: newRTPTable(seed)}
}

// addSlot gives a new leg its slot.
func (x *rtpIndex) addSlot(l *legState) {
	if n := len(x.free); n > 0 {
		l.slot = x.free[n-1]
		x.free = x.free[:n-1]
		x.legs[l.slot] = l
		return
	}
	l.slot = int32(len(x.legs))
	x.legs = append(x.legs, l)
	x.serials = append(x.serials, 0)
}

// begin starts a leg's life: announcements queued in an earlier life are void.
func (x *rtpIndex) begin(l *legState) {
	x.serial++
	x.serials[l.slot] = x.serial
}

// end takes the leg's addresses out of the counts and the table. Its queued announcements become
// void. release also frees its slot (the leg is not recycled).
func (x *rtpIndex) end(l *legState, release bool) {
	for _, a := range l.rtpAddrs {
		x.ports[portGroup(a.key.port)]--
		x.pts[a.pt]--
		if a.inTable {
			x.sinks.delete(a.key)
		}
	}
	x.serials[l.slot] = 0
	if release {
		x.legs[l.slot] = nil
		x.free = append(x.free, l.slot)
	}
}

// list puts k with payload type pt on the leg's list, counted, and returns its entry.
func (x *rtpIndex) list(l *legState, k rtpKey, pt uint8) *rtpAddr {
	a := l.rtpAddr(k)
	if a == nil {
		l.rtpAddrs = append(l.rtpAddrs, rtpAddr{key: k, pt: pt})
		x.ports[portGroup(k.port)]++
		x.pts[pt]++
		return &l.rtpAddrs[len(l.rtpAddrs)-1]
	}
	if a.pt != pt {
		x.pts[a.pt]--
		x.pts[pt]++
		a.pt = pt
	}
	return a
}

// announce lists k on leg l with payload type pt and queues it for the table.
func (x *rtpIndex) announce(l *legState, k rtpKey, pt uint8) {
	x.list(l, k, pt)
	if len(x.pending) == cap(x.pending) && len(x.pending) >= 1024 {
		x.compact()
	}
	x.pending = append(x.pending, rtpAnnounce{serial: x.serials[l.slot], slot: l.slot, key: k, pt: pt})
}

// compact drops the void announcements; when too many live ones are left, they are written.
func (x *rtpIndex) compact() {
	live := x.pending[:0]
	for _, r := range x.pending {
		if x.serials[r.slot] == r.serial {
			live = append(live, r)
		}
	}
	clear(x.pending[len(live):])
	x.pending = live
	if len(live) > maxPending {
		x.flush()
	} else if len(live) > cap(live)/2 {
		// Room for as many again: compacting a queue that stays nearly full at every
		// announcement would cost its length each time.
		x.pending = slices.Grow(live, cap(live))
	}
}

// flush writes the queued announcements into the table, in the order they were made: the last
// leg to announce an address holds it.
func (x *rtpIndex) flush() {
	for _, r := range x.pending {
		if x.serials[r.slot] != r.serial {
			continue
		}
		l := x.legs[r.slot]
		// The leg's entry as this announcement made it (an announcement that came later changes
		// it again further on in the queue); listed again when another leg took the address
		// earlier in this queue.
		x.list(l, r.key, r.pt).inTable = true
		old, ok := x.sinks.put(r.key, rtpSink{leg: l, pt: r.pt})
		if ok && old.leg != l {
			x.drop(old.leg, r.key) // the address now belongs to this leg
		}
	}
	x.pending = x.pending[:0]
}

// drop takes k out of the leg's list.
func (x *rtpIndex) drop(l *legState, k rtpKey) {
	for i, a := range l.rtpAddrs {
		if a.key == k {
			x.ports[portGroup(k.port)]--
			x.pts[a.pt]--
			l.rtpAddrs = append(l.rtpAddrs[:i], l.rtpAddrs[i+1:]...)
			return
		}
	}
}

// sink returns the leg holding k, writing the queue first.
func (x *rtpIndex) sink(k rtpKey) (rtpSink, bool) {
	if len(x.pending) > 0 {
		x.flush()
	}
	return x.sinks.get(k)
}

// empty reports that no address is held and no count is left.
func (x *rtpIndex) empty() bool {
	return x.sinks.n == 0 && x.ports == [portGroups]uint32{} && x.pts == [128]uint32{}
}

// rtpAddr returns the leg's entry for k, or nil.
func (l *legState) rtpAddr(k rtpKey) *rtpAddr {
	for i := range l.rtpAddrs {
		if l.rtpAddrs[i].key == k {
			return &l.rtpAddrs[i]
		}
	}
	return nil
}

// rtpSink is a media address an open leg's SDP announced with telephone-event.
type rtpSink struct {
	leg *legState
	pt  uint8 // the telephone-event payload type
}

// eventDigits: RFC 4733 section 3.2, events 0-15.
const eventDigits = "0123456789*#ABCD"

// watchRTP registers the media addresses of an SDP that negotiates telephone-event, so that RTP
// DTMF sent to them is reported on the leg.
func (c *Calls) watchRTP(l *legState, body []byte) {
	// A proxy relays the same SDP on each of its hops: read each body once per leg. Only bodies
	// with telephone-event are remembered, but the hash comes first: it costs less than the search
	// it saves on the next hop.
	h := maphash.Bytes(c.seed, body)
	if h == l.sdpSeen[0] || h == l.sdpSeen[1] {
		return
	}
	if !bytes.Contains(body, []byte("telephone-event")) {
		return
	}
	l.sdpSeen[1], l.sdpSeen[0] = l.sdpSeen[0], h
	sdpEvents(body, func(conn []byte, port, pt int) {
		addr, ok := parseAddr(conn)
		if !ok || addr.IsUnspecified() {
			return
		}
		c.rtp.announce(l, rtpKey{addr: addr.Unmap().As16(), port: uint16(port)}, uint8(pt))
	})
}

// sdpEvents calls fn for each media section of an SDP that offers telephone-event, with its
// connection address (its own c=, else the session's), port and payload type. Every SDP of every
// call comes through here, so it reads only the c=, m= and a=rtpmap lines, with plain loops.
func sdpEvents(body []byte, fn func(conn []byte, port, pt int)) {
	var sessConn, conn []byte
	port, pt, inMedia := 0, -1, false
	done := func() {
		if inMedia && port > 0 && port <= 0xffff && pt >= 0 {
			if conn == nil {
				conn = sessConn
			}
			fn(conn, port, pt)
		}
	}
	for p := 0; p < len(body); {
		line := body[p:]
		if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
			line, p = line[:nl], p+nl+1
		} else {
			p = len(body)
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) < 3 || line[1] != '=' {
			continue
		}
		switch line[0] {
		case 'c': // c=IN IP4 192.0.2.1[/ttl]
			l := bytes.TrimRight(line, " ") // the address is the last field, spaces after it or not
			addr := l[bytes.LastIndexByte(l, ' ')+1:]
			for i, ch := range addr {
				if ch == '/' {
					addr = addr[:i]
					break
				}
			}
			if inMedia {
				conn = addr
			} else {
				sessConn = addr
			}
		case 'm': // m=audio 49170[/2] RTP/AVP 0 101
			done()
			inMedia, conn, pt, port = true, nil, -1, 0
			_, f := nextField(line[2:]) // the media type
			p, _ := nextField(f)
			p, _, _ = bytes.Cut(p, []byte("/")) // "49170/2": a port count
			if n, tail := leadingInt(p); len(tail) == 0 {
				port = n
			}
		case 'a': // a=rtpmap:101 telephone-event/8000
			if !inMedia || pt >= 0 || len(line) < 9 || string(line[:9]) != "a=rtpmap:" {
				continue
			}
			n, rest := leadingInt(line[9:])
			if n < 0 || n > 127 || len(rest) == 0 || rest[0] != ' ' {
				continue
			}
			// Other encodings (PCMU/8000...) are turned away by their first letter or length:
			// no Unicode letter folds to an ASCII letter of "telephone-event".
			if e := bytes.TrimLeft(rest, " "); len(e) < len("telephone-event") || e[0]|0x20 != 't' {
				continue
			}
			enc, rate, slash := bytes.Cut(bytes.Trim(rest, " "), []byte("/"))
			if !bytes.EqualFold(enc, []byte("telephone-event")) {
				continue
			}
			if slash { // a clock rate, and maybe channels: the rate must be a number
				rate, _, _ = bytes.Cut(rate, []byte("/"))
				if r, tail := leadingInt(rate); r < 0 || len(tail) > 0 {
					continue
				}
			}
			pt = n
		}
	}
	done()
}

// nextField splits the first space-separated field off b.
func nextField(b []byte) (field, rest []byte) {
	b = bytes.TrimLeft(b, " ")
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i:]
	}
	return b, nil
}

// leadingInt reads the decimal number at the start of b (at most 9 digits, as the SDP parser
// reads numbers; -1 when none).
func leadingInt(b []byte) (int, []byte) {
	n, i := 0, 0
	for i < len(b) && i < 9 && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int(b[i]-'0')
		i++
	}
	if i == 0 {
		return -1, b
	}
	return n, b[i:]
}

// AddRTP looks for an RFC 4733 telephone-event (a DTMF digit) in a UDP payload sent to dst, and
// reports it on the leg whose SDP announced dst. Each digit is reported once, when its first
// packet is seen (the sender repeats them).
func (c *Calls) AddRTP(t time.Time, dst netip.AddrPort, payload []byte, frame int, input string) {
	// Audio (PCMU, PCMA...) is turned away by its payload type before the address is looked up.
	if len(payload) < 16 || payload[0]>>6 != 2 || c.rtp.pts[payload[1]&0x7f] == 0 {
		return
	}
	sink, ok := c.rtp.sink(keyOf(dst))
	if !ok || payload[1]&0x7f != sink.pt {
		return
	}
	off := 12 + 4*int(payload[0]&0x0f)
	if payload[0]&0x10 != 0 { // header extension
		if len(payload) < off+4 {
			return
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(payload[off+2:]))
	}
	if len(payload) < off+4 || payload[off] >= 16 {
		return
	}
	l := sink.leg
	key := uint64(binary.BigEndian.Uint32(payload[8:]))<<32 | uint64(binary.BigEndian.Uint32(payload[4:]))
	for _, k := range l.rtpSeen {
		if k == key {
			return
		}
	}
	l.rtpSeen[l.rtpNext] = key
	l.rtpNext = (l.rtpNext + 1) % len(l.rtpSeen)
	t = roundMicro(t)
	ev := CallEvent{Type: EventDTMF, Time: t, Leg: l.CallID, Frame: frame, Input: input,
		Digit: eventDigits[payload[off] : payload[off]+1], Source: "RTP"}
	l.call.addEvent(ev, true)
	c.stats.RTPEvents++
}

// RTP is a decode.Options.OtherUDP hook: it looks at a UDP payload the decoder did not recognise
// for an RFC 4733 digit of an open call (AddRTP). The decoder has read every link layer and tunnel
// around it, so media inside VLANs, GRE, VXLAN or ERSPAN counts as well.
func (c *Calls) RTP(m *decode.Message, payload []byte) {
	if c.rtp.ports[portGroup(m.Dst.Port())] == 0 { // no open call announced media on a port like this
		return
	}
	c.AddRTP(m.Time, m.Dst, payload, m.Frame, m.Input)
}
