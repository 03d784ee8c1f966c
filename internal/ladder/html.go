package ladder

import (
	_ "embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sigtrace/sigtrace/internal/render"
)

//go:embed page.html
var pageSource string

var page = template.Must(template.New("page").Parse(pageSource))

// LegColors are the colours of legs A, B, C... in the HTML ladder (then repeated): distinct for
// most colour-blind readers and readable on white.
var LegColors = []string{"#1c6dd0", "#d9480f", "#2b8a3e", "#9c36b5", "#e8590c", "#0c8599", "#5f3dc4", "#c2255c"}

const unknownLegColor = "#868e96"

// SVG geometry, in pixels.
const (
	svgLeft      = 88  // time, frame and leg badge left of the first lane's box
	svgMinGap    = 150 // lane spacing
	svgMaxGap    = 280
	svgMaxLabel  = 16  // label characters lanes are widened for
	svgCharWidth = 6.9 // average width of the label font, to size lanes
	svgHeadH     = 58  // height of the sticky header with the host boxes
	svgRowH      = 36
	svgSDPRowH   = 48 // a row with an SDP summary under its arrow
	svgNoteH     = 32
)

// WriteHTML writes the diagram as one self-contained HTML page: inline CSS, inline SVG and inline
// JavaScript, nothing fetched. Hosts are columns, arrows are coloured by leg (with a legend) and
// labelled with the method or status, the time offset and the frame; clicking an arrow (or
// opening the page at #msg-N) shows that message's full text in a side panel. Every text from
// the wire is escaped: in the SVG as HTML text, in the data block as JSON that the script puts
// into the page with textContent only.
func (d *Diagram) WriteHTML(w io.Writer) error {
	v := d.htmlView()
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("ladder: html: %w", err)
	}
	return nil
}

type legView struct {
	Name, Color, CallID, Role, Numbers, Outcome string
	Messages                                    int
}

type msgView struct {
	Time    string `json:"time"`
	Offset  string `json:"offset"`
	Src     string `json:"src"`
	Dst     string `json:"dst"`
	Trans   string `json:"transport"`
	Frame   int    `json:"frame"`
	Input   string `json:"input"`
	Leg     string `json:"leg"`
	Color   string `json:"color"`
	Label   string `json:"label"`
	CSeq    string `json:"cseq"`
	SDP     string `json:"sdp"`
	Retrans bool   `json:"retransmission"`
	Raw     string `json:"raw"`
}

type pageView struct {
	Title, Subtitle  string
	Inputs           string
	Legs             []legView
	Width            int
	HeadSVG, BodySVG template.HTML
	Messages         []msgView
	Arrows           int
	EmptyHint        bool
}

func legColor(i int) string {
	if i < 0 {
		return unknownLegColor
	}
	return LegColors[i%len(LegColors)]
}

func (d *Diagram) htmlView() *pageView {
	v := &pageView{Title: cleanString(d.Title, 300), Arrows: d.arrows, EmptyHint: len(d.Hosts) == 0}
	if !d.Start.IsZero() {
		v.Subtitle = "start " + string(render.AppendTime(nil, d.Start)) + " · " + strconv.Itoa(d.arrows) + " messages"
	}
	v.Inputs = cleanString(strings.Join(d.Inputs, ", "), 300)
	counts := make([]int, len(d.Legs))
	for _, r := range d.Rows {
		if a := r.Arrow; a != nil && a.Leg >= 0 {
			counts[a.Leg]++
		}
	}
	for i, l := range d.Legs {
		v.Legs = append(v.Legs, legView{Name: LegName(i), Color: legColor(i), CallID: cleanString(l.CallID, 120),
			Role: d.legRole(i), Numbers: legNumbers(l), Outcome: legOutcome(l), Messages: counts[i]})
	}
	for _, r := range d.Rows {
		a := r.Arrow
		if a == nil {
			continue
		}
		m := a.Message
		v.Messages = append(v.Messages, msgView{
			Time: string(render.AppendTime(nil, m.Time)), Offset: offset(a.Offset),
			Src: m.Src.String(), Dst: m.Dst.String(), Trans: cleanString(m.Transport, 10),
			Frame: m.Frame, Input: cleanString(m.Input, 300), Leg: LegName(a.Leg), Color: legColor(a.Leg),
			Label: a.Label, CSeq: a.CSeq, SDP: a.SDP, Retrans: a.Retransmission,
			// encoding/json replaces invalid UTF-8 with U+FFFD and escapes <, > and &.
			Raw: string(m.Raw),
		})
	}
	d.svg(v)
	return v
}

// svg draws the header (host boxes) and the body (lifelines, arrows, notes) as two SVGs of the
// same width, so that the header can stay in view while the body scrolls.
func (d *Diagram) svg(v *pageView) {
	gap := float64(svgMinGap)
	for _, r := range d.Rows {
		if a := r.Arrow; a != nil {
			span := float64(max(abs(a.To-a.From), 1))
			// A long reason phrase is cut (the tooltip and the panel have it) rather than widening
			// every lane.
			chars := min(utf8.RuneCountInString(a.Label), svgMaxLabel)
			gap = max(gap, min((float64(chars)*svgCharWidth+40)/span, svgMaxGap))
		}
	}
	lane := func(i int) float64 { return svgLeft + gap/2 + float64(i)*gap }
	width := int(lane(max(len(d.Hosts)-1, 0)) + gap/2 + 16)
	v.Width = width

	var h strings.Builder
	fmt.Fprintf(&h, `<svg xmlns="http://www.w3.org/2000/svg" id="ladder-head" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="hosts">`, width, svgHeadH, width, svgHeadH)
	boxW := min(gap-16, 200)
	for i, host := range d.Hosts {
		x := lane(i)
		fmt.Fprintf(&h, `<g class="host"><rect x="%.1f" y="6" width="%.1f" height="44" rx="7"/>`, x-boxW/2, boxW)
		role := host.Role
		if role == "" {
			role = "host"
		}
		fmt.Fprintf(&h, `<text class="role" x="%.1f" y="24">%s</text>`, x, esc(role))
		fmt.Fprintf(&h, `<text class="addr" x="%.1f" y="41">%s</text></g>`, x, esc(host.Addr.String()))
	}
	h.WriteString(`</svg>`)
	v.HeadSVG = template.HTML(h.String())

	// Row positions first: the lifelines run the whole height.
	ys := make([]float64, len(d.Rows))
	y := 14.0
	for i, r := range d.Rows {
		switch {
		case r.Note != nil:
			ys[i] = y + svgNoteH/2
			y += svgNoteH
		case r.Arrow.SDP != "":
			ys[i] = y + 24
			y += svgSDPRowH
		default:
			ys[i] = y + 24
			y += svgRowH
		}
	}
	height := int(y + 16)

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="ladder" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="ladder diagram">`, width, height, width, height)
	for i := range d.Hosts {
		fmt.Fprintf(&b, `<line class="life" x1="%.1f" y1="0" x2="%.1f" y2="%d"/>`, lane(i), lane(i), height)
	}
	idx := 0
	for i, r := range d.Rows {
		y := ys[i]
		if n := r.Note; n != nil {
			lo, hi := d.LegColumns(r.NoteLeg)
			if lo < 0 {
				lo, hi = 0, max(len(d.Hosts)-1, 0)
			}
			text := cleanString(n.Text, 90)
			tw := float64(utf8.RuneCountInString(text))*6.6 + 24
			cx := (lane(lo) + lane(hi)) / 2
			fmt.Fprintf(&b, `<g class="note"><rect x="%.1f" y="%.1f" width="%.1f" height="22" rx="11" style="stroke:%s"/>`, cx-tw/2, y-11, tw, legColor(r.NoteLeg))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`, cx, y+4, esc(text))
			fmt.Fprintf(&b, `<text class="t" x="10" y="%.1f">%s</text>`, y+4, offset(r.Offset))
			fmt.Fprintf(&b, `<circle cx="68" cy="%.1f" r="9" style="fill:%s"/><text class="badge" x="68" y="%.1f">%s</text></g>`, y, legColor(r.NoteLeg), y+4, LegName(r.NoteLeg))
			continue
		}
		a := r.Arrow
		color := legColor(a.Leg)
		x0, x1 := lane(a.From), lane(a.To)
		cls := "arrow"
		if a.Retransmission {
			cls += " retx"
		}
		if a.Request {
			cls += " req"
		} else {
			cls += " resp s" + strconv.Itoa(a.Status/100)
		}
		fmt.Fprintf(&b, `<g class="%s" data-i="%d" id="msg-%d" tabindex="0">`, cls, idx, idx)
		title := a.Label + " · " + offset(a.Offset) + " · frame " + strconv.Itoa(a.Message.Frame)
		if a.CSeq != "" {
			title += " · CSeq " + a.CSeq
		}
		if a.SDP != "" {
			title += " · SDP " + a.SDP
		}
		fmt.Fprintf(&b, `<title>%s</title>`, esc(title))
		top, bottom := y-23, y+9
		if a.SDP != "" {
			bottom = y + 21
		}
		fmt.Fprintf(&b, `<rect class="hl" x="0" y="%.1f" width="%d" height="%.1f"/>`, top, width, bottom-top)
		fmt.Fprintf(&b, `<text class="t" x="10" y="%.1f">%s</text>`, y-3, offset(a.Offset))
		fmt.Fprintf(&b, `<text class="f" x="10" y="%.1f">%s</text>`, y+10, esc(frameRef(a.Message, false)))
		fmt.Fprintf(&b, `<circle cx="68" cy="%.1f" r="9" style="fill:%s"/><text class="badge" x="68" y="%.1f">%s</text>`, y-1, color, y+3, LegName(a.Leg))
		if x0 == x1 {
			// Sent to its own address: a small loop right of the lane.
			fmt.Fprintf(&b, `<path class="line" d="M%.1f %.1f h28 v10 h-24" style="stroke:%s"/>`, x0, y-5, color)
			fmt.Fprintf(&b, `<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" style="fill:%s"/>`, x0, y+5, x0+9, y+1, x0+9, y+9, color)
			fmt.Fprintf(&b, `<text class="label" x="%.1f" y="%.1f" text-anchor="start">%s</text>`, x0+34, y-2, esc(a.Label))
		} else {
			dir := 1.0
			if x1 < x0 {
				dir = -1
			}
			fmt.Fprintf(&b, `<line class="line" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" style="stroke:%s"/>`, x0, y, x1-dir*9, y, color)
			fmt.Fprintf(&b, `<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" style="fill:%s"/>`, x1, y, x1-dir*10, y-4.5, x1-dir*10, y+4.5, color)
			mid := (x0 + x1) / 2
			maxChars := int((max(x0, x1)-min(x0, x1))/6.4) - 1
			fmt.Fprintf(&b, `<text class="label" x="%.1f" y="%.1f">%s</text>`, mid, y-6, esc(cleanString(a.Label, max(maxChars, 6))))
			if a.SDPBrief != "" {
				fmt.Fprintf(&b, `<text class="sdp" x="%.1f" y="%.1f">%s</text>`, mid, y+14, esc(a.SDPBrief))
			}
		}
		lo, hi := min(x0, x1), max(x0, x1)
		if x0 == x1 {
			hi = x0 + 120
		}
		fmt.Fprintf(&b, `<rect class="hit" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></g>`, lo-8, top, hi-lo+16, bottom-top)
		idx++
	}
	b.WriteString(`</svg>`)
	v.BodySVG = template.HTML(b.String())
}

// esc escapes text for HTML and SVG text content and attribute values.
func esc(s string) string { return html.EscapeString(s) }
