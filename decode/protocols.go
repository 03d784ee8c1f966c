package decode

import (
	"github.com/sigtrace/sigtrace/decode/diameter"
)

// diameterLooks is a cheap test for a Diameter header at the start of b.
func diameterLooks(b []byte) bool { return diameter.Looks(b) }

// diameterLength frames Diameter on a stream.
func diameterLength(b []byte) (int, error) { return diameter.MessageLength(b) }

func (d *Decoder) diameter(m *Message, b []byte) {
	dm, err := diameter.Decode(b)
	if dm == nil {
		d.skipErr(reasonMalformedDiameter, err)
		return
	}
	m.Protocol = ProtoDiameter
	m.Payload = b
	m.Diameter = dm
	m.Err = err // a truncated body or bad AVP framing: reported, with what was decoded
	d.emit(m)
}
