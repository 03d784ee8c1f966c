package epdg

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/sigtrace/sigtrace/internal/epdg/epdgtest"
)

// flakyRules make the proxy fail the way public resolvers do: 505-998 gets SERVFAIL, 505-999
// no answer at all, and 505-997 no answer for AAAA only.
var flakyRules = []epdgtest.Rule{
	{Match: "mnc998.mcc505", ServFail: true},
	{Match: "mnc999.mcc505"},
	{Match: "mnc997.mcc505", Qtype: dns.TypeAAAA},
}

// testPLMNs covers every case the zone in testdata holds.
var testPLMNs = []string{"505-01", "505-02", "505-90", "505-03", "505-04", "505-14", "505-997", "505-998", "505-999"}

func mustPLMNs(t *testing.T, list ...string) []PLMN {
	t.Helper()
	var out []PLMN
	for _, s := range list {
		p, err := ParsePLMN(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func addrs(list ...string) []netip.Addr {
	out := []netip.Addr{}
	for _, s := range list {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// aaptAddrs are the 64 A and 64 AAAA records of 505-14 in the test zone.
func aaptAddrs() []netip.Addr {
	var out []netip.Addr
	for i := 64; i <= 127; i++ {
		out = append(out, netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}))
	}
	for i := range 64 {
		out = append(out, netip.MustParseAddr(fmt.Sprintf("2001:db8:14::%x", i)))
	}
	return out
}

// testZone caches the resolution of testPLMNs: its timeouts take seconds, and the tests that
// only read the result need not pay for them each time.
var testZone struct {
	sync.Mutex
	rep   *Report
	proxy string
}

// resolveTestZone resolves testPLMNs through the flaky proxy in front of unbound and returns a
// copy of the report (which callers may change) and the proxy's address. The timeout is long
// enough for a loaded machine: only the deliberately silent names should time out.
func resolveTestZone(t *testing.T) (*Report, string) {
	t.Helper()
	testZone.Lock()
	defer testZone.Unlock()
	if testZone.rep == nil {
		proxy := epdgtest.StartProxy(t, epdgtest.StartUnbound(t), flakyRules...)
		r := &Resolver{Servers: []string{proxy}, Timeout: time.Second, Retries: 1, UDPSize: 1232}
		testZone.rep = &Report{
			ResolvedAt: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC),
			Kind:       KindEPDG,
			Resolvers:  r.Servers,
			Operators:  r.Resolve(context.Background(), Targets(KindEPDG, mustPLMNs(t, testPLMNs...))),
		}
		testZone.proxy = proxy
	}
	return cloneReport(testZone.rep), testZone.proxy
}

func TestResolve(t *testing.T) {
	rep, _ := resolveTestZone(t)
	aapt := aaptAddrs()
	optus := addrs("198.51.100.20", "198.51.100.21", "2001:db8:2::1")
	want := []struct {
		name   string
		status Status
		cnames []string
		addrs  []netip.Addr
		err    string
	}{
		{"Telstra", StatusOK, nil, addrs("203.0.113.10", "203.0.113.11", "2001:db8:1::10"), ""},
		{"Optus", StatusOK, []string{"epdg-lb.mnc002.mcc505.pub.3gppnetwork.org", "gw.optus.test"}, optus, ""},
		{"Optus", StatusOK, []string{"gw.optus.test"}, optus, ""},
		{"Vodafone", StatusNXDomain, nil, addrs(), ""},
		{"", StatusNoData, nil, addrs(), ""},
		{"AAPT", StatusOK, nil, aapt, ""},
		{"", StatusTimeout, nil, addrs("203.0.113.200"), "AAAA: no answer within 1s"},
		{"", StatusServFail, nil, addrs(), "A: SERVFAIL from"},
		{"", StatusTimeout, nil, addrs(), "A: no answer within 1s"},
	}
	if len(rep.Operators) != len(want) {
		t.Fatalf("%d results, want %d", len(rep.Operators), len(want))
	}
	for i, w := range want {
		got := rep.Operators[i]
		if got.PLMN != testPLMNs[i] || got.Status != w.status || !slices.Equal(got.Addresses, w.addrs) ||
			!slices.Equal(got.CNAMEs, w.cnames) && len(w.cnames)+len(got.CNAMEs) > 0 || !strings.HasPrefix(got.Error, w.err) ||
			(w.err == "" && got.Error != "") || (w.name != "" && got.Name != w.name) {
			t.Errorf("%s: got %+v\nwant %+v", testPLMNs[i], got, w)
		}
	}
}

// The AAAA answer of 505-14 does not fit the 1232 bytes offered over UDP: it must come back
// truncated, and the resolver must then get it whole over TCP; without EDNS the A answer
// (64 records, over 512 bytes) must too.
func TestTruncatedAnswerFallsBackToTCP(t *testing.T) {
	server := epdgtest.StartUnbound(t)
	fqdn := PLMN{"505", "14"}.FQDN(KindEPDG)
	for _, tt := range []struct {
		udpSize uint16
		qtype   uint16
	}{{1232, dns.TypeAAAA}, {0, dns.TypeA}} {
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(fqdn), tt.qtype)
		if tt.udpSize > 0 {
			q.SetEdns0(tt.udpSize, false)
		}
		resp, _, err := (&dns.Client{Net: "udp", UDPSize: tt.udpSize}).Exchange(q, server)
		if err != nil || !resp.Truncated {
			t.Fatalf("the test zone no longer forces truncation (size %d): %v %v", tt.udpSize, err, resp)
		}
		r := &Resolver{Servers: []string{server}, Timeout: time.Second, UDPSize: tt.udpSize}
		l := r.lookup(context.Background(), dns.Fqdn(fqdn), tt.qtype)
		if l.status != StatusOK || len(l.addrs) != 64 {
			t.Errorf("size %d, %s: status %s, %d addresses, error %q", tt.udpSize, dns.TypeToString[tt.qtype], l.status, len(l.addrs), l.err)
		}
	}
}

// A resolver that never answers is passed over for the next one.
func TestResolveFailsOverToNextResolver(t *testing.T) {
	silent := epdgtest.StartProxy(t, "")
	good := epdgtest.StartUnbound(t)
	r := &Resolver{Servers: []string{silent, good}, Timeout: time.Second, Retries: 1}
	res := r.Resolve(context.Background(), Targets(KindEPDG, mustPLMNs(t, "505-01")))
	if res[0].Status != StatusOK || len(res[0].Addresses) != 3 {
		t.Errorf("got %+v", res[0])
	}
	r.Retries = 0 // one try: only the silent server is asked
	res = r.Resolve(context.Background(), Targets(KindEPDG, mustPLMNs(t, "505-01")))
	if res[0].Status != StatusTimeout || !strings.Contains(res[0].Error, silent) {
		t.Errorf("got %+v", res[0])
	}
}

func TestResolveKinds(t *testing.T) {
	server := epdgtest.StartUnbound(t)
	r := &Resolver{Servers: []string{server}, Timeout: time.Second}
	for kind, want := range map[Kind][]netip.Addr{
		KindSOS:   addrs("203.0.113.50"),
		KindN3IWF: addrs("2001:db8:5::1"),
	} {
		res := r.Resolve(context.Background(), Targets(kind, mustPLMNs(t, "505-01")))
		if res[0].Status != StatusOK || !slices.Equal(res[0].Addresses, want) {
			t.Errorf("%s: %+v", kind, res[0])
		}
	}
}

// A cancelled run ends at once and says so for every name instead of hanging.
func TestResolveCancelled(t *testing.T) {
	silent := epdgtest.StartProxy(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &Resolver{Servers: []string{silent}, Timeout: 5 * time.Second, Retries: 3}
	start := time.Now()
	res := r.Resolve(ctx, Targets(KindEPDG, mustPLMNs(t, "505-01", "505-02")))
	if time.Since(start) > 2*time.Second {
		t.Errorf("cancelled resolution took %v", time.Since(start))
	}
	for _, x := range res {
		if x.Status == StatusOK {
			t.Errorf("cancelled lookup: %+v", x)
		}
	}
}

func TestSystemResolvers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte("# test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions ndots:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := SystemResolvers(path)
	if err != nil || !slices.Equal(got, []string{"192.0.2.53:53", "[2001:db8::53]:53"}) {
		t.Errorf("SystemResolvers = %q, %v", got, err)
	}
	if err := os.WriteFile(path, []byte("search example.net\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := SystemResolvers(path); err == nil {
		t.Error("resolv.conf without nameserver: no error")
	}
}

func TestNormalizeServer(t *testing.T) {
	for in, want := range map[string]string{"192.0.2.1": "192.0.2.1:53", "192.0.2.1:5353": "192.0.2.1:5353",
		"2001:db8::1": "[2001:db8::1]:53", "[2001:db8::1]:53": "[2001:db8::1]:53", "dns.example:53": "dns.example:53"} {
		if got, err := NormalizeServer(in); err != nil || got != want {
			t.Errorf("NormalizeServer(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "dns.example", "192.0.2.1:0", "192.0.2.1:x", ":53"} {
		if got, err := NormalizeServer(in); err == nil {
			t.Errorf("NormalizeServer(%q) = %q, want an error", in, got)
		}
	}
}
