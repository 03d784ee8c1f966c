package cli

import (
	"bytes"
	"context"
	"fmt"
	"github.com/sigtrace/sigtrace/decode/hep"
	"github.com/sigtrace/sigtrace/hepfeed"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// TestDecodePipedSameAsDecoder: the piped decoder hands over what the decoder gives in place, in
// the same order and with the same bytes (SIP messages and other UDP payloads alike), across
// many batches, while the capture buffer it reads from is reused; its statistics are the same.
func TestDecodePipedSameAsDecoder(t *testing.T) {
	// About 40,000 SIP messages and 10,000 RTP packets: some eighty batches.
	gen, _ := generated(t, 3000)
	files := map[string]func(t *testing.T) string{"generated": func(*testing.T) string { return gen }}
	for _, rel := range []string{"class45/class45.pcapng", "class45/class45-hep-feed.pcap",
		"third_party/sipnab/SIP_DTMF2.cap", "third_party/sngrep/ipv6frag.pcap"} {
		files[rel] = func(t *testing.T) string { return corpus.Path(t, rel) }
	}
	for name, path := range files {
		t.Run(name, func(t *testing.T) {
			file := path(t)
			var want, got []string
			opts := decode.Options{DedupWindow: -1, UncheckedSIP: true, OtherUDP: func(m *decode.Message, p []byte) {
				want = append(want, pipeRecord(m, p))
			}}
			d := decode.NewDecoder(func(m *decode.Message) {
				if m.Protocol == decode.ProtoSIP && m.SIP != nil {
					want = append(want, pipeRecord(m, nil))
				}
			}, opts)
			caps := openForTest(t, file)
			d.Stats.Inputs = 1
			if err := decode.EachFrame(context.Background(), caps, func(_ int, fr *decode.Frame) error { d.Frame(fr); return nil }); err != nil {
				t.Fatal(err)
			}
			d.Finish()

			stats, err := decodePiped(context.Background(), openForTest(t, file), opts, true,
				func(m *decode.Message) { got = append(got, pipeRecord(m, nil)) },
				func(m *decode.Message, p []byte) { got = append(got, pipeRecord(m, p)) })
			if err != nil {
				t.Fatal(err)
			}
			if name == "generated" && len(want) < 40*pipeBatchItems {
				t.Fatalf("%d messages: too few to cross many batches", len(want))
			}
			if len(want) == 0 {
				t.Fatal("nothing decoded")
			}
			sameLines(t, "piped against in place", got, want)
			if fmt.Sprint(stats) != fmt.Sprint(d.Stats) {
				t.Errorf("statistics piped %+v, in place %+v", stats, d.Stats)
			}
		})
	}
}

// pipeRecord is what the correlator reads of a message (or of an RTP payload), as text.
func pipeRecord(m *decode.Message, rtp []byte) string {
	env := fmt.Sprintf("%s %d %v %s %s>%s %v dup=%v", m.Input, m.Frame, m.Frames, m.Time.Format("15:04:05.000000"), m.Src, m.Dst, m.Transport, m.Duplicate)
	if m.HEP != nil {
		env += fmt.Sprintf(" hep=%+v", *m.HEP)
	}
	if rtp != nil {
		return fmt.Sprintf("rtp %s %x", env, rtp)
	}
	s := m.SIP
	return fmt.Sprintf("sip %s %q from-tag=%q to-tag=%q via=%q users=%q,%q headers=%d payload=%x\n%s", env, s.CallID,
		s.FromTag(), s.ToTag(), s.Branch(), s.FromUser(), s.ToUser(), len(s.Headers()), m.Payload,
		strings.ToValidUTF8(string(bytes.Clone(s.Raw)), "?"))
}

func openForTest(t *testing.T, file string) []*decode.Capture {
	t.Helper()
	c, err := decode.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return []*decode.Capture{c}
}

// TestCallsJobs2: calls with --jobs 2 writes what --jobs 1 writes, with and without a filter, and
// on every file of the class-4/class-5 sample and a generated capture.
func TestCallsJobs2(t *testing.T) {
	gen, _ := generated(t, 1500)
	cases := map[string]func(t *testing.T) []string{
		"generated": func(*testing.T) []string { return []string{"-o", "json", gen} },
		"generated, filtered": func(*testing.T) []string {
			return []string{"-o", "csv", "--filter", `sip.status == 486 or payload contains "telephone-event"`, gen}
		},
		"class45": func(t *testing.T) []string {
			return []string{"-o", "json", corpus.Path(t, "class45/class45.pcapng"), corpus.Path(t, "class45/class45-hep-feed.pcap")}
		},
		"RTP digits": func(t *testing.T) []string {
			return []string{"-o", "json", corpus.Path(t, "third_party/sipnab/SIP_DTMF2.cap")}
		},
	}
	for name, argsOf := range cases {
		t.Run(name, func(t *testing.T) {
			args := argsOf(t)
			one, errOne, code1 := runCLI(t, append([]string{"calls", "-j", "1"}, args...)...)
			two, errTwo, code2 := runCLI(t, append([]string{"calls", "--jobs", "2"}, args...)...)
			if code1 != 0 || code2 != 0 || one != two || errOne != errTwo || strings.Count(one, "\n") < 2 {
				t.Errorf("--jobs 1 exit %d, %d lines; --jobs 2 exit %d, %d lines; stderr:\n%s\n%s",
					code1, strings.Count(one, "\n"), code2, strings.Count(two, "\n"), errOne, errTwo)
			}
		})
	}
	if _, errOut, code := runCLI(t, "calls", "-j", "3", gen); code != 2 || !strings.Contains(errOut, "--jobs must be 1 or 2") {
		t.Errorf("-j 3: exit %d, %q", code, errOut)
	}
}

// TestCallsJobs2HEPAgents: a HEP feed whose packets come from many capture agents (ids and node
// names changing from packet to packet). Each piped message keeps its own agent, not that of a
// packet the decoder read later; a filter on the agent selects the same calls with --jobs 2.
func TestCallsJobs2HEPAgents(t *testing.T) {
	inner, _ := generated(t, 300)
	feed := filepath.Join(t.TempDir(), "hep.pcapng")
	f, err := os.Create(feed)
	if err != nil {
		t.Fatal(err)
	}
	w, err := hepfeed.NewCaptureWriter(f, "test")
	if err != nil {
		t.Fatal(err)
	}
	var dec hepfeed.Decapsulator
	agent, collector := netip.MustParseAddrPort("192.0.2.200:40000"), netip.MustParseAddrPort("192.0.2.100:9060")
	n := 0
	d := decode.NewDecoder(func(m *decode.Message) {
		if m.Protocol != decode.ProtoSIP {
			return
		}
		n++
		in := hep.Packet{Version: 3, IPProto: 17, Src: m.Src, Dst: m.Dst, Time: m.Time, ProtoType: hep.ProtoSIP,
			CaptureID: uint32(1000 + n%7), NodeName: []byte(fmt.Sprintf("agent-%d", n%5)), Payload: m.SIP.Raw}
		b, err := hep.AppendEncode(nil, &in)
		if err != nil {
			t.Fatal(err)
		}
		out := hep.Packet{IPProto: 17, Src: agent, Dst: collector, Payload: b}
		if err := w.WriteFrame(m.Time, dec.AppendIP(nil, &out)); err != nil {
			t.Fatal(err)
		}
	}, decode.Options{})
	if err := d.RunCaptures(context.Background(), openForTest(t, inner)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil || f.Close() != nil || n < 3000 {
		t.Fatalf("%d messages written: %v", n, err)
	}

	var want, got []string
	opts := decode.Options{DedupWindow: -1, UncheckedSIP: true}
	d = decode.NewDecoder(func(m *decode.Message) {
		if m.Protocol == decode.ProtoSIP {
			want = append(want, pipeRecord(m, nil))
		}
	}, opts)
	if err := d.RunCaptures(context.Background(), openForTest(t, feed)); err != nil {
		t.Fatal(err)
	}
	if _, err := decodePiped(context.Background(), openForTest(t, feed), opts, true,
		func(m *decode.Message) { got = append(got, pipeRecord(m, nil)) }, func(*decode.Message, []byte) {}); err != nil {
		t.Fatal(err)
	}
	if len(want) != n {
		t.Fatalf("%d messages written, %d decoded in place", n, len(want))
	}
	sameLines(t, "piped against in place", got, want)
	for _, flt := range []string{`hep.capture_id == 1003`, `hep.node == "agent-2" and sip.method == "BYE"`} {
		one, _, code1 := runCLI(t, "calls", "-q", "-o", "json", "--filter", flt, feed)
		two, _, code2 := runCLI(t, "calls", "-q", "-o", "json", "-j", "2", "--filter", flt, feed)
		if code1 != 0 || code2 != 0 || one != two || strings.Count(one, "\n") < 10 {
			t.Errorf("%s: --jobs 1 exit %d, %d calls; --jobs 2 exit %d, %d calls", flt, code1, strings.Count(one, "\n"),
				code2, strings.Count(two, "\n"))
		}
	}
}
