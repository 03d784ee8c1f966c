// Package epdgtest starts the DNS servers that the epdg tests resolve against: a real unbound
// serving the zones in internal/epdg/testdata on loopback, and an in-process proxy in front of
// it that answers SERVFAIL or stays silent for chosen names.
package epdgtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// Zones are the zones unbound serves, from files of the same name plus ".zone" in testdata.
var Zones = []string{"pub.3gppnetwork.org", "optus.test"}

// StartUnbound runs unbound on a free loopback port with the test zones and returns its
// address. It is stopped when the test ends. The test is skipped (failed in CI) when unbound is
// not installed.
func StartUnbound(t testing.TB) string {
	t.Helper()
	bin := corpus.Tool(t, "unbound")
	testdata, err := testdataDir()
	if err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 3 { // another process may take the port between choosing and binding it
		addr, err := tryUnbound(t, bin, testdata)
		if err == nil {
			return addr
		}
		lastErr = err
	}
	t.Fatalf("epdgtest: unbound did not start: %v", lastErr)
	return ""
}

func tryUnbound(t testing.TB, bin, testdata string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	dir := t.TempDir()
	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
  interface: 127.0.0.1
  port: %d
  do-daemonize: no
  username: ""
  chroot: ""
  directory: %q
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 1
  do-ip6: no
  num-threads: 1
  so-reuseport: no
  outgoing-range: 16
  incoming-num-tcp: 16
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  # Never recurse: names outside the test zones are refused, so no query leaves the machine.
  local-zone: "." refuse
`, port, dir)
	for _, z := range Zones {
		fmt.Fprintf(&conf, "  local-zone: %q transparent\n", z+".")
	}
	fmt.Fprintf(&conf, "remote-control:\n  control-enable: no\n")
	for _, z := range Zones {
		fmt.Fprintf(&conf, "auth-zone:\n  name: %q\n  zonefile: %q\n  for-downstream: yes\n  for-upstream: no\n  fallback-enabled: no\n",
			z+".", filepath.Join(testdata, z+".zone"))
	}
	confPath := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return "", err
	}
	var log syncBuffer
	cmd := exec.Command(bin, "-d", "-c", confPath)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-done:
			return "", fmt.Errorf("unbound exited (%v): %s", err, log.String())
		default:
		}
		if ready(addr) {
			t.Cleanup(stop)
			return addr, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("unbound not answering on %s after 10s: %s", addr, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ready reports whether the server answers for the test zone over both UDP and TCP.
func ready(addr string) bool {
	for _, network := range []string{"udp", "tcp"} {
		q := new(dns.Msg)
		q.SetQuestion("pub.3gppnetwork.org.", dns.TypeSOA)
		c := &dns.Client{Net: network, Timeout: 300 * time.Millisecond}
		r, _, err := c.Exchange(q, addr)
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			return false
		}
	}
	return true
}

// freePort finds a loopback port free for both UDP and TCP.
func freePort() (int, error) {
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		u.Close()
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port")
}

// testdataDir finds internal/epdg/testdata from the repository root.
func testdataDir() (string, error) {
	root, err := corpus.RepoRoot()
	if err != nil {
		return "", fmt.Errorf("epdgtest: finding the repository: %w", err)
	}
	return filepath.Join(root, "internal", "epdg", "testdata"), nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Rule tells the proxy what to do with queries for names containing Match (and of type Qtype,
// unless it is 0) instead of forwarding them.
type Rule struct {
	Match    string
	Qtype    uint16
	ServFail bool // answer SERVFAIL; otherwise stay silent, so the client times out
}

// StartProxy runs an in-process DNS server on a free loopback port, over UDP and TCP, that
// applies rules and forwards every other query to upstream over the transport it came on
// (so a truncated UDP answer makes the client retry over TCP end to end). With an empty
// upstream, unmatched queries get no answer at all. It returns the address and stops with
// the test.
func StartProxy(t testing.TB, upstream string, rules ...Rule) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		if len(q.Question) != 1 {
			return
		}
		name, qtype := strings.ToLower(q.Question[0].Name), q.Question[0].Qtype
		for _, r := range rules {
			if strings.Contains(name, strings.ToLower(r.Match)) && (r.Qtype == 0 || r.Qtype == qtype) {
				if r.ServFail {
					m := new(dns.Msg)
					m.SetRcode(q, dns.RcodeServerFailure)
					_ = w.WriteMsg(m)
				}
				return
			}
		}
		if upstream == "" {
			return
		}
		c := &dns.Client{Net: w.RemoteAddr().Network(), Timeout: 2 * time.Second}
		size := dns.MinMsgSize
		if o := q.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		if c.Net == "udp" {
			c.UDPSize = uint16(size) // upstream decides truncation as it would for the client
		}
		resp, _, err := c.Exchange(q, upstream)
		if err != nil {
			m := new(dns.Msg)
			m.SetRcode(q, dns.RcodeServerFailure)
			resp = m
		}
		resp.Compress = true
		if c.Net == "udp" {
			resp.Truncate(size)
		}
		_ = w.WriteMsg(resp)
	})
	// One port for UDP and TCP, as a DNS server has: the TCP side of a free UDP port may be taken
	// (by another test's connection), so try again with another.
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ln == nil; try++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		if ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
			pc.Close()
			if try == 20 {
				t.Fatalf("epdgtest: proxy TCP port: %v", err)
			}
		}
	}
	udp := &dns.Server{PacketConn: pc, Handler: handler}
	tcp := &dns.Server{Listener: ln, Handler: handler}
	for _, s := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go func() { _ = s.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = s.Shutdown() })
	}
	return pc.LocalAddr().String()
}
