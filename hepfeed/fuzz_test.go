package hepfeed

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/hep"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// seedPackets returns HEPv3 packets encoding the first messages of real captures, when the corpus
// is there: without it the fuzz targets still run, on their hand-made seeds.
func seedPackets(f *testing.F) [][]byte {
	var out [][]byte
	dir := os.Getenv(corpus.EnvSamples)
	if root, err := corpus.RepoRoot(); dir == "" && err == nil {
		dir = filepath.Join(root, "..", "shared", "samples")
	}
	for _, rel := range []string{"third_party/sngrep/aaa.pcap", "third_party/heplify/sip_ipv6_udp.pcap",
		"third_party/heplify/sip_sctp.pcap", "third_party/pyhss/Resync.pcap", "third_party/arkime/diameter_synthetic.pcap"} {
		n := 0
		decode.Run(context.Background(), []string{dir + "/" + rel}, func(m *decode.Message) {
			if n++; n > 6 {
				return
			}
			p := hep.Packet{IPProto: ipProto(m.Transport), Src: m.Src, Dst: m.Dst, Time: m.Time,
				ProtoType: protoType(m.Protocol), CaptureID: 9, AuthKey: []byte("k"), Payload: m.Payload}
			if b, err := hep.AppendEncode(nil, &p); err == nil {
				out = append(out, b)
			}
		}, decode.Options{})
	}
	return out
}

// FuzzFramer checks that framing a TCP stream does not depend on how it is cut into reads, never
// panics, and yields only packets whose length field matches.
func FuzzFramer(f *testing.F) {
	pkts := seedPackets(f)
	for i, p := range pkts {
		f.Add(p, uint16(i))
		if i > 0 {
			f.Add(append(append([]byte("garbage\r\n"), pkts[i-1]...), p...), uint16(len(p)/2))
		}
	}
	f.Add([]byte("HEP3\x00\x03HEP3\x00\x0c\x00\x00\x00\x01\x00\x06"), uint16(3)) // bad length, then a packet
	f.Fuzz(func(t *testing.T, stream []byte, cut uint16) {
		whole := frameReads(t, stream, len(stream))
		split := frameReads(t, stream, int(cut))
		if len(whole) != len(split) {
			t.Fatalf("%d packets in one read, %d when cut at %d", len(whole), len(split), cut)
		}
		for i := range whole {
			if !bytes.Equal(whole[i], split[i]) {
				t.Fatalf("packet %d differs when cut at %d", i, cut)
			}
		}
	})
}

// frameReads frames stream offered in reads of at most n bytes, as readTCP does.
func frameReads(t *testing.T, stream []byte, n int) [][]byte {
	n = max(n, 1)
	var out [][]byte
	var fr framer
	var buf []byte
	for off := 0; off < len(stream); off += n {
		buf = append(buf, stream[off:min(off+n, len(stream))]...)
		used, _ := fr.frame(buf, func(p []byte) {
			if l, err := hep.PacketLength(p); err != nil || l != len(p) {
				t.Fatalf("emitted %d bytes that frame as %d (%v)", len(p), l, err)
			}
			out = append(out, bytes.Clone(p))
		})
		if used > len(buf) {
			t.Fatalf("used %d of %d bytes", used, len(buf))
		}
		buf = buf[used:]
	}
	return out
}

// FuzzDecapsulate checks that the frame rebuilt from any decodable HEP packet has consistent IP
// and transport lengths and checksums, and that the decoder takes it without panicking.
func FuzzDecapsulate(f *testing.F) {
	for _, p := range seedPackets(f) {
		f.Add(p)
	}
	var d Decapsulator
	dec := decode.NewDecoder(func(*decode.Message) {}, decode.Options{})
	var p hep.Packet
	f.Fuzz(func(t *testing.T, data []byte) {
		if hep.Decode(data, &p) != nil {
			return
		}
		frame := d.AppendIP(nil, &p)
		checkFrame(t, frame)
		dec.Frame(&decode.Frame{Data: frame, LinkType: layers.LinkTypeRaw, Number: 1, OrigLen: len(frame), Time: p.Time})
	})
}

// checkFrame verifies the lengths and checksums of a rebuilt IP frame.
func checkFrame(t *testing.T, frame []byte) {
	t.Helper()
	var ip, seg []byte
	var proto byte
	switch frame[0] >> 4 {
	case 4:
		if got := binary.BigEndian.Uint16(frame[2:]); int(got) != len(frame) {
			t.Fatalf("IPv4 total length %d, frame %d", got, len(frame))
		}
		if fold(sum(0, frame[:20])) != 0xffff {
			t.Fatal("bad IPv4 header checksum")
		}
		ip, seg, proto = frame[:20], frame[20:], frame[9]
	case 6:
		if got := binary.BigEndian.Uint16(frame[4:]); int(got) != len(frame)-40 {
			t.Fatalf("IPv6 payload length %d, frame %d", got, len(frame))
		}
		ip, seg, proto = frame[:40], frame[40:], frame[6]
	default:
		t.Fatalf("IP version %d", frame[0]>>4)
	}
	switch proto {
	case protoUDP, protoTCP:
		v6 := len(ip) == 40
		var s uint32
		if v6 {
			s = sum(0, ip[8:40])
		} else {
			s = sum(0, ip[12:20])
		}
		s += uint32(proto) + uint32(len(seg))>>16 + uint32(len(seg))&0xffff
		if fold(sum(s, seg)) != 0xffff {
			t.Fatalf("bad %d checksum", proto)
		}
		if proto == protoUDP && int(binary.BigEndian.Uint16(seg[4:])) != len(seg) {
			t.Fatalf("UDP length %d, segment %d", binary.BigEndian.Uint16(seg[4:]), len(seg))
		}
	case protoSCTP:
		want := binary.LittleEndian.Uint32(seg[8:])
		c := bytes.Clone(seg)
		clear(c[8:12])
		if got := crc32.Checksum(c, crc32.MakeTable(crc32.Castagnoli)); got != want {
			t.Fatalf("SCTP checksum %08x, want %08x", got, want)
		}
	default:
		t.Fatalf("IP protocol %d", proto)
	}
}

func TestDecapsulateAddresses(t *testing.T) {
	v4 := netip.MustParseAddrPort("192.0.2.1:5060")
	v6 := netip.MustParseAddrPort("[2001:db8::1]:5060")
	cases := []struct {
		name     string
		src, dst netip.AddrPort
		family   uint8
		version  byte
		wantDst  string
	}{
		{"v4", v4, netip.MustParseAddrPort("192.0.2.2:5080"), 0, 4, "192.0.2.2"},
		{"v6", v6, netip.MustParseAddrPort("[2001:db8::2]:5080"), 0, 6, "2001:db8::2"},
		{"mixed: destination mapped into IPv6", v6, netip.MustParseAddrPort("192.0.2.2:5080"), 0, 6, "::ffff:192.0.2.2"},
		{"no addresses, family 10", netip.AddrPort{}, netip.AddrPort{}, hep.FamilyIPv6, 6, "::"},
		{"no addresses", netip.AddrPort{}, netip.AddrPort{}, 0, 4, "0.0.0.0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d Decapsulator
			frame := d.AppendIP(nil, &hep.Packet{Family: c.family, IPProto: 17, Src: c.src, Dst: c.dst, Payload: []byte("OPTIONS sip:x SIP/2.0\r\n\r\n")})
			checkFrame(t, frame)
			if frame[0]>>4 != c.version {
				t.Fatalf("IP version %d, want %d", frame[0]>>4, c.version)
			}
			var dst netip.Addr
			if c.version == 4 {
				dst = netip.AddrFrom4([4]byte(frame[16:20]))
			} else {
				dst = netip.AddrFrom16([16]byte(frame[24:40]))
			}
			if dst.String() != c.wantDst {
				t.Errorf("destination %s, want %s", dst, c.wantDst)
			}
		})
	}
}

// TestDecapsulateTCPSequence checks that each direction of a TCP flow is one stream: sequence
// numbers advance by the payload, and acknowledgements follow the other direction.
func TestDecapsulateTCPSequence(t *testing.T) {
	a := netip.MustParseAddrPort("192.0.2.1:5060")
	b := netip.MustParseAddrPort("192.0.2.2:40000")
	var d Decapsulator
	seqAck := func(src, dst netip.AddrPort, payload string) (uint32, uint32) {
		f := d.AppendIP(nil, &hep.Packet{IPProto: 6, Src: src, Dst: dst, Payload: []byte(payload)})
		checkFrame(t, f)
		return binary.BigEndian.Uint32(f[24:]), binary.BigEndian.Uint32(f[28:])
	}
	s1, _ := seqAck(a, b, "12345")
	s2, _ := seqAck(a, b, "678")
	r1, ack := seqAck(b, a, "ab")
	_, ack2 := seqAck(a, b, "x")
	if s2 != s1+5 || ack != s2+3 || ack2 != r1+2 {
		t.Errorf("seq %d then %d, reverse acks %d, forward acks %d after %d", s1, s2, ack, ack2, r1)
	}
}
