package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/corpus"
)

// hepBuffer is a bytes.Buffer that a running command may write while the test reads it.
type hepBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (h *hepBuffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.b.Write(p)
}

func (h *hepBuffer) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.b.String()
}

func hepFactory(stdout, stderr *hepBuffer) *Factory {
	return &Factory{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr, Now: time.Now,
		Getenv: func(string) string { return "" }}
}

// runHep runs sigtrace to completion in-process.
func runHep(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut hepBuffer
	code := run(context.Background(), args, hepFactory(&out, &errOut))
	return out.String(), errOut.String(), code
}

// hepListener runs `sigtrace hep listen` in-process until stopped.
type hepListener struct {
	out, errOut hepBuffer
	cancel      context.CancelFunc
	code        chan int
}

var listeningOn = regexp.MustCompile(`(udp|tcp)://[0-9.:\[\]]+`)

// startHepListen starts the listener and returns its endpoints as it printed them.
func startHepListen(t *testing.T, args ...string) (*hepListener, []string) {
	t.Helper()
	l := &hepListener{code: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() { l.code <- run(ctx, append([]string{"hep", "listen"}, args...), hepFactory(&l.out, &l.errOut)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-l.code:
		case <-time.After(5 * time.Second):
		}
	})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		first, _, ok := strings.Cut(l.errOut.String(), "\n")
		if ok && strings.HasPrefix(first, "sigtrace: listening on ") {
			return l, listeningOn.FindAllString(first, -1)
		}
		select {
		case code := <-l.code:
			t.Fatalf("hep listen exited %d: %s", code, l.errOut.String())
		default:
		}
	}
	t.Fatalf("hep listen did not start: %s", l.errOut.String())
	return nil, nil
}

// stop ends the listener (as SIGINT would) and returns its exit code.
func (l *hepListener) stop(t *testing.T) int {
	t.Helper()
	time.Sleep(50 * time.Millisecond) // what was sent reaches the socket
	l.cancel()
	select {
	case code := <-l.code:
		l.code <- code
		return code
	case <-time.After(5 * time.Second):
		t.Fatal("hep listen did not stop")
	}
	return -1
}

// comparableJSON drops from `messages -o json` lines the fields that name where a message was read
// (frame number, input, HEP header), keeping what was on the wire.
func comparableJSON(t *testing.T, ndjson string, protocols ...string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(ndjson))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		keep := len(protocols) == 0
		for _, p := range protocols {
			keep = keep || m["protocol"] == p
		}
		if !keep {
			continue
		}
		delete(m, "frame")
		delete(m, "frames")
		delete(m, "input")
		delete(m, "hep")
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d messages, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("%s: message %d:\n got %s\nwant %s", what, i+1, got[i], want[i])
			return
		}
	}
}

// TestHepSendListen replays two real captures with `hep send`, one over UDP and one over TCP, to
// `hep listen -o json -w`, and checks that the live output and the written capture hold the same
// messages as `messages` finds in the originals.
func TestHepSendListen(t *testing.T) {
	udpSample := corpus.Path(t, "third_party/sngrep/aaa.pcap")
	tcpSample := corpus.Path(t, "third_party/heplify/sip_ipv4_tcp_retrans.pcap")
	written := filepath.Join(t.TempDir(), "feed.pcapng")
	l, addrs := startHepListen(t, "--listen", "udp://127.0.0.1:0", "--tcp", "127.0.0.1:0", "-o", "json", "-w", written)
	if len(addrs) != 2 {
		t.Fatalf("endpoints %v", addrs)
	}
	origA, _, _ := runHep(t, "messages", "-o", "json", udpSample)
	origB, _, _ := runHep(t, "messages", "-o", "json", tcpSample)
	want := append(comparableJSON(t, origA), comparableJSON(t, origB)...)
	lines := 0
	for _, c := range []struct{ sample, to, orig string }{{udpSample, addrs[0], origA}, {tcpSample, addrs[1], origB}} {
		_, errOut, code := runHep(t, "hep", "send", c.sample, "--to", c.to, "--capture-id", "3", "--node-name", "n1")
		if code != 0 || !regexp.MustCompile(`sent \d+ HEP packets .*; 0 failed`).MatchString(errOut) {
			t.Fatalf("hep send to %s: exit %d: %s", c.to, code, errOut)
		}
		// Endpoints are read side by side: let one sample arrive whole before the next is sent.
		lines += strings.Count(c.orig, "\n")
		for deadline := time.Now().Add(5 * time.Second); strings.Count(l.out.String(), "\n") < lines && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if code := l.stop(t); code != 0 {
		t.Fatalf("hep listen exit %d: %s", code, l.errOut.String())
	}
	sameLines(t, "live", comparableJSON(t, l.out.String()), want)
	back, _, code := runHep(t, "messages", "-o", "json", written)
	if code != 0 {
		t.Fatalf("messages on the written capture: exit %d", code)
	}
	sameLines(t, "written capture", comparableJSON(t, back), want)
	if !strings.Contains(l.out.String(), `"hep":{"version":3,"capture_id":3,"node":"n1"}`) {
		t.Errorf("live output lacks the HEP labels sent")
	}
	if !strings.Contains(l.errOut.String(), "1 TCP connections; 0 wrong auth key, 0 malformed; 0 dropped by the kernel") ||
		!strings.Contains(l.errOut.String(), "wrote "+strconv.Itoa(len(want))+" frames to") {
		t.Errorf("summary:\n%s", l.errOut.String())
	}
}

// TestHepListenCalls feeds the class-4/5 capture's own HEP mirror to `hep listen --mode calls` and
// checks that the calls match those `calls` finds in the same capture.
func TestHepListenCalls(t *testing.T) {
	feed := corpus.Path(t, "class45/class45-hep-feed.pcap")
	l, addrs := startHepListen(t, "--listen", "udp://127.0.0.1:0", "--mode", "calls", "-o", "csv")
	if _, errOut, code := runHep(t, "hep", "send", feed, "--to", addrs[0]); code != 0 {
		t.Fatalf("hep send: exit %d: %s", code, errOut)
	}
	if code := l.stop(t); code != 0 {
		t.Fatalf("hep listen exit %d: %s", code, l.errOut.String())
	}
	want, _, _ := runHep(t, "calls", "-o", "csv", feed)
	if l.out.String() != want || strings.Count(want, "\n") < 10 {
		t.Errorf("calls from the live feed:\n%s\nwant:\n%s", l.out.String(), want)
	}
}

// TestHepListenCallsQuietFeed: after the last SIP message, the calls are still written a grace
// period after their end while the listener runs on, both on a silent socket and while junk that
// is not HEP keeps arriving: the capture clock runs on wall-clock time between messages.
func TestHepListenCallsQuietFeed(t *testing.T) {
	feed := corpus.Path(t, "class45/class45-hep-feed.pcap")
	// The last call's BYE is answered 3.6 s of capture time before the feed's last message (an
	// OPTIONS ping): with 5 s of grace, no message ends that call; only the clock can.
	want, _, _ := runHep(t, "calls", "-o", "csv", "--grace", "5s", feed)
	for _, noisy := range []bool{false, true} {
		l, addrs := startHepListen(t, "--listen", "udp://127.0.0.1:0", "--mode", "calls", "-o", "csv", "--grace", "5s")
		if _, errOut, code := runHep(t, "hep", "send", feed, "--to", addrs[0]); code != 0 {
			t.Fatalf("hep send: exit %d: %s", code, errOut)
		}
		done := make(chan struct{})
		if noisy {
			conn, err := net.Dial("udp", strings.TrimPrefix(addrs[0], "udp://"))
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				defer conn.Close()
				for {
					select {
					case <-done:
						return
					case <-time.After(50 * time.Millisecond):
						conn.Write([]byte("not HEP at all"))
					}
				}
			}()
		}
		var got string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if got = l.out.String(); got == want {
				break
			}
		}
		close(done)
		if got != want || strings.Count(want, "\n") < 10 {
			t.Errorf("noise %v: calls written before the listener stopped:\n%s\nwant:\n%s", noisy, got, want)
		}
		if code := l.stop(t); code != 0 {
			t.Fatalf("hep listen exit %d: %s", code, l.errOut.String())
		}
	}
}

func TestHepUsage(t *testing.T) {
	sample := corpus.Path(t, "third_party/ndpi/dns.pcap")
	cases := [][]string{
		{"hep", "send", sample},
		{"hep", "send", sample, "--to", "ftp://127.0.0.1:9060"},
		{"hep", "send", sample, "--to", "udp://127.0.0.1"},
		{"hep", "send", sample, "--to", "udp://127.0.0.1:9060", "--proto", "rtp"},
		{"hep", "send", sample, "--to", "udp://127.0.0.1:9060", "--rate", "-5"},
		{"hep", "listen", "--listen", "sctp://127.0.0.1:9060"},
		{"hep", "listen", "--tcp", "udp://127.0.0.1:9060"},
		{"hep", "listen", "--rcvbuf", "0"},
		{"hep", "listen", "--mode", "dialogs"},
		{"hep", "listen", "-o", "xml"},
	}
	for _, args := range cases {
		if _, errOut, code := runHep(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errOut)
		}
	}
}

// TestHepSendFailures checks that messages the network refuses are counted and make the exit
// status 1, and that an unreachable TCP collector is an error.
func TestHepSendFailures(t *testing.T) {
	sample := corpus.Path(t, "third_party/sngrep/aaa.pcap")
	// A port nobody listens on: over UDP the kernel refuses datagrams after the first ICMP error.
	closed := freeLocalPort(t)
	_, errOut, code := runHep(t, "hep", "send", sample, "--to", "udp://"+closed)
	m := regexp.MustCompile(`sent (\d+) HEP packets .*; (\d+) failed`).FindStringSubmatch(errOut)
	if code != ExitError || m == nil || m[2] == "0" || !strings.Contains(errOut, "messages not sent") {
		t.Errorf("send to a closed UDP port: exit %d: %s", code, errOut)
	}
	if _, errOut, code := runHep(t, "hep", "send", sample, "--to", "tcp://"+closed); code != ExitError || !strings.Contains(errOut, "refused") {
		t.Errorf("send to a closed TCP port: exit %d: %s", code, errOut)
	}
}

// freeLocalPort returns a loopback address whose port nothing listens on.
func freeLocalPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// TestHepListenSignal runs `sigtrace hep listen -w` as a process and stops it with SIGTERM and
// SIGINT: it must flush the capture and its summary and exit 0.
func TestHepListenSignal(t *testing.T) {
	if os.Getenv("SIGTRACE_HEP_CHILD") == "1" {
		os.Exit(Main(strings.Fields(os.Getenv("SIGTRACE_HEP_ARGS")), SystemFactory()))
	}
	sample := corpus.Path(t, "third_party/heplify/sip_ipv6_udp.pcap")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			written := filepath.Join(t.TempDir(), "out.pcapng")
			cmd := exec.Command(os.Args[0], "-test.run=^TestHepListenSignal$")
			cmd.Env = append(os.Environ(), "SIGTRACE_HEP_CHILD=1", "SIGTRACE_HEP_ARGS=hep listen --listen udp://127.0.0.1:0 -o json -w "+written)
			var stdout bytes.Buffer
			var stderr hepBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var addr string
			for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				addr = listeningOn.FindString(stderr.String())
			}
			if addr == "" {
				t.Fatalf("no start-up line: %s", stderr.String())
			}
			if _, errOut, code := runHep(t, "hep", "send", sample, "--to", addr); code != 0 {
				t.Fatalf("hep send: %s", errOut)
			}
			time.Sleep(50 * time.Millisecond)
			cmd.Process.Signal(sig)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v\n%s", err, stderr.String())
			}
			if n := strings.Count(stdout.String(), "\n"); n != 6 || !strings.Contains(stderr.String(), "wrote 6 frames") {
				t.Errorf("%d lines out; stderr:\n%s", n, stderr.String())
			}
			back, _, _ := runHep(t, "messages", "-o", "json", written)
			if strings.Count(back, "\n") != 6 {
				t.Errorf("written capture holds %d messages, want 6", strings.Count(back, "\n"))
			}
		})
	}
}
