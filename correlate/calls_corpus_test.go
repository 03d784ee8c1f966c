package correlate

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// correlateFile runs one capture file frame by frame (RTP included) and returns its calls in the
// order they were emitted.
func correlateFile(t *testing.T, file string, opts CallOptions) ([]*Call, *Calls) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []*Call
	c := NewCalls(opts)
	correlateReader(t, file, f, c, func(call *Call) { calls = append(calls, call) })
	return calls, c
}

// tsharkLines runs tshark with a display filter and fields, one line per frame, fields split on tabs.
func tsharkLines(t *testing.T, file, filter string, fields ...string) [][]string {
	t.Helper()
	args := []string{"-r", file, "-Y", filter, "-T", "fields", "-E", "occurrence=f"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(corpus.Tool(t, "tshark"), args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows
}

// epoch reads tshark's frame.time_epoch to the microsecond.
func epoch(t *testing.T, s string) time.Time {
	t.Helper()
	sec, frac, _ := strings.Cut(s, ".")
	frac = (frac + "000000000")[:9]
	a, err1 := strconv.ParseInt(sec, 10, 64)
	b, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad epoch %q", s)
	}
	return time.Unix(a, b).Round(time.Microsecond).UTC()
}

// TestB2BUAAsterisk: an Asterisk B2BUA bridges two phones with two Call-IDs and no header naming
// one from the other. By default they are two calls; with the heuristic (same calling number,
// the B-leg INVITE sent by the host the A-leg INVITE went to, moments later) one call of two legs.
// Expected values come from tshark: the Call-IDs that open INVITE dialogs, their first INVITE,
// first 200 to the INVITE, and first BYE.
func TestB2BUAAsterisk(t *testing.T) {
	file := corpus.Path(t, "third_party/sipnab/b2bua-asterisk.pcapng")
	rows := tsharkLines(t, file, `sip.Method == "INVITE" && !sip.to.tag`, "sip.Call-ID", "frame.time_epoch", "frame.number")
	var ids []string
	first := map[string]time.Time{}
	for _, r := range rows {
		if _, ok := first[r[0]]; !ok {
			ids = append(ids, r[0])
			first[r[0]] = epoch(t, r[1])
		}
	}
	if len(ids) != 2 {
		t.Fatalf("tshark finds %d INVITE dialogs, want the two legs: %v", len(ids), ids)
	}
	answer := map[string]time.Time{}
	for _, r := range tsharkLines(t, file, `sip.Status-Code == 200 && sip.CSeq.method == "INVITE"`, "sip.Call-ID", "frame.time_epoch") {
		if _, ok := answer[r[0]]; !ok {
			answer[r[0]] = epoch(t, r[1])
		}
	}
	bye := map[string]time.Time{}
	for _, r := range tsharkLines(t, file, `sip.Method == "BYE"`, "sip.Call-ID", "frame.time_epoch") {
		if _, ok := bye[r[0]]; !ok {
			bye[r[0]] = epoch(t, r[1])
		}
	}

	calls, _ := correlateFile(t, file, CallOptions{})
	if len(calls) != 2 || calls[0].CallID == calls[1].CallID {
		t.Fatalf("without the heuristic: %d calls, want one per leg", len(calls))
	}

	calls, c := correlateFile(t, file, CallOptions{Heuristic: true})
	if len(calls) != 1 {
		t.Fatalf("with the heuristic: %d calls, want 1", len(calls))
	}
	call := calls[0]
	if got := strings.Join(call.CallIDs(), " "); got != strings.Join(ids, " ") {
		t.Fatalf("legs %s, want %s", got, strings.Join(ids, " "))
	}
	b := call.Legs[1]
	if b.Link != LinkHeuristic || b.ParentCallID != ids[0] || b.Role != RoleClass5 {
		t.Errorf("B-leg link %q parent %q role %s", b.Link, b.ParentCallID, b.Role)
	}
	for _, l := range call.Legs {
		if !l.InviteTime.Equal(first[l.CallID]) || !l.AnswerTime.Equal(answer[l.CallID]) || !l.EndTime.Equal(bye[l.CallID]) {
			t.Errorf("leg %s: invite %s answer %s end %s, want %s %s %s", l.CallID, fmtTime(l.InviteTime), fmtTime(l.AnswerTime),
				fmtTime(l.EndTime), fmtTime(first[l.CallID]), fmtTime(answer[l.CallID]), fmtTime(bye[l.CallID]))
		}
		if l.Outcome != Answered || l.EndReason != EndBYE || l.EarlyDialogs != 1 {
			t.Errorf("leg %s: %s %s, %d early dialogs", l.CallID, l.Outcome, l.EndReason, l.EarlyDialogs)
		}
	}
	// The A-leg was challenged (401) and sent again with credentials: one leg, answered, timed
	// from the first INVITE; the B-leg INVITE was retransmitted once.
	if call.Outcome != Answered || call.EndedBy != CallingSide || call.Legs[1].Retransmissions != 1 {
		t.Errorf("call %s ended by %s; B-leg retransmissions %d", call.Outcome, call.EndedBy, call.Legs[1].Retransmissions)
	}
	if st := c.Stats(); st.OutOfDialog == 0 {
		t.Errorf("REGISTER, SUBSCRIBE and PUBLISH not counted as out-of-dialog: %+v", st)
	}
}

var signalRE = regexp.MustCompile(`show="Signal=\s*([0-9A-Da-d*#]+)`)

// TestDTMFSIPInfo: four INFO application/dtmf-relay digits in one dialog (sent over PPPoE). The
// digits and their frames are read from tshark's PDML of the INFO bodies.
func TestDTMFSIPInfo(t *testing.T) {
	file := corpus.Path(t, "third_party/sipnab/DTMFsipinfo.pcap")
	frames := tsharkLines(t, file, `sip.Method == "INFO"`, "frame.number", "frame.time_epoch")
	out, err := exec.Command(corpus.Tool(t, "tshark"), "-r", file, "-Y", `sip.Method == "INFO"`, "-T", "pdml").Output()
	if err != nil {
		t.Fatal(err)
	}
	digits := signalRE.FindAllStringSubmatch(string(out), -1)
	if len(digits) != len(frames) || len(frames) == 0 {
		t.Fatalf("tshark: %d INFO frames, %d Signal lines", len(frames), len(digits))
	}
	calls, _ := correlateFile(t, file, CallOptions{})
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1", len(calls))
	}
	var got, want []string
	for _, e := range calls[0].Events {
		got = append(got, string(e.Type)+" "+e.Digit+" "+e.Source+" frame "+strconv.Itoa(e.Frame)+" "+fmtTime(e.Time))
	}
	for i, f := range frames {
		want = append(want, "dtmf "+digits[i][1]+" INFO frame "+f[0]+" "+fmtTime(epoch(t, f[1])))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// No BYE in the capture: the call is still up at its end.
	if calls[0].Outcome != InProgress || calls[0].AnswerTime.IsZero() {
		t.Errorf("outcome %s, answer %s: want in-progress, answered", calls[0].Outcome, fmtTime(calls[0].AnswerTime))
	}
}

// TestDTMFRTPEvents: RFC 4733 telephone-events in RTP, negotiated by SDP (payload type 96). Each
// key press is one event (SSRC, RTP timestamp) sent in several packets; tshark's rtpevent
// dissector gives the event codes and the frame of each press's first packet.
func TestDTMFRTPEvents(t *testing.T) {
	file := corpus.Path(t, "third_party/sipnab/SIP_DTMF2.cap")
	rows := tsharkLines(t, file, "rtpevent", "frame.number", "rtp.ssrc", "rtp.timestamp", "rtpevent.event_id")
	var want []string
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r[1]+r[2]] {
			continue
		}
		seen[r[1]+r[2]] = true
		code, _ := strconv.Atoi(r[3])
		want = append(want, eventDigits[code:code+1]+" RTP frame "+r[0])
	}
	if len(want) == 0 {
		t.Fatal("tshark finds no telephone-event")
	}
	calls, c := correlateFile(t, file, CallOptions{})
	var got []string
	for _, call := range calls {
		for _, e := range call.Events {
			got = append(got, e.Digit+" "+e.Source+" frame "+strconv.Itoa(e.Frame))
		}
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("dtmf events %v, want %v", got, want)
	}
	if st := c.Stats(); st.RTPEvents != len(want) {
		t.Errorf("stats count %d RTP events, want %d", st.RTPEvents, len(want))
	}
}

// TestDTMFRTPEventsInVXLAN: the same capture with every frame carried in VXLAN gives the same
// digits: RTP is read after the decoder's link layers and tunnels, not by a parser of its own.
func TestDTMFRTPEventsInVXLAN(t *testing.T) {
	file := corpus.Path(t, "third_party/sipnab/SIP_DTMF2.cap")
	plain, _ := correlateFile(t, file, CallOptions{})
	cp, err := decode.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var tunnelled bytes.Buffer
	w := pcapgo.NewWriter(&tunnelled)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	var f decode.Frame
	for cp.Next(&f) == nil {
		outer := vxlanFrame(f.Data)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(outer), Length: len(outer)}, outer); err != nil {
			t.Fatal(err)
		}
	}
	var got []*Call
	correlateReader(t, "vxlan", &tunnelled, NewCalls(CallOptions{}), func(c *Call) { got = append(got, c) })
	digits := func(calls []*Call) (s []string) {
		for _, c := range calls {
			for _, e := range c.Events {
				s = append(s, e.Digit+" "+e.Source+" frame "+strconv.Itoa(e.Frame))
			}
		}
		return s
	}
	want := digits(plain)
	if len(want) == 0 || !slices.Equal(digits(got), want) {
		t.Errorf("in VXLAN: %v\nplain: %v", digits(got), want)
	}
}

// vxlanFrame wraps an Ethernet frame in Ethernet / IPv4 / UDP 4789 / VXLAN (VNI 1).
func vxlanFrame(inner []byte) []byte {
	const hdr = 14 + 20 + 8 + 8
	b := make([]byte, hdr, hdr+len(inner))
	copy(b[0:6], []byte{2, 0, 0, 0, 0, 2})
	copy(b[6:12], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+8+len(inner)))
	copy(ip[12:16], []byte{192, 0, 2, 1})
	copy(ip[16:20], []byte{192, 0, 2, 2})
	u := b[34:42]
	binary.BigEndian.PutUint16(u[0:], 49152)
	binary.BigEndian.PutUint16(u[2:], 4789)
	binary.BigEndian.PutUint16(u[4:], uint16(8+8+len(inner)))
	b[42], b[48] = 0x08, 1 // VXLAN: I flag, VNI 1
	return append(b, inner...)
}
