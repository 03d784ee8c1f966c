package hepfeed

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/hep"
)

// packet encodes a SIP OPTIONS as HEPv3 with the given key.
func packet(t *testing.T, key string, n int) []byte {
	t.Helper()
	p := hep.Packet{IPProto: 17, Src: netip.MustParseAddrPort("192.0.2.1:5060"), Dst: netip.MustParseAddrPort("192.0.2.2:5060"),
		Time: time.Unix(1700000000, int64(n)*1000), ProtoType: hep.ProtoSIP, AuthKey: []byte(key),
		Payload: []byte("OPTIONS sip:a@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK" + string(rune('a'+n%26)) +
			"\r\nMax-Forwards: 70\r\nFrom: <sip:b@192.0.2.1>;tag=1\r\nTo: <sip:a@192.0.2.2>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")}
	b, err := hep.AppendEncode(nil, &p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hepV2 is a HEPv2 packet (no authentication key possible) carrying SIP.
func hepV2() []byte {
	b := []byte{2, 16, hep.FamilyIPv4, 17, 0x13, 0xc4, 0x13, 0xc4, 192, 0, 2, 1, 192, 0, 2, 2}
	b = append(b, 0x65, 0x53, 0xf1, 0x00, 0, 0, 0, 0, 0, 1) // time header, big-endian, 2023
	return append(b, "OPTIONS sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\n"...)
}

func dialUDP(t *testing.T, to Target) net.Conn {
	t.Helper()
	c, err := net.Dial("udp", to.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestListenerAuthKey(t *testing.T) {
	cases := []struct {
		name                          string
		key                           string
		received, rejected, malformed int64
		decoded                       int
	}{
		// Sent: 3 packets with key "right", 2 with "wrong", 1 without, one HEPv2, one not HEP.
		{"no key required", "", 8, 0, 1, 7},
		{"key required", "right", 3, 4, 1, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startSession(t, ListenOptions{AuthKey: c.key}, Target{Network: "udp", Addr: "127.0.0.1:0"})
			conn := dialUDP(t, s.l.Addrs()[0])
			for i, key := range []string{"right", "wrong", "right", "", "wrong", "right"} {
				conn.Write(packet(t, key, i))
			}
			conn.Write(hepV2())
			conn.Write([]byte("not a HEP packet at all"))
			s.stop(t, 8)
			st := s.l.Stats()
			if st.Received != c.received || st.AuthRejected != c.rejected || st.Malformed != c.malformed {
				t.Errorf("received %d, rejected %d, malformed %d; want %d, %d, %d", st.Received, st.AuthRejected, st.Malformed, c.received, c.rejected, c.malformed)
			}
			// Every packet handed on is a frame of the capture, the broken one as it arrived.
			if n := countFrames(t, s.capture); int64(n) != c.received {
				t.Errorf("%d frames written, want %d", n, c.received)
			}
			if len(s.live) != c.decoded {
				t.Errorf("%d messages decoded, want %d", len(s.live), c.decoded)
			}
		})
	}
}

func countFrames(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			return n
		}
		n++
	}
}

// TestListenerMalformedKept checks that a datagram that is not HEP is written as the UDP datagram
// it arrived as, from its sender to the listener.
func TestListenerMalformedKept(t *testing.T) {
	s := startSession(t, ListenOptions{}, Target{Network: "udp", Addr: "127.0.0.1:0"})
	conn := dialUDP(t, s.l.Addrs()[0])
	junk := []byte("HEP3 but not really")
	conn.Write(junk)
	s.stop(t, 1)
	msgs := 0
	var payload []byte
	var src, dst netip.AddrPort
	dec := decode.NewDecoder(func(*decode.Message) { msgs++ }, decode.Options{})
	f, _ := os.Open(s.capture)
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := r.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	checkFrame(t, data)
	payload = data[28:]
	src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(data[12:16])), uint16(data[20])<<8|uint16(data[21]))
	dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(data[16:20])), uint16(data[22])<<8|uint16(data[23]))
	dec.Frame(&decode.Frame{Data: data, LinkType: r.LinkType(), Number: 1})
	if string(payload) != string(junk) || src.String() != conn.LocalAddr().String() || dst.String() != s.l.Addrs()[0].Addr || msgs != 0 {
		t.Errorf("frame %s > %s %q (%d messages); want %s > %s %q", src, dst, payload, msgs, conn.LocalAddr(), s.l.Addrs()[0].Addr, junk)
	}
}

// TestListenerTCP checks HEP over TCP: packets split across writes, several in one write, and
// bytes that are not HEP between them (skipped, counted once).
func TestListenerTCP(t *testing.T) {
	s := startSession(t, ListenOptions{}, Target{Network: "tcp", Addr: "127.0.0.1:0"})
	c, err := net.Dial("tcp", s.l.Addrs()[0].Addr)
	if err != nil {
		t.Fatal(err)
	}
	p0, p1, p2 := packet(t, "", 0), packet(t, "", 1), packet(t, "", 2)
	writes := [][]byte{p0[:3], p0[3:20], append(p0[20:], p1...), []byte("\r\n\r\nnoise"), p2}
	for _, w := range writes {
		if _, err := c.Write(w); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // separate reads on the other side
	}
	c.Close()
	s.stop(t, 3)
	st := s.l.Stats()
	if st.Received != 3 || st.Resyncs != 1 || st.Connections != 1 {
		t.Errorf("stats %+v; want 3 received, 1 resync, 1 connection", st)
	}
	if len(s.live) != 3 {
		t.Errorf("%d messages decoded, want 3", len(s.live))
	}
}

// blockingHandler holds the listener's handler until released.
type blockingHandler struct {
	release chan struct{}
	n       int
}

func (h *blockingHandler) HandlePacket(*Packet) {
	<-h.release
	h.n++
}
func (h *blockingHandler) Flush() {}

// TestListenerBoundedMemory stalls the handler with a small queue and receive buffer: the
// listener must stop reading rather than grow, the kernel drops the excess, and every datagram
// sent is either handed on or counted as dropped by the kernel.
func TestListenerBoundedMemory(t *testing.T) {
	l, err := Listen([]Target{{Network: "udp", Addr: "127.0.0.1:0"}}, ListenOptions{ReadBuffer: 64 << 10, QueueBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if l.Stats().KernelDrops < 0 {
		t.Skip("the kernel does not report drops here")
	}
	h := &blockingHandler{release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, h) }()
	conn := dialUDP(t, l.Addrs()[0])
	const sent = 3000
	pkt := packet(t, "", 0)
	for range sent {
		conn.Write(pkt)
	}
	time.Sleep(50 * time.Millisecond)
	if q := l.budget.free; q < 0 {
		t.Fatalf("queue budget overdrawn: %d", q)
	}
	close(h.release)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st := l.Stats(); st.Received+st.KernelDrops == sent {
			break
		}
	}
	cancel()
	<-done
	st := l.Stats()
	if st.KernelDrops == 0 || st.Received+st.KernelDrops != sent || int64(h.n) != st.Received {
		t.Errorf("received %d (handled %d), kernel drops %d; want drops > 0 and %d in all", st.Received, h.n, st.KernelDrops, sent)
	}
}

// TestListenerStops checks that Run returns promptly once its context ends, with a TCP client
// still connected and idle.
func TestListenerStops(t *testing.T) {
	l, err := Listen([]Target{{Network: "udp", Addr: "127.0.0.1:0"}, {Network: "tcp", Addr: "127.0.0.1:0"}}, ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", l.Addrs()[1].Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, &blockingHandler{release: make(chan struct{})}) }()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case <-done:
		if d := time.Since(start); d > 2*drainTime {
			t.Errorf("Run took %s to stop", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
