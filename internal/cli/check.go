package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/filters"
	"github.com/sigtrace/sigtrace/internal/check"
)

func init() { register(NewCmdCheck) }

// CheckOptions are the inputs of `sigtrace check`.
type CheckOptions struct {
	Inputs  []string
	Rules   []string
	Presets []string
	JUnit   string
	JSON    bool
	Format  string
	Merge   bool
	LinkOptions
	MaxEvidence int
}

var checkFormats = []string{"text", "json", "github"}

// NewCmdCheck builds `sigtrace check`.
func NewCmdCheck(f *Factory) *cobra.Command {
	opts := &CheckOptions{}
	cmd := &cobra.Command{
		Use:   "check FILE... (--rules RULES.yaml | --preset sanity)",
		Short: "Assert rules over captures for CI: counts, ratios, statistics; JUnit XML",
		Long:  checkLong(),
		Example: `  sigtrace check capture.pcapng --preset sanity
  sigtrace check sipp-run.pcap --rules ci-rules.yaml --junit report.xml --format github
  sigtrace check a.pcap b.pcap --rules ci-rules.yaml --json | jq '.captures[].rules[] | select(.status == "fail")'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return checkRun(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Rules, "rules", nil, "rules file (YAML; repeatable)")
	fl.StringArrayVar(&opts.Presets, "preset", nil, "built-in rule set: "+strings.Join(check.PresetNames(), ", ")+" (repeatable)")
	fl.StringVar(&opts.JUnit, "junit", "", "also write JUnit XML to this file")
	fl.BoolVar(&opts.JSON, "json", false, "write the report as JSON (same as --format json)")
	fl.StringVar(&opts.Format, "format", "text", "report format: "+strings.Join(checkFormats, "|"))
	fl.BoolVar(&opts.Merge, "merge", false, "check the files as one capture, merged by time (several interfaces of one test)")
	addLinkFlags(fl, &opts.LinkOptions, "")
	fl.IntVar(&opts.MaxEvidence, "evidence", check.DefaultMaxEvidence, "offending items listed per failed rule")
	_ = cmd.RegisterFlagCompletionFunc("preset", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return check.PresetNames(), cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return checkFormats, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("rules", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	})
	return cmd
}

func checkLong() string {
	var values strings.Builder
	for _, v := range check.Values() {
		unit := ""
		if v.Seconds {
			unit = " (a time)"
		}
		fmt.Fprintf(&values, "  %-24s %s%s\n", v.Name, v.Doc, unit)
	}
	var presets strings.Builder
	for _, name := range check.PresetNames() {
		text, _ := check.PresetText(name)
		fmt.Fprintf(&presets, "--preset %s:\n\n", name)
		for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			presets.WriteString("  " + line + "\n")
		}
	}
	return `Evaluate rules over captures and fail (exit code 3) when any rule is broken: for CI pipelines
that record signalling (SIPp against a staging SBC, an IMS test bed) and must go red when it goes wrong.

Each FILE is checked on its own (--merge: all as one capture). Every rule gets PASS, FAIL or SKIP
with what was measured; a failure lists its first offending items as input:frame, Call-ID (Session-Id
for Diameter, question name for DNS) and what they are, so the frame can be opened in Wireshark.

A rules file:

  rules:
    - name: no-server-errors
      over: messages              # messages, calls, diameter or dns
      match: 'sip.status >= 500'
      max: 0                      # at most this many matches
    - name: answer-seizure-ratio
      over: calls
      where: 'call.outcome != "in-progress"'   # the population (optional)
      match: 'call.outcome == "answered"'
      min_ratio: 0.5              # share of the population that matches (0.5 or 50%)
    - name: post-dial-delay
      over: calls
      value: call.pdd             # a statistic over a value
      p95_max: 3s

Keys: name, description, over, match, where, status, value and bounds. A count rule bounds the
matches with max and min; a ratio rule the share of the population with min_ratio and max_ratio;
a statistic rule a value's max, min, avg_max, avg_min, p50_max, p90_max, p95_max, p99_max
(nearest-rank percentiles; times as 3s, 250ms or seconds). Unknown keys and expressions that do not
compile are errors with the file's line and column (exit code 2).

Populations: messages are every decoded message (capture duplicates left out); calls are the call
records of sigtrace calls; diameter and dns are request/answer pairs, including unanswered requests
and orphan answers. Expressions are those of sigtrace filter (sigtrace filter --list-fields). A call
rule may read message fields: a call matches when any of its SIP messages does, with its call.*
fields visible ('call.legs == 1 and sip.method == "INVITE" and ip.src in "10.20.0.0/16"'). A pair
matches when its request or its answer does; status: answered, unanswered or orphan (or a list)
keeps only pairs that ended so. A ratio or statistic with nothing to measure is skipped: assert
that traffic exists with a count (over: calls, min: 1).

Values for statistics:

` + values.String() + `
Built-in rule sets:

` + presets.String() + `
Output: --format text (default) a summary per capture; --json (--format json) one JSON document;
--format github the summary and GitHub Actions ::error annotations placed on the rule's line of the
rules file. --junit FILE also writes JUnit XML: a testsuite per capture, a testcase per rule, the
evidence in the failure's text.

Exit codes: 0 every rule passed, 1 error (unreadable capture), 2 usage (bad flags or rules file),
3 a rule failed.`
}

func checkRun(ctx context.Context, f *Factory, opts *CheckOptions) error {
	if opts.JSON {
		if opts.Format != "text" && opts.Format != "json" {
			return usagef("--json and --format %s: choose one", opts.Format)
		}
		opts.Format = "json"
	}
	if !slices.Contains(checkFormats, opts.Format) {
		return usagef("unknown report format %q (want %s)", opts.Format, strings.Join(checkFormats, ", "))
	}
	if len(opts.Rules) == 0 && len(opts.Presets) == 0 {
		return usagef("no rules: give --rules FILE or --preset %s", strings.Join(check.PresetNames(), "|"))
	}
	if opts.MaxEvidence < 1 {
		return usagef("--evidence must be at least 1")
	}
	getenv := f.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	lib, err := filters.LoadLibrary(getenv)
	if err != nil {
		return err
	}
	rs := &check.RuleSet{}
	for _, name := range opts.Presets {
		p, err := check.Preset(name, lib)
		if err != nil {
			return &UsageError{Err: err}
		}
		if err := rs.Add(p); err != nil {
			return &UsageError{Err: err}
		}
	}
	for _, path := range opts.Rules {
		r, err := check.Load(path, lib)
		var pe *check.ParseError
		if errors.As(err, &pe) {
			return &UsageError{Err: err}
		}
		if err != nil {
			return err
		}
		if err := rs.Add(r); err != nil {
			return &UsageError{Err: err}
		}
	}

	// Open every input first: a missing file fails the run before any work.
	caps, err := openCaptures(f, opts.Inputs)
	defer closeCaptures(caps)
	if err != nil {
		return err
	}
	co := opts.callOptions()
	co.MaxOpen = defaultMaxOpen
	copts := check.Options{
		Calls:       co,
		MaxEvidence: opts.MaxEvidence,
	}
	report := &check.Report{}
	if f.Now != nil {
		report.Started = f.Now()
	}
	groups := [][]*decode.Capture{caps}
	if !opts.Merge {
		groups = groups[:0]
		for _, c := range caps {
			groups = append(groups, []*decode.Capture{c})
		}
	}
	for _, g := range groups {
		res, err := rs.Check(ctx, g, copts)
		if err != nil {
			return err
		}
		report.Results = append(report.Results, res)
	}

	if opts.JUnit != "" {
		if err := writeJUnitFile(opts.JUnit, report); err != nil {
			return err
		}
	}
	out := bufio.NewWriter(f.Stdout)
	switch opts.Format {
	case "json":
		err = report.WriteJSON(out)
	case "github":
		if err = report.WriteText(out); err == nil {
			err = report.WriteGitHub(out)
		}
	default:
		err = report.WriteText(out)
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if n := report.Count(check.Fail); n > 0 {
		return &ExitCodeError{Code: ExitViolations, Message: fmt.Sprintf("check: %d of %d rule outcomes failed", n, report.Tests())}
	}
	return nil
}

func writeJUnitFile(path string, report *check.Report) error {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	w := bufio.NewWriter(fh)
	err = report.WriteJUnit(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	return nil
}
