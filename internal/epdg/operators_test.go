package epdg

import (
	"strings"
	"testing"
)

// Every data line of the embedded table must survive parsing: the generator only writes valid
// codes, so a lost line means the table and the parser disagree.
func TestEmbeddedTableParses(t *testing.T) {
	lines := 0
	for line := range strings.Lines(mccmncTable) {
		if line != "\n" && !strings.HasPrefix(line, "#") {
			lines++
		}
	}
	if n := len(Operators()); n != lines || n < 1000 {
		t.Fatalf("parsed %d operators from %d table lines", n, lines)
	}
	if !strings.Contains(mccmncTable, "mcc-mnc-list") || !strings.Contains(mccmncTable, "CC BY-SA") {
		t.Error("the table's header does not state its source and licence")
	}
}

// The issue names Telstra 505-01, Optus 505-02 and Vodafone AU 505-03.
func TestLookupOperator(t *testing.T) {
	tests := []struct {
		plmn, name, mnc, country string
	}{
		{"505-01", "Telstra", "01", "AU"},
		{"505-1", "Telstra", "01", "AU"},
		{"505-001", "Telstra", "01", "AU"}, // no 505-001 in the table: same DNS name as 505-01
		{"505-02", "Optus", "02", "AU"},
		{"505-03", "Vodafone", "03", "AU"},
	}
	for _, tt := range tests {
		p, err := ParsePLMN(tt.plmn)
		if err != nil {
			t.Fatal(err)
		}
		o, ok := LookupOperator(p)
		if !ok || o.Name() != tt.name || o.MNC != tt.mnc || o.Country() != tt.country {
			t.Errorf("LookupOperator(%s) = %+v, %v; want %s %s %s", tt.plmn, o, ok, tt.name, tt.mnc, tt.country)
		}
	}
	if o, ok := LookupOperator(PLMN{"505", "998"}); ok {
		t.Errorf("LookupOperator(505-998) = %+v, want none", o)
	}
}

func TestCountryOperators(t *testing.T) {
	for _, c := range []string{"AU", "au", "Australia", "CX"} {
		ops, err := CountryOperators(c, false)
		if err != nil {
			t.Fatalf("CountryOperators(%q): %v", c, err)
		}
		names := map[string]bool{}
		for _, o := range ops {
			if !o.Operational() || o.MCC != "505" {
				t.Errorf("CountryOperators(%q) returned %+v", c, o)
			}
			names[o.PLMN.String()+" "+o.Name()] = true
		}
		for _, want := range []string{"505-01 Telstra", "505-02 Optus", "505-03 Vodafone"} {
			if !names[want] {
				t.Errorf("CountryOperators(%q) lacks %s", c, want)
			}
		}
	}
	operational, _ := CountryOperators("AU", false)
	all, _ := CountryOperators("AU", true)
	if len(all) <= len(operational) {
		t.Errorf("all AU networks (%d) should outnumber the operational ones (%d)", len(all), len(operational))
	}
	for _, c := range []string{"XX", "", "Atlantis"} {
		if _, err := CountryOperators(c, true); err == nil {
			t.Errorf("CountryOperators(%q): no error", c)
		}
	}
}
