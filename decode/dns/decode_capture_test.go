package dns

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// TestDecodeCaptures decodes every DNS message on port 53 of the sample captures; where tshark is
// installed, each frame's messages must agree with its dissection: id, QR, question, rcode, answer
// count and every A/AAAA address.
func TestDecodeCaptures(t *testing.T) {
	for _, name := range dnsCaptures {
		t.Run(name[strings.LastIndex(name, "third_party/")+len("third_party/"):], func(t *testing.T) {
			t.Parallel() // tshark spends a second starting up for each capture
			path := corpus.Path(t, name)
			captured := dnsMessages(t, path)
			if len(captured) == 0 {
				t.Fatal("no DNS message found")
			}
			byFrame := map[int][]*Message{}
			overTCP := 0
			for _, c := range captured {
				if c.tcp {
					overTCP++
				}
				m, err := Decode(c.data)
				if err != nil {
					t.Fatalf("frame %d: %v", c.frame, err)
				}
				if len(m.Questions) == 0 {
					t.Errorf("frame %d: no question", c.frame)
				}
				byFrame[c.frame] = append(byFrame[c.frame], m)
			}
			// dns_fragmented.pcap also carries DNS over TCP: the framing must have found it.
			if strings.HasSuffix(name, "dns_fragmented.pcap") && overTCP == 0 {
				t.Error("no DNS over TCP found")
			}
			if testing.Short() {
				return
			}
			want := runTshark(t, path)
			if len(want) != len(byFrame) {
				t.Fatalf("tshark finds DNS in %d frames, the extraction in %d", len(want), len(byFrame))
			}
			for _, w := range want {
				msgs := byFrame[w.frame]
				if msgs == nil {
					t.Errorf("frame %d: tshark finds DNS, the extraction none", w.frame)
					continue
				}
				if got := summary(w.frame, msgs); got != w {
					t.Errorf("frame %d:\n got %+v\nwant %+v (tshark)", w.frame, got, w)
				}
			}
		})
	}
}

// summary renders a frame's messages as tshark's fields do.
func summary(frame int, msgs []*Message) tsharkDNS {
	var id, resp, qname, qtype, rcode, addr, answers []string
	for _, m := range msgs {
		id = append(id, fmt.Sprintf("0x%04x", m.ID))
		resp = append(resp, map[bool]string{true: "1", false: "0"}[m.Response])
		for _, q := range m.Questions {
			qname = append(qname, strings.TrimSuffix(q.Name, "."))
			qtype = append(qtype, strconv.Itoa(int(q.QType)))
		}
		if m.Response { // tshark shows the header's four bits, for responses only
			rcode = append(rcode, strconv.Itoa(m.Rcode&0xf))
		}
		answers = append(answers, strconv.Itoa(len(m.Answers)))
		// tshark lists A records of every section, then AAAA records.
		var a4, a6 []string
		for _, section := range [][]dns.RR{m.Msg.Answer, m.Msg.Ns, m.Msg.Extra} {
			for _, rr := range section {
				switch r := rr.(type) {
				case *dns.A:
					a4 = append(a4, r.A.String())
				case *dns.AAAA:
					a6 = append(a6, r.AAAA.String())
				}
			}
		}
		addr = append(addr, a4...)
		addr = append(addr, a6...)
	}
	sort.SliceStable(addr, func(i, j int) bool { return strings.Contains(addr[j], ":") && !strings.Contains(addr[i], ":") })
	j := func(s []string) string { return strings.Join(s, tsharkAggregator) }
	return tsharkDNS{frame: frame, id: j(id), response: j(resp), qname: j(qname), qtype: j(qtype), rcode: j(rcode),
		addr: j(addr), answers: j(answers)}
}
