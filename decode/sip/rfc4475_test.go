package sip

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// rfc4475 lists every torture message of RFC 4475 with the verdict the RFC gives it and the
// fields its text calls out. hard: Parse must fail; invalid: Parse succeeds with m.Invalid
// wrapping that error; neither: a clean parse.
var rfc4475 = []struct {
	file      string
	section   string
	hard      error
	invalid   error
	status    int    // responses
	method    string // requests
	cseq      uint32
	cseqMeth  string
	check     func(t *testing.T, m *Message, data []byte)
	noCallID  bool // the Call-ID does not start with "<file>."
	lenDiffer bool // MessageLength is not len(m.Raw) (no or bad Content-Length)
}{
	// 3.1.1 Valid messages.
	{file: "wsinv", section: "3.1.1.1", method: "INVITE", cseq: 9, cseqMeth: "INVITE", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "Request-URI", m.RequestURI, "sip:vivekg@chair-dnrc.example.com;unknownparam")
		eq(t, "To tag", m.ToTag(), "1918181833n")
		eq(t, "From tag", m.FromTag(), "98asjd8")
		a, err := ParseNameAddr(m.From)
		noErr(t, err)
		eq(t, "From display", a.Display, `J Rosenberg \\\"`)
		eq(t, "Max-Forwards", m.Header("max-forwards"), "0068")
		if s := m.Header("Subject"); s == nil || len(s) != 0 {
			t.Errorf("Subject = %q, want present and empty", s)
		}
		eq(t, "NewFangledHeader", Unfold(nil, m.Header("NewFangledHeader")), "newfangled value continued newfangled value")
		eq(t, "UnknownHeaderWithUnusualValue", m.Header("UnknownHeaderWithUnusualValue"), ";;,,;;,;")
		eq(t, "top Via branch", m.Branch(), "390skdjuw")
		vias := collect(m.Values("Via"))
		if len(vias) != 3 {
			t.Fatalf("Via values = %q, want 3", vias)
		}
		v, err := ParseVia(vias[1])
		noErr(t, err)
		eq(t, "2nd Via transport", v.Transport, "TCP")
		eq(t, "2nd Via host", v.Host, "spindle.example.com")
		eq(t, "2nd Via branch", v.Param("branch"), "z9hG4bK9ikj8")
		v, err = ParseVia(vias[2])
		noErr(t, err)
		eq(t, "3rd Via branch", v.Param("branch"), "z9hG4bK30239")
		c, err := ParseNameAddr(m.Header("Contact"))
		noErr(t, err)
		eq(t, "Contact display", c.Display, `Quoted string \"\"`)
		eq(t, "Contact URI", c.URI, "sip:jdrosen@example.com")
		eq(t, "Contact q", c.Param("q"), "0.33")
		eq(t, "Contact newparam", c.Param("newparam"), "newvalue")
		eq(t, "Contact secondparam", c.Param("secondparam"), "")
		eq(t, "Content-Type", m.ContentType, "application/sdp")
		if m.ContentLength != 150 || len(m.Body) != 150 {
			t.Errorf("Content-Length %d, body %d, want 150", m.ContentLength, len(m.Body))
		}
		var s SDP
		noErr(t, ParseSDP(m.SDPBody(), &s))
		if len(s.Media) != 2 || s.Media[1].Port != 3227 {
			t.Fatalf("SDP media = %+v", s.Media)
		}
		if rm, ok := s.Media[1].RTPMap(31); !ok || string(rm.Encoding) != "LPC" {
			t.Errorf("rtpmap 31 = %+v %v", rm, ok)
		}
	}},
	{file: "intmeth", section: "3.1.1.2", method: "!interesting-Method0123456789_*+`.%indeed'~", cseq: 139122385, cseqMeth: "!interesting-Method0123456789_*+`.%indeed'~", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "Request-URI", m.RequestURI, "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com")
		eq(t, "branch", m.Branch(), "z9hG4bK-.!%66*_+`'~")
		to, err := ParseNameAddr(m.To)
		noErr(t, err)
		eq(t, "To display", to.Display, "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f")
		from, err := ParseNameAddr(m.From)
		noErr(t, err)
		eq(t, "From display", from.Display, "token1~` token2'+_ token3*%!.-")
		if from.Quoted {
			t.Error("From display name reported as quoted")
		}
		eq(t, "From tag", m.FromTag(), "_token~1'+`*%!-.")
		if p := from.Param("fromParam''~+*_!.-%"); !utf8.Valid(p) || len(p) < 3 || p[0] != '"' {
			t.Errorf("From unknown parameter = %q, want a quoted UTF-8 string", p)
		}
		eq(t, "Call-ID", m.CallID, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
		if v := m.Header("extensionHeader-!.%*+_`'~"); !utf8.Valid(v) || len(v) == 0 {
			t.Errorf("extension header = %q, want UTF-8", v)
		}
	}},
	{file: "esc01", section: "3.1.1.3", method: "INVITE", cseq: 234234, cseqMeth: "INVITE", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "R-URI user", AppendUnescaped(nil, URIUser(m.RequestURI)), "sips:user@example.com")
		eq(t, "To user", AppendUnescaped(nil, m.ToUser()), "user")
		eq(t, "From user", AppendUnescaped(nil, m.FromUser()), "I have spaces")
		eq(t, "Call-ID (compact i)", m.CallID, "esc01.239409asdfakjkn23onasd0-3234")
		eq(t, "Content-Type (compact C)", m.ContentType, "application/sdp")
		c, err := ParseNameAddr(m.Header("Contact"))
		noErr(t, err)
		// "value%25%34%31" unescapes once to "value%41", not to "valueA".
		_, params, _ := bytes.Cut(c.URI, []byte(";"))
		name, _ := Param(params, "n%61me")
		eq(t, "Contact URI name param", AppendUnescaped(nil, name), "value%41")
	}},
	{file: "escnull", section: "3.1.1.4", method: "REGISTER", cseq: 14398234, cseqMeth: "REGISTER", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "To user", AppendUnescaped(nil, m.ToUser()), "null-\x00-null")
		contacts := collect(m.Values("Contact"))
		if len(contacts) != 2 {
			t.Fatalf("Contact values = %q, want 2", contacts)
		}
		c, _ := ParseNameAddr(contacts[1])
		eq(t, "2nd Contact user", AppendUnescaped(nil, c.User()), "\x00\x00")
		if m.ContentLength != 0 {
			t.Errorf("Content-Length (L:0) = %d", m.ContentLength)
		}
	}},
	{file: "esc02", section: "3.1.1.5", method: "RE%47IST%45R", cseq: 29344, cseqMeth: "RE%47IST%45R", check: func(t *testing.T, m *Message, _ []byte) {
		// % is no escape in a method: this is an unknown method, and C%6Fntact is no Contact.
		if bytes.Equal(m.Method, []byte("REGISTER")) {
			t.Error("method unescaped")
		}
		if got := collect(m.Values("Contact")); len(got) != 2 {
			t.Errorf("Contact values = %q, want 2", got)
		}
		eq(t, "C%6Fntact", m.Header("C%6Fntact"), "<sip:alias2@host2.example.com>")
		eq(t, "To display", mustNameAddr(t, m.To).Display, "%Z%45")
	}},
	{file: "lwsdisp", section: "3.1.1.6", method: "OPTIONS", cseq: 60, cseqMeth: "OPTIONS", check: func(t *testing.T, m *Message, _ []byte) {
		a := mustNameAddr(t, m.From)
		eq(t, "From display", a.Display, "caller")
		eq(t, "From URI", a.URI, "sip:caller@example.com")
		eq(t, "From tag", m.FromTag(), "323")
	}},
	{file: "longreq", section: "3.1.1.7", method: "INVITE", cseq: 3882340, cseqMeth: "INVITE", check: func(t *testing.T, m *Message, _ []byte) {
		to := mustNameAddr(t, m.To)
		if !bytes.HasPrefix(to.Display, []byte("I have a user name of extremeextreme")) || !bytes.HasSuffix(to.Display, []byte("proportion")) {
			t.Errorf("To display = %q", to.Display)
		}
		if n := len(m.FromTag()); n < 150 {
			t.Errorf("From tag length %d, want the whole long tag", n)
		}
		if n := len(m.CallID); n < 120 {
			t.Errorf("Call-ID length %d", n)
		}
		vias := collect(m.Values("v"))
		if len(vias) != 34 {
			t.Errorf("Via values = %d, want 34", len(vias))
		}
		eq(t, "top Via", m.Via, "SIP/2.0/TCP sip33.example.com")
		v, err := ParseVia(vias[len(vias)-1])
		noErr(t, err)
		if !bytes.HasPrefix(v.Param("branch"), []byte("verylonglong")) {
			t.Errorf("last Via branch = %q", v.Param("branch"))
		}
		if len(m.Body) != 150 {
			t.Errorf("body %d bytes (l: 150)", len(m.Body))
		}
	}},
	{file: "dblreq", section: "3.1.1.8", method: "REGISTER", cseq: 8, cseqMeth: "REGISTER", check: func(t *testing.T, m *Message, data []byte) {
		// The INVITE after the REGISTER is noise to be ignored.
		if len(m.Body) != 0 || len(m.Raw) >= len(data) || bytes.Contains(m.Raw, []byte("INVITE")) {
			t.Errorf("body %q, raw %d of %d bytes", m.Body, len(m.Raw), len(data))
		}
		eq(t, "Call-ID (compact I)", m.CallID, "dblreq.0ha0isndaksdj99sdfafnl3lk233412")
	}},
	{file: "semiuri", section: "3.1.1.9", method: "OPTIONS", cseq: 8, cseqMeth: "OPTIONS", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "R-URI user", AppendUnescaped(nil, URIUser(m.RequestURI)), "user;par=u@example.net")
		if got := collect(m.Values("Accept")); len(got) != 6 || string(got[5]) != "message/sipfrag" {
			t.Errorf("Accept values = %q", got)
		}
	}},
	{file: "transports", section: "3.1.1.10", method: "OPTIONS", cseq: 60, cseqMeth: "OPTIONS", check: func(t *testing.T, m *Message, _ []byte) {
		var got []string
		for v := range m.Values("Via") {
			via, err := ParseVia(v)
			noErr(t, err)
			got = append(got, string(via.Transport))
		}
		if strings.Join(got, " ") != "UDP SCTP TLS UNKNOWN TCP" {
			t.Errorf("transports = %q", got)
		}
		eq(t, "Call-ID (two spaces after colon)", m.CallID, "transports.kijh4akdnaqjkwendsasfdj")
	}},
	{file: "mpart01", section: "3.1.1.11", method: "MESSAGE", cseq: 1, cseqMeth: "MESSAGE", noCallID: true, check: func(t *testing.T, m *Message, _ []byte) {
		if len(m.Body) != 553 {
			t.Fatalf("body %d bytes, want 553", len(m.Body))
		}
		var parts []Part
		noErr(t, Parts(m.ContentType, m.Body, func(p Part) bool { parts = append(parts, p); return true }))
		if len(parts) != 2 {
			t.Fatalf("%d parts, want 2", len(parts))
		}
		eq(t, "part 1 type", parts[0].ContentType, "text/plain")
		eq(t, "part 1 body", parts[0].Body, "Hello")
		eq(t, "part 2 type", parts[1].ContentType, "application/octet-stream")
		if !bytes.Contains(parts[1].Body, []byte{0}) || !bytes.HasSuffix(m.Body, append(parts[1].Body, "\r\n--7a9cbec02ceef655--\r\n"...)) {
			t.Errorf("binary part mis-framed (%d bytes)", len(parts[1].Body))
		}
		if m.SDPBody() != nil {
			t.Error("SDPBody found SDP in a body without any")
		}
	}},
	{file: "unreason", section: "3.1.1.12", status: 200, cseq: 35, cseqMeth: "INVITE", check: func(t *testing.T, m *Message, _ []byte) {
		if !bytes.HasPrefix(m.Reason, []byte("= 2**3 * 5**2 ")) || !utf8.Valid(m.Reason) || utf8.RuneCount(m.Reason) == len(m.Reason) {
			t.Errorf("reason = %q, want the whole UTF-8 phrase", m.Reason)
		}
	}},
	{file: "noreason", section: "3.1.1.13", status: 100, cseq: 35, cseqMeth: "INVITE", check: func(t *testing.T, m *Message, _ []byte) {
		if m.Reason == nil || len(m.Reason) != 0 {
			t.Errorf("reason = %q, want empty", m.Reason)
		}
	}},

	// 3.1.2 Invalid messages: readable, so Parse reports them in Invalid (bigcode cannot be read).
	{file: "badinv01", section: "3.1.2.1", method: "INVITE", cseq: 8, cseqMeth: "INVITE", invalid: ErrBadVia},
	{file: "clerr", section: "3.1.2.2", method: "INVITE", cseq: 8, cseqMeth: "INVITE", invalid: ErrTruncated, lenDiffer: true, check: func(t *testing.T, m *Message, data []byte) {
		if m.ContentLength != 9999 || len(m.Body) == 0 || &m.Body[len(m.Body)-1] != &data[len(data)-1] {
			t.Errorf("Content-Length %d, body %d bytes: want 9999 and the rest of the datagram", m.ContentLength, len(m.Body))
		}
	}},
	{file: "ncl", section: "3.1.2.3", method: "INVITE", cseq: 0, cseqMeth: "INVITE", invalid: ErrBadContentLength, lenDiffer: true},
	{file: "scalar02", section: "3.1.2.4", method: "REGISTER", cseq: 0, cseqMeth: "REGISTER", invalid: ErrBadCSeq},
	{file: "scalarlg", section: "3.1.2.5", status: 503, cseq: 0, cseqMeth: "OPTIONS", invalid: ErrBadCSeq},
	{file: "quotbal", section: "3.1.2.6", method: "INVITE", cseq: 8, cseqMeth: "INVITE", invalid: ErrBadNameAddr},
	{file: "ltgtruri", section: "3.1.2.7", method: "INVITE", cseq: 1, cseqMeth: "INVITE", invalid: ErrBadURI, check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "Request-URI without <>", m.RequestURI, "sip:user@example.com")
	}},
	{file: "lwsruri", section: "3.1.2.8", method: "INVITE", cseq: 2130706432, cseqMeth: "INVITE", invalid: ErrBadStartLine},
	{file: "lwsstart", section: "3.1.2.9", method: "INVITE", cseq: 1893884, cseqMeth: "INVITE", invalid: ErrBadStartLine, check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "Request-URI", m.RequestURI, "sip:user@example.com")
		eq(t, "version", m.Version, "SIP/2.0")
	}},
	{file: "trws", section: "3.1.2.10", method: "OPTIONS", cseq: 238923, cseqMeth: "OPTIONS", invalid: ErrBadStartLine, check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "version", m.Version, "SIP/2.0")
	}},
	{file: "escruri", section: "3.1.2.11", method: "INVITE", cseq: 149209342, cseqMeth: "INVITE", invalid: ErrBadURI},
	{file: "baddate", section: "3.1.2.12", method: "INVITE", cseq: 1392934, cseqMeth: "INVITE", invalid: ErrBadDate},
	{file: "regbadct", section: "3.1.2.13", method: "REGISTER", cseq: 1, cseqMeth: "REGISTER", invalid: ErrBadNameAddr},
	{file: "badaspec", section: "3.1.2.14", method: "OPTIONS", cseq: 3923239, cseqMeth: "OPTIONS", invalid: ErrBadNameAddr, check: func(t *testing.T, m *Message, _ []byte) {
		a, _ := ParseNameAddr(m.To)
		eq(t, "To URI, spaces ignored", a.URI, "sip:t.watson@example.org")
	}},
	{file: "baddn", section: "3.1.2.15", method: "OPTIONS", cseq: 3923239, cseqMeth: "OPTIONS", invalid: ErrBadNameAddr, lenDiffer: true, check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "From tag of a malformed From", m.FromTag(), "43")
	}},
	{file: "badvers", section: "3.1.2.16", method: "OPTIONS", cseq: 1, cseqMeth: "OPTIONS", invalid: ErrBadVersion, check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "version", m.Version, "SIP/7.0")
	}},
	{file: "mismatch01", section: "3.1.2.17", method: "OPTIONS", cseq: 8, cseqMeth: "INVITE", invalid: ErrMethodMismatch},
	{file: "mismatch02", section: "3.1.2.18", method: "NEWMETHOD", cseq: 8, cseqMeth: "INVITE", invalid: ErrMethodMismatch},
	{file: "bigcode", section: "3.1.2.19", hard: ErrBadStatus},

	// 3.2 Transaction-layer semantics: well formed.
	{file: "badbranch", section: "3.2.1", method: "OPTIONS", cseq: 8, cseqMeth: "OPTIONS", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "branch (magic cookie only)", m.Branch(), "z9hG4bK")
	}},

	// 3.3 Application-layer semantics: syntactically valid except where a header the parser
	// checks is missing or repeated.
	{file: "insuf", section: "3.3.1", method: "INVITE", cseq: 193942, cseqMeth: "INVITE", invalid: ErrMissingHeader, noCallID: true, check: func(t *testing.T, m *Message, _ []byte) {
		if m.CallID != nil || m.From != nil || m.To != nil {
			t.Errorf("Call-ID %q From %q To %q, want none", m.CallID, m.From, m.To)
		}
	}},
	{file: "unkscm", section: "3.3.2", method: "OPTIONS", cseq: 3923423, cseqMeth: "OPTIONS", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "Request-URI", m.RequestURI, "nobodyKnowsThisScheme:totallyopaquecontent")
	}},
	{file: "novelsc", section: "3.3.3", method: "OPTIONS", cseq: 3923423, cseqMeth: "OPTIONS", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "Request-URI", m.RequestURI, "soap.beep://192.0.2.103:3002")
	}},
	{file: "unksm2", section: "3.3.4", method: "REGISTER", cseq: 234902, cseqMeth: "REGISTER", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "To URI", mustNameAddr(t, m.To).URI, "isbn:2983792873")
		eq(t, "From URI", mustNameAddr(t, m.From).URI, "http://www.example.com")
		eq(t, "Contact URI", mustNameAddr(t, m.Header("Contact")).URI, "name:John_Smith")
	}},
	{file: "bext01", section: "3.3.5", method: "OPTIONS", cseq: 8, cseqMeth: "OPTIONS", check: func(t *testing.T, m *Message, _ []byte) {
		if got := collect(m.Values("Require")); len(got) != 2 || string(got[1]) != "nothingSupportsThisEither" {
			t.Errorf("Require = %q", got)
		}
		if got := collect(m.Values("Proxy-Require")); len(got) != 2 {
			t.Errorf("Proxy-Require = %q", got)
		}
	}},
	{file: "invut", section: "3.3.6", method: "INVITE", cseq: 235448, cseqMeth: "INVITE", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "Content-Type", m.ContentType, "application/unknownformat")
		if len(m.Body) != 40 || m.SDPBody() != nil {
			t.Errorf("body %d bytes, SDPBody %q", len(m.Body), m.SDPBody())
		}
	}},
	{file: "regaut01", section: "3.3.7", method: "REGISTER", cseq: 9338, cseqMeth: "REGISTER", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "Authorization", m.Header("authorization"), "NoOneKnowsThisScheme opaque-data=here")
	}},
	{file: "multi01", section: "3.3.8", method: "INVITE", cseq: 5, cseqMeth: "INVITE", invalid: ErrDuplicateHeader, check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "first Call-ID kept", m.CallID, "multi01.98asdh@192.0.2.1")
		eq(t, "first To kept", m.To, "sip:user@example.com")
	}},
	{file: "mcl01", section: "3.3.9", method: "OPTIONS", cseq: 15932, cseqMeth: "OPTIONS", invalid: ErrDuplicateHeader, lenDiffer: true},
	{file: "bcast", section: "3.3.10", status: 200, cseq: 35, cseqMeth: "INVITE", check: func(t *testing.T, m *Message, _ []byte) {
		vias := collect(m.Values("Via"))
		if len(vias) != 2 {
			t.Fatalf("Via values = %q", vias)
		}
		v, err := ParseVia(vias[1])
		noErr(t, err)
		eq(t, "2nd Via host", v.Host, "255.255.255.255")
	}},
	{file: "zeromf", section: "3.3.11", method: "OPTIONS", cseq: 39234321, cseqMeth: "OPTIONS", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "Max-Forwards", m.Header("Max-Forwards"), "0")
	}},
	{file: "cparam01", section: "3.3.12", method: "REGISTER", cseq: 2, cseqMeth: "REGISTER", check: func(t *testing.T, m *Message, _ []byte) {
		// addr-spec form: unknownparam is a contact parameter, not a URI parameter.
		c := mustNameAddr(t, m.Header("Contact"))
		eq(t, "Contact URI", c.URI, "sip:+19725552222@gw1.example.net")
		if _, ok := Param(c.Params, "unknownparam"); !ok {
			t.Error("unknownparam is not a header parameter")
		}
	}},
	{file: "cparam02", section: "3.3.13", method: "REGISTER", cseq: 3, cseqMeth: "REGISTER", check: func(t *testing.T, m *Message, _ []byte) {
		c := mustNameAddr(t, m.Header("Contact"))
		eq(t, "Contact URI", c.URI, "sip:+19725552222@gw1.example.net;unknownparam")
		if c.Params != nil {
			t.Errorf("header params %q, want none", c.Params)
		}
	}},
	{file: "regescrt", section: "3.3.14", method: "REGISTER", cseq: 14398234, cseqMeth: "REGISTER", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "Contact URI (compact M)", mustNameAddr(t, m.Header("Contact")).URI, "sip:user@example.com?Route=%3Csip:sip.example.com%3E")
	}},
	{file: "sdp01", section: "3.3.15", method: "INVITE", cseq: 8, cseqMeth: "INVITE", check: func(t *testing.T, m *Message, _ []byte) {
		eq(t, "Accept", m.Header("Accept"), "text/nobodyKnowsThis")
	}},

	// 3.4 Backward compatibility: an RFC 2543 INVITE is accepted.
	{file: "inv2543", section: "3.4.1", method: "INVITE", cseq: 56, cseqMeth: "INVITE", lenDiffer: true, check: func(t *testing.T, m *Message, data []byte) {
		if m.ContentLength != -1 || len(m.Body) == 0 || &m.Body[len(m.Body)-1] != &data[len(data)-1] {
			t.Errorf("no Content-Length: body must be the rest of the datagram (CL %d, %d bytes)", m.ContentLength, len(m.Body))
		}
		if m.Branch() != nil || m.FromTag() != nil || m.Header("Max-Forwards") != nil {
			t.Errorf("branch %q, From tag %q, Max-Forwards %q: want none", m.Branch(), m.FromTag(), m.Header("Max-Forwards"))
		}
		eq(t, "From user", m.FromUser(), "+13035551111")
	}},
}

func TestRFC4475(t *testing.T) {
	dir := corpus.Path(t, "third_party/rfc4475")
	files, err := filepath.Glob(filepath.Join(dir, "*.dat"))
	if err != nil || len(files) != 49 {
		t.Fatalf("want the 49 RFC 4475 messages in %s, found %d (%v)", dir, len(files), err)
	}
	seen := map[string]bool{}
	for _, tc := range rfc4475 {
		seen[tc.file] = true
		t.Run(tc.section+"_"+tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.file+".dat"))
			if err != nil {
				t.Fatal(err)
			}
			var m Message
			err = Parse(data, &m)
			if tc.hard != nil {
				if !errors.Is(err, tc.hard) {
					t.Fatalf("Parse error = %v, want %v", err, tc.hard)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tc.invalid == nil && m.Invalid != nil {
				t.Errorf("Invalid = %v, want a valid message", m.Invalid)
			}
			if tc.invalid != nil && !errors.Is(m.Invalid, tc.invalid) {
				t.Errorf("Invalid = %v, want %v", m.Invalid, tc.invalid)
			}
			if tc.method != "" {
				if !m.IsRequest || string(m.Method) != tc.method {
					t.Errorf("request %v method %q, want %q", m.IsRequest, m.Method, tc.method)
				}
			} else if m.IsRequest || m.StatusCode != tc.status {
				t.Errorf("response %v status %d, want %d", !m.IsRequest, m.StatusCode, tc.status)
			}
			if m.CSeq != tc.cseq || string(m.CSeqMethod) != tc.cseqMeth {
				t.Errorf("CSeq %d %q, want %d %q", m.CSeq, m.CSeqMethod, tc.cseq, tc.cseqMeth)
			}
			// Every Call-ID in the set starts with its file's name.
			if !tc.noCallID && !bytes.HasPrefix(m.CallID, []byte(tc.file+".")) {
				t.Errorf("Call-ID %q", m.CallID)
			}
			if !bytes.HasPrefix(data, m.Raw) {
				t.Errorf("Raw is not the start of the datagram")
			}
			if tc.check != nil {
				tc.check(t, &m, data)
			}
			// Framing the same bytes as a stream agrees with Parse where Content-Length is sound.
			n, err := MessageLength(data)
			if !tc.lenDiffer && (err != nil || n != len(m.Raw)) {
				t.Errorf("MessageLength = %d, %v; want %d", n, err, len(m.Raw))
			}
			if !LooksLikeSIP(data) {
				t.Error("LooksLikeSIP = false")
			}
		})
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".dat"); !seen[name] {
			t.Errorf("%s has no expectation", name)
		}
	}
}

func eq[T ~string | ~[]byte](t *testing.T, what string, got T, want string) {
	t.Helper()
	if string(got) != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustNameAddr(t *testing.T, v []byte) NameAddr {
	t.Helper()
	a, err := ParseNameAddr(v)
	if err != nil {
		t.Fatalf("ParseNameAddr(%q): %v", v, err)
	}
	return a
}

func collect(seq func(func([]byte) bool)) [][]byte {
	var out [][]byte
	for v := range seq {
		out = append(out, v)
	}
	return out
}
