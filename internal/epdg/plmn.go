package epdg

import (
	"fmt"
	"strings"
)

// Kind selects which gateway's name is built: the operator identifier based FQDNs of TS 23.003
// clause 19.4.2.9 (ePDG, emergency ePDG) and clause 28.3.2.2 (N3IWF).
type Kind string

const (
	KindEPDG  Kind = "epdg"  // epdg.epc.mncXXX.mccYYY.pub.3gppnetwork.org
	KindSOS   Kind = "sos"   // sos.epdg.epc.mncXXX.mccYYY.pub.3gppnetwork.org (emergency ePDG)
	KindN3IWF Kind = "n3iwf" // n3iwf.5gc.mncXXX.mccYYY.pub.3gppnetwork.org
)

// Kinds lists every Kind in the order the command line offers them.
var Kinds = []Kind{KindEPDG, KindSOS, KindN3IWF}

// ParseKind accepts a Kind's name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if strings.EqualFold(s, string(k)) {
			return k, nil
		}
	}
	return "", fmt.Errorf("epdg: unknown kind %q (want epdg, sos or n3iwf)", s)
}

// PLMN identifies a mobile network by its country code and network code. MNC keeps the
// operator's own digits (2 or 3): E.212 treats "01" and "001" as different codes, although
// both give the same DNS name.
type PLMN struct {
	MCC string
	MNC string
}

// NewPLMN checks an MCC (exactly 3 digits) and an MNC (1 to 3 digits). A one-digit MNC is
// written with two digits, the shortest an MNC has.
func NewPLMN(mcc, mnc string) (PLMN, error) {
	mcc, mnc = strings.TrimSpace(mcc), strings.TrimSpace(mnc)
	if len(mcc) != 3 || !digits(mcc) {
		return PLMN{}, fmt.Errorf("epdg: bad MCC %q: want exactly 3 digits", mcc)
	}
	if len(mnc) < 1 || len(mnc) > 3 || !digits(mnc) {
		return PLMN{}, fmt.Errorf("epdg: bad MNC %q: want 1 to 3 digits", mnc)
	}
	if len(mnc) == 1 {
		mnc = "0" + mnc
	}
	return PLMN{MCC: mcc, MNC: mnc}, nil
}

// ParsePLMN reads "MCC-MNC", for example "505-01"; "505/01" is accepted as well.
func ParsePLMN(s string) (PLMN, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "-/")
	if i < 0 {
		return PLMN{}, fmt.Errorf("epdg: bad PLMN %q: want MCC-MNC, for example 505-01", s)
	}
	return NewPLMN(s[:i], s[i+1:])
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns "MCC-MNC".
func (p PLMN) String() string { return p.MCC + "-" + p.MNC }

// PaddedMNC returns the MNC with three digits, as DNS names carry it.
func (p PLMN) PaddedMNC() string {
	return strings.Repeat("0", max(0, 3-len(p.MNC))) + p.MNC
}

// FQDN returns the gateway's name for kind k, without the trailing dot.
func (p PLMN) FQDN(k Kind) string {
	suffix := "mnc" + p.PaddedMNC() + ".mcc" + p.MCC + ".pub.3gppnetwork.org"
	switch k {
	case KindSOS:
		return "sos.epdg.epc." + suffix
	case KindN3IWF:
		return "n3iwf.5gc." + suffix
	default:
		return "epdg.epc." + suffix
	}
}
