package cli

import (
	"context"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/sip"
)

// With --jobs 2 the calls command decodes on one goroutine and correlates on another. Messages
// cross in batches; each SIP message is copied with its bytes (sip.Message.CopyTo: a memmove, no
// second parse), since the capture buffer it was read from is reused as soon as the next frames
// are read. Measured on a 1 GB capture (README, Performance): wall time 2.0-2.2 s in most runs
// against 2.7 s, CPU time 30-40 % higher, the copying of every message being the largest added
// cost in the profile. So it is not the default.

// pipeBatch is a run of messages in capture order: SIP messages, and the UDP payloads of no known
// protocol that may be RTP.
type pipeBatch struct {
	items []pipeItem
	data  []byte // the bytes of every item
}

type pipeItem struct {
	m      decode.Message // m.SIP, m.HEP and m.Frames point at the fields below when set
	sip    sip.Message
	hep    decode.HEPInfo
	frames []int
	rtp    []byte // a UDP payload of no known protocol, for the correlator's RTP digits
}

// keep copies m's envelope into the item, with what points into the decoder's reused storage
// (the HEP header, the list of frames), and no payload or SIP message.
func (it *pipeItem) keep(m *decode.Message) {
	it.m = *m
	it.m.Payload, it.m.SIP, it.rtp = nil, nil, nil
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
			b.data = m.SIP.CopyTo(&it.sip, b.data)
			it.m.SIP = &it.sip
		}, opts)
		runErr = d.RunCaptures(ctx, caps)
		stats = d.Stats
		if len(b.items) > 0 {
			full <- b
		}
	}()
	for b := range full {
		for i := range b.items {
			if it := &b.items[i]; it.rtp != nil {
				rtp(&it.m, it.rtp)
			} else {
				sipMessage(&it.m)
			}
		}
		free <- b
	}
	return stats, runErr
}
