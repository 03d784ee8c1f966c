package epdg

import (
	"io"
	"math/big"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/miekg/dns"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// dnsResponses reads the DNS answers (UDP source port 53) of a real capture, for fuzz seeds.
func dnsResponses(f *testing.F, rel string) [][]byte {
	f.Helper()
	file, err := os.Open(corpus.Path(f, rel))
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	type reader interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var r reader
	var link layers.LinkType
	if ng, err := pcapgo.NewNgReader(file, pcapgo.DefaultNgReaderOptions); err == nil {
		r, link = ng, ng.LinkType()
	} else {
		if _, err := file.Seek(0, io.SeekStart); err != nil {
			f.Fatal(err)
		}
		pr, err := pcapgo.NewReader(file)
		if err != nil {
			f.Fatalf("%s: %v", rel, err)
		}
		r, link = pr, pr.LinkType()
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		pkt := gopacket.NewPacket(data, link, gopacket.NoCopy)
		if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && udp.SrcPort == 53 && len(udp.Payload) > 12 {
			out = append(out, udp.Payload)
		}
	}
	if len(out) == 0 {
		f.Fatalf("%s: no DNS answer found", rel)
	}
	return out
}

// FuzzAnswer feeds arbitrary DNS messages to the code that walks answers: it must never panic,
// must end on CNAME loops, and must return only addresses of the type asked for.
func FuzzAnswer(f *testing.F) {
	for _, rel := range []string{"third_party/open5gs/nonipsec_reg.pcapng", "third_party/ndpi/dns.pcap", "third_party/zeek/dns/naptr.pcap"} {
		for _, b := range dnsResponses(f, rel) {
			f.Add(b)
		}
	}
	// A CNAME loop and a chain to an address, as the test zone's operators have.
	for _, rrs := range [][]string{
		{"a.test. 60 IN CNAME b.test.", "b.test. 60 IN CNAME a.test."},
		{"a.test. 60 IN CNAME b.test.", "b.test. 60 IN A 192.0.2.1", "b.test. 60 IN AAAA 2001:db8::1"},
	} {
		m := new(dns.Msg)
		m.SetQuestion("a.test.", dns.TypeA)
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			if err != nil {
				f.Fatal(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		resp := new(dns.Msg)
		if resp.Unpack(data) != nil {
			return
		}
		name := "a.test."
		if len(resp.Question) > 0 {
			name = resp.Question[0].Name
		}
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			var l lookup
			end, err := l.walk(resp, name, qtype, map[string]bool{strings.ToLower(name): true})
			if len(l.cnames) > maxChain {
				t.Fatalf("followed %d CNAMEs", len(l.cnames))
			}
			if err == nil && len(l.cnames) > 0 && !strings.EqualFold(l.cnames[len(l.cnames)-1], strings.TrimSuffix(end, ".")) {
				t.Fatalf("chain %v ends at %q", l.cnames, end)
			}
			for _, a := range l.addrs {
				if a.Is4() != (qtype == dns.TypeA) {
					t.Fatalf("%s lookup returned %s", dns.TypeToString[qtype], a)
				}
			}
		}
	})
}

var fqdnRE = regexp.MustCompile(`^((sos\.)?epdg\.epc|n3iwf\.5gc)\.mnc[0-9]{3}\.mcc[0-9]{3}\.pub\.3gppnetwork\.org$`)

// FuzzParsePLMN: any input either fails with an error or gives a PLMN whose names are valid.
func FuzzParsePLMN(f *testing.F) {
	for _, s := range []string{"505-01", "505-1", "310/260", "505-", "5050-01", "505-0001", "a-b", "", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePLMN(s)
		if err != nil {
			return
		}
		if len(p.MCC) != 3 || len(p.MNC) < 2 || len(p.MNC) > 3 {
			t.Fatalf("ParsePLMN(%q) = %+v", s, p)
		}
		for _, k := range Kinds {
			if !fqdnRE.MatchString(p.FQDN(k)) {
				t.Fatalf("ParsePLMN(%q): bad name %q", s, p.FQDN(k))
			}
		}
	})
}

// FuzzAggregate: the merged prefixes cover exactly the input addresses, and never overlap
// (nft rejects overlapping intervals).
func FuzzAggregate(f *testing.F) {
	f.Add([]byte{192, 0, 2, 0, 192, 0, 2, 1, 192, 0, 2, 2, 192, 0, 2, 3, 192, 0, 2, 5})
	f.Add([]byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		rep := &Report{Operators: []Result{{PLMN: "001-01"}, {PLMN: "001-02"}}}
		in := map[netip.Addr]bool{}
		// At most 512 addresses: the checks below are quadratic.
		for i := 0; len(data) >= 5 && i < 512; i++ {
			size := 4
			if data[0]&1 == 1 && len(data) >= 17 {
				size = 16
			}
			a, _ := netip.AddrFromSlice(data[1 : 1+size])
			data = data[1+size:]
			a = a.Unmap()
			in[a] = true
			op := &rep.Operators[i%2]
			op.Addresses = append(op.Addresses, a)
		}
		list := entries(rep, true)
		covered := new(big.Int)
		for i, e := range list {
			covered.Add(covered, new(big.Int).Lsh(big.NewInt(1), uint(e.prefix.Addr().BitLen()-e.prefix.Bits())))
			for _, o := range list[i+1:] {
				if e.prefix.Overlaps(o.prefix) {
					t.Fatalf("%s overlaps %s", e.prefix, o.prefix)
				}
			}
		}
		if covered.Cmp(big.NewInt(int64(len(in)))) != 0 {
			t.Fatalf("%d addresses in, prefixes cover %s: %v", len(in), covered, list)
		}
		for a := range in {
			found := false
			for _, e := range list {
				found = found || e.prefix.Contains(a)
			}
			if !found {
				t.Fatalf("%s not covered by %v", a, list)
			}
		}
	})
}
