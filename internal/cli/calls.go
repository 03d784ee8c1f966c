package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/filters"
	"github.com/sigtrace/sigtrace/internal/render"
)

func init() { register(NewCmdCalls) }

// CallsOptions are the inputs of `sigtrace calls`.
type CallsOptions struct {
	Inputs []string
	Output string
	LinkOptions
	MaxOpen int
	Grace   time.Duration
	Quiet   bool
	Jobs    int
	Filter  FilterOptions
}

// defaultMaxOpen bounds memory (a few KB per open call) on captures full of dialogs that never end.
const defaultMaxOpen = 200000

// NewCmdCalls builds `sigtrace calls`.
func NewCmdCalls(f *Factory) *cobra.Command {
	opts := &CallsOptions{}
	cmd := &cobra.Command{
		Use:   "calls FILE...",
		Short: "Correlate SIP into calls: legs, outcome, times, events",
		Long: `Group the SIP of captures into calls, one record per call, emitted as each call ends.

A leg is one SIP dialog (one Call-ID), followed on every hop it crosses (a proxy that keeps the
Call-ID adds a hop); its times are taken on the hop where its INVITE was first seen.
Retransmissions are collapsed and counted. Legs are linked into one call when a leg's INVITE names
another leg's Call-ID in X-ORIGINAL-CALLID, X-CID, X-Call-ID or a --leg-header, or when legs share
a Session-ID (RFC 7989) or P-Charging-Vector icid-value. The root leg is "class4", linked legs
"class5"; chains and several children (forward on busy, transfer) are followed. Without such
headers, --link-heuristic pairs a leg with the open leg whose INVITE went to the host sending it,
moments before, with the same calling number; those links are marked "heuristic".

Outcome, from the final response to the INVITE:
  2xx answered; 486, 600 busy; 487 cancelled; 480, 408 no-answer (also: ringing for 3 minutes
  without a final response); 5xx failed (also: no response at all within 32 s); other 3xx, 4xx and
  6xx (404, 403, 484, 488...) rejected; in-progress when the capture ended first.
A call's outcome, final status and times are its root leg's: what the caller saw. end_reason is
BYE, CANCEL, "final response" or timeout; ended_by is calling-side or called-side.

Events: dtmf (SIP INFO dtmf-relay/dtmf bodies, and RFC 4733 telephone-events in RTP when the SDP
negotiated them), hold and unhold (SDP direction of re-INVITE/UPDATE offers), refer (Refer-To, the
response, the NOTIFY outcome), transfer (a new class-5 leg after a REFER), forward (a new class-5
leg after a failed one, or with Diversion), park (a REFER completed without a new leg).

A call is emitted once all its legs have ended and --grace of capture time has passed with no
message for it, so memory is bounded by the calls open at once. Out-of-dialog traffic (OPTIONS,
REGISTER, SUBSCRIBE, MESSAGE...) is counted, not reported as calls.

-o table shows start, call-id, from, to, outcome, duration (answer to end), legs, events.
-o json writes NDJSON, one call per line: call_id, outcome, final_status, invite_time,
ringing_time, answer_time, end_time (RFC 3339 UTC, microseconds; absent when unknown),
end_reason, ended_by, billable_seconds, duration_seconds, pdd_seconds, legs [call_id, role,
parent_call_id, link, hops, from, to, request_uri, outcome, final_status, times, end_reason,
ended_by, messages, transactions, retransmissions, frame], events [type, time, leg, frame, digit,
source, target, status, result, from_leg], evicted.
-o csv writes one CDR row per call, the legs' Call-IDs joined with ';'.`,
		Example: `  sigtrace calls samples/class45/class45.pcapng
  sigtrace calls -o json capture.pcapng | jq 'select(.outcome == "answered") | .billable_seconds'
  sigtrace calls --leg-header X-Leg-Parent -o csv day.pcap.zst > cdr.csv
  sigtrace calls --filter 'call.outcome == "failed"' feed.pcap`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return callsRun(cmd.Context(), f, opts)
		},
	}
	addOutputFlag(cmd, &opts.Output, "table", "json", "csv")
	addLinkFlags(cmd.Flags(), &opts.LinkOptions, "")
	cmd.Flags().IntVar(&opts.MaxOpen, "max-open", defaultMaxOpen, "most calls held open; beyond it the oldest is emitted early (evicted) with a warning")
	cmd.Flags().DurationVar(&opts.Grace, "grace", correlate.DefaultGrace, "capture time a call waits after its last message before it is emitted")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no summary on stderr")
	cmd.Flags().IntVarP(&opts.Jobs, "jobs", "j", 1, "cores to use: 2 decodes on one and correlates on the other (usually less wall time, more CPU time)")
	addFilterFlags(cmd, f, &opts.Filter)
	return cmd
}

func callsRun(ctx context.Context, f *Factory, opts *CallsOptions) error {
	if opts.MaxOpen < 0 || opts.Grace < 0 {
		return usagef("--max-open and --grace must not be negative")
	}
	if opts.Jobs != 1 && opts.Jobs != 2 {
		return usagef("--jobs must be 1 or 2")
	}
	flt, err := opts.Filter.Compile()
	if err != nil {
		return err
	}
	// A call matches when its fields match, or when any of its messages matched (sip.status == 503
	// finds the calls that saw a 503).
	var cm *filters.CallMatcher
	if flt != nil {
		if cm, err = filters.NewCallMatcher(flt); err != nil {
			return usagef("%v: %q", err, flt.String())
		}
	}
	caps, err := openCaptures(f, opts.Inputs)
	defer closeCaptures(caps)
	if err != nil {
		return err
	}

	// The live heap is small (the open calls) and the garbage steady (the ended calls): collect
	// less often than the default, under a soft limit that keeps the process small.
	if f.Getenv("GOGC") == "" && f.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(64 << 20))
	}
	out := bufio.NewWriterSize(f.Stdout, 256<<10)
	w := newCallWriter(out, opts.Output, f.StdoutIsTerminal)
	co := opts.callOptions()
	co.Grace, co.MaxOpen = opts.Grace, opts.MaxOpen
	corr := correlate.NewCalls(co)
	shown := 0
	emit := func(calls []*correlate.Call) {
		for _, call := range calls {
			if cm == nil || cm.Call(call) {
				w.write(call)
				shown++
			}
			corr.Release(call)
		}
	}
	dopts := callsDecodeOptions(corr, cm != nil)
	add := func(m *decode.Message) {
		if cm != nil {
			cm.Message(m)
		}
		emit(corr.Add(m))
	}
	var stats decode.Stats
	var runErr error
	if opts.Jobs == 2 {
		stats, runErr = decodePiped(ctx, caps, dopts, cm != nil, add, corr.RTP)
	} else {
		d := decode.NewDecoder(add, dopts)
		runErr = d.RunCaptures(ctx, caps)
		stats = d.Stats
	}
	emit(corr.Flush())
	w.flush()
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if runErr != nil {
		return runErr
	}
	st := corr.Stats()
	if !opts.Quiet {
		writeSummary(f.Stderr, &stats)
		filtered := ""
		if flt != nil {
			filtered = fmt.Sprintf(", %d shown", shown)
		}
		fmt.Fprintf(f.Stderr, "sigtrace: %d calls (%d legs, %d still in progress at the end%s); %d out-of-dialog messages, %d retransmissions, %d capture duplicates, %d RTP digits\n",
			st.Calls, st.Legs, st.InProgress, filtered, st.OutOfDialog, st.Retransmissions, st.Duplicates, st.RTPEvents)
	}
	if st.Evicted > 0 {
		fmt.Fprintf(f.Stderr, "sigtrace: warning: %d calls evicted before they ended (more than --max-open %d open at once)\n", st.Evicted, opts.MaxOpen)
	}
	return nil
}

// callsDecodeOptions is how messages are decoded for the call correlator (calls, and the passes
// of flow and export that find calls): the correlator tells capture duplicates from
// retransmissions itself, from what it keeps of each leg, so the decoder's hash of every payload
// is not needed; grammar problems are not looked for unless checked is set (a filter may ask for
// sip.invalid). RTP goes to corr when it is given.
func callsDecodeOptions(corr *correlate.Calls, checked bool) decode.Options {
	opts := decode.Options{DedupWindow: -1, UncheckedSIP: !checked}
	if corr != nil {
		opts.OtherUDP = corr.RTP
		opts.NoteSIPHeaders = corr.HeaderNames()
	}
	return opts
}

// callWriter renders call records in one of the output formats.
type callWriter struct {
	out    *bufio.Writer
	format string
	table  *render.Table
	csv    *csv.Writer
}

func newCallWriter(out *bufio.Writer, format string, terminal bool) *callWriter {
	w := &callWriter{out: out, format: format}
	switch format {
	case "table":
		w.table = render.NewTable(out, terminal,
			render.Column{Name: "start", Width: 27}, render.Column{Name: "call-id", Width: 36},
			render.Column{Name: "from", Width: 14}, render.Column{Name: "to", Width: 14},
			render.Column{Name: "outcome", Width: 11}, render.Column{Name: "duration", Width: 9},
			render.Column{Name: "legs", Width: 4}, render.Column{Name: "events", Width: 0})
	case "csv":
		w.csv = render.NewCSV(out, "call_id", "leg_call_ids", "from", "to", "outcome", "final_status",
			"invite_time", "ringing_time", "answer_time", "end_time", "end_reason", "ended_by",
			"billable_seconds", "duration_seconds", "pdd_seconds", "legs", "events")
	}
	return w
}

func (w *callWriter) flush() {
	if w.csv != nil {
		w.csv.Flush()
	}
}

func (w *callWriter) write(c *correlate.Call) {
	root := &c.Legs[0]
	switch w.format {
	case "json":
		// Written in place in the output buffer when it has room (most calls): no copy.
		if w.out.Available() < 4096 {
			w.out.Flush()
		}
		b := append(c.AppendJSON(w.out.AvailableBuffer()), '\n')
		w.out.Write(b)
	case "csv":
		status := ""
		if c.FinalStatus != 0 {
			status = strconv.Itoa(c.FinalStatus)
		}
		w.csv.Write([]string{c.CallID, strings.Join(c.CallIDs(), ";"), root.From, root.To, string(c.Outcome), status,
			csvTime(c.InviteTime), csvTime(c.RingingTime), csvTime(c.AnswerTime), csvTime(c.EndTime), c.EndReason, c.EndedBy,
			csvSeconds(c.BillableSeconds()), csvSeconds(c.DurationSeconds()), csvSeconds(c.PDDSeconds()),
			strconv.Itoa(len(c.Legs)), eventSummary(c.Events)})
	default:
		dur := "-"
		if !c.AnswerTime.IsZero() && !c.EndTime.IsZero() {
			dur = strconv.FormatFloat(c.BillableSeconds(), 'f', 1, 64) + "s"
		}
		outcome := string(c.Outcome)
		if c.FinalStatus != 0 && c.Outcome != correlate.Answered {
			outcome += " " + strconv.Itoa(c.FinalStatus)
		}
		w.table.Row(csvTime(c.InviteTime), c.CallID, root.From, root.To, outcome, dur, strconv.Itoa(len(c.Legs)), eventSummary(c.Events))
	}
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return string(render.AppendTime(nil, t))
}

func csvSeconds(s float64) string {
	if s == 0 {
		return ""
	}
	return strconv.FormatFloat(s, 'f', -1, 64)
}

// eventSummary lists events briefly ("dtmf:5 hold unhold refer transfer"); the same event seen on
// two legs in a row (a digit relayed from the A-leg to the B-leg) is shown once.
func eventSummary(evs []correlate.CallEvent) string {
	var parts []string
	for _, e := range evs {
		s := string(e.Type)
		if e.Digit != "" {
			s += ":" + e.Digit
		}
		if n := len(parts); n > 0 && parts[n-1] == s {
			continue
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}
