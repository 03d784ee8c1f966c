package stream

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"
)

// SCTP payload protocol identifiers that matter here.
const (
	PPIDDiameter     = 46
	PPIDDiameterDTLS = 47
)

// ErrSCTPTruncated is returned for an SCTP packet or chunk cut short.
var ErrSCTPTruncated = errors.New("sctp: truncated packet")

// SCTPMessage is one user message carried by DATA chunks.
type SCTPMessage struct {
	Key      Key
	StreamID uint16
	PPID     uint32
	Data     []byte // valid during the callback only
	Frames   []int  // frames that carried fragments, when more than one
}

// SCTP extracts user messages from SCTP packets: every DATA chunk of a packet (bundling), with
// fragmented messages reassembled and retransmitted TSNs dropped.
type SCTP struct {
	assocs  map[Key]*sctpDirection
	deliver func(m *SCTPMessage)
	msg     SCTPMessage
	lastGC  time.Time
	// Retransmitted counts DATA chunks whose TSN had been seen.
	Retransmitted int
}

type sctpDirection struct {
	recent [64]uint32 // ring of recently seen TSNs, for duplicate detection
	n      int
	frags  map[fragID]*sctpFragments
	last   time.Time
}

type fragID struct {
	stream uint16
	ssn    uint16
}

type sctpFragments struct {
	data   []byte
	frames []int
	next   uint32 // TSN expected next
}

// NewSCTP returns an SCTP message extractor calling deliver for every complete user message.
func NewSCTP(deliver func(m *SCTPMessage)) *SCTP {
	return &SCTP{assocs: make(map[Key]*sctpDirection), deliver: deliver}
}

// Packet decodes one SCTP packet (common header and chunks) seen in frame at time t.
func (s *SCTP) Packet(src, dst netip.Addr, data []byte, frame int, t time.Time) error {
	if len(data) < 12 {
		return ErrSCTPTruncated
	}
	k := Key{
		Src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(data)),
		Dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(data[2:])),
	}
	s.gc(t)
	data = data[12:]
	for len(data) >= 4 {
		typ := data[0]
		flags := data[1]
		l := int(binary.BigEndian.Uint16(data[2:]))
		if l < 4 || l > len(data) {
			return ErrSCTPTruncated
		}
		if typ == 0 { // DATA
			if l < 16 {
				return ErrSCTPTruncated
			}
			s.data(k, flags, data[4:l], frame, t)
		}
		padded := (l + 3) &^ 3
		if padded >= len(data) {
			break
		}
		data = data[padded:]
	}
	return nil
}

func (s *SCTP) data(k Key, flags byte, c []byte, frame int, t time.Time) {
	tsn := binary.BigEndian.Uint32(c)
	streamID := binary.BigEndian.Uint16(c[4:])
	ssn := binary.BigEndian.Uint16(c[6:])
	ppid := binary.BigEndian.Uint32(c[8:])
	payload := c[12:]
	dir := s.assocs[k]
	if dir == nil {
		dir = &sctpDirection{}
		s.assocs[k] = dir
	}
	dir.last = t
	for i := 0; i < dir.n && i < len(dir.recent); i++ {
		if dir.recent[i] == tsn {
			s.Retransmitted++
			return
		}
	}
	dir.recent[dir.n%len(dir.recent)] = tsn
	dir.n++
	if dir.n == 2*len(dir.recent) {
		dir.n = len(dir.recent) // keep the ring full without overflowing the counter
	}
	begin, end := flags&0x02 != 0, flags&0x01 != 0
	s.msg = SCTPMessage{Key: k, StreamID: streamID, PPID: ppid}
	if begin && end {
		s.msg.Data = payload
		s.deliver(&s.msg)
		return
	}
	if dir.frags == nil {
		dir.frags = make(map[fragID]*sctpFragments)
	}
	id := fragID{stream: streamID, ssn: ssn}
	if flags&0x04 != 0 { // U bit: unordered, the SSN is meaningless; TSN order alone joins them
		id.ssn = 0xffff
	}
	fr := dir.frags[id]
	if begin {
		fr = &sctpFragments{}
		dir.frags[id] = fr
	} else if fr == nil || fr.next != tsn {
		return // a middle or end fragment whose beginning was not seen
	}
	fr.data = append(fr.data, payload...)
	if len(fr.frames) == 0 || fr.frames[len(fr.frames)-1] != frame {
		fr.frames = append(fr.frames, frame)
	}
	fr.next = tsn + 1
	if len(fr.data) > MaxBuffered {
		delete(dir.frags, id)
		return
	}
	if end {
		s.msg.Data = fr.data
		s.msg.Frames = fr.frames
		s.deliver(&s.msg)
		delete(dir.frags, id)
	}
}

func (s *SCTP) gc(now time.Time) {
	if now.Sub(s.lastGC) < time.Second {
		return
	}
	s.lastGC = now
	for k, d := range s.assocs {
		if now.Sub(d.last) > IdleTimeout {
			delete(s.assocs, k)
		}
	}
}
