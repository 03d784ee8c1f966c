package decode_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// fuzzSeeds are small real captures: every reader (pcap, pcapng, NetMon) and several link types.
var fuzzSeeds = []string{
	"third_party/pcapplusplus/sip_reqs.pcap",
	"third_party/pcapplusplus/Sll2Packet.pcap",
	"third_party/heplify/sip_sctp.pcap",
	"third_party/heplify/ipip0.pcap",
	"third_party/ndpi/sip_hello.pcapng",
	"third_party/sngrep/ipv6frag.pcap",
	"third_party/hep-wireshark/hep.pcap",
	"third_party/pyhss/Diameter_AIA2.pcapng",
	"third_party/zeek/sip/sip-junk-before-request.pcap",
}

// FuzzCapture feeds arbitrary bytes to the capture readers and the whole frame pipeline: whatever the
// input, decoding ends without panic, and a warning or error names the input.
func FuzzCapture(f *testing.F) {
	for _, s := range fuzzSeeds {
		if data, err := os.ReadFile(filepath.Join(corpus.Dir(f), s)); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decode.OpenReader("fuzz.pcap", bytes.NewReader(data), nil)
		if err != nil {
			if !bytes.Contains([]byte(err.Error()), []byte("fuzz.pcap")) {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		d := decode.NewDecoder(func(m *decode.Message) { _ = m.Payload }, decode.Options{})
		d.RunCaptures(context.Background(), []*decode.Capture{c})
		for _, w := range d.Stats.Warnings {
			if w.Input != "fuzz.pcap" {
				t.Fatalf("warning without the input's name: %v", w)
			}
		}
	})
}

// FuzzTCPFraming cuts a stream of arbitrary bytes (seeded with SIP, HEP and Diameter streams) into TCP
// segments at fuzzer-chosen points, delivers them in a fuzzer-chosen order, and checks that the
// framers never panic and never report more bytes than were sent.
func FuzzTCPFraming(f *testing.F) {
	two := sipOptions + sipOptions
	f.Add([]byte(two), uint16(40), uint16(3), uint8(0))
	f.Add([]byte("\r\n\r\n"+sipOptions), uint16(1), uint16(7), uint8(1))
	f.Add([]byte("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"), uint16(10), uint16(5), uint8(2))
	f.Add([]byte{1, 0, 0, 20, 0x80, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}, uint16(7), uint16(2), uint8(3))
	f.Fuzz(func(t *testing.T, stream []byte, cut1, cut2 uint16, order uint8) {
		if len(stream) > 1<<16 {
			return
		}
		a, b := int(cut1)%(len(stream)+1), int(cut2)%(len(stream)+1)
		if a > b {
			a, b = b, a
		}
		parts := [][]byte{stream[:a], stream[a:b], stream[b:]}
		seqs := []uint32{1000, 1000 + uint32(a), 1000 + uint32(b)}
		idx := []int{0, 1, 2}
		switch order % 3 {
		case 1:
			idx = []int{1, 0, 2}
		case 2:
			idx = []int{2, 1, 0, 0}
		}
		total := 0
		d := decode.NewDecoder(func(m *decode.Message) { total += len(m.Payload) }, decode.Options{DedupWindow: -1})
		d.Frame(&decode.Frame{Data: tcpFrame(999, 0x02, nil), LinkType: layers.LinkTypeEthernet, Number: 1, Input: "fuzz"})
		for n, i := range idx {
			d.Frame(&decode.Frame{Data: tcpFrame(seqs[i], 0x18, parts[i]), LinkType: layers.LinkTypeEthernet, Number: n + 2, Input: "fuzz", Time: time.Unix(int64(n), 0)})
		}
		d.Finish()
		if total > len(stream) {
			t.Fatalf("framed %d bytes out of a %d-byte stream", total, len(stream))
		}
	})
}

func tcpFrame(seq uint32, flags byte, payload []byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h, 40000)
	binary.BigEndian.PutUint16(h[2:], 5060)
	binary.BigEndian.PutUint32(h[4:], seq)
	h[12] = 5 << 4
	h[13] = flags
	return eth(0x0800, ipv4(6, innerSrc, innerDst, 1, 0, append(h, payload...)))
}
