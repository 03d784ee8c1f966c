// Command gen writes a synthetic class-4 / class-5 SIP capture and, optionally, the NDJSON call
// records a correct analysis must find in it.
//
//	go run ./samples/gen -calls N -seed S -o FILE [-truth FILE.ndjson] [-rtp 0.10] [-format pcapng]
//	go run ./samples/gen -demo -o samples/demo.pcap -truth samples/demo.truth.ndjson
//
// It reports what it wrote, and how fast, on standard error.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sigtrace/sigtrace/samples/synth"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg    synth.Config
		out    = fs.String("o", "", "capture `file` to write (- for standard output)")
		truth  = fs.String("truth", "", "NDJSON `file` for the call records")
		format = fs.String("format", "pcap", "pcap or pcapng")
		demo   = fs.Bool("demo", false, "use the configuration of samples/demo.pcap (other flags but -o, -truth and -format are ignored)")
	)
	fs.IntVar(&cfg.Calls, "calls", 1000, "calls to generate")
	fs.Int64Var(&cfg.Seed, "seed", 1, "random seed: the same seed gives the same bytes")
	fs.Float64Var(&cfg.RTPShare, "rtp", 0.10, "share of the file's bytes that is RTP (0 for none)")
	fs.Float64Var(&cfg.CPS, "cps", 30, "mean call arrivals per second")
	fs.DurationVar(&cfg.MeanTalk, "talk", 60*time.Second, "mean talk time of answered calls")
	fs.IntVar(&cfg.Phones, "phones", 2000, "phones behind the class-5 nodes")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "gen: usage: gen -o FILE [-calls N] [-seed S] [-truth FILE.ndjson] [-rtp 0.10] [-format pcap|pcapng]")
		return 2
	}
	if *demo {
		cfg = synth.DemoConfig()
	}
	switch *format {
	case "pcap":
		cfg.Format = synth.PCAP
	case "pcapng":
		cfg.Format = synth.PCAPNG
	default:
		fmt.Fprintf(stderr, "gen: unknown format %q (pcap or pcapng)\n", *format)
		return 2
	}
	if err := generate(cfg, *out, *truth, stderr); err != nil {
		fmt.Fprintln(stderr, "gen:", err)
		return 1
	}
	return 0
}

func generate(cfg synth.Config, out, truth string, stderr io.Writer) (err error) {
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	var tw io.Writer
	if truth != "" {
		f, err := os.Create(truth)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		bw := bufio.NewWriter(f)
		defer func() {
			if ferr := bw.Flush(); err == nil {
				err = ferr
			}
		}()
		tw = bw
	}
	start := time.Now()
	st, err := synth.Generate(cfg, w, tw)
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(stderr, "gen: %d calls, %d packets (%d SIP, %d RTP), %.1f MB, %.1f%% RTP, at most %d calls open, capture %s, written in %s (%.0f MB/s)\n",
		st.Calls, st.Packets, st.SIPPackets, st.RTPPackets, float64(st.Bytes)/1e6, 100*st.RTPShare(),
		st.MaxOpen, st.Last.Sub(st.First).Round(time.Second), el.Round(time.Millisecond), float64(st.Bytes)/1e6/el.Seconds())
	return nil
}
