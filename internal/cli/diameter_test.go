package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// txn is a transaction line of `sigtrace diameter -o json` or `sigtrace dns -o json`, read back with
// encoding/json (which also checks that each line is valid JSON).
type txn struct {
	Status      string  `json:"status"`
	Time        string  `json:"time"`
	Input       string  `json:"input"`
	Transport   string  `json:"transport"`
	LatencyMS   float64 `json:"latency_ms"`
	HasLatency  bool    `json:"-"`
	Retransmits []int   `json:"retransmission_frames"`
	Evicted     bool    `json:"evicted"`

	// Diameter
	Src           string  `json:"src"`
	Dst           string  `json:"dst"`
	ApplicationID uint32  `json:"application_id"`
	CommandCode   uint32  `json:"command_code"`
	CommandShort  string  `json:"command_short"`
	SessionID     string  `json:"session_id"`
	HopByHop      uint32  `json:"hop_by_hop"`
	RequestFrame  int     `json:"request_frame"`
	RequestTime   string  `json:"request_time"`
	AnswerFrame   int     `json:"answer_frame"`
	AnswerTime    string  `json:"answer_time"`
	Result        *uint32 `json:"result"`

	// DNS
	Client        string   `json:"client"`
	Server        string   `json:"server"`
	ID            uint16   `json:"id"`
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	QType         uint16   `json:"qtype"`
	QueryFrame    int      `json:"query_frame"`
	QueryTime     string   `json:"query_time"`
	ResponseFrame int      `json:"response_frame"`
	ResponseTime  string   `json:"response_time"`
	Rcode         *int     `json:"rcode"`
	RcodeName     string   `json:"rcode_name"`
	Addresses     []string `json:"addresses"`
	Answers       []struct {
		Type string `json:"type"`
		Data string `json:"data"`
	} `json:"answers"`
}

// readTxns parses NDJSON output, one transaction per line.
func readTxns(t *testing.T, out string) []txn {
	t.Helper()
	var txns []txn
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var x txn
		if err := json.Unmarshal([]byte(line), &x); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		x.HasLatency = strings.Contains(line, `"latency_ms":`)
		txns = append(txns, x)
	}
	return txns
}

// mustRun runs sigtrace and fails unless it exits 0.
func mustRun(t *testing.T, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := runCLI(t, args...)
	if code != ExitOK {
		t.Fatalf("sigtrace %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out, errOut
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return tm
}

// checkLatency checks that latency_ms is the time from the first copy of the request to the answer.
func checkLatency(t *testing.T, x txn, from, to string) {
	t.Helper()
	want := float64(parseTime(t, to).Sub(parseTime(t, from))) / 1e6
	if !x.HasLatency || math.Abs(x.LatencyMS-want) > 0.0005 {
		t.Errorf("%+v: latency_ms %v, the times say %.3f", x, x.LatencyMS, want)
	}
}

func TestDiameterResyncUnansweredAIR(t *testing.T) {
	path := corpus.Path(t, "third_party/pyhss/Resync.pcap")
	out, errOut := mustRun(t, "diameter", "-o", "json", path)
	txns := readTxns(t, out)
	unanswered := 0
	for _, x := range txns {
		if x.CommandShort != "AIR" || x.ApplicationID != 16777251 || x.Input != path || x.Transport != "sctp" ||
			!strings.HasSuffix(x.Dst, ":3868") {
			t.Errorf("not an S6a AIR over SCTP from the input: %+v", x)
		}
		switch x.Status {
		case "answered":
			checkLatency(t, x, x.RequestTime, x.AnswerTime)
			if x.Time != x.RequestTime || x.AnswerFrame <= x.RequestFrame || x.Result == nil {
				t.Errorf("answered: %+v", x)
			}
		case "unanswered":
			unanswered++
			// The capture ends with this AIR (MANIFEST.md).
			if x.RequestFrame != 11 || x.AnswerFrame != 0 || x.AnswerTime != "" || x.Result != nil || x.HasLatency {
				t.Errorf("unanswered: %+v", x)
			}
		default:
			t.Errorf("status %q", x.Status)
		}
	}
	if unanswered != 1 || len(txns) != 6 {
		t.Errorf("%d transactions, %d unanswered; want the 5 AIR/AIA pairs and the last AIR", len(txns), unanswered)
	}
	if !strings.Contains(errOut, "6 Diameter transactions: 5 answered, 1 unanswered, 0 orphan answers") {
		t.Errorf("summary: %s", errOut)
	}

	table, _ := mustRun(t, "diameter", path)
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if last := strings.Split(lines[len(lines)-1], "\t"); last[1] != "11/-" || last[len(last)-1] != "unanswered" {
		t.Errorf("table: the last AIR shows as %q", last)
	}
}

// diameterCaptures are the corpus captures with Diameter (over SCTP, TCP, several PDUs per packet).
var diameterCaptures = []string{
	"third_party/pyhss/Resync.pcap",
	"third_party/pyhss/Diameter_AIA2.pcapng",
	"third_party/open5gs/testattach.pcapng",
	"third_party/open5gs/ipsec_to_nonipsec_call.pcapng",
	"third_party/open5gs/nonipsec_reg.pcapng",
	"third_party/ndpi/diameter.pcap",
	"third_party/arkime/diameter_synthetic.pcap",
}

// The table, CSV and JSON outputs must show the same transactions in the same order.
func TestDiameterFormatsAgree(t *testing.T) {
	for _, name := range diameterCaptures {
		t.Run(filepath.Base(name), func(t *testing.T) {
			path := corpus.Path(t, name)
			js, _ := mustRun(t, "diameter", "-q", "-o", "json", path)
			table, _ := mustRun(t, "diameter", "-q", path)
			cs, _ := mustRun(t, "diameter", "-q", "-o", "csv", path)
			txns := readTxns(t, js)
			rows := tableRows(t, table)
			records := csvRecords(t, cs)
			if len(txns) == 0 || len(rows) != len(txns) || len(records) != len(txns) {
				t.Fatalf("%d JSON lines, %d table rows, %d CSV records", len(txns), len(rows), len(records))
			}
			for i, x := range txns {
				frames := frameOrDash(x.RequestFrame) + "/" + frameOrDash(x.AnswerFrame)
				result, latency := "", ""
				if x.Result != nil {
					result = strconv.FormatUint(uint64(*x.Result), 10)
				}
				if x.HasLatency {
					latency = strconv.FormatFloat(x.LatencyMS, 'f', 3, 64)
				}
				status := rows[i]["STATUS"]
				if rows[i]["TIME"] != x.Time || rows[i]["FRAMES"] != frames || rows[i]["SRC"] != x.Src ||
					rows[i]["DST"] != x.Dst || rows[i]["SESSION"] != x.SessionID || rows[i]["RESULT"] != result ||
					rows[i]["LATENCY-MS"] != latency || !strings.HasPrefix(status, x.Status) {
					t.Errorf("table row %d %v, JSON %+v", i, rows[i], x)
				}
				r := records[i]
				if r["status"] != x.Status || r["time"] != x.Time || r["src"] != x.Src || r["dst"] != x.Dst ||
					r["session_id"] != x.SessionID || r["result"] != result || r["latency_ms"] != latency ||
					r["hop_by_hop"] != fmt.Sprintf("0x%08x", x.HopByHop) || r["request_frame"] != frameOrEmpty(x.RequestFrame) ||
					r["answer_frame"] != frameOrEmpty(x.AnswerFrame) || r["retransmissions"] != strconv.Itoa(len(x.Retransmits)) {
					t.Errorf("CSV record %d %v, JSON %+v", i, r, x)
				}
			}
		})
	}
}

func frameOrDash(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func frameOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// tableRows reads a tab-separated table (the form for pipes) into rows keyed by column header.
func tableRows(t *testing.T, out string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	header := strings.Split(lines[0], "\t")
	var rows []map[string]string
	for _, l := range lines[1:] {
		cells := strings.Split(l, "\t")
		if len(cells) != len(header) {
			t.Fatalf("table row %q: %d cells, header %d", l, len(cells), len(header))
		}
		row := map[string]string{}
		for i, h := range header {
			row[h] = cells[i]
		}
		rows = append(rows, row)
	}
	return rows
}

// csvRecords reads CSV into records keyed by column header.
func csvRecords(t *testing.T, out string) []map[string]string {
	t.Helper()
	all, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	var recs []map[string]string
	for _, rec := range all[1:] {
		r := map[string]string{}
		for i, h := range all[0] {
			r[h] = rec[i]
		}
		recs = append(recs, r)
	}
	return recs
}

// statsLatency is a latency summary of --stats -o json.
type statsLatency struct {
	Count int      `json:"count"`
	P50   *float64 `json:"p50"`
	P90   *float64 `json:"p90"`
	P99   *float64 `json:"p99"`
	Max   *float64 `json:"max"`
}

// nearestRank summarises latencies the way --stats documents: p is the smallest value at least p%
// of the samples do not exceed.
func nearestRank(samples []float64) statsLatency {
	s := statsLatency{Count: len(samples)}
	if len(samples) == 0 {
		return s
	}
	slices.Sort(samples)
	at := func(p float64) *float64 {
		v := samples[int(math.Ceil(p/100*float64(len(samples))))-1]
		return &v
	}
	s.P50, s.P90, s.P99, s.Max = at(50), at(90), at(99), at(100)
	return s
}

func sameLatency(a, b statsLatency) bool {
	eq := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || math.Abs(*x-*y) < 0.0005) }
	return a.Count == b.Count && eq(a.P50, b.P50) && eq(a.P90, b.P90) && eq(a.P99, b.P99) && eq(a.Max, b.Max)
}

func (s statsLatency) String() string {
	f := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatFloat(*p, 'f', 3, 64)
	}
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s max=%s", s.Count, f(s.P50), f(s.P90), f(s.P99), f(s.Max))
}

type diameterStatsJSON struct {
	Protocol        string `json:"protocol"`
	Answered        int    `json:"answered"`
	Unanswered      int    `json:"unanswered"`
	Orphans         int    `json:"orphans"`
	Retransmissions int    `json:"retransmissions"`
	Evicted         int    `json:"evicted"`
	ByCommand       []struct {
		ApplicationID   uint32       `json:"application_id"`
		CommandCode     uint32       `json:"command_code"`
		Answered        int          `json:"answered"`
		Unanswered      int          `json:"unanswered"`
		Orphans         int          `json:"orphans"`
		Retransmissions int          `json:"retransmissions"`
		Latency         statsLatency `json:"latency_ms"`
	} `json:"by_command"`
	ByResult []struct {
		Result  uint32       `json:"result"`
		Count   int          `json:"count"`
		Latency statsLatency `json:"latency_ms"`
	} `json:"by_result"`
}

// --stats must summarise exactly the transactions the listing shows: counts per command and per
// result, and nearest-rank percentiles recomputed here from the listed latencies.
func TestDiameterStatsSummariseTransactions(t *testing.T) {
	for _, name := range diameterCaptures {
		t.Run(filepath.Base(name), func(t *testing.T) {
			path := corpus.Path(t, name)
			js, _ := mustRun(t, "diameter", "-q", "-o", "json", path)
			txns := readTxns(t, js)
			type cmdKey struct{ app, code uint32 }
			type counts struct {
				answered, unanswered, orphans, retx int
				lat                                 []float64
			}
			byCmd := map[cmdKey]*counts{}
			byResult := map[uint32][]float64{}
			var total counts
			for _, x := range txns {
				k := cmdKey{x.ApplicationID, x.CommandCode}
				if byCmd[k] == nil {
					byCmd[k] = &counts{}
				}
				c := byCmd[k]
				c.retx += len(x.Retransmits)
				total.retx += len(x.Retransmits)
				switch x.Status {
				case "answered":
					c.answered++
					total.answered++
					c.lat = append(c.lat, x.LatencyMS)
					byResult[*x.Result] = append(byResult[*x.Result], x.LatencyMS)
				case "unanswered":
					c.unanswered++
					total.unanswered++
				case "orphan":
					c.orphans++
					total.orphans++
				}
			}

			out, _ := mustRun(t, "diameter", "-q", "--stats", "-o", "json", path)
			if strings.Count(out, "\n") != 1 {
				t.Fatalf("--stats -o json is not one line: %q", out)
			}
			var st diameterStatsJSON
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatal(err)
			}
			if st.Protocol != "diameter" || st.Answered != total.answered || st.Unanswered != total.unanswered ||
				st.Orphans != total.orphans || st.Retransmissions != total.retx || len(st.ByCommand) != len(byCmd) ||
				len(st.ByResult) != len(byResult) {
				t.Fatalf("stats %+v; listing: %+v over %d commands and %d results", st, total, len(byCmd), len(byResult))
			}
			for _, c := range st.ByCommand {
				want := byCmd[cmdKey{c.ApplicationID, c.CommandCode}]
				if want == nil || c.Answered != want.answered || c.Unanswered != want.unanswered || c.Orphans != want.orphans ||
					c.Retransmissions != want.retx || !sameLatency(c.Latency, nearestRank(want.lat)) {
					t.Errorf("command %d/%d: %+v, listing %+v %v", c.ApplicationID, c.CommandCode, c, want, nearestRank(want.lat))
				}
			}
			for _, r := range st.ByResult {
				if want := nearestRank(byResult[r.Result]); r.Count != want.Count || !sameLatency(r.Latency, want) {
					t.Errorf("result %d: %d %v, listing %v", r.Result, r.Count, r.Latency, want)
				}
			}

			// The table and CSV forms carry the same numbers.
			table, _ := mustRun(t, "diameter", "-q", "--stats", path)
			parts := strings.Split(table, "\n\n")
			if len(parts) != 2 {
				t.Fatalf("--stats table: want a command table and a result table:\n%s", table)
			}
			cmdRows, resRows := tableRows(t, parts[0]), tableRows(t, parts[1])
			if len(cmdRows) != len(st.ByCommand)+1 || len(resRows) != len(st.ByResult) {
				t.Fatalf("--stats table: %d command rows, %d result rows", len(cmdRows), len(resRows))
			}
			for i, c := range st.ByCommand {
				if cmdRows[i]["ANSWERED"] != strconv.Itoa(c.Answered) || cmdRows[i]["UNANSWERED"] != strconv.Itoa(c.Unanswered) ||
					cmdRows[i]["P90-MS"] != latencyCell(c.Latency.P90) || cmdRows[i]["MAX-MS"] != latencyCell(c.Latency.Max) {
					t.Errorf("--stats table row %v, JSON %+v", cmdRows[i], c)
				}
			}
			if tot := cmdRows[len(cmdRows)-1]; tot["APP"] != "total" || tot["ANSWERED"] != strconv.Itoa(st.Answered) ||
				tot["ORPHANS"] != strconv.Itoa(st.Orphans) {
				t.Errorf("--stats table total %v, JSON %+v", tot, st)
			}
			for i, r := range st.ByResult {
				if resRows[i]["RESULT"] != strconv.FormatUint(uint64(r.Result), 10) || resRows[i]["ANSWERS"] != strconv.Itoa(r.Count) ||
					resRows[i]["P50-MS"] != latencyCell(r.Latency.P50) {
					t.Errorf("--stats result row %v, JSON %+v", resRows[i], r)
				}
			}
			cs, _ := mustRun(t, "diameter", "-q", "--stats", "-o", "csv", path)
			recs := csvRecords(t, cs)
			if len(recs) != len(st.ByCommand)+len(st.ByResult)+1 {
				t.Fatalf("--stats csv: %d records", len(recs))
			}
			for i, c := range st.ByCommand {
				if r := recs[i]; r["group"] != "command" || r["command_code"] != strconv.FormatUint(uint64(c.CommandCode), 10) ||
					r["answered"] != strconv.Itoa(c.Answered) || r["p99_ms"] != latencyCell(c.Latency.P99) {
					t.Errorf("--stats csv %v, JSON %+v", r, c)
				}
			}
		})
	}
}

func latencyCell(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', 3, 64)
}

// A request answered later than --timeout is reported unanswered when it times out, and its late
// answer an orphan: each answered transaction slower than the timeout becomes exactly one of each.
func TestDiameterTimeout(t *testing.T) {
	path := corpus.Path(t, "third_party/pyhss/Resync.pcap")
	const timeout = 10 * time.Millisecond
	base, _ := mustRun(t, "diameter", "-q", "-o", "json", path)
	short, _ := mustRun(t, "diameter", "-q", "-o", "json", "--timeout", timeout.String(), path)
	checkTimeout(t, readTxns(t, base), readTxns(t, short), timeout)
}

// checkTimeout compares a run with the default timeout and one with a shorter timeout.
func checkTimeout(t *testing.T, base, short []txn, timeout time.Duration) {
	t.Helper()
	count := func(txns []txn) map[string]int {
		c := map[string]int{}
		for _, x := range txns {
			c[x.Status]++
		}
		return c
	}
	slow := 0
	for _, x := range base {
		if x.HasLatency && x.LatencyMS > float64(timeout)/1e6 {
			slow++
		}
	}
	b, s := count(base), count(short)
	if slow == 0 || s["answered"] != b["answered"]-slow || s["unanswered"] != b["unanswered"]+slow || s["orphan"] != b["orphan"]+slow {
		t.Errorf("%d answered slower than %v; default timeout %v, --timeout %v: %v", slow, timeout, b, timeout, s)
	}
}

// Every pair must be the one tshark makes (two-pass analysis), through the whole pipeline: for each
// answered transaction the answer's request is the request or one of its copies; an unanswered
// request and its copies have no answer for tshark either; an orphan answers nothing tshark saw, or
// a request already answered (a second copy of the answer). tshark sees as many answers as sigtrace
// lists answered and orphan transactions, and as many requests as their copies.
func TestDiameterPairsAgreeWithTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark on every Diameter capture")
	}
	tshark := corpus.Tool(t, "tshark")
	for _, name := range diameterCaptures {
		t.Run(filepath.Base(name), func(t *testing.T) {
			path := corpus.Path(t, name)
			var decodeAs []string
			if strings.HasSuffix(name, "ipsec_to_nonipsec_call.pcapng") {
				decodeAs = []string{"tcp.port==3871,diameter"} // Rx on a port tshark does not know (decode test)
			}
			pdus := tsharkPairs(t, tshark, path, "diameter", decodeAs)
			js, _ := mustRun(t, "diameter", "-q", "-o", "json", path)
			comparePairs(t, readTxns(t, js), pdus, captureDuplicates(t, path), func(x txn) (uint32, int, int) { return x.HopByHop, x.RequestFrame, x.AnswerFrame })
		})
	}
}

// tsharkPDU is what tshark says about one Diameter or DNS PDU: its frame, its identifier (Hop-by-Hop
// or DNS id), whether it is a request, and the frame it is paired with ("" for none).
type tsharkPDU struct {
	frame   int
	id      uint32
	request bool
	peer    string
}

type pdmlPacket struct {
	Protos []struct {
		Name   string           `xml:"name,attr"`
		Fields []pdmlFieldLight `xml:"field"`
	} `xml:"proto"`
}

type pdmlFieldLight struct {
	Name   string           `xml:"name,attr"`
	Show   string           `xml:"show,attr"`
	Fields []pdmlFieldLight `xml:"field"`
}

func pdmlFind(fs []pdmlFieldLight, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Show
		}
		if v := pdmlFind(f.Fields, name); v != "" {
			return v
		}
	}
	return ""
}

// tsharkPairs runs tshark's two-pass analysis and returns every PDU of proto ("diameter" or "dns").
func tsharkPairs(t *testing.T, tshark, path, proto string, decodeAs []string) []tsharkPDU {
	t.Helper()
	args := []string{"-2", "-r", path, "-Y", proto, "-T", "pdml"}
	for _, d := range decodeAs {
		args = append(args, "-d", d)
	}
	cmd := exec.Command(tshark, args...)
	cmd.Stderr = io.Discard
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	idField, reqField, toField, inField := "diameter.hopbyhopid", "diameter.flags.request", "diameter.answer_to", "diameter.answer_in"
	if proto == "dns" {
		idField, reqField, toField, inField = "dns.id", "dns.flags.response", "dns.response_to", "dns.response_in"
	}
	var pdus []tsharkPDU
	dec := xml.NewDecoder(bytes.NewReader(out))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("pdml: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "packet" {
			continue
		}
		var p pdmlPacket
		if err := dec.DecodeElement(&p, &se); err != nil {
			t.Fatalf("pdml: %v", err)
		}
		frame := 0
		for _, pr := range p.Protos {
			if pr.Name == "frame" {
				frame, _ = strconv.Atoi(pdmlFind(pr.Fields, "frame.number"))
			}
			if pr.Name != proto {
				continue
			}
			id, err := strconv.ParseUint(pdmlFind(pr.Fields, idField), 0, 32)
			if err != nil {
				t.Fatalf("frame %d: %s: %v", frame, idField, err)
			}
			bit := pdmlFind(pr.Fields, reqField) == "1"
			pdu := tsharkPDU{frame: frame, id: uint32(id), request: bit == (proto == "diameter")}
			if pdu.request {
				pdu.peer = pdmlFind(pr.Fields, inField)
			} else {
				pdu.peer = pdmlFind(pr.Fields, toField)
			}
			pdus = append(pdus, pdu)
		}
	}
	return pdus
}

// pduKey names a Diameter or DNS message: frame, Hop-by-Hop or DNS id, request or answer.
type pduKey struct {
	frame   int
	id      uint32
	request bool
}

// captureDuplicates lists the Diameter and DNS messages the decoder marks as capture duplicates (the
// same packet captured twice on one hop, e.g. on each GTP-U hop of a core network), which the
// transaction commands skip and tshark does not.
func captureDuplicates(t *testing.T, path string) map[pduKey]bool {
	t.Helper()
	out, _ := mustRun(t, "messages", "-q", "-o", "json", path)
	dups := map[pduKey]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m struct {
			Frame     int  `json:"frame"`
			Duplicate bool `json:"duplicate"`
			Diameter  *struct {
				HopByHop uint32 `json:"hop_by_hop"`
				Flags    struct {
					Request bool `json:"request"`
				} `json:"flags"`
			} `json:"diameter"`
			DNS *struct {
				ID       uint16 `json:"id"`
				Response bool   `json:"response"`
			} `json:"dns"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("messages -o json: %v", err)
		}
		switch {
		case !m.Duplicate:
		case m.Diameter != nil:
			dups[pduKey{m.Frame, m.Diameter.HopByHop, m.Diameter.Flags.Request}] = true
		case m.DNS != nil:
			dups[pduKey{m.Frame, uint32(m.DNS.ID), !m.DNS.Response}] = true
		}
	}
	return dups
}

// comparePairs checks sigtrace's transactions against tshark's pairing (see
// TestDiameterPairsAgreeWithTshark), leaving out the capture duplicates. key returns a transaction's
// identifier, request and answer frames.
func comparePairs(t *testing.T, txns []txn, pdus []tsharkPDU, dups map[pduKey]bool, key func(txn) (id uint32, req, ans int)) {
	t.Helper()
	byKey := map[pduKey]tsharkPDU{}
	requests, answers := 0, 0
	for _, p := range pdus {
		k := pduKey{p.frame, p.id, p.request}
		if dups[k] {
			continue
		}
		byKey[k] = p
		if p.request {
			requests++
		} else {
			answers++
		}
	}
	copies := map[int]int{} // request frame (any copy) -> index of its transaction
	for i, x := range txns {
		_, req, _ := key(x)
		if req != 0 {
			copies[req] = i
			for _, f := range x.Retransmits {
				copies[f] = i
			}
		}
	}
	gotRequests, gotAnswers := 0, 0
	for i, x := range txns {
		id, req, ans := key(x)
		frames := append([]int{req}, x.Retransmits...)
		if req != 0 {
			gotRequests += len(frames)
		}
		if ans != 0 {
			gotAnswers++
		}
		var answer tsharkPDU
		if ans != 0 {
			var ok bool
			if answer, ok = byKey[pduKey{ans, id, false}]; !ok {
				t.Errorf("%s answer frame %d (id 0x%x): tshark has no such answer", x.Status, ans, id)
				continue
			}
		}
		switch x.Status {
		case "answered":
			to, _ := strconv.Atoi(answer.peer)
			if !slices.Contains(frames, to) {
				t.Errorf("answer frame %d pairs with request frames %v; tshark with %q", ans, frames, answer.peer)
			}
		case "unanswered":
			for _, f := range frames {
				if p := byKey[pduKey{f, id, true}]; p.peer != "" {
					t.Errorf("request frame %d (id 0x%x) unanswered; tshark answers it in frame %s", f, id, p.peer)
				}
			}
		case "orphan":
			if answer.peer == "" {
				continue
			}
			to, _ := strconv.Atoi(answer.peer)
			if j, ok := copies[to]; !ok || txns[j].Status != "answered" || j > i {
				t.Errorf("orphan answer frame %d: tshark pairs it with request frame %d", ans, to)
			}
		}
	}
	if gotRequests != requests || gotAnswers != answers {
		t.Errorf("sigtrace: %d requests and %d answers; tshark %d and %d", gotRequests, gotAnswers, requests, answers)
	}
}

func TestDiameterUsageErrors(t *testing.T) {
	path := corpus.Path(t, "third_party/pyhss/Resync.pcap")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"diameter", "-o", "xml", path}, ExitUsage, `unknown output format "xml"`},
		{[]string{"diameter", "--timeout", "-1s", path}, ExitUsage, "--timeout"},
		{[]string{"diameter", "--max-open", "0", path}, ExitUsage, "--max-open"},
		{[]string{"diameter"}, ExitUsage, "requires at least 1 arg"},
		{[]string{"diameter", filepath.Join(t.TempDir(), "missing.pcap")}, ExitError, "missing.pcap"},
	} {
		out, errOut, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", tc.args, code, errOut, out)
		}
	}
}

// Standard input is read through the Factory, and the output is the same but for the input name.
func TestDiameterStdin(t *testing.T) {
	path := corpus.Path(t, "third_party/open5gs/testattach.pcapng")
	want, _ := mustRun(t, "diameter", "-q", "-o", "json", path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	f := &Factory{Stdin: bytes.NewReader(data), Stdout: &out, Stderr: &errOut, Now: time.Now, Getenv: func(string) string { return "" }}
	if code := run(context.Background(), []string{"diameter", "-q", "-o", "json", "-"}, f); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if got := strings.ReplaceAll(out.String(), `"input":"-"`, `"input":`+strconv.Quote(path)); got != want || want == "" {
		t.Errorf("from stdin:\n%s\nfrom the file:\n%s", got, want)
	}
}
