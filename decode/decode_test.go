package decode_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/hep"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

const sipOptions = "OPTIONS sip:proxy@10.9.9.9 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bK-1\r\n" +
	"From: <sip:probe@10.1.1.1>;tag=a1\r\nTo: <sip:proxy@10.9.9.9>\r\n" +
	"Call-ID: encap-test@10.1.1.1\r\nCSeq: 7 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"

var (
	innerSrc = netip.MustParseAddr("10.1.1.1")
	innerDst = netip.MustParseAddr("10.9.9.9")
	outerSrc = netip.MustParseAddr("192.0.2.1")
	outerDst = netip.MustParseAddr("192.0.2.2")
)

// Frame builders: plain byte layouts, so that each encapsulation is spelled out in the test.

func ipv4(proto byte, src, dst netip.Addr, id uint16, flagsOff uint16, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[6:], flagsOff)
	h[8] = 64
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return append(h, payload...)
}

func ipv6(next byte, src, dst netip.Addr, payload []byte) []byte {
	h := make([]byte, 40, 40+len(payload))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = next
	h[7] = 64
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

func udp(sp, dp uint16, payload []byte) []byte {
	h := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(h, sp)
	binary.BigEndian.PutUint16(h[2:], dp)
	binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	return append(h, payload...)
}

func eth(etherType uint16, payload []byte) []byte {
	h := make([]byte, 14, 14+len(payload))
	copy(h, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(h[12:], etherType)
	return append(h, payload...)
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func innerSIP() []byte {
	return ipv4(17, innerSrc, innerDst, 1, 0, udp(5060, 5060, []byte(sipOptions)))
}

type testFrame struct {
	link layers.LinkType
	data []byte
}

// writePcap writes frames (one link type per file) and returns the path.
func writePcap(t *testing.T, link layers.LinkType, frames ...[]byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "t.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, link); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	return p
}

type collected struct {
	Src, Dst  netip.AddrPort
	Transport decode.Transport
	Protocol  decode.Protocol
	Frame     int
	Frames    []int
	CallID    string
	Time      time.Time
}

func collect(t *testing.T, inputs ...string) ([]collected, *decode.Stats) {
	t.Helper()
	var out []collected
	stats, err := decode.Run(context.Background(), inputs, func(m *decode.Message) {
		c := collected{Src: m.Src, Dst: m.Dst, Transport: m.Transport, Protocol: m.Protocol, Frame: m.Frame, Frames: slices.Clone(m.Frames), Time: m.Time}
		if m.Protocol == decode.ProtoSIP {
			c.CallID = string(m.SIP.CallID)
		}
		out = append(out, c)
	}, decode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return out, stats
}

func TestEncapsulations(t *testing.T) {
	sip := innerSIP()
	gtpu := func(extra []byte, flags byte) []byte {
		h := []byte{flags, 0xff, 0, 0, 0, 0, 0, 1}
		binary.BigEndian.PutUint16(h[2:], uint16(len(extra)+len(sip)))
		return join(h, extra, sip)
	}
	cases := []struct {
		name string
		testFrame
	}{
		{"ethernet", testFrame{layers.LinkTypeEthernet, eth(0x0800, sip)}},
		{"802.1Q", testFrame{layers.LinkTypeEthernet, eth(0x8100, join([]byte{0, 10}, be16(0x0800), sip))}},
		{"QinQ", testFrame{layers.LinkTypeEthernet, eth(0x88a8, join([]byte{0, 100}, be16(0x8100), []byte{0, 10}, be16(0x0800), sip))}},
		{"PPPoE", testFrame{layers.LinkTypeEthernet, eth(0x8864, join([]byte{0x11, 0, 0, 1}, be16(uint16(len(sip)+2)), be16(0x0021), sip))}},
		{"MPLS", testFrame{layers.LinkTypeEthernet, eth(0x8847, join([]byte{0, 1, 0, 64}, []byte{0, 2, 1, 64}, sip))}},
		{"GRE", testFrame{layers.LinkTypeEthernet, eth(0x0800, ipv4(47, outerSrc, outerDst, 9, 0, join([]byte{0, 0}, be16(0x0800), sip)))}},
		{"GRE with key", testFrame{layers.LinkTypeEthernet, eth(0x0800, ipv4(47, outerSrc, outerDst, 9, 0, join([]byte{0x20, 0}, be16(0x0800), []byte{0, 0, 0, 42}, sip)))}},
		{"ERSPAN II", testFrame{layers.LinkTypeEthernet, eth(0x0800, ipv4(47, outerSrc, outerDst, 9, 0,
			join([]byte{0x10, 0}, be16(0x88be), []byte{0, 0, 0, 1}, []byte{0x10, 0x01, 0, 0, 0, 0, 0, 0}, eth(0x0800, sip))))}},
		{"ERSPAN I (no sequence, no header)", testFrame{layers.LinkTypeEthernet, eth(0x0800, ipv4(47, outerSrc, outerDst, 9, 0,
			join([]byte{0, 0}, be16(0x88be), eth(0x0800, sip))))}},
		{"GRE transparent Ethernet", testFrame{layers.LinkTypeEthernet, eth(0x0800, ipv4(47, outerSrc, outerDst, 9, 0,
			join([]byte{0, 0}, be16(0x6558), eth(0x8100, join([]byte{0, 7}, be16(0x0800), sip)))))}},
		{"ERSPAN III", testFrame{layers.LinkTypeEthernet, eth(0x0800, ipv4(47, outerSrc, outerDst, 9, 0,
			join([]byte{0x10, 0}, be16(0x22eb), []byte{0, 0, 0, 1}, []byte{0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, eth(0x0800, sip))))}},
		{"IP-in-IP", testFrame{layers.LinkTypeEthernet, eth(0x0800, ipv4(4, outerSrc, outerDst, 9, 0, sip))}},
		{"IPv4 in IPv6", testFrame{layers.LinkTypeEthernet, eth(0x86dd, ipv6(4, netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), sip))}},
		{"GTP-U", testFrame{layers.LinkTypeEthernet, eth(0x0800, ipv4(17, outerSrc, outerDst, 9, 0, udp(2152, 2152, gtpu(nil, 0x30))))}},
		{"GTP-U with extension header", testFrame{layers.LinkTypeEthernet, eth(0x0800, ipv4(17, outerSrc, outerDst, 9, 0,
			udp(2152, 2152, gtpu([]byte{0, 1, 0, 0x85, 1, 0x09, 0, 0}, 0x34))))}},
		{"VXLAN", testFrame{layers.LinkTypeEthernet, eth(0x0800, ipv4(17, outerSrc, outerDst, 9, 0, udp(40000, 4789, join([]byte{8, 0, 0, 0, 0, 0, 1, 0}, eth(0x0800, sip)))))}},
		{"Linux SLL", testFrame{layers.LinkTypeLinuxSLL, join([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, be16(0x0800), sip)}},
		{"Linux SLL2", testFrame{layers.LinkType(276), join(be16(0x0800), []byte{0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}[:18], sip)}},
		{"BSD loopback (NULL, little-endian)", testFrame{layers.LinkTypeNull, join([]byte{2, 0, 0, 0}, sip)}},
		{"OpenBSD loopback (LOOP, big-endian)", testFrame{layers.LinkTypeLoop, join([]byte{0, 0, 0, 2}, sip)}},
		{"raw IP", testFrame{layers.LinkTypeRaw, sip}},
		{"IPv4 link type", testFrame{layers.LinkType(228), sip}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msgs, stats := collect(t, writePcap(t, c.link, c.data))
			if len(msgs) != 1 {
				t.Fatalf("%d messages; skipped %+v", len(msgs), stats.Reasons())
			}
			m := msgs[0]
			if m.Src != netip.AddrPortFrom(innerSrc, 5060) || m.Dst != netip.AddrPortFrom(innerDst, 5060) || m.CallID != "encap-test@10.1.1.1" {
				t.Fatalf("got %+v", m)
			}
		})
	}
}

func TestIPv4FragmentsOutOfOrder(t *testing.T) {
	body := strings.Repeat("a=x-padding:0123456789\r\n", 120)
	msg := strings.Replace(sipOptions, "Content-Length: 0", "Content-Type: application/sdp\r\nContent-Length: "+itoa(len(body)), 1) + body
	dgram := udp(5060, 5060, []byte(msg))
	// Three fragments, multiples of 8 bytes, sent last-first.
	f1, f2, f3 := dgram[:1480], dgram[1480:2960], dgram[2960:]
	frames := [][]byte{
		eth(0x0800, ipv4(17, innerSrc, innerDst, 77, uint16(2960/8), f3)),
		eth(0x0800, ipv4(17, innerSrc, innerDst, 77, 0x2000, f1)),
		eth(0x0800, ipv4(17, innerSrc, innerDst, 77, 0x2000|uint16(1480/8), f2)),
	}
	msgs, _ := collect(t, writePcap(t, layers.LinkTypeEthernet, frames...))
	if len(msgs) != 1 || msgs[0].CallID != "encap-test@10.1.1.1" {
		t.Fatalf("got %+v", msgs)
	}
	if msgs[0].Frame != 3 || !slices.Equal(msgs[0].Frames, []int{1, 2, 3}) {
		t.Fatalf("frame %d frames %v", msgs[0].Frame, msgs[0].Frames)
	}
}

func TestIPv6Fragments(t *testing.T) {
	a, b := netip.MustParseAddr("2001:db8::a"), netip.MustParseAddr("2001:db8::b")
	dgram := udp(5060, 5060, []byte(strings.Replace(sipOptions, "Max-Forwards: 70", "X-Pad: "+strings.Repeat("p", 1600), 1)))
	frag := func(off int, more bool, part []byte) []byte {
		fo := uint16(off)
		if more {
			fo |= 1
		}
		h := join([]byte{17, 0}, be16(fo), []byte{0, 0, 0, 99})
		return eth(0x86dd, ipv6(44, a, b, join(h, part)))
	}
	frames := [][]byte{frag(0, true, dgram[:1232]), frag(1232, false, dgram[1232:])}
	msgs, _ := collect(t, writePcap(t, layers.LinkTypeEthernet, frames...))
	if len(msgs) != 1 || msgs[0].Src.Addr() != a || !slices.Equal(msgs[0].Frames, []int{1, 2}) {
		t.Fatalf("got %+v", msgs)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestTCPSIPSplitAndBundled(t *testing.T) {
	two := sipOptions + strings.Replace(sipOptions, "CSeq: 7", "CSeq: 8", 1)
	tcp := func(seq uint32, flags byte, payload string) []byte {
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h, 40000)
		binary.BigEndian.PutUint16(h[2:], 5060)
		binary.BigEndian.PutUint32(h[4:], seq)
		h[12] = 5 << 4
		h[13] = flags
		return eth(0x0800, ipv4(6, innerSrc, innerDst, 1, 0, append(h, payload...)))
	}
	cut := 100
	frames := [][]byte{
		tcp(999, 0x02, ""), // SYN
		tcp(1000+uint32(cut), 0x18, two[cut:len(two)-10]),      // arrives before its predecessor
		tcp(1000, 0x18, two[:cut]),                             // fills the hole
		tcp(1000+uint32(len(two)-10), 0x18, two[len(two)-10:]), // completes the second message
		tcp(1000, 0x18, two[:cut]),                             // a retransmission
	}
	msgs, stats := collect(t, writePcap(t, layers.LinkTypeEthernet, frames...))
	if len(msgs) != 2 {
		t.Fatalf("%d messages, %+v", len(msgs), stats.Reasons())
	}
	if msgs[0].Transport != decode.TCP || msgs[0].Frame != 3 || !slices.Equal(msgs[0].Frames, []int{3, 2}) {
		t.Errorf("first: %+v", msgs[0])
	}
	if msgs[1].Frame != 4 || !slices.Equal(msgs[1].Frames, []int{2, 4}) {
		t.Errorf("second: %+v", msgs[1])
	}
}

func TestTruncatedCaptureKeepsWhatCameBefore(t *testing.T) {
	src := corpus.Path(t, "third_party/sipnab/sip-proxy.pcap")
	whole, _ := collect(t, src)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cutFile := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(cutFile, data[:len(data)*2/3], 0o644)
	part, stats := collect(t, cutFile)
	if len(part) == 0 || len(part) >= len(whole) {
		t.Fatalf("cut capture gave %d of %d messages", len(part), len(whole))
	}
	for i := range part {
		if part[i].CallID != whole[i].CallID || part[i].Frame != whole[i].Frame {
			t.Fatalf("message %d differs", i)
		}
	}
	if len(stats.Warnings) != 1 || stats.Warnings[0].Input != cutFile || stats.Warnings[0].Offset <= 24 {
		t.Fatalf("warnings %+v", stats.Warnings)
	}
	if !strings.Contains(stats.Warnings[0].Error(), "cut.pcap: stopped after frame") {
		t.Fatal(stats.Warnings[0].Error())
	}
}

func TestCompressedAndStdinAndFormats(t *testing.T) {
	src := corpus.Path(t, "third_party/sipnab/sip-proxy.pcap")
	want, _ := collect(t, src)
	data, _ := os.ReadFile(src)
	dir := t.TempDir()

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	// Named without a telling extension: compression is recognised by content.
	gzFile := filepath.Join(dir, "capture-a")
	os.WriteFile(gzFile, gz.Bytes(), 0o644)

	var zs bytes.Buffer
	enc, _ := zstd.NewWriter(&zs)
	enc.Write(data)
	enc.Close()
	zsFile := filepath.Join(dir, "capture-b")
	os.WriteFile(zsFile, zs.Bytes(), 0o644)

	for _, f := range []string{gzFile, zsFile, swapPcapByteOrder(t, data, dir), toNanosecond(t, src, dir)} {
		got, stats := collect(t, f)
		if len(got) != len(want) || len(stats.Warnings) != 0 {
			t.Fatalf("%s: %d messages, want %d; warnings %v", filepath.Base(f), len(got), len(want), stats.Warnings)
		}
		for i := range got {
			if got[i].CallID != want[i].CallID || !got[i].Time.Equal(want[i].Time) {
				t.Fatalf("%s: message %d differs: %+v vs %+v", filepath.Base(f), i, got[i], want[i])
			}
		}
	}
}

// swapPcapByteOrder rewrites a little-endian pcap as big-endian.
func swapPcapByteOrder(t *testing.T, data []byte, dir string) string {
	t.Helper()
	if binary.LittleEndian.Uint32(data) != 0xa1b2c3d4 {
		t.Skip("sample is not a little-endian microsecond pcap")
	}
	out := slices.Clone(data)
	sw32 := func(o int) { binary.BigEndian.PutUint32(out[o:], binary.LittleEndian.Uint32(data[o:])) }
	sw16 := func(o int) { binary.BigEndian.PutUint16(out[o:], binary.LittleEndian.Uint16(data[o:])) }
	sw32(0)
	sw16(4)
	sw16(6)
	sw32(8)
	sw32(12)
	sw32(16)
	sw32(20)
	for o := 24; o+16 <= len(data); {
		caplen := int(binary.LittleEndian.Uint32(data[o+8:]))
		for i := 0; i < 16; i += 4 {
			sw32(o + i)
		}
		o += 16 + caplen
	}
	p := filepath.Join(dir, "be.pcap")
	os.WriteFile(p, out, 0o644)
	return p
}

// toNanosecond rewrites a pcap with nanosecond timestamps.
func toNanosecond(t *testing.T, src, dir string) string {
	t.Helper()
	in, _ := os.Open(src)
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ns.pcap")
	out, _ := os.Create(p)
	defer out.Close()
	w := pcapgo.NewWriterNanos(out)
	w.WriteFileHeader(65535, r.LinkType())
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		w.WritePacket(ci, data)
	}
	return p
}

func TestMergeByTime(t *testing.T) {
	mk := func(callID string, offsets ...int) string {
		var frames [][]byte
		for range offsets {
			frames = append(frames, eth(0x0800, ipv4(17, innerSrc, innerDst, 1, 0, udp(5060, 5060, []byte(strings.Replace(sipOptions, "encap-test", callID, 1))))))
		}
		p := writePcap(t, layers.LinkTypeEthernet, frames...)
		return p
	}
	// Both files start at the same second and step by 1 ms: merged, they interleave a, b, a, b.
	a, b := mk("a", 0, 1), mk("b", 0, 1)
	msgs, _ := collect(t, a, b)
	var order []string
	for _, m := range msgs {
		order = append(order, strings.SplitN(m.CallID, "@", 2)[0])
	}
	if !slices.Equal(order, []string{"a", "b", "a", "b"}) {
		t.Fatalf("order %v", order)
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Time.Before(msgs[i-1].Time) {
			t.Fatal("not in time order")
		}
	}
}

func TestUnknownFormatNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(p, []byte("hello, this is not a capture"), 0o644)
	_, err := decode.Run(context.Background(), []string{p}, func(*decode.Message) {}, decode.Options{})
	if !errors.Is(err, decode.ErrUnknownFormat) || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("err %v", err)
	}
}

func TestEveryCorpusCaptureDecodes(t *testing.T) {
	root := filepath.Join(corpus.Dir(t), "third_party")
	for _, rel := range corpusCaptures(t) {
		msgs, stats := collect(t, filepath.Join(root, rel))
		if stats.Frames == 0 {
			t.Errorf("%s: no frames", rel)
		}
		if len(stats.Warnings) > 0 {
			t.Errorf("%s: %v", rel, stats.Warnings)
		}
		t.Logf("%s: %d frames, %d messages", rel, stats.Frames, len(msgs))
	}
}

func TestDuplicateMarkedNotRetransmission(t *testing.T) {
	frame := eth(0x0800, innerSIP())
	p := filepath.Join(t.TempDir(), "dup.pcap")
	f, _ := os.Create(p)
	w := pcapgo.NewWriter(f)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	t0 := time.Unix(1700000000, 0)
	for _, off := range []time.Duration{0, 2 * time.Millisecond, 500 * time.Millisecond} {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: t0.Add(off), CaptureLength: len(frame), Length: len(frame)}, frame)
	}
	f.Close()
	var dups []bool
	decode.Run(context.Background(), []string{p}, func(m *decode.Message) { dups = append(dups, m.Duplicate) }, decode.Options{})
	// The copy 2 ms later is a capture duplicate; the one 498 ms after that is a retransmission.
	if !slices.Equal(dups, []bool{false, true, false}) {
		t.Fatalf("duplicates %v", dups)
	}
}

func TestDecodingUDPSIPFrameDoesNotAllocate(t *testing.T) {
	frame := decode.Frame{Data: eth(0x0800, innerSIP()), LinkType: layers.LinkTypeEthernet, Number: 1, Input: "x", Time: time.Unix(1700000000, 0)}
	n := 0
	d := decode.NewDecoder(func(m *decode.Message) { n += len(m.SIP.CallID) }, decode.Options{})
	d.Frame(&frame) // warm up reused buffers
	allocs := testing.AllocsPerRun(1000, func() {
		frame.Time = frame.Time.Add(time.Second) // keep the dedup table in its steady state
		d.Frame(&frame)
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per UDP SIP frame", allocs)
	}
	if n == 0 {
		t.Fatal("no message decoded")
	}
}

func BenchmarkDecodeUDPSIPFrame(b *testing.B) {
	frame := decode.Frame{Data: eth(0x0800, innerSIP()), LinkType: layers.LinkTypeEthernet, Number: 1, Input: "x", Time: time.Unix(1700000000, 0)}
	d := decode.NewDecoder(func(*decode.Message) {}, decode.Options{})
	b.SetBytes(int64(len(frame.Data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		frame.Time = frame.Time.Add(time.Millisecond)
		d.Frame(&frame)
	}
}

func TestIPv6InIPv6(t *testing.T) {
	a, b := netip.MustParseAddr("2001:db8::a"), netip.MustParseAddr("2001:db8::b")
	inner := ipv6(17, a, b, udp(5060, 5060, []byte(sipOptions)))
	outer := ipv6(41, netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("2001:db8:1::2"), inner)
	msgs, _ := collect(t, writePcap(t, layers.LinkTypeEthernet, eth(0x86dd, outer)))
	if len(msgs) != 1 || msgs[0].Src.Addr() != a || msgs[0].Dst.Addr() != b {
		t.Fatalf("got %+v", msgs)
	}
}

func TestIPv6InIPv4(t *testing.T) {
	a, b := netip.MustParseAddr("2001:db8::a"), netip.MustParseAddr("2001:db8::b")
	inner := ipv6(17, a, b, udp(5060, 5060, []byte(sipOptions)))
	msgs, _ := collect(t, writePcap(t, layers.LinkTypeEthernet, eth(0x0800, ipv4(41, outerSrc, outerDst, 9, 0, inner))))
	if len(msgs) != 1 || msgs[0].Src.Addr() != a || msgs[0].Dst.Addr() != b {
		t.Fatalf("got %+v", msgs)
	}
}

// TestPcapngMixedLinkTypes reads a pcapng whose two interfaces have different link types.
func TestPcapngMixedLinkTypes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mixed.pcapng")
	f, _ := os.Create(p)
	w, err := pcapgo.NewNgWriterInterface(f, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	sll, err := w.AddInterface(pcapgo.NgInterface{Name: "any", LinkType: layers.LinkTypeLinuxSLL, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1700000000, 0)
	ethFrame := eth(0x0800, innerSIP())
	sllFrame := join([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, be16(0x0800), innerSIP())
	w.WritePacket(gopacket.CaptureInfo{Timestamp: t0, CaptureLength: len(ethFrame), Length: len(ethFrame), InterfaceIndex: 0}, ethFrame)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: t0.Add(time.Second), CaptureLength: len(sllFrame), Length: len(sllFrame), InterfaceIndex: sll}, sllFrame)
	w.Flush()
	f.Close()
	msgs, stats := collect(t, p)
	if len(msgs) != 2 {
		t.Fatalf("%d messages; skipped %+v", len(msgs), stats.Reasons())
	}
}

// TestPcapngDamage: a pcapng cut mid-block keeps what came before; a block whose lengths lie is
// reported at its offset instead of being trusted (no 4 GB allocation).
func TestPcapngDamage(t *testing.T) {
	src := corpus.Path(t, "third_party/sipnab/sip-auth-failure.pcapng")
	whole, _ := collect(t, src)
	data, _ := os.ReadFile(src)
	dir := t.TempDir()

	cut := filepath.Join(dir, "cut.pcapng")
	os.WriteFile(cut, data[:len(data)-100], 0o644)
	part, stats := collect(t, cut)
	if len(part) != len(whole)-1 || len(stats.Warnings) != 1 || !strings.Contains(stats.Warnings[0].Error(), "cut short") {
		t.Fatalf("cut: %d of %d messages, warnings %v", len(part), len(whole), stats.Warnings)
	}

	// Find the first Enhanced Packet Block and claim a 4 GB captured length.
	bad := slices.Clone(data)
	off := 0
	for off+8 <= len(bad) {
		typ := binary.LittleEndian.Uint32(bad[off:])
		l := int(binary.LittleEndian.Uint32(bad[off+4:]))
		if typ == 6 {
			binary.LittleEndian.PutUint32(bad[off+20:], 0xfffffff0)
			break
		}
		off += l
	}
	lie := filepath.Join(dir, "lie.pcapng")
	os.WriteFile(lie, bad, 0o644)
	_, stats = collect(t, lie)
	if len(stats.Warnings) != 1 || !strings.Contains(stats.Warnings[0].Error(), "beyond its block") || stats.Warnings[0].Offset != int64(off) {
		t.Fatalf("lying block at %d: warnings %v", off, stats.Warnings)
	}
}

// Diameter carried raw inside HEP (as `hep send` sends it) is decoded like Diameter on the wire.
func TestDiameterInsideHEP(t *testing.T) {
	// A minimal Device-Watchdog-Request: header only, with the R flag.
	dwr := []byte{1, 0, 0, 20, 0x80, 0, 1, 24, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 9}
	pkt, err := hep.AppendEncode(nil, &hep.Packet{Version: 3, Family: 2, IPProto: 6, ProtoType: 56,
		Src: netip.MustParseAddrPort("10.0.0.1:3868"), Dst: netip.MustParseAddrPort("10.0.0.2:3868"),
		Time: time.Unix(1700000000, 0), CaptureID: 9, Payload: dwr})
	if err != nil {
		t.Fatal(err)
	}
	var got []*decode.Message
	d := decode.NewDecoder(func(m *decode.Message) { c := *m; got = append(got, &c) }, decode.Options{})
	d.Frame(&decode.Frame{Data: eth(0x0800, ipv4(17, outerSrc, outerDst, 1, 0, udp(40000, 9060, pkt))), LinkType: layers.LinkTypeEthernet, Number: 1, Input: "x"})
	if len(got) != 1 || got[0].Protocol != decode.ProtoDiameter || got[0].Diameter.CommandCode != 280 || got[0].Src.Port() != 3868 || got[0].HEP == nil {
		t.Fatalf("got %+v", got)
	}
}
