package check

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/filters"
)

// Over names the population a rule looks at.
type Over string

// Populations.
const (
	OverMessages Over = "messages" // every decoded SIP, Diameter and DNS message (capture duplicates left out)
	OverCalls    Over = "calls"    // call records, as sigtrace calls emits them
	OverDiameter Over = "diameter" // Diameter request/answer pairs (and unanswered requests, orphan answers)
	OverDNS      Over = "dns"      // DNS query/response pairs (and unanswered queries, orphan responses)
)

var populations = []Over{OverMessages, OverCalls, OverDiameter, OverDNS}

// noun is what the population counts, for reports ("3 of 40 calls").
func (o Over) noun() string {
	switch o {
	case OverDiameter:
		return "diameter transactions"
	case OverDNS:
		return "dns transactions"
	}
	return string(o)
}

// Kind is what a rule bounds.
type Kind int

const (
	KindCount     Kind = iota + 1 // the number of matching items: min, max
	KindRatio                     // the share of the population that matches: min_ratio, max_ratio
	KindStatistic                 // a statistic of a value: max, min, avg_max, avg_min, p50_max...p99_max
)

func (k Kind) String() string {
	switch k {
	case KindCount:
		return "count"
	case KindRatio:
		return "ratio"
	case KindStatistic:
		return "statistic"
	}
	return "unknown"
}

// Bound is one limit of a rule, as written: key (max, min_ratio, p95_max...) and value.
type Bound struct {
	Key   string
	Value float64 // seconds for time values
	Text  string  // as the rules file wrote it ("3s", "95%", "0")
}

// upper reports whether the bound is a maximum.
func (b Bound) upper() bool { return strings.HasSuffix(b.Key, "max") }

// Rule is one assertion.
type Rule struct {
	Name        string
	Description string
	Over        Over
	Kind        Kind
	// Match and Where are filter expressions ("" when absent). Match selects what a count or a
	// ratio counts; Where restricts the population (ratio denominator, statistic sample).
	Match, Where string
	// Status, for diameter and dns, keeps only pairs that ended so (part of what matches).
	Status []correlate.PairStatus
	// Value names the statistic's value (call.pdd, diameter.latency...); "" unless KindStatistic.
	Value  string
	Bounds []Bound
	// File and Line locate the rule's definition ("" and 0 for built-in rules, whose File is the
	// preset's name).
	File string
	Line int

	match, where *filters.Filter
	value        *valueDef
}

// RuleSet is a list of rules with distinct names.
type RuleSet struct {
	Rules []*Rule
}

// Add appends the rules of other; a name already present is an error.
func (rs *RuleSet) Add(other *RuleSet) error {
	for _, r := range other.Rules {
		for _, have := range rs.Rules {
			if have.Name == r.Name {
				return fmt.Errorf("%s: rule %q is already defined at %s", r.Source(), r.Name, have.Source())
			}
		}
		rs.Rules = append(rs.Rules, r)
	}
	return nil
}

// Source says where the rule was defined: "rules.yaml:12" or "preset sanity".
func (r *Rule) Source() string {
	if r.Line == 0 {
		return r.File
	}
	return r.File + ":" + strconv.Itoa(r.Line)
}

// ParseError is a mistake in a rules file, located by line and column.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Load reads and parses a rules file. Expressions are compiled with lib (nil: the built-in
// presets only), so they may use preset("name").
func Load(path string, lib *filters.Library) (*RuleSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	return Parse(path, data, lib)
}

// ruleKeys are the keys a rule may have, in the order error messages list them.
var ruleKeys = []string{"name", "description", "over", "match", "where", "status", "value",
	"min", "max", "min_ratio", "max_ratio", "avg_min", "avg_max", "p50_max", "p90_max", "p95_max", "p99_max"}

var statKeys = []string{"min", "max", "avg_min", "avg_max", "p50_max", "p90_max", "p95_max", "p99_max"}

// Parse parses a rules file's content; file names it in errors. Every problem is reported with
// its line and column: unknown keys, bad values, expressions that do not compile.
func Parse(file string, data []byte, lib *filters.Library) (*RuleSet, error) {
	p := &parser{file: file, lines: strings.Split(string(data), "\n"), lib: lib}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 says "yaml: line N: ..."; keep its words, put the file in front.
		return nil, &ParseError{File: file, Msg: err.Error()}
	}
	if len(doc.Content) == 0 {
		return nil, &ParseError{File: file, Msg: "empty rules file (want a mapping with a rules: list)"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, p.at(root, "want a mapping with a rules: list")
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch k := root.Content[i]; k.Value {
		case "rules":
			list = root.Content[i+1]
		default:
			return nil, p.at(k, "unknown key %q (want rules)", k.Value)
		}
	}
	if list == nil || list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return nil, p.at(root, "no rules: list")
	}
	if list.Kind != yaml.SequenceNode {
		return nil, p.at(list, "rules must be a list")
	}
	rs := &RuleSet{}
	for _, item := range list.Content {
		r, err := p.rule(item)
		if err != nil {
			return nil, err
		}
		for _, have := range rs.Rules {
			if have.Name == r.Name {
				return nil, p.at(item, "rule %q is already defined at line %d", r.Name, have.Line)
			}
		}
		rs.Rules = append(rs.Rules, r)
	}
	if len(rs.Rules) == 0 {
		return nil, p.at(list, "the rules list is empty")
	}
	return rs, nil
}

type parser struct {
	file  string
	lines []string
	lib   *filters.Library
}

func (p *parser) at(n *yaml.Node, format string, args ...any) error {
	return &ParseError{File: p.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) rule(item *yaml.Node) (*Rule, error) {
	if item.Kind != yaml.MappingNode {
		return nil, p.at(item, "a rule is a mapping with name, over, a bound and usually match")
	}
	r := &Rule{File: p.file, Line: item.Line}
	nodes := map[string]*yaml.Node{}
	keyNodes := map[string]*yaml.Node{}
	var order []string
	for i := 0; i+1 < len(item.Content); i += 2 {
		k, v := item.Content[i], item.Content[i+1]
		if !slices.Contains(ruleKeys, k.Value) {
			return nil, p.at(k, "unknown key %q (want %s)", k.Value, strings.Join(ruleKeys, ", "))
		}
		if _, dup := nodes[k.Value]; dup {
			return nil, p.at(k, "key %q given twice", k.Value)
		}
		if k.Value != "status" && v.Kind != yaml.ScalarNode {
			return nil, p.at(v, "%s must be a single value", k.Value)
		}
		nodes[k.Value], keyNodes[k.Value] = v, k
		order = append(order, k.Value)
	}
	if n := nodes["name"]; n == nil || n.Value == "" {
		return nil, p.at(item, "rule without a name")
	}
	r.Name = nodes["name"].Value
	if n := nodes["description"]; n != nil {
		r.Description = n.Value
	}
	where := func(format string, args ...any) string {
		return fmt.Sprintf("rule %q: ", r.Name) + fmt.Sprintf(format, args...)
	}
	n := nodes["over"]
	if n == nil {
		return nil, p.at(item, "%s", where("no over: (want messages, calls, diameter or dns)"))
	}
	r.Over = Over(n.Value)
	if !slices.Contains(populations, r.Over) {
		return nil, p.at(n, "%s", where("over: unknown population %q (want messages, calls, diameter or dns)", n.Value))
	}
	if n := nodes["status"]; n != nil {
		if r.Over != OverDiameter && r.Over != OverDNS {
			return nil, p.at(keyNodes["status"], "%s", where("status applies to diameter and dns rules only"))
		}
		st, err := p.status(n, where)
		if err != nil {
			return nil, err
		}
		r.Status = st
	}

	// The kind follows from the keys.
	isRatio := nodes["min_ratio"] != nil || nodes["max_ratio"] != nil
	if n := nodes["value"]; n != nil {
		def := lookupValue(n.Value)
		if def == nil || def.over != r.Over {
			return nil, p.at(n, "%s", where("value: unknown value %q for %s (want %s)", n.Value, r.Over, strings.Join(valueNames(r.Over), ", ")))
		}
		if isRatio {
			k := "min_ratio"
			if nodes[k] == nil {
				k = "max_ratio"
			}
			return nil, p.at(keyNodes[k], "%s", where("%s bounds a share of matches, not a value: drop value or use %s", k, strings.Join(statKeys, ", ")))
		}
		if nodes["match"] != nil {
			return nil, p.at(keyNodes["match"], "%s", where("a statistic takes where (the sample), not match"))
		}
		if r.Status != nil {
			return nil, p.at(keyNodes["status"], "%s", where("a statistic takes where, not status"))
		}
		r.Kind, r.Value, r.value = KindStatistic, def.name, def
	} else if isRatio {
		r.Kind = KindRatio
	} else {
		r.Kind = KindCount
	}
	for _, key := range order {
		n := nodes[key]
		if !slices.Contains(ruleKeys[7:], key) {
			continue
		}
		b, err := p.bound(r, key, keyNodes[key], n, where)
		if err != nil {
			return nil, err
		}
		r.Bounds = append(r.Bounds, b)
	}
	if len(r.Bounds) == 0 {
		want := "max or min (a count), min_ratio or max_ratio (a share)"
		if r.Kind == KindStatistic {
			want = strings.Join(statKeys, ", ")
		}
		return nil, p.at(item, "%s", where("no bound (want %s)", want))
	}
	if r.Kind == KindRatio && nodes["match"] == nil && r.Status == nil {
		return nil, p.at(item, "%s", where("a ratio needs match (or status): the share of the population that matches"))
	}

	for _, key := range []string{"match", "where"} {
		n := nodes[key]
		if n == nil {
			continue
		}
		f, err := p.expr(r, key, n, where)
		if err != nil {
			return nil, err
		}
		if key == "match" {
			r.Match, r.match = n.Value, f
		} else {
			r.Where, r.where = n.Value, f
		}
	}
	return r, nil
}

func (p *parser) status(n *yaml.Node, where func(string, ...any) string) ([]correlate.PairStatus, error) {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	} else if n.Kind != yaml.ScalarNode {
		return nil, p.at(n, "%s", where("status must be answered, unanswered, orphan, or a list of them"))
	}
	var out []correlate.PairStatus
	for _, it := range items {
		var st correlate.PairStatus
		switch it.Value {
		case "answered":
			st = correlate.PairAnswered
		case "unanswered":
			st = correlate.PairUnanswered
		case "orphan":
			st = correlate.PairOrphan
		default:
			return nil, p.at(it, "%s", where("status: unknown status %q (want answered, unanswered or orphan)", it.Value))
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, p.at(n, "%s", where("status: empty list"))
	}
	return out, nil
}

func (p *parser) bound(r *Rule, key string, kn, n *yaml.Node, where func(string, ...any) string) (Bound, error) {
	b := Bound{Key: key, Text: n.Value}
	bad := func(want string) error { return p.at(n, "%s", where("%s: bad value %q (want %s)", key, n.Value, want)) }
	switch r.Kind {
	case KindCount:
		if key != "min" && key != "max" {
			return b, p.at(kn, "%s", where("%s bounds a statistic: give value: too (or use max, min for a count)", key))
		}
		v, err := strconv.ParseUint(n.Value, 10, 53)
		if err != nil {
			return b, bad("a whole number of matches")
		}
		b.Value = float64(v)
	case KindRatio:
		if key != "min_ratio" && key != "max_ratio" {
			return b, p.at(kn, "%s", where("%s cannot be mixed with a ratio bound", key))
		}
		s, pct := strings.CutSuffix(strings.TrimSpace(n.Value), "%")
		v, err := strconv.ParseFloat(s, 64)
		if pct {
			v /= 100
		}
		if err != nil || !(v >= 0 && v <= 1) {
			return b, bad("a share between 0 and 1, or a percentage such as 95%")
		}
		b.Value = v
	case KindStatistic:
		if !slices.Contains(statKeys, key) {
			return b, p.at(kn, "%s", where("%s does not bound a statistic (want %s)", key, strings.Join(statKeys, ", ")))
		}
		if r.value.seconds {
			if v, err := strconv.ParseFloat(n.Value, 64); err == nil && v >= 0 && !math.IsInf(v, 0) {
				b.Value = v
				break
			}
			d, err := time.ParseDuration(n.Value)
			if err != nil || d < 0 {
				return b, bad("a duration such as 3s or 250ms, or seconds")
			}
			b.Value = d.Seconds()
			break
		}
		v, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || !(v >= 0) || math.IsInf(v, 0) {
			return b, bad("a number")
		}
		b.Value = v
	}
	return b, nil
}

// expr compiles an expression and reports errors at their place in the file.
func (p *parser) expr(r *Rule, key string, n *yaml.Node, where func(string, ...any) string) (*filters.Filter, error) {
	if strings.TrimSpace(n.Value) == "" {
		return nil, p.at(n, "%s", where("%s: empty expression", key))
	}
	var f *filters.Filter
	var err error
	if p.lib != nil {
		f, err = p.lib.Compile(n.Value)
	} else {
		f, err = filters.Compile(n.Value)
	}
	if err != nil {
		var fe *filters.Error
		if errors.As(err, &fe) && fe.Preset == "" {
			line, col, text := p.place(n, fe.Offset)
			return nil, &ParseError{File: p.file, Line: line, Col: col,
				Msg: where("%s: %s\n  %s\n  %s^", key, fe.Msg, text, strings.Repeat(" ", caretColumn(n.Value, fe.Offset)))}
		}
		return nil, p.at(n, "%s", where("%s: %v", key, err))
	}
	if f.UsesCallFields() && r.Over != OverCalls {
		return nil, p.at(n, "%s", where("%s: call fields (call.*) are only known in rules over calls", key))
	}
	return f, nil
}

// place maps a rune offset in a scalar's value to a line and column of the file, and returns the
// expression's line holding it. Quoted and plain scalars on one line, and literal blocks (|),
// map exactly; folded text and escapes inside quotes map to the scalar's start.
func (p *parser) place(n *yaml.Node, offset int) (line, col int, text string) {
	exprLine, exprCol := 0, 0
	start := 0
	for i, r := range []rune(n.Value) {
		if i == offset {
			break
		}
		if r == '\n' {
			exprLine++
			exprCol = 0
			start = i + 1
			continue
		}
		exprCol++
	}
	rs := []rune(n.Value)
	end := start
	for end < len(rs) && rs[end] != '\n' {
		end++
	}
	text = string(rs[start:end])
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		// The text starts on the line after the |; its first line sets the indentation.
		first, l := n.Line+1, n.Line+1+exprLine
		if l-1 < len(p.lines) {
			raw := p.lines[first-1]
			indent := len(raw) - len(strings.TrimLeft(raw, " "))
			return l, indent + 1 + exprCol, text
		}
		return n.Line, n.Column, text
	case exprLine == 0 && !strings.Contains(n.Value, "\n"):
		c := n.Column
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
			c++
		}
		// Only when the file holds the value verbatim at that place (no escapes before it).
		if n.Line-1 < len(p.lines) {
			raw := p.lines[n.Line-1]
			pre := string([]rune(n.Value)[:min(offset, len([]rune(n.Value)))])
			if bytePos := runeIndex(raw, c-1); bytePos >= 0 && strings.HasPrefix(raw[bytePos:], pre) {
				return n.Line, c + exprCol, text
			}
		}
	}
	return n.Line, n.Column, text
}

// runeIndex returns the byte position of the rune at index i of s, or -1.
func runeIndex(s string, i int) int {
	n := 0
	for pos := range s {
		if n == i {
			return pos
		}
		n++
	}
	if n == i {
		return len(s)
	}
	return -1
}

// caretColumn is the 0-based column, on its own line, of the rune at offset in s.
func caretColumn(s string, offset int) int {
	col := 0
	for i, r := range []rune(s) {
		if i == offset {
			break
		}
		col++
		if r == '\n' {
			col = 0
		}
	}
	return col
}
