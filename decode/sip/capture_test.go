package sip

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// A datagram carved from a real capture: the UDP payload of one unfragmented frame.
type datagram struct {
	frame   int // 1-based, as tshark and Wireshark number frames
	payload []byte
}

// udpPayloads returns the payloads of the unfragmented UDP datagrams in a pcap or pcapng file
// for which keep returns true. It decodes with gopacket in tests only; the product's own frame
// loop lives in package decode.
func udpPayloads(t testing.TB, path string, keep func([]byte) bool) []datagram {
	t.Helper()
	return payloads(t, path, layers.LayerTypeUDP, keep)
}

// tcpPayloads returns the non-empty TCP segment payloads of a capture.
func tcpPayloads(t testing.TB, path string) []datagram {
	t.Helper()
	return payloads(t, path, layers.LayerTypeTCP, func(b []byte) bool { return len(b) > 0 })
}

func payloads(t testing.TB, path string, transport gopacket.LayerType, keep func([]byte) bool) []datagram {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		t.Fatal(err)
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var src source
	var link layers.LinkType
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		src, link = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		src, link = r, r.LinkType()
	}
	var out []datagram
	for frame := 1; ; frame++ {
		data, _, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: frame %d: %v", path, frame, err)
		}
		pkt := gopacket.NewPacket(data, link, gopacket.DecodeOptions{NoCopy: true})
		// The innermost transport counts (SIP in GTP-U in UDP); fragments are left out.
		var l gopacket.Layer
		fragment := false
		for _, x := range pkt.Layers() {
			switch x := x.(type) {
			case *layers.IPv4:
				fragment = fragment || x.Flags&layers.IPv4MoreFragments != 0 || x.FragOffset != 0
			case *layers.IPv6Fragment:
				fragment = true
			}
			if x.LayerType() == layers.LayerTypeUDP || x.LayerType() == layers.LayerTypeTCP {
				l = x
			}
		}
		if fragment || l == nil || l.LayerType() != transport || !keep(l.LayerPayload()) {
			continue
		}
		out = append(out, datagram{frame, bytes.Clone(l.LayerPayload())})
	}
}

// captureFiles are the real captures holding SIP over UDP, relative to the samples directory.
var captureFiles = []string{
	"class45/class45.pcapng",
	"third_party/sngrep/aaa.pcap",
	"third_party/sngrep/ipv6frag.pcap",
	"third_party/heplify/ipip0.pcap",
	"third_party/heplify/sip_ipv6_udp.pcap",
	"third_party/heplify/sip_tcp_websocket.pcap",
	"third_party/heplify/sip_ipv4_tcp_retrans.pcap",
	"third_party/sipnab/SIP_CALL_RTP_G711",
	"third_party/sipnab/SIP_DTMF2.cap",
	"third_party/sipnab/DTMFsipinfo.pcap",
	"third_party/sipnab/Asterisk_ZFONE_XLITE.pcap",
	"third_party/sipnab/b2bua-asterisk.pcapng",
	"third_party/sipnab/register-invite-reinvite-bye.pcap",
	"third_party/sipnab/sip-488-codec-reject.pcapng",
	"third_party/sipnab/sip-auth-failure.pcapng",
	"third_party/sipnab/sip-proxy.pcap",
	"third_party/sipnab/sip-routing-error.pcapng",
	"third_party/sipnab/sip-rtp-g711.pcap",
	"third_party/sipnab/sipp-branch-scenario.pcapng",
	"third_party/open5gs/nonipsec_reg.pcapng",
	"third_party/open5gs/nonipsec_to_ipsec_call.pcapng",
	"third_party/open5gs/ipsec_to_nonipsec_call.pcapng",
	"third_party/ndpi/sip_hello.pcapng",
	"third_party/pcapplusplus/sip_reqs.pcap",
	"third_party/pcapplusplus/sip_resp.pcap",
	"third_party/pcapplusplus/sip_non_default_port.pcap",
}

// knownInvalid: real messages that break the grammar, each for the reason given.
var knownInvalid = map[string]error{
	// tshark: "Header not terminated by empty line" and "Header has no colon after the name".
	"third_party/pcapplusplus/sip_reqs.pcap#3": ErrUnterminated,
	"third_party/pcapplusplus/sip_reqs.pcap#4": ErrBadHeader,
	// An IPv6 sent-by without brackets: "SIP/2.0/UDP fe80:0:0:0:21a:a0ff:fe07:32e0:5060".
	"third_party/heplify/sip_ipv6_udp.pcap#1": ErrBadVia,
	"third_party/heplify/sip_ipv6_udp.pcap#2": ErrBadVia,
	"third_party/heplify/sip_ipv6_udp.pcap#3": ErrBadVia,
	"third_party/heplify/sip_ipv6_udp.pcap#4": ErrBadVia,
	"third_party/heplify/sip_ipv6_udp.pcap#5": ErrBadVia,
	"third_party/heplify/sip_ipv6_udp.pcap#6": ErrBadVia,
}

// TestCaptures parses every SIP datagram of the real captures: all parse, only the known ones
// break the grammar, each has the fields correlation depends on, and every SDP body parses.
func TestCaptures(t *testing.T) {
	total := 0
	for _, rel := range captureFiles {
		path := corpus.Path(t, rel)
		var m Message
		var s SDP
		for _, d := range udpPayloads(t, path, LooksLikeSIP) {
			total++
			where := fmt.Sprintf("%s#%d", rel, d.frame)
			if err := Parse(d.payload, &m); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if want := knownInvalid[where]; !errors.Is(m.Invalid, want) || (want == nil) != (m.Invalid == nil) {
				t.Errorf("%s: Invalid = %v, want %v", where, m.Invalid, want)
			}
			if len(m.CallID) == 0 || len(m.CSeqMethod) == 0 || len(m.Via) == 0 || len(m.FromTag()) == 0 || len(m.Branch()) == 0 {
				t.Errorf("%s: Call-ID %q CSeq %q Via %q From tag %q branch %q", where, m.CallID, m.CSeqMethod, m.Via, m.FromTag(), m.Branch())
			}
			if body := m.SDPBody(); body != nil {
				if err := ParseSDP(body, &s); err != nil || len(s.Media) == 0 {
					t.Errorf("%s: SDP: %v, %d media", where, err, len(s.Media))
				}
			}
		}
	}
	if total < 1000 {
		t.Errorf("only %d SIP datagrams found in the captures", total)
	}
}

// TestAgainstTshark compares, frame by frame, what Parse reads with what Wireshark's dissector
// reads from the same captures: every SIP datagram tshark sees is found, with the same start line,
// Call-ID, CSeq, tags, top branch, and SDP media ports and connection addresses.
func TestAgainstTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("tshark takes seconds per capture")
	}
	tshark := corpus.Tool(t, "tshark")
	// A few captures that differ in what matters (each costs tshark two seconds): Kamailio and
	// SIPp with SDP, the Wireshark classic on Ethernet, IPv6 on Linux SLL, IMS inside GTP-U, and
	// the unbracketed IPv6 Via.
	files := []string{
		"class45/class45.pcapng",
		"third_party/sngrep/aaa.pcap",
		"third_party/sngrep/ipv6frag.pcap",
		"third_party/open5gs/nonipsec_to_ipsec_call.pcapng",
		"third_party/heplify/sip_ipv6_udp.pcap",
	}
	fields := []string{"frame.number", "sip.Method", "sip.Status-Code", "sip.Call-ID", "sip.CSeq.seq", "sip.CSeq.method",
		"sip.from.tag", "sip.to.tag", "sip.Via.branch", "sdp.media.port", "sdp.connection_info.address"}
	for _, rel := range files {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			t.Parallel()
			path := corpus.Path(t, rel)
			args := []string{"-r", path, "-Y", "sip && udp && !tcp && !(ip.flags.mf == 1) && !(ip.frag_offset > 0) && !ipv6.fragment", "-T", "fields"}
			for _, f := range fields {
				args = append(args, "-e", f)
			}
			out, err := exec.Command(tshark, args...).Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			mine := map[int][]byte{}
			for _, d := range udpPayloads(t, path, LooksLikeSIP) {
				mine[d.frame] = d.payload
			}
			compared := 0
			var m Message
			var s SDP
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Split(line, "\t")
				if len(f) != len(fields) || strings.Contains(f[4], ",") {
					continue // several SIP messages in one frame: not a case tshark and Parse agree on
				}
				frame, _ := strconv.Atoi(f[0])
				data, ok := mine[frame]
				if !ok {
					t.Errorf("frame %d: tshark sees SIP, LooksLikeSIP does not", frame)
					continue
				}
				if err := Parse(data, &m); err != nil {
					t.Errorf("frame %d: %v", frame, err)
					continue
				}
				got := []string{f[0], string(m.Method), "", string(m.CallID), strconv.FormatUint(uint64(m.CSeq), 10), string(m.CSeqMethod),
					string(m.FromTag()), string(m.ToTag()), string(m.Branch()), "", ""}
				if !m.IsRequest {
					got[2] = strconv.Itoa(m.StatusCode)
				}
				f[8], _, _ = strings.Cut(f[8], ",") // the top Via's branch
				if errors.Is(knownInvalid[rel+"#"+f[0]], ErrBadVia) {
					// tshark gives up on an unbracketed IPv6 sent-by; Parse still reads the branch.
					f[8] = got[8]
				}
				if body := m.SDPBody(); body != nil {
					noErr(t, ParseSDP(body, &s))
					var ports, addrs []string
					if s.Conn.Address != nil {
						addrs = append(addrs, string(s.Conn.Address))
					}
					for _, md := range s.Media {
						ports = append(ports, strconv.Itoa(md.Port))
						if md.Conn.Address != nil {
							addrs = append(addrs, string(md.Conn.Address))
						}
					}
					got[9], got[10] = strings.Join(ports, ","), strings.Join(addrs, ",")
				}
				for i := range fields {
					if got[i] != f[i] {
						t.Errorf("frame %d %s: Parse %q, tshark %q", frame, fields[i], got[i], f[i])
					}
				}
				compared++
			}
			if compared == 0 {
				t.Error("no frame compared")
			}
		})
	}
}

// TestClass45Truth checks the bodies against the ground truth of the class-4/5 capture: the DTMF
// digit of every SIP INFO, and the SDP direction of every hold and unhold re-INVITE.
func TestClass45Truth(t *testing.T) {
	path := corpus.Path(t, "class45/class45.pcapng")
	raw, err := os.ReadFile(corpus.Path(t, "class45/truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth struct {
		Calls []struct {
			ID     string `json:"id"`
			Events []struct {
				Type      string `json:"type"`
				Frame     int    `json:"frame"`
				Digit     string `json:"digit"`
				Direction string `json:"sdp_direction"`
				CSeq      uint32 `json:"cseq"`
			} `json:"events"`
		} `json:"calls"`
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	frames := map[int][]byte{}
	for _, d := range udpPayloads(t, path, LooksLikeSIP) {
		frames[d.frame] = d.payload
	}
	var m Message
	var s SDP
	dtmf, holds := 0, 0
	for _, c := range truth.Calls {
		for _, e := range c.Events {
			if e.Type != "dtmf" && e.Type != "hold" && e.Type != "unhold" {
				continue
			}
			where := fmt.Sprintf("%s %s frame %d", c.ID, e.Type, e.Frame)
			if err := Parse(frames[e.Frame], &m); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if m.CSeq != e.CSeq {
				t.Errorf("%s: CSeq %d, truth %d", where, m.CSeq, e.CSeq)
			}
			if e.Type == "dtmf" {
				dtmf++
				if d, ok := DTMFDigit(m.ContentType, m.Body); !ok || d != e.Digit || string(m.Method) != "INFO" {
					t.Errorf("%s: %s digit %q %v, truth %q", where, m.Method, d, ok, e.Digit)
				}
				continue
			}
			holds++
			if err := ParseSDP(m.SDPBody(), &s); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if s.Direction(0).String() != e.Direction || s.OnHold(0) != (e.Type == "hold") {
				t.Errorf("%s: direction %v, on hold %v; truth %s", where, s.Direction(0), s.OnHold(0), e.Direction)
			}
		}
	}
	if dtmf == 0 || holds == 0 {
		t.Errorf("truth gave %d DTMF and %d hold events", dtmf, holds)
	}
}

// TestDTMFSipInfo reads the SIP INFO DTMF of the Wireshark sample capture (over PPPoE).
func TestDTMFSipInfo(t *testing.T) {
	var m Message
	var digits []string
	for _, d := range udpPayloads(t, corpus.Path(t, "third_party/sipnab/DTMFsipinfo.pcap"), LooksLikeSIP) {
		noErr(t, Parse(d.payload, &m))
		if string(m.Method) != "INFO" {
			continue
		}
		digit, ok := DTMFDigit(m.ContentType, m.Body)
		if !ok {
			t.Errorf("frame %d: no digit in %q %q", d.frame, m.ContentType, m.Body)
		}
		digits = append(digits, digit)
	}
	if len(digits) != 4 { // the MANIFEST counts 4 INFO
		t.Errorf("digits %q, want 4", digits)
	}
}

// TestTCPSegments frames the SIP carried over TCP in real captures, one message per segment.
func TestTCPSegments(t *testing.T) {
	n := 0
	for _, rel := range []string{"third_party/sngrep/ipip.pcap", "third_party/heplify/sip_ipv4_tcp_retrans.pcap"} {
		for _, d := range tcpPayloads(t, corpus.Path(t, rel)) {
			if !LooksLikeSIP(d.payload) {
				continue
			}
			n++
			if got, err := MessageLength(d.payload); got != len(d.payload) || err != nil {
				t.Errorf("%s#%d: MessageLength %d, %v; segment %d bytes", rel, d.frame, got, err, len(d.payload))
			}
		}
	}
	if n == 0 {
		t.Error("no SIP segment found")
	}
}
