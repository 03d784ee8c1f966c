package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/internal/corpus"
	"github.com/sigtrace/sigtrace/samples/synth"
)

// TestExportCall exports calls of a generated capture and checks, with tshark reading both the
// original and the export, that the export holds every message of every leg of the call, the
// RTP and RTCP tshark ties to the call's SDP (with --rtp), and nothing else.
func TestExportCall(t *testing.T) {
	tshark := corpus.Tool(t, "tshark")
	dir := t.TempDir()
	capture := filepath.Join(dir, "gen.pcap")
	var truth bytes.Buffer
	f, err := os.Create(capture)
	if err != nil {
		t.Fatal(err)
	}
	cfg := synth.Config{Calls: 60, Seed: 3, RTPShare: 0.3, EachAtLeast: 1, Keepalive: 5e9}
	if _, err := synth.Generate(cfg, f, &truth); err != nil {
		t.Fatal(err)
	}
	f.Close()
	records, err := synth.ReadTruth(&truth)
	if err != nil {
		t.Fatal(err)
	}

	// What tshark sees in the original: each frame's Call-ID, or the SIP frame that set up its
	// RTP or RTCP stream.
	out, err := exec.Command(tshark, "-n", "-r", capture, "-T", "fields", "-E", "occurrence=f",
		"-e", "frame.number", "-e", "sip.Call-ID", "-e", "rtp.setup-frame", "-e", "rtcp.setup-frame").Output()
	if err != nil {
		t.Fatal(err)
	}
	callIDOf := map[int]string{}
	setupOf := map[int]int{}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		c := strings.Split(line, "\t")
		n, _ := strconv.Atoi(c[0])
		if c[1] != "" {
			callIDOf[n] = c[1]
		}
		for _, s := range c[2:] {
			if v, err := strconv.Atoi(s); err == nil {
				setupOf[n] = v
			}
		}
	}
	// expected returns the frames of a call's legs, and of its media when rtp is set.
	expected := func(legs []string, rtp bool) []int {
		var want []int
		for n, id := range callIDOf {
			if slices.Contains(legs, id) {
				want = append(want, n)
			}
		}
		if rtp {
			for n, setup := range setupOf {
				if slices.Contains(legs, callIDOf[setup]) {
					want = append(want, n)
				}
			}
		}
		slices.Sort(want)
		return want
	}

	// A call with class-5 legs and media, asked for by a B-leg's Call-ID; and a failed call with
	// one leg, by its A-leg's.
	var multi, single *synth.Record
	for i := range records {
		r := &records[i]
		legs := exportLegs(r)
		switch {
		case multi == nil && len(legs) > 1 && len(expected(legs, true)) > len(expected(legs, false)):
			multi = r
		case single == nil && len(legs) == 1 && r.Outcome != "answered":
			single = r
		}
	}
	if multi == nil || single == nil {
		t.Fatal("the generated capture lacks a multi-leg call with RTP or a single-leg failed call")
	}
	tests := []struct {
		name string
		rec  *synth.Record
		ask  string
		rtp  bool
	}{
		{"multi-leg", multi, multi.Legs[len(multi.Legs)-1].CallID, false},
		{"multi-leg --rtp", multi, multi.Legs[0].CallID, true},
		{"single-leg --rtp", single, single.CallID, true},
	}
	for _, tt := range tests {
		w := filepath.Join(dir, "call.pcap")
		args := []string{"export", capture, "--call", tt.ask, "-w", w}
		if tt.rtp {
			args = append(args, "--rtp")
		}
		_, stderr, code := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tt.name, code, stderr)
		}
		legs := exportLegs(tt.rec)
		want := expected(legs, tt.rtp)
		if got := writtenFrames(t, capture, w); !slices.Equal(got, want) {
			t.Errorf("%s: wrote frames %v\nwant %v", tt.name, got, want)
		}
		// Read back by tshark: the Call-IDs are exactly the call's legs.
		back, err := exec.Command(tshark, "-n", "-r", w, "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID").Output()
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, id := range strings.Fields(string(back)) {
			ids[id] = true
		}
		if len(ids) != len(legs) {
			t.Errorf("%s: tshark reads Call-IDs %v in the export, want %v", tt.name, ids, legs)
		}
		for _, id := range legs {
			if !ids[id] {
				t.Errorf("%s: leg %s missing from the export", tt.name, id)
			}
		}
		if !strings.Contains(stderr, strconv.Itoa(len(legs))+" legs") {
			t.Errorf("%s: summary %q", tt.name, stderr)
		}
	}
}

func exportLegs(r *synth.Record) []string {
	var ids []string
	for _, l := range r.Legs {
		ids = append(ids, l.CallID)
	}
	return ids
}

func TestExportErrors(t *testing.T) {
	path := corpus.Path(t, "third_party/heplify/sip_ipv6_udp.pcap")
	out := filepath.Join(t.TempDir(), "x.pcap")
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"export", path, "-w", out}, ExitUsage, "export needs --call CALL-ID"},
		{[]string{"export", path, "--call", "x"}, ExitUsage, "export needs -w OUT"},
		{[]string{"export", path, "--call", "nope@nowhere", "-w", out}, ExitError, `no call has a leg with Call-ID "nope@nowhere" in ` + path},
		{[]string{"export", "--call", "x", "-w", out}, ExitUsage, "requires at least 1 arg"},
	}
	for _, tt := range tests {
		_, stderr, code := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.err)
		}
	}
}
