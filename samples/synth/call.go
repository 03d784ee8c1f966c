package synth

import (
	"cmp"
	"slices"
	"strconv"
)

// SIP methods a step can carry.
const (
	mINVITE uint8 = iota
	mACK
	mBYE
	mCANCEL
	mINFO
	mREFER
	mNOTIFY
	mOPTIONS
)

var methodNames = [...]string{"INVITE", "ACK", "BYE", "CANCEL", "INFO", "REFER", "NOTIFY", "OPTIONS"}

// Step flags.
const (
	fResp    uint16 = 1 << iota
	fCallee         // the transaction was started by the callee side of the dialog
	fInitial        // part of the dialog-creating INVITE transaction (its CANCEL, non-2xx ACK, responses)
	fToTag          // To carries the callee's tag
	fLocal          // the proxy's own CANCEL or non-2xx ACK on hop 1, or the response to one
	fProxy          // a response the proxy makes itself on hop 0 (100 Trying, 200 to CANCEL)
	fAnswer         // the A-leg 200 on the carrier hop: media may start
)

// The sdp byte of a step: kind in bits 0-1, direction in bits 2-3, o= version above.
const (
	sdpOffer    = 1
	sdpAnswer   = 2
	dirSendrecv = 0 << 2
	dirSendonly = 1 << 2
	dirRecvonly = 2 << 2
)

func sdpByte(kind, dir, ver uint8) uint8 { return kind | dir | ver<<4 }

// Legs of a call: the A-leg (carrier -> proxy -> class-5) and up to two B-legs.
const (
	legA  = 0
	legB1 = 1
	legB2 = 2
)

// step is one SIP message on one hop. A call is a time-ordered list of them, rendered to bytes
// only when written, so an open call costs a few hundred bytes however long it lasts.
type step struct {
	at     int64 // µs since the Unix epoch
	cseq   uint32
	status uint16
	flags  uint16
	ord    uint16 // build order: ties in time keep causal order
	leg    uint8
	hop    uint8 // A-leg: 0 carrier <-> proxy, 1 proxy <-> class-5; B-legs: 0
	method uint8
	txn    uint8 // transaction number within the leg: names the Via branch
	sdp    uint8
	arg    uint8 // DTMF digit index; NOTIFY sipfrag (0 100 Trying, 1 200 OK)
}

const dtmfDigits = "0123456789*#"

// call is one call being planned or written.
type call struct {
	seed  uint64
	scen  Scenario
	car   *carrier
	proxy *endpoint
	node  *node
	ph    [3]*phone // ph[legB1], ph[legB2]
	cli   string
	dnis  string
	id    [3]string // Call-IDs per leg
	ftag  [3]string
	ttag  [3]string
	pt    uint8        // negotiated payload type: 0 PCMU, 8 PCMA
	port  [3][2]uint16 // media port per leg and side (0 caller, 1 callee)
	sess  [3][2]uint32 // SDP session id per leg and side
	cseq0 [3][2]uint32 // first CSeq per leg and side

	steps []step
	pos   int
	rec   Record

	rtpFrom, rtpTo int64   // window after the answer in which RTP may flow
	talkMean       int64   // µs
	rtpDraw        float64 // decides whether a call owed too little for a stream gets one
}

// planner builds a call's steps with realistic delays and fills its Record.
type planner struct {
	c    *call
	r    rng
	ord  uint16
	txn  [3]uint8
	cseq [3][2]uint32
	ver  [3][2]uint8
}

func (p *planner) add(s step) {
	s.ord = p.ord
	p.ord++
	p.c.steps = append(p.c.steps, s)
}

// Delays in µs: the proxy's forwarding, the class-5 node's processing, a UA's reply to an
// in-dialog request.
func (p *planner) pd() int64  { return p.r.span(120, 250, 4000) }
func (p *planner) c5d() int64 { return p.r.span(400, 1500, 30000) }
func (p *planner) uad() int64 { return p.r.span(800, 4000, 80000) }

func (p *planner) newTxn(leg int) uint8 { t := p.txn[leg]; p.txn[leg]++; return t }

func (p *planner) nextCSeq(leg, side int) uint32 { p.cseq[leg][side]++; return p.cseq[leg][side] }

// sdp returns the SDP byte for a new session description from one side of a leg.
func (p *planner) sdp(leg, side int, kind, dir uint8) uint8 {
	p.ver[leg][side]++
	return sdpByte(kind, dir, p.ver[leg][side])
}

// aReq sends a request along the A-leg through the proxy and returns when the far UA has it
// (its time on the second hop).
func (p *planner) aReq(t int64, callee bool, m uint8, cseq uint32, txn uint8, fl uint16, sdp uint8) int64 {
	s := step{at: t, method: m, cseq: cseq, txn: txn, flags: fl, sdp: sdp}
	s.hop = 0
	if callee {
		s.flags |= fCallee
		s.hop = 1
	}
	p.add(s)
	s.hop ^= 1
	s.at = t + p.pd()
	p.add(s)
	return s.at
}

// aResp answers an A-leg request through the proxy and returns when the requester has it.
func (p *planner) aResp(t int64, callee bool, status uint16, m uint8, cseq uint32, txn uint8, fl uint16, sdp uint8) int64 {
	s := step{at: t, method: m, cseq: cseq, txn: txn, flags: fl | fResp, status: status, sdp: sdp}
	s.hop = 1
	if callee {
		s.flags |= fCallee
		s.hop = 0
	}
	p.add(s)
	s.hop ^= 1
	s.at = t + p.pd()
	p.add(s)
	return s.at
}

func (p *planner) bReq(leg int, t int64, callee bool, m uint8, cseq uint32, txn uint8, fl uint16, sdp uint8) {
	s := step{at: t, leg: uint8(leg), method: m, cseq: cseq, txn: txn, flags: fl, sdp: sdp}
	if callee {
		s.flags |= fCallee
	}
	p.add(s)
}

func (p *planner) bResp(leg int, t int64, callee bool, status uint16, m uint8, cseq uint32, txn uint8, fl uint16, sdp uint8) {
	s := step{at: t, leg: uint8(leg), method: m, cseq: cseq, txn: txn, flags: fl | fResp, status: status, sdp: sdp}
	if callee {
		s.flags |= fCallee
	}
	p.add(s)
}

// bTrans is a request and its 2xx inside a B-leg; it returns the time of the response.
func (p *planner) bTrans(leg int, t int64, callee bool, m uint8, arg uint8, sdpReq, sdpResp uint8) int64 {
	side := 0
	if callee {
		side = 1
	}
	cs, tx := p.nextCSeq(leg, side), p.newTxn(leg)
	s := step{at: t, leg: uint8(leg), method: m, cseq: cs, txn: tx, flags: fToTag, sdp: sdpReq, arg: arg}
	if callee {
		s.flags |= fCallee
	}
	p.add(s)
	if callee {
		s.at += p.c5d() // the class-5 node answers the phone
	} else {
		s.at += p.uad()
	}
	s.flags |= fResp
	s.status = 200
	if m == mREFER {
		s.status = 202
	}
	s.sdp = sdpResp
	p.add(s)
	return s.at
}

// callState carries the times the scenario code needs between phases.
type callState struct {
	inv    [3]uint8  // INVITE transaction per leg
	invCS  [3]uint32 // INVITE CSeq per leg
	ring0  int64     // first 18x on the carrier hop
	final0 int64     // final response on the carrier hop
}

// plan lays out the whole call starting at t0 (µs) and fills c.rec.
func (p *planner) plan(t0 int64) {
	c := p.c
	var st callState
	rec := &c.rec
	aLeg := Leg{CallID: c.id[legA], Role: "class4", From: c.cli, To: c.dnis, InviteTime: usTime(t0)}

	// The carrier's INVITE, the proxy's 100 Trying, the INVITE forwarded to the class-5 node
	// and its own 100 Trying.
	st.inv[legA], st.invCS[legA] = p.newTxn(legA), p.nextCSeq(legA, 0)
	offer := p.sdp(legA, 0, sdpOffer, dirSendrecv)
	p.add(step{at: t0, method: mINVITE, cseq: st.invCS[legA], txn: st.inv[legA], flags: fInitial, sdp: offer})
	if c.scen == NotFound {
		// The proxy has no route for the number and refuses it statelessly, without a 100.
		t := t0 + p.r.span(200, 800, 20000)
		p.add(step{at: t, method: mINVITE, cseq: st.invCS[legA], txn: st.inv[legA], flags: fInitial | fResp | fProxy | fToTag, status: 404})
		p.add(step{at: t + p.uad(), method: mACK, cseq: st.invCS[legA], txn: st.inv[legA], flags: fInitial | fToTag})
		st.final0 = t
		rec.Outcome, rec.FinalStatus = "rejected", 404
		rec.EndTime, rec.EndReason, rec.EndedBy = usTime(t), "final response", "called-side"
	} else {
		p.route(&st, t0, offer)
	}
	p.finish(&st, t0, aLeg)
}

// route runs a call the proxy routes to the class-5 node, from the proxy's 100 Trying on.
func (p *planner) route(st *callState, t0 int64, offer uint8) {
	c := p.c
	rec := &c.rec
	t := t0 + p.r.span(300, 1500, 10000)
	p.add(step{at: t, method: mINVITE, cseq: st.invCS[legA], txn: st.inv[legA], flags: fInitial | fResp | fProxy, status: 100})
	t += p.pd()
	p.add(step{at: t, hop: 1, method: mINVITE, cseq: st.invCS[legA], txn: st.inv[legA], flags: fInitial, sdp: offer})
	tC5 := t + p.c5d()
	p.add(step{at: tC5, hop: 1, method: mINVITE, cseq: st.invCS[legA], txn: st.inv[legA], flags: fInitial | fResp, status: 100})
	tB := tC5 + p.c5d()

	var legs []Leg
	switch c.scen {
	case Unavailable:
		p.aFinal(st, tC5+p.r.span(2000, 20000, 400000), 503)
	case Busy:
		b := p.bLeg(st, legB1, tB)
		tBusy := tB + p.r.span(30000, 150000, 2000000)
		p.bFinal(st, legB1, tBusy, 486, &b)
		p.aFinal(st, tBusy+p.c5d(), 486)
		legs = append(legs, b)
	case Cancel:
		b := p.bLeg(st, legB1, tB)
		p.ring(st, legB1, tB)
		tCancel := st.ring0 + p.r.span(1000000, 5000000, 45000000)
		p.cancel(st, tCancel, &b)
		legs = append(legs, b)
	case NoAnswer:
		b := p.bLeg(st, legB1, tB)
		p.ring(st, legB1, tB)
		tOut := tB + p.r.between(18000000, 32000000)
		switch v := p.r.intn(4); {
		case v == 0: // the phone gives up itself
			p.bFinal(st, legB1, tOut, 480, &b)
			p.aFinal(st, tOut+p.c5d(), 480)
		default: // the class-5 no-answer timer cancels the B-leg
			b.EndTime = usTime(tOut)
			b.Outcome, b.FinalStatus = "cancelled", 487
			cs, tx := st.invCS[legB1], st.inv[legB1]
			p.bReq(legB1, tOut, false, mCANCEL, cs, tx, fInitial, 0)
			t := tOut + p.uad()
			p.bResp(legB1, t, false, 200, mCANCEL, cs, tx, fInitial|fToTag, 0)
			t += p.r.span(200, 1000, 20000)
			p.bResp(legB1, t, false, 487, mINVITE, cs, tx, fInitial|fToTag, 0)
			p.bReq(legB1, t+p.c5d(), false, mACK, cs, tx, fInitial|fToTag, 0)
			status := uint16(480)
			if v == 3 {
				status = 408
			}
			p.aFinal(st, tOut+p.c5d(), status)
		}
		legs = append(legs, b)
	case Forward:
		b1 := p.bLeg(st, legB1, tB)
		tBusy := tB + p.r.span(30000, 150000, 2000000)
		t2 := p.bFinal(st, legB1, tBusy, 486, &b1) + p.r.span(100, 500, 5000)
		b2 := p.bLeg(st, legB2, t2)
		rec.Events = append(rec.Events, Event{Type: "forward", Time: usTime(t2), Leg: c.id[legB2], Target: b2Target(c, legB2)})
		p.ring(st, legB2, t2)
		tAns := p.answer(st, legB2, &b2)
		p.talk(st, tAns, legB2, &b2)
		legs = append(legs, b1, b2)
	case Answered, DTMF, Hold, Transfer:
		b := p.bLeg(st, legB1, tB)
		p.ring(st, legB1, tB)
		tAns := p.answer(st, legB1, &b)
		switch c.scen {
		case Answered:
			p.talk(st, tAns, legB1, &b)
			legs = append(legs, b)
		case DTMF:
			t := tAns + p.r.between(800000, 4000000)
			c.rtpTo = t
			for range 1 + p.r.intn(3) {
				t = p.dtmf(t) + p.r.span(150000, 400000, 2000000)
			}
			p.talk(st, t, legB1, &b)
			legs = append(legs, b)
		case Hold:
			t := tAns + p.r.between(2000000, 12000000)
			c.rtpTo = t
			propagate := p.r.chance(0.5)
			t = p.hold(t, dirSendonly, "hold", propagate)
			t = p.hold(t+p.r.span(3000000, 8000000, 60000000), dirSendrecv, "unhold", propagate)
			p.talk(st, t, legB1, &b)
			legs = append(legs, b)
		case Transfer:
			tRef := tAns + p.r.between(2000000, 20000000)
			c.rtpTo = tRef
			b2 := p.transfer(st, tRef, &b)
			legs = append(legs, b, b2)
		}
	}

	rec.Legs = append(rec.Legs[:0], Leg{})
	rec.Legs = append(rec.Legs, legs...)
}

// finish orders the steps and completes the record: the A-leg as the caller saw it on the
// carrier hop.
func (p *planner) finish(st *callState, t0 int64, aLeg Leg) {
	c := p.c
	rec := &c.rec
	slices.SortFunc(c.steps, func(a, b step) int {
		if a.at != b.at {
			return cmp.Compare(a.at, b.at)
		}
		return cmp.Compare(a.ord, b.ord)
	})
	rec.CallID = c.id[legA]
	rec.InviteTime = usTime(t0)
	if st.ring0 != 0 {
		rec.RingingTime = usTime(st.ring0)
		rec.PDDSeconds = seconds(st.ring0 - t0)
	} else {
		rec.PDDSeconds = seconds(st.final0 - t0)
	}
	if !rec.AnswerTime.IsZero() {
		rec.BillableSeconds = seconds(rec.EndTime.UnixMicro() - rec.AnswerTime.UnixMicro())
	}
	rec.DurationSeconds = seconds(rec.EndTime.UnixMicro() - t0)
	aLeg.Outcome, aLeg.FinalStatus = rec.Outcome, rec.FinalStatus
	aLeg.AnswerTime, aLeg.EndTime = rec.AnswerTime, rec.EndTime
	if len(rec.Legs) == 0 {
		rec.Legs = append(rec.Legs, aLeg)
	}
	rec.Legs[0] = aLeg
	for i := range rec.Legs[1:] {
		rec.Legs[i+1].ParentCallID = c.id[legA]
	}
	slices.SortStableFunc(rec.Events, func(a, b Event) int { return a.Time.Compare(b.Time.Time) })
}

// aFinal ends the A-leg with a final failure from the class-5 node at t (hop 1): the proxy
// ACKs it locally, relays it, and the carrier ACKs.
func (p *planner) aFinal(st *callState, t int64, status uint16) {
	cs, tx := st.invCS[legA], st.inv[legA]
	p.add(step{at: t, hop: 1, method: mINVITE, cseq: cs, txn: tx, flags: fInitial | fResp | fToTag, status: status})
	p.add(step{at: t + p.pd(), hop: 1, method: mACK, cseq: cs, txn: tx, flags: fInitial | fToTag | fLocal})
	t0 := t + p.pd()
	p.add(step{at: t0, method: mINVITE, cseq: cs, txn: tx, flags: fInitial | fResp | fToTag, status: status})
	p.add(step{at: t0 + p.uad(), method: mACK, cseq: cs, txn: tx, flags: fInitial | fToTag})
	st.final0 = t0
	rec := &p.c.rec
	rec.Outcome, rec.FinalStatus = outcomeOf(int(status)), int(status)
	if status == 487 {
		return // the CANCEL ended it; cancel() set the end
	}
	rec.EndTime = usTime(t0)
	rec.EndReason, rec.EndedBy = "final response", "called-side"
}

// bLeg starts a B-leg: the class-5 node's INVITE at t, with a new Call-ID, tags and SDP.
func (p *planner) bLeg(st *callState, leg int, t int64) Leg {
	c := p.c
	st.inv[leg], st.invCS[leg] = p.newTxn(leg), p.nextCSeq(leg, 0)
	p.bReq(leg, t, false, mINVITE, st.invCS[leg], st.inv[leg], fInitial, p.sdp(leg, 0, sdpOffer, dirSendrecv))
	return Leg{CallID: c.id[leg], Role: "class5", From: c.cli, To: c.ph[leg].ext, InviteTime: usTime(t)}
}

// bFinal: the phone refuses the B-leg at t; the class-5 node ACKs.
// It returns the time of the ACK.
func (p *planner) bFinal(st *callState, leg int, t int64, status uint16, b *Leg) int64 {
	cs, tx := st.invCS[leg], st.inv[leg]
	p.bResp(leg, t, false, status, mINVITE, cs, tx, fInitial|fToTag, 0)
	ack := t + p.c5d()
	p.bReq(leg, ack, false, mACK, cs, tx, fInitial|fToTag, 0)
	b.Outcome, b.FinalStatus, b.EndTime = outcomeOf(int(status)), int(status), usTime(t)
	return ack
}

// ring: the phone rings; the class-5 node relays 180 (or 183 with early media) to the A-leg
// unless it has already.
func (p *planner) ring(st *callState, leg int, tInv int64) int64 {
	cs, tx := st.invCS[leg], st.inv[leg]
	t := tInv + p.r.span(60000, 400000, 5000000)
	p.bResp(leg, t, false, 180, mINVITE, cs, tx, fInitial|fToTag, 0)
	if st.ring0 == 0 {
		status, sdp := uint16(180), uint8(0)
		if p.r.chance(0.25) {
			status, sdp = 183, p.sdp(legA, 1, sdpAnswer, dirSendrecv)
		}
		st.ring0 = p.aResp(t+p.c5d(), false, status, mINVITE, st.invCS[legA], st.inv[legA], fInitial|fToTag, sdp)
	}
	return t
}

// answer: after ringing, the phone answers the B-leg; the class-5 node ACKs it and answers
// the A-leg, which the carrier ACKs. It returns the answer time on the carrier hop.
func (p *planner) answer(st *callState, leg int, b *Leg) int64 {
	c := p.c
	cs, tx := st.invCS[leg], st.inv[leg]
	t := st.ring0 + p.r.span(1500000, 5000000, 45000000)
	p.bResp(leg, t, false, 200, mINVITE, cs, tx, fInitial|fToTag, p.sdp(leg, 1, sdpAnswer, dirSendrecv))
	p.bReq(leg, t+p.c5d(), false, mACK, cs, p.newTxn(leg), fToTag, 0)
	b.Outcome, b.FinalStatus, b.AnswerTime = "answered", 200, usTime(t)
	if p.ver[legA][1] == 0 {
		p.ver[legA][1] = 1
	}
	ans := sdpByte(sdpAnswer, dirSendrecv, p.ver[legA][1])
	t0 := p.aResp(t+p.c5d(), false, 200, mINVITE, st.invCS[legA], st.inv[legA], fInitial|fToTag, ans)
	c.steps[len(c.steps)-1].flags |= fAnswer
	p.aReq(t0+p.uad(), false, mACK, st.invCS[legA], p.newTxn(legA), fToTag, 0)
	st.final0 = t0
	c.rec.Outcome, c.rec.FinalStatus, c.rec.AnswerTime = "answered", 200, usTime(t0)
	c.rtpFrom = t0 + p.r.between(5000, 30000)
	return t0
}

// talk waits out the conversation from t and hangs up; it returns the call's end time.
func (p *planner) talk(st *callState, t int64, leg int, b *Leg) int64 {
	mean := int64(p.c.talkMean)
	end := t + p.r.span(mean/20, mean-mean/20, 40*mean)
	if p.c.rtpTo == 0 || p.c.rtpTo > end {
		p.c.rtpTo = end
	}
	if p.r.chance(0.6) {
		return p.byeFromCaller(end, leg, b)
	}
	return p.byeFromCallee(end, leg, b)
}

// byeFromCaller: the carrier hangs up at t; the class-5 node answers and hangs up the B-leg.
func (p *planner) byeFromCaller(t int64, leg int, b *Leg) int64 {
	c := p.c
	cs, tx := p.nextCSeq(legA, 0), p.newTxn(legA)
	at := p.aReq(t, false, mBYE, cs, tx, fToTag, 0)
	p.aResp(at+p.c5d(), false, 200, mBYE, cs, tx, fToTag, 0)
	tb := at + p.c5d()
	p.bTrans(leg, tb, false, mBYE, 0, 0, 0)
	b.EndTime = usTime(tb)
	c.rec.EndTime, c.rec.EndReason, c.rec.EndedBy = usTime(t), "BYE", "calling-side"
	return t
}

// byeFromCallee: the phone hangs up at t; the class-5 node hangs up the A-leg.
func (p *planner) byeFromCallee(t int64, leg int, b *Leg) int64 {
	c := p.c
	p.bTrans(leg, t, true, mBYE, 0, 0, 0)
	b.EndTime = usTime(t)
	cs, tx := p.nextCSeq(legA, 1), p.newTxn(legA)
	t0 := p.aReq(t+p.c5d(), true, mBYE, cs, tx, fToTag, 0)
	p.aResp(t0+p.uad(), true, 200, mBYE, cs, tx, fToTag, 0)
	c.rec.EndTime, c.rec.EndReason, c.rec.EndedBy = usTime(t0), "BYE", "called-side"
	return t0
}

// cancel: the carrier cancels at t while the call rings. Every hop answers the CANCEL and
// ends the INVITE with 487.
func (p *planner) cancel(st *callState, t int64, b *Leg) {
	c := p.c
	cs, tx := st.invCS[legA], st.inv[legA]
	p.add(step{at: t, method: mCANCEL, cseq: cs, txn: tx, flags: fInitial})
	p.add(step{at: t + p.pd(), method: mCANCEL, cseq: cs, txn: tx, flags: fInitial | fResp | fProxy | fToTag, status: 200})
	t1 := t + p.pd()
	p.add(step{at: t1, hop: 1, method: mCANCEL, cseq: cs, txn: tx, flags: fInitial | fLocal})
	t1 += p.c5d()
	p.add(step{at: t1, hop: 1, method: mCANCEL, cseq: cs, txn: tx, flags: fInitial | fLocal | fResp | fToTag, status: 200})
	// The class-5 node cancels its B-leg and ends the A-leg with 487.
	bcs, btx := st.invCS[legB1], st.inv[legB1]
	tb := t1 + p.c5d()
	p.bReq(legB1, tb, false, mCANCEL, bcs, btx, fInitial, 0)
	tp := tb + p.uad()
	p.bResp(legB1, tp, false, 200, mCANCEL, bcs, btx, fInitial|fToTag, 0)
	tp += p.r.span(200, 1000, 20000)
	p.bResp(legB1, tp, false, 487, mINVITE, bcs, btx, fInitial|fToTag, 0)
	p.bReq(legB1, tp+p.c5d(), false, mACK, bcs, btx, fInitial|fToTag, 0)
	b.Outcome, b.FinalStatus, b.EndTime = "cancelled", 487, usTime(tb)
	p.aFinal(st, t1+p.c5d(), 487)
	c.rec.EndTime, c.rec.EndReason, c.rec.EndedBy = usTime(t), "CANCEL", "calling-side"
}

// dtmf: the carrier sends one digit by SIP INFO at t; the class-5 node relays it to the phone.
// It returns when the phone has answered.
func (p *planner) dtmf(t int64) int64 {
	c := p.c
	d := uint8(p.r.intn(len(dtmfDigits)))
	cs, tx := p.nextCSeq(legA, 0), p.newTxn(legA)
	p.add(step{at: t, method: mINFO, cseq: cs, txn: tx, flags: fToTag, arg: d})
	at := t + p.pd()
	p.add(step{at: at, hop: 1, method: mINFO, cseq: cs, txn: tx, flags: fToTag, arg: d})
	p.aResp(at+p.c5d(), false, 200, mINFO, cs, tx, fToTag, 0)
	tb := at + p.c5d()
	digit := dtmfDigits[d : d+1]
	c.rec.Events = append(c.rec.Events,
		Event{Type: "dtmf", Time: usTime(t), Leg: c.id[legA], Digit: digit},
		Event{Type: "dtmf", Time: usTime(tb), Leg: c.id[legB1], Digit: digit})
	return p.bTrans(legB1, tb, false, mINFO, d, 0, 0)
}

// hold: the phone re-INVITEs the B-leg with direction dir at t. When propagate is set the
// class-5 node re-INVITEs the A-leg towards the carrier before answering the phone; otherwise
// it keeps the hold to itself (and plays music to the caller), as FreeSWITCH does by default.
// It returns when all is ACKed.
func (p *planner) hold(t int64, dir uint8, kind string, propagate bool) int64 {
	c := p.c
	answerDir := uint8(dirSendrecv)
	if dir == dirSendonly {
		answerDir = dirRecvonly
	}
	bcs, btx := p.nextCSeq(legB1, 1), p.newTxn(legB1)
	p.bReq(legB1, t, true, mINVITE, bcs, btx, fToTag, p.sdp(legB1, 1, sdpOffer, dir))
	c.rec.Events = append(c.rec.Events, Event{Type: kind, Time: usTime(t), Leg: c.id[legB1]})
	tb := t + p.c5d()
	if propagate {
		// First seen on the proxy <-> class-5 hop.
		ta := tb
		acs, atx := p.nextCSeq(legA, 1), p.newTxn(legA)
		at := p.aReq(ta, true, mINVITE, acs, atx, fToTag, p.sdp(legA, 1, sdpOffer, dir))
		tr := p.aResp(at+p.uad(), true, 200, mINVITE, acs, atx, fToTag, p.sdp(legA, 0, sdpAnswer, answerDir))
		p.aReq(tr+p.c5d(), true, mACK, acs, p.newTxn(legA), fToTag, 0)
		tb = tr + p.c5d()
		c.rec.Events = append(c.rec.Events, Event{Type: kind, Time: usTime(ta), Leg: c.id[legA]})
	}
	p.bResp(legB1, tb, true, 200, mINVITE, bcs, btx, fToTag, p.sdp(legB1, 0, sdpAnswer, answerDir))
	tack := tb + p.uad()
	p.bReq(legB1, tack, true, mACK, bcs, p.newTxn(legB1), fToTag, 0)
	return tack
}

// transfer: the phone on the answered B-leg blind-transfers at t by REFER. The class-5 node
// accepts, reports progress by NOTIFY, calls the target on a second B-leg, and the first
// phone hangs up once the target answers. The call then ends between carrier and target.
func (p *planner) transfer(st *callState, t int64, b1 *Leg) Leg {
	c := p.c
	tn := p.bTrans(legB1, t, true, mREFER, 0, 0, 0) + p.r.span(100, 500, 5000)
	p.bTrans(legB1, tn, false, mNOTIFY, 0, 0, 0)
	t2 := tn + p.r.span(200, 800, 5000)
	b2 := p.bLeg(st, legB2, t2)
	c.rec.Events = append(c.rec.Events,
		Event{Type: "refer", Time: usTime(t), Leg: c.id[legB1], Target: "sip:" + c.ph[legB2].ext + "@" + c.node.ip},
		Event{Type: "transfer", Time: usTime(t2), Leg: c.id[legB2], Target: b2Target(c, legB2)})
	cs, tx := st.invCS[legB2], st.inv[legB2]
	tr := t2 + p.r.span(60000, 400000, 5000000)
	p.bResp(legB2, tr, false, 180, mINVITE, cs, tx, fInitial|fToTag, 0)
	ta := tr + p.r.span(1500000, 5000000, 45000000)
	p.bResp(legB2, ta, false, 200, mINVITE, cs, tx, fInitial|fToTag, p.sdp(legB2, 1, sdpAnswer, dirSendrecv))
	p.bReq(legB2, ta+p.c5d(), false, mACK, cs, p.newTxn(legB2), fToTag, 0)
	b2.Outcome, b2.FinalStatus, b2.AnswerTime = "answered", 200, usTime(ta)
	tn2 := ta + p.c5d()
	done := p.bTrans(legB1, tn2, false, mNOTIFY, 1, 0, 0)
	tbye := done + p.r.span(20000, 200000, 2000000)
	p.bTrans(legB1, tbye, true, mBYE, 0, 0, 0)
	b1.EndTime = usTime(tbye)
	p.talk(st, tbye, legB2, &b2)
	return b2
}

func b2Target(c *call, leg int) string { return "sip:" + c.ph[leg].ext + "@" + c.ph[leg].ep.hp }

// outcomeOf maps a final status to a call-record outcome (see the package doc).
func outcomeOf(status int) string {
	switch {
	case status >= 200 && status < 300:
		return "answered"
	case status == 486 || status == 600:
		return "busy"
	case status == 487:
		return "cancelled"
	case status == 480 || status == 408:
		return "no-answer"
	case status >= 500 && status < 600:
		return "failed"
	}
	return "rejected"
}

func seconds(us int64) float64 { return float64(us) / 1e6 }

// appendUUID writes a version-4 UUID made from two words.
func appendUUID(b []byte, hi, lo uint64) []byte {
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	b = appendHex(b, hi>>32, 8)
	b = append(b, '-')
	b = appendHex(b, hi>>16&0xffff, 4)
	b = append(b, '-')
	b = appendHex(b, hi&0xffff, 4)
	b = append(b, '-')
	b = appendHex(b, lo>>48, 4)
	b = append(b, '-')
	return appendHex(b, lo&0xffffffffffff, 12)
}

const hexDigits = "0123456789abcdef"

// appendHex writes the low n hex digits of v, zero-padded.
func appendHex(b []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, hexDigits[v>>(uint(i)*4)&0xf])
	}
	return b
}

const b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// appendB62 writes n base-62 characters drawn from v (FreeSWITCH-style tags).
func appendB62(b []byte, v uint64, n int) []byte {
	for range n {
		b = append(b, b62[v%62])
		v = v/62 ^ v<<7
	}
	return b
}

// newCall draws call number idx: its route, numbers, identifiers and scenario.
func (g *gen) newCall(idx uint64, t0 int64) *call {
	var c *call
	if n := len(g.free); n > 0 {
		c = g.free[n-1]
		g.free = g.free[:n-1]
		steps := c.steps[:0]
		*c = call{steps: steps}
	} else {
		c = &call{}
	}
	c.seed = mix(uint64(g.cfg.Seed), idx)
	p := planner{c: c, r: newRNG(c.seed)}
	r := &p.r
	c.scen = g.pickScenario(r)
	if idx < uint64(len(g.deck)) {
		c.scen = g.deck[idx]
	}
	c.car = &g.topo.carriers[r.intn(len(g.topo.carriers))]
	c.proxy = &g.topo.proxies[c.car.proxies[r.intn(len(c.car.proxies))]]
	ph := r.intn(len(g.topo.phones))
	c.ph[legB1] = &g.topo.phones[ph]
	c.node = &g.topo.nodes[c.ph[legB1].node]
	// The second phone (forward or transfer target) is another phone on the same node.
	others := c.node.phones
	k := others[r.intn(len(others))]
	if k == ph {
		k = others[(slices.Index(others, k)+1)%len(others)]
	}
	c.ph[legB2] = &g.topo.phones[k]
	c.dnis = c.ph[legB1].did
	b := g.scratch[:0]
	b = append(b, "+1"...)
	b = strconv.AppendUint(b, uint64(200+r.intn(800)), 10)
	b = strconv.AppendUint(b, uint64(200+r.intn(800)), 10)
	b = strconv.AppendUint(b, uint64(1000+r.intn(9000)), 10)
	c.cli = string(b)
	c.pt = 0
	if c.car.pcmaFirst || r.chance(0.2) {
		c.pt = 8
	}

	// Identifiers in the styles of the software that makes them.
	h := c.seed
	b = b[:0]
	switch c.car.style {
	case 0: // SIPp-like
		b = strconv.AppendUint(b, idx+1, 10)
		b = append(b, '-')
		b = strconv.AppendUint(b, 3000+h%60000, 10)
		b = append(b, '@')
		b = append(b, c.car.sig.ipStr...)
	case 1: // Cisco-like
		for i := range 4 {
			if i > 0 {
				b = append(b, '-')
			}
			b = appendHex(b, mix(h, uint64(i)), 8)
		}
		b = append(b, '@')
		b = append(b, c.car.sig.ipStr...)
	case 2: // UUID
		b = appendUUID(b, mix(h, 1), mix(h, 2))
	default: // opaque token without a host
		b = append(b, "SD"...)
		b = appendB62(b, mix(h, 3), 10)
		b = append(b, '-')
		b = appendHex(b, mix(h, 4), 16)
	}
	c.id[legA] = string(b)
	for leg := legB1; leg <= legB2; leg++ {
		b = appendUUID(b[:0], mix(h, uint64(10+leg)), mix(h, uint64(20+leg)))
		c.id[leg] = string(b)
	}
	c.ftag[legA] = string(appendHex(b[:0], mix(h, 30), 8))
	c.ttag[legA] = string(appendB62(b[:0], mix(h, 31), 13))
	for leg := legB1; leg <= legB2; leg++ {
		c.ftag[leg] = string(appendB62(b[:0], mix(h, uint64(32+leg)), 13))
		c.ttag[leg] = string(appendHex(b[:0], mix(h, uint64(34+leg)), 10))
	}
	g.scratch = b

	for leg := range 3 {
		for side := range 2 {
			c.port[leg][side] = uint16(16384 + 2*r.intn(8192))
			c.sess[leg][side] = uint32(mix(h, uint64(40+2*leg+side)) >> 40)
		}
	}
	// First CSeqs: carriers start at 1 or 101, FreeSWITCH at a large random number,
	// phones at 1 or 101 for the dialogs they originate requests in.
	p.cseq[legA][0] = c.car.cseq0 - 1
	p.cseq[legA][1] = uint32(r.between(10000000, 130000000))
	for leg := legB1; leg <= legB2; leg++ {
		p.cseq[leg][0] = uint32(r.between(10000000, 130000000))
		p.cseq[leg][1] = uint32(100 * r.intn(2))
	}
	c.talkMean = g.talkMean
	c.rtpDraw = r.float()
	p.plan(t0)
	return c
}

// pickScenario draws a scenario by the configured weights.
func (g *gen) pickScenario(r *rng) Scenario {
	x := r.float() * g.mixSum
	for s, w := range g.cfg.Mix {
		if x < w {
			return Scenario(s)
		}
		x -= w
	}
	for s := numScenarios - 1; s > 0; s-- {
		if g.cfg.Mix[s] > 0 {
			return s
		}
	}
	return 0
}
