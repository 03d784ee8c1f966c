package correlate

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/diameter"
)

// DiameterTransaction is a Diameter request and its answer, or either alone.
type DiameterTransaction struct {
	Status PairStatus `json:"status"`
	// Request and RequestEnv are the first copy of the request; nil and zero for an orphan answer.
	Request    *diameter.Message `json:"request,omitempty"`
	RequestEnv decode.Envelope   `json:"request_envelope"`
	// Retransmissions are the envelopes of later copies of the request: the same identifiers on the
	// same connection, or the T flag after a failover to another connection.
	Retransmissions []decode.Envelope `json:"retransmissions,omitempty"`
	// Answer and AnswerEnv are nil and zero for an unanswered request.
	Answer    *diameter.Message `json:"answer,omitempty"`
	AnswerEnv decode.Envelope   `json:"answer_envelope"`
	// Latency runs from the first copy of the request to the answer; 0 unless answered.
	Latency time.Duration `json:"latency"`
	// Evicted marks an unanswered request dropped because PairOptions.MaxOpen requests were waiting,
	// rather than by timeout or at the end of the capture.
	Evicted bool `json:"evicted,omitempty"`
}

// Message returns the request, or the answer of an orphan.
func (t *DiameterTransaction) Message() *diameter.Message {
	if t.Request != nil {
		return t.Request
	}
	return t.Answer
}

// Result returns the answer's Result-Code or Experimental-Result-Code, 0 without answer.
func (t *DiameterTransaction) Result() uint32 {
	if t.Answer == nil {
		return 0
	}
	return t.Answer.Result()
}

// diameterKey identifies a transaction on one connection: the answer travels back from the request's
// destination to its source with the same Hop-by-Hop and End-to-End identifiers.
type diameterKey struct {
	hopByHop, endToEnd uint32
	client, server     netip.AddrPort
}

// diameterE2E finds the original of a request retransmitted after failover: a new connection, and so a
// new Hop-by-Hop identifier, but the same End-to-End identifier and originator.
type diameterE2E struct {
	endToEnd   uint32
	originHost string
}

// DiameterPairer pairs Diameter requests and answers as they stream past in capture order, and keeps
// statistics. Feed it every message once (not the capture duplicates the decoder marks).
type DiameterPairer struct {
	// Select, when set, keeps only the transactions it accepts, in the output and in the statistics
	// (a display filter: a transaction is kept when its request or its answer matches).
	Select   func(t *DiameterTransaction) bool
	pending  *pendingTable[diameterKey, *DiameterTransaction]
	failover map[diameterE2E]*pendingEntry[diameterKey, *DiameterTransaction]
	out      []DiameterTransaction
	stats    diameterStats
}

// NewDiameterPairer returns a pairer; zero options give the defaults.
func NewDiameterPairer(opts PairOptions) *DiameterPairer {
	return &DiameterPairer{
		pending:  newPendingTable[diameterKey, *DiameterTransaction](opts.withDefaults(60 * time.Second)),
		failover: make(map[diameterE2E]*pendingEntry[diameterKey, *DiameterTransaction]),
		stats:    newDiameterStats(),
	}
}

// Add takes the next message and returns the transactions it completed: its own (an answered pair or
// an orphan answer) and requests that timed out or were evicted before it, oldest first. Most calls
// return nil.
func (p *DiameterPairer) Add(env decode.Envelope, m *diameter.Message) []DiameterTransaction {
	p.out = nil
	p.pending.expire(env.Time, p.unanswered)
	if m.Flags.Request {
		p.request(env, m)
	} else {
		p.answer(env, m)
	}
	return p.out
}

// Flush reports every request still waiting as unanswered; call it at the end of the capture.
func (p *DiameterPairer) Flush() []DiameterTransaction {
	p.out = nil
	p.pending.drain(func(t *DiameterTransaction) { p.unanswered(t, false) })
	clear(p.failover)
	return p.out
}

// Open returns the number of requests waiting for an answer.
func (p *DiameterPairer) Open() int { return p.pending.open }

func (p *DiameterPairer) request(env decode.Envelope, m *diameter.Message) {
	k := diameterKey{m.HopByHop, m.EndToEnd, env.Src, env.Dst}
	e := p.pending.get(k)
	if e == nil && m.Flags.Retransmit {
		if e = p.failover[diameterE2E{m.EndToEnd, m.OriginHost}]; e != nil {
			p.pending.alias(k, e)
		}
	}
	if e != nil {
		e.val.Retransmissions = append(e.val.Retransmissions, env)
		return
	}
	t := &DiameterTransaction{Request: m, RequestEnv: env}
	e = p.pending.add(k, env.Time, t, p.unanswered)
	p.failover[diameterE2E{m.EndToEnd, m.OriginHost}] = e
}

func (p *DiameterPairer) answer(env decode.Envelope, m *diameter.Message) {
	e := p.pending.get(diameterKey{m.HopByHop, m.EndToEnd, env.Dst, env.Src})
	if e == nil {
		p.emit(DiameterTransaction{Status: PairOrphan, Answer: m, AnswerEnv: env})
		return
	}
	p.forget(e)
	t := e.val
	t.Status, t.Answer, t.AnswerEnv = PairAnswered, m, env
	t.Latency = max(env.Time.Sub(t.RequestEnv.Time), 0) // a capture merged out of order must not go negative
	p.emit(*t)
}

func (p *DiameterPairer) unanswered(t *DiameterTransaction, evicted bool) {
	if fk := (diameterE2E{t.Request.EndToEnd, t.Request.OriginHost}); p.failover[fk] != nil && p.failover[fk].val == t {
		delete(p.failover, fk)
	}
	t.Status, t.Evicted = PairUnanswered, evicted
	p.emit(*t)
}

func (p *DiameterPairer) forget(e *pendingEntry[diameterKey, *DiameterTransaction]) {
	p.pending.remove(e)
	if fk := (diameterE2E{e.val.Request.EndToEnd, e.val.Request.OriginHost}); p.failover[fk] == e {
		delete(p.failover, fk)
	}
}

func (p *DiameterPairer) emit(t DiameterTransaction) {
	if p.Select != nil && !p.Select(&t) {
		return
	}
	p.stats.add(&t)
	p.out = append(p.out, t)
}

// DiameterStats counts transactions and summarises latencies per command and per result.
type DiameterStats struct {
	Answered        int `json:"answered"`
	Unanswered      int `json:"unanswered"`
	Orphans         int `json:"orphans"`
	Retransmissions int `json:"retransmissions"`
	Evicted         int `json:"evicted"`
	// ByCommand is ordered by application, then command code.
	ByCommand []DiameterCommandStats `json:"by_command"`
	// ByResult covers answered transactions, ordered by result code.
	ByResult []DiameterResultStats `json:"by_result"`
}

// DiameterCommandStats are the statistics of one command of one application.
type DiameterCommandStats struct {
	ApplicationID   uint32  `json:"application_id"`
	Application     string  `json:"application,omitempty"`
	CommandCode     uint32  `json:"command_code"`
	Command         string  `json:"command,omitempty"` // "Update-Location"
	Answered        int     `json:"answered"`
	Unanswered      int     `json:"unanswered"`
	Orphans         int     `json:"orphans"`
	Retransmissions int     `json:"retransmissions"`
	Latency         Latency `json:"latency"`
}

// DiameterResultStats are the statistics of one result code (Result-Code, else
// Experimental-Result-Code; 0 for answers carrying neither).
type DiameterResultStats struct {
	Result  uint32  `json:"result"`
	Latency Latency `json:"latency"` // Latency.Count is the number of answers
}

type diameterCommandKey struct{ app, code uint32 }

type diameterStats struct {
	totals    DiameterStats
	byCommand map[diameterCommandKey]*diameterCommandAcc
	byResult  map[uint32]*latencies
}

type diameterCommandAcc struct {
	DiameterCommandStats
	lat latencies
}

func newDiameterStats() diameterStats {
	return diameterStats{
		byCommand: make(map[diameterCommandKey]*diameterCommandAcc),
		byResult:  make(map[uint32]*latencies),
	}
}

func (s *diameterStats) add(t *DiameterTransaction) {
	m := t.Message()
	k := diameterCommandKey{m.ApplicationID, m.CommandCode}
	c := s.byCommand[k]
	if c == nil {
		c = &diameterCommandAcc{DiameterCommandStats: DiameterCommandStats{
			ApplicationID: m.ApplicationID, Application: m.Application, CommandCode: m.CommandCode, Command: m.Command,
		}}
		s.byCommand[k] = c
	}
	n := len(t.Retransmissions)
	c.Retransmissions += n
	s.totals.Retransmissions += n
	switch t.Status {
	case PairAnswered:
		c.Answered++
		s.totals.Answered++
		c.lat.add(t.Latency)
		r := s.byResult[t.Result()]
		if r == nil {
			r = &latencies{}
			s.byResult[t.Result()] = r
		}
		r.add(t.Latency)
	case PairUnanswered:
		c.Unanswered++
		s.totals.Unanswered++
		if t.Evicted {
			s.totals.Evicted++
		}
	case PairOrphan:
		c.Orphans++
		s.totals.Orphans++
	}
}

// Stats returns the statistics of the transactions completed so far; after Flush, of all.
func (p *DiameterPairer) Stats() DiameterStats {
	s := p.stats.totals
	s.ByCommand = make([]DiameterCommandStats, 0, len(p.stats.byCommand))
	for _, c := range p.stats.byCommand {
		cs := c.DiameterCommandStats
		cs.Latency = c.lat.summary()
		s.ByCommand = append(s.ByCommand, cs)
	}
	slices.SortFunc(s.ByCommand, func(a, b DiameterCommandStats) int {
		return cmp.Or(cmp.Compare(a.ApplicationID, b.ApplicationID), cmp.Compare(a.CommandCode, b.CommandCode))
	})
	s.ByResult = make([]DiameterResultStats, 0, len(p.stats.byResult))
	for r, l := range p.stats.byResult {
		s.ByResult = append(s.ByResult, DiameterResultStats{Result: r, Latency: l.summary()})
	}
	slices.SortFunc(s.ByResult, func(a, b DiameterResultStats) int { return cmp.Compare(a.Result, b.Result) })
	return s
}
