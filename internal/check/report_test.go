package check

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// report builds a report by hand: one capture, a failed rule with awkward text, a skipped rule
// and a passed one.
func report(t *testing.T) *Report {
	t.Helper()
	rs, err := Parse("ci: rules.yaml", []byte(`rules:
  - name: no-5xx
    description: 'no <5xx> & "friends" ]]> here'
    over: messages
    match: sip.status >= 500
    max: 0
  - name: latency
    over: dns
    value: dns.latency
    p95_max: 100ms
  - name: some
    over: messages
    min: 1
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{Input: "a,b:c.pcap", Inputs: []string{"a,b:c.pcap"}, Frames: 10, Messages: 9, Elapsed: 1500 * time.Millisecond,
		Warnings: []string{"a,b:c.pcap: truncated at frame 10"},
		Rules: []RuleResult{
			{Rule: rs.Rules[0], Status: Fail, Population: 9, Matched: 2, Summary: "2 matches of 9 messages: more than max 0",
				Bounds: []BoundResult{{Bound: rs.Rules[0].Bounds[0], Measured: 2}}, Offending: 12,
				Evidence: []Evidence{{Input: "a,b:c.pcap", Frame: 7, ID: "x@y", Detail: "503 Bad\x1b[31m\xff <gw> 100% 1.2.3.4:5060 -> 5.6.7.8:5060"}}},
			{Rule: rs.Rules[1], Status: Skip, Summary: "no dns transactions with dns.latency"},
			{Rule: rs.Rules[2], Status: Pass, Population: 9, Matched: 9, Summary: "9 matches"},
		}}
	return &Report{Results: []*Result{res}, Started: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := report(t).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `a,b:c.pcap: 1 of 3 rules failed; 10 frames, 9 messages, 0 calls, 0 diameter and 0 dns transactions
  warning: a,b:c.pcap: truncated at frame 10
  FAIL  no-5xx   2 matches of 9 messages: more than max 0
          a,b:c.pcap:7 x@y (503 Bad` + "\uFFFD[31m\uFFFD" + ` <gw> 100% 1.2.3.4:5060 -> 5.6.7.8:5060)
          ... and 11 more
  SKIP  latency  no dns transactions with dns.latency
  PASS  some     9 matches
1 capture: 1 passed, 1 failed, 1 skipped
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteGitHub(t *testing.T) {
	var b bytes.Buffer
	if err := report(t).WriteGitHub(&b); err != nil {
		t.Fatal(err)
	}
	want := "::warning title=sigtrace check%3A a%2Cb%3Ac.pcap::a,b:c.pcap: truncated at frame 10\n" +
		"::error file=ci%3A rules.yaml,line=2,title=sigtrace check%3A no-5xx::a,b:c.pcap: no-5xx: 2 matches of 9 messages: more than max 0" +
		"%0Aa,b:c.pcap:7 x@y (503 Bad\uFFFD[31m\uFFFD <gw> 100%25 1.2.3.4:5060 -> 5.6.7.8:5060)%0A... and 11 more\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := report(t).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		OK       bool
		Passed   int
		Failed   int
		Skipped  int
		Captures []struct {
			Input     string
			ElapsedMS int64 `json:"elapsed_ms"`
			Warnings  []string
			Rules     []struct {
				Name, Source, Over, Kind, Match, Status, Summary, Description string
				Offending                                                     int
				Bounds                                                        []jsonBound
				Evidence                                                      []Evidence
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.OK || got.Passed != 1 || got.Failed != 1 || got.Skipped != 1 || len(got.Captures) != 1 {
		t.Fatalf("%+v", got)
	}
	c := got.Captures[0]
	if c.Input != "a,b:c.pcap" || c.ElapsedMS != 1500 || len(c.Warnings) != 1 || len(c.Rules) != 3 {
		t.Fatalf("%+v", c)
	}
	r := c.Rules[0]
	if r.Name != "no-5xx" || r.Source != "ci: rules.yaml:2" || r.Over != "messages" || r.Kind != "count" || r.Match != "sip.status >= 500" ||
		r.Status != "fail" || r.Offending != 12 || len(r.Evidence) != 1 || r.Evidence[0].Frame != 7 ||
		len(r.Bounds) != 1 || r.Bounds[0] != (jsonBound{Key: "max", Limit: 0, Text: "0", Measured: 2}) {
		t.Errorf("%+v", r)
	}
	if c.Rules[1].Status != "skip" || c.Rules[1].Evidence != nil || c.Rules[2].Status != "pass" {
		t.Errorf("%+v", c.Rules[1:])
	}
}

// TestWriteJUnit reads the XML back and validates it against the schema subset with xmllint.
func TestWriteJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := report(t).WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Time     string `xml:"time,attr"`
		Suites   []struct {
			Name      string `xml:"name,attr"`
			Tests     int    `xml:"tests,attr"`
			Failures  int    `xml:"failures,attr"`
			Skipped   int    `xml:"skipped,attr"`
			Timestamp string `xml:"timestamp,attr"`
			Props     []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			SystemErr string `xml:"system-err"`
			Cases     []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if doc.Tests != 3 || doc.Failures != 1 || doc.Time != "1.500" || len(doc.Suites) != 1 {
		t.Fatalf("%+v", doc)
	}
	s := doc.Suites[0]
	if s.Name != "a,b:c.pcap" || s.Tests != 3 || s.Failures != 1 || s.Skipped != 1 || s.Timestamp != "2026-11-23T12:00:00" ||
		len(s.Props) != 5 || s.Props[0].Name != "frames" || s.Props[0].Value != "10" || !strings.Contains(s.SystemErr, "truncated") {
		t.Errorf("suite %+v", s)
	}
	f := s.Cases[0].Failure
	wantText := "no <5xx> & \"friends\" ]]> here\nrule ci: rules.yaml:2\na,b:c.pcap:7 x@y (503 Bad\uFFFD[31m\uFFFD <gw> 100% 1.2.3.4:5060 -> 5.6.7.8:5060)\n... and 11 more\n"
	if f == nil || f.Message != "2 matches of 9 messages: more than max 0" || f.Type != "count" || f.Text != wantText {
		t.Errorf("failure %+v", f)
	}
	if s.Cases[1].Skipped == nil || s.Cases[1].Skipped.Message != "no dns transactions with dns.latency" || s.Cases[2].Failure != nil || s.Cases[2].Skipped != nil {
		t.Errorf("cases %+v", s.Cases[1:])
	}

	xmllint := corpus.Tool(t, "xmllint")
	path := filepath.Join(t.TempDir(), "report.xml")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), path).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	// The schema does reject what it should: a failure outside a testcase.
	bad := strings.Replace(b.String(), "<properties>", "<failure/><properties>", 1)
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), path).CombinedOutput(); err == nil {
		t.Errorf("xmllint accepted a misplaced failure:\n%s", out)
	}
}
