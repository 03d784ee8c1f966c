// Package checktest builds captures with known faults for the tests of sigtrace check: synthetic
// SIP from samples/synth, Diameter and DNS pairs built here, and edits (drop, delay, duplicate,
// rewrite a packet) whose frames and Call-IDs the test then expects in check's evidence.
package checktest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sigtrace/sigtrace/decode/sip"
	"github.com/sigtrace/sigtrace/samples/synth"
)

// Packet is one Ethernet frame of a capture. Tag names what a test put there (a Diameter session,
// a DNS name), so that it can be found again after the frames have moved.
type Packet struct {
	Time time.Time
	Data []byte
	Tag  string
}

// Capture is a list of frames in capture order; frame n is Packets[n-1].
type Capture struct {
	Packets []Packet
}

// Synth generates a capture with the synth generator and returns it with its call records.
func Synth(cfg synth.Config) (*Capture, []synth.Record, error) {
	var pcap, truth bytes.Buffer
	cfg.Format = synth.PCAP
	if _, err := synth.Generate(cfg, &pcap, &truth); err != nil {
		return nil, nil, err
	}
	r, err := pcapgo.NewReader(&pcap)
	if err != nil {
		return nil, nil, err
	}
	c := &Capture{}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		c.Packets = append(c.Packets, Packet{Time: ci.Timestamp, Data: data})
	}
	recs, err := synth.ReadTruth(&truth)
	return c, recs, err
}

// Clone returns a copy whose packets can be edited without touching c.
func (c *Capture) Clone() *Capture {
	out := &Capture{Packets: make([]Packet, len(c.Packets))}
	for i, p := range c.Packets {
		out.Packets[i] = Packet{Time: p.Time, Data: slices.Clone(p.Data), Tag: p.Tag}
	}
	return out
}

// WriteFile writes the capture as pcap.
func (c *Capture) WriteFile(path string) error {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	for _, p := range c.Packets {
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: len(p.Data)}
		if err := w.WritePacket(ci, p.Data); err != nil {
			return err
		}
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// Sort puts the frames in time order (stable: equal times keep their order).
func (c *Capture) Sort() {
	slices.SortStableFunc(c.Packets, func(a, b Packet) int { return a.Time.Compare(b.Time) })
}

// Frame is a frame number (1-based) and the SIP message it carries.
type Frame struct {
	N   int
	SIP *sip.Message
}

// SIP returns the frames that carry a SIP message over UDP, parsed, and for which keep is true.
func (c *Capture) SIP(keep func(*sip.Message) bool) []Frame {
	var out []Frame
	for i, p := range c.Packets {
		_, _, payload, ok := udpParts(p.Data)
		if !ok {
			continue
		}
		m := &sip.Message{}
		if sip.Parse(payload, m) != nil || m.Invalid != nil {
			continue
		}
		if keep == nil || keep(m) {
			out = append(out, Frame{N: i + 1, SIP: m})
		}
	}
	return out
}

// Tagged returns the frame numbers of the packets with this tag.
func (c *Capture) Tagged(tag string) []int {
	var out []int
	for i, p := range c.Packets {
		if p.Tag == tag {
			out = append(out, i+1)
		}
	}
	return out
}

// udpParts splits an Ethernet/IPv4/UDP frame.
func udpParts(data []byte) (*layers.IPv4, *layers.UDP, []byte, bool) {
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true, Lazy: true})
	ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if ip == nil || udp == nil {
		return nil, nil, nil, false
	}
	return ip, udp, udp.Payload, true
}

// SetPayload replaces the UDP payload of frame n, fixing lengths and checksums.
func (c *Capture) SetPayload(n int, payload []byte) error {
	p := &c.Packets[n-1]
	pkt := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip, udp, _, ok := udpParts(p.Data)
	if eth == nil || !ok {
		return fmt.Errorf("checktest: frame %d is not Ethernet/IPv4/UDP", n)
	}
	data, err := serialize(eth, ip, udp, payload)
	if err != nil {
		return err
	}
	p.Data = data
	return nil
}

// Replace rewrites the UDP payload of frame n: every old becomes new.
func (c *Capture) Replace(n int, old, new string) error {
	_, _, payload, ok := udpParts(c.Packets[n-1].Data)
	if !ok || !bytes.Contains(payload, []byte(old)) {
		return fmt.Errorf("checktest: frame %d has no %q", n, old)
	}
	return c.SetPayload(n, bytes.ReplaceAll(payload, []byte(old), []byte(new)))
}

// Drop removes the frames whose numbers are given (numbers as before the call).
func (c *Capture) Drop(frames ...int) {
	drop := map[int]bool{}
	for _, n := range frames {
		drop[n-1] = true
	}
	out := c.Packets[:0]
	for i, p := range c.Packets {
		if !drop[i] {
			out = append(out, p)
		}
	}
	c.Packets = out
}

// Shift moves the given frames d later and re-sorts the capture.
func (c *Capture) Shift(d time.Duration, frames ...int) {
	for _, n := range frames {
		c.Packets[n-1].Time = c.Packets[n-1].Time.Add(d)
	}
	c.Sort()
}

// Copy adds copies of frame n, each at of after it, tagged, and re-sorts the capture.
func (c *Capture) Copy(n int, tag string, after ...time.Duration) {
	p := c.Packets[n-1]
	for _, d := range after {
		c.Packets = append(c.Packets, Packet{Time: p.Time.Add(d), Data: slices.Clone(p.Data), Tag: tag})
	}
	c.Sort()
}

// Tag names frame n.
func (c *Capture) Tag(n int, tag string) { c.Packets[n-1].Tag = tag }

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

func serialize(eth *layers.Ethernet, ip *layers.IPv4, l4 gopacket.SerializableLayer, payload []byte) ([]byte, error) {
	switch t := l4.(type) {
	case *layers.UDP:
		_ = t.SetNetworkLayerForChecksum(ip)
	case *layers.TCP:
		_ = t.SetNetworkLayerForChecksum(ip)
	}
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, l4, gopacket.Payload(payload))
	return slices.Clone(buf.Bytes()), err
}

func ipv4(src, dst netip.AddrPort, proto layers.IPProtocol) (*layers.Ethernet, *layers.IPv4) {
	s, d := src.Addr().As4(), dst.Addr().As4()
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.IP(s[:]), DstIP: net.IP(d[:])}
}

// UDP appends a UDP datagram.
func (c *Capture) UDP(t time.Time, src, dst netip.AddrPort, payload []byte, tag string) error {
	eth, ip := ipv4(src, dst, layers.IPProtocolUDP)
	data, err := serialize(eth, ip, &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}, payload)
	if err != nil {
		return err
	}
	c.Packets = append(c.Packets, Packet{Time: t, Data: data, Tag: tag})
	return nil
}

// TCPConn sends segments on one TCP connection, opened with a handshake on the first use.
type TCPConn struct {
	Client, Server netip.AddrPort
	c              *Capture
	seq            [2]uint32 // next sequence number: client, server
	open           bool
}

// TCP returns a connection between client and server on c.
func (c *Capture) TCP(client, server netip.AddrPort) *TCPConn {
	return &TCPConn{Client: client, Server: server, c: c, seq: [2]uint32{1000, 5000}}
}

func (k *TCPConn) segment(t time.Time, fromServer bool, syn, ack bool, payload []byte, tag string) error {
	src, dst, side := k.Client, k.Server, 0
	if fromServer {
		src, dst, side = k.Server, k.Client, 1
	}
	eth, ip := ipv4(src, dst, layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: k.seq[side],
		Ack: k.seq[1-side], SYN: syn, ACK: ack, PSH: len(payload) > 0, Window: 65535}
	data, err := serialize(eth, ip, tcp, payload)
	if err != nil {
		return err
	}
	k.seq[side] += uint32(len(payload))
	if syn {
		k.seq[side]++
	}
	k.c.Packets = append(k.c.Packets, Packet{Time: t, Data: data, Tag: tag})
	return nil
}

// Send appends one segment carrying payload, after the handshake when the connection is new.
func (k *TCPConn) Send(t time.Time, fromServer bool, payload []byte, tag string) error {
	if !k.open {
		k.open = true
		hs := t.Add(-3 * time.Millisecond)
		if err := k.segment(hs, false, true, false, nil, ""); err != nil {
			return err
		}
		if err := k.segment(hs.Add(time.Millisecond), true, true, true, nil, ""); err != nil {
			return err
		}
		if err := k.segment(hs.Add(2*time.Millisecond), false, false, true, nil, ""); err != nil {
			return err
		}
	}
	return k.segment(t, fromServer, false, true, payload, tag)
}

// Diameter AVP codes and the flag bits used here (RFC 6733, RFC 4006).
const (
	avpSessionID        = 263
	avpOriginHost       = 264
	avpOriginRealm      = 296
	avpDestinationRealm = 283
	avpAuthAppID        = 258
	avpResultCode       = 268
	avpCCRequestType    = 416
	avpCCRequestNumber  = 415
	avpFlagM            = 0x40

	// CmdCreditControl is the Credit-Control command (CCR/CCA), application AppCreditControl.
	CmdCreditControl = 272
	AppCreditControl = 4
)

func appendAVP(b []byte, code uint32, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, code)
	l := 8 + len(data)
	b = append(b, avpFlagM, byte(l>>16), byte(l>>8), byte(l))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// CCR builds a Credit-Control-Request (RFC 4006) with the AVPs the decoder names.
func CCR(session, originHost string, hopByHop, endToEnd uint32, requestType uint32) []byte {
	var avps []byte
	avps = appendAVP(avps, avpSessionID, []byte(session))
	avps = appendAVP(avps, avpOriginHost, []byte(originHost))
	avps = appendAVP(avps, avpOriginRealm, []byte("test.example"))
	avps = appendAVP(avps, avpDestinationRealm, []byte("ocs.example"))
	avps = appendAVP(avps, avpAuthAppID, u32(AppCreditControl))
	avps = appendAVP(avps, avpCCRequestType, u32(requestType))
	avps = appendAVP(avps, avpCCRequestNumber, u32(0))
	return diameterMessage(true, hopByHop, endToEnd, avps)
}

// CCA builds the Credit-Control-Answer to a CCR with a Result-Code.
func CCA(session, originHost string, hopByHop, endToEnd uint32, requestType, resultCode uint32) []byte {
	var avps []byte
	avps = appendAVP(avps, avpSessionID, []byte(session))
	avps = appendAVP(avps, avpResultCode, u32(resultCode))
	avps = appendAVP(avps, avpOriginHost, []byte(originHost))
	avps = appendAVP(avps, avpOriginRealm, []byte("ocs.example"))
	avps = appendAVP(avps, avpAuthAppID, u32(AppCreditControl))
	avps = appendAVP(avps, avpCCRequestType, u32(requestType))
	avps = appendAVP(avps, avpCCRequestNumber, u32(0))
	return diameterMessage(false, hopByHop, endToEnd, avps)
}

func diameterMessage(request bool, hopByHop, endToEnd uint32, avps []byte) []byte {
	l := 20 + len(avps)
	b := []byte{1, byte(l >> 16), byte(l >> 8), byte(l)}
	flags := byte(0x40) // proxiable
	if request {
		flags |= 0x80
	}
	b = append(b, flags, 0, CmdCreditControl>>8, CmdCreditControl&0xff)
	b = binary.BigEndian.AppendUint32(b, AppCreditControl)
	b = binary.BigEndian.AppendUint32(b, hopByHop)
	b = binary.BigEndian.AppendUint32(b, endToEnd)
	return append(b, avps...)
}

// DNSQuery builds a query for name (dotted, without the final dot).
func DNSQuery(id uint16, name string, qtype uint16) ([]byte, error) {
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	m.Id = id
	return m.Pack()
}

// DNSResponse builds the response to DNSQuery(id, name, qtype) with rcode; a NOERROR response to an
// A query carries one address.
func DNSResponse(id uint16, name string, qtype uint16, rcode int) ([]byte, error) {
	q := new(mdns.Msg)
	q.SetQuestion(mdns.Fqdn(name), qtype)
	q.Id = id
	r := new(mdns.Msg)
	r.SetRcode(q, rcode)
	if rcode == mdns.RcodeSuccess && qtype == mdns.TypeA {
		r.Answer = append(r.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: mdns.Fqdn(name), Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60},
			A: net.IPv4(10, 40, 0, byte(id))})
	}
	return r.Pack()
}

// CoreFaults are the faults AddCore injects, by pair index.
type CoreFaults struct {
	ResultCode map[int]uint32        // the Diameter answer carries this Result-Code instead of 2001
	NoAnswer   map[int]bool          // the Diameter answer is never sent
	Slow       map[int]time.Duration // the Diameter answer comes this much later
	Rcode      map[int]int           // the DNS response has this rcode instead of NOERROR
}

// Core addresses: a P-CSCF and an online charging system, a resolver.
var (
	PCSCF    = netip.MustParseAddrPort("10.50.0.1:40001")
	OCS      = netip.MustParseAddrPort("10.50.0.2:3868")
	Resolver = netip.MustParseAddrPort("10.50.0.53:53")
	Stub     = netip.MustParseAddrPort("10.50.0.1:41000")
)

// DNSName is the name of DNS lookup i: 3gppnetwork.org names for even i, others for odd i.
func DNSName(i int) string {
	if i%2 == 0 {
		return fmt.Sprintf("pcscf%d.ims.mnc001.mcc001.3gppnetwork.org", i)
	}
	return fmt.Sprintf("host%d.example.com", i)
}

// Session is the Session-Id of Diameter pair i.
func Session(i int) string { return fmt.Sprintf("pcscf.test.example;1;%d", i) }

// AddCore adds n Diameter CCR/CCA pairs on one TCP connection and n DNS A lookups over UDP, one of
// each every 500 ms from start, and sorts the capture. Answers come after 10-40 ms (Diameter) and
// 2-8 ms (DNS). Frames are tagged "ccr-i", "cca-i", "dnsq-i", "dnsr-i".
func AddCore(c *Capture, start time.Time, n int, f CoreFaults) error {
	conn := c.TCP(PCSCF, OCS)
	for i := range n {
		t := start.Add(time.Duration(i) * 500 * time.Millisecond)
		hbh, e2e := uint32(0x1000+i), uint32(0x7000+i)
		if err := conn.Send(t, false, CCR(Session(i), "pcscf.test.example", hbh, e2e, 1), fmt.Sprintf("ccr-%d", i)); err != nil {
			return err
		}
		if !f.NoAnswer[i] {
			rc := uint32(2001)
			if v, ok := f.ResultCode[i]; ok {
				rc = v
			}
			at := t.Add(time.Duration(10+i%4*10)*time.Millisecond + f.Slow[i])
			if err := conn.Send(at, true, CCA(Session(i), "ocs.example", hbh, e2e, 1, rc), fmt.Sprintf("cca-%d", i)); err != nil {
				return err
			}
		}
		qt := t.Add(100 * time.Millisecond)
		id := uint16(0x100 + i)
		q, err := DNSQuery(id, DNSName(i), mdns.TypeA)
		if err != nil {
			return err
		}
		if err := c.UDP(qt, Stub, Resolver, q, fmt.Sprintf("dnsq-%d", i)); err != nil {
			return err
		}
		r, err := DNSResponse(id, DNSName(i), mdns.TypeA, f.Rcode[i])
		if err != nil {
			return err
		}
		if err := c.UDP(qt.Add(time.Duration(2+i%4*2)*time.Millisecond), Resolver, Stub, r, fmt.Sprintf("dnsr-%d", i)); err != nil {
			return err
		}
	}
	c.Sort()
	return nil
}
