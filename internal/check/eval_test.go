package check

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/internal/corpus"
	"github.com/sigtrace/sigtrace/samples/synth"
)

func TestStatistic(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		key  string
		want float64
	}{
		{"max", 10}, {"min", 1}, {"avg_max", 5.5}, {"avg_min", 5.5},
		// Nearest rank: the smallest value with p% of the sample at or below it.
		{"p50_max", 5}, {"p90_max", 9}, {"p95_max", 10}, {"p99_max", 10},
	} {
		if got := statistic(v, tc.key); got != tc.want {
			t.Errorf("%s: %g, want %g", tc.key, got, tc.want)
		}
	}
	if got := statistic([]float64{7}, "p50_max"); got != 7 {
		t.Errorf("one value: %g", got)
	}
}

// demo opens samples/demo.pcap and reads its truth.
func demo(t *testing.T) (string, []synth.Record) {
	t.Helper()
	root, err := corpus.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "samples", "demo.truth.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := synth.ReadTruth(f)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "samples", "demo.pcap"), recs
}

func checkFile(t *testing.T, rules string, paths ...string) *Result {
	t.Helper()
	rs, err := Parse("test.yaml", []byte(rules), nil)
	if err != nil {
		t.Fatal(err)
	}
	var caps []*decode.Capture
	for _, p := range paths {
		c, err := decode.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		caps = append(caps, c)
	}
	res, err := rs.Check(context.Background(), caps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestCheckDemoTruth measures samples/demo.pcap with rules whose right answers follow from its
// truth file: counts of outcomes, a ratio, PDD percentiles, and a call rule that reads messages.
func TestCheckDemoTruth(t *testing.T) {
	path, recs := demo(t)
	answered, failed, pdds := 0, map[string]bool{}, []float64{}
	for _, r := range recs {
		switch r.Outcome {
		case "answered":
			answered++
		case "failed":
			failed[r.CallID] = true
		}
		if r.PDDSeconds > 0 {
			pdds = append(pdds, r.PDDSeconds)
		}
	}
	slices.Sort(pdds)
	p90 := pdds[int(math.Ceil(0.9*float64(len(pdds))))-1]

	res := checkFile(t, `rules:
  - name: answered
    over: calls
    match: call.outcome == "answered"
    min: 1
    max: 1000
  - name: asr
    over: calls
    match: call.outcome == "answered"
    min_ratio: 0.9
  - name: pdd
    over: calls
    value: call.pdd
    p90_max: 0.001
  - name: failed-by-class5
    over: calls
    match: 'sip.status == 503 and ip.src in "10.20.0.0/16" and call.legs == 1'
    max: 0
  - name: sip
    over: messages
    where: sip
    match: sip.method == "INVITE"
    max_ratio: 0.01
`, path)
	if len(res.Rules) != 5 || res.Calls != len(recs) || res.Input != path {
		t.Fatalf("%d rules, %d calls (truth %d), input %q", len(res.Rules), res.Calls, len(recs), res.Input)
	}
	byName := map[string]RuleResult{}
	for _, rr := range res.Rules {
		byName[rr.Rule.Name] = rr
	}
	if rr := byName["answered"]; rr.Status != Pass || rr.Matched != answered || rr.Population != len(recs) {
		t.Errorf("answered: %+v (truth %d of %d)", rr, answered, len(recs))
	}
	rr := byName["asr"]
	if rr.Status != Fail || rr.Bounds[0].Measured != float64(answered)/float64(len(recs)) || rr.Offending != len(recs)-answered || len(rr.Evidence) != DefaultMaxEvidence {
		t.Errorf("asr: %+v", rr)
	}
	for _, ev := range rr.Evidence {
		if i := slices.IndexFunc(recs, func(r synth.Record) bool { return r.CallID == ev.ID }); i < 0 || recs[i].Outcome == "answered" || ev.Input != path || ev.Frame < 1 {
			t.Errorf("asr evidence %+v is not an unanswered call", ev)
		}
	}
	rr = byName["pdd"]
	if rr.Status != Fail || rr.Matched != len(pdds) || rr.Bounds[0].Measured != p90 || !strings.HasPrefix(rr.Summary, "call.pdd p90 ") {
		t.Errorf("pdd: %+v (truth: p90 %g of %d)", rr, p90, len(pdds))
	}
	beyond := 0
	for _, v := range pdds {
		if v > 0.001 {
			beyond++
		}
	}
	if rr.Offending != beyond {
		t.Errorf("pdd: %d offending, truth %d above 1 ms", rr.Offending, beyond)
	}
	// Every 503 in the demo comes from a class-5 node on a one-leg call: the failed calls.
	rr = byName["failed-by-class5"]
	if rr.Status != Fail || rr.Offending != len(failed) {
		t.Errorf("failed-by-class5: %+v, truth %d failed calls", rr, len(failed))
	}
	for _, ev := range rr.Evidence {
		if !failed[ev.ID] || !strings.Contains(ev.Detail, "503 Service Unavailable 10.20.0.") {
			t.Errorf("failed-by-class5 evidence %+v", ev)
		}
	}
	if rr := byName["sip"]; rr.Status != Fail || rr.Population != res.Messages || rr.Matched == 0 {
		t.Errorf("sip: %+v, %d messages", rr, res.Messages)
	}
}

// TestCheckMerge checks two copies of one capture merged as one: every message counts twice, and
// the capture's name joins the inputs.
func TestCheckMerge(t *testing.T) {
	path, _ := demo(t)
	res := checkFile(t, "rules:\n  - name: any\n    over: messages\n    min: 0\n", path)
	twice := checkFile(t, "rules:\n  - name: any\n    over: messages\n    min: 0\n", path, path)
	if twice.Input != path+"+"+path || len(twice.Inputs) != 2 || twice.Frames != 2*res.Frames {
		t.Errorf("merged: %q, %d frames (one: %d)", twice.Input, twice.Frames, res.Frames)
	}
	// The second copy is the same packets at the same times: capture duplicates, left out.
	if twice.Messages != res.Messages || twice.Rules[0].Matched != res.Messages {
		t.Errorf("merged: %d messages (one: %d)", twice.Messages, res.Messages)
	}
}

// TestCheckSkip: a ratio or statistic with nothing to measure is skipped, a count is not.
func TestCheckSkip(t *testing.T) {
	path, _ := demo(t)
	res := checkFile(t, `rules:
  - name: latency
    over: diameter
    value: diameter.latency
    p95_max: 1s
  - name: answered
    over: dns
    status: answered
    min_ratio: 1
  - name: some-dns
    over: dns
    min: 1
`, path)
	want := []Status{Skip, Skip, Fail}
	for i, rr := range res.Rules {
		if rr.Status != want[i] {
			t.Errorf("%s: %s (%s), want %s", rr.Rule.Name, rr.Status, rr.Summary, want[i])
		}
	}
	if res.Rules[2].Summary != "0 matches: less than min 1" {
		t.Errorf("summary %q", res.Rules[2].Summary)
	}
}
