package decode

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// The classic pcap format is read here rather than with gopacket's pcapgo.Reader, which copies
// every frame out of its buffered reader into a frame buffer of its own: on multi-GB captures that
// copy is a measurable share of the whole run. Frames are handed out as slices of the bufio buffer
// (Peek, then Discard on the next call), valid until the next call.

// maxPcapFrame bounds a frame's captured length; larger values mean a corrupt record header.
const maxPcapFrame = 256 << 10

// pcapBufferSize must hold a record header and the largest frame.
const pcapBufferSize = 512 << 10

type pcapReader struct {
	r        *bufio.Reader
	big      bool // big-endian headers (the file's writer was); read without an interface call
	nano     bool
	linkType layers.LinkType
	pending  int   // bytes of the frame handed out last, discarded on the next call
	offset   int64 // offset of the next record header
}

func newPcapReader(r *bufio.Reader) (*pcapReader, error) {
	hdr, err := r.Peek(24)
	if err != nil {
		return nil, errors.New("pcap: file header cut short")
	}
	p := &pcapReader{r: r, offset: 24}
	switch binary.LittleEndian.Uint32(hdr) {
	case 0xa1b2c3d4: // little-endian, microseconds
	case 0xa1b23c4d:
		p.nano = true
	case 0xd4c3b2a1:
		p.big = true
	case 0x4d3cb2a1:
		p.big, p.nano = true, true
	default:
		return nil, ErrUnknownFormat
	}
	// The link type is the low 16 bits; the high bits may carry FCS information.
	p.linkType = layers.LinkType(p.u32(hdr[20:]) & 0xffff)
	r.Discard(24)
	return p, nil
}

func (p *pcapReader) u32(b []byte) uint32 {
	if p.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (p *pcapReader) next() (data []byte, ts time.Time, origLen int, err error) {
	if p.pending > 0 {
		p.r.Discard(p.pending)
		p.offset += int64(p.pending)
		p.pending = 0
	}
	hdr, err := p.r.Peek(16)
	if err != nil {
		if len(hdr) == 0 && err == io.EOF {
			return nil, time.Time{}, 0, io.EOF
		}
		return nil, time.Time{}, 0, errors.New("pcap: record header cut short")
	}
	sec := int64(p.u32(hdr))
	frac := int64(p.u32(hdr[4:]))
	caplen := int(p.u32(hdr[8:]))
	origLen = int(p.u32(hdr[12:]))
	if caplen > maxPcapFrame {
		return nil, time.Time{}, 0, fmt.Errorf("pcap: corrupt record: captured length %d", caplen)
	}
	rec, err := p.r.Peek(16 + caplen)
	if err != nil {
		return nil, time.Time{}, 0, errors.New("truncated frame (file cut short)")
	}
	p.pending = 16 + caplen
	if p.nano {
		ts = time.Unix(sec, frac).UTC()
	} else {
		ts = time.Unix(sec, frac*1000).UTC()
	}
	return rec[16:], ts, origLen, nil
}
