package homer

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Format is the layout of an alias input.
type Format string

// Input formats. FormatAuto picks one from the file name, then from the content.
const (
	FormatAuto Format = ""
	FormatYAML Format = "yaml"
	FormatJSON Format = "json"
	FormatCSV  Format = "csv"
	// FormatEPDG is the output of `sigtrace epdg -o json`: each resolved ePDG address becomes an
	// alias named after its operator (with " SOS" or " N3IWF" after it for those kinds).
	FormatEPDG Format = "epdg"
)

// Defaults fill the fields an input entry leaves out. Mask defaults to a single host (32 or 128),
// port to 0 (any port) and status to true (HOMER uses only active aliases).
type Defaults struct {
	// CaptureID is used when an entry has none ("0" if empty).
	CaptureID string
}

// ReadAliases reads the desired aliases from data; name is the input's file name, for messages
// and format detection. Every entry is validated, and all problems are reported together, each
// with its line.
func ReadAliases(data []byte, name string, format Format, def Defaults) (Desired, error) {
	if def.CaptureID == "" {
		def.CaptureID = "0"
	}
	if format == FormatAuto {
		format = detect(data, name)
	}
	r := reader{name: name, def: def}
	switch format {
	case FormatYAML, FormatJSON:
		r.readTree(data)
	case FormatCSV:
		r.readCSV(data)
	case FormatEPDG:
		r.readEPDG(data)
	default:
		return Desired{}, fmt.Errorf("homer: %s: unknown format %q (want yaml, json, csv or epdg)", name, format)
	}
	r.check()
	if len(r.errs) > 0 {
		const max = 20
		if len(r.errs) > max {
			r.errs = append(r.errs[:max], fmt.Sprintf("... and %d more", len(r.errs)-max))
		}
		return Desired{}, fmt.Errorf("homer: %s: %d problem(s):\n  %s", name, len(r.errs), strings.Join(r.errs, "\n  "))
	}
	return r.out, nil
}

func detect(data []byte, name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		return FormatYAML
	case ".csv":
		return FormatCSV
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var probe struct {
			Operators json.RawMessage `json:"operators"`
		}
		if trimmed[0] == '{' && json.Unmarshal(trimmed, &probe) == nil && probe.Operators != nil {
			return FormatEPDG
		}
		return FormatJSON
	}
	if strings.ToLower(filepath.Ext(name)) == ".json" {
		return FormatJSON
	}
	for line := range strings.SplitSeq(string(trimmed), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.Contains(line, ",") && !strings.Contains(line, ":") {
			return FormatCSV
		}
		break
	}
	return FormatYAML
}

type reader struct {
	name  string
	def   Defaults
	out   Desired
	lines []int // line of each alias in out.Aliases
	errs  []string
}

func (r *reader) errorf(line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	r.errs = append(r.errs, msg)
}

func (r *reader) add(a Alias, line int) {
	r.out.Aliases = append(r.out.Aliases, a)
	r.lines = append(r.lines, line)
}

// check validates every alias and refuses two entries for one key.
func (r *reader) check() {
	seen := map[Key]int{}
	for i, a := range r.out.Aliases {
		if err := a.Validate(); err != nil {
			r.errorf(r.lines[i], "%s", strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
			continue
		}
		if utf8.RuneCountInString(a.Name) > LegacyMaxName {
			r.out.Warnings = append(r.out.Warnings, fmt.Sprintf("%s: line %d: name %q is longer than %d characters, which homer-app before 1.4.54 refuses", r.name, r.lines[i], a.Name, LegacyMaxName))
		}
		if j, dup := seen[a.Key()]; dup {
			r.errorf(r.lines[i], "%s is already given on line %d", a.Key(), r.lines[j])
			continue
		}
		seen[a.Key()] = i
	}
}

// entry builds an alias from named fields (lowercase, without '_' or '-'), as read from any format.
func (r *reader) entry(line int, fields map[string]string) {
	a := Alias{CaptureID: r.def.CaptureID, Status: true, Mask: -1}
	for k, v := range fields {
		v = strings.TrimSpace(v)
		switch k {
		case "name", "alias":
			a.Name = v
		case "ip":
			a.IP = v
		case "mask":
			if v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					r.errorf(line, "mask %q is not a number", v)
					return
				}
				a.Mask = n
			}
		case "port":
			if v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					r.errorf(line, "port %q is not a number", v)
					return
				}
				a.Port = n
			}
		case "captureid":
			if v != "" {
				a.CaptureID = v
			}
		case "status":
			if v != "" {
				b, ok := parseBool(v)
				if !ok {
					r.errorf(line, "status %q is not true or false", v)
					return
				}
				a.Status = b
			}
		default:
			r.errorf(line, "unknown field %q (want name, ip, mask, port, captureID, status)", k)
			return
		}
	}
	// An ip in CIDR form carries its mask.
	if addr, _, ok := strings.Cut(a.IP, "/"); ok {
		p, err := netip.ParsePrefix(a.IP)
		if err != nil {
			r.errorf(line, "ip %q is not an address or a prefix", a.IP)
			return
		}
		if a.Mask >= 0 && a.Mask != p.Bits() {
			r.errorf(line, "ip %q and mask %d disagree", a.IP, a.Mask)
			return
		}
		a.IP, a.Mask = addr, p.Bits()
	}
	if a.Mask < 0 {
		a.Mask = 32
		if addr, err := netip.ParseAddr(a.IP); err == nil && addr.Is6() {
			a.Mask = 128
		}
	}
	r.add(a, line)
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1", "active", "enabled":
		return true, true
	case "false", "no", "off", "0", "inactive", "disabled":
		return false, true
	}
	return false, false
}

func fieldName(k string) string {
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(k)))
}

// readTree reads YAML or JSON (a YAML subset): a list of entries, or a map with an "aliases" list.
func (r *reader) readTree(data []byte) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		r.errorf(0, "%v", err)
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return // an empty file: no aliases
	}
	list := doc.Content[0]
	if list.Kind == yaml.MappingNode {
		var found *yaml.Node
		for i := 0; i+1 < len(list.Content); i += 2 {
			if k := list.Content[i]; fieldName(k.Value) == "aliases" {
				found = list.Content[i+1]
			} else {
				r.errorf(k.Line, "unknown key %q (want a list, or aliases: with a list)", k.Value)
			}
		}
		if found == nil {
			return
		}
		list = found
	}
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return
	}
	if list.Kind != yaml.SequenceNode {
		r.errorf(list.Line, "want a list of aliases")
		return
	}
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			r.errorf(item.Line, "an alias is a map of name, ip, mask, port, captureID, status")
			continue
		}
		fields := map[string]string{}
		ok := true
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				r.errorf(v.Line, "field %q: want a single value", k.Value)
				ok = false
				continue
			}
			name := fieldName(k.Value)
			if _, dup := fields[name]; dup {
				r.errorf(k.Line, "field %q given twice", k.Value)
				ok = false
			}
			if v.Tag == "!!null" {
				fields[name] = ""
			} else {
				fields[name] = v.Value
			}
		}
		if ok {
			r.entry(item.Line, fields)
		}
	}
}

// readCSV reads a CSV file whose first row names the columns.
func (r *reader) readCSV(data []byte) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err == io.EOF {
		return
	}
	if err != nil {
		r.errorf(0, "%v", err)
		return
	}
	cols := make([]string, len(head))
	hasIP, hasName := false, false
	for i, h := range head {
		cols[i] = fieldName(strings.TrimPrefix(h, "\ufeff"))
		hasIP = hasIP || cols[i] == "ip"
		hasName = hasName || cols[i] == "name" || cols[i] == "alias"
	}
	if !hasIP || !hasName {
		line, _ := cr.FieldPos(0)
		r.errorf(line, "the first row must name the columns, including name and ip (got %q)", strings.Join(head, ","))
		return
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				r.errorf(pe.Line, "%v", pe.Err)
				if pe.Err == csv.ErrFieldCount {
					continue
				}
			} else {
				r.errorf(0, "%v", err)
			}
			return
		}
		line, _ := cr.FieldPos(0)
		fields := make(map[string]string, len(rec))
		for i, v := range rec {
			fields[cols[i]] = v
		}
		r.entry(line, fields)
	}
}

// epdgResult is the JSON that `sigtrace epdg -o json` writes.
type epdgResult struct {
	Kind      string `json:"kind"`
	Operators []struct {
		PLMN      string   `json:"plmn"`
		Name      string   `json:"name"`
		FQDN      string   `json:"fqdn"`
		Status    string   `json:"status"`
		Addresses []string `json:"addresses"`
		Error     string   `json:"error"`
	} `json:"operators"`
}

// readEPDG turns resolved ePDG addresses into aliases named after their operator. An operator
// whose lookup failed (timeout, servfail, error) keeps its aliases out of a prune: a failed lookup
// says nothing about its addresses. nxdomain and nodata are answers: the operator has none.
func (r *reader) readEPDG(data []byte) {
	var res epdgResult
	if err := json.Unmarshal(data, &res); err != nil {
		r.errorf(0, "not the JSON of sigtrace epdg: %v", err)
		return
	}
	// The same report lists emergency ePDGs and N3IWFs; their aliases say so after the operator.
	suffix := ""
	switch res.Kind {
	case "", "epdg":
	case "sos":
		suffix = " SOS"
	case "n3iwf":
		suffix = " N3IWF"
	default:
		r.errorf(0, "kind %q: want epdg, sos or n3iwf", res.Kind)
		return
	}
	owner := map[Key]string{}
	for i, op := range res.Operators {
		name := strings.TrimSpace(op.Name)
		if name == "" {
			name = op.PLMN
		}
		where := fmt.Sprintf("operator %d (%s)", i+1, cmp.Or(op.PLMN, name))
		if name == "" {
			r.errorf(0, "%s: no name and no plmn", where)
			continue
		}
		name += suffix
		switch op.Status {
		case "ok":
		case "nxdomain", "nodata":
			continue
		default:
			reason := fmt.Sprintf("ePDG lookup of %s failed (%s)", cmp.Or(op.FQDN, op.PLMN), cmp.Or(op.Status, "no status"))
			if op.Error != "" {
				reason += ": " + op.Error
			}
			if r.out.Keep == nil {
				r.out.Keep = map[string]string{}
			}
			r.out.Keep[name] = reason
			r.out.Warnings = append(r.out.Warnings, fmt.Sprintf("%s: %s: %s; its aliases are kept as they are", r.name, name, reason))
			continue
		}
		for _, ip := range op.Addresses {
			addr, err := netip.ParseAddr(ip)
			if err != nil {
				r.errorf(0, "%s: address %q: %v", where, ip, err)
				continue
			}
			a := Alias{Name: name, IP: addr.String(), Mask: addr.BitLen(), CaptureID: r.def.CaptureID, Status: true}
			if prev, dup := owner[a.Key()]; dup {
				if prev != name {
					r.out.Warnings = append(r.out.Warnings, fmt.Sprintf("%s: %s is an ePDG of both %s and %s; the alias keeps %s", r.name, ip, prev, name, prev))
				}
				continue
			}
			owner[a.Key()] = name
			r.add(a, 0)
		}
	}
}
