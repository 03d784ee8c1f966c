package correlate

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/dns"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// The answered pairs of real captures must be the ones tshark finds: each response's query frame and
// response time. tshark starts a new transaction when a query is repeated more than its retransmission
// window after the first; the pairer keeps such repeats as retransmissions of the first, so the
// comparison takes, for each response, the latest copy of its query that tshark would name.
func TestDNSPairsCaptures(t *testing.T) {
	for _, tc := range []struct {
		name                          string
		answered, unanswered, orphans int
	}{
		// 303 queries, most repeated: 54 answered lookups, 48 never answered, 201 repeats.
		{"third_party/sngrep/aaa.pcap", 54, 48, 0},
		// UE lookups are captured twice, inside GTP-U and past the gateway: the second copy of a query
		// is a retransmission, the second copy of a response an orphan, for tshark as here.
		{"third_party/open5gs/nonipsec_reg.pcapng", 11, 0, 8},
		{"third_party/suricata-verify/dns-udp-eve-log-srv/input.pcap", 1, 0, 0},
		{"third_party/zeek/dns/naptr.pcap", 1, 0, 0},
	} {
		t.Run(tc.name[strings.Index(tc.name, "/")+1:], func(t *testing.T) {
			path := corpus.Path(t, tc.name)
			p := NewDNSPairer(PairOptions{})
			var all []DNSTransaction
			for _, c := range capturePayloads(t, path) {
				if c.env.Src.Port() != 53 && c.env.Dst.Port() != 53 {
					continue
				}
				m, err := dns.Decode(c.data)
				if err != nil {
					t.Fatalf("frame %d: %v", c.env.Frame, err)
				}
				all = append(all, p.Add(c.env, m)...)
			}
			all = append(all, p.Flush()...)
			st := p.Stats()
			if st.Answered != tc.answered || st.Unanswered != tc.unanswered || st.Orphans != tc.orphans {
				t.Errorf("%d answered, %d unanswered, %d orphans", st.Answered, st.Unanswered, st.Orphans)
			}
			if testing.Short() {
				return
			}
			want := tsharkDNSPairs(t, path)
			seen := 0
			for _, tr := range all {
				switch tr.Status {
				case PairOrphan:
					seen++
					if want[tr.ResponseEnv.Frame] != "orphan" {
						t.Errorf("frame %d: orphan, tshark %q", tr.ResponseEnv.Frame, want[tr.ResponseEnv.Frame])
					}
				case PairAnswered:
					seen++
					w, ok := want[tr.ResponseEnv.Frame]
					if !ok {
						t.Errorf("frame %d: tshark sees no response", tr.ResponseEnv.Frame)
						continue
					}
					copies := append([]decode.Envelope{tr.QueryEnv}, tr.Retransmissions...)
					match := false
					for _, q := range copies {
						if w == strconv.Itoa(q.Frame)+" "+tr.ResponseEnv.Time.Sub(q.Time).Round(time.Microsecond).String() {
							match = true
						}
					}
					if !match {
						t.Errorf("frame %d answers query frame %d (%d copies), tshark %q", tr.ResponseEnv.Frame, tr.QueryEnv.Frame, len(copies), w)
					}
				}
			}
			if seen != len(want) {
				t.Errorf("tshark finds %d responses, the pairer %d", len(want), seen)
			}
		})
	}
}

func tsharkDNSPairs(t *testing.T, path string) map[int]string {
	tshark := corpus.Tool(t, "tshark")
	out, err := exec.Command(tshark, "-r", path, "-Y", "dns && (udp.port == 53 || tcp.port == 53) && dns.flags.response == 1",
		"-T", "fields", "-e", "frame.number", "-e", "dns.response_to", "-e", "dns.time").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	want := map[int]string{}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		frame, _ := strconv.Atoi(f[0])
		if f[1] == "" {
			want[frame] = "orphan"
			continue
		}
		secs, _ := strconv.ParseFloat(f[2], 64)
		want[frame] = f[1] + " " + time.Duration(secs*1e9+0.5).Round(time.Microsecond).String()
	}
	return want
}
