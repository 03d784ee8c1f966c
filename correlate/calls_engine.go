package correlate

import (
	"slices"
	"time"

	"github.com/sigtrace/sigtrace/decode"
)

// callState is an open call: a tree of legs and the events found so far.
type callState struct {
	root   *legState
	legs   []*legState // in order of creation
	events []CallEvent
	// evPrimary[i]: events[i] was seen on its leg's first hop (a later sighting there does not move it).
	evPrimary []bool
	refers    []referState
	first     time.Time // first message
	last      time.Time // last message

	// deadline is when the call must next be looked at (zero: no timer); heapIdx is its place
	// in the timer heap (-1: not there).
	deadline time.Time
	heapIdx  int

	prev, next *callState // the open list, oldest first
	dead       bool       // emitted, or merged into another call
}

// referState follows one REFER: its event, its outcome, whether a new leg followed it.
type referState struct {
	event    int // index in events
	leg      *legState
	result   stamp // the NOTIFY that carried a final sipfrag
	consumed bool  // a transfer leg followed
}

// stamp is when something was seen, preferring the leg's first hop over others.
type stamp struct {
	t       time.Time
	frame   int
	input   string
	primary bool
}

func (s *stamp) set() bool { return !s.t.IsZero() }

// offer records a sighting: the first one, or a later one on the leg's first hop when the
// recorded one is not.
func (s *stamp) offer(m *decode.Message, t time.Time, primary bool) bool {
	if s.t.IsZero() || (primary && !s.primary) {
		*s = stamp{t: t, frame: m.Frame, input: m.Input, primary: primary}
		return true
	}
	return false
}

// sipMessage routes one SIP message to its leg, creating the leg (and its call) when the message
// starts a dialog.
func (c *Calls) sipMessage(m *decode.Message) {
	s := m.SIP
	c.stats.Messages++
	if m.Duplicate {
		c.stats.Duplicates++
		return
	}
	if len(s.CallID) == 0 {
		c.stats.NoCallID++
		return
	}
	// Times are kept to the microsecond, as they are printed, so that durations computed from
	// them agree with the printed times.
	t := m.Time.Round(time.Microsecond)
	if t.After(c.now) {
		c.now = t
	}
	l := c.legs[string(s.CallID)]
	toTag := s.ToTag()
	if l == nil {
		method := s.CSeqMethod
		if s.IsRequest {
			method = s.Method
		}
		initial := s.IsRequest && string(s.Method) == "INVITE" && len(toTag) == 0
		if _, gone := c.tomb[string(s.CallID)]; gone && !initial {
			c.stats.Late++
			return
		}
		switch {
		case initial:
			l = c.newLeg(m, t, false)
		case inviteDialogMethod(method):
			l = c.newLeg(m, t, true)
		default:
			c.stats.OutOfDialog++
			return
		}
	}
	l.message(c, m, t, toTag)
	cs := l.call // after the message: linking may have moved the leg into another call
	if t.After(cs.last) {
		cs.last = t
	}
	c.schedule(cs)
}

// inviteDialogMethod reports methods that exist only inside an INVITE dialog, so that a message
// of a dialog whose INVITE was not captured still makes a (partial) leg.
func inviteDialogMethod(m []byte) bool {
	switch string(m) {
	case "INVITE", "ACK", "BYE", "CANCEL", "PRACK", "UPDATE", "INFO":
		return true
	}
	return false
}

// newLeg creates the leg of a new Call-ID, in a call of its own until something links it.
func (c *Calls) newLeg(m *decode.Message, t time.Time, partial bool) *legState {
	s := m.SIP
	l := &legState{}
	l.CallID = string(s.CallID)
	l.Partial = partial
	l.Frame, l.Input = m.Frame, m.Input
	l.callerTag = string(s.FromTag())
	if !s.IsRequest || !partial {
		l.From = string(s.FromUser())
		l.To = string(s.ToUser())
	} else {
		// An in-dialog request may come from either side: From is then whoever sent it. Take it as
		// the caller; nothing better is known.
		l.From = string(s.FromUser())
		l.To = string(s.ToUser())
	}
	if !partial {
		l.RequestURI = string(s.RequestURI)
		l.InviteTime = t
		l.initMin, l.initMax = s.CSeq, s.CSeq
		l.p0 = Hop{Src: m.Src, Dst: m.Dst, Transport: m.Transport}
	} else {
		// The first message tells the first hop: a request goes downstream if From is the caller,
		// which we assume; a response goes upstream.
		if s.IsRequest {
			l.p0 = Hop{Src: m.Src, Dst: m.Dst, Transport: m.Transport}
		} else {
			l.p0 = Hop{Src: m.Dst, Dst: m.Src, Transport: m.Transport}
		}
		if !s.IsRequest && string(s.CSeqMethod) == "INVITE" {
			l.initMin, l.initMax = s.CSeq, s.CSeq
		} else {
			l.confirmed = true // an in-dialog request: the dialog was established before the capture
		}
	}
	cs := &callState{root: l, legs: []*legState{l}, first: t, last: t, heapIdx: -1}
	l.call = cs
	c.pushOpen(cs)
	c.legs[l.CallID] = l
	c.stats.Legs++

	// Legs that named this Call-ID as their parent before it was seen.
	if kids, ok := c.waiting[l.CallID]; ok {
		delete(c.waiting, l.CallID)
		for _, k := range kids {
			k.waitingFor = ""
			c.attach(k, l, k.waitLink)
		}
	}
	if !partial {
		c.link(l, m)
	}
	return l
}

// schedule recomputes when the call must be looked at next.
func (c *Calls) schedule(cs *callState) {
	cs.deadline = c.deadline(cs)
	if cs.deadline.IsZero() {
		c.timers.remove(cs)
		return
	}
	c.timers.set(cs)
}

// deadline is when the call can be emitted, or when one of its legs times out.
func (c *Calls) deadline(cs *callState) time.Time {
	root := cs.root
	allEnded := true
	var d time.Time
	for _, l := range cs.legs {
		if l.ended() {
			continue
		}
		allEnded = false
		if t := l.timeout(); !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if allEnded {
		return cs.last.Add(c.opts.Grace)
	}
	if root.ended() {
		t := root.endSeen().Add(childWait)
		if q := cs.last.Add(c.opts.Grace); q.After(t) {
			t = q
		}
		if d.IsZero() || t.Before(d) {
			d = t
		}
	}
	return d
}

// expire emits the calls whose time has come and times out legs.
func (c *Calls) expire() {
	for len(c.timers) > 0 && !c.timers[0].deadline.After(c.now) {
		cs := c.timers[0]
		c.timers.remove(cs)
		for _, l := range cs.legs {
			if !l.ended() {
				if t := l.timeout(); !t.IsZero() && !t.After(c.now) {
					l.timedOut = true
				}
			}
		}
		if c.complete(cs) {
			c.emit(cs, false)
			continue
		}
		c.schedule(cs)
	}
	for len(c.tombQ) > 0 && c.now.Sub(c.tombQ[0].at) > tombstoneTTL {
		id := c.tombQ[0].id
		if at, ok := c.tomb[id]; ok && at.Equal(c.tombQ[0].at) {
			delete(c.tomb, id)
		}
		c.tombQ[0] = tombEntry{}
		c.tombQ = c.tombQ[1:]
	}
	if c.opts.MaxOpen > 0 {
		for c.open > c.opts.MaxOpen {
			c.stats.Evicted++
			c.emit(c.openHead, true)
		}
	}
}

// complete reports whether the call can be emitted now.
func (c *Calls) complete(cs *callState) bool {
	quiet := !cs.last.Add(c.opts.Grace).After(c.now)
	if !quiet {
		return false
	}
	if !cs.root.ended() {
		return false
	}
	for _, l := range cs.legs {
		if !l.ended() {
			return !cs.root.endSeen().Add(childWait).After(c.now)
		}
	}
	return true
}

// emit finishes a call, forgets it and appends its record to c.out.
func (c *Calls) emit(cs *callState, evicted bool) {
	call := c.record(cs)
	call.Evicted = evicted
	if call.Outcome == InProgress {
		c.stats.InProgress++
	}
	c.out = append(c.out, call)
	c.stats.Calls++
	c.forget(cs)
}

// forget removes every trace of an emitted call from the indexes.
func (c *Calls) forget(cs *callState) {
	cs.dead = true
	c.unlinkOpen(cs)
	c.timers.remove(cs)
	for _, l := range cs.legs {
		if c.legs[l.CallID] == l {
			delete(c.legs, l.CallID)
		}
		c.tomb[l.CallID] = c.now
		c.tombQ = append(c.tombQ, tombEntry{id: l.CallID, at: c.now})
		if l.waitingFor != "" {
			kids := c.waiting[l.waitingFor]
			kids = slices.DeleteFunc(kids, func(k *legState) bool { return k == l })
			if len(kids) == 0 {
				delete(c.waiting, l.waitingFor)
			} else {
				c.waiting[l.waitingFor] = kids
			}
		}
		for _, k := range l.sharedKeys {
			if c.shared[k] == l {
				delete(c.shared, k)
			}
		}
		if l.num != "" {
			c.unindexNumber(l)
		}
		for _, a := range l.rtpAddrs {
			if c.rtp[a].leg == l {
				delete(c.rtp, a)
			}
		}
		if l.Retransmissions > 0 {
			c.stats.Retransmissions += l.Retransmissions
		}
	}
}

func (c *Calls) pushOpen(cs *callState) {
	cs.prev = c.openTail
	if c.openTail != nil {
		c.openTail.next = cs
	} else {
		c.openHead = cs
	}
	c.openTail = cs
	c.open++
	if c.open > c.stats.MaxOpen {
		c.stats.MaxOpen = c.open
	}
}

func (c *Calls) unlinkOpen(cs *callState) {
	if cs.prev != nil {
		cs.prev.next = cs.next
	} else if c.openHead == cs {
		c.openHead = cs.next
	} else {
		return // not in the list
	}
	if cs.next != nil {
		cs.next.prev = cs.prev
	} else {
		c.openTail = cs.prev
	}
	cs.prev, cs.next = nil, nil
	c.open--
}

// timerHeap is a binary min-heap of the calls that have a deadline, by deadline. Each call is in
// it at most once (callState.heapIdx), so an emitted call leaves no entry behind to keep it alive.
type timerHeap []*callState

func (h timerHeap) less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) bool {
	start, n := i, len(h)
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(l, m) {
			m = l
		}
		if r < n && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}

// set puts the call in the heap, or moves it, for its current deadline.
func (h *timerHeap) set(cs *callState) {
	if cs.heapIdx < 0 {
		cs.heapIdx = len(*h)
		*h = append(*h, cs)
		h.up(cs.heapIdx)
		return
	}
	if !h.down(cs.heapIdx) {
		h.up(cs.heapIdx)
	}
}

// remove takes the call out of the heap.
func (h *timerHeap) remove(cs *callState) {
	i := cs.heapIdx
	if i < 0 {
		return
	}
	a := *h
	n := len(a) - 1
	if i != n {
		a.swap(i, n)
	}
	a[n] = nil
	*h = a[:n]
	cs.heapIdx = -1
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
}
