package filters

import "encoding/binary"

// dnsInfo is what the header and question fields read, straight from the message bytes without
// allocating (the decoder's summary, m.DNS, is used for answers).
type dnsInfo struct {
	id               uint16
	response         bool
	truncated        bool
	authoritative    bool
	rcode            uint16
	qdcount, ancount uint16
	hasQuestion      bool
	qtype, qclass    uint16
	qname            []byte // dotted, no final dot; reused between messages
}

// maxNameHops bounds compression pointers followed while reading a name (a loop would never end).
const maxNameHops = 16

// parse reads the header and first question of a DNS message; it reports false when the header is
// incomplete. A damaged question leaves hasQuestion false.
func (d *dnsInfo) parse(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	d.id = binary.BigEndian.Uint16(b)
	d.response = b[2]&0x80 != 0
	d.authoritative = b[2]&0x04 != 0
	d.truncated = b[2]&0x02 != 0
	d.rcode = uint16(b[3] & 0x0f)
	d.qdcount = binary.BigEndian.Uint16(b[4:])
	d.ancount = binary.BigEndian.Uint16(b[6:])
	d.hasQuestion = false
	d.qname = d.qname[:0]
	if d.qdcount == 0 {
		return true
	}
	end, ok := d.readName(b, 12)
	if !ok || end+4 > len(b) {
		return true
	}
	d.qtype = binary.BigEndian.Uint16(b[end:])
	d.qclass = binary.BigEndian.Uint16(b[end+2:])
	d.hasQuestion = true
	return true
}

// readName appends the name at off to d.qname and returns the offset after it in the message
// (after the first compression pointer when there is one).
func (d *dnsInfo) readName(b []byte, off int) (int, bool) {
	end := -1
	for hops := 0; ; {
		if off >= len(b) {
			return 0, false
		}
		l := int(b[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			return end, true
		case l&0xc0 == 0xc0:
			if off+1 >= len(b) || hops == maxNameHops {
				return 0, false
			}
			hops++
			if end < 0 {
				end = off + 2
			}
			off = int(binary.BigEndian.Uint16(b[off:]) & 0x3fff)
		case l&0xc0 != 0:
			return 0, false // obsolete label types
		default:
			dot := 0
			if len(d.qname) > 0 {
				dot = 1
			}
			if off+1+l > len(b) || len(d.qname)+dot+l > 255 {
				return 0, false
			}
			if dot == 1 {
				d.qname = append(d.qname, '.')
			}
			d.qname = append(d.qname, b[off+1:off+1+l]...)
			off += 1 + l
		}
	}
}
