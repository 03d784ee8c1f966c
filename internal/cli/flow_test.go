package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/ladder"
)

var updateFlowGolden = flag.Bool("update-flow", false, "rewrite testdata/flow/*.golden from the current output")

const class45 = "../../samples/class45/class45.pcapng"

// TestFlowGolden holds the text and mermaid ladders of class45 calls to reviewed files: a
// forwarded call asked for by its second B-leg, a call with DTMF and hold (notes, re-INVITEs),
// a transfer in mermaid, a busy call asked for by the beginning of a Call-ID.
// Regenerate with: go test ./internal/cli -run TestFlowGolden -update-flow
func TestFlowGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"fwdbusy.txt", []string{"flow", class45, "--call", "d1e0878f-7cc2-4767-b34b-297c031b60ed"}},
		{"dtmfhold.txt", []string{"flow", class45, "--call", "1-7998@127.0.0.14"}},
		{"xfer.mmd", []string{"flow", "-o", "mermaid", class45, "--call", "1-8089@127.0.0.17"}},
		{"busy-prefix.txt", []string{"flow", class45, "--call", "5b35dacc"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out, errOut, code := runCLI(t, tt.args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			path := filepath.Join("testdata", "flow", tt.golden)
			if *updateFlowGolden {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s (go test -run TestFlowGolden -update-flow rewrites it):\n%s", path, out)
			}
		})
	}
}

// flowTruthCall is the part of a call in samples/class45/truth.json that the flow tests read.
type flowTruthCall struct {
	ID          string   `json:"id"`
	ALegCallIDs []string `json:"a_leg_call_ids"`
	BLegCallIDs []string `json:"b_leg_call_ids"`
	Carrier     string   `json:"carrier"`
	Class4      string   `json:"class4_proxy"`
	Class5      string   `json:"class5_node"`
	ALeg        struct {
		Messages int `json:"messages"`
	} `json:"a_leg"`
	BLegs []struct {
		CallID     string `json:"call_id"`
		Class5     string `json:"class5_node"`
		Subscriber string `json:"subscriber"`
		Messages   int    `json:"messages"`
	} `json:"b_legs"`
}

func flowTruth(t *testing.T) []flowTruthCall {
	t.Helper()
	data, err := os.ReadFile("../../samples/class45/truth.json")
	if err != nil {
		t.Fatal(err)
	}
	var truth struct{ Calls []flowTruthCall }
	if err := json.Unmarshal(data, &truth); err != nil {
		t.Fatal(err)
	}
	if len(truth.Calls) == 0 {
		t.Fatal("no calls in truth.json")
	}
	return truth.Calls
}

// TestFlowClass45Truth draws every call of the class45 capture, asked for by its last B-leg, and
// checks the diagram against the capture's ground truth: the legs, one arrow per message of each
// leg on each hop, and the hosts named by their role.
func TestFlowClass45Truth(t *testing.T) {
	f := &Factory{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }}
	for _, c := range flowTruth(t) {
		t.Run(c.ID, func(t *testing.T) {
			ask := c.BLegCallIDs[len(c.BLegCallIDs)-1]
			d, err := flowDiagram(context.Background(), f, &FlowOptions{Inputs: []string{class45}, Calls: []string{ask}})
			if err != nil {
				t.Fatal(err)
			}
			var legs []string
			for _, l := range d.Legs {
				legs = append(legs, l.CallID)
			}
			if want := append(slices.Clone(c.ALegCallIDs), c.BLegCallIDs...); !slices.Equal(legs, want) {
				t.Errorf("legs %q, want %q", legs, want)
			}
			perLeg := make(map[string]int)
			frames := make(map[int]bool)
			for _, r := range d.Rows {
				if a := r.Arrow; a != nil {
					if a.Leg < 0 {
						t.Errorf("frame %d belongs to no leg", a.Message.Frame)
						continue
					}
					perLeg[d.Legs[a.Leg].CallID]++
					if frames[a.Message.Frame] {
						t.Errorf("frame %d drawn twice", a.Message.Frame)
					}
					frames[a.Message.Frame] = true
					if a.Retransmission {
						t.Errorf("frame %d marked as a retransmission; the capture has none", a.Message.Frame)
					}
				}
			}
			if got := perLeg[c.ALegCallIDs[0]]; got != c.ALeg.Messages {
				t.Errorf("root leg: %d arrows, want %d", got, c.ALeg.Messages)
			}
			for _, b := range c.BLegs {
				if got := perLeg[b.CallID]; got != b.Messages {
					t.Errorf("leg %s: %d arrows, want %d", b.CallID, got, b.Messages)
				}
			}
			roles := make(map[string]string)
			for _, h := range d.Hosts {
				roles[h.Addr.String()] = h.Role
			}
			want := map[string]string{c.Carrier: "carrier", c.Class4: "class-4", c.Class5: "class-5"}
			for _, b := range c.BLegs {
				want[b.Class5] = "class-5"
				want[b.Subscriber] = "phone"
			}
			for addr, role := range want {
				if roles[addr] != role {
					t.Errorf("host %s is %q, want %q", addr, roles[addr], role)
				}
			}
			if len(d.Hosts) != len(want) {
				t.Errorf("%d hosts, want %d", len(d.Hosts), len(want))
			}
		})
	}
}

func TestFlowErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no call: the calls are listed", []string{"flow", class45}, ExitUsage,
			`flow needs --call ID; the input holds 20 calls:\n  1-7936@127.0.0.12  2026-11-23T02:29:\d\d\.\d{6}Z  \+\d+ -> \+\d+  busy 486, 2 legs\n`},
		{"unknown Call-ID", []string{"flow", class45, "--call", "nope@nowhere"}, ExitError,
			`no call has a leg with Call-ID "nope@nowhere" \(20 calls in ../../samples/class45/class45.pcapng\)`},
		{"ambiguous beginning", []string{"flow", class45, "--call", "1-"}, ExitError,
			`Call-ID "1-" is the beginning of legs of several calls \(1-7936@127.0.0.12, 1-7914@127.0.0.11...\): give more of it`},
		{"empty Call-ID", []string{"flow", class45, "--call", ""}, ExitUsage, `--call needs a Call-ID`},
		{"unknown format", []string{"flow", "-o", "svg", class45, "--call", "x"}, ExitUsage, `unknown output format "svg"`},
		{"missing file", []string{"flow", "nope.pcap", "--call", "x"}, ExitError, `nope.pcap: no such file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, tt.args...)
			if code != tt.code || !regexp.MustCompile(tt.stderr).MatchString(errOut) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, stderr matching %q", code, errOut, tt.code, tt.stderr)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
	// Without --call, at most flowListMax calls are listed.
	_, errOut, _ := runCLI(t, "flow", class45)
	if n := strings.Count(errOut, "@127.0.0."); n != flowListMax {
		t.Errorf("%d calls listed, want %d", n, flowListMax)
	}
}

// TestFlowStdin reads the capture from standard input (kept in a temporary file for the two
// passes) and draws the same ladder as from the file, the input named "-".
func TestFlowStdin(t *testing.T) {
	capture, err := os.ReadFile(class45)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, _, code := runCLI(t, "flow", class45, "--call", "1-8028@127.0.0.15")
	if code != ExitOK {
		t.Fatal(code)
	}
	var out, errOut bytes.Buffer
	f := &Factory{Stdin: bytes.NewReader(capture), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, Now: time.Now}
	if code := run(context.Background(), []string{"flow", "-", "--call", "1-8028@127.0.0.15"}, f); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if want := strings.ReplaceAll(fromFile, class45, "-"); out.String() != want {
		t.Errorf("from stdin:\n%s\nfrom the file:\n%s", out.String(), fromFile)
	}
}

// TestFlowSeveralCalls draws two calls in one diagram, legs lettered in the order the calls
// started, and the HTML page holds one arrow per message of both.
func TestFlowSeveralCalls(t *testing.T) {
	f := &Factory{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }}
	d, err := flowDiagram(context.Background(), f, &FlowOptions{Inputs: []string{class45}, Calls: []string{"2-7914@127.0.0.11", "1-7914@127.0.0.11", "cdd8af10-abf3-496a-afa9-4eee8f1be893"}})
	if err != nil {
		t.Fatal(err)
	}
	var legs []string
	for i, l := range d.Legs {
		legs = append(legs, ladder.LegName(i)+"="+l.CallID)
	}
	want := []string{"A=1-7914@127.0.0.11", "B=cdd8af10-abf3-496a-afa9-4eee8f1be893", "C=2-7914@127.0.0.11", "D=12060fe4-6aa9-42fe-af47-b75d91ce2a77"}
	if !slices.Equal(legs, want) {
		t.Errorf("legs %q, want %q", legs, want)
	}
	messages := 0
	for _, c := range flowTruth(t) {
		if c.ID == "basic-1" || c.ID == "basic-2" {
			messages += c.ALeg.Messages
			for _, b := range c.BLegs {
				messages += b.Messages
			}
		}
	}
	if d.Arrows() != messages {
		t.Errorf("%d arrows, want %d", d.Arrows(), messages)
	}
	if !strings.Contains(d.Title, "call 1-7914@127.0.0.11: ") || !strings.Contains(d.Title, "; call 2-7914@127.0.0.11: ") {
		t.Errorf("title %q", d.Title)
	}
	out, _, code := runCLI(t, "flow", "-o", "html", class45, "--call", "1-7914@127.0.0.11", "--call", "2-7914@127.0.0.11")
	if code != ExitOK || strings.Count(out, `<g class="arrow`) != d.Arrows() {
		t.Errorf("html: exit %d, %d arrows, want %d", code, strings.Count(out, `<g class="arrow`), d.Arrows())
	}
}
