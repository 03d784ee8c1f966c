package check

import (
	"github.com/sigtrace/sigtrace/correlate"
)

// valueDef is a numeric value a statistic rule can bound. A value may be absent for an item (the
// PDD of a call that never rang); absent values are left out of the sample.
type valueDef struct {
	name    string
	over    Over
	seconds bool // a time: bounds accept durations, reports show units
	doc     string
	call    func(*correlate.Call) (float64, bool)
	dia     func(*correlate.DiameterTransaction) (float64, bool)
	dns     func(*correlate.DNSTransaction) (float64, bool)
}

var valueDefs = []*valueDef{
	{name: "call.pdd", over: OverCalls, seconds: true, doc: "post-dial delay: INVITE to first 18x, else to the final response (calls that had one)",
		call: func(c *correlate.Call) (float64, bool) { v := c.PDDSeconds(); return v, v > 0 }},
	{name: "call.duration", over: OverCalls, seconds: true, doc: "talk time, answer to end (answered calls that ended)",
		call: func(c *correlate.Call) (float64, bool) {
			return c.BillableSeconds(), !c.AnswerTime.IsZero() && !c.EndTime.IsZero()
		}},
	{name: "call.billable", over: OverCalls, seconds: true, doc: "the same as call.duration",
		call: func(c *correlate.Call) (float64, bool) {
			return c.BillableSeconds(), !c.AnswerTime.IsZero() && !c.EndTime.IsZero()
		}},
	{name: "call.total_duration", over: OverCalls, seconds: true, doc: "INVITE to end (calls that ended)",
		call: func(c *correlate.Call) (float64, bool) {
			return c.DurationSeconds(), !c.InviteTime.IsZero() && !c.EndTime.IsZero()
		}},
	{name: "call.legs", over: OverCalls, doc: "legs (SIP dialogs) of the call",
		call: func(c *correlate.Call) (float64, bool) { return float64(len(c.Legs)), true }},
	{name: "call.retransmissions", over: OverCalls, doc: "SIP retransmissions on all legs and hops of the call",
		call: func(c *correlate.Call) (float64, bool) {
			n := 0
			for i := range c.Legs {
				n += c.Legs[i].Retransmissions
			}
			return float64(n), true
		}},
	{name: "diameter.latency", over: OverDiameter, seconds: true, doc: "request to answer (answered pairs)",
		dia: func(t *correlate.DiameterTransaction) (float64, bool) {
			return t.Latency.Seconds(), t.Status == correlate.PairAnswered
		}},
	{name: "diameter.retransmissions", over: OverDiameter, doc: "copies of the request sent again",
		dia: func(t *correlate.DiameterTransaction) (float64, bool) { return float64(len(t.Retransmissions)), true }},
	{name: "dns.latency", over: OverDNS, seconds: true, doc: "query to response (answered pairs)",
		dns: func(t *correlate.DNSTransaction) (float64, bool) {
			return t.Latency.Seconds(), t.Status == correlate.PairAnswered
		}},
	{name: "dns.retransmissions", over: OverDNS, doc: "copies of the query sent again",
		dns: func(t *correlate.DNSTransaction) (float64, bool) { return float64(len(t.Retransmissions)), true }},
}

func lookupValue(name string) *valueDef {
	for _, d := range valueDefs {
		if d.name == name {
			return d
		}
	}
	return nil
}

func valueNames(o Over) []string {
	var out []string
	for _, d := range valueDefs {
		if d.over == o {
			out = append(out, d.name)
		}
	}
	if out == nil {
		out = []string{"none: statistics are over calls, diameter or dns"}
	}
	return out
}

// Value describes a value statistic rules can bound.
type Value struct {
	Name    string
	Over    Over
	Seconds bool
	Doc     string
}

// Values lists the values statistic rules can bound.
func Values() []Value {
	out := make([]Value, len(valueDefs))
	for i, d := range valueDefs {
		out[i] = Value{Name: d.name, Over: d.over, Seconds: d.seconds, Doc: d.doc}
	}
	return out
}
