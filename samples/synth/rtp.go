package synth

import "encoding/binary"

const (
	rtpPayload = 172 // 12-byte RTP header and 20 ms of G.711
	rtpPtime   = 20000
)

// noise is low-level G.711 comfort noise; packets take 160-byte windows of it, so no packet
// costs a random draw.
var noise [2][1024]byte

func init() {
	r := newRNG(2833)
	for i := range noise[0] {
		v := byte(r.intn(8))
		noise[0][i] = 0xf8 | v // µ-law near zero
		noise[1][i] = 0xd0 | v // A-law near zero
		if r.chance(0.5) {
			noise[0][i] &^= 0x80
			noise[1][i] ^= 0x80
		}
	}
}

// rtpStream is the media of one answered call for a while: four directions (carrier <->
// class-5 node and class-5 node <-> phone), one packet each every 20 ms, interleaved.
type rtpStream struct {
	src, dst [4]*endpoint
	sport    [4]uint16
	dport    [4]uint16
	ssrc     [4]uint32
	seq      [4]uint16
	ts       [4]uint32
	off      [4]int64 // each direction's phase within the 20 ms
	pt       uint8
	start    int64
	i, n     int // next packet, packets in all
}

func (s *rtpStream) at(i int) int64 {
	d := i & 3
	// A little jitter, smaller than the gap between directions, keeps times increasing.
	j := int64(mix(uint64(s.ssrc[d]), uint64(i)) % 700)
	return s.start + int64(i>>2)*rtpPtime + s.off[d] + j
}

// newRTP prepares k packets per direction for call c from time start.
func newRTP(c *call, start int64, k int) *rtpStream {
	s := &rtpStream{pt: c.pt, start: start, n: 4 * k}
	legB := &c.ph[legB1].ep
	carMedia := &endpoint{ip: c.car.media}
	node := &c.node.a
	// 0: carrier -> node, 1: node -> carrier, 2: node -> phone, 3: phone -> node.
	s.src = [4]*endpoint{carMedia, node, node, legB}
	s.dst = [4]*endpoint{node, carMedia, legB, node}
	s.sport = [4]uint16{c.port[legA][0], c.port[legA][1], c.port[legB1][0], c.port[legB1][1]}
	s.dport = [4]uint16{c.port[legA][1], c.port[legA][0], c.port[legB1][1], c.port[legB1][0]}
	for d := range 4 {
		h := mix(c.seed, uint64(100+d))
		s.ssrc[d] = uint32(h)
		s.seq[d] = uint16(h >> 32)
		s.ts[d] = uint32(h >> 16)
		s.off[d] = int64(d)*5000 + int64(h>>56)%1000
	}
	return s
}

// appendPacket appends RTP packet i's UDP payload.
func (s *rtpStream) appendPacket(b []byte, i int) []byte {
	d, k := i&3, i>>2
	b = append(b, 0x80, s.pt)
	if k == 0 {
		b[len(b)-1] |= 0x80 // marker: start of a talkspurt
	}
	b = binary.BigEndian.AppendUint16(b, s.seq[d]+uint16(k))
	b = binary.BigEndian.AppendUint32(b, s.ts[d]+uint32(k)*160)
	b = binary.BigEndian.AppendUint32(b, s.ssrc[d])
	law := 0
	if s.pt == 8 {
		law = 1
	}
	o := int(mix(uint64(s.ssrc[d]), uint64(k)) % uint64(len(noise[0])-160))
	return append(b, noise[law][o:o+160]...)
}
