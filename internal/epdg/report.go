package epdg

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"
)

// Status says how the lookup of one gateway name ended.
type Status string

const (
	StatusOK       Status = "ok"       // addresses found
	StatusNXDomain Status = "nxdomain" // the name does not exist: the operator publishes no gateway
	StatusNoData   Status = "nodata"   // the name exists but has no A or AAAA records
	StatusServFail Status = "servfail" // the resolvers answered SERVFAIL
	StatusTimeout  Status = "timeout"  // no answer in time, after every retry
	StatusError    Status = "error"    // any other failure (refused, network error, CNAME loop)
)

// Conclusive reports whether the status is an answer about the name rather than a failure to get
// one. Addresses missing after an inconclusive lookup may still be in service.
func (s Status) Conclusive() bool {
	return s == StatusOK || s == StatusNXDomain || s == StatusNoData
}

// Report is the result of one run; its JSON form is what `sigtrace epdg -o json` writes and what
// --diff and other tools (HOMER integration) read back.
type Report struct {
	ResolvedAt time.Time `json:"resolved_at"`
	Kind       Kind      `json:"kind"`
	Resolvers  []string  `json:"resolvers"`
	Operators  []Result  `json:"operators"`
}

// Result is one operator's gateway lookup.
type Result struct {
	PLMN      string       `json:"plmn"`    // "505-01"
	MCC       string       `json:"mcc"`     // 3 digits
	MNC       string       `json:"mnc"`     // the operator's own 2 or 3 digits
	Name      string       `json:"name"`    // brand or operator, "" when the table lacks the network
	Country   string       `json:"country"` // ISO 3166 code
	FQDN      string       `json:"fqdn"`    // gateway name, MNC padded to 3 digits, no trailing dot
	Status    Status       `json:"status"`
	CNAMEs    []string     `json:"cnames"`    // the CNAME chain followed, in order, no trailing dots
	Addresses []netip.Addr `json:"addresses"` // IPv4 first, then IPv6, each sorted
	Error     string       `json:"error"`     // why the lookup failed, or which part of it did
}

// Label names the operator for comments: "Telstra (505-01)", or the PLMN alone.
func (r Result) Label() string {
	if r.Name == "" {
		return r.PLMN
	}
	return r.Name + " (" + r.PLMN + ")"
}

// AddressCount returns how many addresses the report holds, over all operators.
func (rep *Report) AddressCount() int {
	n := 0
	for _, r := range rep.Operators {
		n += len(r.Addresses)
	}
	return n
}

// ReadReport reads a report written by WriteJSON (for --diff).
func ReadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("epdg: %w", err)
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("epdg: %s: not a sigtrace epdg JSON report: %w", path, err)
	}
	if _, err := ParseKind(string(rep.Kind)); err != nil {
		return nil, fmt.Errorf("epdg: %s: bad kind %q", path, rep.Kind)
	}
	for i, r := range rep.Operators {
		if r.FQDN == "" {
			return nil, fmt.Errorf("epdg: %s: operator %d has no fqdn", path, i+1)
		}
	}
	return &rep, nil
}

// sortAddrs orders addresses IPv4 first and removes duplicates.
func sortAddrs(a []netip.Addr) []netip.Addr {
	slices.SortFunc(a, func(x, y netip.Addr) int { return x.Compare(y) })
	return slices.Compact(a)
}
