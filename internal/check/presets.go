package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sigtrace/sigtrace/filters"
)

// presets are built-in rule sets, written as rules files so that they read as examples.
var presets = map[string]string{
	"sanity": `rules:
  - name: no-sip-server-errors
    description: No SIP response 500-599 (a server or gateway failed).
    over: messages
    match: 'sip.status >= 500 and sip.status < 600'
    max: 0
  - name: invite-final-response
    description: Every call's INVITE got a final response; a call still ringing when the capture ended fails.
    over: calls
    match: 'not call.status'
    max: 0
  - name: no-malformed-messages
    description: Every SIP, Diameter and DNS message follows its grammar.
    over: messages
    match: 'malformed'
    max: 0
  - name: no-retransmission-storms
    description: No call needed more than 10 SIP retransmissions (lost responses, an unreachable next hop).
    over: calls
    value: call.retransmissions
    max: 10
  - name: no-unanswered-diameter
    description: Every Diameter request got an answer.
    over: diameter
    status: unanswered
    max: 0
  - name: no-diameter-errors
    description: No Diameter answer with a Result-Code or Experimental-Result-Code of 3000 or more, or the E bit.
    over: diameter
    match: 'diameter.result_code >= 3000 or diameter.flags.error'
    max: 0
  - name: no-unanswered-dns
    description: Every DNS query got a response.
    over: dns
    status: unanswered
    max: 0
  - name: no-dns-server-failures
    description: No DNS response SERVFAIL or REFUSED.
    over: dns
    match: 'dns.rcode == "SERVFAIL" or dns.rcode == "REFUSED"'
    max: 0
`,
}

// PresetNames lists the built-in rule sets.
func PresetNames() []string {
	var names []string
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// PresetText returns a built-in rule set as a rules file, for --help and for users to start from.
func PresetText(name string) (string, bool) {
	s, ok := presets[name]
	return s, ok
}

// Preset returns a built-in rule set. Its rules' File is "preset NAME".
func Preset(name string, lib *filters.Library) (*RuleSet, error) {
	text, ok := presets[name]
	if !ok {
		return nil, fmt.Errorf("check: unknown preset %q (have %s)", name, strings.Join(PresetNames(), ", "))
	}
	rs, err := Parse("preset "+name, []byte(text), lib)
	if err != nil {
		return nil, err
	}
	for _, r := range rs.Rules {
		r.Line = 0
	}
	return rs, nil
}
