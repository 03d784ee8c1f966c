package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/sigtrace/sigtrace/homer"
)

func init() { register(NewCmdHomer) }

// homerCommands are the subcommands of `sigtrace homer`; files add theirs with registerHomer.
var homerCommands []func(*Factory) *cobra.Command

func registerHomer(newCmd func(*Factory) *cobra.Command) {
	homerCommands = append(homerCommands, newCmd)
}

func init() { registerHomer(func(f *Factory) *cobra.Command { return NewCmdHomerSync(f, nil) }) }

// NewCmdHomer builds `sigtrace homer`, the room for commands that talk to HOMER.
func NewCmdHomer(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "homer",
		Short: "Work with a HOMER server (alias sync)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	for _, newCmd := range homerCommands {
		cmd.AddCommand(newCmd(f))
	}
	return cmd
}

// HomerSyncOptions are the inputs of `sigtrace homer sync`.
type HomerSyncOptions struct {
	URL        string
	Aliases    string
	Format     string
	CaptureID  string
	Config     string
	CAFile     string
	Insecure   bool
	DryRun     bool
	Prune      bool
	Force      bool
	Output     string
	Timeout    time.Duration
	Retries    int
	RetryWait  time.Duration
	configured bool // Config came from the flag
}

// NewCmdHomerSync builds `sigtrace homer sync`; runF replaces the run in tests when set.
func NewCmdHomerSync(f *Factory, runF func(*HomerSyncOptions) error) *cobra.Command {
	opts := &HomerSyncOptions{}
	cmd := &cobra.Command{
		Use:   "sync --url URL --aliases FILE",
		Short: "Make HOMER's aliases match a file (plan, then apply)",
		Long: `Make the aliases of a HOMER server (homer-app API v3: HOMER 7 and 10) match a file. sync reads
the server's aliases, prints a plan like terraform plan, and applies it; --dry-run stops after the plan.
A second run with the same input changes nothing.

An alias is identified by ip, mask, port and captureID; a different name or status is an update.
The plan marks each change + create, ~ update or - delete. Aliases on the server that the input lacks, and extra copies of one
alias (homer-app does not refuse duplicates), are deleted only with --prune; a prune that would delete
more than half of the server's aliases also needs --force. Changes are applied creates first, then
updates, then deletes, and a failed write stops the run with a summary of what was and was not
applied (exit 1); the next run picks up from there.

The input (--aliases FILE, or - for stdin) is YAML, JSON or CSV, chosen by the file's extension or
its content (--format to force one). Each alias has:
  name       required
  ip         required; an IPv4 or IPv6 address, or a prefix (10.20.0.0/16) that sets the mask
  mask       default 32 for IPv4, 128 for IPv6 (a single host)
  port       default 0 (any port; HOMER tries the exact port first, then 0)
  captureID  default "0" (--capture-id changes it); a string of at most 20 characters
  status     default true; HOMER uses only active aliases to name addresses
YAML and JSON take a list of maps, or a map with an "aliases" list; CSV needs a header row naming its
columns. Mask and port ranges and captureID length are checked before anything is written (homer-app
does not check them).

The JSON of "sigtrace epdg -o json" is read too: each resolved ePDG address becomes an alias named
after its operator. An operator whose lookup failed (timeout, servfail, error) keeps its aliases on
the server even with --prune, since a failed lookup says nothing about its addresses.

Credentials never go on the command line. In order: HOMER_TOKEN (an API token, sent as Auth-Token;
the server needs api_settings.enable_token_access=true, and writes need a token whose user_object
usergroup is "admin"), else HOMER_USER and HOMER_PASSWORD (an admin user), else the config file
$XDG_CONFIG_HOME/sigtrace/homer.yaml (~/.config/sigtrace/homer.yaml; --config for another) with keys
url, user, password, token, ca_file. The URL comes from --url, else HOMER_URL, else the config file.

TLS uses the system's roots plus --ca-file. --insecure skips verification, with a warning.
Timeouts, broken connections and 5xx answers are retried with backoff (--retries); a create is never
repeated blindly: the client looks for the alias first, since homer-app would store it twice.

-o json writes one object: url, input, dry_run, prune, changes (op, name, ip, mask, port, captureID,
status, guid, old, reason, result: planned|applied|failed|not_applied, error, note), unchanged, absent,
duplicates, kept, warnings, error.

Exit status: 0 when the plan was applied (or only printed), 1 when a write failed or the server
refused, 2 for a usage mistake.`,
		Example: `  export HOMER_USER=admin HOMER_PASSWORD=...
  sigtrace homer sync --url https://homer.example:9080 --aliases aliases.yaml --dry-run
  sigtrace homer sync --url https://homer.example:9080 --aliases aliases.csv --prune
  sigtrace epdg --country AU -o json > epdg.json && sigtrace homer sync --aliases epdg.json --prune`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.configured = cmd.Flags().Changed("config")
			if opts.Aliases == "" {
				return usagef("homer sync: --aliases FILE is required")
			}
			switch homer.Format(opts.Format) {
			case homer.FormatAuto, homer.FormatYAML, homer.FormatJSON, homer.FormatCSV, homer.FormatEPDG:
			default:
				return usagef("homer sync: unknown --format %q (want yaml, json, csv or epdg)", opts.Format)
			}
			if opts.Force && !opts.Prune {
				return usagef("homer sync: --force only makes sense with --prune")
			}
			if runF != nil {
				return runF(opts)
			}
			return homerSyncRun(cmd, f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.URL, "url", "", "homer-app URL, e.g. https://homer.example:9080 (default $HOMER_URL, then the config file)")
	fl.StringVar(&opts.Aliases, "aliases", "", "desired aliases: YAML, JSON, CSV or sigtrace epdg JSON; - for stdin")
	fl.StringVar(&opts.Format, "format", "", "input format: yaml|json|csv|epdg (default: from the name, then the content)")
	fl.StringVar(&opts.CaptureID, "capture-id", "0", "captureID of aliases whose input gives none")
	fl.StringVar(&opts.Config, "config", "", "config file (default $XDG_CONFIG_HOME/sigtrace/homer.yaml)")
	fl.StringVar(&opts.CAFile, "ca-file", "", "PEM certificates to trust besides the system's")
	fl.BoolVar(&opts.Insecure, "insecure", false, "do not verify the server's TLS certificate (unsafe)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and stop")
	fl.BoolVar(&opts.Prune, "prune", false, "delete aliases the input lacks, and duplicates")
	fl.BoolVar(&opts.Force, "force", false, "let --prune delete more than half of the server's aliases")
	fl.DurationVar(&opts.Timeout, "timeout", 30*time.Second, "time limit of each request")
	fl.IntVar(&opts.Retries, "retries", 3, "retries after a timeout, a broken connection or a 5xx")
	fl.DurationVar(&opts.RetryWait, "retry-wait", time.Second, "wait before the first retry, doubled each time")
	addOutputFlag(cmd, &opts.Output, "text", "json")
	return cmd
}

// homerConfig is the config file.
type homerConfig struct {
	URL      string `yaml:"url"`
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	Token    string `yaml:"token"`
	CAFile   string `yaml:"ca_file"`
}

// loadHomerConfig reads the config file; a missing default file is no error.
func loadHomerConfig(f *Factory, opts *HomerSyncOptions, warn func(string, ...any)) (homerConfig, error) {
	var cfg homerConfig
	path := opts.Config
	if path == "" {
		dir := f.Getenv("XDG_CONFIG_HOME")
		if dir == "" {
			home := f.Getenv("HOME")
			if home == "" {
				return cfg, nil
			}
			dir = filepath.Join(home, ".config")
		}
		path = filepath.Join(dir, "sigtrace", "homer.yaml")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !opts.configured {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("homer sync: config: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("homer sync: config %s: %w", path, err)
	}
	if cfg.Password != "" || cfg.Token != "" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			warn("%s holds a secret and others can read it: chmod 600 %s", path, path)
		}
	}
	if cfg.CAFile != "" && !filepath.IsAbs(cfg.CAFile) {
		cfg.CAFile = filepath.Join(filepath.Dir(path), cfg.CAFile)
	}
	return cfg, nil
}

func homerSyncRun(cmd *cobra.Command, f *Factory, opts *HomerSyncOptions) error {
	ctx := cmd.Context()
	warn := func(format string, args ...any) { fmt.Fprintf(f.Stderr, "sigtrace: warning: "+format+"\n", args...) }

	// Read and check the input before anything touches the server.
	var data []byte
	var err error
	if opts.Aliases == "-" {
		data, err = io.ReadAll(f.Stdin)
	} else {
		data, err = os.ReadFile(opts.Aliases)
	}
	if err != nil {
		return fmt.Errorf("homer sync: %w", err)
	}
	desired, err := homer.ReadAliases(data, opts.Aliases, homer.Format(opts.Format), homer.Defaults{CaptureID: opts.CaptureID})
	if err != nil {
		return err
	}
	for _, w := range desired.Warnings {
		warn("%s", w)
	}

	cfg, err := loadHomerConfig(f, opts, warn)
	if err != nil {
		return err
	}
	rawURL := firstNonEmpty(opts.URL, f.Getenv("HOMER_URL"), cfg.URL)
	if rawURL == "" {
		return usagef("homer sync: no server: give --url, set HOMER_URL, or put url in the config file")
	}
	hopts := homer.Options{
		CAFile: firstNonEmpty(opts.CAFile, cfg.CAFile), Insecure: opts.Insecure,
		Timeout: opts.Timeout, Retries: opts.Retries, RetryWait: opts.RetryWait,
	}
	if opts.Retries == 0 {
		hopts.Retries = -1
	}
	switch {
	case f.Getenv("HOMER_TOKEN") != "":
		hopts.Token = f.Getenv("HOMER_TOKEN")
	case f.Getenv("HOMER_USER") != "" || f.Getenv("HOMER_PASSWORD") != "":
		hopts.User, hopts.Password = f.Getenv("HOMER_USER"), f.Getenv("HOMER_PASSWORD")
	case cfg.Token != "":
		hopts.Token = cfg.Token
	default:
		hopts.User, hopts.Password = cfg.User, cfg.Password
	}
	if hopts.Token == "" && (hopts.User == "" || hopts.Password == "") {
		return usagef("homer sync: no credentials: set HOMER_TOKEN, or HOMER_USER and HOMER_PASSWORD, or put them in the config file")
	}
	if f.HTTPClient != nil && f.HTTPClient.Transport != nil && hopts.CAFile == "" && !hopts.Insecure {
		// Our own per-attempt timeout governs, not the shared client's.
		hopts.HTTPClient = &http.Client{Transport: f.HTTPClient.Transport}
	}
	if opts.Insecure {
		warn("--insecure: the server's certificate is not checked; anyone on the path can read the credentials")
	}
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		warn("%s is plain http: the credentials cross the network in clear", rawURL)
	}
	client, err := homer.New(rawURL, hopts)
	if err != nil {
		return err
	}

	current, err := client.Aliases(ctx)
	if err != nil {
		return err
	}
	plan, err := homer.Diff(desired, current, opts.Prune)
	if err != nil {
		return err
	}
	res := &syncResult{URL: client.URL(), Input: opts.Aliases, DryRun: opts.DryRun, Prune: opts.Prune, plan: plan, desired: desired}
	deletes := plan.Count(homer.OpDelete)
	var refusal error
	if deletes > 0 && deletes*2 > plan.Current && !opts.Force {
		refusal = fmt.Errorf("homer sync: the plan deletes %d of the %d aliases on the server, more than half: check the input, then add --force", deletes, plan.Current)
	}
	if opts.DryRun || refusal != nil || len(plan.Changes) == 0 {
		if refusal != nil && !opts.DryRun {
			res.Error = refusal.Error()
		}
		if err := res.write(f.Stdout, opts.Output); err != nil {
			return err
		}
		if opts.DryRun && refusal != nil {
			warn("%s", strings.TrimPrefix(refusal.Error(), "homer sync: "))
			return nil
		}
		if refusal != nil {
			return &ExitCodeError{Code: ExitError, Message: refusal.Error()}
		}
		return nil
	}
	rep, applyErr := client.Apply(ctx, plan)
	res.report = &rep
	if applyErr != nil {
		res.Error = applyErr.Error()
	}
	if err := res.write(f.Stdout, opts.Output); err != nil {
		return err
	}
	if applyErr != nil {
		return &ExitCodeError{Code: ExitError, Message: fmt.Sprintf("homer sync: %d of %d changes applied; %v", len(rep.Applied), len(plan.Changes), applyErr)}
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// syncResult is what a sync prints.
type syncResult struct {
	URL     string `json:"url"`
	Input   string `json:"input"`
	DryRun  bool   `json:"dry_run"`
	Prune   bool   `json:"prune"`
	Error   string `json:"error,omitempty"`
	plan    homer.Plan
	desired homer.Desired
	report  *homer.Report
}

type syncChangeJSON struct {
	Op        homer.Op     `json:"op"`
	Name      string       `json:"name"`
	IP        string       `json:"ip"`
	Mask      int          `json:"mask"`
	Port      int          `json:"port"`
	CaptureID string       `json:"captureID"`
	Status    bool         `json:"status"`
	GUID      string       `json:"guid,omitempty"`
	Old       *syncOldJSON `json:"old,omitempty"`
	Reason    string       `json:"reason,omitempty"`
	Result    string       `json:"result"`
	Error     string       `json:"error,omitempty"`
	Note      string       `json:"note,omitempty"`
}

type syncOldJSON struct {
	Name   string `json:"name"`
	Status bool   `json:"status"`
}

// changes pairs each planned change with what became of it.
func (r *syncResult) changes() []syncChangeJSON {
	out := make([]syncChangeJSON, 0, len(r.plan.Changes))
	result := func(i int) (string, string, string, string) {
		if r.report == nil {
			return "planned", "", "", ""
		}
		if i < len(r.report.Applied) {
			o := r.report.Applied[i]
			return "applied", "", o.Note, o.GUID
		}
		if r.report.Failed != nil && i == len(r.report.Applied) {
			return "failed", r.report.Err.Error(), "", ""
		}
		return "not_applied", "", "", ""
	}
	for i, c := range r.plan.Changes {
		res, errMsg, note, guid := result(i)
		j := syncChangeJSON{Op: c.Op, Name: c.Alias.Name, IP: c.Alias.IP, Mask: c.Alias.Mask, Port: c.Alias.Port,
			CaptureID: c.Alias.CaptureID, Status: c.Alias.Status, GUID: firstNonEmpty(guid, c.Alias.GUID),
			Reason: c.Reason, Result: res, Error: errMsg, Note: note}
		if c.Old != nil {
			j.Old = &syncOldJSON{Name: c.Old.Name, Status: c.Old.Status}
		}
		out = append(out, j)
	}
	return out
}

func (r *syncResult) write(w io.Writer, format string) error {
	if format == "json" {
		aliases := func(l []homer.Alias) []homer.Alias {
			if l == nil {
				return []homer.Alias{}
			}
			return l
		}
		warnings := r.desired.Warnings
		if warnings == nil {
			warnings = []string{}
		}
		v := struct {
			*syncResult
			Changes    []syncChangeJSON `json:"changes"`
			Unchanged  int              `json:"unchanged"`
			Absent     []homer.Alias    `json:"absent"`
			Duplicates []homer.Alias    `json:"duplicates"`
			Kept       []homer.Alias    `json:"kept"`
			Warnings   []string         `json:"warnings"`
		}{r, r.changes(), r.plan.Unchanged, aliases(r.plan.Absent), aliases(r.plan.Duplicates), aliases(r.plan.Kept), warnings}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	var b strings.Builder
	p := r.plan
	fmt.Fprintf(&b, "HOMER %s: %d aliases; %s: %d aliases\n", r.URL, p.Current, r.Input, len(r.desired.Aliases))
	if len(p.Changes) > 0 {
		b.WriteString("\n")
	}
	for _, c := range p.Changes {
		b.WriteString(changeLine(c) + "\n")
	}
	fmt.Fprintf(&b, "\nPlan: %d to create, %d to update, %d to delete, %d unchanged.\n",
		p.Count(homer.OpCreate), p.Count(homer.OpUpdate), p.Count(homer.OpDelete), p.Unchanged)
	if n := len(p.Absent); n > 0 {
		fmt.Fprintf(&b, "%s on the server not in the input, kept; --prune deletes %s.\n", plural(n, "alias", "aliases"), them(n))
	}
	if n := len(p.Duplicates); n > 0 {
		fmt.Fprintf(&b, "%s (same ip, mask, port, captureID as another), kept; --prune deletes %s:\n", plural(n, "duplicate", "duplicates"), them(n))
		for _, a := range p.Duplicates {
			fmt.Fprintf(&b, "  %s %q %s\n", a.Key(), a.Name, a.GUID)
		}
	}
	for _, a := range p.Kept {
		fmt.Fprintf(&b, "Kept %s %q: %s.\n", a.Key(), a.Name, p.KeptReason[a.Name])
	}
	switch {
	case r.DryRun:
		b.WriteString("Dry run: nothing written.\n")
	case r.report == nil && len(p.Changes) == 0:
		b.WriteString("No changes: HOMER matches the input.\n")
	case r.report != nil:
		rep := r.report
		var created, updated, deleted int
		for _, o := range rep.Applied {
			switch o.Op {
			case homer.OpCreate:
				created++
			case homer.OpUpdate:
				updated++
			case homer.OpDelete:
				deleted++
			}
		}
		fmt.Fprintf(&b, "\nApplied: %d created, %d updated, %d deleted.\n", created, updated, deleted)
		for _, o := range rep.Applied {
			if o.Note != "" {
				fmt.Fprintf(&b, "  %s: %s\n", changeLine(o.Change), o.Note)
			}
		}
		if rep.Failed != nil || rep.Err != nil {
			if rep.Failed != nil {
				fmt.Fprintf(&b, "Failed: %s\n  %v\n", changeLine(*rep.Failed), rep.Err)
			} else {
				fmt.Fprintf(&b, "Stopped before any write: %v\n", rep.Err)
			}
			if len(rep.NotApplied) > 0 {
				fmt.Fprintf(&b, "Not applied (%d):\n", len(rep.NotApplied))
				for _, c := range rep.NotApplied {
					b.WriteString("  " + changeLine(c) + "\n")
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func changeLine(c homer.Change) string {
	k := c.Alias.Key().String()
	switch c.Op {
	case homer.OpCreate:
		s := fmt.Sprintf("+ create %s %q", k, c.Alias.Name)
		if !c.Alias.Status {
			s += " (inactive)"
		}
		return s
	case homer.OpUpdate:
		var diffs []string
		if c.Old.Name != c.Alias.Name {
			diffs = append(diffs, fmt.Sprintf("name %q -> %q", c.Old.Name, c.Alias.Name))
		}
		if c.Old.Status != c.Alias.Status {
			diffs = append(diffs, fmt.Sprintf("status %t -> %t", c.Old.Status, c.Alias.Status))
		}
		return fmt.Sprintf("~ update %s %s", k, strings.Join(diffs, ", "))
	default:
		return fmt.Sprintf("- delete %s %q (%s)", k, c.Alias.Name, c.Reason)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
