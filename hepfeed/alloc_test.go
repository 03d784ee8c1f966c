package hepfeed

import (
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/hep"
)

// TestNoAllocations guards the per-packet paths: encoding and sending a message over UDP, and a
// received packet's way through the listener, the decapsulated capture and the decoder.
func TestNoAllocations(t *testing.T) {
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	go func() {
		b := make([]byte, 0xffff)
		for {
			if _, _, err := sink.ReadFrom(b); err != nil {
				return
			}
		}
	}()
	ctx := context.Background()
	s, err := Dial(ctx, Target{Network: "udp", Addr: sink.LocalAddr().String()}, SendOptions{AuthKey: "k", NodeName: "n"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw := packet(t, "k", 1)
	var hp hep.Packet
	if err := hep.Decode(raw, &hp); err != nil {
		t.Fatal(err)
	}
	m := &decode.Message{Envelope: decode.Envelope{Time: hp.Time, Src: hp.Src, Dst: hp.Dst, Transport: decode.UDP},
		Protocol: decode.ProtoSIP, Payload: hp.Payload}
	if n := testing.AllocsPerRun(1000, func() { s.Send(ctx, m) }); n != 0 {
		t.Errorf("Sender.Send: %.1f allocations per message", n)
	}
	if s.Stats.Failed != 0 {
		t.Fatalf("send failed: %v", s.Stats.FirstError)
	}

	l := &Listener{authKey: []byte("k")}
	l.budget.init(1 << 20)
	l.addrs = []Target{{Network: "udp", Addr: "127.0.0.1:9060"}}
	w, err := NewCaptureWriter(io.Discard, "test")
	if err != nil {
		t.Fatal(err)
	}
	msgs := 0
	dec := decode.NewDecoder(func(*decode.Message) { msgs++ }, decode.Options{DedupWindow: -1})
	feed := NewFeed(l, dec, w, nil)
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	var p Packet
	var pkt hep.Packet
	n := testing.AllocsPerRun(1000, func() {
		it := l.newItem(len(raw))
		copy(it.buf[datagramHeaderMax:], raw)
		it.from, it.t = from, time.Unix(1700000000, 0)
		if l.packet(it, &p, &pkt) {
			feed.HandlePacket(&p)
		}
		l.budget.give(len(it.buf))
		putBuf(it)
	})
	if n != 0 || msgs == 0 {
		t.Errorf("listener, feed, capture and decoder: %.1f allocations per packet (%d messages)", n, msgs)
	}
}
