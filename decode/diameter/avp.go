package diameter

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fiorix/go-diameter/v4/diam/datatype"
)

// maxDepth bounds grouped-AVP nesting; real dictionaries nest four or five levels, crafted input could
// nest a million.
const maxDepth = 16

type decoder struct {
	d   *dictionary
	app uint32
	bad string // the first framing problem of the top level
}

// avps decodes the AVPs framed in b. At depth 0 (the message body) a framing problem is kept in
// dec.bad and the undecodable rest becomes one last AVP carrying the error. Grouped payloads are
// checked before they are decoded, so deeper levels never meet one.
func (dec *decoder) avps(b []byte, depth int) []AVP {
	n, _ := countAVPs(b)
	out := make([]AVP, 0, n)
	for off := 0; off < len(b); {
		rest := b[off:]
		if len(rest) < 8 {
			dec.bad = fmt.Sprintf("%d stray bytes at body offset %d", len(rest), off)
			out = append(out, AVP{Type: "Unknown", Value: hexValue(rest), Error: dec.bad})
			break
		}
		a := AVP{Code: binary.BigEndian.Uint32(rest), Flags: AVPFlags(rest[4])}
		length := int(rest[5])<<16 | int(rest[6])<<8 | int(rest[7])
		hdr := 8
		if a.Flags.Vendor() {
			hdr = 12
		}
		if length < hdr || length > len(rest) {
			dec.bad = fmt.Sprintf("AVP %d at body offset %d: length %d, %d bytes left", a.Code, off, length, len(rest))
			a.Type, a.Value, a.Error = "Unknown", hexValue(rest), dec.bad
			out = append(out, a)
			break
		}
		if hdr == 12 {
			a.VendorID = binary.BigEndian.Uint32(rest[8:])
		}
		dec.value(&a, rest[hdr:length], depth)
		out = append(out, a)
		off += (length + 3) &^ 3 // a last AVP may lack its padding
	}
	return out
}

// countAVPs counts the AVPs framed in b and reports whether the framing covers b exactly.
func countAVPs(b []byte) (n int, ok bool) {
	for off := 0; off < len(b); n++ {
		if len(b)-off < 8 {
			return n + 1, false
		}
		length := int(b[off+5])<<16 | int(b[off+6])<<8 | int(b[off+7])
		hdr := 8
		if b[off+4]&avpFlagVendor != 0 {
			hdr = 12
		}
		if length < hdr || length > len(b)-off {
			return n + 1, false
		}
		off += (length + 3) &^ 3
	}
	return n, true
}

// value fills in the name, type and display value of a from the dictionary and its payload p.
func (dec *decoder) value(a *AVP, p []byte, depth int) {
	e := dec.d.lookupAVP(dec.app, a.Code, a.VendorID)
	if e == nil {
		a.Type, a.Value = "Unknown", hexValue(p)
		return
	}
	a.Name, a.Type = e.name, e.typeName
	var err error
	switch e.typ {
	case datatype.GroupedType:
		switch _, ok := countAVPs(p); {
		case !ok:
			a.Value, a.Error = hexValue(p), "payload is not a list of AVPs"
		case depth+1 >= maxDepth:
			a.Value, a.Error = hexValue(p), "grouped AVPs nested too deep"
		default:
			a.AVPs = dec.avps(p, depth+1)
		}
		return
	case datatype.OctetStringType:
		a.Value = octets(a.Code, a.VendorID, p)
	case datatype.UTF8StringType, datatype.DiameterIdentityType, datatype.DiameterURIType,
		datatype.IPFilterRuleType, datatype.QoSFilterRuleType:
		a.Value = string(p)
	case datatype.Integer32Type:
		var v uint32
		if v, err = fixed32(p); err == nil {
			a.Value = strconv.FormatInt(int64(int32(v)), 10)
		}
	case datatype.Integer64Type:
		var v uint64
		if v, err = fixed64(p); err == nil {
			a.Value = strconv.FormatInt(int64(v), 10)
		}
	case datatype.Unsigned32Type:
		var v uint32
		if v, err = fixed32(p); err == nil {
			a.Value = strconv.FormatUint(uint64(v), 10)
		}
	case datatype.Unsigned64Type:
		var v uint64
		if v, err = fixed64(p); err == nil {
			a.Value = strconv.FormatUint(v, 10)
		}
	case datatype.Float32Type:
		var v uint32
		if v, err = fixed32(p); err == nil {
			a.Value = strconv.FormatFloat(float64(math.Float32frombits(v)), 'g', -1, 32)
		}
	case datatype.Float64Type:
		var v uint64
		if v, err = fixed64(p); err == nil {
			a.Value = strconv.FormatFloat(math.Float64frombits(v), 'g', -1, 64)
		}
	case datatype.EnumeratedType:
		var v uint32
		if v, err = fixed32(p); err == nil {
			a.Value = strconv.FormatInt(int64(int32(v)), 10)
			for _, item := range e.enum {
				if item.code == int32(v) {
					a.Enum = item.name
					break
				}
			}
		}
	case datatype.AddressType:
		a.Value, err = address(p)
	case datatype.IPv4Type, datatype.IPv6Type:
		if ip, ok := netip.AddrFromSlice(p); ok {
			a.Value = ip.String()
		} else {
			err = fmt.Errorf("%d bytes are not an IP address", len(p))
		}
	case datatype.TimeType:
		var v uint32
		if v, err = fixed32(p); err == nil {
			a.Value = ntpTime(v).Format(time.RFC3339)
		}
	default:
		a.Value = hexValue(p)
	}
	if err != nil {
		a.Value, a.Error = hexValue(p), err.Error()
	}
}

func fixed32(p []byte) (uint32, error) {
	if len(p) != 4 {
		return 0, fmt.Errorf("%d bytes, want 4", len(p))
	}
	return binary.BigEndian.Uint32(p), nil
}

func fixed64(p []byte) (uint64, error) {
	if len(p) != 8 {
		return 0, fmt.Errorf("%d bytes, want 8", len(p))
	}
	return binary.BigEndian.Uint64(p), nil
}

// address decodes the Address type: a two-byte IANA address family, then the address.
func address(p []byte) (string, error) {
	if len(p) < 2 {
		return "", fmt.Errorf("%d bytes are too short for an address", len(p))
	}
	family, a := binary.BigEndian.Uint16(p), p[2:]
	switch {
	case family == 1 && len(a) == 4, family == 2 && len(a) == 16:
		ip, _ := netip.AddrFromSlice(a)
		return ip.String(), nil
	case family == 8 && printable(a): // E.164, as ASCII digits
		return string(a), nil
	}
	return "family " + strconv.Itoa(int(family)) + " " + hexValue(a), nil
}

// ntpEpochOffset is the number of seconds from 1900 (the Time type's epoch) to 1970.
const ntpEpochOffset = 2208988800

// ntpTime converts a Diameter Time. RFC 6733 section 4.3.1: values with the top bit clear are in the
// era starting in 2036.
func ntpTime(v uint32) time.Time {
	secs := int64(v)
	if v&0x80000000 == 0 {
		secs += 1 << 32
	}
	return time.Unix(secs-ntpEpochOffset, 0).UTC()
}

// tbcdAVPs are 3GPP OctetString AVPs holding a number as TBCD (TS 29.002 / 29.329): MSISDN,
// SGSN-Number, MME-Number-for-MT-SMS, IP-SM-GW-Number, SC-Address, SMS-GMSC-Address.
var tbcdAVPs = map[uint32]bool{701: true, 1489: true, 1645: true, 3100: true, 3300: true, 3332: true}

// codeVisitedPLMNID is 3GPP's Visited-PLMN-Id (TS 29.272), three bytes of BCD MCC and MNC.
const codeVisitedPLMNID = 1407

func octets(code, vendor uint32, p []byte) string {
	if vendor == vendor3GPP {
		if tbcdAVPs[code] {
			if s, ok := tbcd(p); ok {
				return s
			}
		}
		if code == codeVisitedPLMNID {
			if s, ok := plmn(p); ok {
				return s
			}
		}
	}
	if printable(p) {
		return string(p)
	}
	return hexValue(p)
}

// tbcd decodes telephony BCD: two digits a byte, low nibble first, 0xf filling the last one.
func tbcd(p []byte) (string, bool) {
	if len(p) == 0 {
		return "", false
	}
	const digits = "0123456789*#abc"
	out := make([]byte, 0, 2*len(p))
	for i, b := range p {
		for j, d := range [2]byte{b & 0x0f, b >> 4} {
			if d == 0x0f {
				if i != len(p)-1 || j != 1 {
					return "", false
				}
				continue
			}
			out = append(out, digits[d])
		}
	}
	return string(out), true
}

// plmn decodes a PLMN identity (TS 24.008 10.5.1.13) as "MCC-MNC".
func plmn(p []byte) (string, bool) {
	if len(p) != 3 {
		return "", false
	}
	d := [6]byte{p[0] & 0xf, p[0] >> 4, p[1] & 0xf, p[2] & 0xf, p[2] >> 4, p[1] >> 4}
	out := make([]byte, 0, 7)
	for i, v := range d {
		switch {
		case i == 5 && v == 0xf: // two-digit MNC
		case v > 9:
			return "", false
		default:
			if i == 3 {
				out = append(out, '-')
			}
			out = append(out, '0'+v)
		}
	}
	return string(out), true
}

// printable reports whether p is UTF-8 text a person can read: printable runes and line breaks.
func printable(p []byte) bool {
	if len(p) == 0 || !utf8.Valid(p) {
		return len(p) == 0
	}
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		if r >= 0x20 && r < 0x7f {
			i++
			continue
		}
		if !unicode.IsPrint(r) && r != '\r' && r != '\n' && r != '\t' {
			return false
		}
		i += n
	}
	return true
}

func hexValue(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	b := make([]byte, 2+hex.EncodedLen(len(p)))
	b[0], b[1] = '0', 'x'
	hex.Encode(b[2:], p)
	return string(b)
}
