package homer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func lines(d Desired) []string {
	var out []string
	for _, a := range d.Aliases {
		out = append(out, fmt.Sprintf("%s %q %v", a.Key(), a.Name, a.Status))
	}
	return out
}

func TestReadAliasFiles(t *testing.T) {
	want := []string{
		`192.0.2.10/32 port 5060 capture 0 "sbc-edge" true`,
		`10.20.0.0/16 port 0 capture 0 "core-net" true`,
		`2001:db8::5/128 port 0 capture 2001 "pcscf" false`,
	}
	for _, name := range []string{"aliases.yaml", "aliases.csv", "aliases.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		// Once named (format from the extension), once as stdin (format from the content).
		for _, as := range []string{name, "-"} {
			d, err := ReadAliases(data, as, FormatAuto, Defaults{})
			if err != nil {
				t.Errorf("%s as %s: %v", name, as, err)
				continue
			}
			if got := lines(d); !slices.Equal(got, want) {
				t.Errorf("%s as %s:\n%s\nwant\n%s", name, as, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
}

func TestReadEPDG(t *testing.T) {
	data, err := os.ReadFile("testdata/epdg.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ReadAliases(data, "epdg.json", FormatAuto, Defaults{CaptureID: "7"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`203.0.113.10/32 port 0 capture 7 "Telstra" true`,
		`2001:db8::10/128 port 0 capture 7 "Telstra" true`,
		`203.0.113.90/32 port 0 capture 7 "505-90" true`,
	}
	if got := lines(d); !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if reason := d.Keep["Optus"]; !strings.Contains(reason, "timeout") || len(d.Keep) != 1 {
		t.Errorf("keep %v: want Optus protected (its lookup timed out), not Vodafone AU (nxdomain)", d.Keep)
	}
	w := strings.Join(d.Warnings, "\n")
	if !strings.Contains(w, "203.0.113.10 is an ePDG of both Telstra and 505-90") || !strings.Contains(w, "Optus") {
		t.Errorf("warnings: %s", w)
	}
}

func TestReadAliasesErrors(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
	}{
		{"x.yaml", "- name: a\n  ip: 10.0.0.1\n  mask: 33\n- name: b\n  ip: 10.0.0.1/8\n  mask: 16\n",
			[]string{"2 problem(s)", "line 1: mask 33 out of range 0-32", "line 4: ip \"10.0.0.1/8\" and mask 16 disagree"}},
		{"x.yaml", "- name: a\n  ip: sbc.example\n- name: b\n  ip: 10.0.0.1\n  port: 70000\n  captureID: \"123456789012345678901\"\n",
			[]string{"line 1: ip \"sbc.example\" is not an IPv4 or IPv6 address", "line 3: port 70000 out of range", "captureID \"123456789012345678901\" longer than 20"}},
		{"x.yaml", "- name: a\n  ip: 10.0.0.1\n  captureId: 1\n  colour: red\n", []string{`line 1: unknown field "colour"`}},
		{"x.yaml", "- name: a\n  ip: 10.0.0.1\n- name: b\n  ip: 10.0.0.1\n", []string{"line 3: 10.0.0.1/32 port 0 capture 0 is already given on line 1"}},
		{"x.yaml", "- name: a\n  ip: 10.0.0.1\n  status: maybe\n", []string{`status "maybe" is not true or false`}},
		{"x.yaml", "- name: a\n  ip: 10.0.0.1\n  port: [1]\n", []string{`line 3: field "port": want a single value`}},
		{"x.yaml", "hosts:\n  - name: a\n", []string{`line 1: unknown key "hosts"`}},
		{"x.yaml", "name: [unclosed\n", []string{"yaml:"}},
		{"x.csv", "ip,port\n10.0.0.1,5060\n", []string{"the first row must name the columns, including name and ip"}},
		{"x.csv", "name,ip,port\na,10.0.0.1,50x60\nb,10.0.0.2\n", []string{`line 2: port "50x60" is not a number`, "line 3: wrong number of fields"}},
		{"x.json", `[{"name":"a","ip":"10.0.0.1","mask":"x"}]`, []string{`line 1: mask "x" is not a number`}},
		{"x.json", `{"kind":"epdg","operators":[{"name":"A","status":"ok","addresses":["203.0.113.300"]}]}`, []string{`address "203.0.113.300"`}},
		{"x.json", `{"kind":"dnsbl","operators":[]}`, []string{`kind "dnsbl": want epdg, sos or n3iwf`}},
		{"x.txt", "whatever", []string{"want a list of aliases"}},
	}
	for _, tt := range tests {
		_, err := ReadAliases([]byte(tt.data), tt.name, FormatAuto, Defaults{})
		if err == nil {
			t.Errorf("%q: accepted", tt.data)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q:\n%v\nwant %q", tt.data, err, w)
			}
		}
	}
}

func TestReadEPDGKinds(t *testing.T) {
	for kind, want := range map[string]string{"epdg": "Telstra", "sos": "Telstra SOS", "n3iwf": "Telstra N3IWF"} {
		data := `{"kind":"` + kind + `","operators":[{"plmn":"505-01","name":"Telstra","status":"ok","addresses":["203.0.113.10"]}]}`
		d, err := ReadAliases([]byte(data), "-", FormatAuto, Defaults{})
		if err != nil || len(d.Aliases) != 1 || d.Aliases[0].Name != want {
			t.Errorf("%s: %+v %v, want name %q", kind, d.Aliases, err, want)
		}
	}
}

func TestReadAliasesEmpty(t *testing.T) {
	for _, in := range []struct{ name, data string }{
		{"x.yaml", ""}, {"x.yaml", "# nothing yet\n"}, {"x.yaml", "aliases:\n"}, {"x.json", "[]"}, {"x.csv", "name,ip\n"},
	} {
		d, err := ReadAliases([]byte(in.data), in.name, FormatAuto, Defaults{})
		if err != nil || len(d.Aliases) != 0 {
			t.Errorf("%s %q: %v %v", in.name, in.data, d.Aliases, err)
		}
	}
}

func FuzzReadAliases(f *testing.F) {
	for _, name := range []string{"aliases.yaml", "aliases.csv", "aliases.json", "epdg.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, string(FormatAuto))
	}
	f.Add([]byte("name,ip\na,10.0.0.1/8\n"), string(FormatCSV))
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		d, err := ReadAliases(data, "fuzz", Format(format), Defaults{})
		if err != nil {
			return
		}
		// Whatever is accepted must be valid and free of duplicate keys: Diff relies on it.
		if _, err := Diff(d, nil, false); err != nil {
			t.Fatalf("accepted input that Diff refuses: %v", err)
		}
	})
}
