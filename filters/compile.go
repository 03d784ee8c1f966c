package filters

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"

	"github.com/sigtrace/sigtrace/decode"
)

// Error is a bad expression: what is wrong and where. Its message shows the expression with a caret
// under the column.
type Error struct {
	Expr   string // the expression (the preset's, when Preset is set)
	Preset string // the preset the problem is in, if any
	Offset int    // rune offset of the problem in Expr
	Msg    string
}

func (e *Error) Error() string {
	line, col, text := locate(e.Expr, e.Offset)
	var b strings.Builder
	b.WriteString("filters: ")
	if e.Preset != "" {
		fmt.Fprintf(&b, "preset %q: ", e.Preset)
	}
	if strings.Contains(e.Expr, "\n") {
		fmt.Fprintf(&b, "line %d, ", line)
	}
	fmt.Fprintf(&b, "column %d: %s\n  %s\n  %s^", col, e.Msg, text, strings.Repeat(" ", col-1))
	return b.String()
}

// Column is the 1-based column of the problem on its line.
func (e *Error) Column() int { _, col, _ := locate(e.Expr, e.Offset); return col }

// locate turns a rune offset into a 1-based line and column and that line's text (tabs as spaces,
// so that the caret lines up).
func locate(src string, offset int) (line, col int, text string) {
	line, col = 1, 1
	start := 0
	n := 0
	for i, r := range src {
		if n == offset {
			break
		}
		n++
		if r == '\n' {
			line++
			col = 1
			start = i + 1
			continue
		}
		col++
	}
	end := strings.IndexByte(src[start:], '\n')
	if end < 0 {
		end = len(src) - start
	}
	text = strings.ReplaceAll(src[start:start+end], "\t", " ")
	if c := utf8.RuneCountInString(text) + 1; col > c {
		col = c
	}
	return line, col, text
}

type boolFn func(*ctx) bool

// operand is a compiled value: a field (get) or a constant (konst, cv).
type operand struct {
	kind  kind
	sides int
	get   getter
	konst bool
	cv    value
	// prefix is set for an address constant written as a CIDR prefix.
	prefix netip.Prefix
	// proto is set for a bare protocol name, which "proto contains X" reads as the message bytes.
	proto decode.Protocol
	desc  string
	field *Field
}

type compiler struct {
	src      string // as the user wrote it
	edits    []edit // how translate changed it for expr's parser
	preset   string
	lib      *Library
	within   []string // presets being compiled, to refuse cycles
	usesCall bool
	usesMsg  bool
}

func (c *compiler) errAt(n ast.Node, format string, args ...any) error {
	off := 0
	if n != nil {
		off = original(start(n).Location().From, c.edits)
	}
	return &Error{Expr: c.src, Preset: c.preset, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// compile parses src with expr's parser and compiles the tree.
func (c *compiler) compile() (boolFn, error) {
	if strings.TrimSpace(c.src) == "" {
		return nil, &Error{Expr: c.src, Preset: c.preset, Msg: "empty expression"}
	}
	text, edits := translate(c.src)
	c.edits = edits
	tree, err := parser.Parse(text)
	if err != nil {
		if fe, ok := err.(*file.Error); ok {
			off := original(fe.From, edits)
			if strings.HasSuffix(fe.Message, "EOF") {
				off = utf8.RuneCountInString(c.src) // the caret goes after the end
			}
			return nil, &Error{Expr: c.src, Preset: c.preset, Offset: off, Msg: fe.Message}
		}
		return nil, &Error{Expr: c.src, Preset: c.preset, Msg: err.Error()}
	}
	return c.boolean(tree.Node)
}

// boolean compiles a node used as a condition.
func (c *compiler) boolean(n ast.Node) (boolFn, error) {
	switch n := n.(type) {
	case *ast.BoolNode:
		v := n.Value
		return func(*ctx) bool { return v }, nil
	case *ast.UnaryNode:
		if n.Operator != "not" && n.Operator != "!" {
			return nil, c.errAt(n, "operator %s is not a condition", n.Operator)
		}
		inner, err := c.boolean(n.Node)
		if err != nil {
			return nil, err
		}
		return func(x *ctx) bool { return !inner(x) }, nil
	case *ast.BinaryNode:
		switch n.Operator {
		case "and", "&&", "or", "||":
			l, err := c.boolean(n.Left)
			if err != nil {
				return nil, err
			}
			r, err := c.boolean(n.Right)
			if err != nil {
				return nil, err
			}
			if n.Operator == "and" || n.Operator == "&&" {
				return func(x *ctx) bool { return l(x) && r(x) }, nil
			}
			return func(x *ctx) bool { return l(x) || r(x) }, nil
		case "==", "!=", "<", ">", "<=", ">=", "contains", "startsWith", "endsWith", "matches", "in":
			return c.comparison(n)
		}
		return nil, c.errAt(n, "operator %s is not supported in filters (use == != < > <= >= and or not in contains startsWith endsWith matches)", n.Operator)
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == "preset" {
			return c.presetCall(n)
		}
	case *ast.IdentifierNode, *ast.MemberNode:
	default:
		return nil, c.errAt(n, "%s is not a condition", describe(n))
	}
	o, err := c.operand(n)
	if err != nil {
		return nil, err
	}
	if o.konst {
		return nil, c.errAt(n, "%s is not a condition", describe(n))
	}
	get, sides := o.get, o.sides
	if o.kind == kBool {
		return func(x *ctx) bool {
			v, ok := get(x, 0)
			return ok && v.b
		}, nil
	}
	// Any other field alone tests its presence, as in Wireshark.
	return func(x *ctx) bool {
		for i := 0; i < sides; i++ {
			if _, ok := get(x, i); ok {
				return true
			} else if sides == manySides {
				break
			}
		}
		return false
	}, nil
}

// start is the leftmost node of a dotted name or call, where an error about it should point.
func start(n ast.Node) ast.Node {
	for {
		switch x := n.(type) {
		case *ast.MemberNode:
			n = x.Node
		case *ast.CallNode:
			n = x.Callee
		case *ast.ConditionalNode:
			n = x.Cond
		default:
			return n
		}
	}
}

func describe(n ast.Node) string {
	switch n := n.(type) {
	case *ast.StringNode:
		return strconv.Quote(n.Value)
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode:
		return "constant " + n.String()
	case *ast.ArrayNode:
		return "a list"
	case *ast.BinaryNode:
		return "operator " + n.Operator
	case *ast.BuiltinNode:
		return "function " + n.Name
	case *ast.ConditionalNode:
		return "a conditional"
	}
	return n.String()
}

func (c *compiler) presetCall(n *ast.CallNode) (boolFn, error) {
	if len(n.Arguments) != 1 {
		return nil, c.errAt(n, "preset needs one name: preset(\"epc-ims\")")
	}
	s, ok := n.Arguments[0].(*ast.StringNode)
	if !ok {
		return nil, c.errAt(n.Arguments[0], "preset needs a quoted name")
	}
	if c.lib == nil {
		return nil, c.errAt(n, "no presets available")
	}
	p, ok := c.lib.Lookup(s.Value)
	if !ok {
		return nil, c.errAt(n.Arguments[0], "unknown preset %q (sigtrace filter --list-presets)", s.Value)
	}
	if slices.Contains(c.within, p.Name) || p.Name == c.preset {
		return nil, c.errAt(n.Arguments[0], "preset %q refers to itself", p.Name)
	}
	sub := &compiler{src: p.Expression, preset: p.Name, lib: c.lib, within: append(slices.Clone(c.within), c.preset)}
	fn, err := sub.compile()
	c.usesCall = c.usesCall || sub.usesCall
	c.usesMsg = c.usesMsg || sub.usesMsg
	return fn, err
}

// dotted returns the name written by identifiers joined with dots (sip.cseq.method).
func dotted(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return n.Value, true
	case *ast.MemberNode:
		prop, ok := n.Property.(*ast.StringNode)
		if !ok || n.Optional {
			return "", false
		}
		base, ok := dotted(n.Node)
		if !ok {
			return "", false
		}
		return base + "." + prop.Value, true
	}
	return "", false
}

func (c *compiler) lookup(n ast.Node, name string) (*Field, error) {
	f, ok := fieldIndex[strings.ToLower(name)]
	if !ok {
		// Name it as written: translate may have turned hyphens into underscores.
		r, n0 := []rune(c.src), len([]rune(name))
		if off := original(start(n).Location().From, c.edits); off >= 0 && off+n0 <= len(r) &&
			strings.ReplaceAll(string(r[off:off+n0]), "-", "_") == name {
			name = string(r[off : off+n0])
		}
		if s := suggest(name); s != "" {
			return nil, c.errAt(n, "unknown field %q (did you mean %q?)", name, s)
		}
		return nil, c.errAt(n, "unknown field %q (sigtrace filter --list-fields)", name)
	}
	if f.Call {
		c.usesCall = true
	} else {
		c.usesMsg = true
	}
	return f, nil
}

// operand compiles a node used as a value.
func (c *compiler) operand(n ast.Node) (operand, error) {
	switch n := n.(type) {
	case *ast.StringNode:
		return konst(kStr, value{s: n.Value}), nil
	case *ast.IntegerNode:
		return konst(kNum, value{n: float64(n.Value)}), nil
	case *ast.FloatNode:
		return konst(kNum, value{n: n.Value}), nil
	case *ast.BoolNode:
		return konst(kBool, value{b: n.Value}), nil
	case *ast.UnaryNode:
		if n.Operator == "-" || n.Operator == "+" {
			o, err := c.operand(n.Node)
			if err == nil && o.konst && o.kind == kNum {
				if n.Operator == "-" {
					o.cv.n = -o.cv.n
				}
				return o, nil
			}
		}
	case *ast.CallNode:
		return c.call(n)
	case *ast.IdentifierNode, *ast.MemberNode:
		name, ok := dotted(n)
		if !ok {
			break
		}
		f, err := c.lookup(n, name)
		if err != nil {
			return operand{}, err
		}
		if f.Func {
			return operand{}, c.errAt(n, "%s needs an argument: %s", f.Name, f.Doc)
		}
		o := operand{kind: f.kind, sides: f.sides, get: f.get, desc: f.Name, field: f}
		switch f.Name {
		case "sip":
			o.proto = decode.ProtoSIP
		case "diameter":
			o.proto = decode.ProtoDiameter
		case "dns":
			o.proto = decode.ProtoDNS
		}
		return o, nil
	}
	return operand{}, c.errAt(n, "%s is not supported in filters", describe(n))
}

func konst(k kind, v value) operand {
	return operand{kind: k, sides: 1, konst: true, cv: v, desc: "constant",
		get: func(*ctx, int) (value, bool) { return v, true }}
}

func (c *compiler) call(n *ast.CallNode) (operand, error) {
	arg := func() (string, error) {
		if len(n.Arguments) != 1 {
			return "", c.errAt(n, "%s needs one argument", n.Callee)
		}
		s, ok := n.Arguments[0].(*ast.StringNode)
		if !ok {
			return "", c.errAt(n.Arguments[0], "%s needs a quoted text argument", n.Callee)
		}
		return s.Value, nil
	}
	name, ok := dotted(n.Callee)
	if !ok {
		return operand{}, c.errAt(n, "%s is not supported in filters", describe(n))
	}
	if name == "hex" {
		s, err := arg()
		if err != nil {
			return operand{}, err
		}
		b, err := parseHex(s)
		if err != nil {
			return operand{}, c.errAt(n.Arguments[0], "%v", err)
		}
		return konst(kBytes, value{raw: b}), nil
	}
	f, err := c.lookup(n.Callee, name)
	if err != nil {
		return operand{}, err
	}
	if !f.Func {
		return operand{}, c.errAt(n, "%s is a field, not a function", f.Name)
	}
	s, err := arg()
	if err != nil {
		return operand{}, err
	}
	if f.args != nil && !slices.Contains(f.args, s) {
		return operand{}, c.errAt(n.Arguments[0], "%s: unknown argument %q (want one of %s)", f.Name, s, strings.Join(f.args, ", "))
	}
	return operand{kind: f.kind, sides: 1, get: f.fn(s), desc: f.Name + "(" + strconv.Quote(s) + ")", field: f}, nil
}

// parseHex reads bytes written as hex digits, optionally separated by colons, spaces or dashes
// (Wireshark writes 33:67:70).
func parseHex(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if r == ':' || r == ' ' || r == '-' || r == '.' {
			return -1
		}
		return r
	}, strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("bad hex bytes %q (want e.g. \"33:67:70\")", s)
	}
	return b, nil
}

var mirror = map[string]string{"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}

func (c *compiler) comparison(n *ast.BinaryNode) (boolFn, error) {
	op := n.Operator
	l, err := c.operand(n.Left)
	if err != nil {
		return nil, err
	}
	if op == "in" {
		return c.in(n, l)
	}
	r, err := c.operand(n.Right)
	if err != nil {
		return nil, err
	}
	if l.konst && !r.konst {
		if m, ok := mirror[op]; ok {
			l, r, op = r, l, m
		}
	}
	if l.proto != decode.ProtoUnknown && (op == "contains" || op == "matches" || op == "startsWith" || op == "endsWith") {
		l = payloadOf(l.proto)
	}
	text := op == "contains" || op == "startsWith" || op == "endsWith"
	if (text || op == "matches") && l.kind != kStr && l.kind != kBytes {
		return nil, c.errAt(n, "%s is a %s: %s needs text or bytes", l.desc, l.kind, op)
	}
	if op == "matches" {
		if !r.konst || r.kind != kStr {
			return nil, c.errAt(n.Right, "matches needs a quoted regular expression")
		}
	} else if r.konst {
		if r, err = c.coerce(n.Right, r, l); err != nil {
			return nil, err
		}
	} else if l.konst {
		if l, err = c.coerce(n.Left, l, r); err != nil {
			return nil, err
		}
	}
	if op != "matches" && l.kind != r.kind && !(text && (l.kind == kStr || l.kind == kBytes) && (r.kind == kStr || r.kind == kBytes)) {
		return nil, c.errAt(n, "cannot compare %s (%s) with %s (%s)", l.desc, l.kind, r.desc, r.kind)
	}
	var test func(a, b value) bool
	switch op {
	case "==", "!=":
		if r.konst && r.prefix.IsValid() {
			p := r.prefix
			test = func(a, _ value) bool { return p.Contains(a.a.Unmap()) }
		} else {
			test = equal(l.kind)
		}
	case "<", ">", "<=", ">=":
		if l.kind == kBool || l.kind == kBytes {
			return nil, c.errAt(n, "%s cannot be ordered with %s", l.desc, op)
		}
		cmp := order(l.kind)
		switch op {
		case "<":
			test = func(a, b value) bool { return cmp(a, b) < 0 }
		case ">":
			test = func(a, b value) bool { return cmp(a, b) > 0 }
		case "<=":
			test = func(a, b value) bool { return cmp(a, b) <= 0 }
		default:
			test = func(a, b value) bool { return cmp(a, b) >= 0 }
		}
	case "contains", "startsWith", "endsWith":
		test = textOp(op, l.kind == kBytes, r.kind == kBytes)
	case "matches":
		re, err := regexp.Compile(r.cv.s)
		if err != nil {
			return nil, c.errAt(n.Right, "bad regular expression: %v", err)
		}
		if l.kind == kBytes {
			test = func(a, _ value) bool { return re.Match(a.raw) }
		} else {
			test = func(a, _ value) bool { return re.MatchString(a.s) }
		}
	}
	if op == "==" {
		if f := fastEqual(l, r); f != nil {
			return f, nil
		}
	}
	return sidesTest(l, r, test, op == "!="), nil
}

// payloadOf reads the message bytes when the message is of protocol p.
func payloadOf(p decode.Protocol) operand {
	return operand{kind: kBytes, sides: 1, desc: p.String() + " bytes", get: func(c *ctx, _ int) (value, bool) {
		if c.m == nil || c.m.Protocol != p {
			return value{}, false
		}
		return value{raw: c.m.Payload}, true
	}}
}

// sidesTest applies test to every present combination of the operands' values: true when one
// satisfies it, or, for != (negate), when values are present and none is equal.
func sidesTest(l, r operand, test func(a, b value) bool, negate bool) boolFn {
	lg, ls := l.get, l.sides
	if r.konst {
		k := r.cv
		if ls == 1 && !negate {
			return func(x *ctx) bool {
				v, ok := lg(x, 0)
				return ok && test(v, k)
			}
		}
		return func(x *ctx) bool {
			present := false
			for i := 0; i < ls; i++ {
				v, ok := lg(x, i)
				if !ok {
					if ls == manySides {
						break
					}
					continue
				}
				present = true
				if test(v, k) {
					return !negate
				}
			}
			return negate && present
		}
	}
	rg, rs := r.get, r.sides
	return func(x *ctx) bool {
		present := false
		for i := 0; i < ls; i++ {
			a, ok := lg(x, i)
			if !ok {
				if ls == manySides {
					break
				}
				continue
			}
			for j := 0; j < rs; j++ {
				b, ok := rg(x, j)
				if !ok {
					if rs == manySides {
						break
					}
					continue
				}
				present = true
				if test(a, b) {
					return !negate
				}
			}
		}
		return negate && present
	}
}

// fastEqual specialises field == constant for text and numbers, the commonest comparisons, to
// spare an indirect call per evaluation; nil when it does not apply.
func fastEqual(l, r operand) boolFn {
	if l.sides != 1 || !r.konst || r.prefix.IsValid() || l.kind != r.kind {
		return nil
	}
	lg := l.get
	switch l.kind {
	case kStr:
		ks := r.cv.s
		return func(x *ctx) bool {
			v, ok := lg(x, 0)
			return ok && v.s == ks
		}
	case kNum:
		kn := r.cv.n
		return func(x *ctx) bool {
			v, ok := lg(x, 0)
			return ok && v.n == kn
		}
	}
	return nil
}

func equal(k kind) func(a, b value) bool {
	switch k {
	case kBool:
		return func(a, b value) bool { return a.b == b.b }
	case kNum:
		return func(a, b value) bool { return a.n == b.n }
	case kAddr:
		return func(a, b value) bool { return a.a.Unmap() == b.a.Unmap() }
	case kTime:
		return func(a, b value) bool { return a.t == b.t }
	case kBytes:
		return func(a, b value) bool { return bytes.Equal(bytesOf(a), bytesOf(b)) }
	}
	return func(a, b value) bool { return a.s == b.s }
}

// bytesOf is a value's bytes whether it was written as text or bytes.
func bytesOf(v value) []byte {
	if v.raw != nil {
		return v.raw
	}
	return []byte(v.s)
}

func order(k kind) func(a, b value) int {
	switch k {
	case kNum:
		return func(a, b value) int {
			switch {
			case a.n < b.n:
				return -1
			case a.n > b.n:
				return 1
			}
			return 0
		}
	case kAddr:
		return func(a, b value) int { return a.a.Unmap().Compare(b.a.Unmap()) }
	case kTime:
		return func(a, b value) int {
			switch {
			case a.t < b.t:
				return -1
			case a.t > b.t:
				return 1
			}
			return 0
		}
	}
	return func(a, b value) int { return strings.Compare(a.s, b.s) }
}

func textOp(op string, lBytes, rBytes bool) func(a, b value) bool {
	if !lBytes && !rBytes {
		switch op {
		case "contains":
			return func(a, b value) bool { return strings.Contains(a.s, b.s) }
		case "startsWith":
			return func(a, b value) bool { return strings.HasPrefix(a.s, b.s) }
		}
		return func(a, b value) bool { return strings.HasSuffix(a.s, b.s) }
	}
	// Mixed text and bytes compare as bytes. A text operand is converted per evaluation only when
	// it is a field; constants were converted at compile time (coerce).
	switch op {
	case "contains":
		return func(a, b value) bool { return bytes.Contains(bytesOf(a), bytesOf(b)) }
	case "startsWith":
		return func(a, b value) bool { return bytes.HasPrefix(bytesOf(a), bytesOf(b)) }
	}
	return func(a, b value) bool { return bytes.HasSuffix(bytesOf(a), bytesOf(b)) }
}

// coerce converts constant k to the kind of the operand it is compared with, at compile time.
func (c *compiler) coerce(n ast.Node, k, to operand) (operand, error) {
	if to.konst || k.kind == to.kind {
		return k, nil
	}
	bad := func() (operand, error) {
		return operand{}, c.errAt(n, "cannot compare %s (%s) with %s (%s)", to.desc, to.kind, describe(n), k.kind)
	}
	switch {
	case to.kind == kAddr && k.kind == kStr:
		return c.address(n, k.cv.s)
	case to.kind == kTime && k.kind == kStr:
		t, err := parseTime(k.cv.s)
		if err != nil {
			return operand{}, c.errAt(n, "bad time %q (want RFC 3339, e.g. 2024-05-01T10:00:00Z)", k.cv.s)
		}
		return konst(kTime, value{t: t.UnixNano()}), nil
	case to.kind == kTime && k.kind == kNum:
		return konst(kTime, value{t: int64(k.cv.n * 1e9)}), nil
	case to.kind == kNum && k.kind == kStr && to.field != nil && to.field.enum != nil:
		v, ok := to.field.enum[strings.ToUpper(k.cv.s)]
		if !ok {
			return operand{}, c.errAt(n, "unknown %s name %q", to.desc, k.cv.s)
		}
		return konst(kNum, value{n: v}), nil
	case to.kind == kBytes && k.kind == kStr:
		return konst(kBytes, value{raw: []byte(k.cv.s)}), nil
	case to.kind == kStr && k.kind == kBytes:
		return konst(kStr, value{s: string(k.cv.raw)}), nil
	}
	return bad()
}

func (c *compiler) address(n ast.Node, s string) (operand, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return operand{}, c.errAt(n, "bad address prefix %q", s)
		}
		o := konst(kAddr, value{})
		o.prefix = p.Masked()
		if p.Addr().Is4In6() {
			o.prefix = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
		}
		return o, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return operand{}, c.errAt(n, "bad address %q", s)
	}
	return konst(kAddr, value{a: a.Unmap()}), nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time")
}

// in compiles "x in [list]", "x in lo..hi" and, for addresses, "x in \"10.0.0.0/8\"".
func (c *compiler) in(n *ast.BinaryNode, l operand) (boolFn, error) {
	if l.konst {
		return nil, c.errAt(n.Left, "in needs a field on its left")
	}
	var elems []ast.Node
	switch r := n.Right.(type) {
	case *ast.ArrayNode:
		elems = r.Nodes
	case *ast.BinaryNode:
		if r.Operator != ".." || l.kind != kNum {
			return nil, c.errAt(r, "in needs a list [a, b], a range lo..hi or an address prefix")
		}
		lo, err1 := c.operand(r.Left)
		hi, err2 := c.operand(r.Right)
		if err1 != nil || err2 != nil || !lo.konst || !hi.konst || lo.kind != kNum || hi.kind != kNum {
			return nil, c.errAt(r, "a range needs two numbers: 400..499")
		}
		a, b := lo.cv.n, hi.cv.n
		return sidesTest(l, konst(kNum, value{}), func(v, _ value) bool { return v.n >= a && v.n <= b }, false), nil
	case *ast.StringNode:
		if l.kind != kAddr {
			return nil, c.errAt(r, "in needs a list: %s in [%s]", l.desc, strconv.Quote(r.Value))
		}
		elems = []ast.Node{r}
	default:
		return nil, c.errAt(n.Right, "in needs a list [a, b], a range lo..hi or an address prefix")
	}
	var consts []operand
	for _, e := range elems {
		k, err := c.operand(e)
		if err != nil {
			return nil, err
		}
		if !k.konst {
			return nil, c.errAt(e, "a list holds constants only")
		}
		if k, err = c.coerce(e, k, l); err != nil {
			return nil, err
		}
		if k.kind != l.kind {
			return nil, c.errAt(e, "cannot compare %s (%s) with %s (%s)", l.desc, l.kind, describe(e), k.kind)
		}
		consts = append(consts, k)
	}
	var test func(v, _ value) bool
	switch l.kind {
	case kStr:
		set := make(map[string]struct{}, len(consts))
		for _, k := range consts {
			set[k.cv.s] = struct{}{}
		}
		test = func(v, _ value) bool { _, ok := set[v.s]; return ok }
	case kAddr:
		var ps []netip.Prefix
		for _, k := range consts {
			if k.prefix.IsValid() {
				ps = append(ps, k.prefix)
			} else {
				ps = append(ps, netip.PrefixFrom(k.cv.a, k.cv.a.BitLen()))
			}
		}
		test = func(v, _ value) bool {
			a := v.a.Unmap()
			for _, p := range ps {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}
	default:
		eq := equal(l.kind)
		test = func(v, _ value) bool {
			for _, k := range consts {
				if eq(v, k.cv) {
					return true
				}
			}
			return false
		}
	}
	return sidesTest(l, konst(l.kind, value{}), test, false), nil
}

// suggest returns the known field name closest to name, when one is close.
func suggest(name string) string {
	name = strings.ToLower(name)
	best, bestD := "", 4
	for n, f := range fieldIndex {
		if d := distance(name, n); d < bestD || d == bestD && f.Name < best {
			best, bestD = f.Name, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
