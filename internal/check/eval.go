package check

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/diameter"
	"github.com/sigtrace/sigtrace/decode/dns"
	"github.com/sigtrace/sigtrace/filters"
)

// Options tune a check run. The zero value is ready to use.
type Options struct {
	Calls    correlate.CallOptions
	Diameter correlate.PairOptions
	DNS      correlate.PairOptions
	// MaxEvidence bounds the offending items a failed rule lists; default DefaultMaxEvidence.
	MaxEvidence int
}

// DefaultMaxEvidence is how many offending items a failed rule lists by default.
const DefaultMaxEvidence = 10

// Status is a rule's outcome on one capture.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	// Skip: a ratio or statistic with nothing to measure (no calls, no values). Assert presence
	// with a count rule (min: 1).
	Skip Status = "skip"
)

// Evidence is one offending item: where it is in the capture and what it is.
type Evidence struct {
	Input string `json:"input"`
	Frame int    `json:"frame"`
	// ID is the Call-ID (messages and calls), Session-Id (diameter) or question name (dns).
	ID     string `json:"id,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// BoundResult is one bound's measure.
type BoundResult struct {
	Bound
	Measured float64
	OK       bool
}

// RuleResult is a rule's outcome on one capture.
type RuleResult struct {
	Rule   *Rule
	Status Status
	// Population is the items the rule looked at (after where); Matched those that matched (count
	// and ratio) or carried the value (statistic).
	Population, Matched int
	Bounds              []BoundResult
	// Summary says, in one line, what was measured and against which bounds.
	Summary string
	// Evidence lists the first offending items of a failed rule; Offending counts them all.
	Evidence  []Evidence
	Offending int
}

// Result is the outcome of every rule on one capture.
type Result struct {
	// Input names the capture: its file, or the files joined with "+" when merged.
	Input    string
	Inputs   []string
	Frames   int
	Messages int // decoded, capture duplicates left out
	Calls    int
	Diameter int // transactions
	DNS      int // transactions
	Elapsed  time.Duration
	Rules    []RuleResult
	// Warnings are problems with the input that did not stop the run (a truncated file...).
	Warnings []string
}

// Count returns how many rules ended with status s.
func (r *Result) Count(s Status) int {
	n := 0
	for i := range r.Rules {
		if r.Rules[i].Status == s {
			n++
		}
	}
	return n
}

// Check evaluates every rule over the captures, merged by time as one capture, in one pass. Memory
// is bounded by the calls and transactions open at once (and, for call rules that read message
// fields, those calls' messages).
func (rs *RuleSet) Check(ctx context.Context, caps []*decode.Capture, opts Options) (*Result, error) {
	start := time.Now()
	e := newEvaluation(rs, opts)
	names := make([]string, len(caps))
	for i, c := range caps {
		names[i] = c.Name()
	}
	e.res.Inputs = names
	e.res.Input = strings.Join(names, "+")
	var decOpts decode.Options
	if e.corr != nil {
		decOpts.OtherUDP = e.corr.RTP // RFC 4733 digits in RTP
	}
	d := decode.NewDecoder(e.message, decOpts)
	d.Stats.Inputs = len(caps)
	err := decode.EachFrame(ctx, caps, func(_ int, f *decode.Frame) error {
		e.res.Frames++
		d.Frame(f)
		return nil
	})
	for _, c := range caps {
		if w := c.Warning(); w != nil {
			e.res.Warnings = append(e.res.Warnings, w.Error())
		}
	}
	if err != nil {
		return nil, err
	}
	d.Finish()
	e.finish()
	e.res.Elapsed = time.Since(start)
	return &e.res, nil
}

// state accumulates one rule's measure.
type state struct {
	r          *Rule
	max        int
	population int
	matched    int
	// hits are matching items, misses population items that did not match (a ratio's min_ratio
	// evidence); beyond[i] the items past bound i (statistics).
	hits, misses   evidenceList
	values         []float64
	beyond         []evidenceList
	lowestUpper    float64
	highestLower   float64
	hasUpper, hasL bool
}

type evidenceList struct {
	items []Evidence
	total int
}

func (l *evidenceList) add(max int, ev func() Evidence) {
	l.total++
	if len(l.items) < max {
		l.items = append(l.items, ev())
	}
}

// observe records one item of a count or ratio rule.
func (s *state) observe(matched bool, ev func() Evidence) {
	s.population++
	if matched {
		s.matched++
		s.hits.add(s.max, ev)
	} else if s.r.Kind == KindRatio {
		s.misses.add(s.max, ev)
	}
}

// sample records one value of a statistic rule; ev gets the value as text.
func (s *state) sample(v float64, ev func(detail string) Evidence) {
	s.population++
	s.matched++
	s.values = append(s.values, v)
	if !(s.hasUpper && v > s.lowestUpper) && !(s.hasL && v < s.highestLower) {
		return
	}
	for i, b := range s.r.Bounds {
		if b.upper() && v > b.Value || !b.upper() && v < b.Value {
			s.beyond[i].add(s.max, func() Evidence { return ev(s.r.value.format(v)) })
		}
	}
}

type evaluation struct {
	rs   *RuleSet
	opts Options
	res  Result

	byOver map[Over][]*state

	corr     *correlate.Calls
	keepMsgs bool
	pending  map[string][]*decode.Message // Call-ID -> copies of its messages (call rules with message fields)

	dia     *correlate.DiameterPairer
	diaBits map[*diameter.Message]*msgBits
	dnsP    *correlate.DNSPairer
	dnsBits map[*dns.Message]*msgBits
	pruned  time.Time
}

// msgBits holds, for one Diameter or DNS message, whether each rule's where and match matched it,
// until its pair is complete.
type msgBits struct {
	at           time.Time
	input        string
	frame        int
	where, match []bool
}

func newEvaluation(rs *RuleSet, opts Options) *evaluation {
	if opts.MaxEvidence <= 0 {
		opts.MaxEvidence = DefaultMaxEvidence
	}
	e := &evaluation{rs: rs, opts: opts, byOver: map[Over][]*state{}}
	for _, r := range rs.Rules {
		s := &state{r: r, max: opts.MaxEvidence, beyond: make([]evidenceList, len(r.Bounds))}
		for _, b := range r.Bounds {
			if b.upper() {
				if !s.hasUpper || b.Value < s.lowestUpper {
					s.lowestUpper = b.Value
				}
				s.hasUpper = true
			} else {
				if !s.hasL || b.Value > s.highestLower {
					s.highestLower = b.Value
				}
				s.hasL = true
			}
		}
		e.byOver[r.Over] = append(e.byOver[r.Over], s)
		if r.Over == OverCalls && (r.match.UsesMessageFields() || r.where.UsesMessageFields()) {
			e.keepMsgs = true
		}
	}
	if len(e.byOver[OverCalls]) > 0 {
		e.corr = correlate.NewCalls(opts.Calls)
		if e.keepMsgs {
			e.pending = map[string][]*decode.Message{}
		}
	}
	if len(e.byOver[OverDiameter]) > 0 {
		e.dia = correlate.NewDiameterPairer(opts.Diameter)
		e.diaBits = map[*diameter.Message]*msgBits{}
	}
	if len(e.byOver[OverDNS]) > 0 {
		e.dnsP = correlate.NewDNSPairer(opts.DNS)
		e.dnsBits = map[*dns.Message]*msgBits{}
	}
	return e
}

func (e *evaluation) message(m *decode.Message) {
	if m.Duplicate {
		return // the same packet captured twice: not the network's doing
	}
	e.res.Messages++
	for _, s := range e.byOver[OverMessages] {
		if !s.r.where.MatchMessage(m) {
			continue
		}
		s.observe(s.r.match.MatchMessage(m), func() Evidence { return messageEvidence(m) })
	}
	switch m.Protocol {
	case decode.ProtoSIP:
		if e.corr != nil && m.SIP != nil {
			e.sip(m)
		}
	case decode.ProtoDiameter:
		if e.dia != nil && m.Diameter != nil {
			e.diaBits[m.Diameter] = e.bits(OverDiameter, m)
			for _, t := range e.dia.Add(m.Envelope, m.Diameter) {
				e.diameterPair(&t)
			}
			e.prune(m.Time)
		}
	case decode.ProtoDNS:
		if e.dnsP != nil && m.DNS != nil {
			e.dnsBits[m.DNS] = e.bits(OverDNS, m)
			for _, t := range e.dnsP.Add(m.Envelope, m.DNS) {
				e.dnsPair(&t)
			}
			e.prune(m.Time)
		}
	}
}

func (e *evaluation) bits(o Over, m *decode.Message) *msgBits {
	states := e.byOver[o]
	b := &msgBits{at: m.Time, input: m.Input, frame: m.Frame, where: make([]bool, len(states)), match: make([]bool, len(states))}
	for i, s := range states {
		b.where[i] = s.r.where != nil && s.r.where.MatchMessage(m)
		b.match[i] = s.r.match != nil && s.r.match.MatchMessage(m)
	}
	return b
}

// prune forgets the bits of messages no pair will claim any more (copies of a retransmitted
// request): the pairers report a request unanswered once its timeout has passed.
func (e *evaluation) prune(now time.Time) {
	if now.Sub(e.pruned) < 10*time.Second {
		return
	}
	e.pruned = now
	if t := withDefault(e.opts.Diameter.Timeout, 60*time.Second); t > 0 {
		for k, b := range e.diaBits {
			if now.Sub(b.at) > t+time.Second {
				delete(e.diaBits, k)
			}
		}
	}
	if t := withDefault(e.opts.DNS.Timeout, 30*time.Second); t > 0 {
		for k, b := range e.dnsBits {
			if now.Sub(b.at) > t+time.Second {
				delete(e.dnsBits, k)
			}
		}
	}
}

func withDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func (e *evaluation) sip(m *decode.Message) {
	if !e.keepMsgs {
		for _, c := range e.corr.Add(m) {
			e.call(c)
		}
		return
	}
	id := string(m.SIP.CallID)
	e.pending[id] = append(e.pending[id], cloneMessage(m))
	before := e.corr.Stats()
	calls := e.corr.Add(m)
	if after := e.corr.Stats(); after.OutOfDialog != before.OutOfDialog || after.Late != before.Late || after.NoCallID != before.NoCallID {
		// Not part of any call: keeping it would only grow the table.
		if l := e.pending[id]; len(l) <= 1 {
			delete(e.pending, id)
		} else {
			e.pending[id] = l[:len(l)-1]
		}
	}
	for _, c := range calls {
		e.call(c)
	}
}

// cloneMessage copies a SIP message out of the decoder's reused buffers.
func cloneMessage(m *decode.Message) *decode.Message {
	c := *m
	c.SIP = m.SIP.Clone()
	c.Payload = c.SIP.Raw
	c.Frames = slices.Clone(m.Frames)
	return &c
}

func (e *evaluation) call(c *correlate.Call) {
	e.res.Calls++
	var msgs []*decode.Message
	if e.keepMsgs {
		for i := range c.Legs {
			id := c.Legs[i].CallID
			msgs = append(msgs, e.pending[id]...)
			delete(e.pending, id)
		}
		slices.SortStableFunc(msgs, func(a, b *decode.Message) int { return a.Time.Compare(b.Time) })
	}
	for _, s := range e.byOver[OverCalls] {
		if ok, _ := matchCall(s.r.where, c, msgs); !ok {
			continue
		}
		if s.r.Kind == KindStatistic {
			if v, ok := s.r.value.call(c); ok {
				s.sample(v, func(detail string) Evidence { return callEvidence(c, nil, s.r.value.name+" "+detail) })
			}
			continue
		}
		ok, by := matchCall(s.r.match, c, msgs)
		s.observe(ok, func() Evidence { return callEvidence(c, by, "") })
	}
	e.corr.Release(c) // evidence holds copies of what it needs
}

// matchCall matches a call as filters.Filter.MatchCall does, and returns the first message that
// matched when the expression reads message fields.
func matchCall(f *filters.Filter, c *correlate.Call, msgs []*decode.Message) (bool, *decode.Message) {
	if f == nil {
		return true, nil
	}
	if f.UsesMessageFields() && len(msgs) > 0 {
		for _, m := range msgs {
			if f.MatchMessageOf(c, m) {
				return true, m
			}
		}
		return false, nil
	}
	return f.MatchCall(c), nil
}

func (e *evaluation) diameterPair(t *correlate.DiameterTransaction) {
	e.res.Diameter++
	req, ans := e.diaBits[t.Request], e.diaBits[t.Answer]
	delete(e.diaBits, t.Request)
	delete(e.diaBits, t.Answer)
	for i, s := range e.byOver[OverDiameter] {
		if s.r.where != nil && !req.whereAt(i) && !ans.whereAt(i) {
			continue
		}
		if s.r.Kind == KindStatistic {
			if v, ok := s.r.value.dia(t); ok {
				s.sample(v, func(detail string) Evidence { return diameterEvidence(t, nil, s.r.value.name+" "+detail) })
			}
			continue
		}
		ok := s.r.Status == nil || slices.Contains(s.r.Status, t.Status)
		var by *msgBits
		if ok && s.r.match != nil {
			switch {
			case ans.matchAt(i):
				by = ans
			case req.matchAt(i):
				by = req
			default:
				ok = false
			}
		}
		s.observe(ok, func() Evidence { return diameterEvidence(t, by, "") })
	}
}

func (e *evaluation) dnsPair(t *correlate.DNSTransaction) {
	e.res.DNS++
	q, r := e.dnsBits[t.Query], e.dnsBits[t.Response]
	delete(e.dnsBits, t.Query)
	delete(e.dnsBits, t.Response)
	for i, s := range e.byOver[OverDNS] {
		if s.r.where != nil && !q.whereAt(i) && !r.whereAt(i) {
			continue
		}
		if s.r.Kind == KindStatistic {
			if v, ok := s.r.value.dns(t); ok {
				s.sample(v, func(detail string) Evidence { return dnsEvidence(t, nil, s.r.value.name+" "+detail) })
			}
			continue
		}
		ok := s.r.Status == nil || slices.Contains(s.r.Status, t.Status)
		var by *msgBits
		if ok && s.r.match != nil {
			switch {
			case r.matchAt(i):
				by = r
			case q.matchAt(i):
				by = q
			default:
				ok = false
			}
		}
		s.observe(ok, func() Evidence { return dnsEvidence(t, by, "") })
	}
}

func (b *msgBits) whereAt(i int) bool { return b != nil && b.where[i] }
func (b *msgBits) matchAt(i int) bool { return b != nil && b.match[i] }

func (e *evaluation) finish() {
	if e.corr != nil {
		for _, c := range e.corr.Flush() {
			e.call(c)
		}
	}
	if e.dia != nil {
		for _, t := range e.dia.Flush() {
			e.diameterPair(&t)
		}
	}
	if e.dnsP != nil {
		for _, t := range e.dnsP.Flush() {
			e.dnsPair(&t)
		}
	}
	states := map[*Rule]*state{}
	for _, list := range e.byOver {
		for _, s := range list {
			states[s.r] = s
		}
	}
	for _, r := range e.rs.Rules {
		e.res.Rules = append(e.res.Rules, states[r].result())
	}
}

// result judges the rule against its bounds.
func (s *state) result() RuleResult {
	r := s.r
	res := RuleResult{Rule: r, Status: Pass, Population: s.population, Matched: s.matched}
	var failed []string
	var measure string
	switch r.Kind {
	case KindCount:
		measure = plural(s.matched, "match", "matches")
		if r.Match != "" || r.Status != nil || r.Where != "" {
			measure += " of " + strconv.Itoa(s.population) + " " + r.Over.noun()
		}
		for _, b := range r.Bounds {
			v := float64(s.matched)
			ok := b.Key == "max" && v <= b.Value || b.Key == "min" && v >= b.Value
			res.Bounds = append(res.Bounds, BoundResult{Bound: b, Measured: v, OK: ok})
			if !ok {
				failed = append(failed, describeBound(b))
				if b.Key == "max" {
					res.Evidence, res.Offending = s.hits.items, s.hits.total
				}
			}
		}
	case KindRatio:
		if s.population == 0 {
			res.Status, res.Summary = Skip, "no "+r.Over.noun()+" to measure"
			return res
		}
		ratio := float64(s.matched) / float64(s.population)
		measure = formatRatio(ratio) + " (" + strconv.Itoa(s.matched) + " of " + strconv.Itoa(s.population) + " " + r.Over.noun() + ")"
		for _, b := range r.Bounds {
			ok := b.Key == "max_ratio" && ratio <= b.Value || b.Key == "min_ratio" && ratio >= b.Value
			res.Bounds = append(res.Bounds, BoundResult{Bound: b, Measured: ratio, OK: ok})
			if !ok {
				failed = append(failed, describeBound(b))
				if b.Key == "min_ratio" {
					res.Evidence, res.Offending = s.misses.items, s.misses.total
				} else {
					res.Evidence, res.Offending = s.hits.items, s.hits.total
				}
			}
		}
	case KindStatistic:
		if len(s.values) == 0 {
			res.Status, res.Summary = Skip, "no "+r.Over.noun()+" with "+r.Value
			return res
		}
		slices.Sort(s.values)
		var parts []string
		for i, b := range r.Bounds {
			v := statistic(s.values, b.Key)
			ok := b.upper() && v <= b.Value || !b.upper() && v >= b.Value
			res.Bounds = append(res.Bounds, BoundResult{Bound: b, Measured: v, OK: ok})
			parts = append(parts, statName(b.Key)+" "+r.value.format(v))
			if !ok {
				failed = append(failed, statName(b.Key)+map[bool]string{true: " above ", false: " below "}[b.upper()]+b.Text)
				if res.Evidence == nil {
					res.Evidence, res.Offending = s.beyond[i].items, s.beyond[i].total
				}
			}
		}
		measure = r.Value + " " + strings.Join(parts, ", ") + " over " + plural(len(s.values), strings.TrimSuffix(r.Over.noun(), "s"), r.Over.noun())
	}
	if len(failed) > 0 {
		res.Status = Fail
		res.Summary = measure + ": " + strings.Join(failed, "; ")
	} else {
		res.Summary = measure
	}
	return res
}

func describeBound(b Bound) string {
	switch b.Key {
	case "max":
		return "more than max " + b.Text
	case "min":
		return "less than min " + b.Text
	case "min_ratio":
		return "below min_ratio " + b.Text
	}
	return "above max_ratio " + b.Text
}

// statName is the statistic a bound key bounds: p95_max -> p95, avg_min -> avg, max -> max.
func statName(key string) string {
	switch key {
	case "max", "min":
		return key
	}
	name, _, _ := strings.Cut(key, "_")
	return name
}

// statistic computes a bound's statistic over sorted values. Percentiles are nearest-rank: the
// smallest value with at least p% of the sample at or below it.
func statistic(sorted []float64, key string) float64 {
	n := len(sorted)
	switch statName(key) {
	case "max":
		return sorted[n-1]
	case "min":
		return sorted[0]
	case "avg":
		sum := 0.0
		for _, v := range sorted {
			sum += v
		}
		return sum / float64(n)
	}
	p, _ := strconv.Atoi(strings.TrimPrefix(statName(key), "p"))
	rank := int(math.Ceil(float64(p) / 100 * float64(n)))
	return sorted[max(rank, 1)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func formatRatio(v float64) string {
	return strconv.FormatFloat(math.Round(v*10000)/10000, 'f', -1, 64)
}

// format writes a value: seconds to the microsecond with a unit, counts as numbers.
func (d *valueDef) format(v float64) string {
	if d.seconds {
		if v < 1 {
			return strconv.FormatFloat(math.Round(v*1e6)/1e3, 'f', -1, 64) + "ms"
		}
		return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64) + "s"
	}
	return strconv.FormatFloat(math.Round(v*1e3)/1e3, 'f', -1, 64)
}
