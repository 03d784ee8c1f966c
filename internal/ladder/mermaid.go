package ladder

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// WriteMermaid writes the diagram as a mermaid sequenceDiagram: one participant per host (its
// role and address), one message per arrow labelled with the leg, the label, the CSeq and the
// time offset; retransmissions dashed; notes over the leg's lanes. Text from the wire is escaped
// with mermaid's entity codes, so a header cannot end a statement or start a comment.
func (d *Diagram) WriteMermaid(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("sequenceDiagram\n")
	if d.Title != "" {
		bw.WriteString("    title ")
		bw.WriteString(mermaidText(cleanString(d.Title, 200)))
		bw.WriteByte('\n')
	}
	for i, h := range d.Hosts {
		bw.WriteString("    participant ")
		bw.WriteString(participant(i))
		bw.WriteString(" as ")
		if h.Role != "" {
			bw.WriteString(mermaidText(h.Role))
			bw.WriteString("<br/>")
		}
		bw.WriteString(mermaidText(h.Addr.String()))
		bw.WriteByte('\n')
	}
	for i, l := range d.Legs {
		bw.WriteString("    %% leg ")
		bw.WriteString(LegName(i))
		bw.WriteString(": ")
		// A comment runs to the end of the line: only line breaks need removing.
		bw.WriteString(strings.Join(strings.Fields(cleanString(l.CallID, 80)+" "+d.legRole(i)+" "+legNumbers(l)+" "+legOutcome(l)), " "))
		bw.WriteByte('\n')
	}
	for _, r := range d.Rows {
		if a := r.Arrow; a != nil {
			arrow := "->>"
			if a.Retransmission {
				arrow = "-->>"
			}
			bw.WriteString("    ")
			bw.WriteString(participant(a.From))
			bw.WriteString(arrow)
			bw.WriteString(participant(a.To))
			bw.WriteString(": ")
			text := "[" + LegName(a.Leg) + "] " + a.Label
			if a.CSeq != "" {
				text += " (" + a.CSeq + ")"
			}
			text += " " + offset(a.Offset)
			if a.Retransmission {
				text += " retransmission"
			}
			bw.WriteString(mermaidText(text))
			bw.WriteByte('\n')
			continue
		}
		lo, hi := d.LegColumns(r.NoteLeg)
		if lo < 0 {
			lo, hi = 0, len(d.Hosts)-1
		}
		if lo < 0 {
			continue // a note with no host to stand over
		}
		bw.WriteString("    Note over ")
		bw.WriteString(participant(lo))
		if hi != lo {
			bw.WriteString(",")
			bw.WriteString(participant(hi))
		}
		bw.WriteString(": ")
		bw.WriteString(mermaidText("[" + LegName(r.NoteLeg) + "] " + cleanString(r.Note.Text, 80) + " " + offset(r.Offset)))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

func participant(i int) string { return "H" + strconv.Itoa(i+1) }

// mermaidEscapes replaces what mermaid reads as syntax inside a text: ';' ends a statement, '#'
// starts an entity code, '<' and '>' would be HTML, '%' starts a comment at a line's start and
// '"' and '\' confuse some renderers.
var mermaidEscapes = strings.NewReplacer(
	"#", "#35;", ";", "#59;", "<", "#lt;", ">", "#gt;", "%", "#37;", `"`, "#quot;", `\`, "#92;",
	"\n", " ", "\r", " ",
)

func mermaidText(s string) string { return mermaidEscapes.Replace(s) }
