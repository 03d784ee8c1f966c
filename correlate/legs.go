package correlate

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"time"
	"unsafe"

	"github.com/sigtrace/sigtrace/decode"
)

// legState is an open leg: the record being built and what is needed to build it. The fields
// every message of the leg reads or writes come first, in the first cache lines of the object:
// thousands of legs are open at once, and a message's leg is rarely still in the cache.
type legState struct {
	call      *callState
	seenBits  [2]uint64 // a bit per identity in seen (its top 7 bits): a clear bit spares the search
	seen      []seenMsg // the messages seen, for retransmissions and duplicates
	callerTag string
	txns      []legTxn
	last      time.Time
	p0        Hop // the first hop, as the INVITE crossed it (caller side to callee side)

	Leg
	parent   *legState
	children []*legState

	hops []Hop // the record's Hops (kept here so that the slice is reused with the leg)
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
	toTags                          []string

	hold [2]bool // per side (0 caller, 1 callee): the side has put the other on hold

	diversion bool // the INVITE carried Diversion or History-Info

	// linking
	waitingFor string // the parent Call-ID this leg waits for
	waitLink   string // the header that named it
	sharedKeys []string
	num        string // calling number, for the heuristic index

	rtpAddrs []rtpAddr // the media addresses it announced with telephone-event (see rtpIndex)
	slot     int32     // its place in rtpIndex, kept when the leg is recycled
	sdpSeen  [2]uint64 // hashes of the last SDP bodies read for telephone-event
	rtpSeen  [4]uint64 // recent (SSRC, timestamp) of RTP events, to report each digit once
	rtpNext  int

	strs []byte // the memory of Leg's identifiers and of the To tags (see newLeg, keep)
}

// seenMsg is a message of the leg already seen: its identity and when, in Unix microseconds.
type seenMsg struct {
	id uint64
	at int64
}

// dupWindow: a copy of a message on the same hop this soon is a capture duplicate (decode's
// DefaultDedupWindow, for a decoder run without deduplication).
var dupWindow = decode.DefaultDedupWindow.Microseconds()

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

// identity hashes what makes a message the same message again on the same hop: addresses,
// CSeq, method or status, tags. The branch is left out: on one hop, a request with the same CSeq,
// method and From tag is the same request again, and reading Via costs more than the rest together.
func (c *Calls) identity(m *decode.Message, fromTag, toTag []byte) uint64 {
	s := m.SIP
	a, b := m.Src.Addr().As16(), m.Dst.Addr().As16()
	code := uint64(methodCode(s.CSeqMethod))
	if code == uint64(mOther) {
		code = maphash.Bytes(c.seed, s.CSeqMethod)
	}
	req := uint64(0)
	if s.IsRequest {
		req = 1
	}
	k := &c.idKeys
	// Four independent 128-bit multiplications (as in wyhash) rather than one chain of mixes:
	// the CPU runs them side by side.
	h1 := mum(binary.LittleEndian.Uint64(a[:8])^k[0], binary.LittleEndian.Uint64(a[8:])^k[1])
	h2 := mum(binary.LittleEndian.Uint64(b[:8])^k[2], binary.LittleEndian.Uint64(b[8:])^k[3])
	h3 := mum(uint64(m.Src.Port())<<16^uint64(m.Dst.Port())^k[4], uint64(s.CSeq)<<32^uint64(s.StatusCode)<<1^req^k[5])
	h4 := mum(code^k[6], maphash.Bytes(c.seed, fromTag)^k[7])
	return mix64(mum(h1^h3^k[8], h2^h4^k[9]), maphash.Bytes(c.seed, toTag))
}

// mum multiplies a and b to 128 bits and folds the halves together.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// mix64 folds v into h (multiply-xorshift, as in splitmix64's finaliser).
func mix64(h, v uint64) uint64 {
	h ^= v
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 31
	h *= 0x94d049bb133111eb
	return h ^ h>>29
}

// message applies one message to the leg. It reports whether the message may bring the call's
// deadline nearer (an INVITE, CANCEL or BYE, a final response to an INVITE).
func (l *legState) message(c *Calls, m *decode.Message, t time.Time, fromTag, toTag []byte) (significant bool) {
	s := m.SIP
	if t.After(l.last) {
		l.last = t
	}
	id := c.identity(m, fromTag, toTag)
	us := t.UnixMicro()
	// Most messages are new, and their bit is clear: the list is searched only when it is set
	// (a leg of 30 messages has about a fifth of the 128 bits set).
	word, bit := id>>63, uint64(1)<<(id>>57&63)
	if l.seenBits[word]&bit != 0 {
		for i := range l.seen {
			if x := &l.seen[i]; x.id == id {
				// The same message on the same hop: a copy in the capture when it comes within
				// the decoder's dedup window (it cannot be a retransmission so soon: T1 is
				// 500 ms), else a retransmission.
				if us-x.at <= dupWindow {
					c.stats.Duplicates++
				} else {
					l.Messages++
					l.Retransmissions++
				}
				x.at = us
				return false
			}
		}
	}
	l.Messages++
	l.seen = append(l.seen, seenMsg{id: id, at: us})
	l.seenBits[word] |= bit

	callerSide := string(fromTag) == l.callerTag
	side := uint8(1)
	if callerSide {
		side = 0
	}
	down := s.IsRequest == callerSide
	primary := l.onPrimary(m, down)

	if s.IsRequest {
		l.request(c, m, t, toTag, side, primary)
		switch string(s.Method) {
		case "INVITE", "CANCEL", "BYE":
			significant = true
		}
	} else {
		l.response(c, m, t, toTag, side, primary)
		significant = s.StatusCode >= 200 && string(s.CSeqMethod) == "INVITE"
	}
	// Most messages have no body: their Content-Type is not even looked at.
	if len(s.Body) > 0 {
		if sdp := s.SDPBody(); len(sdp) > 0 {
			c.watchRTP(l, sdp)
		}
	}
	return significant
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
	for _, x := range l.hops {
		if x == h {
			known = true
			break
		}
	}
	if !known {
		l.hops = append(l.hops, h)
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
	if !l.diversion && c.inviteHeaders(s).diversion {
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
	if len(toTag) > 0 && st > 100 && st < 300 && l.knownTag(toTag) == "" {
		l.toTags = append(l.toTags, l.keep(toTag))
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
			l.setToTag(toTag)
		}
	default:
		better := !l.fail.set() || s.CSeq > l.failCSeq || (s.CSeq == l.failCSeq && primary && !l.fail.primary)
		if better {
			l.fail = stampOf(m, t, primary)
			l.failStatus = st
			l.failCSeq = s.CSeq
			if !l.answer.set() {
				l.setToTag(toTag)
			}
		}
	}
}

// knownTag returns the string already held for a To tag of the leg, or "".
func (l *legState) knownTag(tag []byte) string {
	if l.ToTag == string(tag) {
		return l.ToTag
	}
	for _, x := range l.toTags {
		if x == string(tag) {
			return x
		}
	}
	return ""
}

// setToTag sets the leg's To tag, without a copy when the tag is known (the same response crosses
// several hops).
func (l *legState) setToTag(tag []byte) {
	if len(tag) == 0 {
		l.ToTag = ""
	} else if k := l.knownTag(tag); k != "" {
		l.ToTag = k
	} else {
		l.ToTag = l.keep(tag)
	}
}

// keep returns a copy of b in the leg's own memory, which lasts until the leg is reused.
func (l *legState) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	// When append moves the array, the strings in the old one keep it alive: it is not reused.
	off := len(l.strs)
	l.strs = append(l.strs, b...)
	return unsafe.String(&l.strs[off], len(b))
}

// finish fills the leg's record from what was seen into r, reusing r's Hops.
func (l *legState) finish(r *Leg) {
	hops := r.Hops[:0]
	*r = l.Leg
	r.Hops = append(hops, l.hops...)
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
}

// record builds the call's record, in a recycled one when the caller gives them back (Release).
func (c *Calls) record(cs *callState) *Call {
	c.parkEvents(cs)
	var call *Call
	if n := len(c.freeRecords); n > 0 {
		call = c.freeRecords[n-1]
		c.freeRecords = c.freeRecords[:n-1]
	} else {
		call = &Call{}
	}
	// Root first, then the others depth first in order of creation.
	legs := call.Legs[:0]
	legs = appendLegs(legs, cs.root)
	for _, l := range cs.legs {
		if l != cs.root && l.parent == nil {
			legs = appendLegs(legs, l) // not reachable from the root (cannot happen once linked, kept for safety)
		}
	}
	root := &legs[0]
	*call = Call{
		CallID: root.CallID, Outcome: root.Outcome, FinalStatus: root.FinalStatus,
		InviteTime: root.InviteTime, RingingTime: root.RingingTime, AnswerTime: root.AnswerTime,
		EndTime: root.EndTime, EndReason: root.EndReason, EndedBy: root.EndedBy,
		Legs: legs, Events: append(call.events[:0], cs.events...), strs: call.strs,
	}
	call.events = call.Events
	if call.Outcome == InProgress {
		call.EndTime = time.Time{}
		call.EndReason, call.EndedBy = "", ""
	}
	if len(call.Events) == 0 {
		call.Events = nil
	}
	sortEvents(call.Events)
	call.own()
	return call
}

// own copies into the record's own memory the strings it shares with its legs' state (Call-IDs,
// numbers, tags, URIs), which the next legs reuse. That memory is reused in turn only when the
// record is given back (Release).
func (call *Call) own() {
	n := 0
	for i := range call.Legs {
		l := &call.Legs[i]
		n += len(l.CallID) + len(l.ParentCallID) + len(l.From) + len(l.To) + len(l.RequestURI) + len(l.FromTag) + len(l.ToTag)
	}
	for i := range call.Events {
		e := &call.Events[i]
		n += len(e.Leg) + len(e.Target) + len(e.FromLeg)
	}
	b := ownedStrings{b: call.strs[:0]}
	if cap(b.b) < n {
		b.b = make([]byte, 0, n+n/2) // never grown below: every string stays in this array
	}
	for i := range call.Legs {
		l := &call.Legs[i]
		b.own(&l.CallID)
		b.own(&l.ParentCallID)
		b.own(&l.From)
		b.own(&l.To)
		b.own(&l.RequestURI)
		b.own(&l.FromTag)
		b.own(&l.ToTag)
	}
	for i := range call.Events {
		e := &call.Events[i]
		b.own(&e.Leg)
		b.own(&e.Target)
		b.own(&e.FromLeg)
	}
	call.CallID = call.Legs[0].CallID
	call.strs = b.b
}

// ownedStrings appends strings to an array with room for them all.
type ownedStrings struct{ b []byte }

func (o *ownedStrings) own(s *string) {
	if len(*s) == 0 {
		return
	}
	off := len(o.b)
	o.b = append(o.b, *s...)
	*s = unsafe.String(&o.b[off], len(*s))
}

// appendLegs appends the records of l and its descendants, reusing the slots (and their Hops)
// of a recycled record.
func appendLegs(legs []Leg, l *legState) []Leg {
	if len(legs) < cap(legs) {
		legs = legs[:len(legs)+1]
	} else {
		legs = append(legs, Leg{})
	}
	l.finish(&legs[len(legs)-1])
	for _, k := range l.children {
		legs = appendLegs(legs, k)
	}
	return legs
}

// Release gives back a call record the caller is done with, so that its memory serves the next
// records. Neither the record nor its strings (Call-IDs, numbers, tags, URIs) may be used
// afterwards: keep copies (strings.Clone) of what must outlive it. Optional: records not
// released are garbage collected, and their strings stay valid.
func (c *Calls) Release(call *Call) {
	if call != nil && len(c.freeRecords) < maxFree {
		c.freeRecords = append(c.freeRecords, call)
	}
}
