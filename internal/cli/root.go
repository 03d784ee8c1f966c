// Package cli holds sigtrace's cobra commands, one file per command. Commands take their streams,
// clock, environment and HTTP client from a Factory so that tests can run them in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes. They are part of sigtrace's interface: scripts and CI pipelines rely on them.
const (
	ExitOK         = 0
	ExitError      = 1
	ExitUsage      = 2
	ExitViolations = 3 // `check` found rule violations
	ExitChanged    = 4 // `epdg --diff` found changed addresses
)

// Version is set at build time with -ldflags "-X github.com/sigtrace/sigtrace/internal/cli.Version=...".
var Version = "dev"

// Factory carries everything a command needs from the outside world.
type Factory struct {
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	Now        func() time.Time
	Getenv     func(string) string
	HTTPClient *http.Client
	// StdoutIsTerminal selects aligned tables for people and tab-separated text for pipes.
	StdoutIsTerminal bool
}

// SystemFactory returns a Factory wired to the process's real streams and environment.
func SystemFactory() *Factory {
	return &Factory{
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		Now:              time.Now,
		Getenv:           os.Getenv,
		HTTPClient:       &http.Client{Timeout: 30 * time.Second},
		StdoutIsTerminal: isTerminal(os.Stdout),
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// commands lists the constructors of every subcommand; each command file adds itself in init so
// that commands can be written side by side without editing one shared list.
var commands []func(*Factory) *cobra.Command

func register(newCmd func(*Factory) *cobra.Command) { commands = append(commands, newCmd) }

// NewRootCmd builds the sigtrace command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "sigtrace",
		Short:         "SIP, Diameter and DNS trace analysis",
		Long:          "sigtrace decodes captures (pcap, pcapng, compressed, HEP) and turns SIP, Diameter and DNS\ninto messages, calls, transactions, checks and HOMER feeds.",
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for \"sigtrace\"", args[0])
			}
			return cmd.Help()
		},
	}
	root.SetIn(f.Stdin)
	root.SetOut(f.Stdout)
	root.SetErr(f.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	subs := make([]*cobra.Command, 0, len(commands))
	for _, newCmd := range commands {
		subs = append(subs, newCmd(f))
	}
	slices.SortFunc(subs, func(a, b *cobra.Command) int { return strings.Compare(a.Name(), b.Name()) })
	root.AddCommand(subs...)
	return root
}

// UsageError marks a mistake in how sigtrace was called (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usagef returns a UsageError.
func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitCodeError ends the run with a given exit code after the command has already reported why
// (for example `check` printing its failed rules). Message, when set, is printed to stderr.
type ExitCodeError struct {
	Code    int
	Message string
}

func (e *ExitCodeError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// Main runs sigtrace with args and returns the process exit code.
func Main(args []string, f *Factory) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, f)
}

func run(ctx context.Context, args []string, f *Factory) int {
	// SIGTRACE_CPUPROFILE=FILE writes a CPU profile of the run, for the benchmark scripts.
	if p := f.Getenv("SIGTRACE_CPUPROFILE"); p != "" {
		if out, err := os.Create(p); err == nil {
			if pprof.StartCPUProfile(out) == nil {
				defer func() { pprof.StopCPUProfile(); out.Close() }()
			}
		}
	}
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var codeErr *ExitCodeError
	if errors.As(err, &codeErr) {
		if codeErr.Message != "" {
			fmt.Fprintln(f.Stderr, "sigtrace:", codeErr.Message)
		}
		return codeErr.Code
	}
	fmt.Fprintln(f.Stderr, "sigtrace:", err)
	var usage *UsageError
	if errors.As(err, &usage) || isCobraUsageError(err) {
		return ExitUsage
	}
	return ExitError
}

// isCobraUsageError recognises the argument errors cobra returns without a typed error.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand flag", "required flag"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// LinkOptions say how legs are linked into calls: --leg-header and --link-heuristic, which every
// command that correlates calls has.
type LinkOptions struct {
	LegHeaders []string
	Heuristic  bool
}

// addLinkFlags adds --leg-header and --link-heuristic; scope starts their help (hep listen has them
// for one of its modes).
func addLinkFlags(fl *pflag.FlagSet, o *LinkOptions, scope string) {
	fl.StringArrayVar(&o.LegHeaders, "leg-header", nil, scope+"another header whose value is the parent leg's Call-ID (repeatable)")
	fl.BoolVar(&o.Heuristic, "link-heuristic", false, scope+"pair legs no header links by calling number, host and timing (marked heuristic)")
}

// callOptions returns the correlator's options for these links, the others left at their defaults.
func (o LinkOptions) callOptions() correlate.CallOptions {
	return correlate.CallOptions{LegHeaders: o.LegHeaders, Heuristic: o.Heuristic}
}

// addOutputFlag adds -o/--output with the given allowed formats; the first is the default.
func addOutputFlag(cmd *cobra.Command, target *string, formats ...string) {
	cmd.Flags().StringVarP(target, "output", "o", formats[0], "output format: "+strings.Join(formats, "|"))
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return formats, cobra.ShellCompDirectiveNoFileComp
	})
	prev := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if !slices.Contains(formats, *target) {
			return usagef("unknown output format %q (want %s)", *target, strings.Join(formats, ", "))
		}
		if prev != nil {
			return prev(c, args)
		}
		return nil
	}
}
