package decode

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// The link, tunnel and network layers are parsed by hand: each is a few fixed offsets, and doing it
// here keeps the per-frame path free of allocations (gopacket's layer types allocate for IP options
// and extension headers, and cannot chain through GRE, ERSPAN, GTP-U or VXLAN without its allocating
// packet API). gopacket still reads the capture files and names the link types.

// maxEncapsulation bounds tunnel nesting so that crafted frames cannot recurse without end.
const maxEncapsulation = 8

// Link types sigtrace decodes besides gopacket's named constants.
const (
	linkTypeRawAlt1  layers.LinkType = 12 // DLT_RAW on some BSDs
	linkTypeRawAlt2  layers.LinkType = 14 // DLT_RAW on OpenBSD
	linkTypeIPv4     layers.LinkType = 228
	linkTypeIPv6     layers.LinkType = 229
	linkTypeLinuxSL2 layers.LinkType = 276
)

const (
	etherTypeIPv4     = 0x0800
	etherTypeIPv6     = 0x86dd
	etherTypeVLAN     = 0x8100
	etherTypeQinQ     = 0x88a8
	etherTypeQinQOld  = 0x9100
	etherTypePPPoE    = 0x8864
	etherTypeMPLS     = 0x8847
	etherTypeMPLSMult = 0x8848
	etherTypeTEB      = 0x6558 // transparent Ethernet bridging (GRE)
	etherTypeERSPAN2  = 0x88be
	etherTypeERSPAN3  = 0x22eb
)

const (
	ipProtoIPv4     = 4
	ipProtoTCP      = 6
	ipProtoUDP      = 17
	ipProtoIPv6     = 41
	ipProtoGRE      = 47
	ipProtoESP      = 50
	ipProtoSCTP     = 132
	ipv6HopByHop    = 0
	ipv6Routing     = 43
	ipv6Fragment    = 44
	ipv6AH          = 51
	ipv6NoNext      = 59
	ipv6DestOptions = 60
	ipv6Mobility    = 135
)

const (
	portGTPU  = 2152
	portVXLAN = 4789
)

// link decodes a frame of the given link type down to its IP packet.
func (d *Decoder) link(lt layers.LinkType, data []byte) {
	switch lt {
	case layers.LinkTypeEthernet:
		d.ethernet(data, 0)
	case layers.LinkTypeRaw, linkTypeRawAlt1, linkTypeRawAlt2:
		d.ipByVersion(data, 0)
	case linkTypeIPv4:
		d.ipv4(data, 0)
	case linkTypeIPv6:
		d.ipv6(data, 0)
	case layers.LinkTypeLinuxSLL:
		if len(data) < 16 {
			d.skip(reasonTruncatedLink)
			return
		}
		d.etherType(binary.BigEndian.Uint16(data[14:]), data[16:], 0)
	case linkTypeLinuxSL2:
		if len(data) < 20 {
			d.skip(reasonTruncatedLink)
			return
		}
		d.etherType(binary.BigEndian.Uint16(data[0:]), data[20:], 0)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(data) < 4 {
			d.skip(reasonTruncatedLink)
			return
		}
		// The family is in the writer's byte order for NULL and big-endian for LOOP; BSDs disagree on
		// the IPv6 value. Accept every known value in both orders.
		fam := binary.LittleEndian.Uint32(data)
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(data)
		}
		switch fam {
		case 2:
			d.ipv4(data[4:], 0)
		case 10, 24, 28, 30:
			d.ipv6(data[4:], 0)
		default:
			d.skip(reasonNotIP)
		}
	default:
		d.skip(reasonLinkType)
	}
}

func (d *Decoder) ethernet(data []byte, depth int) {
	if len(data) < 14 {
		d.skip(reasonTruncatedLink)
		return
	}
	d.etherType(binary.BigEndian.Uint16(data[12:]), data[14:], depth)
}

// etherType dispatches on an EtherType, peeling VLAN tags, PPPoE and MPLS.
func (d *Decoder) etherType(et uint16, data []byte, depth int) {
	for {
		switch et {
		case etherTypeIPv4:
			d.ipv4(data, depth)
			return
		case etherTypeIPv6:
			d.ipv6(data, depth)
			return
		case etherTypeVLAN, etherTypeQinQ, etherTypeQinQOld:
			if len(data) < 4 {
				d.skip(reasonTruncatedLink)
				return
			}
			et = binary.BigEndian.Uint16(data[2:])
			data = data[4:]
		case etherTypePPPoE:
			// PPPoE session header (6 bytes) then the PPP protocol field.
			if len(data) < 8 {
				d.skip(reasonTruncatedLink)
				return
			}
			switch binary.BigEndian.Uint16(data[6:]) {
			case 0x0021:
				d.ipv4(data[8:], depth)
			case 0x0057:
				d.ipv6(data[8:], depth)
			default:
				d.skip(reasonNotIP)
			}
			return
		case etherTypeMPLS, etherTypeMPLSMult:
			for {
				if len(data) < 4 {
					d.skip(reasonTruncatedLink)
					return
				}
				bottom := data[2]&1 == 1
				data = data[4:]
				if bottom {
					break
				}
			}
			d.ipByVersion(data, depth)
			return
		default:
			d.skip(reasonNotIP)
			return
		}
	}
}

func (d *Decoder) ipByVersion(data []byte, depth int) {
	if len(data) == 0 {
		d.skip(reasonTruncatedIP)
		return
	}
	switch data[0] >> 4 {
	case 4:
		d.ipv4(data, depth)
	case 6:
		d.ipv6(data, depth)
	default:
		d.skip(reasonNotIP)
	}
}

func (d *Decoder) ipv4(data []byte, depth int) {
	if depth > maxEncapsulation {
		d.skip(reasonTooDeep)
		return
	}
	if len(data) < 20 || data[0]>>4 != 4 {
		d.skip(reasonTruncatedIP)
		return
	}
	ihl := int(data[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(data[2:]))
	if ihl < 20 || total < ihl {
		d.skip(reasonBadIP)
		return
	}
	if total > len(data) {
		// Cut by the snap length, or TSO/GRO on the capturing host (total 0): take what is there.
		total = len(data)
	}
	if len(data) < ihl {
		d.skip(reasonTruncatedIP)
		return
	}
	src := netip.AddrFrom4([4]byte(data[12:16]))
	dst := netip.AddrFrom4([4]byte(data[16:20]))
	proto := data[9]
	payload := data[ihl:total]
	fragOff := binary.BigEndian.Uint16(data[6:])
	more := fragOff&0x2000 != 0
	offset := int(fragOff&0x1fff) * 8
	if more || offset != 0 {
		id := uint32(binary.BigEndian.Uint16(data[4:]))
		whole, ok := d.defrag.add(fragKey{src: src, dst: dst, id: id, proto: proto}, offset, more, payload, d.frame)
		if !ok {
			return // held until the datagram is complete
		}
		payload = whole
	}
	d.transport(proto, src, dst, payload, depth)
}

func (d *Decoder) ipv6(data []byte, depth int) {
	if depth > maxEncapsulation {
		d.skip(reasonTooDeep)
		return
	}
	if len(data) < 40 || data[0]>>4 != 6 {
		d.skip(reasonTruncatedIP)
		return
	}
	plen := int(binary.BigEndian.Uint16(data[4:]))
	payload := data[40:]
	if plen < len(payload) && plen != 0 {
		payload = payload[:plen] // drop Ethernet padding
	}
	src := netip.AddrFrom16([16]byte(data[8:24]))
	dst := netip.AddrFrom16([16]byte(data[24:40]))
	next := data[6]
	for {
		switch next {
		case ipv6HopByHop, ipv6Routing, ipv6DestOptions, ipv6Mobility:
			if len(payload) < 8 {
				d.skip(reasonTruncatedIP)
				return
			}
			n := (int(payload[1]) + 1) * 8
			if n > len(payload) {
				d.skip(reasonTruncatedIP)
				return
			}
			next, payload = payload[0], payload[n:]
		case ipv6AH:
			if len(payload) < 8 {
				d.skip(reasonTruncatedIP)
				return
			}
			n := (int(payload[1]) + 2) * 4
			if n > len(payload) {
				d.skip(reasonTruncatedIP)
				return
			}
			next, payload = payload[0], payload[n:]
		case ipv6Fragment:
			if len(payload) < 8 {
				d.skip(reasonTruncatedIP)
				return
			}
			fragOff := binary.BigEndian.Uint16(payload[2:])
			offset := int(fragOff & 0xfff8) // already in bytes: 13 bits << 3
			more := fragOff&1 != 0
			id := binary.BigEndian.Uint32(payload[4:])
			next = payload[0]
			if !more && offset == 0 {
				// An atomic fragment (RFC 6946): nothing to reassemble.
				payload = payload[8:]
				continue
			}
			whole, ok := d.defrag.add(fragKey{src: src, dst: dst, id: id, proto: next, v6: true}, offset, more, payload[8:], d.frame)
			if !ok {
				return // held until the datagram is complete
			}
			payload = whole
		case ipv6NoNext:
			d.skip(reasonNotTransport)
			return
		default:
			d.transport(next, src, dst, payload, depth)
			return
		}
	}
}

// transport handles the layer above IP: tunnels, UDP, TCP, SCTP.
func (d *Decoder) transport(proto uint8, src, dst netip.Addr, data []byte, depth int) {
	switch proto {
	case ipProtoUDP:
		if len(data) < 8 {
			d.skip(reasonTruncatedTransport)
			return
		}
		sp := binary.BigEndian.Uint16(data)
		dp := binary.BigEndian.Uint16(data[2:])
		ulen := int(binary.BigEndian.Uint16(data[4:]))
		payload := data[8:]
		if ulen >= 8 && ulen-8 < len(payload) {
			payload = payload[:ulen-8]
		}
		if (dp == portGTPU || sp == portGTPU) && d.gtpu(payload, depth) {
			return
		}
		if (dp == portVXLAN || sp == portVXLAN) && len(payload) >= 8 && payload[0]&0x08 != 0 {
			d.ethernet(payload[8:], depth+1)
			return
		}
		d.datagram(netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp), UDP, payload)
	case ipProtoTCP:
		d.tcp(src, dst, data)
	case ipProtoSCTP:
		d.sctp(src, dst, data)
	case ipProtoIPv4:
		d.ipv4(data, depth+1)
	case ipProtoIPv6:
		d.ipv6(data, depth+1)
	case ipProtoGRE:
		d.gre(data, depth)
	case ipProtoESP:
		d.skip(reasonESP)
	default:
		d.skip(reasonNotTransport)
	}
}

// gre decapsulates GRE (RFC 2784/2890), including ERSPAN types I, II and III.
func (d *Decoder) gre(data []byte, depth int) {
	if len(data) < 4 {
		d.skip(reasonTruncatedTransport)
		return
	}
	flags := binary.BigEndian.Uint16(data)
	proto := binary.BigEndian.Uint16(data[2:])
	n := 4
	if flags&0x8000 != 0 { // checksum present
		n += 4
	}
	if flags&0x2000 != 0 { // key present
		n += 4
	}
	seq := flags&0x1000 != 0
	if seq {
		n += 4
	}
	if len(data) < n {
		d.skip(reasonTruncatedTransport)
		return
	}
	data = data[n:]
	switch proto {
	case etherTypeTEB:
		d.ethernet(data, depth+1)
	case etherTypeERSPAN2:
		if !seq { // ERSPAN type I has no ERSPAN header and no sequence number
			d.ethernet(data, depth+1)
			return
		}
		if len(data) < 8 {
			d.skip(reasonTruncatedTransport)
			return
		}
		d.ethernet(data[8:], depth+1)
	case etherTypeERSPAN3:
		if len(data) < 12 {
			d.skip(reasonTruncatedTransport)
			return
		}
		hdr := 12
		if data[11]&0x01 != 0 { // O flag: an 8-byte platform-specific sub-header follows
			hdr += 8
		}
		if len(data) < hdr {
			d.skip(reasonTruncatedTransport)
			return
		}
		d.ethernet(data[hdr:], depth+1)
	default:
		d.etherType(proto, data, depth+1)
	}
}

// gtpu decapsulates a GTPv1-U G-PDU (VoLTE SIP rides it between eNodeB and SGW/PGW). It reports
// false when the payload is not a G-PDU, so that the datagram is examined as itself.
func (d *Decoder) gtpu(data []byte, depth int) bool {
	if len(data) < 8 || data[0]>>5 != 1 || data[0]&0x10 == 0 || data[1] != 0xff {
		return false
	}
	n := 8
	if data[0]&0x07 != 0 { // E, S or PN: sequence number, N-PDU number and next extension type follow
		if len(data) < 12 {
			d.skip(reasonTruncatedTransport)
			return true
		}
		n = 12
		next := data[11]
		for next != 0 {
			if len(data) < n+1 {
				d.skip(reasonTruncatedTransport)
				return true
			}
			l := int(data[n]) * 4
			if l == 0 || len(data) < n+l {
				d.skip(reasonTruncatedTransport)
				return true
			}
			next = data[n+l-1]
			n += l
		}
	}
	d.ipByVersion(data[n:], depth+1)
	return true
}
