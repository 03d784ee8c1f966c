package sip

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/samples/synth"
)

// crlf turns a readable fixture ("\n" line ends) into wire form.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// A realistic INVITE from a SIP trunk: Record-Route, P-Asserted-Identity, Session-Expires and an
// SDP offer with telephone-event, as a class-4 switch sees thousands per second.
const inviteSDP = `INVITE sip:+15552012001@198.51.100.20:5060;user=phone SIP/2.0
Via: SIP/2.0/UDP 203.0.113.11:5060;branch=z9hG4bK-524287-1---6f5e4d3c2b1a0f9e;rport
Max-Forwards: 69
Record-Route: <sip:198.51.100.2;lr;ftag=as4f3e2d1c>
Contact: <sip:+15550104438@203.0.113.11:5060;transport=udp>
To: <sip:+15552012001@198.51.100.20;user=phone>
From: "Alice Caller" <sip:+15550104438@203.0.113.11;user=phone>;tag=as4f3e2d1c
Call-ID: 3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f@203.0.113.11
CSeq: 102 INVITE
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PRACK, UPDATE
Supported: replaces, timer, 100rel
P-Asserted-Identity: "Alice Caller" <sip:+15550104438@203.0.113.11;user=phone>
Session-Expires: 1800;refresher=uac
Min-SE: 90
User-Agent: Carrier-SBC 4.2.1
Content-Type: application/sdp
Content-Length: 300

v=0
o=- 1718001 1718001 IN IP4 203.0.113.11
s=SBC Call
c=IN IP4 203.0.113.12
t=0 0
m=audio 16384 RTP/AVP 0 8 18 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=sendrecv
`

const okResponse = `SIP/2.0 200 OK
Via: SIP/2.0/UDP 203.0.113.11:5060;branch=z9hG4bK-524287-1---6f5e4d3c2b1a0f9e;rport=5060;received=203.0.113.11
Record-Route: <sip:198.51.100.2;lr;ftag=as4f3e2d1c>
Contact: <sip:+15552012001@198.51.100.20:5060>
To: <sip:+15552012001@198.51.100.20;user=phone>;tag=8d7c6b5a
From: "Alice Caller" <sip:+15550104438@203.0.113.11;user=phone>;tag=as4f3e2d1c
Call-ID: 3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f@203.0.113.11
CSeq: 102 INVITE
Server: Class5 1.0
Content-Length: 0

`

func inviteWire() []byte {
	b := crlf(inviteSDP)
	// Make Content-Length exact for the fixture as written.
	i := strings.Index(string(b), "\r\n\r\n") + 4
	return []byte(strings.Replace(string(b), "Content-Length: 300", "Content-Length: "+itoa(len(b)-i), 1))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestParseInvite(t *testing.T) {
	var m Message
	data := inviteWire()
	noErr(t, Parse(data, &m))
	if m.Invalid != nil {
		t.Fatal(m.Invalid)
	}
	eq(t, "method", m.Method, "INVITE")
	eq(t, "Request-URI", m.RequestURI, "sip:+15552012001@198.51.100.20:5060;user=phone")
	eq(t, "Call-ID", m.CallID, "3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f@203.0.113.11")
	eq(t, "From tag", m.FromTag(), "as4f3e2d1c")
	eq(t, "From user", m.FromUser(), "+15550104438")
	eq(t, "To user", m.ToUser(), "+15552012001")
	if m.ToTag() != nil {
		t.Errorf("To tag %q on an initial INVITE", m.ToTag())
	}
	eq(t, "branch", m.Branch(), "z9hG4bK-524287-1---6f5e4d3c2b1a0f9e")
	eq(t, "User-Agent", m.UserAgent, "Carrier-SBC 4.2.1")
	if m.CSeq != 102 || len(m.Headers()) != 16 || m.ContentLength != len(m.Body) {
		t.Errorf("CSeq %d, %d headers, Content-Length %d body %d", m.CSeq, len(m.Headers()), m.ContentLength, len(m.Body))
	}
	if got := collect(m.Values("Allow")); len(got) != 11 || string(got[10]) != "UPDATE" {
		t.Errorf("Allow = %q", got)
	}
	eq(t, "P-Asserted-Identity user", mustNameAddr(t, m.Header("P-Asserted-Identity")).User(), "+15550104438")
}

func TestCompactForms(t *testing.T) {
	// Every compact form of RFC 3261 section 7.3.3 and the IANA registry, against its long name.
	long := map[string]string{
		"i": "Call-ID", "f": "From", "t": "To", "v": "Via", "m": "Contact", "l": "Content-Length",
		"c": "Content-Type", "k": "Supported", "s": "Subject", "e": "Content-Encoding", "o": "Event",
		"r": "Refer-To", "b": "Referred-By", "u": "Allow-Events", "x": "Session-Expires",
		"y": "Identity", "a": "Accept-Contact", "j": "Reject-Contact", "d": "Request-Disposition",
		"n": "Identity-Info",
	}
	var b strings.Builder
	b.WriteString("NOTIFY sip:a@example.com SIP/2.0\n")
	for c := range long {
		b.WriteString(c + ": value-of-" + c + "\n")
	}
	b.WriteString("\n")
	var m Message
	noErr(t, Parse([]byte(b.String()), &m))
	for c, name := range long {
		for _, q := range []string{name, strings.ToUpper(name), strings.ToLower(name), c, strings.ToUpper(c)} {
			if got := string(m.Header(q)); got != "value-of-"+c {
				t.Errorf("Header(%q) = %q, want value-of-%s", q, got, c)
			}
		}
		if CanonicalName([]byte(c)) != name {
			t.Errorf("CanonicalName(%q) = %q", c, CanonicalName([]byte(c)))
		}
	}
	// And the other way: a long name on the wire is found by its compact form.
	noErr(t, Parse(crlf("SIP/2.0 180 Ringing\ncALL-iD: abc\nVIA: SIP/2.0/UDP h;branch=z9hG4bKx\n\n"), &m))
	eq(t, "Header(i)", m.Header("i"), "abc")
	eq(t, "Header(V)", m.Header("V"), "SIP/2.0/UDP h;branch=z9hG4bKx")
	eq(t, "Call-ID field", m.CallID, "abc")
	eq(t, "branch", m.Branch(), "z9hG4bKx")
	if m.Header("X-Missing") != nil || m.Header("Route") != nil {
		t.Error("absent headers found")
	}
}

func TestFoldingAndLFOnly(t *testing.T) {
	// LF-only line ends, folds with tabs and spaces, and a body counted in LF bytes.
	msg := "MESSAGE sip:b@example.com SIP/2.0\n" +
		"Via: SIP/2.0/UDP\n\t192.0.2.1:5060\n ;branch=z9hG4bKfold\n" +
		"From: <sip:a@example.com>\n  ;tag=f1\n" +
		"To: sip:b@example.com\n" +
		"Call-ID: lf-only\n" +
		"CSeq:\n 7\n MESSAGE\n" +
		"Subject: one\n two\n\tthree\n" +
		"Content-Type: text/plain\n" +
		"Content-Length: 6\n" +
		"\n" +
		"hello\nTRAILING"
	var m Message
	noErr(t, Parse([]byte(msg), &m))
	if m.Invalid != nil {
		t.Fatal(m.Invalid)
	}
	eq(t, "body", m.Body, "hello\n")
	eq(t, "branch", m.Branch(), "z9hG4bKfold")
	eq(t, "From tag", m.FromTag(), "f1")
	if m.CSeq != 7 || string(m.CSeqMethod) != "MESSAGE" {
		t.Errorf("CSeq %d %q", m.CSeq, m.CSeqMethod)
	}
	eq(t, "Subject unfolded", Unfold(nil, m.Header("Subject")), "one two three")
	v, err := ParseVia(m.Via)
	noErr(t, err)
	if string(v.Host) != "192.0.2.1" || v.Port != 5060 {
		t.Errorf("Via host %q port %d", v.Host, v.Port)
	}
}

func TestMultiValue(t *testing.T) {
	msg := crlf(`SIP/2.0 200 OK
Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com;branch=z9hG4bK2
v: SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bK3;received=2001:db8::9
Contact: "Doe, John" <sip:john@example.com;x=1,2>;q=0.5, <sip:j2@example.com>
Contact: *
Date: Sat, 13 Nov 2010 23:29:00 GMT
X-Custom: a, b
From: <sip:a@example.com>;tag=1
To: <sip:b@example.com>;tag=2
Call-ID: mv
CSeq: 1 REGISTER
Content-Length: 0

`)
	var m Message
	noErr(t, Parse(msg, &m))
	if m.Invalid != nil {
		t.Fatal(m.Invalid)
	}
	vias := collect(m.Values("Via"))
	if len(vias) != 3 {
		t.Fatalf("Via values %q", vias)
	}
	eq(t, "top Via", m.Via, "SIP/2.0/UDP a.example.com;branch=z9hG4bK1")
	v, err := ParseVia(vias[2])
	noErr(t, err)
	if string(v.Host) != "[2001:db8::1]" || v.Port != 5061 || string(v.Transport) != "TLS" || string(v.Param("received")) != "2001:db8::9" {
		t.Errorf("IPv6 Via = %+v", v)
	}
	contacts := collect(m.Values("m"))
	want := []string{`"Doe, John" <sip:john@example.com;x=1,2>;q=0.5`, "<sip:j2@example.com>", "*"}
	if len(contacts) != len(want) {
		t.Fatalf("Contact values %q", contacts)
	}
	for i := range want {
		eq(t, "Contact", contacts[i], want[i])
	}
	// Headers that are not lists are yielded whole.
	if got := collect(m.Values("Date")); len(got) != 1 {
		t.Errorf("Date split into %q", got)
	}
	if got := collect(m.Values("x-custom")); len(got) != 1 || string(got[0]) != "a, b" {
		t.Errorf("unknown header split into %q", got)
	}
	// Stopping early is honoured.
	n := 0
	for range m.Values("Via") {
		n++
		break
	}
	if n != 1 {
		t.Error("Values did not stop")
	}
}

func TestBodyFraming(t *testing.T) {
	head := "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKb\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: body\r\nCSeq: 1 INVITE\r\n"
	tests := []struct {
		name    string
		msg     string
		body    string
		cl      int
		invalid error
	}{
		{"no Content-Length on UDP: the rest", head + "\r\nv=0\r\nrest", "v=0\r\nrest", -1, nil},
		{"exact", head + "l: 3\r\n\r\nabc", "abc", 3, nil},
		{"trailing bytes ignored", head + "Content-Length: 3\r\n\r\nabcdef", "abc", 3, nil},
		{"larger than data", head + "Content-Length: 10\r\n\r\nabc", "abc", 10, ErrTruncated},
		{"not a number", head + "Content-Length: x\r\n\r\nabc", "abc", -1, ErrBadContentLength},
		{"headers not terminated", head + "Content-Length: 0\r\n", "", 0, ErrUnterminated},
		{"CRLF keep-alives before the start line", "\r\n\r\n" + head + "Content-Length: 0\r\n\r\n", "", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			noErr(t, Parse([]byte(tc.msg), &m))
			eq(t, "body", m.Body, tc.body)
			if m.ContentLength != tc.cl {
				t.Errorf("ContentLength %d, want %d", m.ContentLength, tc.cl)
			}
			if !errors.Is(m.Invalid, tc.invalid) || (tc.invalid == nil) != (m.Invalid == nil) {
				t.Errorf("Invalid = %v, want %v", m.Invalid, tc.invalid)
			}
			if !strings.HasPrefix(string(m.Raw), "INVITE") || !strings.HasSuffix(string(m.Raw), tc.body) {
				t.Errorf("Raw = %q", m.Raw)
			}
		})
	}
}

func TestNotSIP(t *testing.T) {
	for _, in := range []string{
		"", "\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n", "\x00\x01\x02\x03",
		"INVITE\r\n\r\n", "INVITE sip:a@b\r\n\r\n", "SIP/2.0\r\n", "SIP/2.0 20 OK\r\n\r\n", "SIP/2.0 700 Big\r\n\r\n",
		"SIP/2.0 2000 OK\r\n\r\n", "INV ITE sip:a@b SIP/2.0 x\r\n\r\n",
	} {
		var m Message
		if err := Parse([]byte(in), &m); err == nil {
			t.Errorf("Parse(%q) succeeded: %+v", in, m)
		}
		if LooksLikeSIP([]byte(in)) {
			t.Errorf("LooksLikeSIP(%q) = true", in)
		}
	}
}

func TestBadHeaderLinesAreSkipped(t *testing.T) {
	// The header without a colon is reported, the others are still read (as tshark does with
	// the PcapPlusPlus "Content-Lengt" BYE).
	msg := crlf("BYE sip:b@h SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKq\nGarbage line\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>;tag=2\nCall-ID: skip\nCSeq: 2 BYE\n\n")
	var m Message
	noErr(t, Parse(msg, &m))
	if !errors.Is(m.Invalid, ErrBadHeader) {
		t.Errorf("Invalid = %v", m.Invalid)
	}
	eq(t, "Call-ID after the bad line", m.CallID, "skip")
	eq(t, "To tag", m.ToTag(), "2")
}

func TestReuseLeavesNothingBehind(t *testing.T) {
	var m Message
	noErr(t, Parse(inviteWire(), &m))
	noErr(t, Parse(crlf(okResponse), &m))
	if m.IsRequest || m.Method != nil || m.UserAgent != nil || m.ContentType != nil || m.Invalid != nil || len(m.Headers()) != 9 {
		t.Errorf("state from the INVITE survived: method %q UA %q type %q invalid %v, %d headers", m.Method, m.UserAgent, m.ContentType, m.Invalid, len(m.Headers()))
	}
	eq(t, "To tag", m.ToTag(), "8d7c6b5a")
	if m.Header("User-Agent") != nil || m.Header("Content-Type") != nil {
		t.Error("header from the previous message found")
	}
	noErr(t, Parse([]byte("OPTIONS sip:x@h SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n"), &m))
	if m.Header("Record-Route") != nil || m.CallID != nil || !errors.Is(m.Invalid, ErrMissingHeader) {
		t.Errorf("after a minimal message: Call-ID %q, Invalid %v", m.CallID, m.Invalid)
	}
}

// TestParseDoesNotAllocate guards the per-packet path: parsing into a reused Message and using
// the accessors every analysis calls must not allocate.
func TestParseDoesNotAllocate(t *testing.T) {
	invite, ok := inviteWire(), crlf(okResponse)
	var m Message
	var s SDP
	noErr(t, Parse(invite, &m)) // grow the reused storage once
	noErr(t, ParseSDP(m.SDPBody(), &s))
	sink := 0
	allocs := testing.AllocsPerRun(200, func() {
		for _, data := range [][]byte{invite, ok} {
			if err := Parse(data, &m); err != nil || m.Invalid != nil {
				t.Fatal(err, m.Invalid)
			}
			sink += len(m.FromTag()) + len(m.ToTag()) + len(m.Branch()) + len(m.FromUser()) + len(m.ToUser())
			sink += len(m.Header("Contact")) + len(m.Header("X-Unknown")) + len(m.Header("i"))
			for v := range m.Values("Via") {
				sink += len(v)
			}
			if body := m.SDPBody(); body != nil {
				if err := ParseSDP(body, &s); err != nil {
					t.Fatal(err)
				}
				sink += int(s.Direction(0)) + len(s.Connection(0).Address)
				if pt, ok := s.Media[0].TelephoneEvent(); ok {
					sink += pt
				}
			}
			if LooksLikeSIP(data) {
				n, _ := MessageLength(data)
				sink += n
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per INVITE + 200 OK, want 0", allocs)
	}
	_ = sink
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name string
		data []byte
	}{{"INVITE_SDP", inviteWire()}, {"200_OK", crlf(okResponse)}} {
		b.Run(bc.name, func(b *testing.B) {
			var m Message
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				if err := Parse(bc.data, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
		// What call correlation reads of every message, after the cheaper parse.
		b.Run(bc.name+"_unchecked", func(b *testing.B) {
			var m Message
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				if err := ParseUnchecked(bc.data, &m); err != nil {
					b.Fatal(err)
				}
				_, _, _ = m.FromTag(), m.ToTag(), m.Branch()
			}
		})
	}
	b.Run("INVITE_SDP+ParseSDP", func(b *testing.B) {
		data := inviteWire()
		var m Message
		var s SDP
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := Parse(data, &m); err != nil {
				b.Fatal(err)
			}
			if err := ParseSDP(m.SDPBody(), &s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestClone(t *testing.T) {
	data := inviteWire()
	var m Message
	noErr(t, Parse(data, &m))
	c := m.Clone()
	for i := range data {
		data[i] = 'X' // the capture buffer is reused
	}
	eq(t, "cloned Call-ID", c.CallID, "3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f@203.0.113.11")
	eq(t, "cloned branch", c.Branch(), "z9hG4bK-524287-1---6f5e4d3c2b1a0f9e")
	if c.Invalid != nil || len(c.Headers()) != 16 || c.SDPBody() == nil {
		t.Errorf("clone: %v, %d headers", c.Invalid, len(c.Headers()))
	}
	ping := []byte("\r\n\r\n")
	if a := testing.AllocsPerRun(50, func() { _ = Parse(ping, &m) }); a != 0 {
		t.Errorf("a keep-alive costs %v allocations", a)
	}
}

// BenchmarkParseGenerated parses SIP datagrams of a generated class-4/class-5 capture and reads
// what call correlation reads of each: the mix the calls command sees.
func BenchmarkParseGenerated(b *testing.B) {
	path := filepath.Join(b.TempDir(), "gen.pcap")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := synth.Generate(synth.Config{Calls: 2000, Seed: 1}, f, nil); err != nil {
		b.Fatal(err)
	}
	f.Close()
	// The first thousand messages (about 450 KB) stay in cache, as a capture's next messages do
	// when the reader has just copied them in.
	ds := udpPayloads(b, path, LooksLikeSIP)[:1000]
	size := 0
	for _, d := range ds {
		size += len(d.payload)
	}
	for _, mode := range []struct {
		name  string
		parse func([]byte, *Message) error
	}{{"checked", Parse}, {"unchecked", ParseUnchecked}} {
		b.Run(mode.name, func(b *testing.B) {
			var m Message
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				for _, d := range ds {
					if err := mode.parse(d.payload, &m); err != nil {
						b.Fatal(err)
					}
					_, _, _ = m.FromTag(), m.ToTag(), m.Branch()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ds)), "ns/msg")
		})
	}
}

// TestFieldInitial: every header ParseUnchecked reads, in its long or compact form and either
// case, starts with a letter fieldInitial lets through (a line starting otherwise is skipped).
func TestFieldInitial(t *testing.T) {
	n := 0
	for id := hdrID(1); id < numHdr; id++ {
		forms := []string{hdrInfo[id].name}
		if c := hdrInfo[id].compact; c != 0 {
			forms = append(forms, string(c))
		}
		for _, form := range forms {
			for _, name := range []string{strings.ToLower(form), strings.ToUpper(form)} {
				if fieldHeader([]byte(name)) == hUnknown {
					continue
				}
				n++
				if !fieldInitial[name[0]] {
					t.Errorf("%s is read by ParseUnchecked but its line would be skipped", name)
				}
			}
		}
	}
	if n != 28 { // 8 headers, 6 with compact forms, in two cases
		t.Errorf("%d spellings read by ParseUnchecked", n)
	}
}

// TestNoteHeaders: a message parsed with NoteHeaders hands EachHeaderIn the noted lines, folded
// values joined, without reading the header block again; past eight lines it reads it all.
func TestNoteHeaders(t *testing.T) {
	var names HeaderNames
	for _, n := range []string{"X-ORIGINAL-CALLID", "Session-ID"} {
		names.Add(n)
	}
	msg := "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n" +
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n" +
		"X-ORIGINAL-CALLID: first\r\n  part\r\nSupported: timer\r\nsession-id : ab12\r\nContent-Length: 0\r\n\r\n"
	var m Message
	m.NoteHeaders(&names)
	if err := ParseUnchecked([]byte(msg), &m); err != nil {
		t.Fatal(err)
	}
	var got []string
	m.EachHeaderIn(&names, func(n, v []byte) { got = append(got, string(n)+"="+string(v)) })
	want := []string{"X-ORIGINAL-CALLID=first\r\n  part", "session-id=ab12"}
	if !slices.Equal(got, want) || m.nNoted != 3 { // Supported is noted too (an S), then passed over
		t.Errorf("saw %q with %d lines noted; want %q with 3", got, m.nNoted, want)
	}
	// Nine lines of noted initials: more than it notes.
	many := strings.Replace(msg, "Supported: timer\r\n", strings.Repeat("Supported: timer\r\n", 9), 1)
	if err := ParseUnchecked([]byte(many), &m); err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	m.EachHeaderIn(&names, func(n, v []byte) { got = append(got, string(n)+"="+string(v)) })
	if !slices.Equal(got, want) || int(m.nNoted) <= len(m.noted) {
		t.Errorf("with nine noted lines: saw %q (%d noted); want %q from a full read", got, m.nNoted, want)
	}
}

// TestFieldHeaderFolding compares fieldHeader, which compares names a word at a time, with
// lookupHeader for every case spelling of the names it reads and for every single-byte change of
// each (CR and the bytes that fold like letters or dashes among them).
func TestFieldHeaderFolding(t *testing.T) {
	want := func(name []byte) hdrID {
		switch id := lookupHeader(name); id {
		case hCallID, hFrom, hTo, hVia, hCSeq, hContentLength, hContentType, hUserAgent:
			return id
		}
		return hUnknown
	}
	check := func(name []byte) {
		if got, w := fieldHeader(name), want(name); got != w {
			t.Fatalf("fieldHeader(%q) = %d, want %d", name, got, w)
		}
	}
	checked := 0
	for _, id := range []hdrID{hCallID, hFrom, hTo, hVia, hCSeq, hContentLength, hContentType, hUserAgent} {
		base := []byte(hdrInfo[id].name)
		for bits := range 1 << len(base) { // every spelling in upper and lower case
			name := bytes.Clone(base)
			for i := range name {
				if bits&(1<<i) != 0 {
					name[i] = upper(name[i])
				} else {
					name[i] = lower(name[i])
				}
			}
			check(name)
			checked++
		}
		for i := range base { // every byte replaced by every value
			for c := range 256 {
				name := bytes.Clone(base)
				name[i] = byte(c)
				check(name)
				checked++
			}
		}
		check(base[:len(base)-1])
		check(append(bytes.Clone(base), 'x'))
	}
	if checked < 30000 {
		t.Fatalf("only %d names checked", checked)
	}
}
