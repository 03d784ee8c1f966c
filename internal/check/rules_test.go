package check

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

func TestParseRules(t *testing.T) {
	rs, err := Parse("r.yaml", []byte(`rules:
  - name: asr
    description: answered share
    over: calls
    where: 'call.outcome != "in-progress"'
    match: 'call.outcome == "answered"'
    min_ratio: 95%
    max_ratio: 1
  - name: pdd
    over: calls
    value: call.pdd
    p95_max: 250ms
    max: 3
  - name: lost
    over: diameter
    status: [unanswered, orphan]
    min: 0
    max: 2
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) != 3 {
		t.Fatalf("%d rules", len(rs.Rules))
	}
	asr, pdd, lost := rs.Rules[0], rs.Rules[1], rs.Rules[2]
	if asr.Kind != KindRatio || asr.Over != OverCalls || asr.Description != "answered share" || asr.Line != 2 || asr.Source() != "r.yaml:2" ||
		len(asr.Bounds) != 2 || asr.Bounds[0] != (Bound{"min_ratio", 0.95, "95%"}) || asr.Bounds[1] != (Bound{"max_ratio", 1, "1"}) {
		t.Errorf("asr: %+v", asr)
	}
	if pdd.Kind != KindStatistic || pdd.Value != "call.pdd" || len(pdd.Bounds) != 2 ||
		pdd.Bounds[0] != (Bound{"p95_max", 0.25, "250ms"}) || pdd.Bounds[1] != (Bound{"max", 3, "3"}) {
		t.Errorf("pdd: %+v", pdd)
	}
	if lost.Kind != KindCount || len(lost.Status) != 2 || lost.Status[0] != correlate.PairUnanswered || lost.Status[1] != correlate.PairOrphan {
		t.Errorf("lost: %+v", lost)
	}
}

// TestParseErrors holds every error to its file, line and column.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"", "r.yaml: empty rules file"},
		{"rules: [", "r.yaml: yaml: line 1: did not find expected node content"},
		{"rulez: []\n", `r.yaml:1:1: unknown key "rulez" (want rules)`},
		{"rules: x\n", "r.yaml:1:8: rules must be a list"},
		{"rules: []\n", "r.yaml:1:8: the rules list is empty"},
		{"rules:\n  - x\n", "r.yaml:2:5: a rule is a mapping"},
		{"rules:\n  - name: a\n    over: messages\n    maxx: 0\n", `r.yaml:4:5: unknown key "maxx" (want name, description, over`},
		{"rules:\n  - over: messages\n    max: 0\n", "r.yaml:2:5: rule without a name"},
		{"rules:\n  - name: a\n    max: 0\n", `r.yaml:2:5: rule "a": no over:`},
		{"rules:\n  - name: a\n    over: packets\n    max: 0\n", `r.yaml:3:11: rule "a": over: unknown population "packets"`},
		{"rules:\n  - name: a\n    over: messages\n", `r.yaml:2:5: rule "a": no bound (want max or min`},
		{"rules:\n  - name: a\n    over: messages\n    max: -1\n", `r.yaml:4:10: rule "a": max: bad value "-1" (want a whole number of matches)`},
		{"rules:\n  - name: a\n    over: messages\n    max: 1.5\n", `r.yaml:4:10: rule "a": max: bad value "1.5"`},
		{"rules:\n  - name: a\n    over: calls\n    match: call.legs > 1\n    min_ratio: 1.5\n", `r.yaml:5:16: rule "a": min_ratio: bad value "1.5" (want a share between 0 and 1`},
		{"rules:\n  - name: a\n    over: calls\n    min_ratio: 0.5\n", `r.yaml:2:5: rule "a": a ratio needs match`},
		{"rules:\n  - name: a\n    over: calls\n    match: call.legs > 1\n    min_ratio: 0.5\n    max: 3\n", `r.yaml:6:5: rule "a": max cannot be mixed with a ratio bound`},
		{"rules:\n  - name: a\n    over: calls\n    p95_max: 3s\n", `r.yaml:4:5: rule "a": p95_max bounds a statistic: give value: too`},
		{"rules:\n  - name: a\n    over: calls\n    value: call.pdd\n    p95_max: soon\n", `r.yaml:5:14: rule "a": p95_max: bad value "soon" (want a duration such as 3s or 250ms, or seconds)`},
		{"rules:\n  - name: a\n    over: calls\n    value: call.legs\n    max: 3s\n", `r.yaml:5:10: rule "a": max: bad value "3s" (want a number)`},
		{"rules:\n  - name: a\n    over: calls\n    value: call.pdd\n    min_ratio: 0.5\n", `r.yaml:5:5: rule "a": min_ratio bounds a share of matches, not a value`},
		{"rules:\n  - name: a\n    over: calls\n    value: call.pdd\n    match: call.legs > 1\n    max: 3\n", `r.yaml:5:5: rule "a": a statistic takes where (the sample), not match`},
		{"rules:\n  - name: a\n    over: dns\n    value: call.pdd\n    max: 3\n", `r.yaml:4:12: rule "a": value: unknown value "call.pdd" for dns (want dns.latency, dns.retransmissions)`},
		{"rules:\n  - name: a\n    over: messages\n    value: call.pdd\n    max: 3\n", `want none: statistics are over calls, diameter or dns`},
		{"rules:\n  - name: a\n    over: messages\n    status: unanswered\n    max: 0\n", `r.yaml:4:5: rule "a": status applies to diameter and dns rules only`},
		{"rules:\n  - name: a\n    over: dns\n    status: [answered, lost]\n    max: 0\n", `r.yaml:4:24: rule "a": status: unknown status "lost"`},
		{"rules:\n  - name: a\n    over: messages\n    match: call.legs > 1\n    max: 0\n", `r.yaml:4:12: rule "a": match: call fields (call.*) are only known in rules over calls`},
		{"rules:\n  - name: a\n    over: messages\n    match: ''\n    max: 0\n", `r.yaml:4:12: rule "a": match: empty expression`},
		{"rules:\n  - name: a\n    over: messages\n    match: [x]\n    max: 0\n", `r.yaml:4:12: match must be a single value`},
		{"rules:\n  - name: a\n    over: messages\n    max: 0\n    max: 1\n", `r.yaml:5:5: key "max" given twice`},
		{"rules:\n  - name: a\n    over: messages\n    max: 0\n  - name: a\n    over: calls\n    max: 0\n", `r.yaml:5:5: rule "a" is already defined at line 2`},
		// Expressions: the column of the problem in the file, whatever the quoting.
		{"rules:\n  - name: a\n    over: messages\n    match: sip.status >= 500 and sip.stauts == 1\n    max: 0\n",
			`r.yaml:4:34: rule "a": match: unknown field "sip.stauts" (did you mean "sip.status"?)` + "\n  sip.status >= 500 and sip.stauts == 1\n                        ^"},
		{"rules:\n  - name: a\n    over: messages\n    match: \"sip.method == 'INVITE' and sip.stauts == 1\"\n    max: 0\n",
			`r.yaml:4:40: rule "a": match: unknown field "sip.stauts"`},
		{"rules:\n  - name: a\n    over: messages\n    match: |\n      sip.method == \"INVITE\"\n        and sip.stauts == 1\n    max: 0\n",
			`r.yaml:6:13: rule "a": match: unknown field "sip.stauts"`},
		{"rules:\n  - name: a\n    over: calls\n    where: call.outcome === 1\n    match: call.legs > 1\n    min_ratio: 0.5\n",
			`r.yaml:4:27: rule "a": where: unexpected token`},
	} {
		_, err := Parse("r.yaml", []byte(tc.text), nil)
		var pe *ParseError
		if err == nil || !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), tc.want) && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.text, err, tc.want)
		}
	}
}

// TestExampleAndPresetsParse keeps the shipped rules files valid.
func TestExampleAndPresetsParse(t *testing.T) {
	root, err := corpus.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Load(filepath.Join(root, "examples", "ci-rules.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) < 8 {
		t.Errorf("example has %d rules", len(rs.Rules))
	}
	for _, name := range PresetNames() {
		p, err := Preset(name, nil)
		if err != nil {
			t.Fatalf("preset %s: %v", name, err)
		}
		for _, r := range p.Rules {
			if r.Source() != "preset "+name || r.Description == "" {
				t.Errorf("preset %s rule %s: source %q, description %q", name, r.Name, r.Source(), r.Description)
			}
		}
	}
	if _, err := Preset("nope", nil); err == nil || !strings.Contains(err.Error(), "have sanity") {
		t.Errorf("unknown preset: %v", err)
	}
	if err := rs.Add(rs); err == nil || !strings.Contains(err.Error(), "is already defined at") {
		t.Errorf("adding a set to itself: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestReadmeShowsExample keeps the README's "Use in CI" rules file identical to the tested
// examples/ci-rules.yaml, once the README has that section.
func TestReadmeShowsExample(t *testing.T) {
	root, err := corpus.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Use in CI")
	if !ok {
		t.Skip("README.md has no Use in CI section yet")
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	block, _, closed := strings.Cut(block, "```")
	if !ok || !closed {
		t.Fatal(`README.md: the "Use in CI" section has no yaml block`)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "ci-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if block != string(example) {
		t.Errorf("README.md's rules file differs from examples/ci-rules.yaml:\n%s", block)
	}
}
