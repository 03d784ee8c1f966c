package correlate

import (
	"bytes"
	"net/netip"

	"github.com/sigtrace/sigtrace/decode/sip"
)

// inviteHeaders are the headers of an initial INVITE that linking and forward detection read:
// the first value of each Call-ID-valued link header (vals, parallel to Calls.headers),
// Session-ID, P-Charging-Vector, and whether Diversion or History-Info is present. The values are
// slices of the message, good while it is the message being added.
type inviteHeaders struct {
	msg          int // Calls.stats.Messages when they were read: which message they belong to
	vals         [][]byte
	session, pcv []byte
	diversion    bool
}

// Diversion and History-Info are looked for with the link headers, in the same pass.
var forwardNames = []string{"Diversion", "History-Info"}

// HeaderNames is the set of headers the correlator reads from initial INVITEs: a decoder given it
// as decode.Options.NoteSIPHeaders notes their lines while it parses, so that they are not
// looked for again.
func (c *Calls) HeaderNames() *sip.HeaderNames { return &c.linkNames }

// inviteHeaders reads the INVITE's headers once, in one pass that compares only the names of the
// initials and lengths looked for, however many times the message is asked about.
func (c *Calls) inviteHeaders(s *sip.Message) *inviteHeaders {
	h := &c.invite
	if h.msg == c.stats.Messages && h.vals != nil {
		return h
	}
	h.msg = c.stats.Messages
	h.vals = c.linkVals[:len(c.headers)]
	clear(h.vals)
	h.session, h.pcv, h.diversion = nil, nil, false
	s.EachHeaderIn(&c.linkNames, func(n, v []byte) {
		switch {
		case len(n) == len("Session-ID") && bytes.EqualFold(n, []byte("Session-ID")):
			if h.session == nil {
				h.session = v
			}
			return
		case len(n) == len("P-Charging-Vector") && bytes.EqualFold(n, []byte("P-Charging-Vector")):
			if h.pcv == nil {
				h.pcv = v
			}
			return
		case len(n) == len("Diversion") && bytes.EqualFold(n, []byte("Diversion")),
			len(n) == len("History-Info") && bytes.EqualFold(n, []byte("History-Info")):
			h.diversion = true
			return
		}
		for i, name := range c.headers {
			if h.vals[i] == nil && len(n) == len(name) && bytes.EqualFold(n, []byte(name)) {
				h.vals[i] = v
			}
		}
	})
	return h
}

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
