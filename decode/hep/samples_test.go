package hep

import (
	"bytes"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// hep.pcap (sipcapture/hep-wireshark): eight HEP3 packets from a node.js agent. Expected values
// were read off the bytes with an independent ad-hoc chunk parser.
func TestSampleHEPWireshark(t *testing.T) {
	segs := hepSegments(t, corpus.Path(t, "third_party/hep-wireshark/hep.pcap"))
	a := netip.MustParseAddrPort
	want := []struct {
		src, dst   netip.AddrPort
		usec       int // the sender's seconds are the frame's; microseconds as sent
		protoType  uint8
		payloadLen int
		start      string
	}{
		{a("192.168.1.1:5060"), a("192.168.1.2:5060"), 100, ProtoSIP, 638, "INVITE sip:nodejs@127.0.0.1 SIP/2.0\n"},
		{a("192.168.1.2:5060"), a("192.168.1.1:5060"), 325, ProtoSIP, 322, "SIP/2.0 100 Trying\n"},
		{a("192.168.1.2:5060"), a("192.168.1.1:5060"), 126, ProtoSIP, 432, "SIP/2.0 407 Proxy Authentication Required\n"},
		{a("192.168.1.1:5060"), a("192.168.1.2:5060"), 127, ProtoSIP, 298, "OPTIONS sip:127.0.0.1 SIP/2.0\n"},
		{a("192.168.1.1:0"), a("192.168.1.2:0"), 126, ProtoLog, 83, "SYSLOG: Processing OPTIONS request"},
		{a("192.168.1.2:5060"), a("192.168.1.1:5060"), 326, ProtoSIP, 409, "SIP/2.0 200 Alive\n"},
		{a("192.168.1.1:5060"), a("192.168.1.2:5060"), 627, ProtoSIP, 813, "PUBLISH sip:nodejs@127.0.0.1:5999;transport=udp SIP/2.0\n"},
		{a("192.168.1.1:0"), a("192.168.1.2:0"), 927, ProtoRTCP, 333, `{"sender_information":{`},
	}
	if len(segs) != len(want) {
		t.Fatalf("%d HEP datagrams, want %d", len(segs), len(want))
	}
	var p Packet
	for i, s := range segs {
		w := want[i]
		if err := Decode(s.payload, &p); err != nil {
			t.Fatalf("frame %d: %v", s.frame, err)
		}
		if !Looks(s.payload) {
			t.Errorf("frame %d: Looks = false", s.frame)
		}
		wantTime := time.Unix(s.time.Unix(), int64(w.usec)*1000).UTC()
		if p.Version != 3 || p.Family != FamilyIPv4 || p.IPProto != 17 || p.CaptureID != 2001 ||
			p.Src != w.src || p.Dst != w.dst || !p.Time.Equal(wantTime) || p.ProtoType != w.protoType ||
			string(p.AuthKey) != "myHep" || string(p.CorrelationID) != "qgf3dm9rudi@127.0.0.1" ||
			p.NodeName != nil || p.Compressed || len(p.Payload) != w.payloadLen ||
			!bytes.HasPrefix(p.Payload, []byte(w.start)) {
			t.Errorf("frame %d: got v%d fam %d proto %d id %d %v -> %v %v type %d auth %q corr %q node %q %d bytes %.40q",
				s.frame, p.Version, p.Family, p.IPProto, p.CaptureID, p.Src, p.Dst, p.Time, p.ProtoType,
				p.AuthKey, p.CorrelationID, p.NodeName, len(p.Payload), p.Payload)
		}
		// The agent writes chunks in type order with the payload last, as AppendEncode does, so
		// re-encoding must give back the very bytes.
		if out, err := AppendEncode(nil, &p); err != nil || !bytes.Equal(out, s.payload) {
			t.Errorf("frame %d: re-encoded packet differs (err %v)", s.frame, err)
		}
	}
}

// hep3_compressed.pcap.pcapng: 21 HEP3 packets whose SIP payload is in a zlib chunk 0x10.
func TestSampleCompressed(t *testing.T) {
	segs := hepSegments(t, corpus.Path(t, "third_party/hep-wireshark/hep3_compressed.pcap.pcapng"))
	if len(segs) != 21 {
		t.Fatalf("%d HEP datagrams, want 21", len(segs))
	}
	kinds := map[string]int{}
	var p, q Packet
	for _, s := range segs {
		if err := Decode(s.payload, &p); err != nil {
			t.Fatalf("frame %d: %v", s.frame, err)
		}
		if !Looks(s.payload) {
			t.Errorf("frame %d: Looks = false", s.frame)
		}
		if p.Version != 3 || p.Family != FamilyIPv4 || p.IPProto != 6 || p.ProtoType != ProtoSIP ||
			p.CaptureID != 228 || string(p.AuthKey) != "myHep" || !p.Compressed {
			t.Errorf("frame %d: got v%d fam %d proto %d type %d id %d auth %q compressed %v",
				s.frame, p.Version, p.Family, p.IPProto, p.ProtoType, p.CaptureID, p.AuthKey, p.Compressed)
		}
		if d := s.time.Sub(p.Time); d < 0 || d > time.Second {
			t.Errorf("frame %d: HEP time %v, frame time %v", s.frame, p.Time, s.time)
		}
		if !looksSIP(p.Payload) {
			t.Fatalf("frame %d: inflated payload does not start like SIP: %.60q", s.frame, p.Payload)
		}
		// Content-Length agreeing with the body shows the whole message was inflated.
		if cl, body, ok := sipContentLength(p.Payload); !ok || cl != len(body) {
			t.Errorf("frame %d: Content-Length %d (found %v), body %d bytes", s.frame, cl, ok, len(body))
		}
		line := p.Payload[:bytes.IndexAny(p.Payload, "\r\n")]
		if f := strings.Fields(string(line)); f[0] == "SIP/2.0" {
			kinds[f[1]]++
		} else {
			kinds[f[0]]++
		}
		// Re-encoded raw, the packet must decode to the same fields.
		out, err := AppendEncode(nil, &p)
		if err != nil {
			t.Fatalf("frame %d: encode: %v", s.frame, err)
		}
		if err := Decode(out, &q); err != nil {
			t.Fatalf("frame %d: decode re-encoded: %v", s.frame, err)
		}
		q.Compressed = true
		if d := diffPackets(&q, &p); d != "" {
			t.Errorf("frame %d: round trip: %s", s.frame, d)
		}
	}
	// Counts from the corpus MANIFEST, which inflated the payloads with its own parser.
	if kinds["REGISTER"] != 12 || kinds["401"] != 6 || kinds["200"] != 3 || len(kinds) != 3 {
		t.Errorf("messages %v, want REGISTER 12, 401 6, 200 3", kinds)
	}
}

// class45-hep-feed.pcap is what Kamailio's siptrace mirrored while class45.pcapng recorded the
// wire: every HEP packet must be a SIP datagram of the wire capture, same addresses and bytes.
func TestSampleClass45(t *testing.T) {
	feed := hepSegments(t, corpus.Path(t, "class45/class45-hep-feed.pcap"))
	wireSegs, err := readSegments(corpus.Path(t, "class45/class45.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := netip.MustParseAddr("127.0.0.20")
	type key struct {
		src, dst netip.AddrPort
		payload  string
	}
	wire := map[key][]time.Time{}
	touching := 0
	for _, s := range wireSegs {
		if s.src.Addr() == proxy || s.dst.Addr() == proxy {
			touching++
		}
		k := key{s.src, s.dst, string(s.payload)}
		wire[k] = append(wire[k], s.time)
	}
	first := wireSegs[0].time
	if len(feed) != touching {
		t.Errorf("%d HEP packets, %d datagrams to or from the proxy on the wire", len(feed), touching)
	}
	var p Packet
	for _, s := range feed {
		if err := Decode(s.payload, &p); err != nil {
			t.Fatalf("frame %d: %v", s.frame, err)
		}
		if !Looks(s.payload) {
			t.Errorf("frame %d: Looks = false", s.frame)
		}
		if p.Version != 3 || p.CaptureID != 2001 || p.ProtoType != ProtoSIP || p.IPProto != 17 ||
			p.Family != FamilyIPv4 || p.Compressed || !looksSIP(p.Payload) {
			t.Errorf("frame %d: got v%d id %d type %d proto %d fam %d compressed %v payload %.40q",
				s.frame, p.Version, p.CaptureID, p.ProtoType, p.IPProto, p.Family, p.Compressed, p.Payload)
		}
		// Captured before it was mirrored: between the first frame on the wire and the HEP frame.
		if p.Time.Before(first) || p.Time.After(s.time) {
			t.Errorf("frame %d: HEP time %v before the capture (%v) or after its frame (%v)",
				s.frame, p.Time, first, s.time)
		}
		k := key{p.Src, p.Dst, string(p.Payload)}
		times := wire[k]
		if len(times) == 0 {
			t.Errorf("frame %d: %v -> %v %.40q not on the wire", s.frame, p.Src, p.Dst, p.Payload)
			continue
		}
		if d := p.Time.Sub(times[0]).Abs(); d > 10*time.Millisecond {
			t.Errorf("frame %d: HEP time %v, %v from the wire's %v", s.frame, p.Time, d, times[0])
		}
		wire[k] = times[1:]
		if out, err := AppendEncode(nil, &p); err != nil || !bytes.Equal(out, s.payload) {
			t.Errorf("frame %d: re-encoded packet differs (err %v)", s.frame, err)
		}
	}
}

// Looks runs on every UDP and TCP payload of every capture in the corpus. In this corpus HEP
// travels on port 9060 and nothing else does, so the port is the independent truth: no false
// positives on the SIP, RTP, DNS, Diameter and other traffic, and no HEP missed.
func TestLooksCorpus(t *testing.T) {
	dir := corpus.Dir(t)
	var files, segsSeen, hepSeen int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		segs, err := readSegments(path)
		if err == errNotCapture {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if err != nil && len(segs) == 0 {
			t.Logf("%s: %v", rel, err)
			return nil
		}
		files++
		var p Packet
		for _, s := range segs {
			segsSeen++
			want := s.src.Port() == 9060 || s.dst.Port() == 9060
			if got := Looks(s.payload); got != want {
				t.Errorf("%s frame %d (%v -> %v, tcp %v): Looks = %v, want %v; starts %.24q",
					rel, s.frame, s.src, s.dst, s.tcp, got, want, s.payload)
			}
			if want {
				hepSeen++
				if err := Decode(s.payload, &p); err != nil {
					t.Errorf("%s frame %d: %v", rel, s.frame, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d captures, %d payloads, %d HEP", files, segsSeen, hepSeen)
	// 8 + 21 + 374 in the three HEP captures.
	if files < 10 || hepSeen < 403 {
		t.Errorf("%d captures and %d HEP packets read; want the whole corpus and at least 403 HEP packets", files, hepSeen)
	}
}

// sipContentLength returns a SIP message's Content-Length value and its body.
func sipContentLength(msg []byte) (int, []byte, bool) {
	sep := []byte("\r\n\r\n")
	i := bytes.Index(msg, sep)
	if i < 0 {
		sep = []byte("\n\n")
		if i = bytes.Index(msg, sep); i < 0 {
			return 0, nil, false
		}
	}
	body := msg[i+len(sep):]
	for _, line := range strings.Split(string(msg[:i]), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "content-length" || name == "l" {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			return n, body, err == nil
		}
	}
	return 0, body, false
}
