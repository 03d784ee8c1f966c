package decode

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"strconv"
	"time"

	"github.com/sigtrace/sigtrace/decode/diameter"
	"github.com/sigtrace/sigtrace/decode/dns"
	"github.com/sigtrace/sigtrace/decode/hep"
	"github.com/sigtrace/sigtrace/decode/sip"
	"github.com/sigtrace/sigtrace/decode/stream"
)

// Message is one decoded SIP, Diameter or DNS message. The Decoder reuses it: it and everything it
// points to are valid only during the Handler call. Copy what you keep.
type Message struct {
	Envelope
	Protocol Protocol
	// Payload is the message's bytes on the wire.
	Payload []byte
	// SIP is set for ProtoSIP.
	SIP *sip.Message
	// Diameter is set for ProtoDiameter; it is not reused and may be kept.
	Diameter *diameter.Message
	// DNS is set for ProtoDNS; it is not reused and may be kept.
	DNS *dns.Message
	// Err, when set, is a decoding problem with this message that did not prevent reporting it.
	Err error
	// Duplicate marks an identical copy of an earlier message on the same hop within the dedup window
	// (the same packet captured twice), not a retransmission by the sender.
	Duplicate bool
}

// Handler receives each decoded message.
type Handler func(m *Message)

// Options tune a Decoder.
type Options struct {
	// DedupWindow is how close in time two identical messages on the same hop must be for the second
	// to be marked Duplicate. SIP retransmits after at least T1 (500 ms), so the default of 100 ms
	// marks capture artefacts without hiding real retransmissions. Negative disables.
	DedupWindow time.Duration

	// UncheckedSIP parses SIP without its grammar checks (sip.ParseUnchecked): Message.Err then
	// reports only what reading comes across (framing, unreadable CSeq or Content-Length). For
	// analyses that never show grammar problems, such as call correlation, to which it saves about
	// 40 % of the SIP parsing cost.
	UncheckedSIP bool

	// OtherUDP, when set, is handed each UDP payload that is none of the protocols decoded here
	// (RTP, for one), with the envelope it would have had, whatever the link layers and tunnels
	// around it. Both are valid only during the call. Such payloads are still counted as skipped.
	OtherUDP func(m *Message, payload []byte)

	// NoteSIPHeaders, with UncheckedSIP, has the parser note where the lines of these headers
	// start, so that Message.SIP.EachHeaderIn with the same set visits just them (sip.NoteHeaders).
	NoteSIPHeaders *sip.HeaderNames
}

// DefaultDedupWindow is used when Options.DedupWindow is zero.
const DefaultDedupWindow = 100 * time.Millisecond

// Decoder turns frames into messages. It is not safe for concurrent use.
type Decoder struct {
	handle Handler
	opts   Options
	Stats  Stats

	// per-frame state
	input string
	frame int
	now   time.Time

	defrag  *defragmenter
	tcpAsm  *stream.TCP
	sctpAsm *stream.SCTP
	// lastGC is when state was last pruned, in Unix seconds and nanoseconds: comparing integers
	// costs less than time.Time.Sub on every frame.
	lastGCSec int64
	lastGCNs  int
	pruned    bool
	msg       Message
	sipMsg    sip.Message
	hepPkt    hep.Packet
	hepInfo   HEPInfo
	frames    []int

	dedupSeed maphash.Seed
	dedup     map[uint64]int64 // payload+hop hash -> capture time (Unix ns) of its last sighting
}

// NewDecoder returns a Decoder that calls handle for every message.
func NewDecoder(handle Handler, opts Options) *Decoder {
	if opts.DedupWindow == 0 {
		opts.DedupWindow = DefaultDedupWindow
	}
	d := &Decoder{handle: handle, opts: opts, defrag: newDefragmenter(), dedupSeed: maphash.MakeSeed(), dedup: make(map[uint64]int64)}
	d.tcpAsm = stream.NewTCP(d.consumeTCP)
	d.sctpAsm = stream.NewSCTP(d.sctpMessage)
	d.msg.SIP = &d.sipMsg
	d.sipMsg.NoteHeaders(opts.NoteSIPHeaders)
	return d
}

// Frame decodes one frame.
func (d *Decoder) Frame(f *Frame) {
	d.Stats.Frames++
	d.Stats.Bytes += int64(len(f.Data))
	d.input = f.Input
	d.frame = f.Number
	d.now = f.Time
	// More than a second since the last pruning (the first frame prunes too).
	if sec, ns := d.now.Unix(), d.now.Nanosecond(); sec-d.lastGCSec > 1 || sec-d.lastGCSec == 1 && ns > d.lastGCNs || !d.pruned {
		d.lastGCSec, d.lastGCNs, d.pruned = sec, ns, true
		d.defrag.expire(d.now)
		d.pruneDedup()
	}
	d.link(f.LinkType, f.Data)
}

// Finish flushes transport state at the end of all inputs and completes the statistics.
func (d *Decoder) Finish() {
	d.tcpAsm.Flush()
	st := d.tcpAsm.Stats
	d.Stats.TCP.Retransmitted = st.Retransmitted
	d.Stats.TCP.OutOfOrder = st.OutOfOrder
	d.Stats.TCP.Gaps = st.Gaps
	d.Stats.TCP.Overflows = st.Overflows
	d.Stats.TCP.Leftover = st.Leftover
	d.Stats.SCTPRetransmitted = d.sctpAsm.Retransmitted
	d.Stats.Fragments.Expired = d.defrag.expired + len(d.defrag.pending)
	d.Stats.Fragments.Overflow = d.defrag.overflow
}

func (d *Decoder) skip(r Reason) { d.skipErr(r, nil) }

func (d *Decoder) skipErr(r Reason, err error) {
	d.Stats.Skipped[r]++
	if len(d.Stats.first[r]) < firstFramesKept {
		d.Stats.first[r] = append(d.Stats.first[r], FrameRef{Input: d.input, Frame: d.frame})
	}
	if err != nil && d.Stats.example[r] == "" {
		d.Stats.example[r] = d.input + ": frame " + strconv.Itoa(d.frame) + ": " + err.Error()
	}
}

// envelope fills the reused message's envelope for a message completed in the current frame.
func (d *Decoder) envelope(src, dst netip.AddrPort, t Transport, frames []int) *Message {
	m := &d.msg
	m.Envelope = Envelope{Time: d.now, Src: src, Dst: dst, Transport: t, Frame: d.frame, Input: d.input}
	if len(frames) > 1 {
		m.Frames = frames
	}
	m.Protocol = ProtoUnknown
	m.Payload = nil
	m.Diameter = nil
	m.DNS = nil
	m.Err = nil
	m.Duplicate = false
	return m
}

// datagram handles a UDP payload.
func (d *Decoder) datagram(src, dst netip.AddrPort, t Transport, payload []byte) {
	if len(payload) == 0 {
		d.skip(reasonNoPayload)
		return
	}
	var frames []int
	if len(d.defrag.lastFrames) > 1 && d.defrag.lastFrames[len(d.defrag.lastFrames)-1] == d.frame {
		frames = d.defrag.lastFrames
	}
	m := d.envelope(src, dst, t, frames)
	d.payload(m, payload)
}

// payload recognises and decodes one application payload (a datagram, or a framed stream message).
func (d *Decoder) payload(m *Message, payload []byte) {
	if d.trySIP(m, payload) {
		return
	}
	switch {
	case hep.Looks(payload):
		d.hep(m, payload)
	case isDNSPort(m.Src.Port()) || isDNSPort(m.Dst.Port()):
		d.dns(m, payload)
	case m.Transport == UDP && sip.IsKeepAlive(payload):
		d.skip(reasonNoPayload)
	default:
		if m.Transport == UDP && d.opts.OtherUDP != nil {
			d.opts.OtherUDP(m, payload)
		}
		d.skip(reasonOtherPayload)
	}
}

func isDNSPort(p uint16) bool { return p == 53 || p == 5353 }

// trySIP decodes payload as SIP when it looks like SIP (the sniff and the parse share the reading
// of the start line), and reports whether it did. A message that looks like SIP but cannot be
// read is counted malformed.
func (d *Decoder) trySIP(m *Message, payload []byte) bool {
	ok, err := sip.ParseIfSIP(payload, &d.sipMsg, d.opts.UncheckedSIP)
	switch {
	case !ok:
		return false
	case err != nil:
		d.skipErr(reasonMalformedSIP, err)
	default:
		m.Protocol = ProtoSIP
		m.Payload = d.sipMsg.Raw
		m.Err = d.sipMsg.Invalid
		d.emit(m)
	}
	return true
}

// hep decapsulates a HEP packet and analyses what it carries as if seen on the wire, with HEP's
// time and addresses.
func (d *Decoder) hep(m *Message, payload []byte) {
	p := &d.hepPkt
	if err := hep.Decode(payload, p); err != nil {
		d.skipErr(reasonMalformedHEP, err)
		return
	}
	if p.Src.IsValid() {
		m.Src, m.Dst = p.Src, p.Dst
	}
	if !p.Time.IsZero() {
		m.Time = p.Time
	}
	switch p.IPProto {
	case 6:
		m.Transport = TCP
	case 132:
		m.Transport = SCTP
	default:
		m.Transport = UDP
	}
	info := &d.hepInfo
	info.Version = p.Version
	info.CaptureID = p.CaptureID
	if string(p.NodeName) != info.Node {
		info.Node = string(p.NodeName)
	}
	if string(p.CorrelationID) != info.CorrelationID {
		info.CorrelationID = string(p.CorrelationID)
	}
	m.HEP = info
	inner := p.Payload
	if d.trySIP(m, inner) {
		return
	}
	switch {
	case isDNSPort(m.Src.Port()) || isDNSPort(m.Dst.Port()):
		d.dns(m, inner)
	case diameterLooks(inner):
		// HEP type 56 is JSON in HOMER's convention, but senders (sigtrace among them) also carry the
		// raw message; JSON does not start with a Diameter header, so the test cannot mistake it.
		d.diameter(m, inner)
	default:
		d.skip(reasonHEPPayload)
	}
}

// emit hands a message to the handler after duplicate detection.
func (d *Decoder) emit(m *Message) {
	if d.opts.DedupWindow > 0 {
		d.markDuplicate(m)
	}
	d.Stats.Messages[m.Protocol]++
	d.handle(m)
}

// markDuplicate sets m.Duplicate when an identical message crossed the same hop within the window.
// The key is a hash of the payload mixed with the hop; the table holds only the last window's
// messages (pruned once a second of capture time), so it stays small and allocation-free.
func (d *Decoder) markDuplicate(m *Message) {
	key := maphash.Bytes(d.dedupSeed, m.Payload) ^ hopHash(m.Src, m.Dst)
	now := m.Time.UnixNano()
	if prev, ok := d.dedup[key]; ok && now >= prev && now-prev <= int64(d.opts.DedupWindow) {
		m.Duplicate = true
		d.Stats.Duplicates++
	}
	d.dedup[key] = now
}

// hopHash mixes a source and destination into 64 bits (splitmix64 finaliser on each half).
func hopHash(src, dst netip.AddrPort) uint64 {
	a, b := src.Addr().As16(), dst.Addr().As16()
	x := binary.LittleEndian.Uint64(a[:8]) ^ binary.LittleEndian.Uint64(a[8:])*0x9e3779b97f4a7c15
	y := binary.LittleEndian.Uint64(b[:8]) ^ binary.LittleEndian.Uint64(b[8:])*0xbf58476d1ce4e5b9
	z := x ^ (y << 1) ^ uint64(src.Port())<<48 ^ uint64(dst.Port())<<32
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (d *Decoder) pruneDedup() {
	limit := d.now.UnixNano() - int64(d.opts.DedupWindow)
	for k, t := range d.dedup {
		if t < limit {
			delete(d.dedup, k)
		}
	}
}

// Stream protocols recognised on a TCP flow (stream.Flow.Proto).
const (
	streamUnknown uint8 = iota
	streamSIP
	streamHEP
	streamDNS
	streamDiameter
	streamWSHandshake
	streamWS
	streamIgnored
)

func (d *Decoder) tcp(src, dst netip.Addr, data []byte) {
	if len(data) < 20 {
		d.skip(reasonTruncatedTransport)
		return
	}
	off := int(data[12]>>4) * 4
	if off < 20 || off > len(data) {
		d.skip(reasonTruncatedTransport)
		return
	}
	flags := data[13]
	k := stream.Key{
		Src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(data)),
		Dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(data[2:])),
	}
	payload := data[off:]
	before := d.Stats.TotalMessages()
	d.tcpAsm.Segment(k, binary.BigEndian.Uint32(data[4:]), flags&0x02 != 0, flags&0x01 != 0, flags&0x04 != 0, payload, d.frame, d.now)
	if len(payload) == 0 && d.Stats.TotalMessages() == before {
		d.skip(reasonNoPayload)
	}
}

// consumeTCP frames the reassembled bytes of one TCP direction.
func (d *Decoder) consumeTCP(f *stream.Flow, data []byte) int {
	if f.Proto == streamUnknown || f.Gap {
		n, proto := d.sniffStream(f, data)
		if proto == streamUnknown {
			return n
		}
		f.Proto = proto
		f.Gap = false
		if n > 0 {
			return n
		}
	}
	var n int
	var err error
	switch f.Proto {
	case streamIgnored:
		return len(data)
	case streamSIP:
		if sip.IsKeepAlive(data) {
			return keepAliveLength(data)
		}
		n, err = sip.MessageLength(data)
	case streamHEP:
		n, err = hep.PacketLength(data)
	case streamDNS:
		n, err = dnsTCPLength(data)
	case streamDiameter:
		n, err = diameterLength(data)
	case streamWSHandshake:
		end := bytes.Index(data, []byte("\r\n\r\n"))
		if end < 0 {
			return 0
		}
		f.Proto = streamWS
		return end + 4
	case streamWS:
		return d.websocket(f, data)
	}
	if err != nil {
		d.skipErr(reasonStreamResync, err)
		f.Gap = true
		return 1 // drop a byte and look for the next message start
	}
	if n == 0 {
		return 0
	}
	d.streamMessage(f, data[:n], n, TCP)
	return n
}

// streamMessage decodes one framed message from a stream, n bytes at the start of the offered data.
func (d *Decoder) streamMessage(f *stream.Flow, msg []byte, n int, t Transport) {
	d.frames = f.Frames(n, d.frames[:0])
	m := d.envelope(f.Key.Src, f.Key.Dst, t, d.frames)
	switch f.Proto {
	case streamDiameter:
		d.diameter(m, msg)
	case streamDNS:
		if len(msg) > 2 {
			d.dns(m, msg[2:])
		}
	default:
		d.payload(m, msg)
	}
}

// sniffStream decides what a TCP direction carries. It returns the bytes to skip (while looking for
// a message start after a gap) and the protocol, or (0, streamUnknown) to wait for more bytes.
func (d *Decoder) sniffStream(f *stream.Flow, data []byte) (int, uint8) {
	switch {
	case sip.LooksLikeSIP(data) || (f.Proto == streamSIP && sip.IsKeepAlive(data)):
		return 0, streamSIP
	case hep.Looks(data):
		return 0, streamHEP
	case isDNSPort(f.Key.Src.Port()) || isDNSPort(f.Key.Dst.Port()):
		return 0, streamDNS
	case diameterLooks(data):
		return 0, streamDiameter
	case bytes.HasPrefix(data, []byte("GET ")) && bytes.Contains(data, []byte("pgrade: websocket")),
		bytes.HasPrefix(data, []byte("HTTP/1.1 101")):
		return 0, streamWSHandshake
	}
	if !f.Gap && f.Proto == streamUnknown {
		if len(data) < 16 {
			return 0, streamUnknown // too little to tell
		}
		f.Proto = streamIgnored
		f.Ignore = true
		return len(data), streamIgnored
	}
	// After a gap: look for the start of a SIP message at a line start.
	for i := 1; i < len(data); i++ {
		if data[i-1] == '\n' && sip.LooksLikeSIP(data[i:]) {
			d.skip(reasonStreamResync)
			return i, streamSIP
		}
	}
	if f.Proto == streamIgnored {
		return len(data), streamIgnored
	}
	if len(data) > 256 {
		return len(data) - 256, streamUnknown
	}
	return 0, streamUnknown
}

// keepAliveLength returns the length of a run of CRLF keep-alives at the start of data.
func keepAliveLength(data []byte) int {
	n := 0
	for n < len(data) && (data[n] == '\r' || data[n] == '\n') {
		n++
	}
	return n
}

// websocket unmasks and frames SIP over WebSocket (RFC 7118): one SIP message per data frame.
func (d *Decoder) websocket(f *stream.Flow, data []byte) int {
	if len(data) < 2 {
		return 0
	}
	opcode := data[0] & 0x0f
	masked := data[1]&0x80 != 0
	plen := int(data[1] & 0x7f)
	hdr := 2
	switch plen {
	case 126:
		if len(data) < 4 {
			return 0
		}
		plen = int(binary.BigEndian.Uint16(data[2:]))
		hdr = 4
	case 127:
		if len(data) < 10 {
			return 0
		}
		l := binary.BigEndian.Uint64(data[2:])
		if l > stream.MaxBuffered {
			d.skip(reasonStreamResync)
			f.Proto = streamIgnored
			return len(data)
		}
		plen = int(l)
		hdr = 10
	}
	var key []byte
	if masked {
		if len(data) < hdr+4 {
			return 0
		}
		key = data[hdr : hdr+4]
		hdr += 4
	}
	total := hdr + plen
	if len(data) < total {
		return 0
	}
	payload := data[hdr:total]
	if masked {
		// The stream buffer is ours (or the frame's, which is not reused before we return), so
		// unmask in place.
		for i := range payload {
			payload[i] ^= key[i&3]
		}
	}
	if opcode == 1 || opcode == 2 {
		d.streamMessage(f, payload, total, WS)
	}
	return total
}

func (d *Decoder) sctp(src, dst netip.Addr, data []byte) {
	before := d.Stats.TotalMessages()
	if err := d.sctpAsm.Packet(src, dst, data, d.frame, d.now); err != nil {
		d.skipErr(reasonMalformedSCTP, err)
		return
	}
	if d.Stats.TotalMessages() == before {
		d.skip(reasonNoPayload)
	}
}

func (d *Decoder) sctpMessage(sm *stream.SCTPMessage) {
	m := d.envelope(sm.Key.Src, sm.Key.Dst, SCTP, sm.Frames)
	if sm.PPID == stream.PPIDDiameter || (sm.PPID == 0 && diameterLooks(sm.Data)) {
		d.diameter(m, sm.Data)
		return
	}
	d.payload(m, sm.Data)
}
