package correlate

import (
	"bytes"
	"net/netip"

	"github.com/sigtrace/sigtrace/decode/sip"
)

// linkHeaders finds, in one pass over the headers, the first value of each Call-ID-valued link
// header (vals, parallel to c.headers), Session-ID and P-Charging-Vector.
func (c *Calls) linkHeaders(s *sip.Message) (vals [][]byte, session, pcv []byte) {
	vals = c.linkVals[:len(c.headers)]
	clear(vals)
	for _, h := range s.Headers() {
		n := h.Name
		if !c.linkLens.has(n) {
			continue
		}
		switch {
		case len(n) == len("Session-ID") && bytes.EqualFold(n, []byte("Session-ID")):
			if session == nil {
				session = h.Value
			}
			continue
		case len(n) == len("P-Charging-Vector") && bytes.EqualFold(n, []byte("P-Charging-Vector")):
			if pcv == nil {
				pcv = h.Value
			}
			continue
		}
		for i, name := range c.headers {
			if vals[i] == nil && len(n) == len(name) && bytes.EqualFold(n, []byte(name)) {
				vals[i] = h.Value
			}
		}
	}
	return vals, session, pcv
}

// nameLengths is a set of header name lengths: most headers of a message are told apart from the
// few looked for by their length alone. Lengths from 63 on share one member.
type nameLengths uint64

func (s *nameLengths) add(name string) { *s |= 1 << min(len(name), 63) }

func (s nameLengths) has(name []byte) bool { return s&(1<<min(len(name), 63)) != 0 }

// parseAddr reads an IP address without allocating for the common IPv4 form.
func parseAddr(b []byte) (netip.Addr, bool) {
	var a [4]byte
	n, oct, digits := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9' && digits < 3 && !(digits == 1 && oct == 0): // no leading zero
			oct = oct*10 + int(c-'0')
			digits++
		case c == '.' && digits > 0 && n < 3 && oct < 256:
			a[n] = byte(oct)
			n, oct, digits = n+1, 0, 0
		default:
			addr, err := netip.ParseAddr(string(b))
			return addr, err == nil
		}
	}
	if n != 3 || digits == 0 || oct > 255 {
		addr, err := netip.ParseAddr(string(b))
		return addr, err == nil
	}
	a[3] = byte(oct)
	return netip.AddrFrom4(a), true
}
