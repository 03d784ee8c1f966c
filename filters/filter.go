package filters

import (
	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
)

// Filter is a compiled expression. A nil *Filter matches everything. It is not safe for concurrent
// use.
type Filter struct {
	src      string
	match    boolFn
	usesCall bool
	usesMsg  bool
	c        ctx
}

// Compile compiles an expression; it may use the built-in presets with preset("name").
func Compile(expr string) (*Filter, error) { return builtinLibrary().Compile(expr) }

func newFilter(src string, match boolFn, comp *compiler) *Filter {
	return &Filter{src: src, match: match, usesCall: comp.usesCall, usesMsg: comp.usesMsg}
}

// Clone returns a copy that can run in another goroutine: the compiled expression is shared (it
// is read-only), the evaluation scratch space is not.
func (f *Filter) Clone() *Filter {
	if f == nil {
		return nil
	}
	c := *f
	c.c = ctx{}
	return &c
}

// String returns the expression.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.src
}

// MatchMessage reports whether a decoded message matches. Call fields are absent.
func (f *Filter) MatchMessage(m *decode.Message) bool {
	if f == nil {
		return true
	}
	f.c.reset(m, nil)
	return f.match(&f.c)
}

// MatchCall reports whether a call matches: when the expression uses message fields, when any of
// the call's messages matches (the call's fields are visible in each evaluation, so
// call.legs > 1 and sip.status == 503 finds multi-leg calls that saw a 503); otherwise when the
// call's fields match. With no messages given, message fields are absent.
func (f *Filter) MatchCall(call *correlate.Call, msgs ...*decode.Message) bool {
	if f == nil {
		return true
	}
	if f.usesMsg && len(msgs) > 0 {
		for _, m := range msgs {
			if f.MatchMessageOf(call, m) {
				return true
			}
		}
		return false
	}
	f.c.reset(nil, call)
	return f.match(&f.c)
}

// MatchMessageOf evaluates the expression on one message of a call, with the call's fields
// visible: a streaming alternative to MatchCall for callers that do not keep messages (a call
// matches when any of its messages does).
func (f *Filter) MatchMessageOf(call *correlate.Call, m *decode.Message) bool {
	if f == nil {
		return true
	}
	f.c.reset(m, call)
	return f.match(&f.c)
}

// UsesMessageFields reports whether the expression reads message fields (sip.*, ip.src...), so
// that a caller matching calls knows whether it must offer the calls' messages.
func (f *Filter) UsesMessageFields() bool { return f != nil && f.usesMsg }

// UsesCallFields reports whether the expression reads call fields (call.*).
func (f *Filter) UsesCallFields() bool { return f != nil && f.usesCall }

// And returns a filter matching what all the given filters match; nil filters are left out, and
// And of none is nil (match everything).
func And(fs ...*Filter) *Filter {
	var parts []*Filter
	for _, f := range fs {
		if f != nil {
			parts = append(parts, f)
		}
	}
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return parts[0]
	}
	out := &Filter{}
	fns := make([]boolFn, len(parts))
	for i, p := range parts {
		if i > 0 {
			out.src += " and "
		}
		out.src += "(" + p.src + ")"
		fns[i] = p.match
		out.usesCall = out.usesCall || p.usesCall
		out.usesMsg = out.usesMsg || p.usesMsg
	}
	out.match = func(x *ctx) bool {
		for _, fn := range fns {
			if !fn(x) {
				return false
			}
		}
		return true
	}
	return out
}
