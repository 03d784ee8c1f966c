package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/corpus"
	"github.com/sigtrace/sigtrace/samples/synth"
)

// class45Calls reads the A-leg and B-leg Call-IDs and outcomes of every call in truth.json.
func class45Calls(t *testing.T) map[string]struct {
	Outcome string
	Legs    []string
} {
	t.Helper()
	b, err := os.ReadFile(corpus.Path(t, "class45/truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Calls []struct {
			Outcome string   `json:"outcome"`
			A       []string `json:"a_leg_call_ids"`
			B       []string `json:"b_leg_call_ids"`
		} `json:"calls"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	out := map[string]struct {
		Outcome string
		Legs    []string
	}{}
	for _, c := range tr.Calls {
		out[c.A[0]] = struct {
			Outcome string
			Legs    []string
		}{c.Outcome, append(append([]string{}, c.A...), c.B...)}
	}
	return out
}

// jsonCall is what the CLI tests read back from -o json.
type jsonCall struct {
	CallID      string `json:"call_id"`
	Outcome     string `json:"outcome"`
	FinalStatus int    `json:"final_status"`
	InviteTime  string `json:"invite_time"`
	AnswerTime  string `json:"answer_time"`
	Legs        []struct {
		CallID string `json:"call_id"`
		Role   string `json:"role"`
		Link   string `json:"link"`
		Hops   []struct {
			Src, Dst, Transport string
		} `json:"hops"`
	} `json:"legs"`
	Events []struct {
		Type  string `json:"type"`
		Digit string `json:"digit"`
		Leg   string `json:"leg"`
		Frame int    `json:"frame"`
	} `json:"events"`
	Evicted bool `json:"evicted"`
}

func parseNDJSON(t *testing.T, out string) []jsonCall {
	t.Helper()
	var calls []jsonCall
	for i, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var c jsonCall
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		calls = append(calls, c)
	}
	return calls
}

func TestCallsJSONClass45(t *testing.T) {
	want := class45Calls(t)
	out, errOut, code := runCLI(t, "calls", "-o", "json", corpus.Path(t, "class45/class45.pcapng"))
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	calls := parseNDJSON(t, out)
	if len(calls) != len(want) {
		t.Fatalf("%d calls, want %d", len(calls), len(want))
	}
	for _, c := range calls {
		w, ok := want[c.CallID]
		if !ok {
			t.Errorf("unexpected call %s", c.CallID)
			continue
		}
		var legs []string
		for _, l := range c.Legs {
			legs = append(legs, l.CallID)
		}
		if c.Outcome != w.Outcome || strings.Join(legs, " ") != strings.Join(w.Legs, " ") {
			t.Errorf("call %s: %s %v, want %s %v", c.CallID, c.Outcome, legs, w.Outcome, w.Legs)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z", c.InviteTime); err != nil {
			t.Errorf("invite_time %q is not RFC 3339 UTC with microseconds", c.InviteTime)
		}
		if len(c.Legs[0].Hops) != 2 || c.Legs[0].Role != "class4" || c.Legs[1].Link != "X-ORIGINAL-CALLID" {
			t.Errorf("call %s: root hops %v role %s, B-leg link %q", c.CallID, c.Legs[0].Hops, c.Legs[0].Role, c.Legs[1].Link)
		}
	}
	if !strings.Contains(errOut, "20 calls (44 legs") {
		t.Errorf("summary: %s", errOut)
	}
}

func TestCallsCSVAndTable(t *testing.T) {
	want := class45Calls(t)
	file := corpus.Path(t, "class45/class45.pcapng")
	out, errOut, code := runCLI(t, "calls", "-o", "csv", "-q", file)
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q with -q", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want)+1 || rows[0][0] != "call_id" || rows[0][1] != "leg_call_ids" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	for _, r := range rows[1:] {
		w := want[r[0]]
		if r[1] != strings.Join(w.Legs, ";") || r[4] != w.Outcome {
			t.Errorf("row %v: want legs %v outcome %s", r[:5], w.Legs, w.Outcome)
		}
	}

	out, _, code = runCLI(t, "calls", "-q", file)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != ExitOK || len(lines) != len(want)+1 || lines[0] != "START\tCALL-ID\tFROM\tTO\tOUTCOME\tDURATION\tLEGS\tEVENTS" {
		t.Fatalf("table: exit %d, %d lines, header %q", code, len(lines), lines[0])
	}
	dtmf := 0
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) != 8 || want[f[1]].Outcome == "" || !strings.HasPrefix(f[4], want[f[1]].Outcome) {
			t.Errorf("table row %q", l)
		}
		if strings.Contains(f[7], "dtmf:5 hold unhold") {
			dtmf++
		}
	}
	if dtmf != 3 {
		t.Errorf("%d rows show dtmf:5 hold unhold, want the 3 dtmfhold calls", dtmf)
	}
}

func TestCallsHEPFeed(t *testing.T) {
	want := class45Calls(t)
	out, _, code := runCLI(t, "calls", "-o", "json", "-q", corpus.Path(t, "class45/class45-hep-feed.pcap"))
	calls := parseNDJSON(t, out)
	if code != ExitOK || len(calls) != len(want) {
		t.Fatalf("exit %d, %d calls", code, len(calls))
	}
	for _, c := range calls {
		if w := want[c.CallID]; c.Outcome != w.Outcome || len(c.Legs) != 1 {
			t.Errorf("call %s: %s with %d legs; want %s, the A-leg alone (the proxy sees no B-leg)", c.CallID, c.Outcome, len(c.Legs), w.Outcome)
		}
	}
}

func TestCallsLinkHeuristic(t *testing.T) {
	file := corpus.Path(t, "third_party/sipnab/b2bua-asterisk.pcapng")
	out, _, _ := runCLI(t, "calls", "-o", "json", "-q", file)
	if n := len(parseNDJSON(t, out)); n != 2 {
		t.Errorf("without --link-heuristic: %d calls, want the two legs apart", n)
	}
	out, _, code := runCLI(t, "calls", "-o", "json", "-q", "--link-heuristic", file)
	calls := parseNDJSON(t, out)
	if code != ExitOK || len(calls) != 1 || len(calls[0].Legs) != 2 || calls[0].Legs[1].Link != "heuristic" {
		t.Fatalf("with --link-heuristic: exit %d, %+v", code, calls)
	}
}

func TestCallsDTMF(t *testing.T) {
	for _, tc := range []struct {
		file, digits string
	}{
		{"third_party/sipnab/DTMFsipinfo.pcap", "1342"},
		{"third_party/sipnab/SIP_DTMF2.cap", "6789123"},
	} {
		out, _, code := runCLI(t, "calls", "-o", "json", "-q", corpus.Path(t, tc.file))
		digits := ""
		for _, c := range parseNDJSON(t, out) {
			for _, e := range c.Events {
				if e.Type == "dtmf" {
					digits += e.Digit
				}
			}
		}
		// The digits are checked against tshark in package correlate; here, that they reach the output.
		if code != ExitOK || digits != tc.digits {
			t.Errorf("%s: exit %d, digits %q, want %q", tc.file, code, digits, tc.digits)
		}
	}
}

func TestCallsFilterAndLegHeader(t *testing.T) {
	file := corpus.Path(t, "class45/class45.pcapng")
	out, errOut, code := runCLI(t, "calls", "-o", "json", "--filter", `call.outcome == "busy"`, file)
	calls := parseNDJSON(t, out)
	if code != ExitOK || len(calls) != 3 || !strings.Contains(errOut, "3 shown") {
		t.Fatalf("--filter busy: exit %d, %d calls, %s", code, len(calls), errOut)
	}
	for _, c := range calls {
		if c.Outcome != "busy" || c.FinalStatus != 486 {
			t.Errorf("filtered call %s is %s %d", c.CallID, c.Outcome, c.FinalStatus)
		}
	}
	// Every call has an INVITE: a message-field filter matching them keeps every call.
	_, errOut, code = runCLI(t, "calls", "--filter", `sip.method == "INVITE"`, file)
	if code != ExitOK || !strings.Contains(errOut, "20 shown") {
		t.Errorf("message-field filter: exit %d, %s", code, errOut)
	}
	// A --leg-header adds to the defaults: the capture still links by X-ORIGINAL-CALLID.
	out, _, _ = runCLI(t, "calls", "-o", "json", "-q", "--leg-header", "X-Parent-Leg", file)
	if n := len(parseNDJSON(t, out)); n != 20 {
		t.Errorf("with --leg-header: %d calls, want 20", n)
	}
}

func TestCallsMaxOpenEvicts(t *testing.T) {
	out, errOut, code := runCLI(t, "calls", "-o", "json", "--max-open", "2", corpus.Path(t, "class45/class45.pcapng"))
	calls := parseNDJSON(t, out)
	evicted := 0
	for _, c := range calls {
		if c.Evicted {
			evicted++
		}
	}
	if code != ExitOK || evicted == 0 || !strings.Contains(errOut, "warning:") || !strings.Contains(errOut, "evicted") {
		t.Errorf("--max-open 2: exit %d, %d of %d calls evicted, stderr %s", code, evicted, len(calls), errOut)
	}
}

func TestCallsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"calls"}, ExitUsage, "requires at least 1 arg"},
		{[]string{"calls", "-o", "xml", "x.pcap"}, ExitUsage, "unknown output format"},
		{[]string{"calls", "--max-open", "-1", "x.pcap"}, ExitUsage, "must not be negative"},
		{[]string{"calls", filepath.Join(t.TempDir(), "missing.pcap")}, ExitError, "no such file"},
	} {
		_, errOut, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.msg)
		}
	}
}

// TestCallsStdinGenerated reads a generated capture from standard input and checks the NDJSON
// against the generator's records, read with the generator's own types: the record format is
// the one the generator promises.
func TestCallsStdinGenerated(t *testing.T) {
	var capture, truth bytes.Buffer
	if _, err := synth.Generate(synth.Config{Calls: 300, Seed: 3, RTPShare: 0.05, EachAtLeast: 3}, &capture, &truth); err != nil {
		t.Fatal(err)
	}
	want, err := synth.ReadTruth(&truth)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	f := &Factory{Stdin: &capture, Stdout: &out, Stderr: &errOut, Now: time.Now, Getenv: func(string) string { return "" }}
	if code := run(context.Background(), []string{"calls", "-o", "json", "-"}, f); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	got, err := synth.ReadTruth(&out)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]synth.Record{}
	for _, r := range got {
		byID[r.CallID] = r
	}
	if len(got) != len(want) {
		t.Errorf("%d calls, want %d", len(got), len(want))
	}
	for _, w := range want {
		g, ok := byID[w.CallID]
		if !ok || g.Outcome != w.Outcome || g.FinalStatus != w.FinalStatus || !g.InviteTime.Equal(w.InviteTime.Time) ||
			!g.AnswerTime.Equal(w.AnswerTime.Time) || !g.EndTime.Equal(w.EndTime.Time) || g.BillableSeconds != w.BillableSeconds ||
			len(g.Legs) != len(w.Legs) || len(g.Events) != len(w.Events) {
			t.Errorf("call %s:\n got %+v\nwant %+v", w.CallID, g, w)
		}
	}
}
