package hep

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// addSampleSeeds adds the HEP packets of the sample captures, and hand-built v1/v2 and
// compressed packets, which the samples lack.
func addSampleSeeds(f *testing.F) {
	for _, rel := range []string{
		"third_party/hep-wireshark/hep.pcap",
		"third_party/hep-wireshark/hep3_compressed.pcap.pcapng",
		"class45/class45-hep-feed.pcap",
	} {
		segs := hepSegments(f, corpus.Path(f, rel))
		for i, s := range segs {
			if i < 10 { // the class45 feed repeats itself; a few of each kind is enough
				f.Add(s.payload)
			}
		}
	}
	src, dst := netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060")
	for _, layout := range []string{"le12", "be10"} {
		f.Add(buildV12(2, 17, src, dst, layout, 1700000000, 123456, 2001, [2]byte{}, sipRequest))
	}
	f.Add(buildV12(1, 6, netip.MustParseAddrPort("[::1]:5060"), netip.MustParseAddrPort("[::2]:5060"), "", 0, 0, 0, [2]byte{}, sipResponse))
	f.Add(compressedPacket(f, fullPacket(), "gzip", nil))
}

func FuzzDecode(f *testing.F) {
	addSampleSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		looks := Looks(data)
		var p Packet
		err := Decode(data, &p)
		if err != nil {
			var pe *placeError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not one of the package's", err, err)
			}
			if looks && isMagic(data) && len(data) >= 6 && int(be.Uint16(data[4:])) <= len(data) && !errors.Is(err, ErrLength) && !errors.Is(err, ErrCompressed) {
				// Looks walked the same chunk chain; only fixed-size and inflate problems escape it.
				t.Fatalf("Looks = true on a complete HEP3 packet Decode rejects: %v", err)
			}
			return
		}
		if p.Version < 1 || p.Version > 3 {
			t.Fatalf("decoded version %d", p.Version)
		}
		if p.Version == 3 {
			n, err := PacketLength(data)
			if err != nil || n != int(be.Uint16(data[4:])) {
				t.Fatalf("PacketLength = %d, %v on a packet Decode accepted", n, err)
			}
		}
		// Whatever decodes must re-encode, unless too long for HEPv3 or its time out of range,
		// and decode again to the same fields.
		out, err := AppendEncode(nil, &p)
		if errors.Is(err, ErrTooLong) || errors.Is(err, ErrRange) {
			return
		}
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var q Packet
		if err := Decode(out, &q); err != nil {
			t.Fatalf("decode of re-encoded packet: %v", err)
		}
		q.Version, q.Compressed = p.Version, p.Compressed
		if d := diffPackets(&q, &p); d != "" {
			t.Fatalf("round trip: %s", d)
		}
	})
}

func FuzzPacketLength(f *testing.F) {
	addSampleSeeds(f)
	f.Add([]byte("HEP3\x00\x06HEP3"))
	f.Add([]byte("EEP3\x00"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		n, err := PacketLength(stream)
		switch {
		case err != nil:
			if n != 0 {
				t.Fatalf("n = %d with error %v", n, err)
			}
		case n == 0:
			// More bytes needed: the header is incomplete or declares more than is here.
			if len(stream) >= 6 && int(be.Uint16(stream[4:])) <= len(stream) {
				t.Fatalf("asked for more bytes with %d in hand", len(stream))
			}
		default:
			if n < 6 || n > len(stream) {
				t.Fatalf("n = %d outside 6..%d", n, len(stream))
			}
			// Framing depends only on the packet's own bytes.
			if m, err := PacketLength(stream[:n]); m != n || err != nil {
				t.Fatalf("on the packet alone: %d, %v; want %d", m, err, n)
			}
			if m, err := PacketLength(stream[:n-1]); m != 0 || err != nil {
				t.Fatalf("one byte short: %d, %v; want 0, nil", m, err)
			}
		}
	})
}
