package decode

import (
	"github.com/sigtrace/sigtrace/decode/dns"
)

func (d *Decoder) dns(m *Message, b []byte) {
	dm, err := dns.Decode(b)
	if dm == nil {
		d.skipErr(reasonMalformedDNS, err)
		return
	}
	m.Protocol = ProtoDNS
	m.Payload = b
	m.DNS = dm
	m.Err = err // sections that did not parse: reported, with what did
	d.emit(m)
}

// dnsTCPLength frames DNS over TCP (a 2-byte length prefix; the length returned includes it).
func dnsTCPLength(b []byte) (int, error) { return dns.MessageLength(b) }
