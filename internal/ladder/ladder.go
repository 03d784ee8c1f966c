// Package ladder lays out a ladder (sequence) diagram of the SIP messages of a call, with hosts as
// columns and messages as arrows, and renders it as text for a terminal, as a self-contained HTML
// page with an SVG ladder, or as a mermaid sequence diagram.
package ladder

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sigtrace/sigtrace/decode/sip"
)

// Input is what a diagram is made of. Messages must be in capture-time order.
type Input struct {
	// Title heads the diagram (for example the call's Call-ID, numbers and outcome).
	Title    string
	Legs     []Leg
	Messages []Message
	Notes    []Note
}

// Leg is one SIP dialog of the call. The first leg is the root.
type Leg struct {
	CallID string
	// Role is "class4" for the root leg as it entered, "class5" for a leg a B2BUA opened; it
	// names the hosts the leg's INVITE crossed (see Host.Role).
	Role         string
	ParentCallID string
	Link         string // the header (or "heuristic") that tied the leg to its parent
	// Hops are the (source, destination) pairs the leg's INVITE took, in order of first sight.
	Hops        []Hop
	From, To    string // user parts of From and To
	Outcome     string
	FinalStatus int
}

// Hop is one network path of a leg's INVITE.
type Hop struct{ Src, Dst netip.AddrPort }

// Message is one SIP message as captured. Raw is owned by the Message.
type Message struct {
	Time      time.Time
	Src, Dst  netip.AddrPort
	Transport string // "udp", "tcp"...
	Frame     int
	Input     string
	Raw       []byte
}

// Note is something that happened at a moment of the call (a hold, a digit, a transfer), drawn
// across the lanes of its leg, right after the message that caused it (by Frame and Input) or,
// when that message is not drawn, by time.
type Note struct {
	Time  time.Time
	Leg   string // the Call-ID of the leg it happened on
	Text  string
	Frame int
	Input string
}

// Host is one column: a network address, named by its role in the call when the legs' hops tell.
type Host struct {
	Addr netip.AddrPort
	// Role is carrier, class-4, class-5, phone, proxy, caller or callee, or empty when unknown.
	Role string
}

// Arrow is one message on one hop.
type Arrow struct {
	Message *Message
	From    int // column of the sender
	To      int // column of the receiver
	// Leg is the index in Diagram.Legs of the message's dialog, -1 when its Call-ID is none of them.
	Leg int
	// Label is the method or the status and reason, "(SDP)" added when the message carries a
	// session description, "re-INVITE" for an INVITE inside a dialog.
	Label   string
	Request bool
	Status  int    // responses
	CSeq    string // "1 INVITE"
	SDP     string // summary of the session description: media, address:port, direction, codecs
	// SDPBrief is the first media's address:port and direction ("192.0.2.1:4000 sendonly"), with
	// the media type when it is not audio and "+N" for further media: what fits under an arrow.
	SDPBrief string
	// Retransmission marks a repeat of an earlier message on the same hop.
	Retransmission bool
	Offset         time.Duration // since the diagram's first message
}

// Row is one line of the diagram: an arrow, or a note when Arrow is nil.
type Row struct {
	Arrow *Arrow
	Note  *Note
	// NoteLeg is the index in Diagram.Legs of a note's leg, -1 when unknown.
	NoteLeg int
	Offset  time.Duration
}

// Diagram is a laid-out ladder.
type Diagram struct {
	Title string
	Start time.Time // time of the first message
	Hosts []Host
	Legs  []Leg
	Rows  []Row
	// Inputs are the distinct input names of the messages, in order of first sight.
	Inputs []string
	arrows int
}

// Arrows returns the number of arrows (messages) in the diagram.
func (d *Diagram) Arrows() int { return d.arrows }

// LegName is the short name of the i-th leg in every rendering: A for the root, then B, C...
// Z, AA, AB...
func LegName(i int) string {
	if i < 0 {
		return "?"
	}
	var b []byte
	for {
		b = append([]byte{byte('A' + i%26)}, b...)
		i = i/26 - 1
		if i < 0 {
			return string(b)
		}
	}
}

// New lays out a diagram. Messages that do not parse as SIP are still drawn, labelled with the
// start of their first line.
func New(in Input) *Diagram {
	d := &Diagram{Title: in.Title, Legs: in.Legs}
	legIndex := make(map[string]int, len(in.Legs))
	for i, l := range in.Legs {
		if _, dup := legIndex[l.CallID]; !dup {
			legIndex[l.CallID] = i
		}
	}
	hostIndex := make(map[netip.AddrPort]int)
	column := func(a netip.AddrPort) int {
		if i, ok := hostIndex[a]; ok {
			return i
		}
		hostIndex[a] = len(d.Hosts)
		d.Hosts = append(d.Hosts, Host{Addr: a})
		return len(d.Hosts) - 1
	}
	if len(in.Messages) > 0 {
		d.Start = in.Messages[0].Time
	}

	var msg sip.Message
	var sdp sip.SDP
	seen := make(map[string]bool)
	arrows := make([]*Arrow, 0, len(in.Messages))
	for i := range in.Messages {
		m := &in.Messages[i]
		a := &Arrow{Message: m, From: column(m.Src), To: column(m.Dst), Leg: -1, Offset: m.Time.Sub(d.Start)}
		if !slices.Contains(d.Inputs, m.Input) {
			d.Inputs = append(d.Inputs, m.Input)
		}
		if err := sip.Parse(m.Raw, &msg); err != nil {
			a.Label = firstLine(m.Raw, 24)
		} else {
			describe(a, &msg, &sdp)
			if l, ok := legIndex[string(msg.CallID)]; ok {
				a.Leg = l
			}
			key := retransmissionKey(m, &msg)
			a.Retransmission = seen[key]
			seen[key] = true
		}
		arrows = append(arrows, a)
	}
	d.arrows = len(arrows)
	nameHosts(d, hostIndex)

	// A note follows the message that caused it; the others go by time, after the arrows of
	// their moment.
	type frameRef struct {
		input string
		frame int
	}
	byFrame := make(map[frameRef][]*Note)
	arrowAt := make(map[frameRef]bool, len(arrows))
	for _, a := range arrows {
		arrowAt[frameRef{a.Message.Input, a.Message.Frame}] = true
	}
	var timed []*Note
	for i := range in.Notes {
		n := &in.Notes[i]
		if k := (frameRef{n.Input, n.Frame}); n.Frame > 0 && arrowAt[k] {
			byFrame[k] = append(byFrame[k], n)
		} else {
			timed = append(timed, n)
		}
	}
	slices.SortStableFunc(timed, func(a, b *Note) int { return a.Time.Compare(b.Time) })
	d.Rows = make([]Row, 0, len(arrows)+len(in.Notes))
	t := 0
	for _, a := range arrows {
		for t < len(timed) && timed[t].Time.Before(a.Message.Time) {
			d.Rows = append(d.Rows, d.noteRow(timed[t], legIndex))
			t++
		}
		d.Rows = append(d.Rows, Row{Arrow: a, Offset: a.Offset})
		k := frameRef{a.Message.Input, a.Message.Frame}
		for _, n := range byFrame[k] {
			d.Rows = append(d.Rows, d.noteRow(n, legIndex))
		}
		delete(byFrame, k) // a message drawn twice (two hops in one frame) carries its notes once
	}
	for ; t < len(timed); t++ {
		d.Rows = append(d.Rows, d.noteRow(timed[t], legIndex))
	}
	return d
}

func (d *Diagram) noteRow(n *Note, legIndex map[string]int) Row {
	l, ok := legIndex[n.Leg]
	if !ok {
		l = -1
	}
	var off time.Duration
	if !d.Start.IsZero() {
		off = n.Time.Sub(d.Start)
	}
	return Row{Note: n, NoteLeg: l, Offset: off}
}

// LegColumns returns the lowest and highest column that leg l's arrows touch (-1, -1 when none).
func (d *Diagram) LegColumns(l int) (lo, hi int) {
	lo, hi = -1, -1
	for _, r := range d.Rows {
		if a := r.Arrow; a != nil && a.Leg == l {
			for _, c := range [2]int{a.From, a.To} {
				if lo < 0 || c < lo {
					lo = c
				}
				if c > hi {
					hi = c
				}
			}
		}
	}
	return lo, hi
}

// describe fills an arrow's label, CSeq and SDP summary from its parsed message.
func describe(a *Arrow, m *sip.Message, sdp *sip.SDP) {
	a.Request = m.IsRequest
	if m.IsRequest {
		a.Label = clean(m.Method, 20)
		if string(m.Method) == "INVITE" && len(m.ToTag()) > 0 {
			a.Label = "re-INVITE"
		}
	} else {
		a.Status = m.StatusCode
		a.Label = strconv.Itoa(m.StatusCode)
		if r := clean(m.Reason, 32); r != "" {
			a.Label += " " + r
		}
	}
	if m.CSeqMethod != nil {
		a.CSeq = strconv.FormatUint(uint64(m.CSeq), 10) + " " + clean(m.CSeqMethod, 20)
	}
	if body := m.SDPBody(); len(body) > 0 {
		a.Label += " (SDP)"
		if sip.ParseSDP(body, sdp) == nil {
			a.SDP = summarizeSDP(sdp)
			a.SDPBrief = briefSDP(sdp)
		}
	}
}

// summarizeSDP tells, per m= line, what an engineer checks first: the media, where it should be
// sent, the direction and the codecs ("audio 192.0.2.1:4000 sendonly PCMU,telephone-event").
func summarizeSDP(s *sip.SDP) string {
	var parts []string
	for i := range s.Media {
		md := &s.Media[i]
		var b strings.Builder
		b.WriteString(clean(md.Type, 12))
		b.WriteByte(' ')
		b.WriteString(mediaAddr(s, i))
		b.WriteByte(' ')
		b.WriteString(s.Direction(i).String())
		var codecs []string
		md.Payloads(func(pt int) bool {
			if name, _, ok := md.Encoding(pt); ok {
				codecs = append(codecs, clean(name, 20))
			} else {
				codecs = append(codecs, strconv.Itoa(pt))
			}
			return len(codecs) < 4
		})
		if len(codecs) > 0 {
			b.WriteByte(' ')
			b.WriteString(strings.Join(codecs, ","))
		}
		parts = append(parts, b.String())
		if len(parts) == 3 {
			break
		}
	}
	return strings.Join(parts, "; ")
}

func briefSDP(s *sip.SDP) string {
	if len(s.Media) == 0 {
		return ""
	}
	md := &s.Media[0]
	b := mediaAddr(s, 0) + " " + s.Direction(0).String()
	if string(md.Type) != "audio" {
		b = clean(md.Type, 12) + " " + b
	}
	if len(s.Media) > 1 {
		b += " +" + strconv.Itoa(len(s.Media)-1)
	}
	return b
}

// mediaAddr is media i's address:port, IPv6 addresses in brackets.
func mediaAddr(s *sip.SDP, i int) string {
	addr := clean(s.Connection(i).Address, 46)
	if strings.Contains(addr, ":") {
		addr = "[" + addr + "]"
	}
	return addr + ":" + strconv.Itoa(s.Media[i].Port)
}

// retransmissionKey identifies a message on a hop: a retransmission repeats the hop, the start
// line, the CSeq, the top Via branch and (for responses) the To tag.
func retransmissionKey(m *Message, s *sip.Message) string {
	var b []byte
	b = m.Src.AppendTo(b)
	b = append(b, '>')
	b = m.Dst.AppendTo(b)
	b = append(b, ' ')
	if s.IsRequest {
		b = append(b, s.Method...)
	} else {
		b = strconv.AppendInt(b, int64(s.StatusCode), 10)
	}
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(s.CSeq), 10)
	b = append(b, s.CSeqMethod...)
	b = append(b, ' ')
	b = append(b, s.Branch()...)
	b = append(b, ' ')
	b = append(b, s.ToTag()...)
	b = append(b, ' ')
	b = append(b, s.CallID...)
	return string(b)
}

// nameHosts gives columns the roles the legs' INVITE hops show: the root leg runs from the
// carrier through class-4 proxies to the class-5 node when other legs hang off it (else to the
// callee); every other leg runs from a class-5 node through proxies to a phone. The first name a
// host gets is kept.
func nameHosts(d *Diagram, index map[netip.AddrPort]int) {
	set := func(a netip.AddrPort, role string) {
		if i, ok := index[a]; ok && d.Hosts[i].Role == "" {
			d.Hosts[i].Role = role
		}
	}
	for li, l := range d.Legs {
		if len(l.Hops) == 0 {
			continue
		}
		first, last := l.Hops[0].Src, l.Hops[len(l.Hops)-1].Dst
		root := li == 0 || l.Role == "class4"
		switch {
		case root && len(l.Hops) > 1:
			set(first, "carrier")
		case root:
			set(first, "caller")
		default:
			set(first, "class-5")
		}
		for _, h := range l.Hops[1:] {
			if root {
				set(h.Src, "class-4")
			} else {
				set(h.Src, "proxy")
			}
		}
		switch {
		case root && len(d.Legs) > 1:
			set(last, "class-5")
		case root:
			set(last, "callee")
		default:
			set(last, "phone")
		}
	}
}

// clean makes bytes from the wire safe to show in one line: valid UTF-8, no control characters,
// at most max runes (longer text ends with "...").
func clean(b []byte, max int) string {
	var sb strings.Builder
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = '?'
		}
		if n == max {
			return strings.TrimRight(sb.String()[:cut(sb.String(), max-3)], " ") + "..."
		}
		sb.WriteRune(r)
		n++
	}
	return sb.String()
}

// cut returns the byte offset of the n-th rune of s.
func cut(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// firstLine is the start of b's first line, cleaned, for a message that does not parse.
func firstLine(b []byte, max int) string {
	b = bytes.TrimLeft(b, "\r\n")
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return "(empty)"
	}
	return clean(b, max)
}
