package decode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Frame is one captured frame as read from an input. Data is owned by the reader and is valid only
// until the next call to Next.
type Frame struct {
	Data     []byte
	Time     time.Time
	LinkType layers.LinkType
	Number   int // 1-based, in its input
	OrigLen  int // length on the wire (Data may be shorter when the capture was cut by a snap length)
	Input    string
}

// Warning is a problem with an input that did not stop the run (a truncated or corrupt file).
type Warning struct {
	Input  string
	Frame  int   // frames read before the problem
	Offset int64 // byte offset of the problem in the (decompressed) input
	Err    error
}

func (w *Warning) Error() string {
	return fmt.Sprintf("%s: stopped after frame %d, near byte offset %d: %v", w.Input, w.Frame, w.Offset, w.Err)
}

func (w *Warning) Unwrap() error { return w.Err }

// ErrUnknownFormat is returned for an input that is neither pcap nor pcapng (after decompression).
var ErrUnknownFormat = errors.New("not a pcap or pcapng capture")

// Capture reads the frames of one input. Close releases its file.
type Capture struct {
	name     string
	closer   io.Closer
	pcap     *pcapReader
	ng       *ngReader
	netmon   *netmonReader
	linkType layers.LinkType
	number   int
	// offset of the end of the last good frame (pcap, pcapng) or of the frame record (NetMon)
	goodOffset int64
	warning    *Warning
	done       bool
}

// Open opens a capture file by name; "-" reads standard input. The format (pcap or pcapng, either
// byte order, micro- or nanosecond; Network Monitor 2.x) and compression (gzip, zstd) are recognised by content.
func Open(name string) (*Capture, error) {
	if name == "-" {
		return OpenReader("-", os.Stdin, nil)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	c, err := OpenReader(name, f, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

var (
	magicGzip = []byte{0x1f, 0x8b}
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicNg   = []byte{0x0a, 0x0d, 0x0d, 0x0a}
)

// OpenReader reads a capture from r; closer, when not nil, is closed by Close.
func OpenReader(name string, r io.Reader, closer io.Closer) (*Capture, error) {
	growPipe(r)
	// An uncompressed capture is read through this one buffer (frames are slices of it); a
	// compressed one gets a second buffer for the decompressed bytes.
	br := bufio.NewReaderSize(r, pcapBufferSize)
	head, _ := br.Peek(4)
	inner := br
	var decompressor io.Closer
	switch {
	case bytes.HasPrefix(head, magicGzip):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("decode: %s: gzip: %w", name, err)
		}
		inner = bufio.NewReaderSize(zr, pcapBufferSize)
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("decode: %s: zstd: %w", name, err)
		}
		inner = bufio.NewReaderSize(zr, pcapBufferSize)
		decompressor = closerFunc(func() error { zr.Close(); return nil })
	}
	head, err := inner.Peek(4)
	if err != nil {
		if len(head) == 0 {
			return nil, fmt.Errorf("decode: %s: empty input", name)
		}
		return nil, fmt.Errorf("decode: %s: %w", name, ErrUnknownFormat)
	}
	c := &Capture{name: name, closer: multiCloser{decompressor, closer}}
	if bytes.Equal(head, magicNetMon) {
		nm, err := newNetMonReader(inner)
		if err != nil {
			return nil, fmt.Errorf("decode: %s: %w", name, err)
		}
		c.netmon = nm
		return c, nil
	}
	if bytes.Equal(head, magicNg) {
		ng, err := newNgReader(inner)
		if err != nil {
			return nil, fmt.Errorf("decode: %s: pcapng: %w", name, err)
		}
		c.ng = ng
		return c, nil
	}
	switch [4]byte(head) {
	case [4]byte{0xa1, 0xb2, 0xc3, 0xd4}, [4]byte{0xd4, 0xc3, 0xb2, 0xa1}, [4]byte{0xa1, 0xb2, 0x3c, 0x4d}, [4]byte{0x4d, 0x3c, 0xb2, 0xa1}:
	default:
		return nil, fmt.Errorf("decode: %s: %w (starts with % x)", name, ErrUnknownFormat, head)
	}
	p, err := newPcapReader(inner)
	if err != nil {
		return nil, fmt.Errorf("decode: %s: %w", name, err)
	}
	c.pcap = p
	c.linkType = p.linkType
	c.goodOffset = 24
	return c, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var first error
	for _, c := range m {
		if c != nil {
			if err := c.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// Name is the input's name as given to Open.
func (c *Capture) Name() string { return c.name }

// Warning returns the problem that ended the input early, if any.
func (c *Capture) Warning() *Warning { return c.warning }

// Close releases the input.
func (c *Capture) Close() error { return c.closer.Close() }

// Next returns the next frame, or io.EOF at the end. A truncated or corrupt input ends with io.EOF
// as well, after recording a Warning (see Warning): everything before the damage is delivered.
func (c *Capture) Next(f *Frame) error {
	if c.done {
		return io.EOF
	}
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
	)
	switch {
	case c.netmon != nil:
		var off int64
		data, ci.Timestamp, ci.Length, off, err = c.netmon.nextFrame()
		ci.CaptureLength = len(data)
		c.goodOffset = off
	case c.ng != nil:
		var lt layers.LinkType
		data, ci.Timestamp, lt, ci.Length, err = c.ng.next()
		f.LinkType = lt
	default:
		data, ci.Timestamp, ci.Length, err = c.pcap.next()
	}
	if err != nil {
		c.done = true
		if err == io.EOF {
			return io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			err = errors.New("truncated frame (file cut short)")
		}
		off := c.goodOffset
		if c.ng != nil {
			off = c.ng.blockStart
		}
		c.warning = &Warning{Input: c.name, Frame: c.number, Offset: off, Err: err}
		return io.EOF
	}
	c.number++
	switch {
	case c.netmon != nil:
		f.LinkType = c.netmon.linkType
	case c.ng != nil:
		// set by the reader, per interface
	default:
		f.LinkType = c.linkType
		c.goodOffset = c.pcap.offset + int64(c.pcap.pending)
	}
	f.Data = data
	f.Time = ci.Timestamp
	f.Number = c.number
	f.OrigLen = ci.Length
	f.Input = c.name
	return nil
}
