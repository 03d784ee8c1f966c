package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Microsoft Network Monitor 2.x captures ("GMBU"), still found in older VoIP trace collections.
// gopacket has no reader for them. The frame table sits at the end of the file, so the whole input
// is read into memory: NetMon 2.x files are small by design (their capture buffer is bounded).

var magicNetMon = []byte("GMBU")

// maxNetMonSize bounds how much of a NetMon file is held in memory.
const maxNetMonSize = 1 << 30

type netmonReader struct {
	data     []byte
	start    time.Time
	linkType layers.LinkType
	minor    byte
	table    []byte // frame offsets, u32 each
	next     int
}

var errNetMonTruncated = errors.New("netmon: frame past the end of the file")

func newNetMonReader(r io.Reader) (*netmonReader, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxNetMonSize))
	if err != nil {
		return nil, err
	}
	if len(data) < 32 || string(data[:4]) != "GMBU" {
		return nil, errors.New("netmon: short header")
	}
	if data[5] != 2 {
		return nil, fmt.Errorf("netmon: version %d.%d not supported (2.x is)", data[5], data[4])
	}
	le := binary.LittleEndian
	n := &netmonReader{data: data, minor: data[4]}
	switch le.Uint16(data[6:]) {
	case 1:
		n.linkType = layers.LinkTypeEthernet
	case 6:
		n.linkType = layers.LinkTypeIEEE802_11
	default:
		n.linkType = layers.LinkType(0xffff)
	}
	n.start = time.Date(int(le.Uint16(data[8:])), time.Month(le.Uint16(data[10:])), int(le.Uint16(data[14:])),
		int(le.Uint16(data[16:])), int(le.Uint16(data[18:])), int(le.Uint16(data[20:])), int(le.Uint16(data[22:]))*int(time.Millisecond), time.UTC)
	off, length := int(le.Uint32(data[24:])), int(le.Uint32(data[28:]))
	if off < 0 || length < 0 || off+length > len(data) || off+length < off {
		return nil, fmt.Errorf("netmon: frame table (offset %d, length %d) outside the file", off, length)
	}
	n.table = data[off : off+length]
	return n, nil
}

// nextFrame returns the data and time of the next frame.
func (n *netmonReader) nextFrame() (data []byte, ts time.Time, origLen int, offset int64, err error) {
	if n.next+4 > len(n.table) {
		return nil, time.Time{}, 0, 0, io.EOF
	}
	le := binary.LittleEndian
	off := int(le.Uint32(n.table[n.next:]))
	n.next += 4
	if off < 0 || off+16 > len(n.data) {
		return nil, time.Time{}, 0, int64(off), errNetMonTruncated
	}
	delta := le.Uint64(n.data[off:])
	orig := int(le.Uint32(n.data[off+8:]))
	incl := int(le.Uint32(n.data[off+12:]))
	if incl < 0 || off+16+incl > len(n.data) {
		return nil, time.Time{}, 0, int64(off), errNetMonTruncated
	}
	return n.data[off+16 : off+16+incl], n.start.Add(time.Duration(delta) * time.Microsecond), orig, int64(off), nil
}
