package epdg

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// Change is what differs for one operator between an earlier report and the current one.
type Change struct {
	PLMN    string
	Label   string // "Telstra (505-01)"
	FQDN    string
	Before  Status // "" when the operator was not in the earlier report
	After   Status
	Added   []netip.Addr
	Removed []netip.Addr
	// Unconfirmed holds earlier addresses missing from an inconclusive lookup (timeout,
	// SERVFAIL, error): they may still be in service, so they are not counted as removed.
	Unconfirmed []netip.Addr
}

// Changed reports whether addresses were added or removed.
func (c Change) Changed() bool { return len(c.Added) > 0 || len(c.Removed) > 0 }

// Diff compares the current report with an earlier one, operator by operator (matched by
// gateway name). Operators only in the earlier report were not asked about this time and are
// left out. It returns the operators with added, removed or unconfirmed addresses.
func Diff(prev, cur *Report) ([]Change, error) {
	if prev.Kind != cur.Kind {
		return nil, fmt.Errorf("epdg: the earlier report is for kind %s, this run for %s", prev.Kind, cur.Kind)
	}
	before := make(map[string]Result, len(prev.Operators))
	for _, r := range prev.Operators {
		before[strings.ToLower(r.FQDN)] = r
	}
	var out []Change
	for _, r := range cur.Operators {
		old, known := before[strings.ToLower(r.FQDN)]
		c := Change{PLMN: r.PLMN, Label: r.Label(), FQDN: r.FQDN, After: r.Status}
		if known {
			c.Before = old.Status
		}
		now := make(map[netip.Addr]bool, len(r.Addresses))
		for _, a := range r.Addresses {
			now[a] = true
		}
		was := make(map[netip.Addr]bool, len(old.Addresses))
		for _, a := range old.Addresses {
			was[a] = true
			if now[a] {
				continue
			}
			if r.Status.Conclusive() {
				c.Removed = append(c.Removed, a)
			} else {
				c.Unconfirmed = append(c.Unconfirmed, a)
			}
		}
		for _, a := range r.Addresses {
			if !was[a] {
				c.Added = append(c.Added, a)
			}
		}
		if c.Changed() || len(c.Unconfirmed) > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// AnyChanged reports whether any change adds or removes an address.
func AnyChanged(changes []Change) bool {
	for _, c := range changes {
		if c.Changed() {
			return true
		}
	}
	return false
}

// WriteDiff writes changes one operator a line, "+" before added and "-" before removed
// addresses, then a summary line.
func WriteDiff(w io.Writer, prev *Report, changes []Change) error {
	ew := &errWriter{w: w}
	added, removed := 0, 0
	for _, c := range changes {
		var parts []string
		switch {
		case c.Before == "":
			parts = append(parts, "new operator,")
		case c.Before != c.After:
			parts = append(parts, fmt.Sprintf("%s -> %s,", c.Before, c.After))
		}
		for _, a := range c.Added {
			parts = append(parts, "+"+a.String())
		}
		for _, a := range c.Removed {
			parts = append(parts, "-"+a.String())
		}
		if len(c.Unconfirmed) > 0 {
			parts = append(parts, fmt.Sprintf("(%s: %d earlier address(es) not confirmed:", c.After, len(c.Unconfirmed)))
			for _, a := range c.Unconfirmed {
				parts = append(parts, "?"+a.String())
			}
			parts[len(parts)-1] += ")"
		}
		added += len(c.Added)
		removed += len(c.Removed)
		fmt.Fprintf(ew, "%s %s: %s\n", c.Label, c.FQDN, oneLine(strings.Join(parts, " ")))
	}
	since := prev.ResolvedAt.UTC().Format("2006-01-02T15:04:05Z07:00")
	if added+removed == 0 {
		fmt.Fprintf(ew, "no address changed since %s\n", since)
	} else {
		fmt.Fprintf(ew, "%d address(es) added, %d removed since %s\n", added, removed, since)
	}
	return ew.err
}
