package filters

import (
	"testing"

	mdns "github.com/miekg/dns"
)

// TestNoAllocations guards the per-message cost: evaluating the built-in presets allocates nothing.
func TestNoAllocations(t *testing.T) {
	msgs := benchMessages(t)
	for _, p := range Builtin() {
		f, err := builtinLibrary().CompilePreset(p.Name)
		if err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			for _, m := range msgs {
				f.MatchMessage(m)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per run", p.Name, allocs)
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
