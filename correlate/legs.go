package correlate

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"time"

	"github.com/sigtrace/sigtrace/decode"
)

// legState is an open leg: the record being built and what is needed to build it.
type legState struct {
	Leg
	call     *callState
	parent   *legState
	children []*legState

	callerTag string
	p0        Hop // the first hop, as the INVITE crossed it (caller side to callee side)
	// initMin..initMax are the CSeq numbers of the initial INVITEs (more than one when the first
	// was challenged for credentials and sent again).
	initMin, initMax uint32
	confirmed        bool // an in-dialog request was seen before any INVITE (partial leg)

	ring, answer, fail, cancel, bye stamp
	answerStatus, failStatus        int
	failCSeq                        uint32
	byeSide                         uint8
	lastProvisional                 time.Time
	lastInvite                      time.Time
	responded                       bool // any response to the INVITE
	timedOut                        bool
	last                            time.Time
	toTags                          []string

	seen []uint64 // identities of the messages seen, for retransmissions
	txns []legTxn
	hold [2]bool // per side (0 caller, 1 callee): the side has put the other on hold

	diversion bool // the INVITE carried Diversion or History-Info

	// linking
	waitingFor string // the parent Call-ID this leg waits for
	waitLink   string // the header that named it
	sharedKeys []string
	num        string // calling number, for the heuristic index

	rtpAddrs []netip.AddrPort
	rtpSeen  [4]uint64 // recent (SSRC, timestamp) of RTP events, to report each digit once
	rtpNext  int
}

// legTxn is one end-to-end transaction of a leg, whatever hops it crossed.
type legTxn struct {
	cseq   uint32
	method uint8
	side   uint8
	event  int32 // 1 + index in the call's events of the event this transaction made, 0 none
	refer  int32 // 1 + index in the call's refers (REFER transactions)
}

// Methods a transaction is told apart by (with CSeq and side).
const (
	mOther uint8 = iota
	mINVITE
	mACK
	mBYE
	mCANCEL
	mINFO
	mREFER
	mNOTIFY
	mUPDATE
	mPRACK
)

func methodCode(b []byte) uint8 {
	switch string(b) {
	case "INVITE":
		return mINVITE
	case "ACK":
		return mACK
	case "BYE":
		return mBYE
	case "CANCEL":
		return mCANCEL
	case "INFO":
		return mINFO
	case "REFER":
		return mREFER
	case "NOTIFY":
		return mNOTIFY
	case "UPDATE":
		return mUPDATE
	case "PRACK":
		return mPRACK
	}
	return mOther
}

// answered reports a 2xx to the INVITE (or a dialog already established when the capture began).
func (l *legState) answered() bool { return l.answer.set() || l.confirmed }

// ended reports whether the leg is over: hung up, refused, or timed out.
func (l *legState) ended() bool {
	switch {
	case l.answered():
		return l.bye.set() || l.timedOut
	case l.fail.set() && l.failCSeq >= l.initMax:
		return true
	}
	return l.timedOut
}

// endSeen is when the leg ended (for a leg that ended).
func (l *legState) endSeen() time.Time {
	switch {
	case l.answered() && l.bye.set():
		return l.bye.t
	case l.fail.set():
		return l.fail.t
	}
	return l.last
}

// timeout is when an unanswered INVITE is given up: Timer B without any response, Timer C after
// the last provisional response. Zero when no timer runs.
func (l *legState) timeout() time.Time {
	if l.answered() || l.ended() || l.lastInvite.IsZero() {
		return time.Time{}
	}
	if l.cancel.set() && !l.responded {
		return l.cancel.t.Add(timerB)
	}
	if !l.responded {
		return l.lastInvite.Add(timerB)
	}
	t := l.lastProvisional
	if t.Before(l.lastInvite) {
		t = l.lastInvite
	}
	if l.cancel.set() {
		return l.cancel.t.Add(timerB)
	}
	return t.Add(timerC)
}

// onPrimary reports whether a message crossed the leg's first hop. down says it travels from the
// caller's side to the callee's. Stream transports may use another source port per connection, so
// they compare addresses only.
func (l *legState) onPrimary(m *decode.Message, down bool) bool {
	src, dst := l.p0.Src, l.p0.Dst
	if !down {
		src, dst = dst, src
	}
	if m.Src == src && m.Dst == dst {
		return true
	}
	if m.Transport == decode.UDP {
		return false
	}
	return m.Src.Addr() == src.Addr() && m.Dst.Addr() == dst.Addr()
}

// identity hashes what makes a message the same message again on the same hop.
func (c *Calls) identity(m *decode.Message, toTag []byte) uint64 {
	s := m.SIP
	var buf [48]byte
	a := m.Src.Addr().As16()
	b := m.Dst.Addr().As16()
	copy(buf[:16], a[:])
	copy(buf[16:32], b[:])
	binary.BigEndian.PutUint16(buf[32:], m.Src.Port())
	binary.BigEndian.PutUint16(buf[34:], m.Dst.Port())
	binary.BigEndian.PutUint32(buf[36:], s.CSeq)
	binary.BigEndian.PutUint16(buf[40:], uint16(s.StatusCode))
	if s.IsRequest {
		buf[42] = 1
	}
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.Write(buf[:43])
	h.Write(s.CSeqMethod)
	h.WriteByte(0)
	h.Write(s.Branch())
	h.WriteByte(0)
	h.Write(toTag)
	return h.Sum64()
}

// message applies one message to the leg.
func (l *legState) message(c *Calls, m *decode.Message, t time.Time, toTag []byte) {
	s := m.SIP
	l.Messages++
	if t.After(l.last) {
		l.last = t
	}
	id := c.identity(m, toTag)
	for _, x := range l.seen {
		if x == id {
			l.Retransmissions++
			return
		}
	}
	l.seen = append(l.seen, id)

	fromTag := s.FromTag()
	callerSide := string(fromTag) == l.callerTag
	side := uint8(1)
	if callerSide {
		side = 0
	}
	down := s.IsRequest == callerSide
	primary := l.onPrimary(m, down)

	if s.IsRequest {
		l.request(c, m, t, toTag, side, primary)
	} else {
		l.response(c, m, t, toTag, side, primary)
	}
	if sdp := s.SDPBody(); len(sdp) > 0 {
		c.watchRTP(l, sdp)
	}
}

// txn finds or adds the transaction of a message; isNew reports a first sighting.
func (l *legState) txn(cseq uint32, method, side uint8) (tx *legTxn, isNew bool) {
	for i := range l.txns {
		x := &l.txns[i]
		if x.cseq == cseq && x.method == method && x.side == side {
			return x, false
		}
	}
	l.txns = append(l.txns, legTxn{cseq: cseq, method: method, side: side})
	return &l.txns[len(l.txns)-1], true
}

func (l *legState) request(c *Calls, m *decode.Message, t time.Time, toTag []byte, side uint8, primary bool) {
	s := m.SIP
	method := methodCode(s.Method)
	tx, isNew := l.txn(s.CSeq, method, side)
	if isNew && method != mACK && method != mCANCEL {
		l.Transactions++
	}
	switch method {
	case mINVITE:
		if len(toTag) == 0 && side == 0 {
			l.initialInvite(c, m, t)
			return
		}
		if isNew && l.answered() {
			c.holdCheck(l, m, t, tx, side, primary)
		} else if tx.event > 0 {
			l.call.retime(int(tx.event-1), m, t, primary)
		}
	case mUPDATE:
		if isNew && l.answered() {
			c.holdCheck(l, m, t, tx, side, primary)
		} else if tx.event > 0 {
			l.call.retime(int(tx.event-1), m, t, primary)
		}
	case mCANCEL:
		if side == 0 && !l.answer.set() {
			l.cancel.offer(m, t, primary)
		}
	case mBYE:
		if !l.bye.set() {
			l.byeSide = side
			l.bye.offer(m, t, primary)
		} else if l.byeSide == side {
			l.bye.offer(m, t, primary)
		}
	case mINFO:
		if isNew {
			c.dtmfInfo(l, m, t, tx, primary)
		} else if tx.event > 0 {
			l.call.retime(int(tx.event-1), m, t, primary)
		}
	case mREFER:
		if isNew {
			c.referRequest(l, m, t, tx, primary)
		} else if tx.event > 0 {
			l.call.retime(int(tx.event-1), m, t, primary)
		}
	case mNOTIFY:
		c.referNotify(l, m, t, primary)
	}
}

// initialInvite handles an INVITE that opens (or retries opening) the dialog, on any hop.
func (l *legState) initialInvite(c *Calls, m *decode.Message, t time.Time) {
	s := m.SIP
	if l.Partial {
		return
	}
	h := Hop{Src: m.Src, Dst: m.Dst, Transport: m.Transport}
	known := false
	for _, x := range l.Hops {
		if x == h {
			known = true
			break
		}
	}
	if !known {
		l.Hops = append(l.Hops, h)
		if l.parent == nil && l.waitingFor == "" {
			c.link(l, m) // a proxy may add the linking header on a later hop
		}
	}
	if s.CSeq > l.initMax {
		l.initMax = s.CSeq // a retry (with credentials): the earlier refusal no longer ends the leg
	}
	if s.CSeq < l.initMin {
		l.initMin = s.CSeq
	}
	if t.After(l.lastInvite) {
		l.lastInvite = t
	}
	if !l.diversion && (s.Header("Diversion") != nil || s.Header("History-Info") != nil) {
		l.diversion = true
	}
}

func (l *legState) response(c *Calls, m *decode.Message, t time.Time, toTag []byte, side uint8, primary bool) {
	s := m.SIP
	method := methodCode(s.CSeqMethod)
	switch method {
	case mINVITE:
		if side == 0 && s.CSeq >= l.initMin && s.CSeq <= l.initMax && !(l.initMin == 0 && l.initMax == 0 && l.confirmed) {
			l.inviteResponse(m, t, toTag, primary)
		}
	case mREFER:
		tx, _ := l.txn(s.CSeq, mREFER, side)
		if tx.refer > 0 && s.StatusCode >= 200 {
			r := &l.call.refers[tx.refer-1]
			ev := &l.call.events[r.event]
			if ev.Status == 0 || primary {
				ev.Status = s.StatusCode
			}
		}
	}
}

// inviteResponse handles a response to an initial INVITE.
func (l *legState) inviteResponse(m *decode.Message, t time.Time, toTag []byte, primary bool) {
	s := m.SIP
	st := s.StatusCode
	l.responded = true
	// A dialog is created by a 1xx with a To tag or by a 2xx; a refusal (a 401 challenge before
	// the INVITE is sent again) creates none.
	if len(toTag) > 0 && st > 100 && st < 300 {
		known := false
		for _, x := range l.toTags {
			if x == string(toTag) {
				known = true
				break
			}
		}
		if !known {
			l.toTags = append(l.toTags, string(toTag))
		}
	}
	switch {
	case st < 200:
		if t.After(l.lastProvisional) {
			l.lastProvisional = t
		}
		if st > 100 {
			l.ring.offer(m, t, primary)
		}
	case st < 300:
		if l.answer.offer(m, t, primary) {
			l.answerStatus = st
			l.ToTag = string(toTag)
		}
	default:
		better := !l.fail.set() || s.CSeq > l.failCSeq || (s.CSeq == l.failCSeq && primary && !l.fail.primary)
		if better {
			l.fail = stamp{t: t, frame: m.Frame, input: m.Input, primary: primary}
			l.failStatus = st
			l.failCSeq = s.CSeq
			if !l.answer.set() {
				l.ToTag = string(toTag)
			}
		}
	}
}

// finish fills the leg's record from what was seen.
func (l *legState) finish() Leg {
	r := l.Leg
	r.Hops = l.Hops
	r.FromTag = l.callerTag
	r.EarlyDialogs = len(l.toTags)
	r.RingingTime = l.ring.t
	r.AnswerTime = l.answer.t
	if l.parent != nil {
		r.Role = RoleClass5
		r.ParentCallID = l.parent.CallID
	} else {
		r.Role = RoleClass4
		if l.waitingFor != "" {
			r.Role = RoleClass5
			r.ParentCallID = l.waitingFor
			r.Link = l.waitLink
		}
	}
	switch {
	case l.answered():
		r.Outcome = Answered
		r.FinalStatus = l.answerStatus
		if l.bye.set() {
			r.EndTime = l.bye.t
			r.EndReason = EndBYE
			r.EndedBy = CallingSide
			if l.byeSide == 1 {
				r.EndedBy = CalledSide
			}
		} else if l.timedOut {
			r.EndTime = l.last
			r.EndReason = EndTimeout
		} else {
			r.Outcome = InProgress
		}
	case l.fail.set() && l.failCSeq >= l.initMax:
		r.FinalStatus = l.failStatus
		r.Outcome = OutcomeOf(l.failStatus)
		if l.cancel.set() && !l.cancel.t.After(l.fail.t) {
			r.EndTime = l.cancel.t
			r.EndReason = EndCANCEL
			r.EndedBy = CallingSide
		} else {
			r.EndTime = l.fail.t
			r.EndReason = EndFinalResponse
			r.EndedBy = CalledSide
		}
	case l.timedOut:
		r.EndTime = l.last
		r.EndReason = EndTimeout
		switch {
		case l.cancel.set():
			r.Outcome = Cancelled
			r.EndTime = l.cancel.t
			r.EndReason = EndCANCEL
			r.EndedBy = CallingSide
		case l.ring.set():
			r.Outcome = NoAnswer
		default:
			r.Outcome = Failed
		}
	default:
		r.Outcome = InProgress
	}
	return r
}

// record builds the call's record.
func (c *Calls) record(cs *callState) *Call {
	c.parkEvents(cs)
	call := &Call{CallID: cs.root.CallID, Legs: make([]Leg, 0, len(cs.legs))}
	// Root first, then the others depth first in order of creation.
	var walk func(l *legState)
	walk = func(l *legState) {
		call.Legs = append(call.Legs, l.finish())
		for _, k := range l.children {
			walk(k)
		}
	}
	walk(cs.root)
	for _, l := range cs.legs {
		if l != cs.root && l.parent == nil {
			walk(l) // not reachable from the root (cannot happen once linked, kept for safety)
		}
	}
	root := &call.Legs[0]
	call.Outcome = root.Outcome
	call.FinalStatus = root.FinalStatus
	call.InviteTime = root.InviteTime
	call.RingingTime = root.RingingTime
	call.AnswerTime = root.AnswerTime
	call.EndTime = root.EndTime
	call.EndReason = root.EndReason
	call.EndedBy = root.EndedBy
	if call.Outcome == InProgress {
		call.EndTime = time.Time{}
		call.EndReason, call.EndedBy = "", ""
	}
	call.Events = cs.events
	sortEvents(call.Events)
	return call
}
