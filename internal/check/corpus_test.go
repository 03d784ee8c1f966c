package check

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// sanity runs the sanity preset over one capture and returns the failed rules by name.
func sanity(t *testing.T, path string) (*Result, map[string]RuleResult) {
	t.Helper()
	rs, err := Preset("sanity", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := decode.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := rs.Check(context.Background(), []*decode.Capture{c}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]RuleResult{}
	for _, rr := range res.Rules {
		if rr.Status == Fail {
			failed[rr.Rule.Name] = rr
		}
	}
	return res, failed
}

func frames(evs []Evidence) []int {
	var out []int
	for _, ev := range evs {
		out = append(out, ev.Frame)
	}
	return out
}

// TestSanityOnRealCaptures runs the preset over real captures whose faults are known.
func TestSanityOnRealCaptures(t *testing.T) {
	// A Kamailio / SIPp class-4 / class-5 run: every call completed (its truth.json), no errors.
	res, failed := sanity(t, corpus.Path(t, "class45/class45.pcapng"))
	if len(failed) != 0 || res.Calls != 20 {
		t.Errorf("class45: %d calls, failed %v", res.Calls, failed)
	}

	// PyHSS S6a resynchronisation: six AIRs, five AIAs (MANIFEST.md); the last AIR, frame 11, is
	// never answered.
	_, failed = sanity(t, corpus.Path(t, "third_party/pyhss/Resync.pcap"))
	if rr, ok := failed["no-unanswered-diameter"]; len(failed) != 1 || !ok || !slices.Equal(frames(rr.Evidence), []int{11}) ||
		!strings.Contains(rr.Evidence[0].Detail, "AIR unanswered") {
		t.Errorf("Resync: %v", failed)
	}

	// open5gs attach: one AIA with an Experimental-Result-Code of 5001 (user unknown), at the frame
	// tshark names.
	path := corpus.Path(t, "third_party/open5gs/testattach.pcapng")
	_, failed = sanity(t, path)
	rr, ok := failed["no-diameter-errors"]
	if len(failed) != 1 || !ok {
		t.Fatalf("testattach: %v", failed)
	}
	tshark := corpus.Tool(t, "tshark")
	out, err := exec.Command(tshark, "-r", path, "-Y", "diameter.Result-Code >= 3000 || diameter.Experimental-Result-Code >= 3000 || diameter.flags.error == 1",
		"-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, f := range strings.Fields(string(out)) {
		n, _ := strconv.Atoi(f)
		want = append(want, n)
	}
	if got := frames(rr.Evidence); len(want) == 0 || !slices.Equal(got, want) || !strings.Contains(rr.Evidence[0].Detail, "AIA 5001") {
		t.Errorf("testattach: evidence %v, tshark %v", rr.Evidence, want)
	}
}
