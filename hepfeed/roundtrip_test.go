package hepfeed

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// rec is what a round trip must preserve of a message.
type rec struct {
	proto     decode.Protocol
	transport decode.Transport
	src, dst  netip.AddrPort
	time      time.Time
	payload   string
}

func (r rec) String() string {
	return fmt.Sprintf("%s %s %s>%s %s %dB", r.proto, r.transport, r.src, r.dst, r.time.Format(time.RFC3339Nano), len(r.payload))
}

func recOf(m *decode.Message) rec {
	t := m.Transport
	if t == decode.TLS || t == decode.WS {
		t = decode.TCP // HEP's IP protocol says TCP; the payload is already decrypted or unmasked
	}
	return rec{m.Protocol, t, m.Src, m.Dst, m.Time.Round(time.Microsecond), string(m.Payload)} // HEP carries microseconds
}

// readCapture returns the messages of a capture, as decode.Run finds them.
func readCapture(t *testing.T, path string) []rec {
	t.Helper()
	var out []rec
	if _, err := decode.Run(context.Background(), []string{path}, func(m *decode.Message) {
		out = append(out, recOf(m))
	}, decode.Options{}); err != nil {
		t.Fatal(err)
	}
	return out
}

func only(rs []rec, protos ...decode.Protocol) []rec {
	var out []rec
	for _, r := range rs {
		for _, p := range protos {
			if r.proto == p {
				out = append(out, r)
			}
		}
	}
	return out
}

func sameRecs(t *testing.T, what string, got, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d messages, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("%s: message %d:\n got %v\nwant %v", what, i+1, got[i], want[i])
			if got[i].payload != want[i].payload {
				t.Errorf("payload differs:\n got %q\nwant %q", got[i].payload, want[i].payload)
			}
			return
		}
	}
}

// session is a Listener on loopback feeding a decoder and a pcapng file.
type session struct {
	l    *Listener
	feed *Feed
	live []rec
	// captureIDs and nodes are the distinct HEP labels of the live messages.
	captureIDs []uint32
	nodes      []string
	dec        *decode.Decoder
	capture    string
	cancel     context.CancelFunc
	done       chan error
	file       *os.File
}

func startSession(t *testing.T, opts ListenOptions, targets ...Target) *session {
	t.Helper()
	l, err := Listen(targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{l: l, capture: filepath.Join(t.TempDir(), "feed.pcapng"), done: make(chan error, 1)}
	if s.file, err = os.Create(s.capture); err != nil {
		t.Fatal(err)
	}
	w, err := NewCaptureWriter(s.file, "hepfeed test")
	if err != nil {
		t.Fatal(err)
	}
	s.dec = decode.NewDecoder(func(m *decode.Message) {
		s.live = append(s.live, recOf(m))
		if m.HEP != nil && !slices.Contains(s.captureIDs, m.HEP.CaptureID) {
			s.captureIDs = append(s.captureIDs, m.HEP.CaptureID)
		}
		if m.HEP != nil && !slices.Contains(s.nodes, m.HEP.Node) {
			s.nodes = append(s.nodes, m.HEP.Node)
		}
	}, decode.Options{})
	s.feed = NewFeed(l, s.dec, w, nil)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- l.Run(ctx, s.feed) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// stop waits until n packets arrived (or a timeout), then stops the listener and closes the file.
func (s *session) stop(t *testing.T, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.l.Stats().Packets < n && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	s.cancel()
	if err := <-s.done; err != nil {
		t.Fatal(err)
	}
	s.done <- nil // for the cleanup
	s.dec.Finish()
	if err := s.feed.Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.file.Close(); err != nil {
		t.Fatal(err)
	}
}

// send replays a capture to target and returns the sender's counts.
func send(t *testing.T, target Target, opts SendOptions, files ...string) SendStats {
	t.Helper()
	ctx := context.Background()
	s, err := Dial(ctx, target, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decode.Run(ctx, files, func(m *decode.Message) {
		if err := s.Send(ctx, m); err != nil {
			t.Error(err)
		}
	}, decode.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return s.Stats
}

// TestRoundTrip replays real captures as HEP to a listener on loopback and checks that the
// messages come back the same (protocol, transport, addresses, time to the microsecond, bytes),
// both from the live analysis and from the capture the listener writes.
func TestRoundTrip(t *testing.T) {
	cases := []struct {
		file    string
		network string
		listen  string // default 127.0.0.1:0
	}{
		{"third_party/sngrep/aaa.pcap", "udp", ""},                           // SIP and DNS over UDP
		{"third_party/sngrep/aaa.pcap", "tcp", ""},                           // the same, HEP over TCP
		{"third_party/heplify/sip_ipv4_tcp_retrans.pcap", "udp", ""},         // SIP over TCP and UDP
		{"third_party/heplify/sip_ipv6_udp.pcap", "udp", ""},                 // IPv6
		{"third_party/heplify/sip_sctp.pcap", "tcp", ""},                     // SIP over SCTP
		{"third_party/heplify/sip_tcp_websocket.pcap", "udp", ""},            // SIP over WebSocket
		{"third_party/hep-wireshark/hep3_compressed.pcap.pcapng", "udp", ""}, // HEP inside the capture
		{"third_party/arkime/diameter_synthetic.pcap", "tcp", ""},            // Diameter over TCP and SCTP
		{"third_party/pyhss/Resync.pcap", "udp", ""},                         // Diameter over SCTP
		{"class45/class45.pcapng", "udp", ""},                                // a real Kamailio class-4/5 capture
		{"class45/class45-hep-feed.pcap", "tcp", ""},                         // its HEP feed as captured
		{"third_party/heplify/sip_ipv6_udp.pcap", "udp", "[::1]:0"},          // HEP itself over IPv6
		{"third_party/hep-wireshark/hep.pcap", "tcp", "[::1]:0"},
	}
	for _, c := range cases {
		listen := c.listen
		if listen == "" {
			listen = "127.0.0.1:0"
		}
		t.Run(filepath.Base(c.file)+"/"+c.network+"/"+listen, func(t *testing.T) {
			path := corpus.Path(t, c.file)
			if listen[0] == '[' {
				probe, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
				if err != nil {
					t.Skip("no IPv6 loopback:", err)
				}
				probe.Close()
			}
			want := readCapture(t, path)
			if len(want) == 0 {
				t.Fatal("no messages in the sample")
			}
			s := startSession(t, ListenOptions{}, Target{Network: c.network, Addr: listen})
			st := send(t, s.l.Addrs()[0], SendOptions{CaptureID: 7, NodeName: "rt"}, path)
			if st.TotalSent() != len(want) || st.Failed != 0 {
				t.Fatalf("sent %d, failed %d (%v); want %d sent", st.TotalSent(), st.Failed, st.FirstError, len(want))
			}
			s.stop(t, int64(len(want)))
			ls := s.l.Stats()
			if ls.Received != int64(len(want)) || ls.Malformed != 0 || ls.KernelDrops > 0 {
				t.Fatalf("listener stats %+v; want %d received", ls, len(want))
			}
			// The live analysis decapsulates HEP as the decoder does in captures: SIP, DNS and the
			// raw Diameter that hep send carries.
			sameRecs(t, "live", s.live, want)
			sameRecs(t, "capture", readCapture(t, s.capture), want)
			if len(s.live) > 0 && (!slices.Equal(s.captureIDs, []uint32{7}) || !slices.Equal(s.nodes, []string{"rt"})) {
				t.Errorf("HEP capture ids %v and nodes %q, want [7] and [rt]", s.captureIDs, s.nodes)
			}
		})
	}
}

// TestCaptureTshark has tshark read a capture written from HEP, with checksum validation on: every
// IPv4, UDP, TCP and SCTP checksum must hold, nothing may be malformed, and tshark must find the
// same SIP, Diameter and DNS messages.
func TestCaptureTshark(t *testing.T) {
	tshark := corpus.Tool(t, "tshark")
	files := []string{"third_party/sngrep/aaa.pcap", "third_party/heplify/sip_sctp.pcap",
		"third_party/arkime/diameter_synthetic.pcap", "third_party/heplify/sip_ipv6_udp.pcap",
		"third_party/heplify/sip_ipv4_tcp_retrans.pcap"}
	s := startSession(t, ListenOptions{}, Target{Network: "tcp", Addr: "127.0.0.1:0"})
	total := 0
	for _, f := range files {
		path := corpus.Path(t, f)
		st := send(t, s.l.Addrs()[0], SendOptions{}, path)
		total += st.TotalSent()
	}
	s.stop(t, int64(total))
	out, err := exec.Command(tshark, "-r", s.capture, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-o", "tcp.check_checksum:TRUE", "-o", "sctp.checksum:crc-32c", "-T", "fields",
		"-e", "frame.protocols", "-e", "_ws.expert.message").Output()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, line := range lines {
		protos, expert, _ := strings.Cut(line, "\t")
		if strings.Contains(strings.ToLower(expert), "checksum") || strings.Contains(protos, "_ws.malformed") {
			t.Errorf("tshark: %s", line)
		}
		for _, p := range []string{"sip", "diameter", "dns"} {
			if strings.Contains(":"+protos+":", ":"+p+":") {
				counts[p]++
			}
		}
	}
	want := map[string]int{}
	for _, r := range readCapture(t, s.capture) {
		want[r.proto.String()]++
	}
	if len(lines) != total || counts["sip"] != want["sip"] || counts["diameter"] != want["diameter"] || counts["dns"] != want["dns"] {
		t.Errorf("tshark: %d frames %v; sigtrace: %d sent %v", len(lines), counts, total, want)
	}
}
