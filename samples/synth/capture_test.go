package synth_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sigtrace/sigtrace/samples/synth"
)

// packet is one UDP datagram read back from a generated capture.
type packet struct {
	n        int // frame number, from 1
	ts       time.Time
	src, dst netip.AddrPort
	payload  []byte
	sip      *sipMsg // nil for RTP
}

// sipMsg is the little of a SIP message the tests need, parsed independently of the generator.
type sipMsg struct {
	method  string // request method, or "" for a response
	status  int
	ruri    string
	headers map[string][]string // lower-case name -> values in order
	body    []byte
}

func (m *sipMsg) get(name string) string {
	if v := m.headers[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// cseqMethod returns the method named in CSeq.
func (m *sipMsg) cseqMethod() string {
	f := strings.Fields(m.get("cseq"))
	if len(f) != 2 {
		return ""
	}
	return f[1]
}

func (m *sipMsg) toTag() bool { return strings.Contains(m.get("to"), ";tag=") }

var (
	requestLine = regexp.MustCompile(`^([A-Z]+) (sip:[^ ]+) SIP/2\.0$`)
	statusLine  = regexp.MustCompile(`^SIP/2\.0 ([1-6][0-9][0-9]) [A-Za-z ]+$`)
)

// parseSIP checks the framing of one SIP message: a request or status line, CRLF-terminated
// headers, and a Content-Length equal to the body's length.
func parseSIP(p []byte) (*sipMsg, error) {
	head, body, ok := bytes.Cut(p, []byte("\r\n\r\n"))
	if !ok {
		return nil, fmt.Errorf("no blank line ending the headers")
	}
	lines := strings.Split(string(head), "\r\n")
	m := &sipMsg{headers: map[string][]string{}, body: body}
	if g := requestLine.FindStringSubmatch(lines[0]); g != nil {
		m.method, m.ruri = g[1], g[2]
	} else if g := statusLine.FindStringSubmatch(lines[0]); g != nil {
		m.status, _ = strconv.Atoi(g[1])
	} else {
		return nil, fmt.Errorf("bad start line %q", lines[0])
	}
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("bad header line %q", l)
		}
		k := strings.ToLower(name)
		m.headers[k] = append(m.headers[k], strings.TrimSpace(value))
	}
	for _, h := range []string{"via", "from", "to", "call-id", "cseq", "content-length"} {
		if len(m.headers[h]) == 0 {
			return nil, fmt.Errorf("no %s header", h)
		}
	}
	cl, err := strconv.Atoi(m.get("content-length"))
	if err != nil || cl != len(body) {
		return nil, fmt.Errorf("Content-Length %q, body of %d bytes", m.get("content-length"), len(body))
	}
	if m.method != "" && m.method != m.cseqMethod() {
		return nil, fmt.Errorf("request %s with CSeq %q", m.method, m.get("cseq"))
	}
	if len(body) > 0 && m.get("content-type") == "" {
		return nil, fmt.Errorf("body without Content-Type")
	}
	return m, nil
}

// readCapture reads a pcap or pcapng capture with gopacket and checks every frame: Ethernet,
// IPv4 with a correct header checksum, UDP with a consistent length, timestamps never going
// back; each payload is SIP (well framed) or RTP (version 2, G.711, 172 bytes).
func readCapture(t testing.TB, data []byte) []packet {
	t.Helper()
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	if binary.LittleEndian.Uint32(data) == 0x0A0D0D0A {
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		src = r
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if r.LinkType() != layers.LinkTypeEthernet {
			t.Fatalf("link type %v", r.LinkType())
		}
		src = r
	}
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		udp     layers.UDP
		decoded []gopacket.LayerType
		out     []packet
		last    time.Time
	)
	// gopacket would hand port 5060 to its own SIP layer; stop at UDP and take its payload.
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &udp)
	parser.IgnoreUnsupported = true
	for n := 1; ; n++ {
		frame, ci, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		if err := parser.DecodeLayers(frame, &decoded); err != nil || len(decoded) != 3 {
			t.Fatalf("frame %d: decoded %v: %v", n, decoded, err)
		}
		if ci.Timestamp.Before(last) {
			t.Fatalf("frame %d: time %v before %v", n, ci.Timestamp, last)
		}
		last = ci.Timestamp
		if ci.Timestamp.Nanosecond()%1000 != 0 {
			t.Fatalf("frame %d: time %v is finer than microseconds", n, ci.Timestamp)
		}
		if sum := checksum(frame[14:34]); sum != 0 {
			t.Fatalf("frame %d: IPv4 header checksum does not verify (%#x)", n, sum)
		}
		if int(ip4.Length) != 28+len(udp.Payload) || int(udp.Length) != 8+len(udp.Payload) {
			t.Fatalf("frame %d: IP length %d, UDP length %d, payload %d", n, ip4.Length, udp.Length, len(udp.Payload))
		}
		s, _ := netip.AddrFromSlice(ip4.SrcIP)
		d, _ := netip.AddrFromSlice(ip4.DstIP)
		p := packet{n: n, ts: ci.Timestamp, payload: append([]byte(nil), udp.Payload...),
			src: netip.AddrPortFrom(s, uint16(udp.SrcPort)), dst: netip.AddrPortFrom(d, uint16(udp.DstPort))}
		if len(p.payload) > 0 && p.payload[0] >= 'A' && p.payload[0] <= 'Z' {
			m, err := parseSIP(p.payload)
			if err != nil {
				t.Fatalf("frame %d: %v\n%s", n, err, p.payload)
			}
			p.sip = m
		} else if len(p.payload) != 172 || p.payload[0]>>6 != 2 || (p.payload[1]&0x7f != 0 && p.payload[1]&0x7f != 8) {
			t.Fatalf("frame %d: neither SIP nor G.711 RTP: % x", n, p.payload[:min(16, len(p.payload))])
		}
		out = append(out, p)
	}
	return out
}

func checksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func generate(t testing.TB, cfg synth.Config) ([]byte, []byte, synth.Stats) {
	t.Helper()
	var capture, truth bytes.Buffer
	st, err := synth.Generate(cfg, &capture, &truth)
	if err != nil {
		t.Fatal(err)
	}
	if int64(capture.Len()) != st.Bytes {
		t.Fatalf("Stats.Bytes %d, wrote %d", st.Bytes, capture.Len())
	}
	return capture.Bytes(), truth.Bytes(), st
}
