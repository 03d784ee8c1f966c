package correlate

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/sip"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// fuzzSep separates the SIP messages of one fuzz input.
var fuzzSep = []byte("\x00\x00")

// sipSeeds returns runs of consecutive SIP messages from a real capture, joined by fuzzSep.
func sipSeeds(f *testing.F, file string, per int) [][]byte {
	f.Helper()
	var seeds [][]byte
	var cur [][]byte
	_, err := decode.Run(context.Background(), []string{file}, func(m *decode.Message) {
		if m.Protocol != decode.ProtoSIP {
			return
		}
		cur = append(cur, bytes.Clone(m.Payload))
		if len(cur) == per {
			seeds = append(seeds, bytes.Join(cur, fuzzSep))
			cur = nil
		}
	}, decode.Options{})
	if err != nil {
		f.Fatal(err)
	}
	if len(cur) > 0 {
		seeds = append(seeds, bytes.Join(cur, fuzzSep))
	}
	return seeds
}

// FuzzCalls feeds sequences of SIP messages (real calls, mutated) to a correlator: it must not
// panic, and what it emits must be well formed.
func FuzzCalls(f *testing.F) {
	for _, file := range []string{"class45/class45.pcapng", "third_party/sipnab/b2bua-asterisk.pcapng", "third_party/sipnab/DTMFsipinfo.pcap"} {
		for _, s := range sipSeeds(f, corpus.Path(f, file), 24) {
			f.Add(s, true)
		}
	}
	hosts := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:5060"), netip.MustParseAddrPort("192.0.2.2:5060"),
		netip.MustParseAddrPort("192.0.2.3:5080"), netip.MustParseAddrPort("[2001:db8::1]:5060")}
	f.Fuzz(func(t *testing.T, data []byte, heuristic bool) {
		c := NewCalls(CallOptions{Heuristic: heuristic, MaxOpen: 8, LegHeaders: []string{"X-Parent"}})
		var calls []*Call
		start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		var sm sip.Message
		for i, raw := range bytes.Split(data, fuzzSep) {
			if sip.Parse(raw, &sm) != nil {
				continue
			}
			// The first byte picks the hop and how much time passes, so that timers and the grace
			// period are exercised too.
			var b byte
			if len(raw) > 0 {
				b = raw[len(raw)-1]
			}
			m := &decode.Message{Envelope: decode.Envelope{Time: start.Add(time.Duration(i) * time.Millisecond * time.Duration(1+int(b)%7*700)),
				Src: hosts[int(b)%4], Dst: hosts[int(b/4)%4], Transport: decode.UDP, Frame: i + 1}, Protocol: decode.ProtoSIP, SIP: &sm}
			start = m.Time
			calls = append(calls, c.Add(m)...)
			c.AddRTP(m.Time, hosts[int(b)%4], raw, i+1, "")
		}
		calls = append(calls, c.Flush()...)
		if st := c.Stats(); st.Calls != len(calls) || c.Open() != 0 {
			t.Fatalf("%d calls emitted, stats say %d; %d still open", len(calls), st.Calls, c.Open())
		}
		if !c.rtp.empty() {
			t.Fatalf("media addresses left after Flush: %v", c.rtp)
		}
		var b []byte
		for _, call := range calls {
			if len(call.Legs) == 0 || call.CallID != call.Legs[0].CallID || call.Legs[0].ParentCallID != "" && call.Legs[0].Role != RoleClass5 {
				t.Fatalf("bad call %+v", call)
			}
			ids := map[string]bool{}
			for _, l := range call.Legs {
				if ids[l.CallID] {
					t.Fatalf("leg %q twice in call %q", l.CallID, call.CallID)
				}
				ids[l.CallID] = true
			}
			for _, e := range call.Events {
				if !ids[e.Leg] {
					t.Fatalf("event %+v on a leg not in the call", e)
				}
			}
			b = call.AppendJSON(b[:0])
			if !json.Valid(b) {
				t.Fatalf("invalid JSON %s", b)
			}
			c.Release(call)
		}
	})
}

// FuzzSDPEvents compares the quick telephone-event scan with the SIP package's full SDP parser.
func FuzzSDPEvents(f *testing.F) {
	for _, file := range []string{"class45/class45.pcapng", "third_party/sipnab/SIP_DTMF2.cap", "third_party/sipnab/sip-488-codec-reject.pcapng"} {
		_, err := decode.Run(context.Background(), []string{corpus.Path(f, file)}, func(m *decode.Message) {
			if m.Protocol == decode.ProtoSIP {
				if body := m.SIP.SDPBody(); len(body) > 0 {
					f.Add(bytes.Clone(body))
				}
			}
		}, decode.Options{})
		if err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got []string
		sdpEvents(body, func(conn []byte, port, pt int) {
			if port <= 0 || port > 0xffff || pt < 0 || pt > 127 {
				t.Fatalf("port %d, payload type %d", port, pt)
			}
			got = append(got, string(conn)+" "+itoa(port)+" "+itoa(pt))
		})
		var s sip.SDP
		if sip.ParseSDP(body, &s) != nil {
			return
		}
		var want []string
		for i := range s.Media {
			md := &s.Media[i]
			pt, ok := md.TelephoneEvent()
			if !ok || md.Port <= 0 || md.Port > 0xffff || !cleanSDP(body) {
				continue
			}
			want = append(want, string(s.Connection(i).Address)+" "+itoa(md.Port)+" "+itoa(pt))
		}
		if !cleanSDP(body) {
			return
		}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Fatalf("%q:\n quick %v\n  full %v", body, got, want)
		}
	})
}

// cleanSDP reports the bodies both readers must agree on: the quick scan reads the spelling SDP
// stacks write ("a=rtpmap:" in lower case, spaces and no tabs between fields, a CR only right
// before LF).
func cleanSDP(b []byte) bool {
	return !bytes.Contains(b, []byte("\t")) && bytes.Count(b, []byte("\r")) == bytes.Count(b, []byte("\r\n")) &&
		bytes.Count(b, []byte("rtpmap:")) == bytes.Count(bytes.ToLower(b), []byte("rtpmap:"))
}
