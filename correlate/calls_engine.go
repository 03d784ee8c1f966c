package correlate

import (
	"math"
	"slices"
	"time"
	"unsafe"

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
	seen    bool // t is not the zero time: set, worked out once instead of at every test
}

func (s *stamp) set() bool { return s.seen }

// stampOf is a sighting of m at t.
func stampOf(m *decode.Message, t time.Time, primary bool) stamp {
	return stamp{t: t, frame: m.Frame, input: m.Input, primary: primary, seen: !t.IsZero()}
}

// offer records a sighting: the first one, or a later one on the leg's first hop when the
// recorded one is not.
func (s *stamp) offer(m *decode.Message, t time.Time, primary bool) bool {
	if !s.seen || (primary && !s.primary) {
		*s = stampOf(m, t, primary)
		return true
	}
	return false
}

// sipMessage routes one SIP message to its leg, creating the leg (and its call) when the message
// starts a dialog.
func (c *Calls) sipMessage(m *decode.Message, t time.Time) {
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
	// Consecutive messages often belong to one leg (a proxy relays what it receives at once), or
	// alternate between two (a B2BUA relays between its legs): the last two legs are tried before
	// the map.
	l := c.recent[0]
	if l == nil || l.CallID != string(s.CallID) {
		l = c.recent[1]
		if l == nil || l.CallID != string(s.CallID) {
			l = c.legs[string(s.CallID)]
		}
	}
	tt := s.ToTag()
	var ft []byte // the From tag: read only for a message that goes to a leg
	if l == nil || c.isTomb(l) {
		method := s.CSeqMethod
		if s.IsRequest {
			method = s.Method
		}
		initial := s.IsRequest && string(s.Method) == "INVITE" && len(tt) == 0
		if l != nil && !initial {
			c.stats.Late++
			return
		}
		if !initial && !inviteDialogMethod(method) {
			c.stats.OutOfDialog++
			return
		}
		if l != nil { // a tombstone: an initial INVITE starts its Call-ID again
			c.revived[c.tombGen(l)]++
			// Its key goes with it: the sweep reuses the memory of its generation's keys.
			delete(c.legs, string(s.CallID))
		}
		ft = s.FromTag()
		l = c.newLeg(m, t, ft, !initial)
	} else {
		ft = s.FromTag()
	}
	if l != c.recent[0] {
		c.recent[0], c.recent[1] = l, c.recent[0]
	}
	significant := l.message(c, m, t, ft, tt)
	cs := l.call // after the message: linking may have moved the leg into another call
	if t.After(cs.last) {
		cs.last = t
	}
	// Other messages only push the deadline later, which the timer finds when it comes up.
	if significant || cs.heapIdx < 0 {
		c.schedule(cs)
	}
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
func (c *Calls) newLeg(m *decode.Message, t time.Time, fromTag []byte, partial bool) *legState {
	s := m.SIP
	l := c.allocLeg()
	c.rtp.begin(l)
	// The leg's identifiers are slices of one string, written in the leg's own buffer, which is
	// reused with the leg: nothing outside the leg keeps them once its call was emitted (the
	// record owns copies, a tombstone's key is a copy), so a leg costs no allocation.
	b := append(l.strs[:0], s.CallID...)
	n1 := len(b)
	b = append(b, fromTag...)
	n2 := len(b)
	b = append(b, s.FromUser()...)
	n3 := len(b)
	b = append(b, s.ToUser()...)
	n4 := len(b)
	if !partial {
		b = append(b, s.RequestURI...)
	}
	l.strs = b
	str := unsafe.String(unsafe.SliceData(b), len(b))
	l.CallID, l.callerTag, l.From, l.To, l.RequestURI = str[:n1], str[n1:n2], str[n2:n3], str[n3:n4], str[n4:]
	l.Partial = partial
	l.Frame, l.Input = m.Frame, m.Input
	// A partial leg's first message may be an in-dialog request from either side: From is then
	// whoever sent it. It is taken as the caller; nothing better is known.
	if !partial {
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
	cs := c.allocCall()
	cs.root, cs.first, cs.last = l, t, t
	cs.legs = append(cs.legs, l)
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

// schedule makes sure the call is looked at no later than its deadline. The heap entry is only
// moved earlier: a later deadline is found when the entry comes up (most messages push the
// deadline later, and moving an entry costs more than looking at it once more).
func (c *Calls) schedule(cs *callState) {
	d := c.deadline(cs)
	if d.IsZero() || (cs.heapIdx >= 0 && !d.Before(cs.deadline)) {
		return
	}
	cs.deadline = d
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
	for now := heapTime(c.now); len(c.timers) > 0 && c.timers[0].due(now, c.now); {
		cs := c.timers[0].cs
		c.timers.remove(cs)
		if d := c.deadline(cs); d.After(c.now) {
			cs.deadline = d
			c.timers.set(cs)
			continue
		}
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
	if !c.now.Before(c.nextSweep) {
		if !c.nextSweep.IsZero() {
			old := 1 - c.tomb
			if c.revived[old] == 0 {
				// No Call-ID of this generation started again, so each still maps to its
				// tombstone: a new leg is the only way to replace one (and to tombstone it again).
				for _, id := range c.tombIDs[old] {
					delete(c.legs, id)
				}
			} else {
				for _, id := range c.tombIDs[old] {
					if c.legs[id] == c.tombs[old] {
						delete(c.legs, id)
					}
				}
			}
			c.revived[old] = 0
			c.tombIDs[old] = clearStrings(c.tombIDs[old])
			c.tombKeys[old] = c.tombKeys[old][:0] // none of its keys is in the map any more
			c.tomb = old
		}
		c.nextSweep = c.now.Add(tombstoneTTL)
	}
}

// evict emits the oldest open calls while more than MaxOpen are held.
func (c *Calls) evict() {
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

// forget removes every trace of an emitted call from the indexes and recycles its state.
func (c *Calls) forget(cs *callState) {
	c.recent = [2]*legState{}
	c.unlinkOpen(cs)
	c.timers.remove(cs)
	for _, l := range cs.legs {
		// Every leg of an open call is in c.legs under its Call-ID (a leg is made only when its
		// Call-ID is free or a tombstone).
		// The tombstone's key is a copy: l.CallID is in memory the next leg reuses.
		delete(c.legs, l.CallID)
		id := c.tombKey(l.CallID)
		c.legs[id] = c.tombs[c.tomb]
		c.tombIDs[c.tomb] = append(c.tombIDs[c.tomb], id)
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
		c.stats.Retransmissions += l.Retransmissions
	}
	for _, l := range cs.legs {
		c.freeLeg(l)
	}
	c.freeCall(cs)
}

// tombKey copies a Call-ID into the memory of the current tombstone generation's keys.
func (c *Calls) tombKey(id string) string {
	if len(id) == 0 {
		return ""
	}
	keys := c.tombKeys[c.tomb]
	if len(keys)+len(id) > cap(keys) {
		// A new array; the keys in the old one keep it alive until their sweep.
		keys = make([]byte, 0, max(2*cap(keys), 64<<10, len(id)))
	}
	off := len(keys)
	keys = append(keys, id...)
	c.tombKeys[c.tomb] = keys
	return unsafe.String(&keys[off], len(id))
}

// Open legs and calls are recycled: a capture makes millions of them, a few thousand at a time.
const maxFree = 4096

func (c *Calls) allocLeg() *legState {
	if n := len(c.freeLegs); n > 0 {
		l := c.freeLegs[n-1]
		c.freeLegs = c.freeLegs[:n-1]
		return l
	}
	l := &legState{}
	c.rtp.addSlot(l)
	return l
}

// freeLeg resets a leg for reuse, keeping the capacity of its slices. Nothing may refer to it:
// its record was copied out (the Hops it handed over are not reused).
func (c *Calls) freeLeg(l *legState) {
	keep := len(c.freeLegs) < maxFree
	c.rtp.end(l, !keep)
	seen, txns, toTags, children := l.seen[:0], l.txns[:0], clearStrings(l.toTags), clearPtrs(l.children)
	sharedKeys, rtpAddrs, hops, strs := clearStrings(l.sharedKeys), l.rtpAddrs[:0], l.hops[:0], l.strs[:0]
	slot := l.slot
	// Zeroed in place, then filled: a composite literal would be built on the stack and copied.
	*l = legState{}
	l.seen, l.txns, l.toTags, l.children = seen, txns, toTags, children
	l.sharedKeys, l.rtpAddrs, l.hops, l.strs, l.slot = sharedKeys, rtpAddrs, hops, strs, slot
	if keep {
		c.freeLegs = append(c.freeLegs, l)
	}
}

func (c *Calls) allocCall() *callState {
	if n := len(c.freeCalls); n > 0 {
		cs := c.freeCalls[n-1]
		c.freeCalls = c.freeCalls[:n-1]
		return cs
	}
	return &callState{heapIdx: -1}
}

// freeCall resets a call for reuse (its events were copied into the record).
func (c *Calls) freeCall(cs *callState) {
	clear(cs.refers)
	clear(cs.events)
	legs, refers, events, evPrimary := clearPtrs(cs.legs), cs.refers[:0], cs.events[:0], cs.evPrimary[:0]
	*cs = callState{}
	cs.legs, cs.refers, cs.events, cs.evPrimary, cs.heapIdx = legs, refers, events, evPrimary, -1
	if len(c.freeCalls) < maxFree {
		c.freeCalls = append(c.freeCalls, cs)
	}
}

func clearStrings(s []string) []string { clear(s); return s[:0] }

func clearPtrs[T any](s []*T) []*T { clear(s); return s[:0] }

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
// Each entry holds its deadline: sifting compares within the heap's own array instead of reading
// a callState, which is seldom in cache, at every level.
type timerHeap []timerEntry

type timerEntry struct {
	at int64 // the call's deadline as heapTime gives it
	cs *callState
}

// Beyond these (years 1678 and 2262) Unix nanoseconds do not fit in an int64.
var minHeapTime, maxHeapTime = time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)

// heapTime is t in Unix nanoseconds, clamped to what an int64 holds: an order that agrees with
// time.Time's, though times past the clamps compare equal.
func heapTime(t time.Time) int64 {
	switch {
	case t.Before(minHeapTime):
		return math.MinInt64
	case t.After(maxHeapTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// due reports whether the entry's deadline has come at now (heapTime(nowT)). Equal values are
// told apart by the times themselves: past the clamps a deadline still in the future would come
// up again at once, for ever.
func (e timerEntry) due(now int64, nowT time.Time) bool {
	return e.at < now || e.at == now && !e.cs.deadline.After(nowT)
}

func (h timerHeap) less(i, j int) bool { return h[i].at < h[j].at }

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].cs.heapIdx = i
	h[j].cs.heapIdx = j
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
	at := heapTime(cs.deadline)
	if cs.heapIdx < 0 {
		cs.heapIdx = len(*h)
		*h = append(*h, timerEntry{at: at, cs: cs})
		h.up(cs.heapIdx)
		return
	}
	(*h)[cs.heapIdx].at = at
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
	a[n] = timerEntry{}
	*h = a[:n]
	cs.heapIdx = -1
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
}
