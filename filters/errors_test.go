package filters

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrors checks the message and the caret of bad expressions.
func TestErrors(t *testing.T) {
	tests := []struct {
		expr, msg string
		col       int
	}{
		{`sip.methd == "INVITE"`, `unknown field "sip.methd" (did you mean "sip.method"?)`, 1},
		{`sip and sip.stauts == 200`, `unknown field "sip.stauts" (did you mean "sip.status"?)`, 9},
		{`foo.bar.baz == 1`, `unknown field "foo.bar.baz" (sigtrace filter --list-fields)`, 1},
		{`sip.status == "x"`, `cannot compare sip.status (number) with "x" (string)`, 15},
		{`sip.method == 5`, `cannot compare sip.method (string) with constant 5 (number)`, 15},
		{`sip.method ==`, `unexpected token EOF`, 14},
		{`(sip`, `unexpected token EOF`, 5},
		{`ip.src in "10.0.0.0/33"`, `bad address prefix "10.0.0.0/33"`, 11},
		{`ip.dst == "10.0.0.300"`, `bad address "10.0.0.300"`, 11},
		{`sip.method matches "("`, "bad regular expression: error parsing regexp: missing closing ): `(`", 20},
		{`sip.method matches sip.ua`, `matches needs a quoted regular expression`, 20},
		{`"INVITE"`, `"INVITE" is not a condition`, 1},
		{`sip.status + 1 > 2`, `operator + is not supported in filters`, 12},
		{`dns.qry.type == "BOGUS"`, `unknown dns.qry.type name "BOGUS"`, 17},
		{`frame.time > "yesterday"`, `bad time "yesterday" (want RFC 3339, e.g. 2024-05-01T10:00:00Z)`, 14},
		{`sip.header == "x"`, `sip.header needs an argument: sip.header("Name"): first value of a header (compact forms match; absent when missing)`, 1},
		{`sip.header(1) == "x"`, `sip.header needs a quoted text argument`, 12},
		{`sip.method(1)`, `sip.method is a field, not a function`, 1},
		{`payload contains hex("zz")`, `bad hex bytes "zz" (want e.g. "33:67:70")`, 22},
		{`sip.status in "400"`, `in needs a list: sip.status in ["400"]`, 15},
		{`sip.status in 400..sip.cseq`, `a range needs two numbers: 400..499`, 18},
		{`diameter.flags.request > true`, `diameter.flags.request cannot be ordered with >`, 24},
		{`port contains "50"`, `port is a number: contains needs text or bytes`, 6},
		{`sip.status matches "5.."`, `sip.status is a number: matches needs text or bytes`, 12},
		{`preset("nope")`, `unknown preset "nope" (sigtrace filter --list-presets)`, 8},
		{`len(sip.method) > 3`, `function len is not supported in filters`, 1},
		{`sip ? dns : diameter`, `a conditional is not a condition`, 1},
		{``, `empty expression`, 1},
		{`call.has("holdd")`, `call.has: unknown argument "holdd" (want one of dtmf, hold, unhold, refer, park, transfer, forward)`, 10},
	}
	for _, tt := range tests {
		_, err := Compile(tt.expr)
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("%q: error %v, want *Error", tt.expr, err)
			continue
		}
		if fe.Msg != tt.msg || fe.Column() != tt.col {
			t.Errorf("%q: %q at column %d, want %q at column %d", tt.expr, fe.Msg, fe.Column(), tt.msg, tt.col)
		}
		// The caret sits under the column on the line after the expression.
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "filters: column ") ||
			lines[1] != "  "+tt.expr || lines[2] != "  "+strings.Repeat(" ", tt.col-1)+"^" {
			t.Errorf("%q: message\n%s", tt.expr, err)
		}
	}
}

func TestErrorOnLaterLine(t *testing.T) {
	_, err := Compile("sip\nand sip.stauts == 1")
	want := "filters: line 2, column 5: unknown field \"sip.stauts\" (did you mean \"sip.status\"?)\n  and sip.stauts == 1\n      ^"
	if err == nil || err.Error() != want {
		t.Fatalf("got\n%v\nwant\n%s", err, want)
	}
}

func TestBuiltinPresetsCompile(t *testing.T) {
	lib := builtinLibrary()
	for _, p := range Builtin() {
		if p.Description == "" {
			t.Errorf("%s: no description", p.Name)
		}
		if _, err := lib.CompilePreset(p.Name); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
	for _, name := range []string{"epc-ims", "3gpp-dns", "no-keepalives", "sip-errors"} {
		if _, ok := lib.Lookup(name); !ok {
			t.Errorf("preset %s missing", name)
		}
	}
	if _, err := lib.CompilePreset("nope"); err == nil || !strings.Contains(err.Error(), "epc-ims") {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestUserPresets(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return dir
		}
		return ""
	}
	path := filepath.Join(dir, "sigtrace", "presets.yaml")
	if got := UserPresetsPath(env); got != path {
		t.Fatalf("path %s", got)
	}
	if UserPresetsPath(func(string) string { return "" }) != "" {
		t.Fatal("a path without HOME or XDG_CONFIG_HOME")
	}
	// No file: the built-in presets.
	lib, err := LoadLibrary(env)
	if err != nil || len(lib.Presets()) != len(builtinPresets) {
		t.Fatalf("no file: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`presets:
  - name: our-hss
    description: S6a with our HSS
    expression: diameter.app_id == 16777251 and ip.addr in "10.1.0.0/16"
  - name: core-errors
    description: errors, no keep-alives
    scope: transaction
    expression: |
      preset("no-keepalives")
      and (preset("sip-errors") or preset("our-hss"))
`)
	lib, err = LoadLibrary(env)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := lib.Lookup("core-errors")
	if !ok || p.Scope != ScopeTransaction || p.Source != path+":5" {
		t.Fatalf("core-errors: %+v", p)
	}
	f, err := lib.Compile(`preset("core-errors")`)
	if err != nil {
		t.Fatal(err)
	}
	resp := sipMessage(t, busy, "192.0.2.7:5060", "10.1.2.3:5060")
	if !f.MatchMessage(resp) || f.MatchMessage(sipMessage(t, invite, "10.1.2.3:5060", "192.0.2.7:5060")) {
		t.Error("core-errors does not select the 486 alone")
	}

	bad := []struct{ file, want string }{
		{"presets:\n  - name: x\n    expression: |\n      sip and\n      sip.stauts == 1\n", path + `:5: filters: preset "x": line 2, column 1: unknown field "sip.stauts"`},
		{"presets:\n  - name: x\n    expression: sip.method == 5\n", path + `:3: filters: preset "x": column 15: cannot compare`},
		{"presets:\n  - name: epc-ims\n    expression: sip\n", `preset "epc-ims" is already defined (built-in)`},
		{"presets:\n  - name: a\n    expression: preset(\"b\")\n  - name: b\n    expression: preset(\"a\")\n", `refers to itself`},
		{"presets:\n  - name: x\n", path + `:2: preset "x" has no expression`},
		{"presets:\n  - expression: sip\n", path + `:2: preset without a name`},
		{"presets:\n  - name: x\n    expresion: sip\n", path + `:3: unknown key "expresion"`},
		{"presets:\n  - name: x\n    expression: sip\n    scope: call\n", `unknown scope "call"`},
		{"preset:\n  - name: x\n", path + `:1: unknown key "preset" (want presets)`},
		{"presets: [\n", path + `: yaml:`},
	}
	for _, b := range bad {
		write(b.file)
		_, err := LoadLibrary(env)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("file\n%s\nerror %v, want %q", b.file, err, b.want)
		}
	}
}

func TestAnd(t *testing.T) {
	if And(nil, nil) != nil {
		t.Fatal("And of nothing must match everything (nil)")
	}
	a := mustCompile(t, `sip`)
	b := mustCompile(t, `sip.status == 486`)
	both := And(a, nil, b)
	if both.String() != "(sip) and (sip.status == 486)" {
		t.Errorf("String %q", both)
	}
	resp := sipMessage(t, busy, "192.0.2.7:5060", "10.1.2.3:5060")
	inv := sipMessage(t, invite, "10.1.2.3:5060", "192.0.2.7:5060")
	if !both.MatchMessage(resp) || both.MatchMessage(inv) {
		t.Error("And")
	}
	var none *Filter
	if !none.MatchMessage(inv) || !none.MatchCall(nil) {
		t.Error("a nil filter must match everything")
	}
}
