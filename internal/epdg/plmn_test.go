package epdg

import (
	"strings"
	"testing"
)

func TestNewPLMN(t *testing.T) {
	tests := []struct {
		mcc, mnc string
		want     string // PLMN, or the start of the error
		padded   string
	}{
		{"505", "01", "505-01", "001"},
		{"505", "1", "505-01", "001"},
		{"505", "001", "505-001", "001"},
		{"310", "260", "310-260", "260"},
		{" 505 ", " 02 ", "505-02", "002"},
		{"50", "01", "epdg: bad MCC", ""},
		{"5050", "01", "epdg: bad MCC", ""},
		{"50a", "01", "epdg: bad MCC", ""},
		{"505", "", "epdg: bad MNC", ""},
		{"505", "0001", "epdg: bad MNC", ""},
		{"505", "-1", "epdg: bad MNC", ""},
		{"505", "1x", "epdg: bad MNC", ""},
	}
	for _, tt := range tests {
		p, err := NewPLMN(tt.mcc, tt.mnc)
		if err != nil {
			if !strings.HasPrefix(err.Error(), tt.want) || tt.padded != "" {
				t.Errorf("NewPLMN(%q, %q): error %v, want %s", tt.mcc, tt.mnc, err, tt.want)
			}
			continue
		}
		if p.String() != tt.want || p.PaddedMNC() != tt.padded {
			t.Errorf("NewPLMN(%q, %q) = %s (padded %s), want %s (%s)", tt.mcc, tt.mnc, p, p.PaddedMNC(), tt.want, tt.padded)
		}
	}
}

func TestParsePLMN(t *testing.T) {
	for _, s := range []string{"505-01", "505/01", " 505-1"} {
		if p, err := ParsePLMN(s); err != nil || p != (PLMN{"505", "01"}) {
			t.Errorf("ParsePLMN(%q) = %v, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "50501", "505-", "-01", "505-01-02", "5051-01"} {
		if p, err := ParsePLMN(s); err == nil {
			t.Errorf("ParsePLMN(%q) = %v, want an error", s, p)
		}
	}
}

// The names are those of TS 23.003's examples, with the Telstra and a 3-digit MNC.
func TestFQDN(t *testing.T) {
	tests := []struct {
		p    PLMN
		kind Kind
		want string
	}{
		{PLMN{"505", "01"}, KindEPDG, "epdg.epc.mnc001.mcc505.pub.3gppnetwork.org"},
		{PLMN{"505", "01"}, KindSOS, "sos.epdg.epc.mnc001.mcc505.pub.3gppnetwork.org"},
		{PLMN{"505", "01"}, KindN3IWF, "n3iwf.5gc.mnc001.mcc505.pub.3gppnetwork.org"},
		{PLMN{"345", "12"}, KindEPDG, "epdg.epc.mnc012.mcc345.pub.3gppnetwork.org"},
		{PLMN{"310", "260"}, KindEPDG, "epdg.epc.mnc260.mcc310.pub.3gppnetwork.org"},
	}
	for _, tt := range tests {
		if got := tt.p.FQDN(tt.kind); got != tt.want {
			t.Errorf("%v.FQDN(%s) = %s, want %s", tt.p, tt.kind, got, tt.want)
		}
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds {
		if got, err := ParseKind(strings.ToUpper(string(k))); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	if _, err := ParseKind("pgw"); err == nil {
		t.Error("ParseKind(pgw): no error")
	}
}
