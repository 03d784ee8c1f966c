package hepfeed

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"

	"github.com/sigtrace/sigtrace/decode/hep"
)

// IP protocol numbers of the transports HEP names.
const (
	protoTCP  = 6
	protoUDP  = 17
	protoSCTP = 132
)

// ppidDiameter is the SCTP payload protocol id of Diameter (RFC 6733).
const ppidDiameter = 46

// maxFlows bounds the TCP and SCTP sequence state a Decapsulator keeps. Past it the state starts
// afresh: sequence numbers jump, which readers of the capture resynchronise on.
const maxFlows = 1 << 16

type flowKey struct{ src, dst netip.AddrPort }

// Decapsulator rebuilds, from a HEP packet, the IP packet it describes: IPv4 or IPv6, then UDP, TCP
// or SCTP with HEP's ports, then the payload. TCP sequence numbers and SCTP TSNs are kept per flow
// so that a capture reader sees each direction as one stream. The zero value is ready to use.
type Decapsulator struct {
	next map[flowKey]uint32 // TCP: next sequence number per direction; SCTP: next TSN
	// Truncated counts payloads cut to fit an IP length field (only possible for HEP packets
	// without addresses and a payload near 64 KiB).
	Truncated int
}

// AppendIP appends to dst the IP packet that p describes and returns the extended slice. Missing
// addresses are written unspecified; a destination in the other family than the source is too.
func (d *Decapsulator) AppendIP(dst []byte, p *hep.Packet) []byte {
	src, dstAP := p.Src, p.Dst
	v6 := src.Addr().Is6() && !src.Addr().Is4In6() || p.Family == hep.FamilyIPv6 && !src.Addr().IsValid()
	src = netip.AddrPortFrom(inFamily(src.Addr(), v6), src.Port())
	dstAP = netip.AddrPortFrom(inFamily(dstAP.Addr(), v6), dstAP.Port())
	payload := p.Payload
	proto := p.IPProto
	if proto != protoTCP && proto != protoSCTP {
		proto = protoUDP
	}
	var dnsLen [2]byte // DNS over TCP: HEP carries the message, the stream its length first
	prefix := dnsLen[:0]
	if proto == protoTCP && p.ProtoType == hep.ProtoDNS {
		prefix = dnsLen[:]
		payload = payload[:min(len(payload), 0xffff)]
		binary.BigEndian.PutUint16(prefix, uint16(len(payload)))
	}
	var th int // transport header length
	switch proto {
	case protoTCP:
		th = 20 + len(prefix)
	case protoSCTP:
		th = 12 + 16
	default:
		th = 8
	}
	pad := 0
	if proto == protoSCTP {
		pad = (4 - len(payload)&3) & 3
	}
	ih := 20
	if v6 {
		ih = 40
	}
	// IPv4's total length and IPv6's payload length are 16 bits.
	limit := 0xffff - th - pad
	if !v6 {
		limit -= ih
	}
	if len(payload) > limit {
		payload = payload[:limit]
		d.Truncated++
		if proto == protoSCTP {
			pad = (4 - len(payload)&3) & 3
		}
	}
	tlen := th + len(payload) + pad

	start := len(dst)
	if v6 {
		dst = append(dst, 0x60|p.TOS>>4, p.TOS<<4, 0, 0, byte(tlen>>8), byte(tlen), proto, 64)
		a, b := src.Addr().As16(), dstAP.Addr().As16()
		dst = append(dst, a[:]...)
		dst = append(dst, b[:]...)
	} else {
		total := ih + tlen
		dst = append(dst, 0x45, p.TOS, byte(total>>8), byte(total), 0, 0, 0x40, 0, 64, proto, 0, 0)
		a, b := src.Addr().As4(), dstAP.Addr().As4()
		dst = append(dst, a[:]...)
		dst = append(dst, b[:]...)
		binary.BigEndian.PutUint16(dst[start+10:], ^fold(sum(0, dst[start:start+20])))
	}
	tstart := len(dst)
	sp, dp := src.Port(), dstAP.Port()
	switch proto {
	case protoTCP:
		k := flowKey{src, dstAP}
		seq := d.advance(k, uint32(len(prefix)+len(payload)))
		ack := d.peek(flowKey{dstAP, src})
		dst = append(dst, byte(sp>>8), byte(sp), byte(dp>>8), byte(dp))
		dst = binary.BigEndian.AppendUint32(dst, seq)
		dst = binary.BigEndian.AppendUint32(dst, ack)
		dst = append(dst, 5<<4, 0x18 /* PSH ACK */, 0xff, 0xff, 0, 0, 0, 0)
		dst = append(dst, prefix...)
		dst = append(dst, payload...)
		binary.BigEndian.PutUint16(dst[tstart+16:], transportChecksum(dst[start:tstart], dst[tstart:], proto, v6))
	case protoSCTP:
		tsn := d.advance(flowKey{src, dstAP}, 1)
		ppid := uint32(0)
		if p.ProtoType == hep.ProtoDiameter {
			ppid = ppidDiameter
		}
		clen := 16 + len(payload)
		dst = append(dst, byte(sp>>8), byte(sp), byte(dp>>8), byte(dp), 0, 0, 0, 1, 0, 0, 0, 0)
		dst = append(dst, 0, 0x03 /* first and last fragment */, byte(clen>>8), byte(clen))
		dst = binary.BigEndian.AppendUint32(dst, tsn)
		dst = append(dst, 0, 0, byte(tsn>>8), byte(tsn)) // stream 0, its sequence number
		dst = binary.BigEndian.AppendUint32(dst, ppid)
		dst = append(dst, payload...)
		dst = append(dst, make([]byte, pad)...)
		binary.LittleEndian.PutUint32(dst[tstart+8:], crc32.Checksum(dst[tstart:], castagnoli))
	default:
		ul := 8 + len(payload)
		dst = append(dst, byte(sp>>8), byte(sp), byte(dp>>8), byte(dp), byte(ul>>8), byte(ul), 0, 0)
		dst = append(dst, payload...)
		c := transportChecksum(dst[start:tstart], dst[tstart:], proto, v6)
		if c == 0 {
			c = 0xffff // zero means "no checksum" in UDP
		}
		binary.BigEndian.PutUint16(dst[tstart+6:], c)
	}
	return dst
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// advance returns the flow's next number and moves it on by n. Numbers start at 1.
func (d *Decapsulator) advance(k flowKey, n uint32) uint32 {
	if d.next == nil || len(d.next) >= maxFlows {
		d.next = make(map[flowKey]uint32)
	}
	v, ok := d.next[k]
	if !ok {
		v = 1
	}
	d.next[k] = v + n
	return v
}

func (d *Decapsulator) peek(k flowKey) uint32 {
	if v, ok := d.next[k]; ok {
		return v
	}
	return 1
}

// inFamily returns a as an IPv6 or IPv4 address; an invalid address, or one that cannot be said in
// that family, becomes the unspecified address.
func inFamily(a netip.Addr, v6 bool) netip.Addr {
	if v6 {
		if a.Is6() {
			return a
		}
		if a.Is4() {
			return netip.AddrFrom16(a.As16()) // IPv4-mapped
		}
		return netip.IPv6Unspecified()
	}
	a = a.Unmap()
	if a.Is4() {
		return a
	}
	return netip.IPv4Unspecified()
}

// transportChecksum computes the TCP or UDP checksum of seg (with its checksum field zero) over
// the pseudo-header taken from the IP header ip.
func transportChecksum(ip, seg []byte, proto uint8, v6 bool) uint16 {
	var s uint32
	if v6 {
		s = sum(s, ip[8:40])
	} else {
		s = sum(s, ip[12:20])
	}
	s += uint32(proto) + uint32(len(seg))>>16 + uint32(len(seg))&0xffff
	return ^fold(sum(s, seg))
}

func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// datagramHeaderMax is the longest header appendDatagramHeader writes (IPv6 and UDP).
const datagramHeaderMax = 48

// appendDatagramHeader appends the IP and UDP headers of a raw IP packet carrying n bytes of
// payload from src to dst: how a received HEP packet is given to the decoder, so that HEP
// decapsulation is the decoder's own. Lengths too large for their fields (a HEP packet near 64 KiB
// received over TCP) are written as zero, which the decoder reads as "up to the end of the frame".
func appendDatagramHeader(b []byte, src, dst netip.AddrPort, n int) []byte {
	v6 := src.Addr().Is6() && !src.Addr().Is4In6()
	s, t := inFamily(src.Addr(), v6), inFamily(dst.Addr(), v6)
	ul := 8 + n
	if ul > 0xffff || !v6 && 20+ul > 0xffff {
		ul = 0
	}
	if v6 {
		b = append(b, 0x60, 0, 0, 0, byte(ul>>8), byte(ul), protoUDP, 64)
		x, y := s.As16(), t.As16()
		b = append(b, x[:]...)
		b = append(b, y[:]...)
	} else {
		total := 20 + ul
		if ul == 0 {
			total = 0
		}
		b = append(b, 0x45, 0, byte(total>>8), byte(total), 0, 0, 0x40, 0, 64, protoUDP, 0, 0)
		x, y := s.As4(), t.As4()
		b = append(b, x[:]...)
		b = append(b, y[:]...)
	}
	sp, dp := src.Port(), dst.Port()
	// No checksums: the decoder does not verify them (appendDatagram adds them).
	return append(b, byte(sp>>8), byte(sp), byte(dp>>8), byte(dp), byte(ul>>8), byte(ul), 0, 0)
}

// appendDatagram appends a whole IP and UDP packet carrying payload from src to dst, with its
// checksums: how a received packet that is not HEP is written to a capture.
func appendDatagram(b []byte, src, dst netip.AddrPort, payload []byte) []byte {
	start := len(b)
	b = appendDatagramHeader(b, src, dst, len(payload))
	ih := len(b) - start - 8
	b = append(b, payload...)
	ip, seg := b[start:start+ih], b[start+ih:]
	if ih == 20 {
		binary.BigEndian.PutUint16(ip[10:], ^fold(sum(0, ip)))
	}
	c := transportChecksum(ip, seg, protoUDP, ih == 40)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(seg[6:], c)
	return b
}
