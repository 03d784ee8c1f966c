package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// runCLI runs sigtrace in-process and returns stdout, stderr and the exit code.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &Factory{
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errOut,
		Now:    func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
		Getenv: func(string) string { return "" },
	}
	code := run(context.Background(), args, f)
	return out.String(), errOut.String(), code
}

func TestVersion(t *testing.T) {
	out, _, code := runCLI(t, "--version")
	if code != ExitOK || !strings.Contains(out, "sigtrace version") {
		t.Fatalf("--version: code %d, out %q", code, out)
	}
}

func TestUnknownCommandIsUsageError(t *testing.T) {
	_, errOut, code := runCLI(t, "no-such-command")
	if code != ExitUsage || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
}

func TestCompletion(t *testing.T) {
	out, _, code := runCLI(t, "completion", "bash")
	if code != ExitOK || !strings.Contains(out, "bash completion") {
		t.Fatalf("completion bash: code %d, %d bytes", code, len(out))
	}
}
