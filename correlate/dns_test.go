package correlate

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/dns"
)

const (
	resolver = "10.0.0.5:40000"
	server   = "10.0.0.53:53"
	server2  = "10.0.0.54:53"
)

type dnsStep struct {
	at       time.Duration
	src, dst string
	resp     bool
	id       uint16
	qname    string // "" for a response without question
	qtype    uint16
	rcode    int
}

func (s dnsStep) message() (decode.Envelope, *dns.Message) {
	m := &dns.Message{ID: s.id, Response: s.resp, Opcode: "QUERY", Rcode: s.rcode, RcodeName: map[int]string{0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}[s.rcode]}
	if s.qname != "" {
		m.Questions = []dns.Question{{Name: s.qname, QType: s.qtype, Type: map[uint16]string{1: "A", 28: "AAAA", 33: "SRV", 35: "NAPTR"}[s.qtype], Class: "IN"}}
	}
	return decode.Envelope{Time: t0.Add(s.at), Src: netip.MustParseAddrPort(s.src), Dst: netip.MustParseAddrPort(s.dst), Transport: decode.UDP}, m
}

type dnsWant struct {
	status    PairStatus
	id        uint16
	latency   time.Duration
	retrans   int
	evicted   bool
	afterStep int // -1 for Flush
}

func TestDNSPairer(t *testing.T) {
	const srv = "_sip._udp.ims.example."
	for _, tc := range []struct {
		name  string
		opts  PairOptions
		steps []dnsStep
		want  []dnsWant
	}{
		{"answered", PairOptions{}, []dnsStep{
			{0, resolver, server, false, 1, srv, 33, 0},
			{3 * time.Millisecond, server, resolver, true, 1, srv, 33, 0},
		}, []dnsWant{{PairAnswered, 1, 3 * time.Millisecond, 0, false, 1}}},
		{"unanswered at the end", PairOptions{}, []dnsStep{
			{0, resolver, server, false, 1, srv, 33, 0},
		}, []dnsWant{{PairUnanswered, 1, 0, 0, false, -1}}},
		{"unanswered by timeout", PairOptions{Timeout: 5 * time.Second}, []dnsStep{
			{0, resolver, server, false, 1, srv, 33, 0},
			{6 * time.Second, resolver, server, false, 2, srv, 35, 0},
		}, []dnsWant{{PairUnanswered, 1, 0, 0, false, 1}, {PairUnanswered, 2, 0, 0, false, -1}}},
		{"orphan response", PairOptions{}, []dnsStep{
			{0, server, resolver, true, 9, srv, 33, 0},
		}, []dnsWant{{PairOrphan, 9, 0, 0, false, 0}}},
		{"retransmitted query", PairOptions{}, []dnsStep{
			{0, resolver, server, false, 1, srv, 33, 0},
			{time.Second, resolver, server, false, 1, srv, 33, 0},
			{3 * time.Second, resolver, server, false, 1, srv, 33, 0},
			{3100 * time.Millisecond, server, resolver, true, 1, srv, 33, 2},
		}, []dnsWant{{PairAnswered, 1, 3100 * time.Millisecond, 2, false, 3}}},
		{"question echoed in another case", PairOptions{}, []dnsStep{
			{0, resolver, server, false, 1, "_SIP._udp.IMS.example.", 33, 0},
			{time.Millisecond, server, resolver, true, 1, "_sip._UDP.ims.EXAMPLE.", 33, 3},
		}, []dnsWant{{PairAnswered, 1, time.Millisecond, 0, false, 1}}},
		{"same id, other question", PairOptions{}, []dnsStep{
			{0, resolver, server, false, 1, srv, 33, 0},
			{time.Millisecond, resolver, server, false, 1, "pcscf.ims.example.", 1, 0},
			{2 * time.Millisecond, server, resolver, true, 1, "pcscf.ims.example.", 1, 0},
		}, []dnsWant{{PairAnswered, 1, time.Millisecond, 0, false, 2}, {PairUnanswered, 1, 0, 0, false, -1}}},
		{"response without question", PairOptions{}, []dnsStep{
			{0, resolver, server, false, 1, srv, 33, 0},
			{time.Millisecond, resolver, server, false, 1, "pcscf.ims.example.", 1, 0},
			{2 * time.Millisecond, server, resolver, true, 1, "", 0, 5},
		}, []dnsWant{{PairAnswered, 1, 2 * time.Millisecond, 0, false, 2}, {PairUnanswered, 1, 0, 0, false, -1}}},
		{"response from another server", PairOptions{}, []dnsStep{
			{0, resolver, server, false, 1, srv, 33, 0},
			{time.Millisecond, server2, resolver, true, 1, srv, 33, 0},
		}, []dnsWant{{PairOrphan, 1, 0, 0, false, 1}, {PairUnanswered, 1, 0, 0, false, -1}}},
		{"eviction beyond MaxOpen", PairOptions{MaxOpen: 1}, []dnsStep{
			{0, resolver, server, false, 1, srv, 33, 0},
			{time.Millisecond, resolver, server, false, 2, srv, 33, 0},
		}, []dnsWant{{PairUnanswered, 1, 0, 0, true, 1}, {PairUnanswered, 2, 0, 0, false, -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewDNSPairer(tc.opts)
			var got []dnsWant
			record := func(step int, ts []DNSTransaction) {
				for _, tr := range ts {
					got = append(got, dnsWant{tr.Status, tr.Message().ID, tr.Latency, len(tr.Retransmissions), tr.Evicted, step})
				}
			}
			for i, s := range tc.steps {
				record(i, p.Add(s.message()))
			}
			record(-1, p.Flush())
			if p.Open() != 0 || len(p.pending.byKey) != 0 {
				t.Errorf("state left after Flush: %d open, %d keys", p.Open(), len(p.pending.byKey))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("transaction %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestDNSStats(t *testing.T) {
	p := NewDNSPairer(PairOptions{})
	// Ten SRV lookups answered in 1..10 ms, the even ones NXDOMAIN; two A lookups unanswered, one
	// retransmitted; an orphan NAPTR response.
	for i := 1; i <= 10; i++ {
		start := time.Duration(i) * time.Second
		p.Add(dnsStep{start, resolver, server, false, uint16(i), "_sip._udp.ims.example.", 33, 0}.message())
		p.Add(dnsStep{start + time.Duration(i)*time.Millisecond, server, resolver, true, uint16(i), "_sip._udp.ims.example.", 33, 3 * (1 - i%2)}.message())
	}
	p.Add(dnsStep{20 * time.Second, resolver, server, false, 100, "pcscf.ims.example.", 1, 0}.message())
	p.Add(dnsStep{21 * time.Second, resolver, server, false, 100, "pcscf.ims.example.", 1, 0}.message())
	p.Add(dnsStep{22 * time.Second, resolver, server, false, 101, "scscf.ims.example.", 1, 0}.message())
	p.Add(dnsStep{23 * time.Second, server, resolver, true, 7, "ims.example.", 35, 0}.message())
	p.Flush()

	st := p.Stats()
	if st.Answered != 10 || st.Unanswered != 2 || st.Orphans != 1 || st.Retransmissions != 1 || st.Evicted != 0 {
		t.Errorf("totals %+v", st)
	}
	wantTypes := []DNSTypeStats{
		{QType: 1, Type: "A", Unanswered: 2, Retransmissions: 1},
		{QType: 33, Type: "SRV", Answered: 10, Latency: Latency{10, 5 * time.Millisecond, 9 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}},
		{QType: 35, Type: "NAPTR", Orphans: 1},
	}
	if len(st.ByType) != len(wantTypes) {
		t.Fatalf("by type %+v", st.ByType)
	}
	for i := range wantTypes {
		if st.ByType[i] != wantTypes[i] {
			t.Errorf("by type %d:\n got %+v\nwant %+v", i, st.ByType[i], wantTypes[i])
		}
	}
	// NOERROR: 1, 3, 5, 7, 9 ms; NXDOMAIN: 2, 4, 6, 8, 10 ms.
	wantRcodes := []DNSRcodeStats{
		{0, "NOERROR", Latency{5, 5 * time.Millisecond, 9 * time.Millisecond, 9 * time.Millisecond, 9 * time.Millisecond}},
		{3, "NXDOMAIN", Latency{5, 6 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}},
	}
	if len(st.ByRcode) != 2 || st.ByRcode[0] != wantRcodes[0] || st.ByRcode[1] != wantRcodes[1] {
		t.Errorf("by rcode:\n got %+v\nwant %+v", st.ByRcode, wantRcodes)
	}
}
