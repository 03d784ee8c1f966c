package cli

import (
	"context"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/sip"
)

// With --jobs 2 the calls command decodes on one goroutine and correlates on another. Messages
// cross in batches, since the capture buffer they were read from is reused as soon as the next
// frames are read: each SIP message as its bytes and its parse packed into offsets (sip.Packed),
// which the correlating goroutine unpacks into one Message of its own; neither side parses again.
// Every line an item spans crosses between the cores' caches, so items are kept small: a whole
// copy of the parsed Message (CopyTo, still used for the rare message that cannot be packed) is
// four times the size, and with it --jobs 2 took about 10 % more CPU and wall time in alternating
// runs on the 1 GB benchmark capture. The added CPU time is why --jobs 2 is not the default
// (README, Performance).

// pipeBatch is a run of messages in capture order: SIP messages, and the UDP payloads of no known
// protocol that may be RTP.
type pipeBatch struct {
	items []pipeItem
	data  []byte // the bytes of every item
}

type pipeItem struct {
	m      decode.Message // m.HEP and m.Frames point at the fields below when set
	packed sip.Packed     // the SIP message, unpacked over raw by the correlating goroutine
	raw    []byte
	whole  *sip.Message // the SIP message when it could not be packed (made once, reused)
	hep    decode.HEPInfo
	frames []int
	rtp    []byte // a UDP payload of no known protocol, for the correlator's RTP digits
}

// keep copies m's envelope into the item, with what points into the decoder's reused storage
// (the HEP header, the list of frames), and no payload or SIP message.
func (it *pipeItem) keep(m *decode.Message) {
	it.m = *m
	it.m.Payload, it.m.SIP, it.rtp, it.raw = nil, nil, nil, nil
	if m.HEP != nil {
		it.hep = *m.HEP
		it.m.HEP = &it.hep
	}
	if m.Frames != nil {
		it.frames = append(it.frames[:0], m.Frames...)
		it.m.Frames = it.frames
	}
}

const (
	pipeBatches    = 4 // in flight: decoding runs at most this far ahead
	pipeBatchItems = 512
	pipeBatchBytes = 512 << 10
)

// decodePiped decodes caps with opts on a new goroutine and calls sipMessage and rtp with the
// messages, in capture order, on this one. opts.OtherUDP is replaced. Messages keep their Payload
// only with payloads set (a filter may read it). It returns the decoder's statistics (capture
// warnings added) and the error that stopped reading.
func decodePiped(ctx context.Context, caps []*decode.Capture, opts decode.Options, payloads bool,
	sipMessage func(*decode.Message), rtp func(*decode.Message, []byte)) (decode.Stats, error) {
	free, full := make(chan *pipeBatch, pipeBatches), make(chan *pipeBatch, pipeBatches)
	for range pipeBatches {
		free <- &pipeBatch{items: make([]pipeItem, 0, pipeBatchItems), data: make([]byte, 0, pipeBatchBytes)}
	}
	var stats decode.Stats
	var runErr error
	go func() {
		defer close(full)
		b := <-free
		// next returns a free item with room for n bytes, handing the batch over when it is full.
		next := func(n int) *pipeItem {
			if len(b.items) == cap(b.items) || cap(b.data)-len(b.data) < n && len(b.items) > 0 {
				full <- b
				b = <-free
				b.items, b.data = b.items[:0], b.data[:0]
			}
			b.items = b.items[:len(b.items)+1]
			return &b.items[len(b.items)-1]
		}
		opts.OtherUDP = func(m *decode.Message, p []byte) {
			it := next(len(p))
			it.keep(m)
			start := len(b.data)
			b.data = append(b.data, p...)
			it.rtp = b.data[start:len(b.data):len(b.data)]
		}
		d := decode.NewDecoder(func(m *decode.Message) {
			// The correlator reads SIP only: other protocols are not handed over.
			if m.Protocol != decode.ProtoSIP || m.SIP == nil {
				return
			}
			n := len(m.SIP.Raw)
			if payloads {
				n += len(m.Payload)
			}
			it := next(n)
			it.keep(m)
			if payloads {
				start := len(b.data)
				b.data = append(b.data, m.Payload...)
				it.m.Payload = b.data[start:len(b.data):len(b.data)]
			}
			if m.SIP.Pack(&it.packed) {
				start := len(b.data)
				b.data = append(b.data, m.SIP.Raw...)
				it.raw = b.data[start:len(b.data):len(b.data)]
				return
			}
			if it.whole == nil {
				it.whole = new(sip.Message)
			}
			b.data = m.SIP.CopyTo(it.whole, b.data)
			it.m.SIP = it.whole
		}, opts)
		runErr = d.RunCaptures(ctx, caps)
		stats = d.Stats
		if len(b.items) > 0 {
			full <- b
		}
	}()
	var unpacked sip.Message // each packed message in turn: it stays in this core's cache
	for b := range full {
		for i := range b.items {
			it := &b.items[i]
			switch {
			case it.rtp != nil:
				rtp(&it.m, it.rtp)
			case it.raw != nil:
				unpacked.Unpack(it.raw, &it.packed)
				it.m.SIP = &unpacked
				sipMessage(&it.m)
			default:
				sipMessage(&it.m)
			}
		}
		free <- b
	}
	return stats, runErr
}
