package filters

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Scopes a preset may ask for: what else a matching message brings along when frames are cut out
// of a capture (sigtrace filter -w). Evaluation per message is the same for all.
const (
	ScopeMessage     = "message"     // the matching message only
	ScopeTransaction = "transaction" // its SIP transaction or Diameter request/answer pair
	ScopeDialog      = "dialog"      // every message with its Call-ID or Diameter Session-Id
)

// Preset is a named expression.
type Preset struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Expression  string `yaml:"expression"`
	// Scope is ScopeMessage (or empty), ScopeTransaction or ScopeDialog.
	Scope string `yaml:"scope"`
	// Source is "built-in", or the file and line that defined the preset.
	Source string `yaml:"-"`

	file string // presets file, and line where the expression's text starts
	line int
}

// threeGPPNetworkOrg is "3gppnetwork" label, then "org", in DNS wire form: the byte pattern of the
// EPC/IMS working filter engineers use in Wireshark.
const threeGPPNetworkOrg = `hex("33:67:70:70:6e:65:74:77:6f:72:6b:03:6f:72:67:00")`

var builtinPresets = []Preset{
	{
		Name: "epc-ims",
		Description: "The EPC/IMS working filter: Diameter except watchdogs (DWR/DWA), SIP except OPTIONS " +
			"transactions, and DNS naming 3gppnetwork.org. Wireshark: (diameter and diameter.cmd.code != 280) or " +
			"(sip and !(sip.Method == \"OPTIONS\") and !(sip.CSeq.method == \"OPTIONS\")) or (dns contains " +
			"33:67:70:70:6e:65:74:77:6f:72:6b:03:6f:72:67:00).",
		Expression: `(diameter and diameter.cmd.code != 280)
or (sip and not (sip.method == "OPTIONS") and not (sip.cseq.method == "OPTIONS"))
or (dns contains ` + threeGPPNetworkOrg + `)`,
	},
	{
		Name: "3gpp-dns",
		Description: "DNS messages naming anything under 3gppnetwork.org, in the question or the answers " +
			"(EPC/IMS node discovery: S-CSCF, P-CSCF, ePDG, MME/SGW NAPTR and SRV). Wireshark: dns contains " +
			"33:67:70:70:6e:65:74:77:6f:72:6b:03:6f:72:67:00.",
		Expression: `dns contains ` + threeGPPNetworkOrg,
	},
	{
		Name:        "no-keepalives",
		Description: "Everything except keep-alives: SIP OPTIONS transactions and Diameter watchdogs (DWR/DWA).",
		Expression:  `not (sip.method == "OPTIONS" or sip.cseq.method == "OPTIONS" or diameter.cmd.code == 280)`,
	},
	{
		Name:        "sip-errors",
		Description: "SIP final responses 4xx-6xx; with sigtrace filter -w, their whole transactions (the request, provisional responses, ACK).",
		Expression:  `sip.status >= 400`,
		Scope:       ScopeTransaction,
	},
	{
		Name:        "sip-calls",
		Description: "Call signalling only: INVITE dialogs (INVITE, ACK, BYE, CANCEL, PRACK, UPDATE, INFO and their responses), no REGISTER, SUBSCRIBE, OPTIONS or MESSAGE.",
		Expression:  `sip.cseq.method in ["INVITE", "ACK", "BYE", "CANCEL", "PRACK", "UPDATE", "INFO", "REFER"]`,
	},
	{
		Name:        "sip-register",
		Description: "SIP registrations: REGISTER transactions.",
		Expression:  `sip.cseq.method == "REGISTER"`,
	},
	{
		Name:        "ims-registration",
		Description: "IMS registration: REGISTER, reg-event SUBSCRIBE/NOTIFY, and Cx UAR/UAA, SAR/SAA, MAR/MAA.",
		Expression:  `sip.cseq.method in ["REGISTER", "SUBSCRIBE", "NOTIFY"] or (diameter.app_id == 16777216 and diameter.cmd.code in [300, 301, 303])`,
	},
	{
		Name:        "diameter-errors",
		Description: "Diameter answers with a Result-Code or Experimental-Result-Code of 3000 or more, or the E bit.",
		Expression:  `diameter.result_code >= 3000 or diameter.flags.error`,
		Scope:       ScopeTransaction,
	},
	{
		Name:        "diameter-policy",
		Description: "Policy and charging control for VoLTE: Diameter Rx (16777236) and Gx (16777238).",
		Expression:  `diameter.app_id in [16777236, 16777238]`,
	},
	{
		Name:        "s6a",
		Description: "Diameter S6a/S6d between MME and HSS (16777251): AIR, ULR, PUR, CLR, IDR...",
		Expression:  `diameter.app_id == 16777251`,
	},
	{
		Name:        "dns-errors",
		Description: "DNS responses with an error code (NXDOMAIN, SERVFAIL, REFUSED...).",
		Expression:  `dns.flags.response and dns.rcode != 0`,
		Scope:       ScopeTransaction,
	},
	{
		Name:        "emergency",
		Description: "Emergency calls: SIP requests to urn:service:sos (RFC 5031) or to 112, 911, 999.",
		Expression:  `sip.request_uri startsWith "urn:service:sos" or sip.to.user in ["112", "911", "999"]`,
		Scope:       ScopeDialog,
	},
}

// Library is a set of presets: the built-in ones and a user's.
type Library struct {
	presets []Preset
	index   map[string]int
}

var (
	builtinOnce sync.Once
	builtinLib  *Library
)

func builtinLibrary() *Library {
	builtinOnce.Do(func() {
		var err error
		builtinLib, err = NewLibrary(nil)
		if err != nil {
			panic(err) // the built-in presets are checked by tests
		}
	})
	return builtinLib
}

// Builtin returns the built-in presets.
func Builtin() []Preset {
	out := slicesClone(builtinPresets)
	for i := range out {
		out[i].Source = "built-in"
	}
	return out
}

func slicesClone(p []Preset) []Preset { return append([]Preset(nil), p...) }

// NewLibrary returns the built-in presets plus user, whose expressions are checked. A user preset
// may not take a built-in's name.
func NewLibrary(user []Preset) (*Library, error) {
	l := &Library{index: map[string]int{}}
	for _, p := range append(Builtin(), user...) {
		if p.Source == "" {
			p.Source = "user"
		}
		if p.Name == "" {
			return nil, fmt.Errorf("filters: %s: preset without a name", p.Source)
		}
		if i, ok := l.index[p.Name]; ok {
			return nil, fmt.Errorf("filters: %s: preset %q is already defined (%s)", p.Source, p.Name, l.presets[i].Source)
		}
		switch p.Scope {
		case "", ScopeMessage, ScopeTransaction, ScopeDialog:
		default:
			return nil, fmt.Errorf("filters: %s: preset %q: unknown scope %q (want message, transaction or dialog)", p.Source, p.Name, p.Scope)
		}
		l.index[p.Name] = len(l.presets)
		l.presets = append(l.presets, p)
	}
	for _, p := range l.presets {
		if _, err := l.CompilePreset(p.Name); err != nil {
			var fe *Error
			if p.file != "" && errors.As(err, &fe) && fe.Preset == p.Name {
				n, _, _ := locate(fe.Expr, fe.Offset)
				return nil, fmt.Errorf("%s:%d: %w", p.file, p.line+n-1, err)
			}
			return nil, fmt.Errorf("%s: %w", p.Source, err)
		}
	}
	return l, nil
}

// Presets returns the library's presets, built-in first, then the user's in file order.
func (l *Library) Presets() []Preset { return slicesClone(l.presets) }

// Lookup finds a preset by name.
func (l *Library) Lookup(name string) (Preset, bool) {
	i, ok := l.index[name]
	if !ok {
		return Preset{}, false
	}
	return l.presets[i], true
}

// Compile compiles an expression that may use this library's presets with preset("name").
func (l *Library) Compile(expr string) (*Filter, error) {
	comp := &compiler{src: expr, lib: l}
	fn, err := comp.compile()
	if err != nil {
		return nil, err
	}
	return newFilter(expr, fn, comp), nil
}

// CompilePreset compiles a preset by name.
func (l *Library) CompilePreset(name string) (*Filter, error) {
	p, ok := l.Lookup(name)
	if !ok {
		names := make([]string, len(l.presets))
		for i, p := range l.presets {
			names[i] = p.Name
		}
		sort.Strings(names)
		return nil, fmt.Errorf("filters: unknown preset %q (have %s)", name, strings.Join(names, ", "))
	}
	comp := &compiler{src: p.Expression, preset: p.Name, lib: l}
	fn, err := comp.compile()
	if err != nil {
		return nil, err
	}
	return newFilter(p.Expression, fn, comp), nil
}

// UserPresetsPath is where a user's presets live: $XDG_CONFIG_HOME/sigtrace/presets.yaml, else
// $HOME/.config/sigtrace/presets.yaml; "" when neither variable is set.
func UserPresetsPath(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "sigtrace", "presets.yaml")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "sigtrace", "presets.yaml")
	}
	return ""
}

// LoadLibrary returns the built-in presets plus those of the user's presets file, when it exists.
func LoadLibrary(getenv func(string) string) (*Library, error) {
	path := UserPresetsPath(getenv)
	if path == "" {
		return builtinLibrary(), nil
	}
	user, err := LoadPresetsFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return builtinLibrary(), nil
	}
	if err != nil {
		return nil, err
	}
	return NewLibrary(user)
}

// LoadPresetsFile reads a presets file:
//
//	presets:
//	  - name: my-hss
//	    description: S6a with our HSS
//	    expression: diameter.app_id == 16777251 and ip.addr in "10.1.0.0/16"
//
// Errors name the file and line.
func LoadPresetsFile(path string) ([]Preset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parsePresets(path, data)
}

func parsePresets(path string, data []byte) ([]Preset, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("filters: %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	at := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("filters: %s:%d: %s", path, n.Line, fmt.Sprintf(format, args...))
	}
	if root.Kind != yaml.MappingNode {
		return nil, at(root, "want a mapping with a presets: list")
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch k := root.Content[i]; k.Value {
		case "presets":
			list = root.Content[i+1]
		default:
			return nil, at(k, "unknown key %q (want presets)", k.Value)
		}
	}
	if list == nil {
		return nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, at(list, "presets must be a list")
	}
	var out []Preset
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			return nil, at(item, "a preset is a mapping with name, description and expression")
		}
		var p Preset
		var exprNode *yaml.Node
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return nil, at(v, "%s must be text", k.Value)
			}
			switch k.Value {
			case "name":
				p.Name = v.Value
			case "description":
				p.Description = v.Value
			case "expression":
				p.Expression = v.Value
				exprNode = v
			case "scope":
				p.Scope = v.Value
			default:
				return nil, at(k, "unknown key %q (want name, description, expression, scope)", k.Value)
			}
		}
		switch {
		case p.Name == "":
			return nil, at(item, "preset without a name")
		case exprNode == nil:
			return nil, at(item, "preset %q has no expression", p.Name)
		}
		p.Source = fmt.Sprintf("%s:%d", path, item.Line)
		p.file, p.line = path, exprNode.Line
		if exprNode.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			p.line++ // the text starts on the line after the | or >
		}
		out = append(out, p)
	}
	return out, nil
}
