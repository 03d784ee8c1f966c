package cli

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/sip"
)

func init() { register(NewCmdExport) }

// ExportOptions are the inputs of `sigtrace export`.
type ExportOptions struct {
	Inputs []string
	Calls  []string
	Write  string
	RTP    bool
	PcapNG bool
	LinkOptions
	Quiet bool
}

// rtpMargin is how long before a call's first and after its last SIP message --rtp still takes
// media: early media may start with the 183's SDP, and RTP flows until the BYE arrives.
const rtpMargin = 2 * time.Second

// NewCmdExport builds `sigtrace export`.
func NewCmdExport(f *Factory) *cobra.Command {
	opts := &ExportOptions{}
	cmd := &cobra.Command{
		Use:   "export FILE... --call CALL-ID -w OUT",
		Short: "Write every frame of a call, all its legs, to a capture",
		Long: `Write every frame of a call to a new capture, with the original bytes, timestamps and link types:
all its legs (the A-leg and the class-5 legs linked to it, as sigtrace calls groups them), on every
hop, with the IP fragments and TCP segments their messages were reassembled from.

--call takes the Call-ID of any leg of the call (sigtrace calls lists them); repeat it to export
several calls into one file. With --rtp, the RTP and RTCP the call's SDP negotiated are written
too: UDP to or from every media address and port (and the port above, for RTCP) that an SDP of
the call announced, from a little before its first message to a little after its last.

OUT is pcap (nanosecond timestamps), or pcapng when it ends in .pcapng, with --pcapng, or when
the inputs mix link types; - writes to standard output. --leg-header and --link-heuristic group
legs as they do for sigtrace calls.`,
		Example: `  sigtrace calls core.pcapng                  # find the call
  sigtrace export core.pcapng --call 7f3a9c@10.1.2.3 -w call.pcap
  sigtrace export a.pcap b.pcap --call 7f3a9c@10.1.2.3 --rtp -w call-with-media.pcapng`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return exportRun(cmd, f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Calls, "call", nil, "Call-ID of any leg of the call to export (repeatable)")
	fl.StringVarP(&opts.Write, "write", "w", "", "capture file to write (- for standard output)")
	fl.BoolVar(&opts.RTP, "rtp", false, "also write the RTP and RTCP streams the call's SDP negotiated")
	fl.BoolVar(&opts.PcapNG, "pcapng", false, "write pcapng even when pcap would do")
	addLinkFlags(fl, &opts.LinkOptions, "")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "no summary on stderr")
	return cmd
}

func exportRun(cmd *cobra.Command, f *Factory, opts *ExportOptions) error {
	switch {
	case len(opts.Calls) == 0:
		return usagef("export needs --call CALL-ID (sigtrace calls lists them)")
	case opts.Write == "":
		return usagef("export needs -w OUT, the capture to write")
	case opts.Write == "-" && f.StdoutIsTerminal:
		return usagef("-w - would write a capture to the terminal: redirect it, or pipe it into tshark -r -")
	}
	in, err := openInputs(f, opts.Inputs)
	if err != nil {
		return err
	}
	defer in.close()
	ctx := cmd.Context()

	// Pass 1: group legs into calls and keep the Call-IDs of the wanted ones.
	wanted := map[string]bool{}
	for _, id := range opts.Calls {
		wanted[id] = true
	}
	found := map[string]bool{} // --call values matched
	legs := map[string]bool{}  // Call-IDs of every leg of the wanted calls
	calls := 0
	take := func(cs []*correlate.Call) {
		for _, c := range cs {
			ids := c.CallIDs()
			hit := false
			for _, id := range ids {
				if wanted[id] {
					found[id], hit = true, true
				}
			}
			if hit {
				calls++
				for _, id := range ids {
					legs[id] = true
				}
			}
		}
	}
	sel := newSelection()
	corr := correlate.NewCalls(opts.callOptions())
	if _, err := decodePass(ctx, in, sel, callsDecodeOptions(nil, false), func(m *decode.Message) { take(corr.Add(m)) }); err != nil {
		return err
	}
	take(corr.Flush())
	var missing []string
	for _, id := range opts.Calls {
		if !found[id] {
			missing = append(missing, strconv.Quote(id))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("export: no call has a leg with Call-ID %s in %s (sigtrace calls lists them)", strings.Join(missing, ", "), strings.Join(opts.Inputs, ", "))
	}

	// Pass 2: the frames of the legs' messages, and the media their SDP announced.
	media := mediaSet{}
	var first, last time.Time
	var sdp sip.SDP
	// Only Call-IDs and SDP are read: the grammar need not be checked.
	if _, err := decodePass(ctx, in, sel, decode.Options{UncheckedSIP: true}, func(m *decode.Message) {
		if m.Protocol != decode.ProtoSIP || !legs[string(m.SIP.CallID)] {
			return
		}
		sel.addMessage(m)
		if first.IsZero() || m.Time.Before(first) {
			first = m.Time
		}
		if m.Time.After(last) {
			last = m.Time
		}
		if opts.RTP {
			media.addSDP(m.SIP.SDPBody(), &sdp)
		}
	}); err != nil {
		return err
	}

	// Pass 3: copy.
	var extra func(fr *decode.Frame) bool
	rtpFrames := 0
	if opts.RTP && len(media) > 0 {
		from, to := first.Add(-rtpMargin), last.Add(rtpMargin)
		extra = func(fr *decode.Frame) bool {
			if fr.Time.Before(from) || fr.Time.After(to) {
				return false
			}
			src, dst, ok := udpEndpoints(fr)
			if ok && (media[dst] || media[src]) {
				rtpFrames++
				return true
			}
			return false
		}
	}
	n, err := writeSelected(ctx, f, in, sel, opts.Write, opts.PcapNG, extra)
	if err != nil {
		return err
	}
	if !opts.Quiet {
		fmt.Fprintf(f.Stderr, "sigtrace: %d call(s), %d legs, %d SIP messages", calls, len(legs), sel.messages)
		if opts.RTP {
			fmt.Fprintf(f.Stderr, ", %d RTP/RTCP frames to or from %d media addresses", rtpFrames, len(media))
		}
		fmt.Fprintf(f.Stderr, "; %d frames written to %s\n", n, opts.Write)
	}
	return nil
}

// mediaSet holds the addresses and ports SDP announced for RTP and RTCP.
type mediaSet map[netip.AddrPort]bool

// addSDP adds every stream of an SDP body: its connection address and port, and the RTCP port
// (a=rtcp, RFC 3605, else the port above).
func (ms mediaSet) addSDP(body []byte, sdp *sip.SDP) {
	if len(body) == 0 || sip.ParseSDP(body, sdp) != nil {
		return
	}
	for i := range sdp.Media {
		md := &sdp.Media[i]
		if md.Port <= 0 || md.Port > 0xfffe {
			continue
		}
		addr, err := netip.ParseAddr(string(sdp.Connection(i).Address))
		if err != nil || addr.IsUnspecified() {
			continue
		}
		addr = addr.Unmap()
		ms[netip.AddrPortFrom(addr, uint16(md.Port))] = true
		rtcp := md.Port + 1
		if v, ok := md.Attr("rtcp"); ok {
			if p, err := strconv.Atoi(strings.Fields(string(v) + " ")[0]); err == nil && p > 0 && p <= 0xffff {
				rtcp = p
			}
		}
		ms[netip.AddrPortFrom(addr, uint16(rtcp))] = true
	}
}

// udpEndpoints returns the innermost UDP source and destination of a frame (inside GTP-U or other
// tunnels gopacket knows). It allocates, and runs only on the frames of a call's time span.
func udpEndpoints(fr *decode.Frame) (src, dst netip.AddrPort, ok bool) {
	p := gopacket.NewPacket(fr.Data, fr.LinkType, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	var a, b netip.Addr
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.IPv4:
			a, _ = netip.AddrFromSlice(l.SrcIP.To4())
			b, _ = netip.AddrFromSlice(l.DstIP.To4())
		case *layers.IPv6:
			a, _ = netip.AddrFromSlice(l.SrcIP)
			b, _ = netip.AddrFromSlice(l.DstIP)
		case *layers.UDP:
			if a.IsValid() && b.IsValid() {
				src = netip.AddrPortFrom(a.Unmap(), uint16(l.SrcPort))
				dst = netip.AddrPortFrom(b.Unmap(), uint16(l.DstPort))
				ok = true
			}
		}
	}
	return src, dst, ok
}
