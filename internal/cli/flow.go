package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/filters"
	"github.com/sigtrace/sigtrace/internal/ladder"
	"github.com/sigtrace/sigtrace/internal/render"
)

func init() { register(NewCmdFlow) }

// FlowOptions are the inputs of `sigtrace flow`.
type FlowOptions struct {
	Inputs []string
	Calls  []string
	Output string
	LinkOptions
	// Filter keeps only the messages it matches in the drawing (the call is still found whole).
	Filter FilterOptions
}

// flowMaxOpen bounds the calls the first pass holds open, as `calls` does by default.
const flowMaxOpen = 200000

// flowListMax is how many calls a `flow` without --call lists.
const flowListMax = 20

// NewCmdFlow builds `sigtrace flow`.
func NewCmdFlow(f *Factory) *cobra.Command {
	opts := &FlowOptions{}
	cmd := &cobra.Command{
		Use:   "flow FILE... --call ID",
		Short: "Ladder diagram of a whole call, all legs (text, HTML/SVG, mermaid)",
		Long: `Draw the ladder diagram of one call: every message of every leg, on every hop it crossed.

ID is the Call-ID of any leg of the call (or an unambiguous beginning of one). The call and its
legs are found as ` + "`sigtrace calls`" + ` finds them (same --leg-header and --link-heuristic), then
every message of those legs is drawn. Hosts (address:port) are columns in order of first
appearance, named by their place in the call when the legs show it: carrier, class-4, class-5,
phone (caller and callee when there is no class-4 or class-5). Each arrow is one message on one
hop, labelled with the method or the status and reason, "(SDP)" when it carries a session
description, its time offset from the first message, leg, CSeq and frame number; the same message
forwarded by a proxy is two arrows. Retransmissions are marked. Messages with SDP show a summary:
media, address:port, direction, codecs. Events (hold, DTMF, REFER, transfer, forward, park) are
notes. Capture duplicates (the same packet twice) are left out.

-o text (default) is for a terminal, drawn in ASCII; legs are lettered A (the root), B, C...
-o html is one self-contained page (no external resources; works offline): an SVG ladder with
   legs coloured and a legend; click an arrow (or open the page at #msg-N) to see the full message
   in a side panel; arrow keys move between messages.
-o mermaid is a mermaid sequenceDiagram, for Markdown that renders it.

--call may be given several times to draw several calls in one diagram (for example two legs that
were not linked). Without --call, flow lists the calls of the input and exits with status 2. An ID
that matches no call is an error (exit 1). Standard input (-) is kept in a temporary file, because
the capture is read twice: once to find the call, once to collect its messages; both passes stop
as soon as the call is complete.`,
		Example: `  sigtrace flow samples/class45/class45.pcapng --call 1-8060@127.0.0.16
  sigtrace flow -o html capture.pcapng --call 4f2a91 > call.html
  sigtrace flow -o mermaid a.pcap b.pcap --call abc@host --call def@host`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return flowRun(cmd.Context(), f, opts)
		},
	}
	addOutputFlag(cmd, &opts.Output, "text", "html", "mermaid")
	cmd.Flags().StringArrayVar(&opts.Calls, "call", nil, "Call-ID of any leg of the call to draw (repeatable)")
	addLinkFlags(cmd.Flags(), &opts.LinkOptions, "")
	addFilterFlags(cmd, f, &opts.Filter)
	return cmd
}

func flowRun(ctx context.Context, f *Factory, opts *FlowOptions) error {
	for _, id := range opts.Calls {
		if strings.TrimSpace(id) == "" {
			return usagef("--call needs a Call-ID")
		}
	}
	d, err := flowDiagram(ctx, f, opts)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(f.Stdout, 64<<10)
	switch opts.Output {
	case "html":
		err = d.WriteHTML(out)
	case "mermaid":
		err = d.WriteMermaid(out)
	default:
		err = d.WriteText(out)
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// flowDiagram finds the calls (pass 1), collects their messages (pass 2) and lays them out.
func flowDiagram(ctx context.Context, f *Factory, opts *FlowOptions) (*ladder.Diagram, error) {
	srcs, cleanup, err := flowSources(f, opts.Inputs)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	found, err := flowFindCalls(ctx, f, srcs, opts)
	if err != nil {
		return nil, err
	}
	legIDs := make(map[string]bool)
	for _, c := range found.calls {
		for _, l := range c.Legs {
			legIDs[l.CallID] = true
		}
	}
	flt, err := opts.Filter.Compile()
	if err != nil {
		return nil, err
	}
	msgs, err := flowCollect(ctx, srcs, legIDs, found.until, flt)
	if err != nil {
		return nil, err
	}
	return ladder.New(flowInput(found.calls, msgs)), nil
}

// flowSource is one input: its name as the user gave it and the file to read (standard input is
// kept in a temporary file, since it is read twice).
type flowSource struct{ name, path string }

func flowSources(f *Factory, inputs []string) ([]flowSource, func(), error) {
	var tmp string
	cleanup := func() {
		if tmp != "" {
			os.Remove(tmp)
		}
	}
	srcs := make([]flowSource, 0, len(inputs))
	for _, name := range inputs {
		if name != "-" {
			srcs = append(srcs, flowSource{name, name})
			continue
		}
		if tmp == "" {
			t, err := os.CreateTemp("", "sigtrace-flow-*.cap")
			if err != nil {
				return nil, cleanup, fmt.Errorf("flow: keeping standard input: %w", err)
			}
			tmp = t.Name()
			_, err = io.Copy(t, f.Stdin)
			if cerr := t.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, cleanup, fmt.Errorf("flow: keeping standard input: %w", err)
			}
		}
		srcs = append(srcs, flowSource{"-", tmp})
	}
	return srcs, cleanup, nil
}

// flowFrames hands over the frames of all sources merged in capture-time order until fn returns
// false, and returns the warnings of damaged inputs.
func flowFrames(ctx context.Context, srcs []flowSource, fn func(*decode.Frame) bool) ([]error, error) {
	caps := make([]*decode.Capture, 0, len(srcs))
	defer func() {
		for _, c := range caps {
			c.Close()
		}
	}()
	for _, s := range srcs {
		file, err := os.Open(s.path)
		if err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		c, err := decode.OpenReader(s.name, file, file)
		if err != nil {
			file.Close()
			return nil, err
		}
		caps = append(caps, c)
	}
	pending := make([]decode.Frame, len(caps))
	live := make([]bool, len(caps))
	for i, c := range caps {
		live[i] = c.Next(&pending[i]) == nil
	}
	for n := 0; ; n++ {
		if n&0x3ff == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		best := -1
		for i := range caps {
			if live[i] && (best < 0 || pending[i].Time.Before(pending[best].Time)) {
				best = i
			}
		}
		if best < 0 || !fn(&pending[best]) {
			break
		}
		live[best] = caps[best].Next(&pending[best]) == nil
	}
	var warns []error
	for _, c := range caps {
		if w := c.Warning(); w != nil {
			warns = append(warns, w)
		}
	}
	return warns, nil
}

// flowFound is what the first pass found: the calls to draw, and the capture time after which
// none of their messages can come (zero: read to the end).
type flowFound struct {
	calls []*correlate.Call
	until time.Time
}

// flowFindCalls runs the correlator over the inputs (pass 1) and returns the calls holding the
// requested Call-IDs. It stops reading once every ID's call has been emitted: a call is emitted
// only after its grace period, so no message of it comes later.
func flowFindCalls(ctx context.Context, f *Factory, srcs []flowSource, opts *FlowOptions) (*flowFound, error) {
	type match struct {
		call *correlate.Call
		at   time.Time // when the correlator emitted it; zero when flushed at the end
	}
	exact := make([]*match, len(opts.Calls))
	prefix := make([][]match, len(opts.Calls)) // distinct calls with a leg starting with the ID (two are enough)
	var listed []*correlate.Call
	total, remaining := 0, len(opts.Calls)

	take := func(calls []*correlate.Call, at time.Time) {
		for _, c := range calls {
			total++
			if len(opts.Calls) == 0 && len(listed) < flowListMax {
				listed = append(listed, c)
			}
			for i, id := range opts.Calls {
				if exact[i] != nil {
					continue
				}
				if c.Leg(id) != nil {
					exact[i] = &match{c, at}
					remaining--
					continue
				}
				if len(prefix[i]) < 2 && slices.ContainsFunc(c.Legs, func(l correlate.Leg) bool { return strings.HasPrefix(l.CallID, id) }) {
					prefix[i] = append(prefix[i], match{c, at})
				}
			}
		}
	}
	co := opts.callOptions()
	co.MaxOpen = flowMaxOpen
	corr := correlate.NewCalls(co)
	dec := decode.NewDecoder(func(m *decode.Message) { take(corr.Add(m), m.Time) }, callsDecodeOptions(corr, false))
	warns, err := flowFrames(ctx, srcs, func(fr *decode.Frame) bool {
		dec.Frame(fr)
		return len(opts.Calls) == 0 || remaining > 0
	})
	if err != nil {
		return nil, err
	}
	dec.Finish()
	take(corr.Flush(), time.Time{})
	for _, w := range warns {
		fmt.Fprintf(f.Stderr, "sigtrace: warning: %v\n", w)
	}

	if len(opts.Calls) == 0 {
		return nil, &UsageError{Err: fmt.Errorf("flow needs --call ID; %s", flowListing(listed, total))}
	}
	found := &flowFound{}
	var until []time.Time
	for i, id := range opts.Calls {
		m := exact[i]
		if m == nil {
			switch len(prefix[i]) {
			case 0:
				return nil, fmt.Errorf("flow: no call has a leg with Call-ID %q (%d calls in %s)", id, total, flowInputNames(srcs))
			case 1:
				m = &prefix[i][0]
			default:
				return nil, fmt.Errorf("flow: Call-ID %q is the beginning of legs of several calls (%s, %s...): give more of it", id, prefix[i][0].call.CallID, prefix[i][1].call.CallID)
			}
		}
		if !slices.Contains(found.calls, m.call) {
			found.calls = append(found.calls, m.call)
			until = append(until, m.at)
		}
	}
	if !slices.ContainsFunc(until, time.Time.IsZero) {
		found.until = slices.MaxFunc(until, time.Time.Compare)
	}
	// Calls in the order they started.
	slices.SortStableFunc(found.calls, func(a, b *correlate.Call) int { return a.InviteTime.Compare(b.InviteTime) })
	return found, nil
}

// flowListing lists some calls for a user who gave no --call.
func flowListing(calls []*correlate.Call, total int) string {
	if total == 0 {
		return "the input holds no call"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the input holds %d calls:\n", total)
	for _, c := range calls {
		root := &c.Legs[0]
		outcome := string(c.Outcome)
		if c.FinalStatus != 0 && c.Outcome != correlate.Answered {
			outcome += " " + strconv.Itoa(c.FinalStatus)
		}
		fmt.Fprintf(&b, "  %s  %s  %s -> %s  %s, %d legs\n", c.CallID, flowTime(c.InviteTime), root.From, root.To, outcome, len(c.Legs))
	}
	if total > len(calls) {
		fmt.Fprintf(&b, "  ... and %d more (sigtrace calls lists them all)\n", total-len(calls))
	}
	return strings.TrimRight(b.String(), "\n")
}

func flowInputNames(srcs []flowSource) string {
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

// flowCollect reads the inputs again (pass 2) and keeps a copy of every SIP message of the given
// legs, capture duplicates excepted, until the capture time until (when set), that flt matches
// (nil matches all).
func flowCollect(ctx context.Context, srcs []flowSource, legs map[string]bool, until time.Time, flt *filters.Filter) ([]ladder.Message, error) {
	var msgs []ladder.Message
	dec := decode.NewDecoder(func(m *decode.Message) {
		if m.Protocol != decode.ProtoSIP || m.SIP == nil || m.Duplicate || !legs[string(m.SIP.CallID)] || !flt.MatchMessage(m) {
			return
		}
		msgs = append(msgs, ladder.Message{Time: m.Time, Src: m.Src, Dst: m.Dst, Transport: m.Transport.String(),
			Frame: m.Frame, Input: m.Input, Raw: bytes.Clone(m.SIP.Raw)})
	}, decode.Options{UncheckedSIP: flt == nil}) // the ladder parses what it keeps again; a filter may ask for sip.invalid
	_, err := flowFrames(ctx, srcs, func(fr *decode.Frame) bool {
		if !until.IsZero() && fr.Time.After(until) {
			return false
		}
		dec.Frame(fr)
		return true
	})
	if err != nil {
		return nil, err
	}
	dec.Finish()
	return msgs, nil
}

// flowInput turns the calls and their messages into what the ladder draws.
func flowInput(calls []*correlate.Call, msgs []ladder.Message) ladder.Input {
	in := ladder.Input{Messages: msgs}
	names := make(map[string]string)
	for _, c := range calls {
		for _, l := range c.Legs {
			names[l.CallID] = ladder.LegName(len(in.Legs))
			ll := ladder.Leg{CallID: l.CallID, Role: string(l.Role), ParentCallID: l.ParentCallID, Link: l.Link,
				From: l.From, To: l.To, Outcome: string(l.Outcome), FinalStatus: l.FinalStatus}
			for _, h := range l.Hops {
				ll.Hops = append(ll.Hops, ladder.Hop{Src: h.Src, Dst: h.Dst})
			}
			in.Legs = append(in.Legs, ll)
		}
	}
	var titles []string
	for _, c := range calls {
		root := &c.Legs[0]
		t := "call " + c.CallID + ": " + root.From + " -> " + root.To + ", " + string(c.Outcome)
		if c.FinalStatus != 0 {
			t += " " + strconv.Itoa(c.FinalStatus)
		}
		if !c.AnswerTime.IsZero() && !c.EndTime.IsZero() {
			t += ", " + strconv.FormatFloat(c.BillableSeconds(), 'f', 1, 64) + " s"
		}
		if c.EndReason != "" {
			t += ", ended by " + c.EndReason
			if c.EndedBy != "" {
				t += " (" + c.EndedBy + ")"
			}
		}
		titles = append(titles, t)
		for _, e := range c.Events {
			in.Notes = append(in.Notes, ladder.Note{Time: e.Time, Leg: e.Leg, Text: eventNote(e, names), Frame: e.Frame, Input: e.Input})
		}
	}
	in.Title = strings.Join(titles, "; ")
	return in
}

// eventNote says what an event was, naming legs by their letters.
func eventNote(e correlate.CallEvent, legs map[string]string) string {
	leg := func(id string) string {
		if n, ok := legs[id]; ok {
			return n
		}
		return id
	}
	switch e.Type {
	case correlate.EventDTMF:
		s := "DTMF " + e.Digit
		if e.Source != "" {
			s += " (" + e.Source + ")"
		}
		return s
	case correlate.EventRefer:
		s := "REFER to " + e.Target
		if e.Status != 0 {
			s += ": " + strconv.Itoa(e.Status)
		}
		if e.Result != 0 {
			s += ", NOTIFY " + strconv.Itoa(e.Result)
		}
		return s
	case correlate.EventPark:
		return "parked at " + e.Target
	case correlate.EventTransfer:
		return "transfer: leg " + leg(e.Leg) + " to " + e.Target + " replaces " + leg(e.FromLeg)
	case correlate.EventForward:
		s := "forward: leg " + leg(e.Leg) + " to " + e.Target
		if e.FromLeg != "" {
			s += " after leg " + leg(e.FromLeg)
			if e.Status != 0 {
				s += " got " + strconv.Itoa(e.Status)
			}
		}
		return s
	}
	return string(e.Type)
}

// flowTime formats a capture time as the other commands do ("-" when unknown).
func flowTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return string(render.AppendTime(nil, t))
}
