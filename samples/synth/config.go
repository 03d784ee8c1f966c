package synth

import (
	"errors"
	"fmt"
	"time"
)

// Format is the capture file format Generate writes.
type Format int

const (
	// PCAP is libpcap format, Ethernet link type, microsecond timestamps.
	PCAP Format = iota
	// PCAPNG is pcapng with one Ethernet interface and microsecond timestamps.
	PCAPNG
)

// String returns the format's name as the gen command spells it.
func (f Format) String() string {
	if f == PCAPNG {
		return "pcapng"
	}
	return "pcap"
}

// Scenario names one kind of call. Its outcome and events follow from it.
type Scenario int

const (
	Answered    Scenario = iota // answered, then the caller or the callee hangs up
	DTMF                        // answered, digits sent by SIP INFO on both legs
	Hold                        // answered, the phone holds (a=sendonly) then resumes (a=sendrecv)
	Forward                     // first B-leg busy, forwarded with Diversion, answered
	Transfer                    // answered, phone sends REFER, a second B-leg to the target
	Busy                        // 486 on both legs
	Cancel                      // the caller cancels while ringing: 487
	NotFound                    // 404 from the proxy: no route for the number
	Unavailable                 // 503 from the class-5 node, no B-leg
	NoAnswer                    // rings until 480 or 408
	numScenarios
)

var scenarioNames = [numScenarios]string{"answered", "dtmf", "hold", "forward", "transfer",
	"busy", "cancel", "not-found", "unavailable", "no-answer"}

// String returns the scenario's name.
func (s Scenario) String() string {
	if s < 0 || s >= numScenarios {
		return fmt.Sprintf("scenario(%d)", int(s))
	}
	return scenarioNames[s]
}

// Outcome returns the call-record outcome the scenario ends with.
func (s Scenario) Outcome() string {
	switch s {
	case Busy:
		return "busy"
	case Cancel:
		return "cancelled"
	case NotFound:
		return "rejected"
	case Unavailable:
		return "failed"
	case NoAnswer:
		return "no-answer"
	}
	return "answered"
}

// Mix gives each scenario a relative weight. The zero Mix means DefaultMix.
type Mix [numScenarios]float64

// DefaultMix is a day of wholesale traffic into a class-4 switch: about a third of attempts
// answered, the rest busy, abandoned, unroutable or unanswered. Short failures dominate, as they
// do on real trunks, and keep a call to about 8 KB on average.
var DefaultMix = Mix{
	Answered: 22, DTMF: 3, Hold: 2, Forward: 2, Transfer: 2,
	Busy: 16, Cancel: 12, NotFound: 20, Unavailable: 8, NoAnswer: 13,
}

// Share returns the fraction of calls the mix gives scenario s.
func (m Mix) Share(s Scenario) float64 {
	var sum float64
	for _, w := range m {
		sum += w
	}
	if sum == 0 || s < 0 || s >= numScenarios {
		return 0
	}
	return m[s] / sum
}

// Config says what to generate. Zero fields take the defaults noted.
type Config struct {
	Calls    int     // calls to generate
	Seed     int64   // same seed, same bytes
	RTPShare float64 // fraction of the file's bytes that are RTP, in [0, 0.95]; 0 means none

	Start       time.Time     // capture start; zero means 2026-01-05T09:00:00Z
	CPS         float64       // mean call arrivals per second (Poisson); default 30
	MeanTalk    time.Duration // mean talk time of answered calls; default 60s
	RTPBurst    time.Duration // shortest RTP stream a call gets; default 1s
	Keepalive   time.Duration // OPTIONS interval per peer pair; default 10s
	Mix         Mix           // scenario weights; default DefaultMix
	EachAtLeast int           // the first calls play every scenario this often, in random order; Mix draws the rest
	Format      Format        // PCAP (default) or PCAPNG

	Carriers int // default 6, at most 64
	Proxies  int // class-4 proxies; default 2, at most 16
	Class5   int // class-5 nodes; default 4, at most 64
	Phones   int // default 2000, at most 60000
}

// DemoConfig is the configuration of samples/demo.pcap: fifty calls that play every scenario
// twice, then short failures (unroutable numbers mostly), so the file stays under 300 KB
// and easy to read in Wireshark.
func DemoConfig() Config {
	return Config{
		Calls: 50, Seed: 117, RTPShare: 0.05, EachAtLeast: 2,
		CPS: 1, MeanTalk: 8 * time.Second, RTPBurst: 400 * time.Millisecond,
		Keepalive: 30 * time.Second,
		Mix:       Mix{Busy: 1, NotFound: 8, Unavailable: 2},
		Carriers:  2, Proxies: 1, Class5: 2, Phones: 20,
	}
}

func (c Config) withDefaults() (Config, error) {
	if c.Calls < 0 {
		return c, fmt.Errorf("synth: negative call count %d", c.Calls)
	}
	if !(c.RTPShare >= 0 && c.RTPShare <= 0.95) {
		return c, fmt.Errorf("synth: RTP share %g outside [0, 0.95]", c.RTPShare)
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	}
	def := func(v *int, d, max int, name string) error {
		if *v == 0 {
			*v = d
		}
		if *v < 1 || *v > max {
			return fmt.Errorf("synth: %s %d outside [1, %d]", name, *v, max)
		}
		return nil
	}
	if err := errors.Join(def(&c.Carriers, 6, 64, "carriers"), def(&c.Proxies, 2, 16, "proxies"),
		def(&c.Class5, 4, 64, "class-5 nodes"), def(&c.Phones, 2000, 60000, "phones")); err != nil {
		return c, err
	}
	if c.Phones < 2*c.Class5 {
		return c, fmt.Errorf("synth: %d phones cannot serve %d class-5 nodes (two each at least)", c.Phones, c.Class5)
	}
	if c.CPS == 0 {
		c.CPS = 30
	}
	if c.MeanTalk == 0 {
		c.MeanTalk = 60 * time.Second
	}
	if c.RTPBurst == 0 {
		c.RTPBurst = time.Second
	}
	if c.Keepalive == 0 {
		c.Keepalive = 10 * time.Second
	}
	if !(c.CPS >= 0.001 && c.CPS <= 1e5) || c.MeanTalk < time.Second || c.MeanTalk > 24*time.Hour ||
		c.RTPBurst < 20*time.Millisecond || c.RTPBurst > time.Hour || c.Keepalive < 100*time.Millisecond || c.Keepalive > time.Hour {
		return c, errors.New("synth: CPS [0.001, 1e5], MeanTalk [1s, 24h], RTPBurst [20ms, 1h] or Keepalive [100ms, 1h] out of range")
	}
	if c.EachAtLeast < 0 || c.EachAtLeast > 1000 {
		return c, fmt.Errorf("synth: EachAtLeast %d outside [0, 1000]", c.EachAtLeast)
	}
	if c.Mix == (Mix{}) {
		c.Mix = DefaultMix
	}
	for s, w := range c.Mix {
		if !(w >= 0 && w <= 1e9) {
			return c, fmt.Errorf("synth: weight %g for %s outside [0, 1e9]", w, Scenario(s))
		}
	}
	if c.Format != PCAP && c.Format != PCAPNG {
		return c, fmt.Errorf("synth: unknown format %d", c.Format)
	}
	return c, nil
}
