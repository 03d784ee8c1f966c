package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/internal/epdg"
)

func init() { register(NewCmdEpdg) }

// EnvResolvConf names the resolv.conf that `epdg` reads when no --resolver is given.
const EnvResolvConf = "SIGTRACE_RESOLV_CONF"

// EpdgOptions are the inputs of `sigtrace epdg`.
type EpdgOptions struct {
	Kind        string
	PLMNs       []string
	MCC         string
	MNCs        []string
	Countries   []string
	AllNetworks bool
	Resolvers   []string
	Timeout     time.Duration
	Retries     int
	Concurrency int
	UDPSize     uint16
	Output      string
	Aggregate   bool
	DSCP        string
	Name        string
	NftTable    string
	Diff        string
	Save        string
	Strict      bool
}

// NewCmdEpdg builds `sigtrace epdg`.
func NewCmdEpdg(f *Factory) *cobra.Command {
	opts := &EpdgOptions{}
	formats := make([]string, len(epdg.Formats))
	for i, fm := range epdg.Formats {
		formats[i] = string(fm)
	}
	cmd := &cobra.Command{
		Use:   "epdg",
		Short: "Resolve mobile operators' ePDG (WiFi calling) gateways into QoS and firewall lists",
		Long: `Resolve the public DNS names of mobile operators' ePDGs, the gateways that handsets reach over
IPsec for Voice over WiFi, and write their addresses as a report or as a list to load into a
firewall or router, so that a WiFi network can prioritise WiFi calling.

Names follow 3GPP TS 23.003, with the MNC padded to three digits:
  --kind epdg   epdg.epc.mnc<MNC>.mcc<MCC>.pub.3gppnetwork.org (default)
  --kind sos    sos.epdg.epc.mnc<MNC>.mcc<MCC>.pub.3gppnetwork.org (emergency ePDG)
  --kind n3iwf  n3iwf.5gc.mnc<MNC>.mcc<MCC>.pub.3gppnetwork.org (5G N3IWF)

Operators come from --plmn MCC-MNC, from --mcc with --mnc, or from --country (an ISO code such as
AU, or a country name), which takes the networks an embedded MCC/MNC table lists as operational
(--all-networks takes every network listed). The table comes from the mcc-mnc-list package,
compiled from Wikipedia; scripts/update-mccmnc refreshes it.

A and AAAA records are asked of the --resolver servers (host:port, repeatable), or else of the
nameservers in /etc/resolv.conf (or the file named by $SIGTRACE_RESOLV_CONF). CNAMEs are followed,
truncated UDP answers are asked again over TCP, and a query that fails is retried on the next
server. Each operator gets a status: ok, nxdomain (the operator publishes no gateway), nodata,
servfail, timeout or error. A timeout or servfail for one family (A or AAAA) while the other
gave addresses is reported as that failure, with the addresses found.

Output (-o): table; json (the report that --diff reads); csv; list (addresses); cidr (/32 and
/128); nftables (an nft script filling an IPv4 and an IPv6 interval set); iptables and ip6tables
(iptables-restore input: a mangle chain setting DSCP, EF unless --dscp); cisco (IOS extended
ACLs); juniper (Junos prefix-lists). --aggregate merges contained and adjacent prefixes. Every
output names the operators and the time of resolution, in comments where it has no field.
Lists meant to be loaded (all but table, json and csv) are not written when nothing resolved,
so that a scheduled job never loads an empty list.

--diff PREVIOUS.json compares with an earlier json report and writes the added (+) and removed
(-) addresses per operator to stderr. Addresses missing after a failed lookup (timeout,
servfail, error) are reported as not confirmed and do not count as removed; addresses of an
operator whose earlier lookup failed count as added. --save FILE writes this run's json report
to FILE (after reading --diff, so both may name the same file), unless nothing resolved.

Exit status: 0 when at least one address resolved; 1 when none did, or with --strict when any
operator's status is not ok; 4 when --diff found added or removed addresses (1 wins over 4).`,
		Example: `  sigtrace epdg --plmn 505-01,505-02,505-03
  sigtrace epdg --country AU -o json
  sigtrace epdg --mcc 505 --mnc 1,2,3 --kind sos -o cidr --aggregate
  sigtrace epdg --country AU -o nftables --resolver 9.9.9.9 > epdg.nft && nft -f epdg.nft
  # daily, alert on change:
  sigtrace epdg --country AU -o iptables --diff /var/lib/epdg.json --save /var/lib/epdg.json > epdg.rules`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return epdgRun(cmd, f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Kind, "kind", "epdg", "gateway: epdg, sos (emergency ePDG) or n3iwf")
	fl.StringSliceVar(&opts.PLMNs, "plmn", nil, "operators as MCC-MNC, e.g. 505-01,505-02 (repeatable)")
	fl.StringVar(&opts.MCC, "mcc", "", "mobile country code (3 digits), with --mnc")
	fl.StringSliceVar(&opts.MNCs, "mnc", nil, "mobile network codes (1-3 digits) of --mcc, e.g. 1,2,3")
	fl.StringSliceVar(&opts.Countries, "country", nil, "every operational network of a country: ISO code (AU) or name (repeatable)")
	fl.BoolVar(&opts.AllNetworks, "all-networks", false, "with --country, also networks not listed as operational")
	fl.StringArrayVar(&opts.Resolvers, "resolver", nil, "DNS resolver host:port (repeatable; default: /etc/resolv.conf)")
	fl.DurationVar(&opts.Timeout, "timeout", 2*time.Second, "time to wait for one answer")
	fl.IntVar(&opts.Retries, "retries", 2, "further tries after a timeout or SERVFAIL, each on the next resolver")
	fl.IntVar(&opts.Concurrency, "concurrency", 8, "queries in flight at once")
	fl.Uint16Var(&opts.UDPSize, "udp-size", 1232, "EDNS0 UDP buffer size offered (0: no EDNS0)")
	addOutputFlag(cmd, &opts.Output, formats...)
	fl.BoolVar(&opts.Aggregate, "aggregate", false, "merge contained and adjacent prefixes (cidr and rule formats)")
	fl.StringVar(&opts.DSCP, "dscp", "EF", "DSCP that iptables rules set: class (EF, AF41, CS5...) or 0-63")
	fl.StringVar(&opts.Name, "name", "", "base name of sets, chains, ACLs and prefix-lists (default: the kind)")
	fl.StringVar(&opts.NftTable, "nft-table", "sigtrace", "nftables table (family inet) holding the sets")
	fl.StringVar(&opts.Diff, "diff", "", "compare with an earlier json report; exit 4 when addresses changed")
	fl.StringVar(&opts.Save, "save", "", "also write this run's json report to `FILE`")
	fl.BoolVar(&opts.Strict, "strict", false, "exit 1 unless every operator's status is ok")
	return cmd
}

func epdgRun(cmd *cobra.Command, f *Factory, opts *EpdgOptions) error {
	kind, err := epdg.ParseKind(opts.Kind)
	if err != nil {
		return &UsageError{Err: err}
	}
	plmns, err := epdgPLMNs(opts)
	if err != nil {
		return err
	}
	format := epdg.Format(opts.Output)
	wopt := epdg.Options{Format: format, Aggregate: opts.Aggregate, DSCP: opts.DSCP, Name: opts.Name, NftTable: opts.NftTable}
	if err := epdgCheckOptions(opts, wopt); err != nil {
		return err
	}
	servers, err := epdgServers(f, opts.Resolvers)
	if err != nil {
		return err
	}
	var prev *epdg.Report
	if opts.Diff != "" {
		if prev, err = epdg.ReadReport(opts.Diff); err != nil {
			return err
		}
		if prev.Kind != kind {
			return usagef("--diff %s holds %s gateways, this run resolves %s", opts.Diff, prev.Kind, kind)
		}
	}

	res := &epdg.Resolver{Servers: servers, Timeout: opts.Timeout, Retries: opts.Retries, Concurrency: opts.Concurrency, UDPSize: opts.UDPSize}
	rep := &epdg.Report{ResolvedAt: f.Now().UTC(), Kind: kind, Resolvers: servers}
	rep.Operators = res.Resolve(cmd.Context(), epdg.Targets(kind, plmns))

	for _, r := range rep.Operators {
		if !r.Status.Conclusive() {
			fmt.Fprintf(f.Stderr, "sigtrace epdg: %s %s: %s (%s)\n", r.Label(), r.FQDN, r.Status, r.Error)
		}
	}
	if rep.AddressCount() == 0 {
		if !format.Loadable() {
			if err := epdgWrite(f, rep, wopt); err != nil {
				return err
			}
		}
		return &ExitCodeError{Code: ExitError, Message: fmt.Sprintf("no %s gateway address resolved for %d operator(s)", kind, len(rep.Operators))}
	}
	if err := epdgWrite(f, rep, wopt); err != nil {
		return err
	}
	changed := false
	if prev != nil {
		changes, err := epdg.Diff(prev, rep)
		if err != nil {
			return err
		}
		if err := epdg.WriteDiff(f.Stderr, prev, changes); err != nil {
			return err
		}
		changed = epdg.AnyChanged(changes)
	}
	if opts.Save != "" {
		if err := epdgSave(opts.Save, rep); err != nil {
			return err
		}
	}
	if opts.Strict {
		bad := 0
		for _, r := range rep.Operators {
			if r.Status != epdg.StatusOK {
				bad++
			}
		}
		if bad > 0 {
			return &ExitCodeError{Code: ExitError, Message: fmt.Sprintf("--strict: %d of %d operators did not resolve", bad, len(rep.Operators))}
		}
	}
	if changed {
		return &ExitCodeError{Code: ExitChanged}
	}
	return nil
}

// epdgPLMNs gathers the operators from --plmn, --mcc/--mnc and --country, in that order.
func epdgPLMNs(opts *EpdgOptions) ([]epdg.PLMN, error) {
	var out []epdg.PLMN
	for _, s := range opts.PLMNs {
		p, err := epdg.ParsePLMN(s)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		out = append(out, p)
	}
	switch {
	case opts.MCC != "" && len(opts.MNCs) == 0:
		return nil, usagef("--mcc needs --mnc")
	case opts.MCC == "" && len(opts.MNCs) > 0:
		return nil, usagef("--mnc needs --mcc")
	}
	for _, mnc := range opts.MNCs {
		p, err := epdg.NewPLMN(opts.MCC, mnc)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		out = append(out, p)
	}
	for _, c := range opts.Countries {
		ops, err := epdg.CountryOperators(c, opts.AllNetworks)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		for _, o := range ops {
			out = append(out, o.PLMN)
		}
	}
	if len(out) == 0 {
		return nil, usagef("no operator given: use --plmn, --mcc with --mnc, or --country")
	}
	return out, nil
}

func epdgCheckOptions(opts *EpdgOptions, wopt epdg.Options) error {
	switch {
	case opts.Aggregate && !wopt.Format.Aggregatable():
		return usagef("--aggregate applies to cidr, nftables, iptables, ip6tables, cisco and juniper, not %s", wopt.Format)
	case opts.Timeout <= 0:
		return usagef("--timeout must be positive")
	case opts.Retries < 0:
		return usagef("--retries must not be negative")
	case opts.Concurrency < 1:
		return usagef("--concurrency must be at least 1")
	}
	if _, err := epdg.ParseDSCP(opts.DSCP); err != nil {
		return &UsageError{Err: err}
	}
	for _, name := range []string{opts.Name, opts.NftTable} {
		if name != "" {
			if err := epdg.CheckName(name); err != nil {
				return &UsageError{Err: err}
			}
		}
	}
	return nil
}

func epdgServers(f *Factory, flags []string) ([]string, error) {
	if len(flags) == 0 {
		path := "/etc/resolv.conf"
		if f.Getenv != nil && f.Getenv(EnvResolvConf) != "" {
			path = f.Getenv(EnvResolvConf)
		}
		return epdg.SystemResolvers(path)
	}
	var out []string
	for _, s := range flags {
		n, err := epdg.NormalizeServer(s)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func epdgWrite(f *Factory, rep *epdg.Report, opt epdg.Options) error {
	w := bufio.NewWriter(f.Stdout)
	if err := epdg.Write(w, rep, opt); err != nil {
		return err
	}
	return w.Flush()
}

// epdgSave writes the json report through a temporary file, so that a reader (or a crash)
// never sees half of it.
func epdgSave(path string, rep *epdg.Report) error {
	var buf bytes.Buffer
	if err := epdg.Write(&buf, rep, epdg.Options{Format: epdg.FormatJSON}); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("epdg: --save: %w", err)
	}
	_, err = tmp.Write(buf.Bytes())
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("epdg: --save: %w", err)
	}
	return nil
}
