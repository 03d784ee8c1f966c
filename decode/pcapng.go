package decode

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// pcapng is read by sigtrace itself rather than by gopacket's NgReader: that reader trusts the
// lengths in the file (an interface's snap length or a packet's captured length of 4 GB makes it
// allocate 4 GB, and a block length under 8 wraps around), so one corrupt block, common in captures
// cut by a crash, takes the process down. This reader bounds every length by the block it sits in
// and the block by maxNgBlock, reuses one buffer, and reports damage as an error at the block.

const (
	ngBlockSection     = 0x0a0d0d0a
	ngBlockInterface   = 0x00000001
	ngBlockPacket      = 0x00000002 // obsolete Packet Block
	ngBlockSimple      = 0x00000003
	ngBlockEnhanced    = 0x00000006
	ngByteOrderMagic   = 0x1a2b3c4d
	maxNgBlock         = 16 << 20
	ngOptionEnd        = 0
	ngOptionTSResol    = 9
	ngOptionTSOffset   = 14
	defaultNgTSResolNs = 1000 // microseconds
)

var errNgCorrupt = errors.New("pcapng: corrupt block")

type ngInterface struct {
	linkType layers.LinkType
	// unitNs is the timestamp unit in nanoseconds when whole; otherwise units per second is used.
	unitNs      int64
	unitsPerSec uint64
	offset      int64 // seconds added to every timestamp
}

type ngReader struct {
	r      *bufio.Reader
	order  binary.ByteOrder
	ifaces []ngInterface
	buf    []byte
	offset int64 // bytes consumed: the start of the next block
	// blockStart is where the block read last (or being read) starts: where damage is reported.
	blockStart int64
}

func newNgReader(r *bufio.Reader) (*ngReader, error) {
	n := &ngReader{r: r, order: binary.LittleEndian}
	typ, body, err := n.block()
	if err != nil {
		return nil, err
	}
	if typ != ngBlockSection {
		return nil, fmt.Errorf("%w: first block is not a section header", errNgCorrupt)
	}
	_ = body
	return n, nil
}

// block reads the next block and returns its type and body (after the 8-byte header, without the
// trailing length), valid until the next call.
func (n *ngReader) block() (uint32, []byte, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(n.r, hdr[:8]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return 0, nil, fmt.Errorf("pcapng: block header cut short")
		}
		return 0, nil, err // io.EOF: a clean end between blocks
	}
	start := n.offset
	n.blockStart = start
	typ := n.order.Uint32(hdr[:4])
	if typ == ngBlockSection || binary.BigEndian.Uint32(hdr[:4]) == ngBlockSection {
		// A section header carries its own byte order, which may differ from the previous section's.
		if _, err := io.ReadFull(n.r, hdr[8:12]); err != nil {
			return 0, nil, fmt.Errorf("pcapng: section header cut short")
		}
		switch {
		case binary.LittleEndian.Uint32(hdr[8:]) == ngByteOrderMagic:
			n.order = binary.LittleEndian
		case binary.BigEndian.Uint32(hdr[8:]) == ngByteOrderMagic:
			n.order = binary.BigEndian
		default:
			return 0, nil, fmt.Errorf("%w: bad byte-order magic at offset %d", errNgCorrupt, start)
		}
		typ = ngBlockSection
		n.ifaces = n.ifaces[:0]
	}
	length := n.order.Uint32(hdr[4:8])
	if length < 12 || length%4 != 0 || length > maxNgBlock || (typ == ngBlockSection && length < 28) {
		return 0, nil, fmt.Errorf("%w: block length %d at offset %d", errNgCorrupt, length, start)
	}
	read := 8
	if typ == ngBlockSection {
		read = 12
	}
	rest := int(length) - read
	if cap(n.buf) < rest {
		n.buf = make([]byte, rest)
	}
	buf := n.buf[:rest]
	if _, err := io.ReadFull(n.r, buf); err != nil {
		return 0, nil, fmt.Errorf("pcapng: block at offset %d cut short", start)
	}
	if n.order.Uint32(buf[rest-4:]) != length {
		return 0, nil, fmt.Errorf("%w: trailing length does not match at offset %d", errNgCorrupt, start)
	}
	n.offset += int64(length)
	return typ, buf[:rest-4], nil
}

// next returns the next packet: its data (valid until the next call), time, link type and
// original length.
func (n *ngReader) next() (data []byte, ts time.Time, lt layers.LinkType, origLen int, err error) {
	for {
		typ, body, err := n.block()
		if err != nil {
			return nil, time.Time{}, 0, 0, err
		}
		switch typ {
		case ngBlockInterface:
			if len(body) < 8 {
				return nil, time.Time{}, 0, 0, fmt.Errorf("%w: short interface description", errNgCorrupt)
			}
			iface := ngInterface{linkType: layers.LinkType(n.order.Uint16(body)), unitNs: defaultNgTSResolNs}
			n.options(body[8:], &iface)
			n.ifaces = append(n.ifaces, iface)
		case ngBlockEnhanced, ngBlockPacket:
			if len(body) < 20 {
				return nil, time.Time{}, 0, 0, fmt.Errorf("%w: short packet block", errNgCorrupt)
			}
			var id int
			if typ == ngBlockEnhanced {
				id = int(n.order.Uint32(body))
			} else {
				id = int(n.order.Uint16(body))
			}
			if id >= len(n.ifaces) {
				return nil, time.Time{}, 0, 0, fmt.Errorf("%w: packet on undeclared interface %d", errNgCorrupt, id)
			}
			iface := &n.ifaces[id]
			raw := uint64(n.order.Uint32(body[4:]))<<32 | uint64(n.order.Uint32(body[8:]))
			caplen := int(n.order.Uint32(body[12:]))
			orig := int(n.order.Uint32(body[16:]))
			if caplen > len(body)-20 {
				return nil, time.Time{}, 0, 0, fmt.Errorf("%w: captured length %d beyond its block", errNgCorrupt, caplen)
			}
			return body[20 : 20+caplen], iface.time(raw), iface.linkType, orig, nil
		case ngBlockSimple:
			if len(body) < 4 || len(n.ifaces) == 0 {
				return nil, time.Time{}, 0, 0, fmt.Errorf("%w: simple packet block without interface", errNgCorrupt)
			}
			orig := int(n.order.Uint32(body))
			caplen := min(orig, len(body)-4)
			return body[4 : 4+caplen], time.Time{}, n.ifaces[0].linkType, orig, nil
		}
		// Statistics, name resolution, decryption secrets and custom blocks carry no packets.
	}
}

// options reads the interface options that change timestamps.
func (n *ngReader) options(b []byte, iface *ngInterface) {
	for len(b) >= 4 {
		code := n.order.Uint16(b)
		l := int(n.order.Uint16(b[2:]))
		if code == ngOptionEnd || 4+l > len(b) {
			return
		}
		v := b[4 : 4+l]
		switch {
		case code == ngOptionTSResol && l >= 1:
			iface.setResolution(v[0])
		case code == ngOptionTSOffset && l >= 8:
			iface.offset = int64(n.order.Uint64(v))
		}
		b = b[4+(l+3)&^3:]
	}
}

// setResolution applies if_tsresol: 10^-v seconds, or 2^-v when the top bit is set.
func (i *ngInterface) setResolution(v byte) {
	i.unitNs, i.unitsPerSec = 0, 0
	if v&0x80 != 0 {
		if e := v & 0x7f; e < 64 {
			i.unitsPerSec = 1 << e
			return
		}
	} else if v <= 9 {
		i.unitNs = int64(math.Pow10(9 - int(v)))
		return
	} else if v <= 19 {
		i.unitsPerSec = uint64(math.Pow10(int(v)))
		return
	}
	i.unitNs = defaultNgTSResolNs
}

func (i *ngInterface) time(raw uint64) time.Time {
	if i.unitNs > 0 {
		sec := int64(raw / uint64(1e9/i.unitNs))
		ns := int64(raw%uint64(1e9/i.unitNs)) * i.unitNs
		return time.Unix(sec+i.offset, ns).UTC()
	}
	sec := raw / i.unitsPerSec
	frac := raw % i.unitsPerSec
	ns := int64(float64(frac) * 1e9 / float64(i.unitsPerSec))
	return time.Unix(int64(sec)+i.offset, ns).UTC()
}
