package correlate

import (
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/sip"
)

// Outcome is how a call or a leg ended, as its caller saw it.
type Outcome string

// Outcomes, from the final response of the INVITE (see OutcomeOf) or from what never came.
const (
	Answered   Outcome = "answered"    // 2xx
	Busy       Outcome = "busy"        // 486, 600
	Cancelled  Outcome = "cancelled"   // 487: the caller gave up
	Rejected   Outcome = "rejected"    // 3xx, 4xx and 6xx not listed elsewhere (404, 403, 484, 488, 401...)
	Failed     Outcome = "failed"      // 5xx, or no response at all until timeout
	NoAnswer   Outcome = "no-answer"   // 480, 408, or ringing until timeout
	InProgress Outcome = "in-progress" // not ended when the capture (or the call's memory slot) ended
)

// OutcomeOf maps the final status of an INVITE to an Outcome.
func OutcomeOf(status int) Outcome {
	switch {
	case status >= 200 && status < 300:
		return Answered
	case status == 486 || status == 600:
		return Busy
	case status == 487:
		return Cancelled
	case status == 480 || status == 408:
		return NoAnswer
	case status >= 500 && status < 600:
		return Failed
	case status >= 300:
		return Rejected
	}
	return InProgress
}

// rank orders outcomes from the caller's point of view: a call is as good as its best leg.
func (o Outcome) rank() int {
	switch o {
	case Answered:
		return 6
	case InProgress:
		return 5
	case Busy:
		return 4
	case NoAnswer:
		return 3
	case Cancelled:
		return 2
	case Rejected:
		return 1
	}
	return 0
}

// Role says where a leg sits in a call.
type Role string

const (
	// RoleClass4 is the root leg: the call as it entered (carrier to class-4 switch).
	RoleClass4 Role = "class4"
	// RoleClass5 is a leg a class-5 node (a B2BUA) opened for the call, linked to its parent.
	RoleClass5 Role = "class5"
)

// End reasons and sides.
const (
	EndBYE           = "BYE"
	EndCANCEL        = "CANCEL"
	EndFinalResponse = "final response"
	EndTimeout       = "timeout"

	CallingSide = "calling-side"
	CalledSide  = "called-side"
)

// LinkHeuristic is Leg.Link for a leg paired with its parent by numbers and timing.
const LinkHeuristic = "heuristic"

// Hop is one network path a leg's INVITE took (a proxy that keeps the Call-ID makes a second hop).
type Hop struct {
	Src, Dst  netip.AddrPort
	Transport decode.Transport
}

// Leg is one SIP dialog (one Call-ID) of a call, with the hops it was seen on.
type Leg struct {
	CallID string
	// Messages counts every message of the leg on every hop; Transactions the distinct requests
	// (by CSeq, method and side); Retransmissions the repeats of a message on the same hop. (Next
	// to CallID: both are read for every message.)
	Messages, Transactions, Retransmissions int
	Role                                    Role
	ParentCallID                            string
	// Link is the header that tied the leg to its parent (X-ORIGINAL-CALLID, Session-ID...), or
	// LinkHeuristic; empty for the root.
	Link string
	// Hops are the distinct (source, destination) pairs of the INVITE, in order of first sight.
	// The first is the hop the leg's times are taken on.
	Hops       []Hop
	From, To   string // user parts (numbers) of From and To
	RequestURI string // of the first INVITE
	FromTag    string
	ToTag      string // of the answer (or of the final response)
	Outcome    Outcome
	// FinalStatus is the final response to the INVITE (0 when none was seen).
	FinalStatus                                  int
	InviteTime, RingingTime, AnswerTime, EndTime time.Time
	EndReason                                    string
	EndedBy                                      string
	// EarlyDialogs counts the distinct To tags in responses to the INVITE (more than one: forked).
	EarlyDialogs int
	// Partial marks a leg whose INVITE was not captured (the capture started mid-call).
	Partial bool
	// Frame and Input locate the leg's first message.
	Frame int
	Input string
}

// EventType names a mid-call event.
type EventType string

// Event types.
const (
	EventDTMF     EventType = "dtmf"     // a digit: SIP INFO body, or RFC 4733 telephone-event in RTP
	EventHold     EventType = "hold"     // a re-INVITE or UPDATE offer with sendonly, inactive or c=0.0.0.0
	EventUnhold   EventType = "unhold"   // back to sendrecv after a hold
	EventRefer    EventType = "refer"    // REFER: Target is Refer-To; Status its response; Result the NOTIFY outcome
	EventPark     EventType = "park"     // a REFER completed (NOTIFY 2xx) with no new leg: parked inside the node
	EventTransfer EventType = "transfer" // a new class-5 leg after a REFER
	EventForward  EventType = "forward"  // a new class-5 leg after a failed one, or one carrying Diversion
)

// CallEvent is something that happened during a call.
type CallEvent struct {
	Type EventType
	// Time is taken on the event leg's first hop when the message crossed it, else where it was
	// first seen.
	Time  time.Time
	Leg   string // Call-ID of the leg it happened on (for transfer and forward: the new leg)
	Frame int
	Input string
	Digit string // dtmf
	// Source is how a dtmf digit travelled: "INFO" or "RTP".
	Source string
	// Target is the Refer-To URI (refer, park) or the new leg's Request-URI (transfer, forward).
	Target string
	// Status is the response to the REFER (refer), or the final status of the leg that failed
	// before a forward.
	Status int
	// Result is the final status the REFER's NOTIFY reported (sipfrag), 0 when none was seen.
	Result int
	// FromLeg is the leg a transfer or forward replaced.
	FromLeg string
}

// Call is one call: its legs (root first) and what happened to it. The call-level times, final
// status and end come from the root leg, taken on the hop where its INVITE was first seen.
type Call struct {
	CallID string // the root leg's Call-ID
	// Outcome is the root leg's outcome: what the caller saw. A B2BUA relays its best B-leg to
	// the caller, so a call forwarded and answered on a second B-leg is answered.
	Outcome                                      Outcome
	FinalStatus                                  int
	InviteTime, RingingTime, AnswerTime, EndTime time.Time
	EndReason, EndedBy                           string
	Legs                                         []Leg
	Events                                       []CallEvent
	Evicted                                      bool // dropped from memory by CallOptions.MaxOpen before it ended

	strs   []byte      // the memory of the strings above (see own)
	events []CallEvent // the memory of Events, kept when a recycled record has none
}

// CallIDs returns the Call-IDs of all legs, root first.
func (c *Call) CallIDs() []string {
	ids := make([]string, len(c.Legs))
	for i := range c.Legs {
		ids[i] = c.Legs[i].CallID
	}
	return ids
}

// Leg returns the leg with this Call-ID, or nil.
func (c *Call) Leg(callID string) *Leg {
	for i := range c.Legs {
		if c.Legs[i].CallID == callID {
			return &c.Legs[i]
		}
	}
	return nil
}

// BillableSeconds is end minus answer, for answered calls that ended; 0 otherwise.
func (c *Call) BillableSeconds() float64 { return span(c.AnswerTime, c.EndTime) }

// DurationSeconds is end minus INVITE; 0 while the call has not ended.
func (c *Call) DurationSeconds() float64 { return span(c.InviteTime, c.EndTime) }

// PDDSeconds is the post-dial delay: the first 18x (or the final response when there was none)
// minus the INVITE.
func (c *Call) PDDSeconds() float64 {
	if !c.RingingTime.IsZero() {
		return span(c.InviteTime, c.RingingTime)
	}
	if r := c.Legs; len(r) > 0 && c.FinalStatus != 0 {
		return span(c.InviteTime, r[0].finalTime())
	}
	return 0
}

func (l *Leg) finalTime() time.Time {
	if !l.AnswerTime.IsZero() {
		return l.AnswerTime
	}
	if l.EndReason == EndFinalResponse {
		return l.EndTime
	}
	return time.Time{}
}

// span is b - a in seconds, exact to the microsecond (times are kept to the microsecond).
func span(a, b time.Time) float64 {
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return float64(b.Sub(a).Microseconds()) / 1e6
}

// CallOptions tune a Calls correlator. The zero value is ready to use.
type CallOptions struct {
	// LegHeaders are more headers whose value is the Call-ID of a parent leg, besides
	// X-ORIGINAL-CALLID, X-CID and X-Call-ID (Session-ID and P-Charging-Vector's icid-value are
	// also used: legs sharing one are linked).
	LegHeaders []string
	// Heuristic pairs a leg no header links with an open leg whose INVITE went to the host that
	// sends this one, shortly before, with the same calling number. Such links are marked.
	Heuristic bool
	// Grace is how long, in capture time, a call whose legs have all ended is kept after its last
	// message before it is emitted, for late messages (an ACK, a 200 to BYE, an INVITE retried
	// with credentials, a leg seen late in a HEP feed). Default DefaultGrace.
	Grace time.Duration
	// MaxOpen, when positive, bounds the calls held open: beyond it the oldest is emitted as it is
	// (Call.Evicted) and counted.
	MaxOpen int
}

// Timers, in capture time.
const (
	// DefaultGrace: 4 s covers a late 200 to BYE and retries, while keeping few ended calls in memory.
	DefaultGrace = 4 * time.Second
	// timerB: an INVITE that got no response at all has failed after 64*T1 (RFC 3261 Timer B).
	timerB = 32 * time.Second
	// timerC: a proxy gives up on an INVITE that rings without a final response after 3 minutes
	// (RFC 3261 Timer C).
	timerC = 180 * time.Second
	// childWait: how long legs may stay open after the root leg ended before the call is emitted
	// anyway (a lost BYE on a B-leg must not keep the call forever).
	childWait = 32 * time.Second
	// tombstoneTTL: how long (at least; at most twice) the Call-IDs of an emitted call are
	// remembered, so that stray late messages (a retransmitted 200 to BYE) do not start a new call.
	tombstoneTTL = 32 * time.Second
)

// CallStats counts what a Calls correlator saw.
type CallStats struct {
	Messages        int // SIP messages given to Add
	Duplicates      int // capture duplicates (marked by decode, or found here when decode does not dedup), ignored
	OutOfDialog     int // messages outside any INVITE dialog: OPTIONS, REGISTER, SUBSCRIBE, MESSAGE...
	Late            int // messages of a call already emitted
	NoCallID        int // messages without a Call-ID
	Retransmissions int
	Calls           int // calls emitted
	Legs            int
	Evicted         int // calls emitted early because of MaxOpen
	InProgress      int // calls emitted by Flush before they ended
	MaxOpen         int // most calls open at once
	RTPEvents       int // RFC 4733 digits found in RTP
}

// Calls groups SIP messages into calls. Feed it every message in capture-time order with Add,
// then call Flush. It is not safe for concurrent use.
type Calls struct {
	opts     CallOptions
	headers  []string // Call-ID-valued link headers
	linkVals [][]byte
	// linkNames: headers, Session-ID, P-Charging-Vector, and Diversion and History-Info (looked
	// for in the same pass).
	linkNames sip.HeaderNames
	invite    inviteHeaders

	// legs holds every open leg by Call-ID, and, for a while after their call was emitted, the
	// Call-IDs of finished legs, mapped to a tombstone, so that stray late messages do not start
	// new calls. Tombstones come in two generations: every tombstoneTTL the older one is swept
	// out of the map and reused for the next.
	legs      map[string]*legState
	recent    [2]*legState // the legs of the last messages, most recent first
	tombs     [2]*legState
	tombIDs   [2][]string // the Call-IDs given each generation's tombstone (some reused since)
	tombKeys  [2][]byte   // the memory of each generation's keys (tombKey), reused at its sweep
	tomb      int         // the generation new tombstones get
	revived   [2]int      // per generation: tombstones replaced by a new leg of their Call-ID
	nextSweep time.Time
	waiting   map[string][]*legState // legs whose parent Call-ID has not been seen yet
	shared    map[string]*legState   // Session-ID / icid-value: the first leg holding it
	byNum     map[string][]*legState // calling number -> open legs (heuristic only)
	rtp       rtpIndex

	openHead, openTail *callState // open calls, oldest first
	open               int
	timers             timerHeap
	now                time.Time

	seed        maphash.Seed
	idKeys      [10]uint64 // the secrets of identity, from seed
	sdp         sip.SDP
	out         []*Call
	freeLegs    []*legState
	freeCalls   []*callState
	freeRecords []*Call
	stats       CallStats
}

// isTomb reports whether a legs entry is a tombstone.
func (c *Calls) isTomb(l *legState) bool { return l == c.tombs[0] || l == c.tombs[1] }

// tombGen returns the generation of a tombstone.
func (c *Calls) tombGen(l *legState) int {
	if l == c.tombs[0] {
		return 0
	}
	return 1
}

// defaultLegHeaders hold the Call-ID of a parent leg.
var defaultLegHeaders = []string{"X-ORIGINAL-CALLID", "X-CID", "X-Call-ID"}

// NewCalls returns a correlator.
func NewCalls(opts CallOptions) *Calls {
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	hs := slices.Clone(defaultLegHeaders)
	for _, h := range opts.LegHeaders {
		h = strings.TrimSpace(h)
		if h != "" && !slices.ContainsFunc(hs, func(x string) bool { return strings.EqualFold(x, h) }) {
			hs = append(hs, h)
		}
	}
	seed := maphash.MakeSeed()
	c := &Calls{
		seed:     seed,
		opts:     opts,
		headers:  hs,
		linkVals: make([][]byte, len(hs)),
		legs:     make(map[string]*legState),
		waiting:  make(map[string][]*legState),
		shared:   make(map[string]*legState),
		byNum:    make(map[string][]*legState),
		rtp:      newRTPIndex(seed),
		tombs:    [2]*legState{{}, {}},
	}
	for _, h := range slices.Concat(hs, []string{"Session-ID", "P-Charging-Vector"}, forwardNames) {
		c.linkNames.Add(h)
	}
	for i := range c.idKeys {
		c.idKeys[i] = maphash.Comparable(c.seed, i) | 1
	}
	return c
}

// Stats returns the counts so far.
func (c *Calls) Stats() CallStats { return c.stats }

// Open returns the number of calls held in memory.
func (c *Calls) Open() int { return c.open }

// Add correlates one message and returns the calls that completed (ended, and quiet for the
// grace period) by its capture time. The returned slice is reused by the next call to Add.
// Messages other than SIP are ignored.
func (c *Calls) Add(m *decode.Message) []*Call {
	c.out = c.out[:0]
	if m.Protocol != decode.ProtoSIP || m.SIP == nil {
		return c.out
	}
	// Times are kept to the microsecond, as they are printed, so that durations computed from
	// them agree with the printed times.
	t := roundMicro(m.Time)
	if t.After(c.now) {
		// Calls whose time has come by this message are done before it: a message for one of them
		// now is late, not a sign of life.
		c.now = t
		c.expire()
	}
	c.sipMessage(m, t)
	c.evict()
	return c.out
}

// Advance moves the capture clock to now, when that is later than the last message, and returns
// the calls that completed by then: for a live feed that has gone quiet, whose calls must still
// end on time. The returned slice is reused by the next call to Add or Advance.
func (c *Calls) Advance(now time.Time) []*Call {
	c.out = c.out[:0]
	if now = roundMicro(now); now.After(c.now) {
		c.now = now
		c.expire()
	}
	return c.out
}

// Flush returns every call still held: those that ended as they are, the others in progress.
// The correlator is empty afterwards.
func (c *Calls) Flush() []*Call {
	c.out = c.out[:0]
	for cs := c.openHead; cs != nil; cs = c.openHead {
		c.emit(cs, false)
	}
	return c.out
}

// roundMicro is t.Round(time.Microsecond), without Round's general division for the times most
// captures hold: already whole microseconds.
func roundMicro(t time.Time) time.Time {
	r := time.Duration(t.Nanosecond() % 1000)
	switch {
	case r == 0:
		return t
	case r >= 500:
		return t.Add(time.Microsecond - r)
	}
	return t.Add(-r)
}
