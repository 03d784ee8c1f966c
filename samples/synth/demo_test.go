package synth_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/internal/corpus"
	"github.com/sigtrace/sigtrace/samples/synth"
)

// TestDemoUpToDate regenerates samples/demo.pcap and its records and checks they are byte for
// byte the files in the repository: the generator is deterministic, and the bundle is current.
func TestDemoUpToDate(t *testing.T) {
	capture, truth, st := generate(t, synth.DemoConfig())
	for name, want := range map[string][]byte{"../demo.pcap": capture, "../demo.truth.ndjson": truth} {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("samples/%s differs from what the generator makes now: run go generate ./samples", filepath.Base(name))
		}
	}
	if len(capture) >= 300_000 || st.Calls != 50 || st.RTPPackets == 0 {
		t.Errorf("demo: %d bytes, %d calls, %d RTP packets; want < 300 KB, 50 calls, some RTP", len(capture), st.Calls, st.RTPPackets)
	}
	for s := synth.Answered; s <= synth.NoAnswer; s++ {
		if st.Scenarios[s] < 2 {
			t.Errorf("demo: %d %s calls, want at least 2", st.Scenarios[s], s)
		}
	}
}

// TestTshark has Wireshark's dissectors read generated captures: no malformed packet or
// expert warning, every SIP message seen as SIP, and every RTP packet recognised as RTP from
// the SDP that announced it.
func TestTshark(t *testing.T) {
	tshark := corpus.Tool(t, "tshark")
	ng := filepath.Join(t.TempDir(), "every.pcapng")
	capture, _, st := generate(t, synth.Config{Calls: 200, Seed: 8, EachAtLeast: 6, RTPShare: 0.2, Format: synth.PCAPNG})
	if err := os.WriteFile(ng, capture, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, demo := generate(t, synth.DemoConfig())
	for _, tc := range []struct {
		file string
		st   synth.Stats
	}{{"../demo.pcap", demo}, {ng, st}} {
		// One pass: each frame's protocol stack and the severities of its expert infos.
		out, err := exec.Command(tshark, "-r", tc.file, "-T", "fields", "-e", "frame.protocols", "-e", "_ws.expert.severity").Output()
		if err != nil {
			t.Fatalf("tshark -r %s: %v", tc.file, err)
		}
		var sip, rtp int64
		for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			protos, sev, _ := strings.Cut(line, "\t")
			if strings.Contains(protos, "_ws.malformed") {
				t.Errorf("%s: frame %d malformed: %s", tc.file, i+1, protos)
			}
			for _, v := range strings.Split(sev, ",") {
				if n, err := strconv.ParseUint(v, 10, 32); err == nil && n >= 0x600000 { // PI_WARN
					t.Errorf("%s: frame %d has an expert warning or error (%#x)", tc.file, i+1, n)
				}
			}
			switch {
			case strings.HasSuffix(protos, ":rtp"):
				rtp++
			case strings.Contains(protos, ":udp:sip"):
				sip++
			}
		}
		if sip != tc.st.SIPPackets || rtp != tc.st.RTPPackets {
			t.Errorf("%s: tshark sees %d SIP and %d RTP frames, want %d and %d", tc.file, sip, rtp, tc.st.SIPPackets, tc.st.RTPPackets)
		}
	}
}

// TestClass45Copy checks the bundled class45 capture is the shared one, byte for byte.
func TestClass45Copy(t *testing.T) {
	for _, name := range []string{"class45.pcapng", "class45-hep-feed.pcap", "truth.json"} {
		shared, err := os.ReadFile(corpus.Path(t, filepath.Join("class45", name)))
		if err != nil {
			t.Fatal(err)
		}
		bundled, err := os.ReadFile(filepath.Join("..", "class45", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(shared, bundled) {
			t.Errorf("samples/class45/%s differs from the shared sample", name)
		}
	}
}
