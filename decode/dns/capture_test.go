package dns

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// The captures holding DNS on port 53: plain, over VLAN+PPPoE, raw IP, IPv6, over TCP, inside GTP-U
// (open5gs), SRV and NAPTR, IPv4 and IPv6 fragments (skipped here: reassembly is the pipeline's job).
var dnsCaptures = []string{
	"third_party/ndpi/dns.pcap",
	"third_party/ndpi/dns_fragmented.pcap",
	"third_party/zeek/dns/naptr.pcap",
	"third_party/zeek/ipv6-fragmented-dns.pcap",
	"third_party/suricata-verify/dns-udp-eve-log-srv/input.pcap",
	"third_party/sngrep/aaa.pcap",
	"third_party/open5gs/nonipsec_reg.pcapng",
	"third_party/open5gs/nonipsec_to_ipsec_call.pcapng",
}

const dnsPort = 53

type capturedMessage struct {
	frame int
	tcp   bool
	data  []byte
}

// readCapture calls fn for every frame of a pcap or pcapng file with its 1-based number.
func readCapture(t testing.TB, path string, fn func(frame int, p gopacket.Packet)) {
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
	if len(raw) >= 4 && bytes.Equal(raw[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		src, link = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		src, link = r, r.LinkType()
	}
	for frame := 1; ; frame++ {
		data, _, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: frame %d: %v", path, frame, err)
		}
		fn(frame, gopacket.NewPacket(data, link, gopacket.Default))
	}
}

// dnsMessages extracts the DNS messages on port 53 of a capture: UDP payloads of unfragmented
// datagrams (the innermost UDP, so DNS inside GTP-U counts) and TCP streams framed with MessageLength.
func dnsMessages(t testing.TB, path string) []capturedMessage {
	t.Helper()
	var out []capturedMessage
	type flowState struct {
		next    uint32
		started bool
		buf     []byte
	}
	flows := map[string]*flowState{}
	readCapture(t, path, func(frame int, p gopacket.Packet) {
		var udp *layers.UDP
		var tcp *layers.TCP
		var netFlow gopacket.Flow
		fragment := false
		for _, l := range p.Layers() {
			switch l := l.(type) {
			case *layers.IPv4:
				fragment = fragment || l.Flags&layers.IPv4MoreFragments != 0 || l.FragOffset != 0
				netFlow, udp, tcp = l.NetworkFlow(), nil, nil
			case *layers.IPv6:
				netFlow, udp, tcp = l.NetworkFlow(), nil, nil
			case *layers.IPv6Fragment:
				fragment = true
			case *layers.UDP:
				udp = l
			case *layers.TCP:
				tcp = l
			}
		}
		switch {
		case fragment:
		case udp != nil && (udp.SrcPort == dnsPort || udp.DstPort == dnsPort):
			out = append(out, capturedMessage{frame, false, append([]byte(nil), udp.Payload...)})
		case tcp != nil && (tcp.SrcPort == dnsPort || tcp.DstPort == dnsPort) && len(tcp.Payload) > 0:
			key := netFlow.String() + " " + tcp.TransportFlow().String()
			st := flows[key]
			if st == nil {
				st = &flowState{}
				flows[key] = st
			}
			data := tcp.Payload
			if st.started {
				if d := int32(st.next - tcp.Seq); d > 0 { // retransmitted bytes
					if int(d) >= len(data) {
						return
					}
					data = data[d:]
				}
			}
			st.started, st.next = true, tcp.Seq+uint32(len(tcp.Payload))
			st.buf = append(st.buf, data...)
			for {
				n, err := MessageLength(st.buf)
				if err != nil {
					t.Errorf("%s: frame %d: %v", path, frame, err)
					st.buf = nil
					return
				}
				if n == 0 {
					return
				}
				out = append(out, capturedMessage{frame, true, append([]byte(nil), st.buf[2:n]...)})
				st.buf = st.buf[n:]
			}
		}
	})
	return out
}

// tsharkDNS is what tshark reports for the DNS messages of one frame, each field aggregated with "|".
type tsharkDNS struct {
	frame                                   int
	id, response, qname, qtype, rcode, addr string
	answers                                 string
}

const tsharkAggregator = "|"

func runTshark(t *testing.T, path string) []tsharkDNS {
	t.Helper()
	tshark := corpus.Tool(t, "tshark")
	fields := []string{"frame.number", "dns.id", "dns.flags.response", "dns.qry.name", "dns.qry.type",
		"dns.flags.rcode", "dns.a", "dns.aaaa", "dns.count.answers"}
	// Reassembled datagrams are left out, like the fragments they come from.
	args := []string{"-r", path, "-Y", "dns && (udp.port == 53 || tcp.port == 53) && !ip.frag_offset > 0 && !ipv6.fragment",
		"-T", "fields", "-E", "occurrence=a", "-E", "aggregator=" + tsharkAggregator}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	var res []tsharkDNS
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != len(fields) {
			t.Fatalf("tshark line %q: %d fields", line, len(f))
		}
		frame, _ := strconv.Atoi(f[0])
		addr := f[6]
		if f[7] != "" {
			if addr != "" {
				addr += tsharkAggregator
			}
			addr += f[7]
		}
		res = append(res, tsharkDNS{frame: frame, id: f[1], response: f[2], qname: f[3], qtype: f[4], rcode: f[5],
			addr: addr, answers: f[8]})
	}
	return res
}
