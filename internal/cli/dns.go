package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/dns"
	"github.com/sigtrace/sigtrace/internal/render"
)

func init() { register(NewCmdDNS) }

// DNSOptions are the inputs of `sigtrace dns`.
type DNSOptions = TxnOptions

// NewCmdDNS builds `sigtrace dns`.
func NewCmdDNS(f *Factory) *cobra.Command {
	opts := &DNSOptions{}
	cmd := &cobra.Command{
		Use:   "dns FILE...",
		Short: "List DNS transactions (query and response) with their latency, or their statistics",
		Long: `Pair every DNS query with its response and list the transactions: time, frames, client and
server, id, question type and name, rcode, answers, latency and status.

A response belongs to the query that travelled the other way between the same two addresses and
ports with the same id and question (names compared without case). A response without question
section (FORMERR, REFUSED) answers the oldest waiting query with its id. The same query sent again
before its response is a retransmission of the first and counted as such. A query without response
within --timeout of capture time, or by the end of the captures, is listed "unanswered"; a response
whose query was not captured is listed "orphan". Transactions are listed as they complete: answered
ones at their response, unanswered ones when they time out or at the end. Capture duplicates (the
same packet captured twice) are ignored.

FILE is a pcap or pcapng capture, optionally gzip- or zstd-compressed, or - for standard input.
Several files are merged in time order. DNS is found on port 53 and 5353 over UDP (fragmented too,
and inside GTP-U or HEP) and TCP.

Latency runs from the first copy of the query to the response.

-o json writes NDJSON, one transaction per line: status (answered, unanswered, orphan), time (the
query's, or the orphan response's), input, transport, client, server, id, opcode, name (fully
qualified, with the final dot), type, qtype, query_frame, query_time, response_frame, response_time,
response_input (when not the query's input), rcode, rcode_name, aa, tc (flags of the response),
answers [name, type, class, ttl, data], addresses (of the A and AAAA answers), authority and
additional (record counts), latency_ms, retransmission_frames, evicted (dropped because more than
--max-open queries waited). Times are RFC 3339 UTC with microseconds; latencies are milliseconds.
Fields without a value are left out.
-o csv writes the main fields, one transaction per row, the answers' data joined with ';'.

--stats prints, instead of the transactions, their counts and latency percentiles (p50, p90, p99,
max, nearest rank, in ms) per query type and per rcode. With -o json it is one JSON object:
protocol ("dns"), answered, unanswered, orphans, retransmissions, evicted, by_type [qtype, type,
answered, unanswered, orphans, retransmissions, latency_ms {count, p50, p90, p99, max}], by_rcode
[rcode, rcode_name, count, latency_ms]; with -o csv one row per type ("type"), rcode ("rcode") and
the totals ("total").`,
		Example: `  sigtrace dns capture.pcapng
  sigtrace dns --stats resolver.pcap.zst
  sigtrace dns -o json ims.pcap | jq 'select(.rcode_name == "NXDOMAIN") | .name'
  sigtrace dns -o json ims.pcap | jq 'select(.type == "NAPTR") | .answers[].data'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return dnsRun(cmd.Context(), f, opts)
		},
	}
	addTxnFlags(cmd, f, opts, dnsWords)
	return cmd
}

var dnsWords = txnWords{protocol: "DNS", request: "query", answer: "response", requests: "queries",
	groups: "query type and per rcode", defaultTimeout: 30 * time.Second}

func dnsRun(ctx context.Context, f *Factory, opts *DNSOptions) error {
	po, err := txnPairOptions(opts.Timeout, opts.MaxOpen)
	if err != nil {
		return err
	}
	p := correlate.NewDNSPairer(po)
	return txnCommand[dns.Message, correlate.DNSTransaction]{
		pass: txnPass[dns.Message, correlate.DNSTransaction]{
			proto:    decode.ProtoDNS,
			message:  func(m *decode.Message) *dns.Message { return m.DNS },
			add:      p.Add,
			flush:    p.Flush,
			halves:   func(t *correlate.DNSTransaction) (*dns.Message, *dns.Message) { return t.Query, t.Response },
			selectBy: func(sel func(*correlate.DNSTransaction) bool) { p.Select = sel },
			selected: func(m *dns.Message) *bool { return &m.Selected },
		},
		newWriter: func(out *bufio.Writer) txnWriter[correlate.DNSTransaction] {
			return newDNSWriter(out, opts.Output, f.StdoutIsTerminal)
		},
		finish: func(out *bufio.Writer, stats bool) txnTotals {
			st := p.Stats()
			if stats {
				writeDNSStats(out, opts.Output, f.StdoutIsTerminal, &st)
			}
			return txnTotals{st.Answered, st.Unanswered, st.Orphans, st.Retransmissions, st.Evicted}
		},
		words: dnsWords,
	}.run(ctx, f, opts)
}

// dnsWriter renders DNS transactions in one of the output formats.
type dnsWriter struct {
	out    *bufio.Writer
	format string
	table  *render.Table
	csv    *csv.Writer
	json   txnJSON
}

func newDNSWriter(out *bufio.Writer, format string, terminal bool) *dnsWriter {
	w := &dnsWriter{out: out, format: format}
	switch format {
	case "table":
		w.table = render.NewTable(out, terminal,
			render.Column{Name: "time", Width: 27}, render.Column{Name: "frames", Width: 9},
			render.Column{Name: "client", Width: 21}, render.Column{Name: "server", Width: 21},
			render.Column{Name: "id", Width: 6}, render.Column{Name: "type", Width: 5},
			render.Column{Name: "name", Width: 36}, render.Column{Name: "rcode", Width: 8},
			render.Column{Name: "latency-ms", Width: 10}, render.Column{Name: "status", Width: 10},
			render.Column{Name: "answers", Width: 0})
	case "csv":
		w.csv = render.NewCSV(out, "status", "time", "input", "transport", "client", "server", "id", "name", "type",
			"query_frame", "response_frame", "rcode", "answers", "latency_ms", "retransmissions", "evicted")
	}
	return w
}

func (w *dnsWriter) flush() {
	if w.csv != nil {
		w.csv.Flush()
	}
}

// dnsView is what every output format shows of a transaction.
type dnsView struct {
	m              *dns.Message // the query, or the orphan response
	first          decode.Envelope
	client, server netip.AddrPort
	q              dns.Question // zero when the message has no question
	rcode          string       // the response's mnemonic, "" without response
}

func viewDNS(t *correlate.DNSTransaction) dnsView {
	v := dnsView{m: t.Message(), first: t.QueryEnv, client: t.QueryEnv.Src, server: t.QueryEnv.Dst}
	if t.Query == nil {
		v.first, v.client, v.server = t.ResponseEnv, t.ResponseEnv.Dst, t.ResponseEnv.Src
	}
	if len(v.m.Questions) > 0 {
		v.q = v.m.Questions[0]
	}
	if t.Response != nil {
		v.rcode = t.Response.RcodeName
	}
	return v
}

// dnsAnswerData lists the data of the answer records ("192.0.2.1", "10 5060 pcscf.example.").
func dnsAnswerData(t *correlate.DNSTransaction) []string {
	if t.Response == nil {
		return nil
	}
	data := make([]string, len(t.Response.Answers))
	for i, rr := range t.Response.Answers {
		data[i] = rr.Data
	}
	return data
}

func (w *dnsWriter) write(t *correlate.DNSTransaction) {
	v := viewDNS(t)
	latency := ""
	if t.Status == correlate.PairAnswered {
		latency = txnMillisString(t.Latency)
	}
	switch w.format {
	case "json":
		w.writeJSON(t, &v)
	case "csv":
		query, resp := "", ""
		if t.Query != nil {
			query = strconv.Itoa(t.QueryEnv.Frame)
		}
		if t.Response != nil {
			resp = strconv.Itoa(t.ResponseEnv.Frame)
		}
		w.csv.Write([]string{t.Status.String(), csvTime(v.first.Time), v.first.Input, v.first.Transport.String(),
			v.client.String(), v.server.String(), fmt.Sprintf("0x%04x", v.m.ID), v.q.Name, v.q.Type, query, resp, v.rcode,
			strings.Join(dnsAnswerData(t), ";"), latency, strconv.Itoa(len(t.Retransmissions)), strconv.FormatBool(t.Evicted)})
	default:
		w.table.Row(csvTime(v.first.Time), txnFrames(t.QueryEnv, t.ResponseEnv), v.client.String(), v.server.String(),
			fmt.Sprintf("0x%04x", v.m.ID), v.q.Type, v.q.Name, v.rcode, latency, txnStatus(t.Status, t.Evicted, len(t.Retransmissions)),
			strings.Join(dnsAnswerData(t), ", "))
	}
}

func (w *dnsWriter) writeJSON(t *correlate.DNSTransaction, v *dnsView) {
	j, m := &w.json, v.m
	j.open("status", t.Status.String())
	j.time("time", v.first.Time)
	j.str("input", v.first.Input)
	j.str("transport", v.first.Transport.String())
	j.addr("client", v.client)
	j.addr("server", v.server)
	j.uint("id", uint64(m.ID))
	j.str("opcode", m.Opcode)
	if len(m.Questions) > 0 {
		j.key("name")
		j.b = render.AppendJSONString(j.b, v.q.Name) // the root is "." but an empty name is possible
		j.str("type", v.q.Type)
		j.uint("qtype", uint64(v.q.QType))
	}
	if t.Query != nil {
		j.uint("query_frame", uint64(t.QueryEnv.Frame))
		j.time("query_time", t.QueryEnv.Time)
	}
	if r := t.Response; r != nil {
		j.uint("response_frame", uint64(t.ResponseEnv.Frame))
		j.time("response_time", t.ResponseEnv.Time)
		if t.ResponseEnv.Input != v.first.Input {
			j.str("response_input", t.ResponseEnv.Input)
		}
		j.uint("rcode", uint64(r.Rcode))
		j.str("rcode_name", r.RcodeName)
		j.flag("aa", r.Authoritative)
		j.flag("tc", r.Truncated)
		if len(r.Answers) > 0 {
			jsonArray(j, "answers", r.Answers, func(rr *dns.RR) { j.b = appendDNSRecord(j.b, rr) })
		}
		if addrs := r.Addresses(); len(addrs) > 0 {
			jsonArray(j, "addresses", addrs, func(a *netip.Addr) {
				j.b = append(j.b, '"')
				j.b = a.AppendTo(j.b)
				j.b = append(j.b, '"')
			})
		}
		j.nonZero("authority", uint64(len(r.Authority)))
		j.nonZero("additional", uint64(len(r.Additional)))
	}
	if t.Status == correlate.PairAnswered {
		j.millis("latency_ms", t.Latency)
	}
	j.frames("retransmission_frames", t.Retransmissions)
	j.flag("evicted", t.Evicted)
	j.line(w.out)
}

// appendDNSRecord appends a resource record as a JSON object.
func appendDNSRecord(b []byte, rr *dns.RR) []byte {
	b = append(b, `{"name":`...)
	b = render.AppendJSONString(b, rr.Name)
	b = append(b, `,"type":`...)
	b = render.AppendJSONString(b, rr.Type)
	b = append(b, `,"class":`...)
	b = render.AppendJSONString(b, rr.Class)
	b = append(b, `,"ttl":`...)
	b = strconv.AppendUint(b, uint64(rr.TTL), 10)
	b = append(b, `,"data":`...)
	b = render.AppendJSONString(b, rr.Data)
	return append(b, '}')
}

func writeDNSStats(out *bufio.Writer, format string, terminal bool, st *correlate.DNSStats) {
	switch format {
	case "json":
		var j txnJSON
		j.totals("dns", txnTotals{st.Answered, st.Unanswered, st.Orphans, st.Retransmissions, st.Evicted})
		jsonArray(&j, "by_type", st.ByType, func(s *correlate.DNSTypeStats) {
			j.b = append(j.b, `{"qtype":`...)
			j.b = strconv.AppendUint(j.b, uint64(s.QType), 10)
			j.str("type", s.Type)
			j.uint("answered", uint64(s.Answered))
			j.uint("unanswered", uint64(s.Unanswered))
			j.uint("orphans", uint64(s.Orphans))
			j.uint("retransmissions", uint64(s.Retransmissions))
			j.latency("latency_ms", s.Latency)
			j.b = append(j.b, '}')
		})
		jsonArray(&j, "by_rcode", st.ByRcode, func(r *correlate.DNSRcodeStats) {
			j.b = append(j.b, `{"rcode":`...)
			j.b = strconv.AppendInt(j.b, int64(r.Rcode), 10)
			j.str("rcode_name", r.Name)
			j.uint("count", uint64(r.Latency.Count))
			j.latency("latency_ms", r.Latency)
			j.b = append(j.b, '}')
		})
		j.line(out)
	case "csv":
		c := render.NewCSV(out, "group", "qtype", "type", "rcode", "rcode_name", "answered", "unanswered", "orphans",
			"retransmissions", "count", "p50_ms", "p90_ms", "p99_ms", "max_ms")
		for _, s := range st.ByType {
			c.Write(append([]string{"type", strconv.Itoa(int(s.QType)), dnsTypeName(s), "", "", strconv.Itoa(s.Answered),
				strconv.Itoa(s.Unanswered), strconv.Itoa(s.Orphans), strconv.Itoa(s.Retransmissions), strconv.Itoa(s.Latency.Count)},
				txnLatencyCells(s.Latency)...))
		}
		for _, r := range st.ByRcode {
			c.Write(append([]string{"rcode", "", "", strconv.Itoa(r.Rcode), r.Name, "", "", "", "", strconv.Itoa(r.Latency.Count)},
				txnLatencyCells(r.Latency)...))
		}
		c.Write([]string{"total", "", "", "", "", strconv.Itoa(st.Answered), strconv.Itoa(st.Unanswered),
			strconv.Itoa(st.Orphans), strconv.Itoa(st.Retransmissions), "", "", "", "", ""})
		c.Flush()
	default:
		t := render.NewTable(out, terminal, append([]render.Column{{Name: "type", Width: 8}, {Name: "answered", Width: 8},
			{Name: "unanswered", Width: 10}, {Name: "orphans", Width: 7}, {Name: "retx", Width: 5}}, txnLatencyColumns...)...)
		for _, s := range st.ByType {
			t.Row(append([]string{dnsTypeName(s), strconv.Itoa(s.Answered), strconv.Itoa(s.Unanswered), strconv.Itoa(s.Orphans),
				strconv.Itoa(s.Retransmissions)}, txnLatencyCells(s.Latency)...)...)
		}
		t.Row(append([]string{"total", strconv.Itoa(st.Answered), strconv.Itoa(st.Unanswered), strconv.Itoa(st.Orphans),
			strconv.Itoa(st.Retransmissions)}, txnLatencyCells(correlate.Latency{})...)...)
		out.WriteByte('\n')
		t = render.NewTable(out, terminal, append([]render.Column{{Name: "rcode", Width: 8}, {Name: "responses", Width: 9}},
			txnLatencyColumns...)...)
		for _, r := range st.ByRcode {
			t.Row(append([]string{r.Name, strconv.Itoa(r.Latency.Count)}, txnLatencyCells(r.Latency)...)...)
		}
	}
}

// dnsTypeName names a query type for the statistics; "-" for messages without question.
func dnsTypeName(s correlate.DNSTypeStats) string {
	if s.Type == "" {
		return "-"
	}
	return s.Type
}
