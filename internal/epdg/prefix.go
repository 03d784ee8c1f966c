package epdg

import (
	"cmp"
	"net/netip"
	"slices"
)

// entry is one prefix of an address list and the operators (indexes into Report.Operators,
// ascending) whose addresses it covers.
type entry struct {
	prefix netip.Prefix
	ops    []int
}

// entries turns a report's addresses into host prefixes (/32, /128), one per address however
// many operators share it. With aggregate, contained prefixes are dropped and sibling prefixes
// merged into their parent until no two can be, so the list covers exactly the same addresses.
// Entries come grouped by operator (in report order), then by address.
func entries(rep *Report, aggregate bool) []entry {
	byPrefix := map[netip.Prefix][]int{}
	for i, r := range rep.Operators {
		for _, a := range r.Addresses {
			p := netip.PrefixFrom(a, a.BitLen())
			if ops := byPrefix[p]; len(ops) == 0 || ops[len(ops)-1] != i {
				byPrefix[p] = append(ops, i)
			}
		}
	}
	list := make([]entry, 0, len(byPrefix))
	for p, ops := range byPrefix {
		list = append(list, entry{prefix: p, ops: ops})
	}
	slices.SortFunc(list, func(a, b entry) int { return comparePrefix(a.prefix, b.prefix) })
	if aggregate {
		list = mergePrefixes(list)
	}
	slices.SortStableFunc(list, func(a, b entry) int {
		return cmp.Or(slices.Compare(a.ops, b.ops), comparePrefix(a.prefix, b.prefix))
	})
	return list
}

// comparePrefix orders by address (IPv4 first), then shorter prefixes first, so that a prefix
// comes before those it contains.
func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

// mergePrefixes aggregates a list sorted by comparePrefix.
func mergePrefixes(sorted []entry) []entry {
	var out []entry
	for _, e := range sorted {
		if n := len(out); n > 0 && out[n-1].prefix.Bits() <= e.prefix.Bits() && out[n-1].prefix.Contains(e.prefix.Addr()) {
			out[n-1].ops = unionOps(out[n-1].ops, e.ops)
			continue
		}
		out = append(out, e)
		for len(out) >= 2 {
			a, b := out[len(out)-2], out[len(out)-1]
			parent, ok := siblings(a.prefix, b.prefix)
			if !ok {
				break
			}
			out = append(out[:len(out)-2], entry{prefix: parent, ops: unionOps(a.ops, b.ops)})
		}
	}
	return out
}

// siblings reports whether a and b are the two halves of one prefix, and returns it.
func siblings(a, b netip.Prefix) (netip.Prefix, bool) {
	if a.Bits() != b.Bits() || a.Bits() == 0 || a.Addr().Is4() != b.Addr().Is4() || a == b {
		return netip.Prefix{}, false
	}
	pa := netip.PrefixFrom(a.Addr(), a.Bits()-1).Masked()
	pb := netip.PrefixFrom(b.Addr(), b.Bits()-1).Masked()
	return pa, pa == pb
}

func unionOps(a, b []int) []int {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
