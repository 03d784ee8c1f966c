package synth

import (
	"encoding/binary"
	"io"
)

// capWriter writes frames (Ethernet / IPv4 / UDP) to a pcap or pcapng stream. Frames are
// built in place in its output buffer: payload leaves room for the record and protocol
// headers, the caller appends the UDP payload, and packet fills the headers in. Nothing is
// copied on the way to the writer.
type capWriter struct {
	w     io.Writer
	ng    bool
	pre   int    // bytes before the UDP payload
	out   []byte // pending output
	start int    // where the frame being built starts in out
	ipID  uint16
	n     int64 // bytes written or pending
	err   error
}

const (
	ethLen   = 14
	ipLen    = 20
	udpLen   = 8
	pcapRec  = 16 // pcap record header
	ngEPB    = 28 // pcapng Enhanced Packet Block before the data
	maxFrame = 9000
	outSize  = 1 << 20
)

func newCapWriter(w io.Writer, f Format) *capWriter {
	cw := &capWriter{w: w, ng: f == PCAPNG, out: make([]byte, 0, outSize)}
	cw.pre = pcapRec + ethLen + ipLen + udpLen
	if cw.ng {
		cw.pre = ngEPB + ethLen + ipLen + udpLen
	}
	return cw
}

// header writes the file header.
func (cw *capWriter) header() {
	var h []byte
	if cw.ng {
		h = make([]byte, 0, 48)
		// Section Header Block: byte-order magic, version 1.0, section length unknown.
		h = binary.LittleEndian.AppendUint32(h, 0x0A0D0D0A)
		h = binary.LittleEndian.AppendUint32(h, 28)
		h = binary.LittleEndian.AppendUint32(h, 0x1A2B3C4D)
		h = binary.LittleEndian.AppendUint16(h, 1)
		h = binary.LittleEndian.AppendUint16(h, 0)
		h = binary.LittleEndian.AppendUint64(h, ^uint64(0))
		h = binary.LittleEndian.AppendUint32(h, 28)
		// Interface Description Block: Ethernet; no if_tsresol option means microseconds.
		h = binary.LittleEndian.AppendUint32(h, 1)
		h = binary.LittleEndian.AppendUint32(h, 20)
		h = binary.LittleEndian.AppendUint16(h, 1)
		h = binary.LittleEndian.AppendUint16(h, 0)
		h = binary.LittleEndian.AppendUint32(h, 65535)
		h = binary.LittleEndian.AppendUint32(h, 20)
	} else {
		h = make([]byte, 0, 24)
		h = binary.LittleEndian.AppendUint32(h, 0xa1b2c3d4)
		h = binary.LittleEndian.AppendUint16(h, 2)
		h = binary.LittleEndian.AppendUint16(h, 4)
		h = binary.LittleEndian.AppendUint32(h, 0) // thiszone
		h = binary.LittleEndian.AppendUint32(h, 0) // sigfigs
		h = binary.LittleEndian.AppendUint32(h, 65535)
		h = binary.LittleEndian.AppendUint32(h, 1) // LINKTYPE_ETHERNET
	}
	cw.out = append(cw.out, h...)
	cw.n += int64(len(h))
}

// frameSize returns the bytes a frame with a UDP payload of n bytes takes in the file.
func (cw *capWriter) frameSize(n int) int {
	if cw.ng {
		return ngEPB + (ethLen+ipLen+udpLen+n+3)&^3 + 4
	}
	return cw.pre + n
}

// payload returns the output buffer extended by room for the headers; the caller appends
// the UDP payload (at most maxFrame bytes) and passes the result to packet.
func (cw *capWriter) payload() []byte {
	if cap(cw.out)-len(cw.out) < maxFrame+cw.pre+8 {
		cw.flush()
	}
	cw.start = len(cw.out)
	return cw.out[:cw.start+cw.pre]
}

func mac(b []byte, ip [4]byte) {
	b[0], b[1] = 0x02, 0x00 // locally administered
	copy(b[2:6], ip[:])
}

// packet completes the frame at the end of b (from payload, with the UDP payload appended).
// It returns the frame's size in the file and the first write error met so far.
func (cw *capWriter) packet(b []byte, us int64, src, dst [4]byte, sport, dport uint16, tos byte) (int, error) {
	n := len(b) - cw.start - cw.pre
	wire := ethLen + ipLen + udpLen + n
	h := b[cw.start : cw.start+cw.pre]
	sec, usec := uint64(us/1e6), uint64(us%1e6)
	var p []byte // the Ethernet frame's place in h
	if cw.ng {
		total := cw.frameSize(n)
		binary.LittleEndian.PutUint32(h[0:], 6)
		binary.LittleEndian.PutUint32(h[4:], uint32(total))
		binary.LittleEndian.PutUint32(h[8:], 0)
		binary.LittleEndian.PutUint32(h[12:], uint32(uint64(us)>>32))
		binary.LittleEndian.PutUint32(h[16:], uint32(us))
		binary.LittleEndian.PutUint32(h[20:], uint32(wire))
		binary.LittleEndian.PutUint32(h[24:], uint32(wire))
		p = h[ngEPB:]
		for pad := (4 - wire&3) & 3; pad > 0; pad-- {
			b = append(b, 0)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(total))
	} else {
		binary.LittleEndian.PutUint32(h[0:], uint32(sec))
		binary.LittleEndian.PutUint32(h[4:], uint32(usec))
		binary.LittleEndian.PutUint32(h[8:], uint32(wire))
		binary.LittleEndian.PutUint32(h[12:], uint32(wire))
		p = h[pcapRec:]
	}
	mac(p[0:6], dst)
	mac(p[6:12], src)
	p[12], p[13] = 0x08, 0x00
	ip := p[ethLen : ethLen+ipLen]
	ip[0], ip[1] = 0x45, tos
	binary.BigEndian.PutUint16(ip[2:], uint16(ipLen+udpLen+n))
	cw.ipID++
	binary.BigEndian.PutUint16(ip[4:], cw.ipID)
	ip[6], ip[7] = 0x40, 0 // don't fragment
	ip[8], ip[9] = 64, 17
	ip[10], ip[11] = 0, 0
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
	udp := p[ethLen+ipLen : ethLen+ipLen+udpLen]
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen+n))
	udp[6], udp[7] = 0, 0 // no checksum, which IPv4 allows
	size := len(b) - cw.start
	cw.out = b
	cw.n += int64(size)
	return size, cw.err
}

// ipChecksum is the one's-complement sum over the IPv4 header (checksum field zero).
func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// flush writes the pending output; after an error it keeps the error and drops output.
func (cw *capWriter) flush() error {
	if cw.err == nil && len(cw.out) > 0 {
		_, cw.err = cw.w.Write(cw.out)
	}
	cw.out = cw.out[:0]
	return cw.err
}
