package dns

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/miekg/dns"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

func addSeeds(f *testing.F) {
	f.Add(pack(f, response(f)))
	q := new(dns.Msg)
	q.SetQuestion("_sip._udp.ims.example.", dns.TypeNAPTR)
	f.Add(pack(f, q))
	for _, name := range []string{"third_party/zeek/dns/naptr.pcap", "third_party/ndpi/dns_fragmented.pcap",
		"third_party/suricata-verify/dns-udp-eve-log-srv/input.pcap", "third_party/ndpi/dns.pcap"} {
		for _, c := range dnsMessages(f, corpus.Path(f, name)) {
			f.Add(c.data)
		}
	}
}

func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if errors.Is(err, ErrShort) != (m == nil) {
			t.Fatalf("message %v with error %v", m != nil, err)
		}
		if err != nil && !errors.Is(err, ErrShort) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("unexpected error %v", err)
		}
		if m == nil {
			return
		}
		if m.ID != uint16(b[0])<<8|uint16(b[1]) || m.Response != (b[2]&0x80 != 0) {
			t.Fatalf("header: id %#x response %v from % x", m.ID, m.Response, b[:4])
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		m.Addresses()
	})
}

func FuzzDNSMessageLength(f *testing.F) {
	addSeeds(f) // raw messages: their first two bytes make arbitrary prefixes
	f.Add([]byte{0, 12, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := MessageLength(b)
		switch {
		case err != nil:
			if n != 0 {
				t.Fatalf("%d with error %v", n, err)
			}
			if _, err2 := MessageLength(append(b[:len(b):len(b)], make([]byte, 300)...)); err2 == nil {
				t.Fatalf("error %v went away with more bytes", err)
			}
		case n == 0:
			if len(b) >= 2 && len(b) >= 2+(int(b[0])<<8|int(b[1])) {
				t.Fatalf("complete message reported incomplete: % x", b[:2])
			}
		default:
			if n < 2+HeaderLength || n > len(b) || n != 2+(int(b[0])<<8|int(b[1])) {
				t.Fatalf("length %d for % x... of %d bytes", n, b[:2], len(b))
			}
			if n2, err := MessageLength(b[:n-1]); n2 != 0 || err != nil {
				t.Fatalf("one byte short: %d, %v", n2, err)
			}
		}
	})
}
