package check

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// FuzzParse feeds rules files to the parser: it must return rules or a ParseError, never panic,
// and what it accepts must be complete (a kind, a bound, compiled expressions).
func FuzzParse(f *testing.F) {
	if root, err := corpus.RepoRoot(); err == nil {
		if b, err := os.ReadFile(filepath.Join(root, "examples", "ci-rules.yaml")); err == nil {
			f.Add(b)
		}
	}
	for _, name := range PresetNames() {
		text, _ := PresetText(name)
		f.Add([]byte(text))
	}
	f.Add([]byte("rules:\n  - name: a\n    over: calls\n    match: |\n      sip.method == \"INVITE\"\n        and call.legs == 1\n    max: 0\n"))
	f.Add([]byte("rules:\n  - name: a\n    over: dns\n    status: [answered, orphan]\n    min_ratio: 95%\n"))
	f.Add([]byte("rules:\n  - name: a\n    over: calls\n    value: call.pdd\n    p95_max: 250ms\n    avg_min: 0.1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse("f.yaml", data, nil)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("not a ParseError: %v", err)
			}
			return
		}
		for _, r := range rs.Rules {
			if r.Name == "" || r.Kind == 0 || len(r.Bounds) == 0 || (r.Match != "") != (r.match != nil) || (r.Where != "") != (r.where != nil) ||
				(r.Kind == KindStatistic) != (r.value != nil) {
				t.Fatalf("incomplete rule %+v", r)
			}
		}
	})
}
