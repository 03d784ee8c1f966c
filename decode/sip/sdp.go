package sip

import (
	"bytes"
	"fmt"
)

// Direction is a media direction attribute (RFC 4566 section 6, RFC 3264 section 5.1).
type Direction uint8

const (
	DirNone  Direction = iota // no direction attribute at this level
	SendRecv                  // a=sendrecv, the default
	SendOnly                  // a=sendonly: the sender puts the peer on hold
	RecvOnly                  // a=recvonly
	Inactive                  // a=inactive
)

func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return ""
}

func parseDirection(attr []byte) Direction {
	switch {
	case equalFold(attr, "sendrecv"):
		return SendRecv
	case equalFold(attr, "sendonly"):
		return SendOnly
	case equalFold(attr, "recvonly"):
		return RecvOnly
	case equalFold(attr, "inactive"):
		return Inactive
	}
	return DirNone
}

// Conn is a c= line: "IN IP4 192.0.2.1" (a multicast "/ttl" suffix is dropped from Address).
type Conn struct{ NetType, AddrType, Address []byte }

// Origin is the o= line.
type Origin struct{ Username, SessionID, Version, NetType, AddrType, Address []byte }

// RTPMap is one a=rtpmap attribute: "101 telephone-event/8000" or "97 opus/48000/2".
type RTPMap struct {
	PayloadType int
	Encoding    []byte
	ClockRate   int    // 0 when the attribute gives none
	Params      []byte // encoding parameters after the rate (channels), empty when absent
}

// Media is one m= section.
type Media struct {
	Type     []byte // audio, video, image, application...
	Port     int    // 0: the stream is rejected or disabled
	NumPorts int    // from "port/number", 1 when absent
	Proto    []byte // RTP/AVP, RTP/SAVP, udptl...
	Formats  []byte // the format list as on the wire: "0 8 101"
	Conn     Conn   // media-level c=, zero when absent (see SDP.Connection)
	Dir      Direction
	RTPMaps  []RTPMap
	lines    []byte // the section after its m= line, for Attr
	maps     [2]int // RTPMaps as a range of SDP.maps while parsing
}

// SDP is a parsed session description (RFC 4566). Slices point into the body; ParseSDP reuses the
// Media and RTPMap storage of the SDP it is given.
type SDP struct {
	Origin      Origin
	SessionName []byte
	Conn        Conn      // session-level c=
	Dir         Direction // session-level direction attribute
	Media       []Media
	lines       []byte // the session-level section, for Attr
	maps        []RTPMap
}

// ParseSDP parses body into s. Unknown and malformed lines other than v=, o=, c= and m= are
// ignored, as a receiver would; LF-only line endings are accepted.
func ParseSDP(body []byte, s *SDP) error {
	media, maps := s.Media[:0], s.maps[:0]
	*s = SDP{Media: media, maps: maps}
	var cur *Media
	first := true
	for p := 0; p < len(body); {
		line, next := nextLine(body, p)
		if len(line) == 0 {
			p = next
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			if first {
				return fmt.Errorf("%w: does not start with v=: %q", ErrBadSDP, clip(line))
			}
			p = next
			continue
		}
		typ, val := line[0], line[2:]
		if first {
			if typ != 'v' {
				return fmt.Errorf("%w: does not start with v=: %q", ErrBadSDP, clip(line))
			}
			first = false
		}
		switch typ {
		case 'o':
			f := fields(val)
			if f.n != 6 {
				return fmt.Errorf("%w: o=%q", ErrBadSDP, clip(val))
			}
			s.Origin = Origin{f.f[0], f.f[1], f.f[2], f.f[3], f.f[4], f.f[5]}
		case 's':
			s.SessionName = val
		case 'c':
			c, err := parseConn(val)
			if err != nil {
				return err
			}
			if cur != nil {
				cur.Conn = c
			} else {
				s.Conn = c
			}
		case 'm':
			if cur != nil {
				cur.lines = body[len(body)-len(cur.lines) : p]
			} else {
				s.lines = body[:p]
			}
			md, err := parseMedia(val)
			if err != nil {
				return err
			}
			md.lines = body[next:]
			md.maps = [2]int{len(s.maps), len(s.maps)}
			s.Media = append(s.Media, md)
			cur = &s.Media[len(s.Media)-1]
		case 'a':
			name, value := val, []byte(nil)
			if c := bytes.IndexByte(val, ':'); c >= 0 {
				name, value = val[:c], val[c+1:]
			}
			if d := parseDirection(name); d != DirNone {
				if cur != nil {
					cur.Dir = d
				} else {
					s.Dir = d
				}
			} else if cur != nil && equalFold(name, "rtpmap") {
				if rm, ok := parseRTPMap(value); ok {
					s.maps = append(s.maps, rm)
					cur.maps[1] = len(s.maps)
				}
			}
		}
		p = next
	}
	if first {
		return fmt.Errorf("%w: empty", ErrBadSDP)
	}
	if cur == nil {
		s.lines = body
	}
	for i := range s.Media {
		md := &s.Media[i]
		md.RTPMaps = s.maps[md.maps[0]:md.maps[1]:md.maps[1]]
	}
	return nil
}

// fieldList holds up to 8 space-separated fields without allocating.
type fieldList struct {
	f [8][]byte
	n int
}

func fields(b []byte) fieldList {
	var fl fieldList
	for i := 0; i < len(b); {
		for i < len(b) && b[i] == ' ' {
			i++
		}
		s := i
		for i < len(b) && b[i] != ' ' {
			i++
		}
		if i > s {
			if fl.n == len(fl.f) {
				fl.n++ // too many: callers check n
				return fl
			}
			fl.f[fl.n] = b[s:i]
			fl.n++
		}
	}
	return fl
}

func parseConn(val []byte) (Conn, error) {
	f := fields(val)
	if f.n != 3 {
		return Conn{}, fmt.Errorf("%w: c=%q", ErrBadSDP, clip(val))
	}
	addr := f.f[2]
	if sl := bytes.IndexByte(addr, '/'); sl >= 0 {
		addr = addr[:sl]
	}
	return Conn{NetType: f.f[0], AddrType: f.f[1], Address: addr}, nil
}

// parseMedia reads "media port[/number] proto fmt...".
func parseMedia(val []byte) (Media, error) {
	md := Media{NumPorts: 1}
	i := 0
	next := func() []byte {
		for i < len(val) && val[i] == ' ' {
			i++
		}
		s := i
		for i < len(val) && val[i] != ' ' {
			i++
		}
		return val[s:i]
	}
	md.Type = next()
	port := next()
	md.Proto = next()
	for i < len(val) && val[i] == ' ' {
		i++
	}
	md.Formats = val[i:]
	if sl := bytes.IndexByte(port, '/'); sl >= 0 {
		n, ok := atoi(port[sl+1:])
		if !ok {
			return md, fmt.Errorf("%w: m=%q", ErrBadSDP, clip(val))
		}
		md.NumPorts, port = n, port[:sl]
	}
	n, ok := atoi(port)
	if !ok || n > 65535 || len(md.Type) == 0 || len(md.Proto) == 0 {
		return md, fmt.Errorf("%w: m=%q", ErrBadSDP, clip(val))
	}
	md.Port = n
	return md, nil
}

// parseRTPMap reads "<payload type> <encoding name>/<clock rate>[/<encoding parameters>]".
func parseRTPMap(v []byte) (RTPMap, bool) {
	var rm RTPMap
	sp := bytes.IndexByte(v, ' ')
	if sp < 0 {
		return rm, false
	}
	pt, ok := atoi(v[:sp])
	if !ok || pt > 127 {
		return rm, false
	}
	rest := trimLWS(v[sp+1:])
	sl := bytes.IndexByte(rest, '/')
	if sl < 0 {
		// No clock rate (the RFC 4475 SDP has "a=rtpmap:31 LPC"): keep the name.
		rm.PayloadType, rm.Encoding, rm.Params = pt, rest, rest[len(rest):]
		return rm, len(rest) > 0
	}
	if sl == 0 {
		return rm, false
	}
	rm.PayloadType, rm.Encoding = pt, rest[:sl]
	rate := rest[sl+1:]
	rm.Params = rate[len(rate):]
	if sl2 := bytes.IndexByte(rate, '/'); sl2 >= 0 {
		rate, rm.Params = rate[:sl2], rate[sl2+1:]
	}
	if rm.ClockRate, ok = atoi(rate); !ok {
		return rm, false
	}
	return rm, true
}

// Direction returns media i's effective direction: its own attribute, else the session's, else
// sendrecv (RFC 3264 section 5.1).
func (s *SDP) Direction(i int) Direction {
	if d := s.Media[i].Dir; d != DirNone {
		return d
	}
	if s.Dir != DirNone {
		return s.Dir
	}
	return SendRecv
}

// Connection returns media i's effective c= line: its own, else the session's.
func (s *SDP) Connection(i int) Conn {
	if c := s.Media[i].Conn; c.Address != nil {
		return c
	}
	return s.Conn
}

// OnHold reports whether media i puts the peer on hold: a=sendonly or a=inactive (RFC 3264
// section 8.4), or the RFC 2543 form, a connection address of 0.0.0.0.
func (s *SDP) OnHold(i int) bool {
	d := s.Direction(i)
	return d == SendOnly || d == Inactive || bytes.Equal(s.Connection(i).Address, []byte("0.0.0.0"))
}

// Attr returns the value of the first session-level a=name attribute (empty for a flag
// attribute); ok is false when absent.
func (s *SDP) Attr(name string) (value []byte, ok bool) { return findAttr(s.lines, name) }

// Attr returns the value of the first a=name attribute of this media section.
func (md *Media) Attr(name string) (value []byte, ok bool) { return findAttr(md.lines, name) }

func findAttr(lines []byte, name string) ([]byte, bool) {
	for p := 0; p < len(lines); {
		line, next := nextLine(lines, p)
		p = next
		if len(line) < 2 || line[0] != 'a' || line[1] != '=' {
			continue
		}
		v := line[2:]
		if len(v) >= len(name) && equalFold(v[:len(name)], name) {
			if len(v) == len(name) {
				return v[len(v):], true
			}
			if v[len(name)] == ':' {
				return v[len(name)+1:], true
			}
		}
	}
	return nil, false
}

// RTPMap returns the a=rtpmap of payload type pt.
func (md *Media) RTPMap(pt int) (RTPMap, bool) {
	for _, rm := range md.RTPMaps {
		if rm.PayloadType == pt {
			return rm, true
		}
	}
	return RTPMap{}, false
}

// Encoding names payload type pt: from its a=rtpmap, else from the static assignments of RFC 3551
// (0 PCMU, 8 PCMA, 18 G729...). ok is false for an unmapped dynamic type.
func (md *Media) Encoding(pt int) (name []byte, clockRate int, ok bool) {
	if rm, ok := md.RTPMap(pt); ok {
		return rm.Encoding, rm.ClockRate, true
	}
	if pt >= 0 && pt < len(staticPT) && staticPT[pt].name != nil {
		return staticPT[pt].name, staticPT[pt].rate, true
	}
	return nil, 0, false
}

// staticPT: RFC 3551 section 6, the payload types still seen in traces. The names are shared:
// callers must not modify what Encoding returns.
var staticPT = [35]struct {
	name []byte
	rate int
}{
	0: {[]byte("PCMU"), 8000}, 3: {[]byte("GSM"), 8000}, 4: {[]byte("G723"), 8000},
	8: {[]byte("PCMA"), 8000}, 9: {[]byte("G722"), 8000}, 13: {[]byte("CN"), 8000},
	18: {[]byte("G729"), 8000}, 26: {[]byte("JPEG"), 90000}, 31: {[]byte("H261"), 90000},
	34: {[]byte("H263"), 90000},
}

// Payloads calls yield with each payload type in the m= format list (RTP profiles only; other
// protocols such as udptl have no numeric formats).
func (md *Media) Payloads(yield func(pt int) bool) {
	f := md.Formats
	for len(f) > 0 {
		sp := bytes.IndexByte(f, ' ')
		tok := f
		if sp >= 0 {
			tok, f = f[:sp], f[sp+1:]
		} else {
			f = nil
		}
		if pt, ok := atoi(tok); ok && pt <= 127 {
			if !yield(pt) {
				return
			}
		}
	}
}

// TelephoneEvent returns the payload type of RFC 4733 telephone-event (DTMF) in this media, if any.
func (md *Media) TelephoneEvent() (pt int, ok bool) {
	for _, rm := range md.RTPMaps {
		if equalFold(rm.Encoding, "telephone-event") {
			return rm.PayloadType, true
		}
	}
	return 0, false
}
