// Package corpus finds the third-party sample captures and external tools that integration tests
// use. The corpus lives outside the repository (its licences vary), so tests skip with a message
// when it is absent, except in CI, where its absence is a failure.
package corpus

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// EnvSamples names the directory holding the shared samples (class45/, third_party/).
const EnvSamples = "SIGTRACE_SAMPLES"

// EnvRequire, when "1", turns every skip for a missing corpus or tool into a failure. .ci/run sets it.
const EnvRequire = "SIGTRACE_REQUIRE"

// Dir returns the samples directory, or skips the test (fails it when required) if it is absent.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvSamples)
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			missing(t, "cannot find the repository root: "+err.Error())
		}
		dir = filepath.Join(root, "..", "shared", "samples")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		missing(t, "sample corpus not found at "+dir+" (set "+EnvSamples+")")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Resolve links, so that tests walking the corpus (filepath.WalkDir does not follow a link at
	// its root) see the files of a corpus that is linked in rather than copied.
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return abs
}

// Path returns a file inside the samples directory, skipping (or failing) when it does not exist.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Dir(t), rel)
	if _, err := os.Stat(p); err != nil {
		missing(t, "sample "+rel+" not found: "+err.Error())
	}
	return p
}

// Tool returns the path of an external program, skipping (or failing) when it is not installed.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name+" is not installed (.ci/run installs it)")
	}
	return p
}

// Required reports whether missing samples or tools fail tests instead of skipping them.
func Required() bool { return os.Getenv(EnvRequire) == "1" }

func missing(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatal(why)
	}
	t.Skip(why)
}

// RepoRoot returns the directory holding go.mod.
func RepoRoot() (string, error) { return repoRoot() }

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
