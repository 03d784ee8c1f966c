package ladder

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// FuzzRender draws a message from the wire, and its retransmission, in every format: nothing may
// panic, and whatever the bytes, they may not add lines to the text or mermaid output or
// elements to the HTML page.
func FuzzRender(f *testing.F) {
	root, err := corpus.RepoRoot()
	if err == nil {
		// Seeds: a few messages of every kind from the class45 capture.
		seen := make(map[string]int)
		decode.Run(context.Background(), []string{filepath.Join(root, "samples", "class45", "class45.pcapng")}, func(m *decode.Message) {
			if m.SIP == nil {
				return
			}
			kind := string(m.SIP.Method) + string(m.SIP.CSeqMethod)
			if seen[kind] < 2 {
				seen[kind]++
				f.Add(bytes.Clone(m.SIP.Raw), "leg")
			}
		}, decode.Options{})
	}
	f.Add([]byte("SIP/2.0 200 <b>x</b>;#%\r\nCall-ID: leg\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nm=audio 1 RTP/AVP 0\r\n"), "a\nb")
	f.Fuzz(func(t *testing.T, raw []byte, note string) {
		in := call()
		in.Messages = append(in.Messages, msg(2000, proxy, carrier, 20, raw), msg(2500, proxy, carrier, 21, raw))
		in.Notes = append(in.Notes, Note{Time: t0.Add(2000e6), Leg: "leg", Text: note, Frame: 20, Input: "t.pcap"})
		d := New(in)
		rows := len(d.Rows)

		var text, mermaid, page bytes.Buffer
		if err := d.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		// Title, start, blank, 2 legs, blank, 3 host lines, then one line per row.
		if n := strings.Count(text.String(), "\n"); n != 9+rows {
			t.Fatalf("text has %d lines, want %d:\n%s", n, 9+rows, text.String())
		}
		if err := d.WriteMermaid(&mermaid); err != nil {
			t.Fatal(err)
		}
		// sequenceDiagram, title, participants, leg comments, rows.
		if n, want := strings.Count(mermaid.String(), "\n"), 2+len(d.Hosts)+len(d.Legs)+rows; n != want {
			t.Fatalf("mermaid has %d lines, want %d:\n%s", n, want, mermaid.String())
		}
		if err := d.WriteHTML(&page); err != nil {
			t.Fatal(err)
		}
		p := page.String()
		if n := strings.Count(p, "<script"); n != 2 {
			t.Fatalf("%d <script in the page", n)
		}
		if n := strings.Count(p, "<g class=\"arrow"); n != d.Arrows() {
			t.Fatalf("%d arrows in the page, want %d", n, d.Arrows())
		}
		if n := strings.Count(p, "<text"); n != countText(d) {
			t.Fatalf("%d <text in the page, want %d", n, countText(d))
		}
	})
}

// countText is how many <text> elements the page draws: two per host, five per arrow (label,
// time, frame, badge and maybe SDP), three per note.
func countText(d *Diagram) int {
	n := 2 * len(d.Hosts)
	for _, r := range d.Rows {
		switch {
		case r.Note != nil:
			n += 3
		case r.Arrow.SDPBrief != "" && r.Arrow.From != r.Arrow.To:
			n += 5
		default:
			n += 4
		}
	}
	return n
}
