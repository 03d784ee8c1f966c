package cli

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/sigtrace/sigtrace/decode/sip"
	"github.com/sigtrace/sigtrace/internal/check/checktest"
	"github.com/sigtrace/sigtrace/internal/corpus"
	"github.com/sigtrace/sigtrace/samples/synth"
)

// checkReport is what the tests read back from sigtrace check --json.
type checkReport struct {
	OK       bool `json:"ok"`
	Passed   int  `json:"passed"`
	Failed   int  `json:"failed"`
	Skipped  int  `json:"skipped"`
	Captures []struct {
		Input    string `json:"input"`
		Messages int    `json:"messages"`
		Calls    int    `json:"calls"`
		Diameter int    `json:"diameter"`
		DNS      int    `json:"dns"`
		Rules    []struct {
			Name      string `json:"name"`
			Status    string `json:"status"`
			Summary   string `json:"summary"`
			Offending int    `json:"offending"`
			Evidence  []struct {
				Input  string `json:"input"`
				Frame  int    `json:"frame"`
				ID     string `json:"id"`
				Detail string `json:"detail"`
			} `json:"evidence"`
		} `json:"rules"`
	} `json:"captures"`
}

// exampleRules is the rules file the README shows.
func exampleRules(t *testing.T) string {
	t.Helper()
	root, err := corpus.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "examples", "ci-rules.yaml")
}

// ciNetwork is a synthetic class-4 / class-5 network whose calls pass examples/ci-rules.yaml:
// most calls answered, no 5xx (the Unavailable scenario is left out), talk long enough for the
// retransmission faults.
func ciNetwork(mix synth.Mix, seed int64) synth.Config {
	return synth.Config{Calls: 40, Seed: seed, CPS: 2, MeanTalk: 20 * time.Second, Keepalive: 30 * time.Second,
		Mix: mix, Carriers: 2, Proxies: 1, Class5: 2, Phones: 40}
}

var cleanMix = synth.Mix{synth.Answered: 8, synth.DTMF: 1, synth.Hold: 1, synth.Forward: 1, synth.Transfer: 1,
	synth.Busy: 2, synth.Cancel: 2, synth.NotFound: 2, synth.NoAnswer: 2}

// build generates the SIP of cfg and adds Diameter and DNS with faults.
func build(t *testing.T, cfg synth.Config, core checktest.CoreFaults) (*checktest.Capture, []synth.Record) {
	t.Helper()
	c, recs, err := checktest.Synth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := checktest.AddCore(c, c.Packets[0].Time.Add(time.Second), 20, core); err != nil {
		t.Fatal(err)
	}
	return c, recs
}

// want is an offending item a rule must name: its frame and its Call-ID (Session-Id, name).
type want struct {
	Frame int
	ID    string
}

func (w want) String() string { return fmt.Sprintf("%d %s", w.Frame, w.ID) }

// tagged returns the wanted evidence for the frames tagged tag, all with id.
func tagged(c *checktest.Capture, tag, id string) []want {
	var out []want
	for _, n := range c.Tagged(tag) {
		out = append(out, want{n, id})
	}
	return out
}

func pick(t *testing.T, recs []synth.Record, n int, ok func(synth.Record) bool) []synth.Record {
	t.Helper()
	var out []synth.Record
	for _, r := range recs {
		if ok(r) && len(out) < n {
			out = append(out, r)
		}
	}
	if len(out) < n {
		t.Fatalf("the generated capture has %d such calls, want %d", len(out), n)
	}
	return out
}

func legIDs(r synth.Record) []string {
	var ids []string
	for _, l := range r.Legs {
		ids = append(ids, l.CallID)
	}
	return ids
}

// ofCall keeps the SIP messages of a call's legs.
func ofCall(r synth.Record) func(*sip.Message) bool {
	ids := legIDs(r)
	return func(m *sip.Message) bool { return slices.Contains(ids, string(m.CallID)) }
}

// tagInvite tags the first INVITE of the call's root leg (where check points at a call).
func tagInvite(t *testing.T, c *checktest.Capture, r synth.Record, tag string) {
	t.Helper()
	fs := c.SIP(func(m *sip.Message) bool { return string(m.CallID) == r.CallID && string(m.Method) == "INVITE" })
	if len(fs) == 0 {
		t.Fatalf("no INVITE for %s", r.CallID)
	}
	c.Tag(fs[0].N, tag)
}

// runCheck writes the capture, runs sigtrace check --json with the rules and returns the report.
func runCheck(t *testing.T, c *checktest.Capture, args ...string) (checkReport, string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture.pcap")
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, append([]string{"check", path, "--json"}, args...)...)
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check --json: %v\n%s\nstderr: %s", err, out, errOut)
	}
	return rep, path, code
}

// TestCheckFaults runs examples/ci-rules.yaml and --preset sanity over a generated capture where
// every rule passes, then over copies with one fault injected each: exactly the rules the fault
// breaks must fail, naming exactly the injected frames and their Call-IDs (Session-Id, name).
func TestCheckFaults(t *testing.T) {
	rules := exampleRules(t)
	base, recs := build(t, ciNetwork(cleanMix, 7), checktest.CoreFaults{})
	answered := func(r synth.Record) bool { return r.Outcome == "answered" && len(r.Legs) == 2 && len(r.Events) == 0 }

	cases := []struct {
		name string
		// inject edits c (a copy of base, or its own capture) and returns the evidence wanted per
		// failing rule; offending counts the items when more than the evidence shows.
		inject    func(t *testing.T) (c *checktest.Capture, fail map[string][]want)
		offending map[string]int
		sanity    []string // sanity rules that fail too
	}{
		{name: "clean", inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			return base.Clone(), nil
		}},
		{name: "sip-5xx", sanity: []string{"no-sip-server-errors"}, inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			// A busy call's 486s (B-leg and both A-leg hops) become 503.
			c := base.Clone()
			r := pick(t, recs, 1, func(r synth.Record) bool { return r.Outcome == "busy" })[0]
			var w []want
			for _, f := range c.SIP(func(m *sip.Message) bool { return ofCall(r)(m) && m.StatusCode == 486 }) {
				if err := c.Replace(f.N, "SIP/2.0 486", "SIP/2.0 503"); err != nil {
					t.Fatal(err)
				}
				w = append(w, want{f.N, string(f.SIP.CallID)})
			}
			if len(w) != 3 {
				t.Fatalf("busy call %s has %d 486s, want 3", r.CallID, len(w))
			}
			return c, map[string][]want{"no-sip-server-errors": w}
		}},
		{name: "no-final-response", sanity: []string{"invite-final-response"}, inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			// A rejected call loses its 404 and ACK: its INVITE never gets a final response.
			c := base.Clone()
			r := pick(t, recs, 1, func(r synth.Record) bool { return r.FinalStatus == 404 })[0]
			tagInvite(t, c, r, "invite")
			var drop []int
			for _, f := range c.SIP(ofCall(r)) {
				if string(f.SIP.Method) != "INVITE" {
					drop = append(drop, f.N)
				}
			}
			c.Drop(drop...)
			return c, map[string][]want{"every-invite-final-response": tagged(c, "invite", r.CallID)}
		}},
		{name: "low-answer-seizure-ratio", inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			// Another day: mostly busy and unroutable. The ratio's evidence is the calls not
			// answered, in the order they ended.
			mix := synth.Mix{synth.Answered: 1, synth.Busy: 4, synth.NotFound: 4, synth.Cancel: 1}
			c, rs := build(t, ciNetwork(mix, 11), checktest.CoreFaults{})
			var w []want
			for _, r := range rs {
				if r.Outcome != "answered" {
					tagInvite(t, c, r, "invite-"+r.CallID)
				}
			}
			for _, r := range rs {
				if r.Outcome != "answered" && len(w) < 10 {
					w = append(w, tagged(c, "invite-"+r.CallID, r.CallID)...)
				}
			}
			return c, map[string][]want{"answer-seizure-ratio": w}
		}, offending: map[string]int{"answer-seizure-ratio": -1}},
		{name: "slow-ringing", inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			// Four answered calls ring 5 s late: everything from their first 18x on moves.
			c := base.Clone()
			slow := pick(t, recs, 4, answered)
			for _, r := range slow {
				tagInvite(t, c, r, "invite-"+r.CallID)
				fs := c.SIP(ofCall(r))
				var from time.Time
				for _, f := range fs {
					if f.SIP.StatusCode/10 == 18 {
						from = c.Packets[f.N-1].Time
						break
					}
				}
				var move []int
				for _, f := range fs {
					if !c.Packets[f.N-1].Time.Before(from) {
						move = append(move, f.N)
					}
				}
				c.Shift(5*time.Second, move...)
			}
			var w []want
			for _, r := range slow {
				w = append(w, tagged(c, "invite-"+r.CallID, r.CallID)...)
			}
			return c, map[string][]want{"post-dial-delay": w}
		}},
		{name: "unlinked-class5-leg", inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			// The B-leg INVITE loses X-ORIGINAL-CALLID (renamed in place): nothing links it.
			c := base.Clone()
			r := pick(t, recs, 1, answered)[0]
			b := r.Legs[1].CallID
			fs := c.SIP(func(m *sip.Message) bool { return string(m.CallID) == b && string(m.Method) == "INVITE" })
			if len(fs) != 1 {
				t.Fatalf("B-leg %s: %d INVITEs", b, len(fs))
			}
			if err := c.Replace(fs[0].N, "X-ORIGINAL-CALLID:", "X-ORIGINAL-CALLIX:"); err != nil {
				t.Fatal(err)
			}
			return c, map[string][]want{"class5-legs-linked": {{fs[0].N, b}}}
		}},
		{name: "retransmission-storm", inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			// The caller never acknowledges: the proxy sends the 200 OK four more times (T1
			// doubling), more than the 3 the rules allow, fewer than the 10 of the sanity preset.
			c := base.Clone()
			r := pick(t, recs, 1, func(r synth.Record) bool { return answered(r) && r.BillableSeconds > 10 })[0]
			tagInvite(t, c, r, "invite")
			var ok200 []checktest.Frame
			for _, f := range c.SIP(func(m *sip.Message) bool {
				return string(m.CallID) == r.CallID && m.StatusCode == 200 && string(m.CSeqMethod) == "INVITE"
			}) {
				ok200 = append(ok200, f)
			}
			last := ok200[len(ok200)-1] // the proxy's 200 to the carrier
			c.Copy(last.N, "retransmission", 500*time.Millisecond, 1500*time.Millisecond, 3500*time.Millisecond, 7500*time.Millisecond)
			return c, map[string][]want{"no-retransmission-storms": tagged(c, "invite", r.CallID)}
		}},
		{name: "diameter-error", sanity: []string{"no-diameter-errors"}, inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			c, _ := build(t, ciNetwork(cleanMix, 7), checktest.CoreFaults{ResultCode: map[int]uint32{3: 5012}})
			return c, map[string][]want{"diameter-result-codes": tagged(c, "cca-3", checktest.Session(3))}
		}},
		{name: "diameter-unanswered", sanity: []string{"no-unanswered-diameter"}, inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			c, _ := build(t, ciNetwork(cleanMix, 7), checktest.CoreFaults{NoAnswer: map[int]bool{5: true}})
			return c, map[string][]want{"no-unanswered-diameter": tagged(c, "ccr-5", checktest.Session(5))}
		}},
		{name: "diameter-slow", inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			// Two of twenty answers 300 ms late: the 95th percentile is one of them.
			c, _ := build(t, ciNetwork(cleanMix, 7), checktest.CoreFaults{Slow: map[int]time.Duration{1: 300 * time.Millisecond, 2: 300 * time.Millisecond}})
			return c, map[string][]want{"diameter-latency": append(tagged(c, "ccr-1", checktest.Session(1)), tagged(c, "ccr-2", checktest.Session(2))...)}
		}},
		{name: "dns-servfail-3gpp", sanity: []string{"no-dns-server-failures"}, inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			c, _ := build(t, ciNetwork(cleanMix, 7), checktest.CoreFaults{Rcode: map[int]int{4: mdns.RcodeServerFailure}})
			return c, map[string][]want{"no-servfail-3gppnetwork": tagged(c, "dnsr-4", checktest.DNSName(4))}
		}},
		{name: "dns-servfail-elsewhere", sanity: []string{"no-dns-server-failures"}, inject: func(t *testing.T) (*checktest.Capture, map[string][]want) {
			// A SERVFAIL outside 3gppnetwork.org: the rules file does not care, the preset does.
			c, _ := build(t, ciNetwork(cleanMix, 7), checktest.CoreFaults{Rcode: map[int]int{3: mdns.RcodeServerFailure}})
			return c, nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, fail := tc.inject(t)
			rep, path, code := runCheck(t, c, "--rules", rules)
			if len(rep.Captures) != 1 || len(rep.Captures[0].Rules) != 10 {
				t.Fatalf("want 1 capture with 10 rules, got %+v", rep)
			}
			wantCode := ExitOK
			if len(fail) > 0 {
				wantCode = ExitViolations
			}
			if code != wantCode || rep.OK != (len(fail) == 0) || rep.Failed != len(fail) {
				t.Errorf("exit code %d (want %d), ok %v, %d failed (want %d)", code, wantCode, rep.OK, rep.Failed, len(fail))
			}
			for _, r := range rep.Captures[0].Rules {
				w, shouldFail := fail[r.Name]
				if r.Status != map[bool]string{true: "fail", false: "pass"}[shouldFail] {
					t.Errorf("%s: %s (%s)", r.Name, r.Status, r.Summary)
					continue
				}
				if !shouldFail {
					continue
				}
				var got []string
				for _, ev := range r.Evidence {
					if ev.Input != path {
						t.Errorf("%s: evidence input %q, want %q", r.Name, ev.Input, path)
					}
					got = append(got, want{ev.Frame, ev.ID}.String())
				}
				var exp []string
				for _, x := range w {
					exp = append(exp, x.String())
				}
				sort.Strings(got)
				sort.Strings(exp)
				if !slices.Equal(got, exp) {
					t.Errorf("%s evidence (frame, id):\n got %q\nwant %q", r.Name, got, exp)
				}
				off := len(w)
				if n, ok := tc.offending[r.Name]; ok {
					off = n
				}
				if off >= 0 && r.Offending != off {
					t.Errorf("%s: %d offending, want %d", r.Name, r.Offending, off)
				}
			}

			// The sanity preset on the same capture.
			rep, _, code = runCheck(t, c, "--preset", "sanity")
			var failed []string
			for _, r := range rep.Captures[0].Rules {
				if r.Status == "fail" {
					failed = append(failed, r.Name)
				}
			}
			if !slices.Equal(failed, tc.sanity) || (code == ExitViolations) != (len(tc.sanity) > 0) {
				t.Errorf("--preset sanity: exit %d, failed %q, want %q", code, failed, tc.sanity)
			}
		})
	}
}

// TestCheckASRTruth holds the answer-seizure ratio's measure to the generator's truth.
func TestCheckASRTruth(t *testing.T) {
	mix := synth.Mix{synth.Answered: 1, synth.Busy: 4, synth.NotFound: 4, synth.Cancel: 1}
	c, recs := build(t, ciNetwork(mix, 11), checktest.CoreFaults{})
	answered := 0
	for _, r := range recs {
		if r.Outcome == "answered" {
			answered++
		}
	}
	rep, _, code := runCheck(t, c, "--rules", exampleRules(t))
	if code != ExitViolations {
		t.Fatalf("exit %d", code)
	}
	for _, r := range rep.Captures[0].Rules {
		if r.Name != "answer-seizure-ratio" {
			continue
		}
		if r.Offending != len(recs)-answered || !strings.Contains(r.Summary, fmt.Sprintf("(%d of %d calls)", answered, len(recs))) {
			t.Errorf("summary %q, %d offending; truth: %d of %d answered", r.Summary, r.Offending, answered, len(recs))
		}
	}
}

// junitDoc is JUnit XML read back.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestCheckJUnitAndGitHub checks two captures (one clean, one with a 5xx) in one run: the JUnit
// file has a suite per capture and a case per rule, the failure carries the evidence, and the
// GitHub annotations point at the rule's line of the rules file.
func TestCheckJUnitAndGitHub(t *testing.T) {
	dir := t.TempDir()
	clean, recs := build(t, ciNetwork(cleanMix, 7), checktest.CoreFaults{})
	bad := clean.Clone()
	r := pick(t, recs, 1, func(r synth.Record) bool { return r.Outcome == "busy" })[0]
	f := bad.SIP(func(m *sip.Message) bool { return string(m.CallID) == r.CallID && m.StatusCode == 486 })[0]
	if err := bad.Replace(f.N, "SIP/2.0 486", "SIP/2.0 503"); err != nil {
		t.Fatal(err)
	}
	cleanPath, badPath := filepath.Join(dir, "clean.pcap"), filepath.Join(dir, "bad.pcap")
	if err := clean.WriteFile(cleanPath); err != nil {
		t.Fatal(err)
	}
	if err := bad.WriteFile(badPath); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(dir, "report.xml")
	rules := exampleRules(t)
	out, errOut, code := runCLI(t, "check", cleanPath, badPath, "--rules", rules, "--junit", junit, "--format", "github")
	if code != ExitViolations || !strings.Contains(errOut, "check: 1 of 20 rule outcomes failed") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	// The rule no-sip-server-errors starts on line 6 of the example.
	wantAnn := fmt.Sprintf("::error file=%s,line=6,title=sigtrace check%%3A no-sip-server-errors::%s: no-sip-server-errors: 1 match of 865 messages: more than max 0%%0A%s:%d %s (503 Busy Here",
		strings.ReplaceAll(rules, ":", "%3A"), badPath, badPath, f.N, r.CallID)
	if !strings.Contains(out, wantAnn) {
		t.Errorf("no annotation\n%s\nin\n%s", wantAnn, out)
	}
	if n := strings.Count(out, "::error "); n != 1 {
		t.Errorf("%d annotations, want 1", n)
	}
	if !strings.Contains(out, cleanPath+": all 10 rules passed") || !strings.Contains(out, badPath+": 1 of 10 rules failed") {
		t.Errorf("text summary missing:\n%s", out)
	}

	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 20 || doc.Failures != 1 || len(doc.Suites) != 2 {
		t.Fatalf("testsuites: %d tests, %d failures, %d suites", doc.Tests, doc.Failures, len(doc.Suites))
	}
	for i, path := range []string{cleanPath, badPath} {
		s := doc.Suites[i]
		if s.Name != path || s.Tests != 10 || len(s.Cases) != 10 || s.Failures != i {
			t.Errorf("suite %d: %s, %d tests, %d cases, %d failures", i, s.Name, s.Tests, len(s.Cases), s.Failures)
		}
		for _, tc := range s.Cases {
			if tc.Classname != path {
				t.Errorf("case %s: classname %q", tc.Name, tc.Classname)
			}
			if (tc.Failure != nil) != (i == 1 && tc.Name == "no-sip-server-errors") {
				t.Errorf("suite %d case %s: failure %v", i, tc.Name, tc.Failure)
			}
			if tc.Failure != nil && !strings.Contains(tc.Failure.Text, fmt.Sprintf("%s:%d %s", badPath, f.N, r.CallID)) {
				t.Errorf("failure text lacks the evidence: %q", tc.Failure.Text)
			}
		}
	}
	validateJUnit(t, junit)
}

// validateJUnit checks a JUnit file against the schema subset in internal/check/testdata with
// xmllint, when it is installed (CI installs libxml2-utils).
func validateJUnit(t *testing.T, path string) {
	t.Helper()
	xmllint := corpus.Tool(t, "xmllint")
	root, err := corpus.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	xsd := filepath.Join(root, "internal", "check", "testdata", "junit.xsd")
	if out, err := exec.Command(xmllint, "--noout", "--schema", xsd, path).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

// TestCheckUsage covers the command's mistakes: exit 2 for flags and rules files (with the
// file's line and column), 1 for unreadable captures.
func TestCheckUsage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	demo := filepath.Join(mustRoot(t), "samples", "demo.pcap")
	badKey := write("badkey.yaml", "rules:\n  - name: x\n    over: messages\n    maxx: 0\n")
	badExpr := write("badexpr.yaml", "rules:\n  - name: x\n    over: messages\n    match: 'sip.status >= 500 and sip.stauts == 1'\n    max: 0\n")
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"check", demo}, ExitUsage, "no rules: give --rules FILE or --preset sanity"},
		{[]string{"check", demo, "--preset", "nope"}, ExitUsage, `unknown preset "nope"`},
		{[]string{"check", demo, "--preset", "sanity", "--format", "xml"}, ExitUsage, `unknown report format "xml"`},
		{[]string{"check", demo, "--preset", "sanity", "--format", "github", "--json"}, ExitUsage, "--json and --format github"},
		{[]string{"check", demo, "--rules", badKey}, ExitUsage, badKey + `:4:5: unknown key "maxx"`},
		{[]string{"check", demo, "--rules", badExpr}, ExitUsage, badExpr + `:4:35: rule "x": match: unknown field "sip.stauts"`},
		{[]string{"check", demo, "--rules", filepath.Join(dir, "missing.yaml")}, ExitError, "missing.yaml: no such file"},
		{[]string{"check", filepath.Join(dir, "missing.pcap"), "--preset", "sanity"}, ExitError, "missing.pcap: no such file"},
		{[]string{"check", demo, "--preset", "sanity", "--preset", "sanity"}, ExitUsage, `rule "no-sip-server-errors" is already defined`},
	} {
		_, errOut, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.err) {
			t.Errorf("%q: exit %d (want %d), stderr %q (want %q)", tc.args[2:], code, tc.code, errOut, tc.err)
		}
	}
}

func mustRoot(t *testing.T) string {
	t.Helper()
	root, err := corpus.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
