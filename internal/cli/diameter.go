package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/diameter"
	"github.com/sigtrace/sigtrace/internal/render"
)

func init() { register(NewCmdDiameter) }

// DiameterOptions are the inputs of `sigtrace diameter`.
type DiameterOptions = TxnOptions

// NewCmdDiameter builds `sigtrace diameter`.
func NewCmdDiameter(f *Factory) *cobra.Command {
	opts := &DiameterOptions{}
	cmd := &cobra.Command{
		Use:   "diameter FILE...",
		Short: "List Diameter transactions (request and answer) with their latency, or their statistics",
		Long: `Pair every Diameter request with its answer and list the transactions: time, frames, the request's
source and destination, application, command, Session-Id, result, latency and status.

An answer belongs to the request that travelled the other way between the same two addresses with
the same Hop-by-Hop and End-to-End identifiers. A request sent again on the same connection, or with
the T flag after a failover to another one, is a retransmission of the first and counted as such.
A request without answer within --timeout of capture time, or by the end of the captures, is listed
"unanswered"; an answer whose request was not captured is listed "orphan". Transactions are listed
as they complete: answered ones at their answer, unanswered ones when they time out or at the end.
Capture duplicates (the same packet captured twice) are ignored.

FILE is a pcap or pcapng capture, optionally gzip- or zstd-compressed, or - for standard input.
Several files are merged in time order. Diameter is found over TCP and SCTP on any port.

The result is the Result-Code, else the Experimental-Result-Code. Latency runs from the first copy
of the request to the answer.

-o json writes NDJSON, one transaction per line: status (answered, unanswered, orphan), time (the
request's, or the orphan answer's), input, transport, src and dst (the request's addresses; for an
orphan, the answer's reversed), application_id, application, command_code, command, command_short,
session_id, user_name, public_identity, origin_host, origin_realm, destination_host,
destination_realm (the request's), hop_by_hop, end_to_end, request_frame, request_time,
answer_frame, answer_time, answer_input (when not the request's input), answer_origin_host,
answer_origin_realm, result, result_code, experimental_result_code, experimental_result_vendor_id,
error_bit (the answer's E flag), latency_ms, retransmission_frames, evicted (dropped because more
than --max-open requests waited). Times are RFC 3339 UTC with microseconds; latencies are
milliseconds. Fields without a value are left out.
-o csv writes the main fields, one transaction per row.

--stats prints, instead of the transactions, their counts and latency percentiles (p50, p90, p99,
max, nearest rank, in ms) per application and command, and per result. With -o json it is one JSON
object: protocol ("diameter"), answered, unanswered, orphans, retransmissions, evicted, by_command
[application_id, application, command_code, command, command_short, answered, unanswered, orphans,
retransmissions, latency_ms {count, p50, p90, p99, max}], by_result [result, count, latency_ms];
with -o csv one row per command ("command"), result ("result") and the totals ("total").`,
		Example: `  sigtrace diameter s6a.pcapng
  sigtrace diameter --stats core-*.pcap.gz
  sigtrace diameter -o json hss.pcap | jq 'select(.status != "answered")'
  sigtrace diameter -o json gx.pcap | jq 'select(.latency_ms > 100) | .session_id'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return diameterRun(cmd.Context(), f, opts)
		},
	}
	addTxnFlags(cmd, f, opts, diameterWords)
	return cmd
}

var diameterWords = txnWords{protocol: "Diameter", request: "request", answer: "answer", requests: "requests",
	groups: "command and per result", defaultTimeout: 60 * time.Second}

func diameterRun(ctx context.Context, f *Factory, opts *DiameterOptions) error {
	po, err := txnPairOptions(opts.Timeout, opts.MaxOpen)
	if err != nil {
		return err
	}
	p := correlate.NewDiameterPairer(po)
	return txnCommand[diameter.Message, correlate.DiameterTransaction]{
		pass: txnPass[diameter.Message, correlate.DiameterTransaction]{
			proto:   decode.ProtoDiameter,
			message: func(m *decode.Message) *diameter.Message { return m.Diameter },
			add:     p.Add,
			flush:   p.Flush,
			halves: func(t *correlate.DiameterTransaction) (*diameter.Message, *diameter.Message) {
				return t.Request, t.Answer
			},
			selectBy: func(sel func(*correlate.DiameterTransaction) bool) { p.Select = sel },
			selected: func(m *diameter.Message) *bool { return &m.Selected },
		},
		newWriter: func(out *bufio.Writer) txnWriter[correlate.DiameterTransaction] {
			return newDiameterWriter(out, opts.Output, f.StdoutIsTerminal)
		},
		finish: func(out *bufio.Writer, stats bool) txnTotals {
			st := p.Stats()
			if stats {
				writeDiameterStats(out, opts.Output, f.StdoutIsTerminal, &st)
			}
			return txnTotals{st.Answered, st.Unanswered, st.Orphans, st.Retransmissions, st.Evicted}
		},
		words: diameterWords,
	}.run(ctx, f, opts)
}

// txnKeepEnvelope copies what the decoder reuses after the handler returns (frame list, HEP
// details), so that a pairer may keep the envelope.
func txnKeepEnvelope(env decode.Envelope) decode.Envelope {
	if env.Frames != nil {
		env.Frames = append([]int(nil), env.Frames...)
	}
	if env.HEP != nil {
		h := *env.HEP
		env.HEP = &h
	}
	return env
}

// txnMillis appends d in milliseconds with microsecond precision, the resolution of most captures.
func txnMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

func txnMillisString(d time.Duration) string { return string(txnMillis(nil, d)) }

// txnFrames shows a transaction's frames as "request/answer", "-" standing for the missing one.
func txnFrames(req, ans decode.Envelope) string {
	s := "-"
	if req.Frame > 0 {
		s = strconv.Itoa(req.Frame)
	}
	if ans.Frame > 0 {
		return s + "/" + strconv.Itoa(ans.Frame)
	}
	return s + "/-"
}

// txnStatus is the status column of the tables: the pairing status, why an unanswered request was
// dropped early, and how often the request was sent again.
func txnStatus(s correlate.PairStatus, evicted bool, retransmissions int) string {
	out := s.String()
	if evicted {
		out += " (evicted)"
	}
	if retransmissions > 0 {
		out += ", " + strconv.Itoa(retransmissions) + " retx"
	}
	return out
}

// txnJSON builds one NDJSON object by hand, fields in a fixed order. The first field is written
// with open.
type txnJSON struct{ b []byte }

func (j *txnJSON) open(name, value string) {
	j.b = append(j.b[:0], `{"`...)
	j.b = append(j.b, name...)
	j.b = append(j.b, `":`...)
	j.b = render.AppendJSONString(j.b, value)
}

func (j *txnJSON) key(name string) {
	j.b = append(j.b, `,"`...)
	j.b = append(j.b, name...)
	j.b = append(j.b, `":`...)
}

// str writes a string field unless it is empty.
func (j *txnJSON) str(name, value string) {
	if value != "" {
		j.key(name)
		j.b = render.AppendJSONString(j.b, value)
	}
}

func (j *txnJSON) uint(name string, v uint64) {
	j.key(name)
	j.b = strconv.AppendUint(j.b, v, 10)
}

// nonZero writes a number field unless it is 0.
func (j *txnJSON) nonZero(name string, v uint64) {
	if v != 0 {
		j.uint(name, v)
	}
}

func (j *txnJSON) time(name string, t time.Time) {
	if !t.IsZero() {
		j.key(name)
		j.b = append(j.b, '"')
		j.b = render.AppendTime(j.b, t)
		j.b = append(j.b, '"')
	}
}

func (j *txnJSON) addr(name string, a netip.AddrPort) {
	j.key(name)
	j.b = append(j.b, '"')
	j.b = a.AppendTo(j.b)
	j.b = append(j.b, '"')
}

func (j *txnJSON) millis(name string, d time.Duration) {
	j.key(name)
	j.b = txnMillis(j.b, d)
}

func (j *txnJSON) flag(name string, v bool) {
	if v {
		j.key(name)
		j.b = append(j.b, "true"...)
	}
}

// jsonArray writes the field name as an array, each writing one item.
func jsonArray[T any](j *txnJSON, name string, items []T, each func(*T)) {
	j.key(name)
	j.b = append(j.b, '[')
	for i := range items {
		if i > 0 {
			j.b = append(j.b, ',')
		}
		each(&items[i])
	}
	j.b = append(j.b, ']')
}

// totals opens the --stats object: the protocol and its counts.
func (j *txnJSON) totals(protocol string, t txnTotals) {
	j.open("protocol", protocol)
	j.uint("answered", uint64(t.answered))
	j.uint("unanswered", uint64(t.unanswered))
	j.uint("orphans", uint64(t.orphans))
	j.uint("retransmissions", uint64(t.retransmissions))
	j.uint("evicted", uint64(t.evicted))
}

// frames writes the frame numbers of retransmitted copies.
func (j *txnJSON) frames(name string, envs []decode.Envelope) {
	if len(envs) > 0 {
		jsonArray(j, name, envs, func(e *decode.Envelope) { j.b = strconv.AppendInt(j.b, int64(e.Frame), 10) })
	}
}

// latency writes a latency summary in milliseconds; only the count when there is none.
func (j *txnJSON) latency(name string, l correlate.Latency) {
	j.key(name)
	j.b = append(j.b, `{"count":`...)
	j.b = strconv.AppendInt(j.b, int64(l.Count), 10)
	if l.Count > 0 {
		for _, p := range []struct {
			name string
			d    time.Duration
		}{{"p50", l.P50}, {"p90", l.P90}, {"p99", l.P99}, {"max", l.Max}} {
			j.millis(p.name, p.d)
		}
	}
	j.b = append(j.b, '}')
}

func (j *txnJSON) line(w io.Writer) {
	j.b = append(j.b, "}\n"...)
	w.Write(j.b)
}

// txnLatencyCells are the p50, p90, p99 and max columns of a statistics table or CSV row.
func txnLatencyCells(l correlate.Latency) []string {
	if l.Count == 0 {
		return []string{"", "", "", ""}
	}
	return []string{txnMillisString(l.P50), txnMillisString(l.P90), txnMillisString(l.P99), txnMillisString(l.Max)}
}

var txnLatencyColumns = []render.Column{{Name: "p50-ms", Width: 8}, {Name: "p90-ms", Width: 8}, {Name: "p99-ms", Width: 8}, {Name: "max-ms", Width: 8}}

// diameterWriter renders Diameter transactions in one of the output formats.
type diameterWriter struct {
	out    *bufio.Writer
	format string
	table  *render.Table
	csv    *csv.Writer
	json   txnJSON
}

func newDiameterWriter(out *bufio.Writer, format string, terminal bool) *diameterWriter {
	w := &diameterWriter{out: out, format: format}
	switch format {
	case "table":
		w.table = render.NewTable(out, terminal,
			render.Column{Name: "time", Width: 27}, render.Column{Name: "frames", Width: 9},
			render.Column{Name: "src", Width: 21}, render.Column{Name: "dst", Width: 21},
			render.Column{Name: "app", Width: 8}, render.Column{Name: "command", Width: 7},
			render.Column{Name: "session", Width: 40}, render.Column{Name: "result", Width: 6},
			render.Column{Name: "latency-ms", Width: 10}, render.Column{Name: "status", Width: 0})
	case "csv":
		w.csv = render.NewCSV(out, "status", "time", "input", "transport", "src", "dst", "application_id",
			"application", "command_code", "command", "session_id", "origin_host", "destination_realm",
			"hop_by_hop", "end_to_end", "request_frame", "answer_frame", "result", "latency_ms", "retransmissions", "evicted")
	}
	return w
}

func (w *diameterWriter) flush() {
	if w.csv != nil {
		w.csv.Flush()
	}
}

// diameterView is what every output format shows of a transaction.
type diameterView struct {
	m           *diameter.Message // the request, or the orphan answer
	first       decode.Envelope   // where the transaction was first seen
	src, dst    netip.AddrPort
	app, result string
}

func viewDiameter(t *correlate.DiameterTransaction) diameterView {
	v := diameterView{m: t.Message(), first: t.RequestEnv, src: t.RequestEnv.Src, dst: t.RequestEnv.Dst}
	if t.Request == nil {
		v.first, v.src, v.dst = t.AnswerEnv, t.AnswerEnv.Dst, t.AnswerEnv.Src
	}
	v.app = v.m.Application
	if v.app == "" {
		v.app = strconv.FormatUint(uint64(v.m.ApplicationID), 10)
	}
	if t.Answer != nil {
		v.result = strconv.FormatUint(uint64(t.Result()), 10)
	}
	return v
}

func (w *diameterWriter) write(t *correlate.DiameterTransaction) {
	v := viewDiameter(t)
	latency := ""
	if t.Status == correlate.PairAnswered {
		latency = txnMillisString(t.Latency)
	}
	switch w.format {
	case "json":
		w.writeJSON(t, &v)
	case "csv":
		req, ans := "", ""
		if t.Request != nil {
			req = strconv.Itoa(t.RequestEnv.Frame)
		}
		if t.Answer != nil {
			ans = strconv.Itoa(t.AnswerEnv.Frame)
		}
		var origin, destRealm string
		if t.Request != nil {
			origin, destRealm = t.Request.OriginHost, t.Request.DestinationRealm
		}
		w.csv.Write([]string{t.Status.String(), csvTime(v.first.Time), v.first.Input, v.first.Transport.String(),
			v.src.String(), v.dst.String(), strconv.FormatUint(uint64(v.m.ApplicationID), 10), v.m.Application,
			strconv.FormatUint(uint64(v.m.CommandCode), 10), v.m.Command, v.m.SessionID, origin, destRealm,
			fmt.Sprintf("0x%08x", v.m.HopByHop), fmt.Sprintf("0x%08x", v.m.EndToEnd), req, ans, v.result, latency,
			strconv.Itoa(len(t.Retransmissions)), strconv.FormatBool(t.Evicted)})
	default:
		w.table.Row(csvTime(v.first.Time), txnFrames(t.RequestEnv, t.AnswerEnv), v.src.String(), v.dst.String(),
			v.app, v.m.Name(), v.m.SessionID, v.result, latency, txnStatus(t.Status, t.Evicted, len(t.Retransmissions)))
	}
}

func (w *diameterWriter) writeJSON(t *correlate.DiameterTransaction, v *diameterView) {
	j, m := &w.json, v.m
	j.open("status", t.Status.String())
	j.time("time", v.first.Time)
	j.str("input", v.first.Input)
	j.str("transport", v.first.Transport.String())
	j.addr("src", v.src)
	j.addr("dst", v.dst)
	j.uint("application_id", uint64(m.ApplicationID))
	j.str("application", m.Application)
	j.uint("command_code", uint64(m.CommandCode))
	j.str("command", m.Command)
	j.str("command_short", m.CommandShort)
	j.str("session_id", m.SessionID)
	j.str("user_name", m.UserName)
	j.str("public_identity", m.PublicIdentity)
	if r := t.Request; r != nil {
		j.str("origin_host", r.OriginHost)
		j.str("origin_realm", r.OriginRealm)
		j.str("destination_host", r.DestinationHost)
		j.str("destination_realm", r.DestinationRealm)
	}
	j.uint("hop_by_hop", uint64(m.HopByHop))
	j.uint("end_to_end", uint64(m.EndToEnd))
	if t.Request != nil {
		j.uint("request_frame", uint64(t.RequestEnv.Frame))
		j.time("request_time", t.RequestEnv.Time)
	}
	if a := t.Answer; a != nil {
		j.uint("answer_frame", uint64(t.AnswerEnv.Frame))
		j.time("answer_time", t.AnswerEnv.Time)
		if t.AnswerEnv.Input != v.first.Input {
			j.str("answer_input", t.AnswerEnv.Input)
		}
		j.str("answer_origin_host", a.OriginHost)
		j.str("answer_origin_realm", a.OriginRealm)
		j.uint("result", uint64(a.Result()))
		j.nonZero("result_code", uint64(a.ResultCode))
		j.nonZero("experimental_result_code", uint64(a.ExperimentalResultCode))
		j.nonZero("experimental_result_vendor_id", uint64(a.ExperimentalResultVendorID))
		j.flag("error_bit", a.Flags.Error)
	}
	if t.Status == correlate.PairAnswered {
		j.millis("latency_ms", t.Latency)
	}
	j.frames("retransmission_frames", t.Retransmissions)
	j.flag("evicted", t.Evicted)
	j.line(w.out)
}

// diameterCommandName is the request's short form ("ULR") for the statistics, else the command's
// name, else its code.
func diameterCommandName(app, code uint32, name string) string {
	if _, short := diameter.CommandName(app, code, true); short != "" {
		return short
	}
	if name != "" {
		return name
	}
	return strconv.FormatUint(uint64(code), 10)
}

func writeDiameterStats(out *bufio.Writer, format string, terminal bool, st *correlate.DiameterStats) {
	switch format {
	case "json":
		var j txnJSON
		j.totals("diameter", txnTotals{st.Answered, st.Unanswered, st.Orphans, st.Retransmissions, st.Evicted})
		jsonArray(&j, "by_command", st.ByCommand, func(c *correlate.DiameterCommandStats) {
			j.b = append(j.b, `{"application_id":`...)
			j.b = strconv.AppendUint(j.b, uint64(c.ApplicationID), 10)
			j.str("application", c.Application)
			j.uint("command_code", uint64(c.CommandCode))
			j.str("command", c.Command)
			if _, short := diameter.CommandName(c.ApplicationID, c.CommandCode, true); short != "" {
				j.str("command_short", short)
			}
			j.uint("answered", uint64(c.Answered))
			j.uint("unanswered", uint64(c.Unanswered))
			j.uint("orphans", uint64(c.Orphans))
			j.uint("retransmissions", uint64(c.Retransmissions))
			j.latency("latency_ms", c.Latency)
			j.b = append(j.b, '}')
		})
		jsonArray(&j, "by_result", st.ByResult, func(r *correlate.DiameterResultStats) {
			j.b = append(j.b, `{"result":`...)
			j.b = strconv.AppendUint(j.b, uint64(r.Result), 10)
			j.uint("count", uint64(r.Latency.Count))
			j.latency("latency_ms", r.Latency)
			j.b = append(j.b, '}')
		})
		j.line(out)
	case "csv":
		c := render.NewCSV(out, "group", "application_id", "application", "command_code", "command", "result",
			"answered", "unanswered", "orphans", "retransmissions", "count", "p50_ms", "p90_ms", "p99_ms", "max_ms")
		for _, s := range st.ByCommand {
			c.Write(append([]string{"command", strconv.FormatUint(uint64(s.ApplicationID), 10), s.Application,
				strconv.FormatUint(uint64(s.CommandCode), 10), diameterCommandName(s.ApplicationID, s.CommandCode, s.Command), "",
				strconv.Itoa(s.Answered), strconv.Itoa(s.Unanswered), strconv.Itoa(s.Orphans), strconv.Itoa(s.Retransmissions),
				strconv.Itoa(s.Latency.Count)}, txnLatencyCells(s.Latency)...))
		}
		for _, r := range st.ByResult {
			c.Write(append([]string{"result", "", "", "", "", strconv.FormatUint(uint64(r.Result), 10), "", "", "", "",
				strconv.Itoa(r.Latency.Count)}, txnLatencyCells(r.Latency)...))
		}
		c.Write([]string{"total", "", "", "", "", "", strconv.Itoa(st.Answered), strconv.Itoa(st.Unanswered),
			strconv.Itoa(st.Orphans), strconv.Itoa(st.Retransmissions), "", "", "", "", ""})
		c.Flush()
	default:
		t := render.NewTable(out, terminal, append([]render.Column{{Name: "app", Width: 8}, {Name: "command", Width: 8},
			{Name: "answered", Width: 8}, {Name: "unanswered", Width: 10}, {Name: "orphans", Width: 7}, {Name: "retx", Width: 5}},
			txnLatencyColumns...)...)
		for _, s := range st.ByCommand {
			app := s.Application
			if app == "" {
				app = strconv.FormatUint(uint64(s.ApplicationID), 10)
			}
			t.Row(append([]string{app, diameterCommandName(s.ApplicationID, s.CommandCode, s.Command), strconv.Itoa(s.Answered),
				strconv.Itoa(s.Unanswered), strconv.Itoa(s.Orphans), strconv.Itoa(s.Retransmissions)}, txnLatencyCells(s.Latency)...)...)
		}
		t.Row(append([]string{"total", "", strconv.Itoa(st.Answered), strconv.Itoa(st.Unanswered), strconv.Itoa(st.Orphans),
			strconv.Itoa(st.Retransmissions)}, txnLatencyCells(correlate.Latency{})...)...)
		out.WriteByte('\n')
		t = render.NewTable(out, terminal, append([]render.Column{{Name: "result", Width: 8}, {Name: "answers", Width: 8}},
			txnLatencyColumns...)...)
		for _, r := range st.ByResult {
			t.Row(append([]string{strconv.FormatUint(uint64(r.Result), 10), strconv.Itoa(r.Latency.Count)}, txnLatencyCells(r.Latency)...)...)
		}
	}
}
