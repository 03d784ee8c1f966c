package hep

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// segment is one UDP or TCP payload read from a capture.
type segment struct {
	frame    int // 1-based
	time     time.Time
	tcp      bool
	src, dst netip.AddrPort
	payload  []byte
}

var errNotCapture = errors.New("not a pcap or pcapng file")

// readSegments returns the UDP and TCP payloads of a pcap or pcapng file, in frame order.
// Packets gopacket cannot take apart down to the transport (ARP, fragments ...) are left out.
func readSegments(path string) ([]segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, errNotCapture
	}
	var (
		next     func() ([]byte, gopacket.CaptureInfo, error)
		linkType func(gopacket.CaptureInfo) layers.LinkType
	)
	switch {
	case bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, err
		}
		next = r.ReadPacketData
		linkType = func(ci gopacket.CaptureInfo) layers.LinkType {
			if i, err := r.Interface(ci.InterfaceIndex); err == nil {
				return i.LinkType
			}
			return r.LinkType()
		}
	default:
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, errNotCapture
		}
		next = r.ReadPacketData
		linkType = func(gopacket.CaptureInfo) layers.LinkType { return r.LinkType() }
	}
	var segs []segment
	for frame := 1; ; frame++ {
		data, ci, err := next()
		if err == io.EOF {
			return segs, nil
		}
		if err != nil {
			return segs, err
		}
		pkt := gopacket.NewPacket(data, linkType(ci), gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		s := segment{frame: frame, time: ci.Timestamp}
		var src, dst netip.Addr
		switch ip := pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		case *layers.IPv6:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
		default:
			continue
		}
		switch tl := pkt.TransportLayer().(type) {
		case *layers.UDP:
			s.src, s.dst = netip.AddrPortFrom(src, uint16(tl.SrcPort)), netip.AddrPortFrom(dst, uint16(tl.DstPort))
			s.payload = tl.Payload
		case *layers.TCP:
			s.tcp = true
			s.src, s.dst = netip.AddrPortFrom(src, uint16(tl.SrcPort)), netip.AddrPortFrom(dst, uint16(tl.DstPort))
			s.payload = tl.Payload
		default:
			continue
		}
		if len(s.payload) > 0 {
			segs = append(segs, s)
		}
	}
}

// hepSegments returns the UDP payloads sent to or from the HEP port 9060.
func hepSegments(t testing.TB, path string) []segment {
	t.Helper()
	segs, err := readSegments(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []segment
	for _, s := range segs {
		if !s.tcp && (s.dst.Port() == 9060 || s.src.Port() == 9060) {
			out = append(out, s)
		}
	}
	return out
}
