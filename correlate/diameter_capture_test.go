package correlate

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/decode/diameter"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// pairDiameterCapture runs a capture's Diameter messages through a pairer and returns every
// transaction, Flush included.
func pairDiameterCapture(t *testing.T, name string) []DiameterTransaction {
	p := NewDiameterPairer(PairOptions{})
	var all []DiameterTransaction
	for _, c := range capturePayloads(t, corpus.Path(t, name)) {
		if c.env.Src.Port() == 53 || c.env.Dst.Port() == 53 {
			continue
		}
		m, err := diameter.Decode(c.data)
		if err != nil {
			t.Fatalf("frame %d: %v", c.env.Frame, err)
		}
		all = append(all, p.Add(c.env, m)...)
	}
	all = append(all, p.Flush()...)
	return all
}

// The pairs of real captures must be the ones tshark finds (answer frame, request frame, response
// time), and the requests tshark leaves without answer must be reported unanswered.
func TestDiameterPairsCaptures(t *testing.T) {
	for _, tc := range []struct {
		name                          string
		answered, unanswered, orphans int
	}{
		{"third_party/pyhss/Resync.pcap", 5, 1, 0}, // the last AIR is unanswered (MANIFEST)
		{"third_party/open5gs/testattach.pcapng", 49, 0, 0},
		{"third_party/ndpi/diameter.pcap", 3, 0, 0},
		{"third_party/open5gs/nonipsec_reg.pcapng", 7, 0, 0},
	} {
		t.Run(tc.name[strings.LastIndex(tc.name, "/")+1:], func(t *testing.T) {
			all := pairDiameterCapture(t, tc.name)
			got := map[int]string{} // answer frame -> "request frame latency"; request frame -> "unanswered"
			var answered, unanswered, orphans int
			for _, tr := range all {
				switch tr.Status {
				case PairAnswered:
					answered++
					// tshark's response times have microseconds.
					got[tr.AnswerEnv.Frame] = strconv.Itoa(tr.RequestEnv.Frame) + " " + tr.Latency.Round(time.Microsecond).String()
					if tr.Request.CommandCode != tr.Answer.CommandCode {
						t.Errorf("frame %d answers a %s with a %s", tr.AnswerEnv.Frame, tr.Request.Name(), tr.Answer.Name())
					}
				case PairUnanswered:
					unanswered++
					got[tr.RequestEnv.Frame] = "unanswered"
				case PairOrphan:
					orphans++
				}
			}
			if answered != tc.answered || unanswered != tc.unanswered || orphans != tc.orphans {
				t.Errorf("%d answered, %d unanswered, %d orphans", answered, unanswered, orphans)
			}
			if testing.Short() {
				return
			}
			want := tsharkDiameterPairs(t, corpus.Path(t, tc.name))
			if len(want) != len(got) {
				t.Errorf("tshark: %d entries, pairer %d", len(want), len(got))
			}
			for frame, w := range want {
				if got[frame] != w {
					t.Errorf("frame %d: got %q, tshark %q", frame, got[frame], w)
				}
			}
		})
	}
}

// tsharkDiameterPairs returns what tshark pairs (in two passes, so requests know their answer): for each answer frame its request frame and response
// time, and for each request without answer "unanswered".
func tsharkDiameterPairs(t *testing.T, path string) map[int]string {
	tshark := corpus.Tool(t, "tshark")
	out, err := exec.Command(tshark, "-2", "-r", path, "-Y", "diameter", "-T", "fields", "-e", "frame.number",
		"-e", "diameter.flags.request", "-e", "diameter.answer_in", "-e", "diameter.answer_to", "-e", "diameter.resp_time").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	want := map[int]string{}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			t.Fatalf("tshark line %q", line)
		}
		frame, _ := strconv.Atoi(f[0])
		switch {
		case f[1] == "1" && f[2] == "":
			want[frame] = "unanswered"
		case f[1] == "0" && f[3] != "":
			secs, err := strconv.ParseFloat(f[4], 64)
			if err != nil {
				t.Fatalf("tshark line %q: %v", line, err)
			}
			want[frame] = f[3] + " " + time.Duration(secs*1e9+0.5).Round(time.Microsecond).String()
		}
	}
	return want
}
