package correlate

import (
	"bytes"
	"net/netip"

	"github.com/sigtrace/sigtrace/decode/sip"
)

// The per-message path reads From and To tags of every message. The SIP package's accessors parse
// the whole name-addr; these find the common forms directly and fall back to it otherwise.

var tagParam = []byte(";tag=")

// fromTag returns the tag of From.
func fromTag(s *sip.Message) []byte {
	if v, ok := quickTag(s.From); ok {
		return v
	}
	return s.FromTag()
}

// toTag returns the tag of To.
func toTag(s *sip.Message) []byte {
	if v, ok := quickTag(s.To); ok {
		return v
	}
	return s.ToTag()
}

// quickTag reads ";tag=value" after the URI of a From or To value; ok is false when the value
// needs the full parser (other spellings, quoting, white space around ';' or '=').
func quickTag(v []byte) (tag []byte, ok bool) {
	rest := v
	if i := bytes.LastIndexByte(v, '>'); i >= 0 {
		rest = v[i+1:]
	} else if bytes.IndexByte(v, '"') >= 0 {
		return nil, false
	}
	i := bytes.Index(rest, tagParam)
	if i < 0 {
		// No tag, unless spelt otherwise ("; tag=", ";TAG=").
		for j := 0; j+3 <= len(rest); j++ {
			if c := rest[j] | 0x20; c == 't' && rest[j+1]|0x20 == 'a' && rest[j+2]|0x20 == 'g' {
				return nil, false
			}
		}
		return nil, true
	}
	val := rest[i+len(tagParam):]
	for j, c := range val {
		switch c {
		case ';', ',', ' ', '\t', '\r', '\n', '"':
			return val[:j], true
		}
	}
	return val, true
}

// linkHeaders finds, in one pass over the headers, the first value of each Call-ID-valued link
// header (vals, parallel to c.headers), Session-ID and P-Charging-Vector.
func (c *Calls) linkHeaders(s *sip.Message) (vals [][]byte, session, pcv []byte) {
	vals = c.linkVals[:len(c.headers)]
	clear(vals)
	for _, h := range s.Headers {
		n := h.Name
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

// parseAddr reads an IP address without allocating for the common IPv4 form.
func parseAddr(b []byte) (netip.Addr, bool) {
	var a [4]byte
	n, oct, digits := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9' && digits < 3:
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
