package correlate

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/diameter"
)

// capturedPayload is an application payload of a capture with the envelope the pipeline would give it.
type capturedPayload struct {
	env  decode.Envelope
	data []byte
}

// capturePayloads returns, in capture order, the unfragmented UDP payloads with port 53 (also inside
// GTP-U) and the SCTP
// DATA chunks and TCP segments with port 3868, framed into Diameter messages (TCP per direction, with
// MessageLength). It stands in for the decode pipeline so these tests depend only on the decoders.
func capturePayloads(t testing.TB, path string) []capturedPayload {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var src source
	var link layers.LinkType
	if bytes.HasPrefix(raw, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		src, link = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		src, link = r, r.LinkType()
	}
	var out []capturedPayload
	tcpBuf := map[[2]netip.AddrPort][]byte{}
	for frame := 1; ; frame++ {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, link, gopacket.Default)
		// The innermost IP and transport layers count, so DNS inside GTP-U is found.
		var srcIP, dstIP netip.Addr
		var transport gopacket.Layer
		fragment := false
		for _, l := range p.Layers() {
			switch l := l.(type) {
			case *layers.IPv4:
				srcIP, _ = netip.AddrFromSlice(l.SrcIP.To4())
				dstIP, _ = netip.AddrFromSlice(l.DstIP.To4())
				fragment = fragment || l.Flags&layers.IPv4MoreFragments != 0 || l.FragOffset != 0
				transport = nil
			case *layers.IPv6:
				srcIP, _ = netip.AddrFromSlice(l.SrcIP)
				dstIP, _ = netip.AddrFromSlice(l.DstIP)
				transport = nil
			case *layers.IPv6Fragment:
				fragment = true
			case *layers.UDP, *layers.TCP, *layers.SCTP:
				if transport == nil {
					transport = l
				}
			}
		}
		env := func(sp, dp uint16, tr decode.Transport) decode.Envelope {
			return decode.Envelope{Time: ci.Timestamp, Src: netip.AddrPortFrom(srcIP, sp), Dst: netip.AddrPortFrom(dstIP, dp),
				Transport: tr, Frame: frame, Input: path}
		}
		switch l := transport.(type) {
		case *layers.UDP:
			if !fragment && (l.SrcPort == 53 || l.DstPort == 53) {
				out = append(out, capturedPayload{env(uint16(l.SrcPort), uint16(l.DstPort), decode.UDP), append([]byte(nil), l.Payload...)})
			}
		case *layers.TCP:
			if l.SrcPort != 3868 && l.DstPort != 3868 || len(l.Payload) == 0 {
				continue
			}
			e := env(uint16(l.SrcPort), uint16(l.DstPort), decode.TCP)
			k := [2]netip.AddrPort{e.Src, e.Dst}
			buf := append(tcpBuf[k], l.Payload...)
			for {
				n, err := diameter.MessageLength(buf)
				if err != nil {
					t.Fatalf("%s: frame %d: %v", path, frame, err)
				}
				if n == 0 {
					break
				}
				out = append(out, capturedPayload{e, append([]byte(nil), buf[:n]...)})
				buf = buf[n:]
			}
			tcpBuf[k] = buf
		case *layers.SCTP:
			for _, cl := range p.Layers() {
				if d, ok := cl.(*layers.SCTPData); ok && d.BeginFragment && d.EndFragment && int(d.Length) <= len(d.Contents) &&
					(d.PayloadProtocol == 46 || l.SrcPort == 3868 || l.DstPort == 3868) {
					out = append(out, capturedPayload{env(uint16(l.SrcPort), uint16(l.DstPort), decode.SCTP), append([]byte(nil), d.Contents[16:d.Length]...)})
				}
			}
		}
	}
}
