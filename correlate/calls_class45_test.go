package correlate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// class45Truth is the part of samples/class45/truth.json the tests read.
type class45Truth struct {
	Summary struct {
		Calls         int      `json:"calls"`
		BLegs         int      `json:"b_legs"`
		BLegsUnlinked []string `json:"b_legs_unlinked"`
	} `json:"summary"`
	Calls []struct {
		ID              string       `json:"id"`
		Outcome         string       `json:"outcome"`
		FinalStatus     int          `json:"final_status"`
		ALegCallIDs     []string     `json:"a_leg_call_ids"`
		BLegCallIDs     []string     `json:"b_leg_call_ids"`
		CallingNumber   string       `json:"calling_number"`
		CalledNumber    string       `json:"called_number"`
		InviteTime      *float64     `json:"invite_time"`
		RingingTime     *float64     `json:"ringing_time"`
		AnswerTime      *float64     `json:"answer_time"`
		EndTime         *float64     `json:"end_time"`
		EndReason       string       `json:"end_reason"`
		EndedBy         string       `json:"ended_by"`
		BillableSeconds float64      `json:"billable_seconds"`
		Events          []truthEvent `json:"events"`
		BLegs           []truthLeg   `json:"b_legs"`
		ALeg            struct {
			Messages int `json:"messages"`
			Segment  struct {
				Invite, Ringing, FinalResponse, Cancel, Bye *struct {
					Time   float64 `json:"time"`
					Frame  int     `json:"frame"`
					Status int     `json:"status"`
				}
			} `json:"segment_carrier_class4"`
		} `json:"a_leg"`
	} `json:"calls"`
}

type truthLeg struct {
	CallID      string   `json:"call_id"`
	Outcome     string   `json:"outcome"`
	FinalStatus int      `json:"final_status"`
	RequestURI  string   `json:"request_uri"`
	InviteTime  *float64 `json:"invite_time"`
	RingingTime *float64 `json:"ringing_time"`
	AnswerTime  *float64 `json:"answer_time"`
	EndTime     *float64 `json:"end_time"`
	EndReason   string   `json:"end_reason"`
	EndedBy     string   `json:"ended_by"`
	Billable    float64  `json:"billable_seconds"`
	Messages    int      `json:"messages"`
}

type truthEvent struct {
	Type           string  `json:"type"`
	Leg            string  `json:"leg"`
	Digit          string  `json:"digit"`
	Time           float64 `json:"time"`
	Frame          int     `json:"frame"`
	BLegCallID     string  `json:"b_leg_call_id"`
	ToBLeg         string  `json:"to_b_leg"`
	FromBLeg       string  `json:"from_b_leg"`
	Target         string  `json:"target"`
	ReferTo        string  `json:"refer_to"`
	Response       int     `json:"response"`
	TransferResult string  `json:"transfer_result"`
	TriggerStatus  int     `json:"trigger_status"`
	Orbit          string  `json:"orbit"`
}

func readClass45Truth(t *testing.T) *class45Truth {
	t.Helper()
	b, err := os.ReadFile(corpus.Path(t, "class45/truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr class45Truth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.Calls) == 0 || len(tr.Calls) != tr.Summary.Calls {
		t.Fatalf("truth.json: %d calls, summary says %d", len(tr.Calls), tr.Summary.Calls)
	}
	return &tr
}

// runCalls correlates whole captures and returns every call, emitted and flushed, by Call-ID.
func runCalls(t testing.TB, opts CallOptions, files ...string) (map[string]*Call, *Calls) {
	t.Helper()
	c := NewCalls(opts)
	got := map[string]*Call{}
	keep := func(calls []*Call) {
		for _, call := range calls {
			if got[call.CallID] != nil {
				t.Errorf("call %s emitted twice", call.CallID)
			}
			got[call.CallID] = call
		}
	}
	caps := make([]*decode.Capture, 0, len(files))
	for _, f := range files {
		cp, err := decode.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		defer cp.Close()
		caps = append(caps, cp)
	}
	d := decode.NewDecoder(func(m *decode.Message) { keep(c.Add(m)) }, decode.Options{})
	if err := d.RunCaptures(context.Background(), caps); err != nil {
		t.Fatal(err)
	}
	keep(c.Flush())
	return got, c
}

// us turns truth.json's Unix seconds into a time, to the microsecond.
func us(f *float64) time.Time {
	if f == nil {
		return time.Time{}
	}
	return time.UnixMicro(int64(math.Round(*f * 1e6))).UTC()
}

func usv(f float64) time.Time { return us(&f) }

// truthEndReason maps truth.json's "final-response-486" to the record's "final response".
func truthEndReason(s string) string {
	if strings.HasPrefix(s, "final-response") {
		return EndFinalResponse
	}
	return s
}

// sameTime compares to the microsecond. truth.json's times went through float64 Unix seconds,
// whose resolution at this epoch is 2^-22 s (0.24 µs): rounded to six decimals they can be one
// microsecond off the capture's nanosecond timestamps, which sigtrace rounds exactly.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); got.IsZero() != want.IsZero() || d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("%s = %s, want %s", what, fmtTime(got), fmtTime(want))
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format("15:04:05.000000")
}

// TestClass45 checks every call of the real class-4/class-5 capture against truth.json, field by
// field: linked legs, outcome, times to the microsecond, billable seconds, end, and events.
func TestClass45(t *testing.T) {
	tr := readClass45Truth(t)
	got, c := runCalls(t, CallOptions{}, corpus.Path(t, "class45/class45.pcapng"))
	if len(got) != len(tr.Calls) {
		t.Errorf("%d calls, want %d", len(got), len(tr.Calls))
	}
	st := c.Stats()
	if st.InProgress != 0 || st.Evicted != 0 || st.Late != 0 {
		t.Errorf("stats %+v: want every call ended, none evicted or late", st)
	}
	for _, want := range tr.Calls {
		t.Run(want.ID, func(t *testing.T) {
			call := got[want.ALegCallIDs[0]]
			if call == nil {
				t.Fatalf("no call %s", want.ALegCallIDs[0])
			}
			ids := append(append([]string{}, want.ALegCallIDs...), want.BLegCallIDs...)
			if g := strings.Join(call.CallIDs(), " "); g != strings.Join(ids, " ") {
				t.Errorf("legs %s, want %s", g, strings.Join(ids, " "))
			}
			if string(call.Outcome) != want.Outcome || call.FinalStatus != want.FinalStatus {
				t.Errorf("outcome %s %d, want %s %d", call.Outcome, call.FinalStatus, want.Outcome, want.FinalStatus)
			}
			sameTime(t, "invite_time", call.InviteTime, us(want.InviteTime))
			sameTime(t, "ringing_time", call.RingingTime, us(want.RingingTime))
			sameTime(t, "answer_time", call.AnswerTime, us(want.AnswerTime))
			sameTime(t, "end_time", call.EndTime, us(want.EndTime))
			if call.EndReason != truthEndReason(want.EndReason) || call.EndedBy != want.EndedBy {
				t.Errorf("end %s by %s, want %s by %s", call.EndReason, call.EndedBy, want.EndReason, want.EndedBy)
			}
			if b := call.BillableSeconds(); math.Abs(b-want.BillableSeconds) > 2.5e-6 {
				t.Errorf("billable %.6f, want %.6f", b, want.BillableSeconds)
			}
			root := call.Legs[0]
			if root.Role != RoleClass4 || root.ParentCallID != "" || root.From != want.CallingNumber || root.To != want.CalledNumber {
				t.Errorf("root leg %s %q from %s to %s", root.Role, root.ParentCallID, root.From, root.To)
			}
			if len(root.Hops) != 2 || root.Hops[0].Dst.String() != "127.0.0.20:5060" || root.Hops[1].Src.String() != "127.0.0.20:5060" {
				t.Errorf("root hops %v, want carrier->proxy and proxy->class-5", root.Hops)
			}
			if root.Messages != want.ALeg.Messages {
				t.Errorf("root leg: %d messages, want %d", root.Messages, want.ALeg.Messages)
			}
			for _, wb := range want.BLegs {
				l := call.Leg(wb.CallID)
				if l == nil {
					t.Errorf("no leg %s", wb.CallID)
					continue
				}
				what := "leg " + wb.CallID[:8] + ": "
				if l.Role != RoleClass5 || l.ParentCallID != want.ALegCallIDs[0] || l.Link != "X-ORIGINAL-CALLID" {
					t.Errorf("%srole %s parent %s link %s", what, l.Role, l.ParentCallID, l.Link)
				}
				if string(l.Outcome) != wb.Outcome || l.FinalStatus != wb.FinalStatus {
					t.Errorf("%soutcome %s %d, want %s %d", what, l.Outcome, l.FinalStatus, wb.Outcome, wb.FinalStatus)
				}
				sameTime(t, what+"invite_time", l.InviteTime, us(wb.InviteTime))
				sameTime(t, what+"ringing_time", l.RingingTime, us(wb.RingingTime))
				sameTime(t, what+"answer_time", l.AnswerTime, us(wb.AnswerTime))
				sameTime(t, what+"end_time", l.EndTime, us(wb.EndTime))
				if l.EndReason != truthEndReason(wb.EndReason) || l.EndedBy != wb.EndedBy {
					t.Errorf("%send %s by %s, want %s by %s", what, l.EndReason, l.EndedBy, wb.EndReason, wb.EndedBy)
				}
				if l.Messages != wb.Messages || l.RequestURI != wb.RequestURI {
					t.Errorf("%s%d messages to %s, want %d to %s", what, l.Messages, l.RequestURI, wb.Messages, wb.RequestURI)
				}
			}
			checkClass45Events(t, call, want.Events, want.ALegCallIDs[0], true, time.Microsecond)
		})
	}
}

// checkClass45Events compares the events, in time order, times within tol. withFrames: frame
// numbers are those of class45.pcapng.
func checkClass45Events(t *testing.T, call *Call, want []truthEvent, aLeg string, withFrames bool, tol time.Duration) {
	t.Helper()
	var exp []CallEvent
	for _, w := range want {
		e := CallEvent{Type: EventType(w.Type), Time: usv(w.Time), Frame: w.Frame, Digit: w.Digit}
		switch {
		case w.ToBLeg != "":
			e.Leg, e.FromLeg = w.ToBLeg, w.FromBLeg
		case w.Leg == "A":
			e.Leg = aLeg
		default:
			e.Leg = w.BLegCallID
		}
		switch e.Type {
		case EventRefer:
			e.Target = strings.Trim(w.ReferTo, "<>")
			e.Status = w.Response
			if f := strings.Fields(w.TransferResult); len(f) > 1 {
				e.Result, _ = strconv.Atoi(f[1])
			}
		case EventForward:
			e.Target, e.Status = w.Target, w.TriggerStatus
		case EventTransfer:
			e.Target = w.Target
		case EventPark:
			e.Target = w.Orbit // compared with the user part of our Refer-To target
		case EventDTMF:
			e.Source = "INFO"
		}
		exp = append(exp, e)
	}
	ok := len(exp) == len(call.Events)
	for i := 0; ok && i < len(exp); i++ {
		g, w := call.Events[i], exp[i]
		d := g.Time.Sub(w.Time)
		ok = describeEvent(g, withFrames) == describeEvent(w, withFrames) && d >= -tol && d <= tol
	}
	if !ok {
		var gs, ws []string
		for _, e := range call.Events {
			gs = append(gs, fmtTime(e.Time)+" "+describeEvent(e, withFrames))
		}
		for _, e := range exp {
			ws = append(ws, fmtTime(e.Time)+" "+describeEvent(e, withFrames))
		}
		t.Errorf("events (times within %v):\n%s\nwant:\n%s", tol, strings.Join(gs, "\n"), strings.Join(ws, "\n"))
	}
}

func describeEvent(e CallEvent, withFrame bool) string {
	target := e.Target
	if e.Type == EventPark {
		target = strings.TrimPrefix(target, "sip:")
		if at := strings.IndexByte(target, '@'); at >= 0 {
			target = target[:at]
		}
	}
	s := fmt.Sprintf("%s leg=%s digit=%s source=%s target=%s status=%d result=%d from=%s",
		e.Type, e.Leg, e.Digit, e.Source, target, e.Status, e.Result, e.FromLeg)
	if withFrame {
		s += " frame=" + strconv.Itoa(e.Frame)
	}
	return s
}

// TestClass45HEPFeed analyses the proxy's HEP mirror of the same traffic. The proxy sees only the
// A-legs (carrier <-> proxy <-> class-5), so each call is its A-leg alone, with the A-leg's events.
// HEP timestamps are the proxy's own clock at send or receive time, not the capture's, so times
// are compared within hepSkew of truth.json's carrier-hop times.
func TestClass45HEPFeed(t *testing.T) {
	const hepSkew = 2 * time.Millisecond
	tr := readClass45Truth(t)
	got, _ := runCalls(t, CallOptions{}, corpus.Path(t, "class45/class45-hep-feed.pcap"))
	if len(got) != len(tr.Calls) {
		t.Errorf("%d calls, want %d", len(got), len(tr.Calls))
	}
	near := func(what string, g time.Time, w *float64) {
		t.Helper()
		if d := g.Sub(us(w)); g.IsZero() != (w == nil) || d < -hepSkew || d > hepSkew {
			t.Errorf("%s = %s, want %s within %v", what, fmtTime(g), fmtTime(us(w)), hepSkew)
		}
	}
	for _, want := range tr.Calls {
		t.Run(want.ID, func(t *testing.T) {
			call := got[want.ALegCallIDs[0]]
			if call == nil {
				t.Fatalf("no call %s", want.ALegCallIDs[0])
			}
			if len(call.Legs) != 1 || call.Legs[0].Messages != want.ALeg.Messages {
				t.Errorf("legs %v with %d messages, want the A-leg alone with %d", call.CallIDs(), call.Legs[0].Messages, want.ALeg.Messages)
			}
			if string(call.Outcome) != want.Outcome || call.FinalStatus != want.FinalStatus ||
				call.EndReason != truthEndReason(want.EndReason) || call.EndedBy != want.EndedBy {
				t.Errorf("%s %d %s by %s, want %s %d %s by %s", call.Outcome, call.FinalStatus, call.EndReason, call.EndedBy,
					want.Outcome, want.FinalStatus, want.EndReason, want.EndedBy)
			}
			near("invite_time", call.InviteTime, want.InviteTime)
			near("ringing_time", call.RingingTime, want.RingingTime)
			near("answer_time", call.AnswerTime, want.AnswerTime)
			near("end_time", call.EndTime, want.EndTime)
			var aEvents []truthEvent
			for _, e := range want.Events {
				if e.Leg == "A" {
					aEvents = append(aEvents, e)
				}
			}
			checkClass45Events(t, call, aEvents, want.ALegCallIDs[0], false, hepSkew)
		})
	}
}
