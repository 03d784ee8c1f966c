// Package dns decodes DNS messages with github.com/miekg/dns into a JSON-friendly summary (id, flags,
// rcode, questions, records with their data as text) and frames DNS over TCP.
package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// HeaderLength is the size of the fixed DNS header.
const HeaderLength = 12

var (
	// ErrShort reports bytes too few to hold a DNS header.
	ErrShort = errors.New("dns: shorter than a DNS header")
	// ErrMalformed reports a message whose sections do not parse; Decode returns what parsed.
	ErrMalformed = errors.New("dns: malformed message")
	// ErrBadLength reports a DNS-over-TCP length prefix too small for a DNS header.
	ErrBadLength = errors.New("dns: bad TCP length prefix")
)

// Message is the summary of one DNS message.
type Message struct {
	// Selected is the caller's to set: the CLI marks there that a display filter matched the
	// message, until its transaction is complete. Decoding leaves it false.
	Selected           bool   `json:"-"`
	ID                 uint16 `json:"id"`
	Response           bool   `json:"response"` // the QR bit
	Opcode             string `json:"opcode"`
	Authoritative      bool   `json:"aa,omitempty"`
	Truncated          bool   `json:"tc,omitempty"`
	RecursionDesired   bool   `json:"rd,omitempty"`
	RecursionAvailable bool   `json:"ra,omitempty"`
	AuthenticatedData  bool   `json:"ad,omitempty"`
	CheckingDisabled   bool   `json:"cd,omitempty"`
	// Rcode includes the EDNS extended bits; RcodeName is its mnemonic ("NOERROR", "NXDOMAIN").
	Rcode     int        `json:"rcode"`
	RcodeName string     `json:"rcode_name"`
	Questions []Question `json:"questions"`
	Answers   []RR       `json:"answers,omitempty"`
	Authority []RR       `json:"authority,omitempty"`
	// Additional leaves out the EDNS OPT pseudo-record, summarised in EDNS.
	Additional []RR  `json:"additional,omitempty"`
	EDNS       *EDNS `json:"edns,omitempty"`

	// Msg is miekg/dns's full parse, for what the summary leaves out.
	Msg *dns.Msg `json:"-"`
}

// Question is one entry of the question section.
type Question struct {
	Name  string `json:"name"` // fully qualified, with the final dot
	Type  string `json:"type"` // "A", "SRV", "NAPTR", or "TYPE65400" when unnamed
	Class string `json:"class"`
	// QType is the numeric type, for types without a mnemonic and for cheap comparisons.
	QType uint16 `json:"qtype"`
}

// RR is one resource record, its data in presentation format ("10 5060 pcscf.example.", "192.0.2.1").
type RR struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Class string `json:"class"`
	TTL   uint32 `json:"ttl"`
	Data  string `json:"data"`
}

// EDNS is what the OPT pseudo-record says.
type EDNS struct {
	UDPSize uint16 `json:"udp_size"`
	Version uint8  `json:"version"`
	DO      bool   `json:"do,omitempty"` // DNSSEC OK
}

// Decode decodes one DNS message (without the TCP length prefix). It does not keep b.
//
// When the header parses but a section does not (a truncated capture, a lying count), Decode returns the
// message with the records parsed so far together with an error wrapping ErrMalformed.
func Decode(b []byte) (*Message, error) {
	if len(b) < HeaderLength {
		return nil, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	msg := new(dns.Msg)
	var err error
	if uerr := msg.Unpack(b); uerr != nil {
		err = fmt.Errorf("%w (%s)", ErrMalformed, strings.TrimPrefix(uerr.Error(), "dns: "))
		// miekg/dns stops at the bad record; its header fields were set from the raw header first.
	}
	return summarise(msg), err
}

func summarise(msg *dns.Msg) *Message {
	m := &Message{
		ID:                 msg.Id,
		Response:           msg.Response,
		Opcode:             mnemonic(dns.OpcodeToString, msg.Opcode, "OPCODE"),
		Authoritative:      msg.Authoritative,
		Truncated:          msg.Truncated,
		RecursionDesired:   msg.RecursionDesired,
		RecursionAvailable: msg.RecursionAvailable,
		AuthenticatedData:  msg.AuthenticatedData,
		CheckingDisabled:   msg.CheckingDisabled,
		Rcode:              msg.Rcode,
		RcodeName:          mnemonic(dns.RcodeToString, msg.Rcode, "RCODE"),
		Msg:                msg,
	}
	m.Questions = make([]Question, len(msg.Question))
	for i, q := range msg.Question {
		m.Questions[i] = Question{
			Name:  q.Name,
			Type:  typeName(q.Qtype),
			Class: className(q.Qclass),
			QType: q.Qtype,
		}
	}
	m.Answers = records(msg.Answer, nil)
	m.Authority = records(msg.Ns, nil)
	m.Additional = records(msg.Extra, m)
	return m
}

// records summarises a section; with m set it moves the OPT pseudo-record into m.EDNS.
func records(rrs []dns.RR, m *Message) []RR {
	if len(rrs) == 0 {
		return nil
	}
	out := make([]RR, 0, len(rrs))
	for _, rr := range rrs {
		if opt, ok := rr.(*dns.OPT); ok && m != nil {
			m.EDNS = &EDNS{UDPSize: opt.UDPSize(), Version: opt.Version(), DO: opt.Do()}
			continue
		}
		h := rr.Header()
		out = append(out, RR{
			Name:  h.Name,
			Type:  typeName(h.Rrtype),
			Class: className(h.Class),
			TTL:   h.Ttl,
			Data:  strings.TrimPrefix(rr.String(), h.String()),
		})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Addresses returns the addresses of the A and AAAA records of the answer section.
func (m *Message) Addresses() []netip.Addr {
	var out []netip.Addr
	if m.Msg == nil {
		return nil
	}
	for _, rr := range m.Msg.Answer {
		var ip []byte
		switch r := rr.(type) {
		case *dns.A:
			ip = r.A.To4()
		case *dns.AAAA:
			ip = r.AAAA.To16()
		default:
			continue
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a)
		}
	}
	return out
}

func typeName(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

func className(c uint16) string {
	if s, ok := dns.ClassToString[c]; ok {
		return s
	}
	return "CLASS" + strconv.Itoa(int(c))
}

func mnemonic(names map[int]string, v int, prefix string) string {
	if s, ok := names[v]; ok {
		return s
	}
	return prefix + strconv.Itoa(v)
}

// MessageLength returns the length, including the two-byte length prefix, of the DNS-over-TCP message
// at the start of a stream buffer once all of it is in the buffer, and 0, nil while more bytes are
// needed; the message itself is stream[2:n]. A prefix smaller than a DNS header is an error wrapping
// ErrBadLength, so the caller can give up on the stream.
func MessageLength(stream []byte) (int, error) {
	if len(stream) < 2 {
		return 0, nil
	}
	n := int(binary.BigEndian.Uint16(stream))
	if n < HeaderLength {
		return 0, fmt.Errorf("%w: %d", ErrBadLength, n)
	}
	if len(stream) < 2+n {
		return 0, nil
	}
	return 2 + n, nil
}
