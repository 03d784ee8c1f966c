package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sigtrace/sigtrace/internal/cli"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sigtrace": func() { os.Exit(cli.Main(os.Args[1:], cli.SystemFactory())) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/ against the real command. $SAMPLES is the
// repository's samples/ directory; $CORPUS the third-party corpus, with the [corpus] condition true
// when it is present (scripts that need it skip otherwise, and fail in CI where it is required).
func TestScripts(t *testing.T) {
	root, err := corpus.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	corpusDir := ""
	if dir := os.Getenv(corpus.EnvSamples); dir != "" {
		corpusDir = dir
	} else {
		corpusDir = filepath.Join(root, "..", "shared", "samples")
	}
	_, statErr := os.Stat(filepath.Join(corpusDir, "third_party"))
	haveCorpus := statErr == nil
	if !haveCorpus && corpus.Required() {
		t.Fatalf("corpus missing at %s", corpusDir)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("SAMPLES", filepath.Join(root, "samples"))
			env.Setenv("CORPUS", corpusDir)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "corpus" {
				return haveCorpus, nil
			}
			return false, nil
		},
		RequireExplicitExec: true,
	})
}
