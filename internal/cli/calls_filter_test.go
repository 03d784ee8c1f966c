package cli

import (
	"strings"
	"testing"
)

// calls --filter on a message field finds the calls that saw such a message (issue: 'sip.status ==
// 503' finds calls that saw a 503); on call fields it reads the record.
func TestCallsFilterOnMessagesAndCalls(t *testing.T) {
	sample := "../../samples/class45/class45.pcapng"
	out, _, code := runCLI(t, "calls", "-q", "-o", "csv", "--filter", "sip.status == 486", sample)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	// class45: three busy calls (486 on both legs) and two forwarded on busy (486 on the first B-leg).
	rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
	busy, answered := 0, 0
	for _, r := range rows {
		switch {
		case strings.Contains(r, ",busy,"):
			busy++
		case strings.Contains(r, ",answered,"):
			answered++
		}
	}
	if len(rows) != 5 || busy != 3 || answered != 2 {
		t.Fatalf("%d calls (%d busy, %d answered):\n%s", len(rows), busy, answered, out)
	}
	out, _, _ = runCLI(t, "calls", "-q", "-o", "csv", "--filter", `call.outcome == "busy"`, sample)
	if n := strings.Count(strings.TrimSpace(out), "\n"); n != 3 {
		t.Fatalf("call-field filter: %d calls\n%s", n, out)
	}
	_, errOut, code := runCLI(t, "calls", "--filter", `call.outcome == "busy" and sip.status == 486`, sample)
	if code != ExitUsage || !strings.Contains(errOut, "mixing call fields") {
		t.Fatalf("mixed filter: exit %d %s", code, errOut)
	}
}
