package ladder

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

var (
	carrier = netip.MustParseAddrPort("192.0.2.10:5060")
	proxy   = netip.MustParseAddrPort("192.0.2.20:5060")
	b2buaA  = netip.MustParseAddrPort("192.0.2.30:5080")
	b2buaB  = netip.MustParseAddrPort("192.0.2.30:5060")
	phone   = netip.MustParseAddrPort("[2001:db8::40]:5060")
)

const sdpBody = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
	"m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"

// sipMsg builds a SIP message; extra headers come before Content-Length.
func sipMsg(start, callID, cseq, branch, toTag, extra, body string) []byte {
	to := "<sip:2001@example.net>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	var b strings.Builder
	b.WriteString(start + "\r\n")
	b.WriteString("Via: SIP/2.0/UDP 192.0.2.10:5060;branch=" + branch + "\r\n")
	b.WriteString("From: <sip:+15550100@example.net>;tag=f1\r\nTo: " + to + "\r\n")
	b.WriteString("Call-ID: " + callID + "\r\nCSeq: " + cseq + "\r\nMax-Forwards: 70\r\n")
	b.WriteString(extra)
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	b.WriteString("Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body)
	return []byte(b.String())
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}

func msg(ms int, src, dst netip.AddrPort, frame int, raw []byte) Message {
	return Message{Time: t0.Add(time.Duration(ms) * time.Millisecond), Src: src, Dst: dst, Transport: "udp", Frame: frame, Input: "t.pcap", Raw: raw}
}

// call is a forwarded call: the root leg through a proxy to a B2BUA, which calls a phone.
func call() Input {
	invite := sipMsg("INVITE sip:2001@example.net SIP/2.0", "root@x", "1 INVITE", "z9hG4bK1", "", "", sdpBody)
	ringing := sipMsg("SIP/2.0 180 Ringing", "root@x", "1 INVITE", "z9hG4bK1", "t1", "", "")
	bInvite := sipMsg("INVITE sip:2001@[2001:db8::40] SIP/2.0", "b@y", "7 INVITE", "z9hG4bKb", "", "X-ORIGINAL-CALLID: root@x\r\n", sdpBody)
	reinvite := sipMsg("INVITE sip:2001@[2001:db8::40] SIP/2.0", "b@y", "8 INVITE", "z9hG4bKc", "t9", "", sdpBody)
	return Input{
		Title: "call root@x",
		Legs: []Leg{
			{CallID: "root@x", Role: "class4", Hops: []Hop{{carrier, proxy}, {proxy, b2buaA}}, From: "+15550100", To: "2001", Outcome: "answered", FinalStatus: 200},
			{CallID: "b@y", Role: "class5", ParentCallID: "root@x", Link: "X-ORIGINAL-CALLID", Hops: []Hop{{b2buaB, phone}}},
		},
		Messages: []Message{
			msg(0, carrier, proxy, 1, invite),
			msg(1, proxy, b2buaA, 2, invite), // the proxy forwards the same message: a second arrow
			msg(5, b2buaB, phone, 3, bInvite),
			msg(500, carrier, proxy, 4, invite), // retransmitted on the first hop
			msg(600, b2buaA, proxy, 5, ringing),
			msg(601, proxy, carrier, 6, ringing),
			msg(900, phone, b2buaB, 7, reinvite),
			msg(950, carrier, proxy, 8, []byte("\x16\x03\x01 not SIP at all")),
		},
		Notes: []Note{
			{Time: t0.Add(900 * time.Millisecond), Leg: "b@y", Text: "hold", Frame: 7, Input: "t.pcap"},
			{Time: t0.Add(2 * time.Millisecond), Leg: "b@y", Text: "by time"},
		},
	}
}

func TestNewArrows(t *testing.T) {
	d := New(call())
	type want struct {
		from, to int
		leg      int
		label    string
		cseq     string
		sdp      string
		retx     bool
		offset   time.Duration
	}
	sdp := "audio 192.0.2.10:4000 sendonly PCMU,telephone-event"
	wants := []want{
		{0, 1, 0, "INVITE (SDP)", "1 INVITE", sdp, false, 0},
		{1, 2, 0, "INVITE (SDP)", "1 INVITE", sdp, false, time.Millisecond},
		{3, 4, 1, "INVITE (SDP)", "7 INVITE", sdp, false, 5 * time.Millisecond},
		{0, 1, 0, "INVITE (SDP)", "1 INVITE", sdp, true, 500 * time.Millisecond},
		{2, 1, 0, "180 Ringing", "1 INVITE", "", false, 600 * time.Millisecond},
		{1, 0, 0, "180 Ringing", "1 INVITE", "", false, 601 * time.Millisecond},
		{4, 3, 1, "re-INVITE (SDP)", "8 INVITE", sdp, false, 900 * time.Millisecond},
		{0, 1, -1, "??? not SIP at all", "", "", false, 950 * time.Millisecond},
	}
	var got []*Arrow
	for _, r := range d.Rows {
		if r.Arrow != nil {
			got = append(got, r.Arrow)
		}
	}
	if len(got) != len(wants) || d.Arrows() != len(wants) {
		t.Fatalf("%d arrows (Arrows() %d), want %d", len(got), d.Arrows(), len(wants))
	}
	for i, w := range wants {
		a := got[i]
		if a.From != w.from || a.To != w.to || a.Leg != w.leg || a.Label != w.label || a.CSeq != w.cseq ||
			a.SDP != w.sdp || a.Retransmission != w.retx || a.Offset != w.offset {
			t.Errorf("arrow %d: %d->%d leg %d %q cseq %q sdp %q retx %v %v; want %+v",
				i, a.From, a.To, a.Leg, a.Label, a.CSeq, a.SDP, a.Retransmission, a.Offset, w)
		}
	}
	if got[2].SDPBrief != "192.0.2.10:4000 sendonly" {
		t.Errorf("SDP brief %q", got[2].SDPBrief)
	}
}

func TestHostRoles(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want []string // roles by column, in order of first appearance
	}{
		{"class4 and class5", call(), []string{"carrier", "class-4", "class-5", "class-5", "phone"}},
		{"one leg, one hop", Input{
			Legs:     []Leg{{CallID: "a", Role: "class4", Hops: []Hop{{carrier, phone}}}},
			Messages: []Message{msg(0, carrier, phone, 1, nil), msg(1, phone, carrier, 2, nil), msg(2, proxy, phone, 3, nil)},
		}, []string{"caller", "callee", ""}},
		{"no hops known", Input{
			Legs:     []Leg{{CallID: "a"}},
			Messages: []Message{msg(0, carrier, phone, 1, nil)},
		}, []string{"", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(tt.in)
			var got []string
			for _, h := range d.Hosts {
				got = append(got, h.Role)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("roles %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNotesFollowTheirMessage(t *testing.T) {
	d := New(call())
	var order []string
	for _, r := range d.Rows {
		if r.Note != nil {
			order = append(order, "note:"+r.Note.Text)
		} else {
			order = append(order, itoa(r.Arrow.Message.Frame))
		}
	}
	// "hold" follows frame 7, which caused it; "by time" has no frame and goes by its time.
	want := "1,2,note:by time,3,4,5,6,7,note:hold,8"
	if got := strings.Join(order, ","); got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
}

func TestLegName(t *testing.T) {
	for i, want := range map[int]string{0: "A", 1: "B", 25: "Z", 26: "AA", 27: "AB", 52: "BA", -1: "?"} {
		if got := LegName(i); got != want {
			t.Errorf("LegName(%d) = %q, want %q", i, got, want)
		}
	}
}

func TestText(t *testing.T) {
	in := call()
	// A reason phrase too long for its lane is cut; control characters never reach the terminal.
	in.Messages = append(in.Messages, msg(1000, phone, b2buaB, 9,
		sipMsg("SIP/2.0 200 OK and a very long reason phrase \x1b[31m red", "b@y", "8 INVITE", "z9hG4bKc", "t9", "", "")))
	d := New(in)
	var out bytes.Buffer
	if err := d.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.Contains(text, "\x1b") {
		t.Fatalf("escape character in the text output:\n%s", text)
	}
	lines := strings.Split(text, "\n")
	arrowLine := regexp.MustCompile(`^\+\d+\.\d{3}  [A-Z?] .*(\|-|-\||<-|->|\|\.|\.\|)`)
	arrows, notes := 0, 0
	for _, l := range lines {
		if arrowLine.MatchString(l) && !strings.Contains(l, "[ ") {
			arrows++
		}
		if strings.Contains(l, "[ hold ]") || strings.Contains(l, "[ by time ]") {
			notes++
		}
	}
	if arrows != d.Arrows() || notes != 2 {
		t.Errorf("%d arrow lines, %d notes; want %d and 2:\n%s", arrows, notes, d.Arrows(), text)
	}
	for _, want := range []string{
		"carrier", "class-4", "[2001:db8::40]:5060",
		"A  root@x", "B  b@y", "class5 of A (X-ORIGINAL-CALLID)", "+15550100 -> 2001  answered 200",
		"|---- INVITE (SDP) ---->|", // a message on its hop
		"|.... INVITE (SDP) ....>|", // its retransmission
		"|<---- 180 Ringing -----|",
		"|<200 OK and a very ...-|",
		"1 INVITE       #1      audio 192.0.2.10:4000 sendonly PCMU,telephone-event",
		"#4      retransmission",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

func TestTextEmpty(t *testing.T) {
	var out bytes.Buffer
	if err := New(Input{Title: "nothing"}).WriteText(&out); err != nil || !strings.Contains(out.String(), "(no messages)") {
		t.Fatalf("err %v, output %q", err, out.String())
	}
}

// hostile is a message whose every field tries to break out of where it is shown.
func hostile() Input {
	in := call()
	raw := sipMsg("SIP/2.0 200 <img src=x onerror=alert(1)>;# %%{init}%% </script><script>alert(2)</script>", "root@x",
		"1 INVITE", "z9hG4bK1", "t1", "User-Agent: <svg onload=alert(3)>\r\nX-Evil: \"'&amp;\r\n", "")
	in.Messages = append(in.Messages, msg(1000, proxy, carrier, 9, raw))
	in.Title = "call <b>bold</b> & \"quoted\""
	in.Notes = append(in.Notes, Note{Time: t0.Add(800 * time.Millisecond), Leg: "root@x", Text: "note; with # and % and <i>tags</i>\nnewline"})
	return in
}

func TestMermaid(t *testing.T) {
	d := New(hostile())
	var out bytes.Buffer
	if err := d.WriteMermaid(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if lines[0] != "sequenceDiagram" {
		t.Fatalf("first line %q", lines[0])
	}
	// Every statement is one the sequenceDiagram grammar knows, and no text holds a character
	// that mermaid reads as syntax.
	stmt := regexp.MustCompile(`^    (title [^;<>%"]*|participant H\d+ as ([^;<>%"]*<br/>)?[^;<>%"]*|%% leg [A-Z]+: .*|H\d+--?>>H\d+: [^;<>%"]*|Note over H\d+(,H\d+)?: [^;<>%"]*)$`)
	entity := regexp.MustCompile(`#(\d+|lt|gt|quot);`)
	arrows, notes := 0, 0
	for _, l := range lines[1:] {
		if !stmt.MatchString(entity.ReplaceAllString(l, "")) {
			t.Errorf("not a plain mermaid statement: %q", l)
		}
		if strings.Contains(l, ">>H") {
			arrows++
		}
		if strings.HasPrefix(l, "    Note over") {
			notes++
		}
		if !strings.HasPrefix(l, "    %%") && strings.Contains(entity.ReplaceAllString(l, ""), "#") {
			t.Errorf("bare # in %q", l)
		}
	}
	if arrows != d.Arrows() || notes != 3 {
		t.Errorf("%d arrows, %d notes; want %d and 3:\n%s", arrows, notes, d.Arrows(), out.String())
	}
	for _, want := range []string{
		"participant H1 as carrier<br/>192.0.2.10:5060",
		"H1->>H2: [A] INVITE (SDP) (1 INVITE) +0.000",
		"H1-->>H2: [A] INVITE (SDP) (1 INVITE) +0.500 retransmission",
		"H2->>H1: [A] 200 #lt;img src=x onerror=alert(1)#gt;#59;... (1 INVITE) +1.000",
		"Note over H1,H3: [A] note#59; with #35; and #37; and #lt;i#gt;tags#lt;/i#gt;?newline +0.800",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("mermaid lacks %q:\n%s", want, out.String())
		}
	}
}

func TestHTMLEscapesWireText(t *testing.T) {
	in := hostile()
	d := New(in)
	var out bytes.Buffer
	if err := d.WriteHTML(&out); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, bad := range []string{"<img", "<svg onload", "<script>alert", "<b>bold", "<i>tags"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q unescaped", bad)
		}
	}
	if n := strings.Count(page, "<script"); n != 2 {
		t.Errorf("%d <script> elements, want 2 (data and code)", n)
	}
	if strings.Contains(page, "http://") && strings.Count(page, "http://") != strings.Count(page, "http://www.w3.org/2000/svg") {
		t.Error("page refers to an external resource")
	}
	for _, ext := range []string{"https://", "src=\"", "href=\"", "@import", "url("} {
		if strings.Contains(page, ext) {
			t.Errorf("page holds %q: it must not load anything", ext)
		}
	}
	// The data block is JSON that gives back every message exactly.
	start := strings.Index(page, `<script type="application/json" id="ladder-data">`)
	end := strings.Index(page[start:], "</script>")
	if start < 0 || end < 0 {
		t.Fatal("no data block")
	}
	block := page[start+len(`<script type="application/json" id="ladder-data">`) : start+end]
	var msgs []struct {
		Raw   string `json:"raw"`
		Label string `json:"label"`
		Leg   string `json:"leg"`
	}
	if err := json.Unmarshal([]byte(block), &msgs); err != nil {
		t.Fatalf("data block: %v", err)
	}
	if len(msgs) != len(in.Messages) {
		t.Fatalf("%d messages in the data block, want %d", len(msgs), len(in.Messages))
	}
	for i, m := range msgs {
		if want := strings.ToValidUTF8(string(in.Messages[i].Raw), "\uFFFD"); m.Raw != want {
			t.Errorf("message %d: raw %q, want %q", i, m.Raw, want)
		}
	}
	if n := strings.Count(page, `<g class="arrow`); n != d.Arrows() {
		t.Errorf("%d arrows in the SVG, want %d", n, d.Arrows())
	}
	if n := strings.Count(page, `<g class="note"`); n != 3 {
		t.Errorf("%d notes in the SVG, want 3", n)
	}
	for _, want := range []string{"&lt;img src=x onerror=alert(1)&gt;", "call &lt;b&gt;bold&lt;/b&gt; &amp; &#34;quoted&#34;", `class="arrow retx req"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
