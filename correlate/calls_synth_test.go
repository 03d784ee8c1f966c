package correlate

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/samples/synth"
)

// correlateReader runs a capture through the decoder and a correlator, frame by frame (so that
// RTP is seen too), calling emit with each call as it completes and at the end.
func correlateReader(t testing.TB, name string, r io.Reader, c *Calls, emit func(*Call)) {
	t.Helper()
	correlateReaderSeen(t, name, r, c, emit, nil)
}

// correlateReaderSeen is correlateReader that also shows every message to seen first.
func correlateReaderSeen(t testing.TB, name string, r io.Reader, c *Calls, emit func(*Call), seen func(*decode.Message)) {
	t.Helper()
	cp, err := decode.OpenReader(name, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	d := decode.NewDecoder(func(m *decode.Message) {
		if seen != nil {
			seen(m)
		}
		for _, call := range c.Add(m) {
			emit(call)
		}
	}, decode.Options{OtherUDP: c.RTP})
	var f decode.Frame
	for cp.Next(&f) == nil {
		d.Frame(&f)
	}
	d.Finish()
	if w := cp.Warning(); w != nil {
		t.Fatal(w)
	}
	for _, call := range c.Flush() {
		emit(call)
	}
}

// compareSynth checks every call of a generated capture against the generator's records.
func compareSynth(t *testing.T, name string, capture io.Reader, truth []synth.Record) {
	t.Helper()
	got := map[string]*Call{}
	reinvites := map[string][]sighting{}
	c := NewCalls(CallOptions{})
	correlateReaderSeen(t, name, capture, c, func(call *Call) {
		if got[call.CallID] != nil {
			t.Errorf("call %s emitted twice", call.CallID)
		}
		got[call.CallID] = call
	}, func(m *decode.Message) {
		if s := m.SIP; m.Protocol == decode.ProtoSIP && s.IsRequest && string(s.Method) == "INVITE" && len(s.ToTag()) > 0 {
			reinvites[string(s.CallID)] = append(reinvites[string(s.CallID)],
				sighting{cseq: s.CSeq, t: m.Time.Round(time.Microsecond), hop: Hop{Src: m.Src, Dst: m.Dst}})
		}
	})
	if len(got) != len(truth) {
		t.Errorf("%d calls, want %d (stats %+v)", len(got), len(truth), c.Stats())
	}
	bad := 0
	for i := range truth {
		want := &truth[i]
		g := got[want.CallID]
		var diff string
		if g == nil {
			diff = "missing"
		} else {
			diff = synthDiff(g, want, reinvites)
		}
		if diff != "" {
			bad++
			if bad <= 5 {
				t.Errorf("call %s: %s", want.CallID, diff)
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d calls differ in all", bad)
	}
}

// sighting is a re-INVITE seen on one hop.
type sighting struct {
	cseq uint32
	t    time.Time
	hop  Hop
}

// synthDiff lists the differences between a call record and the generator's.
//
// One difference is expected and checked for what it is: the generator times an event when its
// message is first seen on the wire, sigtrace on the hop where the leg's INVITE was first seen
// (as truth.json of the real class45 capture does: the leg's times and its events on one hop).
// They differ for a hold re-INVITE the class-5 node sends towards the carrier: first seen on the
// proxy <-> class-5 hop, then on the carrier hop. Such an event must be the same re-INVITE, first
// seen at the generator's time and crossing the leg's first hop at ours.
func synthDiff(g *Call, w *synth.Record, reinvites map[string][]sighting) string {
	var d []string
	check := func(what string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			d = append(d, fmt.Sprintf("%s %v, want %v", what, got, want))
		}
	}
	tm := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(synth.TimeLayout)
	}
	check("outcome", g.Outcome, w.Outcome)
	check("final_status", g.FinalStatus, w.FinalStatus)
	check("invite_time", tm(g.InviteTime), tm(w.InviteTime.Time))
	check("ringing_time", tm(g.RingingTime), tm(w.RingingTime.Time))
	check("answer_time", tm(g.AnswerTime), tm(w.AnswerTime.Time))
	check("end_time", tm(g.EndTime), tm(w.EndTime.Time))
	check("end_reason", g.EndReason, w.EndReason)
	check("ended_by", g.EndedBy, w.EndedBy)
	check("billable", g.BillableSeconds(), w.BillableSeconds)
	check("duration", g.DurationSeconds(), w.DurationSeconds)
	check("pdd", g.PDDSeconds(), w.PDDSeconds)
	if len(g.Legs) != len(w.Legs) {
		check("legs", strings.Join(g.CallIDs(), " "), len(w.Legs))
	} else {
		for i, wl := range w.Legs {
			gl := g.Legs[i]
			p := fmt.Sprintf("leg %d ", i)
			check(p+"call_id", gl.CallID, wl.CallID)
			check(p+"role", gl.Role, wl.Role)
			check(p+"parent", gl.ParentCallID, wl.ParentCallID)
			check(p+"from", gl.From, wl.From)
			check(p+"to", gl.To, wl.To)
			check(p+"outcome", gl.Outcome, wl.Outcome)
			check(p+"final_status", gl.FinalStatus, wl.FinalStatus)
			check(p+"invite_time", tm(gl.InviteTime), tm(wl.InviteTime.Time))
			check(p+"answer_time", tm(gl.AnswerTime), tm(wl.AnswerTime.Time))
			check(p+"end_time", tm(gl.EndTime), tm(wl.EndTime.Time))
		}
	}
	var ge, we []string
	for i, e := range g.Events {
		if i < len(w.Events) && (e.Type == EventHold || e.Type == EventUnhold) && !e.Time.Equal(w.Events[i].Time.Time) {
			if l := g.Leg(e.Leg); l != nil && len(l.Hops) > 0 && sameReinvite(reinvites[e.Leg], w.Events[i].Time.Time, e.Time, l.Hops[0]) {
				e.Time = w.Events[i].Time.Time
			}
		}
		ge = append(ge, fmt.Sprintf("%s %s %s %s %s", e.Type, tm(e.Time), e.Leg, e.Digit, e.Target))
	}
	for _, e := range w.Events {
		we = append(we, fmt.Sprintf("%s %s %s %s %s", e.Type, tm(e.Time.Time), e.Leg, e.Digit, e.Target))
	}
	check("events", strings.Join(ge, "; "), strings.Join(we, "; "))
	return strings.Join(d, "; ")
}

// sameReinvite reports whether one re-INVITE was first seen at first and crossed hop (either
// way) at onHop.
func sameReinvite(seen []sighting, first, onHop time.Time, hop Hop) bool {
	for _, a := range seen {
		if !a.t.Equal(first) {
			continue
		}
		for _, b := range seen {
			if b.cseq == a.cseq && b.t.Equal(onHop) && a.t.Before(b.t) &&
				(b.hop.Src == hop.Src && b.hop.Dst == hop.Dst || b.hop.Src == hop.Dst && b.hop.Dst == hop.Src) {
				for _, x := range seen {
					if x.cseq == a.cseq && x.t.Before(a.t) {
						return false // a was not the first sighting
					}
				}
				return true
			}
		}
	}
	return false
}

// TestSynthDemo checks the bundled demo capture against its records.
func TestSynthDemo(t *testing.T) {
	dir := filepath.Join("..", "samples")
	truthFile, err := os.Open(filepath.Join(dir, "demo.truth.ndjson"))
	if err != nil {
		t.Skip("samples/demo.truth.ndjson:", err)
	}
	defer truthFile.Close()
	truth, err := synth.ReadTruth(truthFile)
	if err != nil {
		t.Fatal(err)
	}
	capture, err := os.Open(filepath.Join(dir, "demo.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	compareSynth(t, "demo.pcap", capture, truth)
}

// TestSynth10k checks 10,000 generated calls (overlapping, every scenario, failures and RTP)
// against the generator's records.
func TestSynth10k(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	// The records are needed whole before comparing; the capture streams through a pipe.
	var truth bytes.Buffer
	cfg := synth.Config{Calls: n, Seed: 45, RTPShare: 0.10, EachAtLeast: 5, MeanTalk: 20 * time.Second}
	if _, err := synth.Generate(cfg, io.Discard, &truth); err != nil {
		t.Fatal(err)
	}
	recs, err := synth.ReadTruth(&truth)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := synth.Generate(cfg, pw, nil)
		pw.CloseWithError(err)
	}()
	compareSynth(t, "synth", pr, recs)
}

// TestSynthMemoryBound streams 200,000 generated calls through a pipe and checks that the live
// heap stays bounded by the calls open at once: flat from the first tenth of the calls to the
// last, and small per open call. (The generator runs in the same process; its own state is part
// of the heap measured, and bounded by open calls too.)
func TestSynthMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200,000 calls")
	}
	const calls, every = 200000, 20000
	pr, pw := io.Pipe()
	go func() {
		_, err := synth.Generate(synth.Config{Calls: calls, Seed: 7, CPS: 200, MeanTalk: 10 * time.Second}, pw, nil)
		pw.CloseWithError(err)
	}()
	var ms runtime.MemStats
	var heap []uint64 // live heap after every 20,000 calls
	emitted := 0
	c := NewCalls(CallOptions{})
	correlateReader(t, "pipe", pr, c, func(*Call) {
		emitted++
		if emitted%every == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heap = append(heap, ms.HeapAlloc)
		}
	})
	if emitted != calls || len(heap) != calls/every {
		t.Fatalf("%d calls emitted, want %d", emitted, calls)
	}
	st := c.Stats()
	early := max(heap[0], heap[1])
	late := max(heap[len(heap)-2], heap[len(heap)-1])
	peak := slices.Max(heap)
	t.Logf("live heap (MB) every %d calls: %.1f; %d calls open at most", every, mb(heap), st.MaxOpen)
	if late > early+early/4+2<<20 {
		t.Errorf("live heap grew from %d to %d bytes between the first and the last tenth of the calls", early, late)
	}
	// 200,000 calls held at once would take hundreds of MB.
	if limit := uint64(16<<20) + uint64(st.MaxOpen)*6<<10; peak > limit {
		t.Errorf("peak live heap %d bytes for %d calls open at most: want under %d", peak, st.MaxOpen, limit)
	}
}

func mb(b []uint64) []float64 {
	out := make([]float64, len(b))
	for i, x := range b {
		out[i] = float64(x*10>>20) / 10
	}
	return out
}
