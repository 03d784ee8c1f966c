package stream

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
)

func dataChunk(tsn uint32, stream, ssn uint16, ppid uint32, flags byte, payload string) []byte {
	l := 16 + len(payload)
	c := make([]byte, (l+3)&^3)
	c[0] = 0
	c[1] = flags
	binary.BigEndian.PutUint16(c[2:], uint16(l))
	binary.BigEndian.PutUint32(c[4:], tsn)
	binary.BigEndian.PutUint16(c[8:], stream)
	binary.BigEndian.PutUint16(c[10:], ssn)
	binary.BigEndian.PutUint32(c[12:], ppid)
	copy(c[16:], payload)
	return c
}

func sctpPacket(chunks ...[]byte) []byte {
	p := make([]byte, 12)
	binary.BigEndian.PutUint16(p, 3868)
	binary.BigEndian.PutUint16(p[2:], 3868)
	for _, c := range chunks {
		p = append(p, c...)
	}
	return p
}

func TestSCTPBundledFragmentedAndRetransmitted(t *testing.T) {
	var got []string
	var frames [][]int
	s := NewSCTP(func(m *SCTPMessage) {
		got = append(got, string(m.Data))
		frames = append(frames, slices.Clone(m.Frames))
	})
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	// Two whole messages bundled, plus a SACK-like non-DATA chunk that must be skipped.
	sack := []byte{3, 0, 0, 4}
	if err := s.Packet(a, b, sctpPacket(dataChunk(1, 0, 0, 46, 3, "one"), sack, dataChunk(2, 1, 0, 46, 3, "two")), 1, t0); err != nil {
		t.Fatal(err)
	}
	// A message in three fragments over two packets.
	s.Packet(a, b, sctpPacket(dataChunk(3, 0, 1, 46, 2, "thr"), dataChunk(4, 0, 1, 46, 0, "ee-")), 2, t0)
	s.Packet(a, b, sctpPacket(dataChunk(5, 0, 1, 46, 1, "parts")), 3, t0)
	// A retransmission of TSN 2.
	s.Packet(a, b, sctpPacket(dataChunk(2, 1, 0, 46, 3, "two")), 4, t0)
	want := []string{"one", "two", "three-parts"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if !slices.Equal(frames[2], []int{2, 3}) {
		t.Fatalf("fragment frames %v", frames[2])
	}
	if s.Retransmitted != 1 {
		t.Fatalf("retransmitted %d", s.Retransmitted)
	}
}

func TestSCTPTruncated(t *testing.T) {
	s := NewSCTP(func(*SCTPMessage) { t.Fatal("no message expected") })
	a := netip.MustParseAddr("10.0.0.1")
	bad := sctpPacket(dataChunk(1, 0, 0, 46, 3, "hello"))
	binary.BigEndian.PutUint16(bad[14:], 200) // chunk length past the end
	if err := s.Packet(a, a, bad, 1, t0); err == nil {
		t.Fatal("want error")
	}
	if err := s.Packet(a, a, bad[:5], 1, t0); err == nil {
		t.Fatal("want error")
	}
}
