package hep

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"io"
	"net/netip"
	"slices"
	"time"
)

var be = binary.BigEndian

// Decode decodes one HEP packet (version 1, 2 or 3) from data into p, overwriting every field.
// Byte-slice fields point into data (see the package comment). Bytes after the length a HEPv3
// header gives are ignored; so are chunks of other vendors and chunk types the Packet has no field
// for. A HEPv2 time header is read in whichever of its layouts gives a plausible time (see
// pickTime). On error p holds whatever was decoded before the problem.
//
// Once p has decoded a compressed payload of a given size, decoding into p does not allocate.
func Decode(data []byte, p *Packet) error {
	buf, inf := p.buf, p.inf
	*p = Packet{buf: buf, inf: inf}
	if len(data) < 4 {
		return errorf(ErrTruncated, "%d bytes, shorter than any header", len(data))
	}
	switch {
	case isMagic(data):
		return decodeV3(data, p)
	case data[0] == 1 || data[0] == 2:
		return decodeV12(data, p)
	}
	return errorf(ErrNotHEP, "unknown version byte %#02x", data[0])
}

// isMagic reports whether data starts with "HEP3" or the older senders' "EEP3".
func isMagic(data []byte) bool {
	return len(data) >= 4 && (data[0] == 'H' || data[0] == 'E') &&
		data[1] == 'E' && data[2] == 'P' && data[3] == '3'
}

// Chunk types of vendor 0.
const (
	chFamily      = 0x01
	chIPProto     = 0x02
	chSrcIPv4     = 0x03
	chDstIPv4     = 0x04
	chSrcIPv6     = 0x05
	chDstIPv6     = 0x06
	chSrcPort     = 0x07
	chDstPort     = 0x08
	chTimeSec     = 0x09
	chTimeUsec    = 0x0a
	chProtoType   = 0x0b
	chCaptureID   = 0x0c
	chKeepAlive   = 0x0d
	chAuthKey     = 0x0e
	chPayload     = 0x0f
	chCompressed  = 0x10
	chCorrelation = 0x11
	chVLAN        = 0x12
	chNodeName    = 0x13
	chSrcMAC      = 0x14
	chDstMAC      = 0x15
	chEtherType   = 0x16
	chTCPFlags    = 0x17
	chTOS         = 0x18
	chMOS         = 0x20
	chRFactor     = 0x21
	chJitter      = 0x23
)

func decodeV3(data []byte, p *Packet) error {
	p.Version = 3
	if len(data) < 6 {
		return errorf(ErrTruncated, "%d bytes, shorter than the HEP3 header", len(data))
	}
	n := int(be.Uint16(data[4:]))
	if n < 6 {
		return errorf(ErrLength, "packet length %d smaller than the 6-byte header", n)
	}
	if n > len(data) {
		return errorf(ErrTruncated, "packet length %d past the %d bytes received", n, len(data))
	}
	var (
		src, dst     netip.Addr
		sport, dport uint16
		sec, usec    uint32
		haveSec      bool
		compressed   []byte
	)
	for off := 6; off < n; {
		if n-off < 6 {
			return errorf(ErrTruncated, "chunk header at offset %d past end of packet", off)
		}
		vendor, typ, l := be.Uint16(data[off:]), be.Uint16(data[off+2:]), int(be.Uint16(data[off+4:]))
		if l < 6 {
			return errorf(ErrLength, "chunk %s: length %d smaller than the 6-byte chunk header", chunkName(vendor, typ), l)
		}
		if l > n-off {
			return errorf(ErrTruncated, "chunk %s: length %d past end of packet", chunkName(vendor, typ), l)
		}
		v := data[off+6 : off+l : off+l] // capped: appending to a field must not overwrite the next chunk
		off += l
		if vendor != 0 {
			continue
		}
		ok := true
		switch typ {
		case chFamily:
			p.Family, ok = u8(v)
		case chIPProto:
			p.IPProto, ok = u8(v)
		case chSrcIPv4, chDstIPv4:
			var a [4]byte
			if ok = len(v) == 4; ok {
				copy(a[:], v)
				if typ == chSrcIPv4 {
					src = netip.AddrFrom4(a)
				} else {
					dst = netip.AddrFrom4(a)
				}
			}
		case chSrcIPv6, chDstIPv6:
			var a [16]byte
			if ok = len(v) == 16; ok {
				copy(a[:], v)
				if typ == chSrcIPv6 {
					src = netip.AddrFrom16(a)
				} else {
					dst = netip.AddrFrom16(a)
				}
			}
		case chSrcPort:
			sport, ok = u16(v)
		case chDstPort:
			dport, ok = u16(v)
		case chTimeSec:
			sec, ok = u32(v)
			haveSec = true
		case chTimeUsec:
			usec, ok = u32(v)
		case chProtoType:
			p.ProtoType, ok = u8(v)
		case chCaptureID:
			p.CaptureID, ok = u32(v)
		case chKeepAlive:
			p.KeepAlive, ok = u16(v)
		case chAuthKey:
			p.AuthKey = v
		case chPayload:
			p.Payload, compressed = v, nil
		case chCompressed:
			p.Payload, compressed = nil, v
		case chCorrelation:
			p.CorrelationID = v
		case chVLAN:
			p.VLAN, ok = u16(v)
		case chNodeName:
			p.NodeName = v
		case chSrcMAC:
			p.SrcMAC = v
		case chDstMAC:
			p.DstMAC = v
		case chEtherType:
			p.EtherType, ok = u16(v)
		case chTCPFlags:
			p.TCPFlags, ok = u8(v)
		case chTOS:
			p.TOS, ok = u8(v)
		case chMOS:
			p.MOS, ok = u16(v)
		case chRFactor:
			p.RFactor, ok = u16(v)
		case chJitter:
			p.Jitter, ok = u32(v)
		}
		if !ok {
			return errorf(ErrLength, "chunk %s: value of %d bytes, want %d", chunkName(vendor, typ), len(v), fixedSize(typ))
		}
	}
	if p.Family == 0 {
		switch {
		case src.Is4():
			p.Family = FamilyIPv4
		case src.Is6():
			p.Family = FamilyIPv6
		}
	}
	p.Src = netip.AddrPortFrom(src, sport)
	p.Dst = netip.AddrPortFrom(dst, dport)
	if haveSec {
		p.Time = time.Unix(int64(sec), int64(usec)*1000).UTC()
	}
	if compressed != nil {
		if err := p.inflate(compressed); err != nil {
			return err
		}
	}
	return nil
}

func u8(v []byte) (uint8, bool) {
	if len(v) != 1 {
		return 0, false
	}
	return v[0], true
}

func u16(v []byte) (uint16, bool) {
	if len(v) != 2 {
		return 0, false
	}
	return be.Uint16(v), true
}

func u32(v []byte) (uint32, bool) {
	if len(v) != 4 {
		return 0, false
	}
	return be.Uint32(v), true
}

// fixedSize is the value size of a fixed-size chunk type, for error messages.
func fixedSize(typ uint16) int {
	switch typ {
	case chFamily, chIPProto, chProtoType, chTCPFlags, chTOS:
		return 1
	case chSrcPort, chDstPort, chKeepAlive, chVLAN, chEtherType, chMOS, chRFactor:
		return 2
	case chSrcIPv4, chDstIPv4, chTimeSec, chTimeUsec, chCaptureID, chJitter:
		return 4
	case chSrcIPv6, chDstIPv6:
		return 16
	}
	return 0
}

func chunkName(vendor, typ uint16) string {
	if vendor != 0 {
		return fmt.Sprintf("0x%04x (vendor 0x%04x)", typ, vendor)
	}
	return fmt.Sprintf("0x%02x", typ)
}

// inflater holds decompressors reused across packets. zlib is unwrapped here around a raw flate
// reader because compress/zlib allocates a new checksum on every Reset.
type inflater struct {
	src bytes.Reader
	gz  gzip.Reader
	fl  io.ReadCloser // flate reader; nil until the first zlib payload
}

// inflate decompresses a chunk 0x10 value, gzip or zlib by its header, into p.buf.
func (p *Packet) inflate(z []byte) error {
	if p.inf == nil {
		p.inf = new(inflater)
	}
	f := p.inf
	f.src.Reset(z)
	var r io.Reader
	switch {
	case len(z) >= 2 && z[0] == 0x1f && z[1] == 0x8b:
		if err := f.gz.Reset(&f.src); err != nil {
			return errorf(ErrCompressed, "chunk 0x10: gzip: %v", err)
		}
		// One member only: a HEP payload is one message, and multistream would read on past it.
		f.gz.Multistream(false)
		r = &f.gz
	case len(z) >= 2 && z[0]&0x0f == 8 && z[0]>>4 <= 7 && (uint16(z[0])<<8|uint16(z[1]))%31 == 0:
		// zlib (RFC 1950): CM 8 (deflate), window at most 32 KiB, FCHECK makes the pair a multiple
		// of 31; then deflate data and a big-endian Adler-32 of the output.
		if z[1]&0x20 != 0 {
			return errorf(ErrCompressed, "chunk 0x10: zlib: preset dictionary required")
		}
		f.src.Reset(z[2:])
		if f.fl == nil {
			f.fl = flate.NewReader(&f.src)
		} else if err := f.fl.(flate.Resetter).Reset(&f.src, nil); err != nil {
			return errorf(ErrCompressed, "chunk 0x10: zlib: %v", err)
		}
		r = f.fl
	default:
		return errorf(ErrCompressed, "chunk 0x10: neither gzip nor zlib (starts % x)", z[:min(len(z), 2)])
	}
	b := p.buf[:0]
	for {
		if len(b) >= MaxInflated {
			p.buf = b
			return errorf(ErrCompressed, "chunk 0x10: inflates to %d bytes or more", MaxInflated)
		}
		if len(b) == cap(b) {
			b = slices.Grow(b, max(4096, 4*len(z), len(b)))
		}
		n, err := r.Read(b[len(b):min(cap(b), MaxInflated)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			p.buf = b
			return errorf(ErrCompressed, "chunk 0x10: %v", err)
		}
	}
	p.buf = b
	if r == f.fl {
		// flate reads a bytes.Reader byte by byte and stops at the end of the stream: what is
		// left is the trailer.
		var sum [4]byte
		if n, _ := f.src.Read(sum[:]); n != 4 {
			return errorf(ErrCompressed, "chunk 0x10: zlib: checksum missing")
		}
		if be.Uint32(sum[:]) != adler32.Checksum(b) {
			return errorf(ErrCompressed, "chunk 0x10: zlib: checksum mismatch")
		}
	}
	p.Payload = b
	p.Compressed = true
	return nil
}
