package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/correlate"
	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/hepfeed"
)

func init() { register(NewCmdHep) }

// NewCmdHep builds `sigtrace hep`, the room for commands that speak HEP on the network.
func NewCmdHep(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hep",
		Short: "Send captures as HEP, or receive a live HEP feed",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(NewCmdHepSend(f, nil), NewCmdHepListen(f, nil))
	return cmd
}

// HepSendOptions are the inputs of `sigtrace hep send`.
type HepSendOptions struct {
	Inputs    []string
	To        string
	AuthKey   string
	CaptureID uint32
	NodeName  string
	Rate      float64
	Protocols []string
	Dedup     bool
	Quiet     bool
}

// NewCmdHepSend builds `sigtrace hep send`; runF replaces the run in tests when set.
func NewCmdHepSend(f *Factory, runF func(*HepSendOptions) error) *cobra.Command {
	opts := &HepSendOptions{}
	cmd := &cobra.Command{
		Use:   "send FILE... --to udp://HOST:PORT|tcp://HOST:PORT",
		Short: "Replay the SIP, DNS and Diameter messages of captures as HEPv3",
		Long: `Replay every SIP, DNS and Diameter message of captures to a HEP collector (HOMER, heplify-server,
sigtrace hep listen) as HEPv3, with the original capture times, addresses, ports and transport.

FILE is anything sigtrace messages reads; several files are merged in time order. Over UDP each
message is one datagram; over TCP the messages are a stream of HEP packets. SIP goes as protocol
type 1. DNS and Diameter go as types 53 and 56 with the raw wire message as payload: HOMER expects
JSON under those types and may not show them (send only SIP with --proto sip); sigtrace and
Wireshark decode them fully.

--capture-id and --node-name label every packet; without them a message that was captured inside
HEP keeps its own. --rate caps the packets per second; without it sigtrace sends as fast as the
socket takes them. Everything is flushed before exit (over TCP the connection is closed in order),
and stderr reports how many packets were sent. The exit status is 1 when any message could not be
sent (too large for HEP, or refused by the network).`,
		Example: `  sigtrace hep send call.pcap --to udp://homer.example.net:9060
  sigtrace hep send --to tcp://127.0.0.1:9061 --auth-key s3cret --capture-id 2001 --rate 500 a.pcap b.pcapng`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			if runF != nil {
				return runF(opts)
			}
			return hepSendRun(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.To, "to", "", "collector: udp://HOST:PORT or tcp://HOST:PORT (required)")
	fl.StringVar(&opts.AuthKey, "auth-key", "", "HEP authentication key to send")
	fl.Uint32Var(&opts.CaptureID, "capture-id", 0, "HEP capture agent id (default: the message's own, else 0)")
	fl.StringVar(&opts.NodeName, "node-name", "", "HEP capture node name")
	fl.Float64Var(&opts.Rate, "rate", 0, "packets per second (0: as fast as possible)")
	fl.StringSliceVar(&opts.Protocols, "proto", []string{"sip", "dns", "diameter"}, "protocols to send")
	fl.BoolVar(&opts.Dedup, "dedup", false, "skip identical copies of a message on the same hop (capture duplicates)")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "no report on stderr")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func hepSendRun(ctx context.Context, f *Factory, opts *HepSendOptions) error {
	target, err := hepfeed.ParseTarget(opts.To, "udp")
	if err != nil {
		return &UsageError{Err: err}
	}
	if opts.Rate < 0 {
		return usagef("--rate %g: must not be negative", opts.Rate)
	}
	var protos []decode.Protocol
	for _, name := range opts.Protocols {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "sip":
			protos = append(protos, decode.ProtoSIP)
		case "dns":
			protos = append(protos, decode.ProtoDNS)
		case "diameter":
			protos = append(protos, decode.ProtoDiameter)
		default:
			return usagef("--proto %q: want sip, dns or diameter", name)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := hepfeed.Dial(ctx, target, hepfeed.SendOptions{
		AuthKey: opts.AuthKey, CaptureID: opts.CaptureID, NodeName: opts.NodeName,
		Rate: opts.Rate, Protocols: protos,
	})
	if err != nil {
		return err
	}
	start := f.Now()
	var sendErr error
	stats, runErr := decode.Run(ctx, opts.Inputs, func(m *decode.Message) {
		if sendErr != nil || opts.Dedup && m.Duplicate {
			return
		}
		if err := s.Send(ctx, m); err != nil {
			sendErr = err
			cancel()
		}
	}, decode.Options{})
	closeErr := s.Close()
	elapsed := f.Now().Sub(start)
	st := &s.Stats
	if !opts.Quiet {
		var parts []string
		for p := decode.ProtoSIP; p <= decode.ProtoDNS; p++ {
			if st.Sent[p] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", p, st.Sent[p]))
			}
		}
		detail := ""
		if len(parts) > 0 {
			detail = strings.Join(parts, ", ") + "; "
		}
		rate := ""
		if secs := elapsed.Seconds(); secs > 0 {
			rate = fmt.Sprintf(", %.0f packets/s", float64(st.TotalSent())/secs)
		}
		fmt.Fprintf(f.Stderr, "sigtrace: sent %d HEP packets (%s%s) to %s in %s%s; %d failed, %d skipped (not selected)\n",
			st.TotalSent(), detail, humanBytes(st.Bytes), target, elapsed.Round(time.Millisecond), rate, st.Failed, st.Skipped)
		if stats != nil {
			for _, w := range stats.Warnings {
				fmt.Fprintf(f.Stderr, "sigtrace: warning: %v\n", w)
			}
		}
	}
	switch {
	case sendErr != nil && !errors.Is(sendErr, context.Canceled):
		return sendErr
	case runErr != nil && !(sendErr != nil && errors.Is(runErr, context.Canceled)):
		return runErr
	case closeErr != nil:
		return fmt.Errorf("hep send: %s: %w", target, closeErr)
	case st.Failed > 0:
		return &ExitCodeError{Code: ExitError, Message: fmt.Sprintf("%d messages not sent; first: %v", st.Failed, st.FirstError)}
	}
	return nil
}

// HepListenOptions are the inputs of `sigtrace hep listen`.
type HepListenOptions struct {
	Mode       string
	Listen     []string
	TCP        []string
	AuthKey    string
	Write      string
	Output     string
	Dedup      bool
	ReadBuffer int
	Duration   time.Duration
	Quiet      bool
	// For --mode calls, as in sigtrace calls.
	LinkOptions
	MaxOpen int
	Grace   time.Duration
}

// NewCmdHepListen builds `sigtrace hep listen`; runF replaces the run in tests when set.
func NewCmdHepListen(f *Factory, runF func(*HepListenOptions) error) *cobra.Command {
	opts := &HepListenOptions{}
	cmd := &cobra.Command{
		Use:   "listen [--listen udp://ADDR:PORT] [--tcp ADDR:PORT] [-w FILE]",
		Short: "Receive a live HEP feed and list its messages or calls as they arrive",
		Long: `Receive HEP (versions 1, 2 and 3 on UDP; 3 on TCP) and analyse it as a capture is analysed:
--mode messages (the default) writes one line per SIP or DNS message as it arrives, as sigtrace
messages does; --mode calls writes one record per call as it ends, as sigtrace calls does (with its
--leg-header, --link-heuristic, --max-open and --grace). -o is table, json or csv, with the same
columns and fields. The frame number of a message is its packet's number in the feed, and its frame
in the capture -w writes. A call ends on capture time; between messages that clock runs on from the
latest message's time, so the last calls are still written a grace period after they end when the
feed goes quiet or carries only other traffic.

-w FILE writes every packet received to a pcapng capture, decapsulated: the IP packet HEP describes
(IPv4 or IPv6, then UDP, TCP or SCTP with HEP's addresses and ports) at HEP's capture time, so that
the capture reads like one taken on the wire. A packet that is not HEP is kept as the UDP datagram
it arrived as.

--auth-key drops (and counts) packets whose HEP authentication key differs. The UDP receive
buffer is sized by --rcvbuf; Linux caps it at net.core.rmem_max unless sigtrace may override that
(root, CAP_NET_ADMIN), and the start-up line says what was granted. Memory stays bounded: when the
analysis falls behind, packets wait in the kernel's buffer, and the kernel's drops are reported.

SIGINT or SIGTERM (or --duration) stops the listener: what the kernel already holds is read, the
capture and output are flushed and closed, and stderr gets a summary.`,
		Example: `  sigtrace hep listen --listen udp://0.0.0.0:9060 -w feed.pcapng
  sigtrace hep listen --listen udp://127.0.0.1:9060 --tcp 127.0.0.1:9061 --auth-key s3cret -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return hepListenRun(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Mode, "mode", "messages", "what to write: messages or calls")
	fl.StringArrayVar(&opts.Listen, "listen", nil, "endpoint udp://ADDR:PORT or tcp://ADDR:PORT, repeatable (default udp://0.0.0.0:9060)")
	fl.StringArrayVar(&opts.TCP, "tcp", nil, "TCP endpoint ADDR:PORT, repeatable")
	fl.StringVar(&opts.AuthKey, "auth-key", "", "accept only packets with this HEP authentication key")
	fl.StringVarP(&opts.Write, "write", "w", "", "write the packets received, decapsulated, to this pcapng file")
	addOutputFlag(cmd, &opts.Output, "table", "json", "csv")
	fl.BoolVar(&opts.Dedup, "dedup", false, "drop identical copies of a message on the same hop")
	fl.IntVar(&opts.ReadBuffer, "rcvbuf", hepfeed.DefaultReadBuffer, "UDP receive buffer to ask for, in bytes")
	fl.DurationVar(&opts.Duration, "duration", 0, "stop after this long (0: until SIGINT or SIGTERM)")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "no start-up line or summary on stderr")
	addLinkFlags(fl, &opts.LinkOptions, "--mode calls: ")
	fl.IntVar(&opts.MaxOpen, "max-open", defaultMaxOpen, "--mode calls: most calls held open; beyond it the oldest is emitted early")
	fl.DurationVar(&opts.Grace, "grace", correlate.DefaultGrace, "--mode calls: capture time a call waits after its last message")
	return cmd
}

func hepListenRun(ctx context.Context, f *Factory, opts *HepListenOptions) error {
	var targets []hepfeed.Target
	for _, s := range opts.Listen {
		t, err := hepfeed.ParseTarget(s, "udp")
		if err != nil {
			return &UsageError{Err: err}
		}
		targets = append(targets, t)
	}
	for _, s := range opts.TCP {
		t, err := hepfeed.ParseTarget(s, "tcp")
		if err != nil {
			return &UsageError{Err: err}
		}
		if t.Network != "tcp" {
			return usagef("--tcp %q: not a TCP endpoint", s)
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		targets = []hepfeed.Target{{Network: "udp", Addr: "0.0.0.0:9060"}}
	}
	if opts.ReadBuffer <= 0 {
		return usagef("--rcvbuf %d: must be positive", opts.ReadBuffer)
	}
	if opts.Mode != "messages" && opts.Mode != "calls" {
		return usagef("--mode %q: want messages or calls", opts.Mode)
	}
	if opts.MaxOpen < 0 || opts.Grace < 0 {
		return usagef("--max-open and --grace must not be negative")
	}
	l, err := hepfeed.Listen(targets, hepfeed.ListenOptions{AuthKey: opts.AuthKey, ReadBuffer: opts.ReadBuffer})
	if err != nil {
		return err
	}
	var capture *hepfeed.CaptureWriter
	var file *os.File
	if opts.Write != "" {
		if file, err = os.Create(opts.Write); err != nil {
			l.Close()
			return fmt.Errorf("hep listen: %w", err)
		}
		if capture, err = hepfeed.NewCaptureWriter(file, "sigtrace hep listen"); err != nil {
			file.Close()
			l.Close()
			return err
		}
	}
	if !opts.Quiet {
		var names []string
		for i, a := range l.Addrs() {
			name := a.String()
			if a.Network == "udp" {
				name += fmt.Sprintf(" (receive buffer %s", humanBytes(int64(l.ReadBuffer(i))))
				if l.ReadBuffer(i) < opts.ReadBuffer {
					name += fmt.Sprintf(" of %s asked: net.core.rmem_max caps it", humanBytes(int64(opts.ReadBuffer)))
				}
				name += ")"
			}
			names = append(names, name)
		}
		fmt.Fprintf(f.Stderr, "sigtrace: listening on %s\n", strings.Join(names, ", "))
	}

	out := bufio.NewWriterSize(f.Stdout, 64<<10)
	var handle func(*decode.Message)
	var flushOut, finish func()
	var onTick func(time.Time)
	var lastTime, lastWall time.Time // --mode calls: the latest capture time seen, and when a message last came
	var corr *correlate.Calls
	if opts.Mode == "calls" {
		cw := newCallWriter(out, opts.Output, f.StdoutIsTerminal)
		co := opts.callOptions()
		co.Grace, co.MaxOpen = opts.Grace, opts.MaxOpen
		corr = correlate.NewCalls(co)
		emit := func(calls []*correlate.Call) {
			for _, call := range calls {
				cw.write(call)
				corr.Release(call)
			}
		}
		handle = func(m *decode.Message) {
			if m.Time.After(lastTime) {
				lastTime = m.Time
			}
			lastWall = time.Now()
			emit(corr.Add(m))
		}
		// Between messages the capture clock runs on from the latest one, so that calls still end
		// a grace period after their last message when the feed goes quiet or carries only other
		// traffic.
		onTick = func(now time.Time) {
			if !lastTime.IsZero() {
				emit(corr.Advance(lastTime.Add(now.Sub(lastWall))))
			}
		}
		finish = func() { emit(corr.Flush()) }
		flushOut = cw.flush
	} else {
		mw := newMessageWriter(out, opts.Output, f.StdoutIsTerminal)
		handle = func(m *decode.Message) {
			if !opts.Dedup || !m.Duplicate {
				mw.write(m)
			}
		}
		flushOut = mw.flush
	}
	dopts := decode.Options{}
	if corr != nil {
		dopts = callsDecodeOptions(corr, false) // as sigtrace calls reads a capture
	}
	dec := decode.NewDecoder(handle, dopts)
	var outErr error
	feed := hepfeed.NewFeed(l, dec, capture, func() {
		flushOut()
		if err := out.Flush(); err != nil && outErr == nil {
			outErr = err
		}
	})
	feed.OnTick = onTick
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	runErr := l.Run(ctx, feed)
	dec.Finish()
	if finish != nil {
		finish()
	}
	feed.Flush()
	if file != nil {
		if err := file.Close(); err != nil && feed.Err() == nil {
			return fmt.Errorf("hep listen: %w", err)
		}
	}
	if !opts.Quiet {
		st := l.Stats()
		drops := "unknown"
		if st.KernelDrops >= 0 {
			drops = fmt.Sprint(st.KernelDrops)
		}
		fmt.Fprintf(f.Stderr, "sigtrace: received %d HEP packets (%s) on %d endpoints, %d TCP connections; %d wrong auth key, %d malformed; %s dropped by the kernel (receive buffer full)\n",
			st.Received, humanBytes(st.Bytes), len(l.Addrs()), st.Connections, st.AuthRejected, st.Malformed, drops)
		if capture != nil {
			fmt.Fprintf(f.Stderr, "sigtrace: wrote %d frames to %s\n", feed.Frames(), opts.Write)
		}
		writeSummary(f.Stderr, &dec.Stats)
		if corr != nil {
			st := corr.Stats()
			fmt.Fprintf(f.Stderr, "sigtrace: %d calls (%d legs, %d still in progress at the end); %d out-of-dialog messages, %d retransmissions\n",
				st.Calls, st.Legs, st.InProgress, st.OutOfDialog, st.Retransmissions)
		}
	}
	switch {
	case runErr != nil:
		return runErr
	case feed.Err() != nil:
		return fmt.Errorf("hep listen: %s: %w", opts.Write, feed.Err())
	case outErr != nil:
		return fmt.Errorf("writing output: %w", outErr)
	}
	return nil
}
