package correlate

import (
	"bytes"
	"slices"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/sip"
)

// addEvent appends an event; primary says it was seen on its leg's first hop.
func (cs *callState) addEvent(ev CallEvent, primary bool) int {
	cs.events = append(cs.events, ev)
	cs.evPrimary = append(cs.evPrimary, primary)
	return len(cs.events) - 1
}

// retime moves an event to a sighting on its leg's first hop, where the leg's times are taken.
func (cs *callState) retime(i int, m *decode.Message, t time.Time, primary bool) {
	if i < 0 || i >= len(cs.events) || !primary || cs.evPrimary[i] {
		return
	}
	ev := &cs.events[i]
	ev.Time, ev.Frame, ev.Input = t, m.Frame, m.Input
	cs.evPrimary[i] = true
}

func newEvent(typ EventType, l *legState, m *decode.Message, t time.Time) CallEvent {
	return CallEvent{Type: typ, Time: t, Leg: l.CallID, Frame: m.Frame, Input: m.Input}
}

// holdCheck reads the SDP offer of a re-INVITE or UPDATE of an established dialog: a side puts
// the other on hold with sendonly, inactive or a 0.0.0.0 connection address (RFC 3264 section
// 8.4, and the RFC 2543 form), and resumes with sendrecv.
func (c *Calls) holdCheck(l *legState, m *decode.Message, t time.Time, tx *legTxn, side uint8, primary bool) {
	body := m.SIP.SDPBody()
	if len(body) == 0 || sip.ParseSDP(body, &c.sdp) != nil {
		return
	}
	held, media := false, false
	for i := range c.sdp.Media {
		if c.sdp.Media[i].Port == 0 {
			continue // a rejected or disabled stream says nothing about hold
		}
		media = true
		if c.sdp.OnHold(i) {
			held = true
		}
	}
	if !media || held == l.hold[side] {
		return
	}
	l.hold[side] = held
	typ := EventUnhold
	if held {
		typ = EventHold
	}
	tx.event = int32(1 + l.call.addEvent(newEvent(typ, l, m, t), primary))
}

// dtmfInfo reads a digit from a SIP INFO body (application/dtmf-relay, application/dtmf,
// audio/telephone-event).
func (c *Calls) dtmfInfo(l *legState, m *decode.Message, t time.Time, tx *legTxn, primary bool) {
	s := m.SIP
	digit, ok := sip.DTMFDigit(s.ContentType, s.Body)
	if !ok {
		return
	}
	ev := newEvent(EventDTMF, l, m, t)
	ev.Digit, ev.Source = digit, "INFO"
	tx.event = int32(1 + l.call.addEvent(ev, primary))
}

// referRequest records a REFER (RFC 3515) and its target.
func (c *Calls) referRequest(l *legState, m *decode.Message, t time.Time, tx *legTxn, primary bool) {
	ev := newEvent(EventRefer, l, m, t)
	ev.Target = referTarget(m.SIP.Header("Refer-To"))
	cs := l.call
	i := cs.addEvent(ev, primary)
	tx.event = int32(1 + i)
	cs.refers = append(cs.refers, referState{event: i, leg: l})
	tx.refer = int32(len(cs.refers))
}

// referTarget is the URI of a Refer-To value, without its embedded headers (?Replaces=...).
func referTarget(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	a, _ := sip.ParseNameAddr(v)
	uri := a.URI
	if len(uri) == 0 {
		uri = bytes.TrimSpace(v)
	}
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	return string(uri)
}

// referNotify reads the progress of a REFER from its NOTIFY (Event: refer, message/sipfrag).
func (c *Calls) referNotify(l *legState, m *decode.Message, t time.Time, primary bool) {
	s := m.SIP
	ev := s.Header("Event")
	if len(ev) < 5 || !bytes.EqualFold(ev[:5], []byte("refer")) {
		return
	}
	code := sipfragStatus(s.ContentType, s.Body)
	if code < 200 {
		return
	}
	cs := l.call
	for i := len(cs.refers) - 1; i >= 0; i-- {
		r := &cs.refers[i]
		if r.leg != l {
			continue
		}
		if r.result.offer(m, t, primary) || cs.events[r.event].Result == 0 {
			cs.events[r.event].Result = code
		}
		return
	}
}

// sipfragStatus reads the status code of a message/sipfrag body ("SIP/2.0 200 OK"); 0 when none.
func sipfragStatus(contentType, body []byte) int {
	if !bytes.EqualFold(sip.MediaType(contentType), []byte("message/sipfrag")) {
		return 0
	}
	body = bytes.TrimLeft(body, "\r\n ")
	if len(body) < 12 || !bytes.EqualFold(body[:4], []byte("SIP/")) {
		return 0
	}
	sp := bytes.IndexByte(body, ' ')
	if sp < 0 || len(body) < sp+4 {
		return 0
	}
	code := 0
	for _, d := range body[sp+1 : sp+4] {
		if d < '0' || d > '9' {
			return 0
		}
		code = code*10 + int(d-'0')
	}
	return code
}

// childEvents names why a new class-5 leg appeared: after a REFER on the call it is a transfer;
// after a sibling failed, or carrying a Diversion its parent did not have, a forward.
func (c *Calls) childEvents(k *legState) {
	cs, p := k.call, k.parent
	for i := len(cs.refers) - 1; i >= 0; i-- {
		r := &cs.refers[i]
		if r.consumed || r.leg == k || cs.events[r.event].Time.After(k.InviteTime) {
			continue
		}
		r.consumed = true
		ev := CallEvent{Type: EventTransfer, Time: k.InviteTime, Leg: k.CallID, Frame: k.Frame, Input: k.Input,
			Target: k.RequestURI, FromLeg: r.leg.CallID}
		cs.addEvent(ev, true)
		return
	}
	for _, sib := range p.children {
		if sib == k || !sib.fail.set() || sib.answered() || sib.fail.t.After(k.InviteTime) {
			continue
		}
		ev := CallEvent{Type: EventForward, Time: k.InviteTime, Leg: k.CallID, Frame: k.Frame, Input: k.Input,
			Target: k.RequestURI, Status: sib.failStatus, FromLeg: sib.CallID}
		cs.addEvent(ev, true)
		return
	}
	if k.diversion && !p.diversion {
		ev := CallEvent{Type: EventForward, Time: k.InviteTime, Leg: k.CallID, Frame: k.Frame, Input: k.Input,
			Target: k.RequestURI}
		cs.addEvent(ev, true)
	}
}

// parkEvents adds, when a call is emitted, a park for each REFER that succeeded without a new
// leg: the node took the call somewhere the capture does not show (a park orbit).
func (c *Calls) parkEvents(cs *callState) {
	for _, r := range cs.refers {
		if r.consumed || !r.result.set() {
			continue
		}
		ref := cs.events[r.event]
		if ref.Result < 200 || ref.Result >= 300 {
			continue
		}
		cs.addEvent(CallEvent{Type: EventPark, Time: r.result.t, Leg: r.leg.CallID, Frame: r.result.frame,
			Input: r.result.input, Target: ref.Target}, r.result.primary)
	}
}

// sortEvents orders events by time; events at the same time keep the order they were found in.
func sortEvents(evs []CallEvent) {
	slices.SortStableFunc(evs, func(a, b CallEvent) int { return a.Time.Compare(b.Time) })
}
