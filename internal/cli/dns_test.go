package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// dnsCaptures are the corpus captures with DNS (UDP, fragmented over IPv4 and IPv6, inside GTP-U,
// repeated queries, orphan responses).
var dnsCaptures = []string{
	"third_party/ndpi/dns.pcap",
	"third_party/ndpi/dns_fragmented.pcap",
	"third_party/sngrep/aaa.pcap",
	"third_party/open5gs/nonipsec_reg.pcapng",
	"third_party/open5gs/nonipsec_to_ipsec_call.pcapng",
	"third_party/suricata-verify/dns-udp-eve-log-srv/input.pcap",
	"third_party/zeek/dns/naptr.pcap",
	"third_party/zeek/ipv6-fragmented-dns.pcap",
}

func TestDNSOrphanResponse(t *testing.T) {
	path := corpus.Path(t, "third_party/ndpi/dns.pcap")
	out, errOut := mustRun(t, "dns", "-o", "json", path)
	txns := readTxns(t, out)
	orphans := 0
	for _, x := range txns {
		switch x.Status {
		case "orphan":
			orphans++
			// The capture starts with a response to a query it does not hold.
			if x.ResponseFrame != 1 || x.QueryFrame != 0 || x.QueryTime != "" || x.Time != x.ResponseTime || x.HasLatency ||
				x.Rcode == nil || x.Client == "" || !strings.HasSuffix(x.Server, ":53") {
				t.Errorf("orphan: %+v", x)
			}
		case "answered":
			checkLatency(t, x, x.QueryTime, x.ResponseTime)
			if x.Time != x.QueryTime || x.ResponseFrame <= x.QueryFrame || x.Rcode == nil || x.RcodeName == "" ||
				!strings.HasSuffix(x.Server, ":53") || !strings.HasSuffix(x.Name, ".") || x.Type == "" {
				t.Errorf("answered: %+v", x)
			}
			if len(x.Addresses) > len(x.Answers) {
				t.Errorf("%d addresses from %d answers", len(x.Addresses), len(x.Answers))
			}
		default:
			t.Errorf("status %q", x.Status)
		}
	}
	if orphans != 1 {
		t.Errorf("%d orphan responses, want 1", orphans)
	}
	if !strings.Contains(errOut, "1 orphan responses") {
		t.Errorf("summary: %s", errOut)
	}
	table, _ := mustRun(t, "dns", path)
	if rows := tableRows(t, table); rows[0]["FRAMES"] != "-/1" || rows[0]["STATUS"] != "orphan" {
		t.Errorf("table: the orphan shows as %v", rows[0])
	}
}

// The table, CSV and JSON outputs must show the same transactions in the same order.
func TestDNSFormatsAgree(t *testing.T) {
	for _, name := range dnsCaptures {
		t.Run(filepath.Base(name), func(t *testing.T) {
			path := corpus.Path(t, name)
			js, _ := mustRun(t, "dns", "-q", "-o", "json", path)
			table, _ := mustRun(t, "dns", "-q", path)
			cs, _ := mustRun(t, "dns", "-q", "-o", "csv", path)
			txns := readTxns(t, js)
			rows := tableRows(t, table)
			records := csvRecords(t, cs)
			if len(txns) == 0 || len(rows) != len(txns) || len(records) != len(txns) {
				t.Fatalf("%d JSON lines, %d table rows, %d CSV records", len(txns), len(rows), len(records))
			}
			for i, x := range txns {
				frames := frameOrDash(x.QueryFrame) + "/" + frameOrDash(x.ResponseFrame)
				latency := ""
				if x.HasLatency {
					latency = strconv.FormatFloat(x.LatencyMS, 'f', 3, 64)
				}
				var data []string
				for _, a := range x.Answers {
					data = append(data, a.Data)
				}
				id := fmt.Sprintf("0x%04x", x.ID)
				if r := rows[i]; r["TIME"] != x.Time || r["FRAMES"] != frames || r["CLIENT"] != x.Client || r["SERVER"] != x.Server ||
					r["ID"] != id || r["TYPE"] != x.Type || r["NAME"] != x.Name || r["RCODE"] != x.RcodeName ||
					r["LATENCY-MS"] != latency || !strings.HasPrefix(r["STATUS"], x.Status) || r["ANSWERS"] != strings.Join(data, ", ") {
					t.Errorf("table row %d %v, JSON %+v", i, r, x)
				}
				if r := records[i]; r["status"] != x.Status || r["time"] != x.Time || r["id"] != id || r["name"] != x.Name ||
					r["type"] != x.Type || r["rcode"] != x.RcodeName || r["latency_ms"] != latency || r["answers"] != strings.Join(data, ";") ||
					r["query_frame"] != frameOrEmpty(x.QueryFrame) || r["response_frame"] != frameOrEmpty(x.ResponseFrame) ||
					r["retransmissions"] != strconv.Itoa(len(x.Retransmits)) {
					t.Errorf("CSV record %d %v, JSON %+v", i, r, x)
				}
			}
		})
	}
}

type dnsStatsJSON struct {
	Protocol        string `json:"protocol"`
	Answered        int    `json:"answered"`
	Unanswered      int    `json:"unanswered"`
	Orphans         int    `json:"orphans"`
	Retransmissions int    `json:"retransmissions"`
	Evicted         int    `json:"evicted"`
	ByType          []struct {
		QType           uint16       `json:"qtype"`
		Type            string       `json:"type"`
		Answered        int          `json:"answered"`
		Unanswered      int          `json:"unanswered"`
		Orphans         int          `json:"orphans"`
		Retransmissions int          `json:"retransmissions"`
		Latency         statsLatency `json:"latency_ms"`
	} `json:"by_type"`
	ByRcode []struct {
		Rcode     int          `json:"rcode"`
		RcodeName string       `json:"rcode_name"`
		Count     int          `json:"count"`
		Latency   statsLatency `json:"latency_ms"`
	} `json:"by_rcode"`
}

// --stats must summarise exactly the transactions the listing shows, per type and per rcode.
func TestDNSStatsSummariseTransactions(t *testing.T) {
	for _, name := range dnsCaptures {
		t.Run(filepath.Base(name), func(t *testing.T) {
			path := corpus.Path(t, name)
			js, _ := mustRun(t, "dns", "-q", "-o", "json", path)
			type counts struct {
				answered, unanswered, orphans, retx int
				lat                                 []float64
			}
			byType := map[uint16]*counts{}
			byRcode := map[int][]float64{}
			var total counts
			for _, x := range readTxns(t, js) {
				if byType[x.QType] == nil {
					byType[x.QType] = &counts{}
				}
				c := byType[x.QType]
				c.retx += len(x.Retransmits)
				total.retx += len(x.Retransmits)
				switch x.Status {
				case "answered":
					c.answered++
					total.answered++
					c.lat = append(c.lat, x.LatencyMS)
					byRcode[*x.Rcode] = append(byRcode[*x.Rcode], x.LatencyMS)
				case "unanswered":
					c.unanswered++
					total.unanswered++
				case "orphan":
					c.orphans++
					total.orphans++
				}
			}
			out, _ := mustRun(t, "dns", "-q", "--stats", "-o", "json", path)
			var st dnsStatsJSON
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatal(err)
			}
			if st.Protocol != "dns" || st.Answered != total.answered || st.Unanswered != total.unanswered || st.Orphans != total.orphans ||
				st.Retransmissions != total.retx || len(st.ByType) != len(byType) || len(st.ByRcode) != len(byRcode) {
				t.Fatalf("stats %+v; listing %+v over %d types and %d rcodes", st, total, len(byType), len(byRcode))
			}
			for _, s := range st.ByType {
				want := byType[s.QType]
				if want == nil || s.Answered != want.answered || s.Unanswered != want.unanswered || s.Orphans != want.orphans ||
					s.Retransmissions != want.retx || !sameLatency(s.Latency, nearestRank(want.lat)) {
					t.Errorf("type %d: %+v, listing %+v %v", s.QType, s, want, nearestRank(want.lat))
				}
			}
			for _, r := range st.ByRcode {
				if want := nearestRank(byRcode[r.Rcode]); r.Count != want.Count || !sameLatency(r.Latency, want) {
					t.Errorf("rcode %d: %d %v, listing %v", r.Rcode, r.Count, r.Latency, want)
				}
			}

			table, _ := mustRun(t, "dns", "-q", "--stats", path)
			parts := strings.Split(table, "\n\n")
			if len(parts) != 2 {
				t.Fatalf("--stats table: want a type table and an rcode table:\n%s", table)
			}
			typeRows, rcodeRows := tableRows(t, parts[0]), tableRows(t, parts[1])
			if len(typeRows) != len(st.ByType)+1 || len(rcodeRows) != len(st.ByRcode) {
				t.Fatalf("--stats table: %d type rows, %d rcode rows", len(typeRows), len(rcodeRows))
			}
			for i, s := range st.ByType {
				if r := typeRows[i]; r["TYPE"] != s.Type || r["ANSWERED"] != strconv.Itoa(s.Answered) ||
					r["RETX"] != strconv.Itoa(s.Retransmissions) || r["P50-MS"] != latencyCell(s.Latency.P50) {
					t.Errorf("--stats table row %v, JSON %+v", r, s)
				}
			}
			for i, rc := range st.ByRcode {
				if r := rcodeRows[i]; r["RCODE"] != rc.RcodeName || r["RESPONSES"] != strconv.Itoa(rc.Count) ||
					r["MAX-MS"] != latencyCell(rc.Latency.Max) {
					t.Errorf("--stats rcode row %v, JSON %+v", r, rc)
				}
			}
			cs, _ := mustRun(t, "dns", "-q", "--stats", "-o", "csv", path)
			recs := csvRecords(t, cs)
			if n := len(recs); n != len(st.ByType)+len(st.ByRcode)+1 || recs[n-1]["group"] != "total" ||
				recs[n-1]["unanswered"] != strconv.Itoa(st.Unanswered) {
				t.Fatalf("--stats csv: %v", recs)
			}
		})
	}
}

func TestDNSTimeout(t *testing.T) {
	path := corpus.Path(t, "third_party/ndpi/dns.pcap")
	const timeout = 100 * time.Millisecond
	base, _ := mustRun(t, "dns", "-q", "-o", "json", path)
	short, _ := mustRun(t, "dns", "-q", "-o", "json", "--timeout", timeout.String(), path)
	checkTimeout(t, readTxns(t, base), readTxns(t, short), timeout)
}

// With room for one waiting query, the others are reported early, marked evicted, with a warning;
// nothing is lost: every copy of every query and every response is still accounted for.
func TestDNSMaxOpen(t *testing.T) {
	path := corpus.Path(t, "third_party/sngrep/aaa.pcap")
	messages := func(txns []txn) (n int) {
		for _, x := range txns {
			if x.QueryFrame != 0 {
				n += 1 + len(x.Retransmits)
			}
			if x.ResponseFrame != 0 {
				n++
			}
		}
		return n
	}
	base, _ := mustRun(t, "dns", "-o", "json", path)
	out, errOut := mustRun(t, "dns", "-o", "json", "--max-open", "1", path)
	evicted := 0
	txns := readTxns(t, out)
	for _, x := range txns {
		if x.Evicted {
			evicted++
			if x.Status != "unanswered" {
				t.Errorf("evicted but %s: %+v", x.Status, x)
			}
		}
	}
	if evicted == 0 || !strings.Contains(errOut, fmt.Sprintf("warning: %d queries reported unanswered early", evicted)) {
		t.Errorf("%d evicted; stderr %s", evicted, errOut)
	}
	if got, want := messages(txns), messages(readTxns(t, base)); got != want {
		t.Errorf("%d messages in the transactions with --max-open 1, %d without", got, want)
	}
}

// See TestDiameterPairsAgreeWithTshark.
func TestDNSPairsAgreeWithTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark on every DNS capture")
	}
	tshark := corpus.Tool(t, "tshark")
	for _, name := range dnsCaptures {
		t.Run(filepath.Base(name), func(t *testing.T) {
			path := corpus.Path(t, name)
			pdus := tsharkPairs(t, tshark, path, "dns", nil)
			js, _ := mustRun(t, "dns", "-q", "-o", "json", path)
			comparePairs(t, readTxns(t, js), pdus, captureDuplicates(t, path), func(x txn) (uint32, int, int) { return uint32(x.ID), x.QueryFrame, x.ResponseFrame })
		})
	}
}

func TestDNSUsageErrors(t *testing.T) {
	path := corpus.Path(t, "third_party/ndpi/dns.pcap")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"dns", "-o", "yaml", path}, ExitUsage, `unknown output format "yaml"`},
		{[]string{"dns", "--timeout", "-5s", path}, ExitUsage, "--timeout"},
		{[]string{"dns", "--max-open", "-1", path}, ExitUsage, "--max-open"},
		{[]string{"dns", filepath.Join(t.TempDir(), "none.pcap")}, ExitError, "none.pcap"},
	} {
		out, errOut, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", tc.args, code, errOut, out)
		}
	}
}
