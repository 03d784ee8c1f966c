package decode_test

import (
	"cmp"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// This file is the pipeline-level differential test for Diameter and DNS: every capture of the corpus
// goes through decode.Run (links, tunnels, defragmentation, TCP and SCTP framing, HEP) and the messages
// it delivers must be the ones tshark dissects, field by field.

// diameterKey is what the test compares per Diameter message. Result is the top-level Result-Code,
// ExpResult the Experimental-Result-Code inside a top-level Experimental-Result.
type diameterKey struct {
	Cmd, App, HopByHop, EndToEnd uint32
	Request                      bool
	Session                      string
	Result, ExpResult            uint32
}

func (k diameterKey) String() string {
	r := "A"
	if k.Request {
		r = "R"
	}
	return fmt.Sprintf("%d%s app=%d hbh=0x%08x e2e=0x%08x session=%q result=%d/%d",
		k.Cmd, r, k.App, k.HopByHop, k.EndToEnd, k.Session, k.Result, k.ExpResult)
}

// dnsKey is what the test compares per DNS message: the first question, the header's rcode (responses
// only: tshark shows it for them alone) and the A and AAAA addresses of the answer section in order.
type dnsKey struct {
	ID       uint16
	Response bool
	Name     string // without the final dot, as tshark shows it
	QType    uint16
	Rcode    string
	Addrs    string
}

func (k dnsKey) String() string {
	qr := "Q"
	if k.Response {
		qr = "R"
	}
	return fmt.Sprintf("%s id=0x%04x %s/%d rcode=%s [%s]", qr, k.ID, k.Name, k.QType, k.Rcode, k.Addrs)
}

// knownDiameterDNSDifferences explains, file by file, where the messages sigtrace delivers differ from
// tshark 4.0's. Each entry gives how many more messages of each protocol sigtrace finds than tshark
// (negative: fewer), and why; the test fails unless the difference is exactly that, so an explanation
// cannot go stale. Differences in fields are never explained away: only whole messages.
var knownDiameterDNSDifferences = map[string]struct {
	diameter, dns int
	why           string
}{}

// tsharkDecodeAs gives tshark, for some captures, the decode-as rules that make it dissect what
// sigtrace recognises by content, so that those messages are compared field by field too.
var tsharkDecodeAs = map[string]struct {
	rules []string
	why   string
}{
	"open5gs/ipsec_to_nonipsec_call.pcapng": {[]string{"tcp.port==3871,diameter"},
		"tshark dissects Diameter over TCP on port 3868 only; here the P-CSCF's Rx peer listens on 3871 " +
			"(6 messages: DWR/DWA and two AAR/AAA), which sigtrace recognises by the Diameter header"},
}

// tsharkDiameterDNS dissects a capture with tshark and returns its Diameter and DNS messages, read from
// PDML so that several PDUs in one frame (SCTP bundling, TCP) stay apart.
func tsharkDiameterDNS(t *testing.T, tshark, file string, decodeAs []string) ([]diameterKey, []dnsKey) {
	t.Helper()
	args := []string{"-r", file, "-Y", "diameter || dns", "-T", "pdml"}
	for _, r := range decodeAs {
		args = append(args, "-d", r)
	}
	cmd := exec.Command(tshark, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var dia []diameterKey
	var dn []dnsKey
	dec := xml.NewDecoder(out)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("pdml: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "proto" {
			continue
		}
		name := ""
		for _, a := range se.Attr {
			if a.Name.Local == "name" {
				name = a.Value
			}
		}
		if name != "diameter" && name != "dns" {
			continue
		}
		var p pdmlProto
		if err := dec.DecodeElement(&p, &se); err != nil {
			t.Fatalf("pdml: %v", err)
		}
		if name == "diameter" {
			dia = append(dia, pdmlDiameter(t, p.Fields))
		} else {
			dn = append(dn, pdmlDNS(t, p.Fields))
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	return dia, dn
}

// pdmlUint parses a PDML show value in decimal or 0x hexadecimal; "" is 0.
func pdmlUint(t *testing.T, s string) uint32 {
	t.Helper()
	if s == "" {
		return 0
	}
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		t.Fatalf("pdml: bad number %q", s)
	}
	return uint32(v)
}

// child returns the show value of the direct child field called name.
func child(fs []pdmlField, name string) (string, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f.Show, true
		}
	}
	return "", false
}

func pdmlDiameter(t *testing.T, fs []pdmlField) diameterKey {
	var k diameterKey
	get := func(name string) uint32 { v, _ := child(fs, name); return pdmlUint(t, v) }
	k.Cmd, k.App = get("diameter.cmd.code"), get("diameter.applicationId")
	k.HopByHop, k.EndToEnd = get("diameter.hopbyhopid"), get("diameter.endtoendid")
	if flags, ok := child(fs, "diameter.flags"); ok {
		k.Request = pdmlUint(t, flags)&0x80 != 0
	}
	// Only top-level AVPs count, as in the decoder: a Session-Id or Result-Code nested in a grouped
	// AVP is something else. The last occurrence wins there too.
	for _, avp := range fs {
		if avp.Name != "diameter.avp" {
			continue
		}
		if v, ok := child(avp.Fields, "diameter.Session-Id"); ok {
			k.Session = v
		}
		if v, ok := child(avp.Fields, "diameter.Result-Code"); ok {
			k.Result = pdmlUint(t, v)
		}
		if code, _ := child(avp.Fields, "diameter.avp.code"); code == "297" {
			// Experimental-Result: its members sit under the grouped field tshark names after it.
			if v, ok := findField(avp.Fields, "diameter.Experimental-Result-Code"); ok {
				k.ExpResult = pdmlUint(t, v)
			}
		}
	}
	return k
}

func pdmlDNS(t *testing.T, fs []pdmlField) dnsKey {
	var k dnsKey
	id, _ := child(fs, "dns.id")
	k.ID = uint16(pdmlUint(t, id))
	for _, f := range fs {
		switch {
		case f.Name == "dns.flags":
			v, _ := child(f.Fields, "dns.flags.response")
			k.Response = v == "1"
			if k.Response {
				k.Rcode, _ = child(f.Fields, "dns.flags.rcode")
			}
		case f.Name == "" && f.Show == "Queries" && len(f.Fields) > 0 && k.Name == "":
			q := f.Fields[0].Fields
			k.Name, _ = child(q, "dns.qry.name")
			qt, _ := child(q, "dns.qry.type")
			k.QType = uint16(pdmlUint(t, qt))
		case f.Name == "" && f.Show == "Answers":
			var addrs []string
			for _, rr := range f.Fields {
				if a, ok := child(rr.Fields, "dns.a"); ok {
					addrs = append(addrs, a)
				}
				if a, ok := child(rr.Fields, "dns.aaaa"); ok {
					addrs = append(addrs, a)
				}
			}
			k.Addrs = strings.Join(addrs, " ")
		}
	}
	return k
}

// sigtraceDiameterDNS runs the capture through the decode pipeline, keeping capture duplicates as
// tshark does.
func sigtraceDiameterDNS(t *testing.T, file string) ([]diameterKey, []dnsKey) {
	t.Helper()
	var dia []diameterKey
	var dn []dnsKey
	_, err := decode.Run(context.Background(), []string{file}, func(m *decode.Message) {
		switch m.Protocol {
		case decode.ProtoDiameter:
			d := m.Diameter
			dia = append(dia, diameterKey{Cmd: d.CommandCode, App: d.ApplicationID, HopByHop: d.HopByHop, EndToEnd: d.EndToEnd,
				Request: d.Flags.Request, Session: d.SessionID, Result: d.ResultCode, ExpResult: d.ExperimentalResultCode})
		case decode.ProtoDNS:
			d := m.DNS
			k := dnsKey{ID: d.ID, Response: d.Response}
			if len(d.Questions) > 0 {
				k.Name, k.QType = strings.TrimSuffix(d.Questions[0].Name, "."), d.Questions[0].QType
			}
			if d.Response {
				k.Rcode = strconv.Itoa(d.Rcode & 0xf) // the header's bits, without the EDNS extension
			}
			var addrs []string
			for _, a := range d.Addresses() {
				addrs = append(addrs, a.String())
			}
			k.Addrs = strings.Join(addrs, " ")
			dn = append(dn, k)
		}
	}, decode.Options{DedupWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	return dia, dn
}

// onlyIn returns what a has more of than b, counting repeats.
func onlyIn[K comparable](a, b []K) []K {
	count := map[K]int{}
	for _, k := range b {
		count[k]++
	}
	var extra []K
	for _, k := range a {
		if count[k] > 0 {
			count[k]--
		} else {
			extra = append(extra, k)
		}
	}
	return extra
}

// compareMessages reports the difference between sigtrace's and tshark's messages of one protocol,
// unless it is exactly the known number of extra (or missing) messages on sigtrace's side.
func compareMessages[K interface {
	comparable
	fmt.Stringer
}](t *testing.T, proto string, ours, theirs []K, known int, why string) {
	t.Helper()
	onlyOurs, onlyTheirs := onlyIn(ours, theirs), onlyIn(theirs, ours)
	switch {
	case len(onlyOurs) == 0 && len(onlyTheirs) == 0:
		if known != 0 {
			t.Errorf("%s: listed as differing by %+d (%s) but sigtrace and tshark now agree: update the entry", proto, known, why)
		}
		return
	case known > 0 && len(onlyTheirs) == 0 && len(onlyOurs) == known,
		known < 0 && len(onlyOurs) == 0 && len(onlyTheirs) == -known:
		t.Logf("%s: sigtrace finds %+d messages against tshark: %s", proto, known, why)
		return
	}
	byText := func(a, b K) int { return cmp.Compare(a.String(), b.String()) }
	slices.SortFunc(onlyOurs, byText)
	slices.SortFunc(onlyTheirs, byText)
	t.Errorf("%s: %d messages (tshark %d): only sigtrace %d %v; only tshark %d %v",
		proto, len(ours), len(theirs), len(onlyOurs), firstFew(onlyOurs), len(onlyTheirs), firstFew(onlyTheirs))
}

func firstFew[K any](k []K) []K { return k[:min(len(k), 6)] }

// TestDiameterDNSAgreeWithTshark compares, for every capture of the corpus, each Diameter message's
// command code, R flag, application, Hop-by-Hop and End-to-End identifiers, Session-Id, Result-Code and
// Experimental-Result-Code, and each DNS message's id, QR bit, question, rcode and answer addresses.
func TestDiameterDNSAgreeWithTshark(t *testing.T) {
	tshark := corpus.Tool(t, "tshark")
	root := filepath.Join(corpus.Dir(t), "third_party")
	files := corpusCaptures(t)
	var diameterSeen, dnsSeen int
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			file := filepath.Join(root, rel)
			decodeAs := tsharkDecodeAs[rel]
			if decodeAs.why != "" {
				t.Logf("tshark -d %s: %s", strings.Join(decodeAs.rules, " -d "), decodeAs.why)
			}
			theirDia, theirDNS := tsharkDiameterDNS(t, tshark, file, decodeAs.rules)
			if len(decodeAs.rules) > 0 {
				plainDia, plainDNS := tsharkDiameterDNS(t, tshark, file, nil)
				if len(plainDia) == len(theirDia) && len(plainDNS) == len(theirDNS) {
					t.Errorf("tshark finds the same messages without -d %v: remove the rule", decodeAs.rules)
				}
			}
			ourDia, ourDNS := sigtraceDiameterDNS(t, file)
			diameterSeen += len(theirDia)
			dnsSeen += len(theirDNS)
			known := knownDiameterDNSDifferences[rel]
			compareMessages(t, "diameter", ourDia, theirDia, known.diameter, known.why)
			compareMessages(t, "dns", ourDNS, theirDNS, known.dns, known.why)
		})
	}
	// Guards against a comparison of nothing with nothing (a filter or PDML change upstream).
	if diameterSeen == 0 || dnsSeen == 0 {
		t.Errorf("tshark found %d Diameter and %d DNS messages in the corpus: expected both", diameterSeen, dnsSeen)
	}
	for rel := range knownDiameterDNSDifferences {
		if !slices.Contains(files, rel) {
			t.Errorf("%s is explained but not in the corpus: remove the entry", rel)
		}
	}
	for rel := range tsharkDecodeAs {
		if !slices.Contains(files, rel) {
			t.Errorf("%s has decode-as rules but is not in the corpus: remove the entry", rel)
		}
	}
}
