package decode

import "encoding/binary"

// diameterLooks is a cheap test for a Diameter header at the start of b.
func diameterLooks(b []byte) bool {
	if len(b) < 20 || b[0] != 1 {
		return false
	}
	n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	return n >= 20 && n%4 == 0 && b[4]&0x0f == 0
}

// diameterLength frames Diameter on a stream.
func diameterLength(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, nil
	}
	if b[0] != 1 {
		return 0, errNotDiameter
	}
	n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if n < 20 {
		return 0, errNotDiameter
	}
	if n > len(b) {
		return 0, nil
	}
	return n, nil
}

func (d *Decoder) diameter(m *Message, b []byte) {
	if !diameterLooks(b) {
		d.skip(reasonMalformedDiameter)
		return
	}
	m.Protocol = ProtoDiameter
	m.Payload = b
	d.emit(m)
}

func (d *Decoder) dns(m *Message, b []byte) {
	if len(b) < 12 || binary.BigEndian.Uint16(b[4:]) > 64 {
		d.skip(reasonMalformedDNS)
		return
	}
	m.Protocol = ProtoDNS
	m.Payload = b
	d.emit(m)
}
