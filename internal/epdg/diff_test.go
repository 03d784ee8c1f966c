package epdg

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// cloneReport copies a report deeply enough to edit its address lists.
func cloneReport(rep *Report) *Report {
	c := *rep
	c.Operators = slices.Clone(rep.Operators)
	for i := range c.Operators {
		c.Operators[i].Addresses = slices.Clone(c.Operators[i].Addresses)
	}
	return &c
}

func indexOf(rep *Report, plmn string) int {
	return slices.IndexFunc(rep.Operators, func(r Result) bool { return r.PLMN == plmn })
}

func TestDiff(t *testing.T) {
	cur, _ := resolveTestZone(t)
	same, err := Diff(cloneReport(cur), cur)
	if err != nil || AnyChanged(same) {
		t.Fatalf("a report against itself: %+v, %v", same, err)
	}

	prev := cloneReport(cur)
	prev.ResolvedAt = cur.ResolvedAt.Add(-24 * time.Hour)
	telstra := &prev.Operators[indexOf(prev, "505-01")]
	telstra.Addresses = telstra.Addresses[1:] // 203.0.113.10 is new today
	optus := &prev.Operators[indexOf(prev, "505-02")]
	optus.Addresses = append(optus.Addresses, netip.MustParseAddr("198.51.100.99")) // gone today
	vodafone := &prev.Operators[indexOf(prev, "505-03")]
	vodafone.Status, vodafone.Addresses = StatusOK, addrs("192.0.2.3") // NXDOMAIN today
	failing := &prev.Operators[indexOf(prev, "505-999")]
	failing.Status, failing.Addresses = StatusOK, addrs("192.0.2.99") // timed out today
	prev.Operators = slices.Delete(prev.Operators, indexOf(prev, "505-14"), indexOf(prev, "505-14")+1)

	changes, err := Diff(prev, cur)
	if err != nil {
		t.Fatal(err)
	}
	if !AnyChanged(changes) {
		t.Fatal("no change found")
	}
	got := map[string]Change{}
	for _, c := range changes {
		got[c.PLMN] = c
	}
	check := func(plmn string, added, removed, unconfirmed []netip.Addr, before Status) {
		t.Helper()
		c, ok := got[plmn]
		if !ok {
			t.Errorf("%s: no change reported", plmn)
			return
		}
		if !slices.Equal(c.Added, added) || !slices.Equal(c.Removed, removed) || !slices.Equal(c.Unconfirmed, unconfirmed) || c.Before != before {
			t.Errorf("%s: %+v", plmn, c)
		}
	}
	check("505-01", addrs("203.0.113.10"), nil, nil, StatusOK)
	check("505-02", nil, addrs("198.51.100.99"), nil, StatusOK)
	check("505-03", nil, addrs("192.0.2.3"), nil, StatusOK)
	check("505-999", nil, nil, addrs("192.0.2.99"), StatusOK)
	check("505-14", aaptAddrs(), nil, nil, "")
	if len(changes) != 5 {
		t.Errorf("%d changes, want 5: %+v", len(changes), changes)
	}
	if got["505-999"].Changed() {
		t.Error("a failed lookup counts as a change")
	}

	var buf bytes.Buffer
	if err := WriteDiff(&buf, prev, changes); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Telstra (505-01) epdg.epc.mnc001.mcc505.pub.3gppnetwork.org: +203.0.113.10\n",
		"Optus (505-02) epdg.epc.mnc002.mcc505.pub.3gppnetwork.org: -198.51.100.99\n",
		"Vodafone (505-03) epdg.epc.mnc003.mcc505.pub.3gppnetwork.org: ok -> nxdomain, -192.0.2.3\n",
		"505-999 epdg.epc.mnc999.mcc505.pub.3gppnetwork.org: ok -> timeout, (timeout: 1 earlier address(es) not confirmed: ?192.0.2.99)\n",
		"AAPT (505-14) epdg.epc.mnc014.mcc505.pub.3gppnetwork.org: new operator, +203.0.113.64",
		"129 address(es) added, 2 removed since 2026-11-22T12:00:00Z\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("diff text lacks %q:\n%s", want, buf.String())
		}
	}

	other := cloneReport(prev)
	other.Kind = KindSOS
	if _, err := Diff(other, cur); err == nil {
		t.Error("reports of different kinds compared")
	}
}
