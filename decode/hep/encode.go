package hep

import (
	"math"
	"net/netip"
	"time"
)

// AppendEncode appends p encoded as HEPv3 to dst and returns the extended slice. Whatever p's
// Version, the output is version 3, with the payload raw (chunk 0x0f) even if it arrived compressed.
//
// Chunks are written in type order with the payload last: family, IP protocol, addresses, ports,
// time (when p.Time is set), protocol type, capture id, then the optional chunks whose fields are
// set (keep-alive, auth key, correlation id, VLAN, node name, MACs, ethertype, TCP flags, TOS, MOS,
// R-factor, jitter). The family, when p.Family is zero, follows the source address. Addresses
// are written only when valid, each in its own family. On error dst is returned unchanged.
func AppendEncode(dst []byte, p *Packet) ([]byte, error) {
	start := len(dst)
	// Values with a length of their own are checked first, so that each fits a chunk length and an
	// oversized payload is never copied.
	varLen := 0
	for _, v := range [...][]byte{p.AuthKey, p.CorrelationID, p.NodeName, p.SrcMAC, p.DstMAC, p.Payload} {
		if len(v) > 0 {
			varLen += 6 + len(v)
		}
	}
	if varLen > math.MaxUint16-6 {
		return dst, errorf(ErrTooLong, "encode: payload of %d bytes and strings of %d", len(p.Payload), varLen-len(p.Payload))
	}
	var sec, usec uint32
	if !p.Time.IsZero() {
		// HEP carries microseconds: to the nearest, as sigtrace writes times, so that a capture
		// read directly and its HEP copy show the same times.
		t := p.Time.Round(time.Microsecond)
		s := t.Unix()
		if s < 0 || s > math.MaxUint32 {
			return dst, errorf(ErrRange, "encode: time %s outside 1970..2106", p.Time.UTC().Format("2006-01-02"))
		}
		sec, usec = uint32(s), uint32(t.Nanosecond()/1000)
	}
	fam := p.Family
	if fam == 0 {
		if a := p.Src.Addr(); a.Is4() {
			fam = FamilyIPv4
		} else if a.Is6() {
			fam = FamilyIPv6
		}
	}

	dst = append(dst, 'H', 'E', 'P', '3', 0, 0)
	dst = appendChunk(dst, chFamily, fam)
	dst = appendChunk(dst, chIPProto, p.IPProto)
	dst = appendAddr(dst, chSrcIPv4, chSrcIPv6, p.Src)
	dst = appendAddr(dst, chDstIPv4, chDstIPv6, p.Dst)
	dst = appendU16(dst, chSrcPort, p.Src.Port())
	dst = appendU16(dst, chDstPort, p.Dst.Port())
	if !p.Time.IsZero() {
		dst = appendU32(dst, chTimeSec, sec)
		dst = appendU32(dst, chTimeUsec, usec)
	}
	dst = appendChunk(dst, chProtoType, p.ProtoType)
	dst = appendU32(dst, chCaptureID, p.CaptureID)
	if p.KeepAlive != 0 {
		dst = appendU16(dst, chKeepAlive, p.KeepAlive)
	}
	dst = appendChunk(dst, chAuthKey, p.AuthKey...)
	dst = appendChunk(dst, chCorrelation, p.CorrelationID...)
	if p.VLAN != 0 {
		dst = appendU16(dst, chVLAN, p.VLAN)
	}
	dst = appendChunk(dst, chNodeName, p.NodeName...)
	dst = appendChunk(dst, chSrcMAC, p.SrcMAC...)
	dst = appendChunk(dst, chDstMAC, p.DstMAC...)
	if p.EtherType != 0 {
		dst = appendU16(dst, chEtherType, p.EtherType)
	}
	if p.TCPFlags != 0 {
		dst = appendChunk(dst, chTCPFlags, p.TCPFlags)
	}
	if p.TOS != 0 {
		dst = appendChunk(dst, chTOS, p.TOS)
	}
	if p.MOS != 0 {
		dst = appendU16(dst, chMOS, p.MOS)
	}
	if p.RFactor != 0 {
		dst = appendU16(dst, chRFactor, p.RFactor)
	}
	if p.Jitter != 0 {
		dst = appendU32(dst, chJitter, p.Jitter)
	}
	dst = appendChunk(dst, chPayload, p.Payload...)
	n := len(dst) - start
	if n > math.MaxUint16 {
		return dst[:start], errorf(ErrTooLong, "encode: %d bytes with a payload of %d", n, len(p.Payload))
	}
	be.PutUint16(dst[start+4:], uint16(n))
	return dst, nil
}

// appendChunk appends a vendor-0 chunk; an empty value writes nothing.
func appendChunk(dst []byte, typ uint16, v ...byte) []byte {
	if len(v) == 0 {
		return dst
	}
	n := 6 + len(v) // AppendEncode has checked that it fits
	dst = append(dst, 0, 0, byte(typ>>8), byte(typ), byte(n>>8), byte(n))
	return append(dst, v...)
}

func appendU16(dst []byte, typ uint16, v uint16) []byte {
	return append(dst, 0, 0, byte(typ>>8), byte(typ), 0, 8, byte(v>>8), byte(v))
}

func appendU32(dst []byte, typ uint16, v uint32) []byte {
	return append(dst, 0, 0, byte(typ>>8), byte(typ), 0, 10, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendAddr(dst []byte, t4, t6 uint16, ap netip.AddrPort) []byte {
	a := ap.Addr()
	switch {
	case a.Is4():
		b := a.As4()
		return appendChunk(dst, t4, b[:]...)
	case a.Is6():
		b := a.As16()
		return appendChunk(dst, t6, b[:]...)
	}
	return dst
}
