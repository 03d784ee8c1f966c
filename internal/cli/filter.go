package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/filters"
	"github.com/sigtrace/sigtrace/internal/render"
)

func init() { register(NewCmdFilter) }

// FilterCmdOptions are the inputs of `sigtrace filter`.
type FilterCmdOptions struct {
	Inputs      []string
	Filter      FilterOptions
	Write       string
	Scope       string
	PcapNG      bool
	ListPresets bool
	ListFields  bool
	Output      string
	Quiet       bool
}

// NewCmdFilter builds `sigtrace filter`.
func NewCmdFilter(f *Factory) *cobra.Command {
	opts := &FilterCmdOptions{}
	cmd := &cobra.Command{
		Use:   "filter FILE... (--filter EXPR | --preset NAME) -w OUT",
		Short: "Cut captures down to the frames of the messages a display filter selects",
		Long: `Write the frames that carried the SIP, Diameter and DNS messages a display filter selects to a new
capture, with their original bytes, timestamps and link types: to share a trace without the noise.

Every frame of a selected message is written: all IP fragments and TCP segments it was reassembled
from, or the HEP packet it arrived in. OUT is pcap (nanosecond timestamps), or pcapng when it ends
in .pcapng, with --pcapng, or when the inputs mix link types; - writes to standard output.
FILE is anything sigtrace messages reads; several files are merged in time order.

--scope widens what a selected message brings along: message (only it; the default), transaction
(its SIP transaction: the request, its responses and the ACK; or its Diameter request/answer
pair; or its DNS query/response), dialog (every message with its SIP Call-ID or Diameter
Session-Id). Some presets ask for a scope themselves: sip-errors writes whole transactions.

The expression language (also taken by --filter on messages, calls, flow, diameter and dns):
fields named as in Wireshark, in lower case (sip.method, sip.status, sip.cseq.method,
diameter.cmd.code, dns.qry.name, ip.src, port, transport, frame.time; --list-fields lists them);
operators == != < > <= >= and or not in contains startsWith endsWith matches; lists and ranges
(sip.status in [486, 600], sip.status in 500..599); address prefixes (ip.src in "10.0.0.0/8");
bytes (payload contains hex("03:6f:72:67"), dns contains hex(...)); presets (preset("epc-ims")).
A bare protocol name tests the protocol; a comparison on an absent field is false, as in
Wireshark: sip.status != 200 does not match a request, not (sip.status == 200) does. Filters
pasted from Wireshark work where sigtrace has the fields: names are case-insensitive, and
sip.Status-Code, byte strings (dns contains 33:67:70) and bare addresses (ip.src == 10.0.0.0/8)
are understood.

Presets (--list-presets) are named filters: built-in ones such as epc-ims, 3gpp-dns,
no-keepalives and sip-errors, and the user's, read from $XDG_CONFIG_HOME/sigtrace/presets.yaml
(else ~/.config/sigtrace/presets.yaml):

  presets:
    - name: our-hss
      description: S6a with our HSS
      expression: diameter.app_id == 16777251 and ip.addr in "10.1.0.0/16"
      scope: transaction        # optional: message, transaction or dialog`,
		Example: `  sigtrace filter core.pcapng --preset epc-ims -w shared.pcap
  sigtrace filter a.pcap b.pcap --filter 'sip.status == 503' --scope dialog -w 503-calls.pcapng
  sigtrace filter --list-presets
  tcpdump -w - -i any | sigtrace filter - --preset no-keepalives -w - | tshark -r -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return filterRun(cmd, f, opts)
		},
	}
	addFilterFlags(cmd, f, &opts.Filter)
	fl := cmd.Flags()
	fl.StringVarP(&opts.Write, "write", "w", "", "write the selected frames to this capture file (- for standard output)")
	fl.StringVar(&opts.Scope, "scope", "", "what a selected message brings along: message, transaction or dialog (default: the preset's, else message)")
	fl.BoolVar(&opts.PcapNG, "pcapng", false, "write pcapng even when pcap would do")
	fl.BoolVar(&opts.ListPresets, "list-presets", false, "list the presets, built-in and the user's, with their expressions")
	fl.BoolVar(&opts.ListFields, "list-fields", false, "list the fields expressions can use")
	fl.StringVarP(&opts.Output, "output", "o", "table", "format of --list-presets and --list-fields: table|json")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "no summary on stderr")
	_ = cmd.RegisterFlagCompletionFunc("scope", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{filters.ScopeMessage, filters.ScopeTransaction, filters.ScopeDialog}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func filterRun(cmd *cobra.Command, f *Factory, opts *FilterCmdOptions) error {
	if opts.Output != "table" && opts.Output != "json" {
		return usagef("unknown output format %q (want table, json)", opts.Output)
	}
	if opts.ListPresets || opts.ListFields {
		if len(opts.Inputs) > 0 || opts.Write != "" {
			return usagef("--list-presets and --list-fields take no files and no -w")
		}
		if opts.ListPresets {
			return listPresets(f, opts)
		}
		return listFields(f, opts)
	}
	switch {
	case len(opts.Inputs) == 0:
		return usagef("filter needs at least one capture file (or - for standard input)")
	case opts.Write == "":
		return usagef("filter needs -w OUT, the capture to write")
	case !opts.Filter.Given():
		return usagef("filter needs --filter EXPR or --preset NAME")
	case opts.Write == "-" && f.StdoutIsTerminal:
		return usagef("-w - would write a capture to the terminal: redirect it, or pipe it into tshark -r -")
	}
	flt, err := opts.Filter.Compile()
	if err != nil {
		return err
	}
	scope := opts.Scope
	switch scope {
	case "":
		scope = opts.Filter.Scope()
	case filters.ScopeMessage, filters.ScopeTransaction, filters.ScopeDialog:
	default:
		return usagef("unknown scope %q (want message, transaction or dialog)", scope)
	}
	in, err := openInputs(f, opts.Inputs)
	if err != nil {
		return err
	}
	defer in.close()
	sel := newSelection()
	stats, err := selectMessages(cmd.Context(), in, flt, scope, sel)
	if err != nil {
		return err
	}
	n, err := writeSelected(cmd.Context(), f, in, sel, opts.Write, opts.PcapNG, nil)
	if err != nil {
		return err
	}
	if !opts.Quiet {
		fmt.Fprintf(f.Stderr, "sigtrace: %d of %d messages matched; %d frames written to %s\n", sel.messages, stats.TotalMessages(), n, opts.Write)
		for _, w := range stats.Warnings {
			fmt.Fprintf(f.Stderr, "sigtrace: warning: %v\n", w)
		}
	}
	return nil
}

func listPresets(f *Factory, opts *FilterCmdOptions) error {
	lib, err := opts.Filter.library()
	if err != nil {
		return err
	}
	out := bufio.NewWriter(f.Stdout)
	defer out.Flush()
	if opts.Output == "json" {
		type preset struct {
			Name        string `json:"name"`
			Description string `json:"description"`
			Expression  string `json:"expression"`
			Scope       string `json:"scope,omitempty"`
			Source      string `json:"source"`
		}
		enc := json.NewEncoder(out)
		for _, p := range lib.Presets() {
			if err := enc.Encode(preset{p.Name, p.Description, p.Expression, p.Scope, p.Source}); err != nil {
				return err
			}
		}
		return out.Flush()
	}
	for _, p := range lib.Presets() {
		fmt.Fprintf(out, "%s", p.Name)
		if p.Source != "built-in" {
			fmt.Fprintf(out, " (%s)", p.Source)
		}
		if p.Scope != "" && p.Scope != filters.ScopeMessage {
			fmt.Fprintf(out, " [scope: %s]", p.Scope)
		}
		fmt.Fprintf(out, "\n  %s\n", wrap(p.Description, 98, "  "))
		for _, line := range strings.Split(p.Expression, "\n") {
			fmt.Fprintf(out, "    %s\n", line)
		}
		fmt.Fprintln(out)
	}
	if path := filters.UserPresetsPath(f.Getenv); path != "" {
		fmt.Fprintf(out, "User presets are read from %s.\n", path)
	}
	return out.Flush()
}

// wrap breaks text into lines of at most width characters, indenting the lines after the first.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(text) {
		if i > 0 && n+1+len(w) > width {
			b.WriteString("\n" + indent)
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

func listFields(f *Factory, opts *FilterCmdOptions) error {
	out := bufio.NewWriter(f.Stdout)
	defer out.Flush()
	if opts.Output == "json" {
		enc := json.NewEncoder(out)
		for _, fd := range filters.Fields() {
			if err := enc.Encode(map[string]any{"name": fd.Name, "type": fd.Type, "doc": fd.Doc, "call": fd.Call, "function": fd.Func}); err != nil {
				return err
			}
		}
		return out.Flush()
	}
	t := render.NewTable(out, f.StdoutIsTerminal, render.Column{Name: "field", Width: 32}, render.Column{Name: "type", Width: 8}, render.Column{Name: "meaning", Width: 60})
	for _, fd := range filters.Fields() {
		name := fd.Name
		if fd.Func {
			name += `("...")`
		}
		t.Row(name, fd.Type, fd.Doc)
	}
	return out.Flush()
}

// inputs are the captures of a multi-pass command: standard input is copied to a temporary file
// first, so that it can be read again.
type inputs struct {
	names []string // as given
	paths []string // where to read them
	temp  string
}

func openInputs(f *Factory, names []string) (*inputs, error) {
	in := &inputs{names: names, paths: make([]string, len(names))}
	for i, name := range names {
		if name != "-" {
			in.paths[i] = name
			continue
		}
		if in.temp == "" {
			tmp, err := os.CreateTemp("", "sigtrace-stdin-*.pcap")
			if err != nil {
				return nil, err
			}
			in.temp = tmp.Name()
			if _, err := io.Copy(tmp, f.Stdin); err != nil {
				tmp.Close()
				in.close()
				return nil, fmt.Errorf("reading standard input: %w", err)
			}
			if err := tmp.Close(); err != nil {
				in.close()
				return nil, err
			}
		}
		in.paths[i] = in.temp
	}
	return in, nil
}

func (in *inputs) close() {
	if in.temp != "" {
		os.Remove(in.temp)
	}
}

// open opens every input; the captures keep the names as given ("-" for standard input).
func (in *inputs) open() ([]*decode.Capture, error) {
	caps := make([]*decode.Capture, 0, len(in.paths))
	for i, p := range in.paths {
		var c *decode.Capture
		var err error
		if in.names[i] == "-" {
			var file *os.File
			if file, err = os.Open(p); err == nil {
				if c, err = decode.OpenReader("-", file, file); err != nil {
					file.Close()
				}
			}
		} else {
			c, err = decode.Open(p)
		}
		if err != nil {
			closeAll(caps)
			return nil, err
		}
		caps = append(caps, c)
	}
	return caps, nil
}

func closeAll(caps []*decode.Capture) {
	for _, c := range caps {
		c.Close()
	}
}

// selection is the frames to copy, per input, and what the first pass learnt about the inputs.
type selection struct {
	frames    map[string][]uint64 // input name -> bitset of frame numbers
	linkTypes map[layers.LinkType]bool
	messages  int
}

func newSelection() *selection {
	return &selection{frames: map[string][]uint64{}, linkTypes: map[layers.LinkType]bool{}}
}

func (s *selection) add(input string, frame int) {
	bits := s.frames[input]
	w := frame / 64
	if w >= len(bits) {
		bits = append(bits, make([]uint64, w+1-len(bits)+len(bits)/2)...)
		s.frames[input] = bits
	}
	bits[w] |= 1 << (frame % 64)
}

func (s *selection) has(input string, frame int) bool {
	bits := s.frames[input]
	w := frame / 64
	return w < len(bits) && bits[w]&(1<<(frame%64)) != 0
}

// addMessage selects every frame that carried m.
func (s *selection) addMessage(m *decode.Message) {
	s.messages++
	if len(m.Frames) > 1 {
		for _, n := range m.Frames {
			s.add(m.Input, n)
		}
		return
	}
	s.add(m.Input, m.Frame)
}

// decodePass decodes the inputs once with opts, calling handle for each message. It records the
// link types.
func decodePass(ctx context.Context, in *inputs, sel *selection, opts decode.Options, handle decode.Handler) (*decode.Stats, error) {
	caps, err := in.open()
	if err != nil {
		return nil, err
	}
	defer closeAll(caps)
	d := decode.NewDecoder(handle, opts)
	d.Stats.Inputs = len(caps)
	err = decode.EachFrame(ctx, caps, func(_ int, fr *decode.Frame) error {
		sel.linkTypes[fr.LinkType] = true
		d.Frame(fr)
		return nil
	})
	for _, c := range caps {
		if w := c.Warning(); w != nil {
			d.Stats.Warnings = append(d.Stats.Warnings, w)
		}
	}
	d.Finish()
	return &d.Stats, err
}

// selectMessages marks the frames of the messages flt selects, widened to their transaction or
// dialog: a second decoding pass then finds the other messages of the keys the first one chose.
func selectMessages(ctx context.Context, in *inputs, flt *filters.Filter, scope string, sel *selection) (*decode.Stats, error) {
	if scope == filters.ScopeMessage || scope == "" {
		return decodePass(ctx, in, sel, decode.Options{}, func(m *decode.Message) {
			if flt.MatchMessage(m) {
				sel.addMessage(m)
			}
		})
	}
	seed := maphash.MakeSeed()
	keys := map[uint64]bool{}
	var kb []byte
	stats, err := decodePass(ctx, in, sel, decode.Options{}, func(m *decode.Message) {
		if flt.MatchMessage(m) {
			kb = scopeKey(kb[:0], m, scope)
			keys[maphash.Bytes(seed, kb)] = true
		}
	})
	if err != nil {
		return nil, err
	}
	_, err = decodePass(ctx, in, sel, decode.Options{}, func(m *decode.Message) {
		kb = scopeKey(kb[:0], m, scope)
		if keys[maphash.Bytes(seed, kb)] {
			sel.addMessage(m)
		}
	})
	return stats, err
}

// scopeKey appends what identifies m's transaction or dialog. SIP transactions are Call-ID, CSeq
// number and method, with ACK counted in its INVITE's (RFC 3261 17.1.1.3 for non-2xx; for a 2xx
// the ACK belongs with it too for a reader). Diameter pairs share hop-by-hop and end-to-end ids,
// DNS ones the id and the two addresses.
func scopeKey(b []byte, m *decode.Message, scope string) []byte {
	b = append(b, byte(m.Protocol))
	switch m.Protocol {
	case decode.ProtoSIP:
		s := m.SIP
		b = append(b, s.CallID...)
		if scope == filters.ScopeTransaction {
			b = append(b, 0)
			b = strconv.AppendUint(b, uint64(s.CSeq), 10)
			method := s.CSeqMethod
			if string(method) == "ACK" {
				method = []byte("INVITE")
			}
			b = append(b, method...)
		}
	case decode.ProtoDiameter:
		d := m.Diameter
		if scope == filters.ScopeDialog && d.SessionID != "" {
			return append(b, d.SessionID...)
		}
		b = strconv.AppendUint(b, uint64(d.HopByHop), 16)
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(d.EndToEnd), 16)
	default:
		a, z := m.Src, m.Dst
		if z.Compare(a) < 0 {
			a, z = z, a
		}
		b = a.AppendTo(b)
		b = z.AppendTo(b)
		if len(m.Payload) >= 2 {
			b = append(b, m.Payload[0], m.Payload[1])
		}
	}
	return b
}

// writeSelected copies the selected frames, and those extra accepts, to out in time order. It
// returns the number of frames written.
func writeSelected(ctx context.Context, f *Factory, in *inputs, sel *selection, out string, ng bool, extra func(fr *decode.Frame) bool) (int, error) {
	var w io.Writer
	var file *os.File
	if out == "-" {
		w = f.Stdout
	} else {
		var err error
		if file, err = os.Create(out); err != nil {
			return 0, err
		}
		defer file.Close()
		w = file
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	fw, err := newFrameWriter(bw, sel.linkTypes, ng || strings.HasSuffix(out, ".pcapng") || len(sel.linkTypes) > 1)
	if err != nil {
		return 0, err
	}
	caps, err := in.open()
	if err != nil {
		return 0, err
	}
	defer closeAll(caps)
	n := 0
	err = decode.EachFrame(ctx, caps, func(_ int, fr *decode.Frame) error {
		if !sel.has(fr.Input, fr.Number) && (extra == nil || !extra(fr)) {
			return nil
		}
		n++
		return fw.write(fr)
	})
	if err == nil {
		err = fw.flush()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && file != nil {
		err = file.Close()
	}
	if err != nil {
		return n, fmt.Errorf("writing %s: %w", out, err)
	}
	return n, nil
}

// frameWriter writes frames as pcap (one link type) or pcapng (an interface per link type).
type frameWriter struct {
	pcap *pcapgo.Writer
	ng   *pcapgo.NgWriter
	intf map[layers.LinkType]int
}

func newFrameWriter(w io.Writer, linkTypes map[layers.LinkType]bool, ng bool) (*frameWriter, error) {
	// Interfaces in a stable order, so that the same inputs give the same bytes.
	var lts []layers.LinkType
	for lt := range linkTypes {
		lts = append(lts, lt)
	}
	if len(lts) == 0 {
		lts = append(lts, layers.LinkTypeEthernet)
	}
	sortLinkTypes(lts)
	if !ng {
		pw := pcapgo.NewWriterNanos(w)
		if err := pw.WriteFileHeader(1<<18, lts[0]); err != nil {
			return nil, err
		}
		return &frameWriter{pcap: pw}, nil
	}
	intf := pcapgo.DefaultNgInterface
	intf.Name, intf.LinkType, intf.OS = "sigtrace0", lts[0], ""
	opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "sigtrace " + Version}}
	nw, err := pcapgo.NewNgWriterInterface(w, intf, opts)
	if err != nil {
		return nil, err
	}
	fw := &frameWriter{ng: nw, intf: map[layers.LinkType]int{lts[0]: 0}}
	for i, lt := range lts[1:] {
		intf.Name, intf.LinkType = "sigtrace"+strconv.Itoa(i+1), lt
		id, err := nw.AddInterface(intf)
		if err != nil {
			return nil, err
		}
		fw.intf[lt] = id
	}
	return fw, nil
}

func sortLinkTypes(lts []layers.LinkType) {
	for i := 1; i < len(lts); i++ {
		for j := i; j > 0 && lts[j] < lts[j-1]; j-- {
			lts[j], lts[j-1] = lts[j-1], lts[j]
		}
	}
}

func (w *frameWriter) write(fr *decode.Frame) error {
	ci := gopacket.CaptureInfo{Timestamp: fr.Time, CaptureLength: len(fr.Data), Length: max(fr.OrigLen, len(fr.Data))}
	if w.pcap != nil {
		return w.pcap.WritePacket(ci, fr.Data)
	}
	ci.InterfaceIndex = w.intf[fr.LinkType]
	return w.ng.WritePacket(ci, fr.Data)
}

func (w *frameWriter) flush() error {
	if w.ng != nil {
		return w.ng.Flush()
	}
	return nil
}
