// Package diameter decodes Diameter messages (RFC 6733): the header, the well-known identifiers a trace
// needs (Session-Id, origin and destination, result codes, subscriber identities) and the full AVP tree,
// named from go-diameter's dictionaries plus shipped Cx, Sh, SGd, SWm and S6b ones. Unknown applications
// and AVPs decode generically. It also frames Diameter messages in TCP and SCTP streams.
package diameter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// HeaderLength is the size of the fixed Diameter header.
const HeaderLength = 20

const (
	flagRequest    = 0x80
	flagProxiable  = 0x40
	flagError      = 0x20
	flagRetransmit = 0x10
	flagsReserved  = 0x0f

	avpFlagVendor    = 0x80
	avpFlagMandatory = 0x40
	avpFlagProtected = 0x20
	avpFlagsReserved = 0x1f
)

var (
	// ErrNotDiameter reports bytes that cannot be a Diameter header (version, length or flags).
	ErrNotDiameter = errors.New("diameter: not a Diameter header")
	// ErrTruncated reports a message shorter than its header says; Decode returns what it decoded.
	ErrTruncated = errors.New("diameter: message truncated")
	// ErrBadAVP reports AVP framing that does not add up; Decode returns what it decoded.
	ErrBadAVP = errors.New("diameter: bad AVP framing")
)

// Flags are the command flags of the header.
type Flags struct {
	Request    bool `json:"request"`
	Proxiable  bool `json:"proxiable"`
	Error      bool `json:"error"`
	Retransmit bool `json:"retransmit"`
}

// Message is one decoded Diameter message. It holds no reference to the bytes it was decoded from.
type Message struct {
	// Selected is the caller's to set: the CLI marks there that a display filter matched the
	// message, until its transaction is complete. Decoding leaves it false.
	Selected    bool   `json:"-"`
	Version     uint8  `json:"version"`
	Length      uint32 `json:"length"`
	Flags       Flags  `json:"flags"`
	CommandCode uint32 `json:"command_code"`
	// Command is the dictionary name ("Update-Location"); CommandShort the request or answer short
	// form ("ULR", "ULA"). Both are empty for a command no dictionary knows.
	Command       string `json:"command,omitempty"`
	CommandShort  string `json:"command_short,omitempty"`
	ApplicationID uint32 `json:"application_id"`
	Application   string `json:"application,omitempty"`
	HopByHop      uint32 `json:"hop_by_hop"`
	EndToEnd      uint32 `json:"end_to_end"`

	SessionID        string `json:"session_id,omitempty"`
	OriginHost       string `json:"origin_host,omitempty"`
	OriginRealm      string `json:"origin_realm,omitempty"`
	DestinationHost  string `json:"destination_host,omitempty"`
	DestinationRealm string `json:"destination_realm,omitempty"`
	// ResultCode is the Result-Code AVP, 0 when absent (0 is not a valid result code).
	ResultCode uint32 `json:"result_code,omitempty"`
	// ExperimentalResultCode and its vendor come from the Experimental-Result AVP, which 3GPP
	// applications use instead of Result-Code for their own outcomes (e.g. 5001 user unknown).
	ExperimentalResultCode     uint32 `json:"experimental_result_code,omitempty"`
	ExperimentalResultVendorID uint32 `json:"experimental_result_vendor_id,omitempty"`
	CCRequestType              uint32 `json:"cc_request_type,omitempty"`
	// CCRequestNumber is nil when absent: 0 is the number of an initial request.
	CCRequestNumber *uint32 `json:"cc_request_number,omitempty"`
	UserName        string  `json:"user_name,omitempty"`
	// PublicIdentity is the IMS Public-Identity, top level (Cx) or inside User-Identity (Sh).
	PublicIdentity string `json:"public_identity,omitempty"`

	AVPs []AVP `json:"avps"`
}

// AVP is one decoded attribute-value pair.
type AVP struct {
	Code     uint32   `json:"code"`
	VendorID uint32   `json:"vendor_id,omitempty"`
	Flags    AVPFlags `json:"flags"`
	// Name is "" when no dictionary knows the AVP; Type is then "Unknown" and Value its bytes in hex.
	Name string `json:"name,omitempty"`
	Type string `json:"type"`
	// Value is the display form: numbers in decimal, addresses and times as text, printable octet
	// strings as text and others as 0x-prefixed hex, TBCD numbers (MSISDN, SC-Address) as digits.
	// Grouped AVPs have no value but children.
	Value string `json:"value,omitempty"`
	// Enum is the dictionary name of an Enumerated value.
	Enum string `json:"enum,omitempty"`
	AVPs []AVP  `json:"avps,omitempty"`
	// Error says why the value could not be decoded as its type (Value then holds the raw hex).
	Error string `json:"error,omitempty"`
}

// AVPFlags are the flags of an AVP header. They marshal as text: "V", "M" and "P" for the bits set.
type AVPFlags uint8

// Vendor reports the V bit: a Vendor-Id follows the header.
func (f AVPFlags) Vendor() bool { return f&avpFlagVendor != 0 }

// Mandatory reports the M bit.
func (f AVPFlags) Mandatory() bool { return f&avpFlagMandatory != 0 }

// Protected reports the P bit.
func (f AVPFlags) Protected() bool { return f&avpFlagProtected != 0 }

func (f AVPFlags) String() string {
	b := make([]byte, 0, 8)
	if f.Vendor() {
		b = append(b, 'V')
	}
	if f.Mandatory() {
		b = append(b, 'M')
	}
	if f.Protected() {
		b = append(b, 'P')
	}
	if r := uint8(f) & avpFlagsReserved; r != 0 {
		b = append(b, "+0x"...)
		b = strconv.AppendUint(b, uint64(r), 16)
	}
	return string(b)
}

// MarshalText implements encoding.TextMarshaler.
func (f AVPFlags) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler for the letters MarshalText writes.
func (f *AVPFlags) UnmarshalText(b []byte) error {
	var v AVPFlags
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case 'V':
			v |= avpFlagVendor
		case 'M':
			v |= avpFlagMandatory
		case 'P':
			v |= avpFlagProtected
		case '+':
			r, err := strconv.ParseUint(string(b[i+1:]), 0, 8)
			if err != nil {
				return fmt.Errorf("diameter: bad AVP flags %q", b)
			}
			v |= AVPFlags(r) & avpFlagsReserved
			i = len(b)
		default:
			return fmt.Errorf("diameter: bad AVP flags %q", b)
		}
	}
	*f = v
	return nil
}

// Name returns the short form of the command ("ULR"), else its name with "-Request" or "-Answer", else
// the code with R or A ("8388999R").
func (m *Message) Name() string {
	switch {
	case m.CommandShort != "":
		return m.CommandShort
	case m.Command != "" && m.Flags.Request:
		return m.Command + "-Request"
	case m.Command != "":
		return m.Command + "-Answer"
	case m.Flags.Request:
		return strconv.FormatUint(uint64(m.CommandCode), 10) + "R"
	}
	return strconv.FormatUint(uint64(m.CommandCode), 10) + "A"
}

// Result returns the outcome of an answer: Result-Code when present, else the Experimental-Result-Code;
// 0 for requests and answers carrying neither.
func (m *Message) Result() uint32 {
	if m.ResultCode != 0 {
		return m.ResultCode
	}
	return m.ExperimentalResultCode
}

// Find returns the first AVP with this code and vendor, searching depth-first through grouped AVPs,
// or nil.
func (m *Message) Find(code, vendor uint32) *AVP { return find(m.AVPs, code, vendor) }

// Find returns the first AVP with this code and vendor among the children of a, depth-first, or nil.
func (a *AVP) Find(code, vendor uint32) *AVP { return find(a.AVPs, code, vendor) }

func find(avps []AVP, code, vendor uint32) *AVP {
	for i := range avps {
		if avps[i].Code == code && avps[i].VendorID == vendor {
			return &avps[i]
		}
		if c := find(avps[i].AVPs, code, vendor); c != nil {
			return c
		}
	}
	return nil
}

// AVP codes the message-level fields come from.
const (
	codeUserName             = 1
	codeVendorID             = 266
	codeResultCode           = 268
	codeSessionID            = 263
	codeOriginHost           = 264
	codeDestinationRealm     = 283
	codeDestinationHost      = 293
	codeOriginRealm          = 296
	codeExperimentalResult   = 297
	codeExperimentalResultCd = 298
	codeCCRequestNumber      = 415
	codeCCRequestType        = 416
	codePublicIdentity       = 601 // 3GPP
	codeUserIdentity         = 700 // 3GPP, Sh
)

// Decode decodes one Diameter message. It does not keep b.
//
// Bytes beyond the header's message length are ignored. When the header is sound but the body is not
// (shorter than the header says, or AVP lengths that do not add up), Decode returns the message decoded
// so far together with an error wrapping ErrTruncated or ErrBadAVP. AVPs and applications that no
// dictionary knows never cause an error: they decode with their code, vendor, flags and hex value.
func Decode(b []byte) (*Message, error) {
	if len(b) < HeaderLength {
		return nil, fmt.Errorf("%w: %d bytes, a header needs %d", ErrNotDiameter, len(b), HeaderLength)
	}
	if b[0] != 1 {
		return nil, fmt.Errorf("%w: version %d", ErrNotDiameter, b[0])
	}
	length := uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if length < HeaderLength {
		return nil, fmt.Errorf("%w: message length %d", ErrNotDiameter, length)
	}
	flags := b[4]
	m := &Message{
		Version: b[0],
		Length:  length,
		Flags: Flags{
			Request:    flags&flagRequest != 0,
			Proxiable:  flags&flagProxiable != 0,
			Error:      flags&flagError != 0,
			Retransmit: flags&flagRetransmit != 0,
		},
		CommandCode:   uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]),
		ApplicationID: binary.BigEndian.Uint32(b[8:12]),
		HopByHop:      binary.BigEndian.Uint32(b[12:16]),
		EndToEnd:      binary.BigEndian.Uint32(b[16:20]),
	}
	m.Application = ApplicationName(m.ApplicationID)
	d := loadDictionary()
	m.Command, m.CommandShort = commandName(d, m.ApplicationID, m.CommandCode, m.Flags.Request)

	var err error
	body := b[HeaderLength:]
	if uint32(len(b)) < length {
		err = fmt.Errorf("%w: header says %d bytes, have %d", ErrTruncated, length, len(b))
	} else {
		body = b[HeaderLength:length]
	}
	dec := decoder{d: d, app: m.ApplicationID}
	m.AVPs = dec.avps(body, 0)
	if err == nil && dec.bad != "" {
		err = fmt.Errorf("%w: %s", ErrBadAVP, dec.bad)
	}
	m.fill(body)
	return m, err
}

// fill sets the message-level fields from the top-level AVPs, reading numbers from the raw payloads
// rather than parsing the display values back.
func (m *Message) fill(body []byte) {
	off := 0
	for i := range m.AVPs {
		payload, next, ok := avpPayload(body, off)
		if !ok {
			return // the decoder stopped here too: the rest is one malformed AVP
		}
		off = next
		a := &m.AVPs[i]
		switch a.VendorID {
		case 0:
			m.fillBase(a, payload)
		case vendor3GPP:
			switch {
			case m.PublicIdentity != "":
			case a.Code == codePublicIdentity:
				m.PublicIdentity = a.Value
			case a.Code == codeUserIdentity:
				if c := a.Find(codePublicIdentity, vendor3GPP); c != nil {
					m.PublicIdentity = c.Value
				}
			}
		}
	}
}

func (m *Message) fillBase(a *AVP, payload []byte) {
	switch a.Code {
	case codeSessionID:
		m.SessionID = a.Value
	case codeOriginHost:
		m.OriginHost = a.Value
	case codeOriginRealm:
		m.OriginRealm = a.Value
	case codeDestinationHost:
		m.DestinationHost = a.Value
	case codeDestinationRealm:
		m.DestinationRealm = a.Value
	case codeUserName:
		m.UserName = a.Value
	case codeResultCode:
		m.ResultCode, _ = be32(payload)
	case codeCCRequestType:
		m.CCRequestType, _ = be32(payload)
	case codeCCRequestNumber:
		if v, ok := be32(payload); ok {
			m.CCRequestNumber = &v
		}
	case codeExperimentalResult:
		for off := 0; ; {
			p, next, ok := avpPayload(payload, off)
			if !ok {
				return
			}
			if payload[off+4]&avpFlagVendor == 0 {
				switch binary.BigEndian.Uint32(payload[off:]) {
				case codeExperimentalResultCd:
					m.ExperimentalResultCode, _ = be32(p)
				case codeVendorID:
					m.ExperimentalResultVendorID, _ = be32(p)
				}
			}
			off = next
		}
	}
}

func be32(p []byte) (uint32, bool) {
	if len(p) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p), true
}

// avpPayload returns the payload of the AVP at off in b and the offset of the next one.
func avpPayload(b []byte, off int) (payload []byte, next int, ok bool) {
	if off+8 > len(b) {
		return nil, 0, false
	}
	n := int(b[off+5])<<16 | int(b[off+6])<<8 | int(b[off+7])
	hdr := 8
	if b[off+4]&avpFlagVendor != 0 {
		hdr = 12
	}
	if n < hdr || off+n > len(b) {
		return nil, 0, false
	}
	return b[off+hdr : off+n], off + (n+3)&^3, true
}
