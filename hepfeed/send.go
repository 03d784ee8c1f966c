package hepfeed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/hep"
)

// SendOptions tune a Sender.
type SendOptions struct {
	// AuthKey, when set, goes into every packet (chunk 0x0e).
	AuthKey string
	// CaptureID and NodeName label every packet. When zero or empty, a message that was itself
	// captured inside HEP keeps the capture id or node it arrived with.
	CaptureID uint32
	NodeName  string
	// Rate caps sending at this many packets per second; 0 sends as fast as the socket takes them.
	Rate float64
	// Protocols selects the messages to send; nil sends SIP, DNS and Diameter.
	Protocols []decode.Protocol
	// Timeout bounds connecting and each write on TCP; 0 means 10 s.
	Timeout time.Duration
}

// SendStats counts what a Sender did.
type SendStats struct {
	// Sent counts packets handed to the network, by the protocol of the message they carry. Over UDP
	// that is the kernel accepting the datagram; over TCP, the bytes being written to the connection.
	Sent  [decode.ProtoDNS + 1]int
	Bytes int64 // HEP bytes sent
	// Failed counts messages that were not sent: too large for HEP, a time HEP cannot carry, or
	// refused by the network.
	Failed int
	// Skipped counts messages of protocols not selected.
	Skipped int
	// FirstError is the first failure, for the report.
	FirstError error
}

// TotalSent is the number of packets sent, all protocols together.
func (s *SendStats) TotalSent() int {
	n := 0
	for _, c := range s.Sent {
		n += c
	}
	return n
}

// ErrConnection wraps the failure that makes a TCP Sender unusable; Send returns it and sends
// nothing more.
var ErrConnection = errors.New("hepfeed: connection failed")

// udpBatch is how many datagrams a UDP Sender gathers before sending them in one system call.
const udpBatch = 64

// tcpBatch is how many bytes of HEP a TCP Sender gathers before writing, so that a fast replay does
// not cost one system call per message.
const tcpBatch = 64 << 10

// Sender encodes decoded messages as HEPv3 and sends them to one collector: over UDP one packet per
// datagram, over TCP a stream of packets. It is not safe for concurrent use.
type Sender struct {
	opts    SendOptions
	target  Target
	conn    net.Conn
	tcp     bool
	Stats   SendStats
	protos  [decode.ProtoDNS + 1]uint8 // HEP protocol type per decode.Protocol; 0 = do not send
	authKey []byte
	node    []byte

	pkt       hep.Packet
	out       []byte                   // encoded packets not yet sent
	pending   [decode.ProtoDNS + 1]int // TCP: packets in out, by protocol
	batch     []datagram               // UDP: packets in out
	msgs      []ipv4.Message
	udp       batchWriter
	lastNode  string // node name of the last HEP-borne message, and its bytes
	lastNodeB []byte

	start  time.Time // pacing
	paced  int
	timer  *time.Timer
	broken error
}

// datagram is one encoded packet in a UDP Sender's buffer.
type datagram struct {
	start, end int
	proto      decode.Protocol
}

// batchWriter sends several datagrams at once; ipv4.PacketConn and ipv6.PacketConn are ones.
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// Dial connects to a collector at t.
func Dial(ctx context.Context, t Target, opts SendOptions) (*Sender, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Rate < 0 {
		return nil, fmt.Errorf("hepfeed: rate %g: must not be negative", opts.Rate)
	}
	d := net.Dialer{Timeout: opts.Timeout}
	conn, err := d.DialContext(ctx, t.Network, t.Addr)
	if err != nil {
		return nil, fmt.Errorf("hepfeed: %s: %w", t, err)
	}
	s := &Sender{opts: opts, target: t, conn: conn, tcp: t.Network == "tcp", authKey: []byte(opts.AuthKey), node: []byte(opts.NodeName)}
	protos := opts.Protocols
	if protos == nil {
		protos = []decode.Protocol{decode.ProtoSIP, decode.ProtoDNS, decode.ProtoDiameter}
	}
	for _, p := range protos {
		if int(p) < len(s.protos) {
			s.protos[p] = protoType(p)
		}
	}
	if s.tcp {
		s.out = make([]byte, 0, tcpBatch+hep.MaxInflated/16)
	} else {
		s.out = make([]byte, 0, udpBatch*1500)
		s.batch = make([]datagram, 0, udpBatch)
		s.msgs = make([]ipv4.Message, udpBatch)
		for i := range s.msgs {
			s.msgs[i].Buffers = make([][]byte, 1)
		}
		if a, ok := conn.RemoteAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
			s.udp = ipv6.NewPacketConn(conn.(net.PacketConn))
		} else {
			s.udp = ipv4.NewPacketConn(conn.(net.PacketConn))
		}
	}
	return s, nil
}

// protoType maps a decoded protocol to HEP's protocol type. HOMER expects JSON under DNS (53) and
// Diameter (56); sigtrace sends the raw wire message under those types, as a capture would hold it,
// so that a receiving sigtrace (or Wireshark) decodes it fully.
func protoType(p decode.Protocol) uint8 {
	switch p {
	case decode.ProtoSIP:
		return hep.ProtoSIP
	case decode.ProtoDNS:
		return hep.ProtoDNS
	case decode.ProtoDiameter:
		return hep.ProtoDiameter
	}
	return 0
}

// Target is where the Sender sends.
func (s *Sender) Target() Target { return s.target }

// Send encodes m and sends it, after waiting as the rate asks. A message that cannot be sent is
// counted in Stats; the error returned is ctx's, or ErrConnection once a TCP connection has failed,
// after which nothing more is sent.
func (s *Sender) Send(ctx context.Context, m *decode.Message) error {
	if s.broken != nil {
		return s.broken
	}
	if int(m.Protocol) >= len(s.protos) || s.protos[m.Protocol] == 0 {
		s.Stats.Skipped++
		return nil
	}
	if err := s.pace(ctx); err != nil {
		return err
	}
	p := &s.pkt
	*p = hep.Packet{
		IPProto:   ipProto(m.Transport),
		Src:       m.Src,
		Dst:       m.Dst,
		Time:      m.Time,
		ProtoType: s.protos[m.Protocol],
		CaptureID: s.opts.CaptureID,
		AuthKey:   s.authKey,
		NodeName:  s.node,
		Payload:   m.Payload,
	}
	if h := m.HEP; h != nil {
		if p.CaptureID == 0 {
			p.CaptureID = h.CaptureID
		}
		if len(p.NodeName) == 0 && h.Node != "" {
			if h.Node != s.lastNode {
				s.lastNode, s.lastNodeB = h.Node, []byte(h.Node)
			}
			p.NodeName = s.lastNodeB
		}
	}
	if s.tcp {
		return s.sendTCP(m.Protocol, p)
	}
	start := len(s.out)
	out, err := hep.AppendEncode(s.out, p)
	if err != nil {
		s.fail(1, fmt.Errorf("hepfeed: %s message of %s: %w", m.Protocol, m.Time.UTC().Format(time.RFC3339Nano), err))
		return nil
	}
	s.out = out
	s.batch = append(s.batch, datagram{start: start, end: len(out), proto: m.Protocol})
	if len(s.batch) == udpBatch {
		s.flushUDP()
	}
	return nil
}

// flushUDP sends the gathered datagrams with as few system calls as the platform allows
// (sendmmsg on Linux). A datagram the network refuses (the collector's port closed) fails alone;
// the ones after it are still sent.
func (s *Sender) flushUDP() {
	msgs := s.msgs[:len(s.batch)]
	for i, d := range s.batch {
		msgs[i].Buffers[0] = s.out[d.start:d.end]
	}
	for i := 0; i < len(msgs); {
		n, err := s.udp.WriteBatch(msgs[i:], 0)
		n = max(n, 0) // -1 with an error
		for _, d := range s.batch[i : i+n] {
			s.Stats.Sent[d.proto]++
			s.Stats.Bytes += int64(d.end - d.start)
		}
		i += n
		if err != nil {
			s.fail(1, fmt.Errorf("hepfeed: %s: %w", s.target, err))
			i++
		} else if n == 0 {
			s.fail(len(msgs)-i, fmt.Errorf("hepfeed: %s: datagrams not sent", s.target))
			break
		}
	}
	s.batch = s.batch[:0]
	s.out = s.out[:0]
}

func (s *Sender) sendTCP(proto decode.Protocol, p *hep.Packet) error {
	out, err := hep.AppendEncode(s.out, p)
	if err != nil {
		s.fail(1, fmt.Errorf("hepfeed: %s message: %w", proto, err))
		return nil
	}
	s.out = out
	s.pending[proto]++
	if len(s.out) >= tcpBatch {
		return s.flush()
	}
	return nil
}

// flush sends what the Sender has gathered.
func (s *Sender) flush() error {
	if !s.tcp {
		if len(s.batch) > 0 {
			s.flushUDP()
		}
		return nil
	}
	if len(s.out) == 0 || s.broken != nil {
		return s.broken
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.opts.Timeout))
	_, err := s.conn.Write(s.out)
	n := 0
	for i, c := range s.pending {
		n += c
		if err == nil {
			s.Stats.Sent[i] += c
		}
		s.pending[i] = 0
	}
	if err != nil {
		// Part of the batch may have gone out, but there is no telling which packets arrived whole.
		s.broken = fmt.Errorf("%w: %s: %w", ErrConnection, s.target, err)
		s.fail(n, s.broken)
		s.out = s.out[:0]
		return s.broken
	}
	s.Stats.Bytes += int64(len(s.out))
	s.out = s.out[:0]
	return nil
}

func (s *Sender) fail(n int, err error) {
	s.Stats.Failed += n
	if s.Stats.FirstError == nil {
		s.Stats.FirstError = err
	}
}

// pace waits until the next packet is due at the configured rate. It sleeps only when at least a
// millisecond ahead, so that high rates are met in small bursts rather than missed to timer slack.
func (s *Sender) pace(ctx context.Context) error {
	if s.opts.Rate == 0 {
		return ctx.Err()
	}
	if s.paced == 0 {
		s.start = time.Now()
	}
	due := s.start.Add(time.Duration(float64(s.paced) / s.opts.Rate * float64(time.Second)))
	s.paced++
	wait := time.Until(due)
	if wait < time.Millisecond {
		return ctx.Err()
	}
	// What is gathered goes out before sleeping, so a paced TCP feed stays live.
	if err := s.flush(); err != nil {
		return err
	}
	if s.timer == nil {
		s.timer = time.NewTimer(wait)
	} else {
		s.timer.Reset(wait)
	}
	select {
	case <-s.timer.C:
		return nil
	case <-ctx.Done():
		s.timer.Stop()
		return ctx.Err()
	}
}

// Close sends what is still gathered and closes the connection. Over TCP it then half-closes and
// waits (up to the timeout) for the collector to close its side, so that the process can exit
// without the kernel resetting a connection with data in flight.
func (s *Sender) Close() error {
	err := s.flush()
	if !s.tcp {
		if cerr := s.conn.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if err == nil {
		if tc, ok := s.conn.(*net.TCPConn); ok {
			if cerr := tc.CloseWrite(); cerr == nil {
				s.conn.SetReadDeadline(time.Now().Add(min(s.opts.Timeout, 2*time.Second)))
				io.Copy(io.Discard, s.conn) // until the collector closes, or the deadline
			}
		}
	}
	if cerr := s.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

func ipProto(t decode.Transport) uint8 {
	switch t {
	case decode.TCP, decode.TLS, decode.WS:
		return 6
	case decode.SCTP:
		return 132
	}
	return 17
}
