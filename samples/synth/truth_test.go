package synth_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/samples/synth"
)

// TestTruthMatchesCapture derives every call record field from the capture alone, with a small
// correlator written from the record's definition (see the package doc), and compares.
func TestTruthMatchesCapture(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  synth.Config
	}{
		{"default mix", synth.Config{Calls: 1500, Seed: 21, RTPShare: 0.1}},
		{"every scenario", synth.Config{Calls: 200, Seed: 22, EachAtLeast: 10, Phones: 40, Class5: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			capture, truth, _ := generate(t, tc.cfg)
			recs, err := synth.ReadTruth(bytes.NewReader(truth))
			if err != nil {
				t.Fatal(err)
			}
			checkTruth(t, readCapture(t, capture), recs)
		})
	}
}

var userOf = regexp.MustCompile(`sip:([^@;>]+)@`)

func user(h string) string {
	if m := userOf.FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return ""
}

// dialog is the packets of one Call-ID.
type dialog []packet

// invite returns the first initial INVITE (no To tag).
func (d dialog) invite() *packet {
	for i := range d {
		if m := d[i].sip; m.method == "INVITE" && !m.toTag() {
			return &d[i]
		}
	}
	return nil
}

// onHop keeps the packets between the two endpoints of p, either way.
func (d dialog) onHop(p *packet) dialog {
	var out dialog
	for _, q := range d {
		if (q.src == p.src && q.dst == p.dst) || (q.src == p.dst && q.dst == p.src) {
			out = append(out, q)
		}
	}
	return out
}

// result is what a leg's packets on one hop say about it.
type result struct {
	invite, ringing, answer, end time.Time
	final                        int
	endReason, endedBy           string
}

func legResult(hop dialog, inv *packet) result {
	r := result{invite: inv.ts}
	cseq := inv.sip.get("cseq")
	for _, q := range hop {
		m := q.sip
		switch {
		case m.method == "" && m.get("cseq") == cseq && m.status >= 180 && m.status < 200 && r.ringing.IsZero():
			r.ringing = q.ts
		case m.method == "" && m.get("cseq") == cseq && m.status >= 200 && r.final == 0:
			r.final = m.status
			if m.status == 200 {
				r.answer = q.ts
			} else if r.endReason == "" {
				r.end, r.endReason, r.endedBy = q.ts, "final response", "called-side"
			}
		case m.method == "CANCEL" && r.endReason == "":
			r.end, r.endReason, r.endedBy = q.ts, "CANCEL", "calling-side"
		case m.method == "BYE" && r.endReason == "":
			r.end, r.endReason, r.endedBy = q.ts, "BYE", "called-side"
			if q.src == inv.src {
				r.endedBy = "calling-side"
			}
		}
	}
	return r
}

var outcomes = map[int]string{200: "answered", 486: "busy", 487: "cancelled", 480: "no-answer", 408: "no-answer",
	404: "rejected", 503: "failed"}

func checkTruth(t *testing.T, pkts []packet, recs []synth.Record) {
	t.Helper()
	byID := map[string]dialog{}
	bLegsOf := map[string][]string{} // A-leg Call-ID -> B-leg Call-IDs, in INVITE order
	var aLegs []string
	for _, p := range pkts {
		if p.sip == nil || p.sip.cseqMethod() == "OPTIONS" {
			continue
		}
		id := p.sip.get("call-id")
		if byID[id] == nil && p.sip.method == "INVITE" {
			if x := p.sip.get("x-original-callid"); x != "" && x != id {
				bLegsOf[x] = append(bLegsOf[x], id)
			} else {
				aLegs = append(aLegs, id)
			}
		}
		byID[id] = append(byID[id], p)
	}
	if len(aLegs) != len(recs) {
		t.Fatalf("%d calls in the capture, %d records", len(aLegs), len(recs))
	}
	same := func(what string, got synth.Time, want time.Time) error {
		if !got.Equal(want) {
			return fmt.Errorf("%s %v, capture says %v", what, got.Time, want)
		}
		return nil
	}
	secs := func(d time.Duration) float64 { return d.Seconds() }
	near := func(what string, got, want float64) error {
		if math.Abs(got-want) > 1e-6 {
			return fmt.Errorf("%s %v, capture says %v", what, got, want)
		}
		return nil
	}
	for _, rec := range recs {
		fail := func(err error) {
			if err != nil {
				line, _ := json.Marshal(rec)
				t.Fatalf("call %s: %v\nrecord: %s", rec.CallID, err, line)
			}
		}
		a := byID[rec.CallID]
		inv := a.invite()
		if inv == nil {
			fail(fmt.Errorf("no INVITE in the capture"))
		}
		r := legResult(a.onHop(inv), inv)
		fail(same("invite_time", rec.InviteTime, r.invite))
		fail(same("ringing_time", rec.RingingTime, r.ringing))
		fail(same("answer_time", rec.AnswerTime, r.answer))
		fail(same("end_time", rec.EndTime, r.end))
		if rec.FinalStatus != r.final || rec.Outcome != outcomes[r.final] || rec.EndReason != r.endReason || rec.EndedBy != r.endedBy {
			fail(fmt.Errorf("final %d %s %s %s, capture says %d %s %s %s", rec.FinalStatus, rec.Outcome, rec.EndReason,
				rec.EndedBy, r.final, outcomes[r.final], r.endReason, r.endedBy))
		}
		pdd := r.ringing
		if pdd.IsZero() {
			for _, q := range a.onHop(inv) {
				if q.sip.method == "" && q.sip.status >= 200 {
					pdd = q.ts
					break
				}
			}
		}
		fail(near("pdd_seconds", rec.PDDSeconds, secs(pdd.Sub(r.invite))))
		fail(near("duration_seconds", rec.DurationSeconds, secs(r.end.Sub(r.invite))))
		if !r.answer.IsZero() {
			fail(near("billable_seconds", rec.BillableSeconds, secs(r.end.Sub(r.answer))))
		} else if rec.BillableSeconds != 0 {
			fail(fmt.Errorf("billable_seconds %v without an answer", rec.BillableSeconds))
		}
		// The proxy keeps the Call-ID on its second hop and marks the INVITE; the
		// class-5 node's B-legs copy the mark.
		if r.final != 404 {
			var marked bool
			for _, q := range a {
				marked = marked || q.sip.method == "INVITE" && q.sip.get("x-original-callid") == rec.CallID
			}
			if !marked {
				fail(fmt.Errorf("no INVITE with X-ORIGINAL-CALLID on the proxy's second hop"))
			}
		}

		// Legs: the A-leg, then every B-leg the capture links to it.
		bs := bLegsOf[rec.CallID]
		if len(rec.Legs) != 1+len(bs) {
			fail(fmt.Errorf("%d legs, capture has 1 + %d", len(rec.Legs), len(bs)))
		}
		al := rec.Legs[0]
		if al.CallID != rec.CallID || al.Role != "class4" || al.ParentCallID != "" || al.From != user(inv.sip.get("from")) ||
			al.To != user(inv.sip.get("to")) || al.FinalStatus != rec.FinalStatus || al.Outcome != rec.Outcome ||
			!al.InviteTime.Equal(rec.InviteTime.Time) || !al.AnswerTime.Equal(rec.AnswerTime.Time) || !al.EndTime.Equal(rec.EndTime.Time) {
			fail(fmt.Errorf("A-leg %+v disagrees with the call", al))
		}
		for i, id := range bs {
			l := rec.Legs[i+1]
			b := byID[id]
			binv := b.invite()
			br := legResult(b, binv)
			if l.CallID != id || l.Role != "class5" || l.ParentCallID != rec.CallID || l.From != user(binv.sip.get("from")) ||
				l.To != user(binv.sip.get("to")) || l.FinalStatus != br.final || l.Outcome != outcomes[br.final] {
				fail(fmt.Errorf("B-leg %d %+v, capture says %s final %d from %s to %s", i, l, id, br.final,
					user(binv.sip.get("from")), user(binv.sip.get("to"))))
			}
			fail(same("B-leg invite_time", l.InviteTime, br.invite))
			fail(same("B-leg answer_time", l.AnswerTime, br.answer))
			fail(same("B-leg end_time", l.EndTime, br.end))
		}

		// Events: each is one message, at the time it is first seen.
		for _, e := range rec.Events {
			fail(checkEvent(byID[e.Leg], e))
		}
	}
}

func checkEvent(d dialog, e synth.Event) error {
	for _, q := range d {
		if !q.ts.Equal(e.Time.Time) {
			continue
		}
		m := q.sip
		ok := false
		switch e.Type {
		case "dtmf":
			ok = m.method == "INFO" && m.get("content-type") == "application/dtmf-relay" &&
				strings.HasPrefix(string(m.body), "Signal="+e.Digit+"\r\n")
		case "hold", "unhold":
			dir := "a=sendonly"
			if e.Type == "unhold" {
				dir = "a=sendrecv"
			}
			ok = m.method == "INVITE" && m.toTag() && strings.Contains(string(m.body), dir+"\r\n")
		case "refer":
			ok = m.method == "REFER" && m.get("refer-to") == "<"+e.Target+">"
		case "forward":
			ok = m.method == "INVITE" && !m.toTag() && m.ruri == e.Target && m.get("diversion") != ""
		case "transfer":
			ok = m.method == "INVITE" && !m.toTag() && m.ruri == e.Target && m.get("referred-by") != ""
		}
		if !ok {
			continue
		}
		// First seen: no earlier copy of the same request.
		for _, p := range d {
			if p.ts.Before(q.ts) && p.sip.method == m.method && p.sip.get("cseq") == m.get("cseq") {
				return fmt.Errorf("event %+v: the request was seen earlier, at %v", e, p.ts)
			}
		}
		return nil
	}
	return fmt.Errorf("event %+v: no such message in the capture", e)
}
