package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/correlate"
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

// TxnOptions are the options `diameter` and `dns` share.
type TxnOptions struct {
	Inputs  []string
	Output  string
	Stats   bool
	Timeout time.Duration
	MaxOpen int
	Quiet   bool
	Filter  FilterOptions
}

// txnWriter writes transactions in one of the output formats.
type txnWriter[T any] interface {
	write(t *T)
	flush()
}

// txnTotals are the counts every pairer keeps, for the summary line.
type txnTotals struct{ answered, unanswered, orphans, retransmissions, evicted int }

// txnCommand is what differs between `diameter` and `dns` around their shared pass.
type txnCommand[M, T any] struct {
	pass      txnPass[M, T]
	newWriter func(out *bufio.Writer) txnWriter[T]
	// finish writes the statistics when stats is set, and returns the totals.
	finish func(out *bufio.Writer, stats bool) txnTotals
	words  txnWords
}

// txnWords name a protocol's transactions in flag help and the summary.
type txnWords struct {
	protocol        string // "Diameter"
	request, answer string // "request", "answer"
	requests        string // "requests"
	groups          string // what --stats groups by: "command and per result"
	defaultTimeout  time.Duration
}

// addTxnFlags registers the flags `diameter` and `dns` share.
func addTxnFlags(cmd *cobra.Command, f *Factory, opts *TxnOptions, w txnWords) {
	addOutputFlag(cmd, &opts.Output, "table", "json", "csv")
	cmd.Flags().BoolVar(&opts.Stats, "stats", false, "print counts and latency percentiles per "+w.groups+" instead of the transactions")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", w.defaultTimeout, "capture time after which a "+w.request+" without "+w.answer+" is unanswered (0: wait until the end)")
	cmd.Flags().IntVar(&opts.MaxOpen, "max-open", 100000, "most "+w.requests+" waiting for "+article(w.answer)+" "+w.answer+"; beyond it the oldest is reported unanswered (evicted) with a warning")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no summary on stderr")
	addFilterFlags(cmd, f, &opts.Filter)
}

// article is "an" before a vowel, else "a".
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// run pairs the messages of the inputs and writes the transactions (or, with --stats, their
// statistics), then the summary and a warning for requests evicted early.
func (c txnCommand[M, T]) run(ctx context.Context, f *Factory, opts *TxnOptions) error {
	flt, err := opts.Filter.Compile()
	if err != nil {
		return err
	}
	caps, err := openCaptures(f, opts.Inputs)
	defer closeCaptures(caps)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(f.Stdout, 64<<10)
	var w txnWriter[T]
	if !opts.Stats {
		w = c.newWriter(out)
	}
	dstats, runErr := c.pass.run(ctx, caps, flt, func(t *T) {
		if w != nil {
			w.write(t)
		}
	})
	if w != nil {
		w.flush()
	}
	st := c.finish(out, opts.Stats)
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if runErr != nil {
		return runErr
	}
	if !opts.Quiet {
		writeSummary(f.Stderr, dstats)
		fmt.Fprintf(f.Stderr, "sigtrace: %d %s transactions: %d answered, %d unanswered, %d %s; %d retransmissions\n",
			st.answered+st.unanswered+st.orphans, c.words.protocol, st.answered, st.unanswered, st.orphans, "orphan "+c.words.answer+"s", st.retransmissions)
	}
	if st.evicted > 0 {
		fmt.Fprintf(f.Stderr, "sigtrace: warning: %d %s reported unanswered early (more than --max-open %d waiting at once)\n", st.evicted, c.words.requests, opts.MaxOpen)
	}
	return nil
}

// txnPairOptions checks --timeout and --max-open of the transaction commands and turns them into
// pairer options; a zero timeout means waiting until the end of the captures.
func txnPairOptions(timeout time.Duration, maxOpen int) (correlate.PairOptions, error) {
	if timeout < 0 || maxOpen <= 0 {
		return correlate.PairOptions{}, usagef("--timeout must not be negative and --max-open must be positive")
	}
	if timeout == 0 {
		timeout = -1 // the pairer's "never"; its zero is "the default"
	}
	return correlate.PairOptions{Timeout: timeout, MaxOpen: maxOpen}, nil
}
