package dns

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

func rr(t testing.TB, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// response builds an answer to an SRV query for a P-CSCF, with the record types IMS lookups meet.
func response(t testing.TB) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion("_sip._udp.pcscf.ims.example.", dns.TypeSRV)
	q.Id = 0x1234
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	m.RecursionAvailable = true
	m.Answer = []dns.RR{
		rr(t, "_sip._udp.pcscf.ims.example. 300 IN SRV 10 60 5060 pcscf1.ims.example."),
		rr(t, `ims.example. 60 IN NAPTR 10 50 "s" "SIP+D2U" "" _sip._udp.ims.example.`),
		rr(t, "pcscf1.ims.example. 300 IN A 192.0.2.10"),
		rr(t, "pcscf1.ims.example. 300 IN AAAA 2001:db8::10"),
		rr(t, "alias.ims.example. 300 IN CNAME pcscf1.ims.example."),
		rr(t, `ims.example. 300 IN TXT "v=spf1 -all"`),
		rr(t, "10.2.0.192.in-addr.arpa. 300 IN PTR pcscf1.ims.example."),
	}
	m.Ns = []dns.RR{rr(t, "ims.example. 3600 IN SOA ns.ims.example. admin.ims.example. 7 3600 600 86400 60")}
	m.SetEdns0(1232, true)
	return m
}

func TestDecode(t *testing.T) {
	m, err := Decode(pack(t, response(t)))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 0x1234 || !m.Response || m.Opcode != "QUERY" || !m.Authoritative || !m.RecursionDesired ||
		!m.RecursionAvailable || m.Truncated || m.Rcode != 0 || m.RcodeName != "NOERROR" {
		t.Errorf("header: %+v", m)
	}
	if want := []Question{{Name: "_sip._udp.pcscf.ims.example.", Type: "SRV", Class: "IN", QType: 33}}; !reflect.DeepEqual(m.Questions, want) {
		t.Errorf("questions %+v", m.Questions)
	}
	want := []RR{
		{"_sip._udp.pcscf.ims.example.", "SRV", "IN", 300, "10 60 5060 pcscf1.ims.example."},
		{"ims.example.", "NAPTR", "IN", 60, `10 50 "s" "SIP+D2U" "" _sip._udp.ims.example.`},
		{"pcscf1.ims.example.", "A", "IN", 300, "192.0.2.10"},
		{"pcscf1.ims.example.", "AAAA", "IN", 300, "2001:db8::10"},
		{"alias.ims.example.", "CNAME", "IN", 300, "pcscf1.ims.example."},
		{"ims.example.", "TXT", "IN", 300, `"v=spf1 -all"`},
		{"10.2.0.192.in-addr.arpa.", "PTR", "IN", 300, "pcscf1.ims.example."},
	}
	if !reflect.DeepEqual(m.Answers, want) {
		t.Errorf("answers:\n got %+v\nwant %+v", m.Answers, want)
	}
	if len(m.Authority) != 1 || m.Authority[0].Type != "SOA" ||
		m.Authority[0].Data != "ns.ims.example. admin.ims.example. 7 3600 600 86400 60" {
		t.Errorf("authority %+v", m.Authority)
	}
	if m.Additional != nil || m.EDNS == nil || *m.EDNS != (EDNS{UDPSize: 1232, DO: true}) {
		t.Errorf("the OPT record: additional %+v, EDNS %+v", m.Additional, m.EDNS)
	}
	wantAddrs := []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}
	if got := m.Addresses(); !reflect.DeepEqual(got, wantAddrs) {
		t.Errorf("addresses %v", got)
	}
}

func TestDecodeRcodes(t *testing.T) {
	q := new(dns.Msg)
	q.SetQuestion("nope.ims.example.", dns.TypeA)
	nx := new(dns.Msg)
	nx.SetRcode(q, dns.RcodeNameError)
	badvers := new(dns.Msg)
	badvers.SetReply(q)
	badvers.SetEdns0(1232, false)
	badvers.Rcode = dns.RcodeBadVers // 16: the upper bits travel in the OPT record
	unknownType := new(dns.Msg)
	unknownType.SetQuestion("x.example.", 65400)
	for _, tc := range []struct {
		name        string
		msg         *dns.Msg
		rcode       int
		rcodeName   string
		qtype, qcls string
	}{
		{"NXDOMAIN", nx, 3, "NXDOMAIN", "A", "IN"},
		{"extended rcode", badvers, 16, dns.RcodeToString[16], "A", "IN"},
		{"unnamed type", unknownType, 0, "NOERROR", "TYPE65400", "IN"},
	} {
		m, err := Decode(pack(t, tc.msg))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if m.Rcode != tc.rcode || m.RcodeName != tc.rcodeName || m.Questions[0].Type != tc.qtype || m.Questions[0].Class != tc.qcls {
			t.Errorf("%s: rcode %d %q, question %+v", tc.name, m.Rcode, m.RcodeName, m.Questions[0])
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	b := pack(t, response(t))
	m, err := Decode(b[:len(b)-30])
	if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "dns: ") {
		t.Fatalf("truncated: %v", err)
	}
	if m == nil || m.ID != 0x1234 || len(m.Questions) != 1 || len(m.Answers) != 7 {
		t.Errorf("truncated: the parsed part is lost: %+v", m)
	}
	if m, err := Decode(b[:11]); !errors.Is(err, ErrShort) || m != nil {
		t.Errorf("11 bytes: %v, %v", m, err)
	}
	// A header alone (REFUSED answers sometimes are just that) is a message.
	if m, err := Decode(b[:HeaderLength]); err != nil || m.ID != 0x1234 {
		t.Errorf("header only: %v, %v", m, err)
	}
}

// The NAPTR answer of a real RCS lookup, field by field as tshark shows it.
func TestNAPTRCapture(t *testing.T) {
	msgs := dnsMessages(t, corpus.Path(t, "third_party/zeek/dns/naptr.pcap"))
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	m, err := Decode(msgs[1].data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Answers) == 0 || m.Answers[0].Type != "NAPTR" || m.Answers[0].TTL != 168 ||
		m.Answers[0].Data != `100 100 "s" "SIPS+D2T" "" _sips._tcp.fp-de-carrier-vodafone.rcs.telephony.goog.` {
		t.Errorf("NAPTR answer %+v", m.Answers)
	}
}

func TestJSON(t *testing.T) {
	m, err := Decode(pack(t, response(t)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Message
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.Msg = m.Msg // not marshalled
	if !reflect.DeepEqual(&back, m) {
		t.Errorf("JSON round trip:\n%s", b)
	}
	if !bytes.Contains(b, []byte(`"rcode_name":"NOERROR"`)) || !bytes.Contains(b, []byte(`"edns":{"udp_size":1232,"version":0,"do":true}`)) {
		t.Errorf("JSON: %s", b)
	}
}

func TestMessageLength(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		n    int
		bad  bool
	}{
		{"empty", nil, 0, false},
		{"one byte", []byte{0}, 0, false},
		{"prefix below a header", []byte{0, 11}, 0, true},
		{"zero prefix", []byte{0, 0, 1, 2}, 0, true},
		{"prefix, no message", []byte{0, 12}, 0, false},
		{"header complete", append([]byte{0, 12}, make([]byte, 12)...), 14, false},
		{"next message follows", append([]byte{0, 12}, make([]byte, 20)...), 14, false},
		{"largest", append([]byte{0xff, 0xff}, make([]byte, 0xffff)...), 0x10001, false},
	} {
		n, err := MessageLength(tc.in)
		if n != tc.n || (err != nil) != tc.bad || (err != nil && !errors.Is(err, ErrBadLength)) {
			t.Errorf("%s: %d, %v; want %d, error %v", tc.name, n, err, tc.n, tc.bad)
		}
	}
}

// Several messages in one segment, and messages split across segments at every offset.
func TestMessageLengthStream(t *testing.T) {
	var msgs [][]byte
	q := new(dns.Msg)
	q.SetQuestion("pcscf.ims.example.", dns.TypeAAAA)
	msgs = append(msgs, pack(t, q), pack(t, response(t)))
	a := new(dns.Msg)
	a.SetReply(q)
	a.Answer = []dns.RR{rr(t, "pcscf.ims.example. 1 IN AAAA 2001:db8::1")}
	msgs = append(msgs, pack(t, a))
	var stream []byte
	for _, m := range msgs {
		stream = append(stream, byte(len(m)>>8), byte(len(m)))
		stream = append(stream, m...)
	}
	for size := 1; size <= len(stream); size++ {
		var buf []byte
		var got [][]byte
		for off := 0; off < len(stream); off += size {
			buf = append(buf, stream[off:min(off+size, len(stream))]...)
			for {
				n, err := MessageLength(buf)
				if err != nil {
					t.Fatalf("size %d: %v", size, err)
				}
				if n == 0 {
					break
				}
				got = append(got, buf[2:n])
				buf = buf[n:]
			}
		}
		if len(got) != len(msgs) || len(buf) != 0 {
			t.Fatalf("size %d: %d messages, %d bytes left", size, len(got), len(buf))
		}
		for i := range msgs {
			if !bytes.Equal(got[i], msgs[i]) {
				t.Fatalf("size %d: message %d differs", size, i)
			}
		}
	}
}
