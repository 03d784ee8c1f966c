package check

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Report is the outcome of a run: each capture's result, in the order checked.
type Report struct {
	Results []*Result
	// Started is when the run began (JUnit timestamps).
	Started time.Time
}

// Count returns how many rule outcomes, over all captures, have status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, res := range r.Results {
		n += res.Count(s)
	}
	return n
}

// Tests returns the number of rule outcomes over all captures.
func (r *Report) Tests() int {
	n := 0
	for _, res := range r.Results {
		n += len(res.Rules)
	}
	return n
}

// evidenceLine writes one offending item: "input:frame id (detail)". Text from the capture may
// hold control characters or broken UTF-8: they become U+FFFD, so that neither a terminal nor an
// XML reader is upset.
func evidenceLine(ev Evidence) string {
	s := ev.Input + ":" + strconv.Itoa(ev.Frame)
	if ev.ID != "" {
		s += " " + ev.ID
	}
	if ev.Detail != "" {
		s += " (" + ev.Detail + ")"
	}
	return printable(s)
}

// printable replaces control characters and invalid UTF-8 with U+FFFD.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}

// more says how many offending items the evidence leaves out.
func more(rr *RuleResult) string {
	if n := rr.Offending - len(rr.Evidence); n > 0 {
		return fmt.Sprintf("... and %d more", n)
	}
	return ""
}

// WriteText writes a summary for people: per capture, one line per rule (PASS, FAIL, SKIP) with
// what was measured, and under each failure its first offending items.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	width := 0
	for _, res := range r.Results {
		for _, rr := range res.Rules {
			width = max(width, len(rr.Rule.Name))
		}
	}
	for _, res := range r.Results {
		fmt.Fprintf(&b, "%s: %s; %d frames, %d messages, %d calls, %d diameter and %d dns transactions\n",
			res.Input, verdict(res.Count(Fail), len(res.Rules)), res.Frames, res.Messages, res.Calls, res.Diameter, res.DNS)
		for _, warn := range res.Warnings {
			fmt.Fprintf(&b, "  warning: %s\n", warn)
		}
		for i := range res.Rules {
			rr := &res.Rules[i]
			fmt.Fprintf(&b, "  %-4s  %-*s  %s\n", strings.ToUpper(string(rr.Status)), width, rr.Rule.Name, rr.Summary)
			if rr.Status != Fail {
				continue
			}
			for _, ev := range rr.Evidence {
				fmt.Fprintf(&b, "          %s\n", evidenceLine(ev))
			}
			if m := more(rr); m != "" {
				fmt.Fprintf(&b, "          %s\n", m)
			}
		}
	}
	fmt.Fprintf(&b, "%s: %d passed, %d failed, %d skipped\n", plural(len(r.Results), "capture", "captures"),
		r.Count(Pass), r.Count(Fail), r.Count(Skip))
	_, err := io.WriteString(w, b.String())
	return err
}

func verdict(failed, rules int) string {
	if failed == 0 {
		return "all " + plural(rules, "rule", "rules") + " passed"
	}
	return fmt.Sprintf("%d of %s failed", failed, plural(rules, "rule", "rules"))
}

// JSON report shapes.
type (
	jsonReport struct {
		OK       bool          `json:"ok"`
		Passed   int           `json:"passed"`
		Failed   int           `json:"failed"`
		Skipped  int           `json:"skipped"`
		Captures []jsonCapture `json:"captures"`
	}
	jsonCapture struct {
		Input     string     `json:"input"`
		Inputs    []string   `json:"inputs"`
		Frames    int        `json:"frames"`
		Messages  int        `json:"messages"`
		Calls     int        `json:"calls"`
		Diameter  int        `json:"diameter"`
		DNS       int        `json:"dns"`
		ElapsedMS int64      `json:"elapsed_ms"`
		Warnings  []string   `json:"warnings,omitempty"`
		Rules     []jsonRule `json:"rules"`
	}
	jsonRule struct {
		Name        string      `json:"name"`
		Description string      `json:"description,omitempty"`
		Source      string      `json:"source"`
		Over        Over        `json:"over"`
		Kind        string      `json:"kind"`
		Match       string      `json:"match,omitempty"`
		Where       string      `json:"where,omitempty"`
		StatusOf    []string    `json:"pair_status,omitempty"`
		Value       string      `json:"value,omitempty"`
		Status      Status      `json:"status"`
		Population  int         `json:"population"`
		Matched     int         `json:"matched"`
		Bounds      []jsonBound `json:"bounds"`
		Summary     string      `json:"summary"`
		Offending   int         `json:"offending"`
		Evidence    []Evidence  `json:"evidence,omitempty"`
	}
	jsonBound struct {
		Key      string  `json:"key"`
		Limit    float64 `json:"limit"`
		Text     string  `json:"text"`
		Measured float64 `json:"measured"`
		OK       bool    `json:"ok"`
	}
)

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{OK: r.Count(Fail) == 0, Passed: r.Count(Pass), Failed: r.Count(Fail), Skipped: r.Count(Skip),
		Captures: []jsonCapture{}}
	for _, res := range r.Results {
		c := jsonCapture{Input: res.Input, Inputs: res.Inputs, Frames: res.Frames, Messages: res.Messages, Calls: res.Calls,
			Diameter: res.Diameter, DNS: res.DNS, ElapsedMS: res.Elapsed.Milliseconds(), Warnings: res.Warnings, Rules: []jsonRule{}}
		for i := range res.Rules {
			rr := &res.Rules[i]
			ru := rr.Rule
			jr := jsonRule{Name: ru.Name, Description: ru.Description, Source: ru.Source(), Over: ru.Over, Kind: ru.Kind.String(),
				Match: ru.Match, Where: ru.Where, Value: ru.Value, Status: rr.Status, Population: rr.Population, Matched: rr.Matched,
				Bounds: []jsonBound{}, Summary: rr.Summary}
			for _, st := range ru.Status {
				jr.StatusOf = append(jr.StatusOf, st.String())
			}
			for _, b := range rr.Bounds {
				jr.Bounds = append(jr.Bounds, jsonBound{Key: b.Key, Limit: b.Value, Text: b.Text, Measured: b.Measured, OK: b.OK})
			}
			if rr.Status == Fail {
				jr.Offending, jr.Evidence = rr.Offending, rr.Evidence
			}
			c.Rules = append(c.Rules, jr)
		}
		out.Captures = append(out.Captures, c)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// JUnit XML shapes, after the Jenkins / Ant schema most CI systems read (testsuites, one
// testsuite per capture, one testcase per rule).
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
		SystemErr  string          `xml:"system-err,omitempty"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitMessage `xml:"failure"`
		Skipped   *junitMessage `xml:"skipped"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitMessage struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",cdata"`
	}
)

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// WriteJUnit writes JUnit XML: one testsuite per capture, one testcase per rule, a failure's
// message its summary and its text the offending items.
func (r *Report) WriteJUnit(w io.Writer) error {
	out := junitSuites{Name: "sigtrace check", Tests: r.Tests(), Failures: r.Count(Fail)}
	var total time.Duration
	for _, res := range r.Results {
		total += res.Elapsed
		s := junitSuite{Name: res.Input, Tests: len(res.Rules), Failures: res.Count(Fail), Skipped: res.Count(Skip),
			Time: seconds(res.Elapsed), SystemErr: strings.Join(res.Warnings, "\n"),
			Properties: []junitProperty{
				{"frames", strconv.Itoa(res.Frames)}, {"messages", strconv.Itoa(res.Messages)}, {"calls", strconv.Itoa(res.Calls)},
				{"diameter", strconv.Itoa(res.Diameter)}, {"dns", strconv.Itoa(res.DNS)},
			}}
		if !r.Started.IsZero() {
			s.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
		}
		for i := range res.Rules {
			rr := &res.Rules[i]
			c := junitCase{Name: rr.Rule.Name, Classname: res.Input, Time: "0", SystemOut: rr.Summary}
			switch rr.Status {
			case Fail:
				var text strings.Builder
				if d := rr.Rule.Description; d != "" {
					text.WriteString(d + "\n")
				}
				text.WriteString("rule " + rr.Rule.Source() + "\n")
				for _, ev := range rr.Evidence {
					text.WriteString(evidenceLine(ev) + "\n")
				}
				if m := more(rr); m != "" {
					text.WriteString(m + "\n")
				}
				c.Failure = &junitMessage{Message: printable(rr.Summary), Type: rr.Rule.Kind.String(), Text: text.String()}
			case Skip:
				c.Skipped = &junitMessage{Message: rr.Summary}
			}
			s.Cases = append(s.Cases, c)
		}
		out.Suites = append(out.Suites, s)
	}
	out.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteGitHub writes GitHub Actions workflow commands: an ::error annotation per failed rule and
// capture (placed on the rule's line in the rules file), a ::warning per damaged input.
func (r *Report) WriteGitHub(w io.Writer) error {
	var b strings.Builder
	for _, res := range r.Results {
		for _, warn := range res.Warnings {
			fmt.Fprintf(&b, "::warning title=%s::%s\n", ghProperty("sigtrace check: "+res.Input), ghData(warn))
		}
		for i := range res.Rules {
			rr := &res.Rules[i]
			if rr.Status != Fail {
				continue
			}
			var props []string
			if rr.Rule.Line > 0 {
				props = append(props, "file="+ghProperty(rr.Rule.File), "line="+strconv.Itoa(rr.Rule.Line))
			}
			props = append(props, "title="+ghProperty("sigtrace check: "+rr.Rule.Name))
			msg := res.Input + ": " + rr.Rule.Name + ": " + rr.Summary
			for _, ev := range rr.Evidence {
				msg += "\n" + evidenceLine(ev)
			}
			if m := more(rr); m != "" {
				msg += "\n" + m
			}
			fmt.Fprintf(&b, "::error %s::%s\n", strings.Join(props, ","), ghData(msg))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
