package ladder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/cli"
	"github.com/sigtrace/sigtrace/internal/corpus"
	"github.com/sigtrace/sigtrace/internal/ladder"
)

// EnvScreenshot, when set to a path, makes TestFlowHTMLInChromium keep its screenshot there
// (this is how docs/flow.png is made).
const EnvScreenshot = "SIGTRACE_FLOW_SCREENSHOT"

// chromium opens a page in headless Chromium, as a user's browser would (file URL, JavaScript
// on, offline), and returns the DOM after the page's script ran; with shot set, the same run
// also saves a screenshot of a window of the given size.
func chromium(t *testing.T, page, hash, shot string, width, height int) string {
	t.Helper()
	bin := corpus.Tool(t, "chromium")
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), fmt.Sprintf("--window-size=%d,%d", width, height)}
	url := "file://" + page + hash
	run := func(extra ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(append(args, extra...), url)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
		}
		return out
	}
	if shot != "" {
		return string(run("--screenshot="+shot, "--dump-dom"))
	}
	return string(run("--dump-dom"))
}

// status is what the page's script writes on <html> once it has wired every arrow.
var status = regexp.MustCompile(`<html lang="en" data-ladder="([^"]*)"`)

func pageStatus(t *testing.T, dom string) string {
	t.Helper()
	m := status.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no status on <html>: the page did not load:\n%.2000s", dom)
	}
	return m[1]
}

type truthCall struct {
	ID    string                 `json:"id"`
	ALeg  struct{ Messages int } `json:"a_leg"`
	BLegs []struct {
		CallID   string `json:"call_id"`
		Messages int    `json:"messages"`
	} `json:"b_legs"`
	ALegCallIDs []string `json:"a_leg_call_ids"`
}

func class45Truth(t *testing.T, root, id string) truthCall {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "samples", "class45", "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth struct{ Calls []truthCall }
	if err := json.Unmarshal(data, &truth); err != nil {
		t.Fatal(err)
	}
	for _, c := range truth.Calls {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no call %s in truth.json", id)
	return truthCall{}
}

// TestFlowHTMLInChromium renders `sigtrace flow -o html` of the forwarded call of the class45
// capture in Chromium: the page must load offline, its script must wire one arrow per message of
// the call's three legs, open the message named in the URL in the side panel, and paint the
// legs' colours.
func TestFlowHTMLInChromium(t *testing.T) {
	root, err := corpus.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	truth := class45Truth(t, root, "fwdbusy-1")
	want := truth.ALeg.Messages
	for _, b := range truth.BLegs {
		want += b.Messages
	}
	forwarded := truth.BLegs[1].CallID // the leg the call was forwarded to

	// Run from the repository root, as the README does, so that the page names the sample as a
	// reader would type it.
	t.Chdir(root)
	var out, errOut bytes.Buffer
	f := &cli.Factory{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Now: time.Now, Getenv: func(string) string { return "" }}
	if code := cli.Main([]string{"flow", "samples/class45/class45.pcapng", "--call", forwarded, "-o", "html"}, f); code != 0 {
		t.Fatalf("flow: exit %d: %s", code, errOut.String())
	}
	page := filepath.Join(t.TempDir(), "flow.html")
	if err := os.WriteFile(page, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// Arrow 8 is the first message of the forwarded leg (after 4 of the root, 4 of the busy leg).
	shot := filepath.Join(t.TempDir(), "flow.png")
	dom := chromium(t, page, "#msg-8", shot, 1400, 1000)

	if got, wantStatus := pageStatus(t, dom), fmt.Sprintf("ok %d arrows %d messages selected 8", want, want); got != wantStatus {
		t.Errorf("page status %q, want %q", got, wantStatus)
	}
	if n := strings.Count(dom, `<g class="arrow`); n != want {
		t.Errorf("%d arrows rendered, want %d", n, want)
	}
	if !strings.Contains(dom, `<aside id="panel" aria-live="polite">`) {
		t.Error("the side panel is still hidden")
	}
	if !regexp.MustCompile(`<pre id="raw"><span class="start">INVITE sip:\S+ SIP/2.0</span>`).MatchString(dom) ||
		!strings.Contains(dom, "Call-ID</span>: "+forwarded) {
		t.Errorf("the panel does not show the forwarded leg's INVITE:\n%.3000s", dom[strings.Index(dom, `<aside`):])
	}

	img := readPNG(t, shot)
	if b := img.Bounds(); b.Dx() != 1400 || b.Dy() != 1000 {
		t.Fatalf("screenshot is %v", b)
	}
	// Each leg's colour is painted (its arrows and badges), and the picture is far from blank.
	for i := range 3 {
		if n := countColor(img, ladder.LegColors[i]); n < 200 {
			t.Errorf("leg %s colour %s: %d pixels", ladder.LegName(i), ladder.LegColors[i], n)
		}
	}
	if colors := distinctColors(img); colors < 200 {
		t.Errorf("screenshot has %d colours: nothing much was drawn", colors)
	}
	if keep := os.Getenv(EnvScreenshot); keep != "" {
		if !filepath.IsAbs(keep) {
			t.Fatalf("%s must be an absolute path", EnvScreenshot)
		}
		// The README picture: the whole call, taller than the test's window.
		chromium(t, page, "#msg-8", keep, 1400, 1290)
		t.Logf("screenshot written to %s", keep)
	}
}

// TestHostileHTMLInChromium opens a page whose messages try to inject markup through every field
// and checks, in the browser's DOM, that none became an element and that the panel shows them as
// text.
func TestHostileHTMLInChromium(t *testing.T) {
	a := netip.MustParseAddrPort("192.0.2.1:5060")
	b := netip.MustParseAddrPort("192.0.2.2:5060")
	evil := "<img src=x onerror=\"document.title='pwned'\">"
	raw := "SIP/2.0 486 " + evil + "</script><script>document.title='pwned'</script>\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK" + evil + "\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\n" +
		"Call-ID: c" + evil + "\r\nCSeq: 1 INVITE\r\nUser-Agent: <svg onload=\"document.title='pwned'\">\r\nContent-Length: 0\r\n\r\n"
	in := ladder.Input{
		Title: "title " + evil,
		Legs:  []ladder.Leg{{CallID: "c" + evil, Role: "class4", Outcome: evil}},
		Messages: []ladder.Message{
			{Time: time.Unix(1, 0), Src: a, Dst: b, Transport: "udp", Frame: 1, Input: evil, Raw: []byte("INVITE sip:b@x SIP/2.0\r\nCall-ID: c" + evil + "\r\nContent-Length: 0\r\n\r\n")},
			{Time: time.Unix(2, 0), Src: b, Dst: a, Transport: "udp", Frame: 2, Input: evil, Raw: []byte(raw)},
		},
		Notes: []ladder.Note{{Time: time.Unix(2, 0), Leg: "c" + evil, Text: evil}},
	}
	var out bytes.Buffer
	if err := ladder.New(in).WriteHTML(&out); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "hostile.html")
	if err := os.WriteFile(page, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := chromium(t, page, "#msg-1", "", 1200, 800)
	if got := pageStatus(t, dom); got != "ok 2 arrows 2 messages selected 1" {
		t.Errorf("page status %q", got)
	}
	if strings.Contains(dom, "pwned</title>") || strings.Contains(dom, "<title>pwned") {
		t.Error("injected script ran")
	}
	for _, tag := range []string{"<img", "<svg onload"} {
		if strings.Contains(dom, tag) {
			t.Errorf("%s became an element", tag)
		}
	}
	if n := strings.Count(dom, "<script"); n != 2 {
		t.Errorf("%d script elements, want 2", n)
	}
	if !strings.Contains(dom, `<span class="hn">User-Agent</span>: &lt;svg onload="document.title='pwned'"&gt;`) {
		t.Errorf("the panel does not show the hostile header as text:\n%.3000s", dom[strings.Index(dom, `<aside`):])
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func countColor(img image.Image, hex string) int {
	v, err := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	if err != nil {
		return 0
	}
	want := color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == want {
				n++
			}
		}
	}
	return n
}

func distinctColors(img image.Image) int {
	seen := make(map[color.RGBA]bool)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			seen[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)] = true
		}
	}
	return len(seen)
}
