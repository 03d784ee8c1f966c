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

// rtpIndex holds the media addresses open legs announced, with how many there are per UDP port
// and per payload type: the cheap first tests of every frame.
type rtpIndex struct {
	sinks rtpTable
	ports []uint16
	pts   [128]uint32
}

func newRTPIndex(seed maphash.Seed) rtpIndex {
	return rtpIndex{sinks: newRTPTable(seed), ports: make([]uint16, 1<<16)}
}

// set makes s the sink of k; old is the sink it replaces (ok false when none).
func (x *rtpIndex) set(k rtpKey, s rtpSink) (old rtpSink, ok bool) {
	if old, ok = x.sinks.put(k, s); ok {
		x.pts[old.pt]--
	} else {
		x.ports[k.port]++
	}
	x.pts[s.pt]++
	return old, ok
}

// empty reports that no address is held and no count is left.
func (x *rtpIndex) empty() bool {
	return x.sinks.n == 0 && !slices.ContainsFunc(x.ports, func(n uint16) bool { return n != 0 }) &&
		x.pts == [128]uint32{}
}

// remove forgets k.
func (x *rtpIndex) remove(k rtpKey) {
	if s, ok := x.sinks.delete(k); ok {
		x.ports[k.port]--
		x.pts[s.pt]--
	}
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
		k := rtpKey{addr: addr.Unmap().As16(), port: uint16(port)}
		s, ok := c.rtp.set(k, rtpSink{leg: l, pt: uint8(pt)})
		if ok && s.leg == l {
			return
		}
		if ok {
			s.leg.dropRTPAddr(k) // the address now belongs to this leg
		}
		l.rtpAddrs = append(l.rtpAddrs, k)
	})
}

// dropRTPAddr takes a media address out of the leg's list.
func (l *legState) dropRTPAddr(k rtpKey) {
	for i, a := range l.rtpAddrs {
		if a == k {
			l.rtpAddrs = append(l.rtpAddrs[:i], l.rtpAddrs[i+1:]...)
			return
		}
	}
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
	sink, ok := c.rtp.sinks.get(keyOf(dst))
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
	if c.rtp.ports[m.Dst.Port()] == 0 { // no open call announced media on this port
		return
	}
	c.AddRTP(m.Time, m.Dst, payload, m.Frame, m.Input)
}
