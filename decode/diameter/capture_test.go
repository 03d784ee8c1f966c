package diameter

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

// The captures holding Diameter, over TCP and SCTP. The open5gs IMS files carry real Cx (UAR, SAR, MAR,
// LIR), Rx and Gx next to S6a in testattach.
var diameterCaptures = []string{
	"third_party/arkime/diameter_synthetic.pcap",
	"third_party/ndpi/diameter.pcap",
	"third_party/pyhss/Diameter_AIA2.pcapng",
	"third_party/pyhss/Resync.pcap",
	"third_party/pypacker/packets_diameter.pcap",
	"third_party/open5gs/testattach.pcapng",
	"third_party/open5gs/nonipsec_reg.pcapng",
	"third_party/open5gs/nonipsec_to_ipsec_call.pcapng",
	"third_party/open5gs/ipsec_to_nonipsec_call.pcapng",
}

const (
	diameterPort  = 3868
	sctpPPIDDiam  = 46
	sctpPPIDDTLS  = 47 // Diameter over DTLS/SCTP: not decodable here
	maxStreamHeld = 1 << 20
)

// capturedMessage is one Diameter message found in a capture, with the frame that completed it.
type capturedMessage struct {
	frame int
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

// diameterMessages extracts the Diameter messages of a capture: TCP port 3868 streams framed with
// MessageLength (so the framing is exercised on real streams), and SCTP DATA chunks with the Diameter
// payload protocol or port, fragmented ones reassembled.
func diameterMessages(t testing.TB, path string) []capturedMessage {
	t.Helper()
	var out []capturedMessage
	type flowState struct {
		next    uint32
		started bool
		buf     []byte
	}
	tcpFlows := map[gopacket.Flow]map[gopacket.Flow]*flowState{}
	sctpFrags := map[string][]byte{}
	readCapture(t, path, func(frame int, p gopacket.Packet) {
		net := p.NetworkLayer()
		if net == nil {
			return
		}
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			if tcp.SrcPort != diameterPort && tcp.DstPort != diameterPort || len(tcp.Payload) == 0 {
				return
			}
			byEP := tcpFlows[net.NetworkFlow()]
			if byEP == nil {
				byEP = map[gopacket.Flow]*flowState{}
				tcpFlows[net.NetworkFlow()] = byEP
			}
			st := byEP[tcp.TransportFlow()]
			if st == nil {
				st = &flowState{}
				byEP[tcp.TransportFlow()] = st
			}
			seq, data := tcp.Seq, tcp.Payload
			if st.started {
				// Drop what was already seen (retransmissions); keep the new tail of overlaps.
				if d := int32(st.next - seq); d > 0 {
					if int(d) >= len(data) {
						return
					}
					data = data[d:]
				}
			}
			st.started, st.next = true, seq+uint32(len(tcp.Payload))
			st.buf = append(st.buf, data...)
			for {
				n, err := MessageLength(st.buf)
				if err != nil {
					t.Errorf("%s: frame %d: %v", path, frame, err)
					st.buf = nil
					return
				}
				if n == 0 {
					if len(st.buf) > maxStreamHeld {
						t.Fatalf("%s: frame %d: stream buffer grew past %d bytes", path, frame, maxStreamHeld)
					}
					return
				}
				out = append(out, capturedMessage{frame, append([]byte(nil), st.buf[:n]...)})
				st.buf = st.buf[n:]
			}
		}
		sctp, ok := p.Layer(layers.LayerTypeSCTP).(*layers.SCTP)
		if !ok {
			return
		}
		key := net.NetworkFlow().String() + " " + sctp.TransportFlow().String()
		for _, l := range p.Layers() {
			d, ok := l.(*layers.SCTPData)
			if !ok || int(d.Length) < 16 || int(d.Length) > len(d.Contents) {
				continue
			}
			if d.PayloadProtocol != sctpPPIDDiam && !(d.PayloadProtocol == 0 && (sctp.SrcPort == diameterPort || sctp.DstPort == diameterPort)) {
				continue
			}
			user := d.Contents[16:d.Length]
			skey := key + " " + strconv.Itoa(int(d.StreamId))
			switch {
			case d.BeginFragment && d.EndFragment:
				out = append(out, capturedMessage{frame, append([]byte(nil), user...)})
			case d.BeginFragment:
				sctpFrags[skey] = append([]byte(nil), user...)
			case sctpFrags[skey] != nil:
				sctpFrags[skey] = append(sctpFrags[skey], user...)
				if d.EndFragment {
					out = append(out, capturedMessage{frame, sctpFrags[skey]})
					delete(sctpFrags, skey)
				}
			}
		}
	})
	return out
}

// tsharkDiameter is what tshark reports for one Diameter PDU.
type tsharkDiameter struct {
	frame                              int
	cmd, request, app, hbh, e2e        string
	session, result, expResult, origin string
	avpCodes                           string
}

const tsharkAggregator = "|"

func runTshark(t *testing.T, path string) []tsharkDiameter {
	t.Helper()
	tshark := corpus.Tool(t, "tshark")
	fields := []string{"frame.number", "diameter.cmd.code", "diameter.flags.request", "diameter.applicationId",
		"diameter.hopbyhopid", "diameter.endtoendid", "diameter.Session-Id", "diameter.Result-Code",
		"diameter.Experimental-Result-Code", "diameter.Origin-Host", "diameter.avp.code"}
	args := []string{"-r", path, "-Y", "diameter", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=" + tsharkAggregator}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	var res []tsharkDiameter
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != len(fields) {
			t.Fatalf("tshark line %q: %d fields", line, len(f))
		}
		frame, _ := strconv.Atoi(f[0])
		if strings.Contains(f[1], tsharkAggregator) {
			t.Fatalf("%s: frame %d holds several Diameter PDUs; this comparison handles one per frame", path, frame)
		}
		res = append(res, tsharkDiameter{frame: frame, cmd: f[1], request: f[2], app: f[3], hbh: f[4], e2e: f[5],
			session: first(f[6]), result: first(f[7]), expResult: first(f[8]), origin: first(f[9]), avpCodes: f[10]})
	}
	return res
}

func first(s string) string {
	if i := strings.Index(s, tsharkAggregator); i >= 0 {
		return s[:i]
	}
	return s
}

// avpCodes lists the AVP codes of a tree depth-first, as tshark's diameter.avp.code field does.
func avpCodes(avps []AVP, out []string) []string {
	for i := range avps {
		out = append(out, strconv.FormatUint(uint64(avps[i].Code), 10))
		out = avpCodes(avps[i].AVPs, out)
	}
	return out
}
