package ladder

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sigtrace/sigtrace/internal/render"
)

// Text layout, in characters.
const (
	minGap = 14 // lane spacing
	maxGap = 24 // beyond this a label is cut rather than the diagram widened
)

// WriteText writes the diagram for a terminal: a header (title, start, legs), the hosts as
// columns, then one line per message with its time offset, leg, arrow and label, and on the
// right the CSeq, frame and SDP summary. The drawing is plain ASCII, so it survives any terminal,
// mail or ticket system; text from the wire is kept to one line without control characters.
func (d *Diagram) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	d.writeTextHeader(bw)
	if len(d.Hosts) == 0 {
		bw.WriteString("(no messages)\n")
		return bw.Flush()
	}

	gap := minGap
	for _, h := range d.Hosts {
		gap = max(gap, len(h.Addr.String())+2, len(h.Role)+2)
	}
	for _, r := range d.Rows {
		if a := r.Arrow; a != nil && abs(a.To-a.From) == 1 {
			gap = max(gap, min(utf8.RuneCountInString(a.Label)+5, maxGap))
		}
	}
	timeWidth := 0
	for _, r := range d.Rows {
		timeWidth = max(timeWidth, len(offset(r.Offset)))
	}
	legWidth := 1
	for i := range d.Legs {
		legWidth = max(legWidth, len(LegName(i)))
	}
	// The first lane leaves room for the time, the leg and half the first host's names.
	left := timeWidth + 2 + legWidth + 2 + max(len(d.Hosts[0].Role), len(d.Hosts[0].Addr.String()))/2
	lane := func(i int) int { return left + i*gap }
	width := lane(len(d.Hosts)-1) + 1 // the lifelines; names and notes may reach further

	line := make([]rune, width)
	blank := func() {
		line = line[:width]
		for i := range line {
			line[i] = ' '
		}
	}
	put := func(x int, s string) {
		for _, r := range s {
			for x >= len(line) {
				line = append(line, ' ')
			}
			if x >= 0 {
				line[x] = r
			}
			x++
		}
	}
	centre := func(x int, s string) { put(x-utf8.RuneCountInString(s)/2, s) }
	flush := func(annotation string) {
		s := strings.TrimRight(string(line), " ")
		if annotation != "" {
			s += strings.Repeat(" ", max(width+2-utf8.RuneCountInString(s), 1)) + annotation
		}
		bw.WriteString(s)
		bw.WriteByte('\n')
	}
	lifelines := func() {
		blank()
		for i := range d.Hosts {
			line[lane(i)] = '|'
		}
	}

	blank()
	for i, h := range d.Hosts {
		centre(lane(i), h.Role)
	}
	flush("")
	blank()
	for i, h := range d.Hosts {
		centre(lane(i), h.Addr.String())
	}
	flush("")
	lifelines()
	flush("")

	multi := len(d.Inputs) > 1
	for _, r := range d.Rows {
		lifelines()
		put(0, pad(offset(r.Offset), timeWidth, true))
		if a := r.Arrow; a != nil {
			put(timeWidth+2, LegName(a.Leg))
			textArrow(line, lane(a.From), lane(a.To), a)
			flush(annotation(a, multi))
			continue
		}
		n := r.Note
		put(timeWidth+2, LegName(r.NoteLeg))
		lo, hi := d.LegColumns(r.NoteLeg)
		if lo < 0 {
			lo, hi = 0, len(d.Hosts)-1
		}
		text := "[ " + cleanString(n.Text, 100) + " ]"
		put(max((lane(lo)+lane(hi))/2-utf8.RuneCountInString(text)/2, lane(0)+2), text)
		flush("")
	}
	return bw.Flush()
}

// textArrow draws an arrow from lane x0 to lane x1 with its label inside, between the head and
// one fill character at the tail.
func textArrow(line []rune, x0, x1 int, a *Arrow) {
	fill := '-'
	if a.Retransmission {
		fill = '.'
	}
	if x0 == x1 {
		// A host talking to itself (the same address and port): rare, drawn as a loop mark.
		copy(line[x0+1:], []rune("<-' "+a.Label))
		return
	}
	lo, hi := min(x0, x1), max(x0, x1)
	for x := lo + 1; x < hi; x++ {
		line[x] = fill
	}
	if x1 > x0 {
		line[hi-1] = '>'
	} else {
		line[lo+1] = '<'
	}
	room := hi - lo - 3 // lo+2 .. hi-2
	text := []rune(a.Label)
	switch {
	case len(text)+2 <= room:
		text = append(append([]rune{' '}, text...), ' ')
	case len(text) > room && room >= 4:
		text = append(text[:room-3], '.', '.', '.')
	case len(text) > room:
		return
	}
	copy(line[lo+2+(room-len(text))/2:], text)
}

// annotation is the text right of an arrow: CSeq, frame, retransmission, SDP summary.
func annotation(a *Arrow, multiInput bool) string {
	var b strings.Builder
	b.WriteString(pad(a.CSeq, 14, false))
	b.WriteString(" ")
	b.WriteString(pad(frameRef(a.Message, multiInput), 7, false))
	if a.Retransmission {
		b.WriteString(" retransmission")
	}
	if a.SDP != "" {
		b.WriteString(" ")
		b.WriteString(a.SDP)
	}
	return strings.TrimRight(b.String(), " ")
}

func (d *Diagram) writeTextHeader(bw *bufio.Writer) {
	if d.Title != "" {
		bw.WriteString(cleanString(d.Title, 200))
		bw.WriteByte('\n')
	}
	if !d.Start.IsZero() {
		bw.WriteString("start ")
		bw.Write(render.AppendTime(nil, d.Start))
		bw.WriteString(", ")
		bw.WriteString(strconv.Itoa(d.arrows))
		bw.WriteString(" messages")
		if len(d.Inputs) > 0 {
			bw.WriteString(" from ")
			bw.WriteString(cleanString(strings.Join(d.Inputs, ", "), 200))
		}
		bw.WriteByte('\n')
	}
	if len(d.Legs) > 0 {
		bw.WriteByte('\n')
	}
	idWidth, roleWidth := 0, 0
	for i := range d.Legs {
		idWidth = max(idWidth, utf8.RuneCountInString(cleanString(d.Legs[i].CallID, 80)))
		roleWidth = max(roleWidth, len(d.legRole(i)))
	}
	for i, l := range d.Legs {
		bw.WriteString("  ")
		bw.WriteString(pad(LegName(i), 3, false))
		bw.WriteString(pad(cleanString(l.CallID, 80), idWidth, false))
		bw.WriteString("  ")
		bw.WriteString(pad(d.legRole(i), roleWidth, false))
		bw.WriteString("  ")
		bw.WriteString(strings.TrimSpace(legNumbers(l) + "  " + legOutcome(l)))
		bw.WriteByte('\n')
	}
	bw.WriteByte('\n')
}

// legRole describes where leg i sits: "class5 of A (X-ORIGINAL-CALLID)".
func (d *Diagram) legRole(i int) string {
	l := d.Legs[i]
	s := cleanString(l.Role, 20)
	if l.ParentCallID != "" {
		parent := cleanString(l.ParentCallID, 40)
		for j := range d.Legs {
			if d.Legs[j].CallID == l.ParentCallID {
				parent = LegName(j)
				break
			}
		}
		s += " of " + parent
		if l.Link != "" {
			s += " (" + cleanString(l.Link, 30) + ")"
		}
	}
	return strings.TrimSpace(s)
}

func legNumbers(l Leg) string {
	if l.From == "" && l.To == "" {
		return ""
	}
	return cleanString(l.From, 40) + " -> " + cleanString(l.To, 40)
}

func legOutcome(l Leg) string {
	s := cleanString(l.Outcome, 20)
	if l.FinalStatus != 0 {
		s += " " + strconv.Itoa(l.FinalStatus)
	}
	return strings.TrimSpace(s)
}

// offset formats a time offset as seconds with milliseconds: "+12.345".
func offset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	ms := d.Milliseconds()
	return sign + strconv.FormatInt(ms/1000, 10) + "." + pad3(ms%1000)
}

func pad3(v int64) string {
	s := strconv.FormatInt(v, 10)
	return strings.Repeat("0", 3-len(s)) + s
}

// frameRef locates a message: "#123", or "name#123" when the diagram reads several inputs.
func frameRef(m *Message, multiInput bool) string {
	s := "#" + strconv.Itoa(m.Frame)
	if multiInput {
		s = cleanString(baseName(m.Input), 40) + s
	}
	return s
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// pad pads s with spaces to width runes, on the left when right is set.
func pad(s string, width int, right bool) string {
	n := utf8.RuneCountInString(s)
	if n >= width {
		return s
	}
	if right {
		return strings.Repeat(" ", width-n) + s
	}
	return s + strings.Repeat(" ", width-n)
}

func cleanString(s string, max int) string { return clean([]byte(s), max) }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
