package correlate

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/dns"
)

// DNSTransaction is a DNS query and its response, or either alone.
type DNSTransaction struct {
	Status PairStatus `json:"status"`
	// Query and QueryEnv are the first copy of the query; nil and zero for an orphan response.
	Query    *dns.Message    `json:"query,omitempty"`
	QueryEnv decode.Envelope `json:"query_envelope"`
	// Retransmissions are the envelopes of later copies of the query (same id, endpoints, question).
	Retransmissions []decode.Envelope `json:"retransmissions,omitempty"`
	// Response and ResponseEnv are nil and zero for an unanswered query.
	Response    *dns.Message    `json:"response,omitempty"`
	ResponseEnv decode.Envelope `json:"response_envelope"`
	// Latency runs from the first copy of the query to the response; 0 unless answered.
	Latency time.Duration `json:"latency"`
	// Evicted marks an unanswered query dropped because PairOptions.MaxOpen queries were waiting.
	Evicted bool `json:"evicted,omitempty"`
}

// Message returns the query, or the response of an orphan.
func (t *DNSTransaction) Message() *dns.Message {
	if t.Query != nil {
		return t.Query
	}
	return t.Response
}

// dnsKey identifies a query: its id, its endpoints (a response travels back from the query's
// destination) and its question, which guards against id reuse by a busy resolver.
type dnsKey struct {
	id             uint16
	client, server netip.AddrPort
	qtype          uint16
	qname          string // lower case: responses may echo the question in another case (0x20 encoding)
}

func newDNSKey(m *dns.Message, client, server netip.AddrPort) dnsKey {
	k := dnsKey{id: m.ID, client: client, server: server}
	if len(m.Questions) > 0 {
		k.qtype = m.Questions[0].QType
		k.qname = lowerASCII(m.Questions[0].Name)
	}
	return k
}

// lowerASCII lower-cases a DNS name, allocating only when it has upper-case letters.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// DNSPairer pairs DNS queries and responses as they stream past in capture order, and keeps
// statistics. Feed it every message once (not the capture duplicates the decoder marks).
type DNSPairer struct {
	// Select, when set, keeps only the transactions it accepts, in the output and in the statistics
	// (a display filter: a transaction is kept when its request or its answer matches).
	Select  func(t *DNSTransaction) bool
	pending *pendingTable[dnsKey, *DNSTransaction]
	out     []DNSTransaction
	stats   dnsStats
}

// NewDNSPairer returns a pairer; zero options give the defaults.
func NewDNSPairer(opts PairOptions) *DNSPairer {
	return &DNSPairer{
		pending: newPendingTable[dnsKey, *DNSTransaction](opts.withDefaults(30 * time.Second)),
		stats:   dnsStats{byType: map[uint16]*dnsTypeAcc{}, byRcode: map[int]*dnsRcodeAcc{}},
	}
}

// Add takes the next message and returns the transactions it completed: its own (an answered pair or
// an orphan response) and queries that timed out or were evicted before it, oldest first. Most calls
// return nil.
func (p *DNSPairer) Add(env decode.Envelope, m *dns.Message) []DNSTransaction {
	p.out = nil
	p.pending.expire(env.Time, p.unanswered)
	if !m.Response {
		k := newDNSKey(m, env.Src, env.Dst)
		if e := p.pending.get(k); e != nil {
			e.val.Retransmissions = append(e.val.Retransmissions, env)
		} else {
			p.pending.add(k, env.Time, &DNSTransaction{Query: m, QueryEnv: env}, p.unanswered)
		}
		return p.out
	}
	k := newDNSKey(m, env.Dst, env.Src)
	e := p.pending.get(k)
	if e == nil && len(m.Questions) == 0 {
		e = p.questionless(k)
	}
	if e == nil {
		p.emit(DNSTransaction{Status: PairOrphan, Response: m, ResponseEnv: env})
		return p.out
	}
	p.pending.remove(e)
	t := e.val
	t.Status, t.Response, t.ResponseEnv = PairAnswered, m, env
	t.Latency = max(env.Time.Sub(t.QueryEnv.Time), 0)
	p.emit(*t)
	return p.out
}

// questionless finds the query a response without question section answers (servers send bare headers
// with FORMERR or REFUSED): the oldest waiting query with the same id and endpoints.
func (p *DNSPairer) questionless(k dnsKey) *pendingEntry[dnsKey, *DNSTransaction] {
	var found *pendingEntry[dnsKey, *DNSTransaction]
	for pk, e := range p.pending.byKey {
		if pk.id == k.id && pk.client == k.client && pk.server == k.server && (found == nil || e.since.Before(found.since)) {
			found = e
		}
	}
	return found
}

// Flush reports every query still waiting as unanswered; call it at the end of the capture.
func (p *DNSPairer) Flush() []DNSTransaction {
	p.out = nil
	p.pending.drain(func(t *DNSTransaction) { p.unanswered(t, false) })
	return p.out
}

// Open returns the number of queries waiting for a response.
func (p *DNSPairer) Open() int { return p.pending.open }

func (p *DNSPairer) unanswered(t *DNSTransaction, evicted bool) {
	t.Status, t.Evicted = PairUnanswered, evicted
	p.emit(*t)
}

func (p *DNSPairer) emit(t DNSTransaction) {
	if p.Select != nil && !p.Select(&t) {
		return
	}
	p.stats.add(&t)
	p.out = append(p.out, t)
}

// DNSStats counts transactions and summarises latencies per query type and per response code.
type DNSStats struct {
	Answered        int `json:"answered"`
	Unanswered      int `json:"unanswered"`
	Orphans         int `json:"orphans"`
	Retransmissions int `json:"retransmissions"`
	Evicted         int `json:"evicted"`
	// ByType is ordered by query type number.
	ByType []DNSTypeStats `json:"by_type"`
	// ByRcode covers answered transactions, ordered by response code.
	ByRcode []DNSRcodeStats `json:"by_rcode"`
}

// DNSTypeStats are the statistics of one query type.
type DNSTypeStats struct {
	QType           uint16  `json:"qtype"`
	Type            string  `json:"type"` // "SRV"
	Answered        int     `json:"answered"`
	Unanswered      int     `json:"unanswered"`
	Orphans         int     `json:"orphans"`
	Retransmissions int     `json:"retransmissions"`
	Latency         Latency `json:"latency"`
}

// DNSRcodeStats are the statistics of one response code.
type DNSRcodeStats struct {
	Rcode   int     `json:"rcode"`
	Name    string  `json:"name"`    // "NXDOMAIN"
	Latency Latency `json:"latency"` // Latency.Count is the number of responses
}

type dnsTypeAcc struct {
	DNSTypeStats
	lat latencies
}

type dnsRcodeAcc struct {
	name string
	lat  latencies
}

type dnsStats struct {
	totals  DNSStats
	byType  map[uint16]*dnsTypeAcc
	byRcode map[int]*dnsRcodeAcc
}

func (s *dnsStats) add(t *DNSTransaction) {
	m := t.Message()
	var qtype uint16
	typ := ""
	if len(m.Questions) > 0 {
		qtype, typ = m.Questions[0].QType, m.Questions[0].Type
	}
	c := s.byType[qtype]
	if c == nil {
		c = &dnsTypeAcc{DNSTypeStats: DNSTypeStats{QType: qtype, Type: typ}}
		s.byType[qtype] = c
	}
	n := len(t.Retransmissions)
	c.Retransmissions += n
	s.totals.Retransmissions += n
	switch t.Status {
	case PairAnswered:
		c.Answered++
		s.totals.Answered++
		c.lat.add(t.Latency)
		r := s.byRcode[t.Response.Rcode]
		if r == nil {
			r = &dnsRcodeAcc{name: t.Response.RcodeName}
			s.byRcode[t.Response.Rcode] = r
		}
		r.lat.add(t.Latency)
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
func (p *DNSPairer) Stats() DNSStats {
	s := p.stats.totals
	s.ByType = make([]DNSTypeStats, 0, len(p.stats.byType))
	for _, c := range p.stats.byType {
		ts := c.DNSTypeStats
		ts.Latency = c.lat.summary()
		s.ByType = append(s.ByType, ts)
	}
	slices.SortFunc(s.ByType, func(a, b DNSTypeStats) int { return cmp.Compare(a.QType, b.QType) })
	s.ByRcode = make([]DNSRcodeStats, 0, len(p.stats.byRcode))
	for rc, r := range p.stats.byRcode {
		s.ByRcode = append(s.ByRcode, DNSRcodeStats{Rcode: rc, Name: r.name, Latency: r.lat.summary()})
	}
	slices.SortFunc(s.ByRcode, func(a, b DNSRcodeStats) int { return cmp.Compare(a.Rcode, b.Rcode) })
	return s
}
