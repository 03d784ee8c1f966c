package correlate

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/diameter"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	mme   = "10.0.0.1:38412"
	hss   = "10.0.0.2:3868"
	hss2  = "10.0.0.3:3868"
	other = "10.0.0.9:3868"
)

// diamStep is one message fed to the pairer: when, from where to where, and which.
type diamStep struct {
	at       time.Duration
	src, dst string
	req      bool
	retrans  bool // T flag
	hbh, e2e uint32
	result   uint32
}

func (s diamStep) message() (decode.Envelope, *diameter.Message) {
	m := &diameter.Message{
		Version: 1, Flags: diameter.Flags{Request: s.req, Retransmit: s.retrans},
		CommandCode: 316, Command: "Update-Location", ApplicationID: 16777251, Application: "S6a",
		HopByHop: s.hbh, EndToEnd: s.e2e, OriginHost: "mme.example", ResultCode: s.result,
	}
	if s.req {
		m.CommandShort = "ULR"
	} else {
		m.CommandShort, m.OriginHost = "ULA", "hss.example"
	}
	env := decode.Envelope{Time: t0.Add(s.at), Src: netip.MustParseAddrPort(s.src), Dst: netip.MustParseAddrPort(s.dst),
		Transport: decode.SCTP}
	return env, m
}

// diamWant describes one transaction the pairer must emit.
type diamWant struct {
	status    PairStatus
	hbh       uint32 // of the request, or of the orphan answer
	latency   time.Duration
	retrans   int
	result    uint32
	evicted   bool
	afterStep int // index of the step whose Add returns it; -1 for Flush
}

func TestDiameterPairer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  PairOptions
		steps []diamStep
		want  []diamWant
	}{
		{"answered", PairOptions{}, []diamStep{
			{0, mme, hss, true, false, 1, 100, 0},
			{15 * time.Millisecond, hss, mme, false, false, 1, 100, 2001},
		}, []diamWant{{PairAnswered, 1, 15 * time.Millisecond, 0, 2001, false, 1}}},
		{"unanswered at the end", PairOptions{}, []diamStep{
			{0, mme, hss, true, false, 1, 100, 0},
		}, []diamWant{{PairUnanswered, 1, 0, 0, 0, false, -1}}},
		{"timeout in capture time", PairOptions{Timeout: time.Second}, []diamStep{
			{0, mme, hss, true, false, 1, 100, 0},
			{1500 * time.Millisecond, mme, hss, true, false, 2, 101, 0},
			{2 * time.Second, hss, mme, false, false, 2, 101, 5001},
		}, []diamWant{
			{PairUnanswered, 1, 0, 0, 0, false, 1}, // 1.5 s old when the second request is seen
			{PairAnswered, 2, 500 * time.Millisecond, 0, 5001, false, 2},
		}},
		{"answer after the timeout is an orphan", PairOptions{Timeout: time.Second}, []diamStep{
			{0, mme, hss, true, false, 1, 100, 0},
			{3 * time.Second, hss, mme, false, false, 1, 100, 2001},
		}, []diamWant{
			{PairUnanswered, 1, 0, 0, 0, false, 1},
			{PairOrphan, 1, 0, 0, 2001, false, 1},
		}},
		{"orphan answer", PairOptions{}, []diamStep{
			{0, hss, mme, false, false, 7, 700, 2001},
		}, []diamWant{{PairOrphan, 7, 0, 0, 2001, false, 0}}},
		{"same ids from another peer do not answer", PairOptions{}, []diamStep{
			{0, mme, hss, true, false, 1, 100, 0},
			{time.Millisecond, other, mme, false, false, 1, 100, 2001},
		}, []diamWant{
			{PairOrphan, 1, 0, 0, 2001, false, 1},
			{PairUnanswered, 1, 0, 0, 0, false, -1},
		}},
		{"retransmission with the T flag", PairOptions{}, []diamStep{
			{0, mme, hss, true, false, 1, 100, 0},
			{time.Second, mme, hss, true, true, 1, 100, 0},
			{1200 * time.Millisecond, hss, mme, false, false, 1, 100, 2001},
		}, []diamWant{{PairAnswered, 1, 1200 * time.Millisecond, 1, 2001, false, 2}}},
		{"repeated request without the T flag", PairOptions{}, []diamStep{
			{0, mme, hss, true, false, 1, 100, 0},
			{time.Second, mme, hss, true, false, 1, 100, 0},
			{2 * time.Second, mme, hss, true, false, 1, 100, 0},
		}, []diamWant{{PairUnanswered, 1, 0, 2, 0, false, -1}}},
		{"failover to another peer", PairOptions{}, []diamStep{
			{0, mme, hss, true, false, 1, 100, 0},
			{5 * time.Second, mme, hss2, true, true, 9, 100, 0},
			{5010 * time.Millisecond, hss2, mme, false, false, 9, 100, 2001},
		}, []diamWant{{PairAnswered, 1, 5010 * time.Millisecond, 1, 2001, false, 2}}},
		{"new request with a reused End-to-End id is not a failover", PairOptions{}, []diamStep{
			{0, mme, hss, true, false, 1, 100, 0},
			{time.Second, mme, hss2, true, false, 9, 100, 0},
			{2 * time.Second, hss2, mme, false, false, 9, 100, 2001},
		}, []diamWant{
			{PairAnswered, 9, time.Second, 0, 2001, false, 2},
			{PairUnanswered, 1, 0, 0, 0, false, -1},
		}},
		{"eviction beyond MaxOpen", PairOptions{MaxOpen: 2}, []diamStep{
			{0, mme, hss, true, false, 1, 100, 0},
			{time.Millisecond, mme, hss, true, false, 2, 101, 0},
			{2 * time.Millisecond, mme, hss, true, false, 3, 102, 0},
			{3 * time.Millisecond, hss, mme, false, false, 3, 102, 2001},
		}, []diamWant{
			{PairUnanswered, 1, 0, 0, 0, true, 2},
			{PairAnswered, 3, time.Millisecond, 0, 2001, false, 3},
			{PairUnanswered, 2, 0, 0, 0, false, -1},
		}},
		{"answer stamped before its request", PairOptions{}, []diamStep{
			{time.Second, mme, hss, true, false, 1, 100, 0},
			{999 * time.Millisecond, hss, mme, false, false, 1, 100, 2001},
		}, []diamWant{{PairAnswered, 1, 0, 0, 2001, false, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewDiameterPairer(tc.opts)
			var got []diamWant
			record := func(step int, ts []DiameterTransaction) {
				for _, tr := range ts {
					got = append(got, diamWant{tr.Status, tr.Message().HopByHop, tr.Latency, len(tr.Retransmissions),
						tr.Result(), tr.Evicted, step})
				}
			}
			for i, s := range tc.steps {
				record(i, p.Add(s.message()))
			}
			record(-1, p.Flush())
			if p.Open() != 0 {
				t.Errorf("%d requests still open after Flush", p.Open())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("transaction %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			st := p.Stats()
			var answered, unanswered, orphans, retrans, evicted int
			for _, w := range tc.want {
				switch w.status {
				case PairAnswered:
					answered++
				case PairUnanswered:
					unanswered++
				case PairOrphan:
					orphans++
				}
				retrans += w.retrans
				if w.evicted {
					evicted++
				}
			}
			if st.Answered != answered || st.Unanswered != unanswered || st.Orphans != orphans ||
				st.Retransmissions != retrans || st.Evicted != evicted {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// Requests answered, retransmitted and lost must keep the table empty and the transaction's
// request envelope the first copy's.
func TestDiameterTransactionEnvelopes(t *testing.T) {
	p := NewDiameterPairer(PairOptions{})
	env1, req := diamStep{0, mme, hss, true, false, 1, 100, 0}.message()
	env1.Frame = 10
	env2, again := diamStep{time.Second, mme, hss, true, true, 1, 100, 0}.message()
	env2.Frame = 20
	env3, ans := diamStep{2 * time.Second, hss, mme, false, false, 1, 100, 2001}.message()
	env3.Frame = 30
	p.Add(env1, req)
	p.Add(env2, again)
	ts := p.Add(env3, ans)
	if len(ts) != 1 {
		t.Fatalf("%d transactions", len(ts))
	}
	tr := ts[0]
	if tr.Request != req || tr.Answer != ans || tr.RequestEnv.Frame != 10 || tr.AnswerEnv.Frame != 30 ||
		len(tr.Retransmissions) != 1 || tr.Retransmissions[0].Frame != 20 {
		t.Errorf("%+v", tr)
	}
	if len(p.pending.byKey) != 0 || len(p.failover) != 0 {
		t.Errorf("state left: %d keys, %d failover entries", len(p.pending.byKey), len(p.failover))
	}
}

func TestDiameterStats(t *testing.T) {
	p := NewDiameterPairer(PairOptions{})
	// 100 answered ULRs with latencies 1..100 ms in scrambled order, results 2001 and one 5420 every
	// tenth; 3 unanswered AIRs; an orphan CCA.
	for i := 0; i < 100; i++ {
		ms := (i*37)%100 + 1
		start := time.Duration(i) * time.Second
		result := uint32(2001)
		if ms%10 == 0 {
			result = 5420
		}
		p.Add(diamStep{start, mme, hss, true, false, uint32(i), uint32(i), 0}.message())
		p.Add(diamStep{start + time.Duration(ms)*time.Millisecond, hss, mme, false, false, uint32(i), uint32(i), result}.message())
	}
	for i := 0; i < 3; i++ {
		env, m := diamStep{200 * time.Second, mme, hss, true, false, uint32(1000 + i), 1, 0}.message()
		m.CommandCode, m.Command = 318, "Authentication-Information"
		p.Add(env, m)
	}
	env, cca := diamStep{201 * time.Second, hss, mme, false, false, 5000, 5000, 2001}.message()
	cca.ApplicationID, cca.Application, cca.CommandCode, cca.Command = 16777238, "Gx", 272, "Credit-Control"
	p.Add(env, cca)
	p.Flush()

	st := p.Stats()
	if st.Answered != 100 || st.Unanswered != 3 || st.Orphans != 1 {
		t.Errorf("totals %+v", st)
	}
	want := []DiameterCommandStats{
		{ApplicationID: 16777238, Application: "Gx", CommandCode: 272, Command: "Credit-Control", Orphans: 1},
		{ApplicationID: 16777251, Application: "S6a", CommandCode: 316, Command: "Update-Location", Answered: 100,
			Latency: Latency{Count: 100, P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}},
		{ApplicationID: 16777251, Application: "S6a", CommandCode: 318, Command: "Authentication-Information", Unanswered: 3},
	}
	if len(st.ByCommand) != len(want) {
		t.Fatalf("by command: %+v", st.ByCommand)
	}
	for i := range want {
		if st.ByCommand[i] != want[i] {
			t.Errorf("by command %d:\n got %+v\nwant %+v", i, st.ByCommand[i], want[i])
		}
	}
	// 5420 answers took 10, 20 ... 100 ms; 2001 answers the other 90 values, in nines (1-9, 11-19 ...):
	// the 45th is 49 ms, the 81st 89 ms, the 90th 99 ms.
	wantResults := []DiameterResultStats{
		{2001, Latency{Count: 90, P50: 49 * time.Millisecond, P90: 89 * time.Millisecond, P99: 99 * time.Millisecond, Max: 99 * time.Millisecond}},
		{5420, Latency{Count: 10, P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 100 * time.Millisecond, Max: 100 * time.Millisecond}},
	}
	if len(st.ByResult) != 2 || st.ByResult[0] != wantResults[0] || st.ByResult[1] != wantResults[1] {
		t.Errorf("by result:\n got %+v\nwant %+v", st.ByResult, wantResults)
	}
}
