package hep

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"time"
)

// decodeV12 decodes the fixed headers of HEP versions 1 and 2.
func decodeV12(data []byte, p *Packet) error {
	p.Version = int(data[0])
	hlen, fam := int(data[1]), data[2]
	if !(fam == FamilyIPv4 && hlen == 16 || fam == FamilyIPv6 && hlen == 40) {
		return errorf(ErrHeader, "version %d: header length %d with family %d (want 16 with 2, 40 with 10)", p.Version, hlen, fam)
	}
	if len(data) < hlen {
		return errorf(ErrTruncated, "version %d: header length %d past the %d bytes received", p.Version, hlen, len(data))
	}
	p.Family, p.IPProto = fam, data[3]
	sport, dport := be.Uint16(data[4:]), be.Uint16(data[6:])
	if fam == FamilyIPv4 {
		p.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(data[8:12])), sport)
		p.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(data[12:16])), dport)
	} else {
		p.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(data[8:24])), sport)
		p.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(data[24:40])), dport)
	}
	rest := data[hlen:]
	if p.Version == 1 {
		p.Payload = rest
		return nil
	}
	l, _ := pickTime(rest)
	if l.size == 0 {
		return errorf(ErrTruncated, "version 2: time header needs 10 bytes, %d left", len(rest))
	}
	sec, usec, id := l.read(rest)
	p.Time = time.Unix(int64(sec), int64(usec)*1000).UTC()
	p.CaptureID = uint32(id)
	p.Payload = rest[l.size:]
	return nil
}

// timeLayout is one way senders write the HEPv2 time header (seconds u32, microseconds u32,
// capture id u16): the specification's 10 packed big-endian bytes, or a C struct copied from
// memory as Kamailio does: host (little-endian) order, padded to 12 bytes.
type timeLayout struct {
	size   int // 10 or 12
	little bool
}

// layouts in order of preference when two readings are equally plausible.
var layouts = [...]timeLayout{{12, true}, {10, false}, {10, true}, {12, false}}

func (l timeLayout) read(b []byte) (sec, usec uint32, id uint16) {
	var o binary.ByteOrder = binary.BigEndian
	if l.little {
		o = binary.LittleEndian
	}
	return o.Uint32(b), o.Uint32(b[4:]), o.Uint16(b[8:])
}

// Seconds between 2000-01-01 and 2100-01-01 count as a plausible capture time.
const (
	minPlausibleSec = 946684800
	maxPlausibleSec = 4102444800
)

// pickTime chooses the time header layout of a HEPv2 packet whose time header starts rest. The
// field that decides is the microseconds: read in the wrong byte order they are almost never
// below one million. The payload decides the size: SIP right after 10 bytes means no padding
// (SIP after 12 would then be the same message missing two letters). plausible reports whether
// the chosen reading has a plausible time and a payload that starts like SIP, which Looks needs.
// A zero layout means rest is too short for any.
func pickTime(rest []byte) (best timeLayout, plausible bool) {
	bestScore := -1
	sip10 := len(rest) >= 10 && looksSIP(rest[10:])
	for _, l := range layouts {
		if len(rest) < l.size {
			continue
		}
		sec, usec, _ := l.read(rest)
		score := 0
		timeOK := usec < 1e6 && sec >= minPlausibleSec && sec < maxPlausibleSec
		if usec < 1e6 {
			score += 4
		}
		if sec >= minPlausibleSec && sec < maxPlausibleSec {
			score += 2
		}
		sip := looksSIP(rest[l.size:])
		if sip {
			score += 2
		}
		if l.size == 10 && sip10 || l.size == 12 && rest[10] == 0 && rest[11] == 0 {
			score++
		}
		if score > bestScore {
			best, bestScore, plausible = l, score, timeOK && sip
		}
	}
	return best, plausible
}

// looksSIP reports whether b starts with a SIP status line or request line. Only the first line is
// examined, and only if it ends within the first 2 KiB.
func looksSIP(b []byte) bool {
	if len(b) > 2048 {
		b = b[:2048]
	}
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		return false
	}
	line := b[:end]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if bytes.HasPrefix(line, []byte("SIP/2.0 ")) {
		// Status-Line: SIP/2.0 SP 3DIGIT SP Reason-Phrase
		s := line[8:]
		// Some agents drop the space before an empty reason phrase.
		return len(s) >= 3 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) && (len(s) == 3 || s[3] == ' ')
	}
	// Request-Line: Method SP Request-URI SP SIP/2.0; methods are upper-case in practice.
	i := 0
	for i < len(line) && line[i] >= 'A' && line[i] <= 'Z' {
		i++
	}
	if i == 0 || i >= len(line) || line[i] != ' ' {
		return false
	}
	// The URI starts with a scheme ("sip:", "sips:", "tel:", "urn:" ...).
	j := i + 1
	for j < len(line) && (line[j] >= 'a' && line[j] <= 'z' || line[j] >= 'A' && line[j] <= 'Z') {
		j++
	}
	if j == i+1 || j >= len(line) || line[j] != ':' {
		return false
	}
	return bytes.HasSuffix(line[j:], []byte(" SIP/2.0"))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
