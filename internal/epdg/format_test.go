package epdg

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

// goldenCases are the outputs checked against testdata/golden; name.golden holds each.
var goldenCases = []struct {
	name string
	opt  Options
}{
	{"table", Options{Format: FormatTable}},
	{"json", Options{Format: FormatJSON}},
	{"csv", Options{Format: FormatCSV}},
	{"list", Options{Format: FormatList}},
	{"cidr", Options{Format: FormatCIDR}},
	{"cidr-aggregate", Options{Format: FormatCIDR, Aggregate: true}},
	{"nftables", Options{Format: FormatNftables}},
	{"nftables-aggregate", Options{Format: FormatNftables, Aggregate: true, Name: "wifi-calling", NftTable: "qos"}},
	{"iptables", Options{Format: FormatIPTables}},
	{"iptables-aggregate-af41", Options{Format: FormatIPTables, Aggregate: true, DSCP: "af41"}},
	{"ip6tables-aggregate", Options{Format: FormatIP6Tables, Aggregate: true, DSCP: "46"}},
	{"cisco", Options{Format: FormatCisco}},
	{"cisco-aggregate", Options{Format: FormatCisco, Aggregate: true}},
	{"juniper-aggregate", Options{Format: FormatJuniper, Aggregate: true}},
}

// stableResolver replaces the proxy's random port in outputs so that goldens do not change.
const stableResolver = "127.0.0.1:5353"

// TestGolden resolves the test zone for real and checks every output format; the firewall
// formats are also checked by the tools that load them.
func TestGolden(t *testing.T) {
	rep, proxy := resolveTestZone(t)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, rep, tc.opt); err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(buf.String(), proxy, stableResolver)
			checkGolden(t, filepath.Join("testdata", "golden", tc.name+".golden"), got)
			switch tc.opt.Format {
			case FormatNftables:
				checkLoads(t, got, "nft", "-c", "-f")
			case FormatIPTables:
				checkLoads(t, got, "iptables-restore", "--test", "--noflush")
			case FormatIP6Tables:
				checkLoads(t, got, "ip6tables-restore", "--test", "--noflush")
			}
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, firstDiff(string(want), got))
	}
}

// firstDiff shows the first differing line, enough to see what moved.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + wl + "\ngot:  " + gl
		}
	}
	return ""
}

// checkLoads runs a firewall tool in check mode on the output: nft -c and *-restore --test parse
// and validate the whole file without changing the running rules.
func checkLoads(t *testing.T, text, tool string, args ...string) {
	t.Helper()
	bin := corpus.Tool(t, tool)
	path := filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	if tool == "nft" {
		cmd = exec.Command(bin, append(args, path)...)
	} else {
		cmd = exec.Command(bin, args...)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s rejects the output: %v\n%s", tool, err, out)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	rep, _ := resolveTestZone(t)
	var buf bytes.Buffer
	if err := Write(&buf, rep, Options{Format: FormatJSON}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "epdg.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rep) {
		t.Errorf("read back:\n%+v\nwrote:\n%+v", back, rep)
	}
}

func TestReadReportRejects(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"notjson": "epdg",
		"kind":    `{"kind":"pgw","operators":[]}`,
		"fqdn":    `{"kind":"epdg","operators":[{"plmn":"505-01"}]}`,
		"addr":    `{"kind":"epdg","operators":[{"fqdn":"x","addresses":["300.1.1.1"]}]}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadReport(path); err == nil || !strings.HasPrefix(err.Error(), "epdg: ") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if _, err := ReadReport(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestAggregate(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"192.0.2.0 192.0.2.1", "192.0.2.0/31"},
		{"192.0.2.1 192.0.2.2", "192.0.2.1/32 192.0.2.2/32"}, // adjacent but not one prefix
		{"192.0.2.0 192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.5", "192.0.2.0/30 192.0.2.5/32"},
		{"192.0.2.3 192.0.2.2 192.0.2.1 192.0.2.0", "192.0.2.0/30"},
		{"192.0.2.255 192.0.3.0", "192.0.2.255/32 192.0.3.0/32"},
		{"2001:db8::0 2001:db8::1 192.0.2.0 192.0.2.1", "192.0.2.0/31 2001:db8::/127"},
		{"0.0.0.0 0.0.0.1", "0.0.0.0/31"},
	}
	for _, tt := range tests {
		rep := &Report{Operators: []Result{{PLMN: "001-01"}}}
		for _, s := range strings.Fields(tt.in) {
			rep.Operators[0].Addresses = append(rep.Operators[0].Addresses, netip.MustParseAddr(s))
		}
		var got []string
		for _, e := range entries(rep, true) {
			got = append(got, e.prefix.String())
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("aggregate %s = %s, want %s", tt.in, strings.Join(got, " "), tt.want)
		}
	}
}

// Merging prefixes of two operators keeps both names on the merged prefix.
func TestAggregateKeepsOperators(t *testing.T) {
	rep := &Report{Operators: []Result{
		{PLMN: "001-01", Name: "A", Addresses: addrs("192.0.2.0")},
		{PLMN: "001-02", Name: "B", Addresses: addrs("192.0.2.1", "192.0.2.9")},
	}}
	gs := groups(rep, true, 0)
	if len(gs) != 2 || gs[0].label != "A (001-01), B (001-02)" || gs[0].entries[0].prefix.String() != "192.0.2.0/31" ||
		gs[1].label != "B (001-02)" || gs[1].entries[0].prefix.String() != "192.0.2.9/32" {
		t.Errorf("groups = %+v", gs)
	}
}

func TestOptionsRejected(t *testing.T) {
	rep := &Report{Kind: KindEPDG}
	for _, opt := range []Options{
		{Format: "xml"},
		{Format: FormatIPTables, DSCP: "EF2"},
		{Format: FormatIPTables, DSCP: "64"},
		{Format: FormatNftables, Name: "bad name"},
		{Format: FormatNftables, Name: "1epdg"},
		{Format: FormatNftables, NftTable: "x;y"},
		{Format: FormatCisco, Name: strings.Repeat("a", 25)},
	} {
		if err := Write(&bytes.Buffer{}, rep, opt); err == nil {
			t.Errorf("Write with %+v: no error", opt)
		}
	}
}
