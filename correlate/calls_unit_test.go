package correlate

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/sip"
)

func TestOutcomeOf(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   Outcome
	}{
		{200, Answered}, {202, Answered}, {486, Busy}, {600, Busy}, {487, Cancelled}, {480, NoAnswer},
		{408, NoAnswer}, {404, Rejected}, {403, Rejected}, {484, Rejected}, {488, Rejected}, {401, Rejected},
		{302, Rejected}, {603, Rejected}, {500, Failed}, {503, Failed}, {180, InProgress}, {0, InProgress},
	} {
		if got := OutcomeOf(tc.status); got != tc.want {
			t.Errorf("OutcomeOf(%d) = %s, want %s", tc.status, got, tc.want)
		}
	}
}

func TestLinkValues(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1-7914@127.0.0.11", "1-7914@127.0.0.11"},
		{"  abc@host ;x=1", "abc@host"},
		{"<abc@host>", "abc@host"},
		{`"abc@host"`, "abc@host"},
		{"", ""},
	} {
		if got := string(callIDValue([]byte(tc.in))); got != tc.want {
			t.Errorf("callIDValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"AB30317F1A784DC48FF824D0D3715D86;remote=47755a9de7794ba387653f2099600ef2", "ab30317f1a784dc48ff824d0d3715d86"},
		{"00000000000000000000000000000000", ""},
		{"00000000000000000000000000000000;remote=47755a9de7794ba387653f2099600ef2", ""},
	} {
		if got := sessionKey([]byte(tc.in)); got != tc.want {
			t.Errorf("sessionKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"+15550100123", "550100123"}, {"15550100123", "550100123"}, {"0100123", "0100123"},
		{"telephone1", "telephone1"}, {"Alice", "alice"}, {"", ""},
	} {
		if got := numberKey(tc.in); got != tc.want {
			t.Errorf("numberKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReferHelpers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<sip:2902@127.0.0.37>", "sip:2902@127.0.0.37"},
		{"<sip:bob@example.com?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>", "sip:bob@example.com"},
		{"sip:carol@example.com", "sip:carol@example.com"},
		{`"Park" <sip:7001@pbx>;method=INVITE`, "sip:7001@pbx"},
		{"", ""},
	} {
		if got := referTarget([]byte(tc.in)); got != tc.want {
			t.Errorf("referTarget(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		ct, body string
		want     int
	}{
		{"message/sipfrag;version=2.0", "SIP/2.0 200 OK\r\n", 200},
		{"message/sipfrag", "SIP/2.0 100 Trying", 100},
		{"Message/SIPfrag", "\r\nSIP/2.0 486 Busy Here\r\n", 486},
		{"text/plain", "SIP/2.0 200 OK", 0},
		{"message/sipfrag", "INVITE sip:x SIP/2.0", 0},
		{"message/sipfrag", "SIP/2.0 2x0 OK", 0},
	} {
		if got := sipfragStatus([]byte(tc.ct), []byte(tc.body)); got != tc.want {
			t.Errorf("sipfragStatus(%q, %q) = %d, want %d", tc.ct, tc.body, got, tc.want)
		}
	}
}

// TestSDPEvents checks the quick scan against the SIP package's full SDP parser.
func TestSDPEvents(t *testing.T) {
	for _, body := range []string{
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
		"v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\nm=audio 4002 RTP/AVP 8 96\nc=IN IP4 198.51.100.7\na=rtpmap:96 Telephone-Event/8000\n",
		"v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\nm=video 5000 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\n",
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 224.2.1.1/127\r\nt=0 0\r\nm=audio 0 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n",
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
	} {
		var got, want []string
		sdpEvents([]byte(body), func(conn []byte, port, pt int) {
			got = append(got, string(conn)+" "+itoa(port)+" "+itoa(pt))
		})
		var s sip.SDP
		if err := sip.ParseSDP([]byte(body), &s); err != nil {
			t.Fatal(err)
		}
		for i := range s.Media {
			if pt, ok := s.Media[i].TelephoneEvent(); ok && s.Media[i].Port > 0 {
				want = append(want, string(s.Connection(i).Address)+" "+itoa(s.Media[i].Port)+" "+itoa(pt))
			}
		}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("%q:\n got %v\nwant %v", body, got, want)
		}
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n < 0 {
		return append(b, '-')
	}
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func TestParseAddr(t *testing.T) {
	for _, s := range []string{"192.0.2.1", "10.0.0.255", "0.0.0.0", "2001:db8::1", "::ffff:192.0.2.1", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "", "a.b.c.d", "1..2.3"} {
		want, err := netip.ParseAddr(s)
		got, ok := parseAddr([]byte(s))
		if ok != (err == nil) || (ok && got != want) {
			t.Errorf("parseAddr(%q) = %v %v, want %v %v", s, got, ok, want, err)
		}
	}
}

// sipWire builds SIP messages for scenario tests. Each message is text with LF line ends, turned
// into CRLF, given a Content-Length, parsed, and wrapped in a decoded message.
type sipWire struct {
	t     *testing.T
	start time.Time
	frame int
	msgs  []*decode.Message
}

func newWire(t *testing.T) *sipWire {
	return &sipWire{t: t, start: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
}

// add appends a message sent at ms milliseconds from src to dst (ip:port).
func (w *sipWire) add(ms int, src, dst, text string, body ...string) {
	w.t.Helper()
	b := strings.Join(body, "")
	head := strings.ReplaceAll(strings.TrimSpace(text), "\n", "\r\n")
	raw := head + "\r\nContent-Length: " + itoa(len(b)) + "\r\n\r\n" + b
	var m sip.Message
	if err := sip.Parse([]byte(raw), &m); err != nil {
		w.t.Fatalf("bad test message: %v\n%s", err, raw)
	}
	w.frame++
	w.msgs = append(w.msgs, &decode.Message{
		Envelope: decode.Envelope{Time: w.start.Add(time.Duration(ms) * time.Millisecond), Src: netip.MustParseAddrPort(src),
			Dst: netip.MustParseAddrPort(dst), Transport: decode.UDP, Frame: w.frame, Input: "test"},
		Protocol: decode.ProtoSIP, SIP: &m, Payload: m.Raw,
	})
}

// run feeds the messages to a correlator and returns the calls, emitted then flushed.
func (w *sipWire) run(opts CallOptions) ([]*Call, *Calls) {
	c := NewCalls(opts)
	var calls []*Call
	for _, m := range w.msgs {
		calls = append(calls, c.Add(m)...)
	}
	calls = append(calls, c.Flush()...)
	return calls, c
}

const (
	ua1   = "192.0.2.1:5060"
	proxy = "192.0.2.2:5060"
	node  = "192.0.2.3:5060"
	ua2   = "192.0.2.4:5060"
)

// dialog returns the headers of a request or response of one dialog.
func hdrs(callID, from, to string, cseq string, extra ...string) string {
	h := "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-" + strings.ReplaceAll(cseq, " ", "") + "\nFrom: " + from + "\nTo: " + to +
		"\nCall-ID: " + callID + "\nCSeq: " + cseq
	for _, e := range extra {
		h += "\n" + e
	}
	return h
}

func TestScenarioAuthRetryAndForks(t *testing.T) {
	w := newWire(t)
	from, to := "<sip:+15550100@a>;tag=f1", "<sip:+15550200@b>"
	w.add(0, ua1, proxy, "INVITE sip:+15550200@b SIP/2.0\n"+hdrs("auth-1", from, to, "1 INVITE"))
	w.add(5, proxy, ua1, "SIP/2.0 407 Proxy Authentication Required\n"+hdrs("auth-1", from, to+";tag=p1", "1 INVITE"))
	w.add(6, ua1, proxy, "ACK sip:+15550200@b SIP/2.0\n"+hdrs("auth-1", from, to+";tag=p1", "1 ACK"))
	w.add(20, ua1, proxy, "INVITE sip:+15550200@b SIP/2.0\n"+hdrs("auth-1", from, to, "2 INVITE", "Proxy-Authorization: Digest x"))
	w.add(100, proxy, ua1, "SIP/2.0 180 Ringing\n"+hdrs("auth-1", from, to+";tag=fork-a", "2 INVITE"))
	w.add(110, proxy, ua1, "SIP/2.0 183 Session Progress\n"+hdrs("auth-1", from, to+";tag=fork-b", "2 INVITE"))
	w.add(2000, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("auth-1", from, to+";tag=fork-b", "2 INVITE"))
	w.add(2001, ua1, proxy, "ACK sip:+15550200@b SIP/2.0\n"+hdrs("auth-1", from, to+";tag=fork-b", "2 ACK"))
	w.add(5000, proxy, ua1, "BYE sip:+15550100@a SIP/2.0\n"+hdrs("auth-1", to+";tag=fork-b", from, "9 BYE"))
	w.add(5002, ua1, proxy, "SIP/2.0 200 OK\n"+hdrs("auth-1", to+";tag=fork-b", from, "9 BYE"))
	calls, _ := w.run(CallOptions{})
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	c, l := calls[0], calls[0].Legs[0]
	if c.Outcome != Answered || c.FinalStatus != 200 || !c.InviteTime.Equal(w.start) || c.EndedBy != CalledSide {
		t.Errorf("call %s %d invite %s ended by %s", c.Outcome, c.FinalStatus, c.InviteTime, c.EndedBy)
	}
	if l.EarlyDialogs != 2 || l.ToTag != "fork-b" || l.Transactions != 3 || l.Messages != 10 {
		t.Errorf("leg: %d early dialogs, to-tag %s, %d transactions, %d messages", l.EarlyDialogs, l.ToTag, l.Transactions, l.Messages)
	}
	if got := c.BillableSeconds(); got != 3 {
		t.Errorf("billable %v, want 3", got)
	}
	if got := c.PDDSeconds(); got != 0.1 {
		t.Errorf("pdd %v, want 0.1", got)
	}
}

// inviteVia sends the INVITE of a leg and its answer on one hop; extra headers go in the INVITE.
func answeredLeg(w *sipWire, at int, src, dst, callID, fromUser string, extra ...string) {
	from, to := "<sip:"+fromUser+"@x>;tag=t-"+callID, "<sip:dst@y>"
	w.add(at, src, dst, "INVITE sip:dst@y SIP/2.0\n"+hdrs(callID, from, to, "1 INVITE", extra...))
	w.add(at+100, dst, src, "SIP/2.0 200 OK\n"+hdrs(callID, from, to+";tag=a-"+callID, "1 INVITE"))
	w.add(at+101, src, dst, "ACK sip:dst@y SIP/2.0\n"+hdrs(callID, from, to+";tag=a-"+callID, "1 ACK"))
}

func hangUp(w *sipWire, at int, src, dst, callID, fromUser string) {
	from, to := "<sip:"+fromUser+"@x>;tag=t-"+callID, "<sip:dst@y>;tag=a-"+callID
	w.add(at, src, dst, "BYE sip:dst@y SIP/2.0\n"+hdrs(callID, from, to, "2 BYE"))
	w.add(at+2, dst, src, "SIP/2.0 200 OK\n"+hdrs(callID, from, to, "2 BYE"))
}

func TestScenarioLinking(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    CallOptions
		build   func(w *sipWire)
		legs    string // Call-IDs, root first
		parents string
		link    string
	}{
		{"X-ORIGINAL-CALLID chain", CallOptions{}, func(w *sipWire) {
			answeredLeg(w, 0, ua1, proxy, "A", "100")
			answeredLeg(w, 10, node, ua2, "B", "100", "X-ORIGINAL-CALLID: A")
			answeredLeg(w, 20, node, ua2, "C", "100", "X-CID: B")
			hangUp(w, 5000, ua1, proxy, "A", "100")
			hangUp(w, 5001, node, ua2, "B", "100")
			hangUp(w, 5002, node, ua2, "C", "100")
		}, "A B C", "- A B", "X-ORIGINAL-CALLID X-CID"},
		{"child seen before parent", CallOptions{}, func(w *sipWire) {
			answeredLeg(w, 0, node, ua2, "B", "100", "X-Call-ID: A")
			answeredLeg(w, 1, ua1, proxy, "A", "100")
			hangUp(w, 5000, ua1, proxy, "A", "100")
			hangUp(w, 5001, node, ua2, "B", "100")
		}, "A B", "- A", "X-Call-ID"},
		{"leg header option", CallOptions{LegHeaders: []string{"X-Leg-Parent"}}, func(w *sipWire) {
			answeredLeg(w, 0, ua1, proxy, "A", "100")
			answeredLeg(w, 10, node, ua2, "B", "100", "x-leg-parent: A")
			hangUp(w, 5000, ua1, proxy, "A", "100")
			hangUp(w, 5001, node, ua2, "B", "100")
		}, "A B", "- A", "X-Leg-Parent"},
		{"Session-ID", CallOptions{}, func(w *sipWire) {
			answeredLeg(w, 0, ua1, proxy, "A", "100", "Session-ID: ab30317f1a784dc48ff824d0d3715d86;remote=00000000000000000000000000000000")
			answeredLeg(w, 10, node, ua2, "B", "200", "Session-ID: AB30317F1A784DC48FF824D0D3715D86")
			hangUp(w, 5000, ua1, proxy, "A", "100")
			hangUp(w, 5001, node, ua2, "B", "200")
		}, "A B", "- A", "Session-ID"},
		{"P-Charging-Vector icid", CallOptions{}, func(w *sipWire) {
			answeredLeg(w, 0, ua1, proxy, "A", "100", `P-Charging-Vector: icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=023551024";orig-ioi=home1.net`)
			answeredLeg(w, 10, node, ua2, "B", "200", `P-Charging-Vector: icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=023551024";term-ioi=home2.net`)
			hangUp(w, 5000, ua1, proxy, "A", "100")
			hangUp(w, 5001, node, ua2, "B", "200")
		}, "A B", "- A", "P-Charging-Vector"},
		{"no header, no heuristic", CallOptions{}, func(w *sipWire) {
			answeredLeg(w, 0, ua1, proxy, "A", "100")
			answeredLeg(w, 10, proxy, ua2, "B", "100")
			hangUp(w, 5000, ua1, proxy, "A", "100")
			hangUp(w, 5001, proxy, ua2, "B", "100")
		}, "A", "-", ""},
		{"heuristic", CallOptions{Heuristic: true}, func(w *sipWire) {
			answeredLeg(w, 0, ua1, proxy, "A", "+1 555 0100")
			answeredLeg(w, 5, node, ua2, "C", "15550100") // sent by another host: not A's child
			answeredLeg(w, 10, proxy, ua2, "B", "15550100")
			hangUp(w, 5000, ua1, proxy, "A", "+1 555 0100")
			hangUp(w, 5001, proxy, ua2, "B", "15550100")
			hangUp(w, 5002, node, ua2, "C", "15550100")
		}, "A B", "- A", "heuristic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWire(t)
			tc.build(w)
			calls, _ := w.run(tc.opts)
			var call *Call
			for _, c := range calls {
				if c.CallID == "A" {
					call = c
				}
			}
			if call == nil {
				t.Fatalf("no call A among %d", len(calls))
			}
			var parents, links []string
			for i, l := range call.Legs {
				p := l.ParentCallID
				if p == "" {
					p = "-"
				}
				parents = append(parents, p)
				if l.Link != "" {
					links = append(links, l.Link)
				}
				if want := RoleClass5; (i == 0) == (l.Role == want) {
					t.Errorf("leg %s role %s", l.CallID, l.Role)
				}
			}
			if got := strings.Join(call.CallIDs(), " "); got != tc.legs || strings.Join(parents, " ") != tc.parents || strings.Join(links, " ") != tc.link {
				t.Errorf("legs %s parents %v links %v; want %s, %s, %s", got, parents, links, tc.legs, tc.parents, tc.link)
			}
			if call.Outcome != Answered || call.EndReason != EndBYE {
				t.Errorf("call %s %s", call.Outcome, call.EndReason)
			}
		})
	}
}

func TestScenarioTimeouts(t *testing.T) {
	w := newWire(t)
	from, to := "<sip:1@a>;tag=x", "<sip:2@b>"
	// No response at all: failed after Timer B (32 s).
	w.add(0, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("silent", from, to, "1 INVITE"))
	// Rings without a final response: no-answer after Timer C (3 min).
	w.add(10, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("rings", from, to, "1 INVITE"))
	w.add(50, proxy, ua1, "SIP/2.0 180 Ringing\n"+hdrs("rings", from, to+";tag=r", "1 INVITE"))
	// Cancelled, the 487 never captured.
	w.add(20, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("cxl", from, to, "1 INVITE"))
	w.add(60, proxy, ua1, "SIP/2.0 180 Ringing\n"+hdrs("cxl", from, to+";tag=r", "1 INVITE"))
	w.add(3000, ua1, proxy, "CANCEL sip:2@b SIP/2.0\n"+hdrs("cxl", from, to, "1 CANCEL"))
	// Still ringing when the capture ends.
	w.add(199000, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("open", from, to, "1 INVITE"))
	w.add(199100, proxy, ua1, "SIP/2.0 180 Ringing\n"+hdrs("open", from, to+";tag=r", "1 INVITE"))
	// Out-of-dialog traffic moves the clock and is only counted.
	w.add(200000, ua1, proxy, "OPTIONS sip:p SIP/2.0\n"+hdrs("ka", from, to, "1 OPTIONS"))
	w.add(200001, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("ka", from, to+";tag=p", "1 OPTIONS"))
	w.add(200002, ua1, proxy, "REGISTER sip:p SIP/2.0\n"+hdrs("reg", from, to, "1 REGISTER"))
	calls, c := w.run(CallOptions{})
	got := map[string]*Call{}
	for _, call := range calls {
		got[call.CallID] = call
	}
	for _, tc := range []struct {
		id      string
		outcome Outcome
		reason  string
		status  int
	}{
		{"silent", Failed, EndTimeout, 0},
		{"rings", NoAnswer, EndTimeout, 0},
		{"cxl", Cancelled, EndCANCEL, 0},
		{"open", InProgress, "", 0},
	} {
		call := got[tc.id]
		if call == nil || call.Outcome != tc.outcome || call.EndReason != tc.reason || call.FinalStatus != tc.status {
			t.Errorf("%s: %+v, want %s %q %d", tc.id, call, tc.outcome, tc.reason, tc.status)
		}
	}
	if st := c.Stats(); st.OutOfDialog != 3 || st.Calls != 4 || st.InProgress != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestScenarioPartialLateDuplicates(t *testing.T) {
	w := newWire(t)
	from, to := "<sip:1@a>;tag=x", "<sip:2@b>;tag=y"
	// The capture starts mid-call.
	w.add(0, ua1, proxy, "INFO sip:2@b SIP/2.0\n"+hdrs("mid", from, to, "5 INFO", "Content-Type: application/dtmf-relay"), "Signal=7\r\nDuration=160\r\n")
	w.add(1, ua1, proxy, "INFO sip:2@b SIP/2.0\n"+hdrs("mid", from, to, "5 INFO", "Content-Type: application/dtmf-relay"), "Signal=7\r\nDuration=160\r\n")   // captured twice
	w.add(600, ua1, proxy, "INFO sip:2@b SIP/2.0\n"+hdrs("mid", from, to, "5 INFO", "Content-Type: application/dtmf-relay"), "Signal=7\r\nDuration=160\r\n") // retransmitted
	w.add(700, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("mid", from, to, "5 INFO"))
	w.add(1000, ua1, proxy, "BYE sip:2@b SIP/2.0\n"+hdrs("mid", from, to, "6 BYE"))
	w.add(1001, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("mid", from, to, "6 BYE"))
	// A retransmitted 200 to BYE long after the call was emitted: late, not a new call.
	w.add(9000, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("mid", from, to, "6 BYE"))
	calls, c := w.run(CallOptions{})
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	l := calls[0].Legs[0]
	if !l.Partial || l.Outcome != Answered || l.EndReason != EndBYE || l.Retransmissions != 1 || l.Messages != 5 || !l.InviteTime.IsZero() {
		t.Errorf("leg %+v", l)
	}
	if len(calls[0].Events) != 1 || calls[0].Events[0].Digit != "7" {
		t.Errorf("events %+v", calls[0].Events)
	}
	if st := c.Stats(); st.Duplicates != 1 || st.Late != 1 || st.Retransmissions != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestScenarioEventsAndMaxOpen(t *testing.T) {
	w := newWire(t)
	from, to := "<sip:1@a>;tag=x", "<sip:2@b>"
	sdp := func(conn, dir string) string {
		return "v=0\r\no=- 1 1 IN IP4 " + conn + "\r\ns=-\r\nc=IN IP4 " + conn + "\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=" + dir + "\r\n"
	}
	ct := "Content-Type: application/sdp"
	w.add(0, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("ev", from, to, "1 INVITE", ct), sdp("192.0.2.1", "sendrecv"))
	w.add(100, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("ev", from, to+";tag=y", "1 INVITE", ct), sdp("192.0.2.2", "sendrecv"))
	w.add(1000, proxy, ua1, "INVITE sip:1@a SIP/2.0\n"+hdrs("ev", to+";tag=y", from, "1 INVITE", ct), sdp("0.0.0.0", "sendrecv"))   // RFC 2543 hold
	w.add(2000, proxy, ua1, "INVITE sip:1@a SIP/2.0\n"+hdrs("ev", to+";tag=y", from, "2 INVITE", ct), sdp("192.0.2.2", "inactive")) // still held
	w.add(3000, proxy, ua1, "UPDATE sip:1@a SIP/2.0\n"+hdrs("ev", to+";tag=y", from, "3 UPDATE", ct), sdp("192.0.2.2", "recvonly"))
	w.add(4000, ua1, proxy, "REFER sip:2@b SIP/2.0\n"+hdrs("ev", from, to+";tag=y", "2 REFER", "Refer-To: <sip:3@c>"))
	w.add(4001, proxy, ua1, "SIP/2.0 202 Accepted\n"+hdrs("ev", from, to+";tag=y", "2 REFER"))
	w.add(4500, proxy, ua1, "NOTIFY sip:1@a SIP/2.0\n"+hdrs("ev", to+";tag=y", from, "4 NOTIFY", "Event: refer", "Content-Type: message/sipfrag"), "SIP/2.0 486 Busy Here\r\n")
	w.add(5000, ua1, proxy, "BYE sip:2@b SIP/2.0\n"+hdrs("ev", from, to+";tag=y", "3 BYE"))
	// Three more calls that stay open: with MaxOpen 2 the oldest open ones are evicted.
	for i, id := range []string{"o1", "o2", "o3"} {
		w.add(6000+i, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs(id, from, to, "1 INVITE"))
	}
	calls, c := w.run(CallOptions{MaxOpen: 2})
	var ev *Call
	evicted := 0
	for _, call := range calls {
		if call.CallID == "ev" {
			ev = call
		}
		if call.Evicted {
			evicted++
		}
	}
	var got []string
	for _, e := range ev.Events {
		got = append(got, string(e.Type)+" "+e.Target+" "+itoa(e.Status)+" "+itoa(e.Result))
	}
	// The REFER failed (sipfrag 486): no park, no transfer.
	if want := "hold  0 0, unhold  0 0, refer sip:3@c 202 486"; strings.Join(got, ", ") != want {
		t.Errorf("events %q, want %q", strings.Join(got, ", "), want)
	}
	if ev.EndedBy != CallingSide || evicted != 2 || c.Stats().Evicted != 2 {
		t.Errorf("ended by %s; %d evicted (stats %d)", ev.EndedBy, evicted, c.Stats().Evicted)
	}
	var b []byte
	for _, call := range calls {
		b = call.AppendJSON(b[:0])
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil || v["call_id"] != call.CallID {
			t.Errorf("JSON %s: %v", b, err)
		}
	}
}

// TestRTPAddressTakenOver: a media address announced by two calls belongs to the later one, is
// forgotten with it, and nothing of it is left once every call is emitted.
func TestRTPAddressTakenOver(t *testing.T) {
	w := newWire(t)
	from, to := "<sip:1@a>;tag=x", "<sip:2@b>"
	sdp := "v=0\r\no=- 1 1 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	ct := "Content-Type: application/sdp"
	w.add(0, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("first", from, to, "1 INVITE", ct), sdp)
	w.add(10, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("second", from, to, "1 INVITE", ct), sdp)
	w.add(100, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("second", from, to+";tag=y", "1 INVITE"))
	w.add(200, ua1, proxy, "BYE sip:2@b SIP/2.0\n"+hdrs("second", from, to+";tag=y", "2 BYE"))
	w.add(9000, proxy, ua1, "SIP/2.0 180 Ringing\n"+hdrs("first", from, to+";tag=z", "1 INVITE"))
	c := NewCalls(CallOptions{})
	media := keyOf(netip.MustParseAddrPort("192.0.2.50:4000"))
	var emitted []string
	for i, m := range w.msgs {
		for _, call := range c.Add(m) {
			emitted = append(emitted, call.CallID)
		}
		if s, _ := c.rtp.sink(media); i == 1 && s.leg != c.legs["second"] {
			t.Fatalf("the address is not the second call's")
		}
	}
	if len(emitted) != 1 || emitted[0] != "second" {
		t.Fatalf("emitted %v, want the second call", emitted)
	}
	if _, ok := c.rtp.sink(media); ok || c.rtp.ports[portGroup(4000)] != 0 {
		t.Errorf("the address outlived the call that held it")
	}
	c.Flush()
	if !c.rtp.empty() {
		t.Errorf("media addresses left after Flush: %v", c.rtp)
	}
}

// TestRTPAnnouncementsInOrder: announcements wait in a queue until a frame needs the table; the
// queue keeps their order, so the leg that announced an address last gets its events, as if each
// had been written at once: A, then B, then A and B again (re-INVITEs): B's.
func TestRTPAnnouncementsInOrder(t *testing.T) {
	w := newWire(t)
	from, to := "<sip:1@a>;tag=x", "<sip:2@b>"
	sdp := func(version string) string {
		return "v=0\r\no=- 1 " + version + " IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\n" +
			"m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	}
	ct := "Content-Type: application/sdp"
	w.add(0, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("A", from, to, "1 INVITE", ct), sdp("1"))
	w.add(10, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("B", from, to, "1 INVITE", ct), sdp("1"))
	w.add(20, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("A", from, to+";tag=y", "1 INVITE"))
	w.add(25, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("B", from, to+";tag=y", "1 INVITE"))
	w.add(30, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("A", from, to+";tag=y", "2 INVITE", ct), sdp("2"))
	w.add(40, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("B", from, to+";tag=y", "2 INVITE", ct), sdp("3"))
	c := NewCalls(CallOptions{})
	for _, m := range w.msgs {
		c.Add(m)
	}
	if len(c.rtp.pending) != 4 {
		t.Fatalf("%d announcements queued, want 4 (no frame has needed the table yet)", len(c.rtp.pending))
	}
	// An RFC 4733 event (digit 5) to the address, payload type 101.
	rtp := []byte{0x80, 101, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 5, 0x0a, 0, 160}
	c.RTP(&decode.Message{Envelope: decode.Envelope{Time: w.start.Add(time.Second), Dst: netip.MustParseAddrPort("192.0.2.50:4000"),
		Frame: 99, Input: "test"}}, rtp)
	if len(c.rtp.pending) != 0 {
		t.Errorf("%d announcements still queued after the frame", len(c.rtp.pending))
	}
	var got []string
	for _, call := range c.Flush() {
		for _, e := range call.Events {
			got = append(got, e.Leg+" "+string(e.Type)+" "+e.Digit)
		}
	}
	if want := "B dtmf 5"; strings.Join(got, ", ") != want {
		t.Errorf("events %q, want %q", strings.Join(got, ", "), want)
	}
	if !c.rtp.empty() {
		t.Errorf("media addresses left after Flush")
	}
}

// TestRTPQueueBounded: with no frame that needs the table, the queue of announcements is bounded
// by the open calls (emitted calls' entries are dropped), and still right when a frame comes.
func TestRTPQueueBounded(t *testing.T) {
	w := newWire(t)
	from, to := "<sip:1@a>;tag=x", "<sip:2@b>"
	ct := "Content-Type: application/sdp"
	const n = 20000
	for i := range n {
		id := "q" + itoa(i)
		sdp := "v=0\r\no=- 1 1 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\n" +
			"m=audio " + itoa(10000+2*(i%20000)) + " RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
		ms := i * 100
		w.add(ms, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs(id, from, to, "1 INVITE", ct), sdp)
		w.add(ms+10, proxy, ua1, "SIP/2.0 486 Busy Here\n"+hdrs(id, from, to+";tag=y", "1 INVITE"))
	}
	c := NewCalls(CallOptions{})
	most := 0
	for _, m := range w.msgs {
		for _, call := range c.Add(m) {
			c.Release(call)
		}
		most = max(most, cap(c.rtp.pending))
	}
	if most > 4096 {
		t.Errorf("the queue grew to %d entries for %d calls, at most %d open", most, n, c.Stats().MaxOpen)
	}
	// The last call is still open: a digit to its address is its.
	rtp := []byte{0x80, 101, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 9, 0x0a, 0, 160}
	c.RTP(&decode.Message{Envelope: decode.Envelope{Time: w.msgs[len(w.msgs)-1].Time, Dst: netip.MustParseAddrPort("192.0.2.50:" + itoa(10000+2*((n-1)%20000))),
		Frame: 1, Input: "test"}}, rtp)
	var got []string
	for _, call := range c.Flush() {
		for _, e := range call.Events {
			got = append(got, e.Leg+" "+e.Digit)
		}
	}
	if want := "q" + itoa(n-1) + " 9"; strings.Join(got, ", ") != want {
		t.Errorf("events %q, want %q", strings.Join(got, ", "), want)
	}
}

// TestRoundMicro: the shortcut rounds as time.Round does, halves up, on either side of a second.
func TestRoundMicro(t *testing.T) {
	base := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for _, ns := range []int{0, 1, 499, 500, 501, 999, 1000, 1499, 1500, 999_999_499, 999_999_500, 999_999_999, 123_456_789} {
		in := base.Add(time.Duration(ns))
		if got, want := roundMicro(in), in.Round(time.Microsecond); !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("%d ns: got %v, want %v", ns, got, want)
		}
	}
}

// TestAdvance: with no more messages, moving the clock ends a call once its grace has passed, and
// not before; a clock moved back changes nothing.
func TestAdvance(t *testing.T) {
	w := newWire(t)
	answeredLeg(w, 0, ua1, proxy, "adv-1", "+15550100")
	hangUp(w, 3000, ua1, proxy, "adv-1", "+15550100")
	c := NewCalls(CallOptions{Grace: time.Second})
	for _, m := range w.msgs {
		if got := c.Add(m); len(got) != 0 {
			t.Fatalf("a call ended on message %d", m.Frame)
		}
	}
	last := w.msgs[len(w.msgs)-1].Time
	if got := c.Advance(last.Add(999 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("ended before its grace: %d calls", len(got))
	}
	if got := c.Advance(last); len(got) != 0 || c.Open() != 1 {
		t.Fatalf("moving the clock back: %d calls, %d open", len(got), c.Open())
	}
	got := c.Advance(last.Add(time.Second))
	if len(got) != 1 || got[0].CallID != "adv-1" || got[0].Outcome != Answered || c.Open() != 0 {
		t.Fatalf("after the grace: %d calls, %d open", len(got), c.Open())
	}
}

// TestTimersPastYear2262: capture times past what int64 nanoseconds hold (a corrupt or far-future
// timestamp) still end calls in order, and the timer loop ends.
func TestTimersPastYear2262(t *testing.T) {
	for _, start := range []time.Time{
		time.Date(2262, 4, 11, 23, 47, 10, 0, time.UTC), // the calls cross the int64 boundary
		time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		w := newWire(t)
		w.start = start
		answeredLeg(w, 0, ua1, proxy, "far-1", "100")
		answeredLeg(w, 1000, ua1, proxy, "far-2", "200")
		hangUp(w, 9000, ua1, proxy, "far-1", "100")
		hangUp(w, 30000, ua1, proxy, "far-2", "200")
		w.add(60000, ua1, proxy, "OPTIONS sip:p@y SIP/2.0\n"+hdrs("ping", "<sip:a@x>;tag=o", "<sip:p@y>", "1 OPTIONS"))
		c := NewCalls(CallOptions{})
		var ids []string
		for _, m := range w.msgs {
			for _, call := range c.Add(m) {
				ids = append(ids, call.CallID)
			}
		}
		if strings.Join(ids, " ") != "far-1 far-2" {
			t.Errorf("from %s: emitted before the end %q, want far-1 far-2", start, ids)
		}
		if n := len(c.Flush()); n != 0 {
			t.Errorf("from %s: %d calls left open", start, n)
		}
	}
}

// TestTombstoneGenerations follows a Call-ID through both tombstone generations: emitted, started
// again by a new INVITE while its tombstone lasts, emitted again into the other generation. The
// sweep of the first generation must leave the second tombstone alone (a late message then is
// still late); the sweep of the second, where nothing started again, removes it.
func TestTombstoneGenerations(t *testing.T) {
	w := newWire(t)
	from, to := "<sip:1@a>;tag=x", "<sip:2@b>"
	call := func(s int, cseq int) {
		w.add(s*1000, ua1, proxy, "INVITE sip:2@b SIP/2.0\n"+hdrs("reuse", from, to, itoa(cseq)+" INVITE"))
		w.add(s*1000+100, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("reuse", from, to+";tag=y", itoa(cseq)+" INVITE"))
		w.add(s*1000+1000, ua1, proxy, "BYE sip:2@b SIP/2.0\n"+hdrs("reuse", from, to+";tag=y", itoa(cseq+1)+" BYE"))
		w.add(s*1000+1001, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("reuse", from, to+";tag=y", itoa(cseq+1)+" BYE"))
	}
	tick := func(s int) { // moves the capture clock on (an out-of-dialog request)
		w.add(s*1000, ua2, node, "OPTIONS sip:n SIP/2.0\n"+hdrs("tick-"+itoa(s), from, to, "1 OPTIONS"))
	}
	late := func(s int) { // a retransmitted 200 to the second BYE
		w.add(s*1000, proxy, ua1, "SIP/2.0 200 OK\n"+hdrs("reuse", from, to+";tag=y", "12 BYE"))
	}
	call(0, 1)   // emitted at 6 s into the first generation (sweeps at 33, 66, 99 s)
	tick(6)      //
	tick(33)     // sweeps the empty second generation
	call(40, 11) // the Call-ID again: its first tombstone is replaced
	tick(46)     // emitted into the second generation
	tick(66)     // sweeps the first generation: the second tombstone stays
	late(70)     // late
	tick(99)     // sweeps the second generation
	late(100)    // now unknown: a partial leg of its own
	calls, c := w.run(CallOptions{})
	var answered, partial int
	for _, call := range calls {
		switch {
		case call.CallID == "reuse" && call.Outcome == Answered && !call.Legs[0].Partial:
			answered++
		case call.CallID == "reuse" && call.Legs[0].Partial:
			partial++
		}
	}
	if answered != 2 || partial != 1 {
		t.Errorf("%d answered calls and %d partial ones, want 2 and 1 (%d calls in all)", answered, partial, len(calls))
	}
	if st := c.Stats(); st.Late != 1 {
		t.Errorf("%d late messages, want 1", st.Late)
	}
}
