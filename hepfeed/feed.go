package hepfeed

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/sigtrace/sigtrace/decode"
)

// Feed is the Handler that gives a live HEP feed the same analysis as a capture file: each packet
// goes to a decode.Decoder as the datagram it arrived as (the decoder decapsulates HEP as it does
// inside captures), and to a CaptureWriter decapsulated, as the frame HEP describes. Frame numbers
// count the packets handed on, so that a message's frame number is its frame in the written capture.
type Feed struct {
	dec     *decode.Decoder
	capture *CaptureWriter
	names   []string         // per endpoint: the decoder's input name
	local   []netip.AddrPort // per endpoint: the listening address
	decap   Decapsulator
	frame   []byte
	hdr     []byte
	df      decode.Frame
	frames  int
	err     error
	after   func() // called by Flush

	// OnTick, when set, is called with the wall-clock time about every 250 ms (see Ticker), then
	// the Feed flushes.
	OnTick func(now time.Time)
}

// NewFeed returns a Feed for the packets of l. dec and w may each be nil. flush, when set, is
// called after every Flush of the Feed (to flush the output that dec's handler writes).
func NewFeed(l *Listener, dec *decode.Decoder, w *CaptureWriter, flush func()) *Feed {
	f := &Feed{dec: dec, capture: w, after: flush, hdr: make([]byte, 0, datagramHeaderMax)}
	for _, a := range l.Addrs() {
		f.names = append(f.names, a.String())
		ap, _ := netip.ParseAddrPort(a.Addr)
		f.local = append(f.local, ap)
	}
	return f
}

// HandlePacket implements Handler.
func (f *Feed) HandlePacket(p *Packet) {
	f.frames++
	if f.capture != nil && f.err == nil {
		t := p.Time
		if p.HEP != nil {
			f.frame = f.decap.AppendIP(f.frame[:0], p.HEP)
			if !p.HEP.Time.IsZero() {
				t = p.HEP.Time
			}
		} else {
			// Not HEP: keep it as it arrived, so that nothing received is lost.
			f.frame = appendDatagram(f.frame[:0], p.From, f.local[p.Via], p.Data)
		}
		if err := f.capture.WriteFrame(t, f.frame); err != nil {
			f.err = err
		}
	}
	if f.dec != nil {
		// The header goes into the headroom before the data: no copy of the packet.
		f.hdr = appendDatagramHeader(f.hdr[:0], p.From, f.local[p.Via], len(p.Data))
		start := datagramHeaderMax - len(f.hdr)
		copy(p.room[start:], f.hdr)
		f.df = decode.Frame{
			Data:     p.room[start : datagramHeaderMax+len(p.Data)],
			Time:     p.Time,
			LinkType: layers.LinkTypeRaw,
			Number:   f.frames,
			OrigLen:  len(f.hdr) + len(p.Data),
			Input:    f.names[p.Via],
		}
		f.dec.Frame(&f.df)
	}
}

// Flush implements Handler.
func (f *Feed) Flush() {
	if f.capture != nil && f.err == nil {
		f.err = f.capture.Flush()
	}
	if f.after != nil {
		f.after()
	}
}

// Tick implements Ticker.
func (f *Feed) Tick(now time.Time) {
	if f.OnTick != nil {
		f.OnTick(now)
		f.Flush()
	}
}

// Frames returns how many packets the Feed has handled (and written, when it writes).
func (f *Feed) Frames() int { return f.frames }

// Err returns the first error writing the capture; after it the Feed writes no more.
func (f *Feed) Err() error { return f.err }

// Truncated returns how many frames were written with their payload cut (see Decapsulator).
func (f *Feed) Truncated() int { return f.decap.Truncated }

// CaptureWriter writes raw IP frames to a pcapng capture.
type CaptureWriter struct {
	bw *bufio.Writer
	ng *pcapgo.NgWriter
}

// NewCaptureWriter starts a pcapng capture on w, of link type raw IP, with nanosecond times.
func NewCaptureWriter(w io.Writer, application string) (*CaptureWriter, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	intf := pcapgo.DefaultNgInterface
	intf.Name = "hep"
	intf.Description = "frames decapsulated from HEP"
	intf.LinkType = layers.LinkTypeRaw
	opts := pcapgo.DefaultNgWriterOptions
	opts.SectionInfo.Application = application
	ng, err := pcapgo.NewNgWriterInterface(bw, intf, opts)
	if err != nil {
		return nil, fmt.Errorf("hepfeed: pcapng: %w", err)
	}
	return &CaptureWriter{bw: bw, ng: ng}, nil
}

// WriteFrame writes one frame captured at t.
func (c *CaptureWriter) WriteFrame(t time.Time, frame []byte) error {
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(frame), Length: len(frame)}
	if err := c.ng.WritePacket(ci, frame); err != nil {
		return fmt.Errorf("hepfeed: pcapng: %w", err)
	}
	return nil
}

// Flush writes what is buffered to the underlying writer.
func (c *CaptureWriter) Flush() error {
	if err := c.ng.Flush(); err != nil {
		return fmt.Errorf("hepfeed: pcapng: %w", err)
	}
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("hepfeed: pcapng: %w", err)
	}
	return nil
}
