package filters

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/sip"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// keep copies a message the decoder is about to reuse.
func keep(t testing.TB, m *decode.Message) *decode.Message {
	c := *m
	c.Payload = append([]byte(nil), m.Payload...)
	c.Frames = slices.Clone(m.Frames)
	if m.Protocol == decode.ProtoSIP {
		c.SIP = new(sip.Message)
		if err := sip.Parse(c.Payload, c.SIP); err != nil {
			t.Fatal(err)
		}
	}
	return &c
}

// TestCallsClass45 matches the calls correlate finds in the class-4/5 capture and checks each
// filter's verdict against the capture's independently derived truth.json.
func TestCallsClass45(t *testing.T) {
	var truth struct {
		Calls []struct {
			ID              string   `json:"id"`
			Outcome         string   `json:"outcome"`
			ALegCallIDs     []string `json:"a_leg_call_ids"`
			BLegCallIDs     []string `json:"b_leg_call_ids"`
			CallingNumber   string   `json:"calling_number"`
			BillableSeconds float64  `json:"billable_seconds"`
			EndReason       string   `json:"end_reason"`
			Events          []struct {
				Type string `json:"type"`
			} `json:"events"`
			BLegs []struct {
				FinalStatus int `json:"final_status"`
			} `json:"b_legs"`
		} `json:"calls"`
	}
	data, err := os.ReadFile(corpus.Path(t, "class45/truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &truth); err != nil {
		t.Fatal(err)
	}
	byCallID := map[string][]*decode.Message{}
	corr := correlate.NewCalls(correlate.CallOptions{})
	var calls []*correlate.Call
	collect := func(cs []*correlate.Call) {
		for _, c := range cs {
			cc := *c
			calls = append(calls, &cc)
		}
	}
	_, err = decode.Run(context.Background(), []string{corpus.Path(t, "class45/class45.pcapng")}, func(m *decode.Message) {
		if m.Protocol == decode.ProtoSIP {
			byCallID[string(m.SIP.CallID)] = append(byCallID[string(m.SIP.CallID)], keep(t, m))
		}
		collect(corr.Add(m))
	}, decode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	collect(corr.Flush())
	findTruth := func(c *correlate.Call) int {
		for i, tc := range truth.Calls {
			if slices.Contains(tc.ALegCallIDs, c.CallID) {
				return i
			}
		}
		return -1
	}
	has := func(i int, typ string) bool {
		for _, e := range truth.Calls[i].Events {
			if e.Type == typ {
				return true
			}
		}
		return false
	}
	tests := []struct {
		expr string
		want func(i int) bool
	}{
		{`call.outcome == "busy"`, func(i int) bool { return truth.Calls[i].Outcome == "busy" }},
		{`call.outcome == "cancelled" and call.end_reason == "CANCEL"`, func(i int) bool { return truth.Calls[i].EndReason == "CANCEL" }},
		{`call.has("hold") and call.has("dtmf")`, func(i int) bool { return has(i, "hold") && has(i, "dtmf") }},
		{`call.has("transfer") or call.has("forward")`, func(i int) bool { return has(i, "transfer") || has(i, "forward") }},
		{`call.legs > 2`, func(i int) bool { return len(truth.Calls[i].ALegCallIDs)+len(truth.Calls[i].BLegCallIDs) > 2 }},
		{`call.duration > 0`, func(i int) bool { return truth.Calls[i].BillableSeconds > 0 }},
		{`call.from == "` + truth.Calls[0].CallingNumber + `"`, func(i int) bool { return truth.Calls[i].CallingNumber == truth.Calls[0].CallingNumber }},
		// Message fields: a call matches when one of its messages does. fwdbusy calls saw a 486 on
		// their first B-leg though they were answered.
		{`sip.status == 486`, func(i int) bool {
			return slices.ContainsFunc(truth.Calls[i].BLegs, func(b struct {
				FinalStatus int `json:"final_status"`
			}) bool {
				return b.FinalStatus == 486
			})
		}},
		{`sip.method == "REFER"`, func(i int) bool { return has(i, "refer") }},
		{`sip.method == "INFO" and call.outcome == "answered"`, func(i int) bool { return has(i, "dtmf") }},
	}
	if len(calls) != len(truth.Calls) {
		t.Fatalf("%d calls, truth has %d", len(calls), len(truth.Calls))
	}
	for _, tt := range tests {
		f := mustCompile(t, tt.expr)
		matched := 0
		for _, c := range calls {
			i := findTruth(c)
			if i < 0 {
				t.Fatalf("call %s not in truth.json", c.CallID)
			}
			got := f.MatchCall(c, messagesOf(c, byCallID)...)
			if got != tt.want(i) {
				t.Errorf("%s on %s: %v, want %v", tt.expr, truth.Calls[i].ID, got, !got)
			}
			if got {
				matched++
			}
		}
		// The streaming matcher agrees, for expressions that do not mix call and message fields.
		if cm, err := NewCallMatcher(f); err == nil {
			for _, c := range calls {
				for _, id := range c.CallIDs() {
					for _, m := range byCallID[id] {
						cm.Message(m)
					}
				}
				if got := cm.Call(c); got != f.MatchCall(c, messagesOf(c, byCallID)...) {
					t.Errorf("%s on %s: CallMatcher says %v", tt.expr, c.CallID, got)
				}
			}
			if len(cm.ids) != 0 {
				t.Errorf("%s: CallMatcher still holds %d Call-IDs", tt.expr, len(cm.ids))
			}
		} else if !f.UsesCallFields() || !f.UsesMessageFields() {
			t.Errorf("%s: %v", tt.expr, err)
		}
		if matched == 0 || matched == len(calls) {
			t.Errorf("%s matched %d of %d calls: the case tells nothing", tt.expr, matched, len(calls))
		}
	}
}

func messagesOf(c *correlate.Call, byCallID map[string][]*decode.Message) []*decode.Message {
	var msgs []*decode.Message
	for _, id := range c.CallIDs() {
		msgs = append(msgs, byCallID[id]...)
	}
	return msgs
}
