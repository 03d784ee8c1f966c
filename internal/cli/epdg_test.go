package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sigtrace/sigtrace/internal/epdg"
	"github.com/sigtrace/sigtrace/internal/epdg/epdgtest"
)

// epdgServer starts unbound with the test zones behind a proxy that fails 505-998 (SERVFAIL),
// 505-999 (no answer) and the AAAA query of 505-997 (no answer), like the library's tests.
func epdgServer(t *testing.T) string {
	t.Helper()
	return epdgtest.StartProxy(t, epdgtest.StartUnbound(t),
		epdgtest.Rule{Match: "mnc998.mcc505", ServFail: true},
		epdgtest.Rule{Match: "mnc999.mcc505"},
		epdgtest.Rule{Match: "mnc997.mcc505", Qtype: dns.TypeAAAA})
}

const epdgTestPLMNs = "505-01,505-02,505-90,505-03,505-04,505-14,505-997,505-998,505-999"

// The command writes exactly what the library's golden files hold for the same zone, and
// reports each failed lookup on stderr.
func TestEpdgMatchesGolden(t *testing.T) {
	server := epdgServer(t)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"json", []string{"-o", "json"}},
		{"nftables-aggregate", []string{"-o", "nftables", "--aggregate", "--name", "wifi-calling", "--nft-table", "qos"}},
		{"iptables-aggregate-af41", []string{"-o", "iptables", "--aggregate", "--dscp", "af41"}},
		{"table", nil},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			t.Parallel() // each run waits for the silent names to time out
			args := append([]string{"epdg", "--plmn", epdgTestPLMNs, "--resolver", server, "--timeout", "1s", "--retries", "1"}, tc.args...)
			out, errOut, code := runCLI(t, args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			want, err := os.ReadFile(filepath.Join("..", "epdg", "testdata", "golden", tc.golden+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.ReplaceAll(out, server, "127.0.0.1:5353"); got != string(want) {
				t.Errorf("output differs from the golden file:\n%s", got)
			}
			for _, plmn := range []string{"505-997", "505-998", "505-999"} {
				if !strings.Contains(errOut, "sigtrace epdg: "+plmn+" ") {
					t.Errorf("stderr does not report %s:\n%s", plmn, errOut)
				}
			}
		})
	}
}

// --country AU asks for every operational Australian network; the test zone answers for some.
func TestEpdgCountry(t *testing.T) {
	server := epdgtest.StartUnbound(t)
	out, errOut, code := runCLI(t, "epdg", "--country", "AU", "--resolver", server, "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep epdg.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	status := map[string]epdg.Status{}
	for _, r := range rep.Operators {
		status[r.PLMN+" "+r.Name] = r.Status
	}
	for name, want := range map[string]epdg.Status{"505-01 Telstra": epdg.StatusOK, "505-02 Optus": epdg.StatusOK,
		"505-03 Vodafone": epdg.StatusNXDomain, "505-14 AAPT": epdg.StatusOK, "505-13 RailCorp": epdg.StatusNXDomain} {
		if status[name] != want {
			t.Errorf("%s: status %q, want %s (all: %v)", name, status[name], want, status)
		}
	}
	if len(rep.Operators) < 10 || !rep.ResolvedAt.Equal(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("%d operators, resolved at %v", len(rep.Operators), rep.ResolvedAt)
	}
}

func TestEpdgKindAndMCC(t *testing.T) {
	server := epdgtest.StartUnbound(t)
	out, errOut, code := runCLI(t, "epdg", "--kind", "sos", "--mcc", "505", "--mnc", "1,3", "--resolver", server, "-o", "list")
	if code != ExitOK || !strings.Contains(out, "\n203.0.113.50\n") || !strings.Contains(out, "sos.epdg.epc.mnc003.mcc505.pub.3gppnetwork.org: nxdomain") {
		t.Errorf("exit %d, stderr %q, out:\n%s", code, errOut, out)
	}
}

func TestEpdgExitCodes(t *testing.T) {
	server := epdgServer(t)
	base := []string{"epdg", "--resolver", server, "--timeout", "2s", "--retries", "0"}
	tests := []struct {
		name       string
		args       []string
		code       int
		stdoutHas  string // "" means stdout must be empty
		stderrHas  string
		stdoutNone bool
	}{
		{"some resolved", []string{"--plmn", "505-01,505-03,505-998"}, ExitOK, "203.0.113.10", "505-998", false},
		{"nothing resolved, report still written", []string{"--plmn", "505-03,505-998"}, ExitError, "nxdomain", "no epdg gateway address resolved", false},
		{"nothing resolved, no list to load", []string{"--plmn", "505-03,505-04", "-o", "nftables"}, ExitError, "", "no epdg gateway address resolved", true},
		{"strict, all ok", []string{"--plmn", "505-01,505-02", "--strict"}, ExitOK, "198.51.100.20", "", false},
		{"strict, one nxdomain", []string{"--plmn", "505-01,505-03", "--strict", "-o", "list"}, ExitError, "203.0.113.10", "--strict: 1 of 2 operators did not resolve", false},
	}
	for _, tt := range tests {
		out, errOut, code := runCLI(t, append(slices.Clone(base), tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.stderrHas) || (tt.stdoutNone && out != "") || !strings.Contains(out, tt.stdoutHas) {
			t.Errorf("%s: exit %d, stderr %q, stdout:\n%s", tt.name, code, errOut, out)
		}
	}
}

func TestEpdgUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"epdg"},
		{"epdg", "--plmn", "5050-01"},
		{"epdg", "--plmn", "505-0001"},
		{"epdg", "--mcc", "50", "--mnc", "1"},
		{"epdg", "--mcc", "505", "--mnc", "1234"},
		{"epdg", "--mcc", "505"},
		{"epdg", "--mnc", "1"},
		{"epdg", "--country", "XX"},
		{"epdg", "--plmn", "505-01", "--kind", "pgw"},
		{"epdg", "--plmn", "505-01", "-o", "xml"},
		{"epdg", "--plmn", "505-01", "-o", "json", "--aggregate"},
		{"epdg", "--plmn", "505-01", "--dscp", "EF9"},
		{"epdg", "--plmn", "505-01", "--name", "bad name"},
		{"epdg", "--plmn", "505-01", "--resolver", "nowhere"},
		{"epdg", "--plmn", "505-01", "--timeout", "0s"},
		{"epdg", "--plmn", "505-01", "--concurrency", "0"},
		{"epdg", "extra-arg"},
	} {
		_, errOut, code := runCLI(t, args...)
		if code != ExitUsage || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// A run with --diff and --save on one state file: unchanged, then changed (exit 4), the way a
// scheduled job uses it.
func TestEpdgDiffEndToEnd(t *testing.T) {
	server := epdgServer(t)
	state := filepath.Join(t.TempDir(), "epdg.json")
	args := []string{"epdg", "--plmn", "505-01,505-02,505-999", "--resolver", server, "--timeout", "1s", "--retries", "0", "-o", "cidr"}
	run := func(extra ...string) (string, string, int) {
		return runCLI(t, append(slices.Clone(args), extra...)...)
	}

	if _, errOut, code := run("--save", state); code != ExitOK {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	out, errOut, code := run("--diff", state, "--save", state)
	if code != ExitOK || !strings.Contains(errOut, "no address changed since 2026-11-23T12:00:00Z") || !strings.Contains(out, "203.0.113.10/32") {
		t.Fatalf("unchanged: exit %d, stderr %q, stdout %q", code, errOut, out)
	}

	// Pretend that yesterday Telstra had 203.0.113.9 instead of .10, and that 505-999 (timing
	// out today) had an address: one added, one removed, one not confirmed.
	rep, err := epdg.ReadReport(state)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rep.Operators {
		switch r.PLMN {
		case "505-01":
			rep.Operators[i].Addresses[0] = netip.MustParseAddr("203.0.113.9")
		case "505-999":
			rep.Operators[i].Status, rep.Operators[i].Addresses = epdg.StatusOK, []netip.Addr{netip.MustParseAddr("192.0.2.99")}
		}
	}
	var buf bytes.Buffer
	if err := epdg.Write(&buf, rep, epdg.Options{Format: epdg.FormatJSON}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run("--diff", state, "--save", state)
	if code != ExitChanged {
		t.Fatalf("changed: exit %d, want %d: %s", code, ExitChanged, errOut)
	}
	for _, want := range []string{
		"Telstra (505-01) epdg.epc.mnc001.mcc505.pub.3gppnetwork.org: +203.0.113.10 -203.0.113.9\n",
		"505-999 epdg.epc.mnc999.mcc505.pub.3gppnetwork.org: ok -> timeout, (timeout: 1 earlier address(es) not confirmed: ?192.0.2.99)\n",
		"1 address(es) added, 1 removed since",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("diff lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "203.0.113.10/32") {
		t.Errorf("the list is not written alongside the diff:\n%s", out)
	}
	// --save stored today's state: the next run sees no change.
	if _, errOut, code := run("--diff", state); code != ExitOK {
		t.Errorf("after --save: exit %d: %s", code, errOut)
	}

	if _, errOut, code := run("--diff", filepath.Join(t.TempDir(), "missing.json")); code != ExitError || !strings.Contains(errOut, "missing.json") {
		t.Errorf("missing --diff file: exit %d: %s", code, errOut)
	}
	if _, errOut, code := run("--diff", state, "--kind", "n3iwf"); code != ExitUsage {
		t.Errorf("--diff of another kind: exit %d: %s", code, errOut)
	}
}

// Without --resolver the nameservers come from resolv.conf, which $SIGTRACE_RESOLV_CONF names.
func TestEpdgResolvConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte("search example.net\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	f := &Factory{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Now: time.Now,
		Getenv: func(k string) string {
			if k == EnvResolvConf {
				return path
			}
			return ""
		}}
	code := run(context.Background(), []string{"epdg", "--plmn", "505-01"}, f)
	if code != ExitError || !strings.Contains(errOut.String(), path) {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
