package cli

import (
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// A display filter keeps whole transactions: one whose request or answer matches, listed with both
// halves, and statistics over the kept ones only.
func TestDiameterAndDNSFilter(t *testing.T) {
	resync := corpus.Path(t, "third_party/pyhss/Resync.pcap")
	all, _, code := runCLI(t, "diameter", "-q", "-o", "csv", resync)
	// The answers carry the result: a filter on it keeps the five answered AIRs with their requests
	// and drops the unanswered one.
	kept, _, code2 := runCLI(t, "diameter", "-q", "-o", "csv", "--filter", "diameter.result_code == 2001", resync)
	if code != 0 || code2 != 0 {
		t.Fatalf("exit %d, %d", code, code2)
	}
	if n, m := strings.Count(all, "\n"), strings.Count(kept, "\n"); n != 7 || m != 6 || strings.Contains(kept, "unanswered") {
		t.Fatalf("all %d lines, kept %d lines:\n%s", n, m, kept)
	}
	stats, _, _ := runCLI(t, "diameter", "-q", "--stats", "-o", "json", "--filter", "diameter.result_code == 2001", resync)
	if !strings.Contains(stats, `"answered":5`) || !strings.Contains(stats, `"unanswered":0`) {
		t.Fatalf("stats over the kept transactions: %s", stats)
	}

	dns := corpus.Path(t, "third_party/ndpi/dns.pcap")
	out, _, code := runCLI(t, "dns", "-q", "-o", "csv", "--filter", `dns.qry.name contains "example"`, dns)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "www.example.com.") || !strings.Contains(out, "answered") {
		t.Fatalf("dns filter: exit %d\n%s", code, out)
	}
	_, errOut, code := runCLI(t, "dns", "--filter", "dns.qry.nam == 1", dns)
	if code != ExitUsage || !strings.Contains(errOut, `did you mean "dns.qry.name"`) {
		t.Fatalf("bad filter: exit %d %s", code, errOut)
	}
}
