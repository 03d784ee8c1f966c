package hepfeed

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/decode/sip"
	"github.com/sigtrace/sigtrace/internal/corpus"
)

// sipKey identifies one SIP message on one hop, content included.
type sipKey struct {
	src, dst uint16 // ports: everything runs on 127.0.0.1
	raw      string
}

func (k sipKey) String() string {
	var m sip.Message
	if sip.Parse([]byte(k.raw), &m) != nil {
		return fmt.Sprintf("%d>%d unparsable", k.src, k.dst)
	}
	what := string(m.Method)
	if !m.IsRequest {
		what = strconv.Itoa(m.StatusCode)
	}
	return fmt.Sprintf("%d>%d %s %d %s %s", k.src, k.dst, what, m.CSeq, m.CSeqMethod, m.CallID)
}

// sippEntry matches the head of each message in a SIPp -trace_msg log, with its exact size:
// "UDP message sent (514 bytes):" or "UDP message received [319] bytes :", then an empty line.
var sippEntry = regexp.MustCompile(`(?m)^UDP message (?:sent \((\d+) bytes\)|received \[(\d+)\] bytes ):\n\n`)

// sippMessages reads a SIPp message log: every message the SIPp instance on port self sent to, or
// received from, the proxy on port proxy.
func sippMessages(t *testing.T, path string, self, proxy uint16) []sipKey {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []sipKey
	for _, m := range sippEntry.FindAllSubmatchIndex(data, -1) {
		received := m[2] < 0
		var size []byte
		if received {
			size = data[m[4]:m[5]]
		} else {
			size = data[m[2]:m[3]]
		}
		n, _ := strconv.Atoi(string(size))
		if m[1]+n > len(data) {
			t.Fatalf("%s: message at %d runs past the end", path, m[0])
		}
		k := sipKey{src: self, dst: proxy, raw: string(data[m[1] : m[1]+n])}
		if received {
			k.src, k.dst = proxy, self
		}
		out = append(out, k)
	}
	return out
}

func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// kamailioModules finds the directory of Kamailio's modules (Debian puts it under the multiarch
// triplet).
func kamailioModules(t *testing.T) string {
	t.Helper()
	for _, pattern := range []string{"/usr/lib/*/kamailio/modules/siptrace.so", "/usr/lib64/kamailio/modules/siptrace.so", "/usr/local/lib*/kamailio/modules/siptrace.so"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return filepath.Dir(m[0]) + "/"
		}
	}
	if corpus.Required() {
		t.Fatal("kamailio's siptrace module not found")
	}
	t.Skip("kamailio's siptrace module not found")
	return ""
}

// TestKamailioSiptrace runs Kamailio as a proxy between a SIPp UAC and UAS, with its siptrace
// module mirroring every SIP message it receives or sends as HEPv3 to a Listener, and checks that
// the listener got exactly the messages Kamailio handled: each message either SIPp instance sent
// (Kamailio received it) or received (Kamailio sent it), byte for byte, on the right hop.
func TestKamailioSiptrace(t *testing.T) {
	kamailio := corpus.Tool(t, "kamailio")
	sipp := corpus.Tool(t, "sipp")
	modules := kamailioModules(t)
	const calls = 10
	const authKey = "sigtrace-kamailio-test"
	const captureID = 2001

	dir := t.TempDir()
	s := startSession(t, ListenOptions{AuthKey: authKey}, Target{Network: "udp", Addr: "127.0.0.1:0"})
	hepPort := netip.MustParseAddrPort(s.l.Addrs()[0].Addr).Port()
	sipPort, uasPort, uacPort := freeUDPPort(t), freeUDPPort(t), freeUDPPort(t)

	tmpl := template.Must(template.ParseFiles("testdata/kamailio/kamailio.cfg.tmpl"))
	var cfg bytes.Buffer
	if err := tmpl.Execute(&cfg, map[string]any{
		"SIPPort": sipPort, "HEPPort": hepPort, "UASPort": uasPort, "CaptureID": captureID,
		"AuthKey": authKey, "ModulePath": modules,
	}); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var kamLog bytes.Buffer
	kam := exec.Command(kamailio, "-f", cfgPath, "-DD", "-E", "-m", "32", "-M", "4",
		"-Y", dir, "-P", filepath.Join(dir, "kamailio.pid"), "-w", dir)
	kam.Stdout, kam.Stderr = &kamLog, &kamLog
	if err := kam.Start(); err != nil {
		t.Fatal(err)
	}
	kamDone := make(chan error, 1)
	go func() { kamDone <- kam.Wait() }()
	t.Cleanup(func() {
		kam.Process.Signal(syscall.SIGTERM)
		select {
		case <-kamDone:
		case <-time.After(5 * time.Second):
			kam.Process.Kill()
			<-kamDone
		}
		if t.Failed() {
			t.Logf("kamailio log:\n%s", kamLog.String())
		}
	})
	waitBound(t, sipPort, kamDone)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	uasLog, uacLog := filepath.Join(dir, "uas.log"), filepath.Join(dir, "uac.log")
	var uasOut, uacOut bytes.Buffer
	uas := exec.CommandContext(ctx, sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", strconv.Itoa(int(uasPort)),
		"-m", strconv.Itoa(calls), "-nostdin", "-trace_msg", "-message_file", uasLog)
	uas.Stdout, uas.Stderr, uas.Dir = &uasOut, &uasOut, dir
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	waitBound(t, uasPort, nil)
	uac := exec.CommandContext(ctx, sipp, "-sn", "uac", fmt.Sprintf("127.0.0.1:%d", sipPort), "-i", "127.0.0.1",
		"-p", strconv.Itoa(int(uacPort)), "-m", strconv.Itoa(calls), "-r", "20", "-d", "50",
		"-nostdin", "-trace_msg", "-message_file", uacLog, "-timeout", "30s", "-timeout_error")
	uac.Stdout, uac.Stderr, uac.Dir = &uacOut, &uacOut, dir
	if err := uac.Run(); err != nil {
		uas.Process.Kill()
		uas.Wait()
		t.Fatalf("sipp uac: %v\n%s", err, tail(uacOut.Bytes(), 3000))
	}
	if err := uas.Wait(); err != nil {
		t.Fatalf("sipp uas: %v\n%s", err, tail(uasOut.Bytes(), 3000))
	}

	want := append(sippMessages(t, uacLog, uacPort, sipPort), sippMessages(t, uasLog, uasPort, sipPort)...)
	// Per call: the UAC's INVITE, ACK, BYE and the 100, 180, 200, 200 it gets; the UAS's side of
	// the same without the proxy's 100. Fewer means SIPp's log is not what this test reads.
	if len(want) < 13*calls {
		t.Fatalf("SIPp logged %d messages, want at least %d", len(want), 13*calls)
	}

	// The listener's view: live analysis and the capture it wrote.
	var got []sipKey
	var wrongHEP []string
	s.stop(t, int64(len(want)))
	for _, r := range s.live {
		if r.proto != decode.ProtoSIP || r.transport != decode.UDP || r.src.Addr() != loopback || r.dst.Addr() != loopback {
			wrongHEP = append(wrongHEP, r.String())
		}
		got = append(got, sipKey{src: r.src.Port(), dst: r.dst.Port(), raw: r.payload})
	}
	if len(wrongHEP) > 0 {
		t.Errorf("messages with the wrong protocol, transport or addresses: %v", wrongHEP)
	}
	st := s.l.Stats()
	if st.AuthRejected != 0 || st.Malformed != 0 {
		t.Errorf("listener rejected Kamailio's packets: %+v", st)
	}
	compareKeys(t, "live", got, want)

	var fromCapture []sipKey
	for _, r := range readCapture(t, s.capture) {
		fromCapture = append(fromCapture, sipKey{src: r.src.Port(), dst: r.dst.Port(), raw: r.payload})
	}
	compareKeys(t, "capture", fromCapture, want)
	if len(s.captureIDs) != 1 || s.captureIDs[0] != captureID {
		t.Errorf("HEP capture ids %v, want [%d]", s.captureIDs, captureID)
	}
}

var loopback = netip.MustParseAddr("127.0.0.1")

// compareKeys compares two multisets of messages.
func compareKeys(t *testing.T, what string, got, want []sipKey) {
	t.Helper()
	count := make(map[sipKey]int)
	for _, k := range want {
		count[k]++
	}
	for _, k := range got {
		count[k]--
	}
	var missing, extra []string
	for k, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, k.String())
		}
		for ; n < 0; n++ {
			extra = append(extra, k.String())
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s: %d messages received, %d handled by Kamailio\nnot received: %v\nnot handled: %v", what, len(got), len(want), missing, extra)
	}
}

// waitBound waits until something listens on the UDP port (binding it fails), or fails the test
// when exited reports that the process ended first.
func waitBound(t *testing.T, port uint16, exited <-chan error) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
		if err != nil {
			return
		}
		c.Close()
		select {
		case err := <-exited:
			t.Fatalf("process exited before listening on %d: %v", port, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("nothing listens on udp port %d", port)
}

func tail(b []byte, n int) []byte { return b[max(0, len(b)-n):] }
