package decode

import "encoding/binary"

// dnsMessage is a placeholder until decode/dns lands: the raw message.
type dnsMessage struct{}

func (d *Decoder) dns(m *Message, b []byte) {
	if len(b) < 12 || binary.BigEndian.Uint16(b[4:]) > 64 {
		d.skip(reasonMalformedDNS)
		return
	}
	m.Protocol = ProtoDNS
	m.Payload = b
	d.emit(m)
}
