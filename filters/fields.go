package filters

import (
	"math"
	"net/netip"
	"sort"
	"strings"
	"unsafe"

	mdns "github.com/miekg/dns"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/diameter"
	dnsdec "github.com/sigtrace/sigtrace/decode/dns"
	"github.com/sigtrace/sigtrace/decode/sip"
)

// kind is the type of a value in an expression.
type kind uint8

const (
	kBool kind = iota + 1
	kNum
	kStr
	kAddr
	kTime
	kBytes
)

var kindNames = [...]string{"", "bool", "number", "string", "address", "time", "bytes"}

func (k kind) String() string { return kindNames[k] }

// value holds one field value or constant; which member is meaningful depends on the kind.
type value struct {
	s   string
	raw []byte
	a   netip.Addr
	n   float64
	t   int64 // kTime: Unix nanoseconds
	b   bool
}

// manySides marks a field with a variable number of values: its getter reports !ok past the last.
const manySides = math.MaxInt

// getter reads one side of a field (side is 0, or 0 and 1 for two-sided fields); ok is false when
// the field is absent.
type getter func(c *ctx, side int) (v value, ok bool)

// Field describes one field an expression can use.
type Field struct {
	Name string
	Type string // bool, number, string, address, time, bytes
	Doc  string
	// Call is set for call fields (call.*): they are present only when matching a call.
	Call bool
	// Func is set for fields used as functions: sip.header("Name").
	Func bool

	kind  kind
	sides int
	get   getter
	// enum maps names accepted in place of numbers (dns.qry.type == "SRV").
	enum map[string]float64
	// fn builds the getter of a function field from its constant string argument; args, when set,
	// lists the arguments it accepts.
	fn   func(arg string) getter
	args []string
}

// ctx is the state of one evaluation: the message or call being matched and lazily decoded extras.
type ctx struct {
	m    *decode.Message
	call *correlate.Call

	dnsDone bool
	dnsOK   bool
	dns     dnsInfo
}

func (c *ctx) reset(m *decode.Message, call *correlate.Call) {
	c.m, c.call, c.dnsDone = m, call, false
}

func (c *ctx) sip() *sip.Message {
	if c.m == nil || c.m.Protocol != decode.ProtoSIP || c.m.SIP == nil {
		return nil
	}
	return c.m.SIP
}

func (c *ctx) diameter() *diameter.Message {
	if c.m == nil || c.m.Protocol != decode.ProtoDiameter {
		return nil
	}
	return c.m.Diameter
}

func (c *ctx) dnsMsg() *dnsInfo {
	if c.m == nil || c.m.Protocol != decode.ProtoDNS {
		return nil
	}
	if !c.dnsDone {
		c.dnsDone = true
		c.dnsOK = c.dns.parse(c.m.Payload)
	}
	if !c.dnsOK {
		return nil
	}
	return &c.dns
}

// bstr views b as a string without copying. The string is used only during one evaluation, while
// the message's bytes are unchanged, and is never kept.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func str(s string) (value, bool)      { return value{s: s}, true }
func num(n float64) (value, bool)     { return value{n: n}, true }
func boolean(b bool) (value, bool)    { return value{b: b}, true }
func optStr(b []byte) (value, bool)   { return value{s: bstr(b)}, b != nil }
func nonEmpty(s string) (value, bool) { return value{s: s}, s != "" }

// sipField makes a getter for a SIP field.
func sipField(f func(s *sip.Message) (value, bool)) getter {
	return func(c *ctx, _ int) (value, bool) {
		if s := c.sip(); s != nil {
			return f(s)
		}
		return value{}, false
	}
}

func diaField(f func(d *diameter.Message) (value, bool)) getter {
	return func(c *ctx, _ int) (value, bool) {
		if d := c.diameter(); d != nil {
			return f(d)
		}
		return value{}, false
	}
}

func dnsField(f func(d *dnsInfo) (value, bool)) getter {
	return func(c *ctx, _ int) (value, bool) {
		if d := c.dnsMsg(); d != nil {
			return f(d)
		}
		return value{}, false
	}
}

func msgField(f func(m *decode.Message, side int) (value, bool)) getter {
	return func(c *ctx, side int) (value, bool) {
		if c.m == nil {
			return value{}, false
		}
		return f(c.m, side)
	}
}

func callField(f func(call *correlate.Call) (value, bool)) getter {
	return func(c *ctx, _ int) (value, bool) {
		if c.call == nil {
			return value{}, false
		}
		return f(c.call)
	}
}

func protoField(p decode.Protocol) getter {
	return func(c *ctx, _ int) (value, bool) { return boolean(c.m != nil && c.m.Protocol == p) }
}

func addrSide(m *decode.Message, side int) netip.AddrPort {
	if side == 0 {
		return m.Src
	}
	return m.Dst
}

var (
	dnsTypes  = enumOf(mdns.StringToType)
	dnsRcodes = enumOf(mdns.StringToRcode)
)

func enumOf[T ~uint16 | ~int](m map[string]T) map[string]float64 {
	e := make(map[string]float64, len(m))
	for k, v := range m {
		e[strings.ToUpper(k)] = float64(v)
	}
	return e
}

// fields lists every field; fieldIndex finds them by lower-case name (aliases included).
var (
	fields     []*Field
	fieldIndex = map[string]*Field{}
)

func def(name, typ, doc string, get getter, aliases ...string) *Field {
	f := &Field{Name: name, Type: typ, Doc: doc, get: get, sides: 1}
	for k, n := range kindNames {
		if n == typ {
			f.kind = kind(k)
		}
	}
	if f.kind == 0 {
		panic("filters: bad type " + typ)
	}
	f.Call = strings.HasPrefix(name, "call.")
	fields = append(fields, f)
	for _, n := range append([]string{name}, aliases...) {
		fieldIndex[strings.ToLower(n)] = f
	}
	return f
}

func init() {
	// Protocols and envelope.
	def("sip", "bool", "the message is SIP", protoField(decode.ProtoSIP))
	def("diameter", "bool", "the message is Diameter", protoField(decode.ProtoDiameter))
	def("dns", "bool", "the message is DNS", protoField(decode.ProtoDNS))
	def("ip.src", "address", "source address", msgField(func(m *decode.Message, _ int) (value, bool) {
		return value{a: m.Src.Addr()}, m.Src.IsValid()
	}), "ipv6.src")
	def("ip.dst", "address", "destination address", msgField(func(m *decode.Message, _ int) (value, bool) {
		return value{a: m.Dst.Addr()}, m.Dst.IsValid()
	}), "ipv6.dst")
	def("ip.addr", "address", "source or destination address", msgField(func(m *decode.Message, side int) (value, bool) {
		ap := addrSide(m, side)
		return value{a: ap.Addr()}, ap.IsValid()
	}), "ipv6.addr", "ip.host").sides = 2
	def("src.port", "number", "source port", msgField(func(m *decode.Message, _ int) (value, bool) {
		return num(float64(m.Src.Port()))
	}), "srcport", "udp.srcport", "tcp.srcport")
	def("dst.port", "number", "destination port", msgField(func(m *decode.Message, _ int) (value, bool) {
		return num(float64(m.Dst.Port()))
	}), "dstport", "udp.dstport", "tcp.dstport")
	def("port", "number", "source or destination port", msgField(func(m *decode.Message, side int) (value, bool) {
		return num(float64(addrSide(m, side).Port()))
	}), "udp.port", "tcp.port", "sctp.port").sides = 2
	def("transport", "string", `transport: "udp", "tcp", "sctp", "tls" or "ws"`, msgField(func(m *decode.Message, _ int) (value, bool) {
		return str(m.Transport.String())
	}))
	def("frame.time", "time", `capture time; compare with RFC 3339 text ("2024-05-01T10:00:00Z") or Unix seconds`, msgField(func(m *decode.Message, _ int) (value, bool) {
		return value{t: m.Time.UnixNano()}, !m.Time.IsZero()
	}))
	def("frame.time_epoch", "number", "capture time in Unix seconds", msgField(func(m *decode.Message, _ int) (value, bool) {
		return num(float64(m.Time.UnixNano()) / 1e9)
	}))
	def("frame.number", "number", "number of the frame that completed the message, in its input", msgField(func(m *decode.Message, _ int) (value, bool) {
		return num(float64(m.Frame))
	}), "frame")
	def("frame.input", "string", "input file name (- for standard input)", msgField(func(m *decode.Message, _ int) (value, bool) {
		return str(m.Input)
	}), "input")
	def("payload", "bytes", "the message's bytes on the wire (contains, matches, ==)", msgField(func(m *decode.Message, _ int) (value, bool) {
		return value{raw: m.Payload}, m.Payload != nil
	}))
	def("duplicate", "bool", "an identical copy of an earlier message on the same hop (capture artefact)", msgField(func(m *decode.Message, _ int) (value, bool) {
		return boolean(m.Duplicate)
	}))
	def("malformed", "bool", "the message breaks its grammar (decoded anyway)", msgField(func(m *decode.Message, _ int) (value, bool) {
		return boolean(m.Err != nil)
	}), "invalid", "_ws.malformed")
	def("hep", "bool", "the message arrived inside HEP", msgField(func(m *decode.Message, _ int) (value, bool) {
		return boolean(m.HEP != nil)
	}))
	def("hep.node", "string", "HEP capture node name", msgField(func(m *decode.Message, _ int) (value, bool) {
		if m.HEP == nil {
			return value{}, false
		}
		return nonEmpty(m.HEP.Node)
	}))
	def("hep.capture_id", "number", "HEP capture agent id", msgField(func(m *decode.Message, _ int) (value, bool) {
		if m.HEP == nil {
			return value{}, false
		}
		return num(float64(m.HEP.CaptureID))
	}))

	// SIP.
	def("sip.method", "string", "request method (absent in responses)", sipField(func(s *sip.Message) (value, bool) {
		return value{s: bstr(s.Method)}, s.IsRequest
	}))
	def("sip.status", "number", "response status code (absent in requests)", sipField(func(s *sip.Message) (value, bool) {
		return value{n: float64(s.StatusCode)}, !s.IsRequest
	}), "sip.status_code")
	def("sip.reason", "string", "response reason phrase", sipField(func(s *sip.Message) (value, bool) {
		return value{s: bstr(s.Reason)}, !s.IsRequest
	}))
	def("sip.request", "bool", "the SIP message is a request", sipField(func(s *sip.Message) (value, bool) { return boolean(s.IsRequest) }))
	def("sip.response", "bool", "the SIP message is a response", sipField(func(s *sip.Message) (value, bool) { return boolean(!s.IsRequest) }))
	def("sip.request_uri", "string", "Request-URI", sipField(func(s *sip.Message) (value, bool) {
		return value{s: bstr(s.RequestURI)}, s.IsRequest
	}), "sip.ruri", "sip.r_uri")
	def("sip.call_id", "string", "Call-ID", sipField(func(s *sip.Message) (value, bool) { return optStr(s.CallID) }), "sip.callid")
	def("sip.cseq", "number", "CSeq sequence number", sipField(func(s *sip.Message) (value, bool) {
		return value{n: float64(s.CSeq)}, s.CSeqMethod != nil
	}), "sip.cseq.seq")
	def("sip.cseq.method", "string", "CSeq method (requests and responses)", sipField(func(s *sip.Message) (value, bool) { return optStr(s.CSeqMethod) }))
	def("sip.from", "string", "From header value", sipField(func(s *sip.Message) (value, bool) { return optStr(s.From) }))
	def("sip.to", "string", "To header value", sipField(func(s *sip.Message) (value, bool) { return optStr(s.To) }))
	def("sip.from.user", "string", "user part of the From URI", sipField(func(s *sip.Message) (value, bool) { return optStr(s.FromUser()) }))
	def("sip.to.user", "string", "user part of the To URI", sipField(func(s *sip.Message) (value, bool) { return optStr(s.ToUser()) }))
	def("sip.from.tag", "string", "From tag", sipField(func(s *sip.Message) (value, bool) { return optStr(s.FromTag()) }))
	def("sip.to.tag", "string", "To tag (absent outside a dialog)", sipField(func(s *sip.Message) (value, bool) { return optStr(s.ToTag()) }))
	def("sip.via", "string", "top Via value", sipField(func(s *sip.Message) (value, bool) { return optStr(s.Via) }))
	def("sip.branch", "string", "branch of the top Via", sipField(func(s *sip.Message) (value, bool) { return optStr(s.Branch()) }), "sip.via.branch")
	def("sip.ua", "string", "User-Agent", sipField(func(s *sip.Message) (value, bool) { return optStr(s.UserAgent) }), "sip.user_agent", "sip.user-agent")
	def("sip.server", "string", "Server header", sipField(func(s *sip.Message) (value, bool) { return optStr(s.Header("Server")) }))
	def("sip.content_type", "string", "Content-Type", sipField(func(s *sip.Message) (value, bool) { return optStr(s.ContentType) }))
	def("sip.body", "string", "message body (SDP, XML...)", sipField(func(s *sip.Message) (value, bool) {
		return value{s: bstr(s.Body)}, len(s.Body) > 0
	}), "sip.msg_body")
	h := def("sip.header", "string", `sip.header("Name"): first value of a header (compact forms match; absent when missing)`, nil)
	h.Func = true
	h.fn = func(name string) getter {
		return sipField(func(s *sip.Message) (value, bool) { return optStr(s.Header(name)) })
	}

	// Diameter.
	def("diameter.cmd.code", "number", "command code", diaField(func(d *diameter.Message) (value, bool) { return num(float64(d.CommandCode)) }))
	def("diameter.cmd", "string", `command short name ("ULR", "CCA"; else "Name-Request"/"Name-Answer" or code+R/A)`, diaField(func(d *diameter.Message) (value, bool) { return str(d.Name()) }), "diameter.cmd.name")
	def("diameter.app_id", "number", "Application-Id of the header", diaField(func(d *diameter.Message) (value, bool) { return num(float64(d.ApplicationID)) }), "diameter.applicationid")
	def("diameter.app", "string", `application name ("S6a", "Gx"...)`, diaField(func(d *diameter.Message) (value, bool) { return nonEmpty(d.Application) }))
	def("diameter.flags.request", "bool", "R bit: a request", diaField(func(d *diameter.Message) (value, bool) { return boolean(d.Flags.Request) }))
	def("diameter.flags.proxyable", "bool", "P bit", diaField(func(d *diameter.Message) (value, bool) { return boolean(d.Flags.Proxiable) }), "diameter.flags.proxiable")
	def("diameter.flags.error", "bool", "E bit: a protocol error answer", diaField(func(d *diameter.Message) (value, bool) { return boolean(d.Flags.Error) }))
	def("diameter.flags.retransmit", "bool", "T bit: a possible retransmission", diaField(func(d *diameter.Message) (value, bool) { return boolean(d.Flags.Retransmit) }), "diameter.flags.t")
	def("diameter.hop_by_hop", "number", "Hop-by-Hop Identifier", diaField(func(d *diameter.Message) (value, bool) { return num(float64(d.HopByHop)) }), "diameter.hopbyhopid")
	def("diameter.end_to_end", "number", "End-to-End Identifier", diaField(func(d *diameter.Message) (value, bool) { return num(float64(d.EndToEnd)) }), "diameter.endtoendid")
	def("diameter.result_code", "number", "Result-Code, else Experimental-Result-Code (absent when neither)", diaField(func(d *diameter.Message) (value, bool) {
		r := d.Result()
		return value{n: float64(r)}, r != 0
	}))
	def("diameter.experimental_result_code", "number", "Experimental-Result-Code", diaField(func(d *diameter.Message) (value, bool) {
		return value{n: float64(d.ExperimentalResultCode)}, d.ExperimentalResultCode != 0
	}))
	def("diameter.session_id", "string", "Session-Id", diaField(func(d *diameter.Message) (value, bool) { return nonEmpty(d.SessionID) }))
	def("diameter.origin_host", "string", "Origin-Host", diaField(func(d *diameter.Message) (value, bool) { return nonEmpty(d.OriginHost) }))
	def("diameter.origin_realm", "string", "Origin-Realm", diaField(func(d *diameter.Message) (value, bool) { return nonEmpty(d.OriginRealm) }))
	def("diameter.destination_host", "string", "Destination-Host", diaField(func(d *diameter.Message) (value, bool) { return nonEmpty(d.DestinationHost) }))
	def("diameter.destination_realm", "string", "Destination-Realm", diaField(func(d *diameter.Message) (value, bool) { return nonEmpty(d.DestinationRealm) }))
	def("diameter.user_name", "string", "User-Name (the IMSI in S6a)", diaField(func(d *diameter.Message) (value, bool) { return nonEmpty(d.UserName) }))
	def("diameter.public_identity", "string", "IMS Public-Identity (Cx, Sh)", diaField(func(d *diameter.Message) (value, bool) { return nonEmpty(d.PublicIdentity) }))
	def("diameter.cc_request_type", "number", "CC-Request-Type (1 initial, 2 update, 3 termination, 4 event)", diaField(func(d *diameter.Message) (value, bool) {
		return value{n: float64(d.CCRequestType)}, d.CCRequestType != 0
	}))
	a := def("diameter.avp", "string", `diameter.avp("Name"): display value of the first AVP of that name, at any depth`, nil)
	a.Func = true
	a.fn = func(name string) getter {
		return diaField(func(d *diameter.Message) (value, bool) {
			if v := findAVP(d.AVPs, name); v != nil {
				return str(v.Value)
			}
			return value{}, false
		})
	}

	// DNS.
	def("dns.id", "number", "transaction id", dnsField(func(d *dnsInfo) (value, bool) { return num(float64(d.id)) }))
	def("dns.flags.response", "bool", "QR bit: a response", dnsField(func(d *dnsInfo) (value, bool) { return boolean(d.response) }))
	def("dns.rcode", "number", `response code (names accepted: "NXDOMAIN", "SERVFAIL"...)`, dnsField(func(d *dnsInfo) (value, bool) { return num(float64(d.rcode)) }), "dns.flags.rcode").enum = dnsRcodes
	def("dns.qry.name", "string", "name in the (first) question, dotted, without the final dot", dnsField(func(d *dnsInfo) (value, bool) {
		return value{s: bstr(d.qname)}, d.hasQuestion
	}))
	def("dns.qry.type", "number", `type in the (first) question (names accepted: "A", "SRV", "NAPTR"...)`, dnsField(func(d *dnsInfo) (value, bool) {
		return value{n: float64(d.qtype)}, d.hasQuestion
	})).enum = dnsTypes
	def("dns.qry.class", "number", "class in the (first) question", dnsField(func(d *dnsInfo) (value, bool) {
		return value{n: float64(d.qclass)}, d.hasQuestion
	}))
	def("dns.count.queries", "number", "QDCOUNT", dnsField(func(d *dnsInfo) (value, bool) { return num(float64(d.qdcount)) }))
	def("dns.count.answers", "number", "ANCOUNT", dnsField(func(d *dnsInfo) (value, bool) { return num(float64(d.ancount)) }))

	// DNS answers, from the decoder's summary: fields with one value per answer record.
	answers := func(typ string, f func(rr *dnsdec.RR) (value, bool)) getter {
		return func(c *ctx, side int) (value, bool) {
			if c.m == nil || c.m.Protocol != decode.ProtoDNS || c.m.DNS == nil {
				return value{}, false
			}
			// side counts the answers of the wanted type (all when typ is "").
			for i := range c.m.DNS.Answers {
				rr := &c.m.DNS.Answers[i]
				if typ != "" && rr.Type != typ {
					continue
				}
				if side == 0 {
					return f(rr)
				}
				side--
			}
			return value{}, false
		}
	}
	many := func(f *Field) { f.sides = manySides }
	many(def("dns.resp.name", "string", "owner name of an answer record, without the final dot", answers("", func(rr *dnsdec.RR) (value, bool) {
		return str(strings.TrimSuffix(rr.Name, "."))
	})))
	many(def("dns.resp.type", "number", `type of an answer record (names accepted: "A", "CNAME"...)`, answers("", func(rr *dnsdec.RR) (value, bool) {
		v, ok := dnsTypes[rr.Type]
		return value{n: v}, ok
	})))
	fieldIndex["dns.resp.type"].enum = dnsTypes
	many(def("dns.answer", "string", `an answer record's data as text ("10 5060 pcscf.example.", "192.0.2.1")`, answers("", func(rr *dnsdec.RR) (value, bool) {
		return str(rr.Data)
	})))
	for _, typ := range []string{"A", "AAAA"} {
		many(def("dns."+strings.ToLower(typ), "address", "address of an "+typ+" answer record", answers(typ, func(rr *dnsdec.RR) (value, bool) {
			a, err := netip.ParseAddr(rr.Data)
			return value{a: a}, err == nil
		})))
	}
	def("dns.flags.truncated", "bool", "TC bit", dnsField(func(d *dnsInfo) (value, bool) { return boolean(d.truncated) }))
	def("dns.flags.authoritative", "bool", "AA bit", dnsField(func(d *dnsInfo) (value, bool) { return boolean(d.authoritative) }))

	// Calls.
	def("call.id", "string", "the call's identifier: the Call-ID of its root leg", callField(func(c *correlate.Call) (value, bool) { return nonEmpty(c.CallID) }))
	def("call.call_id", "string", "the Call-ID of any of the call's legs", nil).get = func(c *ctx, side int) (value, bool) {
		if c.call == nil || side >= len(c.call.Legs) {
			return value{}, false
		}
		return str(c.call.Legs[side].CallID)
	}
	fieldIndex["call.call_id"].sides = manySides
	def("call.outcome", "string", `how the call ended for the caller: "answered", "busy", "cancelled", "rejected", "failed", "no-answer", "in-progress"`,
		callField(func(c *correlate.Call) (value, bool) { return nonEmpty(string(c.Outcome)) }))
	def("call.status", "number", "final status of the root leg's INVITE (absent when none was seen)", callField(func(c *correlate.Call) (value, bool) {
		return value{n: float64(c.FinalStatus)}, c.FinalStatus != 0
	}))
	def("call.duration", "number", "talk time in seconds, answer to end (0 when not answered)", callField(func(c *correlate.Call) (value, bool) { return num(c.BillableSeconds()) }), "call.billable")
	def("call.total_duration", "number", "INVITE to end in seconds (0 while not ended)", callField(func(c *correlate.Call) (value, bool) { return num(c.DurationSeconds()) }))
	def("call.pdd", "number", "post-dial delay in seconds (INVITE to first 18x or final response)", callField(func(c *correlate.Call) (value, bool) { return num(c.PDDSeconds()) }))
	def("call.start", "time", "time of the root leg's INVITE", callField(func(c *correlate.Call) (value, bool) {
		return value{t: c.InviteTime.UnixNano()}, !c.InviteTime.IsZero()
	}))
	def("call.from", "string", "calling user (From user part of the root leg)", callField(func(c *correlate.Call) (value, bool) {
		if len(c.Legs) == 0 {
			return value{}, false
		}
		return nonEmpty(c.Legs[0].From)
	}))
	def("call.to", "string", "called user (To user part of the root leg)", callField(func(c *correlate.Call) (value, bool) {
		if len(c.Legs) == 0 {
			return value{}, false
		}
		return nonEmpty(c.Legs[0].To)
	}))
	def("call.legs", "number", "number of legs (SIP dialogs) of the call", callField(func(c *correlate.Call) (value, bool) { return num(float64(len(c.Legs))) }))
	def("call.end_reason", "string", `how the call ended: "BYE", "CANCEL", "final response", "timeout"`, callField(func(c *correlate.Call) (value, bool) { return nonEmpty(c.EndReason) }))
	def("call.ended_by", "string", `who ended it: "calling-side" or "called-side"`, callField(func(c *correlate.Call) (value, bool) { return nonEmpty(c.EndedBy) }))
	def("call.evicted", "bool", "dropped from memory before it ended (too many open calls)", callField(func(c *correlate.Call) (value, bool) { return boolean(c.Evicted) }))
	ch := def("call.has", "bool", `call.has("event"): the call saw that event: dtmf, hold, unhold, refer, park, transfer, forward`, nil)
	ch.Func = true
	ch.fn = func(event string) getter {
		ev := correlate.EventType(event)
		return callField(func(c *correlate.Call) (value, bool) {
			for i := range c.Events {
				if c.Events[i].Type == ev {
					return boolean(true)
				}
			}
			return boolean(false)
		})
	}
	ch.args = []string{string(correlate.EventDTMF), string(correlate.EventHold), string(correlate.EventUnhold), string(correlate.EventRefer),
		string(correlate.EventPark), string(correlate.EventTransfer), string(correlate.EventForward)}

	sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
}

func findAVP(avps []diameter.AVP, name string) *diameter.AVP {
	for i := range avps {
		if strings.EqualFold(avps[i].Name, name) {
			return &avps[i]
		}
		if a := findAVP(avps[i].AVPs, name); a != nil {
			return a
		}
	}
	return nil
}

// Fields returns every field, sorted by name.
func Fields() []Field {
	out := make([]Field, len(fields))
	for i, f := range fields {
		out[i] = *f
	}
	return out
}
