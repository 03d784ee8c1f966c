package filters

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	dnsdec "github.com/sigtrace/sigtrace/decode/dns"
	"github.com/sigtrace/sigtrace/decode/sip"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

const invite = "INVITE sip:+4930123@ims.example.net;user=phone SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 10.1.2.3:5060;branch=z9hG4bK-abc\r\n" +
	"Via: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bK-old\r\n" +
	"From: \"Alice\" <sip:alice@example.net>;tag=f1\r\n" +
	"To: <sip:+4930123@ims.example.net>\r\n" +
	"Call-ID: call-1@10.1.2.3\r\n" +
	"CSeq: 7 INVITE\r\n" +
	"User-Agent: Phone/1.0\r\n" +
	"X-Foo: bar\r\n" +
	"Content-Type: application/sdp\r\n" +
	"Content-Length: 9\r\n\r\n" +
	"v=0\r\no=x\r\n"

const busy = "SIP/2.0 486 Busy Here\r\n" +
	"Via: SIP/2.0/UDP 10.1.2.3:5060;branch=z9hG4bK-abc\r\n" +
	"f: <sip:alice@example.net>;tag=f1\r\n" +
	"To: <sip:+4930123@ims.example.net>;tag=t9\r\n" +
	"i: call-1@10.1.2.3\r\n" +
	"CSeq: 7 INVITE\r\n" +
	"Server: SBC\r\n" +
	"Content-Length: 0\r\n\r\n"

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 500_000_000, time.UTC)

func sipMessage(t testing.TB, raw string, src, dst string) *decode.Message {
	t.Helper()
	s := new(sip.Message)
	if err := sip.Parse([]byte(raw), s); err != nil {
		t.Fatal(err)
	}
	return &decode.Message{
		Envelope: decode.Envelope{Time: t0, Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst),
			Transport: decode.UDP, Frame: 12, Input: "a.pcap"},
		Protocol: decode.ProtoSIP, SIP: s, Payload: s.Raw,
	}
}

func dnsMessage(t testing.TB, build func(m *mdns.Msg)) *decode.Message {
	t.Helper()
	m := new(mdns.Msg)
	build(m)
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	dm, err := dnsdec.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return &decode.Message{
		DNS: dm,
		Envelope: decode.Envelope{Time: t0, Src: netip.MustParseAddrPort("[2001:db8::1]:40000"),
			Dst: netip.MustParseAddrPort("[2001:db8::53]:53"), Transport: decode.UDP, Frame: 3, Input: "-"},
		Protocol: decode.ProtoDNS, Payload: b,
	}
}

func srvQuery(m *mdns.Msg) {
	m.SetQuestion("_sip._udp.pcscf.ims.mnc001.mcc001.3gppnetwork.org.", mdns.TypeSRV)
	m.Id = 4660
}

// srvAnswer answers srvQuery with two SRV records and the A and AAAA of one target.
func srvAnswer(m *mdns.Msg) {
	q := new(mdns.Msg)
	srvQuery(q)
	m.SetReply(q)
	m.Authoritative = true
	for _, rr := range []string{
		"_sip._udp.pcscf.ims.mnc001.mcc001.3gppnetwork.org. 60 IN SRV 10 50 5060 pcscf1.ims.mnc001.mcc001.3gppnetwork.org.",
		"_sip._udp.pcscf.ims.mnc001.mcc001.3gppnetwork.org. 60 IN SRV 20 50 5060 pcscf2.ims.mnc001.mcc001.3gppnetwork.org.",
		"pcscf1.ims.mnc001.mcc001.3gppnetwork.org. 60 IN A 10.4.128.21",
		"pcscf1.ims.mnc001.mcc001.3gppnetwork.org. 60 IN AAAA 2001:db8::21",
	} {
		r, err := mdns.NewRR(rr)
		if err != nil {
			panic(err)
		}
		m.Answer = append(m.Answer, r)
	}
}

func nxdomain(m *mdns.Msg) {
	q := new(mdns.Msg)
	q.SetQuestion("nowhere.example.com.", mdns.TypeA)
	m.SetRcode(q, mdns.RcodeNameError)
}

type fieldCase struct {
	expr string
	want bool
}

// TestMessageFields evaluates every message field on hand-made messages whose values are known.
func TestMessageFields(t *testing.T) {
	inv := sipMessage(t, invite, "10.1.2.3:5060", "192.0.2.7:5060")
	resp := sipMessage(t, busy, "192.0.2.7:5060", "10.1.2.3:5060")
	resp.Transport = decode.TCP
	resp.Duplicate = true
	resp.HEP = &decode.HEPInfo{Version: 3, CaptureID: 2001, Node: "sbc-1"}
	q := dnsMessage(t, srvQuery)
	nx := dnsMessage(t, nxdomain)
	ans := dnsMessage(t, srvAnswer)
	tests := []struct {
		name  string
		m     *decode.Message
		cases []fieldCase
	}{
		{"invite", inv, []fieldCase{
			{`sip`, true}, {`diameter`, false}, {`dns`, false}, {`not dns`, true},
			{`sip.method == "INVITE"`, true}, {`sip.method == "invite"`, false}, {`sip.method != "OPTIONS"`, true},
			{`sip.status == 486`, false}, {`sip.status != 486`, false}, {`not (sip.status == 486)`, true},
			{`sip.reason`, false}, {`sip.request`, true}, {`sip.response`, false},
			{`sip.request_uri startsWith "sip:+4930123@"`, true}, {`sip.ruri endsWith "user=phone"`, true},
			{`sip.call_id == "call-1@10.1.2.3"`, true}, {`sip.callid contains "10.1.2.3"`, true},
			{`sip.cseq == 7`, true}, {`sip.cseq.seq > 7`, false}, {`sip.cseq.method == "INVITE"`, true},
			{`sip.from contains "Alice"`, true}, {`sip.to == "<sip:+4930123@ims.example.net>"`, true},
			{`sip.from.user == "alice"`, true}, {`sip.to.user == "+4930123"`, true},
			{`sip.from.tag == "f1"`, true}, {`sip.to.tag`, false},
			{`sip.via contains "10.1.2.3"`, true}, {`sip.branch == "z9hG4bK-abc"`, true}, {`sip.via.branch == "z9hG4bK-old"`, false},
			{`sip.ua == "Phone/1.0"`, true}, {`sip.user_agent matches "^Phone/[0-9.]+$"`, true}, {`sip.server`, false},
			{`sip.content_type == "application/sdp"`, true}, {`sip.body startsWith "v=0"`, true}, {`sip.body contains hex("6f3d78")`, true},
			{`sip.header("X-Foo") == "bar"`, true}, {`sip.header("x-foo") == "bar"`, true}, {`sip.header("X-Bar")`, false},
			{`sip.header("i") == "call-1@10.1.2.3"`, true},
			{`ip.src == "10.1.2.3"`, true}, {`ip.src in "10.0.0.0/8"`, true}, {`ip.src == "10.0.0.0/8"`, true},
			{`ip.dst in "10.0.0.0/8"`, false}, {`ip.dst in ["10.0.0.0/8", "192.0.2.7"]`, true},
			{`ip.addr == "192.0.2.7"`, true}, {`ip.addr != "192.0.2.7"`, false}, {`ip.addr != "198.51.100.1"`, true},
			{`ipv6.src in "::/0"`, false}, {`ip.src > "10.1.2.2"`, true}, {`ip.host in "192.0.2.0/24"`, true},
			{`port == 5060`, true}, {`src.port == 5060 and dst.port == 5060`, true}, {`udp.port != 5060`, false},
			{`transport == "udp"`, true}, {`transport in ["tcp", "tls"]`, false},
			{`frame.time == "2024-05-01T10:00:00.5Z"`, true}, {`frame.time > "2024-05-01T10:00:00Z"`, true},
			{`frame.time < 1714557600`, false}, {`frame.time_epoch > 1714557600.4 and frame.time_epoch < 1714557600.6`, true},
			{`frame.number == 12`, true}, {`frame == 13`, false}, {`frame.input == "a.pcap"`, true}, {`input endsWith ".pcapng"`, false},
			{`payload contains "X-Foo: bar"`, true}, {`payload startsWith hex("49:4e:56")`, true}, {`sip contains "Phone/1.0"`, true},
			{`dns contains "Phone"`, false}, {`sip matches "CSeq: [0-9]+ INVITE"`, true},
			{`duplicate`, false}, {`malformed`, false}, {`hep`, false}, {`hep.node == "sbc-1"`, false}, {`hep.capture_id > 0`, false},
			{`diameter.cmd.code != 280`, false}, {`dns.qry.name`, false},
			{`sip.method in ["INVITE", "BYE"]`, true}, {`sip.method not in ["INVITE", "BYE"]`, false},
			{`sip.status in 400..699`, false}, {`not (sip.status in 400..699)`, true},
			{`call.outcome == "busy"`, false}, {`call.has("hold")`, false},
		}},
		{"486", resp, []fieldCase{
			{`sip.status == 486`, true}, {`sip.status_code >= 400 and sip.status < 500`, true}, {`sip.status in 400..499`, true},
			{`sip.status in [486, 600, 603]`, true}, {`sip.reason == "Busy Here"`, true}, {`sip.method`, false},
			{`sip.method != "INVITE"`, false}, {`sip.cseq.method == "INVITE"`, true}, {`sip.request_uri`, false},
			{`sip.response and not sip.request`, true}, {`sip.server == "SBC"`, true}, {`sip.from.user == "alice"`, true},
			{`sip.to.tag == "t9"`, true}, {`sip.call_id == "call-1@10.1.2.3"`, true}, {`sip.body`, false}, {`sip.ua`, false},
			{`transport == "tcp"`, true}, {`duplicate`, true}, {`hep`, true}, {`hep.node == "sbc-1"`, true},
			{`hep.capture_id == 2001`, true}, {`-1 < sip.status`, true}, {`486 == sip.status`, true}, {`600 <= sip.status`, false},
		}},
		{"dns query", q, []fieldCase{
			{`dns`, true}, {`sip`, false}, {`dns.qry.name == "_sip._udp.pcscf.ims.mnc001.mcc001.3gppnetwork.org"`, true},
			{`dns.qry.name endsWith ".3gppnetwork.org"`, true}, {`dns.qry.type == 33`, true}, {`dns.qry.type == "SRV"`, true},
			{`dns.qry.type in ["A", "AAAA"]`, false}, {`dns.qry.class == 1`, true}, {`dns.id == 4660`, true},
			{`dns.flags.response`, false}, {`not dns.flags.response`, true}, {`dns.rcode == 0`, true},
			{`dns.count.queries == 1`, true}, {`dns.count.answers == 0`, true}, {`dns.resp.name`, false}, {`dns.a`, false},
			{`dns.flags.authoritative`, false}, {`dns.flags.truncated`, false}, {`dns.answer`, false}, {`dns.resp.type`, false},
			{`dns contains ` + threeGPPNetworkOrg, true}, {`ip.src in "2001:db8::/32"`, true}, {`ipv6.dst == "2001:db8::53"`, true},
			{`dst.port == 53`, true}, {`srcport == 53`, false}, {`frame.input == "-"`, true},
		}},
		{"dns answer", ans, []fieldCase{
			{`dns.flags.response and dns.flags.authoritative and not dns.flags.truncated`, true}, {`dns.count.answers == 4`, true},
			{`dns.resp.name == "pcscf1.ims.mnc001.mcc001.3gppnetwork.org"`, true}, {`dns.resp.name == "pcscf3.example"`, false},
			{`dns.resp.type == "AAAA"`, true}, {`dns.resp.type == 35`, false}, {`dns.resp.type != 33`, false},
			{`dns.a == "10.4.128.21"`, true}, {`dns.a in "10.0.0.0/8"`, true},
			{`dns.aaaa == "2001:db8::21"`, true}, {`dns.a == "2001:db8::21"`, false},
			{`dns.answer contains "20 50 5060 pcscf2"`, true}, {`dns.answer matches "^10 50 5060 "`, true},
			{`dns.answer == "10.4.128.21"`, true}, {`dns.answer contains "pcscf9"`, false},
		}},
		{"dns nxdomain", nx, []fieldCase{
			{`dns.flags.response and dns.rcode == "NXDOMAIN"`, true}, {`dns.rcode != 0`, true}, {`dns.flags.rcode == 3`, true},
			{`dns.qry.name == "nowhere.example.com"`, true}, {`dns.qry.type == "A"`, true},
			{`dns contains ` + threeGPPNetworkOrg, false},
		}},
	}
	for _, tt := range tests {
		for _, c := range tt.cases {
			f, err := Compile(c.expr)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if got := f.MatchMessage(tt.m); got != c.want {
				t.Errorf("%s: %s = %v, want %v", tt.name, c.expr, got, c.want)
			}
		}
	}
}

func TestCallFields(t *testing.T) {
	t1 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	busyCall := &correlate.Call{CallID: "call-1@10.1.2.3", Outcome: correlate.Busy, FinalStatus: 486, InviteTime: t1,
		RingingTime: t1.Add(2 * time.Second), EndTime: t1.Add(5 * time.Second), EndReason: correlate.EndFinalResponse,
		Legs: []correlate.Leg{{CallID: "call-1@10.1.2.3", From: "alice", To: "+4930123"}, {CallID: "b-leg-7", From: "alice", To: "4930123"}}}
	talk := &correlate.Call{CallID: "c2", Outcome: correlate.Answered, FinalStatus: 200, InviteTime: t1, AnswerTime: t1.Add(3 * time.Second),
		EndTime: t1.Add(98 * time.Second), EndReason: correlate.EndBYE, EndedBy: correlate.CalledSide, Evicted: true,
		Legs:   []correlate.Leg{{CallID: "c2", From: "bob", To: "carol"}},
		Events: []correlate.CallEvent{{Type: correlate.EventHold}, {Type: correlate.EventUnhold}}}
	inv := sipMessage(t, invite, "10.1.2.3:5060", "192.0.2.7:5060")
	resp := sipMessage(t, busy, "192.0.2.7:5060", "10.1.2.3:5060")
	tests := []struct {
		expr        string
		call        *correlate.Call
		msgs        []*decode.Message
		want        bool
		usesMessage bool
	}{
		{`call.outcome == "busy"`, busyCall, nil, true, false},
		{`call.outcome == "busy"`, talk, nil, false, false},
		{`call.id == "call-1@10.1.2.3"`, busyCall, nil, true, false},
		{`call.call_id == "b-leg-7"`, busyCall, nil, true, false},
		{`call.call_id == "b-leg-7"`, talk, nil, false, false},
		{`call.call_id != "c2"`, talk, nil, false, false},
		{`call.from == "alice" and call.to == "+4930123"`, busyCall, nil, true, false},
		{`call.legs > 1`, busyCall, nil, true, false},
		{`call.legs > 1`, talk, nil, false, false},
		{`call.status == 486`, busyCall, nil, true, false},
		{`call.duration > 90 and call.billable < 96`, talk, nil, true, false},
		{`call.duration > 0`, busyCall, nil, false, false},
		{`call.total_duration == 5 and call.pdd == 2`, busyCall, nil, true, false},
		{`call.start == "2024-05-01T10:00:00Z"`, talk, nil, true, false},
		{`call.end_reason == "BYE" and call.ended_by == "called-side"`, talk, nil, true, false},
		{`call.end_reason == "BYE"`, busyCall, nil, false, false},
		{`call.ended_by`, busyCall, nil, false, false},
		{`call.evicted`, talk, nil, true, false},
		{`call.evicted`, busyCall, nil, false, false},
		{`call.has("hold")`, talk, nil, true, false},
		{`call.has("dtmf")`, talk, nil, false, false},
		{`call.has("hold")`, busyCall, nil, false, false},
		// A call matches when any of its messages does.
		{`sip.status == 486`, busyCall, []*decode.Message{inv, resp}, true, true},
		{`sip.status == 503`, busyCall, []*decode.Message{inv, resp}, false, true},
		{`sip.status == 486`, busyCall, nil, false, true},
		// Mixed: call fields are visible while each message is evaluated.
		{`call.legs == 2 and sip.status == 486`, busyCall, []*decode.Message{inv, resp}, true, true},
		{`call.legs == 1 and sip.status == 486`, busyCall, []*decode.Message{inv, resp}, false, true},
	}
	for _, tt := range tests {
		f, err := Compile(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.MatchCall(tt.call, tt.msgs...); got != tt.want {
			t.Errorf("%s on %s: %v, want %v", tt.expr, tt.call.CallID, got, tt.want)
		}
		if f.UsesMessageFields() != tt.usesMessage || f.UsesCallFields() != strings.Contains(tt.expr, "call.") {
			t.Errorf("%s: uses message %v, call %v", tt.expr, f.UsesMessageFields(), f.UsesCallFields())
		}
		// Call fields are absent when a message is matched alone.
		if f.UsesCallFields() && f.MatchMessage(resp) {
			t.Errorf("%s matched a message without a call", tt.expr)
		}
	}
}

// TestDiameterFields reads the fields of real Diameter captures, checked against what tshark
// shows for them (MANIFEST.md).
func TestDiameterFields(t *testing.T) {
	tests := []struct {
		file  string
		cases []fieldCase // each expression must match at least one message...
		none  []string    // ...and these none
	}{
		{"third_party/ndpi/diameter.pcap", []fieldCase{
			{`diameter.cmd.code == 272 and diameter.flags.request and diameter.cmd == "CCR"`, true},
			{`diameter.cmd.name == "CCA" and not diameter.flags.request and diameter.result_code == 2001`, true},
			{`diameter.app_id == 4 and diameter.applicationid == 4`, true},
			{`diameter.origin_host == "nxl1.netxcell.com"`, true},
			{`diameter.destination_host == "dslu1.comverse.com" or diameter.destination_realm contains "comverse"`, true},
			{`diameter.origin_realm`, true},
			{`diameter.session_id == "nxl;api;1263278878147"`, true},
			{`diameter.cc_request_type == 1`, true}, {`diameter.cc_request_type == 3`, true},
			{`diameter.avp("CC-Request-Number") == "2"`, true},
			{`diameter.hop_by_hop > 0 and diameter.end_to_end > 0`, true},
			{`diameter.flags.proxyable or not diameter.flags.proxyable`, true},
			{`port == 3868 and transport == "tcp"`, true},
		}, []string{`diameter.result_code >= 3000`, `diameter.flags.error`, `diameter.flags.retransmit`, `diameter.cmd.code == 280`,
			`sip`, `dns`, `diameter.experimental_result_code`, `diameter.app == "S6a"`, `diameter.avp("cc-request-number") == "3"`}},
		{"third_party/pyhss/Diameter_AIA2.pcapng", []fieldCase{
			{`diameter.cmd == "AIR" and diameter.app_id == 16777251 and diameter.app == "S6a"`, true},
			{`diameter.user_name == "505931111111116"`, true},
			{`diameter.cmd.code == 318 and not diameter.flags.request`, true},
		}, []string{`diameter.public_identity`, `diameter.cc_request_type`}},
	}
	for _, tt := range tests {
		path := corpus.Path(t, tt.file)
		type counted struct {
			f *Filter
			n int
		}
		var all []*counted
		for _, c := range tt.cases {
			all = append(all, &counted{f: mustCompile(t, c.expr)})
		}
		for _, e := range tt.none {
			all = append(all, &counted{f: mustCompile(t, e)})
		}
		_, err := decode.Run(context.Background(), []string{path}, func(m *decode.Message) {
			for _, c := range all {
				if c.f.MatchMessage(m) {
					c.n++
				}
			}
		}, decode.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range all {
			if i < len(tt.cases) && c.n == 0 {
				t.Errorf("%s: no message matches %s", tt.file, c.f)
			}
			if i >= len(tt.cases) && c.n > 0 {
				t.Errorf("%s: %d messages match %s", tt.file, c.n, c.f)
			}
		}
	}
}

func mustCompile(t testing.TB, expr string) *Filter {
	t.Helper()
	f, err := Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestEveryFieldTested fails when a field has no test case here.
func TestEveryFieldTested(t *testing.T) {
	src, err := readOwnTests()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Fields() {
		if !strings.Contains(src, f.Name) {
			t.Errorf("field %s has no test", f.Name)
		}
	}
}
