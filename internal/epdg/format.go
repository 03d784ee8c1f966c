package epdg

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// Format is an output format of Write.
type Format string

const (
	FormatTable     Format = "table"     // aligned table for people
	FormatJSON      Format = "json"      // the Report, for machines and --diff
	FormatCSV       Format = "csv"       // one row per operator and address
	FormatList      Format = "list"      // plain addresses
	FormatCIDR      Format = "cidr"      // /32 and /128 prefixes (merged with Aggregate)
	FormatNftables  Format = "nftables"  // nft script filling an IPv4 and an IPv6 set
	FormatIPTables  Format = "iptables"  // iptables-restore input: mangle chain setting DSCP
	FormatIP6Tables Format = "ip6tables" // the same for ip6tables-restore
	FormatCisco     Format = "cisco"     // Cisco IOS extended ACLs (IPv4 and IPv6)
	FormatJuniper   Format = "juniper"   // Junos prefix-lists (IPv4 and IPv6)
)

// Formats lists every format, the default first.
var Formats = []Format{FormatTable, FormatJSON, FormatCSV, FormatList, FormatCIDR, FormatNftables,
	FormatIPTables, FormatIP6Tables, FormatCisco, FormatJuniper}

// Loadable reports whether the format is a list meant to be loaded into a device, as opposed to
// a report: such output should not be written when nothing resolved.
func (f Format) Loadable() bool {
	switch f {
	case FormatTable, FormatJSON, FormatCSV:
		return false
	}
	return true
}

// Aggregatable reports whether the format carries prefixes that Options.Aggregate can merge.
func (f Format) Aggregatable() bool {
	switch f {
	case FormatCIDR, FormatNftables, FormatIPTables, FormatIP6Tables, FormatCisco, FormatJuniper:
		return true
	}
	return false
}

// Options tunes Write.
type Options struct {
	Format    Format
	Aggregate bool   // merge adjacent and contained prefixes
	DSCP      string // iptables and ip6tables: class (EF, AF41, CS5...) or 0-63; "" means EF
	Name      string // base name of sets, chains, ACLs and prefix-lists; "" derives it from the kind
	NftTable  string // nftables: table (family inet) holding the sets; "" means "sigtrace"
}

// DefaultName returns the base name of lists for a kind: "epdg", "sos-epdg" or "n3iwf".
func DefaultName(k Kind) string {
	if k == KindSOS {
		return "sos-epdg"
	}
	return string(k)
}

// CheckName accepts list names that every target format can carry unquoted: letters, digits,
// '-' and '_', starting with a letter, at most 24 characters (iptables chains allow 28 and
// "-DSCP" is added).
func CheckName(s string) error {
	if s == "" || len(s) > 24 || !unicode.IsLetter(rune(s[0])) {
		return fmt.Errorf("epdg: bad list name %q: want 1 to 24 letters, digits, '-' or '_', starting with a letter", s)
	}
	for _, c := range s {
		if c > unicode.MaxASCII || !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-' || c == '_') {
			return fmt.Errorf("epdg: bad list name %q: want 1 to 24 letters, digits, '-' or '_', starting with a letter", s)
		}
	}
	return nil
}

// dscpClasses are the names iptables' --set-dscp-class accepts, with their values.
var dscpClasses = map[string]int{"BE": 0, "CS0": 0, "CS1": 8, "AF11": 10, "AF12": 12, "AF13": 14,
	"CS2": 16, "AF21": 18, "AF22": 20, "AF23": 22, "CS3": 24, "AF31": 26, "AF32": 28, "AF33": 30,
	"CS4": 32, "AF41": 34, "AF42": 36, "AF43": 38, "CS5": 40, "EF": 46, "CS6": 48, "CS7": 56}

// ParseDSCP accepts a DSCP class name or a value 0-63 and returns the iptables target options.
func ParseDSCP(s string) (string, error) {
	if s == "" {
		s = "EF"
	}
	if _, ok := dscpClasses[strings.ToUpper(s)]; ok {
		return "--set-dscp-class " + strings.ToUpper(s), nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 63 {
		return "--set-dscp " + strconv.Itoa(n), nil
	}
	return "", fmt.Errorf("epdg: bad DSCP %q: want a class (EF, AF41, CS5...) or a value 0-63", s)
}

// Write writes the report in one format. Every format names the operators and the time of
// resolution, in comments where the format has no field for them.
func Write(w io.Writer, rep *Report, opt Options) error {
	if opt.Name == "" {
		opt.Name = DefaultName(rep.Kind)
	}
	if err := CheckName(opt.Name); err != nil {
		return err
	}
	if opt.NftTable == "" {
		opt.NftTable = "sigtrace"
	}
	if err := CheckName(opt.NftTable); err != nil {
		return err
	}
	dscp, err := ParseDSCP(opt.DSCP)
	if err != nil {
		return err
	}
	if opt.DSCP == "" {
		opt.DSCP = "ef"
	}
	opt.DSCP = strings.ToLower(opt.DSCP)
	ew := &errWriter{w: w}
	switch opt.Format {
	case FormatTable, "":
		writeTable(ew, rep)
	case FormatJSON:
		enc := json.NewEncoder(ew)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("epdg: %w", err)
		}
	case FormatCSV:
		if err := writeCSV(ew, rep); err != nil {
			return err
		}
	case FormatList, FormatCIDR:
		writeList(ew, rep, opt.Format == FormatCIDR, opt.Aggregate)
	case FormatNftables:
		writeNftables(ew, rep, opt)
	case FormatIPTables, FormatIP6Tables:
		writeIPTables(ew, rep, opt, dscp, opt.Format == FormatIP6Tables)
	case FormatCisco:
		writeCisco(ew, rep, opt)
	case FormatJuniper:
		writeJuniper(ew, rep, opt)
	default:
		return fmt.Errorf("epdg: unknown output format %q", opt.Format)
	}
	return ew.err
}

// errWriter keeps the first write error so that the writers below can ignore them.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func stamp(rep *Report) string { return rep.ResolvedAt.UTC().Format(time.RFC3339) }

// headerLines describe the run and each operator's outcome, for the comment formats.
func headerLines(rep *Report) []string {
	lines := []string{fmt.Sprintf("sigtrace epdg: %s gateways resolved %s via %s", rep.Kind, stamp(rep), strings.Join(rep.Resolvers, ", "))}
	for _, r := range rep.Operators {
		name := r.PLMN
		if r.Name != "" {
			name += " " + r.Name
		}
		if r.Country != "" {
			name += " (" + r.Country + ")"
		}
		line := fmt.Sprintf("%s %s: %s", name, r.FQDN, r.Status)
		if n := len(r.Addresses); n > 0 {
			line += fmt.Sprintf(", %d address%s", n, map[bool]string{true: "", false: "es"}[n == 1])
		}
		if n := len(r.CNAMEs); n > 0 {
			line += " via " + r.CNAMEs[n-1]
		}
		if r.Error != "" {
			line += " (" + r.Error + ")"
		}
		lines = append(lines, line)
	}
	return lines
}

func writeComments(w io.Writer, prefix, suffix string, lines []string, clean func(string) string) {
	for _, l := range lines {
		fmt.Fprintf(w, "%s%s%s\n", prefix, clean(l), suffix)
	}
}

func writeTable(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "# %s gateways resolved %s via %s\n", rep.Kind, stamp(rep), strings.Join(rep.Resolvers, ", "))
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLMN\tOPERATOR\tCOUNTRY\tSTATUS\tADDRESS\tNOTE")
	for _, r := range rep.Operators {
		note := r.Error
		if note == "" && len(r.CNAMEs) > 0 {
			note = "via " + r.CNAMEs[len(r.CNAMEs)-1]
		}
		first := "-"
		if len(r.Addresses) > 0 {
			first = r.Addresses[0].String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.PLMN, dash(r.Name), dash(r.Country), r.Status, first, note)
		for _, a := range r.Addresses[min(1, len(r.Addresses)):] {
			fmt.Fprintf(tw, "\t\t\t\t%s\t\n", a)
		}
	}
	tw.Flush()
	for line := range strings.Lines(buf.String()) {
		io.WriteString(w, strings.TrimRight(line, " \n")+"\n")
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"resolved_at", "kind", "plmn", "mcc", "mnc", "name", "country", "fqdn", "status", "address", "cnames", "error"})
	at := rep.ResolvedAt.UTC().Format(time.RFC3339Nano)
	for _, r := range rep.Operators {
		row := []string{at, string(rep.Kind), r.PLMN, r.MCC, r.MNC, r.Name, r.Country, r.FQDN, string(r.Status), "", strings.Join(r.CNAMEs, " "), r.Error}
		if len(r.Addresses) == 0 {
			_ = cw.Write(row)
		}
		for _, a := range r.Addresses {
			row[9] = a.String()
			_ = cw.Write(row)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("epdg: %w", err)
	}
	return nil
}

// group is a run of entries covering the same operators.
type group struct {
	label   string
	entries []entry
}

// groups splits entries by the operators they cover; family 4 or 6 keeps only that family, 0 both.
func groups(rep *Report, aggregate bool, family int) []group {
	var out []group
	var last []int
	for _, e := range entries(rep, aggregate) {
		if (family == 4 && !e.prefix.Addr().Is4()) || (family == 6 && e.prefix.Addr().Is4()) {
			continue
		}
		if len(out) == 0 || !equalInts(e.ops, last) {
			labels := make([]string, len(e.ops))
			for i, op := range e.ops {
				labels[i] = rep.Operators[op].Label()
			}
			out = append(out, group{label: strings.Join(labels, ", ")})
			last = e.ops
		}
		out[len(out)-1].entries = append(out[len(out)-1].entries, e)
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func writeList(w io.Writer, rep *Report, cidr, aggregate bool) {
	writeComments(w, "# ", "", headerLines(rep), oneLine)
	for _, g := range groups(rep, cidr && aggregate, 0) {
		fmt.Fprintf(w, "# %s\n", oneLine(g.label))
		for _, e := range g.entries {
			if cidr {
				fmt.Fprintln(w, e.prefix)
			} else {
				fmt.Fprintln(w, e.prefix.Addr())
			}
		}
	}
}

func writeNftables(w io.Writer, rep *Report, opt Options) {
	base := strings.ToLower(strings.ReplaceAll(opt.Name, "-", "_"))
	writeComments(w, "# ", "", headerLines(rep), oneLine)
	fmt.Fprintf(w, "# Load with `nft -f FILE`: it creates the sets if needed and replaces their contents in one\n")
	fmt.Fprintf(w, "# transaction. Match them in a chain of table inet %s, for example:\n", opt.NftTable)
	fmt.Fprintf(w, "#   ip daddr @%s_v4 ip dscp set %s\n#   ip6 daddr @%s_v6 ip6 dscp set %s\n", base, opt.DSCP, base, opt.DSCP)
	fmt.Fprintf(w, "add table inet %s\n", opt.NftTable)
	for _, fam := range []int{4, 6} {
		set := fmt.Sprintf("%s_v%d", base, fam)
		typ := map[int]string{4: "ipv4_addr", 6: "ipv6_addr"}[fam]
		fmt.Fprintf(w, "add set inet %s %s { type %s; flags interval; }\n", opt.NftTable, set, typ)
		fmt.Fprintf(w, "flush set inet %s %s\n", opt.NftTable, set)
		gs := groups(rep, opt.Aggregate, fam)
		if len(gs) == 0 {
			fmt.Fprintf(w, "# no IPv%d addresses\n", fam)
			continue
		}
		fmt.Fprintf(w, "add element inet %s %s {\n", opt.NftTable, set)
		for _, g := range gs {
			fmt.Fprintf(w, "\t# %s\n", oneLine(g.label))
			for _, e := range g.entries {
				fmt.Fprintf(w, "\t%s,\n", nftElem(e.prefix))
			}
		}
		fmt.Fprintf(w, "}\n")
	}
}

func nftElem(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func writeIPTables(w io.Writer, rep *Report, opt Options, dscp string, v6 bool) {
	chain := strings.ToUpper(opt.Name) + "-DSCP"
	tool, fam := "iptables", 4
	if v6 {
		tool, fam = "ip6tables", 6
	}
	writeComments(w, "# ", "", headerLines(rep), oneLine)
	fmt.Fprintf(w, "# Load with `%s-restore --noflush FILE`: it creates or empties chain %s of the mangle\n", tool, chain)
	fmt.Fprintf(w, "# table and marks traffic to and from the gateways. Send traffic through it once, for example:\n")
	fmt.Fprintf(w, "#   %s -t mangle -A FORWARD -j %s\n", tool, chain)
	if v6 {
		fmt.Fprintf(w, "# IPv4 addresses are in the iptables format.\n")
	} else {
		fmt.Fprintf(w, "# IPv6 addresses are in the ip6tables format.\n")
	}
	fmt.Fprintf(w, "*mangle\n:%s - [0:0]\n", chain)
	gs := groups(rep, opt.Aggregate, fam)
	if len(gs) == 0 {
		fmt.Fprintf(w, "# no IPv%d addresses\n", fam)
	}
	for _, g := range gs {
		label := iptComment(g.label)
		fmt.Fprintf(w, "# %s\n", oneLine(g.label))
		for _, e := range g.entries {
			for _, dir := range []string{"-d", "-s"} {
				fmt.Fprintf(w, "-A %s %s %s -m comment --comment \"%s\" -j DSCP %s\n", chain, dir, e.prefix, label, dscp)
			}
		}
	}
	fmt.Fprintf(w, "COMMIT\n")
}

func writeCisco(w io.Writer, rep *Report, opt Options) {
	base := strings.ToUpper(opt.Name)
	writeComments(w, "! ", "", headerLines(rep), asciiLine)
	fmt.Fprintf(w, "! Paste in configuration mode: each ACL is removed and written anew. Match the ACLs in a\n")
	fmt.Fprintf(w, "! class-map (match access-group name %s-V4) and set dscp %s in its policy-map.\n", base, opt.DSCP)
	for _, fam := range []int{4, 6} {
		gs := groups(rep, opt.Aggregate, fam)
		if len(gs) == 0 {
			fmt.Fprintf(w, "! no IPv%d addresses\n", fam)
			continue
		}
		if fam == 4 {
			fmt.Fprintf(w, "no ip access-list extended %s-V4\nip access-list extended %s-V4\n", base, base)
		} else {
			fmt.Fprintf(w, "no ipv6 access-list %s-V6\nipv6 access-list %s-V6\n", base, base)
		}
		fmt.Fprintf(w, " remark %s\n", truncate(asciiLine("sigtrace epdg "+stamp(rep)), 100))
		for _, g := range gs {
			fmt.Fprintf(w, " remark %s\n", truncate(asciiLine(g.label), 100))
			for _, e := range g.entries {
				if fam == 4 {
					m := ciscoMatch(e.prefix)
					fmt.Fprintf(w, " permit ip any %s\n permit ip %s any\n", m, m)
				} else {
					m := e.prefix.String()
					if e.prefix.IsSingleIP() {
						m = "host " + e.prefix.Addr().String()
					}
					fmt.Fprintf(w, " permit ipv6 any %s\n permit ipv6 %s any\n", m, m)
				}
			}
		}
		fmt.Fprintf(w, "exit\n")
	}
}

// ciscoMatch writes an IPv4 prefix as IOS wants it: "host A" or "A WILDCARD".
func ciscoMatch(p netip.Prefix) string {
	if p.IsSingleIP() {
		return "host " + p.Addr().String()
	}
	hostBits := uint32(1)<<(32-p.Bits()) - 1
	wild := netip.AddrFrom4([4]byte{byte(hostBits >> 24), byte(hostBits >> 16), byte(hostBits >> 8), byte(hostBits)})
	return p.Addr().String() + " " + wild.String()
}

func writeJuniper(w io.Writer, rep *Report, opt Options) {
	base := strings.ToUpper(opt.Name)
	writeComments(w, "/* ", " */", headerLines(rep), juniperLine)
	fmt.Fprintf(w, "/* Load with `load replace terminal` (or a file): the replace: tags swap each list whole. */\n")
	fmt.Fprintf(w, "policy-options {\n")
	for _, fam := range []int{4, 6} {
		gs := groups(rep, opt.Aggregate, fam)
		if len(gs) == 0 {
			fmt.Fprintf(w, "    /* no IPv%d addresses */\n", fam)
			continue
		}
		fmt.Fprintf(w, "    replace:\n    prefix-list %s-V%d {\n", base, fam)
		for _, g := range gs {
			fmt.Fprintf(w, "        /* %s */\n", juniperLine(g.label))
			for _, e := range g.entries {
				fmt.Fprintf(w, "        %s;\n", e.prefix)
			}
		}
		fmt.Fprintf(w, "    }\n")
	}
	fmt.Fprintf(w, "}\n")
}

// oneLine keeps text from an outside source (DNS errors, Wikipedia names) on one comment line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// asciiLine is oneLine for devices whose configuration is ASCII.
func asciiLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '?'
		}
		return r
	}, s)
}

func juniperLine(s string) string { return strings.ReplaceAll(asciiLine(s), "*/", "* /") }

// iptComment fits a label into an iptables comment match: quoted, at most 255 bytes.
func iptComment(s string) string {
	s = strings.NewReplacer(`"`, "'", `\`, "/").Replace(asciiLine(s))
	return truncate(s, 255)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
