package check

import (
	"strconv"
	"strings"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/diameter"
	"github.com/sigtrace/sigtrace/decode/dns"
)

// messageEvidence points at a message: its frame, its Call-ID (Session-Id, question name) and
// what it is.
func messageEvidence(m *decode.Message) Evidence {
	ev := Evidence{Input: m.Input, Frame: m.Frame, Detail: describeMessage(m)}
	switch m.Protocol {
	case decode.ProtoSIP:
		if m.SIP != nil {
			ev.ID = string(m.SIP.CallID)
		}
	case decode.ProtoDiameter:
		if m.Diameter != nil {
			ev.ID = m.Diameter.SessionID
		}
	case decode.ProtoDNS:
		ev.ID = qname(m.DNS)
	}
	return ev
}

// describeMessage says what a message is and where it went: "503 Service Unavailable
// 10.0.0.1:5060 -> 10.0.0.2:5060".
func describeMessage(m *decode.Message) string {
	var what string
	switch m.Protocol {
	case decode.ProtoSIP:
		if s := m.SIP; s != nil {
			if s.IsRequest {
				what = string(s.Method)
			} else {
				what = strconv.Itoa(s.StatusCode) + " " + string(s.Reason)
			}
		}
	case decode.ProtoDiameter:
		what = describeDiameter(m.Diameter)
	case decode.ProtoDNS:
		what = describeDNS(m.DNS)
	}
	return strings.TrimSpace(what + " " + m.Src.String() + " -> " + m.Dst.String())
}

func describeDiameter(d *diameter.Message) string {
	if d == nil {
		return "diameter"
	}
	s := d.Name()
	if r := d.Result(); !d.Flags.Request && r != 0 {
		s += " " + strconv.FormatUint(uint64(r), 10)
	}
	return s
}

func describeDNS(d *dns.Message) string {
	if d == nil {
		return "dns"
	}
	s := "query"
	if d.Response {
		s = d.RcodeName
	}
	if len(d.Questions) > 0 {
		s += " " + d.Questions[0].Type + " " + qname(d)
	}
	return s
}

func qname(d *dns.Message) string {
	if d == nil || len(d.Questions) == 0 {
		return ""
	}
	return strings.TrimSuffix(d.Questions[0].Name, ".")
}

// callEvidence points at a call: the message that matched when there is one, else the root leg's
// first message (its INVITE).
func callEvidence(c *correlate.Call, by *decode.Message, detail string) Evidence {
	ev := Evidence{ID: strings.Clone(c.CallID)} // a copy: the record's memory is reused once released
	if len(c.Legs) > 0 {
		ev.Input, ev.Frame = c.Legs[0].Input, c.Legs[0].Frame
	}
	outcome := string(c.Outcome)
	if c.FinalStatus != 0 && c.Outcome != correlate.Answered {
		outcome += " " + strconv.Itoa(c.FinalStatus)
	}
	parts := []string{outcome, plural(len(c.Legs), "leg", "legs")}
	if by != nil {
		ev.Input, ev.Frame = by.Input, by.Frame
		parts = append(parts, describeMessage(by))
	}
	if detail != "" {
		parts = append(parts, detail)
	}
	ev.Detail = strings.Join(parts, ", ")
	return ev
}

// diameterEvidence points at a Diameter pair: the message that matched, else the request (the
// answer of an orphan).
func diameterEvidence(t *correlate.DiameterTransaction, by *msgBits, detail string) Evidence {
	m := t.Message()
	ev := Evidence{Input: t.RequestEnv.Input, Frame: t.RequestEnv.Frame}
	if t.Request == nil {
		ev.Input, ev.Frame = t.AnswerEnv.Input, t.AnswerEnv.Frame
	}
	if by != nil {
		ev.Input, ev.Frame = by.input, by.frame
	}
	if m != nil {
		ev.ID = m.SessionID
	}
	var parts []string
	switch t.Status {
	case correlate.PairAnswered:
		parts = append(parts, describeDiameter(t.Request)+" -> "+describeDiameter(t.Answer)+" in "+lookupValue("diameter.latency").format(t.Latency.Seconds()))
	case correlate.PairUnanswered:
		parts = append(parts, describeDiameter(t.Request)+" unanswered")
	default:
		parts = append(parts, "orphan "+describeDiameter(t.Answer))
	}
	if len(t.Retransmissions) > 0 {
		parts = append(parts, plural(len(t.Retransmissions), "retransmission", "retransmissions"))
	}
	if detail != "" {
		parts = append(parts, detail)
	}
	ev.Detail = strings.Join(parts, ", ")
	return ev
}

// dnsEvidence points at a DNS pair: the message that matched, else the query (the response of an
// orphan).
func dnsEvidence(t *correlate.DNSTransaction, by *msgBits, detail string) Evidence {
	m := t.Message()
	ev := Evidence{Input: t.QueryEnv.Input, Frame: t.QueryEnv.Frame, ID: qname(m)}
	if t.Query == nil {
		ev.Input, ev.Frame = t.ResponseEnv.Input, t.ResponseEnv.Frame
	}
	if by != nil {
		ev.Input, ev.Frame = by.input, by.frame
	}
	var parts []string
	switch t.Status {
	case correlate.PairAnswered:
		parts = append(parts, describeDNS(t.Response)+" in "+lookupValue("dns.latency").format(t.Latency.Seconds()))
	case correlate.PairUnanswered:
		parts = append(parts, describeDNS(t.Query)+" unanswered")
	default:
		parts = append(parts, "orphan "+describeDNS(t.Response))
	}
	if len(t.Retransmissions) > 0 {
		parts = append(parts, plural(len(t.Retransmissions), "retransmission", "retransmissions"))
	}
	if detail != "" {
		parts = append(parts, detail)
	}
	ev.Detail = strings.Join(parts, ", ")
	return ev
}
