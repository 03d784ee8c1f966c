package cli

import (
	"context"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/filters"
)

// txnPass is what `diameter` and `dns` share: read the inputs, hand every message of one protocol
// to a request/answer pairer once (capture duplicates left out), and keep a transaction when the
// display filter matched its request or its answer as it was decoded (some fields, such as the DNS
// question, are read from the wire bytes, which are gone by the time the pair completes).
type txnPass[M, T any] struct {
	proto   decode.Protocol
	message func(*decode.Message) *M // the decoded message of that protocol
	add     func(decode.Envelope, *M) []T
	flush   func() []T
	// halves returns a transaction's request and answer (nil when missing); selectBy installs the
	// pairer's Select.
	halves   func(*T) (req, ans *M)
	selectBy func(func(*T) bool)
	// selected is the message's flag for a filter match: kept on the message itself, so that
	// nothing outlives it (a retransmitted request that the pairer folds into the first copy's
	// transaction leaves nothing behind).
	selected func(*M) *bool
}

// run decodes the captures and calls write for every transaction kept (flt nil keeps all), in
// completion order. It returns the decoder's statistics.
func (p txnPass[M, T]) run(ctx context.Context, caps []*decode.Capture, flt *filters.Filter, write func(*T)) (*decode.Stats, error) {
	if flt != nil {
		p.selectBy(func(t *T) bool {
			req, ans := p.halves(t)
			return req != nil && *p.selected(req) || ans != nil && *p.selected(ans)
		})
	}
	emit := func(ts []T) {
		for i := range ts {
			write(&ts[i])
		}
	}
	d := decode.NewDecoder(func(m *decode.Message) {
		if m.Protocol != p.proto || m.Duplicate {
			return
		}
		msg := p.message(m)
		if flt != nil && flt.MatchMessage(m) {
			*p.selected(msg) = true
		}
		emit(p.add(txnKeepEnvelope(m.Envelope), msg))
	}, decode.Options{})
	runErr := d.RunCaptures(ctx, caps)
	emit(p.flush())
	return &d.Stats, runErr
}
