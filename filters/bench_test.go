package filters

import (
	"testing"

	mdns "github.com/miekg/dns"
)

// TestNoAllocations guards the per-message cost: evaluating the built-in presets and expressions
// over every kind of field allocates nothing.
func TestNoAllocations(t *testing.T) {
	msgs := append(benchMessages(t), dnsMessage(t, srvAnswer))
	exprs := []string{
		`dns.a in "10.0.0.0/8" or dns.resp.name endsWith "org" or dns.answer contains "5060" or dns.qry.name matches "^_sip"`,
		`sip.header("X-Foo") == "bar" or sip.from.user == "alice" or sip.to.tag == "t9" or sip.branch startsWith "z9"`,
		`ip.addr in ["10.0.0.0/8", "2001:db8::/32"] and port != 53 and frame.time > "2024-01-01T00:00:00Z"`,
		`sip.method in ["INVITE", "BYE"] or sip.status in 400..699 or payload contains hex("00:ff")`,
	}
	for _, p := range Builtin() {
		exprs = append(exprs, `preset("`+p.Name+`")`)
	}
	for _, e := range exprs {
		f, err := Compile(e)
		if err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			for _, m := range msgs {
				f.MatchMessage(m)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per run", e, allocs)
		}
	}
}

func benchMessages(t testing.TB) []*decodeMessage {
	return []*decodeMessage{
		sipMessage(t, invite, "10.1.2.3:5060", "192.0.2.7:5060"),
		sipMessage(t, busy, "192.0.2.7:5060", "10.1.2.3:5060"),
		dnsMessage(t, srvQuery),
		dnsMessage(t, func(m *mdns.Msg) { m.SetQuestion("www.example.com.", mdns.TypeA) }),
	}
}

func BenchmarkEPCIMS(b *testing.B) {
	f, err := builtinLibrary().CompilePreset("epc-ims")
	if err != nil {
		b.Fatal(err)
	}
	msgs := benchMessages(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			f.MatchMessage(m)
		}
	}
}
