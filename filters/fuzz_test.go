package filters

import (
	"context"
	"testing"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// FuzzCompile compiles arbitrary expressions and runs those that compile on SIP and DNS messages:
// neither may panic, and a failure must be an *Error.
func FuzzCompile(f *testing.F) {
	for _, p := range Builtin() {
		f.Add(p.Expression)
	}
	for _, s := range []string{`sip.header("X-Foo") matches "^b"`, `ip.addr in ["10.0.0.0/8", "::1"]`, `sip.status in 400..499`,
		`frame.time > "2024-05-01T10:00:00Z"`, `dns.qry.type == "SRV" and dns.qry.name endsWith "org"`, `payload contains hex("00ff")`,
		`call.has("hold") or call.duration > 3.5`, `not (port == 5060) && !sip`, `sip.Status-Code == 486 or dns contains 33:67:70`,
		`ip.src == 10.0.0.0/8 and ip.dst != 192.0.2.1`, "\"a-b\" 'c:d' `e`", `ip.addr == fe80::/10 || ip.src in [::1, 2001:db8::1]`} {
		f.Add(s)
	}
	msgs := benchMessages(f)
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Compile(expr)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%q: error %T %v", expr, err, err)
			}
			_ = err.Error()
			return
		}
		for _, m := range msgs {
			flt.MatchMessage(m)
		}
		flt.MatchCall(&correlate.Call{CallID: "x", Legs: []correlate.Leg{{CallID: "x"}}}, msgs...)
	})
}

// FuzzDNSQuestion reads the header and question of arbitrary bytes, seeded with the DNS messages
// of real captures.
func FuzzDNSQuestion(f *testing.F) {
	for _, file := range []string{"third_party/ndpi/dns.pcap", "third_party/ndpi/dns_fragmented.pcap", "third_party/open5gs/nonipsec_reg.pcapng"} {
		path := corpus.Path(f, file)
		_, err := decode.Run(context.Background(), []string{path}, func(m *decode.Message) {
			if m.Protocol == decode.ProtoDNS {
				f.Add(append([]byte(nil), m.Payload...))
			}
		}, decode.Options{})
		if err != nil {
			f.Fatal(err)
		}
	}
	f.Add([]byte{0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}) // a name that points at itself
	var d dnsInfo
	f.Fuzz(func(t *testing.T, b []byte) {
		if !d.parse(b) {
			return
		}
		if len(d.qname) > 255 {
			t.Fatalf("name of %d bytes", len(d.qname))
		}
	})
}
