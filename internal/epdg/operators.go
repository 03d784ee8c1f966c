package epdg

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
)

//go:generate ../../scripts/update-mccmnc

// mccmncTable is generated from the mcc-mnc-list npm package (see its header and mccmnc.LICENSE).
//
//go:embed mccmnc.tsv
var mccmncTable string

// Operator is one mobile network of the embedded MCC/MNC table.
type Operator struct {
	PLMN
	Countries   []string // ISO 3166 codes; Wikipedia gives several for some networks ("AU/CC/CX")
	CountryName string
	Brand       string
	Legal       string // the operator's company name
	Status      string // as Wikipedia states it: "Operational", "Not operational", "Unknown", ...
}

// Name returns the name people know the network by: its brand, else its operator.
func (o Operator) Name() string {
	if o.Brand != "" {
		return o.Brand
	}
	return o.Legal
}

// Country returns the network's first country code, or "" for international networks.
func (o Operator) Country() string {
	if len(o.Countries) == 0 {
		return ""
	}
	return o.Countries[0]
}

// Operational reports whether the table lists the network as in service.
func (o Operator) Operational() bool {
	return o.Status == "Operational" || o.Status == "Temporary operational"
}

var loadTable = sync.OnceValue(func() []Operator { return parseTable(mccmncTable) })

// parseTable reads the embedded table; the generator has already checked every code in it.
func parseTable(s string) []Operator {
	var ops []Operator
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 7 {
			continue
		}
		p, err := NewPLMN(f[0], f[1])
		if err != nil {
			continue
		}
		var countries []string
		for c := range strings.SplitSeq(f[2], "/") {
			if c != "" {
				countries = append(countries, c)
			}
		}
		ops = append(ops, Operator{PLMN: p, Countries: countries, CountryName: f[3], Brand: f[4], Legal: f[5], Status: f[6]})
	}
	return ops
}

// Operators returns the embedded MCC/MNC table, ordered by MCC and MNC. The caller must not
// modify it.
func Operators() []Operator { return loadTable() }

// LookupOperator finds a network in the table. The MNC's own digits are preferred ("01" is not
// "001" in E.212); failing that, a network whose MNC pads to the same three digits is returned,
// since both share one DNS name.
func LookupOperator(p PLMN) (Operator, bool) {
	ops := loadTable()
	for _, o := range ops {
		if o.PLMN == p {
			return o, true
		}
	}
	for _, o := range ops {
		if o.MCC == p.MCC && o.PaddedMNC() == p.PaddedMNC() {
			return o, true
		}
	}
	return Operator{}, false
}

// CountryOperators returns the networks of a country given by ISO 3166 code ("AU") or by name
// ("Australia"), case-insensitively. Unless all is set, only networks the table lists as
// operational are returned.
func CountryOperators(country string, all bool) ([]Operator, error) {
	country = strings.TrimSpace(country)
	if country == "" {
		return nil, fmt.Errorf("epdg: empty country")
	}
	var known bool
	var out []Operator
	for _, o := range loadTable() {
		if !strings.EqualFold(o.CountryName, country) && !slices.ContainsFunc(o.Countries, func(c string) bool { return strings.EqualFold(c, country) }) {
			continue
		}
		known = true
		if all || o.Operational() {
			out = append(out, o)
		}
	}
	switch {
	case !known:
		return nil, fmt.Errorf("epdg: no networks known for country %q (want an ISO 3166 code such as AU, or a country name)", country)
	case len(out) == 0:
		return nil, fmt.Errorf("epdg: no operational networks listed for country %q", country)
	}
	return out, nil
}
