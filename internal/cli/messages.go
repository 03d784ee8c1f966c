package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/diameter"
	"github.com/sigtrace/sigtrace/decode/dns"
	"github.com/sigtrace/sigtrace/internal/render"
)

func init() { register(NewCmdMessages) }

// MessagesOptions are the inputs of `sigtrace messages`.
type MessagesOptions struct {
	Inputs []string
	Output string
	Dedup  bool
	Quiet  bool
	Filter FilterOptions
}

// NewCmdMessages builds `sigtrace messages`.
func NewCmdMessages(f *Factory) *cobra.Command {
	opts := &MessagesOptions{}
	cmd := &cobra.Command{
		Use:   "messages FILE...",
		Short: "List every SIP, Diameter and DNS message in captures",
		Long: `List every message, one line each: frame number, capture time, source, destination, transport,
protocol, method or status, Call-ID, CSeq, From and To users.

FILE is a pcap or pcapng capture, optionally gzip- or zstd-compressed, or - for standard input.
Several files are merged in time order. HEP found inside a capture is decapsulated.

The same message seen on two hops is two lines. An identical copy on the same hop within 100 ms (the
same packet captured twice) is marked duplicate; --dedup drops it.

--filter EXPR and --preset NAME keep only the messages a display filter selects (Wireshark-like
fields such as sip.method, diameter.cmd.code, dns.qry.name; see sigtrace filter --help,
--list-fields and --list-presets). The summary then counts the messages shown.

-o json writes NDJSON with these fields: frame, frames (all frames of a reassembled message), time
(RFC 3339 UTC, microseconds), input, src, dst, transport, protocol, and for SIP: method, request_uri,
status, reason, call_id, cseq, cseq_method, from_user, to_user, from_tag, to_tag, branch, user_agent,
invalid (why the message breaks the grammar), duplicate; for Diameter: diameter {flags, command_code,
command, command_short, application_id, application, hop_by_hop, end_to_end, session_id, origin and
destination host and realm, result_code, experimental_result_code, cc_request_type/number,
user_name, public_identity, avps (the full tree)}; for DNS: dns {id, response, opcode, flags, rcode,
rcode_name, questions, answers, authority, additional, edns}; for HEP-carried messages: hep {version,
capture_id, node, correlation_id}. -o csv has the same columns for every protocol: for Diameter,
method is the command, status the result, call_id the Session-Id and cseq the hop-by-hop id; for DNS,
method is "query" or the rcode, call_id the question, cseq the id and to_user the answers.

At the end, stderr gets a summary: frames read, messages decoded, frames skipped and malformed by
reason with the first frame numbers of each, and warnings for damaged inputs.`,
		Example: `  sigtrace messages samples/demo.pcap
  sigtrace messages -o json a.pcap b.pcapng.gz | jq .call_id
  sigtrace messages core.pcapng --preset epc-ims --filter 'sip.status >= 500 or diameter.result_code >= 3000'
  tcpdump -w - -i any port 5060 | sigtrace messages -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return messagesRun(cmd, f, opts)
		},
	}
	addOutputFlag(cmd, &opts.Output, "table", "json", "csv")
	cmd.Flags().BoolVar(&opts.Dedup, "dedup", false, "drop identical copies of a message on the same hop (capture duplicates)")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no summary on stderr")
	addFilterFlags(cmd, f, &opts.Filter)
	return cmd
}

func messagesRun(cmd *cobra.Command, f *Factory, opts *MessagesOptions) error {
	out := bufio.NewWriterSize(f.Stdout, 256<<10)
	defer out.Flush()
	flt, err := opts.Filter.Compile()
	if err != nil {
		return err
	}
	w := newMessageWriter(out, opts.Output, f.StdoutIsTerminal)
	shown := 0
	stats, err := decode.Run(cmd.Context(), opts.Inputs, func(m *decode.Message) {
		if opts.Dedup && m.Duplicate || !flt.MatchMessage(m) {
			return
		}
		shown++
		w.write(m)
	}, decode.Options{})
	if err != nil {
		return err
	}
	w.flush()
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if !opts.Quiet {
		writeSummary(f.Stderr, stats)
		if flt != nil {
			fmt.Fprintf(f.Stderr, "sigtrace: %d messages matched the filter\n", shown)
		}
	}
	return nil
}

// messageWriter renders decoded messages in one of the output formats.
type messageWriter struct {
	out    *bufio.Writer
	format string
	table  *render.Table
	csv    *csv.Writer
	buf    []byte

	input     string
	inputJSON []byte
}

func newMessageWriter(out *bufio.Writer, format string, terminal bool) *messageWriter {
	w := &messageWriter{out: out, format: format}
	switch format {
	case "table":
		w.table = render.NewTable(out, terminal,
			render.Column{Name: "frame", Width: 6}, render.Column{Name: "time", Width: 27},
			render.Column{Name: "src", Width: 21}, render.Column{Name: "dst", Width: 21},
			render.Column{Name: "proto", Width: 8}, render.Column{Name: "message", Width: 10},
			render.Column{Name: "call-id", Width: 36}, render.Column{Name: "cseq", Width: 14},
			render.Column{Name: "from", Width: 14}, render.Column{Name: "to", Width: 14})
	case "csv":
		w.csv = render.NewCSV(out, "frame", "time", "input", "src", "dst", "transport", "protocol",
			"method", "status", "call_id", "cseq", "cseq_method", "from_user", "to_user", "duplicate")
	}
	return w
}

func (w *messageWriter) flush() {
	if w.csv != nil {
		w.csv.Flush()
	}
}

func (w *messageWriter) write(m *decode.Message) {
	switch w.format {
	case "json":
		if m.Input != w.input {
			// The input name repeats on every line: escape it once.
			w.input = m.Input
			w.inputJSON = render.AppendJSONString(w.inputJSON[:0], m.Input)
		}
		w.buf = appendMessageJSON(w.buf[:0], m, w.inputJSON)
		w.buf = append(w.buf, '\n')
		w.out.Write(w.buf)
	case "csv":
		s := m.SIP
		rec := []string{strconv.Itoa(m.Frame), string(render.AppendTime(nil, m.Time)), m.Input, m.Src.String(), m.Dst.String(),
			m.Transport.String(), m.Protocol.String(), "", "", "", "", "", "", "", strconv.FormatBool(m.Duplicate)}
		if m.Protocol == decode.ProtoSIP {
			rec[7] = string(s.Method)
			if !s.IsRequest {
				rec[8] = strconv.Itoa(s.StatusCode)
			}
			rec[9] = string(s.CallID)
			rec[10] = strconv.FormatUint(uint64(s.CSeq), 10)
			rec[11] = string(s.CSeqMethod)
			rec[12] = string(s.FromUser())
			rec[13] = string(s.ToUser())
		}
		switch m.Protocol {
		case decode.ProtoDiameter:
			// method: command (short form), status: result, call_id: Session-Id, cseq: hop-by-hop
			what, session, ids, from, to := diameterColumns(m.Diameter)
			rec[7], rec[9], rec[10], rec[12], rec[13] = what, session, ids, from, to
			if r := m.Diameter.Result(); !m.Diameter.Flags.Request && r != 0 {
				rec[7], rec[8] = strings.TrimSuffix(what, " "+strconv.FormatUint(uint64(r), 10)), strconv.FormatUint(uint64(r), 10)
			}
		case decode.ProtoDNS:
			// method: query or rcode, call_id: the question, cseq: the id, to_user: the answers
			what, question, id, answers, _ := dnsColumns(m.DNS)
			rec[7], rec[9], rec[10], rec[13] = what, question, id, answers
		}
		w.csv.Write(rec)
	default:
		what, callID, cseq, from, to := "", "", "", "", ""
		if m.Protocol == decode.ProtoSIP {
			s := m.SIP
			if s.IsRequest {
				what = string(s.Method)
			} else {
				what = strconv.Itoa(s.StatusCode)
			}
			callID = string(s.CallID)
			cseq = strconv.FormatUint(uint64(s.CSeq), 10) + " " + string(s.CSeqMethod)
			from, to = string(s.FromUser()), string(s.ToUser())
		}
		switch m.Protocol {
		case decode.ProtoDiameter:
			what, callID, cseq, from, to = diameterColumns(m.Diameter)
		case decode.ProtoDNS:
			what, callID, cseq, from, to = dnsColumns(m.DNS)
		}
		if m.Duplicate {
			what += " (dup)"
		}
		w.table.Row(strconv.Itoa(m.Frame), string(render.AppendTime(nil, m.Time)), m.Src.String(), m.Dst.String(),
			m.Transport.String()+"/"+m.Protocol.String(), what, callID, cseq, from, to)
	}
}

// diameterColumns fills the table's columns for a Diameter message: command (short form when the
// dictionary has one) with R for requests or the result for answers, Session-Id, hop-by-hop id,
// origin and destination.
func diameterColumns(d *diameter.Message) (what, session, ids, from, to string) {
	what = d.CommandShort
	if what == "" {
		what = strconv.FormatUint(uint64(d.CommandCode), 10)
		if d.Flags.Request {
			what += "-R"
		} else {
			what += "-A"
		}
	}
	if r := d.Result(); !d.Flags.Request && r != 0 {
		what += " " + strconv.FormatUint(uint64(r), 10)
	}
	to = d.DestinationHost
	if to == "" {
		to = d.DestinationRealm
	}
	return what, d.SessionID, fmt.Sprintf("hbh 0x%08x", d.HopByHop), d.OriginHost, to
}

// dnsColumns fills the table's columns for a DNS message: query or response with its rcode, the
// question, the id, and the answers.
func dnsColumns(d *dns.Message) (what, question, id, answers, _ string) {
	what = "query"
	if d.Response {
		what = d.RcodeName
	}
	if len(d.Questions) > 0 {
		question = d.Questions[0].Type + " " + d.Questions[0].Name
	}
	var parts []string
	for _, rr := range d.Answers {
		parts = append(parts, rr.Data)
	}
	return what, question, fmt.Sprintf("id 0x%04x", d.ID), strings.Join(parts, " "), ""
}

// appendJSONValue appends ,"name": and v marshalled with encoding/json (Diameter and DNS messages
// are few next to SIP, so reflection is affordable here).
func appendJSONValue(b []byte, name string, v any) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}

// appendMessageJSON appends one message as a JSON object (no newline); inputJSON is m.Input as a
// JSON string.
func appendMessageJSON(b []byte, m *decode.Message, inputJSON []byte) []byte {
	b = append(b, `{"frame":`...)
	b = strconv.AppendInt(b, int64(m.Frame), 10)
	if len(m.Frames) > 1 {
		b = append(b, `,"frames":[`...)
		for i, n := range m.Frames {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(n), 10)
		}
		b = append(b, ']')
	}
	b = append(b, `,"time":"`...)
	b = render.AppendTime(b, m.Time)
	b = append(b, `","input":`...)
	b = append(b, inputJSON...)
	b = append(b, `,"src":"`...)
	b = m.Src.AppendTo(b)
	b = append(b, `","dst":"`...)
	b = m.Dst.AppendTo(b)
	b = append(b, `","transport":"`...)
	b = append(b, m.Transport.String()...)
	b = append(b, `","protocol":"`...)
	b = append(b, m.Protocol.String()...)
	b = append(b, '"')
	switch m.Protocol {
	case decode.ProtoSIP:
		b = appendSIPJSON(b, m)
	case decode.ProtoDiameter:
		b = appendJSONValue(b, "diameter", m.Diameter)
	case decode.ProtoDNS:
		b = appendJSONValue(b, "dns", m.DNS)
	}
	if m.Err != nil {
		b = append(b, `,"invalid":`...)
		b = render.AppendJSONString(b, m.Err.Error())
	}
	if m.Duplicate {
		b = append(b, `,"duplicate":true`...)
	}
	if h := m.HEP; h != nil {
		b = append(b, `,"hep":{"version":`...)
		b = strconv.AppendInt(b, int64(h.Version), 10)
		b = append(b, `,"capture_id":`...)
		b = strconv.AppendUint(b, uint64(h.CaptureID), 10)
		if h.Node != "" {
			b = append(b, `,"node":`...)
			b = render.AppendJSONString(b, h.Node)
		}
		if h.CorrelationID != "" {
			b = append(b, `,"correlation_id":`...)
			b = render.AppendJSONString(b, h.CorrelationID)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendSIPJSON(b []byte, m *decode.Message) []byte {
	s := m.SIP
	if s.IsRequest {
		b = append(b, `,"method":`...)
		b = render.AppendJSONString(b, s.Method)
		b = append(b, `,"request_uri":`...)
		b = render.AppendJSONString(b, s.RequestURI)
	} else {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(s.StatusCode), 10)
		b = append(b, `,"reason":`...)
		b = render.AppendJSONString(b, s.Reason)
	}
	b = appendField(b, "call_id", s.CallID)
	b = append(b, `,"cseq":`...)
	b = strconv.AppendUint(b, uint64(s.CSeq), 10)
	b = appendField(b, "cseq_method", s.CSeqMethod)
	b = appendField(b, "from_user", s.FromUser())
	b = appendField(b, "to_user", s.ToUser())
	b = appendField(b, "from_tag", s.FromTag())
	b = appendField(b, "to_tag", s.ToTag())
	b = appendField(b, "branch", s.Branch())
	b = appendField(b, "user_agent", s.UserAgent)
	return b
}

// appendField appends ,"name":"value" when value is not empty.
func appendField(b []byte, name string, value []byte) []byte {
	if len(value) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return render.AppendJSONString(b, value)
}

// writeSummary reports, on stderr, what a run read, decoded and skipped.
func writeSummary(w io.Writer, s *decode.Stats) {
	var parts []string
	for p := decode.ProtoSIP; p <= decode.ProtoDNS; p++ {
		if s.Messages[p] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", p, s.Messages[p]))
		}
	}
	detail := ""
	if len(parts) > 0 {
		detail = " (" + strings.Join(parts, ", ") + ")"
	}
	skipped, malformed := 0, 0
	for _, r := range s.Reasons() {
		skipped += r.Count
		if r.Reason.Malformed() {
			malformed += r.Count
		}
	}
	fmt.Fprintf(w, "sigtrace: %d frames (%s) read, %d messages decoded%s, %d duplicates; %d frames skipped, %d of them malformed\n",
		s.Frames, humanBytes(s.Bytes), s.TotalMessages(), detail, s.Duplicates, skipped, malformed)
	for _, r := range s.Reasons() {
		kind := "skipped"
		if r.Reason.Malformed() {
			kind = "malformed"
		}
		refs := make([]string, len(r.FirstFrames))
		for i, ref := range r.FirstFrames {
			refs[i] = strconv.Itoa(ref.Frame)
			if s.Inputs > 1 {
				refs[i] = filepath.Base(ref.Input) + ":" + refs[i]
			}
		}
		fmt.Fprintf(w, "sigtrace:   %s %s: %d (first frames: %s)\n", kind, r.Reason, r.Count, strings.Join(refs, ", "))
		if r.Example != "" {
			fmt.Fprintf(w, "sigtrace:     e.g. %s\n", r.Example)
		}
	}
	if t := s.TCP; t.Gaps+t.Overflows+t.Leftover > 0 {
		fmt.Fprintf(w, "sigtrace:   tcp: %d holes never filled, %d oversized messages dropped, %d streams ended mid-message\n", t.Gaps, t.Overflows, t.Leftover)
	}
	if s.Fragments.Expired+s.Fragments.Overflow > 0 {
		fmt.Fprintf(w, "sigtrace:   ip: %d fragmented datagrams never completed\n", s.Fragments.Expired+s.Fragments.Overflow)
	}
	for _, warn := range s.Warnings {
		fmt.Fprintf(w, "sigtrace: warning: %v\n", warn)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
